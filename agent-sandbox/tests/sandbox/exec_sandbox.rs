//! `ProcessExecutor` sandbox policies against the real kernel: Landlock
//! workspace-write and no-network, with the refusal branch where the kernel
//! cannot enforce them.

use agent_core::Executor;
use agent_core::exec::{CommandSpec, Enforcement, ExecError, SandboxPolicy};
use agent_sandbox::{LandlockSupport, NetworkIsolation, ProcessExecutor};
use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

fn scratch_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// An executor whose sandbox temp dir is `logs` (not the host's whole
/// `$TMPDIR`, where the tests' other directories live).
fn executor(workspace: &Path, logs: &Path) -> ProcessExecutor {
    ProcessExecutor::new()
        .with_log_dir(logs.to_path_buf())
        .with_default_cwd(workspace.to_path_buf())
        .with_sandbox_temp_dir(Some(logs.to_path_buf()))
        .with_kill_grace(Duration::from_millis(500))
}

fn sh(script: &str) -> CommandSpec {
    CommandSpec::new("sh").args(["-c", script]).wall_timeout(Duration::from_secs(60))
}

fn workspace_write(enforcement: Enforcement) -> SandboxPolicy {
    SandboxPolicy::WorkspaceWrite { enforcement }
}

fn no_network(enforcement: Enforcement) -> SandboxPolicy {
    SandboxPolicy::NoNetwork { enforcement }
}

#[tokio::test]
async fn workspace_write_denies_a_write_outside_the_workspace_and_allows_one_inside() {
    let workspace = scratch_dir();
    let outside = scratch_dir();
    let logs = tempfile::tempdir().unwrap();
    let inside_file = workspace.path().join("inside.txt");
    let outside_file = outside.path().join("outside.txt");
    let script = format!(
        "echo in > '{}' && echo ok-inside; echo out > '{}' && echo ok-outside",
        inside_file.display(),
        outside_file.display()
    );
    let spec = sh(&script).sandbox(workspace_write(Enforcement::Required));
    let result = executor(workspace.path(), logs.path()).run(spec).await;

    if agent_sandbox::landlock_supported() {
        let out = result.unwrap();
        assert!(out.sandbox.enforced);
        assert!(out.sandbox.detail.as_deref().unwrap_or_default().contains("landlock"), "{:?}", out.sandbox);
        assert_eq!(std::fs::read_to_string(&inside_file).unwrap(), "in\n", "a write inside is allowed");
        assert!(!outside_file.exists(), "the write outside the workspace went through");
        assert_eq!(out.stdout.head, "ok-inside\n");
        assert_ne!(out.exit_code, Some(0), "the shell reports the failed redirection");
        let denial = out.sandbox.denial_suspected.clone().unwrap_or_default();
        assert!(
            denial.contains("Permission denied"),
            "denial not told apart: {:?} / {}",
            out.sandbox,
            out.stderr.text()
        );
    } else {
        let err = result.unwrap_err();
        assert!(matches!(err, ExecError::SandboxUnavailable { .. }), "{err:?}");
        assert!(!inside_file.exists() && !outside_file.exists(), "nothing may run when refused");
    }
}

#[tokio::test]
async fn workspace_write_lets_reads_happen_anywhere_and_writes_in_the_private_tmpdir_only() {
    let workspace = scratch_dir();
    let outside = scratch_dir();
    let logs = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("data"), "readable\n").unwrap();
    // The host's own file in the sandbox temp dir (a log, a store) is not
    // the command's to write: only its private TMPDIR beneath it is.
    let host_file = tempfile::NamedTempFile::new_in(logs.path()).unwrap();
    let script = format!(
        "cat '{}' && echo t > \"$TMPDIR/t\" && echo x > /dev/null && cat \"$TMPDIR/t\" && echo \"$TMPDIR\"; \
         echo planted > '{}' || echo denied",
        outside.path().join("data").display(),
        host_file.path().display()
    );
    let out = executor(workspace.path(), logs.path())
        .run(sh(&script).sandbox(workspace_write(Enforcement::BestEffort)))
        .await
        .unwrap();
    let lines: Vec<&str> = out.stdout.head.lines().collect();
    assert_eq!(lines[..2], ["readable", "t"], "{}", out.stderr.text());
    let tmpdir = std::path::Path::new(lines[2]);
    assert!(tmpdir.starts_with(logs.path()) && tmpdir != logs.path(), "TMPDIR {tmpdir:?} is not private");
    if agent_sandbox::landlock_supported() {
        assert_eq!(lines[3], "denied");
        assert_eq!(std::fs::read_to_string(host_file.path()).unwrap(), "", "the host's file was written");
    }
}

