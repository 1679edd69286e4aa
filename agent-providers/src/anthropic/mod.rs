//! [`AnthropicProvider`]: the Anthropic Messages API (`POST {base}/v1/messages`),
//! whole and streamed (server-sent events).
//!
//! Mapping from [`CompletionRequest`]:
//! - system messages become the top-level `system` prompt (a string, or text
//!   blocks when a cache breakpoint is on it); an image there is
//!   [`Unsupported`](ProviderErrorKind::Unsupported) (`image_in_system`);
//! - user messages become `text` and `image` blocks (`base64` or `url`
//!   sources; a `data:` URL is sent as its base64 bytes). An image to a model
//!   whose known capabilities say it takes no image input is `Unsupported`
//!   (`image_input`) before anything is sent;
//! - an assistant message's reasoning parts made by this wire (origin
//!   `anthropic`) go first, unchanged: `thinking` with its `signature`, or
//!   `redacted_thinking` with its `data` (a reasoning part with empty text and
//!   `encrypted` set). Reasoning of other wires, and unsigned thinking (which
//!   Anthropic refuses), is left out. Then its text, then its tool calls as
//!   `tool_use` blocks;
//! - tool messages become `tool_result` blocks in a user turn, with
//!   `is_error: true` for a failed tool, and text content (or text and image
//!   blocks when the result has images);
//! - empty text is never sent: no empty text block (an assistant message with
//!   only tool calls has none), no empty `system`, no message without blocks;
//! - tools become `tools[{name, description, input_schema}]`.
//!
//! Caching: a [`ContentPart::CacheBreakpoint`](agent_core::provider::ContentPart)
//! puts `cache_control: {"type": "ephemeral"}` on the block before it
//! (thinking blocks, which cannot carry it, are skipped back over). Unless
//! switched off with [`AnthropicProvider::with_auto_cache`], breakpoints are
//! also placed automatically, in this order of preference: the last user
//! turn (the conversation so far), the user turn before it (what the previous
//! call wrote, so this call reads it), the end of the system prompt, the last
//! tool definition. There are never more than four (Anthropic's limit):
//! explicit ones first (the last four if there are more), then the automatic
//! ones while room is left.
//!
//! Extended thinking: [`CompletionRequest::reasoning`] becomes
//! `thinking: {"type": "enabled", "budget_tokens": N}`, N being
//! [`effective_budget`](agent_core::provider::ReasoningRequest::effective_budget)
//! and at least 1,024. `max_tokens` is raised above the budget when needed
//! (budget plus the requested answer length, within the model's output
//! limit), and `temperature` is not sent (Anthropic refuses it with
//! thinking). A request for reasoning is ignored for a model whose known
//! capabilities have no reasoning control (`claude-3-5-haiku`); a model the
//! capability table does not know gets it, and refuses it with a 400 that is
//! classed `Unsupported` if it cannot think.
//!
//! Structured output: `response_format` becomes a tool named after the schema
//! (a non-object schema sits under the property `value`), forced with
//! `tool_choice: {"type": "tool", "name": …}` (`{"type": "any"}` when the
//! request has tools of its own, so the model either calls one of them or
//! answers). The tool's input is the completion's content, as JSON text, and
//! the call is not among its tool calls. With extended thinking, which
//! Anthropic allows with `tool_choice: auto` only, the model is asked in the
//! system prompt to answer with the tool; a text answer is then the content.
//!
//! `max_tokens` is required by the API: the request's, else the model's
//! output limit from the capability table, else [`DEFAULT_MAX_TOKENS`].
//!
//! Responses: `thinking` and `redacted_thinking` blocks become
//! [`Completion::reasoning`] (origin `anthropic`), whole or streamed
//! (`thinking_delta`, `signature_delta`); a streamed thinking delta is a
//! [`StreamEvent::ReasoningDelta`](agent_core::provider::StreamEvent).
//! Usage is normalised: Anthropic's `input_tokens` excludes cache reads and
//! writes, so [`Usage::input_tokens`](agent_core::provider::Usage) is the sum of all
//! three, with the reads in `cached_input_tokens` and the writes in
//! `cache_write_input_tokens`; the cost prices each at its own rate, under
//! the reported (dated) model name or the configured one.
//!
//! ```no_run
//! use agent_core::provider::{CompletionRequest, Message, ReasoningRequest};
//! use agent_core::LlmProvider;
//! use agent_providers::AnthropicProvider;
//!
//! # async fn demo() -> Result<(), agent_core::provider::ProviderError> {
//! let provider = AnthropicProvider::from_env("claude-sonnet-4-5", None);
//! let req = CompletionRequest::new(vec![Message::system("Be brief."), Message::user("Say hi")])
//!     .with_reasoning(ReasoningRequest::budget(2_048));
//! let answer = provider.complete(req).await?;
//! println!("{} ({} tokens, ${:?})", answer.content, answer.usage.total(), answer.cost_usd);
//! // The history keeps the thinking, sent back unchanged next turn.
//! let history = Message::from_completion(&answer);
//! # let _ = history;
//! # Ok(()) }
//! ```

