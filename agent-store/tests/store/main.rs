//! Integration tests of agent-store against SQLite and a real PostgreSQL
//! server (started per test by `agent_store::testing`, or the server named
//! by `AGENT_STORE_PG_URL`). Multi-process tests re-run this test binary as
//! worker processes (see `worker_process_entry`).

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod controls;
mod helpers;
mod reliability;

use agent_core::Journal;
use agent_core::event::{Event, EventKind, TaskId};
use agent_store::testing::PgServer;
use agent_store::{
    BudgetLedger, Completed, CostGroup, NewTask, Scope, Spend, SpendScopes, Store, StoreError, StoreOptions, TaskQueue,
    TaskResult, WorkerConfig, run_worker,
};
use helpers::{Db, WorkerProcess, assert_each_task_done_exactly_once, side_effects};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// Not a test on its own: when `AGENT_STORE_TEST_WORKER` is set, this runs
/// as a worker process spawned by the multi-process tests below.
#[test]
fn worker_process_entry() {
    helpers::worker_main();
}

// ---------------------------------------------------------------- draining

async fn eight_processes_drain_200_tasks(db: Db) {
    let store = Store::open(&db.url).await.unwrap();
    let mut previous: Option<TaskId> = None;
    for i in 0..200 {
        let mut task =
            NewTask::new(json!({"goal": format!("task {i}")})).with_id(format!("t{i:03}")).with_priority(i % 7);
        // Every tenth task waits for the one enqueued before it.
        if i % 10 == 9 {
            task = task.after(previous.clone().unwrap());
        }
        previous = Some(store.enqueue(task).await.unwrap());
    }
    let log = db.dir().join("side-effects.log");
    let workers: Vec<_> = (0..8)
        .map(|n| WorkerProcess::spawn(&db.url, &format!("w{n}"), &log, &[("AGENT_STORE_TEST_WORK_MS", "5")]))
        .collect();
    for w in workers {
        w.wait_success(Duration::from_secs(240)).await;
    }
    assert_each_task_done_exactly_once(&store, 200).await;
    let effects = side_effects(&log);
    assert_eq!(effects.len(), 200, "each task's side effect happens once");
    let distinct: std::collections::BTreeSet<_> = effects.iter().map(|(task, _)| task.clone()).collect();
    assert_eq!(distinct.len(), 200);
    let workers_used: std::collections::BTreeSet<_> = effects.iter().map(|(_, w)| w.clone()).collect();
    assert!(workers_used.len() >= 2, "work was shared, got {workers_used:?}");
    // Every worker journaled two events per task through the store.
    assert_eq!(store.events(&TaskId::new("t042")).await.unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_worker_processes_drain_200_tasks_on_sqlite_each_exactly_once() {
    eight_processes_drain_200_tasks(Db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_worker_processes_drain_200_tasks_on_postgres_each_exactly_once() {
    eight_processes_drain_200_tasks(Db::postgres().await).await;
}

// ---------------------------------------------------------------- killed worker

async fn killed_worker_task_is_reclaimed(db: Db) {
    let store = Store::open(&db.url).await.unwrap();
    store.enqueue(NewTask::new(json!({"goal": "g"})).with_id("victim")).await.unwrap();
    let log = db.dir().join("side-effects.log");
    let doomed = WorkerProcess::spawn(
        &db.url,
        "doomed",
        &log,
        &[("AGENT_STORE_TEST_HANG", "1"), ("AGENT_STORE_TEST_LEASE_MS", "1000")],
    );
    // Wait until it is mid-task, then SIGKILL it: no cleanup runs.
    helpers::wait_for(Duration::from_secs(60), || side_effects(&log).iter().any(|(t, _)| t == "victim")).await;
    doomed.kill();

    let config =
        WorkerConfig::new("rescuer").with_lease(Duration::from_secs(1)).with_poll(Duration::from_millis(50)).draining();
    let seen_history = Arc::new(std::sync::Mutex::new(Vec::new()));
    let history = seen_history.clone();
    let started = std::time::Instant::now();
    let stats = run_worker(&store, &config, |claim| {
        history.lock().unwrap().extend(claim.history.clone());
        async { TaskResult::succeeded("accepted") }
    })
    .await
    .unwrap();
    assert_eq!(stats.completed, 1);
    assert!(started.elapsed() < Duration::from_secs(30));

    let history = seen_history.lock().unwrap().clone();
    assert_eq!(history.len(), 1, "the rescuer sees the dead worker's attempt");
    assert_eq!(history[0].worker, "doomed");
    assert_eq!(history[0].result.as_deref(), Some("lease_expired"));

    let timeline = store.timeline("victim").await.unwrap().unwrap();
    let attempts: Vec<_> =
        timeline.attempts.iter().map(|a| (a.attempt, a.worker.as_str(), a.result.as_deref())).collect();
    assert_eq!(attempts, [(1, "doomed", Some("lease_expired")), (2, "rescuer", Some("completed"))]);
    assert_eq!(timeline.task.state, "done");
    assert_eq!(timeline.task.completions, 1);
    // The dead worker journaled its start before dying; the events stay.
    assert_eq!(timeline.events.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_task_on_sqlite_loses_its_task_to_another_after_lease_expiry() {
    killed_worker_task_is_reclaimed(Db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_task_on_postgres_loses_its_task_to_another_after_lease_expiry() {
    killed_worker_task_is_reclaimed(Db::postgres().await).await;
}

// ---------------------------------------------------------------- leases

async fn stale_leases_are_fenced(db: Db) {
    let store = Store::open(&db.url).await.unwrap();
    store.enqueue(NewTask::new(json!({})).with_id("a")).await.unwrap();
    let first = store.claim("slow", Duration::from_millis(1000)).await.unwrap().unwrap();
    assert_eq!(first.lease.attempt, 1);
    assert!(store.claim("other", Duration::from_secs(10)).await.unwrap().is_none(), "a live lease is not reclaimed");
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let second = store.claim("fast", Duration::from_secs(10)).await.unwrap().unwrap();
    assert_eq!(second.lease.attempt, 2);
    assert_eq!(second.history.len(), 1);
    assert!(matches!(store.heartbeat(&first.lease, Duration::from_secs(10)).await, Err(StoreError::LeaseLost { .. })));
    assert!(matches!(
        store.complete(&first.lease, TaskResult::succeeded("late")).await,
        Err(StoreError::LeaseLost { .. })
    ));
    store.heartbeat(&second.lease, Duration::from_secs(10)).await.unwrap();
    assert_eq!(store.complete(&second.lease, TaskResult::succeeded("ok")).await.unwrap(), Completed::Completed);
    assert_eq!(store.complete(&second.lease, TaskResult::succeeded("ok")).await.unwrap(), Completed::AlreadyCompleted);
    let task = store.timeline("a").await.unwrap().unwrap().task;
    assert_eq!((task.state.as_str(), task.completions, task.outcome.as_deref()), ("done", 1, Some("ok")));
}

#[tokio::test]
async fn on_sqlite_a_reclaimed_lease_can_neither_heartbeat_nor_complete_and_a_retried_completion_is_acknowledged_once()
{
    stale_leases_are_fenced(Db::sqlite()).await;
}

#[tokio::test]
async fn on_postgres_a_reclaimed_lease_can_neither_heartbeat_nor_complete_and_a_retried_completion_is_acknowledged_once()
 {
    stale_leases_are_fenced(Db::postgres().await).await;
}

// ---------------------------------------------------------------- order

async fn claim_order(db: Db) {
    let store = Store::open(&db.url).await.unwrap();
    let a = store.enqueue(NewTask::new(json!({})).with_id("a")).await.unwrap();
    store.enqueue(NewTask::new(json!({})).with_id("b").with_priority(10)).await.unwrap();
    store.enqueue(NewTask::new(json!({})).with_id("c").with_priority(100).after(a)).await.unwrap();
    let lease = Duration::from_secs(30);
    let first = store.claim("w", lease).await.unwrap().unwrap();
    let second = store.claim("w", lease).await.unwrap().unwrap();
    assert_eq!((first.task.id.as_str(), second.task.id.as_str()), ("b", "a"));
    assert!(store.claim("w", lease).await.unwrap().is_none(), "c waits for a");
    store.complete(&second.lease, TaskResult::failed("rolled_back")).await.unwrap();
    assert!(store.claim("w", lease).await.unwrap().is_none(), "a failed dependency does not release c");
    let c = store.timeline("c").await.unwrap().unwrap().task;
    assert_eq!((c.state.as_str(), c.blocked_by.as_ref().map(TaskId::as_str)), ("blocked", Some("a")));
    assert!(matches!(
        store.enqueue(NewTask::new(json!({})).with_id("d").after(TaskId::new("nope"))).await,
        Err(StoreError::UnknownDependency { .. })
    ));
    assert!(matches!(
        store.enqueue(NewTask::new(json!({"other": 1})).with_id("a")).await,
        Err(StoreError::Conflict { .. })
    ));
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.queued, counts.running, counts.failed, counts.blocked), (0, 1, 1, 1));
}

#[tokio::test]
async fn on_sqlite_claims_follow_priority_then_enqueue_order_and_wait_for_dependencies_to_succeed() {
    claim_order(Db::sqlite()).await;
}

#[tokio::test]
async fn on_postgres_claims_follow_priority_then_enqueue_order_and_wait_for_dependencies_to_succeed() {
    claim_order(Db::postgres().await).await;
}

// ---------------------------------------------------------------- budget

async fn budget_race(db: Db) {
    // Two workers with separate pools: they share nothing but the database.
    let a = Arc::new(Store::open_with(&db.url, StoreOptions::default().with_max_connections(4)).await.unwrap());
    let b = Arc::new(Store::open_with(&db.url, StoreOptions::default().with_max_connections(4)).await.unwrap());
    a.set_ceiling(Scope::Tenant, "acme", usd(1.00)).await.unwrap();
    let mut joins = Vec::new();
    for (n, store) in [a.clone(), b.clone()].into_iter().enumerate() {
        for lane in 0..4 {
            let store = store.clone();
            joins.push(tokio::spawn(async move {
                let who = SpendScopes::new(format!("task-{n}-{lane}"), format!("worker-{n}"), "repo", "acme");
                let mut admitted = 0;
                for _ in 0..10 {
                    match store.reserve(&who, usd(0.05)).await {
                        Ok(r) => {
                            store.settle(&r, &Spend::new("openai", "gpt-4.1-mini", usd(0.05), 10, 1)).await.unwrap();
                            admitted += 1;
                        }
                        Err(StoreError::BudgetExceeded { scope, ceiling_usd, .. }) => {
                            assert_eq!((scope, ceiling_usd), (Scope::Tenant, usd(1.0)));
                        }
                        Err(e) => panic!("{e}"),
                    }
                }
                admitted
            }));
        }
    }
    let mut admitted = 0;
    for j in joins {
        admitted += j.await.unwrap();
    }
    // 80 attempts of $0.05 against a $1.00 ceiling: exactly 20 fit.
    assert_eq!(admitted, 20);
    let rows = a.costs(CostGroup::Tenant).await.unwrap();
    assert_eq!((rows[0].calls, rows[0].cost_usd.dollars()), (20, 1.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_sqlite_a_ceiling_hit_by_two_workers_at_once_admits_exactly_what_fits() {
    budget_race(Db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_postgres_a_ceiling_hit_by_two_workers_at_once_admits_exactly_what_fits() {
    budget_race(Db::postgres().await).await;
}

async fn exhausted_budget_blocks_claims(db: Db) {
    let store = Store::open(&db.url).await.unwrap();
    store.enqueue(NewTask::new(json!({})).with_id("broke").with_tenant("acme").with_priority(5)).await.unwrap();
    store.enqueue(NewTask::new(json!({})).with_id("fine").with_tenant("other")).await.unwrap();
    store.set_ceiling(Scope::Tenant, "acme", usd(0.10)).await.unwrap();
    let r = store.reserve(&SpendScopes::new("earlier", "w", "", "acme"), usd(0.10)).await.unwrap();
    store.settle(&r, &Spend::new("anthropic", "claude", usd(0.10), 5, 5)).await.unwrap();
    let claim = store.claim("w", Duration::from_secs(10)).await.unwrap().unwrap();
    assert_eq!(claim.task.id.as_str(), "fine", "the tenant at its ceiling gets no claim");
    assert!(store.claim("w", Duration::from_secs(10)).await.unwrap().is_none());
    store.set_ceiling(Scope::Tenant, "acme", usd(0.20)).await.unwrap();
    assert_eq!(store.claim("w", Duration::from_secs(10)).await.unwrap().unwrap().task.id.as_str(), "broke");
}

#[tokio::test]
async fn on_sqlite_a_task_whose_tenant_reached_its_ceiling_is_not_claimed() {
    exhausted_budget_blocks_claims(Db::sqlite()).await;
}

#[tokio::test]
async fn on_postgres_a_task_whose_tenant_reached_its_ceiling_is_not_claimed() {
    exhausted_budget_blocks_claims(Db::postgres().await).await;
}

/// A model that answers every call with a fixed cost and counts the calls it got.
struct CountingModel {
    id: agent_core::provider::ProviderId,
    calls: std::sync::atomic::AtomicUsize,
}

#[agent_core::async_trait]
impl agent_core::LlmProvider for CountingModel {
    fn id(&self) -> &agent_core::provider::ProviderId {
        &self.id
    }
    async fn complete(
        &self,
        _req: agent_core::provider::CompletionRequest,
    ) -> Result<agent_core::provider::Completion, agent_core::provider::ProviderError> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(2)).await;
        let mut c = agent_core::provider::Completion::new(self.id.clone(), "{}");
        c.cost_usd = Some(usd(0.10));
        Ok(c)
    }
    async fn stream(
        &self,
        _req: agent_core::provider::CompletionRequest,
    ) -> Result<agent_core::provider::CompletionStream, agent_core::provider::ProviderError> {
        Err(agent_core::provider::ProviderError::new(
            agent_core::provider::ProviderErrorKind::InvalidRequest,
            self.id.clone(),
            "no streams",
        ))
    }
}

async fn guarded_model_calls(db: Db) {
    use agent_core::LlmProvider;
    use agent_core::provider::{CompletionRequest, Message, ProviderErrorKind};
    use agent_store::LedgerGuard;
    let model = Arc::new(CountingModel {
        id: agent_core::provider::ProviderId::new("openai:gpt-4.1-mini"),
        calls: std::sync::atomic::AtomicUsize::new(0),
    });
    let mut joins = Vec::new();
    for worker in 0..2 {
        // Each worker process has its own pool; they share only the database.
        let store = Arc::new(Store::open(&db.url).await.unwrap());
        if worker == 0 {
            store.set_ceiling(Scope::Repo, "app", usd(0.50)).await.unwrap();
        }
        for lane in 0..3 {
            let who = SpendScopes::new(format!("t{worker}{lane}"), format!("w{worker}"), "app", "acme");
            let guard = LedgerGuard::new(model.clone(), store.clone(), who, usd(0.10));
            joins.push(tokio::spawn(async move {
                let mut refused = 0;
                for _ in 0..4 {
                    match guard.complete(CompletionRequest::new(vec![Message::user("plan")])).await {
                        Ok(_) => {}
                        Err(e) if matches!(e.kind, ProviderErrorKind::QuotaExhausted { .. }) => refused += 1,
                        Err(e) => panic!("{e}"),
                    }
                }
                assert_eq!(guard.refusals(), refused);
                refused
            }));
        }
    }
    let mut refused = 0;
    for j in joins {
        refused += j.await.unwrap();
    }
    // 24 calls of $0.10 (estimate = cost) against a $0.50 ceiling: 5 reach
    // the model, 19 are refused before it.
    assert_eq!(model.calls.load(std::sync::atomic::Ordering::SeqCst), 5);
    assert_eq!(refused, 19);
    let store = Store::open(&db.url).await.unwrap();
    let rows = store.costs(CostGroup::Provider).await.unwrap();
    assert_eq!((rows[0].key.as_str(), rows[0].calls, rows[0].cost_usd.dollars()), ("openai", 5, 0.5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_sqlite_model_calls_past_a_repo_ceiling_are_refused_before_reaching_the_model() {
    guarded_model_calls(Db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_postgres_model_calls_past_a_repo_ceiling_are_refused_before_reaching_the_model() {
    guarded_model_calls(Db::postgres().await).await;
}

// ---------------------------------------------------------------- sqlite lock

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_workers_wait_out_another_process_holding_the_write_lock_and_lose_nothing() {
    use sqlx::Connection;
    let db = Db::sqlite();
    let store = Store::open(&db.url).await.unwrap();
    for i in 0..60 {
        store.enqueue(NewTask::new(json!({"n": i})).with_id(format!("l{i:02}"))).await.unwrap();
    }
    let log = db.dir().join("side-effects.log");
    let workers: Vec<_> = (0..4)
        .map(|n| WorkerProcess::spawn(&db.url, &format!("w{n}"), &log, &[("AGENT_STORE_TEST_WORK_MS", "20")]))
        .collect();
    helpers::wait_for(Duration::from_secs(120), || side_effects(&log).len() >= 10).await;
    // Another connection takes the write lock and sits on it for 2 s.
    let mut blocker = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE").execute(&mut blocker).await.unwrap();
    let during = side_effects(&log).len();
    tokio::time::sleep(Duration::from_secs(2)).await;
    sqlx::query("COMMIT").execute(&mut blocker).await.unwrap();
    for w in workers {
        w.wait_success(Duration::from_secs(240)).await;
    }
    assert!(during < 60, "the lock was taken mid-run ({during} done before it)");
    assert_each_task_done_exactly_once(&store, 60).await;
}

// ---------------------------------------------------------------- queries

async fn queries(db: Db) {
    let store = Store::open(&db.url).await.unwrap();
    store.enqueue(NewTask::new(json!({"goal": "g"})).with_id("t1").with_repo("r1")).await.unwrap();
    let spends = [
        ("t1", "r1", "openai", "gpt-4.1-mini", 0.25, 100, 10),
        ("t1", "r1", "anthropic", "claude-sonnet", 0.50, 200, 20),
        ("t2", "r2", "openai", "gpt-4.1-mini", 1.00, 300, 30),
    ];
    for (task, repo, provider, model, dollars, i, o) in spends {
        let r = store.reserve(&SpendScopes::new(task, "w1", repo, "acme"), usd(0.01)).await.unwrap();
        store.settle(&r, &Spend::new(provider, model, usd(dollars), i, o)).await.unwrap();
        store.settle(&r, &Spend::new(provider, model, usd(dollars), i, o)).await.unwrap(); // a retry records nothing more
    }
    let by = |rows: Vec<agent_store::CostRow>| -> Vec<(String, u64, f64)> {
        rows.into_iter().map(|r| (r.key, r.calls, r.cost_usd.dollars())).collect()
    };
    assert_eq!(
        by(store.costs(CostGroup::Task).await.unwrap()),
        [("t1".to_owned(), 2, 0.75), ("t2".to_owned(), 1, 1.0)]
    );
    assert_eq!(
        by(store.costs(CostGroup::Provider).await.unwrap()),
        [("anthropic".to_owned(), 1, 0.5), ("openai".to_owned(), 2, 1.25)]
    );
    assert_eq!(
        by(store.costs(CostGroup::Model).await.unwrap()),
        [("claude-sonnet".to_owned(), 1, 0.5), ("gpt-4.1-mini".to_owned(), 2, 1.25)]
    );
    assert_eq!(
        by(store.costs(CostGroup::Repo).await.unwrap()),
        [("r1".to_owned(), 2, 0.75), ("r2".to_owned(), 1, 1.0)]
    );
    let days = store.costs(CostGroup::Day).await.unwrap();
    assert_eq!(days.len(), 1);
    assert_eq!(days[0].key.len(), "2026-11-22".len());
    assert_eq!((days[0].input_tokens, days[0].output_tokens), (600, 60));

    store
        .append(Event::now(TaskId::new("t1"), EventKind::TaskStarted { goal: "g".into(), root: "/r".into() }))
        .await
        .unwrap();
    let claim = store.claim("w1", Duration::from_secs(30)).await.unwrap().unwrap();
    let timeline = store.timeline("t1").await.unwrap().unwrap();
    assert_eq!(timeline.events.len(), 1);
    assert_eq!(timeline.attempts.len(), 1);
    assert_eq!(timeline.task.worker.as_deref(), Some("w1"));
    assert!(store.timeline("nope").await.unwrap().is_none());

    tokio::time::sleep(Duration::from_millis(300)).await;
    let stuck = store.stuck(Duration::from_millis(200)).await.unwrap();
    assert_eq!(stuck.len(), 1);
    assert_eq!(stuck[0].task.id.as_str(), "t1");
    assert!(stuck[0].for_ms >= 200);
    assert!(store.stuck(Duration::from_secs(3600)).await.unwrap().is_empty());
    store.complete(&claim.lease, TaskResult::succeeded("accepted")).await.unwrap();
    assert!(store.stuck(Duration::from_millis(0)).await.unwrap().is_empty(), "finished tasks are never stuck");
}

#[tokio::test]
async fn on_sqlite_costs_group_by_task_provider_model_repo_and_day_and_timeline_and_stuck_report_the_task() {
    queries(Db::sqlite()).await;
}

#[tokio::test]
async fn on_postgres_costs_group_by_task_provider_model_repo_and_day_and_timeline_and_stuck_report_the_task() {
    queries(Db::postgres().await).await;
}

// ---------------------------------------------------------------- restart

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_survive_a_postgres_restart_mid_run_and_finish_every_task_once() {
    let server = tokio::task::spawn_blocking(PgServer::start).await.unwrap().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(server.url()).await.unwrap();
    for i in 0..120 {
        store.enqueue(NewTask::new(json!({"n": i})).with_id(format!("r{i:03}"))).await.unwrap();
    }
    let log = dir.path().join("side-effects.log");
    let workers: Vec<_> = (0..8)
        .map(|n| {
            WorkerProcess::spawn(
                server.url(),
                &format!("w{n}"),
                &log,
                &[("AGENT_STORE_TEST_WORK_MS", "40"), ("AGENT_STORE_TEST_LEASE_MS", "5000")],
            )
        })
        .collect();
    helpers::wait_for(Duration::from_secs(120), || side_effects(&log).len() >= 30).await;
    let done_before = side_effects(&log).len();
    let postmaster = |s: &PgServer| std::fs::read_to_string(s.dir().join("data/postmaster.pid")).unwrap();
    let pid_before = postmaster(&server);
    let server = tokio::task::spawn_blocking(move || {
        server.restart().unwrap();
        server
    })
    .await
    .unwrap();
    assert_ne!(postmaster(&server).lines().next(), pid_before.lines().next(), "a new server process runs");
    for w in workers {
        w.wait_success(Duration::from_secs(240)).await;
    }
    assert!(done_before < 120, "the restart happened mid-run ({done_before} done before it)");
    assert_each_task_done_exactly_once(&store, 120).await;
    let effects = side_effects(&log);
    let distinct: std::collections::BTreeSet<_> = effects.iter().map(|(t, _)| t.clone()).collect();
    assert_eq!(distinct.len(), 120, "no task lost");
    drop(server);
}

#[tokio::test]
async fn reopening_a_store_applies_no_migration_twice_and_keeps_the_data() {
    let db = Db::sqlite();
    let store = Store::open(&db.url).await.unwrap();
    store.enqueue(NewTask::new(json!({})).with_id("kept")).await.unwrap();
    store.close().await;
    let again = Store::open(&db.url).await.unwrap();
    assert_eq!(again.tasks().await.unwrap().len(), 1);
    assert!(matches!(Store::open("mysql://x").await, Err(StoreError::BadUrl { .. })));
}

/// Dollars as the store's money type.
fn usd(dollars: f64) -> agent_core::budget::Usd {
    agent_core::budget::Usd::from_dollars(dollars)
}
