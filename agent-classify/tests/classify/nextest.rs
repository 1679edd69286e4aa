//! The nextest / libtest-JSON classifier on real output captured in
//! `tests/testdata/nextest` by `tests/testdata/capture_nextest.sh`: cargo-nextest's
//! human output (`nextest`), its libtest-json output (`nextest_json`) and
//! libtest's own JSON (`libtest_json`).

use crate::support::{crate_dir, line_of, profile_of, testdata};
use agent_classify::{NextestClassifier, classifier_for, detect_tool};
use agent_core::FailureClassifier;
use agent_core::exec::RunOutput;
use agent_core::failure::{Classification, FailureCategory, FailureKind, TestCounts, Tier};
use std::path::Path;

const MODES: [&str; 3] = ["nextest", "nextest_json", "libtest_json"];

/// The captured run of crate `name` in `mode`, with its recorded command and exit code.
pub(crate) fn captured(name: &str, mode: &str) -> RunOutput {
    let dir = testdata().join("nextest");
    let read = |ext: &str| std::fs::read_to_string(dir.join(format!("{name}.{mode}.{ext}"))).unwrap();
    let exit: i32 = read("exit").trim().parse().unwrap();
    RunOutput::from_text(read("cmd").trim(), exit, read("stdout"), read("stderr"))
}

fn classify(name: &str, mode: &str) -> Classification {
    NextestClassifier::new().classify(&captured(name, mode), &profile_of(name))
}

fn lib_rs(name: &str) -> std::path::PathBuf {
    crate_dir(name).join("src/lib.rs")
}

#[test]
fn failing_assert_is_one_assertion_failure_named_as_libtest_names_it_in_every_mode() {
    let line = line_of(&lib_rs("failing_assert"), "assert_eq!(add(1, 2), 3)");
    for mode in MODES {
        let c = classify("failing_assert", mode);
        assert!(c.valid_run, "{mode}: {:?}", c.notes);
        assert_eq!(c.tier, Tier::Code);
        assert_eq!(c.failures.len(), 1, "{mode}: {:#?}", c.failures);
        let f = &c.failures[0];
        assert_eq!(f.kind, FailureKind::TestAssertion, "{mode}");
        assert_eq!(f.category, FailureCategory::Test);
        // nextest's libtest-json names are `crate::binary$tests::…`: the binary is dropped.
        assert_eq!(f.test_name.as_deref(), Some("tests::adds_small_numbers"), "{mode}");
        assert_eq!(f.file.as_deref(), Some(Path::new("src/lib.rs")), "{mode}");
        assert_eq!(f.line, Some(line), "{mode}");
        assert!(f.message.contains("left: 4"), "{mode}: {}", f.message);
        assert!(!f.message.contains("stack backtrace"), "{mode}: {}", f.message);
        // One passing test, the failing one, and the #[ignore]d one (nextest: "skipped").
        assert_eq!(c.tests, Some(TestCounts { passed: 1, failed: 1, ignored: 1 }), "{mode}");
    }
}

#[test]
fn a_panic_outside_an_assertion_is_a_test_panic_at_the_panic_site_in_every_mode() {
    let line = line_of(&lib_rs("panicking_test"), "panic!(\"widget count exploded");
    for mode in MODES {
        let c = classify("panicking_test", mode);
        assert!(c.valid_run, "{mode}: {:?}", c.notes);
        assert_eq!(c.failures.len(), 1, "{mode}: {:#?}", c.failures);
        let f = &c.failures[0];
        assert_eq!(f.kind, FailureKind::TestPanic, "{mode}");
        assert_eq!(f.test_name.as_deref(), Some("tests::many_widgets"), "{mode}");
        assert_eq!(f.line, Some(line), "{mode}");
        assert!(f.message.contains("widget count exploded: 11"), "{mode}: {}", f.message);
        assert!(f.snippet.as_deref().is_some_and(|s| s.contains("widget count exploded")), "{mode}");
        assert_eq!(c.tests.map(|t| (t.passed, t.failed)), Some((1, 1)), "{mode}");
    }
}

#[test]
fn passing_crate_is_a_valid_pass_in_every_mode() {
    for mode in MODES {
        let c = classify("passing", mode);
        assert!(c.passed(), "{mode}: {:?} {:#?}", c.notes, c.failures);
        assert_eq!(c.tier, Tier::None);
        let t = c.tests.unwrap();
        assert_eq!(t.failed, 0, "{mode}");
        // nextest runs the 2 unit tests; `cargo test` runs the doctest as well.
        assert_eq!(t.passed, if mode == "libtest_json" { 3 } else { 2 }, "{mode}");
    }
}

#[test]
fn a_build_failure_under_nextest_is_the_compiler_error_alone() {
    let line = line_of(&lib_rs("type_error"), "let n: u32 = \"three\"");
    for mode in MODES {
        let c = classify("type_error", mode);
        assert!(c.valid_run, "{mode}: {:?}", c.notes);
        // `error: command … exited with code 101` and `test run failed` repeat the error: no extra failures.
        assert_eq!(c.failures.len(), 1, "{mode}: {:#?}", c.failures);
        let f = &c.failures[0];
        assert_eq!(f.kind, FailureKind::Type, "{mode}");
        assert_eq!(f.code.as_deref(), Some("E0308"));
        assert_eq!(f.file.as_deref(), Some(Path::new("src/lib.rs")));
        assert_eq!(f.line, Some(line), "{mode}");
        assert_eq!(c.tests, None, "{mode}: the tests never ran");
    }
}

