//! Valid-run rules, environment tiers and edge cases, on real captured output
//! altered the one way each test names (exit code, a cut, a path).

use crate::support::{captured, crate_dir, line_of, profile_of};
use agent_classify::{CargoClassifier, GenericClassifier, classifier_for, detect_tool};
use agent_core::FailureClassifier;
use agent_core::exec::{RunOutput, TimeoutKind};
use agent_core::failure::{FailureCategory, FailureKind, Tier};
use agent_core::workspace::WorkspaceProfile;
use std::path::Path;

fn with_exit(run: &RunOutput, exit: i32) -> RunOutput {
    RunOutput::from_text(run.command.clone(), exit, run.stdout.text(), run.stderr.text())
}

#[test]
fn failures_parsed_with_exit_code_zero_make_the_run_invalid() {
    let run = with_exit(&captured("failing_assert", "human"), 0);
    let c = CargoClassifier::new().classify(&run, &profile_of("failing_assert"));
    assert!(!c.valid_run);
    assert_eq!(c.failures.len(), 1);
    assert!(!c.notes.is_empty());
}

#[test]
fn exit_zero_test_run_without_a_test_summary_is_invalid() {
    let run = RunOutput::from_text("cargo test", 0, "PASSED everything\n", "");
    let c = CargoClassifier::new().classify(&run, &WorkspaceProfile::default());
    assert!(!c.valid_run);
    assert!(c.failures.is_empty());
    assert_eq!(c.tier, Tier::None);
}

#[test]
fn exit_zero_build_without_tests_is_valid() {
    let stderr = "   Compiling demo v0.1.0 (/tmp/demo)\n    Finished `dev` profile [unoptimized + debuginfo] target(s) in 0.20s\n";
    let run = RunOutput::from_text("cargo build", 0, "", stderr);
    let c = CargoClassifier::new().classify(&run, &WorkspaceProfile::default());
    assert!(c.valid_run && c.passed());
}

#[test]
fn nonzero_exit_with_nothing_parsed_is_invalid_with_an_unknown_failure_carrying_the_stderr_tail() {
    let passing = captured("passing", "human");
    let run = with_exit(&passing, 101);
    let c = CargoClassifier::new().classify(&run, &profile_of("passing"));
    assert!(!c.valid_run);
    assert_eq!(c.failures.len(), 1);
    assert_eq!(c.failures[0].kind, FailureKind::Unknown);
    assert!(c.failures[0].message.contains("Doc-tests passing"), "{}", c.failures[0].message);
    assert_eq!(c.tier, Tier::Code);
    assert!(c.notes.iter().any(|n| n.contains("101")));
}

#[test]
fn timed_out_run_is_invalid_with_a_test_timeout() {
    let mut run = captured("passing", "human");
    run.timed_out = Some(TimeoutKind::Wall);
    let c = CargoClassifier::new().classify(&run, &profile_of("passing"));
    assert!(!c.valid_run);
    assert!(c.failures.iter().any(|f| f.kind == FailureKind::TestTimeout));
}

#[test]
fn still_running_test_in_a_timed_out_run_is_named_in_the_timeout() {
    let stdout = "\nrunning 2 tests\ntest tests::quick ... ok\ntest tests::slow has been running for over 60 seconds\n";
    let mut run = RunOutput::from_text("cargo test", 0, stdout, "");
    run.exit_code = None;
    run.signal = Some(9);
    run.timed_out = Some(TimeoutKind::Idle);
    let c = CargoClassifier::new().classify(&run, &WorkspaceProfile::default());
    assert!(!c.valid_run);
    let names: Vec<_> = c.failures.iter().filter_map(|f| f.test_name.as_deref()).collect();
    assert_eq!(names, ["tests::slow"]);
    assert_eq!(c.failures[0].kind, FailureKind::TestTimeout);
}

#[test]
fn long_running_warning_alone_is_not_a_failure() {
    let stdout = "\nrunning 1 test\ntest tests::slow has been running for over 60 seconds\ntest tests::slow ... ok\n\ntest result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 61.00s\n";
    let run = RunOutput::from_text("cargo test", 0, stdout, "");
    let c = CargoClassifier::new().classify(&run, &WorkspaceProfile::default());
    assert!(c.passed(), "{:#?}", c);
}

