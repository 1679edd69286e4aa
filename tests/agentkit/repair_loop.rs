//! The reference RepairLoop over real parts, with a scripted model.
//!
//! `ScriptedProvider` is a test double standing in for the model: its replies
//! are written here. Everything it drives is real: a git repository with
//! uncommitted user work, the FileEditor, `cargo test` run by the
//! ProcessExecutor, the cargo oracle and classifier, the git snapshotter.

use crate::support::{fixture, git, git_as_user, manifest};
use agentkit::agent::{LoopMode, MemoryJournal, Outcome, RepairConfig, RepairLoop, RepairParts, RepairReport, Task};
use agentkit::classify::classifier_for;
use agentkit::core::budget::Budget;
use agentkit::core::event::{EventKind, TaskState};
use agentkit::core::failure::FailureKind;
use agentkit::core::gate::Verdict;
use agentkit::core::provider::Usage;
use agentkit::oracles::default_oracle;
use agentkit::providers::{ScriptedProvider, ScriptedReply};
use agentkit::sandbox::{FileEditor, GitSnapshotter, ProcessExecutor};
use std::path::Path;
use std::sync::Arc;

const BAD_LINE: &str = "    Some(sum / (values.len() as i64 - 1))";
const GOOD_LINE: &str = "    Some(sum / values.len() as i64)";
const TYPE_ERROR_LINE: &str = "    Some(sum / values.len())";

fn replace(summary: &str, old: &str, new: &str) -> ScriptedReply {
    let plan = serde_json::json!({
        "summary": summary,
        "actions": [{ "action": "replace_block", "path": "src/lib.rs", "old": old, "new": new }]
    });
    ScriptedReply::text_with_usage(plan.to_string(), Usage::new(1000, 100))
}

struct Run {
    report: RepairReport,
    model: Arc<ScriptedProvider>,
    journal: Arc<MemoryJournal>,
}

/// The real parts over `work` (the cargo classifier, the process executor,
/// the git snapshotter, the file editor) driven by `provider`.
fn real_parts(work: &Path, provider: Arc<dyn agentkit::core::LlmProvider>, journal: Arc<MemoryJournal>) -> RepairParts {
    RepairParts {
        provider,
        oracle: Arc::new(default_oracle()),
        classifier: classifier_for("cargo").unwrap(),
        executor: Arc::new(ProcessExecutor::new().with_default_cwd(work.to_path_buf())),
        snapshotter: Arc::new(GitSnapshotter::new()),
        editor: Arc::new(FileEditor::new()),
        journal,
    }
}

async fn run(work: &Path, replies: Vec<ScriptedReply>, config: RepairConfig) -> Run {
    let model = Arc::new(ScriptedProvider::new("openai:gpt-4.1-mini", replies));
    let journal = Arc::new(MemoryJournal::default());
    let parts = real_parts(work, model.clone(), journal.clone());
    let report = RepairLoop::new(parts)
        .with_config(config)
        .run(Task::new("t1", work, "Make the failing tests pass."))
        .await
        .unwrap();
    Run { report, model, journal }
}

fn lib_rs(work: &Path) -> String {
    std::fs::read_to_string(work.join("src/lib.rs")).unwrap()
}

