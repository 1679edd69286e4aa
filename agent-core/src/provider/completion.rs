//! The data that crosses [`LlmProvider`](crate::LlmProvider): requests, completions, usage, streams.

use crate::budget::Usd;
use crate::provider::content::{ContentPart, Reasoning, ReasoningRequest};
use crate::provider::{ProviderError, ProviderId};
use futures::Stream;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::pin::Pin;

/// Who said a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Role {
    /// Instructions that frame the whole conversation.
    System,
    /// The host or the person driving the agent.
    User,
    /// The model.
    Assistant,
    /// The result of a tool call, answering an assistant message's tool call.
    Tool,
}

/// One message of a conversation.
///
/// Its content is [`parts`](Self::parts) when there are any (see
/// [`content`](crate::provider::ContentPart) parts), else the `content` text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Message {
    /// Who said it.
    pub role: Role,
    /// What was said: the text, or with parts the concatenation of the text parts.
    pub content: String,
    /// The content as parts in order (text, images, reasoning, cache
    /// breakpoints); empty for a plain-text message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<ContentPart>,
    /// Tool calls the assistant asked for in this message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// For a [`Role::Tool`] message: the id of the call it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// For a [`Role::Tool`] message: the tool failed, and the content says how.
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_error: bool,
}

impl Message {
    /// A message of `role` with plain text `content`.
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
            parts: Vec::new(),
            tool_calls: Vec::new(),
            tool_call_id: None,
            is_error: false,
        }
    }

    /// A message of `role` made of `parts`; `content` becomes the
    /// concatenation of the text parts.
    pub fn with_parts(role: Role, parts: Vec<ContentPart>) -> Self {
        let content = parts.iter().filter_map(ContentPart::as_text).collect::<String>();
        Self { parts, ..Self::new(role, content) }
    }

    /// The result of tool call `call_id`, as a `tool` message.
    pub fn tool_result(call_id: impl Into<String>, content: impl Into<String>) -> Self {
        Self { tool_call_id: Some(call_id.into()), ..Self::new(Role::Tool, content) }
    }

    /// The failure of tool call `call_id` (`is_error` set), as a `tool` message.
    pub fn tool_error(call_id: impl Into<String>, content: impl Into<String>) -> Self {
        Self { is_error: true, ..Self::tool_result(call_id, content) }
    }

    /// The assistant message that records `completion` in the history:
    /// its reasoning blocks (to be sent back unchanged), its text and its
    /// tool calls.
    pub fn from_completion(completion: &Completion) -> Self {
        Self::assistant_tool_calls(completion.content.clone(), completion.tool_calls.clone())
            .with_reasoning(completion.reasoning.clone())
    }

    /// With `reasoning` blocks first among the parts, as a model answers
    /// them (nothing changes when there are none).
    pub fn with_reasoning(mut self, reasoning: Vec<Reasoning>) -> Self {
        if reasoning.is_empty() {
            return self;
        }
        let rest = std::mem::take(&mut self.parts);
        let text = (rest.is_empty() && !self.content.is_empty()).then(|| ContentPart::text(self.content.clone()));
        self.parts = reasoning.into_iter().map(ContentPart::Reasoning).chain(text).chain(rest).collect();
        self
    }

    /// The content as parts: [`parts`](Self::parts) when there are any, else
    /// one text part (none for empty content).
    pub fn content_parts(&self) -> Cow<'_, [ContentPart]> {
        if !self.parts.is_empty() {
            Cow::Borrowed(&self.parts)
        } else if self.content.is_empty() {
            Cow::Borrowed(&[])
        } else {
            Cow::Owned(vec![ContentPart::text(self.content.clone())])
        }
    }

    /// Appends a part (a plain-text message first becomes one text part);
    /// `content` stays the concatenation of the text parts.
    pub fn push_part(&mut self, part: ContentPart) {
        if self.parts.is_empty() && !self.content.is_empty() {
            self.parts.push(ContentPart::text(self.content.clone()));
        }
        if let Some(text) = part.as_text() {
            self.content.push_str(text);
        }
        self.parts.push(part);
    }

    /// With a cache breakpoint after everything so far.
    pub fn with_cache_breakpoint(mut self) -> Self {
        self.push_part(ContentPart::CacheBreakpoint);
        self
    }

    /// Whether a cache breakpoint ends this message (is its last part).
    pub fn ends_with_cache_breakpoint(&self) -> bool {
        matches!(self.parts.last(), Some(ContentPart::CacheBreakpoint))
    }

    /// The reasoning blocks among the parts.
    pub fn reasoning(&self) -> impl Iterator<Item = &Reasoning> {
        self.parts.iter().filter_map(|p| match p {
            ContentPart::Reasoning(r) => Some(r),
            _ => None,
        })
    }

    /// Whether any part is an image.
    pub fn has_images(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, ContentPart::Image { .. }))
    }

    /// An assistant message that asked for tool calls.
    pub fn assistant_tool_calls(content: impl Into<String>, calls: Vec<ToolCall>) -> Self {
        Self { tool_calls: calls, ..Self::new(Role::Assistant, content) }
    }

    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Self::new(Role::System, content)
    }
    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self::new(Role::User, content)
    }
    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new(Role::Assistant, content)
    }
}

