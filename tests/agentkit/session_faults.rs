//! Tools mode over real repositories when things go wrong: a failure located
//! outside the workspace, invalid tool calls, a budget that runs out
//! mid-session. `ScriptedProvider` is a test double standing in for the
//! model; the repository, pytest, the tools and the snapshots are real.

use crate::support::{git, manifest};
use agentkit::agent::{MemoryJournal, Outcome, RepairConfig, RepairLoop, RepairParts, RepairReport, Task};
use agentkit::classify::{AutoClassifier, RepairContextBuilder, RepoMap};
use agentkit::core::budget::Budget;
use agentkit::core::provider::Usage;
use agentkit::oracles::default_oracle;
use agentkit::providers::{ScriptedProvider, ScriptedReply};
use agentkit::sandbox::{FileEditor, GitSnapshotter, ProcessExecutor};
use std::path::Path;
use std::sync::Arc;

const SECRET: &str = "TOP-SECRET-LINE-4711";

/// A Python project whose test fails inside a helper module that lives
/// outside the workspace (put on `sys.path` by conftest): pytest's
/// traceback names that file.
fn project_failing_outside(dir: &Path) -> std::path::PathBuf {
    let outside = dir.join("shared");
    std::fs::create_dir_all(&outside).unwrap();
    // The secret is in a comment pytest does not print, but a reader of the
    // lines around the failing one would.
    std::fs::write(outside.join("helper.py"), format!("# {SECRET}\ndef check(x):\n    assert x == 2, 'wrong'\n"))
        .unwrap();
    let work = dir.join("app");
    std::fs::create_dir_all(work.join("tests")).unwrap();
    std::fs::write(
        work.join("pyproject.toml"),
        "[project]\nname = \"app\"\nversion = \"0.1.0\"\n\n[tool.pytest.ini_options]\ntestpaths = [\"tests\"]\n",
    )
    .unwrap();
    std::fs::write(work.join("app.py"), "def value():\n    return 1\n").unwrap();
    std::fs::write(work.join(".gitignore"), "__pycache__/\n.pytest_cache/\n").unwrap();
    std::fs::write(
        work.join("tests/conftest.py"),
        format!("import sys\nsys.path.insert(0, {:?})\n", outside.display().to_string()),
    )
    .unwrap();
    std::fs::write(
        work.join("tests/test_app.py"),
        "from app import value\nfrom helper import check\n\n\ndef test_value():\n    check(value())\n",
    )
    .unwrap();
    git(&work, &["init", "-q"]);
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-qm", "app"]);
    work.canonicalize().unwrap()
}

