//! The pytest, mypy and ruff classifiers on real output captured in
//! `tests/testdata/python/out` (see `tests/testdata/python/README.md`).

use crate::support::{line_of, testdata};
use agent_classify::{MypyClassifier, PytestClassifier, RuffClassifier, classifier_for, detect_tool};
use agent_core::FailureClassifier;
use agent_core::exec::RunOutput;
use agent_core::failure::{Classification, FailureCategory, FailureKind, TestCounts, Tier};
use agent_core::workspace::WorkspaceProfile;
use std::path::{Path, PathBuf};

/// The directory the captures were made in, as printed in absolute paths.
const CAPTURED_AT: &str = "/work/main/agent-oracles";

/// `tests/testdata/python`.
fn python_dir() -> PathBuf {
    testdata().join("python")
}

/// Captured case `name` as the executor would report it (absolute paths moved to this checkout).
pub(crate) fn captured_in(dir: &Path, name: &str) -> RunOutput {
    let out = dir.join("out");
    let read = |ext: &str| {
        std::fs::read_to_string(out.join(format!("{name}.{ext}")))
            .unwrap()
            .replace(CAPTURED_AT, env!("CARGO_MANIFEST_DIR"))
    };
    let exit: i32 = read("exit").trim().parse().unwrap();
    RunOutput::from_text(read("cmd").trim(), exit, read("stdout"), read("stderr"))
}

fn classify(c: &dyn FailureClassifier, name: &str, project: &str) -> Classification {
    c.classify(&captured_in(&python_dir(), name), &WorkspaceProfile::new(python_dir().join(project)))
}

fn proj_line(rel: &str, needle: &str) -> u32 {
    line_of(&python_dir().join("proj").join(rel), needle)
}

#[test]
fn pytest_failures_have_kinds_node_ids_locations_and_counts() {
    for name in ["pytest_default", "pytest_ra"] {
        let c = classify(&PytestClassifier::new(), name, "proj");
        assert_eq!(c.tool, "pytest");
        assert!(c.valid_run, "{name}: {:?}", c.notes);
        assert_eq!(c.tier, Tier::Code);
        // 3 failed, 2 passed, 1 skipped, 1 xfailed: skipped and xfailed are not passes.
        assert_eq!(c.tests, Some(TestCounts { passed: 2, failed: 3, ignored: 2 }), "{name}");
        assert_eq!(c.failures.len(), 3, "{name}: {:#?}", c.failures);

        let f = &c.failures[0];
        assert_eq!(f.test_name.as_deref(), Some("tests/test_calc.py::test_add_fails"));
        assert_eq!(f.kind, FailureKind::TestAssertion);
        assert_eq!(f.category, FailureCategory::Test);
        assert_eq!(f.file.as_deref(), Some(Path::new("tests/test_calc.py")));
        assert_eq!(f.line, Some(proj_line("tests/test_calc.py", "assert add(2, 2) == 5")));
        assert!(f.message.contains("assert 4 == 5"), "{}", f.message);
        assert!(f.snippet.as_deref().unwrap_or_default().contains("assert add(2, 2) == 5"));

        // An exception raised in project code, not an assertion: located where it was raised.
        let f = &c.failures[1];
        assert_eq!(f.test_name.as_deref(), Some("tests/test_calc.py::test_parse_raises"));
        assert_eq!(f.kind, FailureKind::TestPanic);
        assert_eq!(f.code.as_deref(), Some("ValueError"));
        assert_eq!(f.file.as_deref(), Some(Path::new("calc/__init__.py")));
        assert_eq!(f.line, Some(proj_line("calc/__init__.py", "return int(text)")));
        assert!(f.message.starts_with("ValueError: invalid literal"), "{}", f.message);

        // The parametrized case keeps its full node id.
        let f = &c.failures[2];
        assert_eq!(f.test_name.as_deref(), Some("tests/test_calc.py::test_add_param[2-3-6]"));
        assert_eq!(f.kind, FailureKind::TestAssertion);
        assert_eq!(f.line, Some(proj_line("tests/test_calc.py", "assert add(a, b) == want")));
    }
}

