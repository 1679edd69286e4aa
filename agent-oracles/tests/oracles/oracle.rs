//! The cargo oracle and the composite on fixture trees copied to temporary directories.

use crate::support::{copy_fixture, testdata};
use agent_core::WorkspaceOracle;
use agent_core::workspace::OracleError;
use agent_oracles::{CargoOracle, CompositeOracle, default_oracle};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn fixture(name: &str) -> (tempfile::TempDir, PathBuf) {
    copy_fixture(&testdata().join("workspaces").join(name))
}

#[tokio::test]
async fn workspace_members_expand_globs_drop_excludes_non_crates_and_the_root() {
    let (_tmp, root) = fixture("globbed");
    let profile = CargoOracle::new().inspect(&root).await.unwrap();
    assert_eq!(profile.root, root);
    assert_eq!(profile.projects.len(), 1);
    let p = &profile.projects[0];
    assert_eq!(p.path, PathBuf::new());
    assert_eq!(p.name.as_deref(), Some("globbed-root"));
    assert_eq!(p.kinds, ["rust"]);
    assert_eq!(p.build_system, "cargo");
    assert!(p.primary);
    let members: Vec<&Path> = p.members.iter().map(PathBuf::as_path).collect();
    assert_eq!(members, [Path::new("crates/core"), Path::new("crates/util"), Path::new("tools/cli")]);
    let fields: Vec<_> = p.evidence.iter().filter_map(|e| e.field.as_deref()).collect();
    for field in ["package", "workspace", "workspace.members", "workspace.exclude", "workspace.default-members"] {
        assert!(fields.contains(&field), "{field} missing from {fields:?}");
    }
    let defaults = p.evidence.iter().find(|e| e.field.as_deref() == Some("workspace.default-members")).unwrap();
    assert!(defaults.note.as_deref().unwrap().contains("crates/core"));
    assert!(p.evidence.iter().any(|e| e.file == Path::new("rust-toolchain.toml")));
}

#[tokio::test]
async fn commands_are_runnable_from_the_root_with_evidence_and_ci_raises_test_confidence() {
    let (_tmp, root) = fixture("globbed");
    let profile = CargoOracle::new().inspect(&root).await.unwrap();
    let p = profile.primary().unwrap();
    let setup = p.setup.as_ref().unwrap();
    let build = p.build.as_ref().unwrap();
    let test = p.test.as_ref().unwrap();
    let lint = p.lint.as_ref().unwrap();
    assert_eq!(setup.display(), "cargo fetch");
    assert_eq!(build.display(), "cargo build --workspace --all-targets");
    assert_eq!(test.display(), "cargo test --workspace --no-fail-fast");
    assert_eq!(lint.display(), "cargo clippy --workspace --all-targets -- -D warnings");
    for c in [setup, build, test, lint] {
        assert_eq!(c.cwd, PathBuf::new());
        assert!(!c.evidence.is_empty());
        assert!(c.confidence > 0.0 && c.confidence <= 1.0);
    }
    let ci = test.evidence.iter().find(|e| e.file == Path::new(".github/workflows/ci.yml")).unwrap();
    assert!(ci.note.as_deref().unwrap().contains("cargo test --workspace"));
    assert!(test.confidence > build.confidence);
}

#[tokio::test]
async fn lone_package_has_its_name_no_members_and_the_same_commands() {
    let (_tmp, root) = fixture("lone");
    let profile = CargoOracle::new().inspect(&root).await.unwrap();
    let p = profile.primary().unwrap();
    assert_eq!(p.name.as_deref(), Some("lone"));
    assert!(p.members.is_empty());
    assert_eq!(profile.test_command().unwrap().display(), "cargo test --workspace --no-fail-fast");
    assert_eq!(p.test.as_ref().unwrap().confidence, 0.9, "no CI evidence");
    assert!(!p.evidence.iter().any(|e| e.file == Path::new("rust-toolchain.toml")));
}

#[tokio::test]
async fn root_without_cargo_toml_gives_no_projects() {
    let (_tmp, root) = fixture("empty");
    let profile = CargoOracle::new().inspect(&root).await.unwrap();
    assert!(profile.projects.is_empty());
    assert!(profile.primary().is_none());
}

