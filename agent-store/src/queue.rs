//! [`TaskQueue`]: tasks with priorities and dependencies, claimed atomically
//! under a lease that the worker renews by heartbeat.
//!
//! Delivery is at least once: a task whose worker dies is reclaimed when its
//! lease expires and handed to the next claimer, with its attempt history.
//! Completion is idempotent and fenced by the lease token, so a task is
//! completed exactly once: completing again under the same lease answers
//! [`Completed::AlreadyCompleted`], and a lease that was reclaimed answers
//! [`StoreError::LeaseLost`].
//!
//! **A claim is two steps, and the client holds no transaction across
//! them.** The first returns every running task whose lease expired to
//! `queued` (reclaim), or to `dead` when that was its last allowed claim
//! (`max_attempts`), marking the dead task's dependants `blocked` in the
//! same transaction. The second takes the best ready task in one
//! `UPDATE tasks SET state = 'running', lease_token = … WHERE id =
//! (SELECT … LIMIT 1) RETURNING …`: queued, every dependency `done`, no ceiling of its task,
//! repository or tenant or of the claiming worker reached; highest priority
//! first, then enqueue order. On PostgreSQL both inner selects are `FOR
//! UPDATE OF t SKIP LOCKED`, so concurrent claimers neither wait for nor
//! take the same row; on SQLite a write statement takes the database's write
//! lock before it reads (busy timeout 30 s, BUSY retried), so claims are
//! serialised. BENCHMARKS.md compares it with a naive select-then-update
//! claim, and records why it replaced an earlier nine-round-trip transaction.
//!
//! **No task waits forever.** A task is claimed at most `max_attempts`
//! times (default 5, set per task at enqueue): a lease that expires, or a
//! [retryable](TaskResult::retryable) failure, on the last allowed claim
//! moves it to `dead` with the reason. A task that ends `failed` or `dead`
//! marks every queued task downstream of it (through any chain of
//! dependencies) `blocked`, naming it in `blocked_by`, in the transaction
//! that ends it; a task enqueued after a failed, dead or blocked one is
//! `blocked` at once. On PostgreSQL, enqueue share-locks its dependencies'
//! rows, so a dependency cannot fail unseen between the check and the commit.
//!
//! **Operators act through the same state machine**
//! ([`Store::retry_task`](crate::Store::retry_task),
//! [`Store::reimplement_task`](crate::Store::reimplement_task),
//! [`Store::cancel_task`](crate::Store::cancel_task); the table is in
//! `control.rs`): a cancelled running task keeps its lease until its
//! worker's next heartbeat answers [`StoreError::Cancelled`], and its
//! worker completes it with [`TaskResult::cancelled`] (attempt result
//! `cancelled`); a task whose lease expires with a cancel pending ends
//! `cancelled`, not queued; a `cancelled` task blocks its dependants like
//! a failed one.
//!
//! **Enqueue is idempotent**: the same id with the same content is a no-op
//! answering the id (a client retrying after a lost answer); the same id
//! with different content is [`StoreError::Conflict`] naming the fields.
//!
//! **The attempt history** is kept by triggers (migrations 0002, 0003) on
//! the task's state: a claim opens an attempt; the statement that takes the
//! task out of `running` closes it, as `lease_expired` (reclaim),
//! `completed` (success or final failure) or `failed` (retryable failure),
//! each inside the same statement, so the history cannot drift from the
//! task row. A completion retried under the same lease finds its own
//! attempt closed by a completion and answers
//! [`Completed::AlreadyCompleted`]; a lease whose attempt expired answers
//! [`StoreError::LeaseLost`].
//!
//! **Leases** expire on the database's clock; a heartbeat extends one only
//! while its token still holds the task. **A completion** is one `UPDATE …
//! WHERE id = … AND lease_token = … AND state = 'running'`. The token stays
//! on the row afterwards, which is how a retried completion under the same
//! lease is told apart from one under a lease that was reclaimed. A claim
//! that committed but whose answer was lost is orphaned until its lease
//! expires, then reclaimed.
//!
//! ```
//! use agent_store::{NewTask, Store, TaskQueue, TaskResult, Completed};
//! use std::time::Duration;
//! # let dir = tempfile::tempdir().unwrap();
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let store = Store::open(&format!("sqlite://{}?mode=rwc", dir.path().join("q.db").display())).await.unwrap();
//! let first = store.enqueue(NewTask::new(serde_json::json!({"goal": "fix the build"}))).await.unwrap();
//! store.enqueue(NewTask::new(serde_json::json!({"goal": "then the docs"})).after(first.clone())).await.unwrap();
//!
//! let claim = store.claim("worker-1", Duration::from_secs(30)).await.unwrap().unwrap();
//! assert_eq!(claim.task.id, first); // the second waits for the first
//! assert!(store.claim("worker-2", Duration::from_secs(30)).await.unwrap().is_none());
//! store.heartbeat(&claim.lease, Duration::from_secs(30)).await.unwrap();
//! let done = store.complete(&claim.lease, TaskResult::succeeded("accepted")).await.unwrap();
//! assert_eq!(done, Completed::Completed);
//! assert_eq!(store.complete(&claim.lease, TaskResult::succeeded("accepted")).await.unwrap(), Completed::AlreadyCompleted);
//! # });
//! ```

