//! Tests of the same name in two packages stay two tests: the outcomes carry
//! their scope (crate / test binary, go package), and the regression check
//! compares a test with the same test of the same scope only.
//!
//! The fixtures are `tests/testdata/scoped/{cargo,go}`: `crate_a` and
//! `crate_b` both hold `tests::it_works` (unit), `it_works` (integration)
//! and a doctest; go packages `alpha` and `beta` both hold `TestIt`. In the
//! checked-in sources crate_b's and beta's fail. `out/` holds their real
//! output, captured by `tests/testdata/scoped/capture.sh`; the live tests
//! run cargo and go on copies in temporary directories.

use crate::support::{copy_fixture, testdata};
use agent_classify::{classifier_for, test_outcomes};
use agent_core::exec::RunOutput;
use agent_core::failure::{TestOutcome, TestStatus, compare_runs};
use proptest::prelude::*;
use std::path::Path;

use TestStatus::{Failed, Passed};

/// A captured run of `tests/testdata/scoped/out/NAME`.
fn captured(name: &str) -> RunOutput {
    let dir = testdata().join("scoped").join("out");
    let read = |ext: &str| std::fs::read_to_string(dir.join(format!("{name}.{ext}"))).unwrap();
    RunOutput::from_text(read("cmd").trim(), read("exit").trim().parse().unwrap(), read("stdout"), read("stderr"))
}

/// (scope, name, status), sorted.
fn triples(outcomes: &[TestOutcome]) -> Vec<(String, String, TestStatus)> {
    let mut v: Vec<_> =
        outcomes.iter().map(|o| (o.scope.clone().unwrap_or_default(), o.name.clone(), o.status)).collect();
    v.sort();
    v
}

fn owned(v: &[(&str, &str, TestStatus)]) -> Vec<(String, String, TestStatus)> {
    let mut v: Vec<_> = v.iter().map(|(s, n, st)| ((*s).to_owned(), (*n).to_owned(), *st)).collect();
    v.sort();
    v
}

/// What `cargo test` shows of the checked-in cargo fixture.
fn cargo_fixture_outcomes() -> Vec<(String, String, TestStatus)> {
    owned(&[
        ("crate_a", "tests::it_works", Passed),
        ("crate_a::it", "it_works", Passed),
        ("crate_a", "crate_a/src/lib.rs - answer (line 8)", Passed),
        ("crate_b", "tests::it_works", Failed),
        ("crate_b::it", "it_works", Passed),
        ("crate_b", "crate_b/src/lib.rs - answer (line 8)", Passed),
    ])
}

#[test]
fn cargo_test_gives_each_crates_same_named_test_its_own_scope() {
    let run = captured("cargo_test");
    let outcomes = classifier_for("cargo").unwrap().test_outcomes(&run);
    assert_eq!(triples(&outcomes), cargo_fixture_outcomes());
}

#[test]
fn cargo_test_streams_read_apart_or_through_one_pipe_give_the_same_scopes() {
    let merged = std::fs::read_to_string(testdata().join("scoped/out/cargo_test_merged.stdout")).unwrap();
    assert_eq!(triples(&test_outcomes(&merged)), cargo_fixture_outcomes());
}

#[test]
fn libtest_json_gives_the_same_scoped_outcomes_as_libtest_text() {
    let outcomes = classifier_for("cargo").unwrap().test_outcomes(&captured("libtest_json"));
    assert_eq!(triples(&outcomes), cargo_fixture_outcomes());
}

#[test]
fn nextest_scopes_are_its_binary_ids_in_text_and_libtest_json() {
    let text = classifier_for("nextest").unwrap().test_outcomes(&captured("nextest"));
    assert_eq!(
        triples(&text),
        owned(&[
            ("crate_a", "tests::it_works", Passed),
            ("crate_a::it", "it_works", Passed),
            ("crate_b", "tests::it_works", Failed),
            ("crate_b::it", "it_works", Passed),
        ])
    );
    // libtest-json names the library binaries `crate_a::crate_a`: read as nextest's `crate_a`.
    let json = classifier_for("nextest").unwrap().test_outcomes(&captured("nextest_json"));
    assert_eq!(triples(&json), triples(&text));
}

