//! Gates against the real python3, node and cargo of the machine: dependencies, build and static, scope.

use agent_core::Gate;
use agent_core::edit::FileChange;
use agent_core::gate::{GateContext, GateReport};
use agent_core::workspace::WorkspaceProfile;
use agent_gates::DependencyGate;
use agent_sandbox::ProcessExecutor;
use std::path::Path;
use std::sync::Arc;

fn write(root: &Path, file: &str, text: &str) {
    std::fs::create_dir_all(root.join(file).parent().unwrap()).unwrap();
    std::fs::write(root.join(file), text).unwrap();
}

async fn check(root: &Path, changed: &[&str]) -> GateReport {
    let changes = changed
        .iter()
        .map(|p| serde_json::from_value::<FileChange>(serde_json::json!({"path": p, "change": "modified"})).unwrap())
        .collect();
    let cx = GateContext::new(root, WorkspaceProfile::default(), "goal", changes);
    DependencyGate::new(Arc::new(ProcessExecutor::new())).check(&cx).await.unwrap()
}

#[tokio::test]
async fn an_undeclared_python_import_fails_while_stdlib_local_and_declared_ones_pass() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "pyproject.toml",
        "[project]\nname = \"app\"\ndependencies = [\"requests>=2\", \"PyYAML\"]\n\n[dependency-groups]\ndev = [\"pytest\"]\n",
    );
    write(root, "src/app/helpers.py", "X = 1\n");
    write(
        root,
        "src/app/main.py",
        "import os\nimport json as j\nimport requests\nimport yaml\nfrom . import helpers\nfrom helpers import X\nimport pytest\nimport toml_tools\n",
    );
    let report = check(root, &["src/app/main.py"]).await;
    assert!(!report.passed);
    assert_eq!(
        report.findings,
        ["src/app/main.py:8 imports `toml_tools`, which no manifest declares (pyproject.toml)"]
    );
    assert_eq!(report.gate, "dependencies");

    write(root, "requirements-extra.txt", "toml-tools==1.0\n");
    let report = check(root, &["src/app/main.py"]).await;
    assert!(report.passed, "{report:?}");
}

#[tokio::test]
async fn an_undeclared_node_import_and_an_unlocked_dependency_are_findings() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "package.json",
        r#"{"name":"web","dependencies":{"lodash":"^4.17.21"},"devDependencies":{"@types/node":"^20.0.0"}}"#,
    );
    write(
        root,
        "package-lock.json",
        r#"{"name":"web","lockfileVersion":3,"packages":{"":{"name":"web","devDependencies":{"@types/node":"^20.0.0"}}}}"#,
    );
    write(root, "packages/util/package.json", r#"{"name":"@web/util"}"#);
    write(
        root,
        "src/index.ts",
        "import fp from 'lodash/fp';\nimport { readFile } from 'fs';\nimport path from 'node:path';\nimport { x } from './x';\nimport { u } from '@web/util';\nimport pad from 'left-pad';\n",
    );
    let report = check(root, &["src/index.ts"]).await;
    assert_eq!(
        report.findings,
        [
            "src/index.ts:6 imports `left-pad`, which package.json does not declare",
            "package-lock.json does not lock `lodash`, which package.json declares",
        ]
    );
}

#[tokio::test]
async fn a_rust_import_of_an_undeclared_crate_and_a_stale_lockfile_are_findings() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(root, "Cargo.toml", "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n");
    write(root, "src/lib.rs", "pub fn f() -> u32 { 1 }\n");
    // A clean crate with its lockfile passes.
    std::process::Command::new("cargo").args(["generate-lockfile", "--offline"]).current_dir(root).status().unwrap();
    let report = check(root, &["src/lib.rs"]).await;
    assert!(report.passed, "{report:?}");

    write(root, "src/lib.rs", "use serde::Serialize;\npub fn f() -> u32 { 1 }\n");
    let report = check(root, &["src/lib.rs"]).await;
    assert!(!report.passed);
    assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
    assert!(report.findings[0].starts_with("src/lib.rs:1 "), "{:?}", report.findings);
    assert!(report.findings[0].contains("serde"), "{:?}", report.findings);

    // A path dependency added to the manifest but not to Cargo.lock.
    write(root, "src/lib.rs", "pub fn f() -> u32 { 1 }\n");
    write(root, "helper/Cargo.toml", "[package]\nname = \"helper\"\nversion = \"0.1.0\"\nedition = \"2021\"\n");
    write(root, "helper/src/lib.rs", "");
    write(
        root,
        "Cargo.toml",
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nhelper = { path = \"helper\" }\n\n[workspace]\n",
    );
    let report = check(root, &["Cargo.toml"]).await;
    assert_eq!(report.findings, ["Cargo.lock does not agree with the manifests: cargo would have to update it"]);
}