use crate::store::{begin_write, on_pool};
use crate::{Store, StoreError};
use agent_core::event::TaskId;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::Row;
use std::time::Duration;

/// A task to enqueue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NewTask {
    /// Its id; a fresh UUID when `None`.
    pub id: Option<TaskId>,
    /// Higher runs first (default 0); ties go in enqueue order.
    pub priority: i64,
    /// Tasks that must be done (completed successfully) before this one is claimable.
    pub after: Vec<TaskId>,
    /// The repository, for budgets and cost reports.
    pub repo: String,
    /// The tenant, for budgets and cost reports.
    pub tenant: String,
    /// What the worker needs (e.g. `{"goal": …, "dir": …}`).
    pub payload: Value,
    /// Claims allowed before the task is dead-lettered (default
    /// [`NewTask::DEFAULT_MAX_ATTEMPTS`]): a lease that expires, or a
    /// retryable failure, on the last allowed claim moves the task to `dead`
    /// instead of back to the queue.
    pub max_attempts: u32,
}

impl NewTask {
    /// Claims allowed per task unless set otherwise (the column's default).
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

    /// A task with this payload, priority 0, no dependencies.
    pub fn new(payload: Value) -> Self {
        Self {
            id: None,
            priority: 0,
            after: Vec::new(),
            repo: String::new(),
            tenant: String::new(),
            payload,
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
        }
    }
    /// Sets the number of claims allowed before the task is dead-lettered (at least 1).
    pub fn with_max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }
    /// Sets the id.
    pub fn with_id(mut self, id: impl Into<TaskId>) -> Self {
        self.id = Some(id.into());
        self
    }
    /// Sets the priority.
    pub fn with_priority(mut self, priority: i64) -> Self {
        self.priority = priority;
        self
    }
    /// Adds a dependency.
    pub fn after(mut self, task: TaskId) -> Self {
        self.after.push(task);
        self
    }
    /// Sets the repository.
    pub fn with_repo(mut self, repo: impl Into<String>) -> Self {
        self.repo = repo.into();
        self
    }
    /// Sets the tenant.
    pub fn with_tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = tenant.into();
        self
    }
}

/// A task as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TaskRecord {
    /// Its id.
    pub id: TaskId,
    /// Its priority.
    pub priority: i64,
    /// Its repository.
    pub repo: String,
    /// Its tenant.
    pub tenant: String,
    /// What the worker needs.
    pub payload: Value,
    /// `queued`, `running`, `done`, `failed`, `dead` (claimed
    /// `max_attempts` times without a final result; see `reason`),
    /// `blocked` (a dependency failed, is dead or cancelled; see
    /// `blocked_by`) or `cancelled` (by an operator; see
    /// [`Store::cancel_task`](crate::Store::cancel_task)).
    pub state: String,
    /// The worker holding it, while running.
    pub worker: Option<String>,
    /// Claims so far.
    pub attempts: u32,
    /// Claims allowed before the task is dead-lettered.
    pub max_attempts: u32,
    /// Why the task is `dead` or `blocked`.
    pub reason: Option<String>,
    /// For a `blocked` task: the failed or dead task it waited for (the
    /// first failure in its chain of dependencies).
    pub blocked_by: Option<TaskId>,
    /// Times it was completed (1 once done; a completion per run: a task
    /// retried or reimplemented by an operator counts each run's).
    pub completions: u32,
    /// The outcome given at completion.
    pub outcome: Option<String>,
    /// When it was enqueued (Unix ms, database clock).
    pub enqueued_ms: i64,
    /// Since when it is in its state.
    pub state_since_ms: i64,
    /// An operator asked this running task to stop: its next heartbeat
    /// answers [`StoreError::Cancelled`].
    #[serde(default)]
    pub cancel_requested: bool,
    /// Set by [`Store::reimplement_task`](crate::Store::reimplement_task)
    /// until the next completion: the worker restores the task's directory
    /// to [`base_snapshot`](Self::base_snapshot) before it runs.
    #[serde(default)]
    pub reimplement: bool,
    /// Reimplementations so far (0: the first run of the goal).
    #[serde(default)]
    pub generation: u32,
    /// Claims made before the current generation began.
    #[serde(default)]
    pub generation_from: u32,
    /// The snapshot of the task's directory before its first attempt, as
    /// the first worker recorded it ([`Store::record_base_snapshot`](crate::Store::record_base_snapshot)).
    #[serde(default)]
    pub base_snapshot: Option<String>,
}

