//! [`TestsGate`]: regression-aware tests — the named tests go from failing
//! to passing, every test that passed still passes, and the run is valid.

use agent_classify::{AutoClassifier, run_test_outcomes};
use agent_core::exec::CommandSpec;
use agent_core::failure::Tier;
use agent_core::gate::{GateContext, GateError, GateReport, TestBaseline, check_test_run, structured_test_reporting};
use agent_core::workspace::{DetectedCommand, WorkspaceProfile};
use agent_core::{Executor, FailureClassifier, Gate, async_trait};
use std::sync::Arc;
use std::time::Duration;

/// Runs the workspace's test command through an [`Executor`] (asking
/// pytest for `-v -rA` so every test is listed, and jest, vitest, `go test`
/// and cargo for their structured output, jest's and vitest's JSON report
/// in a file outside the workspace:
/// [`structured_test_reporting`], the repair loop's way too), classifies
/// the run with the [`AutoClassifier`], reads the per-test outcomes
/// ([`run_test_outcomes`], the report file first) and judges them against the baseline run in
/// [`GateContext::test_baseline`] with [`check_test_run`], the repair
/// loop's own check (build the baseline with [`TestsGate::baseline`]):
///
/// - every test in [`GateContext::named_tests`] must pass after the change
///   (a skipped test does not count; a test the run does not show is missing);
/// - every test that passed in the baseline must still pass (pass→pass);
/// - a run from which no test outcome can be read, or whose exit code
///   disagrees with its outcomes, is never a pass; nor is a run whose
///   failure is infrastructure (a missing toolchain, a port in use) when
///   no test ran or the baseline has none: with tests on both sides, a test
///   the environment already broke in the baseline is judged like any test
///   that failed before;
/// - an empty or invalid baseline is never compared against: the run must
///   then be a clean pass on its own; without a baseline the gate cannot check.
///
/// Tests that failed before and still fail, and that the goal does not name,
/// do not fail the gate: a change is judged on what it changed.
///
/// ```no_run
/// use agent_gates::TestsGate;
/// use std::sync::Arc;
///
/// # fn demo(executor: Arc<dyn agent_core::Executor>) {
/// let gate = TestsGate::new(executor);
/// # }
/// ```
#[derive(Clone)]
pub struct TestsGate {
    executor: Arc<dyn Executor>,
    timeout: Duration,
}

impl std::fmt::Debug for TestsGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestsGate").field("timeout", &self.timeout).finish_non_exhaustive()
    }
}

const GATE: &str = "tests";

impl TestsGate {
    /// A gate running the tests through `executor` (30-minute limit).
    pub fn new(executor: Arc<dyn Executor>) -> Self {
        Self { executor, timeout: Duration::from_secs(1800) }
    }

    /// Sets the wall-time limit of the test run.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl TestsGate {
    /// The command this gate runs in `root`: the workspace's test command with
    /// its per-test reporting flags, exactly as the repair loop runs its
    /// baseline and after-runs.
    fn spec(&self, cx_root: &std::path::Path, test: &DetectedCommand) -> CommandSpec {
        structured_test_reporting(test.to_spec(cx_root)).wall_timeout(self.timeout)
    }

    async fn run(&self, root: &std::path::Path, profile: &WorkspaceProfile) -> Result<Run, GateError> {
        let Some(test) = profile.test_command() else {
            return Err(GateError::NotApplicable { gate: GATE.to_owned(), reason: "no test command".to_owned() });
        };
        let spec = self.spec(root, test);
        let command = spec.display_redacted();
        let run = self.executor.run(spec).await.map_err(|source| GateError::Exec { gate: GATE.to_owned(), source })?;
        let classification = AutoClassifier::new().classify(&run, profile);
        Ok(Run { command, exit_code: run.exit_code, outcomes: run_test_outcomes(&run), classification })
    }

    /// Runs the baseline, before the change, exactly as [`check`](Gate::check)
    /// will run the after-run; a host sets it with
    /// [`GateContext::with_test_baseline`]. The repair loop builds its own
    /// the same way.
    pub async fn baseline(
        &self,
        root: &std::path::Path,
        profile: &WorkspaceProfile,
    ) -> Result<TestBaseline, GateError> {
        let run = self.run(root, profile).await?;
        Ok(TestBaseline::new(run.command, run.exit_code, run.outcomes))
    }
}

