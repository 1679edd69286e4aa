//! [`run_worker`]: the claim → work (with heartbeats) → complete loop a
//! worker process runs.
//!
//! ```
//! use agent_store::{NewTask, Store, TaskQueue, TaskResult, WorkerConfig, run_worker};
//! # let dir = tempfile::tempdir().unwrap();
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let store = Store::open(&format!("sqlite://{}?mode=rwc", dir.path().join("w.db").display())).await.unwrap();
//! for _ in 0..3 {
//!     store.enqueue(NewTask::new(serde_json::json!({"goal": "x"}))).await.unwrap();
//! }
//! let config = WorkerConfig::new("worker-1").draining();
//! let stats = run_worker(&store, &config, |_claim| async { TaskResult::succeeded("ok") }).await.unwrap();
//! assert_eq!(stats.completed, 3);
//! # });
//! ```

use crate::{Claim, Completed, StoreError, TaskQueue, TaskResult};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// How a worker behaves.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct WorkerConfig {
    /// The worker's name (recorded with each claim and spend).
    pub name: String,
    /// Lease length; the worker heartbeats every third of it (default 30 s).
    pub lease: Duration,
    /// How long before its lease would expire a worker whose heartbeats
    /// fail stops work on the task (default: a fifth of the lease). Time to
    /// cancel the run (and restore its workspace) before another worker may
    /// claim the task.
    pub stop_margin: Option<Duration>,
    /// Wait between claims when nothing is ready (default 200 ms).
    pub poll: Duration,
    /// Stop after this many tasks.
    pub max_tasks: Option<usize>,
    /// Stop when nothing is ready and nothing is running (instead of polling forever).
    pub exit_when_drained: bool,
}

impl WorkerConfig {
    /// Defaults for a worker called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            lease: Duration::from_secs(30),
            stop_margin: None,
            poll: Duration::from_millis(200),
            max_tasks: None,
            exit_when_drained: false,
        }
    }
    /// Sets the lease length.
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }
    /// Sets how long before the lease would expire a worker cut off from
    /// the store stops work (capped at half the lease).
    pub fn with_stop_margin(mut self, margin: Duration) -> Self {
        self.stop_margin = Some(margin);
        self
    }
    /// Sets the idle poll interval.
    pub fn with_poll(mut self, poll: Duration) -> Self {
        self.poll = poll;
        self
    }
    /// Stops after `n` tasks.
    pub fn with_max_tasks(mut self, n: usize) -> Self {
        self.max_tasks = Some(n);
        self
    }
    /// Stops once the queue is drained.
    pub fn draining(mut self) -> Self {
        self.exit_when_drained = true;
        self
    }

    /// How long after the last successful heartbeat was sent the worker
    /// gives up on the task: the lease less the stop margin.
    fn give_up_after(&self) -> Duration {
        let margin = self.stop_margin.unwrap_or(self.lease / 5).min(self.lease / 2);
        self.lease.saturating_sub(margin)
    }
}

/// What a worker did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WorkerStats {
    /// Tasks this worker completed.
    pub completed: usize,
    /// Completions that found the task already completed under the same
    /// lease (a retried acknowledgement).
    pub already_completed: usize,
    /// Tasks abandoned because their lease was lost (reclaimed elsewhere).
    pub lost: usize,
    /// Tasks stopped locally because no heartbeat succeeded for (nearly)
    /// the length of the lease, e.g. the store was unreachable: the run was
    /// cancelled before the lease could expire and the task was not
    /// completed, so another worker claims it once the lease expires.
    #[serde(default)]
    pub expired: usize,
    /// Tasks an operator cancelled while this worker ran them: the run was
    /// stopped at the heartbeat that answered [`StoreError::Cancelled`] and
    /// the task completed as cancelled.
    #[serde(default)]
    pub cancelled: usize,
}

/// Why [`run_worker_with`] stopped a run before its handler finished.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StopReason {
    /// The lease was reclaimed by another worker.
    LeaseLost,
    /// No heartbeat succeeded within the lease less the stop margin.
    Expired,
    /// An operator cancelled the task.
    Cancelled,
}

/// Why the heartbeat of a task stopped.
enum Stop {
    /// The lease was reclaimed by another worker.
    Lost,
    /// No heartbeat succeeded in time: the lease is about to expire.
    Expired,
    /// An operator cancelled the task.
    Cancelled,
    /// A permanent store error.
    Failed(StoreError),
}

