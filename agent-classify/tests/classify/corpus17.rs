//! Issue 17's cases: real output of unittest, pytest, go, cargo, jest, node and npm on the
//! small projects in `tests/testdata/corpus17` (see its README and `capture.sh`), for the
//! unittest classifier, the environment tier, configuration failures, timeouts from exit
//! codes and runners, `go vet` as lint and doctest names.
//!
//! Every case is classified as the library would: [`AutoClassifier`] from the command
//! that ran. The failing tests a case must name come from the tool's own structured report
//! of the same run where it has one (pytest `--junitxml`, `go test -json`, jest `--json`,
//! libtest JSON), not from the text parser; the kinds are those the projects were written
//! to produce.

use crate::support::{line_of, testdata};
use agent_classify::{AutoClassifier, UnittestClassifier, classifier_for, detect_tool, tool_for_command};
use agent_core::FailureClassifier;
use agent_core::exec::RunOutput;
use agent_core::failure::{Classification, FailureCategory, FailureKind, TestCounts, TestStatus, Tier};
use agent_core::workspace::WorkspaceProfile;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Where `capture.sh` ran the projects, as printed in absolute paths.
const CAPTURED_AT: &str = "/tmp/agent-classify-corpus17";

fn corpus() -> PathBuf {
    testdata().join("corpus17")
}

/// Captured case `name` as the executor reports it, absolute paths moved to this checkout.
fn run_of(name: &str) -> RunOutput {
    let out = corpus().join("out");
    let here = corpus();
    let read = |ext: &str| {
        std::fs::read_to_string(out.join(format!("{name}.{ext}"))).unwrap().replace(CAPTURED_AT, here.to_str().unwrap())
    };
    let exit: i32 = read("exit").trim().parse().unwrap();
    RunOutput::from_text(read("cmd").trim(), exit, read("stdout"), read("stderr"))
}

fn classify(name: &str, project: &str) -> Classification {
    AutoClassifier::new().classify(&run_of(name), &WorkspaceProfile::new(corpus().join(project)))
}

/// A structured report of case `name` with extension `ext`.
fn report(name: &str, ext: &str) -> String {
    std::fs::read_to_string(corpus().join("out").join(format!("{name}.{ext}"))).unwrap()
}

