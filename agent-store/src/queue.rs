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
//! **A claim is two statements, and the client holds no transaction.** The
//! first returns every running task whose lease expired to `queued`
//! (reclaim). The second takes the best ready task in one `UPDATE tasks SET
//! state = 'running', lease_token = … WHERE id = (SELECT … LIMIT 1)
//! RETURNING …`: queued, every dependency `done`, no ceiling of its task,
//! repository or tenant or of the claiming worker reached; highest priority
//! first, then enqueue order. On PostgreSQL both inner selects are `FOR
//! UPDATE OF t SKIP LOCKED`, so concurrent claimers neither wait for nor
//! take the same row; on SQLite a write statement takes the database's write
//! lock before it reads (busy timeout 30 s, BUSY retried), so claims are
//! serialised. BENCHMARKS.md compares it with a naive select-then-update
//! claim, and records why it replaced an earlier nine-round-trip transaction.
//!
//! **The attempt history** is kept by triggers (migration 0002) on the
//! task's state: a claim opens an attempt, a reclaim closes it as
//! `lease_expired`, a completion closes it as `completed`, each inside the
//! same statement, so the history cannot drift from the task row.
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
}

impl NewTask {
    /// A task with this payload, priority 0, no dependencies.
    pub fn new(payload: Value) -> Self {
        Self { id: None, priority: 0, after: Vec::new(), repo: String::new(), tenant: String::new(), payload }
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
    /// `queued`, `running`, `done` or `failed`.
    pub state: String,
    /// The worker holding it, while running.
    pub worker: Option<String>,
    /// Claims so far.
    pub attempts: u32,
    /// Times it was completed (1 once done; never more).
    pub completions: u32,
    /// The outcome given at completion.
    pub outcome: Option<String>,
    /// When it was enqueued (Unix ms, database clock).
    pub enqueued_ms: i64,
    /// Since when it is in its state.
    pub state_since_ms: i64,
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
    /// `completed`, `lease_expired` or `None` while running.
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
    /// Earlier attempts (e.g. by a worker that died), oldest first.
    pub history: Vec<Attempt>,
}

/// How a task ended, as its worker reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TaskResult {
    /// Whether it succeeded: dependants wait for success.
    pub succeeded: bool,
    /// A short outcome (`accepted`, `rolled_back`, …).
    pub outcome: String,
    /// Anything else (e.g. the repair report).
    pub detail: Value,
}

