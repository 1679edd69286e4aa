//! [`SweRunner`]: runs task instances, each in its own worktree, up to
//! `jobs` at a time, and writes `predictions.jsonl` and `report.json` as
//! each instance ends.
//!
//! Per instance:
//!
//! 1. a clean worktree of the repository's mirror at `base_commit`
//!    ([`WorktreePool`], one pool per repository);
//! 2. the test patch applied (`git apply`);
//! 3. the environment prepared ([`EnvPlan`]);
//! 4. validation: the FAIL_TO_PASS and PASS_TO_PASS tests run once; an
//!    instance whose FAIL_TO_PASS tests already pass, whose PASS_TO_PASS
//!    tests fail, or whose run shows no per-test outcome is `invalid`;
//! 5. the solver: the gold patch applied (`--gold`), or the repair loop's
//!    agent session with the problem statement as the goal and the
//!    FAIL_TO_PASS tests as its named tests;
//! 6. the model patch: the diff between the tree before and after the
//!    solver (the test patch is in both, so not in the diff), taken
//!    through a throwaway index so the worktree's own index is untouched;
//! 7. the verdict: both lists run again and compared test by test.
//!
//! A failure of one instance (no mirror, a patch that does not apply, a
//! failed setup, a panic, the wall-clock limit) is that instance's `error`
//! or `timeout` entry; the others go on. A rerun skips the instances
//! already in `report.json` unless [`SweConfig::rerun`] is set.
//!
//! Every process (git, the setup, the tests, the agent's commands) runs
//! through agent-sandbox's `ProcessExecutor`.

