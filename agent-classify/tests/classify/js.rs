//! The JavaScript/TypeScript classifiers (tsc, jest, vitest, `node --test`,
//! eslint) on real output captured in `tests/testdata/js` (see its README),
//! plus a property test that they never panic.

use crate::support::{line_of, testdata};
use agent_classify::{
    EslintClassifier, JestClassifier, NodeTestClassifier, TscClassifier, classifier_for, detect_tool,
};
use agent_core::FailureClassifier;
use agent_core::exec::{RunOutput, TimeoutKind};
use agent_core::failure::{Classification, FailureCategory, FailureKind, TestCounts, Tier};
use agent_core::workspace::WorkspaceProfile;
use proptest::prelude::*;
use std::path::{Path, PathBuf};

/// The directory the capture script ran the tools in (see `testdata/js/capture.sh`).
const CAPTURE_ROOT: &str = "/tmp/agent-oracles-js-capture";

pub(crate) fn project(name: &str) -> PathBuf {
    testdata().join("js").join(name)
}

/// The captured `MODE.{stdout,stderr,exit}` of project `name`, with the
/// capture directory's absolute path replaced by the fixture's, as if the
/// tool had run in the fixture itself.
pub(crate) fn captured(name: &str, mode: &str, command: &str) -> RunOutput {
    let dir = project(name);
    let from = format!("{CAPTURE_ROOT}/{name}");
    let to = dir.to_string_lossy().into_owned();
    let read = |ext: &str| std::fs::read_to_string(dir.join(format!("{mode}.{ext}"))).unwrap().replace(&from, &to);
    let exit: i32 = read("exit").trim().parse().unwrap();
    RunOutput::from_text(command, exit, read("stdout"), read("stderr"))
}

fn classify(c: &dyn FailureClassifier, name: &str, mode: &str, command: &str) -> Classification {
    c.classify(&captured(name, mode, command), &WorkspaceProfile::new(project(name)))
}

/// Asserts a failure of `kind` in `file` at the line of `needle` (read from the fixture source), with a snippet holding it.
fn assert_failure(
    c: &Classification,
    project_name: &str,
    kind: FailureKind,
    file: &str,
    needle: &str,
    test: Option<&str>,
) {
    let line = line_of(&project(project_name).join(file), needle);
    let found = c.failures.iter().find(|f| {
        f.kind == kind
            && f.file.as_deref() == Some(Path::new(file))
            && f.line == Some(line)
            && f.test_name.as_deref() == test
    });
    let f = found.unwrap_or_else(|| panic!("no {kind:?} at {file}:{line} ({test:?}) in {:#?}", c.failures));
    assert!(f.column.is_some(), "{f:?}");
    let snippet = f.snippet.as_deref().unwrap_or_default();
    assert!(snippet.contains(needle.trim()), "snippet {snippet:?} lacks {needle:?}");
    assert!(!f.message.is_empty());
}

fn assert_valid_code_run(c: &Classification) {
    assert!(c.valid_run, "{:?}", c.notes);
    assert_eq!(c.tier, Tier::Code);
}

#[test]
fn tsc_errors_are_typed_by_their_code() {
    let c = classify(&TscClassifier::new(), "tsc_errors", "text", "tsc --noEmit --pretty false -p .");
    assert_eq!(c.tool, "tsc");
    assert_eq!(c.failures.len(), 3, "{:#?}", c.failures);
    assert_failure(&c, "tsc_errors", FailureKind::UnresolvedImport, "src/index.ts", "from \"./missing\"", None);
    assert_failure(&c, "tsc_errors", FailureKind::UnresolvedName, "src/index.ts", "sum + undefinedOffset", None);
    assert_failure(&c, "tsc_errors", FailureKind::Type, "src/index.ts", "const count: number = \"three\";", None);
    let codes: Vec<_> = c.failures.iter().map(|f| f.code.as_deref().unwrap()).collect();
    assert_eq!(codes, ["TS2307", "TS2304", "TS2322"]);
    assert!(c.failures.iter().all(|f| f.category == FailureCategory::Build));
    assert_eq!(c.tests, None);
    assert_valid_code_run(&c);
}

