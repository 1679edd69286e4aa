//! The Ollama `/api/chat` wire format: the request body sent and the bodies (or lines) read.

use crate::native::{arguments_value, tool_name_for};
use agent_core::provider::{CompletionRequest, FinishReason, Role, Usage};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// The body of `POST /api/chat`.
pub(super) fn request_body(model: &str, req: &CompletionRequest, stream: bool) -> Value {
    let messages: Vec<Value> = req
        .messages
        .iter()
        .enumerate()
        .map(|(i, message)| {
            let role = match message.role {
                Role::System => "system",
                Role::Assistant => "assistant",
                Role::Tool => "tool",
                // The user, and any role added later.
                _ => "user",
            };
            let mut wire = json!({"role": role, "content": message.content});
            if !message.tool_calls.is_empty() {
                // Ollama takes (and gives) arguments as an object, not JSON text.
                wire["tool_calls"] = message
                    .tool_calls
                    .iter()
                    .map(|call| json!({"function": {"name": call.name, "arguments": arguments_value(&call.arguments)}}))
                    .collect();
            }
            if message.role == Role::Tool {
                if let Some(name) = tool_name_for(&req.messages, i, message.tool_call_id.as_deref()) {
                    wire["tool_name"] = json!(name);
                }
            }
            wire
        })
        .collect();
    let mut body = Map::new();
    body.insert("model".to_owned(), json!(model));
    body.insert("messages".to_owned(), Value::Array(messages));
    body.insert("stream".to_owned(), json!(stream));
    if !req.tools.is_empty() {
        let tools: Vec<Value> = req
            .tools
            .iter()
            .map(|t| json!({"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}))
            .collect();
        body.insert("tools".to_owned(), Value::Array(tools));
    }
    if let Some(format) = &req.response_format {
        body.insert("format".to_owned(), format.schema.clone());
    }
    let mut options = Map::new();
    if let Some(max) = req.max_tokens {
        options.insert("num_predict".to_owned(), json!(max));
    }
    if let Some(temperature) = req.temperature {
        options.insert("temperature".to_owned(), json!(temperature));
    }
    if !options.is_empty() {
        body.insert("options".to_owned(), Value::Object(options));
    }
    Value::Object(body)
}

/// A whole `/api/chat` answer, or one line of a stream.
#[derive(Deserialize, Default)]
pub(super) struct ChatChunk {
    #[serde(default)]
    pub(super) model: Option<String>,
    #[serde(default)]
    pub(super) message: Option<ChunkMessage>,
    #[serde(default)]
    pub(super) done: bool,
    #[serde(default)]
    pub(super) done_reason: Option<String>,
    #[serde(default)]
    pub(super) prompt_eval_count: Option<u64>,
    #[serde(default)]
    pub(super) eval_count: Option<u64>,
    /// Set on an error line inside a stream.
    #[serde(default)]
    pub(super) error: Option<String>,
}

#[derive(Deserialize, Default)]
pub(super) struct ChunkMessage {
    #[serde(default)]
    pub(super) content: Option<String>,
    #[serde(default)]
    pub(super) tool_calls: Vec<WireToolCall>,
}

#[derive(Deserialize)]
pub(super) struct WireToolCall {
    #[serde(default)]
    pub(super) id: Option<String>,
    pub(super) function: WireFunction,
}

#[derive(Deserialize)]
pub(super) struct WireFunction {
    pub(super) name: String,
    #[serde(default)]
    pub(super) arguments: Option<Value>,
}

impl WireFunction {
    /// The arguments as JSON text: an object is serialised; a string (some
    /// compatible servers send JSON text) is kept as it is; none gives `{}`.
    pub(super) fn arguments_text(&self) -> String {
        match &self.arguments {
            None | Some(Value::Null) => "{}".to_owned(),
            Some(Value::String(text)) => text.clone(),
            Some(other) => other.to_string(),
        }
    }
}

impl ChatChunk {
    /// `prompt_eval_count` (the prompt tokens evaluated) and `eval_count`. Ollama
    /// reports no cache counts, so a reused prompt prefix is simply not counted.
    pub(super) fn usage(&self) -> Usage {
        Usage::new(self.prompt_eval_count.unwrap_or(0), self.eval_count.unwrap_or(0))
    }
}

pub(super) fn finish_reason(wire: &str, has_tool_calls: bool) -> FinishReason {
    match wire {
        "stop" if has_tool_calls => FinishReason::ToolCalls,
        "stop" => FinishReason::Stop,
        "length" => FinishReason::Length,
        other => FinishReason::Other(other.to_owned()),
    }
}
