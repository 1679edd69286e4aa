//! The loop with memory and an inspector, over the fakes (a scripted model
//! and canned runs: test doubles) and a real memory file.

use crate::fakes::{Fakes, Model, plan_json};
use agent_core::gate::Verdict;
use agent_loop::{FileMemory, Inspector, Outcome, RepairLoop, Task};
use std::sync::Arc;

fn task() -> Task {
    Task::new("t", "/workspace", "make it pass")
}

#[tokio::test]
async fn memory_of_a_failed_task_changes_the_next_planning_prompt_of_the_same_goal() {
    let dir = tempfile::tempdir().unwrap();
    let memory = Arc::new(FileMemory::new(dir.path().join("memory.jsonl")));
    let first = Fakes::new(vec![Ok(plan_json("a.rs"))], vec![(1, "assertion failed")]);
    let report = RepairLoop::new(first.parts())
        .with_config(crate::fakes::plan_config())
        .with_config(crate::fakes::plan_config().with_max_attempts(1))
        .with_memory(memory.clone())
        .run(task())
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::RolledBack);
    let first_prompt = first.model.requests()[0].messages[1].content.clone();
    assert!(!first_prompt.contains("Earlier attempts"), "nothing to remember yet");

    let second = Fakes::new(vec![Ok(plan_json("b.rs"))], vec![(1, "assertion failed"), (0, "ok")]);
    RepairLoop::new(second.parts())
        .with_config(crate::fakes::plan_config())
        .with_memory(memory.clone())
        .run(task())
        .await
        .unwrap();
    let prompt = second.model.requests()[0].messages[1].content.clone();
    assert!(prompt.contains("Earlier attempts at this same task (do not repeat what failed):"), "{prompt}");
    assert!(prompt.contains("- attempt 1: write a.rs (files: a.rs) — failed with:"), "{prompt}");

    // Another goal in the same workspace does not see those attempts.
    let other = Fakes::new(vec![Ok(plan_json("c.rs"))], vec![(1, "x"), (0, "ok")]);
    RepairLoop::new(other.parts())
        .with_config(crate::fakes::plan_config())
        .with_memory(memory)
        .run(Task::new("u", "/workspace", "another goal"))
        .await
        .unwrap();
    assert!(!other.model.requests()[0].messages[1].content.contains("Earlier attempts"));
}

#[tokio::test]
async fn a_repair_that_passes_leaves_a_lesson_for_every_later_task_in_the_workspace() {
    let dir = tempfile::tempdir().unwrap();
    let memory = Arc::new(FileMemory::new(dir.path().join("memory.jsonl")));
    let f = Fakes::new(vec![Ok(plan_json("a.rs")), Ok(plan_json("b.rs"))], vec![(1, "x"), (1, "y"), (0, "ok")]);
    let report = RepairLoop::new(f.parts())
        .with_config(crate::fakes::plan_config())
        .with_memory(memory.clone())
        .run(task())
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Accepted);
    let next = Fakes::new(vec![Ok(plan_json("c.rs"))], vec![(1, "x"), (0, "ok")]);
    RepairLoop::new(next.parts())
        .with_config(crate::fakes::plan_config())
        .with_memory(memory)
        .run(Task::new("u", "/workspace", "new goal"))
        .await
        .unwrap();
    let prompt = next.model.requests()[0].messages[1].content.clone();
    assert!(
        prompt.contains("Lessons from earlier tasks in this workspace:\n- test_assertion was fixed by: write b.rs"),
        "{prompt}"
    );
}

#[tokio::test]
async fn an_unparseable_review_twice_ends_the_task_needing_a_human_and_restored() {
    let f = Fakes::new(vec![Ok(plan_json("a.rs"))], vec![(1, "x"), (0, "ok")]);
    let reviewer = Arc::new(Model::scripted(vec!["LGTM", "{\"verdict\": \"ship it\"}", "{\"verdict\":\"approve\"}"]));
    let report = RepairLoop::new(f.parts())
        .with_config(crate::fakes::plan_config())
        .with_inspector(Inspector::new().with_reviewer(reviewer.clone()))
        .run(task())
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::NeedsHuman);
    assert!(
        matches!(&report.verdict, Verdict::NeedsHuman { reason } if reason.contains("did not match its schema twice"))
    );
    assert_eq!(reviewer.requests().len(), 2);
    assert_eq!(f.snapshots.lock().unwrap().restored, 1);
    assert_eq!(f.model.requests().len(), 1, "no repair is asked for after NeedsHuman");
}

#[tokio::test]
async fn a_review_requesting_changes_turns_a_passing_run_into_a_repair_and_an_approval_accepts() {
    let f = Fakes::new(vec![Ok(plan_json("a.rs")), Ok(plan_json("b.rs"))], vec![(1, "x"), (0, "ok"), (0, "ok")]);
    let reviewer = Arc::new(Model::scripted(vec![
        r#"{"verdict":"changes_requested","items":["handle the empty input"]}"#,
        r#"{"verdict":"approve"}"#,
    ]));
    let report = RepairLoop::new(f.parts())
        .with_config(crate::fakes::plan_config())
        .with_inspector(Inspector::new().with_reviewer(reviewer))
        .run(task())
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Accepted);
    assert_eq!(report.attempts.len(), 2);
    let repair_prompt = f.model.requests()[1].messages.last().unwrap().content.clone();
    assert!(repair_prompt.contains("gate `review` failed: changes requested"), "{repair_prompt}");
    assert!(repair_prompt.contains("handle the empty input"), "{repair_prompt}");
    assert!(report.gates.iter().any(|g| g.gate == "review" && g.passed));
}

