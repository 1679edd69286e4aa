//! `agentctl task retry|reimplement|cancel|show ID --store URL [--by NAME] [--json]`:
//! operator controls on one task of a shared store, through the task's
//! state machine (the table is in `agent_store::control`).
//!
//! - `retry`: a new attempt of a failed, dead, cancelled (or, once its
//!   dependencies are fine, blocked) task, keeping its history, with one
//!   more claim allowed; its blocked dependants wait again.
//! - `reimplement`: a failed, dead, cancelled or done (not merged) task
//!   starts over from its goal: the worker that claims it restores its
//!   directory to the snapshot taken before its first attempt.
//! - `cancel`: a queued or blocked task is cancelled at once; a running
//!   one's worker stops the run at its next heartbeat (restoring the
//!   workspace) and completes it as cancelled.
//! - `show`: the task's record, attempts, journal, verdicts, cost and merge
//!   record.
//!
//! Exit codes: 0 when the control was applied (or the task shown); 1 when
//! the state machine refused it (the JSON says `"applied": false` with the
//! state and the reason, which also goes to stderr) or the store is
//! unreachable; 2 on bad input (unknown task, bad URL).

use crate::{CliError, Output, to_json};
use agentkit::store::{ControlAction, Store, StoreError};
use clap::{Args, Subcommand};
use serde_json::json;
use std::fmt::Write as _;

/// Arguments of `agentctl task`.
#[derive(Args, Debug)]
pub(crate) struct TaskArgs {
    /// The control.
    #[command(subcommand)]
    pub(crate) action: TaskAction,
}

impl TaskArgs {
    /// Whether `--json` was given.
    pub(crate) fn json(&self) -> bool {
        match &self.action {
            TaskAction::Retry(t) | TaskAction::Reimplement(t) | TaskAction::Cancel(t) | TaskAction::Show(t) => t.json,
        }
    }
}

/// The controls.
#[derive(Subcommand, Debug)]
pub(crate) enum TaskAction {
    /// Queue a new attempt of a failed, dead, cancelled or blocked task, keeping its history.
    Retry(TaskTarget),
    /// Discard the task's work and start over from its goal and its base snapshot.
    Reimplement(TaskTarget),
    /// Cancel a queued or blocked task, or stop a running one at its next heartbeat.
    Cancel(TaskTarget),
    /// The task's record, attempts, journal, verdicts, cost and merge record.
    Show(TaskTarget),
}

/// The task a control acts on.
#[derive(Args, Debug)]
pub(crate) struct TaskTarget {
    /// The task id.
    pub(crate) id: String,
    /// The store: `sqlite://PATH?mode=rwc` or `postgres://USER@HOST:PORT/DB`.
    #[arg(long)]
    pub(crate) store: String,
    /// Who asks (journaled with the control).
    #[arg(long, default_value = "agentctl")]
    pub(crate) by: String,
    /// Print one JSON document.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Unknown tasks and bad URLs are bad input; the rest is a failure.
pub(crate) fn store_error(e: StoreError) -> CliError {
    match e {
        StoreError::BadUrl { .. } | StoreError::UnknownTask { .. } => CliError::bad_input(e.to_string()),
        other => CliError::failed(other.to_string()),
    }
}

/// Runs `agentctl task`.
pub(crate) async fn task(args: TaskArgs) -> Result<Output, CliError> {
    let (action, target) = match args.action {
        TaskAction::Retry(t) => (Some(ControlAction::Retry), t),
        TaskAction::Reimplement(t) => (Some(ControlAction::Reimplement), t),
        TaskAction::Cancel(t) => (Some(ControlAction::Cancel), t),
        TaskAction::Show(t) => (None, t),
    };
    let store = Store::open(&target.store).await.map_err(store_error)?;
    let result = match action {
        Some(action) => control(&store, action, &target).await,
        None => show(&store, &target.id).await,
    };
    store.close().await;
    result
}

async fn control(store: &Store, action: ControlAction, target: &TaskTarget) -> Result<Output, CliError> {
    match store.control(&target.id, action, &target.by).await {
        Ok(done) => {
            let mut human = format!("{action} {}: {} -> {}", target.id, done.from_state, done.to_state);
            if done.cancel_requested {
                human.push_str(" (cancel requested: its worker stops at its next heartbeat)");
            }
            if !done.unblocked.is_empty() {
                let ids: Vec<&str> = done.unblocked.iter().map(|t| t.as_str()).collect();
                let _ = write!(human, "; unblocked {}", ids.join(", "));
            }
            if done.blocked > 0 {
                let _ = write!(human, "; {} dependant(s) blocked", done.blocked);
            }
            let mut json = to_json(&done);
            json["applied"] = json!(true);
            Ok(Output { json, human, ok: true })
        }
        Err(StoreError::ControlRefused { task, action, state, reason }) => Ok(refused(&task, action, &state, &reason)),
        Err(e) => Err(store_error(e)),
    }
}

/// The output of a control the state machine refused (exit 1; the reason
/// also goes to stderr).
pub(crate) fn refused(task: &str, action: ControlAction, state: &str, reason: &str) -> Output {
    let human = format!("{action} of {task} refused: it is {state}: {reason}");
    eprintln!("agentctl: {human}");
    let json = json!({
        "task": task, "action": action, "applied": false,
        "refused": {"state": state, "reason": reason},
    });
    Output { json, human, ok: false }
}

async fn show(store: &Store, id: &str) -> Result<Output, CliError> {
    let shown = store.show_task(id).await.map_err(store_error)?;
    let t = &shown.task;
    let mut human = format!(
        "task {} {}{} attempts={}/{} generation={}\n",
        t.id,
        t.state,
        if shown.merged { " (merged)" } else { "" },
        t.attempts,
        t.max_attempts,
        t.generation
    );
    if let Some(reason) = &t.reason {
        let _ = writeln!(human, "  reason: {reason}");
    }
    for a in &shown.attempts {
        let _ =
            writeln!(human, "  attempt {} by {}: {}", a.attempt, a.worker, a.result.as_deref().unwrap_or("running"));
    }
    for v in &shown.verdicts {
        let _ = writeln!(human, "  verdict: {}", to_json(v));
    }
    let _ = writeln!(
        human,
        "  cost: {} calls, {} in, {} out, {}",
        shown.cost.calls, shown.cost.input_tokens, shown.cost.output_tokens, shown.cost.cost_usd
    );
    if let Some(merge) = &shown.merge {
        let _ = writeln!(human, "  merge: {merge}");
    }
    let _ = writeln!(human, "  {} journal event(s), {} operator control(s)", shown.events.len(), shown.controls.len());
    Ok(Output { json: to_json(&shown), human, ok: true })
}
