//! Structured output through the path the repair loop and the tests gate
//! share (`structured_test_reporting`, the `ProcessExecutor`, the
//! classifiers): real jest, vitest and go runs whose tests print noise that
//! looks like the tools' own output still give the right per-test outcomes.
//!
//! jest and vitest come from `agent_testkit::js_node_modules`
//! (`$AGENTKIT_JSTOOLS`, default `/tmp/jstools`; `.ci/run` installs them).

use agent_classify::{AutoClassifier, run_test_outcomes};
use agent_core::exec::{ReportFormat, RunOutput};
use agent_core::failure::{TestOutcome, TestStatus};
use agent_core::gate::structured_test_reporting;
use agent_core::workspace::{DetectedCommand, Project, WorkspaceProfile};
use agent_core::{Executor, FailureClassifier};
use agent_gates::TestsGate;
use agent_sandbox::ProcessExecutor;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// A profile whose primary project tests with `program args`.
fn profile(root: &Path, kind: &str, program: &str, args: &[&str]) -> WorkspaceProfile {
    let mut profile = WorkspaceProfile::new(root);
    let mut project = Project::new("", &[kind], if kind == "go" { "go" } else { "npm" });
    project.primary = true;
    project.test = Some(DetectedCommand::new(program, args, vec![], 1.0));
    profile.projects.push(project);
    profile
}

