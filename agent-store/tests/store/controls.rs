//! Operator controls through the task's state machine: retry, reimplement,
//! cancel (of a queued task at once, of a running one through its worker's
//! heartbeat), show, the refusals with their reasons, and the journal
//! recording every control.

use crate::helpers::Db;
use agent_core::Journal;
use agent_core::budget::Usd;
use agent_core::event::{Event, EventKind, TaskId, TaskState};
use agent_core::gate::Verdict;
use agent_store::{
    BudgetLedger, ControlAction, NewTask, Spend, SpendScopes, StopReason, Store, StoreError, TaskQueue, TaskResult,
    WorkerConfig, run_worker_with,
};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const LEASE: Duration = Duration::from_secs(30);

/// The operator controls journaled for `task`: (action, from, to, reason).
async fn controls(store: &Store, task: &str) -> Vec<(String, String, Option<String>, Option<String>)> {
    // Through `show_task`, which reads a journal holding event types this
    // build lacks (the merge step's).
    store
        .show_task(task)
        .await
        .unwrap()
        .events
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::OperatorControl { action, from_state, to_state, reason, .. } => {
                Some((action, from_state, to_state, reason))
            }
            _ => None,
        })
        .collect()
}

/// The journaled controls of `task` without their reasons: action, from
/// state, and the new state (`None` for a refusal).
async fn transitions(store: &Store, task: &str) -> Vec<(String, String, Option<String>)> {
    controls(store, task).await.into_iter().map(|(action, from, to, _)| (action, from, to)).collect()
}

/// Writes an event the way a newer build's merge step would, by its JSON
/// `type` only (this build has no Rust variant for it).
async fn insert_raw_event(url: &str, task: &str, kind: &str, extra: serde_json::Value) {
    let mut body = json!({"task": task, "at_unix_ms": 1_700_000_000_000u64, "type": kind});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let sql = "INSERT INTO events (id, task, at_ms, kind, body) VALUES ($1, $2, $3, $4, $5)";
    let id = format!("raw-{task}-{kind}");
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query(sql)
            .bind(id)
            .bind(task)
            .bind(1_i64)
            .bind(kind)
            .bind(body.to_string())
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query(sql)
            .bind(id)
            .bind(task)
            .bind(1_i64)
            .bind(kind)
            .bind(body.to_string())
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
}

// ---------------------------------------------------------------- retry

async fn retry_dead(db: Db) {
    let store = Store::open(&db.url).await.unwrap();
    store.enqueue(NewTask::new(json!({})).with_id("dies").with_max_attempts(1)).await.unwrap();
    store.enqueue(NewTask::new(json!({})).with_id("after").after(TaskId::new("dies"))).await.unwrap();
    let first = store.claim("w1", LEASE).await.unwrap().unwrap();
    store.complete(&first.lease, TaskResult::retryable("store_error")).await.unwrap();
    let dead = store.show_task("dies").await.unwrap().task;
    assert_eq!((dead.state.as_str(), dead.attempts, dead.max_attempts), ("dead", 1, 1));
    assert_eq!(store.show_task("after").await.unwrap().task.state, "blocked");
    assert!(store.claim("w1", LEASE).await.unwrap().is_none(), "a dead task is not claimable before the retry");

    let retried = store.retry_task("dies", "ops").await.unwrap();
    assert_eq!((retried.from_state.as_str(), retried.to_state.as_str()), ("dead", "queued"));
    assert_eq!(retried.unblocked, [TaskId::new("after")], "its dependant blocked only by it waits again");
    let task = store.show_task("dies").await.unwrap().task;
    assert_eq!((task.state.as_str(), task.max_attempts, task.reason), ("queued", 2, None), "one more claim allowed");
    assert_eq!(store.show_task("after").await.unwrap().task.state, "queued");

    // It runs again, with the first attempt in its history.
    let second = store.claim("w2", LEASE).await.unwrap().unwrap();
    assert_eq!((second.task.id.as_str(), second.lease.attempt, second.reimplement), ("dies", 2, false));
    assert_eq!(second.history.len(), 1);
    assert_eq!((second.history[0].worker.as_str(), second.history[0].result.as_deref()), ("w1", Some("failed")));
    store.complete(&second.lease, TaskResult::succeeded("accepted")).await.unwrap();
    let shown = store.show_task("dies").await.unwrap();
    let attempts: Vec<_> = shown.attempts.iter().map(|a| (a.attempt, a.worker.as_str(), a.result.as_deref())).collect();
    assert_eq!(attempts, [(1, "w1", Some("failed")), (2, "w2", Some("completed"))]);
    assert_eq!(shown.task.state, "done");
    // The dependant runs now that its dependency is done.
    let next = store.claim("w2", LEASE).await.unwrap().unwrap();
    assert_eq!(next.task.id.as_str(), "after");
    assert_eq!(
        controls(&store, "dies").await,
        [("retry".into(), "dead".into(), Some("queued".into()), Some("unblocked after".into()))]
    );
}

