//! The pytest JUnit XML classifier on real `--junitxml` reports captured in
//! `tests/testdata/python/out/pytest_junit*` (see `tests/testdata/python/README.md`).

use crate::python_classifiers::captured_in;
use crate::support::{line_of, testdata};
use agent_classify::{PytestJunitClassifier, classifier_for, detect_tool};
use agent_core::FailureClassifier;
use agent_core::failure::{Classification, FailureCategory, FailureKind, TestCounts, Tier};
use agent_core::workspace::WorkspaceProfile;
use std::path::{Path, PathBuf};

fn python_dir() -> PathBuf {
    testdata().join("python")
}

fn classify(name: &str, project: &str) -> Classification {
    PytestJunitClassifier::new()
        .classify(&captured_in(&python_dir(), name), &WorkspaceProfile::new(python_dir().join(project)))
}

fn by_test<'a>(c: &'a Classification, id: &str) -> &'a agent_core::failure::Failure {
    c.failures.iter().find(|f| f.test_name.as_deref() == Some(id)).unwrap_or_else(|| panic!("{id}: {:#?}", c.failures))
}

#[test]
fn junit_failures_have_node_ids_kinds_and_the_raising_line_in_both_junit_families() {
    let proj = python_dir().join("proj");
    let test_file = proj.join("tests/test_calc.py");
    for name in ["pytest_junit", "pytest_junit_xunit1"] {
        let c = classify(name, "proj");
        assert!(c.valid_run, "{name}: {:?}", c.notes);
        assert_eq!(c.tier, Tier::Code);
        // 7 cases: 2 passed, 3 failed, the skip and the xfail ignored.
        assert_eq!(c.tests, Some(TestCounts { passed: 2, failed: 3, ignored: 2 }), "{name}");
        assert_eq!(c.failures.len(), 3, "{name}: {:#?}", c.failures);

        let f = by_test(&c, "tests/test_calc.py::test_add_fails");
        assert_eq!(f.kind, FailureKind::TestAssertion, "{name}");
        assert_eq!(f.category, FailureCategory::Test);
        assert_eq!(f.file.as_deref(), Some(Path::new("tests/test_calc.py")));
        assert_eq!(f.line, Some(line_of(&test_file, "assert add(2, 2) == 5")));
        assert!(f.message.contains("assert 4 == 5"), "{}", f.message);

        // The ValueError is raised inside the project's `calc` package: that is the location.
        let f = by_test(&c, "tests/test_calc.py::test_parse_raises");
        assert_eq!(f.kind, FailureKind::TestPanic, "{name}");
        assert_eq!(f.code.as_deref(), Some("ValueError"));
        assert_eq!(f.file.as_deref(), Some(Path::new("calc/__init__.py")));
        assert_eq!(f.line, Some(line_of(&proj.join("calc/__init__.py"), "return int(text)")));
        assert!(f.snippet.as_deref().is_some_and(|s| s.contains("return int(text)")), "{:?}", f.snippet);

        let f = by_test(&c, "tests/test_calc.py::test_add_param[2-3-6]");
        assert_eq!(f.kind, FailureKind::TestAssertion);
        assert_eq!(f.line, Some(line_of(&test_file, "assert add(a, b) == want")));
    }
}

#[test]
fn junit_collection_errors_are_build_failures_by_cause_and_make_the_run_invalid() {
    let c = classify("pytest_junit_collect", "collect");
    assert!(!c.valid_run, "the collected modules never ran: {:?}", c.notes);
    assert!(c.notes.iter().any(|n| n.contains("collection error")), "{:?}", c.notes);
    assert_eq!(c.tier, Tier::Code);
    assert_eq!(c.tests, Some(TestCounts { passed: 0, failed: 4, ignored: 0 }));
    let dir = python_dir().join("collect");
    let cases = [
        ("test_imports.py", FailureKind::UnresolvedImport, "from calc_helpers import missing_thing"),
        ("test_own_module.py", FailureKind::UnresolvedImport, "import calc_helpers.sub"),
        ("test_third_party.py", FailureKind::MissingDependency, "import requests_not_installed_xyz"),
        ("test_syntax.py", FailureKind::Syntax, "x = (1, 2"),
    ];
    for (file, kind, needle) in cases {
        let f = by_test(&c, file);
        assert_eq!(f.kind, kind, "{file}");
        assert_eq!(f.category, FailureCategory::Build, "{file}");
        assert_eq!(f.file.as_deref(), Some(Path::new(file)), "{file}");
        assert_eq!(f.line, Some(line_of(&dir.join(file), needle)), "{file}");
    }
}

