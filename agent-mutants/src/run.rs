//! Running mutants in parallel job directories.
//!
//! The runner only reads the workspace: mutants are written into job trees
//! under the cache directory ([`MutationConfig`]'s `cache_dir`, by default
//! [`default_cache_dir`]), every process goes through the [`Executor`], and
//! every undo through the [`Snapshotter`] (the job trees have no `.git`, so
//! a `DirSnapshotter` fits; agentctl uses one).
//!
//! A run, in order:
//!
//! 1. The project's ecosystem is read from its root manifest (`Cargo.toml`,
//!    `go.mod`, `package.json`/`tsconfig.json`, a Python manifest) and only
//!    that language's files are mutated (a TypeScript project's `.js` files
//!    are taken as build output). Hidden, dependency, build, vendored and
//!    test-data directories are skipped.
//! 2. Scope: every mutant of every file; or, with `in_diff`, only mutants on
//!    lines `git diff -U0 --relative REV` reports as added or changed (run
//!    through the [`Executor`] in the workspace), test code included, where
//!    [`Operator::RemoveTestStatement`](super::Operator::RemoveTestStatement)
//!    applies. Without a diff or a file list, test-statement removal is left
//!    out: it judges the tests of a change, not the code.
//! 3. Mutants whose `(file, SHA-256 of its content, Mutant::key(), context)`
//!    is in the results cache are reported from it (`cached: true`) and not
//!    run. The context hashes every other source file (tests included), the
//!    root manifests and lockfiles, the toolchain's version and the timeout
//!    floor (see the `cache` module); timeouts are never cached.
//! 4. `jobs` job trees (`<cache>/job-K/tree`) are synced with the workspace
//!    (only changed files rewritten; `.git`, `target` and bytecode caches
//!    left out; `.venv` symlinked, with the job tree's source roots first on
//!    `PYTHONPATH` (the `run_env` module); `node_modules` overlaid so that
//!    workspace package links resolve inside the job tree (the `run_tree`
//!    module)). Each job keeps its own
//!    build cache in `<cache>/job-K/target` (`CARGO_TARGET_DIR`), reused
//!    across mutants and across runs (Go's content-addressed build cache is
//!    shared, as `go` itself allows; Python writes no bytecode).
//! 5. Baseline in job 0: the build (Rust: `cargo test --no-run`) and then the
//!    tests of every affected unit. A failure is
//!    [`MutateError::BaselineFailed`] with the command and a classified
//!    reason. The Rust build cache of job 0 then seeds the other jobs' (the
//!    dependencies are not rebuilt per job).
//! 6. Per-mutant test timeout = `max(min_timeout, 3 × jobs × baseline test
//!    time)`: the baseline ran alone, a mutant's tests share the machine
//!    with `jobs - 1` others, and a mutant may be up to ~3× slower on its
//!    own before it counts as hung.
//! 7. Each job snapshots its tree through the [`Snapshotter`] and, per
//!    mutant: writes the mutated file, runs the cheap check (failure:
//!    unviable), the affected unit's tests with the timeout (fail: caught;
//!    pass: missed; a wall or idle limit: timeout), and restores the
//!    snapshot. A Go or TypeScript/JavaScript check that fails only with
//!    findings the unmutated code has too (a `go vet` finding, a type
//!    error already there) is not unviable: the tests decide (see the
//!    `run_checks` module). Rust's tests are built by that same `cargo test` (one cargo
//!    process fewer per mutant): its limit is the timeout plus the baseline
//!    build's time, and "could not compile" in its output is unviable.
//! 8. Rust mutant schemata (unless [`MutationConfig::schemata`] is off, or
//!    the project has doctests, which a test binary run would skip): before
//!    the jobs start, the mutants of ordinary code are switched into one
//!    build in job 0 (see the `run_schema` module); each of them is then run
//!    as the package's already-built test executables with
//!    `AGENTKIT_MUTANT=ID` (the job's tree as working directory, the test
//!    timeout as limit): a failure is caught, a pass missed. Such a mutant
//!    is viable by construction (its build is the schema's). The others,
//!    and all of them when the schema does not build, take the per-mutant
//!    path above, which is queued first (it is the slow one). The switched
//!    mutants are listed in `<cache>/schema-bin/mutants.txt` (`FILE KEY` lines).
//!
//! Speed levers, none of which changes an outcome: parallel jobs (`jobs`,
//! by default one per core, at most 4); a build cache per job kept across
//! mutants and runs, seeded from job 0's after the baseline; job trees
//! synced by content, so cargo does not rebuild unchanged files; Rust builds
//! without debug info (`CARGO_PROFILE_DEV_DEBUG=0`,
//! `CARGO_PROFILE_TEST_DEBUG=0`: less to write and link); `cargo test
//! --tests` (no doctest run, no example built) when no doc comment holds a
//! code block; test runners that stop at the first failure (`pytest -x`,
//! `go test -failfast`, cargo's default); the results cache; and the Rust
//! schemata.

#[path = "run_schema.rs"]
mod run_schema;
#[path = "run_schema_base.rs"]
mod run_schema_base;
#[path = "run_schema_build.rs"]
mod run_schema_build;

