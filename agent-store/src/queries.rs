//! Queries a host needs: cost grouped by task, provider, model, repository,
//! worker, tenant or day; the timeline of a task; tasks stuck longer than a
//! limit; counts of the queue by state.
//!
//! ```
//! use agent_core::budget::Usd;
//! use agent_store::{BudgetLedger, CostGroup, Spend, SpendScopes, Store};
//! # let dir = tempfile::tempdir().unwrap();
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let store = Store::open(&format!("sqlite://{}?mode=rwc", dir.path().join("c.db").display())).await.unwrap();
//! let r = store.reserve(&SpendScopes::new("t1", "w1", "repo-a", "acme"), Usd::ZERO).await.unwrap();
//! store.settle(&r, &Spend::new("openai", "gpt-4.1-mini", Usd::from_dollars(0.25), 100, 10)).await.unwrap();
//! let rows = store.costs(CostGroup::Model).await.unwrap();
//! assert_eq!(rows[0].key, "gpt-4.1-mini");
//! assert_eq!(rows[0].cost_usd.dollars(), 0.25);
//! # });
//! ```

use crate::queue::{TASK_COLUMNS, attempt_from_row, task_from_row};
use crate::store::on_pool;
use crate::{Attempt, Store, StoreError, TaskRecord};
use agent_core::budget::Usd;
use agent_core::event::Event;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use std::str::FromStr;
use std::time::Duration;

/// What to group costs by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CostGroup {
    /// Per task.
    Task,
    /// Per provider kind.
    Provider,
    /// Per model.
    Model,
    /// Per repository.
    Repo,
    /// Per worker.
    Worker,
    /// Per tenant.
    Tenant,
    /// Per UTC day (`YYYY-MM-DD`).
    Day,
}

impl CostGroup {
    fn column(self) -> &'static str {
        match self {
            Self::Task => "task",
            Self::Provider => "provider",
            Self::Model => "model",
            Self::Repo => "repo",
            Self::Worker => "worker",
            Self::Tenant => "tenant",
            Self::Day => "day",
        }
    }
}

impl FromStr for CostGroup {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "task" => Self::Task,
            "provider" => Self::Provider,
            "model" => Self::Model,
            "repo" => Self::Repo,
            "worker" => Self::Worker,
            "tenant" => Self::Tenant,
            "day" => Self::Day,
            other => {
                return Err(format!(
                    "unknown cost grouping `{other}` (task, provider, model, repo, worker, tenant, day)"
                ));
            }
        })
    }
}

/// Spend of one group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CostRow {
    /// The group's key (a task id, a model, a day…).
    pub key: String,
    /// Model calls.
    pub calls: u64,
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Generated tokens.
    pub output_tokens: u64,
    /// US dollars.
    pub cost_usd: Usd,
}

/// Everything known about one task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Timeline {
    /// The task.
    pub task: TaskRecord,
    /// Every claim, oldest first.
    pub attempts: Vec<Attempt>,
    /// Every journaled event, in order.
    pub events: Vec<Event>,
}

/// A task in the same unfinished state for too long.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StuckTask {
    /// The task.
    pub task: TaskRecord,
    /// How long it has been in its state, in milliseconds.
    pub for_ms: i64,
}

/// Tasks per state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct QueueCounts {
    /// Waiting (ready or blocked).
    pub queued: u64,
    /// Claimed under a lease.
    pub running: u64,
    /// Completed successfully.
    pub done: u64,
    /// Completed unsuccessfully (a final failure).
    pub failed: u64,
    /// Dead-lettered: claimed `max_attempts` times without a final result.
    pub dead: u64,
    /// Never to run: a dependency failed, is dead or was cancelled.
    pub blocked: u64,
    /// Cancelled by an operator ([`Store::cancel_task`]).
    #[serde(default)]
    pub cancelled: u64,
}