#[test]
fn failed_test_without_a_stdout_section_still_yields_a_failure() {
    let stdout = "\nrunning 1 test\ntest tests::quiet ... FAILED\n\ntest result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n";
    let run = RunOutput::from_text("cargo test", 101, stdout, "");
    let c = CargoClassifier::new().classify(&run, &WorkspaceProfile::default());
    assert!(c.valid_run);
    assert_eq!(c.failures.len(), 1);
    assert_eq!(c.failures[0].test_name.as_deref(), Some("tests::quiet"));
    assert_eq!(c.failures[0].category, FailureCategory::Test);
}

#[test]
fn pre_1_73_panic_format_gives_location_and_message() {
    let stdout = "\nrunning 1 test\ntest tests::adds_small_numbers ... FAILED\n\nfailures:\n\n---- tests::adds_small_numbers stdout ----\nthread 'tests::adds_small_numbers' panicked at 'assertion failed: `(left == right)`\n  left: `4`,\n right: `3`', src/lib.rs:14:9\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n\n\nfailures:\n    tests::adds_small_numbers\n\ntest result: FAILED. 1 passed; 1 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.00s\n";
    let run = RunOutput::from_text("cargo test", 101, stdout, "");
    let c = CargoClassifier::new().classify(&run, &profile_of("failing_assert"));
    let f = &c.failures[0];
    assert_eq!(f.kind, FailureKind::TestAssertion);
    assert_eq!((f.line, f.column), (Some(14), Some(9)));
    assert!(f.message.contains("right: `3`"), "{}", f.message);
    assert!(f.snippet.is_some());
}

#[test]
fn absolute_paths_under_the_root_are_made_relative() {
    let root = crate_dir("type_error");
    let run = captured("type_error", "json");
    let abs = root.join("src/lib.rs").display().to_string();
    let stdout = run.stdout.text().replace("\"file_name\":\"src/lib.rs\"", &format!("\"file_name\":{abs:?}"));
    assert!(stdout.contains(&abs));
    let run = RunOutput::from_text(run.command.clone(), 101, stdout, run.stderr.text());
    let c = CargoClassifier::new().classify(&run, &WorkspaceProfile::new(&root));
    assert_eq!(c.failures[0].file.as_deref(), Some(Path::new("src/lib.rs")));
    let panic_at = format!("panicked at {}:14:9:", crate_dir("failing_assert").join("src/lib.rs").display());
    let human = captured("failing_assert", "human").stdout.text().replace("panicked at src/lib.rs:14:9:", &panic_at);
    let run = RunOutput::from_text("cargo test", 101, human, "");
    let c = CargoClassifier::new().classify(&run, &profile_of("failing_assert"));
    assert_eq!(c.failures[0].file.as_deref(), Some(Path::new("src/lib.rs")));
}

#[test]
fn missing_cargo_is_an_infrastructure_failure() {
    let run = RunOutput::from_text("cargo test", 127, "", "sh: 1: cargo: command not found\n");
    let c = CargoClassifier::new().classify(&run, &WorkspaceProfile::default());
    assert_eq!(c.tier, Tier::Infrastructure);
    assert_eq!(c.failures[0].kind, FailureKind::Environment);
    assert_eq!(c.failures[0].category, FailureCategory::Infrastructure);
}

#[test]
fn environment_messages_are_infrastructure() {
    for stderr in [
        "error: linker `cc` not found\n  |\n  = note: No such file or directory (os error 2)\n",
        "error: failed to write /tmp/x: No space left on device (os error 28)\n",
        "memory allocation of 1048576 bytes failed\n",
        "warning: spurious network error: Could not resolve host: index.crates.io\n",
        "thread 'server' panicked at src/main.rs:3:5:\nAddress already in use (os error 98)\n",
    ] {
        let run = RunOutput::from_text("cargo test", 101, "", stderr);
        let c = CargoClassifier::new().classify(&run, &WorkspaceProfile::default());
        assert_eq!(c.tier, Tier::Infrastructure, "{stderr}");
        assert_eq!(c.failures[0].kind, FailureKind::Environment, "{stderr}");
    }
}

#[test]
fn cargo_errors_without_location_are_classified_by_message() {
    let cases = [
        ("error: failed to run custom build command for `demo v0.1.0 (/tmp/demo)`\n", FailureKind::BuildScript),
        (
            "error: no matching package named `serde_jsno` found\nlocation searched: crates.io index\n",
            FailureKind::MissingDependency,
        ),
        ("error: could not find `Cargo.toml` in `/tmp` or any parent directory\n", FailureKind::Config),
        ("error: failed to parse manifest at `/tmp/demo/Cargo.toml`\n", FailureKind::Config),
    ];
    for (stderr, kind) in cases {
        let run = RunOutput::from_text("cargo build", 101, "", stderr);
        let c = CargoClassifier::new().classify(&run, &WorkspaceProfile::default());
        assert_eq!(c.failures.len(), 1, "{stderr}: {:#?}", c.failures);
        assert_eq!(c.failures[0].kind, kind, "{stderr}");
        assert!(c.valid_run);
    }
}

