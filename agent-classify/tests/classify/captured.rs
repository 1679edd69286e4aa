//! The cargo classifier on real cargo output captured in `tests/testdata/captured`
//! (see `tests/testdata/README.md` for the command that produced it).

use crate::support::{captured, crate_dir, line_of, profile_of};
use agent_classify::CargoClassifier;
use agent_core::FailureClassifier;
use agent_core::failure::{Classification, FailureCategory, FailureKind, TestCounts, Tier};
use std::path::Path;

fn classify(name: &str, mode: &str) -> Classification {
    CargoClassifier::new().classify(&captured(name, mode), &profile_of(name))
}

/// One build failure of `kind` with `code` at the line of `needle` in the fixture's src/lib.rs, in both output modes.
fn assert_one_build_failure(name: &str, kind: FailureKind, code: Option<&str>, needle: &str) {
    let line = line_of(&crate_dir(name).join("src/lib.rs"), needle);
    for mode in ["human", "json"] {
        let c = classify(name, mode);
        assert_eq!(c.tool, "cargo");
        assert_eq!(c.failures.len(), 1, "{name} {mode}: {:#?}", c.failures);
        let f = &c.failures[0];
        assert_eq!(f.kind, kind, "{name} {mode}");
        assert_eq!(f.category, FailureCategory::Build, "{name} {mode}");
        assert_eq!(f.code.as_deref(), code, "{name} {mode}");
        assert_eq!(f.file.as_deref(), Some(Path::new("src/lib.rs")), "{name} {mode}");
        assert_eq!(f.line, Some(line), "{name} {mode}");
        assert!(f.column.is_some(), "{name} {mode}");
        let snippet = f.snippet.as_deref().unwrap_or_default();
        assert!(snippet.contains(needle.trim()), "{name} {mode}: snippet {snippet:?}");
        assert!(c.valid_run, "{name} {mode}: {:?}", c.notes);
        assert_eq!(c.tier, Tier::Code);
        assert_eq!(c.tests, None, "a build that failed ran no tests");
    }
}

#[test]
fn mismatched_types_is_a_type_failure_at_the_string_literal() {
    assert_one_build_failure("type_error", FailureKind::Type, Some("E0308"), "let n: u32 = \"three\";");
    let c = classify("type_error", "json");
    assert_eq!(c.failures[0].column, Some(18));
    assert_eq!(c.failures[0].message, "mismatched types");
}

#[test]
fn cannot_find_value_is_an_unresolved_name() {
    assert_one_build_failure("unresolved_name", FailureKind::UnresolvedName, Some("E0425"), "base + undefined_offset");
}

#[test]
fn unresolved_std_import_is_an_unresolved_import() {
    assert_one_build_failure(
        "unresolved_import",
        FailureKind::UnresolvedImport,
        Some("E0432"),
        "use std::collections::HashMapp;",
    );
}

#[test]
fn import_of_an_undeclared_crate_is_a_missing_dependency() {
    assert_one_build_failure(
        "missing_dependency",
        FailureKind::MissingDependency,
        Some("E0432"),
        "use serde_json::Value;",
    );
}

#[test]
fn use_after_move_is_a_borrow_failure() {
    assert_one_build_failure("borrow_error", FailureKind::Borrow, Some("E0382"), "first + words.len()");
}

#[test]
fn missing_semicolon_is_a_syntax_failure_without_code() {
    assert_one_build_failure("syntax_error", FailureKind::Syntax, None, "let sum = a + b");
}

#[test]
fn clippy_findings_denied_by_warnings_are_lint_failures_with_the_lint_name() {
    let src = crate_dir("clippy_lint").join("src/lib.rs");
    for mode in ["human", "json"] {
        let c = classify("clippy_lint", mode);
        assert_eq!(c.failures.len(), 2, "{mode}: {:#?}", c.failures);
        let codes: Vec<_> = c.failures.iter().map(|f| f.code.as_deref()).collect();
        assert_eq!(codes, [Some("clippy::ptr_arg"), Some("clippy::len_zero")], "{mode}");
        assert!(c.failures.iter().all(|f| f.kind == FailureKind::Lint && f.category == FailureCategory::Lint));
        assert_eq!(c.failures[0].line, Some(line_of(&src, "pub fn empty")));
        assert_eq!(c.failures[1].line, Some(line_of(&src, "v.len() == 0")));
        assert!(c.valid_run);
        assert_eq!(c.tier, Tier::Code);
    }
}

