//! The [`FailureClassifier`] trait: turns captured output into structured failures.

use crate::exec::RunOutput;
use crate::failure::{Classification, TestOutcome};
use crate::workspace::WorkspaceProfile;
use std::sync::Arc;

/// Reads a run's output and says what failed, where, and whether the run is trustworthy.
///
/// Classification is pure: no process, no network. It may read source files
/// under the workspace root to attach snippets.
///
/// ```
/// use agent_core::failure::{Classification, Failure, FailureCategory, FailureKind, Tier};
/// use agent_core::FailureClassifier;
/// use agent_core::exec::RunOutput;
/// use agent_core::workspace::WorkspaceProfile;
///
/// /// Treats every line starting with "error:" as a failure.
/// struct Lines;
///
/// impl FailureClassifier for Lines {
///     fn classify(&self, run: &RunOutput, _ws: &WorkspaceProfile) -> Classification {
///         let text = run.stderr.text();
///         let failures: Vec<Failure> = text.lines()
///             .filter_map(|l| l.strip_prefix("error:"))
///             .map(|m| Failure::new(FailureCategory::Build, FailureKind::Unknown, m.trim()))
///             .collect();
///         let mut c = Classification::default();
///         c.tool = "lines".into();
///         c.valid_run = failures.is_empty() == run.success();
///         c.tier = if failures.is_empty() { Tier::None } else { Tier::Code };
///         c.failures = failures;
///         c
///     }
/// }
/// let run = RunOutput::from_text("make", 2, "", "error: boom\n");
/// let c = Lines.classify(&run, &WorkspaceProfile::default());
/// assert_eq!(c.failures[0].message, "boom");
/// ```
pub trait FailureClassifier: Send + Sync {
    /// Classifies `run`, produced in the workspace described by `ws`.
    fn classify(&self, run: &RunOutput, ws: &WorkspaceProfile) -> Classification;

    /// Per-test outcomes of `run`, for the regression-aware comparison of
    /// [`compare_runs`](crate::failure::compare_runs); empty when the tool's output
    /// does not list tests (the default).
    fn test_outcomes(&self, run: &RunOutput) -> Vec<TestOutcome> {
        let _ = run;
        Vec::new()
    }
}

impl<T: FailureClassifier + ?Sized> FailureClassifier for Arc<T> {
    fn classify(&self, run: &RunOutput, ws: &WorkspaceProfile) -> Classification {
        (**self).classify(run, ws)
    }
    fn test_outcomes(&self, run: &RunOutput) -> Vec<TestOutcome> {
        (**self).test_outcomes(run)
    }
}

impl<T: FailureClassifier + ?Sized> FailureClassifier for Box<T> {
    fn classify(&self, run: &RunOutput, ws: &WorkspaceProfile) -> Classification {
        (**self).classify(run, ws)
    }
    fn test_outcomes(&self, run: &RunOutput) -> Vec<TestOutcome> {
        (**self).test_outcomes(run)
    }
}