/// `(classname, name)` of the test cases of a JUnit report with a `<failure>` or `<error>`.
fn junit_failed(xml: &str) -> Vec<(String, String)> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut out = Vec::new();
    let mut current: Option<(String, String)> = None;
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == b"testcase" => {
                let attr = |k: &[u8]| {
                    e.attributes()
                        .flatten()
                        .find(|a| a.key.as_ref() == k)
                        .map(|a| a.unescape_value().unwrap().into_owned())
                        .unwrap_or_default()
                };
                current = Some((attr(b"classname"), attr(b"name")));
            }
            Event::Start(e) | Event::Empty(e) if matches!(e.name().as_ref(), b"failure" | b"error") => {
                if let Some(c) = current.take() {
                    out.push(c);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

/// unittest ids (`pkg.mod.Class.test`, or the module of a failed import) from a JUnit report.
fn junit_unittest_ids(xml: &str) -> BTreeSet<String> {
    junit_failed(xml).into_iter().map(|(c, n)| if c.is_empty() { n } else { format!("{c}.{n}") }).collect()
}

/// pytest node ids from a JUnit report (`tests.test_a` + `test_x` → `tests/test_a.py::test_x`;
/// a doctest `pkg.mod` + `pkg.mod.f` → `pkg/mod.py::pkg.mod.f`).
/// The module part of the classname is its longest prefix that is a file of `project`;
/// the rest are classes (`tests.test_a.T` → `tests/test_a.py::T::test_x`).
fn junit_node_ids(xml: &str, project: &Path) -> BTreeSet<String> {
    junit_failed(xml)
        .into_iter()
        .map(|(c, n)| {
            if c.is_empty() {
                return n;
            }
            let parts: Vec<&str> = c.split('.').collect();
            let split = (1..=parts.len())
                .rev()
                .find(|&i| project.join(format!("{}.py", parts[..i].join("/"))).is_file())
                .unwrap_or(parts.len());
            let mut id = format!("{}.py", parts[..split].join("/"));
            for class in &parts[split..] {
                id.push_str("::");
                id.push_str(class);
            }
            format!("{id}::{n}")
        })
        .collect()
}

/// Tests `go test -json` reports failed, and those it started and never finished (a timeout).
fn go_json_failed_or_unfinished(json: &str) -> BTreeSet<String> {
    let mut state: BTreeMap<String, String> = BTreeMap::new();
    for line in json.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if let (Some(test), Some(action)) = (v["Test"].as_str(), v["Action"].as_str()) {
            if matches!(action, "run" | "pass" | "fail" | "skip") {
                state.insert(test.to_owned(), action.to_owned());
            }
        }
    }
    state.into_iter().filter(|(_, a)| a == "fail" || a == "run").map(|(t, _)| t).collect()
}

/// Doctests libtest's JSON reports failed.
fn libtest_failed(json: &str) -> BTreeSet<String> {
    json.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["type"] == "test" && v["event"] == "failed")
        .map(|v| v["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Tests jest's `--json` report says failed.
fn jest_failed(json: &str) -> BTreeSet<String> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    v["testResults"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["assertionResults"].as_array().unwrap().iter())
        .filter(|a| a["status"] == "failed")
        .map(|a| a["fullName"].as_str().unwrap().to_owned())
        .collect()
}

/// The failing test names of a classification (failures without a test left out).
fn named(c: &Classification) -> BTreeSet<String> {
    c.failures.iter().filter_map(|f| f.test_name.clone()).collect()
}

/// `(kind, test)` of every failure.
fn kinds(c: &Classification) -> Vec<(FailureKind, Option<String>)> {
    let mut v: Vec<_> = c.failures.iter().map(|f| (f.kind, f.test_name.clone())).collect();
    v.sort();
    v
}

fn want(pairs: &[(FailureKind, Option<&str>)]) -> Vec<(FailureKind, Option<String>)> {
    let mut v: Vec<_> = pairs.iter().map(|(k, t)| (*k, t.map(str::to_owned))).collect();
    v.sort();
    v
}

use FailureKind::{
    BuildScript, Config, DocTest, Environment, Lint, TestAssertion, TestPanic, TestTimeout, UnresolvedImport,
};

/// Every case: (name, project, the failures it must give as (kind, test)).
/// The test names agree with the structured reports (checked in the tests below).
/// The failures a case must give: (kind, test name).
type Expected = &'static [(FailureKind, Option<&'static str>)];

