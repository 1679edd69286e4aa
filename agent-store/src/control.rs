//! Operator controls through the task's state machine: [`Store::retry_task`],
//! [`Store::reimplement_task`], [`Store::cancel_task`], and
//! [`Store::show_task`] (everything known about a task, for the operator
//! deciding which to use).
//!
//! Each control is one write transaction that reads the task's state
//! (row-locked on PostgreSQL), checks it against the table below, changes
//! the row, and journals an [`EventKind::OperatorControl`] in the same
//! transaction, so the journal cannot miss a control that took effect. A
//! control the table refuses changes nothing, is journaled too (with no
//! `to_state` and the reason), and answers [`StoreError::ControlRefused`]
//! carrying the action, the state and the reason.
//!
//! A task whose journal holds a `merged` event (the merge step's, read by
//! the event's JSON `type`) is in the state `merged` for these controls,
//! whatever its queue state.
//!
//! | from \ action | retry | reimplement | cancel | merge |
//! |---|---|---|---|---|
//! | `queued` | refused (already queued) | refused (cancel first) | `cancelled` at once | refused (not run yet) |
//! | `blocked` | `queued` once no dependency is failed, dead, cancelled or blocked; refused otherwise | refused (retry the blocker) | `cancelled` at once | refused (not run yet) |
//! | `running` | refused (cancel first) | refused (cancel first) | stays `running`, cancel requested: its worker's next heartbeat answers [`StoreError::Cancelled`], the worker stops the run (restoring its workspace) and completes it `cancelled` | refused (still running) |
//! | `failed`, `dead`, `cancelled` | `queued` | `queued`, reimplement marker | refused (finished) | refused (not accepted) |
//! | `done` | refused (it succeeded) | `queued`, reimplement marker | refused (finished) | allowed: stays `done`, the merge step runs |
//! | `merged` | refused | refused | refused | refused (already merged) |
//!
//! - **retry** queues a new attempt from the current state and keeps the
//!   history (attempts, journal, completions). The claim budget is extended
//!   by one (`max_attempts + 1`), so a dead-lettered task runs again. The
//!   tasks downstream of it that are `blocked` and have no other failed,
//!   dead, cancelled or blocked dependency are queued again.
//! - **reimplement** does the same and also sets the reimplement marker and
//!   starts a new generation: the next [`Claim`](crate::Claim) has
//!   `reimplement` set (until a completion) and lists no attempt of an
//!   earlier generation in its history, and its worker restores the task's
//!   directory to [`TaskRecord::base_snapshot`] (recorded by the first
//!   worker with [`Store::record_base_snapshot`]) before working.
//! - **cancel** of a task that is not running ends it at once; its
//!   dependants are marked `blocked` by it, as for a failure. A running
//!   task's worker may still complete it before its next heartbeat: a
//!   completion wins over a cancel it has not seen (its result is kept).
//!   A retry or reimplementation (for either of which the task and every
//!   dependency it waits for must be finished or ready) and
//!   a task whose lease expires with a cancel pending ends `cancelled`.
//!
//! ```
//! use agent_store::{ControlAction, NewTask, Store, StoreError, TaskQueue, TaskResult};
//! use std::time::Duration;
//! # let dir = tempfile::tempdir().unwrap();
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let store = Store::open(&format!("sqlite://{}?mode=rwc", dir.path().join("c.db").display())).await.unwrap();
//! store.enqueue(NewTask::new(serde_json::json!({"goal": "g"})).with_id("t1")).await.unwrap();
//! let claim = store.claim("w", Duration::from_secs(30)).await.unwrap().unwrap();
//! store.complete(&claim.lease, TaskResult::failed("rolled_back")).await.unwrap();
//! let retried = store.retry_task("t1", "ops").await.unwrap();
//! assert_eq!((retried.from_state.as_str(), retried.to_state.as_str()), ("failed", "queued"));
//! let refused = store.reimplement_task("t1", "ops").await.unwrap_err();
//! assert!(matches!(refused, StoreError::ControlRefused { action: ControlAction::Reimplement, .. }));
//! # });
//! ```

