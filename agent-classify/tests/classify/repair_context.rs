//! The repair-context builder on real captured outputs: root-cause
//! grouping, enclosing functions, the token budget, determinism.

use crate::python_classifiers::captured_in;
use crate::support::{captured, crate_dir, testdata};
use agent_classify::{RepairContextBuilder, RootCause, classifier_for, count_tokens, exact_token_counts};
use agent_core::ContextRenderer;
use agent_core::exec::RunOutput;
use agent_core::failure::Classification;
use agent_core::workspace::WorkspaceProfile;
use std::path::{Path, PathBuf};

/// `testdata/repair_context`: crates captured for these tests (see its README).
fn fixture_dir() -> PathBuf {
    testdata().join("repair_context")
}

/// The captured `cargo test` run of `testdata/repair_context/NAME`.
fn captured_fixture(name: &str) -> RunOutput {
    let dir = fixture_dir();
    let read = |ext: &str| std::fs::read_to_string(dir.join(format!("{name}.{ext}"))).unwrap();
    let exit: i32 = read("exit").trim().parse().unwrap();
    RunOutput::from_text(read("cmd").trim(), exit, read("stdout"), read("stderr"))
}

fn classify(tool: &str, run: &RunOutput, root: &Path) -> Classification {
    classifier_for(tool).unwrap().classify(run, &WorkspaceProfile::new(root))
}

/// The jest project's captured `--json` run, paths moved from the capture directory to the fixture.
fn jest_json() -> (PathBuf, Classification) {
    let dir = testdata().join("js").join("jest_project");
    let from = "/tmp/agent-oracles-js-capture/jest_project";
    let to = dir.to_string_lossy().into_owned();
    let read = |ext: &str| std::fs::read_to_string(dir.join(format!("json.{ext}"))).unwrap().replace(from, &to);
    let exit: i32 = read("exit").trim().parse().unwrap();
    let run = RunOutput::from_text("npx jest --json", exit, read("stdout"), read("stderr"));
    let c = classify("jest", &run, &dir);
    (dir, c)
}

const JEST_LOCATIONS: [&str; 4] = ["sum.test.js:5:23", "sum.js:7:11", "imports.test.js:1:21", "broken.test.js:4:26"];

#[test]
fn thirty_nine_tests_failing_at_one_panic_location_are_one_entry_that_lists_them() {
    let root = fixture_dir().join("shared_panic");
    let c = classify("cargo", &captured_fixture("shared_panic"), &root);
    assert_eq!(c.failures.len(), 39);
    let causes = RootCause::group(&c.failures);
    assert_eq!(causes.len(), 1);
    assert_eq!(causes[0].failures, 39);
    assert_eq!(causes[0].tests.len(), 39);
    assert_eq!(causes[0].location().as_deref(), Some("src/lib.rs:11:18"));

    let text = RepairContextBuilder::new().render(&root, &c);
    assert!(text.starts_with("Tests: 1 passed, 39 failed, 0 ignored\nRoot causes (1, for 39 failures):\n"), "{text}");
    assert!(
        text.contains(
            "1. [test_panic] src/lib.rs:11:18 in 39 tests: `tests::p11`, `tests::p12`, `tests::p13` and 36 more\n   index out of bounds: the len is 10 but the index is 11\n"
        ),
        "{text}"
    );
    assert_eq!(text.matches("src/lib.rs:11").count(), 1, "{text}");
    // parse_percent (lines 4-14) is 11 lines: shown whole, and nothing outside it.
    assert!(text.contains("   ```rust\n   pub fn parse_percent(text: &str) -> u8 {\n"), "{text}");
    assert!(text.contains("\n>          value += table[(b - b'0') as usize * (i * 10 + 1)];\n"), "{text}");
    assert!(text.ends_with("       value\n   }\n   ```\n"), "{text}");
    assert!(!text.contains("One bug"), "{text}");
    assert!(!text.contains("percent_cases"), "{text}");
}

#[test]
fn a_short_rust_function_is_shown_whole_with_the_compilers_labels() {
    let c = classify("cargo", &captured("type_error", "human"), &crate_dir("type_error"));
    let text = RepairContextBuilder::new().render(&crate_dir("type_error"), &c);
    // No test summary (the build failed): no status line, the entry says it all.
    let expected = "Failures:\n\
                    1. [type] src/lib.rs:5:18 E0308\n   \
                    mismatched types\n   \
                    expected `u32`, found `&str`\n   \
                    expected due to this\n   \
                    ```rust\n   \
                    pub fn count() -> u32 {\n\
                    >      let n: u32 = \"three\";\n       \
                    n\n   \
                    }\n   \
                    ```\n";
    assert_eq!(text, expected);
}

#[test]
fn a_short_python_function_is_shown_whole() {
    let python = testdata().join("python");
    let root = python.join("proj");
    let c = classify("pytest", &captured_in(&python, "pytest_ra"), &root);
    let text = RepairContextBuilder::new().render(&root, &c);
    assert!(
        text.contains(
            "1. [test_panic] calc/__init__.py:9 ValueError in test `tests/test_calc.py::test_parse_raises`\n   \
             ValueError: invalid literal for int() with base 10: 'not a number'\n   \
             ```python\n   \
             def parse(text):\n\
             >      return int(text)\n   \
             ```\n"
        ),
        "{text}"
    );
    // The neighbouring function `add` (lines 4-5) is not part of the snippet.
    assert!(!text.contains("return a + b"), "{text}");
}

