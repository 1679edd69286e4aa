//! `ProcessExecutor`: limits, capture, environment, errors, sandbox reporting.

use crate::common::{alive, gone_within, read_pid};
use agent_core::Executor;
use agent_core::exec::{CommandSpec, Enforcement, EnvPolicy, ExecError, OutputCaps, SandboxPolicy, TimeoutKind};
use agent_sandbox::ProcessExecutor;
use std::time::Duration;

fn executor(logs: &tempfile::TempDir) -> ProcessExecutor {
    ProcessExecutor::new()
        .with_log_dir(logs.path().to_path_buf())
        .with_default_cwd(logs.path().to_path_buf())
        .with_kill_grace(Duration::from_millis(500))
}

fn sh(script: &str) -> CommandSpec {
    CommandSpec::new("sh").args(["-c", script])
}

#[tokio::test]
async fn wall_timeout_kills_a_grandchild_that_holds_the_pipes() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pidfile");
    let script = format!("sleep 300 & echo $! > '{}'; sleep 300", pidfile.display());
    let out = executor(&dir).run(sh(&script).wall_timeout(Duration::from_millis(700))).await.unwrap();

    assert_eq!(out.timed_out, Some(TimeoutKind::Wall));
    assert!(!out.success());
    assert_eq!(out.exit_code, None, "the shell was killed by a signal");
    assert!(out.signal.is_some());
    let grandchild = read_pid(&pidfile);
    assert!(gone_within(grandchild, Duration::from_secs(5)), "grandchild {grandchild} survived the timeout");
    assert!(out.duration_ms < 60_000, "the run returned long after its limit: {} ms", out.duration_ms);
}

#[tokio::test]
async fn a_grandchild_ignoring_sigterm_is_killed_after_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pidfile");
    let script =
        format!("sh -c 'trap \"\" TERM; echo $$ > \"{}\"; while :; do sleep 1; done' & wait", pidfile.display());
    let out = executor(&dir).run(sh(&script).wall_timeout(Duration::from_millis(700))).await.unwrap();

    assert_eq!(out.timed_out, Some(TimeoutKind::Wall));
    let stubborn = read_pid(&pidfile);
    assert!(gone_within(stubborn, Duration::from_secs(5)), "SIGTERM-ignoring process {stubborn} survived");
}

#[tokio::test]
async fn idle_timeout_fires_while_the_wall_timeout_would_not() {
    let dir = tempfile::tempdir().unwrap();
    let spec =
        sh("echo started; sleep 300").idle_timeout(Duration::from_millis(400)).wall_timeout(Duration::from_secs(120));
    let out = executor(&dir).run(spec).await.unwrap();

    assert_eq!(out.timed_out, Some(TimeoutKind::Idle));
    assert_eq!(out.stdout.head, "started\n");
    assert!(out.duration_ms < 60_000);
}

#[tokio::test]
async fn steady_output_keeps_the_idle_timeout_from_firing() {
    let dir = tempfile::tempdir().unwrap();
    // 8 lines 0.25 s apart: 2 s in all, longer than the 1 s idle limit.
    let spec = sh("for i in 1 2 3 4 5 6 7 8; do echo $i; sleep 0.25; done").idle_timeout(Duration::from_secs(1));
    let out = executor(&dir).run(spec).await.unwrap();

    assert_eq!(out.timed_out, None);
    assert_eq!(out.exit_code, Some(0));
    assert_eq!(out.stdout.head, "1\n2\n3\n4\n5\n6\n7\n8\n");
}

#[tokio::test]
async fn after_the_child_exits_a_grandchild_holding_the_pipes_cannot_hang_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pidfile");
    let script = format!("sleep 300 & echo $! > '{}'; echo done", pidfile.display());
    let exec = executor(&dir).with_drain_timeout(Duration::from_millis(300));
    let out = exec.run(sh(&script)).await.unwrap();

    assert_eq!(out.exit_code, Some(0));
    assert_eq!(out.timed_out, None);
    assert_eq!(out.stdout.head, "done\n");
    let grandchild = read_pid(&pidfile);
    assert!(gone_within(grandchild, Duration::from_secs(5)), "grandchild {grandchild} outlived the run");
}

#[tokio::test]
async fn a_background_process_detached_from_the_pipes_does_not_outlive_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pidfile");
    let script = format!("sleep 300 >/dev/null 2>&1 & echo $! > '{}'", pidfile.display());
    let out = executor(&dir).run(sh(&script)).await.unwrap();

    assert_eq!(out.exit_code, Some(0));
    let bg = read_pid(&pidfile);
    assert!(gone_within(bg, Duration::from_secs(5)), "background process {bg} outlived the run");
}

fn pattern(len: usize) -> Vec<u8> {
    b"0123456789\n".iter().copied().cycle().take(len).collect()
}

