//! `agentctl merge DIR --target BRANCH [--remote R] [--branch NAME]
//! [--min-confidence X] [--max-rebases N] [--gate G …] [--allow-break S …]
//! [--provider SPEC …] [--replay CASSETTE] [--record CASSETTE]
//! [--journal PATH] [--json]`: the merge step on the task worktree DIR. The
//! accepted change in DIR is committed on its task branch, rebased onto
//! BRANCH (conflicts resolved by the model when it is confident enough),
//! checked again by the gates, and landed: BRANCH fast-forwarded, or, with
//! `--branch NAME`, left on NAME for a pull request.
//!
//! `agentctl merge ID --store URL --target BRANCH […]`: the same for the
//! finished task ID of a shared store. The task's state machine decides
//! first (only a `done` task that is not merged yet may be merged; any
//! other is refused with the reason, exit 1, as `agentctl task` controls
//! are); the worktree and the goal come from the task, the gates its spec
//! names (`agentctl enqueue --spec`: contract, build, static, dependencies,
//! the scope of its non-goals) run on the rebased change besides `--gate`,
//! its declared `breaking_changes` are allowed by the contract gate, and
//! the merge step journals into the store, where its `merged` event makes
//! the task `merged` (`agentctl task show` prints the record).
//!
//! Gates (`--gate`, repeatable, default `tests`): `tests` (the suite runs
//! at the target's head first, in the task's worktree: a test already
//! failing there does not refuse the merge, every test that passed there
//! must still pass, and the change's new tests must pass), `build`,
//! `lint`, `contract` (no JSON Schema, OpenAPI document or public Rust API
//! the change touches breaks, unless declared with `--allow-break`),
//! `none`.
//!
//! Exit codes: 0 merged, branch left or nothing to merge; 1 a person must
//! look (an unresolved conflict, failing gates, a target that kept
//! moving, a task the state machine refuses to merge); 2 bad input (no
//! such directory, task or target, a bad option, a worktree on the target
//! branch, git failing).

use crate::task::{refused, store_error};
use crate::{CliError, Output, provider_stack, require_dir, to_json};
use agentkit::agent::JsonlJournal;
use agentkit::agent::merge::{Landing, MergeConfig, MergeError, MergeOutcome, MergeRequest, MergeStep};
use agentkit::classify::AutoClassifier;
use agentkit::core::event::{TaskId, unix_ms_now};
use agentkit::core::spec::TaskSpec;
use agentkit::core::{LlmProvider, WorkspaceOracle};
use agentkit::oracles::default_oracle;
use agentkit::sandbox::ProcessExecutor;
use agentkit::store::{Store, StoreError};
use clap::Args;
use serde_json::json;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

/// Arguments of `agentctl merge`.
#[derive(Args, Debug)]
pub(crate) struct MergeArgs {
    /// The task's worktree (a git worktree of the repository, or a clone);
    /// with `--store`, the id of a finished task of that store.
    #[arg(value_name = "DIR|ID")]
    pub(crate) what: String,
    /// The store holding task ID: `sqlite://PATH?mode=rwc` or `postgres://…`.
    #[arg(long)]
    pub(crate) store: Option<String>,
    /// Who asks (journaled with the store's merge control).
    #[arg(long, default_value = "agentctl", requires = "store")]
    pub(crate) by: String,
    /// The target branch.
    #[arg(long)]
    pub(crate) target: String,
    /// Fetch the target from this remote (name, URL or path) and push to it;
    /// without it the target is a branch of DIR's own repository.
    #[arg(long)]
    pub(crate) remote: Option<String>,
    /// Leave the rebased change on this branch instead of fast-forwarding the target.
    #[arg(long)]
    pub(crate) branch: Option<String>,
    /// The minimum confidence (0–1) of a model's conflict resolution.
    #[arg(long, default_value_t = 0.8)]
    pub(crate) min_confidence: f64,
    /// Rebases allowed in all (the target moving during the gates costs one more).
    #[arg(long, default_value_t = 3)]
    pub(crate) max_rebases: u32,
    /// A gate re-run on the rebased change: `tests`, `build`, `lint`,
    /// `contract`, or `none`; repeatable (default: tests).
    #[arg(long = "gate")]
    pub(crate) gates: Vec<String>,
    /// A contract change the task may break (for the `contract` gate: a
    /// path, a schema or field name, an operation, a Rust item); repeatable.
    #[arg(long = "allow-break")]
    pub(crate) allow_break: Vec<String>,
    /// The task id (default: `merge-<unix ms>`); the task branch of a detached worktree is `agentkit/<id>`.
    #[arg(long, conflicts_with = "store")]
    pub(crate) task: Option<String>,
    /// The goal of the task: the commit message, and context for conflicts
    /// (default: the store task's goal, else `agentkit task`).
    #[arg(long)]
    pub(crate) goal: Option<String>,
    /// Provider spec `KIND:MODEL[@BASE_URL]` for conflict resolution; repeat for a fallback chain.
    #[arg(long = "provider")]
    pub(crate) provider: Vec<String>,
    /// Answer from this cassette instead of the network.
    #[arg(long)]
    pub(crate) replay: Option<PathBuf>,
    /// Record the model's exchanges into this cassette.
    #[arg(long)]
    pub(crate) record: Option<PathBuf>,
    /// Where to write the JSONL journal (default: a file under the temp
    /// dir; with `--store`, the store).
    #[arg(long, conflicts_with = "store")]
    pub(crate) journal: Option<PathBuf>,
    /// Print one JSON document.
    #[arg(long)]
    pub(crate) json: bool,
}

