//! The merge step: from an accepted change to a landed commit.
//!
//! An accepted change stays uncommitted in the task's working tree (a git
//! worktree of the user's repository, or a clone). [`MergeStep`] takes it
//! to the target branch:
//!
//! 1. commits it on the task branch (when not committed yet), with a
//!    message from the goal: every file git does not ignore, but untracked
//!    Python bytecode (`__pycache__/`, `*.pyc`) the task's test runs wrote;
//! 2. reads the target branch's head: in-process with gix for a branch of
//!    the same repository, after a `git fetch` for a remote;
//! 3. rebases the task's commits onto it, in the task's worktree;
//! 4. when git stops on conflicts, asks the model for each conflicted file
//!    (base, target and task versions, and the goal) for the whole
//!    resolved file with a confidence ([`ConflictAnswer`], schema-checked);
//!    an invalid answer or one below [`MergeConfig::min_confidence`]
//!    aborts the rebase (`git rebase --abort`: the worktree is as before)
//!    and the outcome is [`MergeOutcome::NeedsHuman`] with the conflicts;
//! 5. runs the host's gates again on the rebased tree, with the diff from
//!    the target's head (a regression-aware tests gate compares with
//!    [`MergeRequest::test_baseline`], else with the suite run at the
//!    target's head when the host asked for it
//!    ([`MergeStep::with_target_baseline`]: a test already failing there
//!    does not refuse the merge, the change's new tests must pass), else
//!    asks for a clean pass of the whole suite): any failure refuses the
//!    merge ([`MergeOutcome::GatesFailed`]);
//! 6. lands: fast-forwards the target with a compare-and-swap
//!    (`git update-ref refs/heads/TARGET NEW OLD`, or a push with a lease
//!    for a remote); when the target moved meanwhile, rebases again, at
//!    most [`MergeConfig::max_rebases`] times in all; or leaves the change
//!    on a branch for a pull request ([`Landing::Branch`]).
//!
//! Every step is a journal event. `git` runs only through the host's
//! [`Executor`], hardened (hooks, file-system monitor, filter drivers,
//! pagers, prompts off: [`agent_core::workspace::git`]); this crate spawns
//! nothing.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use agent_core::{Executor, Gate, LlmProvider};
//! use agent_loop::merge::{MergeConfig, MergeOutcome, MergeRequest, MergeStep};
//! use agent_loop::MemoryJournal;
//! # async fn host(executor: Arc<dyn Executor>, model: Arc<dyn LlmProvider>, tests: Arc<dyn Gate>)
//! #     -> Result<(), agent_loop::merge::MergeError> {
//! let step = MergeStep::new(executor, Arc::new(MemoryJournal::default()))
//!     .with_provider(model)
//!     .with_gate(tests)
//!     .with_config(MergeConfig::new("main").with_min_confidence(0.8));
//! let report = step.run(MergeRequest::new("task-1", "/work/trees/task-1", "fix the average")).await?;
//! if let MergeOutcome::Merged { commit, .. } = &report.outcome {
//!     println!("landed {commit}");
//! }
//! # Ok(()) }
//! ```

mod git;
mod resolve;

pub use resolve::ConflictAnswer;

use agent_core::FailureClassifier;
use agent_core::edit::FileChange;
use agent_core::event::{Event, EventKind, TaskId};
use agent_core::exec::ExecError;
use agent_core::failure::{FailureKind, Tier};
use agent_core::gate::{GateContext, GateReport, TestBaseline, check_gate, structured_test_reporting};
use agent_core::journal::JournalError;
use agent_core::workspace::WorkspaceProfile;
use agent_core::{Executor, Gate, Journal, LlmProvider};
use git::{Git, git_failed};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How an accepted change lands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "mode", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Landing {
    /// Fast-forward the target branch to the rebased change.
    FastForward,
    /// Create or update the branch `name` at the rebased change and leave
    /// it (pushed to the remote, when there is one) for a pull request;
    /// the target is not touched.
    Branch {
        /// The branch.
        name: String,
    },
}

/// What the merge step does, and how carefully.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct MergeConfig {
    /// The target branch (`main`).
    pub target: String,
    /// `None`: the target branch lives in the task's repository (the task
    /// runs in a worktree of it). `Some(remote)`: the target is fetched
    /// from `remote` (a remote's name, a URL or a path) and landed with a push.
    pub remote: Option<String>,
    /// Fast-forward the target, or leave a branch.
    pub landing: Landing,
    /// Below this confidence (0–1) a model's resolution is not used. Default 0.8.
    pub min_confidence: f64,
    /// Rebases allowed in all (the target moving during the gates costs
    /// one more). Default 3.
    pub max_rebases: u32,
    /// The branch the task's commits go on when the worktree's `HEAD` is
    /// detached; default `agentkit/<task id>`. A worktree on a branch
    /// (other than the target) keeps its branch.
    pub task_branch: Option<String>,
    /// Author and committer (name, email) of the commit of the change;
    /// `None`: git's configuration decides.
    pub identity: Option<(String, String)>,
    /// The `git` program. Default `git`.
    pub git: String,
    /// Wall-clock limit of each `git` command. Default 10 minutes.
    pub git_timeout_ms: u64,
    /// Whether the task may run in a checkout of the target branch itself
    /// (its commits then move to a task branch there). Default false: a
    /// worktree on the target is refused.
    pub in_target_checkout: bool,
}

impl MergeConfig {
    /// Fast-forwarding `target` of the same repository, with the defaults.
    pub fn new(target: impl Into<String>) -> Self {
        Self {
            target: target.into(),
            remote: None,
            landing: Landing::FastForward,
            min_confidence: 0.8,
            max_rebases: 3,
            task_branch: None,
            identity: None,
            git: "git".to_owned(),
            git_timeout_ms: 600_000,
            in_target_checkout: false,
        }
    }

