//! `agentctl worker|enqueue|status|costs --store URL`: many workers on a
//! shared [`Store`] (SQLite file or PostgreSQL server).
//!
//! - `enqueue --store URL --dir DIR --goal TEXT [--priority N] [--after ID]… [--repo R] [--tenant T] [--ceiling SCOPE:KEY=USD]… [--id ID] [--max-attempts N]`
//!   adds a task (payload `{"goal", "dir"}`) and prints its id. Repeating
//!   it with the same `--id` and the same content is a no-op; the same id
//!   with other content is refused (exit 2). `--max-attempts` is how many
//!   times the task may be claimed before it is dead-lettered.
//! - `worker --store URL [--max-tasks N] [--lease D] [--drain] [--provider SPEC]… [--replay C] [--record C]`
//!   claims tasks and runs on each the same repair loop as `agentctl repair`,
//!   with the store as the journal and the budget ledger asked before every
//!   model call (a [`LedgerGuard`] around the provider stack); then completes
//!   the task with the loop's outcome. Several can run at once, on one
//!   machine or many. A worker that cannot heartbeat its lease stops the
//!   run (cancelling it, which restores the workspace) before the lease
//!   expires and leaves the task to another worker; a loop that ends in an
//!   error (not a verdict) is a retryable failure, claimed again until the
//!   task's maximum of attempts, then dead. Before a task's first attempt
//!   the worker snapshots its directory (a directory snapshot, kept) and
//!   records it as the task's base; a task an operator reimplemented
//!   (`agentctl task reimplement`) is restored to that base before it runs
//!   again. A task an operator cancels while it runs is stopped at the next
//!   heartbeat, its workspace restored (the worker waits for the restore),
//!   then completed as cancelled.
//! - `status --store URL [--stuck-after D]`: tasks per state, unfinished,
//!   dead and blocked tasks (with the reason), and stuck tasks.
//! - `costs --store URL [--by task|provider|model|repo|worker|tenant|day]`: spend grouped.
//!
//! Exit codes: 0 on success; 1 when a worker ran a task that was not
//! accepted, when `status` finds stuck tasks, or when the store is
//! unreachable; 2 on bad input (bad URL, missing directory, unknown task).

