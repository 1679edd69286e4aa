//! Per-test outcomes read from real captured outputs of every test runner,
//! and the regression comparison over them.

use crate::support::testdata;
use agent_classify::test_outcomes;
use agent_core::failure::{TestStatus, compare_runs};

fn read(rel: &str) -> String {
    let base = testdata().join(rel);
    let part = |ext: &str| std::fs::read_to_string(format!("{}.{ext}", base.display())).unwrap_or_default();
    format!("{}\n{}", part("stdout"), part("stderr"))
}

fn statuses(rel: &str) -> Vec<(String, TestStatus)> {
    let mut v: Vec<(String, TestStatus)> = test_outcomes(&read(rel)).into_iter().map(|o| (o.name, o.status)).collect();
    v.sort();
    v.dedup();
    v
}

fn owned(v: &[(&str, TestStatus)]) -> Vec<(String, TestStatus)> {
    let mut v: Vec<(String, TestStatus)> = v.iter().map(|(n, s)| ((*n).to_owned(), *s)).collect();
    v.sort();
    v
}

use TestStatus::{Failed, Passed, Skipped};

#[test]
fn libtest_text_gives_passed_failed_and_ignored_tests() {
    assert_eq!(
        statuses("captured/failing_assert.human"),
        owned(&[
            ("tests::adds_small_numbers", Failed),
            ("tests::slow_case", Skipped),
            ("tests::zero_is_identity", Passed)
        ])
    );
}

#[test]
fn nextest_human_output_gives_each_test_once_per_status() {
    assert_eq!(
        statuses("nextest/failing_assert.nextest"),
        owned(&[("tests::adds_small_numbers", Failed), ("tests::zero_is_identity", Passed)])
    );
}

#[test]
fn go_test_json_gives_subtests_and_skips() {
    let got = statuses("go/out/test_failing_json");
    for want in [
        ("TestAddPasses", Passed),
        ("TestAddFails", Failed),
        ("TestSkipped", Skipped),
        ("TestTable/one", Passed),
        ("TestTable/two", Failed),
    ] {
        assert!(got.contains(&(want.0.to_owned(), want.1)), "{want:?} missing from {got:?}");
    }
}

#[test]
fn pytest_ra_summary_gives_node_ids_and_xfail_as_skipped() {
    let got = statuses("python/out/pytest_ra");
    assert_eq!(
        got,
        owned(&[
            ("tests/test_calc.py::test_add_fails", Failed),
            ("tests/test_calc.py::test_add_param[1-1-2]", Passed),
            ("tests/test_calc.py::test_add_param[2-3-6]", Failed),
            ("tests/test_calc.py::test_add_passes", Passed),
            ("tests/test_calc.py::test_known_bug", Skipped),
            ("tests/test_calc.py::test_parse_raises", Failed),
        ])
    );
}

#[test]
fn jest_json_and_node_tap_and_spec_give_test_titles() {
    let jest = statuses("js/jest_project/json");
    assert!(jest.contains(&("sum is commutative".to_owned(), Passed)), "{jest:?}");
    assert!(jest.contains(&("sum adds two numbers".to_owned(), Failed)), "{jest:?}");
    let want = owned(&[
        ("shout adds one bang", Failed),
        ("initials of a single name", Passed),
        ("initials of nothing", Failed),
    ]);
    let tap = statuses("js/node_test/tap");
    let spec = statuses("js/node_test/spec");
    for w in &want {
        assert!(tap.contains(w), "{w:?} missing from TAP {tap:?}");
        assert!(spec.contains(w), "{w:?} missing from spec {spec:?}");
    }
}

#[test]
fn a_fix_that_breaks_a_passing_test_is_a_regression_on_real_outputs() {
    // Before: the real failing run. After: the real passing run of the same crate's tests.
    let before = test_outcomes(&read("captured/failing_assert.human"));
    let mut after = before.clone();
    for o in &mut after {
        o.status = match o.name.as_str() {
            "tests::adds_small_numbers" => Passed,
            "tests::zero_is_identity" => Failed,
            _ => o.status,
        };
    }
    let cmp = compare_runs(&before, &after, &["adds_small_numbers".to_owned()]);
    assert_eq!(cmp.fixed, ["adds_small_numbers"]);
    assert_eq!(
        cmp.regressions,
        ["`tests::zero_is_identity` (failing_assert) passed before the change and failed after it"]
    );
    // A named test that is skipped after the change is not fixed.
    let skipped: Vec<_> = before
        .iter()
        .cloned()
        .map(|mut o| {
            if o.name == "tests::adds_small_numbers" {
                o.status = Skipped;
            }
            o
        })
        .collect();
    let cmp = compare_runs(&before, &skipped, &["tests::adds_small_numbers".to_owned()]);
    assert_eq!(
        cmp.missing_fixes,
        ["`tests::adds_small_numbers` (failing_assert) skipped after the change (skipped is not passing)"]
    );
}

#[test]
fn test_runner_classifiers_give_outcomes_and_linters_give_none() {
    use agent_core::exec::RunOutput;
    let base = testdata().join("captured/failing_assert.human");
    let part = |ext: &str| std::fs::read_to_string(format!("{}.{ext}", base.display())).unwrap();
    let run = RunOutput::from_text("cargo test", 101, part("stdout"), part("stderr"));
    let cargo = agent_classify::classifier_for("cargo").unwrap();
    let names: Vec<String> = cargo.test_outcomes(&run).into_iter().map(|o| o.name).collect();
    assert_eq!(names.len(), 3, "{names:?}");
    let ruff = agent_classify::classifier_for("ruff").unwrap();
    assert!(ruff.test_outcomes(&run).is_empty(), "a linter lists no tests");
}