use crate::queue::{TASK_COLUMNS, attempt_from_row, task_from_row};
use crate::store::{begin_write, on_pool};
use crate::{Attempt, CostRow, Lease, Store, StoreError, TaskRecord};
use agent_core::Journal;
use agent_core::budget::Usd;
use agent_core::event::{Event, EventKind, TaskId};
use agent_core::gate::Verdict;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::Row;
use std::fmt;

/// The JSON `type` names of the merge step's journal events that end a
/// merge (landed, left on a branch, refused), read without depending on
/// their Rust variants.
pub const MERGE_EVENT_TYPES: &[&str] = &["merged", "branch_left", "merge_refused", "needs_human"];

/// An operator control.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ControlAction {
    /// A new attempt from the current state, keeping the history.
    Retry,
    /// Discard the work and start over from the goal and the base snapshot.
    Reimplement,
    /// Stop the task: at once when not running, at the worker's next
    /// heartbeat when running.
    Cancel,
    /// Start the merge step on a `done` task's accepted change (the state
    /// machine's check before `agentctl merge ID --store URL`; the task's
    /// state does not change, the merge step's events follow in its journal).
    Merge,
}

impl ControlAction {
    /// `retry`, `reimplement` or `cancel`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Retry => "retry",
            Self::Reimplement => "reimplement",
            Self::Cancel => "cancel",
            Self::Merge => "merge",
        }
    }
}

impl fmt::Display for ControlAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a control did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ControlOutcome {
    /// The task.
    pub task: TaskId,
    /// The control.
    pub action: ControlAction,
    /// Its state before.
    pub from_state: String,
    /// Its state after (`running` for a cancel requested of a running task).
    pub to_state: String,
    /// A running task was asked to stop; its worker sees it at its next heartbeat.
    pub cancel_requested: bool,
    /// Tasks downstream that were `blocked` by it and are queued again.
    pub unblocked: Vec<TaskId>,
    /// Tasks downstream that a cancel marked `blocked`.
    pub blocked: u64,
}

/// Everything known about one task, for an operator: its record, every
/// attempt, its journal, the verdicts, its cost and the merge record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TaskShow {
    /// The task as stored.
    pub task: TaskRecord,
    /// Whether the journal holds a `merged` event.
    pub merged: bool,
    /// Every claim, oldest first (all generations).
    pub attempts: Vec<Attempt>,
    /// Every journaled event this build knows, in order.
    pub events: Vec<Event>,
    /// Journaled events of a type this build does not know (e.g. a newer
    /// worker's), as stored.
    pub other_events: Vec<Value>,
    /// The verdicts of the task's runs, in order.
    pub verdicts: Vec<Verdict>,
    /// Its spend (calls, tokens, dollars) from the ledger; `key` is the task id.
    pub cost: CostRow,
    /// The last merge-step event (`type` `merged`, `merge_refused` or
    /// `needs_human`), as stored, if any.
    pub merge: Option<Value>,
    /// The operator controls applied or refused, in order.
    pub controls: Vec<Event>,
}

/// What the table allows for `action` in `state`: the new state, or the reason for refusing.
enum Decision {
    /// `queued` (retry, reimplement).
    Queue,
    /// `cancelled` at once.
    CancelNow,
    /// Cancel requested of a running task.
    RequestCancel,
    /// The merge step may run; nothing changes.
    Merge,
}

