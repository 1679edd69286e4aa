//! `ProcessExecutor` report requests: the command writes its report to a
//! fresh file outside the workspace, the executor reads it back into
//! `RunOutput::reports` and deletes it, under a sandbox too.

use agent_core::Executor;
use agent_core::exec::{CommandSpec, Enforcement, ReportFormat, ReportRequest, SandboxPolicy};
use agent_sandbox::ProcessExecutor;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A command that writes `content` to the file its last argument names
/// (`--out=PATH`), and prints noise that looks like a report.
fn writer(content: &str) -> CommandSpec {
    let script = format!("echo '{{\"testResults\": \"noise\"}}'; printf '%s' '{content}' > \"${{1#--out=}}\"");
    CommandSpec::new("sh")
        .args(["-c", &script, "writer"])
        .wall_timeout(Duration::from_secs(60))
        .report(ReportRequest::new(ReportFormat::JestJson, ["--out={report}"]))
}

fn executor(workspace: &Path, reports: &Path) -> ProcessExecutor {
    ProcessExecutor::new()
        .with_default_cwd(workspace.to_path_buf())
        .with_report_dir(reports.to_path_buf())
        .with_kill_grace(Duration::from_millis(500))
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir).map(|d| d.map(|e| e.unwrap().path()).collect()).unwrap_or_default()
}

#[tokio::test]
async fn a_report_file_is_read_into_the_run_and_deleted_outside_the_workspace() {
    let workspace = tempfile::tempdir().unwrap();
    let reports = tempfile::tempdir().unwrap();
    let spec = writer("{\"numTotalTests\":1}");
    assert_eq!(spec.display(), format!("sh -c {} writer --out={{report}}", spec.args[1]));
    let out = executor(workspace.path(), reports.path()).run(spec).await.unwrap();
    assert_eq!(out.exit_code, Some(0), "{out:?}");
    assert_eq!(out.reports.len(), 1, "{out:?}");
    assert_eq!(out.reports[0].format, ReportFormat::JestJson);
    assert_eq!(out.reports[0].content, "{\"numTotalTests\":1}");
    assert_eq!(out.report(ReportFormat::JestJson), Some("{\"numTotalTests\":1}"));
    assert!(out.reports[0].path.starts_with(reports.path()), "{:?}", out.reports[0].path);
    assert!(!out.reports[0].path.starts_with(workspace.path()));
    assert!(!out.reports[0].path.exists(), "the report file is deleted after the run");
    assert!(files_in(reports.path()).is_empty(), "{:?}", files_in(reports.path()));
    assert!(files_in(workspace.path()).is_empty(), "nothing is written in the workspace");
    // The command line shows the placeholder, so two runs of one spec compare equal.
    assert!(out.command.ends_with("--out={report}"), "{}", out.command);
    assert_eq!(out.stdout.head, "{\"testResults\": \"noise\"}\n");
}

#[tokio::test]
async fn a_command_that_writes_no_report_has_none_and_leaves_no_file() {
    let workspace = tempfile::tempdir().unwrap();
    let reports = tempfile::tempdir().unwrap();
    let spec = CommandSpec::new("sh")
        .args(["-c", "echo text only", "ignores"])
        .wall_timeout(Duration::from_secs(60))
        .report(ReportRequest::new(ReportFormat::VitestJson, ["--outputFile.json={report}"]));
    let out = executor(workspace.path(), reports.path()).run(spec).await.unwrap();
    assert_eq!(out.exit_code, Some(0));
    assert!(out.reports.is_empty(), "{:?}", out.reports);
    assert!(files_in(reports.path()).is_empty(), "{:?}", files_in(reports.path()));
}

#[tokio::test]
async fn report_files_are_deleted_when_the_run_times_out() {
    let workspace = tempfile::tempdir().unwrap();
    let reports = tempfile::tempdir().unwrap();
    let spec = CommandSpec::new("sh")
        .args(["-c", "printf partial > \"${1#--out=}\"; sleep 30", "slow"])
        .wall_timeout(Duration::from_millis(300))
        .report(ReportRequest::new(ReportFormat::JestJson, ["--out={report}"]));
    let out = executor(workspace.path(), reports.path()).run(spec).await.unwrap();
    assert!(out.timed_out.is_some());
    assert!(files_in(reports.path()).is_empty(), "{:?}", files_in(reports.path()));
}

#[tokio::test]
async fn a_sandboxed_command_may_write_its_report_and_nothing_else_outside() {
    if !agent_sandbox::landlock_supported() {
        // The policy is best effort here: the report is written either way.
        eprintln!("landlock unsupported: the report is checked without confinement");
    }
    let workspace = tempfile::tempdir().unwrap();
    let reports = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    let exec = executor(workspace.path(), reports.path()).with_sandbox_temp_dir(None);
    let spec = writer("{\"ok\":true}").sandbox(SandboxPolicy::WorkspaceWrite { enforcement: Enforcement::BestEffort });
    let out = exec.run(spec).await.unwrap();
    assert_eq!(out.exit_code, Some(0), "{out:?}");
    assert_eq!(out.report(ReportFormat::JestJson), Some("{\"ok\":true}"));
    if agent_sandbox::landlock_supported() {
        assert!(out.sandbox.enforced, "{:?}", out.sandbox);
        // Another file of the report directory stays out of reach.
        let stray = reports.path().join("stray.json");
        let script = format!("echo x > '{}'", stray.display());
        let spec = CommandSpec::new("sh")
            .args(["-c", &script])
            .sandbox(SandboxPolicy::WorkspaceWrite { enforcement: Enforcement::Required });
        let denied = exec.run(spec).await.unwrap();
        assert_ne!(denied.exit_code, Some(0));
        assert!(!stray.exists());
    }
    assert!(files_in(other.path()).is_empty());
    assert!(files_in(reports.path()).is_empty(), "{:?}", files_in(reports.path()));
}
