//! The Anthropic Messages wire format: the request body sent and the bodies read.

use super::DEFAULT_MAX_TOKENS;
use crate::native::{arguments_value, body_excerpt};
use agent_core::provider::{CompletionRequest, FinishReason, Role, Usage};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The body of `POST /v1/messages`.
#[derive(Serialize)]
pub(super) struct MessagesRequest<'a> {
    model: &'a str,
    max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<String>,
    messages: Vec<WireMessage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<WireTool<'a>>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stream: bool,
}

#[derive(Serialize)]
struct WireMessage {
    role: &'static str,
    content: Vec<Value>,
}

#[derive(Serialize)]
struct WireTool<'a> {
    name: &'a str,
    description: &'a str,
    input_schema: &'a Value,
}

/// The instruction appended to the system prompt for [`CompletionRequest::response_format`]:
/// the Messages API has no structured-output field.
pub(super) fn schema_instruction(name: &str, schema: &Value) -> String {
    format!(
        "Answer with a single JSON value that matches the JSON schema named \"{name}\" below. \
         Output only the JSON: no prose, no code fences.\n{schema}"
    )
}

impl<'a> MessagesRequest<'a> {
    pub(super) fn new(model: &'a str, req: &'a CompletionRequest, stream: bool) -> Self {
        let mut system_parts: Vec<String> = Vec::new();
        let mut messages: Vec<WireMessage> = Vec::new();
        for message in &req.messages {
            let (role, blocks) = match message.role {
                Role::System => {
                    system_parts.push(message.content.clone());
                    continue;
                }
                Role::Assistant => {
                    let mut blocks = Vec::new();
                    if !message.content.is_empty() || message.tool_calls.is_empty() {
                        blocks.push(json!({"type": "text", "text": message.content}));
                    }
                    for call in &message.tool_calls {
                        let input = match arguments_value(&call.arguments) {
                            obj @ Value::Object(_) => obj,
                            other => json!({ "value": other }),
                        };
                        blocks.push(json!({"type": "tool_use", "id": call.id, "name": call.name, "input": input}));
                    }
                    ("assistant", blocks)
                }
                Role::Tool => (
                    "user",
                    vec![json!({
                        "type": "tool_result",
                        "tool_use_id": message.tool_call_id.as_deref().unwrap_or_default(),
                        "content": message.content,
                    })],
                ),
                // The user, and any role added later: sent as the user's words.
                _ => ("user", vec![json!({"type": "text", "text": message.content})]),
            };
            // Consecutive turns of one role are merged: tool results answering one
            // assistant turn must all sit in the next user message.
            match messages.last_mut() {
                Some(last) if last.role == role => last.content.extend(blocks),
                _ => messages.push(WireMessage { role, content: blocks }),
            }
        }
        if let Some(format) = &req.response_format {
            system_parts.push(schema_instruction(&format.name, &format.schema));
        }
        let system = (!system_parts.is_empty()).then(|| system_parts.join("\n\n"));
        Self {
            model,
            max_tokens: req.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
            system,
            messages,
            temperature: req.temperature,
            tools: req
                .tools
                .iter()
                .map(|t| WireTool { name: &t.name, description: &t.description, input_schema: &t.parameters })
                .collect(),
            stream,
        }
    }
}

