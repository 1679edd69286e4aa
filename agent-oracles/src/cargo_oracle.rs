//! [`CargoOracle`]: reads `Cargo.toml` to find a Rust package or workspace and
//! the commands that set it up, build, test and lint it.

use crate::ecosystems::{ci, glob_matcher, normalize};
use agent_core::workspace::{DetectedCommand, Evidence, OracleError, Project, WorkspaceProfile};
use agent_core::{WorkspaceOracle, async_trait};
use std::path::{Path, PathBuf};

/// Finds a cargo package and/or workspace at the root of a directory.
///
/// Reads `Cargo.toml` with a TOML parser (no process; [`CargoMetadataOracle`](crate::CargoMetadataOracle)
/// confirms the members with `cargo metadata` where cargo can be run):
/// `[package].name`, `[workspace].members` (with `*`, `?` and `[…]` globs
/// expanded against directories holding a `Cargo.toml`), `exclude` and
/// `default-members`. The commands it reports are runnable from the root:
/// `cargo fetch`, `cargo build --workspace --all-targets`,
/// `cargo test --workspace --no-fail-fast` and
/// `cargo clippy --workspace --all-targets -- -D warnings`. A
/// `rust-toolchain(.toml)` file and a GitHub workflow step that runs
/// `cargo test` or `cargo nextest` (workflows read as YAML) are added as evidence.
///
/// A root without `Cargo.toml` gives a profile without projects.
///
/// ```
/// use agent_core::WorkspaceOracle;
/// use agent_oracles::CargoOracle;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let dir = std::env::temp_dir().join(format!("cargo-oracle-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// std::fs::write(dir.join("Cargo.toml"), "[package]\nname = \"demo\"\nversion = \"0.1.0\"\n").unwrap();
/// let profile = CargoOracle::new().inspect(&dir).await.unwrap();
/// let project = profile.primary().unwrap();
/// assert_eq!(project.name.as_deref(), Some("demo"));
/// assert_eq!(profile.test_command().unwrap().display(), "cargo test --workspace --no-fail-fast");
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # });
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct CargoOracle;

impl CargoOracle {
    /// A cargo oracle.
    pub fn new() -> Self {
        Self
    }
}

/// Confidence of a command cargo always provides.
const BUILTIN: f64 = 0.9;
/// Confidence of a command the project's CI also runs.
const CONFIRMED: f64 = 1.0;
/// Confidence of clippy, which may not be installed.
const LINT: f64 = 0.8;

#[async_trait]
impl WorkspaceOracle for CargoOracle {
    async fn inspect(&self, root: &Path) -> Result<WorkspaceProfile, OracleError> {
        // Manifests are small: plain blocking reads keep this usable from any executor.
        inspect(root)
    }
}

/// Reads a file, mapping the error.
fn read(path: &Path) -> Result<String, OracleError> {
    std::fs::read_to_string(path).map_err(|source| OracleError::Io { path: path.to_path_buf(), source })
}

