//! [`Event`]: every step of a task, as appended to a [`Journal`](crate::Journal).

use crate::budget::Usd;
use crate::failure::Classification;
use crate::gate::{GateReport, Verdict};
pub use crate::ids::TaskId;
use crate::provider::{Completion, ProviderError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The states of a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TaskState {
    /// Waiting to start.
    Queued,
    /// Asking the model for a plan.
    Planning,
    /// Applying a plan and running the tests.
    Executing,
    /// Checking a passing change with the gates.
    Verifying,
    /// Asking the model for a repair.
    Repairing,
    /// Done: the change passed.
    Accepted,
    /// Done: every attempt failed and the workspace was restored.
    RolledBack,
    /// Done: a person must look.
    NeedsHuman,
    /// Done: a budget ran out.
    BudgetExceeded,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// A task began.
    TaskStarted {
        /// The goal.
        goal: String,
        /// The workspace root.
        root: String,
    },
    /// The task moved between states.
    StateTransition {
        /// The old state.
        from: TaskState,
        /// The new state.
        to: TaskState,
    },
    /// The oracle inspected the workspace.
    Inspected {
        /// Projects found.
        projects: usize,
        /// The test command chosen, if any.
        test_command: Option<String>,
    },
    /// One model call, successful or not.
    LlmCall {
        /// The provider that answered.
        provider: String,
        /// What the call was for (`plan`, `repair`, `replan`).
        purpose: String,
        /// Prompt tokens.
        input_tokens: u64,
        /// Generated tokens.
        output_tokens: u64,
        /// Prompt tokens served from a cache.
        cached_tokens: u64,
        /// Cost in US dollars, when known.
        cost_usd: Option<Usd>,
        /// Latency in milliseconds.
        latency_ms: u64,
        /// The error class, when the call failed.
        error: Option<String>,
    },
    /// The model's answer was not a valid plan.
    PlanRejected {
        /// Why.
        error: String,
    },
    /// File actions were applied.
    EditsApplied {
        /// Files touched.
        files: Vec<String>,
    },
    /// A command ran.
    Run {
        /// The command line.
        command: String,
        /// Its exit code.
        exit_code: Option<i32>,
        /// The limit that ended it, if any.
        timed_out: Option<String>,
        /// Wall time in milliseconds.
        duration_ms: u64,
        /// Where the whole output is.
        log_path: Option<String>,
    },
    /// A snapshot was taken.
    SnapshotTaken {
        /// Its id.
        id: String,
    },
    /// The workspace was restored to a snapshot.
    SnapshotRestored {
        /// Its id.
        id: String,
    },
    /// A snapshot was dropped.
    SnapshotDiscarded {
        /// Its id.
        id: String,
    },
    /// A run's output was classified.
    FailureClassified {
        /// Which attempt (0: the baseline before any change).
        attempt: u32,
        /// The classification.
        classification: Classification,
    },
    /// A gate reported.
    GateReport {
        /// The report.
        report: GateReport,
    },
    /// The final verdict.
    Verdict {
        /// The verdict.
        verdict: Verdict,
    },
    /// A tool call of an agent session ran (or was refused).
    ToolCall {
        /// The session turn (1-based) the model asked for it in.
        turn: u32,
        /// The tool's name as the model called it.
        name: String,
        /// SHA-256 (hex) of the arguments as the model sent them: which call
        /// this was, without the content (arguments may hold file text).
        arguments_sha256: String,
        /// How long the call took, in milliseconds.
        duration_ms: u64,
        /// Bytes of the observation shown to the model.
        result_bytes: u64,
        /// The error shown instead of a result, if the call failed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A command moved `HEAD`, a ref or the stash list since the snapshot
    /// (a `git commit`, `git checkout`, `git stash drop`); the task stops
    /// and the restore puts them back.
    GitStateMoved {
        /// One line per change, e.g. `HEAD: <id> in the snapshot, <id> now`.
        changes: Vec<String>,
    },
    /// A budget stopped the task before a model turn.
    BudgetStop {
        /// Which limit, and the figures.
        reason: String,
    },
    /// The merge step committed the task's change on its task branch.
    ChangeCommitted {
        /// The task branch.
        branch: String,
        /// The commit made.
        commit: String,
    },
    /// The merge step rebased the task's commits onto the target's head
    /// (after any conflicts it stopped on were resolved).
    Rebased {
        /// The commit rebased onto (the target's head).
        onto: String,
        /// How many task commits were replayed.
        commits: u32,
        /// The task branch's head after the rebase.
        head: String,
    },
    /// A rebase stopped on a conflict in a file.
    MergeConflict {
        /// The file, relative to the worktree root.
        file: String,
    },
    /// The model answered for a conflicted file: `accepted` says whether
    /// its resolution was used (a valid answer at or above the minimum
    /// confidence) or the rebase was abandoned.
    ConflictResolved {
        /// The file, relative to the worktree root.
        file: String,
        /// The model's confidence (0–1), when its answer was valid.
        confidence: Option<f64>,
        /// Whether the resolution was written and the rebase went on.
        accepted: bool,
        /// The model's reason, or why its answer was refused.
        reason: String,
    },
    /// The gates ran again on the rebased change.
    GatesRerun {
        /// Whether every gate passed.
        passed: bool,
    },
    /// The change landed: the target branch was fast-forwarded to it.
    Merged {
        /// The target branch.
        target: String,
        /// The target's new head.
        commit: String,
    },
    /// The change was left on a branch (for a pull request); the target was not touched.
    BranchLeft {
        /// The branch.
        branch: String,
        /// Its head.
        commit: String,
    },
    /// The merge step refused to land the change; the target was not touched.
    MergeRefused {
        /// Why (needs a human, gates failed, the target kept moving).
        reason: String,
    },
    /// The task ended.
    TaskFinished {
        /// The final state.
        state: TaskState,
    },
    /// An operator acted on the task through the store's controls
    /// (`retry`, `reimplement`, `cancel`): applied, or refused by the
    /// task's state machine (then `to_state` is `None` and `reason` says why).
    OperatorControl {
        /// `retry`, `reimplement` or `cancel`.
        action: String,
        /// Who asked (an operator's name, `agentctl`, …).
        by: String,
        /// The task's queue state when asked (`failed`, `running`, …).
        from_state: String,
        /// The queue state the control put it in; `None` when refused.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to_state: Option<String>,
        /// Why it was refused, or what happens next (e.g. a running task's
        /// worker stops at its next heartbeat).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

impl EventKind {
    /// The [`EventKind::LlmCall`] of a model call that answered `completion`.
    pub fn llm_call(purpose: &str, completion: &Completion, latency_ms: u64) -> Self {
        EventKind::LlmCall {
            provider: completion.provider.to_string(),
            purpose: purpose.to_owned(),
            input_tokens: completion.usage.input_tokens,
            output_tokens: completion.usage.output_tokens,
            cached_tokens: completion.usage.cached_input_tokens,
            cost_usd: completion.cost_usd,
            latency_ms,
            error: None,
        }
    }

    /// The [`EventKind::LlmCall`] of a model call that failed with `error`.
    pub fn failed_llm_call(purpose: &str, error: &ProviderError, latency_ms: u64) -> Self {
        EventKind::LlmCall {
            provider: error.provider.to_string(),
            purpose: purpose.to_owned(),
            input_tokens: 0,
            output_tokens: 0,
            cached_tokens: 0,
            cost_usd: None,
            latency_ms,
            error: Some(format!("{}: {}", error.kind.name(), error.message)),
        }
    }
}

/// One journal entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Event {
    /// The task it belongs to.
    pub task: TaskId,
    /// When, in Unix milliseconds.
    pub at_unix_ms: u64,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

impl Event {
    /// An event of `task` happening now.
    pub fn now(task: TaskId, kind: EventKind) -> Self {
        Self { task, at_unix_ms: unix_ms_now(), kind }
    }

    /// An event of `task` at `at_unix_ms` (milliseconds since the Unix epoch).
    pub fn at(task: TaskId, at_unix_ms: u64, kind: EventKind) -> Self {
        Self { task, at_unix_ms, kind }
    }
}

/// Milliseconds since the Unix epoch.
pub fn unix_ms_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