use super::cache::{self, CachedOutcome, ResultCache};
use super::run_cargo;
use super::run_project::{self, Ecosystem, Project};
use super::run_tree;
use super::{
    ChangedLines, Mutant, MutantOutcome, MutantResult, MutationReport, Operator, TypeFacts, changed_lines,
    generate_with,
};
use agent_core::exec::{CommandSpec, ExecError, OutputCaps, RunOutput};
use agent_core::snapshot::{SnapshotError, SnapshotId};
use agent_core::workspace::WorkspaceProfile;
use agent_core::{Executor, Snapshotter, WorkspaceOracle};
use agent_syntax::Lang;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Default lower bound of the per-mutant test timeout.
pub const DEFAULT_MIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Files at the root that outcomes depend on besides the sources: manifests,
/// lockfiles, toolchain pins and test configuration.
const CONTEXT_FILES: &[&str] = &[
    "Cargo.toml",
    "Cargo.lock",
    "rust-toolchain",
    "rust-toolchain.toml",
    "go.mod",
    "go.sum",
    "go.work",
    "package.json",
    "package-lock.json",
    "pnpm-lock.yaml",
    "yarn.lock",
    "tsconfig.json",
    "pyproject.toml",
    "uv.lock",
    "poetry.lock",
    "pdm.lock",
    "requirements.txt",
    "setup.py",
    "setup.cfg",
    "pytest.ini",
    "tox.ini",
    ".venv/pyvenv.cfg",
];

/// Upper bound of the check and build steps, which have no baseline to scale from.
const BUILD_TIMEOUT: Duration = Duration::from_secs(600);

/// How a mutation run is done.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct MutationConfig {
    /// Parallel jobs (0: one per core, at most 4).
    pub jobs: usize,
    /// Only lines changed since this git revision (and tests changed in it).
    pub in_diff: Option<String>,
    /// Only mutants of these files (relative to the root). With `in_diff`,
    /// a listed file the diff does not mention (an untracked file) is
    /// mutated whole.
    pub files: Option<Vec<String>>,
    /// Where the results cache and the job trees and build caches live
    /// (default: `agentkit-mutants/<hash of the root path>` under the
    /// system's temporary directory, so a re-run of the same workspace reuses it).
    pub cache_dir: Option<PathBuf>,
    /// Lower bound of the per-mutant test timeout.
    pub min_timeout: Duration,
    /// Rust: build the mutants of ordinary code into one schema and run the
    /// test executables once per mutant instead of building each (default on).
    pub schemata: bool,
    /// Called with the run's [`Progress`](crate::Progress) before the first
    /// mutant runs and after every mutant (default: none).
    pub progress: Option<crate::ProgressObserver>,
}

impl Default for MutationConfig {
    fn default() -> Self {
        Self {
            jobs: 0,
            in_diff: None,
            files: None,
            cache_dir: None,
            min_timeout: DEFAULT_MIN_TIMEOUT,
            schemata: true,
            progress: None,
        }
    }
}

impl MutationConfig {
    /// Reports the run's progress to `observer`.
    pub fn progress(mut self, observer: crate::ProgressObserver) -> Self {
        self.progress = Some(observer);
        self
    }

    /// Sets the number of parallel jobs (0: one per core, at most 4).
    pub fn jobs(mut self, jobs: usize) -> Self {
        self.jobs = jobs;
        self
    }

    /// Limits the run to lines changed since `rev`.
    pub fn in_diff(mut self, rev: impl Into<String>) -> Self {
        self.in_diff = Some(rev.into());
        self
    }

    /// Limits the run to mutants of these files.
    pub fn files(mut self, files: Vec<String>) -> Self {
        self.files = Some(files);
        self
    }

    /// Sets the cache directory.
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Sets the lower bound of the per-mutant test timeout.
    pub fn min_timeout(mut self, limit: Duration) -> Self {
        self.min_timeout = limit;
        self
    }

    /// Turns Rust mutant schemata on or off (off: every mutant is built on its own).
    pub fn schemata(mut self, on: bool) -> Self {
        self.schemata = on;
        self
    }

    /// The number of jobs actually used: `jobs`, or one per core (at most 4) when 0.
    pub fn effective_jobs(&self) -> usize {
        if self.jobs > 0 {
            return self.jobs;
        }
        std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
    }
}

/// The per-mutant test timeout: `max(min, 3 × jobs × baseline)`.
pub fn test_timeout(baseline: Duration, jobs: usize, min: Duration) -> Duration {
    let scaled = baseline.saturating_mul(3).saturating_mul(u32::try_from(jobs.max(1)).unwrap_or(u32::MAX));
    scaled.max(min)
}

/// Why a mutation run could not give a score.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MutateError {
    /// The tests (or their build) fail before any mutation: there is nothing to score.
    #[error("the baseline test run failed ({command}): {reason}; fix the tests before mutating")]
    BaselineFailed {
        /// The command that failed.
        command: String,
        /// What failed, from the classified output.
        reason: String,
        /// Whether it failed by running past its time limit.
        timed_out: bool,
    },
    /// No project manifest this engine knows was found at the root.
    #[error("no Cargo.toml, go.mod, package.json, tsconfig.json or Python manifest at {}", root.display())]
    UnsupportedProject {
        /// The root.
        root: PathBuf,
    },
    /// `git diff` for `--in-diff` failed (not a repository, unknown revision).
    #[error("git diff {rev} failed: {reason}")]
    DiffFailed {
        /// The revision asked for.
        rev: String,
        /// What git said.
        reason: String,
    },
    /// A command could not be run at all (a missing toolchain).
    #[error("could not run {command}: {source}")]
    Exec {
        /// The command.
        command: String,
        /// The executor's error.
        #[source]
        source: ExecError,
    },
    /// Taking or restoring a job tree's snapshot failed.
    #[error("snapshot of job tree {} failed: {source}", root.display())]
    Snapshot {
        /// The job tree.
        root: PathBuf,
        /// The snapshotter's error.
        #[source]
        source: SnapshotError,
    },
    /// Reading the workspace or writing a job tree or the cache failed.
    #[error("i/o on {}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> MutateError + '_ {
    move |source| MutateError::Io { path: path.to_path_buf(), source }
}

