//! The runner's outputs in the field's formats: [`Prediction`] (one line of
//! `predictions.jsonl`), [`InstanceReport`] and [`SweReport`]
//! (`report.json`), and the per-test comparison that decides an instance.
//!
//! An instance is resolved when every FAIL_TO_PASS test passes and every
//! PASS_TO_PASS test still passes; a skipped test fails FAIL_TO_PASS but is
//! fine for PASS_TO_PASS (SWE-bench's grading rules).
//!
//! ```
//! use agent_core::failure::{TestOutcome, TestStatus};
//! use agent_swe::TestResults;
//!
//! let run = [TestOutcome::new("tests/t.py::test_a", TestStatus::Passed),
//!            TestOutcome::new("tests/t.py::test_b", TestStatus::Skipped)];
//! let f2p = TestResults::of(&run, &["tests/t.py::test_a".into()], false);
//! let p2p = TestResults::of(&run, &["tests/t.py::test_b".into(), "tests/t.py::test_c".into()], true);
//! assert_eq!(f2p.success, ["tests/t.py::test_a"]);
//! assert_eq!(p2p.success, ["tests/t.py::test_b"]);
//! assert_eq!(p2p.failure, ["tests/t.py::test_c"]);
//! ```

use agent_core::budget::Usd;
use agent_core::failure::{TestOutcome, TestStatus};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One line of `predictions.jsonl`, SWE-bench's prediction format.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prediction {
    /// The instance.
    pub instance_id: String,
    /// The model (or `gold`).
    pub model_name_or_path: String,
    /// The change as a unified diff against the base commit (the test
    /// patch left out).
    pub model_patch: String,
}

/// The tests of one list that passed and that did not, SWE-bench's
/// `tests_status` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestResults {
    /// Tests that passed (or were skipped, for PASS_TO_PASS).
    pub success: Vec<String>,
    /// Tests that did not, or did not run.
    pub failure: Vec<String>,
}

impl TestResults {
    /// Sorts `wanted` by its outcomes in `run`: a name matches exactly
    /// (bare, or qualified by its scope: `crate_b::tests::x`), else as
    /// [`names_test`](agent_core::failure::names_test) reads a shortened name (or
    /// [`TestOutcome::is_named`] a shortened scope-qualified one: `pkg/TestX`),
    /// else as the prefix of a truncated parametrised id; every match (every
    /// scope of a bare name) must pass. `skipped_ok`:
    /// a skipped test counts as a success (PASS_TO_PASS).
    pub fn of(run: &[TestOutcome], wanted: &[String], skipped_ok: bool) -> Self {
        let mut out = Self::default();
        for name in wanted {
            let ok = match status_of(run, name) {
                Some(TestStatus::Passed) => true,
                Some(TestStatus::Skipped) => skipped_ok,
                _ => false,
            };
            if ok { out.success.push(name.clone()) } else { out.failure.push(name.clone()) }
        }
        out
    }

    /// Whether every test of the list succeeded.
    pub fn all_passed(&self) -> bool {
        self.failure.is_empty()
    }
}

/// The status of the test a list names in a run's outcomes, or `None` when
/// it did not run. Several matches: the worst status.
pub fn status_of(run: &[TestOutcome], wanted: &str) -> Option<TestStatus> {
    let worst = |found: Vec<&TestOutcome>| -> Option<TestStatus> {
        if found.is_empty() {
            return None;
        }
        found.iter().find(|o| o.status != TestStatus::Passed && o.status != TestStatus::Skipped).map_or_else(
            || {
                if found.iter().any(|o| o.status == TestStatus::Skipped) {
                    Some(TestStatus::Skipped)
                } else {
                    Some(TestStatus::Passed)
                }
            },
            |o| Some(o.status),
        )
    };
    // Exact: the bare name (every scope of it) or the scope-qualified one (`crate_b::tests::x`).
    let exact: Vec<&TestOutcome> = run.iter().filter(|o| o.name == wanted || o.qualified() == wanted).collect();
    if !exact.is_empty() {
        return worst(exact);
    }
    let shortened: Vec<&TestOutcome> = run.iter().filter(|o| o.is_named(wanted)).collect();
    if !shortened.is_empty() {
        return worst(shortened);
    }
    // A parametrised id cut short in the dataset (`test_x[a very long`).
    if wanted.contains('[') && !wanted.ends_with(']') {
        return worst(run.iter().filter(|o| o.name.starts_with(wanted)).collect());
    }
    None
}

/// How an instance ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum InstanceStatus {
    /// Every FAIL_TO_PASS and PASS_TO_PASS test passed after the change.
    Resolved,
    /// The change left a test of either list failing.
    Unresolved,
    /// The instance does not hold before any change (a FAIL_TO_PASS test
    /// already passes, a PASS_TO_PASS test fails, the tests do not run):
    /// reported, not scored.
    Invalid,
    /// The runner could not get the instance to the verdict: no mirror, a
    /// patch that does not apply, a failed setup, a crash. Scored as unresolved.
    Error,
    /// The instance ran past its wall-clock limit. Scored as unresolved.
    Timeout,
}

impl InstanceStatus {
    /// Whether the instance counts in the score (everything but `invalid`).
    pub fn scored(self) -> bool {
        self != Self::Invalid
    }
}

/// Token counts of the agent's model calls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    /// Prompt tokens.
    pub input: u64,
    /// Completion tokens.
    pub output: u64,
    /// Prompt tokens served from a cache.
    pub cached: u64,
    /// Input plus output.
    pub total: u64,
}

