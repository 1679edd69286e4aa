//! Reading a journal back: one task's [`Timeline`], and [`RunMetrics`]
//! across every task of a journal (`agentctl timeline` prints both).
//! [`determinism`] compares the trees that repeated runs of one task leave
//! behind (`agentctl repair --repeat`).
//!
//! ```
//! use agent_core::event::{Event, EventKind, TaskId, TaskState};
//! use agent_loop::{RunMetrics, Timeline};
//! use agent_core::gate::Verdict;
//!
//! let t = TaskId::new("t1");
//! let events = vec![
//!     Event::at(t.clone(), 1_000, EventKind::TaskStarted { goal: "fix".into(), root: "/r".into() }),
//!     Event::at(t.clone(), 1_200, EventKind::ToolCall {
//!         turn: 2, name: "read_file".into(), arguments_sha256: "ab12".into(),
//!         duration_ms: 3, result_bytes: 812, error: None,
//!     }),
//!     Event::at(t.clone(), 1_500, EventKind::Verdict { verdict: Verdict::Approve }),
//!     Event::at(t.clone(), 2_000, EventKind::TaskFinished { state: TaskState::Accepted }),
//! ];
//! let timeline = Timeline::of(&events, &t);
//! assert_eq!(timeline.final_state, Some(TaskState::Accepted));
//! assert_eq!(timeline.tool_calls, 1);
//! assert!(timeline.render().contains("+200ms  tool read_file (turn 2): 812 bytes in 3ms"));
//! assert!(timeline.render().contains("+500ms  verdict: approve"));
//! assert_eq!(RunMetrics::from_events(&events).pass_rate, Some(1.0));
//! ```

use agent_core::budget::Usd;
use agent_core::event::{Event, EventKind, TaskId, TaskState};
use agent_core::gate::Verdict;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One line of a timeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct TimelineEntry {
    /// Milliseconds since the task's first event.
    pub offset_ms: u64,
    /// What happened, in one line.
    pub text: String,
}

/// One task's events as a readable sequence, with its totals.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Timeline {
    /// The task.
    pub task: String,
    /// Its goal, from the start event.
    pub goal: Option<String>,
    /// States in the order entered.
    pub states: Vec<TaskState>,
    /// The entries, in order.
    pub entries: Vec<TimelineEntry>,
    /// Model calls made.
    pub model_calls: u32,
    /// Input and output tokens of those calls.
    pub tokens: (u64, u64),
    /// Their cost in US dollars, where priced.
    pub cost_usd: Usd,
    /// Tool calls an agent session ran.
    #[serde(default)]
    pub tool_calls: u32,
    /// The verdict, when one was given.
    pub verdict: Option<Verdict>,
    /// The state the task ended in.
    pub final_state: Option<TaskState>,
}

/// The first 12 characters of a commit id.
fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

fn state_name(s: TaskState) -> String {
    serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_else(|| format!("{s:?}"))
}

fn verdict_line(v: &Verdict) -> String {
    match v {
        Verdict::Approve => "approve".to_owned(),
        Verdict::ChangesRequested { items } => format!("changes requested: {}", items.join("; ")),
        Verdict::Partial { items } => format!("partial: {}", items.join("; ")),
        Verdict::NeedsHuman { reason } => format!("needs human: {reason}"),
        other => format!("{other:?}"),
    }
}

