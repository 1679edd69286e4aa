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

use crate::{Claim, Completed, Store, StoreError, TaskQueue, TaskResult};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::time::Duration;

/// How a worker behaves.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct WorkerConfig {
    /// The worker's name (recorded with each claim and spend).
    pub name: String,
    /// Lease length; the worker heartbeats every third of it (default 30 s).
    pub lease: Duration,
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
}

/// Claims tasks and runs `handler` on each while heartbeating its lease,
/// then completes it with the handler's result. A task whose lease is lost
/// mid-way is abandoned (the handler's future is dropped) and not completed.
/// Transient database errors are retried inside each operation (see
/// [`StoreOptions::retry_for`](crate::StoreOptions)); anything else ends the
/// worker with the error.
pub async fn run_worker<F, Fut>(store: &Store, config: &WorkerConfig, mut handler: F) -> Result<WorkerStats, StoreError>
where
    F: FnMut(Claim) -> Fut,
    Fut: Future<Output = TaskResult>,
{
    let mut stats = WorkerStats::default();
    let mut taken = 0usize;
    loop {
        if config.max_tasks.is_some_and(|max| taken >= max) {
            return Ok(stats);
        }
        let Some(claim) = store.claim(&config.name, config.lease).await? else {
            if config.exit_when_drained && store.counts().await?.running == 0 {
                return Ok(stats);
            }
            tokio::time::sleep(config.poll).await;
            continue;
        };
        taken += 1;
        let lease = claim.lease.clone();
        tracing::info!(task = %lease.task, attempt = lease.attempt, worker = %config.name, "claimed");
        let work = handler(claim);
        let beat = async {
            let every = (config.lease / 3).max(Duration::from_millis(10));
            loop {
                tokio::time::sleep(every).await;
                if let Err(e) = store.heartbeat(&lease, config.lease).await {
                    return e;
                }
            }
        };
        let result = tokio::select! {
            result = work => result,
            error = beat => match error {
                StoreError::LeaseLost { .. } => {
                    tracing::warn!(task = %lease.task, "lease lost; abandoning the task");
                    stats.lost += 1;
                    continue;
                }
                other => return Err(other),
            },
        };
        match store.complete(&lease, result).await {
            Ok(Completed::Completed) => stats.completed += 1,
            Ok(Completed::AlreadyCompleted) => stats.already_completed += 1,
            Err(StoreError::LeaseLost { .. }) => stats.lost += 1,
            Err(e) => return Err(e),
        }
    }
}