/// The task to merge: from the command line, or from the store after its
/// state machine allowed the merge.
struct Subject {
    task: TaskId,
    root: PathBuf,
    goal: String,
    allowed_breaks: Vec<String>,
    journal: Arc<dyn agentkit::core::Journal>,
    /// Where the journal is, for the report.
    journal_at: String,
    /// The store the task is from.
    store: Option<Store>,
    /// The store task's spec, whose gates the merge re-runs too.
    spec: Option<agentkit::core::spec::TaskSpec>,
}

/// Runs `agentctl merge`.
pub(crate) async fn merge(args: MergeArgs) -> Result<Output, CliError> {
    if !(0.0..=1.0).contains(&args.min_confidence) {
        return Err(CliError::bad_input("--min-confidence must be between 0 and 1"));
    }
    if args.max_rebases == 0 {
        return Err(CliError::bad_input("--max-rebases must be at least 1"));
    }
    let names = if args.gates.is_empty() { vec!["tests".to_owned()] } else { args.gates.clone() };
    if let Some(other) = names.iter().find(|n| !matches!(n.as_str(), "tests" | "build" | "lint" | "contract" | "none"))
    {
        return Err(CliError::bad_input(format!("unknown gate `{other}`: use tests, build, lint, contract or none")));
    }
    let subject = match &args.store {
        None => {
            let task = TaskId::new(args.task.clone().unwrap_or_else(|| format!("merge-{}", unix_ms_now())));
            let path = args.journal.clone().unwrap_or_else(|| {
                std::env::temp_dir().join("agentkit-journals").join(format!("{}.jsonl", task.as_str()))
            });
            let journal = Arc::new(JsonlJournal::open(&path).await.map_err(|e| CliError::bad_input(e.to_string()))?);
            Subject {
                task,
                root: require_dir(std::path::Path::new(&args.what))?,
                goal: args.goal.clone().unwrap_or_else(|| "agentkit task".to_owned()),
                allowed_breaks: args.allow_break.clone(),
                journal,
                journal_at: path.display().to_string(),
                store: None,
                spec: None,
            }
        }
        Some(url) => {
            let store = Store::open(url).await.map_err(store_error)?;
            match from_store(&store, &args).await {
                Ok(subject) => subject,
                Err(Refusal::Output(out)) => {
                    store.close().await;
                    return Ok(out);
                }
                Err(Refusal::Error(e)) => {
                    store.close().await;
                    return Err(e);
                }
            }
        }
    };
    let result = run_step(&args, &names, &subject).await;
    if let Some(store) = &subject.store {
        store.close().await;
    }
    result
}

/// Why a store task is not merged.
enum Refusal {
    /// The state machine refused, with the reason (exit 1).
    Output(Output),
    /// Bad input or an unreachable store.
    Error(CliError),
}

/// The store task `args.what`, once its state machine allows the merge.
async fn from_store(store: &Store, args: &MergeArgs) -> Result<Subject, Refusal> {
    let id = args.what.as_str();
    // The task's payload first: a task that names no usable directory or
    // spec is bad input, and its journal gets no merge control.
    let shown = store.show_task(id).await.map_err(|e| Refusal::Error(store_error(e)))?;
    let payload = &shown.task.payload;
    let dir = payload["dir"].as_str().ok_or_else(|| {
        Refusal::Error(CliError::bad_input(format!("task {id} names no directory (payload field `dir`)")))
    })?;
    let root = require_dir(std::path::Path::new(dir)).map_err(Refusal::Error)?;
    let spec = crate::spec_of(payload).map_err(|e| Refusal::Error(CliError::bad_input(format!("task {id}: {e}"))))?;
    let goal = args.goal.clone().or_else(|| payload["goal"].as_str().map(str::to_owned));
    let mut allowed_breaks: Vec<String> = spec.as_ref().map(|s| s.breaking_changes.clone()).unwrap_or_default();
    allowed_breaks.extend(args.allow_break.iter().cloned());
    match store.merge_task(id, &args.by).await {
        Ok(_) => {}
        Err(StoreError::ControlRefused { task, action, state, reason }) => {
            return Err(Refusal::Output(refused(&task, action, &state, &reason)));
        }
        Err(e) => return Err(Refusal::Error(store_error(e))),
    }
    Ok(Subject {
        task: TaskId::new(id),
        root,
        goal: goal.unwrap_or_else(|| "agentkit task".to_owned()),
        allowed_breaks,
        journal: Arc::new(store.clone()),
        journal_at: format!("the store (task {id})"),
        store: Some(store.clone()),
        spec,
    })
}

