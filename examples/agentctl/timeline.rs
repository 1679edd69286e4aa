//! `agentctl timeline JOURNAL [TASK] [--json]`: a task's timeline read back
//! from a JSON-lines journal (states, model calls with tokens and cost,
//! runs, gate reports, verdict), and the metrics across every task of the
//! journal (pass rate, repairs per success, rollback rate, mutation score).
//!
//! Without TASK the task of the journal's last event is shown. Exit codes:
//! 0 when the task was accepted, 1 when it ended otherwise or has not ended,
//! 2 on bad input (no such journal, a corrupt one, a task it does not hold).

use crate::{CliError, Output, to_json};
use agentkit::agent::{JsonlJournal, RunMetrics, Timeline};
use agentkit::core::event::{TaskId, TaskState};
use clap::Args;
use serde_json::json;
use std::fmt::Write as _;
use std::path::PathBuf;

/// Arguments of `agentctl timeline`.
#[derive(Args, Debug)]
pub(crate) struct TimelineArgs {
    /// The JSON-lines journal (`agentctl repair --journal`).
    pub(crate) journal: PathBuf,
    /// The task id (default: the task of the last event).
    pub(crate) task: Option<String>,
    /// Print one JSON document.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Runs `agentctl timeline`.
pub(crate) async fn timeline(args: TimelineArgs) -> Result<Output, CliError> {
    if !args.journal.is_file() {
        return Err(CliError::bad_input(format!("{} is not a journal file", args.journal.display())));
    }
    let events = JsonlJournal::read_all(&args.journal)
        .await
        .map_err(|e| CliError::bad_input(format!("{}: {e}", args.journal.display())))?;
    let task = match args.task {
        Some(t) => TaskId::new(t),
        None => events
            .last()
            .map(|e| e.task.clone())
            .ok_or_else(|| CliError::bad_input(format!("{} holds no event", args.journal.display())))?,
    };
    if !events.iter().any(|e| e.task == task) {
        return Err(CliError::bad_input(format!("{} holds no event of task `{task}`", args.journal.display())));
    }
    let timeline = Timeline::of(&events, &task);
    let metrics = RunMetrics::from_events(&events);
    let mut human = timeline.render();
    let pct = |v: Option<f64>| v.map_or_else(|| "n/a".to_owned(), |x| format!("{:.0}%", x * 100.0));
    let _ = writeln!(
        human,
        "across {} finished task(s): pass rate {}, rollback rate {}, repairs per success {}, mutation score {}",
        metrics.tasks,
        pct(metrics.pass_rate),
        pct(metrics.rollback_rate),
        metrics.repairs_per_success.map_or_else(|| "n/a".to_owned(), |r| format!("{r:.2}")),
        pct(metrics.mutation_score),
    );
    let ok = timeline.final_state == Some(TaskState::Accepted);
    Ok(Output { json: json!({ "timeline": to_json(&timeline), "metrics": to_json(&metrics) }), human, ok })
}