    /// Fetches the target from `remote` and pushes to it.
    pub fn with_remote(mut self, remote: impl Into<String>) -> Self {
        self.remote = Some(remote.into());
        self
    }

    /// Sets how the change lands.
    pub fn with_landing(mut self, landing: Landing) -> Self {
        self.landing = landing;
        self
    }

    /// Sets the minimum confidence of a model's resolution.
    pub fn with_min_confidence(mut self, min: f64) -> Self {
        self.min_confidence = min;
        self
    }

    /// Sets the number of rebases allowed in all.
    pub fn with_max_rebases(mut self, max: u32) -> Self {
        self.max_rebases = max;
        self
    }

    /// Sets the branch used when the worktree's `HEAD` is detached.
    pub fn with_task_branch(mut self, branch: impl Into<String>) -> Self {
        self.task_branch = Some(branch.into());
        self
    }

    /// Sets the author and committer of the commit of the change.
    pub fn with_identity(mut self, name: impl Into<String>, email: impl Into<String>) -> Self {
        self.identity = Some((name.into(), email.into()));
        self
    }

    /// Sets the `git` program.
    pub fn with_git(mut self, program: impl Into<String>) -> Self {
        self.git = program.into();
        self
    }

    /// Allows the task's worktree to be a checkout of the target.
    pub fn with_in_target_checkout(mut self, allowed: bool) -> Self {
        self.in_target_checkout = allowed;
        self
    }
}

/// One task to merge.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MergeRequest {
    /// The task.
    pub task: TaskId,
    /// The task's worktree.
    pub worktree: PathBuf,
    /// The task's goal: the commit message, and context for conflicts.
    pub goal: String,
    /// The test run the gates compare the rebased tree with
    /// ([`GateContext::test_baseline`]). Without one, the suite run at the
    /// target's head when the step runs one
    /// ([`MergeStep::with_target_baseline`]); else it is empty, and a
    /// regression-aware tests gate then asks for a clean pass of the whole
    /// suite on the rebased tree.
    pub test_baseline: Option<TestBaseline>,
}

impl MergeRequest {
    /// The task `task` in `worktree`, with `goal`.
    pub fn new(task: impl Into<String>, worktree: impl Into<PathBuf>, goal: impl Into<String>) -> Self {
        Self { task: TaskId::new(task), worktree: worktree.into(), goal: goal.into(), test_baseline: None }
    }

    /// Compares the rebased tree's test run with `baseline` (e.g. the
    /// target head's run) instead of asking for a clean pass.
    pub fn with_test_baseline(mut self, baseline: TestBaseline) -> Self {
        self.test_baseline = Some(baseline);
        self
    }
}

/// A conflicted file, and what the model made of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct ConflictRecord {
    /// The file, relative to the worktree root.
    pub file: String,
    /// The model's confidence, when its answer was valid.
    pub confidence: Option<f64>,
    /// The model's reason, when its answer was valid.
    pub reason: Option<String>,
    /// Why its resolution was not used (`None`: it was).
    pub problem: Option<String>,
}

/// How a merge ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum MergeOutcome {
    /// The target was fast-forwarded to `commit`.
    Merged {
        /// The target's new head.
        commit: String,
    },
    /// The change was left on `branch` at `commit`; the target was not touched.
    BranchLeft {
        /// The branch.
        branch: String,
        /// Its head.
        commit: String,
    },
    /// A conflict the model could not resolve with enough confidence (or
    /// at all): the rebase was aborted, the target was not touched. Also a
    /// target checked out in another worktree that cannot follow it (local
    /// changes there, or files it would overwrite): no conflicts, the
    /// reason says which checkout. Also a test suite that cannot run on
    /// this machine at the target's head (with
    /// [`MergeStep::with_target_baseline`]: its program is missing, or it
    /// ran no test for an infrastructure reason): no gate runs, the reason
    /// names the cause.
    NeedsHuman {
        /// The conflicts of the stop that ended it, resolved or not.
        conflicts: Vec<ConflictRecord>,
        /// Why, in a sentence.
        reason: String,
    },
    /// A gate failed on the rebased change; the target was not touched.
    GatesFailed {
        /// Every gate's report.
        reports: Vec<GateReport>,
    },
    /// The target moved after each of `rebases` rebases; the target was
    /// not touched (a person should look, or try again later).
    TargetKeptMoving {
        /// Rebases made.
        rebases: u32,
    },
    /// The task branch holds nothing the target does not.
    NothingToMerge,
}

impl MergeOutcome {
    /// Whether the change landed (merged, or left on its branch).
    pub fn landed(&self) -> bool {
        matches!(self, MergeOutcome::Merged { .. } | MergeOutcome::BranchLeft { .. })
    }
}

/// What a merge did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct MergeReport {
    /// How it ended.
    #[serde(flatten)]
    pub outcome: MergeOutcome,
    /// The task branch its commits are on.
    pub task_branch: String,
    /// Rebases made.
    pub rebases: u32,
    /// Conflicts met and resolved on the way (a NeedsHuman outcome holds its own).
    pub resolved: Vec<ConflictRecord>,
}