/// An array of strings at `table[key]`.
fn strings(table: Option<&toml::Table>, key: &str) -> Vec<String> {
    table
        .and_then(|t| t.get(key))
        .and_then(toml::Value::as_array)
        .map(|a| a.iter().filter_map(toml::Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Whether a member pattern component is a glob (cargo reads members with `*`, `?` and `[…]`).
fn is_glob(part: &str) -> bool {
    part.contains(['*', '?', '['])
}

/// Expands a member pattern to directories (relative to `root`) that hold a `Cargo.toml`.
fn expand(root: &Path, pattern: &str) -> Vec<PathBuf> {
    let pattern = normalize(pattern);
    if !is_glob(&pattern.to_string_lossy()) {
        return vec![pattern];
    }
    let mut found = vec![PathBuf::new()];
    for part in pattern.iter() {
        let part = part.to_string_lossy();
        let mut next = Vec::new();
        let matches = glob_matcher(&part);
        for dir in &found {
            if is_glob(&part) {
                let Ok(entries) = std::fs::read_dir(root.join(dir)) else { continue };
                let mut names: Vec<String> = entries
                    .filter_map(Result::ok)
                    .filter(|e| e.path().is_dir())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| !n.starts_with('.') && matches(n))
                    .collect();
                names.sort();
                next.extend(names.into_iter().map(|n| dir.join(n)));
            } else {
                next.push(dir.join(part.as_ref()));
            }
        }
        found = next;
    }
    found.into_iter().filter(|d| root.join(d).join("Cargo.toml").is_file()).collect()
}

/// The first line of each `.github/workflows/*.yml` that runs `cargo test`
/// or `cargo nextest`, as evidence (the workflows are read by [`ci::runs`]).
fn ci_test_runs(root: &Path) -> Vec<Evidence> {
    let mut out: Vec<Evidence> = Vec::new();
    for run in ci::runs(root) {
        let tests = run.line.contains("cargo test") || run.line.contains("cargo nextest");
        if tests && !out.iter().any(|e| e.file == run.file) {
            out.push(run.evidence());
        }
    }
    out
}

/// The inspection itself.
fn inspect(root: &Path) -> Result<WorkspaceProfile, OracleError> {
    if !root.is_dir() {
        return Err(OracleError::NotADirectory { path: root.to_path_buf() });
    }
    let mut profile = WorkspaceProfile::new(root);
    let manifest_path = root.join("Cargo.toml");
    if !manifest_path.is_file() {
        return Ok(profile);
    }
    let text = read(&manifest_path)?;
    let manifest: toml::Table = toml::from_str(&text)
        .map_err(|e| OracleError::BadManifest { file: manifest_path.clone(), message: e.to_string() })?;
    let package = manifest.get("package").and_then(toml::Value::as_table);
    let workspace = manifest.get("workspace").and_then(toml::Value::as_table);
    if package.is_none() && workspace.is_none() {
        return Err(OracleError::BadManifest {
            file: manifest_path,
            message: "neither a [package] nor a [workspace] table".to_owned(),
        });
    }

    let mut project =
        Project::new("", &[agent_core::workspace::kinds::RUST], agent_core::workspace::build_systems::CARGO);
    project.primary = true;
    project.name = package.and_then(|p| p.get("name")).and_then(toml::Value::as_str).map(str::to_owned);
    if package.is_some() {
        project.evidence.push(Evidence::field("Cargo.toml", "package"));
    }
    if workspace.is_some() {
        project.evidence.push(Evidence::field("Cargo.toml", "workspace"));
    }

    // Members: globs expanded, excludes removed, the root never listed.
    let excludes: Vec<PathBuf> = strings(workspace, "exclude").iter().map(|e| normalize(e)).collect();
    let mut members: Vec<PathBuf> = Vec::new();
    for pattern in strings(workspace, "members") {
        for dir in expand(root, &pattern) {
            let excluded = excludes.iter().any(|e| !e.as_os_str().is_empty() && dir.starts_with(e));
            if !dir.as_os_str().is_empty() && !excluded && !members.contains(&dir) {
                members.push(dir);
            }
        }
    }
    if !members.is_empty() {
        let mut ev = Evidence::field("Cargo.toml", "workspace.members");
        ev.note = Some(format!("{} member(s)", members.len()));
        project.evidence.push(ev);
    }
    if !excludes.is_empty() {
        let mut ev = Evidence::field("Cargo.toml", "workspace.exclude");
        ev.note = Some(excludes.iter().map(|e| e.display().to_string()).collect::<Vec<_>>().join(", "));
        project.evidence.push(ev);
    }
    let defaults: Vec<String> =
        strings(workspace, "default-members").iter().map(|d| normalize(d).display().to_string()).collect();
    if !defaults.is_empty() {
        let mut ev = Evidence::field("Cargo.toml", "workspace.default-members");
        ev.note = Some(format!(
            "default members: {} (the commands pass --workspace and cover every member)",
            defaults.iter().map(|d| if d.is_empty() { "." } else { d.as_str() }).collect::<Vec<_>>().join(", ")
        ));
        project.evidence.push(ev);
    }
    project.members = members;

    for name in ["rust-toolchain.toml", "rust-toolchain"] {
        if root.join(name).is_file() {
            let mut ev = Evidence::file(name);
            ev.note = Some("pins the toolchain".to_owned());
            project.evidence.push(ev);
        }
    }

    let field = if package.is_some() { "package" } else { "workspace" };
    let base = || vec![Evidence::field("Cargo.toml", field)];
    project.setup = Some(DetectedCommand::new("cargo", &["fetch"], base(), BUILTIN));
    project.build = Some(DetectedCommand::new("cargo", &["build", "--workspace", "--all-targets"], base(), BUILTIN));
    let ci = ci_test_runs(root);
    let test_confidence = if ci.is_empty() { BUILTIN } else { CONFIRMED };
    let mut test_evidence = base();
    test_evidence.extend(ci);
    project.test =
        Some(DetectedCommand::new("cargo", &["test", "--workspace", "--no-fail-fast"], test_evidence, test_confidence));
    project.lint = Some(DetectedCommand::new(
        "cargo",
        &["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"],
        base(),
        LINT,
    ));
    project.confidence = 1.0;
    profile.projects.push(project);
    Ok(profile)
}

#[cfg(test)]
mod tests {
    use super::glob_matcher;

    fn glob_match(pattern: &str, name: &str) -> bool {
        glob_matcher(pattern)(name)
    }

    #[test]
    fn glob_matches_stars_and_question_marks() {
        assert!(glob_match("*", "core"));
        assert!(glob_match("agent-*", "agent-core"));
        assert!(!glob_match("agent-*", "core"));
        assert!(glob_match("c?re", "core"));
        assert!(!glob_match("c?re", "coore"));
    }

    #[test]
    fn glob_stars_and_question_marks_never_cross_a_slash() {
        assert!(!glob_match("*", "a/b"));
        assert!(!glob_match("a?b", "a/b"));
        assert!(glob_match("[cu]*", "util"));
        assert!(!glob_match("[cu]*", "tools"));
        assert!(glob_match("{core,util}", "util"));
        assert!(glob_match("weird[", "weird["), "an invalid glob matches its own text");
        assert!(!glob_match("weird[", "weirdo"));
    }
}