mod error;
mod request;
mod stream;
mod wire;

use crate::capabilities::CapabilityTable;
use crate::http_options::HttpOptions;
use crate::native::{self, CallContext, Framing};
use crate::pricing;
use crate::spec::ProviderKind;
use agent_core::budget::Usd;
use agent_core::provider::{
    Completion, CompletionRequest, CompletionStream, FinishReason, ModelCapabilities, ProviderError, ProviderErrorKind,
    ProviderId, Reasoning, ToolCall, Usage,
};
use agent_core::{LlmProvider, async_trait};
use request::{AnswerTool, Shape};
use std::fmt;
use std::time::Duration;
use wire::{ContentBlock, MessagesResponse, WireUsage};

/// `max_tokens` is required by the Messages API; this is sent when neither the
/// request nor the model's capabilities give one.
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

/// The base URL used when none is given.
pub const DEFAULT_ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com";

/// The `anthropic-version` header sent with every request.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// How long a call may take by default: the whole call for `complete`; the
/// wait for the headers and then for each event for `stream`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// The [`Reasoning::origin`] of the reasoning blocks this provider returns
/// and sends back.
pub const ORIGIN: &str = "anthropic";

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
    capabilities: Option<ModelCapabilities>,
    http: HttpOptions,
    auto_cache: bool,
}

impl fmt::Debug for AnthropicProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnthropicProvider")
            .field("id", &self.id)
            .field("model", &self.model)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("auto_cache", &self.auto_cache)
            .field("http", &self.http)
            .finish_non_exhaustive()
    }
}