#[tokio::test]
async fn on_sqlite_a_retried_dead_task_runs_again_keeping_its_attempt_history_and_unblocks_its_dependant() {
    retry_dead(Db::sqlite()).await;
}

#[tokio::test]
async fn on_postgres_a_retried_dead_task_runs_again_keeping_its_attempt_history_and_unblocks_its_dependant() {
    retry_dead(Db::postgres().await).await;
}

// ---------------------------------------------------------------- refusals

async fn refusals(db: Db) {
    let store = Store::open(&db.url).await.unwrap();
    store.enqueue(NewTask::new(json!({})).with_id("ok")).await.unwrap();
    let claim = store.claim("w1", LEASE).await.unwrap().unwrap();

    // Running: neither retried nor reimplemented (cancel first), nor merged.
    for action in [ControlAction::Retry, ControlAction::Reimplement] {
        match store.control("ok", action, "ops").await {
            Err(StoreError::ControlRefused { task, action: refused, state, reason }) => {
                assert_eq!((task.as_str(), refused, state.as_str()), ("ok", action, "running"));
                assert!(reason.contains("cancel it first"), "{reason}");
            }
            other => panic!("{action} of a running task: {other:?}"),
        }
    }
    match store.merge_task("ok", "ops").await {
        Err(StoreError::ControlRefused { action: ControlAction::Merge, state, reason, .. }) => {
            assert_eq!((state.as_str(), reason.as_str()), ("running", "it is still running; merge it once it is done"));
        }
        other => panic!("merge of a running task: {other:?}"),
    }
    store.complete(&claim.lease, TaskResult::succeeded("accepted")).await.unwrap();

    // Done: the merge step may start; the state stays `done` until its event.
    let merging = store.merge_task("ok", "ops").await.unwrap();
    assert_eq!((merging.from_state.as_str(), merging.to_state.as_str()), ("done", "done"));

    // Done: a retry is refused with the reason; so is a cancel.
    match store.retry_task("ok", "ops").await {
        Err(StoreError::ControlRefused { action: ControlAction::Retry, state, reason, .. }) => {
            assert_eq!(state, "done");
            assert!(reason.contains("succeeded") && reason.contains("reimplement"), "{reason}");
        }
        other => panic!("retry of a done task: {other:?}"),
    }
    match store.cancel_task("ok", "ops").await {
        Err(StoreError::ControlRefused { action: ControlAction::Cancel, state, reason, .. }) => {
            assert_eq!((state.as_str(), reason.as_str()), ("done", "it is finished"));
        }
        other => panic!("cancel of a done task: {other:?}"),
    }
    let task = store.show_task("ok").await.unwrap().task;
    assert_eq!((task.state.as_str(), task.attempts, task.max_attempts), ("done", 1, 5), "a refusal changes nothing");

    // Merged (the journal holds the merge step's event): nothing applies.
    insert_raw_event(&db.url, "ok", "merged", json!({"target": "main", "commit": "abc123"})).await;
    for action in [ControlAction::Retry, ControlAction::Reimplement, ControlAction::Cancel, ControlAction::Merge] {
        match store.control("ok", action, "ops").await {
            Err(StoreError::ControlRefused { state, .. }) => assert_eq!(state, "merged", "{action}"),
            other => panic!("{action} of a merged task: {other:?}"),
        }
    }
    assert!(matches!(store.retry_task("nope", "ops").await, Err(StoreError::UnknownTask { task }) if task == "nope"));

    // Every refusal is journaled, with no new state and its reason.
    let journaled = controls(&store, "ok").await;
    let summary: Vec<_> = journaled.iter().map(|(a, from, to, _)| (a.as_str(), from.as_str(), to.is_none())).collect();
    assert_eq!(
        summary,
        [
            ("retry", "running", true),
            ("reimplement", "running", true),
            ("merge", "running", true),
            ("merge", "done", false),
            ("retry", "done", true),
            ("cancel", "done", true),
            ("retry", "merged", true),
            ("reimplement", "merged", true),
            ("cancel", "merged", true),
            ("merge", "merged", true),
        ]
    );
    assert!(journaled[4].3.as_deref().unwrap().contains("succeeded"));
}

