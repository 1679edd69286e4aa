//! [`AnthropicProvider`]: the Anthropic Messages API (`POST {base}/v1/messages`),
//! whole and streamed (server-sent events).
//!
//! Mapping from [`CompletionRequest`]:
//! - system messages are joined into the top-level `system` prompt;
//! - tools become `tools[{name, description, input_schema}]`; an assistant
//!   message's tool calls become `tool_use` blocks and tool messages
//!   `tool_result` blocks in a user turn;
//! - `response_format` has no native field: an instruction naming the schema
//!   and giving it in full is appended to the system prompt, so the answer is
//!   JSON by instruction, not by constraint;
//! - `max_tokens` is required by the API: [`DEFAULT_MAX_TOKENS`] when unset.
//!
//! Usage is normalised: Anthropic's `input_tokens` excludes cache reads and
//! writes, so [`Usage::input_tokens`](agent_core::provider::Usage) is the sum of all
//! three, with the reads in `cached_input_tokens` and the writes in
//! `cache_write_input_tokens`.
//!
//! ```no_run
//! use agent_core::provider::{CompletionRequest, Message};
//! use agent_core::LlmProvider;
//! use agent_providers::AnthropicProvider;
//!
//! # async fn demo() -> Result<(), agent_core::provider::ProviderError> {
//! let provider = AnthropicProvider::from_env("claude-sonnet-4-5", None);
//! let answer = provider.complete(CompletionRequest::new(vec![Message::user("Say hi")])).await?;
//! println!("{} ({} tokens, ${:?})", answer.content, answer.usage.total(), answer.cost_usd);
//! # Ok(()) }
//! ```

// `ProviderError` is agent-core's error type, returned unboxed across the crate.
#![allow(clippy::result_large_err)]

mod error;
mod wire;

use crate::native::{self, CallContext, Frame, Framing, StreamDecoder};
use crate::pricing;
use agent_core::budget::Usd;
use agent_core::provider::{
    Completion, CompletionRequest, CompletionStream, FinishReason, ProviderError, ProviderErrorKind, ProviderId,
    StreamEvent, ToolCall,
};
use agent_core::{LlmProvider, async_trait};
use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, SystemTime};
use wire::{BlockDelta, ContentBlock, MessagesRequest, MessagesResponse, StreamFrame, WireUsage};

/// `max_tokens` is required by the Messages API; this is sent when the request sets none.
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

/// The base URL used when none is given.
pub const DEFAULT_ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com";

/// The `anthropic-version` header sent with every request.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// How long a call may take by default: the whole call for `complete`; the
/// wait for the headers and then for each event for `stream`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// An [`LlmProvider`] speaking the Anthropic Messages API.
///
/// Sends `x-api-key` (only when a key is set) and `anthropic-version`. The key
/// is never logged and never shown by `Debug`. Errors are classified from the
/// status, the error body and the headers; every error keeps the status, the
/// `request-id` (header, else the body's `request_id`) and the raw body. An
/// `error` event inside a stream is classified like the HTTP error its
/// `error.type` stands for (keeping status 200), and a stream that ends before
/// `message_stop` is an error, never a short answer.
#[derive(Clone)]
pub struct AnthropicProvider {
    id: ProviderId,
    model: String,
    base_url: String,
    api_key: Option<String>,
    timeout: Duration,
    client: reqwest::Client,
}