#[tokio::test]
async fn an_ordinary_failure_under_a_sandbox_is_not_taken_for_a_denial() {
    let workspace = scratch_dir();
    let logs = tempfile::tempdir().unwrap();
    let out = executor(workspace.path(), logs.path())
        .run(sh("echo 'assertion failed: 1 == 2' >&2; exit 101").sandbox(workspace_write(Enforcement::BestEffort)))
        .await
        .unwrap();
    assert_eq!(out.exit_code, Some(101));
    assert_eq!(out.sandbox.denial_suspected, None);
}

#[tokio::test]
async fn a_permission_error_without_a_sandbox_is_not_taken_for_a_denial() {
    let workspace = scratch_dir();
    let logs = tempfile::tempdir().unwrap();
    let out =
        executor(workspace.path(), logs.path()).run(sh("echo 'cat: x: Permission denied' >&2; exit 1")).await.unwrap();
    assert_eq!(out.sandbox.denial_suspected, None, "no sandbox, so no sandbox denial");
}

/// A command that opens a TCP connection to `port` on 127.0.0.1 and says
/// whether it could: python3 when present, otherwise bash's `/dev/tcp`.
fn connect_script(port: u16) -> String {
    format!(
        "if command -v python3 >/dev/null; then \
           python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", {port}), timeout=5); print(\"connected\")'; \
         else bash -c 'exec 3<>/dev/tcp/127.0.0.1/{port} && echo connected'; fi"
    )
}

#[tokio::test]
async fn no_network_denies_an_outbound_connect_that_succeeds_without_the_policy() {
    let workspace = scratch_dir();
    let logs = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let exec = executor(workspace.path(), logs.path());

    let free = exec.run(sh(&connect_script(port))).await.unwrap();
    assert_eq!(free.exit_code, Some(0), "without the policy the connect works: {}", free.stderr.text());
    assert_eq!(free.stdout.head, "connected\n");

    let result = exec.run(sh(&connect_script(port)).sandbox(no_network(Enforcement::Required))).await;
    match agent_sandbox::network_isolation() {
        NetworkIsolation::None => {
            let err = result.unwrap_err();
            assert!(matches!(err, ExecError::SandboxUnavailable { .. }), "{err:?}");
        }
        mechanism => {
            let out = result.unwrap();
            assert!(out.sandbox.enforced);
            assert_ne!(out.exit_code, Some(0), "the connect went through under no-network");
            assert!(!out.stdout.head.contains("connected"));
            let detail = out.sandbox.detail.clone().unwrap_or_default();
            let expected = if mechanism == NetworkIsolation::Namespace { "namespace" } else { "seccomp" };
            assert!(detail.contains(expected), "{detail}");
            assert!(out.sandbox.denial_suspected.is_some(), "denial not told apart: {}", out.stderr.text());
        }
    }
}

