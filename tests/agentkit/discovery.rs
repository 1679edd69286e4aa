//! Tools mode on a workspace whose test command the oracle cannot find: the
//! model looks for it with the tools, the loop runs what it names once and
//! uses it only if that run is a test run. `ScriptedProvider` is a test
//! double standing in for the model; the repository, the tools, the
//! commands and their classification are real.

use crate::support::git;
use agentkit::agent::{MemoryJournal, Outcome, RepairLoop, RepairParts, Task};
use agentkit::classify::AutoClassifier;
use agentkit::core::gate::Verdict;
use agentkit::core::provider::Usage;
use agentkit::oracles::default_oracle;
use agentkit::providers::{ScriptedProvider, ScriptedReply};
use agentkit::sandbox::{FileEditor, GitSnapshotter, ProcessExecutor};
use std::path::Path;
use std::sync::Arc;

/// A Python project with no manifest the oracle knows: only a shell script runs its tests.
fn unmarked_project() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("calc");
    std::fs::create_dir_all(work.join("checks")).unwrap();
    std::fs::write(work.join("calc.py"), "def double(n):\n    return n + n + 1\n").unwrap();
    std::fs::write(
        work.join("checks/test_calc.py"),
        "from calc import double\n\n\ndef test_double():\n    assert double(3) == 6\n",
    )
    .unwrap();
    std::fs::write(work.join("check.sh"), "#!/bin/sh\nexec python3 -m pytest -q -rA -p no:cacheprovider checks\n")
        .unwrap();
    git(&work, &["init", "-q"]);
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-qm", "calc"]);
    let work = work.canonicalize().unwrap();
    (dir, work)
}

fn call(name: &str, args: serde_json::Value) -> ScriptedReply {
    ScriptedReply::call(name, args, Usage::new(800, 40))
}

async fn run(work: &Path, replies: Vec<ScriptedReply>) -> (agentkit::agent::RepairReport, Arc<ScriptedProvider>) {
    let model = Arc::new(ScriptedProvider::new("openai:gpt-4.1-mini", replies));
    let parts = RepairParts {
        provider: model.clone(),
        oracle: Arc::new(default_oracle()),
        classifier: Arc::new(AutoClassifier::new()),
        executor: Arc::new(ProcessExecutor::new().with_default_cwd(work.to_path_buf())),
        snapshotter: Arc::new(GitSnapshotter::new()),
        editor: Arc::new(FileEditor::new()),
        journal: Arc::new(MemoryJournal::default()),
    };
    let report = RepairLoop::new(parts).run(Task::new("t", work, "Make the failing test pass.")).await.unwrap();
    (report, model)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_command_the_model_finds_is_checked_by_running_it_then_used_for_the_repair() {
    let (_dir, work) = unmarked_project();
    let replies = vec![
        // Discovery session: look, run it, name it.
        call("list_files", serde_json::json!({})),
        call("run_command", serde_json::json!({ "program": "sh", "args": ["check.sh"] })),
        call("finish", serde_json::json!({ "summary": "sh check.sh\nIt runs pytest on checks/." })),
        // Repair session.
        call("edit_file", serde_json::json!({ "path": "calc.py", "old": "n + n + 1", "new": "n + n" })),
        call("finish", serde_json::json!({ "summary": "double returns n + n." })),
    ];
    let (report, model) = run(&work, replies).await;
    assert_eq!(report.outcome, Outcome::Accepted, "{report:#?}");
    assert_eq!(report.test_command, "sh check.sh");
    // The named command's first run was read as pytest: one failing test before the fix.
    assert_eq!(report.baseline.tests.map(|t| t.failed), Some(1));
    assert_eq!(std::fs::read_to_string(work.join("calc.py")).unwrap(), "def double(n):\n    return n + n\n");
    assert_eq!(model.remaining(), 0);
    // The discovery session was offered only the looking tools.
    let tools: Vec<String> = model.requests()[0].tools.iter().map(|t| t.name.clone()).collect();
    assert_eq!(tools, ["list_files", "read_file", "search", "run_command", "finish"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_named_command_that_runs_no_tests_is_refused_and_nothing_is_changed() {
    let (_dir, work) = unmarked_project();
    let before = std::fs::read_to_string(work.join("calc.py")).unwrap();
    let replies = vec![call("finish", serde_json::json!({ "summary": "echo all good" }))];
    let (report, model) = run(&work, replies).await;
    assert_eq!(report.outcome, Outcome::NeedsHuman);
    match &report.verdict {
        Verdict::NeedsHuman { reason } => assert!(reason.contains("does not run tests"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(model.remaining(), 0, "no repair session was started");
    assert_eq!(std::fs::read_to_string(work.join("calc.py")).unwrap(), before);
}
