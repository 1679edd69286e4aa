//! [`ModelCapabilities`]: what one model accepts and can do (context window,
//! output limit, which token parameter, fixed temperature, tools, structured
//! output, reasoning controls, image input), so that a provider shapes its
//! request to the model and a loop plans within its limits.
//!
//! The data lives in `agent-providers` (its capability table, overridable by
//! the host); this module holds only the type, so a plugin author can read
//! and build capabilities without depending on any provider.
//!
//! ```
//! use agent_core::provider::{ModelCapabilities, ReasoningControl, StructuredOutputMode, TokenParam};
//!
//! // A reasoning model: `max_completion_tokens`, temperature fixed at its default.
//! let caps = ModelCapabilities::new(400_000, 128_000)
//!     .with_token_param(TokenParam::MaxCompletionTokens)
//!     .with_fixed_temperature(true)
//!     .with_reasoning(ReasoningControl::Effort);
//! assert_eq!(caps.token_param.as_str(), "max_completion_tokens");
//! assert!(caps.tools && caps.structured_output == StructuredOutputMode::JsonSchema);
//!
//! // The JSON form is what a host writes to override the shipped table.
//! let json = r#"{"context_window": 32768, "max_output_tokens": 8192, "tools": false}"#;
//! let local: ModelCapabilities = serde_json::from_str(json).unwrap();
//! assert_eq!(local.token_param, TokenParam::MaxTokens);
//! assert!(!local.tools && !local.fixed_temperature);
//! ```

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The request field that bounds the generated tokens on OpenAI Chat
/// Completions (other wires have one name each and ignore this).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TokenParam {
    /// `max_tokens`: chat models before the reasoning families, and most compatible servers.
    #[default]
    MaxTokens,
    /// `max_completion_tokens`: the o-series and gpt-5 families, which refuse `max_tokens`.
    MaxCompletionTokens,
}

impl TokenParam {
    /// The field name on the wire (`max_tokens`, `max_completion_tokens`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MaxTokens => "max_tokens",
            Self::MaxCompletionTokens => "max_completion_tokens",
        }
    }
}

/// How a model can be held to a JSON answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StructuredOutputMode {
    /// A JSON Schema the answer must match.
    #[default]
    JsonSchema,
    /// Some JSON object, with no schema enforced.
    JsonObject,
    /// No structured output: the schema can only be asked for in the prompt.
    None,
}

/// How a model's reasoning is controlled, if at all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ReasoningControl {
    /// No reasoning control (not a reasoning model, or not controllable).
    #[default]
    None,
    /// A level: OpenAI `reasoning_effort` (`minimal`, `low`, `medium`, `high`).
    Effort,
    /// A token budget: Anthropic `thinking.budget_tokens`, Gemini `thinkingConfig.thinkingBudget`.
    BudgetTokens,
}

fn yes() -> bool {
    true
}

/// What one model accepts and can do.
///
/// In JSON every field but `context_window` and `max_output_tokens` may be
/// left out: `token_param` defaults to `max_tokens`, `fixed_temperature` to
/// false, `tools` and `parallel_tool_calls` to true, `structured_output` to
/// `json_schema`, `reasoning` to `none`, `image_input` to false.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct ModelCapabilities {
    /// Prompt plus output, in tokens.
    pub context_window: u64,
    /// The most tokens one answer may generate (reasoning included).
    pub max_output_tokens: u32,
    /// The field that bounds generated tokens on OpenAI Chat Completions.
    #[serde(default)]
    pub token_param: TokenParam,
    /// Whether temperature is fixed at its default (reasoning models refuse any other value).
    #[serde(default)]
    pub fixed_temperature: bool,
    /// Whether the model can call tools.
    #[serde(default = "yes")]
    pub tools: bool,
    /// Whether the model can call several tools in one answer.
    #[serde(default = "yes")]
    pub parallel_tool_calls: bool,
    /// How the model can be held to a JSON answer.
    #[serde(default)]
    pub structured_output: StructuredOutputMode,
    /// How its reasoning is controlled.
    #[serde(default)]
    pub reasoning: ReasoningControl,
    /// Whether the model reads images.
    #[serde(default)]
    pub image_input: bool,
}

impl ModelCapabilities {
    /// A model with this context window and output limit, otherwise the
    /// defaults of the JSON form (a chat model with tools and JSON Schema output).
    pub fn new(context_window: u64, max_output_tokens: u32) -> Self {
        Self {
            context_window,
            max_output_tokens,
            token_param: TokenParam::default(),
            fixed_temperature: false,
            tools: true,
            parallel_tool_calls: true,
            structured_output: StructuredOutputMode::default(),
            reasoning: ReasoningControl::default(),
            image_input: false,
        }
    }

    /// Sets the token parameter.
    pub fn with_token_param(mut self, token_param: TokenParam) -> Self {
        self.token_param = token_param;
        self
    }

    /// Sets whether temperature is fixed at its default.
    pub fn with_fixed_temperature(mut self, fixed: bool) -> Self {
        self.fixed_temperature = fixed;
        self
    }

    /// Sets whether the model calls tools, and several in one answer.
    pub fn with_tools(mut self, tools: bool, parallel_tool_calls: bool) -> Self {
        self.tools = tools;
        self.parallel_tool_calls = tools && parallel_tool_calls;
        self
    }

    /// Sets the structured-output mode.
    pub fn with_structured_output(mut self, mode: StructuredOutputMode) -> Self {
        self.structured_output = mode;
        self
    }

    /// Sets the reasoning control.
    pub fn with_reasoning(mut self, reasoning: ReasoningControl) -> Self {
        self.reasoning = reasoning;
        self
    }

    /// Sets whether the model reads images.
    pub fn with_image_input(mut self, image_input: bool) -> Self {
        self.image_input = image_input;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_names_are_snake_case_and_stable() {
        let caps = ModelCapabilities::new(1, 1)
            .with_token_param(TokenParam::MaxCompletionTokens)
            .with_structured_output(StructuredOutputMode::JsonObject)
            .with_reasoning(ReasoningControl::BudgetTokens);
        let json = serde_json::to_value(&caps).unwrap();
        assert_eq!(json["token_param"], "max_completion_tokens");
        assert_eq!(json["structured_output"], "json_object");
        assert_eq!(json["reasoning"], "budget_tokens");
        assert_eq!(serde_json::from_value::<ModelCapabilities>(json).unwrap(), caps);
    }
}