const CASES: &[(&str, &str, Expected)] = &[
    (
        "unittest_verbose",
        "ut",
        &[
            (TestAssertion, Some("tests.test_calc.CalcTest.test_add_fails")),
            (TestPanic, Some("tests.test_calc.CalcTest.test_parse_raises")),
            (TestAssertion, Some("tests.test_calc.OtherTest.test_true_fails")),
        ],
    ),
    (
        "unittest_default",
        "ut",
        &[
            (TestAssertion, Some("tests.test_calc.CalcTest.test_add_fails")),
            (TestPanic, Some("tests.test_calc.CalcTest.test_parse_raises")),
            (TestAssertion, Some("tests.test_calc.OtherTest.test_true_fails")),
        ],
    ),
    ("unittest_import", "ut_import", &[(UnresolvedImport, Some("tests.test_broken"))]),
    ("unittest_pass", "ut_pass", &[]),
    (
        "unittest_more",
        "ut_more",
        &[
            (TestPanic, Some("tests.test_more.BrokenSetup")),
            (TestAssertion, Some("tests.test_more.MoreTest.test_squares")),
            (TestAssertion, Some("tests.test_more.MoreTest.test_fixed_bug")),
        ],
    ),
    (
        "unittest_env",
        "utenv",
        &[
            (Environment, Some("tests.test_dep")),
            (Environment, Some("tests.test_env.EnvTest.test_reads_api_key")),
            (Environment, Some("tests.test_env.EnvTest.test_reads_fixture_file")),
            (Environment, Some("tests.test_env.EnvTest.test_uses_numpy")),
        ],
    ),
    (
        "pytest_env",
        "pyenv",
        &[
            (Environment, Some("tests/test_env.py::test_reads_api_key")),
            (Environment, Some("tests/test_env.py::test_reads_fixture_file")),
            (Environment, Some("tests/test_env.py::test_binds_busy_port")),
            (Environment, Some("tests/test_env.py::test_requires_setting")),
            (Environment, Some("tests/test_env.py::test_calls_api")),
        ],
    ),
    ("pytest_dep", "pydep", &[(Environment, Some("tests/test_thirdparty.py"))]),
    ("pytest_conftest", "pyconf_conftest", &[(Config, None)]),
    ("pytest_conftest_dep", "pyconf_conftest_dep", &[(Environment, None)]),
    ("pytest_net", "pynet", &[(Environment, Some("tests/test_net.py::test_fetches_a_page"))]),
    ("pytest_pyproject", "pyconf_toml", &[(Config, None)]),
    (
        "pytest_timeout",
        "pytimeout",
        &[
            (TestTimeout, Some("tests/test_slow.py::test_hangs")),
            (TestTimeout, Some("tests/test_slow_case.py::SlowTest::test_waits_forever")),
        ],
    ),
    ("pytest_timeout_thread", "pytimeout", &[(TestTimeout, Some("tests/test_slow.py::test_hangs"))]),
    ("pytest_timeout_thread_quiet", "pytimeout", &[(TestTimeout, Some("tests/test_slow.py::test_hangs"))]),
    ("pytest_doctest", "pydoctest", &[(DocTest, Some("pkg/mathx.py::pkg.mathx.double"))]),
    ("timeout_124", "pytimeout", &[(TestTimeout, Some("tests/test_slow.py::test_hangs"))]),
    ("timeout_137", "pytimeout", &[(TestTimeout, Some("tests.test_slow_case.SlowTest.test_waits_forever"))]),
    ("timeout_143", "gotimeout", &[(TestTimeout, Some("TestHangs"))]),
    ("go_vet", "govet", &[(Lint, None), (Lint, None), (Lint, None), (Lint, None)]),
    ("go_test_vet", "govet", &[(Lint, None), (Lint, None)]),
    ("go_timeout", "gotimeout", &[(TestTimeout, Some("TestHangs"))]),
    ("go_env", "goenv", &[(Environment, Some("TestReadsFixture")), (Environment, Some("TestBindsBusyPort"))]),
    ("cargo_manifest", "rs_manifest", &[(Config, None)]),
    ("cargo_buildscript", "rs_buildscript", &[(BuildScript, None)]),
    ("cargo_config", "rs_cargoconfig", &[(Config, None)]),
    ("pytest_ini", "pyconf_ini", &[(Config, None)]),
    ("jest_jsdom", "js_jsdom", &[(Config, None)]),
    ("node_missing_esm", "js_missing", &[(Environment, None)]),
    ("cargo_doctest", "rs_doctest", &[(DocTest, Some("src/lib.rs - add (line 3)"))]),
    (
        "cargo_env",
        "rs_env",
        &[
            (Environment, Some("tests::reads_api_key")),
            (Environment, Some("tests::reads_fixture_file")),
            (Environment, Some("tests::binds_busy_port")),
        ],
    ),
    (
        "jest_timeout",
        "js_timeout",
        &[
            (TestTimeout, Some("waits for a server that never answers")),
            (TestTimeout, Some("server › answers within the limit")),
        ],
    ),
    ("jest_preset", "js_preset", &[(Config, None)]),
    ("npm_badjson", "js_badjson", &[(Config, None)]),
    ("node_missing_module", "js_missing", &[(Environment, None)]),
    ("jest_missing_module", "js_missing", &[(Environment, None)]),
    (
        "node_env",
        "js_env",
        &[
            (Environment, Some("reads the fixture file")),
            (Environment, Some("listens on a busy port")),
            (Environment, Some("needs a token")),
        ],
    ),
    ("shell_missing_tool", "ut", &[(Environment, None)]),
];