/// Proof of a claim: the token fences heartbeats and completion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// The task.
    pub task: TaskId,
    /// The claiming worker.
    pub worker: String,
    /// The lease token (unique per claim).
    pub token: String,
    /// Which claim of the task this is (1-based).
    pub attempt: u32,
}

/// One claim of a task, finished or not.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Attempt {
    /// 1-based.
    pub attempt: u32,
    /// The worker.
    pub worker: String,
    /// When it was claimed.
    pub started_ms: i64,
    /// When it ended, if it did.
    pub ended_ms: Option<i64>,
    /// `completed` (a success or a final failure), `failed` (a retryable
    /// failure), `lease_expired`, or `None` while running.
    pub result: Option<String>,
}

/// A claimed task.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Claim {
    /// The task.
    pub task: TaskRecord,
    /// The lease to heartbeat and complete with.
    pub lease: Lease,
    /// Earlier attempts of the current generation (e.g. by a worker that
    /// died), oldest first: after a reimplementation the attempts before it
    /// are not listed, so the new run starts without their memory (they
    /// stay in [`Store::timeline`](crate::Store::timeline)).
    pub history: Vec<Attempt>,
    /// The task was reimplemented: restore its directory to
    /// [`TaskRecord::base_snapshot`] before working, and start over from
    /// the goal.
    pub reimplement: bool,
}

/// How a task ended, as its worker reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TaskResult {
    /// Whether it succeeded: dependants wait for success.
    pub succeeded: bool,
    /// For a failure: whether another claim may succeed (an infrastructure
    /// error rather than a verdict). A retryable failure goes back to the
    /// queue, or to `dead` once the task used its `max_attempts`; any other
    /// failure is final (`failed`).
    #[serde(default)]
    pub retryable: bool,
    /// A short outcome (`accepted`, `rolled_back`, …).
    pub outcome: String,
    /// Anything else (e.g. the repair report).
    pub detail: Value,
    /// The run was stopped on an operator's request
    /// ([`StoreError::Cancelled`]): the task ends `cancelled`.
    #[serde(default)]
    pub cancelled: bool,
}

impl TaskResult {
    /// A success with this outcome.
    pub fn succeeded(outcome: impl Into<String>) -> Self {
        Self { succeeded: true, retryable: false, outcome: outcome.into(), detail: Value::Null, cancelled: false }
    }
    /// A final failure with this outcome: the task ends `failed` and its
    /// dependants are marked `blocked`.
    pub fn failed(outcome: impl Into<String>) -> Self {
        Self { succeeded: false, retryable: false, outcome: outcome.into(), detail: Value::Null, cancelled: false }
    }
    /// A failure another claim may not repeat (e.g. the store or the
    /// machine failed, not the task): the task goes back to the queue, or to
    /// `dead` once it used its `max_attempts`.
    pub fn retryable(outcome: impl Into<String>) -> Self {
        Self { succeeded: false, retryable: true, outcome: outcome.into(), detail: Value::Null, cancelled: false }
    }
    /// A run stopped because an operator cancelled the task (its heartbeat
    /// answered [`StoreError::Cancelled`]): the task ends `cancelled`, its
    /// dependants are marked `blocked`, and
    /// [`Store::retry_task`](crate::Store::retry_task) can queue it again.
    pub fn cancelled(outcome: impl Into<String>) -> Self {
        Self { succeeded: false, retryable: false, outcome: outcome.into(), detail: Value::Null, cancelled: true }
    }
    /// Attaches details.
    pub fn with_detail(mut self, detail: Value) -> Self {
        self.detail = detail;
        self
    }
}

