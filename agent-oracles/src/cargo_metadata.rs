//! [`CargoMetadataOracle`]: the cargo oracle confirmed by `cargo metadata`
//! when cargo is there to ask.

use crate::CargoOracle;
use agent_core::exec::{CommandSpec, OutputCaps};
use agent_core::workspace::{Evidence, OracleError, WorkspaceProfile, build_systems};
use agent_core::{Executor, WorkspaceOracle, async_trait};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Reads `Cargo.toml` like [`CargoOracle`], then asks
/// `cargo metadata --no-deps --format-version 1 --offline` through an
/// [`Executor`] for the members cargo itself resolves (path dependencies,
/// nested globs and `exclude` exactly as cargo applies them) and the default
/// members. When cargo is missing, fails or times out, the manifest reading
/// stands and the evidence says why metadata was not used: asking is an
/// improvement, never a new way to fail.
///
/// ```no_run
/// use agent_core::{Executor, WorkspaceOracle};
/// use agent_oracles::CargoMetadataOracle;
/// use std::sync::Arc;
///
/// # async fn demo(executor: Arc<dyn Executor>) {
/// let oracle = CargoMetadataOracle::new(executor);
/// let profile = oracle.inspect(std::path::Path::new(".")).await.unwrap();
/// for member in &profile.primary().unwrap().members {
///     println!("{}", member.display());
/// }
/// # }
/// ```
#[derive(Clone)]
pub struct CargoMetadataOracle {
    executor: Arc<dyn Executor>,
    timeout: Duration,
}

impl std::fmt::Debug for CargoMetadataOracle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CargoMetadataOracle").field("timeout", &self.timeout).finish_non_exhaustive()
    }
}

impl CargoMetadataOracle {
    /// An oracle that runs `cargo metadata` through `executor` (30 s limit).
    pub fn new(executor: Arc<dyn Executor>) -> Self {
        Self { executor, timeout: Duration::from_secs(30) }
    }

    /// Sets the wall-time limit of the `cargo metadata` run.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// The part of `cargo metadata --format-version 1` read here.
#[derive(Deserialize)]
struct Metadata {
    packages: Vec<Package>,
    workspace_members: Vec<String>,
    #[serde(default)]
    workspace_default_members: Option<Vec<String>>,
    workspace_root: PathBuf,
}

#[derive(Deserialize)]
struct Package {
    id: String,
    manifest_path: PathBuf,
}

/// Why metadata could not be used.
fn unavailable(reason: impl std::fmt::Display) -> Evidence {
    let mut ev = Evidence::file("Cargo.toml");
    ev.note = Some(format!("cargo metadata unavailable ({reason}); members read from the manifest"));
    ev
}

/// Member directories (relative to the workspace root, the root left out) of `ids`.
fn dirs_of(meta: &Metadata, ids: &[String]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = meta
        .packages
        .iter()
        .filter(|p| ids.contains(&p.id))
        .filter_map(|p| p.manifest_path.parent()?.strip_prefix(&meta.workspace_root).ok().map(Path::to_path_buf))
        .filter(|d| !d.as_os_str().is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

#[async_trait]
impl WorkspaceOracle for CargoMetadataOracle {
    async fn inspect(&self, root: &Path) -> Result<WorkspaceProfile, OracleError> {
        let mut profile = CargoOracle::new().inspect(root).await?;
        let Some(project) = profile.projects.iter_mut().find(|p| p.build_system == build_systems::CARGO) else {
            return Ok(profile);
        };
        let spec = CommandSpec::new("cargo")
            .args(["metadata", "--no-deps", "--format-version", "1", "--offline"])
            .cwd(root)
            .wall_timeout(self.timeout)
            .output_caps(OutputCaps { head_bytes: 32 << 20, tail_bytes: 0 });
        let run = match self.executor.run(spec).await {
            Ok(run) => run,
            Err(e) => {
                project.evidence.push(unavailable(e));
                return Ok(profile);
            }
        };
        if !run.success() || run.stdout.truncated {
            let why = run.stderr.text().lines().find(|l| l.starts_with("error")).unwrap_or("no output").to_owned();
            project.evidence.push(unavailable(format!("exit {:?}: {why}", run.exit_code)));
            return Ok(profile);
        }
        let meta: Metadata = match serde_json::from_str(&run.stdout.text()) {
            Ok(meta) => meta,
            Err(e) => {
                project.evidence.push(unavailable(format!("unreadable JSON: {e}")));
                return Ok(profile);
            }
        };
        let members = dirs_of(&meta, &meta.workspace_members);
        if members != project.members {
            tracing::debug!(manifest = ?project.members, metadata = ?members, "cargo metadata corrects the members");
        }
        let mut ev = Evidence::field("Cargo.toml", "workspace_members");
        ev.note = Some(format!("cargo metadata: {} workspace member(s) besides the root", members.len()));
        project.evidence.push(ev);
        if let Some(defaults) = &meta.workspace_default_members {
            let dirs = dirs_of(&meta, defaults);
            let root_is_default = meta
                .packages
                .iter()
                .any(|p| defaults.contains(&p.id) && p.manifest_path.parent() == Some(meta.workspace_root.as_path()));
            let mut names: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
            if root_is_default {
                names.insert(0, ".".to_owned());
            }
            let mut ev = Evidence::field("Cargo.toml", "workspace_default_members");
            ev.note = Some(format!("cargo metadata: default members {}", names.join(", ")));
            project.evidence.push(ev);
        }
        project.members = members;
        Ok(profile)
    }
}
