//! Per-test outcomes of a run, and the regression-aware comparison of two
//! runs: which tests went from failing to passing, and which went from
//! passing to anything else.
//!
//! Classifiers produce the outcomes
//! ([`FailureClassifier::test_outcomes`](crate::FailureClassifier::test_outcomes);
//! `agent-classify` reads every runner's per-test lines). [`compare_runs`] is
//! pure, and both the repair loop and `agent-gates`' `TestsGate` judge a
//! change with it.
//!
//! A test is known by its name *and its scope*: the package, crate, test
//! binary or file the runner ran it in ([`TestOutcome::scope`]), so that
//! `crate_a`'s `tests::it_works` and `crate_b`'s `tests::it_works` stay two
//! tests. A goal names a test by its bare name, by a suffix of it after a
//! separator ([`names_test`]), or by its scope-qualified name
//! (`crate_b::tests::it_works`, `example.com/m/pkg/TestIt`):
//! [`TestOutcome::is_named`]. The same name printed more than once in one
//! scope counts as passed only if every instance passed. An outcome without
//! a scope (a runner that names none, a host handing in plain text) stands
//! for every scope of its name on the other side. A run with no outcome at
//! all gives no regression list: it is not a valid run, which the caller
//! reports instead.
//!
//! ```
//! use agent_core::failure::{TestOutcome, TestStatus, compare_runs};
//!
//! let before = [TestOutcome::new("mean_empty", TestStatus::Failed), TestOutcome::new("mean_one", TestStatus::Passed)];
//! let after = [TestOutcome::new("mean_empty", TestStatus::Passed), TestOutcome::new("mean_one", TestStatus::Failed)];
//! let cmp = compare_runs(&before, &after, &["mean_empty".to_owned()]);
//! assert!(cmp.missing_fixes.is_empty());
//! assert_eq!(cmp.regressions, ["`mean_one` passed before the change and failed after it"]);
//!
//! // Two crates, one test name: one passes→fails, the other fails→passes.
//! let before = [TestOutcome::new("tests::it_works", TestStatus::Passed).in_scope("crate_a"),
//!               TestOutcome::new("tests::it_works", TestStatus::Failed).in_scope("crate_b")];
//! let after = [TestOutcome::new("tests::it_works", TestStatus::Failed).in_scope("crate_a"),
//!              TestOutcome::new("tests::it_works", TestStatus::Passed).in_scope("crate_b")];
//! let cmp = compare_runs(&before, &after, &["crate_b::tests::it_works".to_owned()]);
//! assert_eq!(cmp.fixed, ["crate_b::tests::it_works"]);
//! assert_eq!(cmp.regressions, ["`tests::it_works` (crate_a) passed before the change and failed after it"]);
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
///
/// Build one with [`TestOutcome::new`] and, when the runner says which
/// package, crate or file the test belongs to, [`TestOutcome::in_scope`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct TestOutcome {
    /// The test's name as the tool prints it (`tests::adds`, `tests/test_x.py::test_a`, `TestX/sub`).
    pub name: String,
    /// How it ended.
    pub status: TestStatus,
    /// Where the runner ran it, as the runner reports it, when it does: the
    /// test binary of cargo and nextest (`crate_a`, `crate_a::it`,
    /// `crate_a::bin/tool`), the package import path of `go test`
    /// (`example.com/m/pkg`), the test file of jest and vitest when two
    /// files hold a test of the same name. `None` when the runner names no
    /// scope or the name is qualified already (pytest's `file::test`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl TestOutcome {
    /// An outcome, with no scope.
    pub fn new(name: impl Into<String>, status: TestStatus) -> Self {
        Self { name: name.into(), status, scope: None }
    }

    /// The same outcome in `scope` (see [`TestOutcome::scope`]).
    ///
    /// ```
    /// use agent_core::failure::{TestOutcome, TestStatus};
    ///
    /// let o = TestOutcome::new("tests::it_works", TestStatus::Passed).in_scope("crate_a");
    /// assert_eq!(o.scope.as_deref(), Some("crate_a"));
    /// assert_eq!(o.qualified(), "crate_a::tests::it_works");
    /// ```
    #[must_use]
    pub fn in_scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// The name qualified by the scope, `scope::name`, or the bare name
    /// when there is no scope.
    pub fn qualified(&self) -> String {
        match &self.scope {
            Some(scope) => format!("{scope}::{}", self.name),
            None => self.name.clone(),
        }
    }

    /// Whether a goal naming `wanted` names this test: its bare name as
    /// [`names_test`] reads it (so `it_works` and `tests::it_works` name the
    /// test of every scope), or its scope-qualified name joined by `::`,
    /// `/` or `.` (so `crate_b::tests::it_works` names only `crate_b`'s, and
    /// `pkg/TestIt` or `example.com/m/pkg.TestIt` only that package's).
    ///
    /// ```
    /// use agent_core::failure::{TestOutcome, TestStatus};
    ///
    /// let a = TestOutcome::new("tests::it_works", TestStatus::Passed).in_scope("crate_a");
    /// assert!(a.is_named("tests::it_works"));
    /// assert!(a.is_named("crate_a::tests::it_works"));
    /// assert!(!a.is_named("crate_b::tests::it_works"));
    /// let go = TestOutcome::new("TestIt", TestStatus::Passed).in_scope("example.com/m/beta");
    /// assert!(go.is_named("beta/TestIt") && go.is_named("example.com/m/beta.TestIt"));
    /// assert!(!go.is_named("alpha/TestIt"));
    /// ```
    pub fn is_named(&self, wanted: &str) -> bool {
        if names_test(&self.name, wanted) {
            return true;
        }
        let Some(scope) = &self.scope else { return false };
        // Only a wanted name longer than the bare one can name the scope too.
        wanted.len() > self.name.len()
            && ["::", "/", "."].iter().any(|sep| names_test(&format!("{scope}{sep}{}", self.name), wanted))
    }

    /// The name for a sentence: `` `name` `` or `` `name` (scope) ``.
    pub(crate) fn label(&self) -> String {
        label(self.scope.as_deref(), &self.name)
    }
}

