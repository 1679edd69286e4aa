//! `agent-core`: the plugin traits of a coding-agent execution layer, the data
//! that crosses them, a journal, budgets, and the reference [`RepairLoop`].
//!
//! A plugin author depends on this crate alone: implement [`LlmProvider`],
//! [`WorkspaceOracle`], [`FailureClassifier`], [`Executor`], [`Snapshotter`],
//! [`Editor`], [`Gate`], [`Journal`] or [`ContextRenderer`]. A host composes implementations
//! (from `agent-providers`, `agent-oracles`, `agent-sandbox` or its own)
//! into a [`RepairLoop`]:
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use agent_core::*;
//! # async fn host(
//! #     provider: Arc<dyn LlmProvider>, oracle: Arc<dyn WorkspaceOracle>,
//! #     classifier: Arc<dyn FailureClassifier>, executor: Arc<dyn Executor>,
//! #     snapshotter: Arc<dyn Snapshotter>, editor: Arc<dyn Editor>,
//! # ) -> Result<(), LoopError> {
//! let journal = Arc::new(MemoryJournal::default());
//! let repair = RepairLoop::new(RepairParts {
//!     provider, oracle, classifier, executor, snapshotter, editor, journal,
//! })
//! .with_config(RepairConfig::default().with_max_attempts(3));
//! let report = repair.run(Task::new("fix-average", "/path/to/crate", "make the tests pass")).await?;
//! println!("{:?} after {} attempts", report.outcome, report.attempts.len());
//! # Ok(()) }
//! ```
//!
//! This crate spawns no process, speaks no HTTP and writes nothing in a
//! user's workspace: those belong to the implementations of its traits.

mod budget;
mod classifier;
mod command;
mod completion;
mod context;
mod editor;
mod event;
mod executor;
mod failure;
mod file_memory;
mod gate;
mod ids;
mod inspector;
mod journal;
mod jsonl_journal;
mod memory;
mod memory_journal;
mod oracle;
mod plan;
mod provider;
pub mod repair;
mod snapshot;
mod spec;
mod test_outcome;
mod timeline;
mod verdict;
mod workspace;

pub use async_trait::async_trait;
pub use budget::{Budget, BudgetStop, BudgetTracker};
pub use classifier::FailureClassifier;
pub use command::{
    CapturedStream, CommandSpec, Enforcement, EnvPolicy, OutputCaps, RunOutput, SandboxPolicy, SandboxReport,
    TimeoutKind,
};
pub use completion::{
    Completion, CompletionRequest, CompletionStream, FinishReason, Message, ResponseFormat, Role, StreamEvent,
    ToolCall, ToolSpec, Usage, stream_from_completion,
};
pub use context::{ContextRenderer, PlainContext, mask_durations, test_status_line};
pub use editor::{EditError, Editor, FileChange};
pub use event::{Event, EventKind, TaskState, unix_ms_now};
pub use executor::{ExecError, Executor};
pub use failure::{Classification, Failure, FailureCategory, FailureKind, TestCounts, Tier};
pub use file_memory::FileMemory;
pub use gate::{Gate, GateContext, GateError, GateReport};
pub use ids::{ProviderId, SnapshotId, TaskId};
pub use inspector::{CriterionFinding, Inspection, Inspector, Review, ReviewCall};
pub use journal::{Journal, JournalError};
pub use jsonl_journal::JsonlJournal;
pub use memory::{AttemptNote, Lesson, Memory, MemoryEntry, MemoryError, REDACTED, Recollection, scrub_secrets};
pub use memory_journal::MemoryJournal;
pub use oracle::{OracleError, WorkspaceOracle};
pub use plan::{Action, Plan, PlanError};
pub use provider::{LlmProvider, ProviderError, ProviderErrorKind};
pub use repair::{
    AttemptReport, LoopError, Outcome, RepairConfig, RepairLoop, RepairParts, RepairReport, Task, TaskMetrics,
};
pub use snapshot::{SnapshotError, Snapshotter};
pub use spec::{AcceptanceCriterion, NonGoal, SpecError, TaskSpec};
pub use test_outcome::{RunComparison, TestOutcome, TestStatus, compare_runs, names_test};
pub use timeline::{RunMetrics, Timeline, TimelineEntry, determinism};
pub use verdict::Verdict;
pub use workspace::{Ambiguity, DetectedCommand, Evidence, Project, WorkspaceProfile, build_systems, kinds};