/// The merge step on `subject`, and its report.
async fn run_step(args: &MergeArgs, names: &[String], subject: &Subject) -> Result<Output, CliError> {
    let root = &subject.root;
    let executor = Arc::new(ProcessExecutor::new());
    // One list: the spec's gates (its scope, contract, build, ...) and
    // `--gate`'s, with every break the task may make declared.
    let mut spec = subject.spec.clone().unwrap_or_else(|| TaskSpec::new(subject.goal.clone()));
    spec.breaking_changes.clone_from(&subject.allowed_breaks);
    let flags: Vec<String> = names.iter().filter(|n| *n != "none").cloned().collect();
    let gates = crate::spec_gates(&spec, &flags, executor.clone())?;
    // Without `--provider` or `--replay`, a default provider that cannot be
    // built (no key) leaves conflicts to a person instead of failing a merge
    // that may have none.
    let explicit = !args.provider.is_empty() || args.replay.is_some();
    let provider: Option<Arc<dyn LlmProvider>> =
        match provider_stack(&args.provider, args.replay.as_deref(), args.record.as_deref()) {
            Ok(stack) => Some(Arc::new(stack)),
            Err(e) if explicit => return Err(e),
            Err(_) => None,
        };
    let task = subject.task.clone();
    let journal = subject.journal.clone();
    let profile = default_oracle().inspect(root).await.map_err(|e| CliError::bad_input(e.to_string()))?;

    let mut config =
        MergeConfig::new(&args.target).with_min_confidence(args.min_confidence).with_max_rebases(args.max_rebases);
    if let Some(remote) = &args.remote {
        config = config.with_remote(remote);
    }
    if let Some(name) = &args.branch {
        config = config.with_landing(Landing::Branch { name: name.clone() });
    }
    let mut step = MergeStep::new(executor, journal).with_config(config).with_profile(profile);
    if let Some(provider) = provider {
        step = step.with_provider(provider);
    }
    for gate in gates {
        step = step.with_gate(gate);
    }
    if flags.iter().any(|n| n == "tests") {
        step = step.with_target_baseline(Arc::new(AutoClassifier::new()));
    }
    let report = step.run(MergeRequest::new(task.as_str(), root, &subject.goal)).await.map_err(|e| match e {
        MergeError::Exec { .. } | MergeError::Journal(_) | MergeError::Repository { .. } => {
            CliError::failed(e.to_string())
        }
        other => CliError::bad_input(other.to_string()),
    })?;

    let mut human = String::new();
    let ok = match &report.outcome {
        MergeOutcome::Merged { commit } => {
            let _ = writeln!(human, "merged into {} at {commit}", args.target);
            true
        }
        MergeOutcome::BranchLeft { branch, commit } => {
            let _ = writeln!(human, "left branch {branch} at {commit} (the target {} is untouched)", args.target);
            true
        }
        MergeOutcome::NothingToMerge => {
            let _ = writeln!(human, "nothing to merge: {} already holds the change", args.target);
            true
        }
        MergeOutcome::NeedsHuman { conflicts, reason } => {
            let _ = writeln!(human, "needs a human: {reason}");
            for c in conflicts {
                let confidence = c.confidence.map_or_else(|| "-".to_owned(), |x| format!("{x:.2}"));
                let _ = writeln!(
                    human,
                    "  {}: confidence {confidence}; {}",
                    c.file,
                    c.problem.as_deref().or(c.reason.as_deref()).unwrap_or("")
                );
            }
            false
        }
        MergeOutcome::GatesFailed { reports } => {
            let _ = writeln!(human, "refused: gates failed on the rebased change");
            for r in reports.iter().filter(|r| !r.passed) {
                let _ = writeln!(human, "  {}: {}", r.gate, r.summary);
            }
            false
        }
        MergeOutcome::TargetKeptMoving { rebases } => {
            let _ = writeln!(human, "refused: {} moved after each of {rebases} rebases", args.target);
            false
        }
        _ => false,
    };
    let _ = writeln!(
        human,
        "task branch {}, {} rebase(s), journal {}",
        report.task_branch, report.rebases, subject.journal_at
    );
    let json = json!({
        "task": task.as_str(),
        "target": args.target,
        "report": to_json(&report),
        "journal": subject.journal_at,
    });
    Ok(Output { json, human, ok })
}
