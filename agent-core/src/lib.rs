//! `agent-core`: the contracts of a coding-agent execution layer: the plugin
//! traits, the data that crosses them, and their errors. Nothing else.
//!
//! A plugin author depends on this crate alone and implements one trait:
//! [`LlmProvider`], [`WorkspaceOracle`], [`FailureClassifier`],
//! [`Executor`], [`Snapshotter`], [`Editor`], [`Gate`], [`Journal`],
//! [`Memory`], [`ContextRenderer`] or [`Tool`]. The traits are re-exported here; their
//! data lives in one module per concern:
//!
//! | module | concern |
//! |---|---|
//! | [`provider`] | models: requests, completions, usage, streams, tool calls, provider errors |
//! | [`exec`] | commands: what to run, under which limits and sandbox, and what came back |
//! | [`snapshot`] | taking, restoring and dropping snapshots of a workspace |
//! | [`edit`] | applying file actions to a workspace |
//! | [`workspace`] | what a workspace is and how to build and test it |
//! | [`failure`] | classified failures, per-test outcomes, regression comparison |
//! | [`context`] | how failures become prompt text |
//! | [`plan`] | what the model asks to be done |
//! | [`gate`] | verification steps and the verdict |
//! | [`journal`] | the append-only record |
//! | [`event`] | the steps and states of a task |
//! | [`memory`] | lessons carried from one task to the next |
//! | [`budget`] | limits on turns, tokens, cost and time; money ([`Usd`](budget::Usd)) |
//! | [`spec`] | tasks given as specifications |
//! | [`tool`] | tools an agent session offers the model |
//!
//! ```
//! use agent_core::exec::{CommandSpec, RunOutput};
//! use agent_core::{Executor, async_trait};
//! use agent_core::exec::ExecError;
//!
//! /// An executor that answers every command with a passing run.
//! struct AlwaysPasses;
//!
//! #[async_trait]
//! impl Executor for AlwaysPasses {
//!     async fn run(&self, cmd: CommandSpec) -> Result<RunOutput, ExecError> {
//!         Ok(RunOutput::from_text(cmd.display(), 0, "ok\n", ""))
//!     }
//! }
//! ```
//!
//! The reference loops that compose these traits are in `agent-loop`. This
//! crate spawns no process, walks no file tree, speaks no HTTP and writes
//! nothing: those belong to the implementations of its traits.

pub mod budget;
pub mod context;
pub mod edit;
pub mod event;
pub mod exec;
pub mod failure;
pub mod gate;
mod ids;
pub mod journal;
pub mod memory;
mod money;
pub mod plan;
pub mod provider;
pub mod snapshot;
pub mod spec;
pub mod tool;
pub mod workspace;

pub use async_trait::async_trait;
pub use context::ContextRenderer;
pub use edit::Editor;
pub use exec::Executor;
pub use failure::FailureClassifier;
pub use gate::Gate;
pub use journal::Journal;
pub use memory::Memory;
pub use provider::LlmProvider;
pub use snapshot::Snapshotter;
pub use tool::Tool;
pub use workspace::WorkspaceOracle;
