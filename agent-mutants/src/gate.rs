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
//! threshold, or when the changed code has no mutant at all; failed when
//! there are mutants but none got a score (all unviable or timed out). A failing baseline is a failed gate, not an
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
        verdict(self.threshold, report)
    }
}

/// The gate's verdict on a report: passed when the score reaches
/// `threshold`, or when the changed code has no mutant at all; failed when
/// mutants exist but none was scored (all unviable or timed out: the tests
/// said nothing about the change).
fn verdict(threshold: f64, report: &MutationReport) -> GateReport {
    let counts = format!(
        "{} caught, {} missed, {} unviable, {} timeout",
        report.caught, report.missed, report.unviable, report.timeout
    );
    let (passed, summary) = match report.score {
        Some(s) => {
            (s >= threshold, format!("mutation score {s:.2} on the changed code (threshold {threshold:.2}): {counts}"))
        }
        None if report.mutants.is_empty() => (true, "no mutants in the changed code: nothing to score".to_owned()),
        None => (
            false,
            format!(
                "no mutant was scored on the changed code (threshold {threshold:.2}): {counts}; \
                 the tests said nothing about the change"
            ),
        ),
    };
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Mutant, MutantResult, Operator};
    use agent_syntax::Lang;

    fn result(outcome: MutantOutcome) -> MutantResult {
        let mutant = Mutant {
            file: "calc.py".into(),
            lang: Lang::Python,
            line: 2,
            column: 14,
            byte_start: 20,
            byte_end: 21,
            operator: Operator::ArithmeticFlip,
            original: "+".into(),
            replacement: "-".into(),
            function: Some("add".into()),
            in_test: false,
        };
        MutantResult { mutant, outcome, duration_ms: 5, cached: false }
    }

    fn report(outcomes: &[MutantOutcome]) -> MutationReport {
        let mut r = MutationReport { mutants: outcomes.iter().map(|o| result(*o)).collect(), ..Default::default() };
        r.tally();
        r
    }

    #[test]
    fn mutants_that_all_went_unscored_fail_the_gate_with_a_verdict_saying_so() {
        let r = report(&[MutantOutcome::Unviable, MutantOutcome::Timeout]);
        assert_eq!(r.score, None);
        let gate = verdict(0.5, &r);
        assert!(!gate.passed, "{}", gate.summary);
        assert!(gate.summary.contains("no mutant was scored"), "{}", gate.summary);
        assert!(gate.summary.contains("1 unviable, 1 timeout"), "{}", gate.summary);
        assert_eq!(gate.score, None);
    }

    #[test]
    fn a_score_passes_at_the_threshold_and_fails_below_it_naming_the_missed_mutants() {
        let r = report(&[MutantOutcome::Caught, MutantOutcome::Missed, MutantOutcome::Unviable]);
        assert!(verdict(0.5, &r).passed);
        let failed = verdict(0.6, &r);
        assert!(!failed.passed);
        assert_eq!(failed.score, Some(0.5));
        assert_eq!(failed.findings, ["missed calc.py:2 arithmetic_flip: `+` → `-`"]);
    }

    #[test]
    fn changed_code_without_any_mutant_passes_as_nothing_to_score() {
        let gate = verdict(0.9, &report(&[]));
        assert!(gate.passed);
        assert!(gate.summary.contains("no mutants"), "{}", gate.summary);
    }
}
