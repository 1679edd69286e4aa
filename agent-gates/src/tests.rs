//! [`TestsGate`]: regression-aware tests — the named tests go from failing
//! to passing, every test that passed still passes, and the run is valid.

use agent_classify::{GenericClassifier, classifier_for, detect_tool, test_outcomes};
use agent_core::failure::{Tier, compare_runs};
use agent_core::gate::{GateContext, GateError, GateReport};
use agent_core::{Executor, FailureClassifier, Gate, async_trait};
use std::sync::Arc;
use std::time::Duration;

/// Runs the workspace's test command through an [`Executor`] (asking
/// pytest for `-v -rA` and `go test` for `-v` so every test is listed), reads the
/// per-test outcomes ([`test_outcomes`]) and compares them with the
/// baseline outcomes in [`GateContext::baseline`]:
///
/// - every test in [`GateContext::named_tests`] must pass after the change
///   (a skipped test does not count; a test the run does not show is missing);
/// - every test that passed in the baseline must still pass (pass→pass);
/// - a run from which no test outcome can be read, or whose failure is
///   infrastructure (a missing toolchain, a port in use), is never a pass.
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

/// Asks runners that print only failures by default to print every test:
/// pytest gets `-v -rA`, `go test` gets `-v` (unless it has `-v` or `-json`).
fn per_test_reporting(mut spec: agent_core::exec::CommandSpec) -> agent_core::exec::CommandSpec {
    let is_pytest = spec.program.ends_with("pytest") || spec.args.iter().any(|a| a == "pytest");
    // `-rA` alone names no skipped test (`SKIPPED [1] file:line`); `-v` does.
    if is_pytest && !spec.args.iter().any(|a| a.starts_with("-v")) {
        spec.args.push("-v".to_owned());
    }
    if is_pytest && !spec.args.iter().any(|a| a == "-rA") {
        spec.args.push("-rA".to_owned());
    }
    let is_go_test = spec.program == "go" && spec.args.first().is_some_and(|a| a == "test");
    if is_go_test && !spec.args.iter().any(|a| a == "-v" || a == "-json") {
        spec.args.insert(1, "-v".to_owned());
    }
    spec
}

#[async_trait]
impl Gate for TestsGate {
    async fn check(&self, cx: &GateContext) -> Result<GateReport, GateError> {
        let Some(test) = cx.profile.test_command() else {
            return Err(GateError::NotApplicable { gate: GATE.to_owned(), reason: "no test command".to_owned() });
        };
        let spec = per_test_reporting(test.to_spec(&cx.root)).wall_timeout(self.timeout);
        let run = self.executor.run(spec).await.map_err(|source| GateError::Exec { gate: GATE.to_owned(), source })?;
        let text = format!("{}\n{}", run.stdout.text(), run.stderr.text());
        let classifier: Arc<dyn FailureClassifier> =
            detect_tool(&text).and_then(classifier_for).unwrap_or_else(|| Arc::new(GenericClassifier::new()));
        let classification = classifier.classify(&run, &cx.profile);
        let after = test_outcomes(&text);
        if classification.tier == Tier::Infrastructure {
            let mut report = GateReport::new(GATE, false, "the test run failed for an infrastructure reason");
            report.findings = classification.failures.iter().map(|f| f.message.clone()).take(5).collect();
            return Ok(report);
        }
        if after.is_empty() {
            let mut report = GateReport::new(
                GATE,
                false,
                format!("`{}` ran no test this gate could read: the run is not valid", test.display()),
            );
            report.findings = classification
                .failures
                .iter()
                .take(10)
                .map(|f| format!("[{}] {}", f.kind.name(), f.message.lines().next().unwrap_or_default()))
                .collect();
            return Ok(report);
        }
        let cmp = compare_runs(&cx.baseline, &after, &cx.named_tests);
        let passed = cmp.ok();
        let counts = |s| after.iter().filter(|o| o.status == s).count();
        let tally = format!(
            "{} passed, {} failed, {} skipped",
            counts(agent_core::failure::TestStatus::Passed),
            counts(agent_core::failure::TestStatus::Failed) + counts(agent_core::failure::TestStatus::Errored),
            counts(agent_core::failure::TestStatus::Skipped)
        );
        let summary = if passed {
            format!("{tally}; {} named test(s) fixed, no regression", cmp.fixed.len())
        } else {
            format!(
                "{tally}; {} regression(s), {} named test(s) not fixed",
                cmp.regressions.len(),
                cmp.missing_fixes.len()
            )
        };
        let mut report = GateReport::new(GATE, passed, summary);
        report.findings = cmp.regressions.iter().map(|r| format!("regression: {r}")).collect();
        report.findings.extend(cmp.missing_fixes.iter().map(|m| format!("not fixed: {m}")));
        Ok(report)
    }
}
