//! [`Store`]: one handle over SQLite or PostgreSQL, opened from a URL, with
//! its migrations applied; it is the [`Journal`](agent_core::Journal), the
//! [`TaskQueue`](crate::TaskQueue) and the [`BudgetLedger`](crate::BudgetLedger).
//!
//! **One type over two pools.** The pool is an enum, and each query is
//! written once and run through a macro against whichever pool the store
//! holds, so SQLite and PostgreSQL answer the same API and pass the same
//! tests. SQLite runs in WAL mode, and its write transactions begin with
//! `BEGIN IMMEDIATE` (the write lock taken up front, so no transaction fails
//! upgrading a read lock); PostgreSQL relies on row locks.
//!
//! **Time** is the database's clock, never a worker's: leases, queue states
//! and spend are stamped by the server, so workers on machines with skewed
//! clocks agree on when a lease expires.
//!
//! **Retries.** Every operation retries transient errors
//! ([`StoreError::Transient`]) with exponential backoff from 10 ms to 1 s
//! for [`StoreOptions::retry_for`] (60 s by default); the pool reconnects on
//! its own (sqlx tests a connection before handing it out). A retry is safe
//! because every write is idempotent: events, tasks and reservations carry
//! ids made by the client and are inserted with `ON CONFLICT DO NOTHING`,
//! and completion is fenced by the lease token.
//!
//! **Timeouts.** Every connection carries a bound on how long one statement
//! may wait: PostgreSQL's `statement_timeout`
//! ([`StoreOptions::statement_timeout`], sent with the connection's startup
//! parameters) and SQLite's busy timeout ([`StoreOptions::busy_timeout`]),
//! so a lock held by a stuck client delays an operation by at most its
//! retry window instead of hanging it.
//!
//! **Migrations** are `sqlx::migrate!` per backend (`migrations/sqlite`,
//! `migrations/postgres`), applied by [`Store::open`]. On PostgreSQL sqlx
//! serialises concurrent openers with an advisory lock; SQLite openers that
//! race retry, and the loser finds the migration applied.
//!
//! The library spawns no process; starting a throwaway PostgreSQL server for
//! tests is `testing::PgServer`'s job, behind the `test-utils` feature.
//!
//! ```
//! use agent_core::event::{Event, EventKind, TaskId};
//! use agent_core::Journal;
//! use agent_store::Store;
//! # let dir = tempfile::tempdir().unwrap();
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let url = format!("sqlite://{}?mode=rwc", dir.path().join("store.db").display());
//! let store = Store::open(&url).await.unwrap();
//! let task = TaskId::new("t1");
//! store.append(Event::now(task.clone(), EventKind::BudgetStop { reason: "cost".into() })).await.unwrap();
//! assert_eq!(store.events(&task).await.unwrap().len(), 1);
//! # });
//! ```

use crate::StoreError;
use agent_core::Journal;
use agent_core::event::{Event, TaskId};
use agent_core::journal::JournalError;
use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Row};
use std::future::Future;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// Which database a [`Store`] is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Backend {
    /// SQLite in WAL mode: one machine, many processes.
    Sqlite,
    /// PostgreSQL: many machines.
    Postgres,
}

/// How a [`Store`] connects and retries.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct StoreOptions {
    /// Connections in this process's pool (default 4).
    pub max_connections: u32,
    /// How long transient errors (server restarting, connection lost,
    /// database busy) are retried with backoff before an operation gives up
    /// (default 60 s).
    pub retry_for: Duration,
    /// SQLite's busy timeout, set on every connection: how long a statement
    /// waits for the database's lock before failing as busy (transient,
    /// retried) (default 30 s).
    pub busy_timeout: Duration,
    /// PostgreSQL's `statement_timeout`, set on every connection: a
    /// statement running (or waiting for a lock) longer is cancelled and
    /// fails as transient, retried within `retry_for` (default 30 s).
    pub statement_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 4,
            retry_for: Duration::from_secs(60),
            busy_timeout: Duration::from_secs(30),
            statement_timeout: Duration::from_secs(30),
        }
    }
}

