//! Per-test outcomes of a run, and the regression-aware comparison of two
//! runs: which tests went from failing to passing, and which went from
//! passing to anything else.
//!
//! Classifiers produce the outcomes
//! ([`FailureClassifier::test_outcomes`](crate::FailureClassifier::test_outcomes);
//! `agent-classify` reads every runner's per-test lines). [`compare_runs`] is
//! pure, and both the repair loop and `agent-gates`' `TestsGate` judge a
//! change with it. A goal names a test by its full name or by a suffix after
//! a separator ([`names_test`]); a name printed more than once (two test
//! binaries) counts as passed only if every instance passed. A run with no
//! outcome at all gives no regression list: it is not a valid run, which the
//! caller reports instead.
//!
//! ```
//! use agent_core::failure::{TestOutcome, TestStatus, compare_runs};
//!
//! let before = [TestOutcome::new("mean_empty", TestStatus::Failed), TestOutcome::new("mean_one", TestStatus::Passed)];
//! let after = [TestOutcome::new("mean_empty", TestStatus::Passed), TestOutcome::new("mean_one", TestStatus::Failed)];
//! let cmp = compare_runs(&before, &after, &["mean_empty".to_owned()]);
//! assert!(cmp.missing_fixes.is_empty());
//! assert_eq!(cmp.regressions, ["`mean_one` passed before the change and failed after it"]);
//! ```

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How one test ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TestStatus {
    /// It ran and passed (pytest XPASS included).
    Passed,
    /// It ran and failed.
    Failed,
    /// It did not run: skipped, ignored, pending, todo, or an expected failure (pytest XFAIL).
    Skipped,
    /// It could not run: an error in setup, collection or a fixture.
    Errored,
}

impl TestStatus {
    /// The snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            TestStatus::Passed => "passed",
            TestStatus::Failed => "failed",
            TestStatus::Skipped => "skipped",
            TestStatus::Errored => "errored",
        }
    }
}

/// One test's outcome in one run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TestOutcome {
    /// The test's name as the tool prints it (`tests::adds`, `tests/test_x.py::test_a`, `TestX/sub`).
    pub name: String,
    /// How it ended.
    pub status: TestStatus,
}

impl TestOutcome {
    /// An outcome.
    pub fn new(name: impl Into<String>, status: TestStatus) -> Self {
        Self { name: name.into(), status }
    }
}

/// Whether a test printed as `full` is the test a goal names as `wanted`:
/// equal, or `full` ends with `wanted` after a path or module separator
/// (`::`, `/`, `.`, a space), so `adds` names `tests::adds` and
/// `test_x.py::test_a` names `tests/test_x.py::test_a`.
pub fn names_test(full: &str, wanted: &str) -> bool {
    if full == wanted {
        return true;
    }
    full.strip_suffix(wanted)
        .is_some_and(|head| head.ends_with("::") || head.ends_with('/') || head.ends_with('.') || head.ends_with(' '))
}

/// The comparison of a run after a change with the baseline before it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct RunComparison {
    /// Named tests that went from not passing (or absent) to passing.
    pub fixed: Vec<String>,
    /// Named tests that do not pass after the change, with why (a skipped test does not count).
    pub missing_fixes: Vec<String>,
    /// Tests that passed before and do not pass after (or are gone), one sentence each.
    pub regressions: Vec<String>,
}

impl RunComparison {
    /// No regression and every named test fixed.
    pub fn ok(&self) -> bool {
        self.missing_fixes.is_empty() && self.regressions.is_empty()
    }
}

/// Compares per-test outcomes: the tests `named` must pass after the change
/// (fail→pass; skipped is not passing), and every test that passed before
/// must still pass (pass→pass). A test that passed before and is absent
/// from a run that has outcomes is a regression too: deleting a test is not
/// a way to fix it. (A run with no outcome at all is not valid, which the
/// caller reports instead of one regression per test.)
pub fn compare_runs(before: &[TestOutcome], after: &[TestOutcome], named: &[String]) -> RunComparison {
    let index = |runs: &[TestOutcome]| -> BTreeMap<String, TestStatus> {
        let mut m = BTreeMap::new();
        for o in runs {
            // A name printed twice (two binaries) passes only if every instance passed.
            let entry = m.entry(o.name.clone()).or_insert(o.status);
            if o.status != TestStatus::Passed {
                *entry = o.status;
            }
        }
        m
    };
    let (b, a) = (index(before), index(after));
    let mut out = RunComparison::default();
    for wanted in named {
        let found: Vec<(&String, &TestStatus)> = a.iter().filter(|(n, _)| names_test(n, wanted)).collect();
        match found.as_slice() {
            [] => out.missing_fixes.push(format!("`{wanted}` did not run after the change")),
            all if all.iter().all(|(_, s)| **s == TestStatus::Passed) => out.fixed.push(wanted.clone()),
            all => {
                let (name, status) = all.iter().find(|(_, s)| **s != TestStatus::Passed).copied().unwrap_or(all[0]);
                let why = if *status == TestStatus::Skipped { " (skipped is not passing)" } else { "" };
                out.missing_fixes.push(format!("`{name}` {} after the change{why}", status.name()));
            }
        }
    }
    for (name, status) in &b {
        if *status != TestStatus::Passed {
            continue;
        }
        match a.get(name) {
            Some(TestStatus::Passed) => {}
            Some(s) => out.regressions.push(format!("`{name}` passed before the change and {} after it", s.name())),
            // With no outcome at all (a build that failed), the run is not valid: that is
            // the caller's finding, not one regression per test.
            None if a.is_empty() => {}
            None => out.regressions.push(format!("`{name}` passed before the change and did not run after it")),
        }
    }
    out
}