#[tokio::test]
async fn unparseable_cargo_toml_is_a_bad_manifest() {
    let (_tmp, root) = fixture("lone");
    std::fs::write(root.join("Cargo.toml"), "[package\nname = ").unwrap();
    let err = CargoOracle::new().inspect(&root).await.unwrap_err();
    assert!(matches!(err, OracleError::BadManifest { ref file, .. } if file == &root.join("Cargo.toml")), "{err}");
}

#[tokio::test]
async fn manifest_with_neither_package_nor_workspace_is_a_bad_manifest() {
    let (_tmp, root) = fixture("lone");
    std::fs::write(root.join("Cargo.toml"), "[dependencies]\n").unwrap();
    assert!(matches!(CargoOracle::new().inspect(&root).await, Err(OracleError::BadManifest { .. })));
}

#[tokio::test]
async fn a_file_or_missing_path_is_not_a_directory() {
    let (_tmp, root) = fixture("lone");
    let file = root.join("Cargo.toml");
    for path in [file.clone(), root.join("missing")] {
        let err = CargoOracle::new().inspect(&path).await.unwrap_err();
        assert!(matches!(err, OracleError::NotADirectory { .. }), "{err}");
        assert!(matches!(default_oracle().inspect(&path).await, Err(OracleError::NotADirectory { .. })));
    }
}

#[tokio::test]
async fn composite_merges_duplicate_projects_and_keeps_one_primary() {
    let (_tmp, root) = fixture("globbed");
    let cargo: Arc<dyn WorkspaceOracle> = Arc::new(CargoOracle::new());
    let composite = CompositeOracle::new(vec![cargo.clone(), cargo]);
    assert_eq!(composite.len(), 2);
    let profile = composite.inspect(&root).await.unwrap();
    assert_eq!(profile.projects.len(), 1);
    assert_eq!(profile.projects.iter().filter(|p| p.primary).count(), 1);
    let single = default_oracle().inspect(&root).await.unwrap();
    assert_eq!(single.projects, profile.projects);
}

#[tokio::test]
async fn virtual_workspace_has_no_name_and_members_only() {
    let (_tmp, root) = fixture("globbed");
    std::fs::write(root.join("Cargo.toml"), "[workspace]\nmembers = [\"./crates/*/\"]\nexclude = [\"crates/util\"]\n")
        .unwrap();
    let profile = CargoOracle::new().inspect(&root).await.unwrap();
    let p = profile.primary().unwrap();
    assert_eq!(p.name, None);
    let members: Vec<&Path> = p.members.iter().map(PathBuf::as_path).collect();
    assert_eq!(members, [Path::new("crates/core"), Path::new("crates/experimental")]);
}

#[tokio::test]
async fn ci_runs_are_read_as_yaml_flow_steps_and_folded_scripts_count_and_run_text_elsewhere_does_not() {
    let (_tmp, root) = fixture("lone");
    let workflows = root.join(".github").join("workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    // `run:` text inside another block scalar is not a step; the real step is in flow style.
    std::fs::write(
        workflows.join("a.yml"),
        "on: push\nenv:\n  HELP: |\n    run: cargo test --not-a-step\njobs:\n  \
         lint: {runs-on: ubuntu-latest, steps: [{uses: actions/checkout@v4}, {run: \"cargo nextest run --workspace\"}]}\n",
    )
    .unwrap();
    // A folded scalar is one command spread over lines.
    std::fs::write(
        workflows.join("b.yaml"),
        "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: >-\n          cargo test\n          --workspace --no-fail-fast\n",
    )
    .unwrap();
    // A workflow that is not valid YAML is no evidence, and no error.
    std::fs::write(workflows.join("c.yml"), "jobs:\n  t:\n    steps: [\n      - run: cargo test\n").unwrap();
    let profile = CargoOracle::new().inspect(&root).await.unwrap();
    let test = profile.primary().unwrap().test.as_ref().unwrap();
    let ci: Vec<(&str, &str)> = test
        .evidence
        .iter()
        .filter(|e| e.field.as_deref() == Some("run"))
        .map(|e| (e.file.to_str().unwrap(), e.note.as_deref().unwrap()))
        .collect();
    assert_eq!(
        ci,
        [
            (".github/workflows/a.yml", "cargo nextest run --workspace"),
            (".github/workflows/b.yaml", "cargo test --workspace --no-fail-fast"),
        ]
    );
    assert_eq!(test.confidence, 1.0);
}