use crate::env::{EnvPlan, Overrides};
use crate::instance::{InstanceError, RepoSpecs, SweInstance};
use crate::parts::{EnvExecutor, InstanceOracle};
use crate::report::{InstanceReport, InstanceStatus, Phases, Prediction, SweReport, TestResults, Tokens};
use agent_classify::{AutoClassifier, RepairContextBuilder, RepoMap};
use agent_core::exec::{CommandSpec, EnvPolicy, OutputCaps, RunOutput};
use agent_core::failure::TestOutcome;
use agent_core::{Executor, FailureClassifier, LlmProvider, WorkspaceOracle};
use agent_loop::repair::Observer;
use agent_loop::{JsonlJournal, LoopMode, RepairConfig, RepairLoop, RepairParts, Task};
use agent_sandbox::{FileEditor, GitSnapshotter, LimitedExecutor, PoolError, ProcessExecutor, WorktreePool};
use futures::StreamExt;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Why a run could not start or could not write its outputs (what goes
/// wrong with one instance is in that instance's report instead).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SweError {
    /// The instances or the specs could not be read.
    #[error(transparent)]
    Instances(#[from] InstanceError),
    /// The `--repos` folder is not a directory.
    #[error("the repositories folder {} is not a directory", path.display())]
    NoRepos {
        /// The folder.
        path: PathBuf,
    },
    /// An output file could not be read or written.
    #[error("i/o error on {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// An existing `report.json` is not a report.
    #[error("{} is not a report: {reason}", path.display())]
    BadReport {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The configuration cannot work.
    #[error("invalid configuration: {reason}")]
    InvalidConfig {
        /// What is wrong.
        reason: String,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SweError + '_ {
    move |source| SweError::Io { path: path.to_path_buf(), source }
}

/// Settings of a run.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SweConfig {
    /// The folder of repository mirrors (`owner__name`, `owner/name` or `name`).
    pub repos: PathBuf,
    /// Where `predictions.jsonl`, `report.json`, logs, journals,
    /// environments and worktrees go.
    pub out: PathBuf,
    /// Instances run at once (default 1).
    pub jobs: usize,
    /// Setup and test overrides by repository.
    pub specs: RepoSpecs,
    /// Wall-clock limit of one instance, everything included (default 30 minutes).
    pub instance_timeout: Duration,
    /// Wall-clock limit of one setup command (default 15 minutes).
    pub setup_timeout: Duration,
    /// Wall-clock limit of one test run (default 10 minutes).
    pub test_timeout: Duration,
    /// Run instances already in `report.json` again.
    pub rerun: bool,
    /// Keep each instance's environment (its venv) after it ends.
    pub keep_envs: bool,
}

impl SweConfig {
    /// A run over the mirrors in `repos`, writing to `out`.
    pub fn new(repos: impl Into<PathBuf>, out: impl Into<PathBuf>) -> Self {
        Self {
            repos: repos.into(),
            out: out.into(),
            jobs: 1,
            specs: RepoSpecs::default(),
            instance_timeout: Duration::from_secs(30 * 60),
            setup_timeout: Duration::from_secs(15 * 60),
            test_timeout: Duration::from_secs(10 * 60),
            rerun: false,
            keep_envs: false,
        }
    }

    /// Sets the number of instances run at once.
    pub fn with_jobs(mut self, jobs: usize) -> Self {
        self.jobs = jobs;
        self
    }

    /// Sets the per-repository overrides.
    pub fn with_specs(mut self, specs: RepoSpecs) -> Self {
        self.specs = specs;
        self
    }

    /// Sets the wall-clock limit of one instance.
    pub fn with_instance_timeout(mut self, limit: Duration) -> Self {
        self.instance_timeout = limit;
        self
    }

    /// Sets the wall-clock limit of one test run.
    pub fn with_test_timeout(mut self, limit: Duration) -> Self {
        self.test_timeout = limit;
        self
    }

    /// Sets whether instances already reported run again.
    pub fn with_rerun(mut self, rerun: bool) -> Self {
        self.rerun = rerun;
        self
    }

    /// Sets whether environments are kept.
    pub fn with_keep_envs(mut self, keep: bool) -> Self {
        self.keep_envs = keep;
        self
    }
}

/// Builds the model of one instance (a cassette per instance, say).
pub type ProviderFactory = Arc<dyn Fn(&SweInstance) -> Result<Arc<dyn LlmProvider>, String> + Send + Sync>;

/// What makes the change.
#[derive(Clone)]
#[non_exhaustive]
pub enum Solver {
    /// The instance's own patch (validates the runner, the environment and
    /// the instance, as SWE-bench's harness does).
    Gold,
    /// The repair loop's agent session.
    Agent(Box<AgentSolver>),
}

impl Solver {
    /// The agent solver.
    pub fn agent(agent: AgentSolver) -> Self {
        Self::Agent(Box::new(agent))
    }

    fn model_name(&self) -> &str {
        match self {
            Self::Gold => "gold",
            Self::Agent(a) => &a.model_name,
        }
    }
}

/// The agent: a model per instance and the loop's settings.
#[derive(Clone)]
pub struct AgentSolver {
    model_name: String,
    provider_for: ProviderFactory,
    config: RepairConfig,
    observer: Option<Observer>,
}

impl AgentSolver {
    /// An agent named `model_name` in the predictions, with the model
    /// `provider_for` gives each instance, and the loop's default settings
    /// (tools mode).
    pub fn new(model_name: impl Into<String>, provider_for: ProviderFactory) -> Self {
        Self {
            model_name: model_name.into(),
            provider_for,
            config: RepairConfig::default().with_mode(LoopMode::Tools),
            observer: None,
        }
    }

    /// Sets the loop's settings.
    pub fn with_config(mut self, config: RepairConfig) -> Self {
        self.config = config;
        self
    }

    /// Observes every event of every instance's loop.
    pub fn with_observer(mut self, observer: Observer) -> Self {
        self.observer = Some(observer);
        self
    }
}

/// Runs task instances; see the [module docs](self).
///
/// ```no_run
/// use agent_swe::{SweConfig, SweRunner, Solver, read_instances};
/// use std::path::Path;
///
/// # async fn demo() -> Result<(), agent_swe::SweError> {
/// let instances = read_instances(Path::new("instances.jsonl"))?;
/// let runner = SweRunner::new(SweConfig::new("mirrors", "swe-out").with_jobs(2), Solver::Gold);
/// let report = runner.run(instances).await?;
/// println!("{}", report.summary_line());
/// # Ok(()) }
/// ```
pub struct SweRunner {
    shared: Arc<Shared>,
    progress: Option<Progress>,
}

/// Called with each instance's entry as it ends.
pub type Progress = Arc<dyn Fn(&InstanceReport) + Send + Sync>;

struct Shared {
    config: SweConfig,
    solver: Solver,
    oracle: Arc<dyn WorkspaceOracle>,
    pools: tokio::sync::Mutex<HashMap<String, Arc<WorktreePool>>>,
    host_path: Option<String>,
}

impl SweRunner {
    /// A runner with the default workspace oracle.
    pub fn new(config: SweConfig, solver: Solver) -> Self {
        Self::with_oracle(config, solver, Arc::new(agent_oracles::default_oracle()))
    }

    /// A runner with this workspace oracle.
    pub fn with_oracle(config: SweConfig, solver: Solver, oracle: Arc<dyn WorkspaceOracle>) -> Self {
        Self {
            shared: Arc::new(Shared {
                config,
                solver,
                oracle,
                pools: tokio::sync::Mutex::new(HashMap::new()),
                host_path: std::env::var("PATH").ok(),
            }),
            progress: None,
        }
    }

    /// Calls `progress` with each instance's entry as it ends.
    pub fn with_progress(mut self, progress: Progress) -> Self {
        self.progress = Some(progress);
        self
    }

    /// Runs the instances not yet in the output folder's report (all of
    /// them with [`SweConfig::rerun`]) and returns the whole report.
    pub async fn run(&self, instances: Vec<SweInstance>) -> Result<SweReport, SweError> {
        let config = &self.shared.config;
        if config.jobs == 0 {
            return Err(SweError::InvalidConfig { reason: "jobs must be at least 1".into() });
        }
        if !config.repos.is_dir() {
            return Err(SweError::NoRepos { path: config.repos.clone() });
        }
        std::fs::create_dir_all(&config.out).map_err(io_err(&config.out))?;
        let out = std::fs::canonicalize(&config.out).map_err(io_err(&config.out))?;
        let report_path = out.join("report.json");
        let predictions_path = out.join("predictions.jsonl");
        let mode = if matches!(self.shared.solver, Solver::Gold) { "gold" } else { "agent" };
        let mut report = match read_report(&report_path)? {
            Some(r) => r,
            None => SweReport::new(self.shared.solver.model_name(), mode),
        };
        report.model_name_or_path = self.shared.solver.model_name().to_owned();
        report.mode = mode.to_owned();
        let mut predictions = read_predictions(&predictions_path)?;
        let todo: Vec<SweInstance> =
            instances.into_iter().filter(|i| config.rerun || !report.instances.contains_key(&i.instance_id)).collect();
        tracing::info!(instances = todo.len(), jobs = config.jobs, mode, "swe run");
        let limit = Arc::new(tokio::sync::Semaphore::new(config.jobs));
        let mut running = futures::stream::FuturesUnordered::new();
        for instance in todo {
            let shared = self.shared.clone();
            let limit = limit.clone();
            let out = out.clone();
            let id = instance.instance_id.clone();
            let repo = instance.repo.clone();
            let handle = tokio::spawn(async move {
                let _permit = limit.acquire_owned().await;
                let started = Instant::now();
                let run = shared.run_instance(&instance, &out);
                let (mut entry, prediction) = match tokio::time::timeout(shared.config.instance_timeout, run).await {
                    Ok(done) => done,
                    Err(_) => {
                        let limit = shared.config.instance_timeout;
                        let entry = InstanceReport::failed(
                            &instance,
                            InstanceStatus::Timeout,
                            format!("the instance ran past its limit of {}s", limit.as_secs()),
                        );
                        (entry, None)
                    }
                };
                entry.wall_ms = elapsed_ms(started);
                (entry, prediction)
            });
            running.push(async move { (id, repo, handle.await) });
        }
        while let Some((id, repo, joined)) = running.next().await {
            let (entry, prediction) = match joined {
                Ok(done) => done,
                Err(e) => {
                    let why =
                        if e.is_panic() { "the runner panicked on this instance" } else { "the run was cancelled" };
                    let mut entry = InstanceReport::failed(&stub(&id), InstanceStatus::Error, why);
                    entry.repo = repo;
                    (entry, None)
                }
            };
            tracing::info!(instance = %id, status = ?entry.status, "instance done");
            if let Some(progress) = &self.progress {
                progress(&entry);
            }
            if let Some(p) = prediction {
                predictions.insert(p.instance_id.clone(), p);
            }
            report.insert(entry);
            write_atomic(&report_path, &serde_json::to_vec_pretty(&report).unwrap_or_default())?;
            let mut lines = String::new();
            for p in predictions.values() {
                lines.push_str(&serde_json::to_string(p).unwrap_or_default());
                lines.push('\n');
            }
            write_atomic(&predictions_path, lines.as_bytes())?;
        }
        let pools: Vec<Arc<WorktreePool>> = self.shared.pools.lock().await.drain().map(|(_, p)| p).collect();
        for pool in pools {
            if let Ok(pool) = Arc::try_unwrap(pool) {
                if let Err(e) = pool.shutdown().await {
                    tracing::warn!(error = %e, "removing the worktrees failed");
                }
            }
        }
        Ok(report)
    }
}

/// A placeholder instance for a report entry of a task that never reported.
fn stub(id: &str) -> SweInstance {
    SweInstance {
        instance_id: id.to_owned(),
        repo: String::new(),
        base_commit: String::new(),
        patch: String::new(),
        test_patch: String::new(),
        problem_statement: String::new(),
        hints_text: String::new(),
        created_at: None,
        version: None,
        environment_setup_commit: None,
        fail_to_pass: Vec::new(),
        pass_to_pass: Vec::new(),
        setup: None,
        test_cmd: None,
    }
}

/// Reads `report.json` when it exists.
pub fn read_report(path: &Path) -> Result<Option<SweReport>, SweError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| SweError::BadReport { path: path.into(), reason: e.to_string() }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(SweError::Io { path: path.into(), source }),
    }
}