impl AnthropicProvider {
    /// A provider for `model` at the default base URL, with no API key, the
    /// default timeout, the model's capabilities from the shipped
    /// [`CapabilityTable`] and automatic cache breakpoints on.
    pub fn new(model: impl Into<String>) -> Self {
        let model = model.into();
        let capabilities = CapabilityTable::shipped().lookup(ProviderKind::Anthropic, &model).cloned();
        Self {
            id: ProviderId::new(format!("anthropic:{model}")),
            model,
            base_url: DEFAULT_ANTHROPIC_BASE_URL.to_owned(),
            api_key: None,
            timeout: DEFAULT_TIMEOUT,
            client: reqwest::Client::new(),
            capabilities,
            http: HttpOptions::default(),
            auto_cache: true,
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

    /// Sets what the model can do, in place of the shipped
    /// [`CapabilityTable`] entry (a host's own table, or a model the table
    /// does not know): the default `max_tokens`, whether images and extended
    /// thinking are sent, come from it.
    pub fn with_capabilities(mut self, capabilities: ModelCapabilities) -> Self {
        self.capabilities = Some(capabilities);
        self
    }

    /// What the model can do, when known (from the shipped capability table
    /// unless set with [`with_capabilities`](Self::with_capabilities)).
    pub fn capabilities(&self) -> Option<&ModelCapabilities> {
        self.capabilities.as_ref()
    }

    /// Sets the HTTP escape hatches: an injected client, headers added to
    /// every request, fields merged into every body (see [`HttpOptions`]).
    pub fn with_http_options(mut self, http: HttpOptions) -> Self {
        self.http = http;
        self
    }

    /// Switches the automatic cache breakpoints on (the default) or off (see
    /// the [module docs](self)); explicit breakpoints are placed either way.
    pub fn with_auto_cache(mut self, enabled: bool) -> Self {
        self.auto_cache = enabled;
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

    /// The HTTP request for `req`, and the tool that carries a structured
    /// answer; fails before sending when the request cannot be sent to this model.
    fn request(
        &self,
        req: &CompletionRequest,
        stream: bool,
    ) -> Result<(reqwest::RequestBuilder, Option<AnswerTool>), ProviderError> {
        let shape = Shape { model: &self.model, caps: self.capabilities.as_ref(), auto_cache: self.auto_cache, stream };
        let built = request::build(req, &shape)
            .map_err(|refused| ProviderError::new(refused.kind, self.id.clone(), refused.message))?;
        let mut body = built.body;
        self.http.merge_body(&mut body, req);
        let mut builder = self
            .http
            .client_or(&self.client)
            .post(format!("{}/v1/messages", self.base_url))
            .header("anthropic-version", ANTHROPIC_VERSION);
        if let Some(key) = &self.api_key {
            builder = builder.header("x-api-key", key);
        }
        let builder = self
            .http
            .apply_headers(builder, req)
            .map_err(|e| ProviderError::new(ProviderErrorKind::InvalidRequest, self.id.clone(), e.to_string()))?;
        Ok((builder.json(&body), built.answer))
    }

    async fn call(&self, req: &CompletionRequest) -> Result<Completion, ProviderError> {
        let (builder, answer_tool) = self.request(req, false)?;
        let cx = self.context();
        let (status, request_id, body) = cx.send_for_body(builder).await?;
        let parsed: MessagesResponse = cx.parse_body(status, request_id.as_ref(), &body, "an Anthropic message")?;
        let mut answer = Answer::default();
        for block in parsed.content {
            match block {
                ContentBlock::Text { text } => answer.text.push_str(&text),
                ContentBlock::ToolUse { id, name, input } => match &answer_tool {
                    Some(tool) if tool.name == name => answer.structured = Some(tool.answer_from_input(&input)),
                    _ => {
                        let arguments = if input.is_null() { "{}".to_owned() } else { input.to_string() };
                        answer.tool_calls.push(ToolCall::new(id, name, arguments));
                    }
                },
                ContentBlock::Thinking { thinking, signature } => {
                    answer.reasoning.push(Reasoning::new(ORIGIN, thinking).with_signature(signature));
                }
                ContentBlock::RedactedThinking { data } => {
                    answer.reasoning.push(Reasoning::new(ORIGIN, "").with_encrypted(Some(data)));
                }
                ContentBlock::Other => {}
            }
        }
        Ok(answer.into_completion(
            &self.id,
            &self.model,
            parsed.model,
            parsed.usage,
            parsed.stop_reason.as_deref(),
            request_id.or(parsed.id),
        ))
    }
}

/// What one answer carried, read whole or assembled from a stream.
#[derive(Default)]
struct Answer {
    text: String,
    reasoning: Vec<Reasoning>,
    tool_calls: Vec<ToolCall>,
    /// The structured answer (the answer tool's input as JSON text), when it came.
    structured: Option<String>,
}

impl Answer {
    fn into_completion(
        self,
        id: &ProviderId,
        configured_model: &str,
        model: Option<String>,
        usage: WireUsage,
        stop_reason: Option<&str>,
        request_id: Option<String>,
    ) -> Completion {
        let usage = usage.to_usage();
        let mut finish = stop_reason.map(wire::finish_reason);
        // The answer tool's call is the answer, not a call for the host to run.
        if self.structured.is_some() && self.tool_calls.is_empty() && finish == Some(FinishReason::ToolCalls) {
            finish = Some(FinishReason::Stop);
        }
        let content = self.structured.unwrap_or(self.text);
        let mut completion = Completion::new(id.clone(), content)
            .with_usage(usage)
            .with_cost(cost(model.as_deref(), configured_model, &usage))
            .with_finish_reason(finish.or(Some(FinishReason::Stop)))
            .with_request_id(request_id)
            .with_reasoning(self.reasoning);
        completion.model = model;
        completion.tool_calls = self.tool_calls;
        completion
    }
}

/// The cost under the model the server reported (a dated snapshot name is
/// priced as its model), else under the configured one.
fn cost(reported: Option<&str>, configured: &str, usage: &Usage) -> Option<Usd> {
    reported.and_then(|m| pricing::cost_usd(m, usage)).or_else(|| pricing::cost_usd(configured, usage))
}

#[async_trait]
impl LlmProvider for AnthropicProvider {
    fn id(&self) -> &ProviderId {
        &self.id
    }

    fn capabilities(&self) -> Option<ModelCapabilities> {
        self.capabilities.clone()
    }

    fn endpoint(&self) -> Option<String> {
        Some(self.base_url.clone())
    }

    async fn complete(&self, req: CompletionRequest) -> Result<Completion, ProviderError> {
        native::traced("anthropic", &self.model, &req, self.call(&req)).await
    }

    async fn stream(&self, req: CompletionRequest) -> Result<CompletionStream, ProviderError> {
        let (builder, answer_tool) = self.request(&req, true)?;
        let decoder = stream::Decoder::new(self.id.clone(), self.model.clone(), answer_tool);
        self.context().send_for_stream(builder, Framing::Sse, decoder).await
    }
}