#[test]
fn tsc_syntax_errors_are_syntax_at_the_broken_signature() {
    let c = classify(&TscClassifier::new(), "tsc_syntax", "text", "tsc --noEmit --pretty false -p .");
    // tsc prints five TS1005 for the one missing `)`: the cascade is folded into the first.
    assert_eq!(c.failures.len(), 1, "{:#?}", c.failures);
    assert!(c.failures.iter().all(|f| f.kind == FailureKind::Syntax && f.code.as_deref() == Some("TS1005")));
    assert!(c.failures[0].message.contains("4 more syntax errors"), "{}", c.failures[0].message);
    assert_failure(
        &c,
        "tsc_syntax",
        FailureKind::Syntax,
        "src/index.ts",
        "export function broken(values: number[] {",
        None,
    );
    assert_eq!(c.failures[0].line, Some(line_of(&project("tsc_syntax").join("src/index.ts"), "broken(values")));
    assert_valid_code_run(&c);
}

#[test]
fn tsc_missing_package_is_a_missing_dependency() {
    let out = "src/a.ts(1,22): error TS2307: Cannot find module 'left-pad' or its corresponding type declarations.\n";
    let c = TscClassifier::new().classify(&RunOutput::from_text("tsc", 2, out, ""), &WorkspaceProfile::default());
    assert_eq!(c.failures[0].kind, FailureKind::MissingDependency);
}

/// The four jest failures of `jest_project`, the same from `--json` and from the text reporter.
fn assert_jest_project(c: &Classification) {
    assert_eq!(c.tool, "jest");
    assert_eq!(c.failures.len(), 4, "{:#?}", c.failures);
    assert_failure(
        c,
        "jest_project",
        FailureKind::TestAssertion,
        "sum.test.js",
        "expect(sum(1, 2)).toBe(3);",
        Some("sum › adds two numbers"),
    );
    assert_failure(
        c,
        "jest_project",
        FailureKind::TestPanic,
        "sum.js",
        "throw new Error(\"empty input\");",
        Some("parse › rejects empty input gracefully"),
    );
    assert_failure(c, "jest_project", FailureKind::Syntax, "broken.test.js", "expect(sum(1, 1)).toBe(2;", None);
    assert_failure(c, "jest_project", FailureKind::UnresolvedImport, "imports.test.js", "require(\"./product\")", None);
    let panic = c.failures.iter().find(|f| f.kind == FailureKind::TestPanic).unwrap();
    assert!(panic.message.contains("empty input"), "{}", panic.message);
    assert!(panic.message.contains("sum.test.js:15"), "the test's frame is kept: {}", panic.message);
    assert!(!c.failures.iter().any(|f| f.message.contains("node_modules")), "dependency frames dropped");
    assert_eq!(c.tests, Some(TestCounts { passed: 2, failed: 2, ignored: 0 }));
    assert_valid_code_run(c);
}

#[test]
fn jest_json_report_gives_assertion_panic_syntax_and_import_failures() {
    let c = classify(&JestClassifier::jest(), "jest_project", "json", "jest --ci --json");
    assert_jest_project(&c);
}

#[test]
fn jest_text_report_gives_the_same_failures() {
    let c = classify(&JestClassifier::jest(), "jest_project", "text", "jest --ci");
    assert_jest_project(&c);
}

#[test]
fn jest_without_tests_is_not_a_valid_run() {
    let run = captured("jest_project", "nomatch", "jest");
    assert_eq!(detect_tool(&run.stderr.text()), Some("jest"));
    let c = classify(&JestClassifier::jest(), "jest_project", "nomatch", "jest --ci --json --testPathPatterns=x");
    assert!(!c.valid_run);
    assert!(c.notes.iter().any(|n| n.contains("no tests")), "{:?}", c.notes);
}

