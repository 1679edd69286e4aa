//! The OpenAI Chat Completions wire format: the request body sent and the response body read.

use agent_core::provider::{
    CompletionRequest, ContentPart, FinishReason, ImageSource, Message, ModelCapabilities, ReasoningControl, Role,
    StructuredOutputMode, TokenParam, ToolCall, Usage,
};
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::borrow::Cow;
use std::fmt;

/// The body of `POST /chat/completions`.
#[derive(Serialize)]
pub(super) struct ChatRequest<'a> {
    pub(super) model: &'a str,
    pub(super) messages: Vec<WireMessage<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) max_tokens: Option<u32>,
    /// The reasoning families' name for `max_tokens` (they refuse the old one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) max_completion_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) temperature: Option<f32>,
    /// `minimal` … `high`, for models whose capabilities say they take a reasoning effort.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) reasoning_effort: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) response_format: Option<WireResponseFormat<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) tools: Vec<WireTool<'a>>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(super) stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) stream_options: Option<StreamOptions>,
}

/// `stream_options` of a streamed request: ask for the final usage chunk.
#[derive(Serialize)]
pub(super) struct StreamOptions {
    include_usage: bool,
}

#[derive(Serialize)]
pub(super) struct WireMessage<'a> {
    role: Role,
    /// `null` for an assistant message that only calls tools.
    content: Option<WireContent<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<WireToolCall<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_call_id: Option<&'a str>,
}

/// A message's content: one string (every message without images, so the
/// request is byte for byte what it was before content parts), or an array
/// of `text` and `image_url` parts (a user message with images).
#[derive(Serialize)]
#[serde(untagged)]
enum WireContent<'a> {
    Text(Cow<'a, str>),
    Parts(Vec<WirePart<'a>>),
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WirePart<'a> {
    Text { text: &'a str },
    ImageUrl { image_url: WireImageUrl<'a> },
}

/// `{"url": "data:image/png;base64,…"}` or `{"url": "https://…"}`.
#[derive(Serialize)]
struct WireImageUrl<'a> {
    url: Cow<'a, str>,
}

/// `{"type":"function","function":{name,description,parameters}}`.
#[derive(Serialize)]
pub(super) struct WireTool<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    function: WireFunction<'a>,
}

#[derive(Serialize)]
struct WireFunction<'a> {
    name: &'a str,
    description: &'a str,
    parameters: &'a serde_json::Value,
}

/// An assistant message's tool call: `{"id","type":"function","function":{name,arguments}}`.
#[derive(Serialize)]
struct WireToolCall<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    function: WireCalledFunction<'a>,
}

#[derive(Serialize)]
struct WireCalledFunction<'a> {
    name: &'a str,
    arguments: &'a str,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum WireResponseFormat<'a> {
    JsonSchema {
        json_schema: WireJsonSchema<'a>,
    },
    /// Some JSON object; the schema is in the instructions.
    JsonObject,
}

#[derive(Serialize)]
pub(super) struct WireJsonSchema<'a> {
    name: &'a str,
    schema: &'a serde_json::Value,
    strict: bool,
}

impl<'a> ChatRequest<'a> {
    /// The body for `req`, shaped by `caps` (the model's capability table
    /// entry): a model whose entry names `max_completion_tokens` gets its
    /// output bound under that name, and one with a fixed temperature gets
    /// none sent (only the default is accepted, and leaving it out is the
    /// default); a model whose entry says it takes a reasoning effort gets
    /// `reasoning_effort` from the request's reasoning controls. A model
    /// without an entry is sent `max_tokens` and `temperature` as asked, and
    /// no reasoning effort.
    ///
    /// `mode` is how structured output is asked for, when the request has a
    /// `response_format`: `json_schema`, `json_object` (the caller has put
    /// the schema in the instructions), or not at all (instructions alone).
    pub(super) fn shaped(
        model: &'a str,
        req: &'a CompletionRequest,
        caps: Option<&ModelCapabilities>,
        mode: StructuredOutputMode,
    ) -> Self {
        let token_param = caps.map_or(TokenParam::MaxTokens, |c| c.token_param);
        let (max_tokens, max_completion_tokens) = match token_param {
            TokenParam::MaxCompletionTokens => (None, req.max_tokens),
            _ => (req.max_tokens, None),
        };
        let fixed_temperature = caps.is_some_and(|c| c.fixed_temperature);
        let takes_effort = caps.is_some_and(|c| c.reasoning == ReasoningControl::Effort);
        let reasoning_effort =
            req.reasoning.and_then(|r| r.effective_effort()).filter(|_| takes_effort).map(|e| e.as_str());
        let response_format = req.response_format.as_ref().and_then(|f| match mode {
            StructuredOutputMode::JsonSchema => Some(WireResponseFormat::JsonSchema {
                json_schema: WireJsonSchema { name: &f.name, schema: &f.schema, strict: false },
            }),
            StructuredOutputMode::JsonObject => Some(WireResponseFormat::JsonObject),
            _ => None,
        });
        Self {
            model,
            messages: req.messages.iter().map(WireMessage::new).collect(),
            max_tokens,
            max_completion_tokens,
            temperature: req.temperature.filter(|_| !fixed_temperature),
            reasoning_effort,
            response_format,
            tools: req
                .tools
                .iter()
                .map(|t| WireTool {
                    kind: "function",
                    function: WireFunction { name: &t.name, description: &t.description, parameters: &t.parameters },
                })
                .collect(),
            stream: false,
            stream_options: None,
        }
    }