#[test]
fn cargo_binaries_that_do_not_match_the_suites_give_no_scope_rather_than_wrong_ones() {
    let run = captured("cargo_test");
    // One `Running` line lost: the binaries can no longer be matched with the suites in order.
    let stderr: String = run
        .stderr
        .text()
        .lines()
        .filter(|l| !l.contains("Running tests/it.rs (target/debug/deps/it-f98f"))
        .map(|l| format!("{l}\n"))
        .collect();
    let outcomes = test_outcomes(&format!("{}\n{stderr}", run.stdout.text()));
    assert!(outcomes.iter().all(|o| o.scope.is_none()), "{outcomes:?}");
    // Unscoped, one name printed by two binaries is one test that passes only if both did.
    let it_works: Vec<_> = outcomes.iter().filter(|o| o.name == "tests::it_works").collect();
    assert_eq!(it_works.len(), 1);
    assert_eq!(it_works[0].status, Failed);
}

#[test]
fn go_test_scopes_are_packages_in_verbose_quiet_and_json_output() {
    let want = owned(&[("example.com/scoped/alpha", "TestIt", Passed), ("example.com/scoped/beta", "TestIt", Failed)]);
    let go = classifier_for("go").unwrap();
    assert_eq!(triples(&go.test_outcomes(&captured("go_test_v"))), want);
    assert_eq!(triples(&go.test_outcomes(&captured("go_test_json"))), want);
    // Without -v only failures are listed.
    assert_eq!(triples(&go.test_outcomes(&captured("go_test"))), want[1..]);
}

#[test]
fn jest_titles_two_files_hold_are_told_apart_by_the_shortest_distinct_path() {
    // The real jest JSON of `tests/testdata/js/jest_project`, with its test file's
    // results listed once more as if from a second directory.
    let text = std::fs::read_to_string(testdata().join("js/jest_project/json.stdout")).unwrap();
    let mut doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let results = doc["testResults"].as_array_mut().unwrap();
    let mut copy = results[0].clone();
    let path = copy["name"].as_str().unwrap().replace("/jest_project/", "/jest_project/other/");
    copy["name"] = serde_json::Value::String(path);
    results.push(copy);
    let outcomes = test_outcomes(&doc.to_string());
    let commutative: Vec<_> = outcomes.iter().filter(|o| o.name == "sum is commutative").collect();
    let scopes: Vec<_> = commutative.iter().map(|o| o.scope.as_deref().unwrap()).collect();
    assert_eq!(scopes, ["jest_project/sum.test.js", "other/sum.test.js"]);
    // Titles only one file holds keep no scope.
    let single = test_outcomes(&text);
    assert!(single.iter().all(|o| o.scope.is_none()), "{single:?}");
}

#[test]
fn a_swap_between_two_crates_same_named_tests_is_a_regression_on_captured_output() {
    let before = classifier_for("cargo").unwrap().test_outcomes(&captured("cargo_test"));
    // The after-run: crate_a's unit test fails, crate_b's passes.
    let after: Vec<TestOutcome> = before
        .iter()
        .cloned()
        .map(|mut o| {
            if o.name == "tests::it_works" {
                o.status = if o.status == Passed { Failed } else { Passed };
            }
            o
        })
        .collect();
    let cmp = compare_runs(&before, &after, &["crate_b::tests::it_works".to_owned()]);
    assert_eq!(cmp.fixed, ["crate_b::tests::it_works"]);
    assert_eq!(cmp.regressions, ["`tests::it_works` (crate_a) passed before the change and failed after it"]);
    // A goal naming the bare name names both crates' tests: crate_a's fails.
    let cmp = compare_runs(&before, &after, &["tests::it_works".to_owned()]);
    assert_eq!(cmp.missing_fixes, ["`tests::it_works` (crate_a) failed after the change"]);
}

// ---- live runs -------------------------------------------------------------------------------