#[tokio::test]
async fn the_seccomp_fallback_denies_an_inet_socket_where_seccomp_works() {
    let workspace = scratch_dir();
    let logs = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let exec = executor(workspace.path(), logs.path()).with_network_isolation(NetworkIsolation::Seccomp);
    let result = exec.run(sh(&connect_script(port)).sandbox(no_network(Enforcement::Required))).await;
    if agent_sandbox::seccomp_supported() {
        let out = result.unwrap();
        assert!(out.sandbox.enforced);
        assert!(out.sandbox.detail.as_deref().unwrap_or_default().contains("seccomp"), "{:?}", out.sandbox);
        assert_ne!(out.exit_code, Some(0), "the connect went through under the seccomp filter");
        assert!(!out.stdout.head.contains("connected"));
        let denial = out.sandbox.denial_suspected.clone().unwrap_or_default();
        assert!(denial.contains("Operation not permitted"), "{denial:?}: {}", out.stderr.text());
    } else {
        let err = result.unwrap_err();
        assert!(matches!(err, ExecError::SandboxUnavailable { .. }), "{err:?}");
    }
}

#[tokio::test]
async fn no_network_still_allows_unix_sockets_and_local_work() {
    let workspace = scratch_dir();
    let logs = tempfile::tempdir().unwrap();
    let script = "if command -v python3 >/dev/null; then \
        python3 -c 'import socket; a, b = socket.socketpair(); a.send(b\"x\"); print(b.recv(1).decode())'; \
        else echo x; fi";
    for mechanism in [NetworkIsolation::Namespace, NetworkIsolation::Seccomp] {
        let out = executor(workspace.path(), logs.path())
            .with_network_isolation(mechanism)
            .run(sh(script).sandbox(no_network(Enforcement::BestEffort)))
            .await
            .unwrap();
        assert_eq!(out.exit_code, Some(0), "{mechanism:?}: {}", out.stderr.text());
        assert_eq!(out.stdout.head, "x\n");
    }
}

#[test]
fn the_probes_agree_with_each_other() {
    // Full Landlock support is what `landlock_supported` reports.
    assert_eq!(agent_sandbox::landlock_supported(), agent_sandbox::landlock_support() == LandlockSupport::Full);
    // The seccomp fallback is only chosen when seccomp works.
    if agent_sandbox::network_isolation() == NetworkIsolation::Seccomp {
        assert!(agent_sandbox::seccomp_supported());
    }
}

#[tokio::test]
async fn a_command_confined_to_the_workspace_gets_toolchain_caches_it_may_write_and_a_spec_may_override_them() {
    let workspace = scratch_dir();
    let logs = tempfile::tempdir().unwrap();
    let exec = executor(workspace.path(), logs.path());
    let script = "echo \"$GOCACHE|$XDG_CACHE_HOME|$PIP_CACHE_DIR\"; mkdir -p \"$GOCACHE\" && echo x > \"$GOCACHE/probe\" && echo wrote";
    let confined = sh(script).sandbox(SandboxPolicy::WorkspaceWriteNoNetwork { enforcement: Enforcement::BestEffort });
    let out = exec.run(confined).await.unwrap();
    let cache = logs.path().join("agentkit-sandbox-cache");
    let line = out.stdout.head.lines().next().unwrap().to_owned();
    assert_eq!(
        line,
        format!("{}|{}|{}", cache.join("go-build").display(), cache.display(), cache.join("pip").display())
    );
    assert!(out.stdout.head.contains("wrote"), "the redirected cache is writable: {:?}", out.stderr.head);
    assert!(cache.join("go-build/probe").exists());

    let own = sh("echo \"$GOCACHE\"")
        .env(agent_core::exec::EnvPolicy::default().set("GOCACHE", "/elsewhere"))
        .sandbox(SandboxPolicy::WorkspaceWrite { enforcement: Enforcement::BestEffort });
    assert_eq!(exec.run(own).await.unwrap().stdout.head, "/elsewhere\n");

    // Unconfined commands keep the host's caches untouched.
    let free = sh("echo \"${GOCACHE:-unset}\"").env(agent_core::exec::EnvPolicy::default());
    let host = std::env::var("GOCACHE").unwrap_or_else(|_| "unset".into());
    assert_eq!(exec.run(free).await.unwrap().stdout.head, format!("{host}\n"));
}
