//! The RepairLoop's control flow against in-memory fakes of every trait.
//!
//! The fakes here are test doubles (a scripted model, an executor that
//! replays canned runs, a classifier that reads the canned exit code); the
//! facade's tests drive the same loop over the real implementations.
#![allow(clippy::unwrap_used)]

mod context;
mod endings;
mod fakes;
mod inspector;
mod memory;
mod merge;
mod session;
mod structured;
mod timeline;
mod tools;
mod verification;

use agent_core::event::{EventKind, TaskState};
use agent_core::failure::FailureKind;
use agent_core::gate::{GateReport, Verdict};
use agent_loop::{LoopError, MemoryJournal, Outcome, RepairLoop, Task};
use fakes::{FailingGate, Fakes, plan_json};
use std::sync::Arc;

fn task() -> Task {
    Task::new("t", "/workspace", "make it pass")
}

#[tokio::test]
async fn zero_attempts_is_an_invalid_configuration_and_touches_nothing() {
    let f = Fakes::new(vec![], vec![]);
    let err = RepairLoop::new(f.parts())
        .with_config(crate::fakes::plan_config())
        .with_config(crate::fakes::plan_config().with_max_attempts(0))
        .run(task())
        .await;
    assert!(matches!(err, Err(LoopError::InvalidConfig { .. })));
    assert_eq!(f.snapshots.lock().unwrap().taken, 0);
}

#[tokio::test]
async fn a_workspace_without_a_test_command_is_an_error_before_any_snapshot() {
    let mut f = Fakes::new(vec![], vec![]);
    f.oracle_has_tests = false;
    let err = RepairLoop::new(f.parts()).with_config(crate::fakes::plan_config()).run(task()).await;
    assert!(matches!(err, Err(LoopError::NoTestCommand { .. })));
    assert_eq!(f.snapshots.lock().unwrap().taken, 0);
    assert!(f.model.requests().is_empty());
}

#[tokio::test]
async fn an_infrastructure_failure_at_baseline_asks_no_model_and_restores() {
    let f = Fakes::new(vec![], vec![(127, "cargo: command not found")]);
    let report = RepairLoop::new(f.parts()).with_config(crate::fakes::plan_config()).run(task()).await.unwrap();
    assert_eq!(report.outcome, Outcome::NeedsHuman);
    assert!(matches!(report.verdict, Verdict::NeedsHuman { ref reason } if reason.contains("environment")));
    assert!(f.model.requests().is_empty());
    let snaps = f.snapshots.lock().unwrap();
    assert_eq!((snaps.taken, snaps.restored, snaps.discarded), (1, 1, 1));
}

#[tokio::test]
async fn a_provider_error_ends_the_task_as_needing_a_human_and_restores() {
    let f = Fakes::new(vec![Err("server quota")], vec![(1, "assertion failed")]);
    let report = RepairLoop::new(f.parts()).with_config(crate::fakes::plan_config()).run(task()).await.unwrap();
    assert_eq!(report.outcome, Outcome::NeedsHuman);
    assert!(matches!(report.verdict, Verdict::NeedsHuman { ref reason } if reason.contains("quota")));
    assert_eq!(f.snapshots.lock().unwrap().restored, 1);
    let journal = f.journal.all();
    assert!(journal.iter().any(|e| matches!(&e.kind, EventKind::LlmCall { error: Some(_), .. })));
}

#[tokio::test]
async fn a_failing_gate_turns_a_passing_run_into_a_repair_with_the_gates_findings() {
    let f = Fakes::new(
        vec![Ok(plan_json("a.rs")), Ok(plan_json("b.rs"))],
        vec![(1, "assertion failed"), (0, "ok"), (0, "ok")],
    );
    let gate = Arc::new(FailingGate::new(1));
    let report = RepairLoop::new(f.parts())
        .with_config(crate::fakes::plan_config())
        .with_gate(gate.clone())
        .run(task())
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Accepted);
    assert_eq!(report.attempts.len(), 2);
    assert!(!report.attempts[0].passed, "the tests passed but the gate did not");
    let repair_prompt = f.model.requests()[1].messages.last().unwrap().content.clone();
    assert!(repair_prompt.contains("gate `style` failed"), "{repair_prompt}");
    assert!(repair_prompt.contains("line too long"), "{repair_prompt}");
    assert_eq!(report.gates, vec![GateReport::new("style", true, "clean")]);
}

#[tokio::test]
async fn every_state_transition_is_journaled_in_order() {
    let f = Fakes::new(vec![Ok(plan_json("a.rs")), Ok(plan_json("b.rs"))], vec![(1, "x"), (1, "y"), (0, "ok")]);
    let report = RepairLoop::new(f.parts()).with_config(crate::fakes::plan_config()).run(task()).await.unwrap();
    assert_eq!(report.outcome, Outcome::Accepted);
    let states: Vec<TaskState> = f
        .journal
        .all()
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::StateTransition { to, .. } => Some(to),
            _ => None,
        })
        .collect();
    use TaskState::*;
    assert_eq!(states, vec![Planning, Executing, Repairing, Executing, Accepted]);
    let classified: Vec<u32> = f
        .journal
        .all()
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::FailureClassified { attempt, .. } => Some(*attempt),
            _ => None,
        })
        .collect();
    assert_eq!(classified, vec![0, 1, 2], "baseline, then one per attempt");
    assert_eq!(report.baseline.failures[0].kind, FailureKind::TestAssertion);
}

#[tokio::test]
async fn events_are_seen_by_the_observer_as_they_are_journaled() {
    let f = Fakes::new(vec![Ok(plan_json("a.rs"))], vec![(1, "x"), (0, "ok")]);
    let seen = Arc::new(std::sync::Mutex::new(0usize));
    let counter = seen.clone();
    let journal: Arc<MemoryJournal> = f.journal.clone();
    RepairLoop::new(f.parts())
        .with_config(crate::fakes::plan_config())
        .with_observer(Arc::new(move |_| *counter.lock().unwrap() += 1))
        .run(task())
        .await
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), journal.all().len());
}

#[tokio::test]
async fn an_executor_that_refuses_to_run_more_ends_the_task_as_over_budget_and_restores() {
    let mut f = Fakes::new(vec![Ok(plan_json("a.rs")), Ok(plan_json("b.rs"))], vec![(1, "x")]);
    f.refuse_after = Some(2);
    let report = RepairLoop::new(f.parts()).with_config(crate::fakes::plan_config()).run(task()).await.unwrap();
    assert_eq!(report.outcome, Outcome::BudgetExceeded);
    assert!(
        matches!(report.budget_stop, Some(agent_core::budget::BudgetStop::Execution { ref reason }) if reason.contains("timeouts"))
    );
    // Baseline and attempt 1 ran; attempt 2's test run was refused, so it left no attempt report.
    assert_eq!(f.model.requests().len(), 2);
    assert_eq!(report.attempts.len(), 1);
    assert_eq!(f.snapshots.lock().unwrap().restored, 1);
    assert!(f.journal.all().iter().any(|e| matches!(e.kind, EventKind::BudgetStop { .. })));
}