#[test]
fn merged_streams_give_each_failure_once() {
    let run = captured("type_error", "json");
    let human = captured("type_error", "human");
    let merged = format!("{}{}", run.stdout.text(), human.stderr.text());
    let run = RunOutput::from_text("cargo test", 101, merged, "");
    let c = CargoClassifier::new().classify(&run, &profile_of("type_error"));
    assert_eq!(c.failures.len(), 1, "{:#?}", c.failures);
}

#[test]
fn generic_classifier_reads_file_line_col_error_lines() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("main.c"), "int main() {\n  int x = 1\n  return x;\n}\n").unwrap();
    let stderr = format!(
        "{}/main.c:2:12: error: expected ';' at end of declaration\n1 error generated.\n",
        tmp.path().display()
    );
    let run = RunOutput::from_text("cc main.c", 1, "", stderr);
    let c = classifier_for("generic").unwrap().classify(&run, &WorkspaceProfile::new(tmp.path()));
    assert_eq!(c.tool, "generic");
    assert_eq!(c.failures.len(), 1);
    let f = &c.failures[0];
    assert_eq!(f.file.as_deref(), Some(Path::new("main.c")));
    assert_eq!((f.line, f.column), (Some(2), Some(12)));
    assert_eq!(f.message, "expected ';' at end of declaration");
    assert!(f.snippet.as_deref().unwrap().contains(">"));
    assert!(c.valid_run);
    let ok =
        GenericClassifier::new().classify(&RunOutput::from_text("make", 0, "done\n", ""), &WorkspaceProfile::default());
    assert!(ok.passed());
}

#[test]
fn classifier_for_knows_cargo_and_generic_only() {
    assert!(classifier_for("cargo").is_some());
    assert!(classifier_for("generic").is_some());
    assert!(classifier_for("no-such-tool").is_none());
    let c = classifier_for("cargo").unwrap().classify(&captured("passing", "human"), &profile_of("passing"));
    assert_eq!(c.tool, "cargo");
}

#[test]
fn detect_tool_tells_generic_and_unknown_text_apart() {
    assert_eq!(detect_tool("src/main.c:3:5: error: boom"), Some("generic"));
    assert_eq!(detect_tool("all good\n"), None);
    assert_eq!(detect_tool(""), None);
}

#[test]
fn snippet_marks_the_failing_line_read_from_the_workspace() {
    let src = crate_dir("panicking_test").join("src/lib.rs");
    let line = line_of(&src, "panic!(");
    let c = CargoClassifier::new().classify(&captured("panicking_test", "human"), &profile_of("panicking_test"));
    let snippet = c.failures[0].snippet.clone().unwrap();
    let marked: Vec<_> = snippet.lines().filter(|l| l.starts_with('>')).collect();
    assert_eq!(marked.len(), 1);
    assert!(marked[0].contains(&format!("{line} |")), "{snippet}");
    // Without the source, no snippet rather than a wrong one.
    let c =
        CargoClassifier::new().classify(&captured("panicking_test", "human"), &WorkspaceProfile::new("/nonexistent"));
    assert_eq!(c.failures[0].snippet, None);
}

fn without_exit_status(run: &RunOutput) -> RunOutput {
    let mut run = with_exit(run, 0);
    run.exit_code = None;
    run
}

#[test]
fn captured_output_without_an_exit_status_is_judged_by_its_content() {
    let failing = without_exit_status(&captured("failing_assert", "human"));
    let c = CargoClassifier::new().classify(&failing, &profile_of("failing_assert"));
    assert!(c.valid_run, "{:?}", c.notes);
    assert_eq!(c.failures.len(), 1);
    assert!(!c.passed());

    let passing = without_exit_status(&captured("passing", "human"));
    let c = CargoClassifier::new().classify(&passing, &profile_of("passing"));
    assert!(c.valid_run && c.passed(), "{:?}", c.notes);

    let mut nothing = RunOutput::from_text("cargo test", 0, "hello\n", "");
    nothing.exit_code = None;
    let c = CargoClassifier::new().classify(&nothing, &WorkspaceProfile::default());
    assert!(!c.valid_run, "a test run with no summary and no failure is not a pass");
}
