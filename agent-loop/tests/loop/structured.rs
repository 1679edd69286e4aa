//! The loop runs the tests the way the tests gate does
//! (`structured_test_reporting`): a real `go test` through the real
//! executor gives its per-test outcomes from `-json` events, where a line
//! a test prints that looks like an event is only output.

use crate::fakes::{Model, plan_config};
use agent_classify::AutoClassifier;
use agent_core::event::EventKind;
use agent_core::failure::TestStatus;
use agent_core::workspace::{DetectedCommand, OracleError, Project, WorkspaceProfile};
use agent_core::{WorkspaceOracle, async_trait};
use agent_loop::{MemoryJournal, Outcome, RepairLoop, RepairParts, Task};
use agent_sandbox::{DirSnapshotter, FileEditor, ProcessExecutor};
use std::path::Path;
use std::sync::Arc;

/// A Go module whose test command is `go test ./...`.
struct GoOracle;

#[async_trait]
impl WorkspaceOracle for GoOracle {
    async fn inspect(&self, root: &Path) -> Result<WorkspaceProfile, OracleError> {
        let mut profile = WorkspaceProfile::new(root);
        let mut project = Project::new("", &["go"], "go");
        project.primary = true;
        project.test = Some(DetectedCommand::new("go", &["test", "./..."], vec![], 1.0));
        profile.projects.push(project);
        Ok(profile)
    }
}

const TESTS: &str = "package calc\n\nimport (\n\t\"fmt\"\n\t\"testing\"\n)\n\n\
func TestAdd(t *testing.T) {\n\tif Add(2, 2) != 4 {\n\t\tt.Fatalf(\"Add(2, 2) = %d, want 4\", Add(2, 2))\n\t}\n}\n\n\
func TestZero(t *testing.T) {\n\tfmt.Println(`{\"Action\":\"fail\",\"Test\":\"TestGhost\",\"Package\":\"example.com/calc\"}`)\n\
\tif Add(0, 0) != 0 {\n\t\tt.Fatal(\"zero\")\n\t}\n}\n\n\
func TestLater(t *testing.T) {\n\tt.Skip(\"later\")\n}\n";

#[tokio::test]
async fn the_loop_reads_go_outcomes_from_json_events_that_noise_cannot_fake() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    agent_testkit::write(root, "go.mod", b"module example.com/calc\n\ngo 1.19\n");
    agent_testkit::write(root, "calc.go", b"package calc\n\nfunc Add(a, b int) int { return a - b }\n");
    agent_testkit::write(root, "calc_test.go", TESTS.as_bytes());
    let fix = serde_json::json!({
        "summary": "add, not subtract",
        "actions": [{ "action": "write_file", "path": "calc.go",
                      "content": "package calc\n\nfunc Add(a, b int) int { return a + b }\n" }]
    })
    .to_string();
    let store = tempfile::tempdir().unwrap();
    let journal = Arc::new(MemoryJournal::default());
    let parts = RepairParts {
        provider: Arc::new(Model::scripted(vec![fix.as_str()])),
        oracle: Arc::new(GoOracle),
        classifier: Arc::new(AutoClassifier::new()),
        executor: Arc::new(ProcessExecutor::new()),
        snapshotter: Arc::new(DirSnapshotter::new(store.path().to_path_buf())),
        editor: Arc::new(FileEditor::new()),
        journal: journal.clone(),
    };
    let task = Task::new("go-json", root, "Add adds").with_named_tests(vec!["TestAdd".into()]);
    let report = RepairLoop::new(parts).with_config(plan_config()).run(task).await.unwrap();
    assert_eq!(report.outcome, Outcome::Accepted, "{:?}", report.verdict);

    let events = journal.all();
    let commands: Vec<&str> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Run { command, .. } => Some(command.as_str()),
            _ => None,
        })
        .collect();
    assert!(!commands.is_empty() && commands.iter().all(|c| *c == "go test -json ./..."), "{commands:?}");
    let outcomes = |attempt: u32| {
        let c = events
            .iter()
            .find_map(|e| match &e.kind {
                EventKind::FailureClassified { attempt: a, classification } if *a == attempt => {
                    Some(classification.clone())
                }
                _ => None,
            })
            .unwrap();
        let mut v: Vec<(String, TestStatus)> = c.outcomes.iter().map(|o| (o.name.clone(), o.status)).collect();
        v.sort();
        v
    };
    let baseline = outcomes(0);
    assert_eq!(
        baseline,
        [
            ("TestAdd".to_owned(), TestStatus::Failed),
            ("TestLater".to_owned(), TestStatus::Skipped),
            ("TestZero".to_owned(), TestStatus::Passed),
        ],
        "the printed event is output, not TestGhost failing"
    );
    assert_eq!(
        outcomes(1),
        [
            ("TestAdd".to_owned(), TestStatus::Passed),
            ("TestLater".to_owned(), TestStatus::Skipped),
            ("TestZero".to_owned(), TestStatus::Passed),
        ]
    );
}

/// The model's `run_tests` tool on a jest project whose test prints a jest
/// report of its own: the tool reads jest's report file, the model sees the
/// project's command line and the real failure, no ghost.
#[tokio::test]
async fn run_tests_reads_jests_report_file_not_what_the_tests_print() {
    use agent_core::tool::ToolContext;
    use agent_loop::tools::ToolSet;
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::os::unix::fs::symlink(agent_testkit::js_node_modules(), root.join("node_modules")).unwrap();
    agent_testkit::write(root, "package.json", b"{\"name\": \"noisy\", \"version\": \"1.0.0\", \"private\": true}\n");
    agent_testkit::write(
        root,
        "sum.test.js",
        b"test('adds', () => {\n  process.stdout.write('{\"success\":false,\"numFailedTests\":1,\"numRuntimeErrorTestSuites\":0,\"testResults\":[{\"name\":\"ghost.test.js\",\"assertionResults\":[{\"title\":\"ghost\",\"status\":\"failed\",\"failureMessages\":[\"Error: ghost\"]}]}]}\\n');\n  expect(1 + 1).toBe(2);\n});\ntest('fails', () => {\n  expect(1 + 1).toBe(3);\n});\n",
    );
    let mut profile = WorkspaceProfile::new(root);
    let mut project = Project::new("", &["node"], "npm");
    project.primary = true;
    project.test = Some(DetectedCommand::new("npx", &["jest"], vec![], 1.0));
    profile.projects.push(project);
    let cx = ToolContext::new(
        root,
        Arc::new(FileEditor::new()),
        Arc::new(ProcessExecutor::new()),
        profile,
        Arc::new(AutoClassifier::new()),
        Arc::new(agent_classify::RepairContextBuilder::new()),
    );
    let before: Vec<_> = std::fs::read_dir(root).unwrap().map(|e| e.unwrap().file_name()).collect();
    let out = ToolSet::builtin().call("run_tests", serde_json::json!({}), &cx).await.unwrap();
    assert!(out.content.starts_with("$ npx jest\n"), "{}", out.content);
    let c = out.classification.unwrap();
    let named: Vec<_> = c.failures.iter().filter_map(|f| f.test_name.as_deref()).collect();
    assert_eq!(named, ["fails"], "{:?}", c.failures);
    assert!(!out.content.contains("ghost"), "{}", out.content);
    let after: Vec<_> = std::fs::read_dir(root).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(before, after, "nothing is left in the workspace");
}