/// Runs mutants through an [`Executor`] and a [`Snapshotter`].
///
/// The snapshotter is used on the job trees under the cache directory,
/// which are plain directories (no `.git`): give it one that handles those
/// (agent-sandbox's `DirSnapshotter`). The workspace itself is only read.
#[derive(Clone)]
pub struct MutationRunner {
    executor: Arc<dyn Executor>,
    snapshotter: Arc<dyn Snapshotter>,
}

/// One mutant waiting to run, with the source it was generated from.
struct Pending {
    index: usize,
    mutant: Mutant,
    source: Arc<String>,
    cache_key: String,
    /// Set when the mutant is switched into a built schema.
    schema: Option<SchemaRun>,
}

/// How a schema mutant runs: its switch value and its package's test executables.
#[derive(Clone)]
struct SchemaRun {
    id: u32,
    /// The package directory, relative to the tree (the tests' working directory).
    package_dir: String,
    /// The test executables of its package and of the members that depend on it.
    executables: Arc<Vec<PathBuf>>,
    /// The doctests that reached its site, run when the executables all pass.
    doctests: Arc<Vec<run_schema_base::DocSelection>>,
}

/// Where a schema is built and for what.
#[derive(Clone, Copy)]
struct SchemaScope<'a> {
    root: &'a Path,
    cache_dir: &'a Path,
    units: &'a BTreeSet<String>,
    jobs: usize,
}

/// The limits of a schema mutant's runs, from the schema's baseline.
#[derive(Clone, Copy, Debug, Default)]
struct SchemaLimits {
    /// One pass of the test executables.
    tests: Duration,
    /// One doctest run.
    doctests: Duration,
}

/// What every job shares.
struct Shared {
    executor: Arc<dyn Executor>,
    snapshotter: Arc<dyn Snapshotter>,
    project: Project,
    queue: Mutex<VecDeque<Pending>>,
    cache: Mutex<ResultCache>,
    timeout: Duration,
    /// Rust builds inside the timed `cargo test`: the baseline build's time is added to the limit.
    build_allowance: Duration,
    /// The limits of a schema mutant's test executables and doctest runs.
    schema_limits: SchemaLimits,
    /// Where the schema's tree and build cache are (`<cache>/schema`).
    schema_dir: PathBuf,
    /// The run's progress, when someone watches it.
    progress: Option<crate::progress::Tracker>,
    /// The findings of the cheap checks on the unmutated code (see the `run_checks` module).
    checks: super::run_checks::Baselines,
}

impl MutationRunner {
    /// A runner over these parts.
    pub fn new(executor: Arc<dyn Executor>, snapshotter: Arc<dyn Snapshotter>) -> Self {
        Self { executor, snapshotter }
    }

