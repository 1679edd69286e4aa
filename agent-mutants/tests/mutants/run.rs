//! The mutation runner on real projects with the real tools (cargo, pytest,
//! go, node), through agent-sandbox's `ProcessExecutor` and
//! `DirSnapshotter`. Every project is written into (or copied to) a
//! temporary directory first.

use crate::support::{dump, outcome};
use agent_core::Gate;
use agent_core::edit::FileChange;
use agent_core::gate::GateContext;
use agent_core::workspace::WorkspaceProfile;
use agent_mutants::{
    MutantOutcome, MutateError, MutationConfig, MutationGate, MutationReport, MutationRunner, Operator,
};
use agent_sandbox::{DirSnapshotter, ProcessExecutor};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

fn write_tree(root: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

fn runner(cache: &Path) -> MutationRunner {
    MutationRunner::new(Arc::new(ProcessExecutor::new()), Arc::new(DirSnapshotter::new(cache.join("snapshots"))))
}

fn config(cache: &Path) -> MutationConfig {
    MutationConfig::default().jobs(2).cache_dir(cache).min_timeout(Duration::from_secs(4))
}

fn git(root: &Path, args: &[&str]) {
    agent_testkit::git(root, args);
}

const RUST_LIB: &str = r#"//! A tiny crate whose tests let some mutants through.

/// Whether `age` is of age.
pub fn is_adult(age: u32) -> bool {
    age >= 18
}

/// Counts up from zero to `n`, one at a time.
pub fn steps_to(n: i64) -> i64 {
    let mut i = 0;
    while i != n {
        i += 1;
    }
    i
}

/// A value with no `Default`.
pub struct Widget {
    /// Its size.
    pub size: u32,
}

/// A widget of size 3.
pub fn make() -> Widget {
    Widget { size: 3 }
}

/// The largest byte.
pub fn top() -> u8 {
    255
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_to_three_takes_three_steps() {
        assert_eq!(steps_to(3), 3);
    }

    #[test]
    fn a_made_widget_has_size_three() {
        assert_eq!(make().size, 3);
    }

    #[test]
    fn twenty_is_adult() {
        assert!(is_adult(20));
    }
}
"#;

const RUST_MANIFEST: &str =
    "[package]\nname = \"tiny\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[lib]\ndoctest = false\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_mutants_are_caught_missed_unviable_or_timed_out_and_a_rerun_comes_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("tiny");
    write_tree(&root, &[("Cargo.toml", RUST_MANIFEST), ("src/lib.rs", RUST_LIB)]);
    let cache = dir.path().join("cache");
    let report = runner(&cache).run(&root, &config(&cache)).await.unwrap();
    let lib = "src/lib.rs";
    assert_eq!(outcome(&report, lib, "!=", "=="), MutantOutcome::Caught, "{}", dump(&report));
    assert_eq!(outcome(&report, lib, ">=", ">"), MutantOutcome::Missed);
    assert_eq!(outcome(&report, lib, "+=", "-="), MutantOutcome::Timeout, "i counts down forever");
    assert!(
        report.mutants.iter().all(|r| r.mutant.function.as_deref() != Some("make")),
        "Widget has no Default and no known value: no body replacement"
    );
    assert_eq!(outcome(&report, lib, "255", "256"), MutantOutcome::Unviable, "256 is out of range for u8");
    assert!(report.mutants.iter().all(|r| !r.cached));
    assert_eq!(report.jobs, 2);
    assert!(report.baseline_ms > 0);
    assert!(report.timeout_ms >= 4000);
    let scored = report.caught + report.missed;
    assert_eq!(report.score, Some(report.caught as f64 / scored as f64));
    assert!(!root.join("target").exists(), "builds happen in the cache, never in the workspace");
    assert_eq!(std::fs::read_to_string(root.join("src/lib.rs")).unwrap(), RUST_LIB, "the workspace is untouched");

    // Nothing changed: every outcome comes from the cache but the timeout,
    // which is never remembered and runs again.
    let again = runner(&cache).run(&root, &config(&cache)).await.unwrap();
    for r in &again.mutants {
        assert_eq!(r.cached, r.outcome != MutantOutcome::Timeout, "{}", dump(&again));
    }
    assert_eq!(again.mutants.iter().filter(|r| !r.cached).count(), 1, "only the timeout ran");
    let outcomes = |r: &MutationReport| r.mutants.iter().map(|m| (m.mutant.key(), m.outcome)).collect::<Vec<_>>();
    assert_eq!(outcomes(&again), outcomes(&report));
}

const PY_CALC: &str = "def add(a, b):\n    return a + b\n\n\ndef clamp(x, low, high):\n    if x < low:\n        return low\n    if x > high:\n        return high\n    return x\n";
const PY_TEXT: &str = "def shout(s):\n    return s.upper() + \"!\"\n";
const PY_TEST_CALC: &str = "from calc import add, clamp\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\ndef test_clamp_low():\n    assert clamp(-5, 0, 10) == 0\n";
const PY_TEST_TEXT: &str = "from text import shout\n\n\ndef test_shout():\n    assert shout(\"hi\") == \"HI!\"\n";