/// Why a merge could not be carried out (as opposed to how it ended: [`MergeOutcome`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MergeError {
    /// The configuration is not usable.
    #[error("invalid merge configuration: {reason}")]
    InvalidConfig {
        /// What is wrong.
        reason: String,
    },
    /// The worktree is a checkout of the target branch, and the host did
    /// not allow working there.
    #[error("the worktree has the target branch `{target}` checked out")]
    WorktreeOnTarget {
        /// The target.
        target: String,
    },
    /// A rebase is already stopped in the worktree (a person's, or a run
    /// that was killed): nothing is done until it is finished or aborted.
    #[error("a rebase is in progress in {}", worktree.display())]
    RebaseInProgress {
        /// The worktree.
        worktree: PathBuf,
    },
    /// The target branch does not exist.
    #[error("the target branch `{target}` does not exist")]
    TargetMissing {
        /// The target (with the remote's name, when fetched).
        target: String,
    },
    /// A `git` command failed.
    #[error("`{command}` failed (exit {exit_code:?}): {stderr_tail}")]
    Git {
        /// The command line (redacted).
        command: String,
        /// Its exit code.
        exit_code: Option<i32>,
        /// The end of its stderr.
        stderr_tail: String,
    },
    /// The executor could not run a `git` command.
    #[error("could not run `{command}`: {source}")]
    Exec {
        /// The command line (redacted).
        command: String,
        /// The executor's error.
        #[source]
        source: ExecError,
    },
    /// Reading the repository in-process failed.
    #[error("reading the repository at {}: {message}", path.display())]
    Repository {
        /// The worktree.
        path: PathBuf,
        /// What gix said.
        message: String,
    },
    /// The journal refused an event.
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// The merge step (see the [module docs](self)).
pub struct MergeStep {
    executor: Arc<dyn Executor>,
    journal: Arc<dyn Journal>,
    provider: Option<Arc<dyn LlmProvider>>,
    gates: Vec<Arc<dyn Gate>>,
    profile: WorkspaceProfile,
    config: MergeConfig,
    target_baseline: Option<Arc<dyn FailureClassifier>>,
}

/// The wall-time limit of the test run at the target's head (as the tests
/// gate's own run).
const TARGET_BASELINE_TIMEOUT: Duration = Duration::from_secs(1800);

/// Where a rebase got to.
enum Rebase {
    /// Done: the task branch's head.
    Done(String),
    /// Aborted on a conflict the model did not resolve.
    Refused { conflicts: Vec<ConflictRecord>, reason: String },
}

impl MergeStep {
    /// A merge step running `git` through `executor` and journaling to
    /// `journal`, with [`MergeConfig::new("main")`](MergeConfig::new), no
    /// model (a conflict needs a human) and no gates.
    pub fn new(executor: Arc<dyn Executor>, journal: Arc<dyn Journal>) -> Self {
        Self {
            executor,
            journal,
            provider: None,
            gates: Vec::new(),
            profile: WorkspaceProfile::default(),
            config: MergeConfig::new("main"),
            target_baseline: None,
        }
    }

    /// Sets the configuration.
    pub fn with_config(mut self, config: MergeConfig) -> Self {
        self.config = config;
        self
    }

    /// Sets the model that resolves conflicts.
    pub fn with_provider(mut self, provider: Arc<dyn LlmProvider>) -> Self {
        self.provider = Some(provider);
        self
    }

    /// Adds a gate run again on the rebased change.
    pub fn with_gate(mut self, gate: Arc<dyn Gate>) -> Self {
        self.gates.push(gate);
        self
    }

    /// Sets the workspace profile the gates are given.
    pub fn with_profile(mut self, profile: WorkspaceProfile) -> Self {
        self.profile = profile;
        self
    }

    /// Runs the test suite at the target's head after each rebase and
    /// hands it to the gates as their baseline, when the request brings
    /// none ([`MergeRequest::test_baseline`]): a test that already fails
    /// on the target then does not refuse the merge, a test that passed
    /// there must still pass, and every test the change brings must pass
    /// ([`TestBaseline::requiring_new_tests`]). The run is the profile's
    /// test command with its per-test reporting, in the task's worktree
    /// (its build caches are warm) with `HEAD` detached at the target's
    /// head, and back on the task branch after it, whatever it did; its
    /// per-test outcomes are read with `classifier`, and it is journaled
    /// as a `run` event. A suite that cannot run here (its program is
    /// missing, or no test ran for an infrastructure reason: a toolchain too
    /// old, no network for a download, a declared package not installed)
    /// ends the merge as [`MergeOutcome::NeedsHuman`] before any gate: the
    /// machine must change, not the code. Without this (the default) a
    /// regression-aware tests gate asks for a clean pass of the whole suite.
    pub fn with_target_baseline(mut self, classifier: Arc<dyn FailureClassifier>) -> Self {
        self.target_baseline = Some(classifier);
        self
    }

    async fn emit(&self, task: &TaskId, kind: EventKind) -> Result<(), MergeError> {
        self.journal.append(Event::now(task.clone(), kind)).await.map_err(MergeError::from)
    }