fn label(scope: Option<&str>, name: &str) -> String {
    match scope {
        Some(scope) => format!("`{name}` ({scope})"),
        None => format!("`{name}`"),
    }
}

/// Whether a test printed as `full` is the test a goal names as `wanted`:
/// equal, or `full` ends with `wanted` after a path or module separator
/// (`::`, `/`, `.`, a space), so `adds` names `tests::adds` and
/// `test_x.py::test_a` names `tests/test_x.py::test_a`. It reads bare
/// names; [`TestOutcome::is_named`] reads scope-qualified ones too.
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

/// A test's identity in a run: its scope (if any) and its name.
type Key = (Option<String>, String);

/// One status per (scope, name): a name printed twice in one scope passes
/// only if every instance passed.
fn index(runs: &[TestOutcome]) -> BTreeMap<Key, TestStatus> {
    let mut m = BTreeMap::new();
    for o in runs {
        let entry = m.entry((o.scope.clone(), o.name.clone())).or_insert(o.status);
        if o.status != TestStatus::Passed {
            *entry = o.status;
        }
    }
    m
}

/// Compares per-test outcomes: the tests `named` must pass after the change
/// (fail→pass; skipped is not passing), and every test that passed before
/// must still pass (pass→pass). A test that passed before and is absent
/// from a run that has outcomes is a regression too: deleting a test is not
/// a way to fix it. (A run with no outcome at all is not valid, which the
/// caller reports instead of one regression per test.)
///
/// Tests are told apart by scope and name ([`TestOutcome::scope`]): a
/// test of one scope is compared with the same name in the same scope
/// only, so another scope's test of that name passing hides nothing. A
/// side without a scope for a name (text a runner printed without one)
/// stands for every scope of that name on the other side, all of which
/// must pass. A named test is every outcome [`TestOutcome::is_named`]
/// finds, all of which must pass.
pub fn compare_runs(before: &[TestOutcome], after: &[TestOutcome], named: &[String]) -> RunComparison {
    let (b, a) = (index(before), index(after));
    let mut out = RunComparison::default();
    for wanted in named {
        let found: Vec<&TestOutcome> = after.iter().filter(|o| o.is_named(wanted)).collect();
        match found.as_slice() {
            [] => out.missing_fixes.push(format!("`{wanted}` did not run after the change")),
            all => {
                // The worst instance speaks for the test (a scope's duplicates included).
                let worst = all.iter().find(|o| a.get(&(o.scope.clone(), o.name.clone())) != Some(&TestStatus::Passed));
                match worst {
                    None => out.fixed.push(wanted.clone()),
                    Some(o) => {
                        let status = a.get(&(o.scope.clone(), o.name.clone())).copied().unwrap_or(o.status);
                        let why = if status == TestStatus::Skipped { " (skipped is not passing)" } else { "" };
                        out.missing_fixes.push(format!("{} {} after the change{why}", o.label(), status.name()));
                    }
                }
            }
        }
    }
    for ((scope, name), status) in &b {
        if *status != TestStatus::Passed {
            continue;
        }
        let key = (scope.clone(), name.clone());
        let found: Vec<TestStatus> = match a.get(&key) {
            Some(s) => vec![*s],
            // No outcome of this scope: an unscoped one on either side stands for every scope of the name.
            None => {
                a.iter().filter(|((s, n), _)| n == name && (scope.is_none() || s.is_none())).map(|(_, s)| *s).collect()
            }
        };
        let label = label(scope.as_deref(), name);
        match found.iter().find(|s| **s != TestStatus::Passed) {
            Some(s) => out.regressions.push(format!("{label} passed before the change and {} after it", s.name())),
            None if !found.is_empty() => {}
            // With no outcome at all (a build that failed), the run is not valid: that is
            // the caller's finding, not one regression per test.
            None if a.is_empty() => {}
            None => out.regressions.push(format!("{label} passed before the change and did not run after it")),
        }
    }
    out
}