#[tokio::test]
async fn an_output_flood_keeps_head_and_tail_within_the_caps_and_logs_every_byte() {
    let dir = tempfile::tempdir().unwrap();
    let total = 50 * 1024 * 1024;
    let caps = OutputCaps { head_bytes: 1000, tail_bytes: 2000 };
    let spec = sh(&format!("yes 0123456789 | head -c {total}; echo oops >&2")).output_caps(caps);
    let out = executor(&dir).run(spec).await.unwrap();

    assert_eq!(out.exit_code, Some(0));
    let expected = pattern(total);
    assert_eq!(out.stdout.total_bytes, total as u64);
    assert!(out.stdout.truncated);
    assert_eq!(out.stdout.head.as_bytes(), &expected[..1000]);
    assert_eq!(out.stdout.tail.as_bytes(), &expected[total - 2000..]);
    assert_eq!(out.stderr.head, "oops\n");
    assert!(!out.stderr.truncated);

    let log = std::fs::read(out.log_path.as_ref().expect("a log")).unwrap();
    assert_eq!(log.len(), total + 5, "the log holds all of stdout then all of stderr");
    assert!(log[..total] == expected[..], "stdout in the log differs");
    assert_eq!(&log[total..], b"oops\n");
}

#[tokio::test]
async fn output_between_the_caps_is_kept_whole() {
    let dir = tempfile::tempdir().unwrap();
    let caps = OutputCaps { head_bytes: 4, tail_bytes: 4 };
    let out = executor(&dir).run(sh("printf abcdefgh").output_caps(caps)).await.unwrap();
    assert_eq!(out.stdout.text(), "abcdefgh");
    assert!(!out.stdout.truncated);
    let out = executor(&dir).run(sh("printf abcdefghi").output_caps(caps)).await.unwrap();
    assert!(out.stdout.truncated);
    assert_eq!((out.stdout.head.as_str(), out.stdout.tail.as_str()), ("abcd", "fghi"));
}

#[tokio::test]
async fn non_utf8_output_is_kept_lossily_and_raw_in_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let out = executor(&dir).run(sh(r"printf '\377\376ok'")).await.unwrap();

    assert_eq!(out.exit_code, Some(0));
    assert_eq!(out.stdout.head, "\u{FFFD}\u{FFFD}ok");
    assert_eq!(out.stdout.total_bytes, 4);
    let log = std::fs::read(out.log_path.unwrap()).unwrap();
    assert_eq!(log, vec![0xff, 0xfe, b'o', b'k']);
}

#[tokio::test]
async fn exit_codes_and_signals_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let out = executor(&dir).run(sh("echo bad >&2; exit 3")).await.unwrap();
    assert_eq!((out.exit_code, out.signal), (Some(3), None));
    assert_eq!(out.stderr.head, "bad\n");
    assert!(!out.success());
    let out = executor(&dir).run(sh("kill -9 $$")).await.unwrap();
    assert_eq!((out.exit_code, out.signal, out.timed_out), (None, Some(9), None));
}

#[tokio::test]
async fn a_missing_program_is_program_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let err = executor(&dir).run(CommandSpec::new("agentkit-no-such-program-xyz")).await.unwrap_err();
    assert!(
        matches!(err, ExecError::ProgramNotFound { ref program } if program == "agentkit-no-such-program-xyz"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_missing_working_directory_is_bad_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let err = executor(&dir).run(CommandSpec::new("true").cwd(&missing)).await.unwrap_err();
    assert!(matches!(err, ExecError::BadWorkingDirectory { ref path } if *path == missing), "{err:?}");
}

#[tokio::test]
async fn an_empty_program_is_an_invalid_command() {
    let dir = tempfile::tempdir().unwrap();
    let err = executor(&dir).run(CommandSpec::new("  ")).await.unwrap_err();
    assert!(matches!(err, ExecError::InvalidCommand { .. }), "{err:?}");
}

#[tokio::test]
async fn the_command_runs_in_the_requested_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let out = executor(&dir).run(CommandSpec::new("pwd").cwd(&sub)).await.unwrap();
    assert_eq!(out.stdout.head.trim(), sub.canonicalize().unwrap().to_str().unwrap());
}

#[tokio::test]
async fn stdin_is_dev_null_by_default_so_cat_returns_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = executor(&dir).run(CommandSpec::new("cat").wall_timeout(Duration::from_secs(30))).await.unwrap();
    assert_eq!(out.timed_out, None);
    assert_eq!(out.exit_code, Some(0));
    assert_eq!(out.stdout.total_bytes, 0);
}

#[tokio::test]
async fn given_stdin_is_written_and_closed() {
    let dir = tempfile::tempdir().unwrap();
    let spec = CommandSpec::new("cat").stdin("hello\nworld\n").wall_timeout(Duration::from_secs(30));
    let out = executor(&dir).run(spec).await.unwrap();
    assert_eq!(out.timed_out, None);
    assert_eq!(out.stdout.head, "hello\nworld\n");
}

/// Name of the variable the child test looks for.
const SECRET: &str = "AGENTKIT_TEST_SERVICE_API_KEY";
const PLAIN: &str = "AGENTKIT_TEST_PLAIN_VALUE";