    /// Merges the task's change (see the [module docs](self)).
    pub async fn run(&self, req: MergeRequest) -> Result<MergeReport, MergeError> {
        let cfg = &self.config;
        if !(0.0..=1.0).contains(&cfg.min_confidence) {
            return Err(MergeError::InvalidConfig {
                reason: format!("min confidence {} is outside 0 to 1", cfg.min_confidence),
            });
        }
        if cfg.max_rebases == 0 {
            return Err(MergeError::InvalidConfig { reason: "max rebases must be at least 1".to_owned() });
        }
        if cfg.target.trim().is_empty() {
            return Err(MergeError::InvalidConfig { reason: "no target branch".to_owned() });
        }
        if let Landing::Branch { name } = &cfg.landing {
            if name == &cfg.target || name.trim().is_empty() {
                return Err(MergeError::InvalidConfig {
                    reason: format!("the branch to leave (`{name}`) must be named, and not be the target"),
                });
            }
        }
        let mut git = Git::new(&*self.executor, &cfg.git, &req.worktree, Duration::from_millis(cfg.git_timeout_ms));
        if let Some((name, email)) = &cfg.identity {
            git = git.identity(name, email);
        }
        if rebase_in_progress(&req.worktree)? {
            return Err(MergeError::RebaseInProgress { worktree: req.worktree.clone() });
        }
        git.disable_filters().await?;

        // 1. The task branch, and the change committed on it.
        let branch = self.task_branch(&git, &req).await?;
        let status = git.ok(&["status", "--porcelain=v1", "-z", "--untracked-files=all"]).await?;
        let (entries, bytecode) = untracked_bytecode(&status);
        if entries > bytecode.len() {
            if bytecode.is_empty() {
                git.ok(&["add", "-A"]).await?;
            } else {
                // Python bytecode the task's test runs wrote, in a repository
                // that does not ignore it: never part of the change.
                let mut specs = String::from(":/\0");
                for path in &bytecode {
                    specs.push_str(":(exclude,literal)");
                    specs.push_str(path);
                    specs.push('\0');
                }
                git.ok_with_stdin(&["add", "-A", "--pathspec-from-file=-", "--pathspec-file-nul"], &specs).await?;
            }
            let message = commit_message(&req);
            git.ok(&["commit", "-q", "--no-verify", "--no-gpg-sign", "-m", &message]).await?;
            let commit = head_commit(&req.worktree)?;
            self.emit(&req.task, EventKind::ChangeCommitted { branch: branch.clone(), commit }).await?;
        }

        let mut rebases = 0u32;
        let mut resolved = Vec::new();
        let mut at_target: Option<(String, TestBaseline)> = None;
        let report =
            |outcome, rebases, resolved| MergeReport { outcome, task_branch: branch.clone(), rebases, resolved };
        loop {
            // 2. The target's head.
            let base = self.target_head(&git, &req.worktree).await?;
            let head = head_commit(&req.worktree)?;
            let ahead = count(&git, &format!("{base}..{head}")).await?;
            if ahead == 0 {
                return Ok(report(MergeOutcome::NothingToMerge, rebases, resolved));
            }
            if rebases >= cfg.max_rebases {
                let reason = format!("the target `{}` moved after each of {rebases} rebases", cfg.target);
                self.emit(&req.task, EventKind::MergeRefused { reason }).await?;
                return Ok(report(MergeOutcome::TargetKeptMoving { rebases }, rebases, resolved));
            }
            rebases += 1;

            // 3–4. Rebase, resolving conflicts.
            let new_head = match self.rebase(&git, &req, &base, ahead, &mut resolved).await? {
                Rebase::Done(head) => head,
                Rebase::Refused { conflicts, reason } => {
                    self.emit(&req.task, EventKind::MergeRefused { reason: reason.clone() }).await?;
                    return Ok(report(MergeOutcome::NeedsHuman { conflicts, reason }, rebases, resolved));
                }
            };
            if new_head == base {
                // Every task commit was already in the target.
                return Ok(report(MergeOutcome::NothingToMerge, rebases, resolved));
            }

            // 5. The gates, again, on the rebased tree.
            let baseline = match (&req.test_baseline, &self.target_baseline) {
                (Some(given), _) => Some(given.clone()),
                (None, Some(classifier)) if !self.gates.is_empty() => {
                    let at = self
                        .baseline_at_target(&git, &req, &branch, &base, &new_head, classifier.as_ref(), &mut at_target)
                        .await?;
                    match at {
                        Ok(baseline) => Some(baseline),
                        Err(reason) => {
                            self.emit(&req.task, EventKind::MergeRefused { reason: reason.clone() }).await?;
                            let outcome = MergeOutcome::NeedsHuman { conflicts: Vec::new(), reason };
                            return Ok(report(outcome, rebases, resolved));
                        }
                    }
                }
                (None, _) => None,
            };
            let reports = self.gates(&git, &req, &base, &new_head, baseline).await?;
            let passed = reports.iter().all(|r| r.passed);
            self.emit(&req.task, EventKind::GatesRerun { passed }).await?;
            if !passed {
                let failed: Vec<&str> = reports.iter().filter(|r| !r.passed).map(|r| r.gate.as_str()).collect();
                let reason = format!("gates failed after the rebase: {}", failed.join(", "));
                self.emit(&req.task, EventKind::MergeRefused { reason }).await?;
                return Ok(report(MergeOutcome::GatesFailed { reports }, rebases, resolved));
            }

            // 6. Land.
            match &cfg.landing {
                Landing::Branch { name } => {
                    git.ok(&["update-ref", "-m", "agentkit: merge step", &format!("refs/heads/{name}"), &new_head])
                        .await?;
                    if let Some(remote) = &cfg.remote {
                        let refspec = format!("{new_head}:refs/heads/{name}");
                        git.with_transport().ok(&["push", "--quiet", "--force", remote, &refspec]).await?;
                    }
                    let outcome = MergeOutcome::BranchLeft { branch: name.clone(), commit: new_head.clone() };
                    self.emit(&req.task, EventKind::BranchLeft { branch: name.clone(), commit: new_head }).await?;
                    return Ok(report(outcome, rebases, resolved));
                }
                Landing::FastForward => match self.fast_forward(&git, &req, &base, &new_head).await? {
                    Landed::Done => {
                        self.emit(
                            &req.task,
                            EventKind::Merged { target: cfg.target.clone(), commit: new_head.clone() },
                        )
                        .await?;
                        return Ok(report(MergeOutcome::Merged { commit: new_head }, rebases, resolved));
                    }
                    // The target moved since `base`: rebase again.
                    Landed::Moved => {}
                    Landed::Refused(reason) => {
                        self.emit(&req.task, EventKind::MergeRefused { reason: reason.clone() }).await?;
                        let outcome = MergeOutcome::NeedsHuman { conflicts: Vec::new(), reason };
                        return Ok(report(outcome, rebases, resolved));
                    }
                },
            }
        }
    }

