//! `CargoMetadataOracle` against the real `cargo metadata`, and its fallbacks.

use agent_core::exec::{CommandSpec, ExecError, RunOutput};
use agent_core::{Executor, WorkspaceOracle};
use agent_oracles::{CargoMetadataOracle, CargoOracle};
use agent_sandbox::ProcessExecutor;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn write(root: &Path, file: &str, text: &str) {
    std::fs::create_dir_all(root.join(file).parent().unwrap()).unwrap();
    std::fs::write(root.join(file), text).unwrap();
}

fn package(root: &Path, dir: &str, name: &str, extra: &str) {
    write(
        root,
        &format!("{dir}/Cargo.toml"),
        &format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n{extra}"),
    );
    write(root, &format!("{dir}/src/lib.rs"), "");
}

/// A root package whose path dependency is a workspace member only by cargo's
/// rule (path dependencies of members join the workspace), plus a glob member
/// and an excluded directory.
fn workspace() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "Cargo.toml",
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nhelper = { path = \"libs/helper\" }\n\n[workspace]\nmembers = [\"crates/*\"]\nexclude = [\"crates/old\"]\ndefault-members = [\".\", \"crates/a\"]\n",
    );
    write(root, "src/lib.rs", "");
    package(root, "libs/helper", "helper", "");
    package(root, "crates/a", "a", "");
    package(root, "crates/b", "b", "");
    package(root, "crates/old", "old", "");
    tmp
}

#[tokio::test]
async fn cargo_metadata_adds_path_dependency_members_the_manifest_alone_misses() {
    let tmp = workspace();
    let manifest_only = CargoOracle::new().inspect(tmp.path()).await.unwrap();
    assert_eq!(manifest_only.primary().unwrap().members, [PathBuf::from("crates/a"), PathBuf::from("crates/b")]);

    let oracle = CargoMetadataOracle::new(Arc::new(ProcessExecutor::new()));
    let profile = oracle.inspect(tmp.path()).await.unwrap();
    let project = profile.primary().unwrap();
    assert_eq!(project.members, [PathBuf::from("crates/a"), PathBuf::from("crates/b"), PathBuf::from("libs/helper")]);
    let notes: Vec<&str> = project.evidence.iter().filter_map(|e| e.note.as_deref()).collect();
    assert!(notes.contains(&"cargo metadata: 3 workspace member(s) besides the root"), "{notes:?}");
    assert!(notes.contains(&"cargo metadata: default members ., crates/a"), "{notes:?}");
}

#[tokio::test]
async fn a_manifest_cargo_rejects_keeps_the_manifest_reading_and_says_why() {
    let tmp = workspace();
    // A member without a [package] table: the TOML still parses, cargo refuses it.
    write(tmp.path(), "crates/b/Cargo.toml", "[dependencies]\n");
    let oracle = CargoMetadataOracle::new(Arc::new(ProcessExecutor::new()));
    let profile = oracle.inspect(tmp.path()).await.unwrap();
    let project = profile.primary().unwrap();
    assert_eq!(project.members, [PathBuf::from("crates/a"), PathBuf::from("crates/b")]);
    let note = project.evidence.iter().filter_map(|e| e.note.as_deref()).find(|n| n.contains("unavailable")).unwrap();
    assert!(note.starts_with("cargo metadata unavailable (exit Some(101): error"), "{note}");
}

/// An executor that cannot start anything, as on a machine without cargo.
struct NoCargo;

#[agent_core::async_trait]
impl Executor for NoCargo {
    async fn run(&self, cmd: CommandSpec) -> Result<RunOutput, ExecError> {
        Err(ExecError::Spawn { program: cmd.program, source: std::io::Error::from(std::io::ErrorKind::NotFound) })
    }
}

#[tokio::test]
async fn a_missing_cargo_is_not_an_error_of_the_oracle() {
    let tmp = workspace();
    let profile = CargoMetadataOracle::new(Arc::new(NoCargo)).inspect(tmp.path()).await.unwrap();
    let project = profile.primary().unwrap();
    assert_eq!(project.members.len(), 2);
    assert!(
        project.evidence.iter().any(|e| e.note.as_deref().is_some_and(|n| n.contains("cargo metadata unavailable")))
    );
    assert_eq!(profile.test_command().unwrap().display(), "cargo test --workspace --no-fail-fast");
}