fn read_predictions(path: &Path) -> Result<BTreeMap<String, Prediction>, SweError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(source) => return Err(SweError::Io { path: path.into(), source }),
    };
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let p: Prediction =
            serde_json::from_str(line).map_err(|e| SweError::BadReport { path: path.into(), reason: e.to_string() })?;
        out.insert(p.instance_id.clone(), p);
    }
    Ok(out)
}

/// Writes through a temporary file and a rename, so a reader never sees half a file.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), SweError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_err(path))
}

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The last `n` bytes of a run's output, for error messages.
fn tail(out: &RunOutput, n: usize) -> String {
    let mut text = out.stdout.text();
    text.push_str(&out.stderr.text());
    let text = text.trim_end();
    let start = text.len().saturating_sub(n);
    let start = (start..text.len()).find(|i| text.is_char_boundary(*i)).unwrap_or(text.len());
    text[start..].to_owned()
}

/// What an instance's run got to, for the report.
struct Partial {
    entry: InstanceReport,
}

impl Partial {
    fn fail(mut self, status: InstanceStatus, why: String) -> InstanceReport {
        self.entry.status = status;
        self.entry.verdict = why.clone();
        self.entry.error = Some(why);
        self.entry
    }
}

impl Shared {
    async fn pool(&self, repo: &str, mirror: &Path, out: &Path) -> Arc<WorktreePool> {
        let mut pools = self.pools.lock().await;
        pools
            .entry(repo.to_owned())
            .or_insert_with(|| {
                let dir = out.join("worktrees").join(repo.replace('/', "__"));
                Arc::new(WorktreePool::new(mirror.to_path_buf(), dir, self.config.jobs))
            })
            .clone()
    }

