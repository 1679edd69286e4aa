//! [`CommandGate`]: the Build and Static gates, which run the workspace's
//! own build or lint command and classify what it printed.

use agent_classify::AutoClassifier;
use agent_core::gate::{GateContext, GateError, GateReport, structured_output};
use agent_core::workspace::{DetectedCommand, Project};
use agent_core::{Executor, FailureClassifier, Gate, async_trait};
use std::sync::Arc;
use std::time::Duration;

/// Which of the oracle's commands a [`CommandGate`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommandKind {
    /// The build command (`cargo build`, `tsc`, `go build` …): the `build` gate.
    Build,
    /// The lint and type-check command (`cargo clippy`, `ruff`, `eslint`,
    /// `tsc --noEmit` …): the `static` gate.
    Static,
}

impl CommandKind {
    fn gate(self) -> &'static str {
        match self {
            CommandKind::Build => "build",
            CommandKind::Static => "static",
        }
    }

    fn command(self, project: &Project) -> Option<&DetectedCommand> {
        match self {
            CommandKind::Build => project.build.as_ref(),
            CommandKind::Static => project.lint.as_ref(),
        }
    }
}

/// Runs the build or lint command of every project the oracle found
/// (primary first) through an [`Executor`], asking the tool for its
/// structured output where it has one ([`structured_output`]: cargo's JSON
/// messages, eslint's `-f json`), and fails on a non-zero exit, with the
/// failures the [`AutoClassifier`] reads (tool from the command, refined by
/// the output) as findings.
/// A workspace without such a command is [`GateError::NotApplicable`]: a
/// gate that checked nothing never passes silently.
///
/// ```no_run
/// use agent_gates::{CommandGate, CommandKind};
/// use std::sync::Arc;
///
/// # fn demo(executor: Arc<dyn agent_core::Executor>) {
/// let build = CommandGate::new(CommandKind::Build, executor.clone());
/// let lint = CommandGate::new(CommandKind::Static, executor);
/// # }
/// ```
#[derive(Clone)]
pub struct CommandGate {
    kind: CommandKind,
    executor: Arc<dyn Executor>,
    timeout: Duration,
}

impl std::fmt::Debug for CommandGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandGate").field("kind", &self.kind).field("timeout", &self.timeout).finish_non_exhaustive()
    }
}

impl CommandGate {
    /// A gate of `kind` over `executor` (10-minute limit per command).
    pub fn new(kind: CommandKind, executor: Arc<dyn Executor>) -> Self {
        Self { kind, executor, timeout: Duration::from_secs(600) }
    }

    /// Sets the wall-time limit of each command.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

#[async_trait]
impl Gate for CommandGate {
    async fn check(&self, cx: &GateContext) -> Result<GateReport, GateError> {
        let gate = self.kind.gate();
        let mut projects: Vec<&Project> = cx.profile.projects.iter().collect();
        projects.sort_by_key(|p| !p.primary);
        let commands: Vec<&DetectedCommand> = projects.iter().filter_map(|p| self.kind.command(p)).collect();
        if commands.is_empty() {
            return Err(GateError::NotApplicable {
                gate: gate.to_owned(),
                reason: format!("the oracle found no {gate} command"),
            });
        }
        let mut findings = Vec::new();
        let mut failed = Vec::new();
        for command in &commands {
            let spec = structured_output(command.to_spec(&cx.root)).wall_timeout(self.timeout);
            let run =
                self.executor.run(spec).await.map_err(|source| GateError::Exec { gate: gate.to_owned(), source })?;
            if run.success() {
                continue;
            }
            failed.push(command.display_redacted());
            let classification = AutoClassifier::new().classify(&run, &cx.profile);
            for f in classification.failures.iter().take(50) {
                let place = match (&f.file, f.line) {
                    (Some(file), Some(line)) => format!(" {}:{line}", file.display()),
                    (Some(file), None) => format!(" {}", file.display()),
                    _ => String::new(),
                };
                let first = f.message.lines().next().unwrap_or_default();
                findings.push(format!("[{}]{place} {first}", f.kind.name()));
            }
            if classification.failures.is_empty() {
                findings.push(format!("`{}` exited {:?}", command.display_redacted(), run.exit_code));
            }
        }
        let passed = failed.is_empty();
        let summary = if passed {
            format!(
                "{} command(s) passed: {}",
                commands.len(),
                commands.iter().map(|c| c.display_redacted()).collect::<Vec<_>>().join("; ")
            )
        } else {
            format!("failed: {}", failed.join("; "))
        };
        let mut report = GateReport::new(gate, passed, summary);
        report.findings = findings;
        Ok(report)
    }
}
