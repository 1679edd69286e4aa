//! [`StoreError`]: why a store operation failed, with the control-flow facts
//! (transient or not, lease lost, budget exceeded) as variants.
//!
//! Transient means the same operation may succeed later: I/O errors, pool
//! timeouts, protocol and TLS errors, PostgreSQL's SQLSTATE classes 08
//! (connection), 57P (server shutting down or starting) and 53 (insufficient
//! resources), 57014 (a statement cancelled by `statement_timeout`, e.g.
//! stuck behind a lock), 40001 (serialization failure) and 40P01 (deadlock), and
//! SQLite's BUSY and LOCKED. The store retries these inside each operation
//! (see [`Store`](crate::Store)), so a caller sees
//! [`StoreError::Transient`] only once they have lasted
//! [`StoreOptions::retry_for`](crate::StoreOptions::retry_for). Every other
//! driver error is [`StoreError::Database`]: trying again will not help.
//!
//! ```
//! use agent_store::StoreError;
//! let e = StoreError::LeaseLost { task: "t1".into(), token: "abc".into() };
//! assert!(!e.is_transient());
//! ```

use crate::Scope;
use agent_core::budget::Usd;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The URL names no backend this crate knows (`sqlite:` or `postgres:`).
    #[error("unsupported store url `{url}`: expected sqlite://PATH or postgres://…")]
    BadUrl {
        /// The URL, with any password removed.
        url: String,
    },
    /// The database could not be reached, restarted under us, or was busy:
    /// trying again later may succeed. Worker operations retry these with
    /// backoff before giving up with this error.
    #[error("database unavailable (transient): {source}")]
    Transient {
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// The database refused the operation; trying again will not help.
    #[error("database error: {source}")]
    Database {
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// The schema migrations could not be applied.
    #[error("applying migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The lease is no longer this worker's: it expired and the task was
    /// reclaimed (or it never existed). The worker must stop working on the task.
    #[error("lease {token} on task {task} was lost (expired and reclaimed)")]
    LeaseLost {
        /// The task.
        task: String,
        /// The lease token that is no longer valid.
        token: String,
    },
    /// Spending `requested_usd` more would take `scope` past its ceiling;
    /// nothing was recorded.
    #[error(
        "budget ceiling of {scope} `{key}` reached: {spent_usd} spent of {ceiling_usd}, {requested_usd} more refused"
    )]
    BudgetExceeded {
        /// Which kind of scope refused.
        scope: Scope,
        /// The scope's key (the task id, worker name, repository or tenant).
        key: String,
        /// The ceiling, in US dollars.
        ceiling_usd: Usd,
        /// Already spent or reserved, in US dollars.
        spent_usd: Usd,
        /// The amount that was refused.
        requested_usd: Usd,
    },
    /// A task with this id already exists with different content (an
    /// enqueue repeated with the same content is not an error).
    #[error("task {task} already exists with a different {}", differs.join(", "))]
    Conflict {
        /// The task id.
        task: String,
        /// What differs from the stored task: `priority`, `repo`, `tenant`,
        /// `payload`, `max_attempts`, `after`.
        differs: Vec<String>,
    },
    /// No reservation has this id (settle and release work from the
    /// stored reservation, so a made-up one is refused).
    #[error("no budget reservation {id}")]
    UnknownReservation {
        /// The reservation id.
        id: String,
    },
    /// A task names a dependency that is not in the queue.
    #[error("task {task} depends on unknown task {dependency}")]
    UnknownDependency {
        /// The task being enqueued.
        task: String,
        /// The missing dependency.
        dependency: String,
    },
    /// An operator cancelled the task this lease holds
    /// ([`Store::cancel_task`](crate::Store::cancel_task)): answered by
    /// its heartbeat (which still extended the lease). The worker must stop
    /// work on the task, restore its workspace and complete it with
    /// [`TaskResult::cancelled`](crate::TaskResult::cancelled);
    /// [`run_worker`](crate::run_worker) does.
    #[error("task {task} was cancelled by an operator")]
    Cancelled {
        /// The task.
        task: String,
    },
    /// No task has this id.
    #[error("no task {task}")]
    UnknownTask {
        /// The id asked for.
        task: String,
    },
    /// An operator control the task's state machine does not allow in its
    /// current state (retrying a done task, cancelling a finished one,
    /// reimplementing a running one…). Nothing changed; the refusal is
    /// journaled.
    #[error("{action} of task {task} refused: it is {state}: {reason}")]
    ControlRefused {
        /// The task.
        task: String,
        /// What was asked.
        action: crate::ControlAction,
        /// The task's state (`done`, `running`, `merged`, …).
        state: String,
        /// Why the state machine refuses it, and what to do instead.
        reason: String,
    },
    /// A stored value could not be read back (e.g. an event that is not JSON).
    #[error("stored {what} is unreadable: {message}")]
    Corrupt {
        /// What was being read.
        what: &'static str,
        /// The parser's message.
        message: String,
    },
}

impl StoreError {
    /// Whether the same operation may succeed if tried again later
    /// (connection lost, server restarting, database busy).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient { .. })
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(source: sqlx::Error) -> Self {
        if is_transient(&source) { Self::Transient { source } } else { Self::Database { source } }
    }
}

/// Whether a driver error is worth retrying: I/O and pool errors, a server
/// shutting down or starting, lost connections, serialization failures,
/// deadlocks, and SQLite's BUSY/LOCKED.
fn is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::WorkerCrashed | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(db) => {
            let Some(code) = db.code() else { return false };
            let code = code.as_ref();
            // PostgreSQL SQLSTATE classes: 08 connection exception, 57P0x
            // shutdown / cannot connect now, 53 insufficient resources,
            // 40001 serialization failure, 40P01 deadlock.
            if code.starts_with("08") || code.starts_with("57P") || code.starts_with("53") {
                return true;
            }
            // 57014: cancelled, here by the connection's statement_timeout.
            if code == "40001" || code == "40P01" || code == "57014" {
                return true;
            }
            // SQLite extended result codes: the primary code is the low byte.
            match code.parse::<i32>() {
                Ok(n) => matches!(n & 0xff, 5 | 6),
                Err(_) => false,
            }
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_are_transient_and_row_not_found_is_not() {
        let io: StoreError = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)).into();
        assert!(io.is_transient());
        let missing: StoreError = sqlx::Error::RowNotFound.into();
        assert!(!missing.is_transient());
    }
}