/// Replaces `from` with `to` in the file at `path`.
fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} has no {from:?}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// Runs `program args` in `dir` (stdout and stderr apart) as the executor reports it.
fn run(dir: &Path, program: &str, args: &[&str], env: &[(&str, String)]) -> RunOutput {
    let mut cmd = std::process::Command::new(program);
    cmd.args(args).current_dir(dir).env("CARGO_TERM_COLOR", "never");
    cmd.env_remove("RUSTFLAGS").env_remove("CARGO_BUILD_RUSTFLAGS");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    RunOutput::from_text(
        format!("{program} {}", args.join(" ")),
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn live_cargo_workspace_swap_of_two_crates_it_works_is_a_regression() {
    let (_tmp, dir) = copy_fixture(&testdata().join("scoped/cargo"));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let env = [("CARGO_TARGET_DIR", dir.join("target").display().to_string())];
    let args = ["test", "--offline", "--no-fail-fast"];
    let classifier = classifier_for("cargo").unwrap();

    let before_run = run(&dir, &cargo, &args, &env);
    assert_eq!(before_run.exit_code, Some(101), "{}", before_run.stderr.text());
    let before = classifier.test_outcomes(&before_run);
    assert_eq!(triples(&before), cargo_fixture_outcomes());

    // The change: crate_b fixed, crate_a broken.
    edit(&dir.join("crate_b/src/lib.rs"), "    1 + 2\n", "    1 + 1\n");
    edit(&dir.join("crate_a/src/lib.rs"), "    1 + 1\n", "    1 + 2\n");
    let after_run = run(&dir, &cargo, &args, &env);
    assert_eq!(after_run.exit_code, Some(101), "{}", after_run.stderr.text());
    let after = classifier.test_outcomes(&after_run);
    let unit: Vec<_> = triples(&after).into_iter().filter(|t| t.1 == "tests::it_works").collect();
    assert_eq!(
        unit,
        owned(&[("crate_a", "tests::it_works", Failed), ("crate_b", "tests::it_works", Passed)]),
        "two outcomes, two scopes"
    );

    let cmp = compare_runs(&before, &after, &["crate_b::tests::it_works".to_owned()]);
    assert_eq!(cmp.fixed, ["crate_b::tests::it_works"]);
    assert_eq!(cmp.regressions, ["`tests::it_works` (crate_a) passed before the change and failed after it"]);
    assert!(!cmp.ok());

    // Without scopes the swap is invisible: that is the bug scopes fix.
    let bare = |v: &[TestOutcome]| -> Vec<TestOutcome> {
        v.iter().map(|o| TestOutcome::new(o.name.clone(), o.status)).collect()
    };
    assert!(compare_runs(&bare(&before), &bare(&after), &[]).regressions.is_empty());
}

#[test]
fn live_go_module_swap_of_two_packages_test_it_is_a_regression() {
    let (tmp, dir) = copy_fixture(&testdata().join("scoped/go"));
    let mut env =
        vec![("GOPROXY", "off".to_owned()), ("GOTOOLCHAIN", "local".to_owned()), ("GOFLAGS", "-count=1".to_owned())];
    if std::env::var_os("HOME").is_none() {
        // go keeps its caches under HOME.
        env.push(("GOCACHE", tmp.path().join("gocache").display().to_string()));
        env.push(("GOPATH", tmp.path().join("gopath").display().to_string()));
    }
    let args = ["test", "-v", "./..."];
    let go = classifier_for("go").unwrap();

    let before_run = run(&dir, "go", &args, &env);
    assert_eq!(before_run.exit_code, Some(1), "{}\n{}", before_run.stdout.text(), before_run.stderr.text());
    let before = go.test_outcomes(&before_run);
    assert_eq!(
        triples(&before),
        owned(&[("example.com/scoped/alpha", "TestIt", Passed), ("example.com/scoped/beta", "TestIt", Failed)])
    );

    edit(&dir.join("beta/beta.go"), "return 41", "return 42");
    edit(&dir.join("alpha/alpha.go"), "return 42", "return 41");
    let after_run = run(&dir, "go", &args, &env);
    let after = go.test_outcomes(&after_run);
    assert_eq!(
        triples(&after),
        owned(&[("example.com/scoped/alpha", "TestIt", Failed), ("example.com/scoped/beta", "TestIt", Passed)])
    );

    let cmp = compare_runs(&before, &after, &["beta/TestIt".to_owned()]);
    assert_eq!(cmp.fixed, ["beta/TestIt"]);
    assert_eq!(cmp.regressions, ["`TestIt` (example.com/scoped/alpha) passed before the change and failed after it"]);
}

// ---- compare_runs with scopes --------------------------------------------------------------

#[test]
fn an_unscoped_side_stands_for_every_scope_of_the_name() {
    let scoped = [
        TestOutcome::new("tests::it_works", Passed).in_scope("crate_a"),
        TestOutcome::new("tests::it_works", Failed).in_scope("crate_b"),
    ];
    let plain = [TestOutcome::new("tests::it_works", Passed)];
    // Baseline as plain text, after-run scoped: the unscoped passing test must pass in every scope.
    let cmp = compare_runs(&plain, &scoped, &[]);
    assert_eq!(cmp.regressions, ["`tests::it_works` passed before the change and failed after it"]);
    // Baseline scoped, after-run as plain text that passes: no regression, nothing lost.
    let cmp = compare_runs(&scoped, &plain, &[]);
    assert!(cmp.ok(), "{cmp:?}");
    // A scope gone from a scoped after-run is a test that did not run.
    let cmp = compare_runs(&scoped, &scoped[1..], &[]);
    assert_eq!(cmp.regressions, ["`tests::it_works` (crate_a) passed before the change and did not run after it"]);
}

#[test]
fn outcomes_keep_their_json_shape_and_add_scope_only_when_known() {
    let plain = serde_json::to_value(TestOutcome::new("t", Passed)).unwrap();
    assert_eq!(plain, serde_json::json!({"name": "t", "status": "passed"}));
    let scoped = TestOutcome::new("t", Failed).in_scope("crate_a");
    let json = serde_json::to_value(&scoped).unwrap();
    assert_eq!(json, serde_json::json!({"name": "t", "status": "failed", "scope": "crate_a"}));
    let back: TestOutcome = serde_json::from_value(serde_json::json!({"name": "t", "status": "failed"})).unwrap();
    assert_eq!(back, TestOutcome::new("t", Failed));
}

fn status() -> impl Strategy<Value = TestStatus> {
    prop_oneof![Just(Passed), Just(Failed), Just(TestStatus::Skipped), Just(TestStatus::Errored)]
}

/// A run: outcomes over a few scopes and names, so that names repeat across scopes.
fn scoped_run() -> impl Strategy<Value = Vec<TestOutcome>> {
    prop::collection::vec(
        (
            prop::sample::select(vec!["crate_a", "crate_b", "crate_a::it"]),
            prop::sample::select(vec!["t1", "t2", "m::t3"]),
            status(),
        ),
        0..10,
    )
    .prop_map(|v| v.into_iter().map(|(s, n, st)| TestOutcome::new(n, st).in_scope(s)).collect())
}

fn any_run() -> impl Strategy<Value = Vec<TestOutcome>> {
    prop::collection::vec(
        (
            prop::option::of(prop::sample::select(vec!["crate_a", "crate_b"])),
            prop::sample::select(vec!["t1", "t2"]),
            status(),
        ),
        0..10,
    )
    .prop_map(|v| {
        v.into_iter()
            .map(|(s, n, st)| {
                let o = TestOutcome::new(n, st);
                match s {
                    Some(s) => o.in_scope(s),
                    None => o,
                }
            })
            .collect()
    })
}

proptest! {
    #[test]
    fn a_run_compared_with_itself_has_no_regression(run in any_run()) {
        prop_assert!(compare_runs(&run, &run, &[]).regressions.is_empty());
    }

    #[test]
    fn adding_an_unrelated_scope_never_removes_a_regression(
        before in scoped_run(),
        after in scoped_run(),
        extra_before in prop::collection::vec((prop::sample::select(vec!["t1", "t2", "m::t3"]), status()), 0..4),
        extra_after in prop::collection::vec((prop::sample::select(vec!["t1", "t2", "m::t3"]), status()), 0..4),
    ) {
        let plain = compare_runs(&before, &after, &[]);
        let mut b2 = before.clone();
        b2.extend(extra_before.into_iter().map(|(n, st)| TestOutcome::new(n, st).in_scope("crate_new")));
        let mut a2 = after.clone();
        a2.extend(extra_after.into_iter().map(|(n, st)| TestOutcome::new(n, st).in_scope("crate_new")));
        let widened = compare_runs(&b2, &a2, &[]);
        for r in &plain.regressions {
            prop_assert!(widened.regressions.contains(r), "{r} lost: {:?}", widened.regressions);
        }
    }

    #[test]
    fn a_scope_qualified_goal_is_judged_on_its_scope_alone(after in scoped_run()) {
        let cmp = compare_runs(&[], &after, &["crate_b::t1".to_owned()]);
        let mine: Vec<_> = after.iter().filter(|o| o.scope.as_deref() == Some("crate_b") && o.name == "t1").collect();
        let fixed = !mine.is_empty() && mine.iter().all(|o| o.status == Passed);
        prop_assert_eq!(cmp.fixed == ["crate_b::t1"], fixed);
    }
}
