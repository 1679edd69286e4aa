//! No task lost, none done twice, no budget held by the dead: the maximum
//! number of attempts and the dead-letter state, dependants of failed tasks,
//! the ledger working from its own rows and expiring a dead worker's holds,
//! statement timeouts, idempotent enqueues, and a worker cut off from the
//! store stopping before its lease expires.

use crate::helpers::Db;
use agent_core::budget::Usd;
use agent_core::event::TaskId;
use agent_store::{
    BudgetLedger, Claim, Completed, CostGroup, Lease, NewTask, QueueCounts, Reservation, Scope, Spend, SpendScopes,
    Store, StoreError, StoreOptions, TaskQueue, TaskResult, WorkerConfig, run_worker,
};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

fn usd(dollars: f64) -> Usd {
    Usd::from_dollars(dollars)
}

/// Attempt numbers, workers and how each attempt ended.
async fn attempts(store: &Store, task: &str) -> Vec<(u32, String, Option<String>)> {
    let timeline = store.timeline(task).await.unwrap().unwrap();
    timeline.attempts.into_iter().map(|a| (a.attempt, a.worker, a.result)).collect()
}

// ---------------------------------------------------------------- dead letters

async fn dead_letters(db: Db) {
    let store = Store::open(&db.url).await.unwrap();
    let short = Duration::from_millis(200);
    store.enqueue(NewTask::new(json!({"n": 1})).with_id("crashy").with_max_attempts(2)).await.unwrap();
    store.enqueue(NewTask::new(json!({})).with_id("after-crashy").after(TaskId::new("crashy"))).await.unwrap();
    // Two workers die in turn (their leases expire): the second expiry is
    // the last allowed attempt, so the task is dead, not queued again.
    for n in 1..=2 {
        let claim = store.claim(&format!("dies-{n}"), short).await.unwrap().unwrap();
        assert_eq!((claim.task.id.as_str(), claim.lease.attempt, claim.task.max_attempts), ("crashy", n, 2));
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    assert!(store.claim("w", short).await.unwrap().is_none(), "a dead task is never handed out again");
    let task = store.timeline("crashy").await.unwrap().unwrap().task;
    assert_eq!((task.state.as_str(), task.attempts, task.completions), ("dead", 2, 0));
    let reason = task.reason.unwrap();
    assert!(reason.contains("dies-2") && reason.contains("attempt 2 of 2"), "{reason}");
    assert_eq!(
        attempts(&store, "crashy").await,
        [(1, "dies-1".into(), Some("lease_expired".into())), (2, "dies-2".into(), Some("lease_expired".into()))]
    );
    let dependant = store.timeline("after-crashy").await.unwrap().unwrap().task;
    assert_eq!(
        (dependant.state.as_str(), dependant.blocked_by.as_ref().map(TaskId::as_str)),
        ("blocked", Some("crashy"))
    );

    // A retryable failure goes back to the queue until its last attempt.
    store.enqueue(NewTask::new(json!({"n": 2})).with_id("flaky").with_max_attempts(2)).await.unwrap();
    let first = store.claim("w1", Duration::from_secs(30)).await.unwrap().unwrap();
    let queued_again = store.complete(&first.lease, TaskResult::retryable("store_error")).await.unwrap();
    assert_eq!(queued_again, Completed::Completed);
    assert_eq!(
        store.complete(&first.lease, TaskResult::retryable("store_error")).await.unwrap(),
        Completed::AlreadyCompleted,
        "a retried completion of a requeued attempt is recognised"
    );
    let second = store.claim("w2", Duration::from_secs(30)).await.unwrap().unwrap();
    assert_eq!((second.task.id.as_str(), second.lease.attempt), ("flaky", 2));
    assert_eq!(second.history.len(), 1);
    assert_eq!(second.history[0].result.as_deref(), Some("failed"));
    store.complete(&second.lease, TaskResult::retryable("store_error")).await.unwrap();
    let task = store.timeline("flaky").await.unwrap().unwrap().task;
    assert_eq!(task.state, "dead");
    assert!(task.reason.as_deref().unwrap().contains("failed on attempt 2 of 2: store_error"), "{:?}", task.reason);
    // The first lease's completion cannot complete the dead task either.
    assert_eq!(store.complete(&first.lease, TaskResult::succeeded("late")).await.unwrap(), Completed::AlreadyCompleted);
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.dead, counts.blocked, counts.queued, counts.running), (2, 1, 0, 0));
}

#[tokio::test]
async fn on_sqlite_a_task_reclaimed_or_failed_past_its_max_attempts_is_dead_with_the_reason() {
    dead_letters(Db::sqlite()).await;
}

