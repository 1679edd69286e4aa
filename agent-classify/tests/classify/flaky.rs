//! [`FlakyDetector`] with real processes: a real pytest run of
//! `tests/testdata/python/flaky` (copied to a temporary directory) through
//! agent-sandbox's `ProcessExecutor`, whose first test fails only the first
//! time (it leaves a marker file) and whose second test is always broken.

use crate::support::{copy_fixture, testdata};
use agent_classify::{FlakyDetector, PytestClassifier};
use agent_core::exec::{CommandSpec, ExecError, RunOutput};
use agent_core::failure::FailureKind;
use agent_core::workspace::WorkspaceProfile;
use agent_core::{Executor, FailureClassifier, async_trait};
use agent_sandbox::ProcessExecutor;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

const FLAKY: &str = "test_flaky.py::test_fails_only_the_first_time";
const BROKEN: &str = "test_flaky.py::test_always_broken";

/// Runs the fixture's whole suite once, for real, and classifies it.
async fn first_run(exec: &ProcessExecutor, dir: &std::path::Path) -> agent_core::failure::Classification {
    let spec = CommandSpec::new("python3")
        .args(["-m", "pytest", "-p", "no:cacheprovider"])
        .cwd(dir)
        .wall_timeout(Duration::from_secs(120));
    let out = exec.run(spec).await.unwrap();
    PytestClassifier::new().classify(&out, &WorkspaceProfile::new(dir))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_that_passes_when_rerun_alone_is_flaky_and_a_test_that_keeps_failing_is_not() {
    let (_tmp, dir) = copy_fixture(&testdata().join("python").join("flaky"));
    let exec = ProcessExecutor::new();
    let c = first_run(&exec, &dir).await;
    assert!(c.valid_run, "{:?}", c.notes);
    let names: Vec<&str> = c.failures.iter().filter_map(|f| f.test_name.as_deref()).collect();
    assert_eq!(names, [FLAKY, BROKEN], "the first run fails both: {:#?}", c.failures);
    assert!(c.failures.iter().all(|f| !f.flaky), "nothing is flaky before the re-runs");

    let detector = FlakyDetector::new(Arc::new(exec)).reruns(3).wall_timeout(Duration::from_secs(120));
    let report = detector.detect(&c, "pytest", &WorkspaceProfile::new(&dir)).await.unwrap();

    let by_name =
        |name: &str| report.classification.failures.iter().find(|f| f.test_name.as_deref() == Some(name)).unwrap();
    assert!(by_name(FLAKY).flaky, "{:#?}", report.reruns);
    assert!(!by_name(BROKEN).flaky, "{:#?}", report.reruns);
    assert_eq!(by_name(BROKEN).kind, FailureKind::TestAssertion, "the failure itself is kept");
    assert!(!report.only_flaky(), "one test is really broken");

    let rerun = |name: &str| report.reruns.iter().find(|r| r.test == name).unwrap();
    // The flaky test passes on its first re-run and is not run again.
    assert_eq!((rerun(FLAKY).runs, rerun(FLAKY).passed), (1, true));
    // The broken one is tried the full 3 times, each time alone.
    assert_eq!((rerun(BROKEN).runs, rerun(BROKEN).passed), (3, false));
    assert_eq!(rerun(BROKEN).command, format!("python3 -m pytest -p no:cacheprovider {BROKEN}"));
    assert!(dir.join("ran_once.marker").is_file(), "the first run really ran the test");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_whose_only_failures_are_flaky_is_reported_as_only_flaky() {
    let (_tmp, dir) = copy_fixture(&testdata().join("python").join("flaky"));
    let exec = ProcessExecutor::new();
    let mut c = first_run(&exec, &dir).await;
    c.failures.retain(|f| f.test_name.as_deref() == Some(FLAKY));
    let report =
        FlakyDetector::new(Arc::new(exec)).reruns(2).detect(&c, "pytest", &WorkspaceProfile::new(&dir)).await.unwrap();
    assert!(report.only_flaky(), "{:#?}", report.reruns);
}

/// Answers every command with exit 0 and no output, counting the calls.
struct Silent(AtomicU32);

#[async_trait]
impl Executor for Silent {
    async fn run(&self, cmd: CommandSpec) -> Result<RunOutput, ExecError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(RunOutput::from_text(cmd.display(), 0, "", ""))
    }
}

#[tokio::test]
async fn a_rerun_that_exits_0_without_running_the_test_does_not_make_it_flaky() {
    // A wrong filter runs no test and exits 0: that is not a pass.
    let (_tmp, dir) = copy_fixture(&testdata().join("python").join("flaky"));
    let c = first_run(&ProcessExecutor::new(), &dir).await;
    let silent = Arc::new(Silent(AtomicU32::new(0)));
    let report =
        FlakyDetector::new(silent.clone()).reruns(2).detect(&c, "pytest", &WorkspaceProfile::new(&dir)).await.unwrap();
    assert!(report.classification.failures.iter().all(|f| !f.flaky), "{:#?}", report.reruns);
    // 2 failing tests × 2 re-runs, none cut short by a pass.
    assert_eq!(silent.0.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn build_failures_are_not_rerun() {
    let mut c = agent_core::failure::Classification::default();
    c.failures.push(
        agent_core::failure::Failure::new(
            agent_core::failure::FailureCategory::Build,
            FailureKind::Syntax,
            "invalid syntax",
        )
        .at("test_x.py", Some(2), None)
        .in_test("test_x.py"),
    );
    let silent = Arc::new(Silent(AtomicU32::new(0)));
    let report =
        FlakyDetector::new(silent.clone()).detect(&c, "pytest", &WorkspaceProfile::new("/nonexistent")).await.unwrap();
    assert!(report.reruns.is_empty());
    assert_eq!(silent.0.load(Ordering::SeqCst), 0);
}