impl StoreOptions {
    /// Sets the pool size.
    pub fn with_max_connections(mut self, n: u32) -> Self {
        self.max_connections = n.max(1);
        self
    }
    /// Sets how long transient errors are retried.
    pub fn with_retry_for(mut self, d: Duration) -> Self {
        self.retry_for = d;
        self
    }
    /// Sets SQLite's busy timeout.
    pub fn with_busy_timeout(mut self, d: Duration) -> Self {
        self.busy_timeout = d;
        self
    }
    /// Sets PostgreSQL's `statement_timeout` (at least 1 ms: 0 would mean none).
    pub fn with_statement_timeout(mut self, d: Duration) -> Self {
        self.statement_timeout = d.max(Duration::from_millis(1));
        self
    }
}

#[derive(Clone, Debug)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs the same body against whichever pool the store has; the body is
/// written once and type-checked once per backend.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pool {
            $crate::store::Pool::Sqlite($pool) => $body,
            $crate::store::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// Begins a write transaction: `BEGIN IMMEDIATE` on SQLite (the write lock
/// is taken up front, so no transaction has to upgrade a read lock and fail
/// with SQLITE_BUSY), a plain `BEGIN` on PostgreSQL (row locks do the rest).
macro_rules! begin_write {
    ($store:expr, $pool:ident) => {
        match $store.backend() {
            $crate::Backend::Sqlite => $pool.begin_with("BEGIN IMMEDIATE").await?,
            _ => $pool.begin().await?,
        }
    };
}
pub(crate) use begin_write;

/// Shared state for many workers: journal, task queue and budget ledger on
/// SQLite or PostgreSQL. Cheap to clone (the pool is shared).
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) pool: Pool,
    pub(crate) options: StoreOptions,
    url: String,
}

