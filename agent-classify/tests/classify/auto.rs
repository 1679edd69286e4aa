//! [`AutoClassifier`] on every real captured output of `tests/testdata`
//! (each README gives the command that produced it): choosing by the command
//! gives exactly the classification and outcomes of the tool's own classifier.

use crate::js;
use crate::python_classifiers::captured_in;
use crate::support::{profile_of, testdata};
use agent_classify::{AutoClassifier, classifier_for, tool_for_command};
use agent_core::FailureClassifier;
use agent_core::exec::RunOutput;
use agent_core::failure::FailureKind;
use agent_core::workspace::WorkspaceProfile;
use proptest::prelude::*;

/// Asserts that `run` is read by `tool`, and that the classification and
/// outcomes through [`AutoClassifier`] are the tool's own.
fn assert_same(case: &str, run: &RunOutput, ws: &WorkspaceProfile, tool: &str) {
    let auto = AutoClassifier::new();
    assert_eq!(auto.tool(run), tool, "{case}: `{}`", run.command);
    let own = classifier_for(tool).unwrap();
    let expected = own.classify(run, ws);
    assert_eq!(expected.tool, tool, "{case}");
    assert_eq!(auto.classify(run, ws), expected, "{case}");
    assert_eq!(auto.test_outcomes(run), own.test_outcomes(run), "{case}");
}

/// `(case, project)` of the Python captures read by `tool`.
const PYTHON: &[(&str, &str, &str)] = &[
    ("pytest_default", "proj", "pytest"),
    ("pytest_ra", "proj", "pytest"),
    ("pytest_pass", "proj", "pytest"),
    ("pytest_missing", "proj", "pytest"),
    ("pytest_collect", "collect", "pytest"),
    ("pytest_empty", "empty", "pytest"),
    ("pytest_junit", "proj", "pytest-junit"),
    ("pytest_junit_xunit1", "proj", "pytest-junit"),
    ("pytest_junit_pass", "proj", "pytest-junit"),
    ("pytest_junit_collect", "collect", "pytest-junit"),
    ("mypy_text", "typed", "mypy"),
    ("mypy_json", "typed", "mypy"),
    ("ruff_json", "lint", "ruff"),
    ("ruff_text", "lint", "ruff"),
    ("ruff_full", "lint", "ruff"),
];

#[test]
fn python_captures_are_classified_as_by_pytest_mypy_and_ruff() {
    let dir = testdata().join("python");
    for (case, project, tool) in PYTHON {
        let run = captured_in(&dir, case);
        assert_same(case, &run, &WorkspaceProfile::new(dir.join(project)), tool);
    }
}

#[test]
fn python3_m_pytest_is_never_read_as_cargo() {
    let dir = testdata().join("python");
    for case in ["pytest_default", "pytest_ra", "pytest_collect", "pytest_missing"] {
        let mut run = captured_in(&dir, case);
        run.command = "python3 -m pytest -q".to_owned();
        let ws = WorkspaceProfile::new(dir.join(if case == "pytest_collect" { "collect" } else { "proj" }));
        assert_same(case, &run, &ws, "pytest");
        let c = AutoClassifier::new().classify(&run, &ws);
        assert!(!c.failures.iter().any(|f| f.kind == FailureKind::Unknown), "{case}: {:#?}", c.failures);
        // What the hard-coded cargo classifier made of it: not this.
        assert_ne!(classifier_for("cargo").unwrap().classify(&run, &ws), c, "{case}");
    }
    // Even when the output holds cargo's words, the command decides.
    let mut run = captured_in(&dir, "pytest_default");
    run.command = "python3 -m pytest".to_owned();
    run.stdout.head.push_str("\ntest result: ok. 1 passed; 0 failed; 0 ignored\n");
    assert_eq!(AutoClassifier::new().tool(&run), "pytest");
}

#[test]
fn go_captures_are_classified_as_by_the_go_classifier() {
    let dir = testdata().join("go");
    for (case, project) in [
        ("test_failing", "failing"),
        ("test_failing_json", "failing"),
        ("test_panic", "panicking"),
        ("test_panic_json", "panicking"),
        ("test_buildfail", "buildfail"),
        ("test_buildfail_json", "buildfail"),
        ("build_fail", "buildfail"),
        ("vet", "vet"),
        ("build_missingdep", "missingdep"),
        ("build_missingdep_modmod", "missingdep"),
        ("test_passing", "passing"),
        ("test_passing_json", "passing"),
    ] {
        let run = captured_in(&dir, case);
        assert_same(case, &run, &WorkspaceProfile::new(dir.join(project)), "go");
    }
}