fn llm_purposes(f: &Fakes) -> Vec<String> {
    f.journal
        .all()
        .into_iter()
        .filter_map(|e| match e.kind {
            agent_core::event::EventKind::LlmCall { purpose, .. } => Some(purpose),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn the_reviews_model_calls_are_counted_in_the_metrics_and_journaled() {
    let f = Fakes::new(vec![Ok(plan_json("a.rs"))], vec![(1, "x"), (0, "ok")]);
    let reviewer = Arc::new(Model::scripted(vec!["not json", r#"{"verdict":"approve"}"#]));
    let report = RepairLoop::new(f.parts())
        .with_config(crate::fakes::plan_config())
        .with_inspector(Inspector::new().with_reviewer(reviewer.clone()))
        .run(task())
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Accepted);
    assert_eq!(reviewer.requests().len(), 2);
    // One plan turn and two review turns, 10 + 5 tokens each (the fake's usage).
    assert_eq!(report.metrics.model_turns, 3);
    assert_eq!(report.metrics.usage.total(), 45);
    assert_eq!(llm_purposes(&f), ["plan", "review", "review"]);
}

#[tokio::test]
async fn a_turn_budget_used_up_by_the_plan_stops_before_the_review_as_over_budget() {
    let f = Fakes::new(vec![Ok(plan_json("a.rs"))], vec![(1, "x"), (0, "ok")]);
    let reviewer = Arc::new(Model::scripted(vec![r#"{"verdict":"approve"}"#]));
    let config =
        crate::fakes::plan_config().with_budget(agent_core::budget::Budget::unlimited().with_max_model_turns(1));
    let report = RepairLoop::new(f.parts())
        .with_config(config)
        .with_inspector(Inspector::new().with_reviewer(reviewer.clone()))
        .run(task())
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::BudgetExceeded);
    assert!(matches!(report.budget_stop, Some(agent_core::budget::BudgetStop::ModelTurns { used: 1, limit: 1 })));
    assert!(reviewer.requests().is_empty(), "no review call past the budget");
    assert_eq!(f.snapshots.lock().unwrap().restored, 1);
}

#[tokio::test]
async fn a_review_call_refused_by_the_spend_ledger_ends_over_budget_not_needing_a_human() {
    let f = Fakes::new(vec![Ok(plan_json("a.rs"))], vec![(1, "x"), (0, "ok")]);
    let reviewer = Arc::new(Model::with_results(vec![Err("ledger: the task's reservation is spent")]));
    let report = RepairLoop::new(f.parts())
        .with_config(crate::fakes::plan_config())
        .with_inspector(Inspector::new().with_reviewer(reviewer))
        .run(task())
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::BudgetExceeded, "{:?}", report.verdict);
    assert_eq!(report.metrics.model_turns, 2, "the refused review call is a turn");
    assert_eq!(llm_purposes(&f), ["plan", "review"]);
    assert_eq!(f.snapshots.lock().unwrap().restored, 1);
}

#[tokio::test]
async fn an_unpriced_model_call_under_a_cost_limit_stops_the_task_instead_of_counting_as_free() {
    // The fake's completions carry no cost: under a cost limit, the second turn is refused.
    let f = Fakes::new(vec![Ok(plan_json("a.rs")), Ok(plan_json("b.rs"))], vec![(1, "x"), (1, "still failing")]);
    let config = crate::fakes::plan_config()
        .with_budget(agent_core::budget::Budget::unlimited().with_max_cost(agent_core::budget::Usd::from_dollars(5.0)));
    let report = RepairLoop::new(f.parts()).with_config(config).run(task()).await.unwrap();
    assert_eq!(report.outcome, Outcome::BudgetExceeded);
    assert!(
        matches!(report.budget_stop, Some(agent_core::budget::BudgetStop::UnpricedCost { unpriced: 1, .. })),
        "{:?}",
        report.budget_stop
    );
    assert_eq!(f.model.requests().len(), 1);
}

/// Delegates to an executor, sleeping before its `slow`-th run (1-based).
struct SlowRun(Arc<dyn agent_core::Executor>, std::sync::Mutex<u32>, u32);

#[async_trait::async_trait]
impl agent_core::Executor for SlowRun {
    async fn run(
        &self,
        cmd: agent_core::exec::CommandSpec,
    ) -> Result<agent_core::exec::RunOutput, agent_core::exec::ExecError> {
        let n = {
            let mut n = self.1.lock().unwrap();
            *n += 1;
            *n
        };
        if n == self.2 {
            tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        }
        self.0.run(cmd).await
    }
}

#[tokio::test]
async fn a_wall_budget_used_up_by_a_test_run_stops_before_the_gates() {
    // The attempt's test run (the second run) outlasts the wall budget; it passes, and the
    // gate would pass too, but the task is over its time before the gates run.
    let f = Fakes::new(vec![Ok(plan_json("a.rs"))], vec![(1, "x"), (0, "ok")]);
    let mut parts = f.parts();
    parts.executor = Arc::new(SlowRun(parts.executor.clone(), std::sync::Mutex::new(0), 2));
    let config = crate::fakes::plan_config()
        .with_budget(agent_core::budget::Budget::unlimited().with_max_wall(std::time::Duration::from_millis(300)));
    let report = RepairLoop::new(parts)
        .with_config(config)
        .with_gate(Arc::new(crate::fakes::FailingGate::new(0)))
        .run(task())
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::BudgetExceeded, "{:?}", report.verdict);
    assert!(matches!(report.budget_stop, Some(agent_core::budget::BudgetStop::WallTime { limit_ms: 300, .. })));
    assert!(report.gates.is_empty(), "no gate ran past the wall budget: {:?}", report.gates);
    assert_eq!(f.snapshots.lock().unwrap().restored, 1);
}