/// A tool the model may call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ToolSpec {
    /// The tool's name.
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// JSON schema of its arguments (an object schema).
    pub parameters: serde_json::Value,
}

/// A tool call the model asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct ToolCall {
    /// The provider's id of the call (generated when the provider gives none).
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The arguments as JSON text, assembled whole (a JSON object when well formed).
    pub arguments: String,
    /// An opaque signature the provider attached to the call (Gemini's
    /// `thoughtSignature`), sent back unchanged with the call in the history
    /// of later requests; the provider rejects the next turn without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

impl ToolCall {
    /// A call of tool `name` with `arguments` (JSON text), under the provider's `id`.
    pub fn new(id: impl Into<String>, name: impl Into<String>, arguments: impl Into<String>) -> Self {
        Self { id: id.into(), name: name.into(), arguments: arguments.into(), signature: None }
    }

    /// Sets the provider's opaque signature of the call (see [`signature`](Self::signature)).
    pub fn with_signature(mut self, signature: Option<String>) -> Self {
        self.signature = signature;
        self
    }

    /// The arguments parsed as JSON.
    pub fn parsed_arguments(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_str(&self.arguments)
    }
}

/// Asks the model to answer JSON matching a schema (OpenAI `response_format: json_schema`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ResponseFormat {
    /// A short name for the schema (letters, digits, `_`, `-`).
    pub name: String,
    /// The JSON schema the answer must match.
    pub schema: serde_json::Value,
}

/// One request for a completion. Providers map it to their wire format.
///
/// Everything that changes the model's answer is in here, so a hash of its
/// canonical JSON identifies the request (record/replay relies on this).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct CompletionRequest {
    /// The conversation, oldest first.
    pub messages: Vec<Message>,
    /// Upper bound on generated tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// Structured output: the answer must be JSON matching this schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<ResponseFormat>,
    /// Tools the model may call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolSpec>,
    /// How much a reasoning model should think (mapped per provider).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<ReasoningRequest>,
    /// Fields merged into the provider's JSON body as they are (an escape
    /// hatch for parameters this library does not model); they override
    /// the fields the provider would send.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub extra_body: serde_json::Map<String, serde_json::Value>,
    /// HTTP headers added to this request. Never serialised: they stay out
    /// of request hashes, cassettes and the journal (they may hold secrets).
    #[serde(skip)]
    #[schemars(skip)]
    pub extra_headers: Vec<(String, String)>,
}

impl CompletionRequest {
    /// A request with these messages and no other settings.
    pub fn new(messages: Vec<Message>) -> Self {
        Self { messages, ..Self::default() }
    }

    /// Sets the upper bound on generated tokens.
    pub fn with_max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = Some(max_tokens);
        self
    }

    /// Sets the sampling temperature.
    pub fn with_temperature(mut self, temperature: f32) -> Self {
        self.temperature = Some(temperature);
        self
    }

    /// Offers tools to the model.
    pub fn with_tools(mut self, tools: Vec<ToolSpec>) -> Self {
        self.tools = tools;
        self
    }

    /// Asks for JSON matching `schema`.
    pub fn with_response_format(mut self, name: impl Into<String>, schema: serde_json::Value) -> Self {
        self.response_format = Some(ResponseFormat { name: name.into(), schema });
        self
    }

    /// Sets the reasoning controls.
    pub fn with_reasoning(mut self, reasoning: ReasoningRequest) -> Self {
        self.reasoning = Some(reasoning);
        self
    }

    /// Adds a field to merge into the provider's JSON body.
    pub fn with_extra_body(mut self, key: impl Into<String>, value: serde_json::Value) -> Self {
        self.extra_body.insert(key.into(), value);
        self
    }

    /// Adds an HTTP header to this request (kept out of hashes and records).
    pub fn with_extra_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra_headers.push((name.into(), value.into()));
        self
    }
}