#[test]
fn a_failing_doctest_in_libtest_json_is_a_doc_test_failure_of_its_file() {
    let c = classify("failing_doctest", "libtest_json");
    assert!(c.valid_run, "{:?}", c.notes);
    assert_eq!(c.failures.len(), 1, "{:#?}", c.failures);
    let f = &c.failures[0];
    assert_eq!(f.kind, FailureKind::DocTest);
    assert_eq!(f.test_name.as_deref(), Some("src/lib.rs - double (line 5)"));
    assert_eq!(f.file.as_deref(), Some(Path::new("src/lib.rs")));
    assert!(f.message.contains("right: 5"), "{}", f.message);
    assert_eq!(c.tests, Some(TestCounts { passed: 1, failed: 1, ignored: 0 }));
}

#[test]
fn nextest_does_not_run_doctests_so_the_failing_doctest_crate_passes_under_it() {
    for mode in ["nextest", "nextest_json"] {
        let c = classify("failing_doctest", mode);
        assert!(c.passed(), "{mode}: {:#?}", c.failures);
        assert_eq!(c.tests, Some(TestCounts { passed: 1, failed: 0, ignored: 0 }), "{mode}");
    }
}

#[test]
fn a_nextest_summary_with_failures_but_exit_0_is_not_a_valid_run() {
    let mut run = captured("failing_assert", "nextest");
    run.exit_code = Some(0);
    let c = NextestClassifier::new().classify(&run, &profile_of("failing_assert"));
    assert!(!c.valid_run);
    assert!(!c.passed());
}

#[test]
fn a_test_run_without_a_summary_is_not_a_valid_pass() {
    // The banner and start line but no status or summary: the run was cut short.
    let stderr =
        "────────────\n Nextest run ID 1 with nextest profile: default\n    Starting 2 tests across 1 binary\n";
    let c = NextestClassifier::new()
        .classify(&RunOutput::from_text("cargo nextest run", 0, "", stderr), &profile_of("passing"));
    assert!(!c.valid_run, "{:?}", c.notes);
}

#[test]
fn a_test_that_failed_then_passed_on_retry_is_not_a_failure() {
    let stderr = "    Starting 1 test across 1 binary\n\
        \x20 TRY 1 FAIL [   0.010s] (1/1) flaky tests::sometimes\n\
        \x20 TRY 2 PASS [   0.010s] (1/1) flaky tests::sometimes\n\
        ────────────\n\
        \x20    Summary [   0.020s] 1 test run: 1 passed (1 flaky), 0 skipped\n";
    let c = NextestClassifier::new()
        .classify(&RunOutput::from_text("cargo nextest run", 0, "", stderr), &profile_of("passing"));
    assert!(c.passed(), "{:?} {:#?}", c.notes, c.failures);
    assert_eq!(c.tests, Some(TestCounts { passed: 1, failed: 0, ignored: 0 }));
}

#[test]
fn detect_tool_tells_nextest_and_libtest_json_from_plain_cargo() {
    for name in ["failing_assert", "panicking_test", "passing"] {
        let both = |mode: &str| {
            let run = captured(name, mode);
            format!("{}\n{}", run.stdout.text(), run.stderr.text())
        };
        assert_eq!(detect_tool(&both("nextest")), Some("nextest"), "{name}");
        assert_eq!(detect_tool(&both("nextest_json")), Some("nextest"), "{name}");
        assert_eq!(detect_tool(&both("libtest_json")), Some("libtest-json"), "{name}");
        assert_eq!(detect_tool(&captured(name, "libtest_json").stdout.text()), Some("libtest-json"));
    }
    let c = classifier_for("libtest-json")
        .unwrap()
        .classify(&captured("failing_assert", "libtest_json"), &profile_of("failing_assert"));
    assert_eq!(c.tool, "libtest-json");
    let c = classifier_for("nextest")
        .unwrap()
        .classify(&captured("failing_assert", "nextest"), &profile_of("failing_assert"));
    assert_eq!(c.tool, "nextest");
    assert_eq!(c.failures.len(), 1);
}

#[test]
fn the_cargo_classifier_also_reads_libtest_json_events() {
    // `--tool cargo` on `cargo test -- --format json`: the same failure and counts as the libtest-json classifier.
    let run = captured("failing_assert", "libtest_json");
    let c = agent_classify::CargoClassifier::new().classify(&run, &profile_of("failing_assert"));
    assert!(c.valid_run, "{:?}", c.notes);
    assert_eq!(c.failures.len(), 1, "{:#?}", c.failures);
    assert_eq!(c.failures[0].test_name.as_deref(), Some("tests::adds_small_numbers"));
    assert_eq!(c.failures[0].line, Some(line_of(&lib_rs("failing_assert"), "assert_eq!(add(1, 2), 3)")));
    assert_eq!(c.tests, Some(TestCounts { passed: 1, failed: 1, ignored: 1 }));
}