#[tokio::test]
async fn build_and_static_gates_run_the_oracles_commands_and_classify_failures() {
    use agent_core::WorkspaceOracle;
    use agent_core::gate::GateError;
    use agent_gates::{CommandGate, CommandKind};
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(root, "Cargo.toml", "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n");
    write(root, "src/lib.rs", "pub fn f() -> u32 {\n    \"one\"\n}\n");
    let profile = agent_oracles::default_oracle().inspect(root).await.unwrap();
    let cx = GateContext::new(root, profile.clone(), "goal", vec![]);
    let exec = Arc::new(ProcessExecutor::new());
    let build = CommandGate::new(CommandKind::Build, exec.clone()).check(&cx).await.unwrap();
    assert!(!build.passed);
    assert_eq!(build.gate, "build");
    assert!(build.findings.iter().any(|f| f.starts_with("[type] src/lib.rs:2 ")), "{:?}", build.findings);

    write(root, "src/lib.rs", "pub fn f() -> u32 {\n    1\n}\n");
    let build = CommandGate::new(CommandKind::Build, exec.clone()).check(&cx).await.unwrap();
    assert!(build.passed, "{build:?}");

    let empty = GateContext::new(root, WorkspaceProfile::default(), "goal", vec![]);
    let err = CommandGate::new(CommandKind::Static, exec).check(&empty).await.unwrap_err();
    assert!(matches!(err, GateError::NotApplicable { gate, .. } if gate == "static"));
}

#[tokio::test]
async fn the_scope_gate_fails_a_change_to_a_path_a_non_goal_protects() {
    use agent_core::spec::{NonGoal, TaskSpec};
    use agent_gates::ScopeGate;
    let spec =
        TaskSpec::new("fix mean").with_non_goal(NonGoal::new("no API change").touching(["src/api/**", "Cargo.lock"]));
    let gate = ScopeGate::from_spec(&spec).unwrap();
    let change =
        |p: &str| serde_json::from_value::<FileChange>(serde_json::json!({"path": p, "change": "modified"})).unwrap();
    let cx = GateContext::new(
        "/r",
        WorkspaceProfile::default(),
        "g",
        vec![change("src/stats.rs"), change("src/api/v1/mod.rs")],
    );
    let report = gate.check(&cx).await.unwrap();
    assert!(!report.passed);
    assert_eq!(report.findings, ["modified `src/api/v1/mod.rs`, which a non-goal protects (src/api/**, Cargo.lock)"]);
    let cx = GateContext::new("/r", WorkspaceProfile::default(), "g", vec![change("src/stats.rs")]);
    assert!(gate.check(&cx).await.unwrap().passed);
    assert!(
        ScopeGate::new(vec!["src/[".into()]).is_err(),
        "an invalid glob is an error, not a gate that protects nothing"
    );
}

/// A pytest project: `test_mean_empty` fails at baseline, the others pass.
fn stats_project() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "pyproject.toml",
        "[project]\nname = \"stats\"\nversion = \"0.1.0\"\n\n[tool.pytest.ini_options]\naddopts = \"-p no:cacheprovider\"\n",
    );
    write(root, "stats.py", "def mean(xs):\n    return sum(xs) / len(xs)\n\ndef total(xs):\n    return sum(xs)\n");
    write(
        root,
        "test_stats.py",
        "from stats import mean, total\n\ndef test_mean_empty():\n    assert mean([]) is None\n\ndef test_mean_two():\n    assert mean([1, 3]) == 2\n\ndef test_total():\n    assert total([1, 2]) == 3\n",
    );
    tmp
}

/// The baseline through the gate's own production path.
async fn baseline_of(root: &Path, profile: &WorkspaceProfile) -> agent_core::gate::TestBaseline {
    agent_gates::TestsGate::new(Arc::new(ProcessExecutor::new())).baseline(root, profile).await.unwrap()
}