impl Timeline {
    /// The timeline of `task` among `events` (other tasks' events are ignored).
    pub fn of(events: &[Event], task: &TaskId) -> Timeline {
        let mine: Vec<&Event> = events.iter().filter(|e| &e.task == task).collect();
        let start = mine.first().map_or(0, |e| e.at_unix_ms);
        let mut t = Timeline { task: task.to_string(), ..Timeline::default() };
        for e in mine {
            let text = match &e.kind {
                EventKind::TaskStarted { goal, root } => {
                    t.goal = Some(goal.clone());
                    t.states.push(TaskState::Queued);
                    format!("started in {root}: {goal}")
                }
                EventKind::StateTransition { from, to } => {
                    t.states.push(*to);
                    format!("state {} -> {}", state_name(*from), state_name(*to))
                }
                EventKind::Inspected { projects, test_command } => {
                    format!("inspected: {projects} project(s), tests: {}", test_command.as_deref().unwrap_or("none"))
                }
                EventKind::LlmCall {
                    provider,
                    purpose,
                    input_tokens,
                    output_tokens,
                    cost_usd,
                    latency_ms,
                    error,
                    ..
                } => {
                    t.model_calls += 1;
                    t.tokens.0 += input_tokens;
                    t.tokens.1 += output_tokens;
                    t.cost_usd += cost_usd.unwrap_or(Usd::ZERO);
                    let cost = cost_usd.map_or_else(|| "unpriced".to_owned(), |c| format!("${:.4}", c.dollars()));
                    let mut line = format!(
                        "model {provider} ({purpose}): {input_tokens} in / {output_tokens} out tokens, {cost}, {latency_ms}ms"
                    );
                    if let Some(err) = error {
                        let _ = write!(line, ", error: {err}");
                    }
                    line
                }
                EventKind::PlanRejected { error } => format!("plan rejected: {error}"),
                EventKind::EditsApplied { files } => format!("edited {}", files.join(", ")),
                EventKind::Run { command, exit_code, timed_out, duration_ms, .. } => {
                    let end = match (timed_out, exit_code) {
                        (Some(kind), _) => format!("timed out ({kind})"),
                        (None, Some(code)) => format!("exit {code}"),
                        (None, None) => "killed by a signal".to_owned(),
                    };
                    format!("ran `{command}`: {end} in {duration_ms}ms")
                }
                EventKind::SnapshotTaken { id } => format!("snapshot {id} taken"),
                EventKind::SnapshotRestored { id } => format!("snapshot {id} restored (rolled back)"),
                EventKind::SnapshotDiscarded { id } => format!("snapshot {id} dropped"),
                EventKind::FailureClassified { attempt, classification } => {
                    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
                    for f in &classification.failures {
                        *kinds.entry(f.kind.name()).or_default() += 1;
                    }
                    let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
                    let valid = if classification.valid_run { "" } else { " (run not valid)" };
                    format!(
                        "attempt {attempt} classified: {}{valid}",
                        if kinds.is_empty() { "passing".to_owned() } else { kinds.join(", ") }
                    )
                }
                EventKind::GateReport { report } => {
                    format!(
                        "gate {}: {} — {}",
                        report.gate,
                        if report.passed { "passed" } else { "failed" },
                        report.summary
                    )
                }
                EventKind::Verdict { verdict } => {
                    t.verdict = Some(verdict.clone());
                    format!("verdict: {}", verdict_line(verdict))
                }
                EventKind::ToolCall { turn, name, duration_ms, result_bytes, error, .. } => {
                    t.tool_calls += 1;
                    let mut line = format!("tool {name} (turn {turn}): {result_bytes} bytes in {duration_ms}ms");
                    if let Some(err) = error {
                        let _ = write!(line, ", error: {err}");
                    }
                    line
                }
                EventKind::BudgetStop { reason } => format!("budget stop: {reason}"),
                EventKind::GitStateMoved { changes } => format!("a command moved git state: {}", changes.join("; ")),
                EventKind::TaskFinished { state } => {
                    t.final_state = Some(*state);
                    format!("finished: {}", state_name(*state))
                }
                EventKind::OperatorControl { action, by, from_state, to_state, reason } => match to_state {
                    Some(to) => format!(
                        "operator {by}: {action}, {from_state} -> {to}{}",
                        reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
                    ),
                    None => format!(
                        "operator {by}: {action} refused in state {from_state}: {}",
                        reason.as_deref().unwrap_or("not allowed")
                    ),
                },
                EventKind::ChangeCommitted { branch, commit } => {
                    format!("committed the change on {branch}: {}", short(commit))
                }
                EventKind::Rebased { onto, commits, head } => {
                    format!("rebased {commits} commit(s) onto {}: now {}", short(onto), short(head))
                }
                EventKind::MergeConflict { file } => format!("merge conflict in {file}"),
                EventKind::ConflictResolved { file, confidence, accepted, reason } => {
                    let confidence =
                        confidence.map_or_else(|| "no valid answer".to_owned(), |c| format!("confidence {c:.2}"));
                    let used = if *accepted { "resolved" } else { "not resolved" };
                    format!("conflict in {file} {used} ({confidence}): {reason}")
                }
                EventKind::GatesRerun { passed } => {
                    format!("gates re-run on the rebased change: {}", if *passed { "passed" } else { "failed" })
                }
                EventKind::Merged { target, commit } => format!("merged into {target} at {}", short(commit)),
                EventKind::BranchLeft { branch, commit } => format!("left branch {branch} at {}", short(commit)),
                EventKind::MergeRefused { reason } => format!("merge refused: {reason}"),
                other => format!("{other:?}"),
            };
            t.entries.push(TimelineEntry { offset_ms: e.at_unix_ms.saturating_sub(start), text });
        }
        t
    }

