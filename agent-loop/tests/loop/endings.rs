//! Every way a task ends is journaled (a verdict, then TaskFinished), and
//! snapshot failures are told apart and carry the snapshot's id.

use crate::fakes::{Fakes, plan_config, plan_json};
use agent_core::event::{EventKind, TaskState};
use agent_core::gate::Verdict;
use agent_core::snapshot::{SnapshotError, SnapshotId};
use agent_loop::{LoopError, Outcome, RepairLoop, Task};
use std::sync::Arc;

fn task() -> Task {
    Task::new("t", "/workspace", "make it pass")
}

/// The journal ends with a verdict and then TaskFinished in `state`.
fn ends_with_verdict_and_finish(f: &Fakes, state: TaskState) -> Verdict {
    let all = f.journal.all();
    let n = all.len();
    assert!(n >= 2);
    assert!(matches!(all[n - 1].kind, EventKind::TaskFinished { state: s } if s == state), "{:?}", all[n - 1].kind);
    match &all[n - 2].kind {
        EventKind::Verdict { verdict } => verdict.clone(),
        other => panic!("no verdict before the end: {other:?}"),
    }
}

#[tokio::test]
async fn a_discard_that_fails_after_acceptance_still_returns_the_report_beside_the_error() {
    let f = Fakes::new(vec![Ok(plan_json("a.rs"))], vec![(1, "assertion failed"), (0, "ok")]);
    f.snapshots.lock().unwrap().failing.push("discard");
    let err = RepairLoop::new(f.parts()).with_config(plan_config()).run(task()).await.unwrap_err();
    let report = err.report().expect("the report beside the error");
    assert_eq!(report.outcome, Outcome::Accepted);
    assert!(!report.metrics.rolled_back, "the accepted change stays");
    assert!(matches!(&err, LoopError::AfterOutcome { error, .. } if matches!(**error, LoopError::Discard { .. })));
    assert_eq!(err.snapshot().map(ToString::to_string).as_deref(), Some("s1"));
    assert_eq!(f.snapshots.lock().unwrap().restored, 0, "an accepted change is never restored away");
    assert_eq!(ends_with_verdict_and_finish(&f, TaskState::Accepted), Verdict::Approve);
}

#[tokio::test]
async fn a_restore_that_fails_is_its_own_error_with_the_snapshot_id_and_the_report() {
    let f = Fakes::new(vec![Ok(plan_json("a.rs"))], vec![(1, "assertion failed")]);
    f.snapshots.lock().unwrap().failing.push("restore");
    let err = RepairLoop::new(f.parts()).with_config(plan_config().with_max_attempts(1)).run(task()).await.unwrap_err();
    assert!(matches!(&err, LoopError::AfterOutcome { error, .. } if matches!(**error, LoopError::Restore { .. })));
    assert_eq!(err.snapshot().map(ToString::to_string).as_deref(), Some("s1"));
    let report = err.report().unwrap();
    assert_eq!(report.outcome, Outcome::RolledBack);
    assert!(!report.metrics.rolled_back, "the tree was not restored, and the report says so");
    assert_eq!(f.snapshots.lock().unwrap().discarded, 0, "the snapshot is kept to restore from");
    ends_with_verdict_and_finish(&f, TaskState::RolledBack);
}

#[tokio::test]
async fn a_snapshot_that_cannot_be_taken_ends_the_task_journaled_and_touches_nothing() {
    let f = Fakes::new(vec![Ok(plan_json("a.rs"))], vec![(1, "assertion failed")]);
    f.snapshots.lock().unwrap().failing.push("snapshot");
    let err = RepairLoop::new(f.parts()).with_config(plan_config()).run(task()).await.unwrap_err();
    assert!(matches!(err, LoopError::SnapshotTake { .. }), "{err}");
    assert!(f.model.requests().is_empty());
    let verdict = ends_with_verdict_and_finish(&f, TaskState::NeedsHuman);
    assert!(matches!(verdict, Verdict::NeedsHuman { ref reason } if reason.contains("snapshot")));
}

#[tokio::test]
async fn a_missing_test_command_journals_a_verdict_and_the_end() {
    let mut f = Fakes::new(vec![], vec![]);
    f.oracle_has_tests = false;
    let err = RepairLoop::new(f.parts()).with_config(plan_config()).run(task()).await;
    assert!(matches!(err, Err(LoopError::NoTestCommand { .. })));
    ends_with_verdict_and_finish(&f, TaskState::NeedsHuman);
}