#[tokio::test]
async fn the_tests_gate_names_a_regression_and_accepts_a_fix_that_keeps_every_passing_test() {
    use agent_core::WorkspaceOracle;
    use agent_gates::TestsGate;
    let tmp = stats_project();
    let root = tmp.path();
    let profile = agent_oracles::default_oracle().inspect(root).await.unwrap();
    let baseline = baseline_of(root, &profile).await;
    assert_eq!(baseline.outcomes.len(), 3, "{baseline:?}");
    assert!(baseline.command.ends_with("-v -rA -p no:cacheprovider"), "{}", baseline.command);
    let gate = TestsGate::new(Arc::new(ProcessExecutor::new()));
    let cx = GateContext::new(root, profile, "mean of [] is None", vec![])
        .with_test_baseline(baseline)
        .with_named_tests(vec!["test_mean_empty".into()]);

    // The "fix" makes the named test pass and breaks another.
    write(root, "stats.py", "def mean(xs):\n    return None\n\ndef total(xs):\n    return sum(xs)\n");
    let report = gate.check(&cx).await.unwrap();
    assert!(!report.passed);
    assert_eq!(
        report.findings,
        ["regression: `test_stats.py::test_mean_two` passed before the change and failed after it"]
    );

    // Skipping the named test is not fixing it.
    write(root, "stats.py", "def mean(xs):\n    return sum(xs) / len(xs)\n\ndef total(xs):\n    return sum(xs)\n");
    let skipped = std::fs::read_to_string(root.join("test_stats.py"))
        .unwrap()
        .replace("def test_mean_empty", "import pytest\n\n@pytest.mark.skip(reason='later')\ndef test_mean_empty");
    write(root, "test_stats.py", &skipped);
    let report = gate.check(&cx).await.unwrap();
    assert!(!report.passed);
    assert_eq!(
        report.findings,
        ["not fixed: `test_stats.py::test_mean_empty` skipped after the change (skipped is not passing)"]
    );

    // The real fix.
    let unskipped = skipped.replace("import pytest\n\n@pytest.mark.skip(reason='later')\n", "");
    write(root, "test_stats.py", &unskipped);
    write(
        root,
        "stats.py",
        "def mean(xs):\n    return sum(xs) / len(xs) if xs else None\n\ndef total(xs):\n    return sum(xs)\n",
    );
    let report = gate.check(&cx).await.unwrap();
    assert!(report.passed, "{report:?}");
    assert_eq!(report.summary, "3 passed, 0 failed, 0 skipped; 1 named test(s) fixed, no regression");
}

#[tokio::test]
async fn a_run_that_collects_nothing_is_never_a_pass_for_the_tests_gate() {
    use agent_core::WorkspaceOracle;
    use agent_gates::TestsGate;
    let tmp = stats_project();
    let root = tmp.path();
    let profile = agent_oracles::default_oracle().inspect(root).await.unwrap();
    let baseline = baseline_of(root, &profile).await;
    // A syntax error in the module under test: collection fails, nothing runs.
    write(root, "stats.py", "def mean(xs)\n    return 0\n");
    let cx = GateContext::new(root, profile, "g", vec![]).with_test_baseline(baseline);
    let report = TestsGate::new(Arc::new(ProcessExecutor::new())).check(&cx).await.unwrap();
    assert!(!report.passed, "{report:?}");
    assert!(report.summary.ends_with("did not build: 1 build error(s), no test ran"), "{report:?}");
    // The finding is the error, where it is, not the traceback's first line.
    assert_eq!(report.findings.len(), 1, "{report:?}");
    assert!(report.findings[0].starts_with("[syntax] at stats.py:1 SyntaxError: "), "{report:?}");
}

