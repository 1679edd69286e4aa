//! The Ollama `/api/chat` wire format: the request body sent and the bodies (or lines) read.

use crate::gemini::data_url;
use crate::native::{arguments_value, tool_name_for};
use agent_core::provider::{
    CompletionRequest, ContentPart, FinishReason, ImageSource, Message, ModelCapabilities, ReasoningControl,
    ReasoningEffort, Role, Usage,
};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// The `origin` of the reasoning (`thinking`) this wire produces and takes back.
pub(super) const ORIGIN: &str = "ollama";

/// The tokens one image is counted as when sizing `num_ctx` (high: vision
/// models take from a few hundred to over a thousand per image).
const TOKENS_PER_IMAGE: u64 = 1_536;

/// A request this wire cannot carry, refused before anything is sent.
#[derive(Debug)]
pub(super) struct Refusal {
    /// What is unsupported (`image`, `image_url`).
    pub(super) what: String,
    /// Why, for the error message.
    pub(super) message: String,
}

/// The context window asked for a model the capability table does not know.
pub(super) const UNKNOWN_MODEL_WINDOW: u64 = 32_768;

/// The smallest `num_ctx` sent: Ollama reloads a model whenever `num_ctx`
/// changes, so small requests share one size.
const MIN_NUM_CTX: u64 = 8_192;

/// The output room kept when the request sets no `max_tokens`.
const OUTPUT_RESERVE: u64 = 4_096;

/// Prompt tokens, estimated high (three bytes a token, plus a few per
/// message): an estimate too low is the silent truncation `num_ctx` is sent to prevent.
fn estimated_prompt_tokens(req: &CompletionRequest) -> u64 {
    let bytes: usize = req
        .messages
        .iter()
        .map(|m| {
            m.content.len()
                + m.tool_calls.iter().map(|c| c.name.len() + c.arguments.len()).sum::<usize>()
                + m.reasoning().filter(|r| r.origin == ORIGIN).map(|r| r.text.len()).sum::<usize>()
        })
        .chain(req.tools.iter().map(|t| t.name.len() + t.description.len() + t.parameters.to_string().len()))
        .chain(req.response_format.iter().map(|f| f.schema.to_string().len()))
        .sum();
    let per_message = 4 * req.messages.len() as u64;
    let images: usize =
        req.messages.iter().map(|m| m.parts.iter().filter(|p| matches!(p, ContentPart::Image { .. })).count()).sum();
    (bytes as u64).div_ceil(3) + per_message + TOKENS_PER_IMAGE * images as u64
}

/// `options.num_ctx` for `req`: the estimated prompt plus the output asked
/// for (or [`OUTPUT_RESERVE`]), at least [`MIN_NUM_CTX`], rounded up to a
/// power of two (so a growing conversation changes it, and reloads the
/// model, only a few times), and capped at the model's context window
/// ([`UNKNOWN_MODEL_WINDOW`] when unknown).
pub(super) fn num_ctx(req: &CompletionRequest, caps: Option<&ModelCapabilities>) -> u64 {
    let output = req.max_tokens.map_or(OUTPUT_RESERVE, u64::from);
    let window = caps.map_or(UNKNOWN_MODEL_WINDOW, |c| c.context_window);
    (estimated_prompt_tokens(req) + output).max(MIN_NUM_CTX).next_power_of_two().min(window)
}

/// The body of `POST /api/chat`.
///
/// `caps` are the model's capabilities when known: they cap `num_ctx`,
/// refuse an image to a model without image input, and choose how `think`
/// is written.
pub(super) fn request_body(
    model: &str,
    req: &CompletionRequest,
    caps: Option<&ModelCapabilities>,
    stream: bool,
) -> Result<Value, Refusal> {
    let mut messages: Vec<Value> = Vec::with_capacity(req.messages.len());
    for (i, message) in req.messages.iter().enumerate() {
        let role = match message.role {
            Role::System => "system",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
            // The user, and any role added later.
            _ => "user",
        };
        // Ollama has no error flag: a failed tool's text says it failed.
        let content = if message.role == Role::Tool && message.is_error {
            crate::native::flagged_tool_error(&message.content)
        } else {
            std::borrow::Cow::Borrowed(message.content.as_str())
        };
        let mut wire = json!({"role": role, "content": content});
        let images = images(message, caps)?;
        if !images.is_empty() {
            wire["images"] = json!(images);
        }
        let thinking: String = message.reasoning().filter(|r| r.origin == ORIGIN).map(|r| r.text.as_str()).collect();
        if message.role == Role::Assistant && !thinking.is_empty() {
            wire["thinking"] = json!(thinking);
        }
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
        messages.push(wire);
    }
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
    if let Some(think) = think(req, caps) {
        body.insert("think".to_owned(), think);
    }
    let mut options = Map::new();
    options.insert("num_ctx".to_owned(), json!(num_ctx(req, caps)));
    if let Some(max) = req.max_tokens {
        options.insert("num_predict".to_owned(), json!(max));
    }
    if let Some(temperature) = req.temperature {
        options.insert("temperature".to_owned(), json!(temperature));
    }
    body.insert("options".to_owned(), Value::Object(options));
    Ok(Value::Object(body))
}