use crate::{CliError, Output, cli, provider_stack, require_dir, snapshotter_for, to_json};
use agentkit::agent::{LoopMode, Outcome, RepairConfig, RepairLoop, RepairParts, SessionConfig, Task};
use agentkit::classify::{AutoClassifier, RepairContextBuilder, RepoMap};
use agentkit::core::Journal;
use agentkit::core::Snapshotter;
use agentkit::core::budget::Usd;
use agentkit::core::event::{Event, EventKind, TaskId};
use agentkit::core::snapshot::SnapshotId;
use agentkit::core::{FailureClassifier, LlmProvider};
use agentkit::oracles::default_oracle;
use agentkit::providers::layers::{Retry, RetryPolicy};
use agentkit::sandbox::{DirSnapshotter, FileEditor, LimitedExecutor, ProcessExecutor};
use agentkit::store::{
    BudgetLedger, Claim, CostGroup, LedgerGuard, NewTask, Scope, SpendScopes, StopReason, Store, StoreError, TaskQueue,
    TaskResult, WorkerConfig, run_worker_with,
};
use clap::Args;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Arguments of `agentctl worker`.
#[derive(Args, Debug)]
pub(crate) struct WorkerArgs {
    /// The store: `sqlite://PATH?mode=rwc` or `postgres://USER@HOST:PORT/DB`.
    #[arg(long)]
    pub(crate) store: String,
    /// Stop after this many tasks.
    #[arg(long)]
    pub(crate) max_tasks: Option<usize>,
    /// Lease length; the worker heartbeats every third of it (`30s`).
    #[arg(long, default_value = "30s")]
    pub(crate) lease: String,
    /// Exit once nothing is ready and nothing is running (default: poll forever).
    #[arg(long)]
    pub(crate) drain: bool,
    /// The worker's name (default `worker-PID`).
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Provider spec `KIND:MODEL[@BASE_URL]`; repeat for a fallback chain.
    #[arg(long = "provider")]
    pub(crate) provider: Vec<String>,
    /// Answer from this cassette instead of the network.
    #[arg(long)]
    pub(crate) replay: Option<PathBuf>,
    /// Record every model exchange into this cassette.
    #[arg(long)]
    pub(crate) record: Option<PathBuf>,
    /// Attempts per task (the first plan plus repairs).
    #[arg(long, default_value_t = 3)]
    pub(crate) max_attempts: u32,
    /// Dollars held against the budgets before each model call, until its real cost is known.
    #[arg(long, default_value_t = 0.01)]
    pub(crate) estimate_usd: f64,
    /// How the model works: `tools` (agent sessions) or `plan` (one JSON plan per attempt).
    #[arg(long, default_value = "tools", value_parser = ["tools", "plan"])]
    pub(crate) mode: String,
    /// Most model turns of one agent session.
    #[arg(long, default_value_t = 30)]
    pub(crate) max_turns: u32,
    /// The sandbox of the commands the model runs (as for `repair`).
    #[arg(long, default_value = "workspace-write+no-network", value_parser = crate::cli::parse_sandbox)]
    pub(crate) sandbox: agentkit::core::exec::SandboxPolicy,
    /// Print one JSON document.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Arguments of `agentctl enqueue`.
#[derive(Args, Debug)]
pub(crate) struct EnqueueArgs {
    /// The store URL.
    #[arg(long)]
    pub(crate) store: String,
    /// The workspace the task runs in.
    #[arg(long)]
    pub(crate) dir: PathBuf,
    /// What to achieve (default: the spec's goal).
    #[arg(long, required_unless_present = "spec")]
    pub(crate) goal: Option<String>,
    /// A task spec (JSON, `agent_core::spec::TaskSpec`): its named tests
    /// must go from failing to passing, and the gates its acceptance
    /// criteria name (`contract`, `build`, `static`, `dependencies`, the
    /// scope of its non-goals) run in the worker's loop and in
    /// `agentctl merge`; its `breaking_changes` are the contract changes
    /// allowed to break.
    #[arg(long)]
    pub(crate) spec: Option<PathBuf>,
    /// Higher runs first.
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    pub(crate) priority: i64,
    /// A task that must succeed first; repeatable.
    #[arg(long)]
    pub(crate) after: Vec<String>,
    /// The repository (for budgets and costs; default: DIR).
    #[arg(long)]
    pub(crate) repo: Option<String>,
    /// The tenant (for budgets and costs).
    #[arg(long, default_value = "")]
    pub(crate) tenant: String,
    /// The task id (default: a fresh UUID).
    #[arg(long)]
    pub(crate) id: Option<String>,
    /// Claims of this task allowed before it is dead-lettered (a worker
    /// dying or its loop erroring on each); not the repair attempts of one run.
    #[arg(long, default_value_t = NewTask::DEFAULT_MAX_ATTEMPTS)]
    pub(crate) max_attempts: u32,
    /// Sets a budget ceiling, `SCOPE:KEY=USD` with SCOPE task, worker, repo or tenant; repeatable.
    #[arg(long)]
    pub(crate) ceiling: Vec<String>,
    /// Print one JSON document.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Arguments of `agentctl status`.
#[derive(Args, Debug)]
pub(crate) struct StatusArgs {
    /// The store URL.
    #[arg(long)]
    pub(crate) store: String,
    /// A task queued or running this long without a change is stuck (`30m`).
    #[arg(long, default_value = "30m")]
    pub(crate) stuck_after: String,
    /// Print one JSON document.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Arguments of `agentctl costs`.
#[derive(Args, Debug)]
pub(crate) struct CostsArgs {
    /// The store URL.
    #[arg(long)]
    pub(crate) store: String,
    /// Group by task, provider, model, repo, worker, tenant or day.
    #[arg(long, default_value = "task")]
    pub(crate) by: String,
    /// Print one JSON document.
    #[arg(long)]
    pub(crate) json: bool,
}

async fn open(url: &str) -> Result<Store, CliError> {
    Store::open(url).await.map_err(store_error)
}

/// Bad URLs, unknown tasks and conflicts are bad input; the rest is a failure.
fn store_error(e: StoreError) -> CliError {
    match e {
        StoreError::BadUrl { .. } | StoreError::UnknownDependency { .. } | StoreError::Conflict { .. } => {
            CliError::bad_input(e.to_string())
        }
        other => CliError::failed(other.to_string()),
    }
}

fn parse_ceiling(text: &str) -> Result<(Scope, String, f64), CliError> {
    let bad = || CliError::bad_input(format!("bad --ceiling `{text}`: expected SCOPE:KEY=USD, e.g. tenant:acme=5"));
    let (scope_key, usd) = text.rsplit_once('=').ok_or_else(bad)?;
    let (scope, key) = scope_key.split_once(':').ok_or_else(bad)?;
    let scope = match scope {
        "task" => Scope::Task,
        "worker" => Scope::Worker,
        "repo" => Scope::Repo,
        "tenant" => Scope::Tenant,
        _ => return Err(bad()),
    };
    let usd: f64 = usd.parse().map_err(|_| bad())?;
    if !usd.is_finite() || usd < 0.0 {
        return Err(bad());
    }
    Ok((scope, key.to_owned(), usd))
}

/// Runs `agentctl enqueue`.
pub(crate) async fn enqueue(args: EnqueueArgs) -> Result<Output, CliError> {
    let dir = require_dir(&args.dir)?;
    if args.max_attempts == 0 {
        return Err(CliError::bad_input("--max-attempts must be at least 1"));
    }
    let ceilings = args.ceiling.iter().map(|c| parse_ceiling(c)).collect::<Result<Vec<_>, _>>()?;
    let spec = match &args.spec {
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::bad_input(format!("--spec {}: {e}", path.display())))?;
            Some(
                agentkit::core::spec::TaskSpec::parse(&text)
                    .map_err(|e| CliError::bad_input(format!("--spec {}: {e}", path.display())))?,
            )
        }
    };
    let goal =
        args.goal.clone().or_else(|| spec.as_ref().map(agentkit::core::spec::TaskSpec::goal)).unwrap_or_default();
    let mut payload = json!({"goal": goal, "dir": dir});
    if let Some(spec) = &spec {
        payload["spec"] = to_json(spec);
    }
    let store = open(&args.store).await?;
    let mut task = NewTask::new(payload)
        .with_priority(args.priority)
        .with_repo(args.repo.unwrap_or_else(|| dir.display().to_string()))
        .with_tenant(args.tenant)
        .with_max_attempts(args.max_attempts);
    if let Some(id) = args.id {
        task = task.with_id(id);
    }
    for after in args.after {
        task = task.after(TaskId::new(after));
    }
    let id = store.enqueue(task).await.map_err(store_error)?;
    for (scope, key, usd) in &ceilings {
        store.set_ceiling(*scope, key, Usd::from_dollars(*usd)).await.map_err(store_error)?;
    }
    let json = json!({"task": id, "ceilings": ceilings.iter().map(|(s, k, u)| json!({"scope": s, "key": k, "usd": u})).collect::<Vec<_>>()});
    Ok(Output { json, human: format!("enqueued {id}"), ok: true })
}

/// Runs `agentctl status`.
pub(crate) async fn status(args: StatusArgs) -> Result<Output, CliError> {
    let limit = cli::parse_duration(&args.stuck_after).map_err(CliError::bad_input)?;
    let store = open(&args.store).await?;
    let counts = store.counts().await.map_err(store_error)?;
    let stuck = store.stuck(limit).await.map_err(store_error)?;
    let all = store.tasks().await.map_err(store_error)?;
    let given_up: Vec<_> = all.iter().filter(|t| matches!(t.state.as_str(), "dead" | "blocked")).cloned().collect();
    let mut human = format!(
        "queued {}, running {}, done {}, failed {}, dead {}, blocked {}, cancelled {}\n",
        counts.queued, counts.running, counts.done, counts.failed, counts.dead, counts.blocked, counts.cancelled
    );
    let unfinished: Vec<_> = all.iter().filter(|t| matches!(t.state.as_str(), "queued" | "running")).collect();
    for t in &unfinished {
        let _ = writeln!(
            human,
            "  {} {} attempts={} worker={}",
            t.id,
            t.state,
            t.attempts,
            t.worker.as_deref().unwrap_or("-")
        );
    }
    for s in &stuck {
        let _ = writeln!(human, "stuck: {} {} for {} s", s.task.id, s.task.state, s.for_ms / 1000);
    }
    for t in &given_up {
        let _ = writeln!(
            human,
            "{}: {} attempts={}/{} {}",
            t.state,
            t.id,
            t.attempts,
            t.max_attempts,
            t.reason.as_deref().unwrap_or("")
        );
    }
    let json = json!({"counts": counts, "unfinished": unfinished, "dead_or_blocked": given_up, "stuck": stuck});
    Ok(Output { json, human, ok: stuck.is_empty() })
}

/// Runs `agentctl costs`.
pub(crate) async fn costs(args: CostsArgs) -> Result<Output, CliError> {
    let group: CostGroup = args.by.parse().map_err(CliError::bad_input)?;
    let store = open(&args.store).await?;
    let rows = store.costs(group).await.map_err(store_error)?;
    let total = rows.iter().map(|r| r.cost_usd).sum::<Usd>().dollars();
    let mut human = String::new();
    for r in &rows {
        let _ = writeln!(
            human,
            "{:<40} {:>6} calls {:>10} in {:>8} out ${:.6}",
            r.key, r.calls, r.input_tokens, r.output_tokens, r.cost_usd
        );
    }
    let _ = writeln!(human, "total ${total:.6}");
    Ok(Output { json: json!({"by": args.by, "rows": rows, "total_usd": total}), human, ok: true })
}

/// Runs `agentctl worker`.
pub(crate) async fn worker(args: WorkerArgs) -> Result<Output, CliError> {
    let lease = cli::parse_duration(&args.lease).map_err(CliError::bad_input)?;
    if lease < Duration::from_millis(300) {
        return Err(CliError::bad_input("--lease must be at least 300ms"));
    }
    if args.max_attempts == 0 {
        return Err(CliError::bad_input("--max-attempts must be at least 1"));
    }
    let stack = provider_stack(&args.provider, args.replay.as_deref(), args.record.as_deref())?;
    let provider: Arc<dyn LlmProvider> = Arc::new(Retry::new(stack, RetryPolicy::default()));
    let store = Arc::new(open(&args.store).await?);
    let name = args.name.unwrap_or_else(|| format!("worker-{}", std::process::id()));
    let mut config = WorkerConfig::new(name.clone()).with_lease(lease);
    if let Some(n) = args.max_tasks {
        config = config.with_max_tasks(n);
    }
    if args.drain {
        config = config.draining();
    }
    if args.max_turns == 0 {
        return Err(CliError::bad_input("--max-turns must be at least 1"));
    }
    let settings = TaskSettings {
        max_attempts: args.max_attempts,
        estimate_usd: args.estimate_usd,
        mode: if args.mode == "plan" { LoopMode::Plan } else { LoopMode::Tools },
        max_turns: args.max_turns,
        sandbox: args.sandbox.clone(),
    };
    let runs: Arc<Mutex<Vec<Value>>> = Arc::default();
    // The loop of the task being run, so a stopped run's restore is awaited.
    let current: Arc<Mutex<Option<Arc<RepairLoop>>>> = Arc::default();
    let stats = run_worker_with(
        store.as_ref(),
        &config,
        |claim| {
            let (store, provider, runs, name) = (store.clone(), provider.clone(), runs.clone(), name.clone());
            let (settings, current) = (settings.clone(), current.clone());
            async move {
                let (result, row) = run_task(&store, provider, &name, claim, &settings, &current).await;
                if let Ok(mut runs) = runs.lock() {
                    runs.push(row);
                }
                result
            }
        },
        |lease, reason| {
            let (runs, current) = (runs.clone(), current.clone());
            async move {
                // The dropped run spawned its restore: the workspace is back
                // before the task is completed as cancelled or left to another worker.
                let stopped = current.lock().ok().and_then(|mut c| c.take());
                let restores = match stopped {
                    Some(repair_loop) => repair_loop.wait_for_restores().await,
                    None => 0,
                };
                let outcome = match reason {
                    StopReason::Cancelled => "cancelled",
                    StopReason::LeaseLost => "lease_lost",
                    _ => "stopped",
                };
                if let Ok(mut runs) = runs.lock() {
                    runs.push(json!({"task": lease.task, "attempt": lease.attempt, "outcome": outcome,
                                     "detail": {"restores": restores}}));
                }
            }
        },
    )
    .await
    .map_err(store_error)?;
    let runs = runs.lock().map(|r| r.clone()).unwrap_or_default();
    // A run an operator cancelled ended as asked.
    let ok = runs.iter().all(|r| r["outcome"] == "accepted" || r["outcome"] == "cancelled");
    let mut human = format!(
        "{name}: {} completed, {} lost, {} stopped (no heartbeat within the lease), {} cancelled\n",
        stats.completed, stats.lost, stats.expired, stats.cancelled
    );
    for r in &runs {
        let _ = writeln!(human, "  {} {}", r["task"].as_str().unwrap_or("?"), r["outcome"].as_str().unwrap_or("?"));
    }
    Ok(Output { json: json!({"worker": name, "stats": stats, "tasks": runs}), human, ok })
}

/// How the worker runs each task's loop.
#[derive(Clone)]
struct TaskSettings {
    max_attempts: u32,
    estimate_usd: f64,
    mode: LoopMode,
    max_turns: u32,
    sandbox: agentkit::core::exec::SandboxPolicy,
}

/// Runs the repair loop on one claimed task, as `agentctl repair` would,
/// with the store as the journal and the ledger guarding each model call.
async fn run_task(
    store: &Arc<Store>,
    provider: Arc<dyn LlmProvider>,
    worker: &str,
    claim: Claim,
    settings: &TaskSettings,
    current: &Mutex<Option<Arc<RepairLoop>>>,
) -> (TaskResult, Value) {
    let TaskSettings { max_attempts, estimate_usd, mode: loop_mode, max_turns, sandbox } = settings.clone();
    let task = &claim.task;
    let goal = task.payload["goal"].as_str().unwrap_or_default().to_owned();
    let dir = PathBuf::from(task.payload["dir"].as_str().unwrap_or_default());
    let row = |outcome: &str, detail: Value| json!({"task": task.id, "attempt": claim.lease.attempt, "outcome": outcome, "detail": detail});
    if goal.is_empty() || !dir.is_dir() {
        let why = json!({"error": format!("payload needs a goal and an existing dir: {}", task.payload)});
        return (TaskResult::failed("bad_payload").with_detail(why.clone()), row("bad_payload", why));
    }
    let spec = match crate::spec_of(&task.payload) {
        Ok(spec) => spec,
        Err(e) => {
            let why = json!({"error": e});
            return (TaskResult::failed("bad_payload").with_detail(why.clone()), row("bad_payload", why));
        }
    };
    if let Err(why) = prepare_base(store, &claim, &dir).await {
        let why = json!({"error": why});
        return (TaskResult::failed("base_snapshot").with_detail(why.clone()), row("base_snapshot", why));
    }
    let who = SpendScopes::new(task.id.as_str(), worker, task.repo.clone(), task.tenant.clone());
    let ledger: Arc<dyn BudgetLedger> = store.clone();
    let guard = Arc::new(LedgerGuard::new(provider, ledger, who, Usd::from_dollars(estimate_usd)));
    // Each run is classified by the tool that ran, as in `agentctl repair`.
    let classifier: Arc<dyn FailureClassifier> = Arc::new(AutoClassifier::new());
    let executor: Arc<dyn agentkit::core::Executor> = Arc::new(
        LimitedExecutor::new(ProcessExecutor::new().with_default_cwd(dir.clone()))
            .with_max_consecutive_timeouts(3)
            .with_max_total_time(Duration::from_secs(3600)),
    );
    let spec_gates = match &spec {
        Some(spec) => match crate::spec_gates(spec, &[], executor.clone()) {
            Ok(gates) => gates,
            Err(e) => {
                let why = json!({"error": e.message});
                return (TaskResult::failed("bad_payload").with_detail(why.clone()), row("bad_payload", why));
            }
        },
        None => Vec::new(),
    };
    let parts = RepairParts {
        provider: guard.clone(),
        oracle: Arc::new(default_oracle()),
        classifier,
        executor,
        snapshotter: snapshotter_for(&dir).1,
        editor: Arc::new(FileEditor::new()),
        journal: store.clone(),
    };
    let config = RepairConfig::default()
        .with_max_attempts(max_attempts)
        .with_mode(loop_mode)
        .with_session(SessionConfig::default().with_max_turns(max_turns))
        .with_sandbox(sandbox);
    // The same loop `agentctl repair` runs: failures grouped by root cause within a token budget.
    let mut repair_loop = RepairLoop::new(parts)
        .with_config(config)
        .with_context_renderer(Arc::new(RepairContextBuilder::new()))
        .with_repo_map(Arc::new(RepoMap::new()));
    for gate in spec_gates {
        repair_loop = repair_loop.with_gate(gate);
    }
    let repair_loop = Arc::new(repair_loop);
    if let Ok(mut c) = current.lock() {
        *c = Some(repair_loop.clone());
    }
    let run = match &spec {
        Some(spec) => Task::from_spec(task.id.clone(), dir, spec),
        None => Task::new(task.id.clone(), dir, goal),
    };
    let report = repair_loop.run(run).await;
    if let Ok(mut c) = current.lock() {
        *c = None;
    }
    match report {
        Ok(report) => {
            // A model call the ledger refused ends the loop as NeedsHuman;
            // the worker reports it as the budget stop it is.
            let outcome = match report.outcome {
                Outcome::NeedsHuman if guard.refusals() > 0 => "budget_exceeded".to_owned(),
                other => to_json(&other).as_str().unwrap_or("unknown").to_owned(),
            };
            let detail = to_json(&report);
            let result = if report.outcome == Outcome::Accepted {
                TaskResult::succeeded(outcome.clone())
            } else {
                TaskResult::failed(outcome.clone())
            };
            (result.with_detail(detail), row(&outcome, json!({"verdict": to_json(&report.verdict)})))
        }
        Err(e) => {
            // An error is no verdict on the task: another claim may get
            // through, up to the task's maximum of attempts.
            let why = json!({"error": e.to_string()});
            (TaskResult::retryable("error").with_detail(why.clone()), row("error", why))
        }
    }
}

/// Where the base snapshots of tasks are kept: directory snapshots (no
/// crash-recovery marker, so `agentctl recover` never mistakes a kept base
/// for an interrupted run), in the user's private snapshot store.
fn base_snapshotter() -> DirSnapshotter {
    DirSnapshotter::in_temp_dir()
}

/// Records the task's base (its directory before its first attempt) if no
/// worker did yet, and for a reimplemented task restores the directory to
/// it (journaled as `SnapshotRestored`). `Err` says why the task cannot run.
async fn prepare_base(store: &Store, claim: &Claim, dir: &std::path::Path) -> Result<(), String> {
    let snaps = base_snapshotter();
    let task = &claim.task;
    let base = match &task.base_snapshot {
        Some(base) => base.clone(),
        None if claim.reimplement => {
            return Err("the task was reimplemented but no base snapshot was recorded before its first attempt".into());
        }
        None => {
            let id = snaps.snapshot(dir).await.map_err(|e| format!("snapshotting the base: {e}"))?;
            let base = store.record_base_snapshot(&claim.lease, id.as_str()).await.map_err(|e| e.to_string())?;
            if base != id.as_str() {
                // Another worker recorded one first; it is the base.
                let _ = snaps.discard(dir, &id).await;
            }
            base
        }
    };
    if claim.reimplement {
        let id = SnapshotId::new(base.clone());
        snaps.restore(dir, &id).await.map_err(|e| format!("restoring the base snapshot {base}: {e}"))?;
        let event = Event::now(task.id.clone(), EventKind::SnapshotRestored { id: base });
        if let Err(e) = store.append(event).await {
            eprintln!("agentctl: journaling the base restore of {} failed: {e}", task.id);
        }
    }
    Ok(())
}
