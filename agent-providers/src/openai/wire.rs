//! The OpenAI Chat Completions wire format: the request body sent and the response body read.

use agent_core::{CompletionRequest, FinishReason, Role, Usage};
use serde::{Deserialize, Serialize};

/// The body of `POST /chat/completions`.
#[derive(Serialize)]
pub(super) struct ChatRequest<'a> {
    pub(super) model: &'a str,
    pub(super) messages: Vec<WireMessage<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) response_format: Option<WireResponseFormat<'a>>,
}

#[derive(Serialize)]
pub(super) struct WireMessage<'a> {
    role: Role,
    content: &'a str,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum WireResponseFormat<'a> {
    JsonSchema { json_schema: WireJsonSchema<'a> },
}

#[derive(Serialize)]
pub(super) struct WireJsonSchema<'a> {
    name: &'a str,
    schema: &'a serde_json::Value,
    strict: bool,
}

impl<'a> ChatRequest<'a> {
    pub(super) fn new(model: &'a str, req: &'a CompletionRequest) -> Self {
        Self {
            model,
            messages: req.messages.iter().map(|m| WireMessage { role: m.role, content: &m.content }).collect(),
            max_tokens: req.max_tokens,
            temperature: req.temperature,
            response_format: req.response_format.as_ref().map(|f| WireResponseFormat::JsonSchema {
                json_schema: WireJsonSchema { name: &f.name, schema: &f.schema, strict: false },
            }),
        }
    }
}

/// The body of a successful chat completion.
#[derive(Deserialize)]
pub(super) struct ChatResponse {
    #[serde(default)]
    pub(super) id: Option<String>,
    #[serde(default)]
    pub(super) model: Option<String>,
    pub(super) choices: Vec<Choice>,
    #[serde(default)]
    pub(super) usage: Option<WireUsage>,
}

#[derive(Deserialize)]
pub(super) struct Choice {
    pub(super) message: ChoiceMessage,
    #[serde(default)]
    pub(super) finish_reason: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct ChoiceMessage {
    #[serde(default)]
    pub(super) content: Option<String>,
    #[serde(default)]
    pub(super) refusal: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct WireUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
    #[serde(default)]
    prompt_tokens_details: Option<PromptTokensDetails>,
    #[serde(default)]
    completion_tokens_details: Option<CompletionTokensDetails>,
}

#[derive(Deserialize)]
struct PromptTokensDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct CompletionTokensDetails {
    #[serde(default)]
    reasoning_tokens: Option<u64>,
}

impl WireUsage {
    /// OpenAI's `prompt_tokens` already includes the cached tokens.
    pub(super) fn to_usage(&self) -> Usage {
        Usage {
            input_tokens: self.prompt_tokens.unwrap_or(0),
            output_tokens: self.completion_tokens.unwrap_or(0),
            cached_input_tokens: self.prompt_tokens_details.as_ref().and_then(|d| d.cached_tokens).unwrap_or(0),
            reasoning_tokens: self.completion_tokens_details.as_ref().and_then(|d| d.reasoning_tokens).unwrap_or(0),
            cache_write_input_tokens: 0,
        }
    }
}

pub(super) fn finish_reason(wire: &str) -> FinishReason {
    match wire {
        "stop" => FinishReason::Stop,
        "length" => FinishReason::Length,
        "tool_calls" | "function_call" => FinishReason::ToolCalls,
        "content_filter" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_owned()),
    }
}

/// The body of an error response: `{"error":{"message","type","param","code"}}`.
///
/// Some compatible servers send `{"error":"text"}`; both shapes are read.
#[derive(Deserialize)]
pub(super) struct ErrorEnvelope {
    pub(super) error: ErrorBody,
}

#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum ErrorBody {
    Object {
        #[serde(default)]
        message: Option<String>,
        #[serde(default, rename = "type")]
        kind: Option<String>,
        #[serde(default)]
        code: Option<serde_json::Value>,
    },
    Text(String),
}
