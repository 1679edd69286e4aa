//! The reference [`RepairLoop`]: inspect, snapshot, plan, apply, test,
//! classify, repair, and restore or accept.
//!
//! ```text
//! TaskStarted → Planning → inspect (oracle) ── no test command: NeedsHuman, nothing touched
//!   → snapshot → baseline tests (classified, attempt 0) ── infrastructure failure: NeedsHuman
//!   → for attempt in 1..=max_attempts (default 3):
//!        Planning (attempt 1) or Repairing (later attempts):
//!          budget check → model turn → Plan::parse
//!          (an answer that is not a usable plan: PlanRejected and a corrective re-ask,
//!           `max_plan_reasks` times (default 1), then NeedsHuman)
//!        Executing: apply the actions in order (file actions through the Editor,
//!          run_command through the Executor; the first that fails ends the plan)
//!          → tests → classify → compare per-test outcomes with the baseline
//!        tests pass → Verifying (when gates or an inspector are set): gates, then the inspector
//!          → all pass: Accepted, the snapshot is discarded
//!          → a gate fails or the review requests changes: the attempt fails, the findings
//!            go into the repair prompt
//!          → the review needs a human: NeedsHuman
//!        infrastructure failure: NeedsHuman
//!        otherwise: repair prompt from the classified failures → next attempt
//!   → still failing after the last attempt: RolledBack
//! budget exhausted before a model turn, or the executor refuses to run more
//!   (ExecError::LimitReached): BudgetStop event, BudgetExceeded
//! a model call that fails: NeedsHuman
//! every ending but Accepted: the snapshot is restored, then discarded
//! ```
//!
//! **Attempts count plans, not model turns.** `max_attempts` bounds the
//! apply-and-test cycles. A corrective re-ask after an answer that is not a
//! valid plan is a model turn (checked against the [`Budget`] and counted by
//! it) but not an attempt; [`TaskMetrics`] reports both.
//!
//! **A baseline test run precedes planning**, so the first prompt carries the
//! classified failures the goal is about, and the report
//! ([`RepairReport::baseline`]) shows what failed before any change. A
//! baseline that fails for the environment (tier
//! [`Infrastructure`](Tier::Infrastructure): a missing tool, a full disk)
//! ends the task before any model turn, unless tests ran and what the
//! environment broke is some tests the task does not name (one needs a
//! network, a key, a package not installed here): those are judged like
//! any test that failed before, and left out of what the model is shown.
//! An attempt whose run has an environment failure the baseline did not
//! have ends the task the same way.
//!
//! **Acceptance is regression-aware.** Every test run is also read as
//! per-test outcomes ([`FailureClassifier::test_outcomes`]) and compared
//! with the baseline's ([`compare_runs`](agent_core::failure::compare_runs)).
//! With named tests ([`Task::named_tests`], or the tests a spec's acceptance
//! criteria name), an attempt passes when they go from failing to passing
//! and every test that passed at baseline still passes, in a run whose
//! outcomes could be read and whose failure is not the environment's, even
//! while unrelated tests that failed before still fail: the suite's exit
//! code would reject every change in such a workspace. Without named tests
//! the suite's verdict decides, and a test that passed at baseline must not
//! fail or disappear. Regressions and unfixed named tests lead the next
//! repair prompt.
//!
//! **Budgets and provider errors.** [`RepairConfig::budget`] is checked
//! before every model turn. Provider errors reach the loop after the
//! provider's own layers (retry, cascade) did what they could; a quota or
//! spend refusal (`QuotaExhausted`, as a budget ledger's refusal surfaces)
//! ends the task as BudgetExceeded, any other as NeedsHuman.
//!
//! **Restore on every way out.** From the snapshot until the loop restored
//! or discarded it itself, a guard is armed: a run whose future is dropped
//! (cancelled) or that panics spawns the restore on the runtime when the
//! guard drops; hosts await it with [`RepairLoop::wait_for_restores`].
//! Every end journals a verdict and `TaskFinished`, error paths included;
//! an error after the task reached its outcome comes back as
//! [`LoopError::AfterOutcome`] carrying the report.
//!
//! **Gates see the cumulative change**: the files and a unified diff of
//! everything changed since the snapshot (every attempt, and what commands
//! changed), compared with an image of the tree taken with the snapshot.
//!
//! **Renderer and memory are set with methods**, not as fields:
//! [`RepairLoop::with_context_renderer`] (default [`PlainContext`]; agentctl
//! uses `agent_classify::RepairContextBuilder`) and
//! [`RepairLoop::with_memory`]. [`RepairConfig`] stays plain serialisable
//! data, and [`RepairParts`] stays a struct that hosts write out as a
//! literal, which a new field would break. Memory is opt-in because what it
//! recalls is appended to the planning prompt, and a changed prompt misses
//! in a cassette recorded without it.
//!
//! Every step is an [`Event`] in the journal;
//! [`RepairLoop::with_observer`] sees each one as it is journaled (agentctl
//! prints its progress lines from it).

mod guard;
mod prompt;
mod tree;

use prompt::{PromptLimits, PromptStyle};
pub use prompt::{SYSTEM_PROMPT, TOOLS_SYSTEM_PROMPT};

use crate::PlainContext;
use crate::session::{AgentSession, SessionConfig, SessionEnd, SessionError, TurnReport};
use crate::tools::ToolSet;
use agent_core::budget::{Budget, BudgetStop, BudgetTracker, Usd};
use agent_core::context::RepoMapper;
use agent_core::edit::FileChange;
use agent_core::event::{Event, EventKind, TaskId, TaskState};
use agent_core::exec::{CommandSpec, RunOutput, redact_command_line};
use agent_core::exec::{Enforcement, SandboxPolicy};
use agent_core::failure::{Classification, Failure, FailureCategory, FailureKind, TestStatus, Tier};
use agent_core::gate::{GateContext, GateReport, TestBaseline, Verdict};
use agent_core::journal::JournalError;
use agent_core::plan::{Action, Plan};
use agent_core::provider::{CompletionRequest, Message, Usage};
use agent_core::snapshot::{SnapshotError, SnapshotId};
use agent_core::tool::{ObservationLimits, ToolContext};
use agent_core::workspace::{DetectedCommand, OracleError, WorkspaceProfile};
use agent_core::{
    ContextRenderer, Editor, Executor, FailureClassifier, Gate, Journal, LlmProvider, Snapshotter, WorkspaceOracle,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

/// One goal for the loop in one workspace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Task {
    /// The task's id; events are grouped by it.
    pub id: TaskId,
    /// The workspace root.
    pub root: PathBuf,
    /// What to achieve, in the user's words.
    pub goal: String,
    /// Tests that must go from failing to passing; when set, the loop judges
    /// an attempt regression-aware (these fixed, every passing test still
    /// passing) instead of by the suite's exit code.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub named_tests: Vec<String>,
}

impl Task {
    /// A task.
    pub fn new(id: impl Into<TaskId>, root: impl Into<PathBuf>, goal: impl Into<String>) -> Self {
        Self { id: id.into(), root: root.into(), goal: goal.into(), named_tests: Vec::new() }
    }

    /// A task from a spec: its goal is the spec rendered for planning, its
    /// named tests those the acceptance criteria name.
    pub fn from_spec(id: impl Into<TaskId>, root: impl Into<PathBuf>, spec: &agent_core::spec::TaskSpec) -> Self {
        Self { id: id.into(), root: root.into(), goal: spec.goal(), named_tests: spec.named_tests() }
    }

    /// Sets the tests that must go from failing to passing.
    pub fn with_named_tests(mut self, tests: Vec<String>) -> Self {
        self.named_tests = tests;
        self
    }
}