impl fmt::Debug for AnthropicProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnthropicProvider")
            .field("id", &self.id)
            .field("model", &self.model)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl AnthropicProvider {
    /// A provider for `model` at the default base URL, with no API key and the default timeout.
    pub fn new(model: impl Into<String>) -> Self {
        let model = model.into();
        Self {
            id: ProviderId::new(format!("anthropic:{model}")),
            model,
            base_url: DEFAULT_ANTHROPIC_BASE_URL.to_owned(),
            api_key: None,
            timeout: DEFAULT_TIMEOUT,
            client: reqwest::Client::new(),
        }
    }

    /// A provider configured from the environment: the key from `ANTHROPIC_API_KEY`,
    /// the base URL from `base_url` if given, else `ANTHROPIC_BASE_URL`, else the default.
    pub fn from_env(model: impl Into<String>, base_url: Option<String>) -> Self {
        Self::from_lookup(model, base_url, &|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env) with the variables read through `env`.
    pub(crate) fn from_lookup(
        model: impl Into<String>,
        base_url: Option<String>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Self {
        let non_empty = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
        let mut provider = Self::new(model).with_api_key(non_empty(env("ANTHROPIC_API_KEY")));
        if let Some(url) = non_empty(base_url).or_else(|| non_empty(env("ANTHROPIC_BASE_URL"))) {
            provider = provider.with_base_url(url);
        }
        provider
    }

    /// Sets the base URL (the part before `/v1/messages`, e.g. `https://api.anthropic.com`).
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into().trim_end_matches('/').to_owned();
        self
    }

    /// Sets or clears the API key sent as `x-api-key`.
    pub fn with_api_key(mut self, api_key: Option<String>) -> Self {
        self.api_key = api_key;
        self
    }

    /// Sets the timeout (see [`DEFAULT_TIMEOUT`]); when it passes the call fails
    /// with [`ProviderErrorKind::Timeout`].
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The model sent on the wire.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    fn context(&self) -> CallContext<'_> {
        CallContext { id: &self.id, timeout: self.timeout, request_id_header: "request-id", classify: error::classify }
    }

    fn request(&self, req: &CompletionRequest, stream: bool) -> reqwest::RequestBuilder {
        let mut builder = self
            .client
            .post(format!("{}/v1/messages", self.base_url))
            .header("anthropic-version", ANTHROPIC_VERSION)
            .json(&MessagesRequest::new(&self.model, req, stream));
        if let Some(key) = &self.api_key {
            builder = builder.header("x-api-key", key);
        }
        builder
    }

    async fn call(&self, req: &CompletionRequest) -> Result<Completion, ProviderError> {
        let cx = self.context();
        let (status, request_id, body) = cx.send_for_body(self.request(req, false)).await?;
        let parsed: MessagesResponse = cx.parse_body(status, request_id.as_ref(), &body, "an Anthropic message")?;
        let mut content = String::new();
        let mut tool_calls = Vec::new();
        for block in parsed.content {
            match block {
                ContentBlock::Text { text } => content.push_str(&text),
                ContentBlock::ToolUse { id, name, input } => {
                    let arguments = if input.is_null() { "{}".to_owned() } else { input.to_string() };
                    tool_calls.push(ToolCall::new(id, name, arguments));
                }
                ContentBlock::Other => {}
            }
        }
        let usage = parsed.usage.to_usage();
        let mut completion = Completion::new(self.id.clone(), content)
            .with_usage(usage)
            .with_cost(cost(parsed.model.as_deref(), &self.model, &usage))
            .with_finish_reason(parsed.stop_reason.as_deref().map(wire::finish_reason))
            .with_request_id(request_id.or(parsed.id));
        completion.model = parsed.model;
        completion.tool_calls = tool_calls;
        Ok(completion)
    }
}

fn cost(reported: Option<&str>, configured: &str, usage: &agent_core::provider::Usage) -> Option<Usd> {
    reported.and_then(|m| pricing::cost_usd(m, usage)).or_else(|| pricing::cost_usd(configured, usage))
}

#[async_trait]
impl LlmProvider for AnthropicProvider {
    fn id(&self) -> &ProviderId {
        &self.id
    }

    async fn complete(&self, req: CompletionRequest) -> Result<Completion, ProviderError> {
        native::traced("anthropic", &self.model, &req, self.call(&req)).await
    }

    async fn stream(&self, req: CompletionRequest) -> Result<CompletionStream, ProviderError> {
        let decoder = Decoder::new(self.id.clone(), self.model.clone());
        self.context().send_for_stream(self.request(&req, true), Framing::Sse, decoder).await
    }
}

/// Assembles a streamed message from its events.
struct Decoder {
    id: ProviderId,
    configured_model: String,
    message_id: Option<String>,
    model: Option<String>,
    text: String,
    tool_calls: Vec<ToolCall>,
    /// Content-block index → position in `tool_calls`.
    call_of_block: HashMap<u32, usize>,
    usage: WireUsage,
    stop_reason: Option<String>,
    stopped: bool,
}

impl Decoder {
    fn new(id: ProviderId, configured_model: String) -> Self {
        Self {
            id,
            configured_model,
            message_id: None,
            model: None,
            text: String::new(),
            tool_calls: Vec::new(),
            call_of_block: HashMap::new(),
            usage: WireUsage::default(),
            stop_reason: None,
            stopped: false,
        }
    }

    fn error(&self, kind: ProviderErrorKind, message: impl Into<String>) -> ProviderError {
        ProviderError::new(kind, self.id.clone(), message)
    }
}