/// What [`TaskQueue::complete`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Completed {
    /// This call completed the task.
    Completed,
    /// The task was already completed under this same lease (a retry).
    AlreadyCompleted,
}

/// A queue of tasks shared by many workers.
///
/// ```
/// use agent_store::{NewTask, TaskQueue};
/// use std::time::Duration;
/// /// Drains one task from any queue.
/// async fn one(q: &dyn TaskQueue) -> Result<bool, agent_store::StoreError> {
///     let Some(claim) = q.claim("w", Duration::from_secs(10)).await? else { return Ok(false) };
///     q.complete(&claim.lease, agent_store::TaskResult::succeeded("ok")).await?;
///     Ok(true)
/// }
/// # let dir = tempfile::tempdir().unwrap();
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let store = agent_store::Store::open(&format!("sqlite://{}?mode=rwc", dir.path().join("q.db").display())).await.unwrap();
/// # store.enqueue(NewTask::new(serde_json::json!({}))).await.unwrap();
/// # assert!(one(&store).await.unwrap());
/// # assert!(!one(&store).await.unwrap());
/// # });
/// ```
#[async_trait]
pub trait TaskQueue: Send + Sync {
    /// Adds a task; its dependencies must exist. Returns its id. A task
    /// whose dependency already failed (or is dead or blocked) is enqueued
    /// `blocked`. Idempotent: enqueuing again a task with the same id and
    /// the same content (priority, repository, tenant, payload,
    /// `max_attempts`, dependencies) changes nothing and returns its id; the
    /// same id with different content is [`StoreError::Conflict`] naming
    /// what differs.
    async fn enqueue(&self, task: NewTask) -> Result<TaskId, StoreError>;
    /// Atomically claims the highest-priority ready task (queued, every
    /// dependency done, no budget ceiling of its task, repository, tenant or
    /// of this worker reached) for `lease`; first reclaims tasks whose lease
    /// expired. `None` when nothing is ready.
    async fn claim(&self, worker: &str, lease: Duration) -> Result<Option<Claim>, StoreError>;
    /// Extends the lease to `lease` from now; [`StoreError::LeaseLost`] when
    /// it was reclaimed, [`StoreError::Cancelled`] (after extending it)
    /// when an operator cancelled the task.
    async fn heartbeat(&self, lease: &Lease, extend: Duration) -> Result<(), StoreError>;
    /// Completes the task under `lease`; idempotent (see [`Completed`]). A
    /// success ends `done`, a final failure `failed`; a
    /// [retryable](TaskResult::retryable) failure goes back to the queue, or
    /// to `dead` on the task's last allowed attempt. The dependants of a
    /// task that ends `failed` or `dead` are marked `blocked` by it.
    async fn complete(&self, lease: &Lease, result: TaskResult) -> Result<Completed, StoreError>;
    /// Tasks per state (a worker that drains the queue stops when nothing
    /// is queued or running).
    async fn counts(&self) -> Result<crate::QueueCounts, StoreError>;
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The task columns, as `RETURNING` lists them (no table alias).
const RETURNED_COLUMNS: &str = "id, priority, repo, tenant, payload, state, worker, attempts, max_attempts, reason, \
     blocked_by, completions, outcome, enqueued_ms, state_since_ms, cancel_requested, reimplement, generation, \
     generation_from, base_snapshot";

pub(crate) const TASK_COLUMNS: &str = "t.id, t.priority, t.repo, t.tenant, t.payload, t.state, t.worker, t.attempts, \
     t.max_attempts, t.reason, t.blocked_by, t.completions, t.outcome, t.enqueued_ms, t.state_since_ms, \
     t.cancel_requested, t.reimplement, t.generation, t.generation_from, t.base_snapshot";

pub(crate) fn task_from_row<R: Row>(row: &R) -> Result<TaskRecord, StoreError>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let payload: String = row.try_get("payload")?;
    Ok(TaskRecord {
        id: TaskId::new(row.try_get::<String, _>("id")?),
        priority: row.try_get("priority")?,
        repo: row.try_get("repo")?,
        tenant: row.try_get("tenant")?,
        payload: serde_json::from_str(&payload)
            .map_err(|e| StoreError::Corrupt { what: "task payload", message: e.to_string() })?,
        state: row.try_get("state")?,
        worker: row.try_get("worker")?,
        attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
        max_attempts: u32::try_from(row.try_get::<i64, _>("max_attempts")?).unwrap_or(u32::MAX),
        reason: row.try_get("reason")?,
        blocked_by: row.try_get::<Option<String>, _>("blocked_by")?.map(TaskId::new),
        completions: u32::try_from(row.try_get::<i64, _>("completions")?).unwrap_or(u32::MAX),
        outcome: row.try_get("outcome")?,
        enqueued_ms: row.try_get("enqueued_ms")?,
        state_since_ms: row.try_get("state_since_ms")?,
        cancel_requested: row.try_get::<i64, _>("cancel_requested")? != 0,
        reimplement: row.try_get::<i64, _>("reimplement")? != 0,
        generation: u32::try_from(row.try_get::<i64, _>("generation")?).unwrap_or(u32::MAX),
        generation_from: u32::try_from(row.try_get::<i64, _>("generation_from")?).unwrap_or(u32::MAX),
        base_snapshot: row.try_get("base_snapshot")?,
    })
}