    /// The branch the task's commits are on, switching a detached `HEAD` to a new one.
    async fn task_branch(&self, git: &Git<'_>, req: &MergeRequest) -> Result<String, MergeError> {
        let cfg = &self.config;
        match head_branch(&req.worktree)? {
            Some(b) if b != cfg.target => Ok(b),
            Some(_) if !cfg.in_target_checkout => Err(MergeError::WorktreeOnTarget { target: cfg.target.clone() }),
            _ => {
                let name = cfg.task_branch.clone().unwrap_or_else(|| format!("agentkit/{}", req.task));
                git.ok(&["checkout", "-q", "-B", &name]).await?;
                Ok(name)
            }
        }
    }

    /// The target's head: read in-process, after a fetch for a remote.
    async fn target_head(&self, git: &Git<'_>, worktree: &Path) -> Result<String, MergeError> {
        let cfg = &self.config;
        let (name, shown) = match &cfg.remote {
            None => (format!("refs/heads/{}", cfg.target), cfg.target.clone()),
            Some(remote) => {
                let local = format!("refs/agentkit/fetched/{}", cfg.target);
                let refspec = format!("+refs/heads/{}:{local}", cfg.target);
                let out = git.with_transport().run(&["fetch", "--quiet", "--no-tags", remote, &refspec]).await?;
                if !out.success() {
                    if out.stderr.text().contains("couldn't find remote ref") {
                        return Err(MergeError::TargetMissing { target: format!("{remote}/{}", cfg.target) });
                    }
                    return Err(git_failed(&["fetch", remote, &refspec], &out));
                }
                (local, format!("{remote}/{}", cfg.target))
            }
        };
        read_ref(worktree, &name)?.ok_or(MergeError::TargetMissing { target: shown })
    }

    /// Compare-and-swap of the target from `old` to `new`.
    ///
    /// A local target checked out in another worktree (the user's own
    /// checkout, typically) follows it as git's `receive.denyCurrentBranch
    /// = updateInstead` would: refused when that checkout has changes to
    /// tracked files; after the swap, its index and files are moved from
    /// `old` to `new` (`git read-tree -u -m`, which refuses to overwrite
    /// untracked files); when that fails the swap is undone. Without this a
    /// checkout whose branch moved under it shows the change reversed, and
    /// its next `commit -a` would revert it.
    async fn fast_forward(
        &self,
        git: &Git<'_>,
        req: &MergeRequest,
        old: &str,
        new: &str,
    ) -> Result<Landed, MergeError> {
        let cfg = &self.config;
        let message = format!("agentkit: merge task {}", req.task);
        match &cfg.remote {
            None => {
                let target = format!("refs/heads/{}", cfg.target);
                let checkouts = target_checkouts(&req.worktree, &target)?;
                for checkout in &checkouts {
                    let there = git.in_dir(checkout);
                    // Stat information first, so a touched but unchanged file is not "changed".
                    there.run(&["update-index", "-q", "--refresh"]).await?;
                    let dirty = there.run(&["diff-index", "--quiet", "HEAD", "--"]).await?;
                    if !dirty.success() {
                        return Ok(Landed::Refused(format!(
                            "the target `{}` is checked out at {} with uncommitted changes to tracked files; \
                             commit or stash them there, or land on a branch",
                            cfg.target,
                            checkout.display()
                        )));
                    }
                }
                let out = git.run(&["update-ref", "-m", &message, &target, new, old]).await?;
                if !out.success() {
                    // The lock or the old value failed: moved, or an error.
                    return match read_ref(&req.worktree, &target)? {
                        Some(now) if now != old => Ok(Landed::Moved),
                        _ => Err(git_failed(&["update-ref", &target, new, old], &out)),
                    };
                }
                for (i, checkout) in checkouts.iter().enumerate() {
                    let moved = git.in_dir(checkout).run(&["read-tree", "-u", "-m", old, new]).await?;
                    if moved.success() {
                        continue;
                    }
                    // Undo: the checkouts already moved go back, then the ref.
                    for done in &checkouts[..i] {
                        git.in_dir(done).ok(&["read-tree", "-u", "-m", new, old]).await?;
                    }
                    let undo = "agentkit: merge undone, a checkout of the target could not follow";
                    git.ok(&["update-ref", "-m", undo, &target, old, new]).await?;
                    let stderr = moved.stderr.text();
                    return Ok(Landed::Refused(format!(
                        "the target `{}` is checked out at {} and its files could not follow the merge ({}); \
                         the target is left where it was",
                        cfg.target,
                        checkout.display(),
                        stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("git read-tree failed").trim()
                    )));
                }
                Ok(Landed::Done)
            }
            Some(remote) => {
                let target = format!("refs/heads/{}", cfg.target);
                let lease = format!("--force-with-lease={target}:{old}");
                let refspec = format!("{new}:{target}");
                let out =
                    git.with_transport().run(&["push", "--quiet", "--porcelain", &lease, remote, &refspec]).await?;
                if out.success() {
                    return Ok(Landed::Done);
                }
                let text = out.stdout.text();
                if text.contains("[rejected]") || text.contains("stale info") || text.contains("fetch first") {
                    return Ok(Landed::Moved);
                }
                Err(git_failed(&["push", &lease, remote, &refspec], &out))
            }
        }
    }