#[tokio::test]
async fn on_sqlite_controls_the_state_machine_forbids_are_refused_with_action_state_and_reason_and_journaled() {
    refusals(Db::sqlite()).await;
}

#[tokio::test]
async fn on_postgres_controls_the_state_machine_forbids_are_refused_with_action_state_and_reason_and_journaled() {
    refusals(Db::postgres().await).await;
}

// ---------------------------------------------------------------- cancel

async fn cancel_queued(db: Db) {
    let store = Store::open(&db.url).await.unwrap();
    store.enqueue(NewTask::new(json!({})).with_id("waiting")).await.unwrap();
    store.enqueue(NewTask::new(json!({})).with_id("next").after(TaskId::new("waiting"))).await.unwrap();
    let cancelled = store.cancel_task("waiting", "ops").await.unwrap();
    assert_eq!((cancelled.from_state.as_str(), cancelled.to_state.as_str()), ("queued", "cancelled"));
    assert_eq!(cancelled.blocked, 1);
    let task = store.show_task("waiting").await.unwrap().task;
    assert_eq!(
        (task.state.as_str(), task.attempts, task.reason.as_deref()),
        ("cancelled", 0, Some("cancelled by ops"))
    );
    let next = store.show_task("next").await.unwrap().task;
    assert_eq!((next.state.as_str(), next.blocked_by), ("blocked", Some(TaskId::new("waiting"))));
    assert!(store.claim("w", LEASE).await.unwrap().is_none(), "a cancelled task is never claimed");
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.cancelled, counts.failed, counts.blocked, counts.queued), (1, 0, 1, 0));
    assert!(matches!(
        store.cancel_task("waiting", "ops").await,
        Err(StoreError::ControlRefused { action: ControlAction::Cancel, .. })
    ));
    // A cancelled task can be retried; its dependant waits again.
    let retried = store.retry_task("waiting", "ops").await.unwrap();
    assert_eq!(retried.unblocked, [TaskId::new("next")]);
    assert_eq!(store.claim("w", LEASE).await.unwrap().unwrap().task.id.as_str(), "waiting");
    assert_eq!(
        transitions(&store, "waiting").await,
        [
            ("cancel".into(), "queued".into(), Some("cancelled".into())),
            ("cancel".into(), "cancelled".into(), None),
            ("retry".into(), "cancelled".into(), Some("queued".into())),
        ]
    );
}

#[tokio::test]
async fn on_sqlite_cancelling_a_queued_task_cancels_it_at_once_and_blocks_its_dependants() {
    cancel_queued(Db::sqlite()).await;
}

#[tokio::test]
async fn on_postgres_cancelling_a_queued_task_cancels_it_at_once_and_blocks_its_dependants() {
    cancel_queued(Db::postgres().await).await;
}