#[tokio::test]
async fn on_postgres_a_task_reclaimed_or_failed_past_its_max_attempts_is_dead_with_the_reason() {
    dead_letters(Db::postgres().await).await;
}

// ---------------------------------------------------------------- blocked dependants

async fn blocked_dependants(db: Db) {
    let store = Store::open(&db.url).await.unwrap();
    let lease = Duration::from_secs(30);
    store.enqueue(NewTask::new(json!({})).with_id("root")).await.unwrap();
    store.enqueue(NewTask::new(json!({})).with_id("other")).await.unwrap();
    store.enqueue(NewTask::new(json!({})).with_id("child").after(TaskId::new("root"))).await.unwrap();
    store.enqueue(NewTask::new(json!({})).with_id("grandchild").after(TaskId::new("child"))).await.unwrap();
    // Waits for a task that will succeed and for one that will fail.
    let both = NewTask::new(json!({})).with_id("both").after(TaskId::new("other")).after(TaskId::new("grandchild"));
    store.enqueue(both).await.unwrap();

    let root = store.claim("w", lease).await.unwrap().unwrap();
    assert_eq!(root.task.id.as_str(), "root");
    let other = store.claim("w", lease).await.unwrap().unwrap();
    store.complete(&other.lease, TaskResult::succeeded("accepted")).await.unwrap();
    store.complete(&root.lease, TaskResult::failed("rolled_back")).await.unwrap();
    for id in ["child", "grandchild", "both"] {
        let t = store.timeline(id).await.unwrap().unwrap().task;
        assert_eq!((t.state.as_str(), t.blocked_by.as_ref().map(TaskId::as_str)), ("blocked", Some("root")), "{id}");
        assert!(t.reason.as_deref().unwrap().contains("root is failed"), "{:?}", t.reason);
    }
    // A task enqueued later after a blocked one is blocked at once, by the root failure.
    store.enqueue(NewTask::new(json!({})).with_id("late").after(TaskId::new("grandchild"))).await.unwrap();
    let late = store.timeline("late").await.unwrap().unwrap().task;
    assert_eq!((late.state.as_str(), late.blocked_by.as_ref().map(TaskId::as_str)), ("blocked", Some("root")));
    assert!(store.claim("w", lease).await.unwrap().is_none());
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.done, counts.failed, counts.blocked, counts.unfinished()), (1, 1, 4, 0));
    assert!(store.stuck(Duration::ZERO).await.unwrap().is_empty(), "nothing waits forever");
}

#[tokio::test]
async fn on_sqlite_the_dependants_of_a_failed_task_down_the_chain_are_blocked_by_it_instead_of_waiting() {
    blocked_dependants(Db::sqlite()).await;
}

#[tokio::test]
async fn on_postgres_the_dependants_of_a_failed_task_down_the_chain_are_blocked_by_it_instead_of_waiting() {
    blocked_dependants(Db::postgres().await).await;
}

// ---------------------------------------------------------------- ledger

async fn settle_from_the_row(db: Db) {
    let store = Store::open(&db.url).await.unwrap();
    let who = SpendScopes::new("t1", "w1", "repo", "acme");
    let held = store.reserve(&who, usd(0.50)).await.unwrap();
    assert_eq!(store.budget(Scope::Task, "t1").await.unwrap().unwrap().spent, usd(0.50));
    // A caller that passes a wrong amount and wrong scopes changes nothing:
    // the row says what was held and against whom.
    let forged = Reservation {
        id: held.id.clone(),
        scopes: SpendScopes::new("someone-else", "w9", "elsewhere", "other"),
        amount: Usd::ZERO,
    };
    store.settle(&forged, &Spend::new("openai", "gpt-4.1-mini", usd(0.20), 10, 5)).await.unwrap();
    for (scope, key) in [(Scope::Task, "t1"), (Scope::Worker, "w1"), (Scope::Repo, "repo"), (Scope::Tenant, "acme")] {
        assert_eq!(store.budget(scope, key).await.unwrap().unwrap().spent, usd(0.20), "{scope} {key}");
    }
    assert!(store.budget(Scope::Task, "someone-else").await.unwrap().is_none());
    let rows = store.costs(CostGroup::Task).await.unwrap();
    assert_eq!((rows.len(), rows[0].key.as_str(), rows[0].cost_usd), (1, "t1", usd(0.20)));
    let made_up = Reservation { id: "no-such-reservation".into(), scopes: who.clone(), amount: usd(1.0) };
    assert!(matches!(store.settle(&made_up, &Spend::new("o", "m", usd(1.0), 1, 1)).await,
        Err(StoreError::UnknownReservation { id }) if id == "no-such-reservation"));
    assert!(matches!(store.release(&made_up).await, Err(StoreError::UnknownReservation { .. })));
}