impl TaskResult {
    /// A success with this outcome.
    pub fn succeeded(outcome: impl Into<String>) -> Self {
        Self { succeeded: true, outcome: outcome.into(), detail: Value::Null }
    }
    /// A failure with this outcome.
    pub fn failed(outcome: impl Into<String>) -> Self {
        Self { succeeded: false, outcome: outcome.into(), detail: Value::Null }
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
    /// Adds a task; its dependencies must exist. Returns its id.
    async fn enqueue(&self, task: NewTask) -> Result<TaskId, StoreError>;
    /// Atomically claims the highest-priority ready task (queued, every
    /// dependency done, no budget ceiling of its task, repository, tenant or
    /// of this worker reached) for `lease`; first reclaims tasks whose lease
    /// expired. `None` when nothing is ready.
    async fn claim(&self, worker: &str, lease: Duration) -> Result<Option<Claim>, StoreError>;
    /// Extends the lease to `lease` from now; [`StoreError::LeaseLost`] when
    /// it was reclaimed.
    async fn heartbeat(&self, lease: &Lease, extend: Duration) -> Result<(), StoreError>;
    /// Completes the task under `lease`; idempotent (see [`Completed`]).
    async fn complete(&self, lease: &Lease, result: TaskResult) -> Result<Completed, StoreError>;
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The task columns, as `RETURNING` lists them (no table alias).
const RETURNED_COLUMNS: &str = "id, priority, repo, tenant, payload, state, worker, attempts, completions, outcome, \
     enqueued_ms, state_since_ms";

pub(crate) const TASK_COLUMNS: &str = "t.id, t.priority, t.repo, t.tenant, t.payload, t.state, t.worker, t.attempts, \
     t.completions, t.outcome, t.enqueued_ms, t.state_since_ms";

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
        completions: u32::try_from(row.try_get::<i64, _>("completions")?).unwrap_or(u32::MAX),
        outcome: row.try_get("outcome")?,
        enqueued_ms: row.try_get("enqueued_ms")?,
        state_since_ms: row.try_get("state_since_ms")?,
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
    async fn enqueue_once(&self, id: &str, task: &NewTask, retry: bool) -> Result<TaskId, StoreError> {
        let now = self.now_sql();
        let payload = task.payload.to_string();
        let insert = format!(
            "INSERT INTO tasks (id, priority, repo, tenant, payload, state, enqueued_ms, state_since_ms) \
             VALUES ($1, $2, $3, $4, $5, 'queued', {now}, {now}) ON CONFLICT (id) DO NOTHING"
        );
        on_pool!(self, p => {
            let mut tx = begin_write!(self, p);
            for dep in &task.after {
                let found = sqlx::query("SELECT 1 FROM tasks WHERE id = $1").bind(dep.as_str()).fetch_optional(&mut *tx).await?;
                if found.is_none() {
                    return Err(StoreError::UnknownDependency { task: id.to_owned(), dependency: dep.to_string() });
                }
            }
            let inserted = sqlx::query(&insert)
                .bind(id).bind(task.priority).bind(&task.repo).bind(&task.tenant).bind(&payload)
                .execute(&mut *tx).await?.rows_affected();
            if inserted == 0 {
                // A retry whose first try committed but lost its answer.
                if retry { return Ok(TaskId::new(id)); }
                return Err(StoreError::Conflict { task: id.to_owned() });
            }
            for dep in &task.after {
                sqlx::query("INSERT INTO task_deps (task, dep) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(id).bind(dep.as_str()).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(TaskId::new(id))
    }

    async fn claim_once(&self, worker: &str, lease: Duration) -> Result<Option<Claim>, StoreError> {
        let now = self.now_sql();
        let lock = self.skip_locked("t");
        // Reclaim: tasks whose lease expired go back to the queue; the
        // `tasks_reclaimed` trigger closes their attempt as `lease_expired`.
        let reclaim = format!(
            "UPDATE tasks SET state = 'queued', worker = NULL, lease_expires_ms = NULL, state_since_ms = {now} \
             WHERE state = 'running' AND id IN \
               (SELECT t.id FROM tasks t WHERE t.state = 'running' AND t.lease_expires_ms < {now}{lock}) \
             RETURNING id"
        );
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
            for row in sqlx::query(&reclaim).fetch_all(p).await? {
                let id: String = row.try_get(0)?;
                tracing::info!(task = %id, "lease expired; task reclaimed");
            }
            match sqlx::query(&take).bind(worker).bind(&token).bind(ms(lease)).fetch_optional(p).await? {
                Some(row) => task_from_row(&row)?,
                None => return Ok(None),
            }
        });
        let history = if task.attempts > 1 {
            on_pool!(self, p => sqlx::query("SELECT attempt, worker, started_ms, ended_ms, result FROM attempts \
                                             WHERE task = $1 AND attempt < $2 ORDER BY attempt")
                .bind(task.id.as_str()).bind(i64::from(task.attempts)).fetch_all(p).await?
                .iter().map(attempt_from_row).collect::<Result<Vec<_>, _>>()?)
        } else {
            Vec::new()
        };
        let lease = Lease { task: task.id.clone(), worker: worker.to_owned(), token, attempt: task.attempts };
        Ok(Some(Claim { task, lease, history }))
    }

    async fn heartbeat_once(&self, lease: &Lease, extend: Duration) -> Result<(), StoreError> {
        let sql = format!(
            "UPDATE tasks SET lease_expires_ms = {} + $3 WHERE id = $1 AND lease_token = $2 AND state = 'running'",
            self.now_sql()
        );
        let n = on_pool!(self, p => sqlx::query(&sql).bind(lease.task.as_str()).bind(&lease.token).bind(ms(extend))
            .execute(p).await?.rows_affected());
        if n == 0 {
            return Err(StoreError::LeaseLost { task: lease.task.to_string(), token: lease.token.clone() });
        }
        Ok(())
    }

    async fn complete_once(&self, lease: &Lease, result: &TaskResult) -> Result<Completed, StoreError> {
        let now = self.now_sql();
        // One statement; the `tasks_finished` trigger closes the attempt.
        let finish = format!(
            "UPDATE tasks SET state = $3, outcome = $4, result = $5, finished_ms = {now}, state_since_ms = {now}, \
               completions = completions + 1, lease_expires_ms = NULL \
             WHERE id = $1 AND lease_token = $2 AND state = 'running'"
        );
        let state = if result.succeeded { "done" } else { "failed" };
        let detail = result.detail.to_string();
        on_pool!(self, p => {
            let n = sqlx::query(&finish)
                .bind(lease.task.as_str()).bind(&lease.token).bind(state).bind(&result.outcome).bind(&detail)
                .execute(p).await?.rows_affected();
            if n == 1 {
                return Ok(Completed::Completed);
            }
            // The token stays on a finished task: the same lease finds its
            // own completion (a retry); any other lease was reclaimed.
            let row = sqlx::query("SELECT state, lease_token FROM tasks WHERE id = $1")
                .bind(lease.task.as_str()).fetch_optional(p).await?;
            if let Some(row) = row {
                let state: String = row.try_get(0)?;
                let token: Option<String> = row.try_get(1)?;
                if (state == "done" || state == "failed") && token.as_deref() == Some(lease.token.as_str()) {
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
        self.retry("enqueue", |n| self.enqueue_once(&id, &task, n > 1)).await
    }

    /// Retried on transient errors. A claim whose commit succeeded but whose
    /// answer was lost is orphaned until its lease expires, then reclaimed.
    async fn claim(&self, worker: &str, lease: Duration) -> Result<Option<Claim>, StoreError> {
        self.retry("claim", |_| self.claim_once(worker, lease)).await
    }

    async fn heartbeat(&self, lease: &Lease, extend: Duration) -> Result<(), StoreError> {
        self.retry("heartbeat", |_| self.heartbeat_once(lease, extend)).await
    }

    async fn complete(&self, lease: &Lease, result: TaskResult) -> Result<Completed, StoreError> {
        self.retry("complete", |_| self.complete_once(lease, &result)).await
    }
}
