//! The reference RepairLoop over real parts, with a scripted model.
//!
//! `ScriptedProvider` is a test double standing in for the model: its replies
//! are written here. Everything it drives is real: a git repository with
//! uncommitted user work, the FileEditor, `cargo test` run by the
//! ProcessExecutor, the cargo oracle and classifier, the git snapshotter.

use crate::support::{fixture, git, manifest};
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

async fn run(work: &Path, replies: Vec<ScriptedReply>, config: RepairConfig) -> Run {
    let model = Arc::new(ScriptedProvider::new("openai:gpt-4.1-mini", replies));
    let journal = Arc::new(MemoryJournal::default());
    let parts = RepairParts {
        provider: model.clone(),
        oracle: Arc::new(default_oracle()),
        classifier: classifier_for("cargo").unwrap(),
        executor: Arc::new(ProcessExecutor::new().with_default_cwd(work.to_path_buf())),
        snapshotter: Arc::new(GitSnapshotter::new()),
        editor: Arc::new(FileEditor::new()),
        journal: journal.clone(),
    };
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