#[tokio::test]
async fn on_sqlite_settle_takes_the_amount_and_scopes_from_the_reservation_row_not_the_caller() {
    settle_from_the_row(Db::sqlite()).await;
}

#[tokio::test]
async fn on_postgres_settle_takes_the_amount_and_scopes_from_the_reservation_row_not_the_caller() {
    settle_from_the_row(Db::postgres().await).await;
}

async fn dead_worker_reservations(db: Db) {
    let store = Store::open(&db.url).await.unwrap();
    store.set_ceiling(Scope::Tenant, "acme", usd(0.50)).await.unwrap();
    store.enqueue(NewTask::new(json!({})).with_id("doomed").with_tenant("acme")).await.unwrap();
    store.enqueue(NewTask::new(json!({})).with_id("next").with_tenant("acme")).await.unwrap();
    // A worker holds 0.40 of the tenant's 0.50 mid-call under its lease, then dies.
    let claim = store.claim("dies", Duration::from_millis(300)).await.unwrap().unwrap();
    assert_eq!(claim.task.id.as_str(), "doomed");
    let dead_hold = store.reserve(&SpendScopes::new("doomed", "dies", "", "acme"), usd(0.40)).await.unwrap();
    // A hold outside any lease (no task of this worker running) never expires.
    let unleased = store.reserve(&SpendScopes::new("adhoc", "cli", "", "acme"), usd(0.05)).await.unwrap();
    let live = SpendScopes::new("next", "lives", "", "acme");
    assert!(
        matches!(store.reserve(&live, usd(0.40)).await, Err(StoreError::BudgetExceeded { .. })),
        "while the lease lives its hold counts"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    // The lease expired: the dead worker's hold is given back, the other stays.
    let admitted = store.reserve(&live, usd(0.40)).await.unwrap();
    assert_eq!(store.budget(Scope::Tenant, "acme").await.unwrap().unwrap().spent, usd(0.45));
    assert_eq!(store.budget(Scope::Task, "doomed").await.unwrap().unwrap().spent, Usd::ZERO);
    // If the dead worker's call does come back, its whole cost counts, once.
    store.settle(&dead_hold, &Spend::new("openai", "m", usd(0.03), 1, 1)).await.unwrap();
    store.settle(&dead_hold, &Spend::new("openai", "m", usd(0.03), 1, 1)).await.unwrap();
    store.release(&unleased).await.unwrap();
    store.settle(&admitted, &Spend::new("openai", "m", usd(0.10), 1, 1)).await.unwrap();
    assert_eq!(store.budget(Scope::Tenant, "acme").await.unwrap().unwrap().spent, usd(0.13));
    assert_eq!(store.expire_reservations().await.unwrap(), 0, "settled and released holds never expire");
}

#[tokio::test]
async fn on_sqlite_the_reservations_of_a_worker_whose_lease_expired_are_released() {
    dead_worker_reservations(Db::sqlite()).await;
}

#[tokio::test]
async fn on_postgres_the_reservations_of_a_worker_whose_lease_expired_are_released() {
    dead_worker_reservations(Db::postgres().await).await;
}

// ---------------------------------------------------------------- timeouts

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_a_statement_stuck_behind_a_lock_is_cancelled_by_the_statement_timeout() {
    use sqlx::Connection;
    let db = Db::postgres().await;
    let options = StoreOptions::default()
        .with_statement_timeout(Duration::from_millis(200))
        .with_retry_for(Duration::from_millis(600));
    let store = Store::open_with(&db.url, options).await.unwrap();
    store.enqueue(NewTask::new(json!({})).with_id("locked")).await.unwrap();
    let claim = store.claim("w", Duration::from_secs(60)).await.unwrap().unwrap();
    // Another client locks the task's row and sits on it.
    let mut blocker = sqlx::PgConnection::connect(&db.url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut blocker).await.unwrap();
    sqlx::query("SELECT id FROM tasks WHERE id = 'locked' FOR UPDATE").execute(&mut blocker).await.unwrap();
    let beat = tokio::time::timeout(Duration::from_secs(60), store.heartbeat(&claim.lease, Duration::from_secs(60)))
        .await
        .expect("the heartbeat returned instead of waiting for the lock");
    match beat {
        Err(StoreError::Transient { source }) => {
            let code = source.as_database_error().and_then(|e| e.code()).map(|c| c.into_owned());
            assert_eq!(code.as_deref(), Some("57014"), "cancelled by statement_timeout");
        }
        other => panic!("expected a statement timeout, got {other:?}"),
    }
    sqlx::query("COMMIT").execute(&mut blocker).await.unwrap();
    store.heartbeat(&claim.lease, Duration::from_secs(60)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_a_writer_waits_for_the_lock_only_as_long_as_the_busy_timeout() {
    use sqlx::Connection;
    let db = Db::sqlite();
    let options = StoreOptions::default()
        .with_busy_timeout(Duration::from_millis(100))
        .with_retry_for(Duration::from_millis(300));
    let store = Store::open_with(&db.url, options).await.unwrap();
    let mut blocker = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE").execute(&mut blocker).await.unwrap();
    let enqueued = tokio::time::timeout(Duration::from_secs(60), store.enqueue(NewTask::new(json!({})).with_id("x")))
        .await
        .expect("the enqueue returned instead of waiting for the lock");
    assert!(matches!(enqueued, Err(StoreError::Transient { .. })), "{enqueued:?}");
    sqlx::query("COMMIT").execute(&mut blocker).await.unwrap();
    store.enqueue(NewTask::new(json!({})).with_id("x")).await.unwrap();
    assert_eq!(store.tasks().await.unwrap().len(), 1);
}

// ---------------------------------------------------------------- idempotent enqueue

async fn idempotent_enqueue(db: Db) {
    let store = Store::open(&db.url).await.unwrap();
    store.enqueue(NewTask::new(json!({})).with_id("dep")).await.unwrap();
    let task = || {
        NewTask::new(json!({"goal": "fix", "dir": "/src", "n": [1, 2]}))
            .with_id("job")
            .with_priority(3)
            .with_repo("app")
            .with_tenant("acme")
            .with_max_attempts(4)
            .after(TaskId::new("dep"))
    };
    assert_eq!(store.enqueue(task()).await.unwrap().as_str(), "job");
    let claim = store.claim("w", Duration::from_secs(30)).await.unwrap().unwrap();
    assert_eq!(claim.task.id.as_str(), "dep");
    // The same task again (a client retrying): nothing changes.
    assert_eq!(store.enqueue(task()).await.unwrap().as_str(), "job");
    assert_eq!(store.tasks().await.unwrap().len(), 2);
    let with = |change: fn(&mut NewTask)| {
        let mut t = task();
        change(&mut t);
        t
    };
    let cases: [(NewTask, &str); 5] = [
        (with(|t| t.payload = json!({"goal": "other"})), "payload"),
        (task().with_priority(4), "priority"),
        (task().with_max_attempts(1), "max_attempts"),
        (with(|t| t.after.clear()), "after"),
        (task().with_tenant("evil"), "tenant"),
    ];
    for (changed, field) in cases {
        match store.enqueue(changed).await {
            Err(StoreError::Conflict { task, differs }) => {
                assert_eq!((task.as_str(), differs), ("job", vec![field.to_owned()]));
            }
            other => panic!("{field}: expected a conflict, got {other:?}"),
        }
    }
    let stored = store.timeline("job").await.unwrap().unwrap().task;
    assert_eq!((stored.priority, stored.tenant.as_str(), stored.max_attempts), (3, "acme", 4));
    let counts: QueueCounts = store.counts().await.unwrap();
    assert_eq!((counts.queued, counts.running), (1, 1));
}

#[tokio::test]
async fn on_sqlite_enqueueing_the_same_task_twice_is_a_no_op_and_the_same_id_with_other_content_a_conflict() {
    idempotent_enqueue(Db::sqlite()).await;
}

#[tokio::test]
async fn on_postgres_enqueueing_the_same_task_twice_is_a_no_op_and_the_same_id_with_other_content_a_conflict() {
    idempotent_enqueue(Db::postgres().await).await;
}

// ---------------------------------------------------------------- heartbeats

/// How the heartbeats of a cut-off worker fail.
#[derive(Clone, Copy, Debug)]
enum Outage {
    /// Each heartbeat hangs, as against a server that does not answer
    /// (the store's own retries would last a minute).
    Hangs,
    /// Each heartbeat fails at once with a transient error.
    FailsFast,
}

/// The store as one worker sees it: claims and completions reach it; once
/// `cut` is set, heartbeats do not.
struct CutOff {
    store: Store,
    cut: AtomicBool,
    outage: Outage,
}

#[agent_core::async_trait]
impl TaskQueue for CutOff {
    async fn enqueue(&self, task: NewTask) -> Result<TaskId, StoreError> {
        self.store.enqueue(task).await
    }
    async fn claim(&self, worker: &str, lease: Duration) -> Result<Option<Claim>, StoreError> {
        self.store.claim(worker, lease).await
    }
    async fn heartbeat(&self, lease: &Lease, extend: Duration) -> Result<(), StoreError> {
        if !self.cut.load(Ordering::SeqCst) {
            return self.store.heartbeat(lease, extend).await;
        }
        if let Outage::Hangs = self.outage {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        Err(sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)).into())
    }
    async fn complete(&self, lease: &Lease, result: TaskResult) -> Result<Completed, StoreError> {
        self.store.complete(lease, result).await
    }
    async fn counts(&self) -> Result<QueueCounts, StoreError> {
        self.store.counts().await
    }
}

/// Sets its flag when dropped: the run was cancelled.
struct Dropped(Arc<AtomicBool>);

impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

async fn cut_off_worker(db: Db, outage: Outage) {
    let store = Store::open(&db.url).await.unwrap();
    store.enqueue(NewTask::new(json!({"goal": "g"})).with_id("job")).await.unwrap();
    let cut_off = CutOff { store: Store::open(&db.url).await.unwrap(), cut: AtomicBool::new(false), outage };
    let first_stopped = Arc::new(AtomicBool::new(false));
    let first_runs = AtomicUsize::new(0);
    let (started_tx, started_rx) = tokio::sync::oneshot::channel();
    let mut started_tx = Some(started_tx);
    // The first worker: a lease of 1.5 s, heartbeats every 0.5 s; its
    // heartbeats fail from the moment its run starts, and the run never ends.
    let first_config = WorkerConfig::new("cut-off").with_lease(Duration::from_millis(1500)).with_max_tasks(1);
    let first = run_worker(&cut_off, &first_config, |_claim| {
        first_runs.fetch_add(1, Ordering::SeqCst);
        cut_off.cut.store(true, Ordering::SeqCst);
        let guard = Dropped(first_stopped.clone());
        if let Some(tx) = started_tx.take() {
            let _ = tx.send(());
        }
        async move {
            let _guard = guard;
            std::future::pending::<TaskResult>().await
        }
    });
    // The second worker starts once the first holds the task, and records
    // whether the first had stopped by the time it got the task.
    let second_store = Store::open(&db.url).await.unwrap();
    let stopped_at_claim = Arc::new(std::sync::Mutex::new(Vec::new()));
    let second = async {
        started_rx.await.unwrap();
        let config = WorkerConfig::new("rescuer")
            .with_lease(Duration::from_secs(30))
            .with_poll(Duration::from_millis(10))
            .draining();
        run_worker(&second_store, &config, |claim| {
            stopped_at_claim.lock().unwrap().push((claim.task.id.to_string(), first_stopped.load(Ordering::SeqCst)));
            async { TaskResult::succeeded("accepted") }
        })
        .await
    };
    let (first, second) = tokio::time::timeout(Duration::from_secs(120), async { tokio::join!(first, second) })
        .await
        .expect("both workers finish");
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!((first.expired, first.completed, first.lost), (1, 0, 0), "{first:?}");
    assert_eq!(second.completed, 1, "{second:?}");
    assert_eq!(first_runs.load(Ordering::SeqCst), 1);
    assert_eq!(
        *stopped_at_claim.lock().unwrap(),
        [("job".to_owned(), true)],
        "the second worker claimed the task once, after the first had stopped work on it"
    );
    assert_eq!(
        attempts(&store, "job").await,
        [(1, "cut-off".into(), Some("lease_expired".into())), (2, "rescuer".into(), Some("completed".into()))]
    );
    let task = store.timeline("job").await.unwrap().unwrap().task;
    assert_eq!((task.state.as_str(), task.completions), ("done", 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_a_worker_whose_heartbeats_hang_stops_before_another_claims_its_task_which_is_done_once() {
    cut_off_worker(Db::sqlite(), Outage::Hangs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_a_worker_whose_heartbeats_fail_fast_retries_only_until_its_lease_runs_out_then_stops() {
    cut_off_worker(Db::sqlite(), Outage::FailsFast).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_a_worker_whose_heartbeats_hang_stops_before_another_claims_its_task_which_is_done_once() {
    cut_off_worker(Db::postgres().await, Outage::Hangs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_a_worker_whose_heartbeats_fail_fast_retries_only_until_its_lease_runs_out_then_stops() {
    cut_off_worker(Db::postgres().await, Outage::FailsFast).await;
}
