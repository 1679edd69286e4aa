//! CleanRoomGate on real git repositories with real pytest runs. The
//! classifier is a test double (exit code decides); agent-classify's real
//! classifiers are exercised by the facade's tests.

use crate::common::{git, init_repo, write};
use agent_core::exec::RunOutput;
use agent_core::failure::Classification;
use agent_core::gate::GateContext;
use agent_core::workspace::{DetectedCommand, Project, WorkspaceProfile};
use agent_core::{FailureClassifier, Gate};
use agent_gates::CleanRoomGate;
use agent_sandbox::ProcessExecutor;
use std::sync::Arc;

/// Valid and passing exactly when the exit code is 0 (test double).
struct ByExitCode;

impl FailureClassifier for ByExitCode {
    fn classify(&self, run: &RunOutput, _profile: &WorkspaceProfile) -> Classification {
        let mut c = Classification::default();
        c.valid_run = run.exit_code == Some(0);
        c
    }
}

fn profile(root: &std::path::Path) -> WorkspaceProfile {
    let mut p = Project::new("", &["python"], "setuptools");
    p.primary = true;
    p.setup = Some(DetectedCommand::new("python3", &["-c", "open('setup-ran','w').write('yes')"], vec![], 1.0));
    p.test = Some(DetectedCommand::new("python3", &["-m", "pytest", "-q", "-p", "no:cacheprovider"], vec![], 1.0));
    let mut profile = WorkspaceProfile::new(root);
    profile.projects.push(p);
    profile
}

/// A repository whose test reads `data.json`.
fn repo() -> tempfile::TempDir {
    let dir = init_repo();
    let root = dir.path();
    write(root, "test_data.py", b"import json, os\n\ndef test_data():\n    assert os.path.exists('setup-ran')\n    assert json.load(open('data.json'))['n'] == 3\n");
    write(root, ".gitignore", b"setup-ran\n");
    git(root, &["add", "."]);
    git(root, &["commit", "-qm", "init"]);
    dir
}

async fn check(root: &std::path::Path) -> agent_core::gate::GateReport {
    let gate = CleanRoomGate::new(Arc::new(ProcessExecutor::new()), Arc::new(ByExitCode));
    let cx = GateContext::new(root, profile(root), "goal", vec![]);
    gate.check(&cx).await.unwrap()
}

#[tokio::test]
async fn a_new_untracked_file_is_part_of_the_candidate_and_setup_runs_in_the_room() {
    let dir = repo();
    // Not committed yet, not ignored: part of the candidate state.
    write(dir.path(), "data.json", b"{\"n\": 3}");
    let report = check(dir.path()).await;
    assert!(report.passed, "{report:?}");
    assert_eq!(report.gate, "clean_room");
    assert!(!dir.path().join("setup-ran").exists(), "setup ran in the clean room, not in the workspace");
}

#[tokio::test]
async fn a_change_that_passes_only_thanks_to_an_ignored_file_fails_in_the_clean_room() {
    let dir = repo();
    write(dir.path(), "data.json", b"{\"n\": 3}");
    write(dir.path(), ".gitignore", b"setup-ran\ndata.json\n");
    std::fs::write(dir.path().join("setup-ran"), "yes").unwrap();
    // In the workspace the test passes…
    let here = std::process::Command::new("python3")
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(here.status.success(), "{}", String::from_utf8_lossy(&here.stdout));
    // …in a fresh copy it cannot.
    let report = check(dir.path()).await;
    assert!(!report.passed, "{report:?}");
    assert!(report.summary.contains("failed in a fresh copy"), "{}", report.summary);
}

#[tokio::test]
async fn a_tracked_file_deleted_in_the_candidate_is_absent_from_the_room() {
    let dir = repo();
    write(dir.path(), "data.json", b"{\"n\": 3}");
    git(dir.path(), &["add", "data.json"]);
    git(dir.path(), &["commit", "-qm", "data"]);
    assert!(check(dir.path()).await.passed);
    std::fs::remove_file(dir.path().join("data.json")).unwrap();
    assert!(!check(dir.path()).await.passed);
}