#[tokio::test]
async fn a_run_that_does_not_build_after_a_baseline_that_did_not_build_either_says_the_change_is_not_the_only_suspect()
{
    use agent_core::WorkspaceOracle;
    use agent_gates::TestsGate;
    let tmp = stats_project();
    let root = tmp.path();
    let profile = agent_oracles::default_oracle().inspect(root).await.unwrap();
    // The tree is broken before the change: the baseline collects nothing.
    write(root, "stats.py", "def mean(xs)\n    return 0\n");
    let baseline = baseline_of(root, &profile).await;
    assert!(baseline.outcomes.is_empty(), "{baseline:?}");
    write(root, "stats.py", "def mean(xs)\n    return 1\n");
    let cx = GateContext::new(root, profile, "g", vec![]).with_test_baseline(baseline);
    let report = TestsGate::new(Arc::new(ProcessExecutor::new())).check(&cx).await.unwrap();
    assert!(!report.passed, "a run where nothing ran never passes: {report:?}");
    assert!(report.summary.contains("did not build: 1 build error(s), no test ran"), "{report:?}");
    assert!(
        report.summary.contains("the baseline run ran no test either (exit 2)"),
        "pytest exits 2 on a collection error: {report:?}"
    );
}

#[tokio::test]
async fn a_test_the_environment_already_broke_in_the_baseline_does_not_fail_the_gate_but_a_regression_still_does() {
    use agent_core::WorkspaceOracle;
    use agent_gates::TestsGate;
    let tmp = stats_project();
    let root = tmp.path();
    // A declared package this machine lacks, imported inside one test: that
    // test fails for an environment reason, before and after any change.
    write(
        root,
        "pyproject.toml",
        "[project]\nname = \"stats\"\nversion = \"0.1.0\"\ndependencies = [\"agentkit-absent-sdk\"]\n\n[tool.pytest.ini_options]\naddopts = \"-p no:cacheprovider\"\n",
    );
    write(
        root,
        "test_sdk.py",
        "def test_uses_sdk():\n    import agentkit_absent_sdk\n    assert agentkit_absent_sdk\n",
    );
    let profile = agent_oracles::default_oracle().inspect(root).await.unwrap();
    let baseline = baseline_of(root, &profile).await;
    assert_eq!(baseline.outcomes.len(), 4, "{baseline:?}");
    let gate = TestsGate::new(Arc::new(ProcessExecutor::new()));
    let cx = || GateContext::new(root, profile.clone(), "g", vec![]).with_test_baseline(baseline.clone());

    write(
        root,
        "stats.py",
        "def mean(xs):\n    return sum(xs) / len(xs) if xs else None\n\ndef total(xs):\n    return sum(xs)\n",
    );
    let report = gate.check(&cx()).await.unwrap();
    assert!(report.passed, "the environment's failure was blamed on the change: {report:?}");
    assert_eq!(report.summary, "3 passed, 1 failed, 0 skipped; 0 named test(s) fixed, no regression");

    write(
        root,
        "stats.py",
        "def mean(xs):\n    return sum(xs) / len(xs) if xs else None\n\ndef total(xs):\n    return 0\n",
    );
    let report = gate.check(&cx()).await.unwrap();
    assert!(!report.passed, "{report:?}");
    assert!(report.findings.iter().any(|f| f.starts_with("regression:") && f.contains("test_total")), "{report:?}");
}

#[tokio::test]
async fn a_specs_criteria_become_gates_and_a_protected_path_fails_its_scope_gate() {
    use agent_core::spec::{AcceptanceCriterion, NonGoal, TaskSpec};
    use agent_gates::gates_for_spec;
    let spec = TaskSpec::new("fix mean")
        .with_criterion(AcceptanceCriterion::new("a", "builds").proved_by_gate("build"))
        .with_criterion(AcceptanceCriterion::new("b", "fixed").proved_by_test("mean_empty"))
        .with_criterion(AcceptanceCriterion::new("c", "starts").proved_by_gate("smoke"))
        .with_criterion(AcceptanceCriterion::new("d", "again").proved_by_gate("build"))
        .with_non_goal(NonGoal::new("no API change").touching(["src/api/**"]));
    let built = gates_for_spec(&spec, Arc::new(ProcessExecutor::new())).unwrap();
    assert_eq!(built.gates.len(), 3, "scope, build, tests; build once");
    assert_eq!(built.left_to_host, ["smoke"]);
    let change =
        serde_json::from_value::<FileChange>(serde_json::json!({"path": "src/api/v1.rs", "change": "modified"}))
            .unwrap();
    let cx = GateContext::new("/r", WorkspaceProfile::default(), "g", vec![change]);
    let scope = built.gates[0].check(&cx).await.unwrap();
    assert_eq!((scope.gate.as_str(), scope.passed), ("scope", false));
}