/// The message's images as the base64 strings of `images`: bytes as they
/// are, a `data:` URL's payload. Refused: any other URL (Ollama does not
/// fetch images), and any image to a model known not to read images.
fn images(message: &Message, caps: Option<&ModelCapabilities>) -> Result<Vec<String>, Refusal> {
    let mut images = Vec::new();
    for part in &message.parts {
        let ContentPart::Image { source, .. } = part else { continue };
        if caps.is_some_and(|c| !c.image_input) {
            return Err(Refusal {
                what: "image".to_owned(),
                message: "this model does not read images (image_input is false in its capabilities)".to_owned(),
            });
        }
        match source {
            ImageSource::Base64(data) => images.push(data.clone()),
            ImageSource::Url(url) => match data_url(url) {
                Some((_, data)) => images.push(data),
                None => {
                    return Err(Refusal {
                        what: "image_url".to_owned(),
                        message: "Ollama takes images as bytes only: fetch the URL and send the bytes".to_owned(),
                    });
                }
            },
            // A source added after this mapping was written: refused, not guessed at.
            _ => {
                return Err(Refusal {
                    what: "image".to_owned(),
                    message: "an image source Ollama cannot carry".to_owned(),
                });
            }
        }
    }
    Ok(images)
}

/// `think` for the request's reasoning controls: nothing without them (the
/// model's default), nor for a model known not to think (`reasoning: none`);
/// a level (`low`, `medium`, `high`; minimal is `low`) for a model whose
/// reasoning control is `effort` (gpt-oss takes levels only); otherwise
/// `true`, or `false` for a budget of 0. (Ollama has no budget: any other
/// budget or level turns thinking on.)
fn think(req: &CompletionRequest, caps: Option<&ModelCapabilities>) -> Option<Value> {
    let reasoning = req.reasoning?;
    match caps.map(|c| c.reasoning) {
        Some(ReasoningControl::None) => None,
        _ if reasoning.budget_tokens == Some(0) && reasoning.effort.is_none() => Some(json!(false)),
        Some(ReasoningControl::Effort) => {
            let level = match reasoning.effective_effort() {
                Some(ReasoningEffort::Minimal | ReasoningEffort::Low) => "low",
                Some(ReasoningEffort::High) => "high",
                _ => "medium",
            };
            Some(json!(level))
        }
        _ => Some(json!(true)),
    }
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
    /// The model's reasoning (thinking models asked to `think`).
    #[serde(default)]
    pub(super) thinking: Option<String>,
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

#[cfg(test)]
mod tests {
    use super::*;
    use agent_core::provider::{ContentPart, Message};

    fn request(prompt_bytes: usize) -> CompletionRequest {
        CompletionRequest::new(vec![Message::user("x".repeat(prompt_bytes))])
    }

    #[test]
    fn num_ctx_covers_prompt_and_output_rounded_to_a_power_of_two() {
        // 30 000 bytes ≈ 10 000 tokens + 4 096 output → 16 384.
        assert_eq!(num_ctx(&request(30_000), None), 16_384);
        let caps = ModelCapabilities::new(131_072, 8_192);
        // 150 000 bytes ≈ 50 000 tokens + 2 000 output → 65 536.
        assert_eq!(num_ctx(&request(150_000).with_max_tokens(2_000), Some(&caps)), 65_536);
    }

    #[test]
    fn num_ctx_is_capped_at_the_window_and_never_below_the_floor() {
        let small = ModelCapabilities::new(40_960, 8_192);
        assert_eq!(num_ctx(&request(600_000), Some(&small)), 40_960);
        assert_eq!(num_ctx(&request(600_000), None), UNKNOWN_MODEL_WINDOW);
        assert_eq!(num_ctx(&request(10), None), MIN_NUM_CTX);
    }

    #[test]
    fn num_ctx_counts_images() {
        let images = (0..10).map(|_| ContentPart::image_bytes("image/png", b"png")).collect();
        let req = CompletionRequest::new(vec![Message::with_parts(Role::User, images)]);
        // 10 images at 1 536 tokens + 4 096 output → 32 768 (capped at the unknown window).
        assert_eq!(num_ctx(&req, None), 32_768);
        assert_eq!(num_ctx(&request(10), None), MIN_NUM_CTX, "text alone stays at the floor");
    }
}
