//! `write_file`: creates or overwrites a file, through the editor.

use crate::tools::common::{contained, failed, parse_args, schema_of, show};
use agent_core::Tool;
use agent_core::plan::Action;
use agent_core::tool::{ToolContext, ToolError, ToolOutput};
use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;

/// `write_file`: writes `content` as the whole file at `path` (created with
/// its directories, or overwritten) through the context's
/// [`Editor`](agent_core::Editor) as an [`Action::WriteFile`]; the
/// observation names the change and the line count, and the output carries
/// the [`FileChange`](agent_core::edit::FileChange).
#[derive(Clone, Copy, Debug, Default)]
pub struct WriteFile;

/// Arguments of `write_file`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Args {
    /// File to write, relative to the workspace root; missing directories are created.
    path: String,
    /// The whole content of the file.
    content: String,
}

const NAME: &str = "write_file";

#[async_trait]
impl Tool for WriteFile {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> &str {
        "Create a file, or overwrite one, with the whole `content` given. To change part of an existing file, \
         use edit_file."
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
        let lines = args.content.lines().count();
        let action = Action::WriteFile { path: shown.clone(), content: args.content };
        let change = cx.editor.apply(&cx.root, &action).await?;
        let text = format!("{} `{shown}` ({lines} line{})\n", change.change, if lines == 1 { "" } else { "s" });
        Ok(ToolOutput::text(text).with_changes(vec![change]))
    }
}
