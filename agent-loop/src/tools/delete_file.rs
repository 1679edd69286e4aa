//! `delete_file`: deletes a file, through the editor.

use crate::tools::common::{contained, failed, parse_args, schema_of, show};
use agent_core::Tool;
use agent_core::plan::Action;
use agent_core::tool::{ToolContext, ToolError, ToolOutput};
use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;

/// `delete_file`: deletes the file at `path` through the context's
/// [`Editor`](agent_core::Editor) as an [`Action::DeleteFile`]; the output
/// carries the [`FileChange`](agent_core::edit::FileChange). A missing file
/// is the editor's error.
#[derive(Clone, Copy, Debug, Default)]
pub struct DeleteFile;

/// Arguments of `delete_file`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Args {
    /// File to delete, relative to the workspace root.
    path: String,
}

const NAME: &str = "delete_file";

#[async_trait]
impl Tool for DeleteFile {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> &str {
        "Delete a file of the workspace."
    }

    fn parameters(&self) -> serde_json::Value {
        schema_of::<Args>()
    }

    async fn call(&self, args: serde_json::Value, cx: &ToolContext) -> Result<ToolOutput, ToolError> {
        let args: Args = parse_args(NAME, args)?;
        let file = contained(cx, &args.path)?;
        if file.relative.as_os_str().is_empty() {
            return Err(failed(NAME, "the path names the workspace root, not a file"));
        }
        let shown = show(&file.relative);
        let change = cx.editor.apply(&cx.root, &Action::DeleteFile { path: shown.clone() }).await?;
        Ok(ToolOutput::text(format!("deleted `{shown}`\n")).with_changes(vec![change]))
    }
}