/// Failures without a test name in a case whose expectation names none are compared by kind.
fn comparable(c: &Classification, expected: &[(FailureKind, Option<&str>)]) -> Vec<(FailureKind, Option<String>)> {
    let names: BTreeSet<Option<&str>> = expected.iter().map(|(_, t)| *t).collect();
    let mut v: Vec<_> = c
        .failures
        .iter()
        .map(|f| {
            let t = f.test_name.as_deref();
            (f.kind, if names.contains(&t) { t.map(str::to_owned) } else { None })
        })
        .collect();
    v.sort();
    v
}

#[test]
fn every_case_gives_exactly_the_expected_kinds_and_tests() {
    let mut wrong = Vec::new();
    for (name, project, expected) in CASES {
        let c = classify(name, project);
        let got = comparable(&c, expected);
        if got != want(expected) {
            wrong.push(format!(
                "{name} ({}): got {:?}\n  want {:?}\n  {:#?}",
                c.tool,
                kinds(&c),
                want(expected),
                c.failures
            ));
        }
    }
    assert!(wrong.is_empty(), "{} case(s) wrong:\n{}", wrong.len(), wrong.join("\n"));
}

/// Per-kind precision and recall over the corpus, printed (run with `--nocapture`) and held at 0.95.
#[test]
fn precision_and_recall_per_kind_are_at_least_0_95() {
    let mut tp: BTreeMap<FailureKind, u32> = BTreeMap::new();
    let mut fp: BTreeMap<FailureKind, u32> = BTreeMap::new();
    let mut fnn: BTreeMap<FailureKind, u32> = BTreeMap::new();
    for (name, project, expected) in CASES {
        let c = classify(name, project);
        let mut want = want(expected);
        for got in comparable(&c, expected) {
            if let Some(i) = want.iter().position(|w| *w == got) {
                want.remove(i);
                *tp.entry(got.0).or_default() += 1;
            } else {
                *fp.entry(got.0).or_default() += 1;
            }
        }
        for (k, _) in want {
            *fnn.entry(k).or_default() += 1;
        }
    }
    let kinds: BTreeSet<FailureKind> = tp.keys().chain(fp.keys()).chain(fnn.keys()).copied().collect();
    let (mut all_tp, mut all_fp, mut all_fn) = (0, 0, 0);
    for k in kinds {
        let (t, f, n) =
            (tp.get(&k).copied().unwrap_or(0), fp.get(&k).copied().unwrap_or(0), fnn.get(&k).copied().unwrap_or(0));
        all_tp += t;
        all_fp += f;
        all_fn += n;
        let p = f64::from(t) / f64::from((t + f).max(1));
        let r = f64::from(t) / f64::from((t + n).max(1));
        println!("{:<18} tp {t:>2} fp {f:>2} fn {n:>2}  precision {p:.2} recall {r:.2}", k.name());
        assert!(p >= 0.95 && r >= 0.95, "{}: precision {p:.2} recall {r:.2}", k.name());
    }
    let p = f64::from(all_tp) / f64::from((all_tp + all_fp).max(1));
    let r = f64::from(all_tp) / f64::from((all_tp + all_fn).max(1));
    println!(
        "overall            tp {all_tp} fp {all_fp} fn {all_fn}  precision {p:.2} recall {r:.2} ({} cases)",
        CASES.len()
    );
}