pub(crate) fn attempt_from_row<R: Row>(row: &R) -> Result<Attempt, StoreError>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<i64>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(Attempt {
        attempt: u32::try_from(row.try_get::<i64, _>("attempt")?).unwrap_or(u32::MAX),
        worker: row.try_get("worker")?,
        started_ms: row.try_get("started_ms")?,
        ended_ms: row.try_get("ended_ms")?,
        result: row.try_get("result")?,
    })
}

impl Store {
    /// `UPDATE` marking every queued task downstream of `$1` (through any
    /// chain of dependencies) `blocked` by `$1`, with the reason `$2`.
    pub(crate) fn block_dependants_sql(&self) -> String {
        let now = self.now_sql();
        format!(
            "WITH RECURSIVE down(id) AS (\
               SELECT d.task FROM task_deps d WHERE d.dep = $1 \
               UNION SELECT d.task FROM task_deps d JOIN down ON d.dep = down.id) \
             UPDATE tasks SET state = 'blocked', blocked_by = $1, reason = $2, state_since_ms = {now}, \
               finished_ms = {now} \
             WHERE state = 'queued' AND id IN (SELECT id FROM down)"
        )
    }

    async fn enqueue_once(&self, id: &str, task: &NewTask) -> Result<TaskId, StoreError> {
        let now = self.now_sql();
        let payload = task.payload.to_string();
        let mut deps: Vec<&str> = task.after.iter().map(TaskId::as_str).collect();
        deps.sort_unstable();
        deps.dedup();
        let insert = format!(
            "INSERT INTO tasks (id, priority, repo, tenant, payload, state, max_attempts, reason, blocked_by, \
               enqueued_ms, state_since_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, {now}, {now}) ON CONFLICT (id) DO NOTHING"
        );
        // A dependency's row is share-locked on PostgreSQL, so it cannot
        // fail between this check and the commit without seeing the new
        // dependant (its completion waits for the lock, then blocks it).
        let dep_sql = match self.backend() {
            crate::Backend::Postgres => "SELECT state, blocked_by FROM tasks WHERE id = $1 FOR SHARE",
            crate::Backend::Sqlite => "SELECT state, blocked_by FROM tasks WHERE id = $1",
        };
        on_pool!(self, p => {
            let mut tx = begin_write!(self, p);
            let mut blocker: Option<(String, String)> = None;
            for dep in &deps {
                let Some(row) = sqlx::query(dep_sql).bind(*dep).fetch_optional(&mut *tx).await? else {
                    return Err(StoreError::UnknownDependency { task: id.to_owned(), dependency: (*dep).to_owned() });
                };
                let state: String = row.try_get(0)?;
                let root: Option<String> = row.try_get(1)?;
                if blocker.is_none() && matches!(state.as_str(), "failed" | "dead" | "blocked") {
                    let root = if state == "blocked" { root.unwrap_or_else(|| (*dep).to_owned()) } else { (*dep).to_owned() };
                    let reason = format!("dependency {dep} is {state}");
                    blocker = Some((root, reason));
                }
            }
            let state = if blocker.is_some() { "blocked" } else { "queued" };
            let (root, reason) = blocker.map_or((None, None), |(r, why)| (Some(r), Some(why)));
            let inserted = sqlx::query(&insert)
                .bind(id).bind(task.priority).bind(&task.repo).bind(&task.tenant).bind(&payload)
                .bind(state).bind(i64::from(task.max_attempts)).bind(reason).bind(root)
                .execute(&mut *tx).await?.rows_affected();
            if inserted == 0 {
                // The id exists: a retry of this same enqueue (whose answer
                // was lost, or a client retrying) is a no-op; different
                // content under the same id is a conflict.
                let row = sqlx::query("SELECT priority, repo, tenant, payload, max_attempts FROM tasks WHERE id = $1")
                    .bind(id).fetch_one(&mut *tx).await?;
                let stored_deps: Vec<String> = sqlx::query("SELECT dep FROM task_deps WHERE task = $1 ORDER BY dep")
                    .bind(id).fetch_all(&mut *tx).await?
                    .iter().map(|r| r.try_get(0)).collect::<Result<_, _>>()?;
                let stored_payload: String = row.try_get("payload")?;
                let stored_payload: Value = serde_json::from_str(&stored_payload)
                    .map_err(|e| StoreError::Corrupt { what: "task payload", message: e.to_string() })?;
                let mut differs = Vec::new();
                if row.try_get::<i64, _>("priority")? != task.priority { differs.push("priority"); }
                if row.try_get::<String, _>("repo")? != task.repo { differs.push("repo"); }
                if row.try_get::<String, _>("tenant")? != task.tenant { differs.push("tenant"); }
                if stored_payload != task.payload { differs.push("payload"); }
                if row.try_get::<i64, _>("max_attempts")? != i64::from(task.max_attempts) { differs.push("max_attempts"); }
                if stored_deps.iter().map(String::as_str).ne(deps.iter().copied()) { differs.push("after"); }
                tx.rollback().await?;
                if differs.is_empty() {
                    return Ok(TaskId::new(id));
                }
                return Err(StoreError::Conflict {
                    task: id.to_owned(),
                    differs: differs.into_iter().map(String::from).collect(),
                });
            }
            for dep in &deps {
                sqlx::query("INSERT INTO task_deps (task, dep) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(id).bind(*dep).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(TaskId::new(id))
    }

    async fn claim_once(&self, worker: &str, lease: Duration) -> Result<Option<Claim>, StoreError> {
        let now = self.now_sql();
        let lock = self.skip_locked("t");
        // Reclaim: tasks whose lease expired go back to the queue, or to
        // `dead` when that was their last allowed claim; the trigger closes
        // their attempt as `lease_expired`.
        let reclaim = format!(
            "UPDATE tasks SET \
               state = CASE WHEN cancel_requested <> 0 THEN 'cancelled' \
                 WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END, \
               reason = CASE WHEN cancel_requested <> 0 THEN \
                 'cancelled by an operator; the lease of ' || COALESCE(worker, '?') || ' expired before it stopped' \
                 WHEN attempts >= max_attempts THEN \
                 'the lease of ' || COALESCE(worker, '?') || ' expired on attempt ' || attempts || ' of ' || max_attempts \
                 ELSE reason END, \
               finished_ms = CASE WHEN attempts >= max_attempts OR cancel_requested <> 0 THEN {now} \
                 ELSE finished_ms END, \
               cancel_requested = 0, \
               worker = NULL, lease_expires_ms = NULL, state_since_ms = {now}, attempt_end = 'lease_expired' \
             WHERE state = 'running' AND id IN \
               (SELECT t.id FROM tasks t WHERE t.state = 'running' AND t.lease_expires_ms < {now}{lock}) \
             RETURNING id, state"
        );
        let block = self.block_dependants_sql();
        // Take the best ready task in one statement; the `tasks_claimed`
        // trigger opens its attempt row.
        let take = format!(
            "UPDATE tasks SET state = 'running', worker = $1, lease_token = $2, lease_expires_ms = {now} + $3, \
               attempts = attempts + 1, state_since_ms = {now} \
             WHERE state = 'queued' AND id = \
               (SELECT t.id FROM tasks t WHERE t.state = 'queued' \
                  AND NOT EXISTS (SELECT 1 FROM task_deps d JOIN tasks p ON p.id = d.dep \
                                  WHERE d.task = t.id AND p.state <> 'done') \
                  AND NOT EXISTS (SELECT 1 FROM budgets b WHERE b.ceiling_micros IS NOT NULL \
                                  AND b.spent_micros >= b.ceiling_micros \
                                  AND ((b.scope = 'task' AND b.key = t.id) OR (b.scope = 'repo' AND b.key = t.repo) \
                                    OR (b.scope = 'tenant' AND b.key = t.tenant) OR (b.scope = 'worker' AND b.key = $1))) \
                ORDER BY t.priority DESC, t.seq LIMIT 1{lock}) \
             RETURNING {RETURNED_COLUMNS}"
        );
        let token = uuid::Uuid::new_v4().to_string();
        let task = on_pool!(self, p => {
            // The reclaim and the marking of a dead task's dependants are one
            // transaction, so no dependant is left waiting for a dead task.
            let mut tx = begin_write!(self, p);
            for row in sqlx::query(&reclaim).fetch_all(&mut *tx).await? {
                let id: String = row.try_get(0)?;
                let state: String = row.try_get(1)?;
                if state == "dead" || state == "cancelled" {
                    tracing::warn!(task = %id, state = %state, "lease expired; task is {state}");
                    sqlx::query(&block).bind(&id).bind(format!("dependency {id} is {state}")).execute(&mut *tx).await?;
                } else {
                    tracing::info!(task = %id, "lease expired; task reclaimed");
                }
            }
            tx.commit().await?;
            match sqlx::query(&take).bind(worker).bind(&token).bind(ms(lease)).fetch_optional(p).await? {
                Some(row) => task_from_row(&row)?,
                None => return Ok(None),
            }
        });
        // The history of the current generation only: a reimplementation
        // starts without the memory of the attempts before it.
        let history = if task.attempts > task.generation_from + 1 {
            on_pool!(self, p => sqlx::query("SELECT attempt, worker, started_ms, ended_ms, result FROM attempts \
                                             WHERE task = $1 AND attempt < $2 AND attempt > $3 ORDER BY attempt")
                .bind(task.id.as_str()).bind(i64::from(task.attempts)).bind(i64::from(task.generation_from))
                .fetch_all(p).await?
                .iter().map(attempt_from_row).collect::<Result<Vec<_>, _>>()?)
        } else {
            Vec::new()
        };
        let lease = Lease { task: task.id.clone(), worker: worker.to_owned(), token, attempt: task.attempts };
        let reimplement = task.reimplement;
        Ok(Some(Claim { task, lease, history, reimplement }))
    }

    async fn heartbeat_once(&self, lease: &Lease, extend: Duration) -> Result<(), StoreError> {
        // The lease is extended even when a cancel was requested: the
        // worker needs the time to stop its run and restore the workspace.
        let sql = format!(
            "UPDATE tasks SET lease_expires_ms = {} + $3 WHERE id = $1 AND lease_token = $2 AND state = 'running' \
             RETURNING cancel_requested",
            self.now_sql()
        );
        let cancel: Option<i64> = on_pool!(self, p => sqlx::query(&sql).bind(lease.task.as_str()).bind(&lease.token)
            .bind(ms(extend)).fetch_optional(p).await?.map(|r| r.try_get(0)).transpose()?);
        match cancel {
            None => Err(StoreError::LeaseLost { task: lease.task.to_string(), token: lease.token.clone() }),
            Some(0) => Ok(()),
            Some(_) => Err(StoreError::Cancelled { task: lease.task.to_string() }),
        }
    }

    async fn complete_once(&self, lease: &Lease, result: &TaskResult) -> Result<Completed, StoreError> {
        let now = self.now_sql();
        // One statement each; the trigger closes the attempt.
        // A completion ends a pending reimplementation and cancel request
        // (a run that finished before it saw the request keeps its result).
        let finish = format!(
            "UPDATE tasks SET state = $3, outcome = $4, result = $5, finished_ms = {now}, state_since_ms = {now}, \
               completions = completions + 1, lease_expires_ms = NULL, attempt_end = $6, \
               reason = CASE WHEN $3 = 'cancelled' THEN 'cancelled by an operator during attempt ' || attempts \
                 ELSE reason END, \
               cancel_requested = 0, reimplement = 0 \
             WHERE id = $1 AND lease_token = $2 AND state = 'running' RETURNING state"
        );
        // A retryable failure of a task an operator cancelled meanwhile
        // ends `cancelled` instead of going back to the queue.
        let requeue = format!(
            "UPDATE tasks SET \
               state = CASE WHEN cancel_requested <> 0 THEN 'cancelled' \
                 WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END, \
               reason = CASE WHEN cancel_requested <> 0 THEN 'cancelled by an operator during attempt ' || attempts \
                 WHEN attempts >= max_attempts THEN \
                 'failed on attempt ' || attempts || ' of ' || max_attempts || ': ' || CAST($3 AS TEXT) ELSE reason END, \
               finished_ms = CASE WHEN attempts >= max_attempts OR cancel_requested <> 0 THEN {now} \
                 ELSE finished_ms END, \
               outcome = $3, result = $4, worker = NULL, lease_expires_ms = NULL, state_since_ms = {now}, \
               attempt_end = CASE WHEN cancel_requested <> 0 THEN 'cancelled' ELSE 'failed' END, \
               cancel_requested = 0, reimplement = 0 \
             WHERE id = $1 AND lease_token = $2 AND state = 'running' RETURNING state"
        );
        let block = self.block_dependants_sql();
        let detail = result.detail.to_string();
        let task = lease.task.as_str();
        on_pool!(self, p => {
            let mut tx = begin_write!(self, p);
            let row = if result.succeeded || result.cancelled || !result.retryable {
                let (state, end) = if result.cancelled {
                    ("cancelled", "cancelled")
                } else if result.succeeded {
                    ("done", "completed")
                } else {
                    ("failed", "completed")
                };
                sqlx::query(&finish).bind(task).bind(&lease.token).bind(state).bind(&result.outcome).bind(&detail)
                    .bind(end).fetch_optional(&mut *tx).await?
            } else {
                sqlx::query(&requeue).bind(task).bind(&lease.token).bind(&result.outcome).bind(&detail)
                    .fetch_optional(&mut *tx).await?
            };
            if let Some(row) = row {
                let state: String = row.try_get(0)?;
                if state == "failed" || state == "dead" || state == "cancelled" {
                    // Dependants would wait forever: mark them, in the same transaction.
                    sqlx::query(&block).bind(task).bind(format!("dependency {task} is {state}"))
                        .execute(&mut *tx).await?;
                }
                tx.commit().await?;
                return Ok(Completed::Completed);
            }
            // The attempt of this lease says how it ended: by a completion
            // (this is a retry) or by its lease expiring (lost).
            let ended: Option<Option<String>> = sqlx::query("SELECT result FROM attempts WHERE lease_token = $1")
                .bind(&lease.token).fetch_optional(&mut *tx).await?
                .map(|r| r.try_get(0)).transpose()?;
            tx.rollback().await?;
            if let Some(Some(how)) = ended {
                if how == "completed" || how == "failed" || how == "cancelled" {
                    return Ok(Completed::AlreadyCompleted);
                }
            }
            Err(StoreError::LeaseLost { task: lease.task.to_string(), token: lease.token.clone() })
        })
    }
}

#[async_trait]
impl TaskQueue for Store {
    async fn enqueue(&self, task: NewTask) -> Result<TaskId, StoreError> {
        let id = task.id.clone().map_or_else(|| uuid::Uuid::new_v4().to_string(), |t| t.0);
        self.retry("enqueue", |_| self.enqueue_once(&id, &task)).await
    }

    /// Retried on transient errors. A claim whose commit succeeded but whose
    /// answer was lost is orphaned until its lease expires, then reclaimed.
    async fn claim(&self, worker: &str, lease: Duration) -> Result<Option<Claim>, StoreError> {
        // A dead worker's reservations would hold budget that claims check.
        self.expire_reservations().await?;
        self.retry("claim", |_| self.claim_once(worker, lease)).await
    }

    async fn heartbeat(&self, lease: &Lease, extend: Duration) -> Result<(), StoreError> {
        self.retry("heartbeat", |_| self.heartbeat_once(lease, extend)).await
    }

    async fn complete(&self, lease: &Lease, result: TaskResult) -> Result<Completed, StoreError> {
        self.retry("complete", |_| self.complete_once(lease, &result)).await
    }

    async fn counts(&self) -> Result<crate::QueueCounts, StoreError> {
        Store::counts(self).await
    }
}