    async fn run_instance(&self, instance: &SweInstance, out: &Path) -> (InstanceReport, Option<Prediction>) {
        let mut progress =
            Partial { entry: InstanceReport::failed(instance, InstanceStatus::Error, "the instance did not finish") };
        let id = &instance.instance_id;
        let logs = out.join("logs").join(id);
        let env_dir = out.join("env").join(id);
        for dir in [&logs, &env_dir] {
            if let Err(e) = std::fs::create_dir_all(dir) {
                return (progress.fail(InstanceStatus::Error, format!("cannot create {}: {e}", dir.display())), None);
            }
        }
        let result = self.run_phases(instance, &mut progress, &logs, &env_dir, out).await;
        if !self.config.keep_envs {
            let _ = tokio::fs::remove_dir_all(&env_dir).await;
        }
        match result {
            Ok(prediction) => (progress.entry, prediction),
            Err((status, why)) => (progress.fail(status, why), None),
        }
    }

    async fn run_phases(
        &self,
        instance: &SweInstance,
        progress: &mut Partial,
        logs: &Path,
        env_dir: &Path,
        out: &Path,
    ) -> Result<Option<Prediction>, (InstanceStatus, String)> {
        let error = |why: String| (InstanceStatus::Error, why);
        let mut phases = Phases::default();
        let started = Instant::now();
        let mirror = instance.find_mirror(&self.config.repos).ok_or_else(|| {
            error(format!(
                "no mirror of {} under {} (looked for {})",
                instance.repo,
                self.config.repos.display(),
                instance.mirror_names().join(", ")
            ))
        })?;
        let pool = self.pool(&instance.repo, &mirror, out).await;
        let worktree = pool.acquire_at(&instance.base_commit).await.map_err(|e: PoolError| {
            error(format!("cannot check out {} at {}: {e}", instance.repo, instance.base_commit))
        })?;
        let root = worktree.path().to_path_buf();
        let exec: Arc<dyn Executor> = Arc::new(ProcessExecutor::new().with_default_cwd(root.clone()));
        let git = Git { exec: exec.clone(), root: root.clone(), scratch: env_dir.to_path_buf() };
        if !instance.test_patch.trim().is_empty() {
            git.apply(&instance.test_patch).await.map_err(|e| error(format!("the test patch does not apply: {e}")))?;
        }
        phases.checkout_ms = elapsed_ms(started);

        // The environment.
        let profile =
            self.oracle.inspect(&root).await.map_err(|e| error(format!("inspecting the checkout failed: {e}")))?;
        let spec = self.config.specs.get(&instance.repo, instance.version.as_deref());
        let overrides = match (&instance.setup, &instance.test_cmd) {
            (None, None) => match spec {
                Some(s) => Overrides { setup: s.setup.as_deref(), test_cmd: s.test_cmd.as_deref(), from_specs: true },
                None => Overrides::default(),
            },
            (setup, test_cmd) => Overrides {
                setup: setup.as_deref().or_else(|| spec.and_then(|s| s.setup.as_deref())),
                test_cmd: test_cmd.as_deref().or_else(|| spec.and_then(|s| s.test_cmd.as_deref())),
                from_specs: false,
            },
        };
        let plan = EnvPlan::new(&root, &profile, overrides, env_dir, self.host_path.as_deref());
        let all = instance.all_tests();
        let test = plan.tests.for_tests(&all);
        progress.entry.env_source = Some(plan.source);
        progress.entry.setup_commands = plan.setup.iter().map(|s| s.display()).collect();
        progress.entry.test_command = shell_line(&test);
        let setup_started = Instant::now();
        let mut setup_log = String::new();
        for step in &plan.setup {
            let mut env = EnvPolicy::default().inherit_all(true);
            for (k, v) in &plan.env {
                env = env.set(k.clone(), v.clone());
            }
            let spec = CommandSpec::new(step.program.clone())
                .args(step.args.clone())
                .cwd(root.join(&step.cwd))
                .env(env)
                .wall_timeout(self.config.setup_timeout);
            let run = exec
                .run(spec)
                .await
                .map_err(|e| error(format!("setup `{}` could not run: {e}", step.display_redacted())));
            let run = match run {
                Ok(run) => run,
                Err(e) => {
                    setup_log.push_str(&format!("$ {}\n{}\n", step.display_redacted(), e.1));
                    let _ = std::fs::write(logs.join("setup.log"), &setup_log);
                    phases.setup_ms = elapsed_ms(setup_started);
                    progress.entry.phases = phases;
                    return Err(e);
                }
            };
            setup_log.push_str(&format!("$ {}\n{}{}\n", step.display_redacted(), run.stdout.text(), run.stderr.text()));
            if !run.success() {
                let _ = std::fs::write(logs.join("setup.log"), &setup_log);
                phases.setup_ms = elapsed_ms(setup_started);
                progress.entry.phases = phases;
                let how = match (run.timed_out, run.exit_code) {
                    (Some(kind), _) => format!("timed out ({})", kind.name()),
                    (None, Some(code)) => format!("exited with {code}"),
                    (None, None) => "was killed by a signal".into(),
                };
                return Err(error(format!("setup `{}` {how}: {}", step.display_redacted(), tail(&run, 600))));
            }
        }
        let _ = std::fs::write(logs.join("setup.log"), &setup_log);
        phases.setup_ms = elapsed_ms(setup_started);
        progress.entry.phases = phases;

        // Validation: the instance must hold before any change.
        let started = Instant::now();
        let before = self.run_tests(&exec, &root, &plan, &all, &logs.join("validation.log")).await;
        phases.validation_ms = elapsed_ms(started);
        progress.entry.phases = phases;
        let before = before.map_err(error)?;
        let f2p = TestResults::of(&before.outcomes, &instance.fail_to_pass, false);
        let p2p = TestResults::of(&before.outcomes, &instance.pass_to_pass, true);
        progress.entry.validation = lists(&f2p, &p2p);
        if before.outcomes.is_empty() {
            return Err((
                InstanceStatus::Invalid,
                format!(
                    "the tests did not run before the change: no per-test outcome in the output of `{}` (exit {:?})",
                    test.display_redacted(),
                    before.exit_code
                ),
            ));
        }
        if !f2p.success.is_empty() {
            return Err((
                InstanceStatus::Invalid,
                format!("FAIL_TO_PASS tests already pass before the change: {}", f2p.success.join(", ")),
            ));
        }
        if !p2p.failure.is_empty() {
            return Err((
                InstanceStatus::Invalid,
                format!("PASS_TO_PASS tests do not pass before the change: {}", p2p.failure.join(", ")),
            ));
        }

        // The solver.
        let started = Instant::now();
        let tree_before = git.tree().await.map_err(|e| error(format!("recording the tree failed: {e}")))?;
        let solved = self.solve(instance, progress, &root, &exec, &plan, &test, out).await;
        let tree_after = git.tree().await.map_err(|e| error(format!("recording the tree failed: {e}")))?;
        let model_patch =
            git.diff(&tree_before, &tree_after).await.map_err(|e| error(format!("diffing the change failed: {e}")))?;
        phases.solve_ms = elapsed_ms(started);
        progress.entry.phases = phases;
        progress.entry.patch_is_empty = model_patch.trim().is_empty();
        let prediction = Prediction {
            instance_id: instance.instance_id.clone(),
            model_name_or_path: self.solver.model_name().to_owned(),
            model_patch,
        };
        if let Err(why) = solved {
            return Err(error(why));
        }

        // The verdict.
        let started = Instant::now();
        let after = self.run_tests(&exec, &root, &plan, &all, &logs.join("verdict.log")).await;
        phases.verdict_ms = elapsed_ms(started);
        progress.entry.phases = phases;
        let after = after.map_err(error)?;
        let f2p = TestResults::of(&after.outcomes, &instance.fail_to_pass, false);
        let p2p = TestResults::of(&after.outcomes, &instance.pass_to_pass, true);
        progress.entry.tests_status = lists(&f2p, &p2p);
        let resolved = !after.outcomes.is_empty() && f2p.all_passed() && p2p.all_passed();
        progress.entry.resolved = resolved;
        progress.entry.status = if resolved { InstanceStatus::Resolved } else { InstanceStatus::Unresolved };
        progress.entry.error = None;
        progress.entry.verdict = if after.outcomes.is_empty() {
            format!("the tests did not run after the change (exit {:?})", after.exit_code)
        } else if resolved {
            format!("all {} FAIL_TO_PASS and {} PASS_TO_PASS tests pass", f2p.success.len(), p2p.success.len())
        } else {
            let mut parts = Vec::new();
            if !f2p.failure.is_empty() {
                parts.push(format!("FAIL_TO_PASS still failing: {}", f2p.failure.join(", ")));
            }
            if !p2p.failure.is_empty() {
                parts.push(format!("PASS_TO_PASS broken: {}", p2p.failure.join(", ")));
            }
            parts.join("; ")
        };
        Ok(Some(prediction))
    }

