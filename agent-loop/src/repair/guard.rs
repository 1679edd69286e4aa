//! The restore guard: a run that is cancelled (its future dropped) or that
//! panics between the snapshot and the explicit restore or discard still
//! gets its workspace restored.
//!
//! An async restore cannot run inside `Drop`, and blocking a runtime thread
//! on it would deadlock a current-thread runtime whose I/O the snapshotter
//! needs. So the guard, dropped while still armed, **spawns** the restore:
//! on the current Tokio runtime when there is one (its `JoinHandle` is kept
//! in the loop's [`PendingRestores`], which a host awaits with
//! [`RepairLoop::wait_for_restores`](super::RepairLoop::wait_for_restores)
//! before it exits or looks at the tree), else on a thread of its own with
//! a current-thread runtime, joined before `drop` returns (nothing else is
//! running on the caller's thread then, so blocking is sound).
//!
//! The spawned restore journals `SnapshotRestored`, `SnapshotDiscarded`, a
//! `NeedsHuman` verdict saying the run was interrupted (or panicked) and
//! `TaskFinished { RolledBack }`, so the journal has an end for the task.

use super::Observer;
use agent_core::event::{Event, EventKind, TaskId, TaskState};
use agent_core::gate::Verdict;
use agent_core::snapshot::SnapshotId;
use agent_core::{Journal, Snapshotter};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Restores spawned by guards of dropped or panicked runs, not yet awaited.
#[derive(Clone, Default)]
pub(crate) struct PendingRestores {
    handles: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl PendingRestores {
    fn push(&self, handle: tokio::task::JoinHandle<()>) {
        match self.handles.lock() {
            Ok(mut h) => h.push(handle),
            Err(poisoned) => poisoned.into_inner().push(handle),
        }
    }

    /// Awaits every restore spawned so far (and any spawned while waiting).
    pub(crate) async fn wait(&self) -> usize {
        let mut waited = 0;
        loop {
            let next = match self.handles.lock() {
                Ok(mut h) => h.pop(),
                Err(poisoned) => poisoned.into_inner().pop(),
            };
            let Some(handle) = next else { return waited };
            if let Err(e) = handle.await {
                tracing::error!(error = %e, "a spawned restore did not finish");
            }
            waited += 1;
        }
    }
}

/// Armed from the snapshot until the loop restored or discarded it itself.
pub(crate) struct RestoreGuard {
    pub(crate) armed: bool,
    snapshotter: Arc<dyn Snapshotter>,
    journal: Arc<dyn Journal>,
    observer: Option<Observer>,
    pending: PendingRestores,
    task: TaskId,
    root: PathBuf,
    id: SnapshotId,
}

impl RestoreGuard {
    pub(crate) fn arm(lp: &super::RepairLoop, task: TaskId, root: PathBuf, id: SnapshotId) -> Self {
        Self {
            armed: true,
            snapshotter: lp.parts.snapshotter.clone(),
            journal: lp.parts.journal.clone(),
            observer: lp.observer.clone(),
            pending: lp.pending.clone(),
            task,
            root,
            id,
        }
    }

    /// The loop has dealt with the snapshot itself.
    pub(crate) fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for RestoreGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let why = if std::thread::panicking() { "a component panicked" } else { "the run was cancelled" };
        tracing::warn!(task = %self.task, snapshot = %self.id, why, "restoring the workspace of an interrupted run");
        let work = restore_and_journal(
            self.snapshotter.clone(),
            self.journal.clone(),
            self.observer.clone(),
            self.task.clone(),
            self.root.clone(),
            self.id.clone(),
            why,
        );
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => self.pending.push(handle.spawn(work)),
            Err(_) => {
                let joined = std::thread::spawn(move || {
                    match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                        Ok(rt) => rt.block_on(work),
                        Err(e) => tracing::error!(error = %e, "no runtime to restore the workspace on"),
                    }
                })
                .join();
                if joined.is_err() {
                    tracing::error!("the restore of an interrupted run panicked");
                }
            }
        }
    }
}

async fn restore_and_journal(
    snapshotter: Arc<dyn Snapshotter>,
    journal: Arc<dyn Journal>,
    observer: Option<Observer>,
    task: TaskId,
    root: PathBuf,
    id: SnapshotId,
    why: &'static str,
) {
    let emit = |kind: EventKind| {
        let event = Event::now(task.clone(), kind);
        if let Some(observer) = &observer {
            observer(&event);
        }
        let journal = journal.clone();
        async move {
            if let Err(e) = journal.append(event).await {
                tracing::error!(error = %e, "the journal refused an event of an interrupted run");
            }
        }
    };
    let reason = match snapshotter.restore(&root, &id).await {
        Ok(()) => {
            emit(EventKind::SnapshotRestored { id: id.to_string() }).await;
            match snapshotter.discard(&root, &id).await {
                Ok(()) => emit(EventKind::SnapshotDiscarded { id: id.to_string() }).await,
                Err(e) => tracing::error!(snapshot = %id, error = %e, "discarding the snapshot failed"),
            }
            format!("interrupted: {why}; the workspace was restored")
        }
        Err(e) => {
            tracing::error!(snapshot = %id, error = %e, "restoring the workspace of an interrupted run failed");
            format!("interrupted: {why}; restoring snapshot {id} failed: {e}")
        }
    };
    emit(EventKind::Verdict { verdict: Verdict::NeedsHuman { reason } }).await;
    emit(EventKind::TaskFinished { state: TaskState::RolledBack }).await;
}
