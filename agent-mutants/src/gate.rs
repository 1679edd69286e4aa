//! The mutation [`Gate`]: a minimum mutation score on the changed code.
//!
//! Scope: the files in [`GateContext::changes`] (deleted ones left out),
//! and within them only the lines `git diff HEAD` reports as changed; a
//! changed file the diff does not know (a new, untracked file) is mutated
//! whole, and when the workspace is not a git repository (the diff fails)
//! every mutant of the changed files is run. `HEAD` rather than the loop's
//! snapshot: the gate sees only the context, and uncommitted work the user
//! had in the same files before the task is scored with the change.
//!
//! Verdict: passed when the score (caught / (caught + missed)) reaches the
//! threshold, or when there is nothing to score (no mutants, or all
//! unviable or timed out). A failing baseline is a failed gate, not an
//! error: the change broke the tests. The findings list every missed
//! mutant (`file:line operator: original → replacement`).

use super::{MutantOutcome, MutateError, MutationConfig, MutationReport, MutationRunner};
use agent_core::Gate;
use agent_core::gate::{GateContext, GateError, GateReport};
use async_trait::async_trait;

/// The gate's name in reports.
const NAME: &str = "mutation";

/// Accepts a change only when the mutation score on the code it changed reaches a threshold.
pub struct MutationGate {
    runner: MutationRunner,
    threshold: f64,
    config: MutationConfig,
}

impl MutationGate {
    /// A gate requiring `threshold` (0.0–1.0), with the default [`MutationConfig`].
    pub fn new(runner: MutationRunner, threshold: f64) -> Self {
        Self { runner, threshold, config: MutationConfig::default() }
    }

    /// Uses `config` for jobs, cache directory and timeout floor (its scope fields are replaced per check).
    pub fn with_config(mut self, config: MutationConfig) -> Self {
        self.config = config;
        self
    }

    fn verdict(&self, report: &MutationReport) -> GateReport {
        let passed = report.score.is_none_or(|s| s >= self.threshold);
        let score = report.score.map_or_else(|| "no score".to_owned(), |s| format!("score {s:.2}"));
        let summary = format!(
            "mutation {score} on the changed code (threshold {:.2}): {} caught, {} missed, {} unviable, {} timeout",
            self.threshold, report.caught, report.missed, report.unviable, report.timeout
        );
        let mut gate = GateReport::new(NAME, passed, summary);
        // Carried as a number so journals can report the score of accepted changes.
        gate.score = report.score;
        gate.findings = report
            .mutants
            .iter()
            .filter(|r| r.outcome == MutantOutcome::Missed)
            .map(|r| {
                let m = &r.mutant;
                format!("missed {}:{} {}: `{}` → `{}`", m.file, m.line, m.operator.name(), m.original, m.replacement)
            })
            .collect();
        gate
    }
}

#[async_trait]
impl Gate for MutationGate {
    async fn check(&self, cx: &GateContext) -> Result<GateReport, GateError> {
        let files: Vec<String> = cx.changes.iter().filter(|c| c.change != "deleted").map(|c| c.path.clone()).collect();
        if files.is_empty() {
            return Ok(GateReport::new(NAME, true, "no changed files to mutate"));
        }
        let scoped = self.config.clone().files(files);
        let result = match self.runner.run(&cx.root, &scoped.clone().in_diff("HEAD")).await {
            Err(MutateError::DiffFailed { .. }) => self.runner.run(&cx.root, &scoped).await,
            other => other,
        };
        match result {
            Ok(report) => Ok(self.verdict(&report)),
            Err(e @ MutateError::BaselineFailed { .. }) => Ok(GateReport::new(NAME, false, e.to_string())),
            Err(MutateError::Exec { source, .. }) => Err(GateError::Exec { gate: NAME.into(), source }),
            Err(e) => Err(GateError::NotApplicable { gate: NAME.into(), reason: e.to_string() }),
        }
    }
}