    /// Mutates the workspace at `root` and reports every mutant's outcome.
    pub async fn run(&self, root: &Path, config: &MutationConfig) -> Result<MutationReport, MutateError> {
        let started = Instant::now();
        let root = root.canonicalize().map_err(io_err(root))?;
        let eco = Ecosystem::detect(&root).ok_or_else(|| MutateError::UnsupportedProject { root: root.clone() })?;
        let profile: Option<WorkspaceProfile> = agent_oracles::default_oracle().inspect(&root).await.ok();
        let mut project = Project::new(&root, eco, profile.as_ref());
        let cache_dir = match &config.cache_dir {
            Some(dir) => dir.clone(),
            None => default_cache_dir(&root),
        };
        std::fs::create_dir_all(&cache_dir).map_err(io_err(&cache_dir))?;
        let cache_dir = cache_dir.canonicalize().map_err(io_err(&cache_dir))?;

        let files =
            run_tree::source_files(&root, &cache_dir, &|f| project.is_source(f).is_some()).map_err(io_err(&root))?;
        project.index_sources(&files);
        let changed = match &config.in_diff {
            Some(rev) => Some(self.changed_since(&root, rev).await?),
            None => None,
        };
        let scoped = changed.is_some() || config.files.is_some();
        let facts = rust_type_facts(&root, &project, &files);
        let no_facts = TypeFacts::default();
        let mut sources: BTreeMap<String, Arc<String>> = BTreeMap::new();
        let mut mutants: Vec<Mutant> = Vec::new();
        for file in &files {
            if let Some(only) = &config.files {
                if !only.iter().any(|f| f == file) {
                    continue;
                }
            }
            let whole_file = config.files.is_some() && changed.as_ref().is_some_and(|c| !c.files().any(|f| f == file));
            if let Some(c) = &changed {
                if !whole_file && !c.files().any(|f| f == file) {
                    continue;
                }
            }
            let Some(lang) = project.is_source(file) else { continue };
            if project.never_tested(file) {
                continue;
            }
            let path = root.join(file);
            let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
            let unit_facts = match lang {
                Lang::Rust => facts.get(&project.unit_of(file)).unwrap_or(&no_facts),
                _ => &no_facts,
            };
            let kept = generate_with(file, lang, &text, unit_facts).into_iter().filter(|m| {
                let in_scope = whole_file || changed.as_ref().is_none_or(|c| c.contains(file, m.line));
                in_scope && (scoped || m.operator != Operator::RemoveTestStatement)
            });
            mutants.extend(kept);
            sources.insert(file.clone(), Arc::new(text));
        }
        mutants
            .sort_by(|a, b| (&a.file, a.line, a.column, a.byte_start).cmp(&(&b.file, b.line, b.column, b.byte_start)));

        let context = self.cache_context(&root, &project, &files, config).await;
        let result_cache = ResultCache::load(cache_dir.join("results.json"));
        let mut results: Vec<Option<MutantResult>> = vec![None; mutants.len()];
        let mut pending = VecDeque::new();
        let mut hashes: BTreeMap<&str, String> = BTreeMap::new();
        for (index, mutant) in mutants.iter().enumerate() {
            let Some(source) = sources.get(&mutant.file) else { continue };
            let sha = hashes.entry(mutant.file.as_str()).or_insert_with(|| cache::sha256_hex(source.as_bytes()));
            let key = cache::key(sha, &context, mutant);
            match result_cache.get(&key) {
                Some(hit) => {
                    results[index] = Some(MutantResult {
                        mutant: mutant.clone(),
                        outcome: hit.outcome,
                        duration_ms: hit.duration_ms,
                        cached: true,
                    });
                }
                None => pending.push_back(Pending {
                    index,
                    mutant: mutant.clone(),
                    source: Arc::clone(source),
                    cache_key: key,
                    schema: None,
                }),
            }
        }

        let jobs = config.effective_jobs().min(pending.len()).max(1);
        let mut report = MutationReport { jobs, ..MutationReport::default() };
        if !pending.is_empty() {
            let units: BTreeSet<String> = pending.iter().map(|p| project.unit_of(&p.mutant.file)).collect();
            let trees = self.prepare_jobs(&root, &cache_dir, jobs).await?;
            if eco == Ecosystem::Cargo {
                if let Some(workspace) = self.cargo_workspace(&trees[0]).await {
                    project.set_cargo(workspace);
                }
            }
            let (build_allowance, baseline) = self.baseline(&project, &root, &cache_dir, &units).await?;
            let timeout = test_timeout(baseline, jobs, config.min_timeout);
            report.baseline_ms = duration_ms(baseline);
            report.timeout_ms = duration_ms(timeout);
            let mut schema_limits = SchemaLimits::default();
            if eco == Ecosystem::Cargo {
                seed_build_caches(&cache_dir, jobs).await?;
                if config.schemata {
                    let scope = SchemaScope { root: &root, cache_dir: &cache_dir, units: &units, jobs };
                    (pending, schema_limits) =
                        self.schema(&project, scope, pending, &sources, config.min_timeout).await?;
                }
            }
            tracing::info!(mutants = pending.len(), jobs, timeout_ms = report.timeout_ms, "running mutants");
            let progress = config.progress.clone().map(|observer| {
                let cached: Vec<MutantOutcome> = results.iter().flatten().map(|r| r.outcome).collect();
                crate::progress::Tracker::new(observer, cached.len() + pending.len(), &cached)
            });
            if let Some(tracker) = &progress {
                tracker.start();
            }
            let shared = Arc::new(Shared {
                executor: Arc::clone(&self.executor),
                snapshotter: Arc::clone(&self.snapshotter),
                project,
                queue: Mutex::new(pending),
                cache: Mutex::new(result_cache),
                timeout,
                build_allowance,
                schema_limits,
                schema_dir: cache_dir.join("schema"),
                progress,
                checks: super::run_checks::Baselines::default(),
            });
            let mut set = tokio::task::JoinSet::new();
            for (k, tree) in trees.into_iter().enumerate() {
                let shared = Arc::clone(&shared);
                let job_cache = cache_dir.join(format!("job-{k}"));
                set.spawn(async move { run_job(shared, tree, job_cache).await });
            }
            let mut first_error = None;
            while let Some(joined) = set.join_next().await {
                match joined {
                    Ok(Ok(done)) => {
                        for r in done {
                            let slot = r.0;
                            results[slot] = Some(r.1);
                        }
                    }
                    Ok(Err(e)) => {
                        first_error.get_or_insert(e);
                        set.abort_all();
                    }
                    Err(join) if join.is_cancelled() => {}
                    Err(join) => {
                        first_error.get_or_insert(MutateError::Io {
                            path: cache_dir.clone(),
                            source: std::io::Error::other(format!("a mutation job panicked: {join}")),
                        });
                    }
                }
            }
            if let Some(e) = first_error {
                return Err(e);
            }
        }
        report.mutants = results.into_iter().flatten().collect();
        report.tally();
        report.wall_ms = duration_ms(started.elapsed());
        Ok(report)
    }

