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
//!
//! The loop's own restore or discard ([`RestoreGuard::settle`]) runs as a
//! spawned task whose handle the guard holds: a run dropped while it is
//! under way does not start a second restore beside it (nor restore an
//! accepted change whose snapshot was being discarded); the guard awaits
//! the one in flight instead and journals the end.

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

/// What the loop's own settle did: whether it restored the tree, or the
/// error that stopped it.
pub(crate) type Settled = Result<bool, super::LoopError>;

/// Where a task's events go: the journal and the host's observer.
#[derive(Clone)]
struct Sink {
    journal: Arc<dyn Journal>,
    observer: Option<Observer>,
    task: TaskId,
}

impl Sink {
    async fn emit(&self, kind: EventKind) -> Result<(), agent_core::journal::JournalError> {
        let event = Event::now(self.task.clone(), kind);
        if let Some(observer) = &self.observer {
            observer(&event);
        }
        self.journal.append(event).await
    }

    /// Best effort: an interrupted run has no one to return a journal error to.
    async fn emit_logged(&self, kind: EventKind) {
        if let Err(e) = self.emit(kind).await {
            tracing::error!(error = %e, "the journal refused an event of an interrupted run");
        }
    }

    /// A NeedsHuman verdict and the end of an interrupted task.
    async fn end(&self, reason: String, state: TaskState) {
        self.emit_logged(EventKind::Verdict { verdict: Verdict::NeedsHuman { reason } }).await;
        self.emit_logged(EventKind::TaskFinished { state }).await;
    }
}

/// Armed from the snapshot until the loop restored or discarded it itself.
pub(crate) struct RestoreGuard {
    pub(crate) armed: bool,
    /// The loop's own restore or discard, once started.
    settling: Option<tokio::task::JoinHandle<Settled>>,
    snapshotter: Arc<dyn Snapshotter>,
    sink: Sink,
    pending: PendingRestores,
    root: PathBuf,
    id: SnapshotId,
}

impl RestoreGuard {
    pub(crate) fn arm(lp: &super::RepairLoop, task: TaskId, root: PathBuf, id: SnapshotId) -> Self {
        Self {
            armed: true,
            settling: None,
            snapshotter: lp.parts.snapshotter.clone(),
            sink: Sink { journal: lp.parts.journal.clone(), observer: lp.observer.clone(), task },
            pending: lp.pending.clone(),
            root,
            id,
        }
    }

    /// The loop has dealt with the snapshot itself.
    pub(crate) fn disarm(&mut self) {
        self.armed = false;
    }

    /// The loop's own end of the snapshot: restores the tree (unless
    /// `keep`), then discards the snapshot, journaling each step. The work
    /// runs as a spawned task, so it finishes even if this future is
    /// dropped, and the guard, dropped meanwhile, waits for it instead of
    /// starting a restore of its own. Disarms the guard once it is done.
    pub(crate) async fn settle(&mut self, keep: bool) -> Settled {
        let work =
            settle_and_journal(self.snapshotter.clone(), self.sink.clone(), self.root.clone(), self.id.clone(), keep);
        let handle = match tokio::runtime::Handle::try_current() {
            Ok(rt) => self.settling.insert(rt.spawn(work)),
            // No runtime to spawn on: nothing can drop this future mid-way but a panic.
            Err(_) => {
                let settled = work.await;
                self.disarm();
                return settled;
            }
        };
        let settled = match handle.await {
            Ok(settled) => settled,
            Err(e) => Err(super::LoopError::Restore {
                id: self.id.clone(),
                source: agent_core::snapshot::SnapshotError::Backend {
                    operation: "the restore task".into(),
                    message: e.to_string(),
                },
            }),
        };
        self.settling = None;
        self.disarm();
        settled
    }
}

impl Drop for RestoreGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let why = if std::thread::panicking() { "a component panicked" } else { "the run was cancelled" };
        let sink = self.sink.clone();
        if let Some(settling) = self.settling.take() {
            // The loop's own restore or discard is under way: wait for it, then journal the end.
            tracing::warn!(task = %sink.task, snapshot = %self.id, why, "interrupted while settling the snapshot");
            let id = self.id.clone();
            let work = async move {
                let (reason, state) = match settling.await {
                    Ok(Ok(true)) => (format!("interrupted: {why}; the workspace was restored"), TaskState::RolledBack),
                    Ok(Ok(false)) => (format!("interrupted: {why}; the accepted change was kept"), TaskState::Accepted),
                    Ok(Err(e)) => {
                        (format!("interrupted: {why}; settling snapshot {id} failed: {e}"), TaskState::NeedsHuman)
                    }
                    Err(e) => {
                        (format!("interrupted: {why}; settling snapshot {id} failed: {e}"), TaskState::NeedsHuman)
                    }
                };
                sink.end(reason, state).await;
            };
            // A handle exists only where a runtime does (see `settle`).
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                self.pending.push(handle.spawn(work));
            }
            return;
        }
        tracing::warn!(task = %sink.task, snapshot = %self.id, why, "restoring the workspace of an interrupted run");
        let work = restore_and_journal(self.snapshotter.clone(), sink, self.root.clone(), self.id.clone(), why);
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

/// The loop's own restore (unless `keep`) and discard, each step journaled.
async fn settle_and_journal(
    snapshotter: Arc<dyn Snapshotter>,
    sink: Sink,
    root: PathBuf,
    id: SnapshotId,
    keep: bool,
) -> Settled {
    use super::LoopError;
    if !keep {
        snapshotter.restore(&root, &id).await.map_err(|source| LoopError::Restore { id: id.clone(), source })?;
        sink.emit(EventKind::SnapshotRestored { id: id.to_string() }).await?;
    }
    snapshotter.discard(&root, &id).await.map_err(|source| LoopError::Discard { id: id.clone(), source })?;
    sink.emit(EventKind::SnapshotDiscarded { id: id.to_string() }).await?;
    Ok(!keep)
}

/// The guard's restore of an interrupted run, journaled to its end.
async fn restore_and_journal(
    snapshotter: Arc<dyn Snapshotter>,
    sink: Sink,
    root: PathBuf,
    id: SnapshotId,
    why: &'static str,
) {
    let reason = match snapshotter.restore(&root, &id).await {
        Ok(()) => {
            sink.emit_logged(EventKind::SnapshotRestored { id: id.to_string() }).await;
            match snapshotter.discard(&root, &id).await {
                Ok(()) => sink.emit_logged(EventKind::SnapshotDiscarded { id: id.to_string() }).await,
                Err(e) => tracing::error!(snapshot = %id, error = %e, "discarding the snapshot failed"),
            }
            format!("interrupted: {why}; the workspace was restored")
        }
        Err(e) => {
            tracing::error!(snapshot = %id, error = %e, "restoring the workspace of an interrupted run failed");
            format!("interrupted: {why}; restoring snapshot {id} failed: {e}")
        }
    };
    sink.end(reason, TaskState::RolledBack).await;
}