#[test]
fn a_line_an_earlier_entry_already_showed_is_shown_alone() {
    let dir = testdata().join("js").join("eslint_project");
    let read = |ext: &str| std::fs::read_to_string(dir.join(format!("json.{ext}"))).unwrap();
    let stdout = read("stdout").replace("/tmp/agent-oracles-js-capture/eslint_project", &dir.to_string_lossy());
    let run =
        RunOutput::from_text("npx eslint -f json .", read("exit").trim().parse().unwrap(), stdout, read("stderr"));
    let c = classify("eslint", &run, &dir);
    let text = RepairContextBuilder::new().render(&dir, &c);
    // `greet` (lines 3-9) is shown once, for the first finding; the second finding's line is quoted alone.
    assert_eq!(text.matches("export function greet(name) {").count(), 1, "{text}");
    assert!(
        text.contains(
            "3. [lint] src/app.js:6:19 no-undef\n   'defaultName' is not defined.\n   > return format(defaultName);\n"
        ),
        "{text}"
    );
}

#[test]
fn a_budget_too_small_for_any_detail_keeps_every_location_line_and_nothing_else() {
    let (dir, c) = jest_json();
    let text = RepairContextBuilder::new().with_budget(1).render(&dir, &c);
    let expected = "Tests: 2 passed, 2 failed, 0 ignored\n\
                    Failures:\n\
                    1. [syntax] broken.test.js:4:26\n\
                    2. [unresolved_import] imports.test.js:1:21\n\
                    3. [test_panic] sum.js:7:11 in test `parse › rejects empty input gracefully`\n\
                    4. [test_assertion] sum.test.js:5:23 in test `sum › adds two numbers`\n";
    assert_eq!(text, expected);
}

#[test]
fn a_tight_budget_drops_detail_last_entry_first_and_the_text_fits_it() {
    let (dir, c) = jest_json();
    let full = RepairContextBuilder::new().render(&dir, &c);
    let budget = 120;
    assert!(count_tokens(&full) > budget, "the full rendering must not fit: {}", count_tokens(&full));
    let text = RepairContextBuilder::new().with_budget(budget).render(&dir, &c);
    // Build errors come first; only the first entry keeps its headline, the rest only their location.
    let expected = "Tests: 2 passed, 2 failed, 0 ignored\n\
                    Failures:\n\
                    1. [syntax] broken.test.js:4:26\n   \
                    SyntaxError: broken.test.js: Unexpected token, expected \",\" (4:26)\n\
                    2. [unresolved_import] imports.test.js:1:21\n\
                    3. [test_panic] sum.js:7:11 in test `parse › rejects empty input gracefully`\n\
                    4. [test_assertion] sum.test.js:5:23 in test `sum › adds two numbers`\n";
    assert_eq!(text, expected);
    assert!(count_tokens(&text) <= budget, "{} tokens", count_tokens(&text));
}

#[test]
fn the_full_rendering_keeps_every_location_and_no_absolute_path_of_the_machine() {
    let (dir, c) = jest_json();
    let builder = RepairContextBuilder::new();
    let text = builder.render(&dir, &c);
    for loc in JEST_LOCATIONS {
        assert!(text.contains(loc), "{loc} missing:\n{text}");
    }
    // jest printed stack frames with absolute paths; the context holds them relative to the root.
    assert!(!text.contains(&*dir.to_string_lossy()), "{text}");
    assert!(text.contains("   at Object.parse (sum.test.js:15:12)\n"), "{text}");
    assert_eq!(builder.render(&dir, &c), text, "the same input renders the same bytes");
    assert!(count_tokens(&text) <= builder.budget());
}

#[test]
fn tokens_are_counted_with_o200k_base() {
    assert!(exact_token_counts());
    assert_eq!(count_tokens(""), 0);
    assert_eq!(count_tokens("hello world"), 2);
}

#[test]
fn tests_failing_without_a_location_join_the_compile_error_that_stopped_them() {
    use agent_core::failure::{Failure, FailureCategory, FailureKind};
    // The real compile error of the type_error crate, plus the test failures a
    // runner reports without a location when the test binary did not build.
    let mut c = classify("cargo", &captured("type_error", "human"), &crate_dir("type_error"));
    for name in ["counts_three", "counts_zero", "counts_many"] {
        c.failures.push(
            Failure::new(FailureCategory::Test, FailureKind::TestPanic, "test binary failed to build").in_test(name),
        );
    }
    let causes = RootCause::group(&c.failures);
    assert_eq!(causes.len(), 1);
    assert_eq!(causes[0].failures, 4);
    let text = RepairContextBuilder::new().render(&crate_dir("type_error"), &c);
    assert!(text.contains("Root causes (1, for 4 failures):\n"), "{text}");
    assert!(
        text.contains("1. [type] src/lib.rs:5:18 E0308 in 3 tests: `counts_many`, `counts_three`, `counts_zero`\n"),
        "{text}"
    );
    assert!(!text.contains("failed to build"), "{text}");
}

#[test]
fn the_order_failures_were_printed_in_does_not_change_the_context() {
    // Parallel test runners print failures as they finish; the prompt must not follow.
    let root = fixture_dir().join("shared_panic");
    let c = classify("cargo", &captured_fixture("shared_panic"), &root);
    let mut reversed = c.clone();
    reversed.failures.reverse();
    let builder = RepairContextBuilder::new();
    assert_eq!(builder.render(&root, &reversed), builder.render(&root, &c));
    let (dir, jest) = jest_json();
    let mut reversed = jest.clone();
    reversed.failures.reverse();
    assert_eq!(builder.render(&dir, &reversed), builder.render(&dir, &jest));
}