#[test]
fn the_failing_tests_named_agree_with_the_tools_structured_reports() {
    // The same tests under pytest --junitxml (unittest itself writes no report).
    for (name, project, reference) in [
        ("unittest_verbose", "ut", "unittest_verbose"),
        ("unittest_default", "ut", "unittest_verbose"),
        ("unittest_import", "ut_import", "unittest_import"),
        ("unittest_env", "utenv", "unittest_env"),
        ("unittest_more", "ut_more", "unittest_more"),
    ] {
        let xml = report(reference, "junit.xml");
        // A failed `setUpClass`: pytest reports it on each test of the class, unittest on
        // the class (`setUpClass (pkg.mod.Class)`), the id that re-runs the class.
        let got = named(&classify(name, project));
        let reference: BTreeSet<String> = junit_unittest_ids(&xml)
            .into_iter()
            .map(|id| match id.rsplit_once('.') {
                Some((class, _)) if got.contains(class) => class.to_owned(),
                _ => id,
            })
            .collect();
        assert_eq!(got, reference, "{name}");
    }
    for name in ["pytest_env", "pytest_timeout", "pytest_doctest"] {
        let project = CASES.iter().find(|c| c.0 == name).unwrap().1;
        assert_eq!(
            named(&classify(name, project)),
            junit_node_ids(&report(name, "junit.xml"), &corpus().join(project)),
            "{name}"
        );
    }
    for name in ["go_env", "go_timeout"] {
        let project = CASES.iter().find(|c| c.0 == name).unwrap().1;
        assert_eq!(named(&classify(name, project)), go_json_failed_or_unfinished(&report(name, "gojson")), "{name}");
    }
    for (name, project) in [("cargo_doctest", "rs_doctest"), ("cargo_env", "rs_env")] {
        assert_eq!(named(&classify(name, project)), libtest_failed(&report(name, "libtest.json")), "{name}");
    }
    // jest's text reporter joins describe titles with ` › `, its JSON `fullName` with a space.
    let text_names: BTreeSet<String> =
        named(&classify("jest_timeout", "js_timeout")).into_iter().map(|n| n.replace(" › ", " ")).collect();
    assert_eq!(text_names, jest_failed(&report("jest_timeout", "jest.json")));
}

fn line_in(project: &str, file: &str, needle: &str) -> u32 {
    line_of(&corpus().join(project).join(file), needle)
}

#[test]
fn unittest_output_is_detected_and_picked_from_the_command_and_the_registry() {
    assert_eq!(tool_for_command("python -m unittest -v"), Some("unittest"));
    assert_eq!(tool_for_command("timeout 3 python3 -m unittest discover -s tests"), Some("unittest"));
    for name in ["unittest_verbose", "unittest_default", "unittest_import", "unittest_pass", "unittest_env"] {
        let run = run_of(name);
        assert_eq!(detect_tool(&run.stderr.text()), Some("unittest"), "{name}");
        assert_eq!(AutoClassifier::new().tool(&run), "unittest", "{name}");
    }
    assert!(classifier_for("unittest").is_some());
}

#[test]
fn unittest_failures_are_located_in_the_project_and_counted_from_the_summary() {
    for name in ["unittest_verbose", "unittest_default"] {
        let c = classify(name, "ut");
        assert_eq!(c.tool, "unittest");
        assert!(c.valid_run, "{name}: {:?}", c.notes);
        assert_eq!(c.tier, Tier::Code);
        // Ran 5 tests: FAILED (failures=2, errors=1, skipped=1).
        assert_eq!(c.tests, Some(TestCounts { passed: 1, failed: 3, ignored: 1 }), "{name}");
        let f =
            c.failures.iter().find(|f| f.test_name.as_deref().is_some_and(|t| t.ends_with("test_add_fails"))).unwrap();
        assert_eq!(f.file.as_deref(), Some(Path::new("tests/test_calc.py")));
        assert_eq!(f.line, Some(line_in("ut", "tests/test_calc.py", "self.assertEqual(add(2, 2), 5)")));
        assert_eq!(f.code.as_deref(), Some("AssertionError"));
        assert!(f.message.contains("4 != 5"), "{}", f.message);
        assert!(f.snippet.as_deref().unwrap_or_default().contains("assertEqual(add(2, 2), 5)"));
        // An exception raised in the project's code: located where it was raised.
        let f = c.failures.iter().find(|f| f.kind == FailureKind::TestPanic).unwrap();
        assert_eq!(f.file.as_deref(), Some(Path::new("calc/__init__.py")));
        assert_eq!(f.line, Some(line_in("ut", "calc/__init__.py", "return int(text)")));
        assert_eq!(f.code.as_deref(), Some("ValueError"));
    }
}

