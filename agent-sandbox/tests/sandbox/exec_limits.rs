//! `LimitedExecutor`: consecutive timeouts and total execution time per task.

use agent_core::Executor;
use agent_core::exec::{CommandSpec, ExecError, TimeoutKind};
use agent_sandbox::{LimitedExecutor, ProcessExecutor};
use std::time::Duration;

fn limited(logs: &tempfile::TempDir) -> LimitedExecutor<ProcessExecutor> {
    LimitedExecutor::new(
        ProcessExecutor::new()
            .with_log_dir(logs.path().to_path_buf())
            .with_default_cwd(logs.path().to_path_buf())
            .with_kill_grace(Duration::from_millis(200)),
    )
}

fn sh(script: &str) -> CommandSpec {
    CommandSpec::new("sh").args(["-c", script])
}

fn hang() -> CommandSpec {
    sh("sleep 30").wall_timeout(Duration::from_millis(150))
}

#[tokio::test]
async fn after_n_consecutive_timeouts_the_next_run_is_refused_without_running() {
    let dir = tempfile::tempdir().unwrap();
    let exec = limited(&dir).with_max_consecutive_timeouts(2);
    for _ in 0..2 {
        assert_eq!(exec.run(hang()).await.unwrap().timed_out, Some(TimeoutKind::Wall));
    }
    assert_eq!(exec.consecutive_timeouts(), 2);

    let marker = dir.path().join("ran");
    let err = exec.run(sh(&format!("touch '{}'", marker.display()))).await.unwrap_err();
    assert!(matches!(err, ExecError::LimitReached { ref reason } if reason.contains("consecutive")), "{err:?}");
    assert!(!marker.exists(), "a refused run must not run");
}

#[tokio::test]
async fn a_run_that_ends_on_its_own_resets_the_timeout_count() {
    let dir = tempfile::tempdir().unwrap();
    let exec = limited(&dir).with_max_consecutive_timeouts(2);
    exec.run(hang()).await.unwrap();
    // A failing run is not a timeout: it resets the count too.
    assert_eq!(exec.run(sh("exit 1")).await.unwrap().exit_code, Some(1));
    assert_eq!(exec.consecutive_timeouts(), 0);
    exec.run(hang()).await.unwrap();
    assert_eq!(exec.run(sh("echo still")).await.unwrap().stdout.head, "still\n", "one timeout in a row is allowed");

    exec.run(hang()).await.unwrap();
    exec.run(hang()).await.unwrap();
    assert!(matches!(exec.run(sh("true")).await, Err(ExecError::LimitReached { .. })));
    exec.reset();
    assert!(exec.run(sh("true")).await.unwrap().success(), "reset starts a new task");
}

#[tokio::test]
async fn total_time_caps_each_run_and_refuses_runs_once_spent() {
    let dir = tempfile::tempdir().unwrap();
    let exec = limited(&dir).with_max_total_time(Duration::from_millis(1500));

    let out = exec.run(sh("sleep 0.5")).await.unwrap();
    assert!(out.success());
    assert!(exec.total_time() >= Duration::from_millis(500));

    // Asks for 60 s but only about 1 s is left: the run is cut at the budget.
    let out = exec.run(sh("sleep 30").wall_timeout(Duration::from_secs(60))).await.unwrap();
    assert_eq!(out.timed_out, Some(TimeoutKind::Wall));
    assert!(out.duration_ms < 5_000, "the run was not capped at the time left: {} ms", out.duration_ms);
    assert!(exec.total_time() >= Duration::from_millis(1500));

    let marker = dir.path().join("ran");
    let err = exec.run(sh(&format!("touch '{}'", marker.display()))).await.unwrap_err();
    assert!(matches!(err, ExecError::LimitReached { ref reason } if reason.contains("in all")), "{err:?}");
    assert!(!marker.exists());
}

#[tokio::test]
async fn a_run_without_a_wall_timeout_gets_the_time_left_as_one() {
    let dir = tempfile::tempdir().unwrap();
    let exec = limited(&dir).with_max_total_time(Duration::from_millis(400));
    let out = exec.run(sh("sleep 30")).await.unwrap();
    assert_eq!(out.timed_out, Some(TimeoutKind::Wall));
    assert!(out.duration_ms < 5_000, "{} ms", out.duration_ms);
}