impl Store {
    /// Opens the store at `url` with default options and applies the
    /// migrations that are not applied yet.
    ///
    /// `sqlite://PATH?mode=rwc` (created if missing, WAL) or
    /// `postgres://USER@HOST:PORT/DB`.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with(url, StoreOptions::default()).await
    }

    /// Opens the store at `url` with `options`; see [`Store::open`].
    pub async fn open_with(url: &str, options: StoreOptions) -> Result<Self, StoreError> {
        let shown = redact(url);
        let pool = if url.starts_with("sqlite:") {
            let connect = SqliteConnectOptions::from_str(url)
                .map_err(|_| StoreError::BadUrl { url: shown.clone() })?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(options.busy_timeout)
                .disable_statement_logging();
            let pool = SqlitePoolOptions::new()
                .max_connections(options.max_connections)
                .acquire_timeout(Duration::from_secs(30))
                .connect_lazy_with(connect);
            Pool::Sqlite(pool)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let timeout_ms = options.statement_timeout.as_millis().max(1);
            let connect = PgConnectOptions::from_str(url)
                .map_err(|_| StoreError::BadUrl { url: shown.clone() })?
                .options([("statement_timeout", format!("{timeout_ms}ms"))])
                .disable_statement_logging();
            let pool = PgPoolOptions::new()
                .max_connections(options.max_connections)
                .acquire_timeout(Duration::from_secs(5))
                .connect_lazy_with(connect);
            Pool::Postgres(pool)
        } else {
            return Err(StoreError::BadUrl { url: shown });
        };
        let store = Self { pool, options, url: shown };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies pending migrations, retrying while the server is unreachable
    /// or another process is applying them at the same moment.
    async fn migrate(&self) -> Result<(), StoreError> {
        let deadline = tokio::time::Instant::now() + self.options.retry_for;
        let mut delay = Duration::from_millis(20);
        loop {
            let result = match &self.pool {
                Pool::Sqlite(p) => sqlx::migrate!("migrations/sqlite").run(p).await,
                Pool::Postgres(p) => sqlx::migrate!("migrations/postgres").run(p).await,
            };
            match result {
                Ok(()) => return Ok(()),
                Err(e) if tokio::time::Instant::now() < deadline => {
                    // Two SQLite processes may both see a migration as
                    // pending; the loser fails and sees it applied next time.
                    tracing::debug!(error = %e, "migration attempt failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(1));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Which database this store is on.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// The URL the store was opened with, password removed.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Closes the pool; later operations fail.
    pub async fn close(&self) {
        on_pool!(self, p => p.close().await)
    }

    /// `FOR UPDATE OF t SKIP LOCKED` on PostgreSQL, nothing on SQLite (whose
    /// writers are serialised by `BEGIN IMMEDIATE`).
    pub(crate) fn skip_locked(&self, alias: &str) -> String {
        match self.backend() {
            Backend::Postgres => format!(" FOR UPDATE OF {alias} SKIP LOCKED"),
            Backend::Sqlite => String::new(),
        }
    }

    /// Runs `op` until it succeeds, fails permanently, or transient errors
    /// have lasted `retry_for`; waits with exponential backoff (10 ms to 1 s)
    /// between tries.
    pub(crate) async fn retry<T, F, Fut>(&self, what: &'static str, mut op: F) -> Result<T, StoreError>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        let deadline = tokio::time::Instant::now() + self.options.retry_for;
        let mut delay = Duration::from_millis(10);
        let mut attempt = 0;
        loop {
            attempt += 1;
            match op(attempt).await {
                Err(e) if e.is_transient() && tokio::time::Instant::now() < deadline => {
                    tracing::debug!(operation = what, attempt, error = %e, "transient store error; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(1));
                }
                other => return other,
            }
        }
    }

    /// The database's clock, in Unix milliseconds: every lease is measured
    /// on it, so workers on machines with skewed clocks still agree.
    pub(crate) const NOW_SQLITE: &'static str = "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)";
    pub(crate) const NOW_POSTGRES: &'static str = "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)";

    /// SQL text of the database's current time in Unix milliseconds.
    pub(crate) fn now_sql(&self) -> &'static str {
        match self.backend() {
            Backend::Sqlite => Self::NOW_SQLITE,
            Backend::Postgres => Self::NOW_POSTGRES,
        }
    }

    async fn append_once(&self, id: &str, event: &Event, body: &str, kind: &str) -> Result<(), StoreError> {
        let at = i64::try_from(event.at_unix_ms).unwrap_or(i64::MAX);
        let sql =
            "INSERT INTO events (id, task, at_ms, kind, body) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING";
        on_pool!(self, p => {
            sqlx::query(sql).bind(id).bind(event.task.as_str()).bind(at).bind(kind).bind(body).execute(p).await?;
        });
        Ok(())
    }

    /// Every event of `task` in append order.
    pub(crate) async fn events_of(&self, task: &str) -> Result<Vec<Event>, StoreError> {
        let sql = "SELECT body FROM events WHERE task = $1 ORDER BY seq";
        let bodies: Vec<String> = self
            .retry("events", |_| async move {
                let rows = on_pool!(self, p => sqlx::query(sql).bind(task).fetch_all(p).await?
                    .iter().map(|r| r.try_get::<String, _>(0)).collect::<Result<Vec<_>, _>>()?);
                Ok(rows)
            })
            .await?;
        bodies
            .iter()
            .map(|b| serde_json::from_str(b).map_err(|e| StoreError::Corrupt { what: "event", message: e.to_string() }))
            .collect()
    }

    fn journal_error(&self, e: StoreError) -> JournalError {
        JournalError::Io { path: PathBuf::from(&self.url), source: std::io::Error::other(e) }
    }
}

#[async_trait]
impl Journal for Store {
    /// Inserts the event. Retried on transient errors; each call carries a
    /// fresh id, so a retry after a lost acknowledgement stores it once.
    async fn append(&self, event: Event) -> Result<(), JournalError> {
        let value = serde_json::to_value(&event).map_err(|e| JournalError::Serialize(e.to_string()))?;
        let kind = value.get("type").and_then(|v| v.as_str()).unwrap_or("unknown").to_owned();
        let body = value.to_string();
        let id = uuid::Uuid::new_v4().to_string();
        self.retry("append", |_| self.append_once(&id, &event, &body, &kind)).await.map_err(|e| self.journal_error(e))
    }

    async fn events(&self, task: &TaskId) -> Result<Vec<Event>, JournalError> {
        self.events_of(task.as_str()).await.map_err(|e| self.journal_error(e))
    }
}

/// `url` with the password (between `:` and `@` after the scheme) removed.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let Some((auth, host)) = rest.split_once('@') else { return url.to_owned() };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_hides_the_password_and_keeps_the_rest() {
        assert_eq!(redact("postgres://bob:s3cret@db:5432/q"), "postgres://bob:***@db:5432/q");
        assert_eq!(redact("sqlite:///tmp/x.db?mode=rwc"), "sqlite:///tmp/x.db?mode=rwc");
    }
}