#[test]
fn unittest_verbose_lines_give_per_test_outcomes() {
    let outcomes = UnittestClassifier::new().test_outcomes(&run_of("unittest_verbose"));
    let by: BTreeMap<String, TestStatus> = outcomes.into_iter().map(|o| (o.name, o.status)).collect();
    assert_eq!(by.len(), 5, "{by:?}");
    assert_eq!(by["tests.test_calc.CalcTest.test_add_passes"], TestStatus::Passed);
    assert_eq!(by["tests.test_calc.CalcTest.test_add_fails"], TestStatus::Failed);
    assert_eq!(by["tests.test_calc.CalcTest.test_parse_raises"], TestStatus::Failed);
    assert_eq!(by["tests.test_calc.CalcTest.test_skipped"], TestStatus::Skipped);
}

#[test]
fn unittest_module_that_cannot_import_a_project_name_is_an_unresolved_import_at_the_import() {
    let c = classify("unittest_import", "ut_import");
    let f = &c.failures[0];
    assert_eq!(f.category, FailureCategory::Build);
    assert_eq!(f.file.as_deref(), Some(Path::new("tests/test_broken.py")));
    assert_eq!(f.line, Some(line_in("ut_import", "tests/test_broken.py", "from calc import multiply")));
    assert_eq!(c.tests, Some(TestCounts { passed: 1, failed: 1, ignored: 0 }));
}

#[test]
fn unittest_passing_run_is_valid() {
    let c = classify("unittest_pass", "ut_pass");
    assert!(c.passed(), "{:?} {:?}", c.notes, c.failures);
    assert_eq!(c.tests, Some(TestCounts { passed: 1, failed: 0, ignored: 0 }));
}

#[test]
fn environment_failures_put_the_run_in_the_infrastructure_tier_and_keep_the_test() {
    for (name, project) in [
        ("unittest_env", "utenv"),
        ("pytest_env", "pyenv"),
        ("pytest_dep", "pydep"),
        ("go_env", "goenv"),
        ("node_env", "js_env"),
        ("node_missing_module", "js_missing"),
        ("jest_missing_module", "js_missing"),
        ("shell_missing_tool", "ut"),
        ("cargo_env", "rs_env"),
    ] {
        let c = classify(name, project);
        assert_eq!(c.tier, Tier::Infrastructure, "{name}: {:#?}", c.failures);
        assert!(c.failures.iter().all(|f| f.category == FailureCategory::Infrastructure), "{name}: {:#?}", c.failures);
    }
    let c = classify("pytest_env", "pyenv");
    let msg = |t: &str| c.failures.iter().find(|f| f.test_name.as_deref() == Some(t)).unwrap().message.clone();
    assert!(
        msg("tests/test_env.py::test_reads_api_key").starts_with("the environment variable H17_API_KEY is not set")
    );
    assert!(msg("tests/test_env.py::test_reads_fixture_file").starts_with("a data or fixture file is missing"));
    assert!(msg("tests/test_env.py::test_binds_busy_port").starts_with("a port is already in use"));
    assert!(msg("tests/test_env.py::test_requires_setting").starts_with("an environment variable is not set"));
    // The port in use is reported once, on its test, not again by the whole-output scan.
    assert!(msg("tests/test_env.py::test_calls_api").contains("No module named 'httpx'"));
    assert_eq!(c.failures.len(), 5);
}