    /// The timeline as text: a header, then `+OFFSET  what happened` per event, then totals
    /// (tool calls among them when a session ran any).
    pub fn render(&self) -> String {
        let mut out = format!("task {}", self.task);
        if let Some(goal) = &self.goal {
            let _ = write!(out, ": {goal}");
        }
        out.push('\n');
        for e in &self.entries {
            let _ = writeln!(out, "  +{}ms  {}", e.offset_ms, e.text);
        }
        let states: Vec<String> = self.states.iter().map(|s| state_name(*s)).collect();
        let _ = writeln!(out, "states: {}", states.join(" -> "));
        let _ = write!(
            out,
            "model calls: {}, tokens: {} in / {} out, cost: ${:.4}",
            self.model_calls,
            self.tokens.0,
            self.tokens.1,
            self.cost_usd.dollars()
        );
        if self.tool_calls > 0 {
            let _ = write!(out, ", tool calls: {}", self.tool_calls);
        }
        out.push('\n');
        out
    }
}

/// Metrics across the tasks of a journal.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct RunMetrics {
    /// Tasks that finished.
    pub tasks: usize,
    /// Tasks accepted.
    pub accepted: usize,
    /// Tasks rolled back.
    pub rolled_back: usize,
    /// Tasks that ended needing a human or over budget.
    pub stopped: usize,
    /// accepted / tasks.
    pub pass_rate: Option<f64>,
    /// Average number of repair attempts (attempts after the first) of accepted tasks.
    pub repairs_per_success: Option<f64>,
    /// rolled back / tasks.
    pub rollback_rate: Option<f64>,
    /// Mean mutation score of accepted tasks that ran a mutation gate.
    pub mutation_score: Option<f64>,
    /// Total cost in US dollars.
    pub cost_usd: Usd,
}

impl RunMetrics {
    /// Computes the metrics of every finished task in `events`.
    pub fn from_events(events: &[Event]) -> RunMetrics {
        #[derive(Default)]
        struct PerTask {
            attempts: u32,
            finished: Option<TaskState>,
            mutation: Option<f64>,
        }
        let mut tasks: BTreeMap<&TaskId, PerTask> = BTreeMap::new();
        let mut m = RunMetrics::default();
        for e in events {
            let t = tasks.entry(&e.task).or_default();
            match &e.kind {
                EventKind::FailureClassified { attempt, .. } => t.attempts = t.attempts.max(*attempt),
                EventKind::TaskFinished { state } => t.finished = Some(*state),
                EventKind::GateReport { report } if report.gate == "mutation" => {
                    t.mutation = report.score;
                }
                EventKind::LlmCall { cost_usd, .. } => m.cost_usd += cost_usd.unwrap_or(Usd::ZERO),
                _ => {}
            }
        }
        let mut repairs = Vec::new();
        let mut scores = Vec::new();
        for t in tasks.values() {
            let Some(state) = t.finished else { continue };
            m.tasks += 1;
            match state {
                TaskState::Accepted => {
                    m.accepted += 1;
                    repairs.push(f64::from(t.attempts.saturating_sub(1)));
                    scores.extend(t.mutation);
                }
                TaskState::RolledBack => m.rolled_back += 1,
                _ => m.stopped += 1,
            }
        }
        let ratio = |n: usize| (m.tasks > 0).then(|| n as f64 / m.tasks as f64);
        m.pass_rate = ratio(m.accepted);
        m.rollback_rate = ratio(m.rolled_back);
        let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
        m.repairs_per_success = mean(&repairs);
        m.mutation_score = mean(&scores);
        m
    }
}

/// Determinism of repeated runs of one task: the share of runs whose
/// resulting tree (a digest such as `agent_sandbox::tree_digest`) equals the
/// most common one. 1.0 means every run left the same tree; `None` for no run.
///
/// ```
/// assert_eq!(agent_loop::determinism(&["a", "a", "b", "a"]), Some(0.75));
/// assert_eq!(agent_loop::determinism::<&str>(&[]), None);
/// ```
pub fn determinism<S: AsRef<str>>(digests: &[S]) -> Option<f64> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for d in digests {
        *counts.entry(d.as_ref()).or_default() += 1;
    }
    let most = counts.values().copied().max()?;
    Some(most as f64 / digests.len() as f64)
}
