//! agent-store throughput with 8 concurrent workers, on SQLite and on a
//! throwaway PostgreSQL server, against what a user would otherwise write:
//!
//! - claims/s and p99 claim latency of `Store::claim` (+ `complete`) vs a
//!   naive claim (`SELECT … ORDER BY … LIMIT 1` then `UPDATE … WHERE
//!   state = 'queued'`, retried when another worker won the row) on the
//!   same database;
//! - journal appends/s of `Store` as a `Journal` vs the embedded
//!   `JsonlJournal` (one file, one process).
//!
//! Each worker is a tokio task with its own one-connection pool, on a
//! multi-thread runtime. Run with
//! `cargo bench --bench store` (sizes: `STORE_BENCH_TASKS`, default 2000;
//! `STORE_BENCH_APPENDS` per worker, default 500).

use agentkit::agent::JsonlJournal;
use agentkit::core::Journal;
use agentkit::core::event::{Event, EventKind, TaskId};
use agentkit::store::testing::PgServer;
use agentkit::store::{NewTask, Store, StoreOptions, TaskQueue, TaskResult};
use sqlx::Row;
use std::sync::Arc;
use std::time::{Duration, Instant};

const WORKERS: usize = 8;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct ClaimFigures {
    per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    lost_races: usize,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

async fn worker_store(url: &str) -> Store {
    Store::open_with(url, StoreOptions::default().with_max_connections(1)).await.expect("open store")
}

/// 8 workers drain `n` tasks with `Store::claim` + `complete`.
async fn bench_claims(url: &str, n: usize) -> ClaimFigures {
    let store = Store::open(url).await.expect("open store");
    for i in 0..n {
        store.enqueue(NewTask::new(serde_json::json!({"i": i})).with_priority((i % 5) as i64)).await.expect("enqueue");
    }
    let started = Instant::now();
    let mut joins = Vec::new();
    for w in 0..WORKERS {
        let s = worker_store(url).await;
        joins.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let t = Instant::now();
                let Some(c) = s.claim(&format!("w{w}"), Duration::from_secs(60)).await.expect("claim") else { break };
                lat.push(t.elapsed());
                s.complete(&c.lease, TaskResult::succeeded("ok")).await.expect("complete");
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for j in joins {
        lat.extend(j.await.expect("join"));
    }
    let elapsed = started.elapsed();
    assert_eq!(lat.len(), n, "every task claimed once");
    lat.sort();
    ClaimFigures {
        per_sec: n as f64 / elapsed.as_secs_f64(),
        p50_ms: percentile(&lat, 0.50),
        p99_ms: percentile(&lat, 0.99),
        lost_races: 0,
    }
}

/// What a user would write without SKIP LOCKED / BEGIN IMMEDIATE: read the
/// best queued row, then try to take it; another worker may have taken it
/// first (or, on SQLite, the read lock cannot be upgraded), so retry.
async fn bench_naive_claims(url: &str, n: usize, sqlite: bool) -> ClaimFigures {
    macro_rules! setup {
        ($pool:expr, $serial:expr) => {{
            let p = $pool;
            sqlx::query(&format!(
                "CREATE TABLE naive (seq {} PRIMARY KEY, priority BIGINT NOT NULL, state TEXT NOT NULL, worker TEXT)",
                $serial
            ))
            .execute(&p)
            .await
            .expect("create");
            for i in 0..n {
                sqlx::query("INSERT INTO naive (priority, state) VALUES ($1, 'queued')")
                    .bind((i % 5) as i64)
                    .execute(&p)
                    .await
                    .expect("insert");
            }
        }};
    }
    macro_rules! run {
        ($connect:expr) => {{
            let started = Instant::now();
            let mut joins = Vec::new();
            for w in 0..WORKERS {
                let pool = $connect;
                joins.push(tokio::spawn(async move {
                    let mut lat = Vec::new();
                    let mut lost = 0usize;
                    'claims: loop {
                        let t = Instant::now();
                        let seq: i64 = loop {
                            let attempt: Result<Option<i64>, sqlx::Error> = async {
                                let mut tx = pool.begin().await?;
                                let row = sqlx::query(
                                    "SELECT seq FROM naive WHERE state = 'queued' ORDER BY priority DESC, seq LIMIT 1",
                                )
                                .fetch_optional(&mut *tx)
                                .await?;
                                let Some(row) = row else { return Ok(None) };
                                let seq: i64 = row.try_get(0)?;
                                let took = sqlx::query(
                                    "UPDATE naive SET state = 'running', worker = $1 WHERE seq = $2 AND state = 'queued'",
                                )
                                .bind(format!("w{w}"))
                                .bind(seq)
                                .execute(&mut *tx)
                                .await?
                                .rows_affected();
                                tx.commit().await?;
                                Ok(if took == 1 { Some(seq) } else { Some(-1) })
                            }
                            .await;
                            match attempt {
                                Ok(None) => break 'claims,
                                Ok(Some(-1)) | Err(_) => lost += 1,
                                Ok(Some(seq)) => break seq,
                            }
                        };
                        lat.push(t.elapsed());
                        sqlx::query("UPDATE naive SET state = 'done' WHERE seq = $1")
                            .bind(seq)
                            .execute(&pool)
                            .await
                            .expect("complete");
                    }
                    (lat, lost)
                }));
            }
            let mut lat = Vec::new();
            let mut lost = 0;
            for j in joins {
                let (l, x) = j.await.expect("join");
                lat.extend(l);
                lost += x;
            }
            (started.elapsed(), lat, lost)
        }};
    }
    let (elapsed, mut lat, lost) = if sqlite {
        use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
        use std::str::FromStr;
        let opts = SqliteConnectOptions::from_str(url)
            .expect("url")
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30));
        setup!(SqlitePoolOptions::new().max_connections(1).connect_with(opts.clone()).await.expect("pool"), "INTEGER");
        run!(SqlitePoolOptions::new().max_connections(1).connect_with(opts.clone()).await.expect("pool"))
    } else {
        use sqlx::postgres::PgPoolOptions;
        setup!(PgPoolOptions::new().max_connections(1).connect(url).await.expect("pool"), "BIGSERIAL");
        run!(PgPoolOptions::new().max_connections(1).connect(url).await.expect("pool"))
    };
    assert_eq!(lat.len(), n, "every naive task claimed once");
    lat.sort();
    ClaimFigures {
        per_sec: n as f64 / elapsed.as_secs_f64(),
        p50_ms: percentile(&lat, 0.50),
        p99_ms: percentile(&lat, 0.99),
        lost_races: lost,
    }
}