#[test]
fn a_missing_module_the_project_does_not_declare_stays_a_missing_dependency() {
    // The same pydep output, moved to pydoctest, which has no manifest: nothing declares httpx.
    let dep = run_of("pytest_dep");
    let bare = corpus().join("pydoctest");
    let moved = |t: String| t.replace(corpus().join("pydep").to_str().unwrap(), bare.to_str().unwrap());
    let run = RunOutput::from_text(dep.command.clone(), 2, moved(dep.stdout.text()), moved(dep.stderr.text()));
    let c = AutoClassifier::new().classify(&run, &WorkspaceProfile::new(bare));
    assert_eq!(c.failures[0].kind, FailureKind::MissingDependency, "{:#?}", c.failures);
    assert_eq!(c.tier, Tier::Code);
    let c = AutoClassifier::new()
        .classify(&run_of("jest_missing_module"), &WorkspaceProfile::new(corpus().join("js_timeout")));
    assert_eq!(c.failures[0].kind, FailureKind::MissingDependency, "{:#?}", c.failures);
}

#[test]
fn a_conftest_importing_a_declared_package_this_environment_lacks_is_infrastructure_at_the_import() {
    let c = classify("pytest_conftest_dep", "pyconf_conftest_dep");
    assert_eq!(c.tier, Tier::Infrastructure, "{c:#?}");
    assert_eq!(c.failures.len(), 1, "{c:#?}");
    let f = &c.failures[0];
    assert_eq!((f.kind, f.category), (FailureKind::Environment, FailureCategory::Infrastructure));
    assert_eq!((f.file.as_deref(), f.line), (Some(Path::new("tests/conftest.py")), Some(1)));
    assert!(f.message.contains("No module named 'h17_absent_sdk'"), "{f:#?}");
    // The undeclared import in pyconf_conftest stays a configuration failure to fix.
    assert_eq!(classify("pytest_conftest", "pyconf_conftest").tier, Tier::Code);
}

#[test]
fn configuration_failures_point_at_the_configuration_file() {
    let at = |name: &str, project: &str| {
        let c = classify(name, project);
        assert_eq!(c.tier, Tier::Code, "{name}");
        let f = c.failures.into_iter().find(|f| f.kind == FailureKind::Config).unwrap();
        (f.file.map(|p| p.display().to_string()), f.line)
    };
    assert_eq!(at("pytest_conftest", "pyconf_conftest"), (Some("tests/conftest.py".into()), Some(1)));
    assert_eq!(at("pytest_pyproject", "pyconf_toml"), (Some("pyproject.toml".into()), Some(4)));
    assert_eq!(at("cargo_manifest", "rs_manifest"), (Some("Cargo.toml".into()), Some(5)));
    assert_eq!(at("npm_badjson", "js_badjson").0.as_deref(), Some("package.json"));
    assert_eq!(at("jest_preset", "js_preset").0.as_deref(), Some("package.json"));
}

#[test]
fn runs_killed_by_timeout_or_a_signal_are_invalid_timeouts_naming_the_hanging_test() {
    for (name, project, how) in [
        ("timeout_124", "pytimeout", "exit 124"),
        ("timeout_137", "pytimeout", "SIGKILL"),
        ("timeout_143", "gotimeout", "SIGTERM"),
    ] {
        let c = classify(name, project);
        assert!(!c.valid_run, "{name}");
        let f = &c.failures[0];
        assert_eq!(f.kind, FailureKind::TestTimeout, "{name}");
        assert!(f.message.contains(how), "{name}: {}", f.message);
    }
    // A signal reported by the executor (no exit code) is the same.
    let mut run = run_of("timeout_137");
    run.exit_code = None;
    run.signal = Some(9);
    let c = AutoClassifier::new().classify(&run, &WorkspaceProfile::new(corpus().join("pytimeout")));
    assert_eq!(c.failures[0].kind, FailureKind::TestTimeout);
    assert_eq!(c.failures[0].test_name.as_deref(), Some("tests.test_slow_case.SlowTest.test_waits_forever"));
    assert!(!c.valid_run);
}