    /// Applies the gold patch, or runs the agent; `Err` when neither could run.
    #[allow(clippy::too_many_arguments)]
    async fn solve(
        &self,
        instance: &SweInstance,
        progress: &mut Partial,
        root: &Path,
        exec: &Arc<dyn Executor>,
        plan: &EnvPlan,
        test: &agent_core::workspace::DetectedCommand,
        out: &Path,
    ) -> Result<(), String> {
        match &self.solver {
            Solver::Gold => {
                progress.entry.outcome = Some("gold".into());
                let git = Git { exec: exec.clone(), root: root.to_path_buf(), scratch: out.join("env") };
                git.apply(&instance.patch).await.map_err(|e| format!("the gold patch does not apply: {e}"))
            }
            Solver::Agent(agent) => {
                let provider = (agent.provider_for)(instance).map_err(|e| format!("no model for the instance: {e}"))?;
                let journal_path = out.join("journals").join(format!("{}.jsonl", instance.instance_id));
                let journal = JsonlJournal::open(&journal_path).await.map_err(|e| format!("journal: {e}"))?;
                progress.entry.journal = Some(journal_path.display().to_string());
                // The loop gives up after 3 test runs in a row end in a timeout, or after an hour of commands.
                let limited = LimitedExecutor::new(ProcessExecutor::new().with_default_cwd(root.to_path_buf()))
                    .with_max_consecutive_timeouts(3)
                    .with_max_total_time(Duration::from_secs(3600));
                let parts = RepairParts {
                    provider,
                    oracle: Arc::new(InstanceOracle::new(self.oracle.clone(), test.clone())),
                    classifier: Arc::new(AutoClassifier::new()),
                    executor: Arc::new(EnvExecutor::new(Arc::new(limited), plan.env.clone())),
                    snapshotter: Arc::new(GitSnapshotter::new()),
                    editor: Arc::new(FileEditor::new()),
                    journal: Arc::new(journal),
                };
                let mut repair = RepairLoop::new(parts)
                    .with_config(agent.config.clone().with_test_timeout(self.config.test_timeout))
                    .with_context_renderer(Arc::new(RepairContextBuilder::new()))
                    .with_repo_map(Arc::new(RepoMap::new()));
                if let Some(observer) = &agent.observer {
                    repair = repair.with_observer(observer.clone());
                }
                let mut goal = instance.problem_statement.trim().to_owned();
                if !instance.hints_text.trim().is_empty() {
                    goal.push_str("\n\nHints:\n");
                    goal.push_str(instance.hints_text.trim());
                }
                let task = Task::new(instance.instance_id.clone(), root.to_path_buf(), goal)
                    .with_named_tests(instance.fail_to_pass.clone());
                let report = repair.run(task).await.map_err(|e| format!("the agent's loop failed: {e}"))?;
                let m = &report.metrics;
                progress.entry.outcome =
                    serde_json::to_value(report.outcome).ok().and_then(|v| v.as_str().map(str::to_owned));
                progress.entry.turns = m.model_turns;
                progress.entry.tool_calls = m.tool_calls;
                progress.entry.tokens = Tokens {
                    input: m.usage.input_tokens,
                    output: m.usage.output_tokens,
                    cached: m.usage.cached_input_tokens,
                    total: m.usage.total(),
                };
                progress.entry.cost_usd = m.cost_usd;
                Ok(())
            }
        }
    }

