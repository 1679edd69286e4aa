//! What failed: the [`FailureClassifier`] trait, the structured
//! [`Failure`]s and [`Classification`] it produces, per-test
//! [`TestOutcome`]s, and the regression-aware comparison of two runs
//! ([`compare_runs`]).

mod classification;
mod classifier;
mod test_outcome;

pub use classification::{Classification, Failure, FailureCategory, FailureKind, TestCounts, Tier};
pub use classifier::FailureClassifier;
pub use test_outcome::{RunComparison, TestOutcome, TestStatus, compare_runs, names_test};