#[test]
fn jest_report_disagreeing_with_the_exit_code_is_not_valid() {
    let mut run = captured("jest_project", "json", "jest --ci --json");
    run.exit_code = Some(0);
    let c = JestClassifier::jest().classify(&run, &WorkspaceProfile::new(project("jest_project")));
    assert!(!c.valid_run);
    assert_eq!(c.failures.len(), 4);
}

fn assert_vitest_project(c: &Classification) {
    assert_eq!(c.tool, "vitest");
    assert_eq!(c.failures.len(), 2, "{:#?}", c.failures);
    assert_failure(
        c,
        "vitest_project",
        FailureKind::TestAssertion,
        "math.test.js",
        "expect(mean([1, 2, 3])).toBe(2);",
        Some("mean > of three values"),
    );
    assert_failure(
        c,
        "vitest_project",
        FailureKind::TestPanic,
        "math.js",
        "throw new RangeError(\"no values\");",
        Some("first > of an empty list"),
    );
    assert_eq!(c.tests, Some(TestCounts { passed: 2, failed: 2, ignored: 0 }));
    assert_valid_code_run(c);
}

#[test]
fn vitest_json_report_gives_an_assertion_and_a_thrown_error() {
    assert_vitest_project(&classify(&JestClassifier::vitest(), "vitest_project", "json", "vitest run --reporter=json"));
}

#[test]
fn vitest_text_report_gives_the_same_failures() {
    assert_vitest_project(&classify(&JestClassifier::vitest(), "vitest_project", "text", "vitest run"));
}

#[test]
fn vitest_passing_run_is_valid_with_skipped_tests_counted() {
    let c = classify(&JestClassifier::vitest(), "vitest_project", "pass", "vitest run --reporter=json -t x");
    assert!(c.passed(), "{:?} {:?}", c.failures, c.notes);
    assert_eq!(c.tier, Tier::None);
    assert_eq!(c.tests, Some(TestCounts { passed: 1, failed: 0, ignored: 3 }));
}

fn assert_node_project(c: &Classification) {
    assert_eq!(c.tool, "node");
    assert_eq!(c.failures.len(), 2, "{:#?}", c.failures);
    assert_failure(
        c,
        "node_test",
        FailureKind::TestAssertion,
        "strings.test.js",
        "assert.equal(shout(\"hi\"), \"HI!\");",
        Some("shout adds one bang"),
    );
    assert_failure(
        c,
        "node_test",
        FailureKind::TestPanic,
        "strings.js",
        "return name.split(\" \")",
        Some("initials of nothing"),
    );
    assert_eq!(c.tests, Some(TestCounts { passed: 1, failed: 2, ignored: 0 }));
    assert_valid_code_run(c);
}

#[test]
fn node_test_spec_reporter_is_classified() {
    assert_node_project(&classify(&NodeTestClassifier::new(), "node_test", "spec", "node --test"));
}

#[test]
fn node_test_tap_reporter_is_classified() {
    assert_node_project(&classify(&NodeTestClassifier::new(), "node_test", "tap", "node --test --test-reporter=tap"));
}

#[test]
fn eslint_errors_are_lint_and_parse_errors_syntax_warnings_ignored() {
    let c = classify(&EslintClassifier::new(), "eslint_project", "json", "eslint -f json src");
    assert_eq!(c.tool, "eslint");
    assert_eq!(c.failures.len(), 3, "{:#?}", c.failures);
    assert_failure(&c, "eslint_project", FailureKind::Lint, "src/app.js", "const unused = 42;", None);
    assert_failure(&c, "eslint_project", FailureKind::Lint, "src/app.js", "format(defaultName)", None);
    assert_failure(&c, "eslint_project", FailureKind::Syntax, "src/broken.js", "3.map", None);
    let codes: Vec<_> = c.failures.iter().map(|f| f.code.as_deref()).collect();
    assert_eq!(codes, [Some("no-unused-vars"), Some("no-undef"), None]);
    assert!(!c.failures.iter().any(|f| f.code.as_deref() == Some("eqeqeq")), "warnings are not failures");
    assert_eq!(c.tests, None);
    assert_valid_code_run(&c);
}