    /// Runs the instance's tests and reads their per-test outcomes.
    async fn run_tests(
        &self,
        exec: &Arc<dyn Executor>,
        root: &Path,
        plan: &EnvPlan,
        tests: &[String],
        log: &Path,
    ) -> Result<TestRun, String> {
        let test = plan.tests.for_tests(tests);
        let mut env = EnvPolicy::default();
        for (k, v) in &plan.env {
            env = env.set(k.clone(), v.clone());
        }
        let spec = test
            .to_spec(root)
            .env(env)
            .wall_timeout(self.config.test_timeout)
            .output_caps(OutputCaps { head_bytes: 32 << 20, tail_bytes: 1 << 20 });
        let run = exec.run(spec).await.map_err(|e| format!("`{}` could not run: {e}", test.display_redacted()))?;
        let _ = std::fs::write(
            log,
            format!(
                "$ {}\nexit: {:?}\n{}\n--- stderr ---\n{}",
                agent_core::exec::redact_command_line(&run.command),
                run.exit_code,
                run.stdout.text(),
                run.stderr.text()
            ),
        );
        if let Some(kind) = run.timed_out {
            return Err(format!("`{}` timed out ({})", test.display_redacted(), kind.name()));
        }
        let mut outcomes = AutoClassifier::new().test_outcomes(&run);
        if outcomes.is_empty() {
            let mut text = run.stdout.text();
            text.push('\n');
            text.push_str(&run.stderr.text());
            outcomes = agent_classify::test_outcomes(&text);
        }
        Ok(TestRun { outcomes, exit_code: run.exit_code })
    }
}