/// The body of a successful `POST /v1/messages`.
#[derive(Deserialize)]
pub(super) struct MessagesResponse {
    #[serde(default)]
    pub(super) id: Option<String>,
    #[serde(default)]
    pub(super) model: Option<String>,
    #[serde(default)]
    pub(super) content: Vec<ContentBlock>,
    #[serde(default)]
    pub(super) stop_reason: Option<String>,
    #[serde(default)]
    pub(super) usage: WireUsage,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum ContentBlock {
    Text {
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        #[serde(default)]
        input: Value,
    },
    #[serde(other)]
    Other,
}

/// Anthropic's usage: `input_tokens` counts only the uncached part of the prompt.
#[derive(Deserialize, Default, Clone, Copy, Debug)]
pub(super) struct WireUsage {
    #[serde(default)]
    pub(super) input_tokens: Option<u64>,
    #[serde(default)]
    pub(super) output_tokens: Option<u64>,
    #[serde(default)]
    pub(super) cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    pub(super) cache_read_input_tokens: Option<u64>,
}

impl WireUsage {
    /// Takes every count `later` carries (stream events repeat or update them).
    pub(super) fn update(&mut self, later: &WireUsage) {
        self.input_tokens = later.input_tokens.or(self.input_tokens);
        self.output_tokens = later.output_tokens.or(self.output_tokens);
        self.cache_creation_input_tokens = later.cache_creation_input_tokens.or(self.cache_creation_input_tokens);
        self.cache_read_input_tokens = later.cache_read_input_tokens.or(self.cache_read_input_tokens);
    }

    /// Normalised: `input_tokens` = uncached input + cache reads + cache writes.
    pub(super) fn to_usage(self) -> Usage {
        let read = self.cache_read_input_tokens.unwrap_or(0);
        let write = self.cache_creation_input_tokens.unwrap_or(0);
        Usage::new(self.input_tokens.unwrap_or(0) + read + write, self.output_tokens.unwrap_or(0))
            .with_cached_input(read)
            .with_cache_write_input(write)
    }
}

pub(super) fn finish_reason(wire: &str) -> FinishReason {
    match wire {
        "end_turn" | "stop_sequence" => FinishReason::Stop,
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "refusal" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_owned()),
    }
}

/// One server-sent event of a streamed message (the `data:` JSON; its `type` names the event).
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum StreamFrame {
    MessageStart {
        message: StartMessage,
    },
    ContentBlockStart {
        index: u32,
        content_block: ContentBlock,
    },
    ContentBlockDelta {
        index: u32,
        delta: BlockDelta,
    },
    ContentBlockStop {},
    MessageDelta {
        delta: MessageDeltaBody,
        #[serde(default)]
        usage: WireUsage,
    },
    MessageStop,
    Ping,
    Error {},
    #[serde(other)]
    Unknown,
}

#[derive(Deserialize)]
pub(super) struct StartMessage {
    #[serde(default)]
    pub(super) id: Option<String>,
    #[serde(default)]
    pub(super) model: Option<String>,
    #[serde(default)]
    pub(super) usage: WireUsage,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum BlockDelta {
    TextDelta {
        text: String,
    },
    InputJsonDelta {
        partial_json: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
pub(super) struct MessageDeltaBody {
    #[serde(default)]
    pub(super) stop_reason: Option<String>,
}

/// The body of an error: `{"type":"error","error":{"type","message","details"},"request_id"}`.
#[derive(Deserialize, Default)]
pub(super) struct ErrorEnvelope {
    #[serde(default)]
    pub(super) error: ErrorBody,
    #[serde(default)]
    pub(super) request_id: Option<String>,
}

#[derive(Deserialize, Default)]
pub(super) struct ErrorBody {
    #[serde(default, rename = "type")]
    pub(super) kind: Option<String>,
    #[serde(default)]
    pub(super) message: Option<String>,
    #[serde(default)]
    pub(super) details: Option<Value>,
}

impl ErrorEnvelope {
    /// Parses an error body; anything else gives an empty envelope.
    pub(super) fn parse(body: &str) -> Self {
        serde_json::from_str(body).unwrap_or_default()
    }

    /// The error message, or an excerpt of the body when there is none.
    pub(super) fn message(&self, body: &str) -> String {
        self.error.message.clone().filter(|m| !m.trim().is_empty()).unwrap_or_else(|| body_excerpt(body))
    }

    /// `error.details.error_code`, when present.
    pub(super) fn error_code(&self) -> Option<&str> {
        self.error.details.as_ref()?.get("error_code")?.as_str()
    }
}