struct Run {
    command: String,
    exit_code: Option<i32>,
    outcomes: Vec<agent_core::failure::TestOutcome>,
    classification: agent_core::failure::Classification,
}

#[async_trait]
impl Gate for TestsGate {
    async fn check(&self, cx: &GateContext) -> Result<GateReport, GateError> {
        let Some(baseline) = &cx.test_baseline else {
            if cx.profile.test_command().is_none() {
                return Err(GateError::NotApplicable { gate: GATE.to_owned(), reason: "no test command".to_owned() });
            }
            return Err(GateError::CouldNotCheck {
                gate: GATE.to_owned(),
                reason: "no baseline run to compare with (TestsGate::baseline, before the change)".to_owned(),
            });
        };
        let Run { command, exit_code, outcomes: after, classification } = self.run(&cx.root, &cx.profile).await?;
        // An infrastructure failure is the gate's answer when it leaves
        // nothing to compare: no test ran, or the baseline has none. With
        // tests on both sides, a test the environment already broke in the
        // baseline is no regression, and one it newly breaks is named.
        if classification.tier == Tier::Infrastructure && (after.is_empty() || baseline.outcomes.is_empty()) {
            let mut report = GateReport::new(GATE, false, "the test run failed for an infrastructure reason");
            report.findings = classification.failures.iter().map(|f| f.message.clone()).take(5).collect();
            return Ok(report);
        }
        let check = check_test_run(baseline, &command, exit_code, &after, &cx.named_tests);
        if after.is_empty() {
            let build_errors = classification
                .failures
                .iter()
                .filter(|f| f.category == agent_core::failure::FailureCategory::Build)
                .count();
            let mut summary = if build_errors > 0 {
                format!("`{command}` did not build: {build_errors} build error(s), no test ran")
            } else {
                format!("`{command}` ran no test this gate could read: the run is not valid")
            };
            if baseline.outcomes.is_empty() && !baseline.command.is_empty() && baseline.exit_code != Some(0) {
                // Nothing ran before the change either: the change is not
                // the only suspect, and the report says so.
                let exit = baseline.exit_code.map_or_else(|| "killed".to_owned(), |c| format!("exit {c}"));
                summary.push_str(&format!(
                    "; the baseline run ran no test either ({exit}): the tree before the change, \
                     or this environment, does not build"
                ));
            }
            let mut report = GateReport::new(GATE, false, summary);
            report.findings = classification
                .failures
                .iter()
                .take(10)
                .map(|f| {
                    let at = match (&f.file, f.line) {
                        (Some(file), Some(line)) => format!(" at {}:{line}", file.display()),
                        (Some(file), None) => format!(" at {}", file.display()),
                        _ => String::new(),
                    };
                    format!("[{}]{at} {}", f.kind.name(), headline(&f.message))
                })
                .collect();
            return Ok(report);
        }
        let cmp = check.comparison;
        let passed = check.passed;
        let counts = |s| after.iter().filter(|o| o.status == s).count();
        let tally = format!(
            "{} passed, {} failed, {} skipped",
            counts(agent_core::failure::TestStatus::Passed),
            counts(agent_core::failure::TestStatus::Failed) + counts(agent_core::failure::TestStatus::Errored),
            counts(agent_core::failure::TestStatus::Skipped)
        );
        let summary = if passed {
            format!("{tally}; {} named test(s) fixed, no regression", cmp.fixed.len())
        } else if !check.problems.is_empty() {
            format!("{tally}; the run cannot be judged: {}", check.problems.join("; "))
        } else {
            format!(
                "{tally}; {} regression(s), {} named test(s) not fixed",
                cmp.regressions.len(),
                cmp.missing_fixes.len()
            )
        };
        let mut report = GateReport::new(GATE, passed, summary);
        report.findings = check.problems.iter().map(|p| format!("invalid run: {p}")).collect();
        report.findings.extend(cmp.regressions.iter().map(|r| format!("regression: {r}")));
        report.findings.extend(cmp.missing_fixes.iter().map(|m| format!("not fixed: {m}")));
        Ok(report)
    }
}

/// The line of a failure's message that says what went wrong: the first
/// naming an error (Python's `SyntaxError: …` comes after the location and
/// the source line), else the first line.
fn headline(message: &str) -> &str {
    let mut lines = message.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.clone().next().unwrap_or_default();
    lines.find(|l| l.to_ascii_lowercase().contains("error")).unwrap_or(first)
}