impl StreamDecoder for Decoder {
    fn frame(&mut self, frame: &Frame, out: &mut Vec<StreamEvent>) -> Result<bool, ProviderError> {
        let unparseable = |e: serde_json::Error| {
            self.error(ProviderErrorKind::Unparseable, format!("malformed {:?} event: {e}", frame.name))
                .with_raw_body(frame.data.clone())
        };
        let parsed: StreamFrame = serde_json::from_str(&frame.data).map_err(unparseable)?;
        match parsed {
            StreamFrame::MessageStart { message } => {
                self.message_id = message.id;
                self.model = message.model;
                self.usage.update(&message.usage);
            }
            StreamFrame::ContentBlockStart { index, content_block } => match content_block {
                ContentBlock::Text { text } => {
                    if !text.is_empty() {
                        self.text.push_str(&text);
                        out.push(StreamEvent::Delta { text });
                    }
                }
                ContentBlock::ToolUse { id, name, input } => {
                    // The input is normally `{}` and arrives in `input_json_delta`s;
                    // some gateways send it whole here instead.
                    let arguments = match &input {
                        serde_json::Value::Object(map) if !map.is_empty() => input.to_string(),
                        _ => String::new(),
                    };
                    let position = self.tool_calls.len();
                    self.call_of_block.insert(index, position);
                    out.push(StreamEvent::ToolCallDelta {
                        index: u32::try_from(position).unwrap_or(u32::MAX),
                        id: Some(id.clone()),
                        name: Some(name.clone()),
                        arguments: arguments.clone(),
                    });
                    self.tool_calls.push(ToolCall::new(id, name, arguments));
                }
                ContentBlock::Other => {}
            },
            StreamFrame::ContentBlockDelta { index, delta } => match delta {
                BlockDelta::TextDelta { text } => {
                    self.text.push_str(&text);
                    out.push(StreamEvent::Delta { text });
                }
                BlockDelta::InputJsonDelta { partial_json } => {
                    let Some(&position) = self.call_of_block.get(&index) else {
                        return Err(self
                            .error(
                                ProviderErrorKind::Unparseable,
                                format!("input_json_delta for block {index}, which is not a tool_use block"),
                            )
                            .with_raw_body(frame.data.clone()));
                    };
                    self.tool_calls[position].arguments.push_str(&partial_json);
                    out.push(StreamEvent::ToolCallDelta {
                        index: u32::try_from(position).unwrap_or(u32::MAX),
                        id: None,
                        name: None,
                        arguments: partial_json,
                    });
                }
                BlockDelta::Other => {}
            },
            StreamFrame::ContentBlockStop {} | StreamFrame::Ping | StreamFrame::Unknown => {}
            StreamFrame::MessageDelta { delta, usage } => {
                if delta.stop_reason.is_some() {
                    self.stop_reason = delta.stop_reason;
                }
                self.usage.update(&usage);
            }
            StreamFrame::MessageStop => {
                self.stopped = true;
                return Ok(true);
            }
            StreamFrame::Error {} => {
                let envelope = wire::ErrorEnvelope::parse(&frame.data);
                let status = error::status_for_error_type(envelope.error.kind.as_deref().unwrap_or_default());
                let classified =
                    error::classify(status, &reqwest::header::HeaderMap::new(), &frame.data, SystemTime::now());
                return Err(self
                    .error(classified.kind, format!("error event in the stream: {}", classified.message))
                    .with_request_id(envelope.request_id)
                    .with_raw_body(frame.data.clone()));
            }
        }
        Ok(false)
    }

    fn finish(&mut self) -> Result<Completion, ProviderError> {
        if !self.stopped {
            return Err(self.error(
                ProviderErrorKind::Transport,
                "the stream ended before message_stop: the answer is incomplete",
            ));
        }
        for call in &mut self.tool_calls {
            if call.arguments.trim().is_empty() {
                call.arguments = "{}".to_owned();
            }
        }
        let usage = self.usage.to_usage();
        let mut completion = Completion::new(self.id.clone(), std::mem::take(&mut self.text))
            .with_usage(usage)
            .with_cost(cost(self.model.as_deref(), &self.configured_model, &usage))
            .with_finish_reason(self.stop_reason.as_deref().map(wire::finish_reason).or(Some(FinishReason::Stop)))
            .with_request_id(self.message_id.take());
        completion.model = self.model.take();
        completion.tool_calls = std::mem::take(&mut self.tool_calls);
        Ok(completion)
    }
}
