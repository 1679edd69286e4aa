//! [`EcosystemOracle`]: one bounded scan, every ecosystem's detector run over it.

use super::{Dir, Scan, ci};
use agent_core::workspace::{Ambiguity, OracleError, Project, WorkspaceProfile, build_systems};
use agent_core::{WorkspaceOracle, async_trait};
use std::path::Path;

/// An ecosystem the [`EcosystemOracle`] knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Ecosystem {
    /// Cargo packages and workspaces below the root (the root one is the [`CargoOracle`](crate::CargoOracle)'s).
    NestedCargo,
    /// `go.mod`, `go.work`.
    Go,
    /// uv, poetry, pdm, pipenv, hatch, setuptools; tox and nox.
    Python,
    /// npm, pnpm, yarn, bun (`package.json`).
    Node,
    /// `deno.json(c)`.
    Deno,
    /// Maven and Gradle.
    Jvm,
    /// CMake and Meson.
    Native,
    /// Bundler (`Gemfile`).
    Ruby,
    /// Composer (`composer.json`).
    Php,
    /// `.sln`, `.csproj`, `.fsproj`.
    Dotnet,
    /// `Makefile` and `justfile` test targets.
    Tasks,
}

impl Ecosystem {
    /// Every ecosystem, in the order they are asked.
    pub const ALL: &'static [Ecosystem] = &[
        Ecosystem::NestedCargo,
        Ecosystem::Go,
        Ecosystem::Python,
        Ecosystem::Node,
        Ecosystem::Deno,
        Ecosystem::Jvm,
        Ecosystem::Native,
        Ecosystem::Ruby,
        Ecosystem::Php,
        Ecosystem::Dotnet,
        Ecosystem::Tasks,
    ];
}

/// What the detectors of one directory found.
#[derive(Debug, Default)]
pub(crate) struct Found {
    pub(crate) projects: Vec<Project>,
    pub(crate) ambiguities: Vec<Ambiguity>,
}

/// Finds the projects of the chosen ecosystems anywhere the bounded scan reaches.
///
/// Every ecosystem reads its manifests in each scanned directory; a project
/// listed as a member of another project of the same kind is not reported on
/// its own (except Go modules nested without a `go.work`: each is tested in its
/// own directory). The primary project is chosen by evidence and confidence:
/// CI running its test command, a maturin/PyO3 build, its place at the root,
/// lockfiles and configured runners, members; its evidence says which rule
/// chose it and the score.
///
/// ```
/// use agent_core::WorkspaceOracle;
/// use agent_oracles::EcosystemOracle;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let dir = std::env::temp_dir().join(format!("eco-oracle-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// std::fs::write(dir.join("go.mod"), "module example.com/demo\n\ngo 1.22\n").unwrap();
/// let profile = EcosystemOracle::all().inspect(&dir).await.unwrap();
/// assert_eq!(profile.test_command().unwrap().display(), "go test ./...");
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct EcosystemOracle {
    ecosystems: Vec<Ecosystem>,
    depth: usize,
}

impl EcosystemOracle {
    /// An oracle for these ecosystems.
    pub fn new(ecosystems: &[Ecosystem]) -> Self {
        Self { ecosystems: ecosystems.to_vec(), depth: super::SCAN_DEPTH }
    }

    /// Lists directories down to `depth` levels below the root instead of
    /// [`SCAN_DEPTH`](crate::SCAN_DEPTH) (0: the root only). Directories that
    /// manifests name are read at any depth.
    pub fn with_scan_depth(mut self, depth: usize) -> Self {
        self.depth = depth;
        self
    }

    /// An oracle for every ecosystem in [`Ecosystem::ALL`].
    pub fn all() -> Self {
        Self::new(Ecosystem::ALL)
    }

    /// The directories an inspection of `root` lists (relative, the root as
    /// the empty path): the bounded scan plus the directories manifests name.
    /// For tests and diagnostics.
    pub fn scanned_dirs(&self, root: &Path) -> Result<Vec<std::path::PathBuf>, OracleError> {
        Ok(run(root, &self.ecosystems, self.depth)?.1)
    }
}

#[async_trait]
impl WorkspaceOracle for EcosystemOracle {
    async fn inspect(&self, root: &Path) -> Result<WorkspaceProfile, OracleError> {
        inspect(root, &self.ecosystems, self.depth)
    }
}

/// Runs the detectors of `ecosystems` over a bounded scan of `root`.
pub(crate) fn inspect(root: &Path, ecosystems: &[Ecosystem], depth: usize) -> Result<WorkspaceProfile, OracleError> {
    Ok(run(root, ecosystems, depth)?.0)
}