fn python_project(root: &Path) {
    write_tree(
        root,
        &[
            (
                "pyproject.toml",
                "[project]\nname = \"calc\"\nversion = \"0.1.0\"\n\n[tool.pytest.ini_options]\npythonpath = [\".\"]\n",
            ),
            ("calc.py", PY_CALC),
            ("text.py", PY_TEXT),
            ("tests/test_calc.py", PY_TEST_CALC),
            ("tests/test_text.py", PY_TEST_TEXT),
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_mutants_run_the_tests_that_import_their_module() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("py");
    python_project(&root);
    let cache = dir.path().join("cache");
    let report = runner(&cache).run(&root, &config(&cache)).await.unwrap();
    assert_eq!(outcome(&report, "calc.py", "+", "-"), MutantOutcome::Caught, "{}", dump(&report));
    assert_eq!(outcome(&report, "calc.py", "<", "<="), MutantOutcome::Missed, "no test at the boundary");
    assert_eq!(outcome(&report, "calc.py", ">", "<"), MutantOutcome::Missed, "the low branch returns first");
    assert!(report.mutants.iter().all(|r| r.mutant.operator != Operator::RemoveTestStatement), "not without a diff");
    assert!(report.mutants.iter().any(|r| r.mutant.file == "text.py"));
}

/// Copies a fixture project of `tests/testdata/mutate` to `to`.
fn copy_fixture(name: &str, to: &Path) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata/mutate").join(name);
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(&from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() && entry.file_name() != ".gitignore" {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_boolean_function_tested_with_one_input_leaves_return_true_missed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("py");
    copy_fixture("python-bool", &root);
    let cache = dir.path().join("cache");
    let report = runner(&cache).run(&root, &config(&cache)).await.unwrap();
    let body = |function: &str, value: &str| {
        let found: Vec<_> = report
            .mutants
            .iter()
            .filter(|r| {
                r.mutant.function.as_deref() == Some(function)
                    && r.mutant.operator == Operator::ReplaceBody
                    && r.mutant.replacement == value
            })
            .collect();
        assert_eq!(found.len(), 1, "{function} {value}: {}", dump(&report));
        found[0].outcome
    };
    // `is_adult` has no annotation: its one `return` is a comparison, so its body becomes a constant.
    assert_eq!(body("is_adult", "return True"), MutantOutcome::Missed, "only is_adult(30) is tested");
    assert_eq!(body("is_adult", "return False"), MutantOutcome::Caught);
    assert_eq!(body("is_admin", "return True"), MutantOutcome::Caught, "guest is tested too");
    assert_eq!(body("is_admin", "return False"), MutantOutcome::Caught);
    assert_eq!(outcome(&report, "access.py", "name == \"root\"", "True"), MutantOutcome::Caught);
    assert_eq!(outcome(&report, "access.py", "name == \"root\"", "False"), MutantOutcome::Caught);
    let missed: Vec<_> = report.mutants.iter().filter(|r| r.outcome == MutantOutcome::Missed).collect();
    assert!(missed.iter().all(|r| r.mutant.function.as_deref() == Some("is_adult")), "{}", dump(&report));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strengthened_test_reruns_a_cached_missed_mutant_and_catches_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("py");
    python_project(&root);
    let cache = dir.path().join("cache");
    let first = runner(&cache).run(&root, &config(&cache)).await.unwrap();
    assert_eq!(outcome(&first, "calc.py", ">", "<"), MutantOutcome::Missed, "{}", dump(&first));
    let again = runner(&cache).run(&root, &config(&cache)).await.unwrap();
    assert!(again.mutants.iter().all(|r| r.cached), "nothing changed: {}", dump(&again));

    // Only the test file changes: a test above `high` now sees `x > high` flipped.
    let stronger = format!("{PY_TEST_CALC}\n\ndef test_clamp_high():\n    assert clamp(15, 0, 10) == 10\n");
    std::fs::write(root.join("tests/test_calc.py"), stronger).unwrap();
    let after = runner(&cache).run(&root, &config(&cache)).await.unwrap();
    assert!(after.mutants.iter().all(|r| !r.cached), "a changed test re-tests every mutant: {}", dump(&after));
    assert_eq!(outcome(&after, "calc.py", ">", "<"), MutantOutcome::Caught, "{}", dump(&after));

    // Another timeout floor is another context too.
    let slower = runner(&cache).run(&root, &config(&cache).min_timeout(Duration::from_secs(5))).await.unwrap();
    assert!(slower.mutants.iter().all(|r| !r.cached));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutate_run_every_mutant_of_the_rust_shapes_fixture_builds_with_the_schema_and_without() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("shapes");
    copy_fixture("rust-shapes", &root);
    copy_fixture("rust-shapes/src", &root.join("src"));
    let cache = dir.path().join("cache");
    let report = runner(&cache).run(&root, &config(&cache)).await.unwrap();
    assert!(built_a_schema(&cache), "the schema with every body replacement builds");
    let switched_in = switched(&cache).len();
    assert!(
        switched_in > 100 && switched_in < report.mutants.len(),
        "{switched_in}: const fns and impl Trait stay out"
    );
    let unviable: Vec<_> = report.mutants.iter().filter(|r| r.outcome == MutantOutcome::Unviable).collect();
    assert!(unviable.is_empty(), "{unviable:#?}");
    assert!(report.mutants.len() > 150, "{}", report.mutants.len());
    // The crate has no tests: every mutant that builds is missed.
    assert_eq!(report.missed, report.mutants.len(), "{}", dump(&report));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_baseline_is_an_error_naming_the_command_and_the_failing_test() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("py");
    python_project(&root);
    std::fs::write(root.join("tests/test_calc.py"), PY_TEST_CALC.replace("== 5", "== 6")).unwrap();
    let cache = dir.path().join("cache");
    let err = runner(&cache).run(&root, &config(&cache)).await.unwrap_err();
    match err {
        MutateError::BaselineFailed { command, reason, timed_out } => {
            assert!(command.contains("pytest"), "{command}");
            assert!(reason.contains("test_add"), "{reason}");
            assert!(!timed_out);
        }
        other => panic!("expected BaselineFailed, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_diff_keeps_only_mutants_on_the_commits_changed_lines_including_its_tests() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("py");
    python_project(&root);
    git(&root, &["init", "-q"]);
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-q", "-m", "v1"]);
    let shout = "def shout(s):\n    return s.upper() + \"!\"\n\n\ndef whisper(s):\n    return s.lower() * 1\n";
    std::fs::write(root.join("text.py"), shout).unwrap();
    let whisper_test = "def test_whisper():\n    from text import whisper\n    words = []\n    words.append(whisper(\"HI\"))\n    whisper(\"ignored\")\n    assert words == [\"hi\"]\n";
    let test = format!("{PY_TEST_TEXT}\n\n{whisper_test}");
    std::fs::write(root.join("tests/test_text.py"), test).unwrap();
    git(&root, &["commit", "-q", "-am", "v2"]);
    let cache = dir.path().join("cache");
    let report = runner(&cache).run(&root, &config(&cache).in_diff("HEAD~1")).await.unwrap();
    assert!(!report.mutants.is_empty());
    for r in &report.mutants {
        let m = &r.mutant;
        let changed = (m.file == "text.py" && (5..=6).contains(&m.line))
            || (m.file == "tests/test_text.py" && (6..=13).contains(&m.line));
        assert!(changed, "mutant outside the diff: {}", dump(&report));
    }
    let removal = |line: u32| {
        let found = report.mutants.iter().find(|r| {
            r.mutant.file == "tests/test_text.py"
                && r.mutant.line == line
                && r.mutant.operator == Operator::RemoveTestStatement
        });
        found.unwrap_or_else(|| panic!("no statement removal on line {line}: {}", dump(&report))).outcome
    };
    assert_eq!(removal(11), MutantOutcome::Caught, "the assertion needs the appended word");
    assert_eq!(removal(12), MutantOutcome::Missed, "nothing checks the ignored call");
    assert_eq!(outcome(&report, "text.py", "*", "/"), MutantOutcome::Caught, "str / int is a TypeError");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_revision_is_a_diff_error() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("py");
    python_project(&root);
    git(&root, &["init", "-q"]);
    let cache = dir.path().join("cache");
    let err = runner(&cache).run(&root, &config(&cache).in_diff("no-such-rev")).await.unwrap_err();
    assert!(matches!(err, MutateError::DiffFailed { ref rev, .. } if rev == "no-such-rev"), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_mutants_run_go_vet_then_the_packages_tests() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("gosmall");
    write_tree(
        &root,
        &[
            ("go.mod", "module example.com/gosmall\n\ngo 1.19\n"),
            (
                "calc/calc.go",
                "package calc\n\n// Max returns the larger of a and b.\nfunc Max(a, b int) int {\n\tif a > b {\n\t\treturn a\n\t}\n\treturn b\n}\n",
            ),
            (
                "calc/calc_test.go",
                "package calc\n\nimport \"testing\"\n\nfunc TestMax(t *testing.T) {\n\tif Max(3, 1) != 3 {\n\t\tt.Fatal(\"max\")\n\t}\n}\n",
            ),
        ],
    );
    let cache = dir.path().join("cache");
    let report = runner(&cache).run(&root, &config(&cache)).await.unwrap();
    assert_eq!(outcome(&report, "calc/calc.go", ">", "<"), MutantOutcome::Caught, "{}", dump(&report));
    assert_eq!(outcome(&report, "calc/calc.go", ">", ">="), MutantOutcome::Missed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_mutants_are_checked_with_node_and_tested_with_the_projects_command() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("jssmall");
    write_tree(
        &root,
        &[
            (
                "package.json",
                "{\n  \"name\": \"jssmall\",\n  \"version\": \"1.0.0\",\n  \"scripts\": { \"test\": \"node --test\" }\n}\n",
            ),
            (
                "src/sum.js",
                "function sum(xs) {\n  let total = 0;\n  for (const x of xs) {\n    total = total + x;\n  }\n  return total;\n}\n\nfunction isEmpty(xs) {\n  return xs.length === 0;\n}\n\nfunction double(x) {\n  return x * 2;\n}\n\nmodule.exports = { sum, isEmpty, double };\n",
            ),
            (
                "test/sum.test.js",
                "const test = require('node:test');\nconst assert = require('node:assert');\nconst { sum, isEmpty } = require('../src/sum.js');\n\ntest('sums', () => {\n  assert.strictEqual(sum([1, 2, 3]), 6);\n});\n\ntest('empty', () => {\n  assert.ok(isEmpty([]));\n});\n",
            ),
        ],
    );
    let cache = dir.path().join("cache");
    let report = runner(&cache).run(&root, &config(&cache)).await.unwrap();
    assert_eq!(outcome(&report, "src/sum.js", "+", "-"), MutantOutcome::Caught, "{}", dump(&report));
    assert_eq!(outcome(&report, "src/sum.js", "===", "!=="), MutantOutcome::Caught);
    assert_eq!(outcome(&report, "src/sum.js", "*", "/"), MutantOutcome::Missed, "double is never tested");
    // isEmpty returns a comparison: its body becomes `return true` / `return false`, and
    // the test that only tries `[]` lets `return true` through.
    let is_empty = |value: &str| outcome(&report, "src/sum.js", "{\n  return xs.length === 0;\n}", value);
    assert_eq!(is_empty("{ return true; }"), MutantOutcome::Missed, "{}", dump(&report));
    assert_eq!(is_empty("{ return false; }"), MutantOutcome::Caught);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mutation_gate_scores_only_the_changed_file_and_names_missed_mutants() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("py");
    python_project(&root);
    let cache = dir.path().join("cache");
    let change = FileChange::new("calc.py", "modified");
    let cx = GateContext::new(&root, WorkspaceProfile::new(&root), "clamp values", vec![change]);

    let strict = MutationGate::new(runner(&cache), 1.0).with_config(config(&cache));
    let report = strict.check(&cx).await.unwrap();
    assert!(!report.passed, "{report:?}");
    assert!(report.summary.contains("missed"), "{}", report.summary);
    assert!(report.findings.iter().any(|f| f.starts_with("missed calc.py:6 ")), "{:?}", report.findings);
    assert!(report.findings.iter().all(|f| f.contains("calc.py")), "text.py did not change: {:?}", report.findings);
    let score = report.score.expect("the gate carries the score");
    assert!(score > 0.0 && score < 1.0, "some caught, some missed: {score}");

    let lenient = MutationGate::new(runner(&cache), 0.3).with_config(config(&cache));
    assert!(lenient.check(&cx).await.unwrap().passed);
}

/// `(key, outcome)` of every mutant, in report order.
fn outcomes_by_key(report: &MutationReport) -> Vec<(String, String, MutantOutcome)> {
    report.mutants.iter().map(|r| (r.mutant.file.clone(), r.mutant.key(), r.outcome)).collect()
}

/// Whether the last run with this cache directory built a mutant schema (it lists the mutants it switched).
fn built_a_schema(cache: &Path) -> bool {
    std::fs::read_to_string(cache.join("schema/mutants.txt")).is_ok_and(|l| !l.is_empty())
}

/// `FILE KEY` of every mutant the last run with this cache directory switched into its schema.
fn switched(cache: &Path) -> Vec<String> {
    let list = std::fs::read_to_string(cache.join("schema/mutants.txt")).unwrap_or_default();
    list.lines().map(str::to_owned).collect()
}

fn is_switched(cache: &Path, report: &MutationReport, original: &str, replacement: &str) -> bool {
    let m = &report
        .mutants
        .iter()
        .find(|r| r.mutant.original == original && r.mutant.replacement == replacement)
        .unwrap()
        .mutant;
    switched(cache).contains(&format!("{} {}", m.file, m.key()))
}

/// Runs the project at `root` twice, with and without schemata (fresh caches), and returns both reports.
async fn with_and_without_schemata(dir: &Path, root: &Path) -> (MutationReport, MutationReport) {
    let on = dir.join("cache-schema");
    let off = dir.join("cache-plain");
    let schema = runner(&on).run(root, &config(&on)).await.unwrap();
    assert!(built_a_schema(&on), "the schema run built a schema");
    let plain = runner(&off).run(root, &config(&off).schemata(false)).await.unwrap();
    assert!(!built_a_schema(&off), "schemata(false) builds none");
    (schema, plain)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutate_run_schema_gives_the_same_outcome_as_building_each_mutant_on_rust_small() {
    let (tmp, root) = crate::support::copy_fixture(&crate::support::testdata().join("mutate").join("rust-small"));
    let _ = std::fs::remove_dir_all(root.join("target"));
    let (schema, plain) = with_and_without_schemata(tmp.path(), &root).await;
    assert!(schema.mutants.len() >= 20, "{}", dump(&schema));
    let ordinary = schema.mutants.iter().filter(|r| r.mutant.operator != Operator::DeleteArm).count();
    assert_eq!(
        switched(&tmp.path().join("cache-schema")).len(),
        ordinary,
        "every mutant but the arm deletions is switched"
    );
    assert_eq!(
        outcomes_by_key(&schema),
        outcomes_by_key(&plain),
        "schema:\n{}\nplain:\n{}",
        dump(&schema),
        dump(&plain)
    );
    assert_eq!(
        schema.mutants.iter().map(|r| &r.mutant).collect::<Vec<_>>(),
        plain.mutants.iter().map(|r| &r.mutant).collect::<Vec<_>>()
    );
    // Both kinds of verdict come out of the schema: the weak test misses, the others catch.
    let at = |line: u32, replacement: &str| {
        let found = schema.mutants.iter().find(|r| r.mutant.line == line && r.mutant.replacement == replacement);
        found.unwrap_or_else(|| panic!("no {replacement} on line {line}: {}", dump(&schema))).outcome
    };
    assert_eq!(at(47, ">="), MutantOutcome::Missed, "max_price's test only tries equal prices");
    assert_eq!(at(5, ">"), MutantOutcome::Caught, "is_adult(18) is tested");
    assert!(schema.caught > 0 && schema.missed > 0);
    let original = std::fs::read_to_string(crate::support::testdata().join("mutate/rust-small/src/lib.rs")).unwrap();
    assert_eq!(std::fs::read_to_string(root.join("src/lib.rs")).unwrap(), original, "the workspace is untouched");
    let job_tree = tmp.path().join("cache-schema/job-0/tree/src/lib.rs");
    assert_eq!(std::fs::read_to_string(job_tree).unwrap(), original, "the schema is taken out of the job tree");
}

const CONST_LIB: &str = r#"//! A constant and a function.

/// The largest batch.
pub const LIMIT: u32 = 2 + 2;

/// Whether `n` items fit in one batch.
pub fn fits(n: u32) -> bool {
    n <= LIMIT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_fit_five_do_not() {
        assert_eq!(LIMIT, 4);
        assert!(fits(4));
        assert!(!fits(5));
    }
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutate_run_a_mutant_in_a_const_item_goes_to_the_per_mutant_path_and_still_gets_its_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("limits");
    write_tree(&root, &[("Cargo.toml", RUST_MANIFEST), ("src/lib.rs", CONST_LIB)]);
    let (schema, plain) = with_and_without_schemata(dir.path(), &root).await;
    assert_eq!(outcome(&schema, "src/lib.rs", "+", "-"), MutantOutcome::Caught, "{}", dump(&schema));
    let on = dir.path().join("cache-schema");
    assert!(!is_switched(&on, &schema, "+", "-"), "2 + 2 is evaluated at compile time");
    assert!(is_switched(&on, &schema, "<=", "<"), "{:?}", switched(&on));
    assert_eq!(outcome(&schema, "src/lib.rs", "<=", "<"), MutantOutcome::Caught);
    assert_eq!(outcomes_by_key(&schema), outcomes_by_key(&plain));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutate_run_a_schema_that_does_not_compile_falls_back_to_building_each_mutant_without_losing_one() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("tiny");
    // The crate already has the helper's name: the schema build fails outside any mutant, every time.
    let lib = format!("{RUST_LIB}\n#[doc(hidden)]\npub fn __agentkit_mutant() -> u32 {{\n    0\n}}\n");
    write_tree(&root, &[("Cargo.toml", RUST_MANIFEST), ("src/lib.rs", &lib)]);
    let on = dir.path().join("cache-schema");
    let off = dir.path().join("cache-plain");
    let schema = runner(&on).run(&root, &config(&on)).await.unwrap();
    assert!(!built_a_schema(&on), "no schema could build");
    let plain = runner(&off).run(&root, &config(&off).schemata(false)).await.unwrap();
    assert_eq!(outcomes_by_key(&schema), outcomes_by_key(&plain), "{}", dump(&schema));
    assert_eq!(outcome(&schema, "src/lib.rs", "!=", "=="), MutantOutcome::Caught);
    assert_eq!(outcome(&schema, "src/lib.rs", "+=", "-="), MutantOutcome::Timeout);
    assert_eq!(std::fs::read_to_string(on.join("job-0/tree/src/lib.rs")).unwrap(), lib, "the job tree is restored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutate_run_a_mutant_that_breaks_the_schema_build_is_moved_out_and_is_unviable() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("tiny");
    write_tree(&root, &[("Cargo.toml", RUST_MANIFEST), ("src/lib.rs", RUST_LIB)]);
    let cache = dir.path().join("cache");
    let report = runner(&cache).run(&root, &config(&cache)).await.unwrap();
    assert!(built_a_schema(&cache), "the rest of the schema still built");
    assert_eq!(outcome(&report, "src/lib.rs", "255", "256"), MutantOutcome::Unviable, "{}", dump(&report));
    assert!(!is_switched(&cache, &report, "255", "256"));
    assert!(is_switched(&cache, &report, "+=", "-="), "{:?}", switched(&cache));
    assert!(is_switched(&cache, &report, "!=", "=="));
    assert_eq!(outcome(&report, "src/lib.rs", "+=", "-="), MutantOutcome::Timeout, "a hung schema mutant times out");
    assert_eq!(outcome(&report, "src/lib.rs", "!=", "=="), MutantOutcome::Caught);
    assert_eq!(outcome(&report, "src/lib.rs", ">=", ">"), MutantOutcome::Missed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutate_run_schema_mutants_of_each_workspace_member_run_that_members_tests() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ws");
    let member = |name: &str| {
        format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[lib]\ndoctest = false\n")
    };
    let a_lib = "/// Twice `x`.\npub fn double(x: u32) -> u32 {\n    x * 2\n}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn doubles() {\n        assert_eq!(super::double(3), 6);\n    }\n}\n";
    // Each member's test checks only its own crate, and b's never calls `half`: a mutant run
    // against the other member's executables (or none) would be missed where it must be caught.
    let b_lib = "/// Half of `x`.\npub fn half(x: u32) -> u32 {\n    x / 2\n}\n\n/// Whether `x` is even.\npub fn even(x: u32) -> bool {\n    x % 2 == 0\n}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn four_is_even() {\n        assert!(super::even(4));\n        assert!(!super::even(3));\n    }\n}\n";
    write_tree(
        &root,
        &[
            ("Cargo.toml", "[workspace]\nmembers = [\"a\", \"b\"]\nresolver = \"2\"\n"),
            ("a/Cargo.toml", &member("a")),
            ("a/src/lib.rs", a_lib),
            ("b/Cargo.toml", &member("b")),
            ("b/src/lib.rs", b_lib),
        ],
    );
    let (schema, plain) = with_and_without_schemata(dir.path(), &root).await;
    assert_eq!(outcomes_by_key(&schema), outcomes_by_key(&plain), "{}", dump(&schema));
    let on = dir.path().join("cache-schema");
    assert!(is_switched(&on, &schema, "*", "/") && is_switched(&on, &schema, "/", "*"), "{:?}", switched(&on));
    assert_eq!(outcome(&schema, "a/src/lib.rs", "*", "/"), MutantOutcome::Caught, "{}", dump(&schema));
    assert_eq!(outcome(&schema, "b/src/lib.rs", "/", "*"), MutantOutcome::Missed);
    assert_eq!(outcome(&schema, "b/src/lib.rs", "==", "!="), MutantOutcome::Caught);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutate_run_a_crate_with_doctests_switches_its_mutants_into_the_schema_and_its_doctests_still_catch() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("doc");
    let manifest = "[package]\nname = \"doc\"\nversion = \"0.1.0\"\nedition = \"2021\"\n";
    // Only doctests test this crate: `double`'s checks its result, `triple`'s only calls it.
    let lib = "//! Only doctests check this crate.\n\n/// Twice `x`.\n///\n/// ```\n/// assert_eq!(doc::double(3), 6);\n/// ```\npub fn double(x: u32) -> u32 {\n    x * 2\n}\n\n/// Three times `x`.\n///\n/// ```\n/// let _ = doc::triple(3);\n/// ```\npub fn triple(x: u32) -> u32 {\n    x * 3\n}\n";
    write_tree(&root, &[("Cargo.toml", manifest), ("src/lib.rs", lib)]);
    let (schema, plain) = with_and_without_schemata(dir.path(), &root).await;
    let on = dir.path().join("cache-schema");
    assert!(is_switched(&on, &schema, "*", "/"), "{:?}", switched(&on));
    let by_line = |report: &MutationReport, line: u32, replacement: &str| {
        let found = report.mutants.iter().find(|r| r.mutant.line == line && r.mutant.replacement == replacement);
        found.unwrap_or_else(|| panic!("no {replacement} on line {line}: {}", dump(report))).outcome
    };
    assert_eq!(by_line(&schema, 9, "/"), MutantOutcome::Caught, "double's doctest: {}", dump(&schema));
    assert_eq!(by_line(&schema, 18, "/"), MutantOutcome::Missed, "triple's doctest checks nothing");
    assert_eq!(
        outcomes_by_key(&schema),
        outcomes_by_key(&plain),
        "schema:\n{}\nplain:\n{}",
        dump(&schema),
        dump(&plain)
    );
}

/// A workspace: `core` (no tests of its own), `app` (depends on `core`; its test checks `core::add`).
fn dependant_workspace(root: &Path) {
    write_tree(
        root,
        &[
            ("Cargo.toml", "[workspace]\nmembers = [\"crates/core\", \"crates/app\"]\nresolver = \"2\"\n"),
            (
                "crates/core/Cargo.toml",
                "[package]\nname = \"shop-core\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[lib]\ndoctest = false\n",
            ),
            (
                "crates/core/src/lib.rs",
                "//! Sums.\n\n/// `a` plus `b`.\npub fn add(a: u32, b: u32) -> u32 {\n    a + b\n}\n",
            ),
            (
                "crates/app/Cargo.toml",
                "[package]\nname = \"shop-app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[lib]\ndoctest = false\n\n[dependencies]\ncore = { package = \"shop-core\", path = \"../core\" }\n",
            ),
            (
                "crates/app/src/lib.rs",
                "//! Totals.\n\n/// The total of two prices.\npub fn total(a: u32, b: u32) -> u32 {\n    core::add(a, b)\n}\n",
            ),
            (
                "crates/app/tests/total.rs",
                "#[test]\nfn two_and_three_make_five() {\n    assert_eq!(shop_app::total(2, 3), 5);\n}\n",
            ),
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutate_run_a_mutant_caught_only_by_a_dependant_members_tests_is_caught_with_and_without_schemata() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ws");
    dependant_workspace(&root);
    let (schema, plain) = with_and_without_schemata(dir.path(), &root).await;
    let on = dir.path().join("cache-schema");
    assert!(is_switched(&on, &schema, "+", "-"), "{:?}", switched(&on));
    assert_eq!(outcome(&schema, "crates/core/src/lib.rs", "+", "-"), MutantOutcome::Caught, "{}", dump(&schema));
    assert_eq!(outcome(&plain, "crates/core/src/lib.rs", "+", "-"), MutantOutcome::Caught, "{}", dump(&plain));
    assert_eq!(outcomes_by_key(&schema), outcomes_by_key(&plain));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutate_run_a_proc_macro_mutant_is_built_per_mutant_and_caught_by_the_crate_that_expands_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ws");
    write_tree(
        &root,
        &[
            ("Cargo.toml", "[workspace]\nmembers = [\"mac\", \"user\"]\nresolver = \"2\"\n"),
            (
                "mac/Cargo.toml",
                "[package]\nname = \"mac\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[lib]\nproc-macro = true\ndoctest = false\n",
            ),
            (
                "mac/src/lib.rs",
                "//! A macro that expands to a number.\n\nuse proc_macro::TokenStream;\n\n/// Expands to `40 + 2`, computed when the macro runs.\n#[proc_macro]\npub fn answer(_input: TokenStream) -> TokenStream {\n    let n = 40 + 2;\n    n.to_string().parse().unwrap()\n}\n",
            ),
            (
                "user/Cargo.toml",
                "[package]\nname = \"user\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[lib]\ndoctest = false\n\n[dependencies]\nmac = { path = \"../mac\" }\n",
            ),
            (
                "user/src/lib.rs",
                "//! Uses the macro.\n\n/// The answer.\npub fn answer() -> u32 {\n    mac::answer!()\n}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn the_answer_is_42() {\n        assert_eq!(super::answer(), 42);\n    }\n}\n",
            ),
        ],
    );
    let cache = dir.path().join("cache");
    let report = runner(&cache).run(&root, &config(&cache)).await.unwrap();
    assert!(!is_switched(&cache, &report, "+", "-"), "a run-time switch never reaches a macro: {:?}", switched(&cache));
    assert_eq!(outcome(&report, "mac/src/lib.rs", "+", "-"), MutantOutcome::Caught, "{}", dump(&report));
}

/// A crate whose only test runs its binary (`CARGO_BIN_EXE_…`), with a
/// `match` whose arm deletion takes the per-mutant path and rebuilds job
/// 0's binary before the schema mutants run.
fn binary_crate(root: &Path) {
    write_tree(
        root,
        &[
            (
                "Cargo.toml",
                "[package]\nname = \"grade\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[lib]\ndoctest = false\n",
            ),
            (
                "src/lib.rs",
                "//! Grades.\n\n/// The grade of a score.\npub fn grade(score: u32) -> &'static str {\n    match score {\n        90.. => \"A\",\n        50.. => \"B\",\n        _ => \"C\",\n    }\n}\n\n/// The score after a bonus.\npub fn with_bonus(score: u32) -> u32 {\n    score + 10\n}\n",
            ),
            (
                "src/main.rs",
                "fn main() {\n    let score: u32 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(0);\n    println!(\"{}\", grade::grade(grade::with_bonus(score)));\n}\n",
            ),
            (
                "tests/cli.rs",
                "fn run(arg: &str) -> String {\n    let out = std::process::Command::new(env!(\"CARGO_BIN_EXE_grade\")).arg(arg).output().unwrap();\n    String::from_utf8(out.stdout).unwrap().trim().to_owned()\n}\n\n#[test]\nfn grades_through_the_binary() {\n    assert_eq!(run(\"85\"), \"A\");\n    assert_eq!(run(\"45\"), \"B\");\n    assert_eq!(run(\"10\"), \"C\");\n}\n",
            ),
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutate_run_a_test_that_spawns_the_binary_runs_the_schema_binary_with_the_mutant_switched_on() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("grade");
    binary_crate(&root);
    let one_job = |cache: &Path| config(cache).jobs(1);
    let on = dir.path().join("cache-schema");
    let off = dir.path().join("cache-plain");
    let schema = runner(&on).run(&root, &one_job(&on)).await.unwrap();
    let plain = runner(&off).run(&root, &one_job(&off).schemata(false)).await.unwrap();
    assert!(is_switched(&on, &schema, "+", "-"), "{:?}", switched(&on));
    // Only the binary's test can catch these; with the binary of another build they would be missed.
    assert_eq!(outcome(&schema, "src/lib.rs", "+", "-"), MutantOutcome::Caught, "{}", dump(&schema));
    assert_eq!(
        outcomes_by_key(&schema),
        outcomes_by_key(&plain),
        "schema:\n{}\nplain:\n{}",
        dump(&schema),
        dump(&plain)
    );
    assert!(schema.mutants.iter().any(|r| r.mutant.operator == Operator::DeleteArm), "{}", dump(&schema));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutate_run_a_no_std_crate_builds_its_schema_and_gets_the_same_outcomes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("bare");
    let lib = "//! No standard library.\n#![no_std]\n\n/// Whether `n` is even.\npub fn even(n: u32) -> bool {\n    n % 2 == 0\n}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn four_is_even_three_is_not() {\n        assert!(super::even(4));\n        assert!(!super::even(3));\n    }\n}\n";
    write_tree(&root, &[("Cargo.toml", RUST_MANIFEST), ("src/lib.rs", lib)]);
    let (schema, plain) = with_and_without_schemata(dir.path(), &root).await;
    assert!(is_switched(&dir.path().join("cache-schema"), &schema, "==", "!="));
    assert_eq!(outcome(&schema, "src/lib.rs", "==", "!="), MutantOutcome::Caught, "{}", dump(&schema));
    assert_eq!(outcomes_by_key(&schema), outcomes_by_key(&plain));
}

/// A real [`ProcessExecutor`] that remembers the `AGENTKIT_MUTANT` value of every process it runs.
struct SwitchLog {
    inner: ProcessExecutor,
    switched: std::sync::Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl agent_core::Executor for SwitchLog {
    async fn run(
        &self,
        cmd: agent_core::exec::CommandSpec,
    ) -> Result<agent_core::exec::RunOutput, agent_core::exec::ExecError> {
        if let Some(id) = cmd.env.resolve(std::iter::empty()).get("AGENTKIT_MUTANT") {
            self.switched.lock().unwrap().push(id.clone());
        }
        self.inner.run(cmd).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutate_run_a_schema_mutant_whose_site_no_test_reaches_is_missed_without_running_a_test() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("tiny");
    let lib = "//! One tested function, one never called by a test.\n\n/// Whether `n` is even.\npub fn even(n: u32) -> bool {\n    n % 2 == 0\n}\n\n/// `n` squared.\npub fn square(n: u32) -> u32 {\n    n * n\n}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn four_is_even_three_is_not() {\n        assert!(super::even(4));\n        assert!(!super::even(3));\n    }\n}\n";
    write_tree(&root, &[("Cargo.toml", RUST_MANIFEST), ("src/lib.rs", lib)]);
    let cache = dir.path().join("cache");
    let log = Arc::new(SwitchLog { inner: ProcessExecutor::new(), switched: std::sync::Mutex::new(Vec::new()) });
    let runner = MutationRunner::new(log.clone(), Arc::new(DirSnapshotter::new(cache.join("snapshots"))));
    let report = runner.run(&root, &config(&cache)).await.unwrap();
    assert!(is_switched(&cache, &report, "*", "/"), "{:?}", switched(&cache));
    assert_eq!(outcome(&report, "src/lib.rs", "*", "/"), MutantOutcome::Missed, "{}", dump(&report));
    assert_eq!(outcome(&report, "src/lib.rs", "==", "!="), MutantOutcome::Caught);
    // Processes run with a mutant switched on: only for `even`'s mutants, which the test reaches.
    let ran: std::collections::BTreeSet<String> =
        log.switched.lock().unwrap().iter().filter(|id| id.as_str() != "0").cloned().collect();
    let even = report.mutants.iter().filter(|r| r.mutant.function.as_deref() == Some("even")).count();
    let square = report.mutants.iter().filter(|r| r.mutant.function.as_deref() == Some("square")).count();
    assert!(square >= 2 && even >= 2, "{}", dump(&report));
    assert!(!ran.is_empty() && ran.len() <= even, "ran {ran:?} for {even} mutants of even: {}", dump(&report));
    assert!(
        report
            .mutants
            .iter()
            .filter(|r| r.mutant.function.as_deref() == Some("square"))
            .all(|r| r.outcome == MutantOutcome::Missed),
        "{}",
        dump(&report)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_is_reported_after_every_mutant_and_ends_at_the_reports_tally() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("py");
    copy_fixture("python-bool", &root);
    let cache = dir.path().join("cache");
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = std::sync::Arc::clone(&seen);
    let observer = agent_mutants::ProgressObserver::new(move |p| sink.lock().unwrap().push(p.clone()));
    let report = runner(&cache).run(&root, &config(&cache).progress(observer)).await.unwrap();
    let seen = seen.lock().unwrap();
    // One report before the first mutant, then one per mutant, one more done each time.
    assert_eq!(seen.len(), report.mutants.len() + 1, "{seen:?}");
    for (i, p) in seen.iter().enumerate() {
        assert_eq!((p.done, p.total), (i, report.mutants.len()));
        assert_eq!(p.caught + p.missed + p.unviable + p.timeout, p.done);
    }
    let last = seen.last().unwrap();
    assert_eq!(
        (last.caught, last.missed, last.unviable, last.timeout),
        (report.caught, report.missed, report.unviable, report.timeout)
    );
    assert_eq!(last.eta, Some(std::time::Duration::ZERO), "nothing is left");
    assert!(last.to_string().starts_with(&format!("{n}/{n} mutants: ", n = report.mutants.len())));
}