impl QueueCounts {
    /// Tasks not finished.
    pub fn unfinished(&self) -> u64 {
        self.queued + self.running
    }
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl Store {
    /// Spend grouped by `group`, ordered by key.
    pub async fn costs(&self, group: CostGroup) -> Result<Vec<CostRow>, StoreError> {
        let col = group.column();
        let sql = format!(
            "SELECT {col} AS k, COUNT(*) AS calls, CAST(SUM(input_tokens) AS BIGINT) AS i, \
               CAST(SUM(output_tokens) AS BIGINT) AS o, CAST(SUM(cost_micros) AS BIGINT) AS c \
             FROM spend GROUP BY {col} ORDER BY {col}"
        );
        self.retry("costs", |_| async {
            on_pool!(self, p => {
                let rows = sqlx::query(&sql).fetch_all(p).await?;
                rows.iter()
                    .map(|r| Ok(CostRow {
                        key: r.try_get("k")?,
                        calls: to_u64(r.try_get("calls")?),
                        input_tokens: to_u64(r.try_get("i")?),
                        output_tokens: to_u64(r.try_get("o")?),
                        cost_usd: Usd::from_micros(r.try_get("c")?),
                    }))
                    .collect::<Result<Vec<_>, StoreError>>()
            })
        })
        .await
    }

    /// The task, its attempts and its events; `None` if no such task.
    pub async fn timeline(&self, task: &str) -> Result<Option<Timeline>, StoreError> {
        let select = format!("SELECT {TASK_COLUMNS} FROM tasks t WHERE t.id = $1");
        let found = self
            .retry("timeline", |_| async {
                on_pool!(self, p => {
                    let Some(row) = sqlx::query(&select).bind(task).fetch_optional(p).await? else { return Ok(None) };
                    let record = task_from_row(&row)?;
                    let attempts = sqlx::query("SELECT attempt, worker, started_ms, ended_ms, result FROM attempts \
                                                WHERE task = $1 ORDER BY attempt")
                        .bind(task).fetch_all(p).await?
                        .iter().map(attempt_from_row).collect::<Result<Vec<_>, _>>()?;
                    Ok(Some((record, attempts)))
                })
            })
            .await?;
        let Some((task_record, attempts)) = found else { return Ok(None) };
        let events = self.events_of(task).await?;
        Ok(Some(Timeline { task: task_record, attempts, events }))
    }

    /// Tasks queued or running without a change of state for longer than `limit`, oldest first.
    pub async fn stuck(&self, limit: Duration) -> Result<Vec<StuckTask>, StoreError> {
        let now = self.now_sql();
        let sql = format!(
            "SELECT {TASK_COLUMNS}, {now} - t.state_since_ms AS for_ms FROM tasks t \
             WHERE t.state IN ('queued', 'running') AND t.state_since_ms < {now} - $1 ORDER BY t.state_since_ms"
        );
        let limit_ms = i64::try_from(limit.as_millis()).unwrap_or(i64::MAX);
        self.retry("stuck", |_| async {
            on_pool!(self, p => {
                sqlx::query(&sql).bind(limit_ms).fetch_all(p).await?
                    .iter()
                    .map(|r| Ok(StuckTask { task: task_from_row(r)?, for_ms: r.try_get("for_ms")? }))
                    .collect::<Result<Vec<_>, StoreError>>()
            })
        })
        .await
    }

    /// Tasks per state.
    pub async fn counts(&self) -> Result<QueueCounts, StoreError> {
        let sql = "SELECT state, COUNT(*) FROM tasks GROUP BY state";
        self.retry("counts", |_| async {
            let mut counts = QueueCounts::default();
            on_pool!(self, p => {
                for row in sqlx::query(sql).fetch_all(p).await? {
                    let state: String = row.try_get(0)?;
                    let n = to_u64(row.try_get(1)?);
                    match state.as_str() {
                        "queued" => counts.queued = n,
                        "running" => counts.running = n,
                        "done" => counts.done = n,
                        "dead" => counts.dead = n,
                        "blocked" => counts.blocked = n,
                        "cancelled" => counts.cancelled = n,
                        _ => counts.failed += n,
                    }
                }
            });
            Ok(counts)
        })
        .await
    }

    /// Every task, in enqueue order (for reports and tests; a host with many
    /// tasks should prefer [`Store::counts`] and [`Store::stuck`]).
    pub async fn tasks(&self) -> Result<Vec<TaskRecord>, StoreError> {
        let sql = format!("SELECT {TASK_COLUMNS} FROM tasks t ORDER BY t.seq");
        self.retry("tasks", |_| async {
            on_pool!(self, p => sqlx::query(&sql).fetch_all(p).await?.iter().map(task_from_row).collect())
        })
        .await
    }
}