#[test]
fn go_timeout_panic_is_located_in_the_hanging_test() {
    let c = classify("go_timeout", "gotimeout");
    let f = &c.failures[0];
    assert_eq!(f.test_name.as_deref(), Some("TestHangs"));
    assert_eq!(f.file.as_deref(), Some(Path::new("slow_test.go")));
    assert_eq!(f.line, Some(line_in("gotimeout", "slow_test.go", "time.Sleep(time.Minute)")));
}

#[test]
fn go_test_timeout_names_the_test_from_running_tests_of_newer_go() {
    // Synthetic: go 1.20+ prints `running tests:` (the captures are go 1.19, which does not).
    let stdout = "panic: test timed out after 10m0s\nrunning tests:\n\tTestSlowServer (10m0s)\n\ngoroutine 7 [running]:\ntesting.(*M).startAlarm.func1()\n\t/usr/lib/go/src/testing/testing.go:2259 +0x1fc\nFAIL\texample.com/srv\t600.012s\nFAIL\n";
    let run = RunOutput::from_text("go test ./...", 1, stdout, "");
    let c = AutoClassifier::new().classify(&run, &WorkspaceProfile::default());
    assert_eq!(c.failures[0].kind, FailureKind::TestTimeout);
    assert_eq!(c.failures[0].test_name.as_deref(), Some("TestSlowServer"));
}

#[test]
fn go_vet_findings_are_lint_at_their_line_in_go_vet_and_in_go_test() {
    for name in ["go_vet", "go_test_vet"] {
        let c = classify(name, "govet");
        let f = &c.failures[0];
        assert_eq!((f.category, f.kind), (FailureCategory::Lint, FailureKind::Lint), "{name}");
        let f = c.failures.iter().find(|f| f.file.as_deref() == Some(Path::new("main.go"))).unwrap();
        assert_eq!(f.line, Some(line_in("govet", "main.go", "hello %d")), "{name}");
        assert!(c.failures.iter().all(|f| f.kind == FailureKind::Lint), "{name}: {:#?}", c.failures);
    }
}

#[test]
fn doctests_are_named_as_their_runner_names_them() {
    let c = classify("cargo_doctest", "rs_doctest");
    assert_eq!(c.failures[0].test_name.as_deref(), Some("src/lib.rs - add (line 3)"));
    let c = classify("pytest_doctest", "pydoctest");
    let f = &c.failures[0];
    assert_eq!(f.test_name.as_deref(), Some("pkg/mathx.py::pkg.mathx.double"));
    assert_eq!(f.file.as_deref(), Some(Path::new("pkg/mathx.py")));
    assert_eq!(f.line, Some(line_in("pydoctest", "pkg/mathx.py", ">>> double(3)")));
}

#[test]
fn unittest_subtests_class_fixtures_and_unexpected_successes_are_failures_of_their_test() {
    let c = classify("unittest_more", "ut_more");
    assert!(c.valid_run, "{:?}", c.notes);
    // Ran 4: test_ok passes; the subtest, the unexpected success fail; the expected failure is ignored;
    // setUpClass's error is counted by unittest in `errors=` though its test never ran.
    assert_eq!(c.tests, Some(TestCounts { passed: 1, failed: 3, ignored: 1 }));
    let squares =
        c.failures.iter().find(|f| f.test_name.as_deref() == Some("tests.test_more.MoreTest.test_squares")).unwrap();
    assert_eq!(squares.line, Some(line_in("ut_more", "tests/test_more.py", "self.assertEqual(i * i, i)")));
    assert!(squares.message.contains("4 != 2"), "{}", squares.message);
}