#[test]
fn registry_names_and_detection_find_the_js_classifiers() {
    for (name, mode, tool) in [
        ("tsc_errors", "text", "tsc"),
        ("jest_project", "json", "jest"),
        ("jest_project", "text", "jest"),
        ("vitest_project", "json", "vitest"),
        ("vitest_project", "text", "vitest"),
        ("node_test", "spec", "node"),
        ("node_test", "tap", "node"),
        ("eslint_project", "json", "eslint"),
    ] {
        let run = captured(name, mode, tool);
        let text = format!("{}\n{}", run.stdout.text(), run.stderr.text());
        assert_eq!(detect_tool(&text), Some(tool), "{name} {mode}");
        let c = classifier_for(tool).unwrap().classify(&run, &WorkspaceProfile::new(project(name)));
        assert_eq!(c.tool, tool);
        assert!(!c.failures.is_empty());
    }
}

/// Fragments of real JS tool output, so random text reaches the deep parser paths.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("src/a.ts(1,24): error TS2307: Cannot find module './m'.\n".to_owned()),
        Just("src/a.ts:3:1 - error TS1005: ';' expected.\n".to_owned()),
        Just("error TS5023: Unknown compiler option 'x'.\n".to_owned()),
        Just("FAIL ./a.test.js\n".to_owned()),
        Just("  ● sum › adds\n".to_owned()),
        Just("  ● Test suite failed to run\n".to_owned()),
        Just("    SyntaxError: /w/a.js: Unexpected token (4:26)\n".to_owned()),
        Just("      at Object.toBe (a.test.js:5:23)\n".to_owned()),
        Just("Tests:       2 failed, 2 passed, 4 total\n".to_owned()),
        Just(" FAIL  math.test.js > mean > of three values\n".to_owned()),
        Just(" ❯ first math.js:11:11\n".to_owned()),
        Just("      Tests  2 failed | 2 passed (4)\n".to_owned()),
        Just("{\"success\":false,\"numFailedTests\":1,\"testResults\":[{\"name\":\"/w/a.js\",\"status\":\"failed\",\"assertionResults\":[{\"status\":\"failed\"}]}]}".to_owned()),
        Just("[{\"filePath\":\"/w/a.js\",\"messages\":[{\"severity\":2,\"fatal\":true,\"line\":0}]}]".to_owned()),
        Just("TAP version 13\nnot ok 1 - a\n  ---\n  error: |-\n  stack: |-\n    x (file:///w/a.js:1:1)\n".to_owned()),
        Just("✖ a (1ms)\n  TypeError: x\n      at f (file:///w/a.js:6:15)\n".to_owned()),
        Just("# fail 1\nℹ pass 0\n".to_owned()),
        ".{0,40}",
        "[\\n: 0-9a-z'|>(),●›❯✖-]{0,40}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn js_classifiers_never_panic(
        out in prop::collection::vec(fragment(), 0..8).prop_map(|v| v.concat()),
        err in prop::collection::vec(fragment(), 0..8).prop_map(|v| v.concat()),
        exit in prop_oneof![Just(0), Just(1), Just(2), Just(127)],
        timed_out in any::<bool>(),
    ) {
        let mut run = RunOutput::from_text("npx jest", exit, out.clone(), err.clone());
        if timed_out {
            run.timed_out = Some(TimeoutKind::Wall);
        }
        let ws = WorkspaceProfile::new("/w");
        for tool in ["tsc", "jest", "vitest", "node", "eslint"] {
            let c = classifier_for(tool).unwrap().classify(&run, &ws);
            if exit != 0 || timed_out {
                prop_assert!(!c.failures.is_empty(), "{tool}: a failed run always has a failure to show");
            }
        }
        let _ = detect_tool(&out);
        let _ = detect_tool(&err);
    }
}