#[test]
fn failing_assert_eq_is_a_test_assertion_with_location_message_snippet_and_counts() {
    let src = crate_dir("failing_assert").join("src/lib.rs");
    let line = line_of(&src, "assert_eq!(add(1, 2), 3);");
    for mode in ["human", "json"] {
        let c = classify("failing_assert", mode);
        assert_eq!(c.failures.len(), 1, "{mode}: {:#?}", c.failures);
        let f = &c.failures[0];
        assert_eq!(f.category, FailureCategory::Test);
        assert_eq!(f.kind, FailureKind::TestAssertion);
        assert_eq!(f.test_name.as_deref(), Some("tests::adds_small_numbers"));
        assert_eq!(f.file.as_deref(), Some(Path::new("src/lib.rs")));
        assert_eq!(f.line, Some(line));
        assert_eq!(f.column, Some(9));
        assert!(f.message.starts_with("assertion `left == right` failed"), "{}", f.message);
        assert!(f.message.contains("left: 4") && f.message.contains("right: 3"), "{}", f.message);
        assert!(!f.message.contains("stack backtrace"), "{}", f.message);
        let snippet = f.snippet.as_deref().unwrap();
        let marked = snippet.lines().find(|l| l.starts_with('>')).unwrap();
        assert!(marked.contains("assert_eq!(add(1, 2), 3);"), "{snippet}");
        assert_eq!(snippet.lines().count(), 7, "three lines each side: {snippet}");
        assert_eq!(c.tests, Some(TestCounts { passed: 1, failed: 1, ignored: 1 }));
        assert!(c.valid_run);
        assert_eq!(c.tier, Tier::Code);
    }
}

#[test]
fn panic_outside_an_assertion_is_a_test_panic_located_at_the_panic() {
    let src = crate_dir("panicking_test").join("src/lib.rs");
    for mode in ["human", "json"] {
        let c = classify("panicking_test", mode);
        assert_eq!(c.failures.len(), 1, "{mode}: {:#?}", c.failures);
        let f = &c.failures[0];
        assert_eq!(f.kind, FailureKind::TestPanic);
        assert_eq!(f.test_name.as_deref(), Some("tests::many_widgets"));
        assert_eq!(f.line, Some(line_of(&src, "panic!(\"widget count exploded")));
        assert_eq!(f.message, "widget count exploded: 11");
        assert_eq!(c.tests, Some(TestCounts { passed: 1, failed: 1, ignored: 0 }));
        assert!(c.valid_run);
    }
}

#[test]
fn failing_doctest_is_a_doc_test_failure_named_after_the_item() {
    let src = crate_dir("failing_doctest").join("src/lib.rs");
    for mode in ["human", "json"] {
        let c = classify("failing_doctest", mode);
        assert_eq!(c.failures.len(), 1, "{mode}: {:#?}", c.failures);
        let f = &c.failures[0];
        assert_eq!(f.kind, FailureKind::DocTest);
        assert_eq!(f.category, FailureCategory::Test);
        assert_eq!(f.test_name.as_deref(), Some("src/lib.rs - double (line 5)"));
        assert_eq!(f.file.as_deref(), Some(Path::new("src/lib.rs")));
        assert_eq!(f.line, Some(line_of(&src, "```")));
        assert!(f.message.contains("left: 4"), "{}", f.message);
        assert_eq!(c.tests, Some(TestCounts { passed: 1, failed: 1, ignored: 0 }));
        assert!(c.valid_run);
    }
}

#[test]
fn passing_crate_is_a_valid_run_with_no_failures_and_all_suites_counted() {
    for mode in ["human", "json"] {
        let c = classify("passing", mode);
        assert!(c.failures.is_empty(), "{mode}: {:#?}", c.failures);
        assert!(c.valid_run, "{:?}", c.notes);
        assert!(c.passed());
        assert_eq!(c.tier, Tier::None);
        assert_eq!(c.tests, Some(TestCounts { passed: 3, failed: 0, ignored: 0 }));
    }
}

#[test]
fn detect_tool_recognises_every_captured_output_as_cargo() {
    let dir = crate::support::testdata().join("captured");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "exit") {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        if text.trim().is_empty() {
            continue;
        }
        assert_eq!(agent_classify::detect_tool(&text), Some("cargo"), "{name}");
    }
}