/// The inspection, with the directories it listed.
fn run(
    root: &Path,
    ecosystems: &[Ecosystem],
    depth: usize,
) -> Result<(WorkspaceProfile, Vec<std::path::PathBuf>), OracleError> {
    let mut scan = Scan::new(root, depth)?;
    let mut found = Found::default();
    let listed: Vec<Dir> = scan.dirs.clone();
    for eco in ecosystems {
        for dir in &listed {
            detect(*eco, &mut scan, dir, &mut found)?;
        }
    }
    let mut projects = drop_members(found.projects);
    for p in &mut projects {
        if let Some(test) = p.test.as_mut() {
            ci::confirm(test, &scan.ci);
        }
    }
    super::rank::refine(&mut projects);
    let mut profile = WorkspaceProfile::new(root);
    profile.projects = projects;
    profile.ambiguities = found.ambiguities;
    Ok((profile, scan.dirs.into_iter().map(|d| d.rel).collect()))
}

fn detect(eco: Ecosystem, scan: &mut Scan, dir: &Dir, out: &mut Found) -> Result<(), OracleError> {
    match eco {
        Ecosystem::NestedCargo => nested_cargo(scan, dir, out),
        Ecosystem::Go => super::go::detect(scan, dir, out),
        Ecosystem::Python => super::python::detect(scan, dir, out),
        Ecosystem::Node => super::node::detect(scan, dir, out),
        Ecosystem::Deno => super::scripting::detect_deno(scan, dir, out),
        Ecosystem::Jvm => super::jvm::detect(scan, dir, out),
        Ecosystem::Native => super::native::detect(scan, dir, out),
        Ecosystem::Ruby => super::scripting::detect_ruby(scan, dir, out),
        Ecosystem::Php => super::scripting::detect_php(scan, dir, out),
        Ecosystem::Dotnet => super::dotnet::detect(scan, dir, out),
        Ecosystem::Tasks => super::tasks::detect(scan, dir, out),
    }
}

/// A `Cargo.toml` in any scanned directory, read by the cargo oracle and rebased onto the root.
fn nested_cargo(scan: &mut Scan, dir: &Dir, out: &mut Found) -> Result<(), OracleError> {
    if !dir.has("Cargo.toml") {
        return Ok(());
    }
    let abs = scan.root.join(&dir.rel);
    let inner = futures_lite_block(&abs);
    let profile = match inner {
        Ok(p) => p,
        Err(e) if dir.rel.as_os_str().is_empty() => return Err(e),
        Err(e) => {
            tracing::debug!(dir = %dir.rel.display(), error = %e, "skipping unreadable nested Cargo.toml");
            return Ok(());
        }
    };
    let rebase = |p: &Path| if p.as_os_str().is_empty() { dir.rel.clone() } else { dir.rel.join(p) };
    for mut p in profile.projects {
        p.path = rebase(&p.path);
        p.primary = false;
        p.members = p.members.iter().map(|m| rebase(m)).collect();
        for e in &mut p.evidence {
            e.file = rebase(&e.file);
        }
        for c in [&mut p.setup, &mut p.build, &mut p.test, &mut p.lint].into_iter().flatten() {
            c.cwd = rebase(&c.cwd);
            for e in &mut c.evidence {
                e.file = rebase(&e.file);
            }
        }
        out.projects.push(p);
    }
    Ok(())
}

/// The cargo oracle completes on its first poll (it does blocking reads of small
/// manifests); poll it once without a runtime.
fn futures_lite_block(abs: &Path) -> Result<WorkspaceProfile, OracleError> {
    use std::future::Future;
    let oracle = crate::CargoOracle::new();
    let mut fut = std::pin::pin!(oracle.inspect(abs));
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(r) => r,
        std::task::Poll::Pending => Ok(WorkspaceProfile::new(abs)),
    }
}

/// Projects listed as members of another project of the same kind are folded
/// into it; a cargo package inside another cargo project's directory (a member,
/// an excluded crate, a fixture) is not reported on its own.
fn drop_members(projects: Vec<Project>) -> Vec<Project> {
    let family = |p: &Project| p.kinds.first().cloned().unwrap_or_else(|| p.build_system.clone());
    let keep: Vec<bool> = projects
        .iter()
        .map(|p| {
            !projects.iter().any(|q| {
                let nested_crate = p.build_system == build_systems::CARGO
                    && q.build_system == build_systems::CARGO
                    && p.path != q.path
                    && p.path.starts_with(&q.path);
                // Go modules nested without a go.work are built apart: each keeps its own `go test ./...`.
                let separate_go =
                    q.build_system == build_systems::GO && !q.evidence.iter().any(|e| e.file.ends_with("go.work"));
                !std::ptr::eq(p, q)
                    && (nested_crate || family(q) == family(p) && q.members.contains(&p.path) && !separate_go)
            })
        })
        .collect();
    projects.into_iter().zip(keep).filter_map(|(p, k)| k.then_some(p)).collect()
}