/// A command as one line a shell reads back into the same words.
fn shell_line(cmd: &agent_core::workspace::DetectedCommand) -> String {
    let words: Vec<&str> = std::iter::once(cmd.program.as_str()).chain(cmd.args.iter().map(String::as_str)).collect();
    shlex::try_join(words.iter().copied()).unwrap_or_else(|_| cmd.display())
}

struct TestRun {
    outcomes: Vec<TestOutcome>,
    exit_code: Option<i32>,
}

fn lists(f2p: &TestResults, p2p: &TestResults) -> BTreeMap<String, TestResults> {
    BTreeMap::from([("FAIL_TO_PASS".to_owned(), f2p.clone()), ("PASS_TO_PASS".to_owned(), p2p.clone())])
}

/// git in a worktree, through the executor, with hooks and external
/// diff and text-conversion drivers off.
struct Git {
    exec: Arc<dyn Executor>,
    root: PathBuf,
    /// Where the throwaway index lives.
    scratch: PathBuf,
}

impl Git {
    async fn run(&self, args: &[&str], env: EnvPolicy, stdin: Option<&str>) -> Result<RunOutput, String> {
        let mut spec = CommandSpec::new("git")
            .args(["-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false", "-c", "gc.auto=0"])
            .args(args.iter().copied())
            .cwd(&self.root)
            .env(env.set("GIT_TERMINAL_PROMPT", "0").set("LC_ALL", "C"))
            .wall_timeout(Duration::from_secs(600))
            .output_caps(OutputCaps { head_bytes: 256 << 20, tail_bytes: 0 });
        if let Some(input) = stdin {
            spec = spec.stdin(input);
        }
        let out = self.exec.run(spec).await.map_err(|e| e.to_string())?;
        if out.success() { Ok(out) } else { Err(tail(&out, 800)) }
    }

