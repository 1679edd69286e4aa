//! Verification: the [`Gate`] trait (one step whose verdict comes from
//! external evidence: a tool's exit code and output, the manifests, never
//! the model's word), what it is given ([`GateContext`]) and reports
//! ([`GateReport`]), and the final [`Verdict`] on a change.

mod test_run;
mod verdict;

pub use test_run::{
    TestBaseline, TestRunCheck, check_test_run, exit_code_agrees, per_test_reporting, structured_output,
    structured_test_reporting,
};
pub use verdict::Verdict;

use crate::edit::FileChange;
use crate::workspace::WorkspaceProfile;
use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;

/// What a gate gets to look at.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct GateContext {
    /// The workspace root.
    pub root: PathBuf,
    /// What the oracle found.
    pub profile: WorkspaceProfile,
    /// The goal of the task.
    pub goal: String,
    /// Files the change touched, with their evidence. The repair loop gives
    /// the cumulative change against its snapshot (every attempt's edits and
    /// whatever commands changed), not only the last attempt's.
    pub changes: Vec<FileChange>,
    /// The cumulative change as a unified diff (`--- a/… +++ b/…`), empty when unknown.
    pub diff: String,
    /// The baseline test run (command, exit code, per-test outcomes), when
    /// the host ran one; `baseline` holds its outcomes.
    pub test_baseline: Option<TestBaseline>,
    /// Per-test outcomes of the baseline run, before any change (empty when unknown).
    pub baseline: Vec<crate::failure::TestOutcome>,
    /// Tests the goal names: they must go from failing to passing.
    pub named_tests: Vec<String>,
}

impl GateContext {
    /// A context for a change in `root`.
    pub fn new(
        root: impl Into<PathBuf>,
        profile: WorkspaceProfile,
        goal: impl Into<String>,
        changes: Vec<FileChange>,
    ) -> Self {
        Self {
            root: root.into(),
            profile,
            goal: goal.into(),
            changes,
            diff: String::new(),
            test_baseline: None,
            baseline: Vec::new(),
            named_tests: Vec::new(),
        }
    }

    /// Sets the unified diff of the change.
    pub fn with_diff(mut self, diff: impl Into<String>) -> Self {
        self.diff = diff.into();
        self
    }

    /// Sets the baseline test run (and [`baseline`](Self::baseline), its outcomes).
    pub fn with_test_baseline(mut self, baseline: TestBaseline) -> Self {
        self.baseline = baseline.outcomes.clone();
        self.test_baseline = Some(baseline);
        self
    }

    /// Sets the per-test outcomes of the baseline run.
    pub fn with_baseline(mut self, outcomes: Vec<crate::failure::TestOutcome>) -> Self {
        self.baseline = outcomes;
        self
    }

    /// Sets the tests that must go from failing to passing.
    pub fn with_named_tests(mut self, names: Vec<String>) -> Self {
        self.named_tests = names;
        self
    }
}

/// What a gate found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct GateReport {
    /// The gate's name (`build`, `tests`, `lint`, `mutation`).
    pub gate: String,
    /// Whether the change passed this gate.
    pub passed: bool,
    /// One line for people.
    pub summary: String,
    /// Findings, one per line.
    #[serde(default)]
    pub findings: Vec<String>,
    /// A measured score, for gates that have one (the mutation score, 0–1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// The gate does not apply to this workspace and did not run
    /// (`passed` is true: it objects to nothing); the summary says why.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skipped: bool,
}

impl GateReport {
    /// A report.
    pub fn new(gate: impl Into<String>, passed: bool, summary: impl Into<String>) -> Self {
        Self { gate: gate.into(), passed, summary: summary.into(), findings: Vec::new(), score: None, skipped: false }
    }

    /// The report of a gate that does not apply to the workspace, named, with why.
    pub fn skipped(gate: impl Into<String>, reason: impl Into<String>) -> Self {
        let mut report = Self::new(gate, true, format!("skipped: {}", reason.into()));
        report.skipped = true;
        report
    }
}

/// Runs `gate`: a gate that does not apply ([`GateError::NotApplicable`])
/// is a [`GateReport::skipped`] report naming it; other errors are returned.
/// The repair loop and the Inspector both check gates through this.
pub async fn check_gate(gate: &dyn Gate, cx: &GateContext) -> Result<GateReport, GateError> {
    match gate.check(cx).await {
        Err(GateError::NotApplicable { gate, reason }) => Ok(GateReport::skipped(gate, reason)),
        other => other,
    }
}

/// A verification step: build, tests, lint, smoke, mutation.
///
/// A gate that runs and finds problems returns `Ok` with `passed: false`;
/// `Err` means the gate itself could not run.
///
/// ```
/// use agent_core::{async_trait, Gate};
/// use agent_core::gate::{GateContext, GateError, GateReport};
///
/// /// Refuses changes that touch more than `max` files.
/// struct SmallChange { max: usize }
///
/// #[async_trait]
/// impl Gate for SmallChange {
///     async fn check(&self, cx: &GateContext) -> Result<GateReport, GateError> {
///         let n = cx.changes.len();
///         Ok(GateReport::new("small-change", n <= self.max, format!("{n} files changed")))
///     }
/// }
/// # let cx = GateContext::new(".", Default::default(), "goal", vec![]);
/// # assert!(futures::executor::block_on(SmallChange { max: 3 }.check(&cx)).unwrap().passed);
/// ```
#[async_trait]
pub trait Gate: Send + Sync {
    /// Checks the change described by `cx`.
    async fn check(&self, cx: &GateContext) -> Result<GateReport, GateError>;
}

#[async_trait]
impl<T: Gate + ?Sized> Gate for Arc<T> {
    async fn check(&self, cx: &GateContext) -> Result<GateReport, GateError> {
        (**self).check(cx).await
    }
}

#[async_trait]
impl<T: Gate + ?Sized> Gate for Box<T> {
    async fn check(&self, cx: &GateContext) -> Result<GateReport, GateError> {
        (**self).check(cx).await
    }
}

impl GateError {
    /// The name of the gate that failed.
    pub fn gate(&self) -> &str {
        match self {
            Self::Exec { gate, .. } | Self::CouldNotCheck { gate, .. } | Self::NotApplicable { gate, .. } => gate,
        }
    }
}

/// Why a gate could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GateError {
    /// A command the gate needs could not be run.
    #[error("gate {gate} could not run its command: {source}")]
    Exec {
        /// The gate.
        gate: String,
        /// The executor's error.
        #[source]
        source: crate::exec::ExecError,
    },
    /// The gate's tool ran but could not answer (an interpreter missing a
    /// module, a probe that printed nothing readable).
    #[error("gate {gate} could not check: {reason}")]
    CouldNotCheck {
        /// The gate's name.
        gate: String,
        /// What went wrong.
        reason: String,
    },
    /// The gate is not configured for this workspace (e.g. no test command).
    #[error("gate {gate} is not applicable: {reason}")]
    NotApplicable {
        /// The gate.
        gate: String,
        /// Why.
        reason: String,
    },
}