    /// The same request, streamed, with the final usage chunk asked for.
    pub(super) fn streamed(mut self) -> Self {
        self.stream = true;
        self.stream_options = Some(StreamOptions { include_usage: true });
        self
    }
}

/// What in `req` Chat Completions cannot carry, as `(what, why)`: an image
/// to a model whose capabilities say it reads none, or an image outside a
/// user message (the wire carries images only there). Checked before
/// anything is sent.
pub(super) fn unsupported_part(req: &CompletionRequest, caps: Option<&ModelCapabilities>) -> Option<String> {
    for message in req.messages.iter().filter(|m| m.has_images()) {
        if caps.is_some_and(|c| !c.image_input) {
            return Some("the model does not read images (its capabilities say image_input: false)".to_owned());
        }
        if message.role != Role::User {
            return Some(format!(
                "Chat Completions carries images only in user messages, not in a {} message",
                role_name(message.role)
            ));
        }
    }
    None
}

pub(super) fn role_name(role: Role) -> &'static str {
    match role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        _ => "tool",
    }
}

/// An image as a URL: its own URL, or a `data:` URL of its bytes.
pub(crate) fn image_url<'a>(media_type: &str, source: &'a ImageSource) -> Cow<'a, str> {
    match source {
        ImageSource::Url(url) => Cow::Borrowed(url.as_str()),
        ImageSource::Base64(data) => Cow::Owned(format!("data:{media_type};base64,{data}")),
        // A source added to agent-core later: sent as its JSON, which the
        // server rejects with a message that names it.
        other => Cow::Owned(serde_json::to_string(other).unwrap_or_default()),
    }
}

