//! `finish`: ends the session with a summary.

use crate::tools::common::{parse_args, schema_of};
use agent_core::Tool;
use agent_core::tool::{ToolContext, ToolError, ToolOutput};
use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;

/// `finish`: ends the session with the model's `summary`
/// ([`ToolOutput::finish`]); the loop then verifies the work.
#[derive(Clone, Copy, Debug, Default)]
pub struct Finish;

/// Arguments of `finish`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Args {
    /// What was changed and why, in a few sentences.
    summary: String,
}

const NAME: &str = "finish";

#[async_trait]
impl Tool for Finish {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> &str {
        "Finish the task: call this once the work is done (the tests are then run to verify it), with a short \
         summary of what was changed and why."
    }

    fn parameters(&self) -> serde_json::Value {
        schema_of::<Args>()
    }

    async fn call(&self, args: serde_json::Value, _cx: &ToolContext) -> Result<ToolOutput, ToolError> {
        let args: Args = parse_args(NAME, args)?;
        Ok(ToolOutput::finish(args.summary))
    }
}