/// Wall time of each phase, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phases {
    /// Worktree checkout and the test patch.
    pub checkout_ms: u64,
    /// The environment setup commands.
    pub setup_ms: u64,
    /// The run that confirms the instance holds before the change.
    pub validation_ms: u64,
    /// The agent, or applying the gold patch.
    pub solve_ms: u64,
    /// The verdict's test run.
    pub verdict_ms: u64,
}

/// One instance's entry in `report.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InstanceReport {
    /// The instance.
    pub instance_id: String,
    /// Its repository.
    pub repo: String,
    /// How it ended.
    pub status: InstanceStatus,
    /// Whether it was resolved.
    pub resolved: bool,
    /// Whether the model patch is empty.
    pub patch_is_empty: bool,
    /// The verdict's per-test results, SWE-bench's `tests_status`
    /// (`FAIL_TO_PASS`, `PASS_TO_PASS`).
    pub tests_status: BTreeMap<String, TestResults>,
    /// The validation run's results (before any change), the same shape.
    pub validation: BTreeMap<String, TestResults>,
    /// Why the verdict is what it is, in a sentence.
    pub verdict: String,
    /// The loop's outcome (`accepted`, `rolled_back`, …) in agent mode,
    /// `gold` in gold mode, absent when the instance never got there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// Where the setup and test commands came from (`instance`, `specs`, `oracle`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_source: Option<crate::PlanSource>,
    /// The setup commands run.
    #[serde(default)]
    pub setup_commands: Vec<String>,
    /// The test command of the verdict.
    #[serde(default)]
    pub test_command: String,
    /// Model turns taken by the agent.
    pub turns: u32,
    /// Tool calls made by the agent.
    pub tool_calls: u32,
    /// Tokens spent.
    pub tokens: Tokens,
    /// Cost in US dollars.
    pub cost_usd: Usd,
    /// Wall time of the whole instance, in milliseconds.
    pub wall_ms: u64,
    /// Wall time per phase.
    pub phases: Phases,
    /// The agent's journal, in agent mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journal: Option<String>,
    /// What went wrong, for `error`, `timeout` and `invalid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl InstanceReport {
    /// A report of an instance that ended before its verdict.
    pub fn failed(instance: &crate::SweInstance, status: InstanceStatus, error: impl Into<String>) -> Self {
        let error = error.into();
        Self {
            instance_id: instance.instance_id.clone(),
            repo: instance.repo.clone(),
            status,
            resolved: false,
            patch_is_empty: true,
            tests_status: BTreeMap::new(),
            validation: BTreeMap::new(),
            verdict: error.clone(),
            outcome: None,
            env_source: None,
            setup_commands: Vec::new(),
            test_command: String::new(),
            turns: 0,
            tool_calls: 0,
            tokens: Tokens::default(),
            cost_usd: Usd::ZERO,
            wall_ms: 0,
            phases: Phases::default(),
            journal: None,
            error: Some(error),
        }
    }
}

/// Counts over the instances of a report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Instances in the report.
    pub total: usize,
    /// Instances scored (all but invalid).
    pub scored: usize,
    /// Resolved instances.
    pub resolved: usize,
    /// Scored but not resolved (errors and timeouts included).
    pub unresolved: usize,
    /// Invalid instances.
    pub invalid: usize,
    /// Instances that ended in an error.
    pub error: usize,
    /// Instances that ran out of time.
    pub timeout: usize,
}

/// `report.json`: every instance run so far, by id.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SweReport {
    /// The model (or `gold`).
    pub model_name_or_path: String,
    /// `gold` or `agent`.
    pub mode: String,
    /// Counts.
    pub summary: Summary,
    /// Total cost of the agent's model calls, in US dollars.
    pub cost_usd: Usd,
    /// The instances, by id.
    pub instances: BTreeMap<String, InstanceReport>,
}

impl SweReport {
    /// An empty report.
    pub fn new(model_name_or_path: impl Into<String>, mode: impl Into<String>) -> Self {
        Self { model_name_or_path: model_name_or_path.into(), mode: mode.into(), ..Self::default() }
    }

    /// Adds (or replaces) an instance and recounts.
    pub fn insert(&mut self, report: InstanceReport) {
        self.instances.insert(report.instance_id.clone(), report);
        self.recount();
    }

    /// Recomputes the summary and the total cost from the instances.
    pub fn recount(&mut self) {
        let mut s = Summary { total: self.instances.len(), ..Summary::default() };
        let mut cost = Usd::ZERO;
        for r in self.instances.values() {
            cost += r.cost_usd;
            match r.status {
                InstanceStatus::Resolved => s.resolved += 1,
                InstanceStatus::Unresolved => s.unresolved += 1,
                InstanceStatus::Invalid => s.invalid += 1,
                InstanceStatus::Error => {
                    s.error += 1;
                    s.unresolved += 1;
                }
                InstanceStatus::Timeout => {
                    s.timeout += 1;
                    s.unresolved += 1;
                }
            }
        }
        s.scored = s.total - s.invalid;
        self.summary = s;
        self.cost_usd = cost;
    }

    /// The summary line: `resolved N of M` (M: the scored instances).
    pub fn summary_line(&self) -> String {
        format!("resolved {} of {}", self.summary.resolved, self.summary.scored)
    }
}