#[test]
fn pytest_passing_run_is_valid_and_counts_one_pass() {
    let c = classify(&PytestClassifier::new(), "pytest_pass", "proj");
    assert!(c.passed(), "{:?} {:?}", c.notes, c.failures);
    assert_eq!(c.tier, Tier::None);
    assert_eq!(c.tests, Some(TestCounts { passed: 1, failed: 0, ignored: 0 }));
}

#[test]
fn pytest_collection_errors_are_build_failures_by_cause() {
    let c = classify(&PytestClassifier::new(), "pytest_collect", "collect");
    assert!(c.valid_run, "{:?}", c.notes);
    assert_eq!(c.tier, Tier::Code);
    assert_eq!(c.tests, Some(TestCounts { passed: 0, failed: 4, ignored: 0 }), "4 errors");
    let dir = python_dir().join("collect");
    let by_test = |id: &str| {
        c.failures
            .iter()
            .find(|f| f.test_name.as_deref() == Some(id))
            .unwrap_or_else(|| panic!("{id}: {:#?}", c.failures))
    };
    let cases = [
        ("test_imports.py", FailureKind::UnresolvedImport, "ImportError", "from calc_helpers import missing_thing"),
        ("test_own_module.py", FailureKind::UnresolvedImport, "ModuleNotFoundError", "import calc_helpers.sub"),
        (
            "test_third_party.py",
            FailureKind::MissingDependency,
            "ModuleNotFoundError",
            "import requests_not_installed_xyz",
        ),
        ("test_syntax.py", FailureKind::Syntax, "SyntaxError", "x = (1, 2"),
    ];
    for (file, kind, code, needle) in cases {
        let f = by_test(file);
        assert_eq!(f.kind, kind, "{file}");
        assert_eq!(f.category, FailureCategory::Build, "{file}");
        assert_eq!(f.code.as_deref(), Some(code), "{file}");
        assert_eq!(f.file.as_deref(), Some(Path::new(file)), "{file}");
        assert_eq!(f.line, Some(line_of(&dir.join(file), needle)), "{file}");
    }
    assert_eq!(c.failures.len(), 4, "{:#?}", c.failures);
}

#[test]
fn pytest_with_no_tests_collected_is_not_a_valid_run() {
    let c = classify(&PytestClassifier::new(), "pytest_empty", "empty");
    assert!(!c.valid_run);
    assert!(!c.passed());
    assert!(c.notes.iter().any(|n| n.contains("no tests ran")), "{:?}", c.notes);
    assert_eq!(c.tests, Some(TestCounts::default()));
}

#[test]
fn pytest_itself_missing_is_an_environment_failure() {
    let c = classify(&PytestClassifier::new(), "pytest_missing", "proj");
    assert_eq!(c.tier, Tier::Infrastructure);
    assert_eq!(c.failures[0].kind, FailureKind::Environment);
    assert!(c.failures[0].message.contains("No module named pytest"));
    assert!(!c.passed());
}

#[test]
fn pytest_printed_passed_with_exit_1_is_not_a_pass() {
    let passing = captured_in(&python_dir(), "pytest_pass");
    let lying = RunOutput::from_text(passing.command.clone(), 1, passing.stdout.text(), "");
    let c = PytestClassifier::new().classify(&lying, &WorkspaceProfile::new(python_dir().join("proj")));
    assert!(!c.valid_run);
    assert!(!c.passed());
    assert!(c.notes.iter().any(|n| n.contains("PASSED")), "{:?}", c.notes);
}

#[test]
fn pytest_failures_with_exit_0_or_no_summary_are_not_valid() {
    let failing = captured_in(&python_dir(), "pytest_ra");
    let exit0 = RunOutput::from_text(failing.command.clone(), 0, failing.stdout.text(), "");
    let c = PytestClassifier::new().classify(&exit0, &WorkspaceProfile::new(python_dir().join("proj")));
    assert!(!c.valid_run);
    // Exit 0 and nothing at all printed: the suite did not demonstrably run.
    let silent = RunOutput::from_text("pytest", 0, "", "");
    assert!(!PytestClassifier::new().classify(&silent, &WorkspaceProfile::default()).valid_run);
    // Non-zero exit with no failure parsed.
    let garbled = RunOutput::from_text("pytest", 1, "something went wrong\n", "");
    let c = PytestClassifier::new().classify(&garbled, &WorkspaceProfile::default());
    assert!(!c.valid_run);
    assert!(!c.failures.is_empty());
}