    /// Rebases the task branch onto `base`, resolving conflicts with the model.
    async fn rebase(
        &self,
        git: &Git<'_>,
        req: &MergeRequest,
        base: &str,
        commits: u32,
        resolved: &mut Vec<ConflictRecord>,
    ) -> Result<Rebase, MergeError> {
        let mut out = git.run(&["rebase", "--quiet", "--no-autostash", "--no-update-refs", base]).await?;
        loop {
            if out.success() {
                break;
            }
            let unmerged = unmerged(git).await?;
            if unmerged.is_empty() {
                let err = git_failed(&["rebase", base], &out);
                self.abort(git, &req.worktree).await?;
                return Err(err);
            }
            for file in &unmerged {
                self.emit(&req.task, EventKind::MergeConflict { file: file.path.clone() }).await?;
            }
            let mut records: Vec<ConflictRecord> = Vec::new();
            for (i, file) in unmerged.iter().enumerate() {
                match self.resolve(git, req, file).await? {
                    Ok(record) => records.push(record),
                    Err(record) => {
                        let reason = format!(
                            "conflict in {} not resolved: {}",
                            record.file,
                            record.problem.as_deref().unwrap_or("no usable answer")
                        );
                        records.push(record);
                        for rest in &unmerged[i + 1..] {
                            records.push(ConflictRecord {
                                file: rest.path.clone(),
                                confidence: None,
                                reason: None,
                                problem: Some("not asked: an earlier file was not resolved".to_owned()),
                            });
                        }
                        self.abort(git, &req.worktree).await?;
                        return Ok(Rebase::Refused { conflicts: records, reason });
                    }
                }
            }
            resolved.extend(records);
            out = git.run(&["rebase", "--continue"]).await?;
        }
        let head = head_commit(&req.worktree)?;
        self.emit(&req.task, EventKind::Rebased { onto: base.to_owned(), commits, head: head.clone() }).await?;
        Ok(Rebase::Done(head))
    }

    async fn abort(&self, git: &Git<'_>, worktree: &Path) -> Result<(), MergeError> {
        if rebase_in_progress(worktree)? {
            git.ok(&["rebase", "--abort"]).await?;
        }
        Ok(())
    }

    /// Asks the model for `file`'s resolution and, when usable, stages it
    /// and writes it to the worktree. `Err` is the record of a refusal.
    async fn resolve(
        &self,
        git: &Git<'_>,
        req: &MergeRequest,
        file: &Unmerged,
    ) -> Result<Result<ConflictRecord, ConflictRecord>, MergeError> {
        let refuse = |problem: String, confidence: Option<f64>, reason: Option<String>| ConflictRecord {
            file: file.path.clone(),
            confidence,
            reason,
            problem: Some(problem),
        };
        let journal_refusal = |record: &ConflictRecord| EventKind::ConflictResolved {
            file: record.file.clone(),
            confidence: record.confidence,
            accepted: false,
            reason: record.problem.clone().unwrap_or_default(),
        };
        let Some(provider) = &self.provider else {
            let record = refuse("no model to resolve conflicts".to_owned(), None, None);
            self.emit(&req.task, journal_refusal(&record)).await?;
            return Ok(Err(record));
        };
        if file.mode != "100644" && file.mode != "100755" {
            let record = refuse(format!("not a regular file (mode {})", file.mode), None, None);
            self.emit(&req.task, journal_refusal(&record)).await?;
            return Ok(Err(record));
        }
        let mut sides = resolve::Sides { base: None, target: None, task: None };
        for stage in &file.stages {
            let out = git.run(&["show", &format!(":{stage}:{}", file.path)]).await?;
            if !out.success() {
                return Err(git_failed(&["show", &format!(":{stage}:{}", file.path)], &out));
            }
            if out.stdout.truncated {
                let record = refuse("the file is too large to show the model".to_owned(), None, None);
                self.emit(&req.task, journal_refusal(&record)).await?;
                return Ok(Err(record));
            }
            let text = Some(out.stdout.text());
            match stage {
                1 => sides.base = text,
                2 => sides.target = text,
                _ => sides.task = text,
            }
        }
        let request = resolve::request(&req.goal, &file.path, &sides);
        let started = std::time::Instant::now();
        let answer = provider.complete(request).await;
        let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let completion = match answer {
            Ok(c) => {
                self.emit(&req.task, EventKind::llm_call("merge", &c, latency_ms)).await?;
                c
            }
            Err(e) => {
                self.emit(&req.task, EventKind::failed_llm_call("merge", &e, latency_ms)).await?;
                let record = refuse(format!("the model call failed: {e}"), None, None);
                self.emit(&req.task, journal_refusal(&record)).await?;
                return Ok(Err(record));
            }
        };
        let parsed = match ConflictAnswer::parse(&completion.content) {
            Ok(parsed) => parsed,
            Err(why) => {
                let record = refuse(format!("invalid answer: {why}"), None, None);
                self.emit(&req.task, journal_refusal(&record)).await?;
                return Ok(Err(record));
            }
        };
        if parsed.confidence < self.config.min_confidence {
            let record = refuse(
                format!("confidence {:.2} is below {:.2}", parsed.confidence, self.config.min_confidence),
                Some(parsed.confidence),
                Some(parsed.reason),
            );
            self.emit(&req.task, journal_refusal(&record)).await?;
            return Ok(Err(record));
        }
        // Stage the resolution and write it to the worktree, all through git.
        let blob = git.ok_with_stdin(&["hash-object", "-w", "--no-filters", "--stdin"], &parsed.resolution).await?;
        let cacheinfo = format!("{},{},{}", file.mode, blob.trim(), file.path);
        git.ok(&["update-index", "--cacheinfo", &cacheinfo]).await?;
        git.ok(&["checkout-index", "-f", "-q", "--", &file.path]).await?;
        self.emit(
            &req.task,
            EventKind::ConflictResolved {
                file: file.path.clone(),
                confidence: Some(parsed.confidence),
                accepted: true,
                reason: parsed.reason.clone(),
            },
        )
        .await?;
        Ok(Ok(ConflictRecord {
            file: file.path.clone(),
            confidence: Some(parsed.confidence),
            reason: Some(parsed.reason),
            problem: None,
        }))
    }

