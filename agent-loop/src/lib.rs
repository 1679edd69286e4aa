//! `agent-loop`: the reference loops over `agent-core`'s traits, and what
//! they need around them: agent sessions and their tools, prompts, the
//! inspector, memory, journals, timelines and metrics, and the [`merge`]
//! step that lands an accepted change on the target branch.
//!
//! [`RepairLoop`] inspects a workspace, snapshots it, runs the baseline
//! tests, lets the model work on it (by default an [`AgentSession`]: the
//! model reads, searches, edits and runs the tests with the [`ToolSet`]'s
//! tools until it calls `finish`; or one JSON plan, [`LoopMode::Plan`]),
//! runs the tests itself, classifies the failure, repairs (at most N
//! attempts), and accepts the change or restores the snapshot; every step is
//! an event in a [`Journal`](agent_core::Journal).
//! A host composes implementations (from `agent-providers`, `agent-oracles`,
//! `agent-classify`, `agent-sandbox` or its own) into it:
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use agent_core::{Editor, Executor, FailureClassifier, LlmProvider, Snapshotter, WorkspaceOracle};
//! use agent_loop::{LoopError, MemoryJournal, RepairConfig, RepairLoop, RepairParts, Task};
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
//! user's workspace: it acts through the traits. It writes only its own
//! files (the JSONL journal, the memory file) where the host puts them.

mod file_memory;
mod inspector;
mod jsonl_journal;
mod memory_journal;
pub mod merge;
mod plain_context;
pub mod repair;
pub mod session;
mod timeline;
pub mod tools;

pub use file_memory::{FileMemory, workspace_key};
pub use inspector::{CriterionFinding, Inspection, Inspector, Review, ReviewCall, ReviewTurn};
pub use jsonl_journal::JsonlJournal;
pub use memory_journal::MemoryJournal;
pub use plain_context::PlainContext;
pub use repair::{
    AttemptReport, LoopError, LoopMode, Outcome, RepairConfig, RepairLoop, RepairParts, RepairReport, Task, TaskMetrics,
};
pub use session::{AgentSession, SessionConfig, SessionEnd, SessionError, SessionReport, ToolMode};
pub use timeline::{RunMetrics, Timeline, TimelineEntry, determinism};
pub use tools::ToolSet;