fn event(task: &str, i: usize) -> Event {
    Event::now(TaskId::new(task), EventKind::BudgetStop { reason: format!("bench event {i}") })
}

/// 8 workers append `per_worker` events each through `journal`.
async fn bench_appends(journal: Arc<dyn Journal>, per_worker: usize) -> f64 {
    let started = Instant::now();
    let mut joins = Vec::new();
    for w in 0..WORKERS {
        let j = journal.clone();
        joins.push(tokio::spawn(async move {
            for i in 0..per_worker {
                j.append(event(&format!("task-{w}"), i)).await.expect("append");
            }
        }));
    }
    for j in joins {
        j.await.expect("join");
    }
    (WORKERS * per_worker) as f64 / started.elapsed().as_secs_f64()
}

/// Store appends where each worker has its own pool (own connection).
async fn bench_store_appends(url: &str, per_worker: usize) -> f64 {
    let started = Instant::now();
    let mut joins = Vec::new();
    for w in 0..WORKERS {
        let s = worker_store(url).await;
        joins.push(tokio::spawn(async move {
            for i in 0..per_worker {
                s.append(event(&format!("task-{w}"), i)).await.expect("append");
            }
        }));
    }
    for j in joins {
        j.await.expect("join");
    }
    (WORKERS * per_worker) as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let tasks = env_usize("STORE_BENCH_TASKS", 2000);
    let appends = env_usize("STORE_BENCH_APPENDS", 500);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().expect("runtime");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let jsonl: Arc<dyn Journal> =
            Arc::new(JsonlJournal::open(dir.path().join("journal.jsonl")).await.expect("jsonl"));
        let jsonl_rate = bench_appends(jsonl, appends).await;

        let sqlite_url = format!("sqlite://{}?mode=rwc", dir.path().join("store.db").display());
        let naive_url = format!("sqlite://{}?mode=rwc", dir.path().join("naive.db").display());
        let sqlite_claims = bench_claims(&sqlite_url, tasks).await;
        let sqlite_naive = bench_naive_claims(&naive_url, tasks, true).await;
        let sqlite_appends = bench_store_appends(&sqlite_url, appends).await;

        // Durability like SQLite's WAL + synchronous=NORMAL: a crash of the
        // machine may lose the last commits, never corrupts.
        let server = PgServer::start_with(&["-c", "synchronous_commit=off"]).expect("PostgreSQL server");
        let pg_claims = bench_claims(server.url(), tasks).await;
        let pg_naive = bench_naive_claims(server.url(), tasks, false).await;
        let pg_appends = bench_store_appends(server.url(), appends).await;

        println!("agent-store, {WORKERS} workers, {tasks} tasks, {appends} appends per worker");
        println!("| backend | claims/s (claim+complete) | p50 claim ms | p99 claim ms | naive claims/s | naive p99 ms | naive lost races | ratio | appends/s | JSONL appends/s |");
        println!("|---|---|---|---|---|---|---|---|---|---|");
        for (name, c, nv, a) in [
            ("SQLite (WAL)", &sqlite_claims, &sqlite_naive, sqlite_appends),
            ("PostgreSQL 15", &pg_claims, &pg_naive, pg_appends),
        ] {
            println!(
                "| {name} | {:.0} | {:.2} | {:.2} | {:.0} | {:.2} | {} | {:.2}x | {:.0} | {:.0} |",
                c.per_sec,
                c.p50_ms,
                c.p99_ms,
                nv.per_sec,
                nv.p99_ms,
                nv.lost_races,
                c.per_sec / nv.per_sec,
                a,
                jsonl_rate
            );
        }
        drop(server);
    });
}