#[tokio::test]
async fn an_executor_error_mid_run_restores_and_journals_a_verdict_and_the_end() {
    let mut f = Fakes::new(vec![Ok(plan_json("a.rs"))], vec![(1, "assertion failed")]);
    f.refuse_with_io = true;
    let err = RepairLoop::new(f.parts()).with_config(plan_config()).run(task()).await.unwrap_err();
    assert!(matches!(err, LoopError::Exec(_)), "{err}");
    let snaps = f.snapshots.lock().unwrap();
    assert_eq!((snaps.taken, snaps.restored, snaps.discarded), (1, 1, 1));
    drop(snaps);
    ends_with_verdict_and_finish(&f, TaskState::NeedsHuman);
}

#[tokio::test]
async fn a_budget_ledgers_refusal_ends_the_task_over_budget_not_needing_a_human() {
    let f = Fakes::new(vec![Err("ledger: budget exceeded for tenant acme")], vec![(1, "assertion failed")]);
    let report = RepairLoop::new(f.parts()).with_config(plan_config()).run(task()).await.unwrap();
    assert_eq!(report.outcome, Outcome::BudgetExceeded);
    assert!(matches!(report.verdict, Verdict::NeedsHuman { ref reason } if reason.contains("refused")));
    assert_eq!(f.snapshots.lock().unwrap().restored, 1);
    ends_with_verdict_and_finish(&f, TaskState::BudgetExceeded);
}

/// Wraps a snapshotter: each restore is counted, signals `started` and then
/// takes a while, so a run can be dropped while its own restore is under way.
struct SlowRestore {
    inner: Arc<dyn agent_core::Snapshotter>,
    restores: std::sync::atomic::AtomicU32,
    started: tokio::sync::Notify,
}

#[async_trait::async_trait]
impl agent_core::Snapshotter for SlowRestore {
    async fn snapshot(&self, root: &std::path::Path) -> Result<SnapshotId, SnapshotError> {
        self.inner.snapshot(root).await
    }
    async fn restore(&self, root: &std::path::Path, id: &SnapshotId) -> Result<(), SnapshotError> {
        self.restores.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.started.notify_one();
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        self.inner.restore(root, id).await
    }
    async fn discard(&self, root: &std::path::Path, id: &SnapshotId) -> Result<(), SnapshotError> {
        self.inner.discard(root, id).await
    }
}

#[tokio::test]
async fn a_run_dropped_during_its_own_restore_restores_once_and_journals_one_end() {
    let f = Fakes::new(vec![Ok(plan_json("a.rs"))], vec![(1, "assertion failed")]);
    let mut parts = f.parts();
    let slow = Arc::new(SlowRestore {
        inner: parts.snapshotter.clone(),
        restores: Default::default(),
        started: Default::default(),
    });
    parts.snapshotter = slow.clone();
    let lp = Arc::new(RepairLoop::new(parts).with_config(plan_config().with_max_attempts(1)));
    let running = {
        let lp = lp.clone();
        tokio::spawn(async move { lp.run(task()).await })
    };
    // The only attempt fails; the loop's own restore starts; the run is dropped mid-restore.
    slow.started.notified().await;
    running.abort();
    assert!(running.await.unwrap_err().is_cancelled());
    assert_eq!(lp.wait_for_restores().await, 1, "the guard waited for the restore in flight");

    assert_eq!(slow.restores.load(std::sync::atomic::Ordering::SeqCst), 1, "no second restore beside the first");
    let counts = f.snapshots.lock().unwrap();
    assert_eq!((counts.restored, counts.discarded), (1, 1));
    drop(counts);
    let all = f.journal.all();
    assert_eq!(all.iter().filter(|e| matches!(e.kind, EventKind::TaskFinished { .. })).count(), 1);
    assert_eq!(all.iter().filter(|e| matches!(e.kind, EventKind::SnapshotRestored { .. })).count(), 1);
    match ends_with_verdict_and_finish(&f, TaskState::RolledBack) {
        Verdict::NeedsHuman { reason } => {
            assert!(reason.contains("interrupted") && reason.contains("restored"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}