fn decide(action: ControlAction, state: &str, failing_dep: Option<&(String, String)>) -> Result<Decision, String> {
    use ControlAction::{Cancel, Reimplement, Retry};
    let dep_reason = |(dep, dep_state): &(String, String)| format!("dependency {dep} is {dep_state}; retry it first");
    match (action, state) {
        (_, "merged") => Err(match action {
            Cancel => "it is finished and merged into its target".to_owned(),
            ControlAction::Merge => "it is already merged into its target".to_owned(),
            _ => "its change is merged into its target; enqueue a new task to change it".to_owned(),
        }),
        (ControlAction::Merge, "done") => Ok(Decision::Merge),
        (ControlAction::Merge, "running") => Err("it is still running; merge it once it is done".to_owned()),
        (ControlAction::Merge, "queued" | "blocked") => {
            Err("it has not run yet; nothing is accepted to merge".to_owned())
        }
        (ControlAction::Merge, "failed" | "dead" | "cancelled") => {
            Err("its change was not accepted; retry or reimplement it first".to_owned())
        }
        (Retry | Reimplement, "running") => Err("it is running; cancel it first".to_owned()),
        (Retry, "queued") => Err("it is already queued".to_owned()),
        (Reimplement, "queued") => Err("it is queued and has not run since; cancel it first to start over".to_owned()),
        (Retry, "done") => {
            Err("it succeeded; reimplement it to discard its work and start over from the goal".to_owned())
        }
        (Reimplement, "blocked") => Err(failing_dep.map_or_else(
            || "it is blocked; retry it to queue it again".to_owned(),
            |d| format!("it never ran: {}", dep_reason(d)),
        )),
        (Retry | Reimplement, "failed" | "dead" | "cancelled" | "blocked" | "done") => match failing_dep {
            Some(d) => Err(dep_reason(d)),
            None => Ok(Decision::Queue),
        },
        (Cancel, "queued" | "blocked") => Ok(Decision::CancelNow),
        (Cancel, "running") => Ok(Decision::RequestCancel),
        (Cancel, "done" | "failed" | "dead" | "cancelled") => Err("it is finished".to_owned()),
        (_, other) => Err(format!("no {action} from state `{other}`")),
    }
}

/// A control's result inside its transaction: applied, or refused with
/// the state and reason (journaled after the rollback).
enum Applied {
    Done(ControlOutcome),
    Refused { state: String, reason: String },
}

impl Store {
    /// Queues a new attempt of a `failed`, `dead`, `cancelled` or (once its
    /// dependencies are fine) `blocked` task, keeping its history, with one
    /// more claim allowed; unblocks the dependants it blocked. See the
    /// module docs of `control.rs` for the table.
    pub async fn retry_task(&self, task: &str, by: &str) -> Result<ControlOutcome, StoreError> {
        self.control(task, ControlAction::Retry, by).await
    }

    /// Queues a `failed`, `dead`, `cancelled` or `done` (not merged) task to
    /// start over from its goal: the next claim carries the reimplement
    /// marker and no history of the earlier attempts, and its worker
    /// restores the directory to the base snapshot first. Refused for
    /// running (cancel first) and merged tasks.
    pub async fn reimplement_task(&self, task: &str, by: &str) -> Result<ControlOutcome, StoreError> {
        self.control(task, ControlAction::Reimplement, by).await
    }

    /// Cancels a queued or blocked task at once, or asks a running task's
    /// worker to stop (its next heartbeat answers [`StoreError::Cancelled`]).
    /// Refused for finished tasks.
    pub async fn cancel_task(&self, task: &str, by: &str) -> Result<ControlOutcome, StoreError> {
        self.control(task, ControlAction::Cancel, by).await
    }

    /// Checks that `task` may be merged (it is `done` and not merged yet)
    /// and journals the start of its merge step; the host then runs the
    /// merge step with this store as its journal, whose `merged` event
    /// moves the task to `merged`. Refused for any other state, with the
    /// reason. Two merges of one task at once are not prevented here: the
    /// merge step's compare-and-swap on the target makes the later one
    /// find nothing to merge.
    pub async fn merge_task(&self, task: &str, by: &str) -> Result<ControlOutcome, StoreError> {
        self.control(task, ControlAction::Merge, by).await
    }