    /// The test run at the target's head `base` (see
    /// [`with_target_baseline`](Self::with_target_baseline)), run once per
    /// head (`cache`); the worktree is back on `branch` at `head` after it.
    /// `Ok(Err(reason))`: the suite cannot run on this machine (its program
    /// is missing, or it ran no test for an infrastructure reason), which no
    /// gate can judge and no change can mend.
    #[allow(clippy::too_many_arguments)]
    async fn baseline_at_target(
        &self,
        git: &Git<'_>,
        req: &MergeRequest,
        branch: &str,
        base: &str,
        head: &str,
        classifier: &dyn FailureClassifier,
        cache: &mut Option<(String, TestBaseline)>,
    ) -> Result<Result<TestBaseline, String>, MergeError> {
        if let Some((at, baseline)) = cache.as_ref() {
            if at == base {
                return Ok(Ok(baseline.clone()));
            }
        }
        let Some(test) = self.profile.test_command() else {
            return Ok(Ok(TestBaseline::default()));
        };
        let spec = structured_test_reporting(test.to_spec(&req.worktree)).wall_timeout(TARGET_BASELINE_TIMEOUT);
        let command = spec.display_redacted();
        git.ok(&["checkout", "-q", "--detach", base]).await?;
        let ran = self.executor.run(spec).await;
        // Back on the task branch, whatever the run did.
        git.ok(&["checkout", "-q", branch]).await?;
        let now = head_commit(&req.worktree)?;
        if now != head {
            return Err(MergeError::Repository {
                path: req.worktree.clone(),
                message: format!("the task branch `{branch}` moved from {head} to {now} during the baseline run"),
            });
        }
        let output = match ran {
            Ok(output) => output,
            Err(source @ ExecError::ProgramNotFound { .. }) => {
                return Ok(Err(format!(
                    "the test suite cannot run here: `{command}`: {source}; set the environment up, then merge again"
                )));
            }
            Err(source) => return Err(MergeError::Exec { command, source }),
        };
        self.emit(&req.task, crate::repair::run_event(&output)).await?;
        let outcomes = classifier.test_outcomes(&output);
        if outcomes.is_empty() && output.exit_code != Some(0) {
            // No test ran at the target's head, for a reason no change to
            // the code can remove: the machine, not the task, must change.
            let classification = classifier.classify(&output, &self.profile);
            if classification.tier == Tier::Infrastructure {
                let cause = classification.failures.iter().find(|f| f.kind == FailureKind::Environment).map_or_else(
                    || "an infrastructure failure".to_owned(),
                    |f| {
                        let lines: Vec<&str> = f.message.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
                        lines.join(" ").chars().take(400).collect()
                    },
                );
                return Ok(Err(format!(
                    "the test suite cannot run here: `{command}` ran no test at the target's head: {cause}; \
                     set the environment up, then merge again"
                )));
            }
        }
        let baseline = TestBaseline::new(command, output.exit_code, outcomes).requiring_new_tests();
        *cache = Some((base.to_owned(), baseline.clone()));
        Ok(Ok(baseline))
    }

    /// The host's gates on the rebased tree (the worktree, at `head`), with
    /// the tests' `baseline` (`None`: none, and a regression-aware tests
    /// gate asks for a clean pass).
    async fn gates(
        &self,
        git: &Git<'_>,
        req: &MergeRequest,
        base: &str,
        head: &str,
        baseline: Option<TestBaseline>,
    ) -> Result<Vec<GateReport>, MergeError> {
        if self.gates.is_empty() {
            return Ok(Vec::new());
        }
        let names = git.ok(&["diff", "--name-status", "--no-renames", "-z", base, head]).await?;
        let mut changes = Vec::new();
        let mut fields = names.split('\0').filter(|f| !f.is_empty());
        while let (Some(status), Some(path)) = (fields.next(), fields.next()) {
            let kind = match status {
                "A" => "created",
                "D" => "deleted",
                _ => "modified",
            };
            changes.push(FileChange::new(path, kind));
        }
        let diff = git.ok(&["diff", "--no-ext-diff", "--no-textconv", base, head]).await?;
        let cx = GateContext::new(&req.worktree, self.profile.clone(), &req.goal, changes)
            .with_diff(diff)
            .with_test_baseline(baseline.unwrap_or_default());
        let mut reports = Vec::new();
        for gate in &self.gates {
            let report = match check_gate(gate.as_ref(), &cx).await {
                Ok(report) => report,
                Err(e) => GateReport::new(e.gate().to_owned(), false, format!("could not run: {e}")),
            };
            self.emit(&req.task, EventKind::GateReport { report: report.clone() }).await?;
            reports.push(report);
        }
        Ok(reports)
    }
}

/// How a compare-and-swap landing went.
enum Landed {
    /// The target is at the new head.
    Done,
    /// The target moved since the rebase.
    Moved,
    /// A checkout of the target could not follow; the target is unchanged.
    Refused(String),
}

/// A file git left unmerged.
struct Unmerged {
    path: String,
    /// The mode to stage the resolution with (the task's side, else the target's).
    mode: String,
    /// The stages present (1 base, 2 target, 3 task).
    stages: Vec<u8>,
}

/// The unmerged files, from `git ls-files -u -z` (`MODE SHA STAGE\tPATH`).
async fn unmerged(git: &Git<'_>) -> Result<Vec<Unmerged>, MergeError> {
    let out = git.ok(&["ls-files", "-u", "-z"]).await?;
    let mut files: Vec<Unmerged> = Vec::new();
    for record in out.split('\0').filter(|r| !r.is_empty()) {
        let Some((meta, path)) = record.split_once('\t') else { continue };
        let mut meta = meta.split(' ');
        let (Some(mode), Some(_sha), Some(stage)) = (meta.next(), meta.next(), meta.next()) else { continue };
        let stage: u8 = stage.parse().unwrap_or(0);
        let entry = match files.iter_mut().find(|f| f.path == path) {
            Some(entry) => entry,
            None => {
                files.push(Unmerged { path: path.to_owned(), mode: mode.to_owned(), stages: Vec::new() });
                let last = files.len() - 1;
                &mut files[last]
            }
        };
        if stage == 3 || (stage == 2 && !entry.stages.contains(&3)) {
            entry.mode = mode.to_owned();
        }
        entry.stages.push(stage);
    }
    Ok(files)
}