/// Settings of the loop.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct RepairConfig {
    /// Attempts in all: the first plan plus the repairs (default 3).
    pub max_attempts: u32,
    /// Limits checked before every model turn.
    pub budget: Budget,
    /// Wall-clock limit of one test run, in milliseconds.
    pub test_timeout_ms: u64,
    /// Inactivity limit of one test run, in milliseconds.
    pub test_idle_timeout_ms: Option<u64>,
    /// Corrective re-asks after an answer that is not a valid plan (default 1).
    pub max_plan_reasks: u32,
    /// Lines of source shown on each side of a failure's line in a repair
    /// prompt, by the default [`PlainContext`] renderer.
    pub context_lines: u32,
    /// At most this many failures go into one repair prompt, with the
    /// default [`PlainContext`] renderer.
    pub max_failures_in_prompt: usize,
    /// Upper bound on tokens the model may generate per turn.
    pub max_tokens_per_turn: Option<u32>,
    /// How the model works: agent sessions with tools (the default) or one
    /// JSON plan per attempt.
    #[serde(default)]
    pub mode: LoopMode,
    /// The agent sessions' settings (turns, tool calling, compaction), in tools mode.
    #[serde(default)]
    pub session: SessionConfig,
    /// The sandbox every command the model runs is under, in tools mode
    /// (default: writes only in the workspace and no network, best effort).
    #[serde(default = "default_sandbox")]
    pub sandbox: SandboxPolicy,
    /// Most tokens of one tool observation, in tools mode (default 2,000).
    #[serde(default = "default_observation_tokens")]
    pub observation_tokens: usize,
    /// Most tokens of the repository map in the first prompt of a session,
    /// when a map is set ([`RepairLoop::with_repo_map`]; default 1,500).
    #[serde(default = "default_repo_map_tokens")]
    pub repo_map_tokens: usize,
}

/// How the model works in each attempt.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LoopMode {
    /// An agent session per attempt: the model reads, searches, edits and
    /// runs the tests with tools, then calls `finish`; the loop then runs
    /// the tests itself to verify.
    #[default]
    Tools,
    /// One JSON plan per attempt, applied by the loop (for models without
    /// tool calling, and the replayed plan-mode demos).
    Plan,
}

fn default_sandbox() -> SandboxPolicy {
    SandboxPolicy::WorkspaceWriteNoNetwork { enforcement: Enforcement::BestEffort }
}

fn default_observation_tokens() -> usize {
    2_000
}

fn default_repo_map_tokens() -> usize {
    1_500
}

impl Default for RepairConfig {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            budget: Budget::unlimited(),
            test_timeout_ms: 10 * 60 * 1000,
            test_idle_timeout_ms: None,
            max_plan_reasks: 1,
            context_lines: 6,
            max_failures_in_prompt: 8,
            max_tokens_per_turn: Some(8192),
            mode: LoopMode::default(),
            session: SessionConfig::default(),
            sandbox: default_sandbox(),
            observation_tokens: default_observation_tokens(),
            repo_map_tokens: default_repo_map_tokens(),
        }
    }
}

impl RepairConfig {
    /// Sets the number of attempts in all (the first plan plus the repairs).
    pub fn with_max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n;
        self
    }

    /// Sets the budget checked before every model turn.
    pub fn with_budget(mut self, budget: Budget) -> Self {
        self.budget = budget;
        self
    }

    /// Sets the wall-clock limit of one test run.
    pub fn with_test_timeout(mut self, limit: Duration) -> Self {
        self.test_timeout_ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// Sets the inactivity limit of one test run.
    pub fn with_test_idle_timeout(mut self, limit: Duration) -> Self {
        self.test_idle_timeout_ms = Some(u64::try_from(limit.as_millis()).unwrap_or(u64::MAX));
        self
    }

    /// Sets how many corrective re-asks follow an answer that is not a valid plan.
    pub fn with_max_plan_reasks(mut self, n: u32) -> Self {
        self.max_plan_reasks = n;
        self
    }

    /// Sets how the model works: agent sessions or JSON plans.
    pub fn with_mode(mut self, mode: LoopMode) -> Self {
        self.mode = mode;
        self
    }

    /// Sets the agent sessions' settings.
    pub fn with_session(mut self, session: SessionConfig) -> Self {
        self.session = session;
        self
    }

    /// Sets the sandbox of the commands the model runs.
    pub fn with_sandbox(mut self, policy: SandboxPolicy) -> Self {
        self.sandbox = policy;
        self
    }
}

/// The parts a [`RepairLoop`] is made of.
#[derive(Clone)]
pub struct RepairParts {
    /// The model.
    pub provider: Arc<dyn LlmProvider>,
    /// Inspects the workspace.
    pub oracle: Arc<dyn WorkspaceOracle>,
    /// Classifies test output.
    pub classifier: Arc<dyn FailureClassifier>,
    /// Runs commands.
    pub executor: Arc<dyn Executor>,
    /// Takes and restores snapshots.
    pub snapshotter: Arc<dyn Snapshotter>,
    /// Applies file actions.
    pub editor: Arc<dyn Editor>,
    /// Records every step.
    pub journal: Arc<dyn Journal>,
}

/// How a task ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// The tests pass with the change; the snapshot was dropped.
    Accepted,
    /// Every attempt failed; the workspace was restored.
    RolledBack,
    /// The model could not produce a usable plan, or the failure is not the code's; restored.
    NeedsHuman,
    /// A budget ran out; restored.
    BudgetExceeded,
}

impl Outcome {
    /// The final task state for this outcome.
    pub fn state(self) -> TaskState {
        match self {
            Self::Accepted => TaskState::Accepted,
            Self::RolledBack => TaskState::RolledBack,
            Self::NeedsHuman => TaskState::NeedsHuman,
            Self::BudgetExceeded => TaskState::BudgetExceeded,
        }
    }
}

/// What one attempt did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AttemptReport {
    /// 1-based attempt number.
    pub number: u32,
    /// `plan` for the first attempt, `repair` after.
    pub kind: String,
    /// The model's summary of its plan.
    pub summary: String,
    /// Files changed.
    pub changes: Vec<FileChange>,
    /// The test command's exit code.
    pub exit_code: Option<i32>,
    /// The classified test run.
    pub classification: Classification,
    /// Whether the tests passed.
    pub passed: bool,
    /// Why the attempt could not be applied, if it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply_error: Option<String>,
    /// The agent session's turns and tool calls (tools mode).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub turns: Vec<TurnReport>,
    /// How the agent session ended (tools mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_end: Option<SessionEnd>,
}

/// Per-task figures.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TaskMetrics {
    /// Attempts made.
    pub attempts: u32,
    /// Repairs made (attempts after the first).
    pub repairs: u32,
    /// Model turns taken (re-asks included).
    pub model_turns: u32,
    /// Tool calls made by the agent sessions.
    #[serde(default)]
    pub tool_calls: u32,
    /// Whether the workspace was restored.
    pub rolled_back: bool,
    /// Tokens spent.
    pub usage: Usage,
    /// Cost in US dollars.
    pub cost_usd: Usd,
    /// Wall time in milliseconds.
    pub wall_ms: u64,
}

/// The report of one task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct RepairReport {
    /// The task.
    pub task: TaskId,
    /// How it ended.
    pub outcome: Outcome,
    /// The verdict.
    pub verdict: Verdict,
    /// The test command the oracle chose.
    pub test_command: String,
    /// The baseline test run, before any change.
    pub baseline: Classification,
    /// Every attempt.
    pub attempts: Vec<AttemptReport>,
    /// Gate reports on the accepted change.
    pub gates: Vec<GateReport>,
    /// The budget limit that stopped the task, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_stop: Option<BudgetStop>,
    /// Figures.
    pub metrics: TaskMetrics,
}