fn count(journal: &MemoryJournal, pred: impl Fn(&EventKind) -> bool) -> usize {
    journal.all().iter().filter(|e| pred(&e.kind)).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correct_first_plan_is_accepted_and_keeps_the_users_uncommitted_work() {
    let (_dir, work) = fixture("buggy-stats");
    let notes_before = std::fs::read_to_string(work.join("NOTES.md")).unwrap();
    let r = run(
        &work,
        vec![replace("fix the divisor", BAD_LINE, GOOD_LINE)],
        RepairConfig::default().with_mode(LoopMode::Plan),
    )
    .await;

    assert_eq!(r.report.outcome, Outcome::Accepted);
    assert_eq!(r.report.verdict, Verdict::Approve);
    assert_eq!(r.report.attempts.len(), 1);
    assert_eq!(r.report.metrics.repairs, 0);
    assert!(!r.report.metrics.rolled_back);
    assert!(lib_rs(&work).contains(GOOD_LINE));
    assert_eq!(std::fs::read_to_string(work.join("NOTES.md")).unwrap(), notes_before);
    assert!(work.join("scratch.txt").is_file());
    // The baseline really ran and really failed on the two wrong means.
    let baseline = r.report.baseline.tests.expect("baseline test counts");
    assert_eq!((baseline.passed, baseline.failed), (2, 2));
    // The accepted attempt's run passed all four tests.
    let after = r.report.attempts[0].classification.tests.expect("test counts");
    assert_eq!((after.passed, after.failed), (4, 0));
    // The snapshot was dropped: no snapshot ref is left behind.
    assert_eq!(git(&work, &["for-each-ref", "refs/agentkit"]), "");
    assert_eq!(count(&r.journal, |k| matches!(k, EventKind::LlmCall { .. })), 1);
    assert_eq!(count(&r.journal, |k| matches!(k, EventKind::SnapshotRestored { .. })), 0);
    assert_eq!(r.report.metrics.usage.input_tokens, 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_first_plan_is_classified_and_repaired_on_the_second_attempt() {
    let (_dir, work) = fixture("buggy-stats");
    let replies = vec![
        replace("divide by the length", BAD_LINE, TYPE_ERROR_LINE),
        replace("cast the length", TYPE_ERROR_LINE, GOOD_LINE),
    ];
    let r = run(&work, replies, RepairConfig::default().with_mode(LoopMode::Plan)).await;

    assert_eq!(r.report.outcome, Outcome::Accepted, "{:#?}", r.report);
    assert_eq!(r.report.attempts.len(), 2);
    assert_eq!(r.report.metrics.repairs, 1);
    let first = &r.report.attempts[0];
    assert!(!first.passed);
    let type_error = first.classification.failures.iter().find(|f| f.kind == FailureKind::Type).expect("a type error");
    assert_eq!(type_error.file.as_deref(), Some(Path::new("src/lib.rs")));
    assert_eq!(type_error.line, Some(9), "the division is on line 9 of the fixture");

    // The repair prompt carries the structured failure and the code, not the raw log.
    let requests = r.model.requests();
    assert_eq!(requests.len(), 2);
    let repair_prompt = &requests[1].messages.last().unwrap().content;
    assert!(repair_prompt.contains("[type] src/lib.rs:9"), "{repair_prompt}");
    assert!(repair_prompt.contains(TYPE_ERROR_LINE.trim()), "{repair_prompt}");
    for raw in ["Compiling buggy-stats", "error: could not compile", "Running unittests", "warning: build failed"] {
        assert!(!repair_prompt.contains(raw), "raw log line `{raw}` leaked into the prompt:\n{repair_prompt}");
    }
    // The first prompt asked for a plan matching the Plan schema.
    assert!(requests[0].response_format.is_some());
    assert!(lib_rs(&work).contains(GOOD_LINE));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_last_failed_attempt_the_workspace_is_restored_byte_for_byte() {
    let (_dir, work) = fixture("buggy-stats");
    let before = manifest(&work);
    let replies = vec![
        replace("attempt one", BAD_LINE, "    Some(sum / 3)"),
        replace("attempt two", "    Some(sum / 3)", "    Some(sum * 2)"),
        replace("attempt three", "    Some(sum * 2)", "    Some(sum)"),
    ];
    let r = run(&work, replies, RepairConfig::default().with_mode(LoopMode::Plan)).await;

    assert_eq!(r.report.outcome, Outcome::RolledBack);
    assert!(matches!(r.report.verdict, Verdict::ChangesRequested { ref items } if !items.is_empty()));
    assert_eq!(r.report.attempts.len(), 3);
    assert!(r.report.attempts.iter().all(|a| !a.passed));
    assert_eq!(r.model.requests().len(), 3, "no model turn beyond max_attempts");
    assert_eq!(manifest(&work), before);
    assert!(r.report.metrics.rolled_back);
    let last = r.journal.all().last().cloned().unwrap();
    assert!(matches!(last.kind, EventKind::TaskFinished { state: TaskState::RolledBack }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_budget_stops_the_task_before_the_next_model_turn() {
    let (_dir, work) = fixture("buggy-stats");
    let before = manifest(&work);
    let config =
        RepairConfig::default().with_mode(LoopMode::Plan).with_budget(Budget::unlimited().with_max_tokens(1000));
    // The first plan spends 1100 tokens and fails; the repair turn must not happen.
    let replies =
        vec![replace("wrong", BAD_LINE, "    Some(sum / 3)"), replace("never asked", "    Some(sum / 3)", GOOD_LINE)];
    let r = run(&work, replies, config).await;

    assert_eq!(r.report.outcome, Outcome::BudgetExceeded);
    assert!(matches!(
        r.report.budget_stop,
        Some(agentkit::core::budget::BudgetStop::Tokens { used: 1100, limit: 1000 })
    ));
    assert_eq!(r.model.requests().len(), 1);
    assert_eq!(count(&r.journal, |k| matches!(k, EventKind::BudgetStop { .. })), 1);
    assert_eq!(manifest(&work), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zero_turn_budget_stops_before_the_first_model_call() {
    let (_dir, work) = fixture("buggy-stats");
    let before = manifest(&work);
    let config =
        RepairConfig::default().with_mode(LoopMode::Plan).with_budget(Budget::unlimited().with_max_model_turns(0));
    let r = run(&work, vec![replace("unused", BAD_LINE, GOOD_LINE)], config).await;
    assert_eq!(r.report.outcome, Outcome::BudgetExceeded);
    assert!(r.model.requests().is_empty());
    assert!(r.report.attempts.is_empty());
    assert_eq!(manifest(&work), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_that_is_not_a_plan_gets_one_corrective_reask() {
    let (_dir, work) = fixture("buggy-stats");
    let replies = vec![
        ScriptedReply::text("I think you should divide by the length."),
        replace("fix the divisor", BAD_LINE, GOOD_LINE),
    ];
    let r = run(&work, replies, RepairConfig::default().with_mode(LoopMode::Plan)).await;
    assert_eq!(r.report.outcome, Outcome::Accepted);
    assert_eq!(count(&r.journal, |k| matches!(k, EventKind::PlanRejected { .. })), 1);
    let requests = r.model.requests();
    assert_eq!(requests.len(), 2);
    let reask = &requests[1].messages.last().unwrap().content;
    assert!(reask.contains("not JSON") || reask.contains("could not be used"), "{reask}");
    // The re-ask is not an attempt: one attempt was made.
    assert_eq!(r.report.attempts.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_invalid_plan_stops_the_task_as_needing_a_human() {
    let (_dir, work) = fixture("buggy-stats");
    let before = manifest(&work);
    let replies = vec![
        ScriptedReply::text(r#"{"summary":"x","actions":[{"action":"format_disk"}]}"#),
        ScriptedReply::text(r#"{"summary":"x","steps":[]}"#),
        replace("never asked", BAD_LINE, GOOD_LINE),
    ];
    let r = run(&work, replies, RepairConfig::default().with_mode(LoopMode::Plan)).await;
    assert_eq!(r.report.outcome, Outcome::NeedsHuman);
    assert!(matches!(r.report.verdict, Verdict::NeedsHuman { ref reason } if reason.contains("schema")));
    assert_eq!(r.model.requests().len(), 2, "one re-ask at most");
    assert_eq!(count(&r.journal, |k| matches!(k, EventKind::PlanRejected { .. })), 2);
    assert_eq!(manifest(&work), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_outside_the_workspace_is_refused_and_reported_to_the_model() {
    let (dir, work) = fixture("buggy-stats");
    let outside = dir.path().join("escaped.txt");
    let escape = serde_json::json!({
        "summary": "write outside",
        "actions": [{ "action": "write_file", "path": "../escaped.txt", "content": "x" }]
    });
    let replies = vec![ScriptedReply::text(escape.to_string()), replace("fix", BAD_LINE, GOOD_LINE)];
    let r = run(&work, replies, RepairConfig::default().with_mode(LoopMode::Plan)).await;
    assert!(!outside.exists());
    assert!(r.report.attempts[0].apply_error.as_deref().unwrap_or_default().contains("outside"));
    let requests = r.model.requests();
    let repair_prompt = &requests[1].messages.last().unwrap().content;
    assert!(repair_prompt.contains("Applying your plan failed"), "{repair_prompt}");
    assert_eq!(r.report.outcome, Outcome::Accepted);
}

/// What the stalling or panicking model does on its second call.
#[derive(Clone, Copy)]
enum Second {
    /// Never answers: the run waits until its future is dropped.
    Hang,
    /// Panics, as a broken component would.
    Panic,
}

/// A model whose first answer is a scripted plan and whose second call
/// hangs or panics; `called_twice` fires when the second call starts.
struct Interrupting {
    first: ScriptedProvider,
    calls: std::sync::atomic::AtomicUsize,
    second: Second,
    called_twice: Arc<tokio::sync::Notify>,
}

#[agentkit::core::async_trait]
impl agentkit::core::LlmProvider for Interrupting {
    fn id(&self) -> &agentkit::core::provider::ProviderId {
        self.first.id()
    }
    async fn complete(
        &self,
        req: agentkit::core::provider::CompletionRequest,
    ) -> Result<agentkit::core::provider::Completion, agentkit::core::provider::ProviderError> {
        if self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            return self.first.complete(req).await;
        }
        self.called_twice.notify_one();
        match self.second {
            Second::Hang => std::future::pending().await,
            Second::Panic => panic!("the model component broke"),
        }
    }
    async fn stream(
        &self,
        req: agentkit::core::provider::CompletionRequest,
    ) -> Result<agentkit::core::provider::CompletionStream, agentkit::core::provider::ProviderError> {
        self.first.stream(req).await
    }
}

fn interrupting_loop(work: &Path, second: Second) -> (RepairLoop, Arc<tokio::sync::Notify>, Arc<MemoryJournal>) {
    let called_twice = Arc::new(tokio::sync::Notify::new());
    // Attempt 1 writes a wrong fix that fails the tests; attempt 2's model call hangs or panics.
    let model = Interrupting {
        first: ScriptedProvider::new("openai:gpt-4.1-mini", vec![replace("wrong", BAD_LINE, "    Some(sum / 3)")]),
        calls: Default::default(),
        second,
        called_twice: called_twice.clone(),
    };
    let journal = Arc::new(MemoryJournal::default());
    let parts = real_parts(work, Arc::new(model), journal.clone());
    let lp = RepairLoop::new(parts).with_config(RepairConfig::default().with_mode(LoopMode::Plan));
    (lp, called_twice, journal)
}

fn ends_interrupted(journal: &MemoryJournal) {
    let all = journal.all();
    assert!(all.iter().any(|e| matches!(e.kind, EventKind::SnapshotRestored { .. })));
    assert!(all.iter().any(
        |e| matches!(&e.kind, EventKind::Verdict { verdict: Verdict::NeedsHuman { reason } } if reason.contains("interrupted"))
    ));
    assert!(matches!(all.last().unwrap().kind, EventKind::TaskFinished { state: TaskState::RolledBack }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_dropped_mid_attempt_leaves_the_workspace_byte_identical() {
    let (_dir, work) = fixture("buggy-stats");
    let before = manifest(&work);
    let (lp, called_twice, journal) = interrupting_loop(&work, Second::Hang);
    {
        let run = lp.run(Task::new("t1", &work, "Make the failing tests pass."));
        tokio::pin!(run);
        tokio::select! {
            r = &mut run => panic!("the run ended on its own: {:?}", r.map(|r| r.outcome)),
            () = called_twice.notified() => {}
        }
        // The first attempt's edit is in the tree while the second model call hangs.
        assert!(lib_rs(&work).contains("Some(sum / 3)"));
    } // the run future is dropped here
    assert_eq!(lp.wait_for_restores().await, 1);
    assert_eq!(manifest(&work), before);
    ends_interrupted(&journal);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_component_mid_run_leaves_the_workspace_byte_identical() {
    use futures::FutureExt;
    let (_dir, work) = fixture("buggy-stats");
    let before = manifest(&work);
    let (lp, _called_twice, journal) = interrupting_loop(&work, Second::Panic);
    let outcome = std::panic::AssertUnwindSafe(lp.run(Task::new("t1", &work, "Make the failing tests pass.")))
        .catch_unwind()
        .await;
    assert!(outcome.is_err(), "the panic reaches the caller");
    assert_eq!(lp.wait_for_restores().await, 1);
    assert_eq!(manifest(&work), before);
    ends_interrupted(&journal);
}

/// A plan replacing `old` with `new` in `path`.
fn edit(summary: &str, path: &str, old: &str, new: &str) -> ScriptedReply {
    let plan = serde_json::json!({
        "summary": summary,
        "actions": [{ "action": "replace_block", "path": path, "old": old, "new": new }]
    });
    ScriptedReply::text_with_usage(plan.to_string(), Usage::new(100, 10))
}

/// The loop over real parts and the auto classifier, in plan mode, on
/// `work` with `named` tests, the plans `replies` and the gates `gates`.
async fn run_auto(
    work: &Path,
    named: &[&str],
    replies: Vec<ScriptedReply>,
    gates: Vec<Arc<dyn agentkit::core::Gate>>,
) -> (RepairReport, Arc<MemoryJournal>) {
    let journal = Arc::new(MemoryJournal::default());
    let parts = RepairParts {
        classifier: Arc::new(agentkit::classify::AutoClassifier::new()),
        ..real_parts(work, Arc::new(ScriptedProvider::new("openai:gpt-4.1-mini", replies)), journal.clone())
    };
    let mut lp = RepairLoop::new(parts).with_config(RepairConfig::default().with_mode(LoopMode::Plan));
    for gate in gates {
        lp = lp.with_gate(gate);
    }
    let task = Task::new("t1", work, "Make the named test pass.")
        .with_named_tests(named.iter().map(|s| (*s).to_owned()).collect());
    (lp.run(task).await.unwrap(), journal)
}

/// Attempt 1 fixes the named test and breaks one that passed at baseline;
/// the loop must name the regression and accept only attempt 2's real fix.
async fn regression_then_fix(fixture_name: &str, named: &str, regressed: &str, path: &str, edits: [(&str, &str); 2]) {
    let (_dir, work) = fixture(fixture_name);
    let [(old, bad), (old2, good)] = edits;
    let replies = vec![edit("breaks another test", path, old, bad), edit("the real fix", path, old2, good)];
    let (report, journal) = run_auto(&work, &[named], replies, vec![]).await;
    // The baseline ran with per-test reporting: it shows the passing tests too.
    let passing_at_baseline =
        report.baseline.outcomes.iter().filter(|o| o.status == agentkit::core::failure::TestStatus::Passed).count();
    assert!(passing_at_baseline >= 2, "{fixture_name}: baseline without passing tests: {:?}", report.baseline.outcomes);
    assert!(!report.attempts[0].passed, "{fixture_name}: a regression was accepted");
    let prompt_of_repair = journal.all().iter().any(|e| {
        matches!(&e.kind, EventKind::FailureClassified { attempt: 1, classification }
            if classification.outcomes.iter().any(|o| o.name.contains(regressed) && o.status != agentkit::core::failure::TestStatus::Passed))
    });
    assert!(prompt_of_repair, "{fixture_name}: `{regressed}` did not fail in attempt 1");
    assert_eq!(report.outcome, Outcome::Accepted, "{fixture_name}: {:?}", report.verdict);
    assert_eq!(report.attempts.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pytest_regression_is_caught_against_the_loops_own_baseline() {
    regression_then_fix(
        "py-slugify",
        "test_capitals_are_lowered",
        "test_no_hyphen_at_the_ends",
        "slugkit/slug.py",
        [
            (
                "    slug = _NOT_WORD.sub(\"-\", title)\n    return slug.strip(\"-\")",
                "    return _NOT_WORD.sub(\"-\", title.lower())",
            ),
            (
                "    return _NOT_WORD.sub(\"-\", title.lower())",
                "    return _NOT_WORD.sub(\"-\", title.lower()).strip(\"-\")",
            ),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_go_test_regression_is_caught_against_the_loops_own_baseline() {
    regression_then_fix(
        "go-wordfreq",
        "TestCountIgnoresCase",
        "TestTopPicksTheMostFrequent",
        "wordfreq.go",
        [
            ("\t\tcounts[word]++", "\t\tcounts[strings.ToLower(word)] = 3"),
            ("\t\tcounts[strings.ToLower(word)] = 3", "\t\tcounts[strings.ToLower(word)]++"),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cargo_test_regression_is_caught_against_the_loops_own_baseline() {
    regression_then_fix(
        "regression-trap",
        "discount_starts_at_one_hundred",
        "no_discount_just_below_one_hundred",
        "src/lib.rs",
        [
            ("    if total > 10_000 {", "    if total >= 9_999 {"),
            ("    if total >= 9_999 {", "    if total >= 10_000 {"),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_test_regression_is_caught_against_the_loops_own_baseline() {
    regression_then_fix(
        "js-median",
        "numbers are ordered by value, not as text",
        "median of nothing is NaN",
        "median.js",
        [
            (
                "  if (values.length === 0) return NaN;\n  const sorted = [...values].sort();",
                "  if (values.length === 0) return 0;\n  const sorted = [...values].sort((a, b) => a - b);",
            ),
            ("  if (values.length === 0) return 0;", "  if (values.length === 0) return NaN;"),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_protected_path_changed_in_attempt_one_is_caught_by_the_scope_gate_at_attempt_three() {
    let (_dir, work) = fixture("regression-trap");
    let before = manifest(&work);
    let first = serde_json::json!({
        "summary": "touch the notes and try a wrong fix",
        "actions": [
            { "action": "replace_block", "path": "NOTES.md", "old": "Tracked file.", "new": "Edited file." },
            { "action": "replace_block", "path": "src/lib.rs", "old": "    if total > 10_000 {", "new": "    if total > 10_001 {" }
        ]
    });
    let replies = vec![
        ScriptedReply::text_with_usage(first.to_string(), Usage::new(100, 10)),
        edit("still wrong", "src/lib.rs", "    if total > 10_001 {", "    if total > 10_002 {"),
        edit("the real fix", "src/lib.rs", "    if total > 10_002 {", "    if total >= 10_000 {"),
    ];
    let scope: Arc<dyn agentkit::core::Gate> =
        Arc::new(agentkit::gates::ScopeGate::new(vec!["NOTES.md".into()]).unwrap());
    let (report, journal) = run_auto(&work, &["discount_starts_at_one_hundred"], replies, vec![scope]).await;
    assert_eq!(report.attempts.len(), 3);
    // Attempt 3 passes its tests and touches only src/lib.rs; the change since the snapshot still holds NOTES.md.
    assert!(report.attempts[2].changes.iter().all(|c| c.path == "src/lib.rs"));
    let scope_reports: Vec<_> = journal
        .all()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::GateReport { report } if report.gate == "scope" => Some(report),
            _ => None,
        })
        .collect();
    assert_eq!(scope_reports.len(), 1, "the gates run once, on the one attempt whose tests pass");
    assert!(!scope_reports[0].passed);
    assert!(scope_reports[0].findings.iter().any(|f| f.contains("NOTES.md")), "{:?}", scope_reports[0]);
    assert_eq!(report.outcome, Outcome::RolledBack);
    assert_eq!(manifest(&work), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unittest_run_of_zero_tests_is_never_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().canonicalize().unwrap();
    std::fs::write(work.join("pyproject.toml"), "[project]\nname = \"calc\"\nversion = \"0.1.0\"\n").unwrap();
    std::fs::write(work.join("calc.py"), "def add(a, b):\n    return a - b\n").unwrap();
    std::fs::create_dir(work.join("tests")).unwrap();
    std::fs::write(work.join("tests/__init__.py"), "").unwrap();
    std::fs::write(
        work.join("tests/test_calc.py"),
        "import unittest\nfrom calc import add\n\nclass T(unittest.TestCase):\n    def test_add(self):\n        self.assertEqual(add(1, 2), 3)\n",
    )
    .unwrap();
    for args in [
        &["init", "-q"][..],
        &["add", "-A"],
        &["-c", "user.name=t", "-c", "user.email=t@e.invalid", "commit", "-qm", "calc"],
    ] {
        git(&work, args);
    }
    let before = manifest(&work);
    // Deleting the failing test makes `python -m unittest discover` run 0 tests and exit 0 (Python 3.11).
    let delete = serde_json::json!({
        "summary": "remove the failing test",
        "actions": [{ "action": "delete_file", "path": "tests/test_calc.py" }]
    });
    let replies = vec![ScriptedReply::text(delete.to_string()); 3];
    let (report, _journal) = run_auto(&work, &[], replies, vec![]).await;
    assert!(report.test_command.contains("unittest"), "{}", report.test_command);
    assert_ne!(report.outcome, Outcome::Accepted, "{:?}", report.attempts.first().map(|a| &a.classification));
    assert!(!report.attempts[0].passed);
    assert_eq!(manifest(&work), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_command_that_commits_checks_out_and_drops_the_stash_is_undone() {
    let (_dir, work) = fixture("buggy-stats");
    // The user's state: a second branch, a stash entry, and uncommitted work on top.
    git_as_user(&work, &["branch", "feature"]);
    git_as_user(&work, &["stash", "push", "-q", "-m", "parked", "--", "NOTES.md"]);
    std::fs::write(work.join("NOTES.md"), "notes the user is still writing\n").unwrap();
    let head_file = || std::fs::read_to_string(work.join(".git/HEAD")).unwrap();
    let stash = || git(&work, &["stash", "list", "--format=%H %gs"]);
    let (before, head_before, stash_before) = (manifest(&work), head_file(), stash());
    assert!(stash_before.contains("parked"));

    // A correct fix (the tests pass after it), plus commands that move git state.
    let id = ["-c", "user.name=model", "-c", "user.email=model@example.invalid", "-c", "commit.gpgsign=false"];
    let cmd = |args: &[&str]| serde_json::json!({ "action": "run_command", "program": "git", "args": args });
    let plan = serde_json::json!({
        "summary": "fix the divisor and commit it",
        "actions": [
            { "action": "replace_block", "path": "src/lib.rs", "old": BAD_LINE, "new": GOOD_LINE },
            cmd(&[&id[..], &["commit", "-q", "-a", "-m", "fix"]].concat()),
            cmd(&["checkout", "-q", "-b", "sneaky"]),
            cmd(&["stash", "drop", "-q"]),
        ]
    });
    let replies = vec![ScriptedReply::text_with_usage(plan.to_string(), Usage::new(1000, 100))];
    let r = run(&work, replies, RepairConfig::default().with_mode(LoopMode::Plan)).await;

    // The tests passed, but a change that moved HEAD, a ref and the stash is not accepted.
    assert_eq!(r.report.outcome, Outcome::NeedsHuman, "{:?}", r.report.verdict);
    assert!(
        matches!(&r.report.verdict, Verdict::NeedsHuman { reason } if reason.contains("moved git state") && reason.contains("HEAD")),
        "{:?}",
        r.report.verdict
    );
    let moved: Vec<String> = r
        .journal
        .all()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::GitStateMoved { changes } => Some(changes),
            _ => None,
        })
        .flatten()
        .collect();
    assert!(moved.iter().any(|c| c.starts_with("HEAD:")), "{moved:?}");
    assert!(moved.iter().any(|c| c.starts_with("refs/heads/sneaky:")), "{moved:?}");
    assert!(moved.iter().any(|c| c.starts_with("stash list:")), "{moved:?}");
    assert_eq!(r.model.requests().len(), 1, "no repair turn after git state moved");
    // Undone: the branch, the commit, the checkout and the dropped stash.
    assert_eq!(head_file(), head_before);
    assert_eq!(stash(), stash_before);
    assert_eq!(manifest(&work), before);
    assert!(lib_rs(&work).contains(BAD_LINE));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolled_back_pytest_run_leaves_no_pytest_cache_in_the_tree() {
    let (_dir, work) = fixture("py-slugify");
    // The manifest lists ignored files too: `.pytest_cache` ignores itself, so a restore
    // (which leaves ignored files alone) would not take it away.
    let before = manifest(&work);
    let wrong = ("    slug = _NOT_WORD.sub(\"-\", title)\n    return slug.strip(\"-\")", "    return title");
    let replies = vec![
        edit("wrong", "slugkit/slug.py", wrong.0, wrong.1),
        edit("still wrong", "slugkit/slug.py", wrong.1, "    return title.upper()"),
        edit("wrong again", "slugkit/slug.py", "    return title.upper()", "    return title.title()"),
    ];
    let (report, _journal) = run_auto(&work, &["test_capitals_are_lowered"], replies, vec![]).await;
    assert_eq!(report.outcome, Outcome::RolledBack, "{:?}", report.verdict);
    assert_eq!(report.attempts.len(), 3);
    assert!(!work.join(".pytest_cache").exists());
    assert_eq!(manifest(&work), before);
}

/// A gate that signals when it is entered and never answers (a hung gate).
struct HangingGate(Arc<tokio::sync::Notify>);

#[agentkit::core::async_trait]
impl agentkit::core::Gate for HangingGate {
    async fn check(
        &self,
        _cx: &agentkit::core::gate::GateContext,
    ) -> Result<agentkit::core::gate::GateReport, agentkit::core::gate::GateError> {
        self.0.notify_one();
        futures::future::pending().await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_dropped_mid_gate_after_a_passing_attempt_leaves_the_workspace_byte_identical() {
    let (_dir, work) = fixture("buggy-stats");
    let before = manifest(&work);
    let entered = Arc::new(tokio::sync::Notify::new());
    let parts = real_parts(
        &work,
        Arc::new(ScriptedProvider::new("openai:gpt-4.1-mini", vec![replace("fix the divisor", BAD_LINE, GOOD_LINE)])),
        Arc::new(MemoryJournal::default()),
    );
    let lp = RepairLoop::new(parts)
        .with_config(RepairConfig::default().with_mode(LoopMode::Plan))
        .with_gate(Arc::new(HangingGate(entered.clone())));
    {
        let run = lp.run(Task::new("t1", &work, "Make the failing tests pass."));
        tokio::pin!(run);
        tokio::select! {
            r = &mut run => panic!("the run ended on its own: {:?}", r.map(|r| r.outcome)),
            () = entered.notified() => {}
        }
        // The fix passed its tests and is in the tree while the gate runs.
        assert!(lib_rs(&work).contains(GOOD_LINE));
    } // dropped mid-gate
    assert_eq!(lp.wait_for_restores().await, 1);
    assert_eq!(manifest(&work), before);
}

/// py-slugify with a package its pyproject declares and this machine lacks,
/// imported inside one test (`test_sdk_client`): the environment breaks
/// that test at baseline and after any change.
fn slugify_with_a_test_the_environment_breaks() -> (tempfile::TempDir, std::path::PathBuf) {
    let (dir, work) = fixture("py-slugify");
    let pyproject = std::fs::read_to_string(work.join("pyproject.toml")).unwrap();
    let pyproject = pyproject.replace(
        "requires-python = \">=3.9\"\n",
        "requires-python = \">=3.9\"\ndependencies = [\"agentkit-absent-sdk>=1\"]\n",
    );
    assert!(pyproject.contains("agentkit-absent-sdk"));
    std::fs::write(work.join("pyproject.toml"), pyproject).unwrap();
    std::fs::write(
        work.join("tests/test_sdk.py"),
        "def test_sdk_client():\n    import agentkit_absent_sdk\n\n    assert agentkit_absent_sdk.Client()\n",
    )
    .unwrap();
    (dir, work)
}

/// py-slugify's real fix, as a plan.
fn lower_case_the_title() -> ScriptedReply {
    edit(
        "lower-case the title",
        "slugkit/slug.py",
        "    slug = _NOT_WORD.sub(\"-\", title)",
        "    slug = _NOT_WORD.sub(\"-\", title.lower())",
    )
}

/// The loop (plan mode, auto classifier, real pytest) on `work` with
/// `named` tests; the scripted model (a test double) is returned too.
async fn run_keeping_the_model(
    work: &Path,
    named: &[&str],
    replies: Vec<ScriptedReply>,
) -> (RepairReport, Arc<ScriptedProvider>) {
    run_keeping_the_model_in(LoopMode::Plan, work, named, replies).await
}

/// [`run_keeping_the_model`] in `mode`.
async fn run_keeping_the_model_in(
    mode: LoopMode,
    work: &Path,
    named: &[&str],
    replies: Vec<ScriptedReply>,
) -> (RepairReport, Arc<ScriptedProvider>) {
    let journal = Arc::new(MemoryJournal::default());
    let model = Arc::new(ScriptedProvider::new("openai:gpt-4.1-mini", replies));
    let parts = RepairParts {
        classifier: Arc::new(agentkit::classify::AutoClassifier::new()),
        ..real_parts(work, model.clone(), journal)
    };
    let lp = RepairLoop::new(parts).with_config(RepairConfig::default().with_mode(mode));
    let task = Task::new("t1", work, "Make the named test pass.")
        .with_named_tests(named.iter().map(|n| (*n).to_owned()).collect());
    (lp.run(task).await.unwrap(), model)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_the_environment_breaks_does_not_stop_a_task_that_does_not_name_it_nor_reach_the_model() {
    let (_dir, work) = slugify_with_a_test_the_environment_breaks();
    let fix = lower_case_the_title();
    let (report, model) = run_keeping_the_model(&work, &["test_capitals_are_lowered"], vec![fix]).await;
    // The report keeps the baseline as it ran: the environment's failure is there.
    let env = report.baseline.failures.iter().find(|f| f.kind == FailureKind::Environment);
    assert!(
        env.is_some_and(|f| f.test_name.as_deref().is_some_and(|t| t.contains("test_sdk_client"))),
        "{:#?}",
        report.baseline
    );
    assert_eq!(report.outcome, Outcome::Accepted, "{:?}", report.verdict);
    assert_eq!(report.attempts.len(), 1);
    // The model was asked about the task's test, not the machine's missing package.
    let prompt = serde_json::to_string(&model.requests()[0].messages).unwrap();
    assert!(prompt.contains("test_capitals_are_lowered"), "{prompt}");
    assert!(!prompt.contains("agentkit_absent_sdk"), "the environment's failure reached the model: {prompt}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_named_test_the_environment_breaks_needs_a_human_before_any_model_turn() {
    let (_dir, work) = slugify_with_a_test_the_environment_breaks();
    let (report, model) = run_keeping_the_model(&work, &["test_sdk_client"], vec![]).await;
    assert_eq!(report.outcome, Outcome::NeedsHuman, "{:?}", report.verdict);
    assert!(
        matches!(&report.verdict, Verdict::NeedsHuman { reason } if reason.contains("environment")),
        "{:?}",
        report.verdict
    );
    assert!(model.requests().is_empty(), "the model was asked to fix the machine");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_named_tests_a_suite_whose_only_failure_is_the_environments_accepts_the_fix() {
    let (_dir, work) = slugify_with_a_test_the_environment_breaks();
    let fix = lower_case_the_title();
    let (report, _model) = run_keeping_the_model(&work, &[], vec![fix]).await;
    assert_eq!(report.outcome, Outcome::Accepted, "{:?}", report.verdict);
    // Still failing after the fix, and only for the environment.
    let after = &report.attempts[0].classification;
    assert!(
        !after.failures.is_empty() && after.failures.iter().all(|f| f.kind == FailureKind::Environment),
        "{after:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_named_tests_a_code_failure_left_beside_the_environments_is_not_accepted() {
    let (_dir, work) = slugify_with_a_test_the_environment_breaks();
    // Plans that change nothing the failing test needs.
    let reword = |old: &str, new: &str| edit("reword the docstring", "slugkit/slug.py", old, new);
    let replies = vec![
        reword("lower case, runs", "lower case; runs"),
        reword("lower case; runs", "lower case - runs"),
        reword("lower case - runs", "lower case: runs"),
    ];
    let (report, _model) = run_keeping_the_model(&work, &[], replies).await;
    assert_ne!(report.outcome, Outcome::Accepted, "{:?}", report.verdict);
    assert!(report.attempts.iter().all(|a| !a.passed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_tools_mode_run_tests_leaves_out_the_test_the_environment_broke_at_baseline() {
    let (_dir, work) = slugify_with_a_test_the_environment_breaks();
    let usage = || Usage::new(100, 10);
    let replies = vec![
        ScriptedReply::call("run_tests", serde_json::json!({}), usage()),
        ScriptedReply::call(
            "edit_file",
            serde_json::json!({
                "path": "slugkit/slug.py",
                "old": "    slug = _NOT_WORD.sub(\"-\", title)",
                "new": "    slug = _NOT_WORD.sub(\"-\", title.lower())",
            }),
            usage(),
        ),
        ScriptedReply::call("finish", serde_json::json!({ "summary": "lower-case the title" }), usage()),
    ];
    let (report, model) =
        run_keeping_the_model_in(LoopMode::Tools, &work, &["test_capitals_are_lowered"], replies).await;
    assert_eq!(report.outcome, Outcome::Accepted, "{:?}", report.verdict);
    // What the model saw of its `run_tests` call: the last message of its second turn.
    let requests = model.requests();
    let observation = serde_json::to_string(requests[1].messages.last().unwrap()).unwrap();
    assert!(observation.contains("test_capitals_are_lowered"), "the code's failure is shown: {observation}");
    assert!(observation.contains("1 failure(s) of tests the environment already broke"), "{observation}");
    assert!(!observation.contains("agentkit_absent_sdk"), "the environment's failure reached the model: {observation}");
    // Nothing of it is lost: the session's report keeps the whole run.
    let env = report.baseline.failures.iter().find(|f| f.kind == FailureKind::Environment);
    assert!(env.is_some_and(|f| f.test_name.as_deref().is_some_and(|t| t.contains("test_sdk_client"))));
}
