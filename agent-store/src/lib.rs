//! `agent-store`: shared state for many agent workers on many machines, on
//! SQLite (embedded, one machine, many processes, WAL) or PostgreSQL (many
//! machines), behind one API.
//!
//! A [`Store`] opened from a URL applies its versioned migrations and is:
//! - an [`agent_core::Journal`]: events of every task, from every worker;
//! - a [`TaskQueue`]: tasks with priorities and dependencies, claimed
//!   atomically (`FOR UPDATE SKIP LOCKED` on PostgreSQL) under leases renewed
//!   by heartbeat; an expired lease is reclaimed with its attempt history;
//!   completion is idempotent and fenced by the lease, so no task is lost
//!   and none is completed twice; a task claimed `max_attempts` times
//!   without a final result is dead-lettered with the reason, and the
//!   dependants of a failed or dead task are marked `blocked` by it;
//!   enqueue is idempotent per task id;
//! - a [`BudgetLedger`]: spend per task, worker, repository and tenant, with
//!   ceilings enforced atomically across workers at claim time and before
//!   every model call ([`LedgerGuard`]); settled from the stored
//!   reservation, whose hold expires with a dead worker's lease;
//! - the queries a host needs: [`Store::costs`], [`Store::timeline`],
//!   [`Store::stuck`], [`Store::counts`];
//! - operator controls through the task's state machine:
//!   [`Store::retry_task`], [`Store::reimplement_task`],
//!   [`Store::cancel_task`] (a running task's worker sees the cancel at its
//!   next heartbeat, [`StoreError::Cancelled`]), and [`Store::show_task`];
//!   a control the state machine does not allow is
//!   [`StoreError::ControlRefused`], and every control is journaled.
//!
//! Transient database errors (server restarting, connection lost, SQLite
//! busy) are [`StoreError::Transient`] and are retried with backoff inside
//! each operation, so workers ride out a database restart; every connection
//! carries a statement timeout (PostgreSQL `statement_timeout`, SQLite busy
//! timeout). A [`run_worker`] whose heartbeats fail stops its run before
//! its lease expires, so no other worker claims a task still being worked on.
//!
//! ```
//! use agent_store::{NewTask, Store, TaskQueue, TaskResult, WorkerConfig, run_worker};
//! # let dir = tempfile::tempdir().unwrap();
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let store = Store::open(&format!("sqlite://{}?mode=rwc", dir.path().join("agents.db").display())).await.unwrap();
//! store.enqueue(NewTask::new(serde_json::json!({"goal": "make the tests pass", "dir": "/src/app"}))).await.unwrap();
//! let stats = run_worker(&store, &WorkerConfig::new("w1").draining(), |claim| async move {
//!     // … run the repair loop on claim.task.payload …
//!     TaskResult::succeeded("accepted")
//! })
//! .await
//! .unwrap();
//! assert_eq!(stats.completed, 1);
//! assert_eq!(store.counts().await.unwrap().done, 1);
//! # });
//! ```

mod control;
mod error;
mod guard;
mod ledger;
mod queries;
mod queue;
mod store;
#[cfg(feature = "test-utils")]
pub mod testing;
mod worker;

pub use control::{ControlAction, ControlOutcome, MERGE_EVENT_TYPES, TaskShow};
pub use error::StoreError;
pub use guard::LedgerGuard;
pub use ledger::{Budget, BudgetLedger, Reservation, Scope, Spend, SpendScopes};
pub use queries::{CostGroup, CostRow, QueueCounts, StuckTask, Timeline};
pub use queue::{Attempt, Claim, Completed, Lease, NewTask, TaskQueue, TaskRecord, TaskResult};
pub use store::{Backend, Store, StoreOptions};
pub use worker::{StopReason, WorkerConfig, WorkerStats, run_worker, run_worker_with};