    /// Builds the schema of the pending Rust mutants in the schema tree
    /// (`<cache>/schema/tree`, a copy of the workspace kept apart from the
    /// job trees, with its own build cache seeded from job 0's) and marks the
    /// ones it holds; returns the queue, per-mutant path first, and the
    /// limit of a schema mutant's doctest run.
    async fn schema(
        &self,
        project: &Project,
        scope: SchemaScope<'_>,
        pending: VecDeque<Pending>,
        sources: &BTreeMap<String, Arc<String>>,
        min_timeout: Duration,
    ) -> Result<(VecDeque<Pending>, SchemaLimits), MutateError> {
        let SchemaScope { root, cache_dir, units, jobs } = scope;
        let schema_dir = cache_dir.join("schema");
        let tree = schema_dir.join("tree");
        // Never leave a former run's list behind.
        let list = schema_dir.join("mutants.txt");
        if list.exists() {
            std::fs::remove_file(&list).map_err(io_err(&list))?;
        }
        prepare_schema_tree(root, cache_dir).await?;
        let numbered: Vec<(u32, &Mutant)> = pending
            .iter()
            .filter(|p| !project.cargo_member(&project.unit_of(&p.mutant.file)).is_some_and(|m| m.proc_macro))
            .map(|p| (u32::try_from(p.index + 1).unwrap_or(u32::MAX), &p.mutant))
            .collect();
        let built = run_schema_build::build(&*self.executor, project, &schema_dir, units, &numbered, sources).await?;
        let Some(built) = built else { return Ok((pending, SchemaLimits::default())) };
        // The schema's baseline, with no mutant switched on and the sites
        // traced (see the `run_schema_base` module).
        let doc_packages: BTreeSet<String> = units.iter().flat_map(|u| project.doctest_packages(u)).collect();
        let job_cache = cache_dir.join("job-0");
        let base = run_schema_base::run_baseline(
            &self.executor,
            project,
            &job_cache,
            &schema_dir,
            &built.executables,
            &doc_packages,
            jobs,
        )
        .await?;
        let Some(base) = base else {
            tracing::info!("the schema's baseline failed; per-mutant path");
            return Ok((pending, SchemaLimits::default()));
        };
        let (tests, doctests) = run_schema_base::limits(&base, jobs, min_timeout);
        let limits = SchemaLimits { tests, doctests };
        let (mut old, mut switched) = (VecDeque::new(), VecDeque::new());
        for mut p in pending {
            let id = u32::try_from(p.index + 1).unwrap_or(u32::MAX);
            let unit = project.unit_of(&p.mutant.file);
            let dir = run_project::cargo_package_dir(&tree, &p.mutant.file);
            // The test executables of the mutant's package and of every member that depends on it.
            let mut exes: Vec<PathBuf> = Vec::new();
            let mut found = dir.as_ref().is_some_and(|d| built.executables.contains_key(d));
            for name in project.reach(&unit) {
                let member_dir = match project.cargo_member(&name) {
                    Some(m) => Some(m.dir.clone()),
                    None if name == unit => dir.clone(),
                    None => None,
                };
                if let Some(list) = member_dir.as_ref().and_then(|d| built.executables.get(d)) {
                    exes.extend(list.iter().cloned());
                    found = true;
                }
            }
            match (built.ids.contains(&id), dir, found) {
                (true, Some(package_dir), true) => {
                    // Only what reaches the mutant's site runs it; nothing reaches it: missed without a run.
                    let exes = if base.by_tests.contains(&id) { exes } else { Vec::new() };
                    let docs = base.doctests_for(id, &project.doctest_packages(&unit));
                    p.schema =
                        Some(SchemaRun { id, package_dir, executables: Arc::new(exes), doctests: Arc::new(docs) });
                    switched.push_back(p);
                }
                _ => old.push_back(p),
            }
        }
        tracing::info!(schema = switched.len(), per_mutant = old.len(), "mutant schema built");
        // The list of switched mutants, for whoever wants to see which path a mutant took.
        let listed: String = switched.iter().map(|p| format!("{} {}\n", p.mutant.file, p.mutant.key())).collect();
        std::fs::write(&list, listed).map_err(io_err(&list))?;
        old.extend(switched);
        Ok((old, limits))
    }

