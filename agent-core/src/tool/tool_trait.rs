//! The [`Tool`] trait.

use crate::provider::ToolSpec;
use crate::tool::{ToolContext, ToolError, ToolOutput};
use async_trait::async_trait;
use std::sync::Arc;

/// One tool the model may call: a name, a description, a JSON schema of its
/// arguments, and the call itself.
///
/// A call that cannot do what was asked returns a [`ToolError`]; the session
/// shows its message to the model as the observation, so the model can try
/// again. Arguments that do not match the schema are
/// [`ToolError::InvalidArguments`].
///
/// ```
/// use agent_core::tool::{Tool, ToolContext, ToolError, ToolOutput};
/// use agent_core::async_trait;
///
/// /// Says how many files the workspace profile found projects in.
/// struct CountProjects;
///
/// #[async_trait]
/// impl Tool for CountProjects {
///     fn name(&self) -> &str {
///         "count_projects"
///     }
///     fn description(&self) -> &str {
///         "How many projects the workspace holds."
///     }
///     fn parameters(&self) -> serde_json::Value {
///         serde_json::json!({"type": "object", "properties": {}})
///     }
///     async fn call(&self, _args: serde_json::Value, cx: &ToolContext) -> Result<ToolOutput, ToolError> {
///         Ok(ToolOutput::text(format!("{} project(s)", cx.profile.projects.len())))
///     }
/// }
///
/// assert_eq!(CountProjects.spec().name, "count_projects");
/// ```
#[async_trait]
pub trait Tool: Send + Sync {
    /// The name the model calls it by (`[a-zA-Z0-9_-]`, unique in a tool set).
    fn name(&self) -> &str;

    /// What it does and when to use it, for the model.
    fn description(&self) -> &str;

    /// The JSON schema of its arguments: an object schema.
    fn parameters(&self) -> serde_json::Value;

    /// Runs the tool with `args` (a JSON object) in `cx`.
    async fn call(&self, args: serde_json::Value, cx: &ToolContext) -> Result<ToolOutput, ToolError>;

    /// The spec sent to the model.
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: self.name().to_owned(),
            description: self.description().to_owned(),
            parameters: self.parameters(),
        }
    }
}

#[async_trait]
impl<T: Tool + ?Sized> Tool for Arc<T> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn description(&self) -> &str {
        (**self).description()
    }
    fn parameters(&self) -> serde_json::Value {
        (**self).parameters()
    }
    async fn call(&self, args: serde_json::Value, cx: &ToolContext) -> Result<ToolOutput, ToolError> {
        (**self).call(args, cx).await
    }
}

#[async_trait]
impl<T: Tool + ?Sized> Tool for Box<T> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn description(&self) -> &str {
        (**self).description()
    }
    fn parameters(&self) -> serde_json::Value {
        (**self).parameters()
    }
    async fn call(&self, args: serde_json::Value, cx: &ToolContext) -> Result<ToolOutput, ToolError> {
        (**self).call(args, cx).await
    }
}
