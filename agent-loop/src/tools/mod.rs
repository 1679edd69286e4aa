//! The built-in tools of an agent session and [`ToolSet`], the tools a
//! session offers (the built-ins, plus a host's own).
//!
//! The names and arguments are the contract in DESIGN.md ("Agent tools"):
//! `list_files`, `read_file`, `search`, `edit_file`, `write_file`,
//! `delete_file`, `run_tests`, `run_command`, `finish`
//! ([`ToolSet::builtin`]). Every observation is bounded
//! ([`bound_observation`]); every path goes through
//! [`contain`](agent_core::workspace::contain) (a refusal is
//! [`ToolError::Refused`] with its reason); every write through the
//! context's [`Editor`](agent_core::Editor) and every process through its
//! [`Executor`](agent_core::Executor).
//!
//! The arguments of each tool are a `deny_unknown_fields` struct whose JSON
//! schema (schemars) is the tool's [`parameters`](Tool::parameters), so the
//! schema the model sees and the check of its call cannot drift apart; a
//! call that does not match is [`ToolError::InvalidArguments`] naming the
//! field.
//!
//! Observations hold workspace-relative paths only and come out in a stable
//! order, so the same workspace gives the same prompt bytes on every
//! machine. `list_files` and `search` walk the workspace the same way:
//! `.gitignore`, `.ignore` and `.git/info/exclude` honoured (not the user's
//! global excludes), hidden files and `.git` skipped, and dependency caches
//! nothing ignores (`node_modules`, `__pycache__`, a directory holding a
//! `CACHEDIR.TAG` such as cargo's `target`); symlinks are not followed. File
//! contents are shown as they are; command output has its durations masked
//! ([`mask_durations`](agent_core::context::mask_durations)) and the
//! workspace root written as `.`.
//!
//! The tools run on a tokio runtime: file reads and walks go to its
//! blocking pool.
//!
//! ```
//! use agent_loop::tools::ToolSet;
//!
//! let tools = ToolSet::builtin();
//! assert_eq!(tools.names(), [
//!     "list_files", "read_file", "search", "edit_file", "write_file",
//!     "delete_file", "run_tests", "run_command", "finish",
//! ]);
//! let read = tools.get("read_file").unwrap().parameters();
//! assert_eq!(read["type"], "object");
//! assert_eq!(read["required"], serde_json::json!(["path"]));
//! ```

mod common;
mod delete_file;
mod edit_file;
mod finish;
mod list_files;
mod read_file;
mod run_command;
mod run_tests;
mod search;
mod walk;
mod write_file;

pub use delete_file::DeleteFile;
pub use edit_file::EditFile;
pub use finish::Finish;
pub use list_files::ListFiles;
pub use read_file::ReadFile;
pub use run_command::RunCommand;
pub use run_tests::RunTests;
pub use search::Search;
pub use write_file::WriteFile;

use agent_core::Tool;
use agent_core::provider::ToolSpec;
use agent_core::tool::{ToolContext, ToolError, ToolOutput};
use std::sync::Arc;

/// The tools a session offers, by name, in the order they were added.
#[derive(Clone, Default)]
pub struct ToolSet {
    tools: Vec<Arc<dyn Tool>>,
}

impl std::fmt::Debug for ToolSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

impl ToolSet {
    /// No tools.
    pub fn empty() -> Self {
        Self::default()
    }

    /// The nine built-in tools, in this order: `list_files`, `read_file`,
    /// `search`, `edit_file`, `write_file`, `delete_file`, `run_tests`,
    /// `run_command`, `finish`.
    pub fn builtin() -> Self {
        Self::empty()
            .with(Arc::new(ListFiles))
            .with(Arc::new(ReadFile))
            .with(Arc::new(Search))
            .with(Arc::new(EditFile))
            .with(Arc::new(WriteFile))
            .with(Arc::new(DeleteFile))
            .with(Arc::new(RunTests))
            .with(Arc::new(RunCommand))
            .with(Arc::new(Finish))
    }

    /// With `tool` added; a tool of the same name is replaced (a host can
    /// swap a built-in for its own).
    pub fn with(mut self, tool: Arc<dyn Tool>) -> Self {
        self.tools.retain(|t| t.name() != tool.name());
        self.tools.push(tool);
        self
    }

    /// Without the tool named `name`.
    pub fn without(mut self, name: &str) -> Self {
        self.tools.retain(|t| t.name() != name);
        self
    }

    /// The tool named `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Tool>> {
        self.tools.iter().find(|t| t.name() == name)
    }

    /// The names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.tools.iter().map(|t| t.name()).collect()
    }

    /// The specs sent to the model.
    pub fn specs(&self) -> Vec<ToolSpec> {
        self.tools.iter().map(|t| t.spec()).collect()
    }

    /// Calls the tool named `name`; an unknown name is [`ToolError::UnknownTool`].
    pub async fn call(&self, name: &str, args: serde_json::Value, cx: &ToolContext) -> Result<ToolOutput, ToolError> {
        match self.get(name) {
            Some(tool) => tool.call(args, cx).await,
            None => Err(ToolError::UnknownTool { tool: name.to_owned(), known: self.names().join(", ") }),
        }
    }
}

/// About how many tokens `text` is: four bytes a token, rounded up (the
/// session's estimate; exact counts need a tokenizer this crate does not
/// carry).
pub fn estimate_tokens(text: &str) -> usize {
    text.len().div_ceil(4)
}

/// `text` cut to about `max_tokens`: its head and tail, whole lines where
/// possible, with a note in between of how many lines and bytes were cut.
/// Text within the budget is returned as it is.
///
/// ```
/// use agent_loop::tools::bound_observation;
///
/// let long: String = (1..=1000).map(|i| format!("line {i}\n")).collect();
/// let cut = bound_observation(&long, 100);
/// assert!(cut.starts_with("line 1\n"));
/// assert!(cut.trim_end().ends_with("line 1000"));
/// assert!(cut.contains("lines cut"));
/// assert!(cut.len() < long.len() / 10);
/// assert_eq!(bound_observation("short\n", 100), "short\n");
/// ```
pub fn bound_observation(text: &str, max_tokens: usize) -> String {
    let max_bytes = max_tokens.saturating_mul(4).max(64);
    if text.len() <= max_bytes {
        return text.to_owned();
    }
    let keep = max_bytes.saturating_sub(80) / 2;
    let mut head_end = floor_char(text, keep);
    if let Some(nl) = text[..head_end].rfind('\n') {
        if nl > 0 {
            head_end = nl + 1;
        }
    }
    let mut tail_start = ceil_char(text, text.len() - keep);
    if let Some(nl) = text[tail_start..].find('\n') {
        if tail_start + nl + 1 < text.len() {
            tail_start += nl + 1;
        }
    }
    if tail_start <= head_end {
        return text.to_owned();
    }
    let cut = &text[head_end..tail_start];
    format!(
        "{}[… {} lines cut ({} bytes) …]\n{}",
        &text[..head_end],
        cut.lines().count(),
        cut.len(),
        &text[tail_start..]
    )
}

fn floor_char(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_char(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}