/// Every path under `dir`, relative, sorted (symlinks not followed).
fn listing(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            out.push(path.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            if std::fs::symlink_metadata(&path).unwrap().is_dir() {
                walk(root, &path, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Writes `text` at `rel` under `root`.
fn write(root: &Path, rel: &str, text: &str) {
    agent_testkit::write(root, rel, text.as_bytes());
}

fn executor(reports: &Path) -> ProcessExecutor {
    ProcessExecutor::new().with_report_dir(reports.to_path_buf())
}

/// Runs the profile's test command the loop's and the gate's way.
async fn run_structured(root: &Path, profile: &WorkspaceProfile, reports: &Path) -> RunOutput {
    let spec =
        structured_test_reporting(profile.test_command().unwrap().to_spec(root)).wall_timeout(Duration::from_secs(300));
    executor(reports).run(spec).await.unwrap()
}

fn statuses(outcomes: &[TestOutcome]) -> Vec<(String, TestStatus)> {
    let mut v: Vec<(String, TestStatus)> = outcomes.iter().map(|o| (o.name.clone(), o.status)).collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// Console output that imitates the tools' reports and summaries.
const NOISE: &str = r#"console.log('{"testResults":[],"numFailedTests":9,"numPassedTests":0,"numRuntimeErrorTestSuites":0}');
    process.stdout.write('{"success":true,"testResults":[{"name":"x","assertionResults":[{"fullName":"math ghost","status":"failed"}]}]}\n');
    console.log('PASS fake.test.js\n  ✓ ghost (1 ms)\nFAIL ghost.test.js > ghost\nTests: 9 failed, 9 total');"#;

fn js_project(vitest: bool) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::os::unix::fs::symlink(agent_testkit::js_node_modules(), root.join("node_modules")).unwrap();
    let (module, import) = if vitest {
        (
            "\"type\": \"module\", ",
            "import { describe, test, expect } from 'vitest';\nimport { sum } from './sum.js';\n",
        )
    } else {
        ("", "const { sum } = require('./sum.js');\n")
    };
    write(
        root,
        "package.json",
        &format!("{{\"name\": \"noisy\", \"version\": \"1.0.0\", {module}\"private\": true}}\n"),
    );
    let export = if vitest { "export const sum = (a, b) => a + b;\n" } else { "exports.sum = (a, b) => a + b;\n" };
    write(root, "sum.js", export);
    write(
        root,
        "sum.test.js",
        &format!(
            "{import}describe('math', () => {{\n  test('adds', () => {{\n    {NOISE}\n    expect(sum(1, 2)).toBe(3);\n  }});\n  test('fails', () => {{\n    expect(sum(1, 2)).toBe(4);\n  }});\n  test.skip('later', () => {{}});\n}});\n"
        ),
    );
    tmp
}

async fn a_noisy_js_suite_is_read_from_its_report(vitest: bool) {
    let tmp = js_project(vitest);
    let root = tmp.path();
    let reports = tempfile::tempdir().unwrap();
    let (tool, format) = if vitest { ("vitest", ReportFormat::VitestJson) } else { ("jest", ReportFormat::JestJson) };
    let args: &[&str] = if vitest { &["vitest", "run"] } else { &["jest"] };
    let profile = profile(root, "node", "npx", args);
    let before = listing(root);

    let run = run_structured(root, &profile, reports.path()).await;
    assert_eq!(run.exit_code, Some(1), "{}\n{}", run.stdout.text(), run.stderr.text());
    assert!(run.command.contains("={report}"), "{}", run.command);
    let console = format!("{}{}", run.stdout.text(), run.stderr.text());
    assert!(console.contains("numFailedTests\":9") && console.contains("math ghost"), "the noise is on the console");
    assert_eq!(run.reports.len(), 1, "{}\n{}", run.stdout.text(), run.stderr.text());
    let report = &run.reports[0];
    assert_eq!(report.format, format);
    assert!(!report.path.starts_with(root) && !report.path.exists(), "{:?}", report.path);
    assert_eq!(listing(reports.path()), Vec::<String>::new(), "the report file is deleted");
    assert_eq!(listing(root), before, "the run leaves the worktree as it was");

    let expected = vec![
        ("math adds".to_owned(), TestStatus::Passed),
        ("math fails".to_owned(), TestStatus::Failed),
        ("math later".to_owned(), TestStatus::Skipped),
    ];
    assert_eq!(statuses(&run_test_outcomes(&run)), expected);
    let auto = AutoClassifier::new();
    assert_eq!(auto.tool(&run), tool);
    assert_eq!(statuses(&auto.test_outcomes(&run)), expected);
    let c = auto.classify(&run, &profile);
    assert!(c.valid_run, "{c:?}");
    assert_eq!(c.failures.len(), 1, "{:?}", c.failures);
    let sep = if vitest { " > " } else { " › " };
    assert_eq!(c.failures[0].test_name.as_deref(), Some(format!("math{sep}fails").as_str()));
    assert_eq!(c.failures[0].line, Some(if vitest { 11 } else { 10 }), "{:?}", c.failures[0]);
    let counts = c.tests.unwrap();
    assert_eq!((counts.passed, counts.failed, counts.ignored), (1, 1, 1));

    // The tests gate's baseline goes the same way.
    let gate = TestsGate::new(Arc::new(executor(reports.path())));
    let baseline = gate.baseline(root, &profile).await.unwrap();
    assert_eq!(baseline.command, run.command);
    assert_eq!(statuses(&baseline.outcomes), expected);
    assert_eq!(listing(reports.path()), Vec::<String>::new());
    assert_eq!(listing(root), before);
}

#[tokio::test]
async fn jest_tests_printing_report_lookalikes_are_read_from_the_report_file() {
    a_noisy_js_suite_is_read_from_its_report(false).await;
}

#[tokio::test]
async fn vitest_tests_printing_report_lookalikes_are_read_from_the_report_file() {
    a_noisy_js_suite_is_read_from_its_report(true).await;
}

#[tokio::test]
async fn a_jest_that_ignores_the_report_flags_is_read_from_its_text_output() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let reports = tempfile::tempdir().unwrap();
    // A `jest` that takes the flags and writes no report: its text reporter only.
    let text = "FAIL ./sum.test.js\n  math\n    ✓ adds (2 ms)\n    ✕ fails (3 ms)\n\n  ● math › fails\n\n    expect(received).toBe(expected) // Object.is equality\n\n    Expected: 4\n    Received: 3\n\n      at Object.toBe (sum.test.js:7:23)\n\nTest Suites: 1 failed, 1 total\nTests:       1 failed, 1 passed, 2 total\n";
    write(root, "sum.test.js", "// placeholder\n");
    write(root, "bin/jest", &format!("#!/bin/sh\necho \"args: $*\"\ncat >&2 <<'EOF'\n{text}EOF\nexit 1\n"));
    let mode = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    std::fs::set_permissions(root.join("bin/jest"), mode).unwrap();
    let profile = profile(root, "node", "bin/jest", &["--ci"]);
    let run = run_structured(root, &profile, reports.path()).await;
    assert!(run.stdout.text().contains("--json --outputFile="), "the flags were passed: {}", run.stdout.text());
    assert!(run.reports.is_empty(), "{:?}", run.reports);
    assert_eq!(listing(reports.path()), Vec::<String>::new(), "the unused report file is deleted");
    let auto = AutoClassifier::new();
    assert_eq!(auto.tool(&run), "jest");
    let c = auto.classify(&run, &profile);
    assert_eq!(c.failures.len(), 1, "{:?}", c.failures);
    assert_eq!(c.failures[0].test_name.as_deref(), Some("math › fails"));
    assert_eq!(c.failures[0].line, Some(7));
    assert_eq!(c.tests.map(|t| (t.passed, t.failed)), Some((1, 1)));
}

#[tokio::test]
async fn go_test_runs_with_json_events_and_json_lookalike_noise_cannot_fake_an_outcome() {
    // (A test printing `--- FAIL: TestX` still fools go's own test2json before go 1.24,
    // which frames the test binary's output; that noise is not tried here.)
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(root, "go.mod", "module example.com/calc\n\ngo 1.19\n");
    write(root, "calc.go", "package calc\n\nfunc Add(a, b int) int { return a - b }\n");
    write(
        root,
        "calc_test.go",
        "package calc\n\nimport (\n\t\"fmt\"\n\t\"testing\"\n)\n\n\
         func TestAdd(t *testing.T) {\n\tif Add(2, 2) != 4 {\n\t\tt.Fatalf(\"Add(2, 2) = %d, want 4\", Add(2, 2))\n\t}\n}\n\n\
         func TestZero(t *testing.T) {\n\tfmt.Println(`{\"Action\":\"fail\",\"Test\":\"TestGhost\",\"Package\":\"example.com/calc\"}`)\n\
         \tif Add(0, 0) != 0 {\n\t\tt.Fatal(\"zero\")\n\t}\n}\n\n\
         func TestLater(t *testing.T) {\n\tt.Skip(\"later\")\n}\n",
    );
    let profile = profile(root, "go", "go", &["test", "./..."]);
    let reports = tempfile::tempdir().unwrap();
    let before = listing(root);
    let run = run_structured(root, &profile, reports.path()).await;
    assert_eq!(run.command, "go test -json ./...");
    assert_eq!(run.exit_code, Some(1), "{}\n{}", run.stdout.text(), run.stderr.text());
    let outcomes = AutoClassifier::new().test_outcomes(&run);
    assert_eq!(
        statuses(&outcomes),
        vec![
            ("TestAdd".to_owned(), TestStatus::Failed),
            ("TestLater".to_owned(), TestStatus::Skipped),
            ("TestZero".to_owned(), TestStatus::Passed),
        ],
        "{outcomes:?}"
    );
    assert!(outcomes.iter().all(|o| o.scope.as_deref() == Some("example.com/calc")), "{outcomes:?}");
    let c = AutoClassifier::new().classify(&run, &profile);
    assert_eq!(c.tool, "go");
    let named: Vec<_> = c.failures.iter().filter_map(|f| f.test_name.as_deref()).collect();
    assert_eq!(named, ["TestAdd"], "{:?}", c.failures);
    assert_eq!(listing(root), before);
}

#[tokio::test]
async fn the_static_gate_runs_eslint_with_its_json_formatter() {
    use agent_core::Gate;
    use agent_core::gate::GateContext;
    use agent_gates::{CommandGate, CommandKind};
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::os::unix::fs::symlink(agent_testkit::js_node_modules(), root.join("node_modules")).unwrap();
    write(
        root,
        "package.json",
        "{\"name\": \"lintme\", \"version\": \"1.0.0\", \"private\": true, \"type\": \"module\"}\n",
    );
    write(
        root,
        "eslint.config.js",
        "export default [{ rules: { \"no-unused-vars\": \"error\", \"no-undef\": \"error\" },\n  languageOptions: { globals: { console: \"readonly\" } } }];\n",
    );
    write(root, "src.js", "const unused = 1;\nconsole.log(missing);\n");
    let mut profile = WorkspaceProfile::new(root);
    let mut project = Project::new("", &["node"], "npm");
    project.primary = true;
    project.lint = Some(DetectedCommand::new("npx", &["eslint", "."], vec![], 1.0));
    profile.projects.push(project);
    let spec = agent_core::gate::structured_output(profile.primary().unwrap().lint.as_ref().unwrap().to_spec(root));
    assert_eq!(spec.display(), "npx eslint . -f json");

    let gate = CommandGate::new(CommandKind::Static, Arc::new(ProcessExecutor::new()));
    let report = gate.check(&GateContext::new(root, profile, "lint", vec![])).await.unwrap();
    assert!(!report.passed, "{report:?}");
    assert_eq!(report.findings.len(), 2, "{:?}", report.findings);
    assert!(
        report.findings[0].contains("src.js:1") && report.findings[0].contains("'unused'"),
        "{:?}",
        report.findings
    );
    assert!(
        report.findings[1].contains("src.js:2") && report.findings[1].contains("'missing'"),
        "{:?}",
        report.findings
    );
}