#[test]
fn js_captures_are_classified_as_by_tsc_jest_vitest_node_and_eslint() {
    for (project, mode, command, tool) in [
        ("tsc_errors", "text", "npx tsc --noEmit --pretty false -p .", "tsc"),
        ("tsc_syntax", "text", "tsc --noEmit --pretty false -p .", "tsc"),
        ("jest_project", "json", "npx jest --ci --json", "jest"),
        ("jest_project", "text", "./node_modules/.bin/jest --ci", "jest"),
        ("jest_project", "nomatch", "npx jest --ci --json --testPathPatterns=does-not-exist", "jest"),
        ("vitest_project", "json", "npx vitest run --reporter=json", "vitest"),
        ("vitest_project", "text", "pnpm exec vitest run", "vitest"),
        ("vitest_project", "pass", "npx vitest run --reporter=json -t \"of one value\"", "vitest"),
        ("node_test", "spec", "node --test --test-reporter=spec", "node"),
        ("node_test", "tap", "node --test --test-reporter=tap", "node"),
        ("eslint_project", "json", "eslint -f json src", "eslint"),
    ] {
        let run = js::captured(project, mode, command);
        let ws = WorkspaceProfile::new(js::project(project));
        assert_same(&format!("{project}/{mode}"), &run, &ws, tool);
    }
}

#[test]
fn cargo_captures_are_classified_as_by_the_cargo_classifier() {
    let dir = testdata().join("captured");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().to_str()?.strip_suffix(".human.exit").map(str::to_owned))
        .collect();
    names.sort();
    assert!(names.len() >= 10, "{names:?}");
    for name in &names {
        for mode in ["human", "json"] {
            let run = crate::support::captured(name, mode);
            assert_same(&format!("{name}.{mode}"), &run, &profile_of(name), "cargo");
        }
    }
    let dir = testdata().join("repair_context");
    let read = |ext: &str| std::fs::read_to_string(dir.join(format!("shared_panic.{ext}"))).unwrap();
    let run =
        RunOutput::from_text(read("cmd").trim(), read("exit").trim().parse().unwrap(), read("stdout"), read("stderr"));
    assert_same("shared_panic", &run, &WorkspaceProfile::new(dir.join("shared_panic")), "cargo");
}

#[test]
fn nextest_and_libtest_json_captures_are_classified_as_by_the_nextest_classifier() {
    for name in ["failing_assert", "panicking_test", "passing", "type_error", "failing_doctest"] {
        for (mode, tool) in [("nextest", "nextest"), ("nextest_json", "nextest"), ("libtest_json", "libtest-json")] {
            let run = crate::nextest::captured(name, mode);
            assert_same(&format!("{name}.{mode}"), &run, &profile_of(name), tool);
        }
    }
}

#[test]
fn a_command_naming_no_tool_falls_back_to_the_output_then_to_the_generic_classifier() {
    let dir = testdata().join("go");
    let mut run = captured_in(&dir, "test_failing");
    run.command = "make check".to_owned();
    assert_same("make check", &run, &WorkspaceProfile::new(dir.join("failing")), "go");
    let run = js::captured("jest_project", "json", "npm test");
    assert_same("npm test", &run, &WorkspaceProfile::new(js::project("jest_project")), "jest");
    let run = RunOutput::from_text("./build.sh", 1, "", "main.c:3:5: error: expected ';'\n");
    assert_same("build.sh", &run, &WorkspaceProfile::default(), "generic");
    let run = RunOutput::from_text("", 1, "", "something went wrong\n");
    assert_same("empty command", &run, &WorkspaceProfile::default(), "generic");
}

/// Words of command lines, to build ones that stress the reader of commands.
fn command_soup() -> impl Strategy<Value = String> {
    let token = prop::sample::select(vec![
        "cargo",
        "nextest",
        "test",
        "--",
        "--format",
        "json",
        "+nightly",
        "-Z",
        "npx",
        "npm",
        "exec",
        "pnpm",
        "yarn",
        "-c",
        "sh",
        "bash",
        "env",
        "-u",
        "X=1",
        "timeout",
        "60",
        "uv",
        "run",
        "python3",
        "-m",
        "-mpytest",
        "pytest",
        "node",
        "--test",
        "node_modules/.bin/jest",
        "go",
        "tsc",
        "eslint",
        "&&",
        "||",
        "|",
        ";",
        "(",
        ")",
        "'",
        "\"",
        "\\",
        " ",
        "\n",
        "-",
        "=",
        "é",
        "\u{0}",
    ]);
    prop::collection::vec(token, 0..40).prop_map(|t| t.join(" "))
}

proptest! {
    #[test]
    fn auto_classifier_never_panics_on_arbitrary_commands_and_output(
        command in any::<String>(),
        soup in command_soup(),
        stdout in any::<String>(),
        stderr in any::<String>(),
        exit in any::<i32>(),
    ) {
        let auto = AutoClassifier::new();
        for command in [command, soup] {
            let _ = tool_for_command(&command);
            let run = RunOutput::from_text(command, exit, stdout.clone(), stderr.clone());
            let tool = auto.tool(&run);
            prop_assert!(classifier_for(tool).is_some(), "{tool}");
            let c = auto.classify(&run, &WorkspaceProfile::default());
            prop_assert_eq!(c.tool.as_str(), tool);
            let _ = auto.test_outcomes(&run);
        }
    }
}