    /// Applies `action` to `task` on behalf of `by`, through the table in
    /// the module docs of `control.rs`; [`StoreError::UnknownTask`] when
    /// there is no such task, [`StoreError::ControlRefused`] when the
    /// table refuses (journaled all the same).
    pub async fn control(&self, task: &str, action: ControlAction, by: &str) -> Result<ControlOutcome, StoreError> {
        match self.retry("control", |_| self.control_once(task, action, by)).await? {
            Applied::Done(outcome) => Ok(outcome),
            Applied::Refused { state, reason } => {
                let event = Event::now(
                    TaskId::new(task),
                    EventKind::OperatorControl {
                        action: action.name().to_owned(),
                        by: by.to_owned(),
                        from_state: state.clone(),
                        to_state: None,
                        reason: Some(reason.clone()),
                    },
                );
                if let Err(e) = self.append(event).await {
                    tracing::warn!(task, error = %e, "journaling a refused control failed");
                }
                Err(StoreError::ControlRefused { task: task.to_owned(), action, state, reason })
            }
        }
    }

    async fn control_once(&self, task: &str, action: ControlAction, by: &str) -> Result<Applied, StoreError> {
        let now = self.now_sql();
        let lock = match self.backend() {
            crate::Backend::Postgres => " FOR UPDATE",
            crate::Backend::Sqlite => "",
        };
        let select = format!("SELECT state, cancel_requested FROM tasks WHERE id = $1{lock}");
        let failing = "SELECT d.dep, p.state FROM task_deps d JOIN tasks p ON p.id = d.dep \
                       WHERE d.task = $1 AND p.state IN ('failed', 'dead', 'cancelled', 'blocked') \
                       ORDER BY d.dep LIMIT 1";
        let queue = format!(
            "UPDATE tasks SET state = 'queued', max_attempts = max_attempts + 1, reason = NULL, blocked_by = NULL, \
               outcome = NULL, finished_ms = NULL, state_since_ms = {now}, cancel_requested = 0 WHERE id = $1"
        );
        let reimplement = format!(
            "UPDATE tasks SET state = 'queued', max_attempts = max_attempts + 1, reason = NULL, blocked_by = NULL, \
               outcome = NULL, finished_ms = NULL, state_since_ms = {now}, cancel_requested = 0, reimplement = 1, \
               generation = generation + 1, generation_from = attempts WHERE id = $1"
        );
        let cancel_now = format!(
            "UPDATE tasks SET state = 'cancelled', reason = $2, blocked_by = NULL, finished_ms = {now}, \
               state_since_ms = {now} WHERE id = $1"
        );
        let request = "UPDATE tasks SET cancel_requested = 1 WHERE id = $1";
        // One layer of dependants per pass, until none is left to unblock.
        let unblock = format!(
            "WITH RECURSIVE down(id) AS (\
               SELECT d.task FROM task_deps d WHERE d.dep = $1 \
               UNION SELECT d.task FROM task_deps d JOIN down ON d.dep = down.id) \
             UPDATE tasks SET state = 'queued', blocked_by = NULL, reason = NULL, finished_ms = NULL, \
               state_since_ms = {now} \
             WHERE state = 'blocked' AND id IN (SELECT id FROM down) AND NOT EXISTS \
               (SELECT 1 FROM task_deps d JOIN tasks p ON p.id = d.dep WHERE d.task = tasks.id \
                AND p.state IN ('failed', 'dead', 'cancelled', 'blocked')) \
             RETURNING id"
        );
        let block = self.block_dependants_sql();
        let insert_event =
            "INSERT INTO events (id, task, at_ms, kind, body) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING";
        on_pool!(self, p => {
            let mut tx = begin_write!(self, p);
            let Some(row) = sqlx::query(&select).bind(task).fetch_optional(&mut *tx).await? else {
                tx.rollback().await?;
                return Err(StoreError::UnknownTask { task: task.to_owned() });
            };
            let queue_state: String = row.try_get(0)?;
            let already_requested = row.try_get::<i64, _>(1)? != 0;
            let merged = sqlx::query("SELECT 1 FROM events WHERE task = $1 AND kind = 'merged' LIMIT 1")
                .bind(task).fetch_optional(&mut *tx).await?.is_some();
            let state = if merged { "merged".to_owned() } else { queue_state.clone() };
            let failing_dep = match sqlx::query(failing).bind(task).fetch_optional(&mut *tx).await? {
                Some(r) => Some((r.try_get::<String, _>(0)?, r.try_get::<String, _>(1)?)),
                None => None,
            };
            let decision = match decide(action, &state, failing_dep.as_ref()) {
                Ok(d) => d,
                Err(reason) => {
                    tx.rollback().await?;
                    return Ok(Applied::Refused { state, reason });
                }
            };
            let mut outcome = ControlOutcome {
                task: TaskId::new(task),
                action,
                from_state: state.clone(),
                to_state: String::new(),
                cancel_requested: false,
                unblocked: Vec::new(),
                blocked: 0,
            };
            let note = match decision {
                Decision::Queue => {
                    let sql = if action == ControlAction::Reimplement { &reimplement } else { &queue };
                    sqlx::query(sql).bind(task).execute(&mut *tx).await?;
                    loop {
                        let rows = sqlx::query(&unblock).bind(task).fetch_all(&mut *tx).await?;
                        if rows.is_empty() {
                            break;
                        }
                        for r in rows {
                            outcome.unblocked.push(TaskId::new(r.try_get::<String, _>(0)?));
                        }
                    }
                    outcome.to_state = "queued".to_owned();
                    (!outcome.unblocked.is_empty()).then(|| {
                        let ids: Vec<&str> = outcome.unblocked.iter().map(TaskId::as_str).collect();
                        format!("unblocked {}", ids.join(", "))
                    })
                }
                Decision::CancelNow => {
                    sqlx::query(&cancel_now).bind(task).bind(format!("cancelled by {by}"))
                        .execute(&mut *tx).await?;
                    outcome.blocked = sqlx::query(&block).bind(task).bind(format!("dependency {task} is cancelled"))
                        .execute(&mut *tx).await?.rows_affected();
                    outcome.to_state = "cancelled".to_owned();
                    (outcome.blocked > 0).then(|| format!("{} dependant(s) blocked", outcome.blocked))
                }
                Decision::RequestCancel => {
                    sqlx::query(request).bind(task).execute(&mut *tx).await?;
                    outcome.cancel_requested = true;
                    outcome.to_state = "running".to_owned();
                    Some(if already_requested {
                        "cancel already requested; its worker stops at its next heartbeat".to_owned()
                    } else {
                        "cancel requested; its worker stops at its next heartbeat".to_owned()
                    })
                }
                Decision::Merge => {
                    outcome.to_state = state.clone();
                    Some("merge step started".to_owned())
                }
            };
            let event = Event::now(
                TaskId::new(task),
                EventKind::OperatorControl {
                    action: action.name().to_owned(),
                    by: by.to_owned(),
                    from_state: state,
                    to_state: Some(outcome.to_state.clone()),
                    reason: note,
                },
            );
            let body = serde_json::to_string(&event)
                .map_err(|e| StoreError::Corrupt { what: "event", message: e.to_string() })?;
            let at = i64::try_from(event.at_unix_ms).unwrap_or(i64::MAX);
            sqlx::query(insert_event).bind(uuid::Uuid::new_v4().to_string()).bind(task).bind(at)
                .bind("operator_control").bind(body).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(Applied::Done(outcome))
        })
    }