    /// The workspace's members from `cargo metadata --no-deps` in `tree` (a
    /// job tree: cargo may write there); `None` when it fails, and then each
    /// package is tested alone.
    async fn cargo_workspace(&self, tree: &Path) -> Option<run_cargo::CargoWorkspace> {
        let spec = CommandSpec::new("cargo")
            .args(["metadata", "--no-deps", "--format-version", "1", "--offline"])
            .cwd(tree)
            .output_caps(OutputCaps { head_bytes: 64 << 20, tail_bytes: 0 })
            .wall_timeout(Duration::from_secs(120));
        match self.executor.run(spec).await {
            Ok(out) if out.success() => run_cargo::CargoWorkspace::parse(&out.stdout.text(), tree),
            Ok(out) => {
                tracing::warn!(stderr = %out.stderr.text().trim(), "cargo metadata failed; no dependants are tested");
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, "cargo metadata did not run; no dependants are tested");
                None
            }
        }
    }

    /// The lines changed since `rev`, from `git diff -U0 --relative REV` in `root`.
    async fn changed_since(&self, root: &Path, rev: &str) -> Result<ChangedLines, MutateError> {
        let spec = CommandSpec::new("git")
            .args(["diff", "-U0", "--no-color", "--no-ext-diff", "--relative", rev, "--"])
            .cwd(root)
            .output_caps(OutputCaps { head_bytes: 64 << 20, tail_bytes: 0 })
            .wall_timeout(Duration::from_secs(120));
        let command = spec.display_redacted();
        let out = self.executor.run(spec).await.map_err(|source| MutateError::Exec { command, source })?;
        if !out.success() {
            let said = out.stderr.text();
            let reason = said.lines().find(|l| !l.trim().is_empty()).unwrap_or("no output").trim().to_owned();
            return Err(MutateError::DiffFailed { rev: rev.to_owned(), reason });
        }
        Ok(changed_lines(&out.stdout.text()))
    }

    /// The results cache's [`cache::Context`] of this run: every source file
    /// (tests included), the root manifests and lockfiles (and each Rust
    /// package's manifest, and a Python `.venv`'s `pyvenv.cfg`), the
    /// toolchain's version and the timeout floor.
    async fn cache_context(&self, root: &Path, project: &Project, files: &[String], config: &MutationConfig) -> String {
        let (program, args): (&str, &[&str]) = match project.eco {
            Ecosystem::Cargo => ("rustc", &["--version"]),
            Ecosystem::Go => ("go", &["version"]),
            Ecosystem::Python => ("python3", &["--version"]),
            Ecosystem::Node => ("node", &["--version"]),
        };
        let spec = CommandSpec::new(program).args(args.iter().copied()).cwd(root).wall_timeout(Duration::from_secs(60));
        let toolchain = match self.executor.run(spec).await {
            Ok(out) if out.success() => format!("{}{}", out.stdout.text().trim(), out.stderr.text().trim()),
            _ => format!("{program}: unknown"),
        };
        let mut paths: BTreeSet<String> = files.iter().cloned().collect();
        paths.extend(CONTEXT_FILES.iter().map(|f| (*f).to_owned()).filter(|f| root.join(f).is_file()));
        if project.eco == Ecosystem::Cargo {
            for file in files {
                if let Some(dir) = run_project::cargo_package_dir(root, file) {
                    paths.insert(if dir.is_empty() { "Cargo.toml".to_owned() } else { format!("{dir}/Cargo.toml") });
                }
            }
        }
        let mut context = cache::Context::new(&toolchain, duration_ms(config.min_timeout));
        for path in &paths {
            if let Ok(bytes) = std::fs::read(root.join(path)) {
                context = context.file(path, &bytes);
            }
        }
        context.finish()
    }

    /// Syncs `jobs` job trees with the workspace; returns their paths.
    async fn prepare_jobs(&self, root: &Path, cache_dir: &Path, jobs: usize) -> Result<Vec<PathBuf>, MutateError> {
        let trees: Vec<PathBuf> = (0..jobs).map(|k| cache_dir.join(format!("job-{k}")).join("tree")).collect();
        let (root, cache_dir, list) = (root.to_path_buf(), cache_dir.to_path_buf(), trees.clone());
        tokio::task::spawn_blocking(move || {
            for tree in &list {
                run_tree::sync_tree(&root, tree, &cache_dir).map_err(io_err(tree))?;
            }
            Ok::<(), MutateError>(())
        })
        .await
        .map_err(|e| MutateError::Io { path: PathBuf::from("job trees"), source: std::io::Error::other(e) })??;
        Ok(trees)
    }

    /// The baseline build and tests in job 0; returns the build's and the test run's durations.
    async fn baseline(
        &self,
        project: &Project,
        root: &Path,
        cache_dir: &Path,
        units: &BTreeSet<String>,
    ) -> Result<(Duration, Duration), MutateError> {
        let job_cache = cache_dir.join("job-0");
        let tree = job_cache.join("tree");
        let env = project.env(&job_cache);
        let mut build_time = Duration::ZERO;
        if let Some(build) = project.build(&tree, units) {
            let out = run(&*self.executor, build.env(env.clone()).wall_timeout(BUILD_TIMEOUT)).await?;
            if !out.success() {
                return Err(baseline_failed(project, root, &out));
            }
            build_time = Duration::from_millis(out.duration_ms);
        }
        let test = project.test(&tree, units).env(env).wall_timeout(BUILD_TIMEOUT);
        let out = run(&*self.executor, test).await?;
        if !out.success() {
            return Err(baseline_failed(project, root, &out));
        }
        Ok((build_time, Duration::from_millis(out.duration_ms)))
    }
}