/// Why the loop itself could not go on (as opposed to a failed attempt, which is in the report).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoopError {
    /// The oracle failed.
    #[error("inspecting the workspace failed: {0}")]
    Oracle(#[from] OracleError),
    /// The oracle found no test command, so nothing can be verified.
    #[error("no test command found in {}", root.display())]
    NoTestCommand {
        /// The workspace.
        root: PathBuf,
    },
    /// The snapshot could not be taken: nothing was changed.
    #[error("taking a snapshot of {} failed: {source}", root.display())]
    SnapshotTake {
        /// The workspace.
        root: PathBuf,
        /// The snapshotter's error.
        #[source]
        source: SnapshotError,
    },
    /// The workspace could not be restored to the snapshot: the tree may
    /// hold the failed attempt's changes, and the snapshot is kept.
    #[error("restoring snapshot {id} failed: {source}")]
    Restore {
        /// The snapshot that is still there to restore from.
        id: SnapshotId,
        /// The snapshotter's error.
        #[source]
        source: SnapshotError,
    },
    /// The snapshot could not be discarded after the tree was dealt with.
    #[error("discarding snapshot {id} failed: {source}")]
    Discard {
        /// The snapshot left behind.
        id: SnapshotId,
        /// The snapshotter's error.
        #[source]
        source: SnapshotError,
    },
    /// Comparing `HEAD`, the refs and the stash list with the snapshot's failed.
    #[error("checking git state against snapshot {id} failed: {source}")]
    RefCheck {
        /// The snapshot compared with.
        id: SnapshotId,
        /// The snapshotter's error.
        #[source]
        source: SnapshotError,
    },
    /// The task reached an outcome (in `report`: an accepted change stays in
    /// the tree) and a later step failed (discarding the snapshot, the
    /// journal).
    #[error("the task ended {:?}, then: {error}", report.outcome)]
    AfterOutcome {
        /// The task's report.
        report: Box<RepairReport>,
        /// What failed after the outcome.
        #[source]
        error: Box<LoopError>,
    },
    /// The journal failed.
    #[error("journal failed: {0}")]
    Journal(#[from] JournalError),
    /// The test command could not be run at all.
    #[error("running the tests failed: {0}")]
    Exec(#[from] agent_core::exec::ExecError),
    /// The agent session could not run (its configuration).
    #[error("agent session failed: {reason}")]
    Session {
        /// Why.
        reason: String,
    },
    /// The configuration cannot work (e.g. zero attempts).
    #[error("invalid loop configuration: {reason}")]
    InvalidConfig {
        /// What is wrong.
        reason: String,
    },
}

impl LoopError {
    /// The report of a task that reached an outcome before this error.
    pub fn report(&self) -> Option<&RepairReport> {
        match self {
            Self::AfterOutcome { report, .. } => Some(report),
            _ => None,
        }
    }

    /// The snapshot this error leaves behind, if any.
    pub fn snapshot(&self) -> Option<&SnapshotId> {
        match self {
            Self::Restore { id, .. } | Self::Discard { id, .. } => Some(id),
            Self::AfterOutcome { error, .. } => error.snapshot(),
            _ => None,
        }
    }
}

/// Observes each event as it is journaled (e.g. to print progress).
pub type Observer = Arc<dyn Fn(&agent_core::event::Event) + Send + Sync>;

/// The reference repair loop.
pub struct RepairLoop {
    parts: RepairParts,
    config: RepairConfig,
    gates: Vec<Arc<dyn Gate>>,
    observer: Option<Observer>,
    context: Option<Arc<dyn ContextRenderer>>,
    memory: Option<Arc<dyn agent_core::Memory>>,
    inspector: Option<crate::Inspector>,
    tools: ToolSet,
    repo_map: Option<Arc<dyn RepoMapper>>,
    pending: guard::PendingRestores,
}

impl RepairLoop {
    /// A loop over these parts with the default configuration.
    pub fn new(parts: RepairParts) -> Self {
        Self {
            parts,
            config: RepairConfig::default(),
            gates: Vec::new(),
            observer: None,
            context: None,
            memory: None,
            inspector: None,
            tools: ToolSet::builtin(),
            repo_map: None,
            pending: guard::PendingRestores::default(),
        }
    }

    /// The tools the agent sessions offer (default [`ToolSet::builtin`]); a
    /// host adds its own or replaces a built-in.
    pub fn with_tools(mut self, tools: ToolSet) -> Self {
        self.tools = tools;
        self
    }

    /// Puts a map of the repository (files and their top-level symbols,
    /// ranked toward the failing files) in the first prompt of each session,
    /// within `RepairConfig::repo_map_tokens` (e.g. `agent_classify::RepoMap`).
    /// Without one the prompt lists the files.
    pub fn with_repo_map(mut self, mapper: Arc<dyn RepoMapper>) -> Self {
        self.repo_map = Some(mapper);
        self
    }

    /// Carries earlier attempts at the same goal and the workspace's lessons
    /// into the planning prompt, and remembers this task's attempts (and,
    /// when a repair made it pass, the lesson) when it ends. A memory that
    /// cannot be read or written is logged, never a reason to stop.
    pub fn with_memory(mut self, memory: Arc<dyn agent_core::Memory>) -> Self {
        self.memory = Some(memory);
        self
    }

    /// Verifies a passing attempt with `inspector` (its gates, then its
    /// optional review of the change): `Approve` accepts; `ChangesRequested`
    /// or `Partial` make the attempt fail with the items in the repair
    /// prompt; `NeedsHuman` ends the task restored. Gates added with
    /// [`with_gate`](Self::with_gate) run first.
    pub fn with_inspector(mut self, inspector: crate::Inspector) -> Self {
        self.inspector = Some(inspector);
        self
    }

    /// Sets the configuration.
    pub fn with_config(mut self, config: RepairConfig) -> Self {
        self.config = config;
        self
    }

    /// Adds a gate that a passing change must also pass.
    pub fn with_gate(mut self, gate: Arc<dyn Gate>) -> Self {
        self.gates.push(gate);
        self
    }

    /// Calls `observer` with every event as it is journaled.
    pub fn with_observer(mut self, observer: Observer) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Renders the failure sections of the plan and repair prompts with
    /// `renderer` (e.g. `agent_classify::RepairContextBuilder`, which groups
    /// failures by root cause within a token budget). Without one, the loop
    /// uses a [`PlainContext`] with the configuration's `context_lines` and
    /// `max_failures_in_prompt`.
    pub fn with_context_renderer(mut self, renderer: Arc<dyn ContextRenderer>) -> Self {
        self.context = Some(renderer);
        self
    }

    /// The renderer of the prompts' failure sections.
    fn context_renderer(&self) -> Arc<dyn ContextRenderer> {
        match &self.context {
            Some(renderer) => renderer.clone(),
            None => Arc::new(PlainContext::new(self.config.context_lines, self.config.max_failures_in_prompt)),
        }
    }

    /// Runs the task to an outcome.
    ///
    /// inspect → snapshot → baseline tests → plan → apply → test → on failure
    /// classify → repair prompt → repair, at most `max_attempts` attempts.
    /// Passing: the snapshot is discarded. Failing after the last attempt, a
    /// budget stop, an unusable plan after one re-ask, or an infrastructure
    /// failure: the snapshot is restored. Every step is journaled.
    ///
    /// `Err` only when the loop itself cannot go on (no test command, a
    /// snapshot or journal failure); the workspace is restored first whenever
    /// a snapshot was taken.
    pub async fn run(&self, task: Task) -> Result<RepairReport, LoopError> {
        if self.config.max_attempts == 0 {
            return Err(LoopError::InvalidConfig { reason: "max_attempts must be at least 1".into() });
        }
        let mut run = TaskRun::new(self, task);
        let (profile, test) = match run.inspect().await {
            Ok(found) => found,
            Err(e) => {
                run.end_on_error(&e).await;
                return Err(e);
            }
        };
        if test.is_none() && self.config.mode == LoopMode::Plan {
            let e = LoopError::NoTestCommand { root: run.task.root.clone() };
            run.end_on_error(&e).await;
            return Err(e);
        }
        let snapshot = match self.parts.snapshotter.snapshot(&run.task.root).await {
            Ok(id) => id,
            Err(source) => {
                let e = LoopError::SnapshotTake { root: run.task.root.clone(), source };
                run.end_on_error(&e).await;
                return Err(e);
            }
        };
        // From here until the loop has restored or discarded the snapshot
        // itself, a dropped or panicking run is restored by the guard.
        let mut guard = guard::RestoreGuard::arm(self, run.task.id.clone(), run.task.root.clone(), snapshot.clone());
        run.snapshot = Some(snapshot.clone());
        if !self.gates.is_empty() || self.inspector.is_some() {
            let root = run.task.root.clone();
            run.image = tokio::task::spawn_blocking(move || tree::TreeImage::capture(&root)).await.ok().map(Arc::new);
        }
        let result = match run.emit(EventKind::SnapshotTaken { id: snapshot.to_string() }).await {
            Err(e) => Err(e),
            Ok(()) => match &test {
                Some(test) => {
                    run.test_display = test.display_redacted();
                    run.attempts(&profile, test).await
                }
                // Tools mode: the model looks for the test command; the loop checks it runs tests.
                None => run.discover_and_attempt(&profile).await,
            },
        };
        let keep = matches!(result, Ok(ref e) if e.outcome == Outcome::Accepted);
        let settled = guard.settle(keep).await;
        // A restore that went through and a discard that failed after it still restored.
        run.restored = matches!(settled, Ok(true)) || (!keep && matches!(settled, Err(LoopError::Discard { .. })));
        let settled = settled.map(|_| ());
        match result {
            Err(e) => {
                // A workspace that could not be restored is the more urgent news.
                let e = match settled {
                    Ok(()) => e,
                    Err(settle) => {
                        tracing::error!(task = %run.task.id, error = %e, "the loop failed, then its restore failed");
                        settle
                    }
                };
                run.end_on_error(&e).await;
                Err(e)
            }
            Ok(end) => {
                run.remember(end.outcome).await;
                let (report, journaled) = run.finish(end).await;
                match settled.and(journaled) {
                    Ok(()) => Ok(report),
                    Err(error) => Err(LoopError::AfterOutcome { report: Box::new(report), error: Box::new(error) }),
                }
            }
        }
    }

    /// Awaits the restores that guards of dropped or panicked runs spawned
    /// (see the module docs). A host that cancels a run awaits this before
    /// it looks at the workspace or exits; returns how many it waited for.
    pub async fn wait_for_restores(&self) -> usize {
        self.pending.wait().await
    }
}

/// What an attempt produced before the loop verifies it.
struct Step {
    summary: String,
    changes: Vec<FileChange>,
    apply_error: Option<String>,
    plan: Option<Plan>,
    turns: Vec<TurnReport>,
    session_end: Option<SessionEnd>,
}

impl Step {
    fn of_plan(plan: Plan, changes: Vec<FileChange>, apply_error: Option<String>) -> Self {
        Self {
            summary: plan.summary.clone(),
            changes,
            apply_error,
            plan: Some(plan),
            turns: Vec::new(),
            session_end: None,
        }
    }
}

/// A note for the next prompt when a session did not end with `finish`.
fn session_end_note(end: &SessionEnd) -> Option<String> {
    match end {
        SessionEnd::MaxTurns { turns } => {
            Some(format!("Your session ended after {turns} turns without calling finish."))
        }
        _ => None,
    }
}

/// One run of the test command.
struct TestRun {
    /// The command as run (with its per-test reporting flags).
    command: String,
    exit_code: Option<i32>,
    classification: Classification,
}

/// How the attempts ended, before the snapshot is dealt with.
struct AttemptsEnd {
    outcome: Outcome,
    verdict: Verdict,
    budget_stop: Option<BudgetStop>,
}

/// The state of one running task.
struct TaskRun<'a> {
    lp: &'a RepairLoop,
    task: Task,
    state: TaskState,
    tracker: BudgetTracker,
    messages: Vec<Message>,
    baseline: Classification,
    /// The baseline run as the regression check reads it.
    test_baseline: TestBaseline,
    /// Tests the environment already broke in the baseline run (none the
    /// task names): judged like any test that failed before, never shown to
    /// the model as its to fix.
    env_broken: std::collections::BTreeSet<String>,
    /// The workspace at snapshot time, when gates need the cumulative change.
    image: Option<Arc<tree::TreeImage>>,
    attempts: Vec<AttemptReport>,
    gates: Vec<GateReport>,
    last_comparison: agent_core::failure::RunComparison,
    /// The test command used, as shown in the report.
    test_display: String,
    /// Tool calls made by the task's sessions.
    tool_calls: u32,
    /// Whether the tree was restored to the snapshot.
    restored: bool,
    /// The snapshot taken before any change.
    snapshot: Option<SnapshotId>,
}

impl<'a> TaskRun<'a> {
    fn new(lp: &'a RepairLoop, task: Task) -> Self {
        Self {
            tracker: BudgetTracker::start(lp.config.budget.clone()),
            lp,
            task,
            state: TaskState::Queued,
            messages: Vec::new(),
            baseline: Classification::default(),
            test_baseline: TestBaseline::default(),
            env_broken: std::collections::BTreeSet::new(),
            image: None,
            attempts: Vec::new(),
            gates: Vec::new(),
            last_comparison: agent_core::failure::RunComparison::default(),
            test_display: String::new(),
            tool_calls: 0,
            restored: false,
            snapshot: None,
        }
    }

    /// The workspace's key for memory: the repository's identity ([`crate::workspace_key`]).
    async fn workspace_name(&self) -> String {
        crate::workspace_key(&self.task.root).await.as_str().to_owned()
    }

    /// What memory holds for this goal and workspace, rendered; `None` when nothing.
    async fn recall(&self) -> Option<String> {
        let memory = self.lp.memory.as_ref()?;
        match memory.recall(&self.workspace_name().await, &self.task.goal).await {
            Ok(r) if !r.is_empty() => Some(r.render()),
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(task = %self.task.id, error = %e, "memory could not be read");
                None
            }
        }
    }

    /// Stores this task's attempts and, when a repair made it pass, the lesson.
    async fn remember(&self, outcome: Outcome) {
        let Some(memory) = &self.lp.memory else { return };
        let workspace = self.workspace_name().await;
        let mut entries = Vec::new();
        for a in &self.attempts {
            let mut failed: Vec<String> = a.classification.failures.iter().take(5).map(short_failure).collect();
            if let Some(err) = &a.apply_error {
                failed.insert(0, format!("could not apply: {err}"));
            }
            if !a.passed && failed.is_empty() {
                failed.push("did not pass verification".to_owned());
            }
            let files = a.changes.iter().map(|c| c.path.clone()).collect();
            entries.push(agent_core::memory::MemoryEntry::Attempt(agent_core::memory::AttemptNote::new(
                &workspace,
                &self.task.goal,
                a.number,
                &a.summary,
                files,
                failed,
            )));
        }
        if outcome == Outcome::Accepted && self.attempts.len() > 1 {
            let (fix, before) = (&self.attempts[self.attempts.len() - 1], &self.attempts[self.attempts.len() - 2]);
            let mut seen = std::collections::BTreeSet::new();
            for f in &before.classification.failures {
                if seen.insert((f.kind, f.code.clone())) {
                    let files = fix.changes.iter().map(|c| c.path.clone()).collect();
                    entries.push(agent_core::memory::MemoryEntry::Lesson(agent_core::memory::Lesson::new(
                        &workspace,
                        f.kind,
                        f.code.clone(),
                        &fix.summary,
                        files,
                    )));
                }
            }
        }
        for entry in entries {
            if let Err(e) = memory.remember(entry).await {
                tracing::warn!(task = %self.task.id, error = %e, "memory could not be written");
                return;
            }
        }
    }

    /// Whether `f` is the environment's failure of a test it already broke
    /// in the baseline.
    fn tolerated(&self, f: &Failure) -> bool {
        f.is_environment_failure_of(&self.env_broken)
    }

    /// Whether the environment, not the code, decides run `c`: an
    /// infrastructure run where no test ran, or with an environment
    /// failure the baseline did not already have.
    fn environment_blocks(&self, c: &Classification) -> bool {
        c.tier == Tier::Infrastructure
            && (c.outcomes.is_empty()
                || c.failures.iter().any(|f| f.kind == FailureKind::Environment && !self.tolerated(f)))
    }

    /// Whether an after-run passes: the regression check against the
    /// baseline ([`check_test_run`](agent_core::gate::check_test_run): a run
    /// that shows outcomes agreeing with its exit code, the named tests
    /// fixed, no test that passed at baseline failing or gone, an empty or
    /// invalid baseline never compared against) in a run whose failure is
    /// not the environment's (but for tests it already broke at baseline);
    /// without named tests the suite must pass too, but for those tests.
    /// Returns the comparison and why the run is not valid, if it is not.
    fn judge(
        &self,
        command: &str,
        exit_code: Option<i32>,
        classification: &Classification,
    ) -> (bool, agent_core::failure::RunComparison, Vec<String>) {
        let named = &self.task.named_tests;
        let infra = self.environment_blocks(classification);
        if classification.outcomes.is_empty() && named.is_empty() {
            // A run that lists no test by name (unittest, `pytest -q` behind a
            // script): judged by the counts, a clean pass with at least as
            // many passing tests as at baseline and never zero tests.
            let ran = classification.tests.map_or(0, |t| t.passed);
            let passing_outcomes =
                self.test_baseline.outcomes.iter().filter(|o| o.status == TestStatus::Passed).count();
            let before =
                self.baseline.tests.map_or(0, |t| t.passed).max(u32::try_from(passing_outcomes).unwrap_or(u32::MAX));
            let mut problems = Vec::new();
            if ran == 0 {
                problems.push(format!("`{command}` ran no passing test: the run is not valid"));
            } else if ran < before {
                problems.push(format!("{ran} tests passed, fewer than the {before} at baseline"));
            }
            if exit_code != Some(0) && classification.failures.is_empty() {
                problems.push(format!("exit code {exit_code:?} with no failure parsed"));
            }
            let ok = problems.is_empty() && classification.passed() && exit_code == Some(0) && !infra;
            return (ok, agent_core::failure::RunComparison::default(), problems);
        }
        let check =
            agent_core::gate::check_test_run(&self.test_baseline, command, exit_code, &classification.outcomes, named);
        // Without named tests the suite must pass, but for the tests the
        // environment already broke at baseline: no change can mend those.
        let suite_ok = !named.is_empty()
            || (classification.valid_run && classification.failures.iter().all(|f| self.tolerated(f)));
        (check.passed && suite_ok && !infra, check.comparison, check.problems)
    }

    /// Every change since the snapshot (the image taken with it), or this
    /// attempt's changes when no image could be taken.
    async fn cumulative_change(&self, attempt: &[FileChange]) -> tree::TreeChange {
        let Some(image) = self.image.clone() else {
            return tree::TreeChange { changes: attempt.to_vec(), diff: String::new() };
        };
        let root = self.task.root.clone();
        match tokio::task::spawn_blocking(move || image.changes_since(&root)).await {
            Ok(change) => change,
            Err(e) => {
                tracing::error!(task = %self.task.id, error = %e, "the cumulative change could not be read");
                tree::TreeChange { changes: attempt.to_vec(), diff: String::new() }
            }
        }
    }

    /// A command's wall-clock limit: the configured test timeout, capped
    /// at what is left of the task's wall-time budget.
    fn command_timeout(&self) -> Duration {
        let configured = Duration::from_millis(self.lp.config.test_timeout_ms);
        self.tracker.remaining_wall().map_or(configured, |left| configured.min(left))
    }

    fn limits(&self) -> PromptLimits {
        PromptLimits { max_file_bytes: 16 * 1024, max_files: 6, max_listing: 200 }
    }

    async fn emit(&self, kind: EventKind) -> Result<(), LoopError> {
        let event = Event::now(self.task.id.clone(), kind);
        if let Some(observer) = &self.lp.observer {
            observer(&event);
        }
        self.lp.parts.journal.append(event).await?;
        Ok(())
    }

    async fn transition(&mut self, to: TaskState) -> Result<(), LoopError> {
        if self.state != to {
            let from = self.state;
            self.state = to;
            tracing::debug!(task = %self.task.id, ?from, ?to, "state transition");
            self.emit(EventKind::StateTransition { from, to }).await?;
        }
        Ok(())
    }

    /// Runs the tests exactly as every run of this task does, and as the
    /// tests gate does: the test command with its per-test reporting flags
    /// and the tool's structured output
    /// ([`structured_test_reporting`](agent_core::gate::structured_test_reporting)),
    /// so the baseline and the after-runs show per-test outcomes alike.
    async fn run_tests(
        &self,
        profile: &WorkspaceProfile,
        test: &DetectedCommand,
        attempt: u32,
    ) -> Result<TestRun, LoopError> {
        let mut spec = agent_core::gate::structured_test_reporting(test.to_spec(&self.task.root))
            .wall_timeout(self.command_timeout());
        if let Some(idle) = self.lp.config.test_idle_timeout_ms {
            spec = spec.idle_timeout(Duration::from_millis(idle));
        }
        let command = spec.display_redacted();
        let span = tracing::info_span!("tests", task = %self.task.id, attempt, command = %command);
        let output = self.lp.parts.executor.run(spec).instrument(span).await?;
        self.emit(run_event(&output)).await?;
        let mut classification = self.lp.parts.classifier.classify(&output, profile);
        classification.outcomes = self.lp.parts.classifier.test_outcomes(&output);
        self.emit(EventKind::FailureClassified { attempt, classification: classification.clone() }).await?;
        Ok(TestRun { command, exit_code: output.exit_code, classification })
    }

    /// Asks the model for a plan; one corrective re-ask (by default) on an unusable answer.
    async fn ask_plan(&mut self, purpose: &str) -> Result<Result<Plan, AttemptsEnd>, LoopError> {
        let mut reasks_left = self.lp.config.max_plan_reasks;
        loop {
            if let Err(stop) = self.tracker.check() {
                return Ok(Err(self.budget_end(stop).await?));
            }
            let mut req = CompletionRequest::new(self.messages.clone())
                .with_temperature(0.0)
                .with_response_format("plan", Plan::json_schema());
            req.max_tokens = self.lp.config.max_tokens_per_turn;
            let started = std::time::Instant::now();
            let span = tracing::info_span!(
                "gen_ai.chat",
                gen_ai.operation.name = "chat",
                gen_ai.request.model = %self.lp.parts.provider.id().model(),
                gen_ai.system = %self.lp.parts.provider.id().kind(),
                gen_ai.usage.input_tokens = tracing::field::Empty,
                gen_ai.usage.output_tokens = tracing::field::Empty,
                purpose,
            );
            let answer = self.lp.parts.provider.complete(req).instrument(span.clone()).await;
            let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let completion = match answer {
                Ok(c) => c,
                Err(err) => {
                    self.tracker.record_failed_turn();
                    self.emit(EventKind::failed_llm_call(purpose, &err, latency_ms)).await?;
                    return Ok(Err(provider_end(&err)));
                }
            };
            span.record("gen_ai.usage.input_tokens", completion.usage.input_tokens);
            span.record("gen_ai.usage.output_tokens", completion.usage.output_tokens);
            self.tracker.record(&completion.usage, completion.cost_usd);
            self.emit(EventKind::llm_call(purpose, &completion, latency_ms)).await?;
            self.messages
                .push(Message::assistant(completion.content.clone()).with_reasoning(completion.reasoning.clone()));
            match Plan::parse(&completion.content) {
                Ok(plan) => return Ok(Ok(plan)),
                Err(err) => {
                    self.emit(EventKind::PlanRejected { error: err.to_string() }).await?;
                    if reasks_left == 0 {
                        return Ok(Err(AttemptsEnd {
                            outcome: Outcome::NeedsHuman,
                            verdict: Verdict::NeedsHuman {
                                reason: format!(
                                    "the model's answer did not match the plan schema after a re-ask: {err}"
                                ),
                            },
                            budget_stop: None,
                        }));
                    }
                    reasks_left -= 1;
                    self.messages.push(Message::user(prompt::reask_prompt(&err.to_string())));
                }
            }
        }
    }

    /// What an agent session may use: this task's workspace and parts, the
    /// loop's classifier and renderer, the configured sandbox and limits,
    /// and the tests the environment broke at baseline (left out of what
    /// `run_tests` shows, as they are of the loop's own prompts).
    fn tool_context(&self, profile: WorkspaceProfile, renderer: Arc<dyn ContextRenderer>) -> ToolContext {
        let limits = ObservationLimits::default()
            .with_max_tokens(self.lp.config.observation_tokens)
            .with_test_timeout(Duration::from_millis(self.lp.config.test_timeout_ms));
        ToolContext::new(
            &self.task.root,
            self.lp.parts.editor.clone(),
            self.lp.parts.executor.clone(),
            profile,
            self.lp.parts.classifier.clone(),
            renderer,
        )
        .with_sandbox(self.lp.config.sandbox.clone())
        .with_limits(limits)
        .with_environment_broken_tests(self.env_broken.iter().cloned())
    }

    /// One attempt as an agent session: the model works with the tools until
    /// it calls `finish` (or runs out of turns); the loop verifies afterwards.
    async fn session_step(
        &mut self,
        purpose: &str,
        cx: &ToolContext,
        first_user: String,
    ) -> Result<Result<Step, AttemptsEnd>, LoopError> {
        let mut session = AgentSession::new(
            self.lp.parts.provider.clone(),
            self.lp.tools.clone(),
            self.lp.parts.journal.clone(),
            self.task.id.clone(),
        )
        .with_config(self.lp.config.session.clone())
        .with_purpose(purpose);
        if let Some(observer) = &self.lp.observer {
            session = session.with_observer(observer.clone());
        }
        let report = match session.run(cx, prompt::TOOLS_SYSTEM_PROMPT.to_owned(), first_user, &mut self.tracker).await
        {
            Ok(report) => report,
            Err(SessionError::Provider { error, .. }) => return Ok(Err(provider_end(&error))),
            Err(SessionError::Journal(e)) => return Err(LoopError::Journal(e)),
            Err(other) => return Err(LoopError::Session { reason: other.to_string() }),
        };
        self.tool_calls = self.tool_calls.saturating_add(u32::try_from(report.tool_call_count()).unwrap_or(u32::MAX));
        self.emit(EventKind::EditsApplied { files: report.changes.iter().map(|c| c.path.clone()).collect() }).await?;
        match &report.end {
            SessionEnd::BudgetStop(stop) => {
                return Ok(Err(AttemptsEnd {
                    outcome: Outcome::BudgetExceeded,
                    verdict: Verdict::NeedsHuman { reason: format!("budget exhausted: {stop}") },
                    budget_stop: Some(stop.clone()),
                }));
            }
            SessionEnd::InvalidCalls { count, last_error } => {
                return Ok(Err(AttemptsEnd {
                    outcome: Outcome::NeedsHuman,
                    verdict: Verdict::NeedsHuman {
                        reason: format!("the model made {count} invalid tool calls in a row; the last: {last_error}"),
                    },
                    budget_stop: None,
                }));
            }
            _ => {}
        }
        let summary = report.summary().map(str::to_owned).unwrap_or_default();
        Ok(Ok(Step {
            summary,
            changes: report.changes,
            apply_error: None,
            plan: None,
            turns: report.turns,
            session_end: Some(report.end),
        }))
    }

    /// Tools mode without a test command: a session asks the model to find
    /// one; the loop runs it once, and uses it only when that run is a test
    /// run (a test summary or per-test outcomes were read from it), which is
    /// the dry run that validates it. Then the attempts go on as usual.
    async fn discover_and_attempt(&mut self, profile: &WorkspaceProfile) -> Result<AttemptsEnd, LoopError> {
        let needs_human = |reason: String| AttemptsEnd {
            outcome: Outcome::NeedsHuman,
            verdict: Verdict::NeedsHuman { reason },
            budget_stop: None,
        };
        let renderer = self.lp.context_renderer();
        let cx = self.tool_context(profile.clone(), renderer);
        let tools = ["list_files", "read_file", "search", "run_command", "finish"]
            .iter()
            .filter_map(|name| self.lp.tools.get(name).cloned())
            .fold(ToolSet::empty(), ToolSet::with);
        let mut session = AgentSession::new(
            self.lp.parts.provider.clone(),
            tools,
            self.lp.parts.journal.clone(),
            self.task.id.clone(),
        )
        .with_config(self.lp.config.session.clone())
        .with_purpose("discover");
        if let Some(observer) = &self.lp.observer {
            session = session.with_observer(observer.clone());
        }
        let text = prompt::discovery_prompt(&self.task.goal, &self.task.root, profile, self.limits().max_listing);
        let report = match session.run(&cx, prompt::TOOLS_SYSTEM_PROMPT.to_owned(), text, &mut self.tracker).await {
            Ok(report) => report,
            Err(SessionError::Provider { error, .. }) => return Ok(provider_end(&error)),
            Err(SessionError::Journal(e)) => return Err(LoopError::Journal(e)),
            Err(other) => return Err(LoopError::Session { reason: other.to_string() }),
        };
        self.tool_calls = self.tool_calls.saturating_add(u32::try_from(report.tool_call_count()).unwrap_or(u32::MAX));
        if let SessionEnd::BudgetStop(stop) = &report.end {
            return Ok(AttemptsEnd {
                outcome: Outcome::BudgetExceeded,
                verdict: Verdict::NeedsHuman { reason: format!("budget exhausted: {stop}") },
                budget_stop: Some(stop.clone()),
            });
        }
        let Some(line) = report.summary().and_then(|s| s.lines().map(str::trim).find(|l| !l.is_empty())) else {
            return Ok(needs_human("no test command was found, and the model did not name one".into()));
        };
        let words: Vec<&str> = line.trim_matches('`').split_whitespace().collect();
        let Some((program, args)) = words.split_first() else {
            return Ok(needs_human("no test command was found, and the model did not name one".into()));
        };
        let evidence = vec![agent_core::workspace::Evidence::file("model").with_note("named by the agent session")];
        let test = DetectedCommand::new(*program, args, evidence, 0.5);
        self.emit(EventKind::Inspected {
            projects: profile.projects.len(),
            test_command: Some(test.display_redacted()),
        })
        .await?;
        self.test_display = test.display_redacted();
        let probe = self.run_tests(profile, &test, 0).await?.classification;
        if probe.tests.is_none() && probe.outcomes.is_empty() {
            return Ok(needs_human(format!(
                "the command the model named, `{}`, does not run tests (no test summary or outcome in its output)",
                test.display_redacted()
            )));
        }
        self.attempts(profile, &test).await
    }

    /// Applies a plan; stops at the first action that cannot be applied.
    async fn apply(&mut self, plan: &Plan) -> Result<(Vec<FileChange>, Option<String>), LoopError> {
        let mut changes = Vec::new();
        let mut error = None;
        for action in &plan.actions {
            match action {
                Action::RunCommand { program, args } => {
                    if self.tracker.check_wall().is_err() {
                        error = Some(format!("`{program}` was not run: the task's wall time is used up"));
                        break;
                    }
                    let spec = CommandSpec::new(program.clone())
                        .args(args.clone())
                        .cwd(&self.task.root)
                        .wall_timeout(self.command_timeout());
                    match self.lp.parts.executor.run(spec).await {
                        Ok(out) => {
                            self.emit(run_event(&out)).await?;
                            if !out.success() {
                                error = Some(format!(
                                    "`{}` exited with {:?}",
                                    redact_command_line(&out.command),
                                    out.exit_code
                                ));
                                break;
                            }
                        }
                        Err(e) => {
                            error = Some(format!("`{program}` could not run: {e}"));
                            break;
                        }
                    }
                }
                _ => match self.lp.parts.editor.apply(&self.task.root, action).await {
                    Ok(change) => changes.push(change),
                    Err(e) => {
                        error = Some(e.to_string());
                        break;
                    }
                },
            }
        }
        self.emit(EventKind::EditsApplied { files: changes.iter().map(|c| c.path.clone()).collect() }).await?;
        Ok((changes, error))
    }

    /// Ends the task as over budget when the executor refuses to run more
    /// commands (e.g. a `LimitedExecutor` after repeated timeouts).
    async fn execution_limit(&self, err: LoopError) -> Result<AttemptsEnd, LoopError> {
        match err {
            LoopError::Exec(agent_core::exec::ExecError::LimitReached { reason }) => {
                self.budget_end(BudgetStop::Execution { reason }).await
            }
            other => Err(other),
        }
    }

    /// Counts the review's model calls against the budget and journals
    /// them; a spend refusal among them ends the task as over budget.
    async fn count_review_calls(&mut self, calls: &[crate::ReviewTurn]) -> Result<Option<AttemptsEnd>, LoopError> {
        for call in calls {
            match &call.outcome {
                Ok(c) => self.tracker.record(&c.usage, c.cost_usd),
                Err(_) => self.tracker.record_failed_turn(),
            }
            self.emit(call.event()).await?;
        }
        let refused = calls
            .iter()
            .filter_map(|c| c.outcome.as_ref().err())
            .find(|e| matches!(e.kind, agent_core::provider::ProviderErrorKind::QuotaExhausted { .. }));
        Ok(refused.map(provider_end))
    }

    /// Journals a budget stop and gives the ending it means.
    async fn budget_end(&self, stop: BudgetStop) -> Result<AttemptsEnd, LoopError> {
        self.emit(EventKind::BudgetStop { reason: stop.to_string() }).await?;
        Ok(AttemptsEnd {
            outcome: Outcome::BudgetExceeded,
            verdict: Verdict::NeedsHuman { reason: format!("budget exhausted: {stop}") },
            budget_stop: Some(stop),
        })
    }

    /// Stops the task when a command moved `HEAD`, a ref or the stash list
    /// since the snapshot: the change cannot be accepted as it is, and the
    /// restore that follows puts them back. `None` when nothing moved.
    async fn git_state_moved(&self) -> Result<Option<AttemptsEnd>, LoopError> {
        let Some(id) = &self.snapshot else { return Ok(None) };
        let changes = self
            .lp
            .parts
            .snapshotter
            .ref_changes(&self.task.root, id)
            .await
            .map_err(|source| LoopError::RefCheck { id: id.clone(), source })?;
        if changes.is_empty() {
            return Ok(None);
        }
        let lines: Vec<String> = changes.iter().map(ToString::to_string).collect();
        self.emit(EventKind::GitStateMoved { changes: lines.clone() }).await?;
        Ok(Some(AttemptsEnd {
            outcome: Outcome::NeedsHuman,
            verdict: Verdict::NeedsHuman {
                reason: format!(
                    "a command moved git state since the snapshot ({}); the change is not accepted and the snapshot is restored",
                    lines.join("; ")
                ),
            },
            budget_stop: None,
        }))
    }

    async fn attempts(&mut self, profile: &WorkspaceProfile, test: &DetectedCommand) -> Result<AttemptsEnd, LoopError> {
        match self.attempts_inner(profile, test).await {
            Ok(end) => Ok(end),
            Err(err) => self.execution_limit(err).await,
        }
    }

    async fn attempts_inner(
        &mut self,
        profile: &WorkspaceProfile,
        test: &DetectedCommand,
    ) -> Result<AttemptsEnd, LoopError> {
        let max = self.lp.config.max_attempts;
        let baseline = self.run_tests(profile, test, 0).await?;
        self.test_baseline =
            TestBaseline::new(baseline.command, baseline.exit_code, baseline.classification.outcomes.clone());
        self.baseline = baseline.classification;
        // What the first prompt shows: the baseline, less what the
        // environment broke (the report keeps all of it).
        let mut shown = self.baseline.clone();
        if self.baseline.tier == Tier::Infrastructure {
            if let Some(broken) = tolerable_environment_failures(&self.baseline, &self.task.named_tests) {
                // Tests ran, and what the environment broke is some of them,
                // none the task names: the task can go on around them.
                shown = self.baseline.without_environment_failures_of(&broken);
                self.env_broken = broken;
            }
        }
        if shown.tier == Tier::Infrastructure {
            return Ok(AttemptsEnd {
                outcome: Outcome::NeedsHuman,
                verdict: Verdict::NeedsHuman { reason: infra_reason(&self.baseline) },
                budget_stop: None,
            });
        }
        let renderer = self.lp.context_renderer();
        let tools_mode = self.lp.config.mode != LoopMode::Plan;
        let recalled = self.recall().await;
        let mut session_text = String::new();
        if tools_mode {
            let map = self.lp.repo_map.as_ref().map(|mapper| {
                let focus: Vec<PathBuf> =
                    shown.failures.iter().filter_map(|f| f.file.clone()).filter(|p| p.is_relative()).collect();
                mapper.map(&self.task.root, &focus, self.lp.config.repo_map_tokens)
            });
            session_text = prompt::session_prompt(
                &self.task.goal,
                &self.task.root,
                profile,
                &test.display(),
                &shown,
                PromptStyle { context: renderer.as_ref(), limits: self.limits() },
                map.as_deref(),
            );
            if let Some(recalled) = &recalled {
                session_text.push_str("\n\n");
                session_text.push_str(recalled.trim_end());
            }
        } else {
            let mut plan_text = prompt::plan_prompt(
                &self.task.goal,
                &self.task.root,
                profile,
                &test.display(),
                &shown,
                PromptStyle { context: renderer.as_ref(), limits: self.limits() },
            );
            if let Some(recalled) = &recalled {
                plan_text.push_str("\n\n");
                plan_text.push_str(recalled.trim_end());
            }
            self.messages = vec![Message::system(SYSTEM_PROMPT), Message::user(plan_text)];
        }
        let cx = self.tool_context(profile.clone(), renderer.clone());
        for number in 1..=max {
            let purpose = if number == 1 { "plan" } else { "repair" };
            self.transition(if number == 1 { TaskState::Planning } else { TaskState::Repairing }).await?;
            let step = if tools_mode {
                self.transition(TaskState::Executing).await?;
                match self.session_step(purpose, &cx, std::mem::take(&mut session_text)).await? {
                    Ok(step) => step,
                    Err(end) => return Ok(end),
                }
            } else {
                let plan = match self.ask_plan(purpose).await? {
                    Ok(plan) => plan,
                    Err(end) => return Ok(end),
                };
                self.transition(TaskState::Executing).await?;
                let (changes, apply_error) = self.apply(&plan).await?;
                Step::of_plan(plan, changes, apply_error)
            };
            let Step { summary, changes, apply_error, plan, turns, session_end } = step;
            // The wall-time budget covers test runs, commands, gates and the review too.
            if let Err(stop) = self.tracker.check_wall() {
                return self.budget_end(stop).await;
            }
            let TestRun { command, exit_code, classification } = self.run_tests(profile, test, number).await?;
            let (tests_ok, comparison, problems) = self.judge(&command, exit_code, &classification);
            // A command (the model's, or a test) that committed, checked out or dropped a
            // stash ends the task; the restore puts HEAD, the refs and the stash back.
            let moved = self.git_state_moved().await?;
            let mut passed = apply_error.is_none() && tests_ok && moved.is_none();
            let mut gate_failures = Vec::new();
            let mut review_stop = None;
            if passed && (!self.lp.gates.is_empty() || self.lp.inspector.is_some()) {
                if let Err(stop) = self.tracker.check_wall() {
                    return self.budget_end(stop).await;
                }
                self.transition(TaskState::Verifying).await?;
                // The gates judge the whole change since the snapshot, not this attempt's alone.
                let cumulative = self.cumulative_change(&changes).await;
                let gcx = GateContext::new(&self.task.root, profile.clone(), &self.task.goal, cumulative.changes)
                    .with_diff(cumulative.diff)
                    .with_test_baseline(self.test_baseline.clone())
                    .with_named_tests(self.task.named_tests.clone());
                self.gates.clear();
                for gate in &self.lp.gates {
                    let report = match agent_core::gate::check_gate(gate.as_ref(), &gcx).await {
                        Ok(r) => r,
                        Err(e) => GateReport::new(e.gate(), false, format!("gate could not run: {e}")),
                    };
                    self.emit(EventKind::GateReport { report: report.clone() }).await?;
                    if !report.passed {
                        gate_failures.push(report.clone());
                    }
                    self.gates.push(report);
                }
                if gate_failures.is_empty() {
                    if let Some(inspector) = &self.lp.inspector {
                        // The review is model turns: checked against the budget first, then counted.
                        let check =
                            if inspector.has_reviewer() { self.tracker.check() } else { self.tracker.check_wall() };
                        if let Err(stop) = check {
                            return self.budget_end(stop).await;
                        }
                        let inspection = inspector.inspect(&gcx, &gcx.diff).await;
                        if let Some(end) = self.count_review_calls(&inspection.model_calls).await? {
                            return Ok(end);
                        }
                        for report in &inspection.gates {
                            self.emit(EventKind::GateReport { report: report.clone() }).await?;
                            self.gates.push(report.clone());
                        }
                        let review = match &inspection.verdict {
                            Verdict::Approve => GateReport::new("review", true, "approved"),
                            Verdict::ChangesRequested { items } | Verdict::Partial { items } => {
                                let mut r = GateReport::new("review", false, "changes requested");
                                r.findings = items.clone();
                                r
                            }
                            Verdict::NeedsHuman { reason } => {
                                review_stop = Some(reason.clone());
                                GateReport::new("review", false, format!("needs a human: {reason}"))
                            }
                            other => GateReport::new("review", false, format!("not approved: {other:?}")),
                        };
                        self.emit(EventKind::GateReport { report: review.clone() }).await?;
                        if !review.passed {
                            gate_failures.push(review.clone());
                        }
                        self.gates.push(review);
                    }
                }
                passed = gate_failures.is_empty();
            }
            let mut shown = classification.without_environment_failures_of(&self.env_broken);
            // Regressions and unfixed named tests lead the repair prompt, in order.
            let verdicts = comparison.regressions.iter().map(|r| format!("regression: {r}")).chain(
                comparison.missing_fixes.iter().filter(|_| apply_error.is_none()).map(|m| format!("not fixed: {m}")),
            );
            // Why the run is not valid leads only when nothing else failed (a run that
            // looked green); a failing run's own failures already say what is wrong.
            let invalid = problems.iter().filter(|_| classification.failures.is_empty());
            let verdicts = invalid.map(|p| format!("test run: {p}")).chain(verdicts);
            let leading: Vec<Failure> =
                verdicts.map(|line| Failure::new(FailureCategory::Test, FailureKind::TestAssertion, line)).collect();
            shown.failures.splice(0..0, leading);
            for g in &gate_failures {
                let mut f = Failure::new(
                    FailureCategory::Lint,
                    FailureKind::Unknown,
                    format!("gate `{}` failed: {}", g.gate, g.summary),
                );
                f.snippet = (!g.findings.is_empty()).then(|| g.findings.join("\n"));
                shown.failures.push(f);
            }
            let end_note = session_end.as_ref().and_then(session_end_note);
            self.attempts.push(AttemptReport {
                number,
                kind: purpose.to_owned(),
                summary: summary.clone(),
                changes,
                exit_code,
                classification: classification.clone(),
                passed,
                apply_error: apply_error.clone(),
                turns,
                session_end,
            });
            if let Some(end) = moved {
                return Ok(end);
            }
            if passed {
                return Ok(AttemptsEnd { outcome: Outcome::Accepted, verdict: Verdict::Approve, budget_stop: None });
            }
            if let Some(reason) = review_stop {
                return Ok(AttemptsEnd {
                    outcome: Outcome::NeedsHuman,
                    verdict: Verdict::NeedsHuman { reason },
                    budget_stop: None,
                });
            }
            self.last_comparison = comparison;
            if self.environment_blocks(&classification) {
                return Ok(AttemptsEnd {
                    outcome: Outcome::NeedsHuman,
                    verdict: Verdict::NeedsHuman { reason: infra_reason(&classification) },
                    budget_stop: None,
                });
            }
            if number < max {
                let style = PromptStyle { context: renderer.as_ref(), limits: self.limits() };
                if tools_mode {
                    session_text = prompt::session_repair_prompt(
                        &self.task.root,
                        number,
                        max,
                        Some(summary.as_str()).filter(|s| !s.is_empty()),
                        end_note.as_deref(),
                        &shown,
                        style,
                    );
                } else {
                    let text = prompt::repair_prompt(
                        &self.task.root,
                        number,
                        max,
                        plan.as_ref(),
                        apply_error.as_deref(),
                        &shown,
                        style,
                    );
                    self.messages.push(Message::user(text));
                }
            }
        }
        // Regressions first: a fix that broke another test is named as such.
        let mut items: Vec<String> =
            self.last_comparison.regressions.iter().map(|r| format!("regression: {r}")).collect();
        items.extend(
            self.attempts
                .last()
                .map(|a| a.classification.failures.iter().map(short_failure).collect::<Vec<_>>())
                .unwrap_or_default(),
        );
        Ok(AttemptsEnd {
            outcome: Outcome::RolledBack,
            verdict: Verdict::ChangesRequested { items },
            budget_stop: None,
        })
    }

    /// TaskStarted, inspection; the profile and its test command.
    async fn inspect(&mut self) -> Result<(WorkspaceProfile, Option<DetectedCommand>), LoopError> {
        self.emit(EventKind::TaskStarted { goal: self.task.goal.clone(), root: self.task.root.display().to_string() })
            .await?;
        self.transition(TaskState::Planning).await?;
        let profile = self.lp.parts.oracle.inspect(&self.task.root).await?;
        let test = profile.test_command().cloned();
        self.emit(EventKind::Inspected {
            projects: profile.projects.len(),
            test_command: test.as_ref().map(|t| t.display_redacted()),
        })
        .await?;
        Ok((profile, test))
    }

    /// Journals a verdict and the end of a task the loop could not carry on
    /// (best effort: the journal may be what failed).
    async fn end_on_error(&mut self, error: &LoopError) {
        let reason = format!("the loop could not go on: {error}");
        let state = TaskState::NeedsHuman;
        let journaled = async {
            self.transition(state).await?;
            self.emit(EventKind::Verdict { verdict: Verdict::NeedsHuman { reason } }).await?;
            self.emit(EventKind::TaskFinished { state }).await
        }
        .await;
        if let Err(e) = journaled {
            tracing::error!(task = %self.task.id, error = %e, "the end of a failed task could not be journaled");
        }
    }

    /// The report, and whether its end could be journaled.
    async fn finish(mut self, end: AttemptsEnd) -> (RepairReport, Result<(), LoopError>) {
        let journaled = async {
            self.transition(end.outcome.state()).await?;
            self.emit(EventKind::Verdict { verdict: end.verdict.clone() }).await?;
            self.emit(EventKind::TaskFinished { state: end.outcome.state() }).await
        }
        .await;
        let attempts = u32::try_from(self.attempts.len()).unwrap_or(u32::MAX);
        let metrics = TaskMetrics {
            attempts,
            repairs: attempts.saturating_sub(1),
            model_turns: self.tracker.turns(),
            tool_calls: self.tool_calls,
            rolled_back: self.restored,
            usage: self.tracker.usage(),
            cost_usd: self.tracker.cost_usd(),
            wall_ms: self.tracker.elapsed_ms(),
        };
        let report = RepairReport {
            task: self.task.id.clone(),
            outcome: end.outcome,
            verdict: end.verdict,
            test_command: self.test_display,
            baseline: self.baseline,
            attempts: self.attempts,
            gates: self.gates,
            budget_stop: end.budget_stop,
            metrics,
        };
        (report, journaled)
    }
}

