//! SmokeGate against real services: python's http.server and shell scripts.

use agent_core::Gate;
use agent_core::gate::GateContext;
use agent_core::workspace::WorkspaceProfile;
use agent_gates::{Health, SmokeFailure, SmokeGate};
use agent_sandbox::ProcessExecutor;
use std::sync::Arc;
use std::time::Duration;

/// The real process executor: the gate starts its service through it.
fn exec() -> Arc<ProcessExecutor> {
    Arc::new(ProcessExecutor::new())
}

fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), "<h1>up</h1>\n").unwrap();
    dir
}

#[tokio::test]
async fn a_real_http_server_becomes_healthy_answers_and_is_stopped() {
    let dir = site();
    let gate = SmokeGate::new(
        exec(),
        "python3",
        ["-m", "http.server", "{port}", "--bind", "127.0.0.1"],
        Health::Url("/".into()),
    )
    .with_request("/index.html")
    .with_startup_timeout(Duration::from_secs(20));
    let outcome = gate.run(dir.path()).await;
    assert_eq!(outcome.failure, None);
    assert_eq!(outcome.status, Some(200));
    // Stopped: nothing listens on the port any more.
    assert!(std::net::TcpStream::connect(("127.0.0.1", outcome.port)).is_err());

    let cx = GateContext::new(dir.path(), WorkspaceProfile::default(), "serve", vec![]);
    let report = gate.check(&cx).await.unwrap();
    assert!(report.passed, "{report:?}");
    assert_eq!(report.gate, "smoke");
}

#[tokio::test]
async fn a_missing_page_fails_the_request_not_the_startup() {
    let dir = site();
    let gate = SmokeGate::new(
        exec(),
        "python3",
        ["-m", "http.server", "{port}", "--bind", "127.0.0.1"],
        Health::Url("/".into()),
    )
    .with_request("/no-such-page")
    .with_startup_timeout(Duration::from_secs(20));
    let outcome = gate.run(dir.path()).await;
    assert_eq!(outcome.failure, Some(SmokeFailure::RequestFailed { status: Some(404) }));
}

#[tokio::test]
async fn a_service_that_never_becomes_healthy_is_classified_and_killed() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    // Writes its pid, then sleeps without ever listening.
    let script = format!("echo $$ > {}; exec sleep 60", pid_file.display());
    let gate = SmokeGate::new(exec(), "sh", ["-c", script.as_str()], Health::Url("/health".into()))
        .with_startup_timeout(Duration::from_millis(800));
    let outcome = gate.run(dir.path()).await;
    assert!(
        matches!(outcome.failure, Some(SmokeFailure::NeverHealthy { waited_ms }) if waited_ms >= 800),
        "{outcome:?}"
    );
    let pid = std::fs::read_to_string(&pid_file).unwrap().trim().to_owned();
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "the service (pid {pid}) was left running");
}

#[tokio::test]
async fn a_taken_port_is_a_port_conflict() {
    let dir = site();
    let holder = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = holder.local_addr().unwrap().port();
    let gate = SmokeGate::new(
        exec(),
        "python3",
        ["-m", "http.server", "{port}", "--bind", "127.0.0.1"],
        Health::Url("/".into()),
    )
    .with_port(port)
    .with_startup_timeout(Duration::from_secs(20));
    let outcome = gate.run(dir.path()).await;
    assert_eq!(outcome.failure, Some(SmokeFailure::PortConflict { port }));
}

#[tokio::test]
async fn a_crash_at_startup_reports_its_exit_code_and_last_output() {
    let dir = tempfile::tempdir().unwrap();
    let gate = SmokeGate::new(
        exec(),
        "sh",
        ["-c", "echo loading config >&2; echo 'config.toml: missing key db_url' >&2; exit 3"],
        Health::Line("listening".into()),
    );
    let outcome = gate.run(dir.path()).await;
    match outcome.failure {
        Some(SmokeFailure::ExitedEarly { exit_code, output_tail }) => {
            assert_eq!(exit_code, Some(3));
            assert!(output_tail.contains("missing key db_url"), "{output_tail}");
        }
        other => panic!("expected ExitedEarly, got {other:?}"),
    }
}

#[tokio::test]
async fn a_ready_line_counts_as_healthy_and_the_port_reaches_the_service() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("port-seen");
    // $0 is the argument after the script: `{port}`, replaced by the gate.
    let script = format!("echo \"$PORT $0\" > {}; echo listening on $PORT; exec sleep 60", out.display());
    let gate = SmokeGate::new(exec(), "sh", ["-c", script.as_str(), "{port}"], Health::Line("listening on".into()));
    let outcome = gate.run(dir.path()).await;
    assert_eq!(outcome.failure, None);
    let seen = std::fs::read_to_string(&out).unwrap();
    assert_eq!(seen.trim(), format!("{0} {0}", outcome.port), "PORT is set and {{port}} replaced in arguments");
}