/// Heartbeats `lease` every third of its length until it is lost, a
/// permanent error occurs, or no heartbeat has succeeded for
/// [`WorkerConfig::give_up_after`] since the last successful one was sent
/// (counted from `since`, when the claim was asked for). Retries of a
/// failing heartbeat end by then: the database set the lease's expiry no
/// earlier than the request was sent, so stopping at that deadline stops
/// before the database considers the lease expired.
async fn keep_alive<Q: TaskQueue + ?Sized>(
    queue: &Q,
    config: &WorkerConfig,
    lease: &crate::Lease,
    since: Instant,
) -> Stop {
    let every = (config.lease / 3).max(Duration::from_millis(10));
    let pause = (every / 4).max(Duration::from_millis(10));
    let mut last_ok = since;
    let mut next = since + every;
    loop {
        let deadline = last_ok + config.give_up_after();
        tokio::time::sleep_until(next.min(deadline)).await;
        if Instant::now() >= deadline {
            return Stop::Expired;
        }
        let sent = Instant::now();
        match tokio::time::timeout_at(deadline, queue.heartbeat(lease, config.lease)).await {
            Ok(Ok(())) => {
                last_ok = sent;
                next = sent + every;
            }
            Ok(Err(StoreError::LeaseLost { .. })) => return Stop::Lost,
            Ok(Err(StoreError::Cancelled { .. })) => return Stop::Cancelled,
            Ok(Err(e)) if e.is_transient() => {
                tracing::warn!(task = %lease.task, error = %e, "heartbeat failed; retrying until the lease runs out");
                next = Instant::now() + pause;
            }
            Ok(Err(e)) => return Stop::Failed(e),
            Err(_) => return Stop::Expired,
        }
    }
}

/// Claims tasks and runs `handler` on each while heartbeating its lease,
/// then completes it with the handler's result.
///
/// The handler's future is dropped (the run is cancelled) and the task is
/// not completed when its lease is lost (reclaimed elsewhere) or when no
/// heartbeat has succeeded for the lease less
/// [`WorkerConfig::stop_margin`]: a worker cut off from the store stops
/// before its lease expires, so another worker never claims a task this one
/// is still working on. Transient database errors are retried inside each
/// operation (see [`StoreOptions::retry_for`](crate::StoreOptions)), a
/// heartbeat's only until the lease runs out; anything else ends the worker
/// with the error.
///
/// A task an operator cancels ([`Store::cancel_task`](crate::Store::cancel_task))
/// is stopped the same way at the heartbeat that answers
/// [`StoreError::Cancelled`], then completed with
/// [`TaskResult::cancelled`].
pub async fn run_worker<Q, F, Fut>(queue: &Q, config: &WorkerConfig, handler: F) -> Result<WorkerStats, StoreError>
where
    Q: TaskQueue + ?Sized,
    F: FnMut(Claim) -> Fut,
    Fut: Future<Output = TaskResult>,
{
    run_worker_with(queue, config, handler, |_, _| async {}).await
}

/// [`run_worker`], awaiting `after_stop(lease, reason)` after a run is
/// stopped (its handler's future dropped: lease lost, lease about to
/// expire, task cancelled) and before the worker completes the task (as
/// cancelled) or moves on: where a host waits for the restore its dropped
/// run spawned (e.g. `RepairLoop::wait_for_restores`), so a cancelled task
/// is marked `cancelled` only once its workspace is back.
pub async fn run_worker_with<Q, F, Fut, S, SFut>(
    queue: &Q,
    config: &WorkerConfig,
    mut handler: F,
    mut after_stop: S,
) -> Result<WorkerStats, StoreError>
where
    Q: TaskQueue + ?Sized,
    F: FnMut(Claim) -> Fut,
    Fut: Future<Output = TaskResult>,
    S: FnMut(crate::Lease, StopReason) -> SFut,
    SFut: Future<Output = ()>,
{
    let mut stats = WorkerStats::default();
    let mut taken = 0usize;
    loop {
        if config.max_tasks.is_some_and(|max| taken >= max) {
            return Ok(stats);
        }
        // The lease starts on the database's clock some time after this.
        let asked = Instant::now();
        let Some(claim) = queue.claim(&config.name, config.lease).await? else {
            if config.exit_when_drained && queue.counts().await?.running == 0 {
                return Ok(stats);
            }
            tokio::time::sleep(config.poll).await;
            continue;
        };
        taken += 1;
        let lease = claim.lease.clone();
        tracing::info!(task = %lease.task, attempt = lease.attempt, worker = %config.name, "claimed");
        let work = handler(claim);
        let stop = tokio::select! {
            result = work => Ok(result),
            stop = keep_alive(queue, config, &lease, asked) => Err(stop),
        };
        // The handler's future is dropped by now: its run is cancelled.
        let result = match stop {
            Ok(result) => result,
            Err(Stop::Lost) => {
                tracing::warn!(task = %lease.task, "lease lost; abandoning the task");
                after_stop(lease.clone(), StopReason::LeaseLost).await;
                stats.lost += 1;
                continue;
            }
            Err(Stop::Expired) => {
                tracing::warn!(task = %lease.task, "no heartbeat succeeded within the lease; stopped work on the task");
                after_stop(lease.clone(), StopReason::Expired).await;
                stats.expired += 1;
                continue;
            }
            Err(Stop::Cancelled) => {
                tracing::warn!(task = %lease.task, "cancelled by an operator; stopped work on the task");
                after_stop(lease.clone(), StopReason::Cancelled).await;
                stats.cancelled += 1;
                TaskResult::cancelled("cancelled")
            }
            Err(Stop::Failed(e)) => return Err(e),
        };
        match queue.complete(&lease, result).await {
            Ok(Completed::Completed) => stats.completed += 1,
            Ok(Completed::AlreadyCompleted) => stats.already_completed += 1,
            Err(StoreError::LeaseLost { .. }) => stats.lost += 1,
            Err(e) => return Err(e),
        }
    }
}