/// The workspace manifest without the caches the test runs leave, which
/// git ignores and a restore keeps (`.pytest_cache`, `__pycache__`).
fn state(work: &Path) -> String {
    manifest(work)
        .lines()
        .filter(|l| !l.contains(".pytest_cache") && !l.contains("__pycache__"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn call(name: &str, args: serde_json::Value) -> ScriptedReply {
    ScriptedReply::call(name, args, Usage::new(1000, 40))
}

async fn run(work: &Path, replies: Vec<ScriptedReply>, config: RepairConfig) -> (RepairReport, Arc<ScriptedProvider>) {
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
    let report = RepairLoop::new(parts)
        .with_config(config)
        .with_context_renderer(Arc::new(RepairContextBuilder::new()))
        .with_repo_map(Arc::new(RepoMap::new()))
        .run(Task::new("t", work, "Make the failing test pass."))
        .await
        .unwrap();
    (report, model)
}

/// Every byte the model was sent.
fn sent(model: &ScriptedProvider) -> String {
    model.requests().iter().map(|r| serde_json::to_string(r).unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_located_outside_the_workspace_stays_a_location_and_its_file_is_never_read() {
    let dir = tempfile::tempdir().unwrap();
    let work = project_failing_outside(dir.path());
    let outside_file = dir.path().canonicalize().unwrap().join("shared/helper.py");
    let replies = vec![
        call("run_tests", serde_json::json!({})),
        // The model asks for the file the traceback names: refused.
        call("read_file", serde_json::json!({ "path": outside_file.to_str().unwrap() })),
        call("read_file", serde_json::json!({ "path": "../shared/helper.py" })),
        call("search", serde_json::json!({ "pattern": "TOP-SECRET", "path": ".." })),
        call("edit_file", serde_json::json!({ "path": "app.py", "old": "return 1", "new": "return 2" })),
        call("finish", serde_json::json!({ "summary": "value returns 2." })),
    ];
    let (report, model) = run(&work, replies, RepairConfig::default()).await;
    assert_eq!(report.outcome, Outcome::Accepted, "{report:#?}");
    // The failure is located in the outside file (a location, kept)...
    let located = report
        .baseline
        .failures
        .iter()
        .any(|f| f.file.as_ref().is_some_and(|p| p.to_string_lossy().ends_with("shared/helper.py")));
    assert!(located, "{:#?}", report.baseline.failures);
    // ...but what only reading the file would show never reaches the model.
    let text = sent(&model);
    assert!(text.contains("shared/helper.py"), "the location is shown");
    assert!(!text.contains(SECRET), "the outside file's content reached the model");
    let calls: Vec<_> = report.attempts[0].turns.iter().flat_map(|t| t.tool_calls.iter()).collect();
    assert!(calls[1].error.as_deref().unwrap_or_default().contains("outside the workspace"), "{:?}", calls[1]);
    assert!(calls[2].error.as_deref().unwrap_or_default().contains("outside the workspace"), "{:?}", calls[2]);
    assert!(!calls[3].ok, "searching outside the root is refused: {:?}", calls[3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_invalid_tool_calls_in_a_row_end_the_task_needing_a_human_with_the_tree_restored() {
    let dir = tempfile::tempdir().unwrap();
    let work = project_failing_outside(dir.path());
    std::fs::write(work.join("app.py"), "def value():\n    return 3\n").unwrap(); // uncommitted user work
    let before = state(&work);
    let replies = vec![
        call("write_file", serde_json::json!({ "path": "app.py", "content": "def value():\n    return 2\n" })),
        call("open_file", serde_json::json!({ "path": "app.py" })),
        call("read_file", serde_json::json!({ "file": "app.py" })),
        call("edit_file", serde_json::json!({ "path": "app.py" })),
    ];
    let (report, model) = run(&work, replies, RepairConfig::default()).await;
    assert_eq!(report.outcome, Outcome::NeedsHuman);
    assert_eq!(model.remaining(), 0);
    let calls: Vec<_> = report.attempts.iter().flat_map(|a| a.turns.iter()).collect();
    assert!(calls.is_empty(), "no attempt is reported: the session ended before verification");
    assert_eq!(state(&work), before, "the write of the first call was rolled back, the user's edit kept");
    let text = sent(&model);
    assert!(text.contains("unknown tool `open_file`"), "the model was told which tool is unknown");
    assert!(text.contains("file"), "and which argument was wrong");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_budget_that_runs_out_mid_session_stops_before_the_next_turn_and_restores_the_tree() {
    let dir = tempfile::tempdir().unwrap();
    let work = project_failing_outside(dir.path());
    let before = state(&work);
    let replies = vec![
        call("write_file", serde_json::json!({ "path": "app.py", "content": "def value():\n    return 5\n" })),
        call("run_tests", serde_json::json!({})),
        call("finish", serde_json::json!({ "summary": "never reached" })),
    ];
    // Each scripted turn reports 1,040 tokens: the second turn reaches the limit.
    let config = RepairConfig::default().with_budget(Budget::unlimited().with_max_tokens(2_000));
    let (report, model) = run(&work, replies, config).await;
    assert_eq!(report.outcome, Outcome::BudgetExceeded);
    assert_eq!(model.remaining(), 1, "the third turn was never asked for");
    assert!(report.budget_stop.is_some());
    assert_eq!(state(&work), before);
}