#[test]
fn junit_report_of_a_passing_run_is_a_valid_pass() {
    let c = classify("pytest_junit_pass", "proj");
    assert!(c.passed(), "{:?} {:#?}", c.notes, c.failures);
    assert_eq!(c.tests, Some(TestCounts { passed: 1, failed: 0, ignored: 0 }));
}

#[test]
fn junit_report_with_failures_but_exit_0_is_not_a_valid_run() {
    let run = captured_in(&python_dir(), "pytest_junit");
    let c = PytestJunitClassifier::new().classify_xml(&run.stdout.text(), 0, &WorkspaceProfile::new(python_dir()));
    assert!(!c.valid_run);
    assert!(!c.passed());
}

#[test]
fn output_without_a_junit_report_is_not_a_valid_run() {
    // The plain `-rA` text of the same project holds no XML.
    let run = captured_in(&python_dir(), "pytest_ra");
    let c = PytestJunitClassifier::new().classify(&run, &WorkspaceProfile::new(python_dir().join("proj")));
    assert!(!c.valid_run);
    assert!(c.notes.iter().any(|n| n.contains("no JUnit XML")), "{:?}", c.notes);
}

#[test]
fn junit_skipped_cases_count_as_ignored_not_passed() {
    let xml = r#"<testsuites><testsuite name="pytest" errors="0" failures="0" skipped="1" tests="1">
<testcase classname="t" name="test_s"><skipped type="pytest.skip" message="later">t.py:3: later</skipped></testcase>
</testsuite></testsuites>"#;
    let c = PytestJunitClassifier::new().classify_xml(xml, 0, &WorkspaceProfile::default());
    assert_eq!(c.tests, Some(TestCounts { passed: 0, failed: 0, ignored: 1 }));
    assert!(c.failures.is_empty());
}

#[test]
fn junit_class_methods_get_the_class_in_the_node_id_and_the_def_line_when_the_traceback_has_none() {
    // xunit1 attributes: `line` is pytest's 0-based line of the `def`; the body has no `file:line:` location.
    let xml = r#"<testsuites><testsuite name="pytest" errors="1" failures="0" skipped="0" tests="1">
<testcase classname="tests.test_x.TestThing" name="test_it" file="tests/test_x.py" line="41">
<error message="failed on setup with &quot;fixture 'db' not found&quot;">fixture 'db' not found</error></testcase>
</testsuite></testsuites>"#;
    let c = PytestJunitClassifier::new().classify_xml(xml, 1, &WorkspaceProfile::default());
    let f = &c.failures[0];
    assert_eq!(f.test_name.as_deref(), Some("tests/test_x.py::TestThing::test_it"));
    assert_eq!(f.kind, FailureKind::TestPanic);
    assert_eq!(f.file.as_deref(), Some(Path::new("tests/test_x.py")));
    assert_eq!(f.line, Some(42));
    assert!(c.valid_run, "a setup error is not a collection error: {:?}", c.notes);
}

#[test]
fn detect_tool_recognises_pytest_junit_reports_and_the_registry_knows_the_name() {
    for name in ["pytest_junit", "pytest_junit_xunit1", "pytest_junit_collect", "pytest_junit_pass"] {
        let run = captured_in(&python_dir(), name);
        assert_eq!(detect_tool(&run.stdout.text()), Some("pytest-junit"), "{name}");
    }
    // The plain text output stays pytest's.
    assert_eq!(detect_tool(&captured_in(&python_dir(), "pytest_ra").stdout.text()), Some("pytest"));
    assert_eq!(
        classifier_for("pytest-junit")
            .unwrap()
            .classify(&captured_in(&python_dir(), "pytest_junit"), &WorkspaceProfile::new(python_dir().join("proj")))
            .tool,
        "pytest-junit"
    );
}

#[test]
fn junit_collection_errors_find_the_projects_own_modules_when_the_workspace_root_is_a_parent() {
    // Classified from `python/`, one level above the `collect/` project pytest ran in:
    // the report's module paths tell where pytest's rootdir was.
    let run = captured_in(&python_dir(), "pytest_junit_collect");
    let c = PytestJunitClassifier::new().classify(&run, &WorkspaceProfile::new(python_dir()));
    assert_eq!(by_test(&c, "test_own_module.py").kind, FailureKind::UnresolvedImport, "{:#?}", c.failures);
    assert_eq!(by_test(&c, "test_third_party.py").kind, FailureKind::MissingDependency);
}