/// The journal event of a finished command.
/// The journal's `run` event for a finished command (its line redacted).
pub(crate) fn run_event(out: &RunOutput) -> EventKind {
    EventKind::Run {
        command: redact_command_line(&out.command),
        exit_code: out.exit_code,
        timed_out: out.timed_out.map(|t| t.name().to_owned()),
        duration_ms: out.duration_ms,
        log_path: out.log_path.as_ref().map(|p| p.display().to_string()),
    }
}

/// How a model call that failed ends the task: a quota or spend limit (a
/// budget ledger's refusal surfaces as `QuotaExhausted`) is over budget,
/// anything else needs a human.
fn provider_end(err: &agent_core::provider::ProviderError) -> AttemptsEnd {
    match err.kind {
        agent_core::provider::ProviderErrorKind::QuotaExhausted { .. } => AttemptsEnd {
            outcome: Outcome::BudgetExceeded,
            verdict: Verdict::NeedsHuman { reason: format!("budget exhausted: the spend was refused: {err}") },
            budget_stop: None,
        },
        _ => AttemptsEnd {
            outcome: Outcome::NeedsHuman,
            verdict: Verdict::NeedsHuman { reason: format!("model call failed: {err}") },
            budget_stop: None,
        },
    }
}

fn short_failure(f: &Failure) -> String {
    let mut s = format!("[{}]", f.kind.name());
    if let Some(file) = &f.file {
        s.push_str(&format!(" {}", file.display()));
        if let Some(line) = f.line {
            s.push_str(&format!(":{line}"));
        }
    }
    if let Some(t) = &f.test_name {
        s.push_str(&format!(" `{t}`"));
    }
    s.push_str(&format!(": {}", f.message.lines().next().unwrap_or_default()));
    s
}

/// The tests of baseline `c`'s environment failures, when a task can go on
/// around them: tests ran, every environment failure is a test's, and none
/// is a test in `named` (the task's own). `None`: the environment decides.
fn tolerable_environment_failures(c: &Classification, named: &[String]) -> Option<std::collections::BTreeSet<String>> {
    if c.outcomes.is_empty() {
        return None;
    }
    let mut broken = std::collections::BTreeSet::new();
    for f in c.failures.iter().filter(|f| f.kind == FailureKind::Environment) {
        let test = f.test_name.as_ref()?;
        let outcome = agent_core::failure::TestOutcome::new(test.clone(), TestStatus::Failed);
        if named.iter().any(|n| outcome.is_named(n) || n == test) {
            return None;
        }
        broken.insert(test.clone());
    }
    Some(broken)
}

fn infra_reason(c: &Classification) -> String {
    let first = c.failures.first().map(short_failure).unwrap_or_else(|| "unknown".into());
    format!("the environment, not the code, is failing: {first}")
}