impl<'a> WireMessage<'a> {
    /// The wire form of `m`. Reasoning parts are left out (Chat Completions
    /// takes no reasoning back: a compatible server's `reasoning_content` is
    /// not to be returned to it), and so are cache breakpoints (OpenAI
    /// caches prompt prefixes on its own) and empty text. A tool result's
    /// `is_error` has no field on this wire: its text is prefixed with
    /// `Error: ` unless it already says "error".
    fn new(m: &'a Message) -> Self {
        let content = if m.role == Role::Tool && m.is_error {
            Some(WireContent::Text(crate::native::flagged_tool_error(&m.content)))
        } else if m.parts.is_empty() || !m.has_images() {
            // Text only: the concatenated text, as before content parts.
            if m.content.is_empty() && !m.tool_calls.is_empty() {
                None
            } else {
                Some(WireContent::Text(Cow::Borrowed(&m.content)))
            }
        } else {
            let parts = m
                .parts
                .iter()
                .filter_map(|p| match p {
                    ContentPart::Text { text } if !text.is_empty() => Some(WirePart::Text { text }),
                    ContentPart::Image { media_type, source } => {
                        Some(WirePart::ImageUrl { image_url: WireImageUrl { url: image_url(media_type, source) } })
                    }
                    _ => None,
                })
                .collect();
            Some(WireContent::Parts(parts))
        };
        Self {
            role: m.role,
            content,
            tool_calls: m
                .tool_calls
                .iter()
                .map(|c| WireToolCall {
                    id: &c.id,
                    kind: "function",
                    function: WireCalledFunction { name: &c.name, arguments: &c.arguments },
                })
                .collect(),
            tool_call_id: m.tool_call_id.as_deref(),
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
    /// The readable reasoning of a compatible server (DeepSeek, llama.cpp).
    #[serde(default, deserialize_with = "lenient_text")]
    pub(super) reasoning_content: Option<String>,
    /// The same under the name other servers use (OpenRouter, vLLM, Ollama).
    #[serde(default, deserialize_with = "lenient_text")]
    pub(super) reasoning: Option<String>,
    #[serde(default)]
    pub(super) tool_calls: Option<Vec<ResponseToolCall>>,
}

/// A tool call of a whole (non-streamed) answer.
#[derive(Deserialize)]
pub(super) struct ResponseToolCall {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<FunctionPiece>,
}

impl ResponseToolCall {
    /// The call, with `call_{position}` as id when the server gave none and `{}` for empty arguments.
    pub(super) fn into_tool_call(self, position: usize) -> ToolCall {
        let function = self.function.unwrap_or_default();
        ToolCall::new(
            self.id.filter(|id| !id.is_empty()).unwrap_or_else(|| format!("call_{position}")),
            function.name.unwrap_or_default(),
            normalize_arguments(function.arguments.map(Arguments::into_text).unwrap_or_default()),
        )
    }
}

/// Empty arguments (a call of a tool without parameters) become `{}`.
pub(super) fn normalize_arguments(text: String) -> String {
    if text.trim().is_empty() { "{}".to_owned() } else { text }
}

/// `function` of a tool call or of a tool-call delta.
#[derive(Deserialize, Default)]
pub(super) struct FunctionPiece {
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) arguments: Option<Arguments>,
}

/// Tool-call arguments as sent: JSON text (the standard), or a JSON value
/// some gateways send instead (an object), serialized back to text here.
#[derive(Debug, PartialEq)]
pub(super) enum Arguments {
    /// A fragment of JSON text, to append.
    Text(String),
    /// A whole JSON value, serialized; it replaces what came before.
    Value(String),
}

impl Arguments {
    pub(super) fn into_text(self) -> String {
        match self {
            Self::Text(t) | Self::Value(t) => t,
        }
    }
}

impl<'de> Deserialize<'de> for Arguments {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ArgsVisitor;
        impl<'de> Visitor<'de> for ArgsVisitor {
            type Value = Arguments;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("tool-call arguments as JSON text or a JSON value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Arguments, E> {
                Ok(Arguments::Text(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Arguments, E> {
                Ok(Arguments::Text(v))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Arguments, E> {
                Ok(Arguments::Text(String::new()))
            }
            fn visit_none<E: de::Error>(self) -> Result<Arguments, E> {
                Ok(Arguments::Text(String::new()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Arguments, E> {
                Ok(Arguments::Value(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Arguments, E> {
                Ok(Arguments::Value(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Arguments, E> {
                Ok(Arguments::Value(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Arguments, E> {
                Ok(Arguments::Value(serde_json::Value::from(v).to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Arguments, A::Error> {
                let value = serde_json::Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(Arguments::Value(value.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Arguments, A::Error> {
                let value = serde_json::Value::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
                Ok(Arguments::Value(value.to_string()))
            }
        }
        deserializer.deserialize_any(ArgsVisitor)
    }
}

/// One `data:` event of a streamed chat completion (`chat.completion.chunk`),
/// or an `{"error":…}` event some servers send inside a 200 stream.
#[derive(Deserialize)]
pub(super) struct ChatChunk {
    #[serde(default)]
    pub(super) id: Option<String>,
    #[serde(default)]
    pub(super) model: Option<String>,
    #[serde(default)]
    pub(super) choices: Vec<ChunkChoice>,
    #[serde(default)]
    pub(super) usage: Option<WireUsage>,
    #[serde(default)]
    pub(super) error: Option<IgnoredAny>,
}

#[derive(Deserialize)]
pub(super) struct ChunkChoice {
    #[serde(default)]
    pub(super) index: u32,
    #[serde(default)]
    pub(super) delta: Option<ChunkDelta>,
    #[serde(default)]
    pub(super) finish_reason: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct ChunkDelta {
    #[serde(default)]
    pub(super) content: Option<String>,
    #[serde(default)]
    pub(super) refusal: Option<String>,
    /// A piece of readable reasoning (DeepSeek, llama.cpp).
    #[serde(default, deserialize_with = "lenient_text")]
    pub(super) reasoning_content: Option<String>,
    /// The same under the name other servers use (OpenRouter, vLLM, Ollama).
    #[serde(default, deserialize_with = "lenient_text")]
    pub(super) reasoning: Option<String>,
    #[serde(default)]
    pub(super) tool_calls: Option<Vec<ToolCallPiece>>,
}

/// A text field some servers fill with something else (an object, an array):
/// the text when it is a string, else nothing, so an odd value never fails
/// the whole chunk.
fn lenient_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::String(text) => Some(text),
        _ => None,
    })
}

/// A piece of a streamed tool call: the first usually has `id`, `type`,
/// `function.name` and `arguments: ""`; later ones `index` and an arguments fragment.
#[derive(Deserialize)]
pub(super) struct ToolCallPiece {
    #[serde(default)]
    pub(super) index: Option<u32>,
    #[serde(default)]
    pub(super) id: Option<String>,
    #[serde(default)]
    pub(super) function: Option<FunctionPiece>,
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
        Usage::new(self.prompt_tokens.unwrap_or(0), self.completion_tokens.unwrap_or(0))
            .with_cached_input(self.prompt_tokens_details.as_ref().and_then(|d| d.cached_tokens).unwrap_or(0))
            .with_reasoning(self.completion_tokens_details.as_ref().and_then(|d| d.reasoning_tokens).unwrap_or(0))
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
        /// The offending request field (`max_tokens`, `temperature`), when the error names one.
        #[serde(default)]
        param: Option<String>,
    },
    Text(String),
}