async fn cancel_running(db: Db) {
    let store = Arc::new(Store::open(&db.url).await.unwrap());
    store.enqueue(NewTask::new(json!({})).with_id("long")).await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("lib.rs");
    let original = b"fn answer() -> u32 { 41 }\n".to_vec();
    std::fs::write(&file, &original).unwrap();

    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let started_tx = Mutex::new(Some(started_tx));
    // The operator cancels once the handler is mid-run.
    let operator = {
        let store = store.clone();
        tokio::spawn(async move {
            started_rx.await.unwrap();
            store.cancel_task("long", "ops").await.unwrap()
        })
    };
    let stops: Arc<Mutex<Vec<(StopReason, String)>>> = Arc::default();
    let config =
        WorkerConfig::new("w1").with_lease(Duration::from_millis(600)).with_poll(Duration::from_millis(20)).draining();
    let (file_ref, original_ref, stops_ref, store_ref) = (&file, &original, stops.clone(), store.clone());
    let stats = run_worker_with(
        store.as_ref(),
        &config,
        |_claim| {
            // A run that changes the workspace, then works until stopped.
            std::fs::write(file_ref, b"fn answer() -> u32 { 42 } // half done\n").unwrap();
            if let Some(tx) = started_tx.lock().unwrap().take() {
                tx.send(()).unwrap();
            }
            async { std::future::pending::<TaskResult>().await }
        },
        |lease, reason| {
            let (stops, store) = (stops_ref.clone(), store_ref.clone());
            async move {
                // The restore the dropped run spawned: the workspace is put
                // back before the task is marked cancelled.
                std::fs::write(file_ref, original_ref).unwrap();
                let state = store.show_task(lease.task.as_str()).await.unwrap().task.state;
                stops.lock().unwrap().push((reason, state));
            }
        },
    )
    .await
    .unwrap();
    let requested = operator.await.unwrap();
    assert_eq!((requested.to_state.as_str(), requested.cancel_requested), ("running", true));
    assert_eq!((stats.cancelled, stats.completed), (1, 1));
    assert_eq!(*stops.lock().unwrap(), [(StopReason::Cancelled, "running".to_owned())]);
    assert_eq!(std::fs::read(&file).unwrap(), original, "the workspace is restored byte for byte");
    let shown = store.show_task("long").await.unwrap();
    assert_eq!((shown.task.state.as_str(), shown.task.cancel_requested), ("cancelled", false));
    let attempts: Vec<_> = shown.attempts.iter().map(|a| (a.attempt, a.result.as_deref())).collect();
    assert_eq!(attempts, [(1, Some("cancelled"))]);
    assert_eq!(
        controls(&store, "long").await,
        [(
            "cancel".into(),
            "running".into(),
            Some("running".into()),
            Some("cancel requested; its worker stops at its next heartbeat".into())
        )]
    );
    // Finished: a second cancel is refused; a retry queues it again.
    assert!(matches!(store.cancel_task("long", "ops").await, Err(StoreError::ControlRefused { .. })));
    assert_eq!(store.retry_task("long", "ops").await.unwrap().to_state, "queued");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_cancelling_a_running_task_stops_its_worker_at_the_next_heartbeat_restored_then_cancelled() {
    cancel_running(Db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_cancelling_a_running_task_stops_its_worker_at_the_next_heartbeat_restored_then_cancelled() {
    cancel_running(Db::postgres().await).await;
}

// ---------------------------------------------------------------- reimplement

async fn reimplement_failed(db: Db) {
    let store = Store::open(&db.url).await.unwrap();
    store.enqueue(NewTask::new(json!({})).with_id("redo")).await.unwrap();
    let first = store.claim("w1", LEASE).await.unwrap().unwrap();
    assert!(!first.reimplement);
    assert_eq!(store.record_base_snapshot(&first.lease, "base-1").await.unwrap(), "base-1");
    store.complete(&first.lease, TaskResult::failed("rolled_back")).await.unwrap();

    let redone = store.reimplement_task("redo", "ops").await.unwrap();
    assert_eq!((redone.from_state.as_str(), redone.to_state.as_str()), ("failed", "queued"));
    let second = store.claim("w2", LEASE).await.unwrap().unwrap();
    assert!(second.reimplement, "the worker sees the marker");
    assert_eq!(second.task.base_snapshot.as_deref(), Some("base-1"), "and the base to restore");
    assert_eq!((second.lease.attempt, second.task.generation), (2, 1));
    assert!(second.history.is_empty(), "a reimplementation starts without the old attempts' memory");
    // The base stays the one before the first attempt.
    assert_eq!(store.record_base_snapshot(&second.lease, "base-2").await.unwrap(), "base-1");
    // A running task cannot be reimplemented.
    assert!(matches!(
        store.reimplement_task("redo", "ops").await,
        Err(StoreError::ControlRefused { action: ControlAction::Reimplement, state, .. }) if state == "running"
    ));
    store.complete(&second.lease, TaskResult::succeeded("accepted")).await.unwrap();
    let shown = store.show_task("redo").await.unwrap();
    assert_eq!((shown.task.state.as_str(), shown.task.reimplement), ("done", false), "the marker ends with the run");
    assert_eq!(shown.attempts.len(), 2, "the old attempts stay in the record");

    // Done but not merged: it can be reimplemented again.
    assert_eq!(store.reimplement_task("redo", "ops").await.unwrap().from_state, "done");
    let third = store.claim("w3", LEASE).await.unwrap().unwrap();
    assert!(third.reimplement && third.history.is_empty());
    assert_eq!(third.task.generation, 2);
    assert_eq!(
        transitions(&store, "redo").await,
        [
            ("reimplement".into(), "failed".into(), Some("queued".into())),
            ("reimplement".into(), "running".into(), None),
            ("reimplement".into(), "done".into(), Some("queued".into())),
        ]
    );
}

#[tokio::test]
async fn on_sqlite_a_reimplemented_failed_task_is_claimed_with_the_marker_its_base_and_no_old_history() {
    reimplement_failed(Db::sqlite()).await;
}

#[tokio::test]
async fn on_postgres_a_reimplemented_failed_task_is_claimed_with_the_marker_its_base_and_no_old_history() {
    reimplement_failed(Db::postgres().await).await;
}

// ---------------------------------------------------------------- show

async fn show(db: Db) {
    let store = Store::open(&db.url).await.unwrap();
    store.enqueue(NewTask::new(json!({"goal": "g"})).with_id("shown").with_repo("demo")).await.unwrap();
    let claim = store.claim("w1", LEASE).await.unwrap().unwrap();
    let id = TaskId::new("shown");
    store.append(Event::now(id.clone(), EventKind::TaskStarted { goal: "g".into(), root: "/r".into() })).await.unwrap();
    let held = store.reserve(&SpendScopes::new("shown", "w1", "demo", ""), Usd::ZERO).await.unwrap();
    store.settle(&held, &Spend::new("openai", "gpt-4.1-mini", Usd::from_dollars(0.25), 100, 10)).await.unwrap();
    store.append(Event::now(id.clone(), EventKind::Verdict { verdict: Verdict::Approve })).await.unwrap();
    store.append(Event::now(id.clone(), EventKind::TaskFinished { state: TaskState::Accepted })).await.unwrap();
    store.complete(&claim.lease, TaskResult::succeeded("accepted")).await.unwrap();

    let before = store.show_task("shown").await.unwrap();
    assert_eq!((before.merged, before.merge.is_none()), (false, true));
    insert_raw_event(&db.url, "shown", "merged", json!({"target": "main", "commit": "abc123"})).await;
    insert_raw_event(&db.url, "shown", "from_a_newer_worker", json!({"detail": "x"})).await;
    let shown = store.show_task("shown").await.unwrap();
    assert_eq!((shown.task.state.as_str(), shown.task.repo.as_str()), ("done", "demo"));
    assert_eq!(shown.events.len(), 4, "the timeline, in order (the merge step's event included)");
    assert!(matches!(shown.events[3].kind, EventKind::Merged { .. }));
    assert!(matches!(shown.events[0].kind, EventKind::TaskStarted { .. }));
    assert_eq!(shown.verdicts, [Verdict::Approve]);
    assert_eq!((shown.cost.calls, shown.cost.input_tokens, shown.cost.output_tokens), (1, 100, 10));
    assert_eq!(shown.cost.cost_usd, Usd::from_dollars(0.25));
    assert_eq!(shown.attempts.len(), 1);
    assert!(shown.merged);
    let merge = shown.merge.as_ref().unwrap();
    assert_eq!(
        (merge["type"].as_str(), merge["target"].as_str(), merge["commit"].as_str()),
        (Some("merged"), Some("main"), Some("abc123"))
    );
    assert_eq!(shown.other_events.len(), 1, "an event of a type this build lacks is kept as stored");
    // The operator's controls show too; the record serialises.
    let _ = store.retry_task("shown", "ops").await.unwrap_err();
    let shown = store.show_task("shown").await.unwrap();
    assert_eq!(shown.controls.len(), 1);
    let doc = serde_json::to_value(&shown).unwrap();
    assert_eq!(doc["merge"]["type"], "merged");
    assert_eq!(doc["cost"]["calls"], 1);
    assert!(matches!(store.show_task("nope").await, Err(StoreError::UnknownTask { .. })));
}

#[tokio::test]
async fn on_sqlite_show_returns_the_timeline_verdicts_cost_attempts_and_merge_record() {
    show(Db::sqlite()).await;
}

#[tokio::test]
async fn on_postgres_show_returns_the_timeline_verdicts_cost_attempts_and_merge_record() {
    show(Db::postgres().await).await;
}

// ---------------------------------------------------------------- races and blocked tasks

async fn unseen_cancels_and_blocked_retries(db: Db) {
    let store = Store::open(&db.url).await.unwrap();
    // A completion that arrives before the worker saw the cancel wins.
    store.enqueue(NewTask::new(json!({})).with_id("quick")).await.unwrap();
    let quick = store.claim("w1", LEASE).await.unwrap().unwrap();
    assert!(store.cancel_task("quick", "ops").await.unwrap().cancel_requested);
    store.complete(&quick.lease, TaskResult::succeeded("accepted")).await.unwrap();
    let task = store.show_task("quick").await.unwrap().task;
    assert_eq!((task.state.as_str(), task.cancel_requested), ("done", false));

    // A retryable failure of a task cancelled meanwhile is not queued again.
    store.enqueue(NewTask::new(json!({})).with_id("flaky")).await.unwrap();
    let flaky = store.claim("w1", LEASE).await.unwrap().unwrap();
    store.cancel_task("flaky", "ops").await.unwrap();
    store.complete(&flaky.lease, TaskResult::retryable("store_error")).await.unwrap();
    let shown = store.show_task("flaky").await.unwrap();
    assert_eq!(shown.task.state, "cancelled");
    assert_eq!(shown.attempts[0].result.as_deref(), Some("cancelled"));

    // A lease that expires with a cancel pending ends cancelled, not queued.
    store.enqueue(NewTask::new(json!({})).with_id("gone")).await.unwrap();
    let gone = store.claim("dies", Duration::from_millis(200)).await.unwrap().unwrap();
    assert_eq!(gone.task.id.as_str(), "gone");
    store.cancel_task("gone", "ops").await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(store.claim("w2", LEASE).await.unwrap().is_none(), "the expired cancelled task is not handed out");
    let shown = store.show_task("gone").await.unwrap();
    assert_eq!(shown.task.state, "cancelled");
    assert_eq!(shown.attempts[0].result.as_deref(), Some("lease_expired"));

    // A blocked task is retried only once what blocks it is fine again.
    store.enqueue(NewTask::new(json!({})).with_id("root")).await.unwrap();
    store.enqueue(NewTask::new(json!({})).with_id("leaf").after(TaskId::new("root"))).await.unwrap();
    let root = store.claim("w1", LEASE).await.unwrap().unwrap();
    store.complete(&root.lease, TaskResult::failed("rolled_back")).await.unwrap();
    match store.retry_task("leaf", "ops").await {
        Err(StoreError::ControlRefused { state, reason, .. }) => {
            assert_eq!(state, "blocked");
            assert_eq!(reason, "dependency root is failed; retry it first");
        }
        other => panic!("retry of a task blocked by a failed one: {other:?}"),
    }
    assert_eq!(store.show_task("leaf").await.unwrap().task.state, "blocked");
}

#[tokio::test]
async fn on_sqlite_an_unseen_cancel_yields_to_a_completion_but_turns_a_requeue_or_an_expiry_into_cancelled() {
    unseen_cancels_and_blocked_retries(Db::sqlite()).await;
}

#[tokio::test]
async fn on_postgres_an_unseen_cancel_yields_to_a_completion_but_turns_a_requeue_or_an_expiry_into_cancelled() {
    unseen_cancels_and_blocked_retries(Db::postgres().await).await;
}