#[test]
fn mypy_text_and_json_agree_on_kinds_codes_and_positions() {
    let src = python_dir().join("typed/app.py");
    let expected = [
        // Neither a module of the project nor a declared dependency: the same kind pytest
        // gives `No module named 'missing_mod_xyz'` (see `wide.rs` for the project's own).
        (FailureKind::MissingDependency, "import-not-found", "import missing_mod_xyz", 1),
        (FailureKind::MissingDependency, "import-untyped", "import yaml", 1),
        (FailureKind::Type, "assignment", "x: int = \"three\"", 14),
        (FailureKind::Type, "arg-type", "print(double(\"four\"))", 18),
        (FailureKind::UnresolvedName, "name-defined", "print(undefined_name)", 11),
    ];
    for name in ["mypy_text", "mypy_json"] {
        let c = classify(&MypyClassifier::new(), name, "typed");
        assert_eq!(c.tool, "mypy");
        assert!(c.valid_run, "{name}: {:?}", c.notes);
        assert_eq!(c.tier, Tier::Code);
        assert_eq!(c.failures.len(), expected.len(), "{name}: {:#?}", c.failures);
        for (f, (kind, code, needle, col)) in c.failures.iter().zip(expected) {
            assert_eq!(f.kind, kind, "{name} {code}");
            assert_eq!(f.code.as_deref(), Some(code), "{name}");
            assert_eq!(f.file.as_deref(), Some(Path::new("app.py")), "{name}");
            assert_eq!(f.line, Some(line_of(&src, needle)), "{name} {code}");
            assert_eq!(f.column, Some(col), "{name} {code}: 1-based in both formats");
            assert!(!f.message.contains('['), "{name}: code stripped from {:?}", f.message);
        }
    }
}

#[test]
fn ruff_json_concise_and_full_give_the_same_lint_findings() {
    let src = python_dir().join("lint/mod.py");
    let expected =
        [("F401", "import os", 8), ("F401", "import sys", 8), ("E711", "if x == None:", 13), ("E741", "l = 2", 5)];
    for name in ["ruff_json", "ruff_text", "ruff_full"] {
        let c = classify(&RuffClassifier::new(), name, "lint");
        assert_eq!(c.tool, "ruff");
        assert!(c.valid_run, "{name}: {:?}", c.notes);
        assert_eq!(c.failures.len(), expected.len(), "{name}: {:#?}", c.failures);
        for (f, (code, needle, col)) in c.failures.iter().zip(expected) {
            assert_eq!(f.kind, FailureKind::Lint, "{name}");
            assert_eq!(f.category, FailureCategory::Lint, "{name}");
            assert_eq!(f.code.as_deref(), Some(code), "{name}");
            assert_eq!(f.file.as_deref(), Some(Path::new("mod.py")), "{name}");
            assert_eq!(f.line, Some(line_of(&src, needle)), "{name} {code}");
            assert_eq!(f.column, Some(col), "{name} {code}");
        }
        assert_eq!(c.failures[0].message, "`os` imported but unused", "{name}");
    }
}

#[test]
fn python_tools_are_found_by_name_and_detected_from_their_output() {
    for tool in ["pytest", "mypy", "ruff"] {
        assert_eq!(
            classifier_for(tool)
                .unwrap()
                .classify(&RunOutput::from_text(tool, 0, "", ""), &WorkspaceProfile::default())
                .tool,
            tool
        );
    }
    let detect = |name: &str| {
        let run = captured_in(&python_dir(), name);
        detect_tool(&format!("{}{}", run.stdout.text(), run.stderr.text()))
    };
    for name in ["pytest_default", "pytest_ra", "pytest_collect", "pytest_empty", "pytest_pass"] {
        assert_eq!(detect(name), Some("pytest"), "{name}");
    }
    assert_eq!(detect("mypy_text"), Some("mypy"));
    assert_eq!(detect("mypy_json"), Some("mypy"));
    assert_eq!(detect("ruff_json"), Some("ruff"));
    assert_eq!(detect("ruff_text"), Some("ruff"));
    assert_eq!(detect("ruff_full"), Some("ruff"));
}