/// `agentkit-mutants/<first 16 hex digits of SHA-256 of the root path>` under the temp dir.
pub fn default_cache_dir(root: &Path) -> PathBuf {
    let digest = cache::sha256_hex(root.as_os_str().as_encoded_bytes());
    std::env::temp_dir().join("agentkit-mutants").join(&digest[..16])
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

async fn run(executor: &dyn Executor, spec: CommandSpec) -> Result<RunOutput, MutateError> {
    let command = spec.display_redacted();
    executor.run(spec).await.map_err(|source| MutateError::Exec { command, source })
}

fn baseline_failed(project: &Project, root: &Path, out: &RunOutput) -> MutateError {
    let timed_out = out.timed_out.is_some();
    let reason = if timed_out {
        format!("ran past its {} ms limit", out.duration_ms)
    } else {
        failure_reason(project.eco, root, out)
    };
    MutateError::BaselineFailed { command: agent_core::exec::redact_command_line(&out.command), reason, timed_out }
}

/// A one-line reason from the classified output of a failed run.
fn failure_reason(eco: Ecosystem, root: &Path, out: &RunOutput) -> String {
    let classification =
        agent_classify::classifier_for(eco.tool()).map(|c| c.classify(out, &WorkspaceProfile::new(root.to_path_buf())));
    if let Some(c) = classification {
        if let Some(first) = c.failures.first() {
            let place = first
                .test_name
                .clone()
                .or_else(|| first.file.as_ref().map(|f| f.display().to_string()))
                .map(|p| format!(" in {p}"))
                .unwrap_or_default();
            let message = first.message.lines().next().unwrap_or_default().trim();
            let more =
                if c.failures.len() > 1 { format!(" (and {} more)", c.failures.len() - 1) } else { String::new() };
            return format!("{}{place}: {message}{more}", first.kind.name());
        }
        if let Some(note) = c.notes.first() {
            return note.clone();
        }
    }
    let text = format!("{}\n{}", out.stdout.text(), out.stderr.text());
    let last = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no output").trim();
    match out.exit_code {
        Some(code) => format!("exit code {code}: {last}"),
        None => format!("killed by signal {}: {last}", out.signal.unwrap_or_default()),
    }
}

/// Copies the build cache `first` to `target` when `target` has none yet
/// (through a `.partial` directory renamed at the end, so an interrupted
/// copy is never taken for a cache).
fn seed_target(first: &Path, target: &Path) -> Result<(), MutateError> {
    if first.is_dir() && !target.exists() {
        let partial = target.with_extension("partial");
        let _ = std::fs::remove_dir_all(&partial);
        run_tree::copy_dir(first, &partial).map_err(io_err(&partial))?;
        std::fs::rename(&partial, target).map_err(io_err(target))?;
    }
    Ok(())
}

/// Copies job 0's cargo build cache to every job that has none yet.
async fn seed_build_caches(cache_dir: &Path, jobs: usize) -> Result<(), MutateError> {
    let cache_dir = cache_dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let first = cache_dir.join("job-0").join("target");
        for k in 1..jobs {
            seed_target(&first, &cache_dir.join(format!("job-{k}")).join("target"))?;
        }
        Ok::<(), MutateError>(())
    })
    .await
    .map_err(|e| MutateError::Io { path: PathBuf::from("build caches"), source: std::io::Error::other(e) })?
}

/// One job: snapshot its tree, then take mutants off the queue until it is empty.
async fn run_job(
    shared: Arc<Shared>,
    tree: PathBuf,
    job_cache: PathBuf,
) -> Result<Vec<(usize, MutantResult)>, MutateError> {
    let snap_err = |tree: &Path| {
        let root = tree.to_path_buf();
        move |source| MutateError::Snapshot { root, source }
    };
    let id = shared.snapshotter.snapshot(&tree).await.map_err(snap_err(&tree))?;
    let mut done = Vec::new();
    let outcome = loop {
        let next = shared.queue.lock().map_or(None, |mut q| q.pop_front());
        let Some(pending) = next else { break Ok(()) };
        match run_mutant(&shared, &tree, &job_cache, &id, &pending).await {
            Ok(result) => {
                // A timeout is never remembered: it says as much about the machine's load as about the tests.
                if cache::cacheable(result.outcome) {
                    if let Ok(mut cache) = shared.cache.lock() {
                        let value = CachedOutcome { outcome: result.outcome, duration_ms: result.duration_ms };
                        if let Err(e) = cache.insert(pending.cache_key.clone(), value) {
                            tracing::warn!(path = %cache.path().display(), error = %e, "could not write the results cache");
                        }
                    }
                }
                if let Some(tracker) = &shared.progress {
                    tracker.record(result.outcome);
                }
                done.push((pending.index, result));
            }
            Err(e) => break Err(e),
        }
    };
    let discarded = shared.snapshotter.discard(&tree, &id).await.map_err(snap_err(&tree));
    outcome?;
    discarded?;
    Ok(done)
}

/// Writes, checks, builds and tests one mutant in `tree`, then restores the tree.
async fn run_mutant(
    shared: &Shared,
    tree: &Path,
    job_cache: &Path,
    id: &SnapshotId,
    pending: &Pending,
) -> Result<MutantResult, MutateError> {
    let started = Instant::now();
    let mutant = &pending.mutant;
    if let Some(schema) = &pending.schema {
        let outcome = test_schema_mutant(shared, tree, job_cache, schema).await?;
        let duration_ms = duration_ms(started.elapsed());
        tracing::info!(file = %mutant.file, line = mutant.line, operator = mutant.operator.name(), ?outcome, duration_ms, "schema mutant done");
        return Ok(MutantResult { mutant: mutant.clone(), outcome, duration_ms, cached: false });
    }
    let path = tree.join(&mutant.file);
    tokio::fs::write(&path, mutant.apply(&pending.source)).await.map_err(io_err(&path))?;
    let outcome = test_mutant(shared, tree, job_cache, mutant, &pending.source).await;
    let restored = shared.snapshotter.restore(tree, id).await;
    if mutant.lang == Lang::Python {
        // The check's `.pyc` of the mutant: never let a later import read it.
        if let Some(pycache) = path.parent().map(|d| d.join("__pycache__")) {
            let _ = tokio::fs::remove_dir_all(&pycache).await;
        }
    }
    let outcome = outcome?;
    restored.map_err(|source| MutateError::Snapshot { root: tree.to_path_buf(), source })?;
    let duration_ms = duration_ms(started.elapsed());
    tracing::info!(file = %mutant.file, line = mutant.line, operator = mutant.operator.name(), ?outcome, duration_ms, "mutant done");
    Ok(MutantResult { mutant: mutant.clone(), outcome, duration_ms, cached: false })
}