/// Setting a variable in this process needs `unsafe`; instead this test runs
/// itself again as a child process with the variables set.
#[test]
fn a_secret_looking_host_variable_reaches_the_child_only_when_allowed() {
    if std::env::var("AGENTKIT_TEST_ENV_CHILD").is_ok() {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(env_checks());
        return;
    }
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "exec::a_secret_looking_host_variable_reaches_the_child_only_when_allowed", "--nocapture"])
        .env("AGENTKIT_TEST_ENV_CHILD", "1")
        .env(SECRET, "hunter2")
        .env(PLAIN, "plain")
        .status()
        .unwrap();
    assert!(status.success(), "the checks in the child test failed");
}

async fn env_checks() {
    assert_eq!(std::env::var(SECRET).as_deref(), Ok("hunter2"), "child test did not get the variable");
    let dir = tempfile::tempdir().unwrap();
    let exec = executor(&dir);
    let probe = format!("echo \"[${SECRET}][${PLAIN}]\"");

    let out = exec.run(sh(&probe)).await.unwrap();
    assert_eq!(out.stdout.head, "[][]\n", "default policy leaked a variable");

    let mut inherit = EnvPolicy::default();
    inherit.inherit_all = true;
    let out = exec.run(sh(&probe).env(inherit)).await.unwrap();
    assert_eq!(out.stdout.head, "[][plain]\n", "inherit_all must still hold back secrets");

    let out = exec.run(sh(&probe).env(EnvPolicy::default().allow(SECRET))).await.unwrap();
    assert_eq!(out.stdout.head, "[hunter2][]\n");

    let out = exec.run(sh(&probe).env(EnvPolicy::default().set(PLAIN, "set"))).await.unwrap();
    assert_eq!(out.stdout.head, "[][set]\n");
}

#[tokio::test]
async fn a_required_sandbox_runs_confined_where_enforceable_and_is_refused_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let cases = [
        (SandboxPolicy::WorkspaceWrite { enforcement: Enforcement::Required }, agent_sandbox::landlock_supported()),
        (
            SandboxPolicy::NoNetwork { enforcement: Enforcement::Required },
            agent_sandbox::network_isolation() != agent_sandbox::NetworkIsolation::None,
        ),
    ];
    for (policy, enforceable) in cases {
        let _ = std::fs::remove_file(&marker);
        let spec = sh(&format!("touch '{}'", marker.display())).sandbox(policy.clone());
        let result = executor(&dir).run(spec).await;
        if enforceable {
            let out = result.unwrap();
            assert_eq!(out.exit_code, Some(0), "{policy:?}: {}", out.stderr.text());
            assert!(out.sandbox.enforced, "{policy:?}");
            assert!(marker.exists(), "{policy:?}: writing in the workspace is allowed");
        } else {
            let err = result.unwrap_err();
            assert!(matches!(err, ExecError::SandboxUnavailable { .. }), "{err:?}");
            assert!(!marker.exists(), "the command ran despite the refusal");
        }
    }
}

#[tokio::test]
async fn a_best_effort_sandbox_runs_and_reports_what_was_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let policy = SandboxPolicy::WorkspaceWrite { enforcement: Enforcement::BestEffort };
    let out = executor(&dir).run(sh("echo hi").sandbox(policy.clone())).await.unwrap();
    assert_eq!(out.exit_code, Some(0));
    assert_eq!(out.sandbox.requested, policy);
    let detail = out.sandbox.detail.clone().unwrap_or_default();
    match agent_sandbox::landlock_support() {
        agent_sandbox::LandlockSupport::None => {
            assert!(!out.sandbox.enforced);
            assert!(detail.contains("not enforced"), "{detail}");
        }
        support => {
            assert_eq!(out.sandbox.enforced, support == agent_sandbox::LandlockSupport::Full);
            assert!(detail.contains("landlock"), "{detail}");
        }
    }
    assert_eq!(out.sandbox.denial_suspected, None);

    let out = executor(&dir).run(sh("true")).await.unwrap();
    assert!(out.sandbox.enforced, "no policy is trivially enforced");
}

#[tokio::test]
async fn each_run_gets_its_own_log_file_in_the_log_dir() {
    let dir = tempfile::tempdir().unwrap();
    let exec = executor(&dir);
    let a = exec.run(sh("echo a")).await.unwrap().log_path.unwrap();
    let b = exec.run(sh("echo b")).await.unwrap().log_path.unwrap();
    assert_ne!(a, b);
    assert_eq!(a.parent(), Some(dir.path()));
    assert_eq!(std::fs::read(a).unwrap(), b"a\n");
    assert_eq!(std::fs::read(b).unwrap(), b"b\n");
}

#[test]
fn pid_helper_sees_a_live_process() {
    // Guards the liveness helper the kill tests rely on.
    let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
    let pid = i32::try_from(child.id()).unwrap();
    assert!(alive(pid));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!alive(pid));
}
