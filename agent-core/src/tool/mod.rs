//! Tools an agent session offers the model: the [`Tool`] trait, the
//! [`ToolContext`] a call runs in, and what a call returns ([`ToolOutput`])
//! or why it failed ([`ToolError`]).
//!
//! `agent-loop` holds the built-in tools (read_file, list_files, search,
//! edit_file, write_file, delete_file, run_tests, run_command, finish) and the
//! session that drives them; a host adds its own tools by implementing
//! [`Tool`]. A tool acts on the workspace only through the context's
//! [`Editor`](crate::Editor) and [`Executor`](crate::Executor), and reads only
//! paths that pass [`contain`](crate::workspace::contain).

mod context;
mod tool_trait;

pub use context::{ObservationLimits, ToolContext, ToolError, ToolOutput};
pub use tool_trait::Tool;