async fn test_mutant(
    shared: &Shared,
    tree: &Path,
    job_cache: &Path,
    mutant: &Mutant,
    source: &str,
) -> Result<MutantOutcome, MutateError> {
    let project = &shared.project;
    let env = project.env(job_cache);
    let failed = |out: &RunOutput| {
        if out.timed_out.is_some() {
            Some(MutantOutcome::Timeout)
        } else {
            (!out.success()).then_some(MutantOutcome::Unviable)
        }
    };
    if let Some(check) = project.check(tree, job_cache, mutant) {
        let check = check.env(env.clone()).wall_timeout(BUILD_TIMEOUT);
        let out = run(&*shared.executor, check.clone()).await?;
        if let Some(outcome) = failed(&out) {
            // A check that fails only with the unmutated code's findings leaves the verdict to the tests.
            let failed = super::run_checks::FailedCheck {
                eco: project.eco,
                job_cache,
                tree,
                file: &mutant.file,
                original: source,
                mutated: &mutant.apply(source),
                check: &check,
                out: &out,
            };
            if !shared.checks.only_known_findings(&*shared.executor, failed).await? {
                return Ok(outcome);
            }
        }
    }
    // The build of the tests happens inside the timed `cargo test` (one
    // cargo process instead of two per mutant); its limit gets the baseline
    // build's time on top, and a compile error there is unviable, not caught.
    let units: BTreeSet<String> = std::iter::once(project.unit_of(&mutant.file)).collect();
    let limit = shared.timeout.saturating_add(shared.build_allowance);
    let test = project.test(tree, &units).env(env).wall_timeout(limit);
    let out = run(&*shared.executor, test).await?;
    Ok(if out.timed_out.is_some() {
        MutantOutcome::Timeout
    } else if out.success() {
        MutantOutcome::Missed
    } else if project.eco == Ecosystem::Cargo && did_not_compile(&out) {
        MutantOutcome::Unviable
    } else {
        MutantOutcome::Caught
    })
}

/// Runs a package's schema test executables with the mutant switched on:
/// the first failing one catches it, a timed-out one times it out.
async fn test_schema_mutant(
    shared: &Shared,
    tree: &Path,
    job_cache: &Path,
    schema: &SchemaRun,
) -> Result<MutantOutcome, MutateError> {
    let dir = if schema.package_dir.is_empty() { tree.to_path_buf() } else { tree.join(&schema.package_dir) };
    let (project, limits) = (&shared.project, shared.schema_limits);
    let tests = schema
        .executables
        .iter()
        .map(|exe| run_schema_base::exe_command(project, job_cache, &dir, exe, schema.id).wall_timeout(limits.tests));
    // Doctests link the schema's library, so the switch reaches them too;
    // rustdoc compiles them again on every run, which is why they come last.
    let doctests = schema.doctests.iter().map(|selection| {
        run_schema_base::doc_command(project, &shared.schema_dir, selection, schema.id, None)
            .wall_timeout(limits.doctests)
    });
    for spec in tests.chain(doctests) {
        let out = run(&*shared.executor, spec).await?;
        if out.timed_out.is_some() {
            return Ok(MutantOutcome::Timeout);
        }
        if !out.success() {
            return Ok(MutantOutcome::Caught);
        }
    }
    Ok(MutantOutcome::Missed)
}

/// Syncs the schema tree (`<cache>/schema/tree`) with the workspace and
/// seeds its build cache from job 0's when it has none.
async fn prepare_schema_tree(root: &Path, cache_dir: &Path) -> Result<(), MutateError> {
    let (root, cache_dir) = (root.to_path_buf(), cache_dir.to_path_buf());
    tokio::task::spawn_blocking(move || {
        let schema_dir = cache_dir.join("schema");
        let tree = schema_dir.join("tree");
        run_tree::sync_tree(&root, &tree, &cache_dir).map_err(io_err(&tree))?;
        seed_target(&cache_dir.join("job-0").join("target"), &schema_dir.join("target"))
    })
    .await
    .map_err(|e| MutateError::Io { path: PathBuf::from("schema tree"), source: std::io::Error::other(e) })?
}

/// Whether cargo's output says a crate did not compile.
fn did_not_compile(out: &RunOutput) -> bool {
    let says = |text: String| text.contains("error: could not compile");
    says(out.stderr.text()) || says(out.stdout.text())
}

/// What is known about the types of each Rust package (by
/// `Project::unit_of`), read from all of its source files: which of them
/// implement `Default`, so body replacements use `Default::default()` only
/// where it compiles. Unreadable files are left out.
fn rust_type_facts(root: &Path, project: &Project, files: &[String]) -> BTreeMap<String, TypeFacts> {
    let mut texts: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in files.iter().filter(|f| project.is_source(f) == Some(Lang::Rust)) {
        if let Ok(text) = std::fs::read_to_string(root.join(file)) {
            texts.entry(project.unit_of(file)).or_default().push(text);
        }
    }
    texts.into_iter().map(|(unit, texts)| (unit, TypeFacts::scan_rust(texts.iter().map(String::as_str)))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_scales_with_baseline_and_jobs_above_the_floor() {
        let floor = Duration::from_secs(10);
        assert_eq!(test_timeout(Duration::from_secs(2), 4, floor), Duration::from_secs(24));
        assert_eq!(test_timeout(Duration::from_millis(500), 2, floor), floor);
        assert_eq!(test_timeout(Duration::from_secs(1), 0, Duration::ZERO), Duration::from_secs(3));
    }

    #[test]
    fn default_cache_dir_is_stable_per_root() {
        let a = default_cache_dir(Path::new("/work/a"));
        assert_eq!(a, default_cache_dir(Path::new("/work/a")));
        assert_ne!(a, default_cache_dir(Path::new("/work/b")));
    }
}