/// Whether a rebase is stopped in the worktree, read in-process.
fn rebase_in_progress(worktree: &Path) -> Result<bool, MergeError> {
    let repo = gix::open(worktree)
        .map_err(|e| MergeError::Repository { path: worktree.to_path_buf(), message: e.to_string() })?;
    Ok(matches!(
        repo.state(),
        Some(
            gix::state::InProgress::Rebase
                | gix::state::InProgress::RebaseInteractive
                | gix::state::InProgress::ApplyMailboxRebase
        )
    ))
}

/// The branch `HEAD` of `worktree` is on (`None`: detached), read in-process.
fn head_branch(worktree: &Path) -> Result<Option<String>, MergeError> {
    let err = |message: String| MergeError::Repository { path: worktree.to_path_buf(), message };
    let repo = gix::open(worktree).map_err(|e| err(e.to_string()))?;
    let name = repo.head_name().map_err(|e| err(e.to_string()))?;
    Ok(name.and_then(|n| {
        let full = n.as_bstr().to_string();
        full.strip_prefix("refs/heads/").map(str::to_owned)
    }))
}

/// The working trees of the repository, other than `worktree` (the
/// task's), that have `target` (a full ref name) checked out, read
/// in-process: the main one, if the repository is not bare, and the linked
/// ones whose directories still exist.
fn target_checkouts(worktree: &Path, target: &str) -> Result<Vec<PathBuf>, MergeError> {
    let err = |message: String| MergeError::Repository { path: worktree.to_path_buf(), message };
    let repo = gix::open(worktree).map_err(|e| err(e.to_string()))?;
    let own = std::fs::canonicalize(worktree).unwrap_or_else(|_| worktree.to_path_buf());
    let mut found = Vec::new();
    // One that cannot be opened (its files gone: prunable) has nothing to move.
    for other in repo.worktrees_including_main().map_err(|e| err(e.to_string()))?.flatten() {
        let Some(dir) = other.workdir().filter(|d| d.is_dir()) else { continue };
        let on_target = other.head_name().ok().flatten().is_some_and(|name| name.as_bstr() == target);
        let canonical = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        if on_target && canonical != own {
            found.push(dir.to_path_buf());
        }
    }
    Ok(found)
}

/// The commit `HEAD` of `worktree` is at, read in-process.
fn head_commit(worktree: &Path) -> Result<String, MergeError> {
    let err = |message: String| MergeError::Repository { path: worktree.to_path_buf(), message };
    let repo = gix::open(worktree).map_err(|e| err(e.to_string()))?;
    let id = repo.head_id().map_err(|e| err(e.to_string()))?;
    Ok(id.to_string())
}

async fn count(git: &Git<'_>, range: &str) -> Result<u32, MergeError> {
    let out = git.ok(&["rev-list", "--count", range]).await?;
    Ok(out.trim().parse().unwrap_or(0))
}

/// The commit `name` points to, read in-process; `None` when it does not exist.
fn read_ref(worktree: &Path, name: &str) -> Result<Option<String>, MergeError> {
    let err = |message: String| MergeError::Repository { path: worktree.to_path_buf(), message };
    let repo = gix::open(worktree).map_err(|e| err(e.to_string()))?;
    let Some(mut reference) = repo.try_find_reference(name).map_err(|e| err(e.to_string()))? else {
        return Ok(None);
    };
    let id = reference.peel_to_id().map_err(|e| err(e.to_string()))?;
    Ok(Some(id.to_string()))
}

/// The commit message: the goal's first line (at most 72 characters), then the goal and the task.
fn commit_message(req: &MergeRequest) -> String {
    let goal = req.goal.trim();
    let first = goal.lines().next().unwrap_or("").trim();
    let mut subject: String = first.chars().take(72).collect();
    if subject.is_empty() {
        subject = format!("agentkit task {}", req.task);
    }
    format!("{subject}\n\n{goal}\n\nTask: {}", req.task)
}

/// The entries of `git status --porcelain=v1 -z` output, and the untracked
/// ones that are Python bytecode (`__pycache__/`, `*.pyc`, `*.pyo`).
fn untracked_bytecode(status: &str) -> (usize, Vec<&str>) {
    let mut entries = 0;
    let mut bytecode = Vec::new();
    let mut fields = status.split('\0');
    while let Some(entry) = fields.next() {
        let (Some(xy), Some(path)) = (entry.get(..2), entry.get(3..)) else { continue };
        entries += 1;
        if xy.starts_with(['R', 'C']) {
            // A rename or copy: its source path is the next field.
            fields.next();
        }
        let is_bytecode =
            path.ends_with(".pyc") || path.ends_with(".pyo") || path.split('/').any(|part| part == "__pycache__");
        if xy == "??" && is_bytecode {
            bytecode.push(path);
        }
    }
    (entries, bytecode)
}

#[cfg(test)]
mod tests {
    use super::untracked_bytecode;

    #[test]
    fn a_renames_source_path_is_not_read_as_an_entry_and_only_untracked_bytecode_is_picked() {
        // `git status --porcelain=v1 -z`: a staged rename (new, then old), a
        // tracked pyc modified, untracked bytecode and source.
        let status = "R  new.py\0__pycache__/old.py\0 M vendor/legacy.pyc\0?? __pycache__/x.cpython-311.pyc\0\
                      ?? src/pkg/__pycache__/y.pyc\0?? twice.py\0?? stray.pyo\0";
        let (entries, bytecode) = untracked_bytecode(status);
        assert_eq!(entries, 6);
        assert_eq!(bytecode, ["__pycache__/x.cpython-311.pyc", "src/pkg/__pycache__/y.pyc", "stray.pyo"]);
        assert_eq!(untracked_bytecode(""), (0, vec![]));
    }
}