/// Token counts of one call, normalised across providers.
///
/// `input_tokens` counts every prompt token, cached ones included;
/// `cached_input_tokens` is the part of it served from a prompt cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Usage {
    /// Prompt tokens, cached ones included.
    pub input_tokens: u64,
    /// Generated tokens, reasoning tokens included.
    pub output_tokens: u64,
    /// Prompt tokens read from a cache (a subset of `input_tokens`).
    #[serde(default)]
    pub cached_input_tokens: u64,
    /// Generated tokens spent on hidden reasoning (a subset of `output_tokens`).
    #[serde(default)]
    pub reasoning_tokens: u64,
    /// Prompt tokens written to a cache (a subset of `input_tokens`; Anthropic bills them apart).
    #[serde(default)]
    pub cache_write_input_tokens: u64,
    /// The counts are an estimate made by this library (the server reported
    /// no usage), not the provider's own count.
    #[serde(default, skip_serializing_if = "is_false")]
    pub estimated: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Usage {
    /// `input` prompt tokens and `output` generated tokens, nothing cached.
    pub fn new(input: u64, output: u64) -> Self {
        Self { input_tokens: input, output_tokens: output, ..Self::default() }
    }

    /// With `n` of the prompt tokens read from a cache.
    pub fn with_cached_input(mut self, n: u64) -> Self {
        self.cached_input_tokens = n;
        self
    }

    /// With `n` of the prompt tokens written to a cache.
    pub fn with_cache_write_input(mut self, n: u64) -> Self {
        self.cache_write_input_tokens = n;
        self
    }

    /// With `n` of the generated tokens spent on reasoning.
    pub fn with_reasoning(mut self, n: u64) -> Self {
        self.reasoning_tokens = n;
        self
    }

    /// Marks the counts as an estimate (see [`estimated`](Self::estimated)).
    pub fn as_estimate(mut self) -> Self {
        self.estimated = true;
        self
    }

    /// Input plus output tokens.
    pub fn total(&self) -> u64 {
        self.input_tokens + self.output_tokens
    }

    /// Adds another call's usage to this one.
    pub fn add(&mut self, other: &Usage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cached_input_tokens += other.cached_input_tokens;
        self.reasoning_tokens += other.reasoning_tokens;
        self.cache_write_input_tokens += other.cache_write_input_tokens;
        self.estimated |= other.estimated;
    }
}

/// Why the model stopped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FinishReason {
    /// A natural end of the answer.
    Stop,
    /// The token limit was reached: the answer is cut.
    Length,
    /// The model asked for tool calls.
    ToolCalls,
    /// The provider's content filter stopped the answer.
    ContentFilter,
    /// A reason this library does not know, as the provider wrote it.
    Other(String),
}

/// A finished completion.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Completion {
    /// The provider (and model) that answered.
    pub provider: ProviderId,
    /// The model name the provider reported, when it reported one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The answer text.
    pub content: String,
    /// Reasoning blocks the model returned, in order, to be sent back with
    /// the history ([`Message::from_completion`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasoning: Vec<Reasoning>,
    /// Tool calls the model asked for, assembled whole.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// Why the model stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<FinishReason>,
    /// Token counts.
    pub usage: Usage,
    /// Cost in US dollars, when the price of the model is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<Usd>,
    /// The provider's request id, for support tickets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl Completion {
    /// A completion with this text and no usage, cost or ids.
    pub fn new(provider: ProviderId, content: impl Into<String>) -> Self {
        Self {
            provider,
            model: None,
            content: content.into(),
            reasoning: Vec::new(),
            tool_calls: Vec::new(),
            finish_reason: Some(FinishReason::Stop),
            usage: Usage::default(),
            cost_usd: None,
            request_id: None,
        }
    }

    /// Sets the usage.
    pub fn with_usage(mut self, usage: Usage) -> Self {
        self.usage = usage;
        self
    }

    /// Sets the model name the provider reported.
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// Sets why the model stopped.
    pub fn with_finish_reason(mut self, reason: Option<FinishReason>) -> Self {
        self.finish_reason = reason;
        self
    }

    /// Sets the provider's request id.
    pub fn with_request_id(mut self, request_id: Option<String>) -> Self {
        self.request_id = request_id;
        self
    }

    /// Sets the cost in US dollars.
    pub fn with_cost(mut self, cost_usd: Option<Usd>) -> Self {
        self.cost_usd = cost_usd;
        self
    }

    /// Sets the reasoning blocks.
    pub fn with_reasoning(mut self, reasoning: Vec<Reasoning>) -> Self {
        self.reasoning = reasoning;
        self
    }
}

/// One item of a streamed completion.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum StreamEvent {
    /// A piece of answer text.
    Delta {
        /// The text to append.
        text: String,
    },
    /// A piece of a tool call's arguments, as the provider streamed it.
    ToolCallDelta {
        /// The call's position among this answer's calls.
        index: u32,
        /// The call's id, when this piece carries it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// The tool's name, when this piece carries it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// Argument text to append.
        arguments: String,
    },
    /// A piece of the model's readable reasoning (progress while it thinks).
    ReasoningDelta {
        /// The reasoning text to append (may be empty: a keep-alive of a
        /// model thinking without showing its thoughts).
        text: String,
    },
    /// The terminal event: the whole completion, as `complete` would have returned it.
    Done {
        /// The assembled completion.
        completion: Completion,
    },
}

/// A stream of completion events; ends with [`StreamEvent::Done`] or an error.
pub type CompletionStream = Pin<Box<dyn Stream<Item = Result<StreamEvent, ProviderError>> + Send>>;

/// A stream that yields the completion's text as one delta, then `Done`.
///
/// For providers (and layers such as replay) that only have whole answers.
pub fn stream_from_completion(completion: Completion) -> CompletionStream {
    let events =
        vec![Ok(StreamEvent::Delta { text: completion.content.clone() }), Ok(StreamEvent::Done { completion })];
    Box::pin(futures::stream::iter(events))
}