    /// Records `snapshot` as the base of the task `lease` holds (its
    /// directory before its first attempt), unless one is recorded already;
    /// answers the base in effect. [`StoreError::LeaseLost`] when the lease
    /// no longer holds the task.
    pub async fn record_base_snapshot(&self, lease: &Lease, snapshot: &str) -> Result<String, StoreError> {
        let sql = "UPDATE tasks SET base_snapshot = COALESCE(base_snapshot, $3) \
                   WHERE id = $1 AND lease_token = $2 AND state = 'running' RETURNING base_snapshot";
        let base: Option<Option<String>> = self
            .retry("record_base_snapshot", |_| async {
                on_pool!(self, p => Ok::<_, StoreError>(sqlx::query(sql).bind(lease.task.as_str()).bind(&lease.token)
                    .bind(snapshot).fetch_optional(p).await?.map(|r| r.try_get(0)).transpose()?))
            })
            .await?;
        match base {
            Some(Some(base)) => Ok(base),
            _ => Err(StoreError::LeaseLost { task: lease.task.to_string(), token: lease.token.clone() }),
        }
    }

    /// Everything known about `task` ([`TaskShow`]); [`StoreError::UnknownTask`]
    /// when there is none. Events of types this build does not know are kept
    /// as stored (`other_events`), so a newer worker's journal still shows.
    pub async fn show_task(&self, task: &str) -> Result<TaskShow, StoreError> {
        let select = format!("SELECT {TASK_COLUMNS} FROM tasks t WHERE t.id = $1");
        let cost_sql = "SELECT COUNT(*) AS calls, CAST(SUM(input_tokens) AS BIGINT) AS i, \
                        CAST(SUM(output_tokens) AS BIGINT) AS o, CAST(SUM(cost_micros) AS BIGINT) AS c \
                        FROM spend WHERE task = $1";
        let (record, attempts, rows, cost) = self
            .retry("show", |_| async {
                on_pool!(self, p => {
                    let Some(row) = sqlx::query(&select).bind(task).fetch_optional(p).await? else {
                        return Err(StoreError::UnknownTask { task: task.to_owned() });
                    };
                    let record = task_from_row(&row)?;
                    let attempts = sqlx::query("SELECT attempt, worker, started_ms, ended_ms, result FROM attempts \
                                                WHERE task = $1 ORDER BY attempt")
                        .bind(task).fetch_all(p).await?
                        .iter().map(attempt_from_row).collect::<Result<Vec<_>, _>>()?;
                    let rows = sqlx::query("SELECT kind, body FROM events WHERE task = $1 ORDER BY seq")
                        .bind(task).fetch_all(p).await?
                        .iter().map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<String, _>(1)?)))
                        .collect::<Result<Vec<_>, StoreError>>()?;
                    let c = sqlx::query(cost_sql).bind(task).fetch_one(p).await?;
                    let to_u64 = |v: Option<i64>| u64::try_from(v.unwrap_or(0)).unwrap_or(0);
                    let cost = CostRow {
                        key: task.to_owned(),
                        calls: to_u64(c.try_get("calls")?),
                        input_tokens: to_u64(c.try_get("i")?),
                        output_tokens: to_u64(c.try_get("o")?),
                        cost_usd: Usd::from_micros(c.try_get::<Option<i64>, _>("c")?.unwrap_or(0)),
                    };
                    Ok((record, attempts, rows, cost))
                })
            })
            .await?;
        let mut show = TaskShow {
            task: record,
            merged: false,
            attempts,
            events: Vec::new(),
            other_events: Vec::new(),
            verdicts: Vec::new(),
            cost,
            merge: None,
            controls: Vec::new(),
        };
        for (kind, body) in rows {
            let value: Value = serde_json::from_str(&body)
                .map_err(|e| StoreError::Corrupt { what: "event", message: e.to_string() })?;
            if MERGE_EVENT_TYPES.contains(&kind.as_str()) {
                show.merged |= kind == "merged";
                show.merge = Some(value.clone());
            }
            match serde_json::from_value::<Event>(value.clone()) {
                Ok(event) => {
                    match &event.kind {
                        EventKind::Verdict { verdict } => show.verdicts.push(verdict.clone()),
                        EventKind::OperatorControl { .. } => show.controls.push(event.clone()),
                        _ => {}
                    }
                    show.events.push(event);
                }
                Err(_) => show.other_events.push(value),
            }
        }
        Ok(show)
    }
}