    async fn apply(&self, patch: &str) -> Result<(), String> {
        if patch.trim().is_empty() {
            return Ok(());
        }
        self.run(&["apply", "--whitespace=nowarn", "-"], EnvPolicy::default(), Some(patch)).await.map(|_| ())
    }

    /// The id of a tree of the worktree as it is (ignored files left out),
    /// written through a throwaway index.
    async fn tree(&self) -> Result<String, String> {
        std::fs::create_dir_all(&self.scratch).map_err(|e| e.to_string())?;
        let index = self.scratch.join(format!("swe-index-{}", std::process::id()));
        let _ = std::fs::remove_file(&index);
        let env = || EnvPolicy::default().set("GIT_INDEX_FILE", index.display().to_string());
        self.run(&["read-tree", "HEAD"], env(), None).await?;
        self.run(&["add", "-A", "--", "."], env(), None).await?;
        let out = self.run(&["write-tree"], env(), None).await?;
        let _ = std::fs::remove_file(&index);
        Ok(out.stdout.text().trim().to_owned())
    }

    async fn diff(&self, from: &str, to: &str) -> Result<String, String> {
        let out = self
            .run(
                &["diff", "--no-color", "--no-ext-diff", "--no-textconv", "--binary", from, to],
                EnvPolicy::default(),
                None,
            )
            .await?;
        Ok(out.stdout.text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_progress_keeps_the_reason_as_verdict_and_error() {
        let p = Partial { entry: InstanceReport::failed(&stub("a-1"), InstanceStatus::Error, "x") };
        let r = p.fail(InstanceStatus::Invalid, "FAIL_TO_PASS tests already pass".into());
        assert_eq!(r.status, InstanceStatus::Invalid);
        assert_eq!(r.error.as_deref(), Some("FAIL_TO_PASS tests already pass"));
        assert!(!r.resolved);
    }
}
