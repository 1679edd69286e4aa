//! One progress line per step of the repair loop, printed as the step happens.

use agentkit::agent::RepairReport;
use agentkit::core::event::{Event, EventKind, TaskState};
use agentkit::core::failure::FailureCategory;
use agentkit::core::gate::Verdict;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Mutex;

/// Turns journal events into progress lines on stderr.
pub(crate) struct Printer {
    max_attempts: u32,
    attempt: Mutex<u32>,
    /// Whether the loop runs agent sessions (tools mode) rather than plans.
    tools: bool,
}

impl Printer {
    pub(crate) fn new(max_attempts: u32, tools: bool) -> Self {
        Self { max_attempts, attempt: Mutex::new(0), tools }
    }

    fn line(&self, text: impl AsRef<str>) {
        eprintln!("[agentctl] {}", text.as_ref());
    }

    pub(crate) fn print(&self, event: &Event) {
        let mut attempt = self.attempt.lock().unwrap_or_else(|p| p.into_inner());
        match &event.kind {
            EventKind::TaskStarted { root, .. } => self.line(format!("inspecting {root}")),
            EventKind::Inspected { projects, test_command } => self.line(format!(
                "inspected: {projects} project(s); tests: {}",
                test_command.as_deref().unwrap_or("none found")
            )),
            EventKind::SnapshotTaken { id } => {
                self.line(format!("snapshot {} taken; testing before any change", short(id)))
            }
            EventKind::StateTransition { to, .. } => match to {
                TaskState::Repairing => {
                    *attempt += 1;
                    self.line(format!(
                        "repair {} of {} (attempt {} of {})",
                        *attempt - 1,
                        self.max_attempts.saturating_sub(1),
                        *attempt,
                        self.max_attempts
                    ));
                }
                TaskState::Executing if self.tools => self.line("the model works with the tools"),
                TaskState::Executing => self.line("applying the plan"),
                TaskState::Verifying => self.line("verifying with gates"),
                _ => {}
            },
            EventKind::LlmCall { provider, input_tokens, output_tokens, error, .. } => match error {
                Some(e) => self.line(format!("model {provider} failed: {e}")),
                None => {
                    self.line(format!("model {provider} answered ({input_tokens} in / {output_tokens} out tokens)"))
                }
            },
            EventKind::PlanRejected { error } => self.line(format!("plan rejected: {error}")),
            EventKind::ToolCall { turn, name, error, .. } => match error {
                Some(e) => self.line(format!("  turn {turn}: {name} — error: {}", e.lines().next().unwrap_or(e))),
                None => self.line(format!("  turn {turn}: {name}")),
            },
            EventKind::EditsApplied { files } => self.line(format!(
                "applied: {}; testing",
                if files.is_empty() { "nothing".into() } else { files.join(", ") }
            )),
            EventKind::FailureClassified { attempt: n, classification: c } => {
                let label = if *n == 0 { "baseline".to_owned() } else { format!("attempt {n}") };
                let counts = match c.tests {
                    Some(t) => format!("{} passed, {} failed", t.passed, t.failed),
                    None if c.failures.iter().any(|f| f.category == FailureCategory::Build) => {
                        "the build failed, no test ran".to_owned()
                    }
                    None => "no test summary".to_owned(),
                };
                let verdict = if c.passed() { "pass" } else { "fail" };
                self.line(format!("tested ({label}): {verdict} — {counts}"));
                if !c.failures.is_empty() {
                    let mut kinds = String::new();
                    for f in c.failures.iter().take(4) {
                        let at = match (&f.file, f.line) {
                            (Some(file), Some(line)) => format!(" at {}:{line}", file.display()),
                            _ => String::new(),
                        };
                        let _ = write!(kinds, "{}{}{at}", if kinds.is_empty() { "" } else { "; " }, f.kind.name());
                    }
                    if c.failures.len() > 4 {
                        let _ = write!(kinds, "; … {} more", c.failures.len() - 4);
                    }
                    self.line(format!("classified: {kinds}"));
                }
                if *n == 0 {
                    *attempt = 1;
                    self.line(format!("planning (attempt 1 of {})", self.max_attempts));
                }
            }
            EventKind::BudgetStop { reason } => self.line(format!("budget stop: {reason}")),
            EventKind::GitStateMoved { changes } => {
                self.line(format!("a command moved git state: {}", changes.join("; ")))
            }
            EventKind::SnapshotRestored { id } => self.line(format!("rolled back to snapshot {}", short(id))),
            EventKind::SnapshotDiscarded { .. } => {}
            EventKind::Verdict { verdict } => self.line(format!("verdict: {}", verdict_text(verdict))),
            EventKind::TaskFinished { state } => self.line(format!("outcome: {}", state_name(*state))),
            EventKind::Rebased { onto, commits, .. } => {
                self.line(format!("rebased {commits} commit(s) onto {}", short(onto)))
            }
            EventKind::MergeConflict { file } => self.line(format!("merge conflict in {file}")),
            EventKind::ConflictResolved { file, accepted, reason, .. } => self
                .line(format!("conflict in {file} {}: {reason}", if *accepted { "resolved" } else { "not resolved" })),
            EventKind::GatesRerun { passed } => {
                self.line(format!("gates on the rebased change: {}", if *passed { "passed" } else { "failed" }))
            }
            EventKind::Merged { target, commit } => self.line(format!("merged into {target} at {}", short(commit))),
            EventKind::BranchLeft { branch, commit } => self.line(format!("left branch {branch} at {}", short(commit))),
            EventKind::MergeRefused { reason } => self.line(format!("merge refused: {reason}")),
            _ => {}
        }
    }
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

fn state_name(state: TaskState) -> String {
    serde_json::to_value(state).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_else(|| format!("{state:?}"))
}

fn verdict_text(v: &Verdict) -> String {
    match v {
        Verdict::Approve => "approve".into(),
        Verdict::ChangesRequested { items } => format!("changes requested ({} open item(s))", items.len()),
        Verdict::Partial { items } => format!("partial ({} open item(s))", items.len()),
        Verdict::NeedsHuman { reason } => format!("needs a human: {reason}"),
        _ => format!("{v:?}"),
    }
}

/// The human report printed on stdout at the end.
pub(crate) fn summary(report: &RepairReport, journal: &Path) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "outcome: {}", state_name(report.outcome.state()));
    let _ = writeln!(s, "verdict: {}", verdict_text(&report.verdict));
    let _ = writeln!(s, "tests: {}", report.test_command);
    for a in &report.attempts {
        let files: Vec<&str> = a.changes.iter().map(|c| c.path.as_str()).collect();
        let _ = writeln!(
            s,
            "attempt {} ({}): {} — {}; changed {}",
            a.number,
            a.kind,
            if a.passed { "passed" } else { "failed" },
            a.summary,
            if files.is_empty() { "nothing".into() } else { files.join(", ") }
        );
    }
    let m = &report.metrics;
    let _ = writeln!(
        s,
        "repairs: {}, model turns: {}, tool calls: {}, tokens: {} in / {} out, cost: {}, rolled back: {}, wall: {} ms",
        m.repairs,
        m.model_turns,
        m.tool_calls,
        m.usage.input_tokens,
        m.usage.output_tokens,
        m.cost_usd,
        m.rolled_back,
        m.wall_ms
    );
    let _ = writeln!(s, "journal: {}", journal.display());
    s
}
