//! [`OpenAiProvider`]: OpenAI Chat Completions, and any server that speaks it
//! (Ollama, vLLM, llama.cpp, LM Studio, OpenRouter, …) by base URL.
//!
//! ```no_run
//! use agent_core::provider::{CompletionRequest, Message};
//! use agent_core::LlmProvider;
//! use agent_providers::OpenAiProvider;
//!
//! # async fn demo() -> Result<(), agent_core::provider::ProviderError> {
//! let provider = OpenAiProvider::from_env("gpt-4.1-mini", None);
//! let answer = provider.complete(CompletionRequest::new(vec![Message::user("Say hi")])).await?;
//! println!("{} ({} tokens, ${:?})", answer.content, answer.usage.total(), answer.cost_usd);
//! # Ok(()) }
//! ```

// `ProviderError` is the error type of `LlmProvider` (agent-core); it is
// returned as is, like the trait does, rather than boxed.
#![allow(clippy::result_large_err)]

mod error;
pub mod stream;
mod wire;

use crate::capabilities::CapabilityTable;
use crate::pricing;
use crate::spec::ProviderKind;
use agent_core::budget::Usd;
use agent_core::provider::{
    Completion, CompletionRequest, CompletionStream, ModelCapabilities, ProviderError, ProviderErrorKind, ProviderId,
    StreamEvent, ToolCall, Usage, stream_from_completion,
};
use agent_core::{LlmProvider, async_trait};
use futures::{StreamExt, TryStreamExt};
use reqwest::header::HeaderMap;
use std::fmt;
use std::time::{Duration, SystemTime};
use tracing::Instrument;
use tracing::field::Empty;
use wire::{ChatRequest, ChatResponse};

/// The base URL used when none is given.
pub const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com/v1";

/// How long a call may take by default: the whole call (connect, send, wait,
/// read) for `complete`; the wait for the response headers and then for each
/// event for `stream`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// An [`LlmProvider`] speaking OpenAI Chat Completions (`POST {base}/chat/completions`).
///
/// Sends `Authorization: Bearer KEY` only when a key is set, so it also
/// serves local servers that need none. The key is never logged and never
/// shown by `Debug`. Errors are classified from the status, the error body
/// and the headers (see [`ProviderErrorKind`]); every error keeps the status,
/// the `x-request-id` and the raw body.
#[derive(Clone)]
pub struct OpenAiProvider {
    id: ProviderId,
    model: String,
    base_url: String,
    api_key: Option<String>,
    timeout: Duration,
    client: reqwest::Client,
    capabilities: Option<ModelCapabilities>,
}

impl fmt::Debug for OpenAiProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiProvider")
            .field("id", &self.id)
            .field("model", &self.model)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl OpenAiProvider {
    /// A provider for `model` at the default base URL, with no API key and the default timeout.
    pub fn new(model: impl Into<String>) -> Self {
        let model = model.into();
        let capabilities = CapabilityTable::shipped().lookup(ProviderKind::OpenAi, &model).cloned();
        Self {
            id: ProviderId::new(format!("openai:{model}")),
            model,
            base_url: DEFAULT_OPENAI_BASE_URL.to_owned(),
            api_key: None,
            timeout: DEFAULT_TIMEOUT,
            client: reqwest::Client::new(),
            capabilities,
        }
    }

    /// A provider configured from the environment: the key from `OPENAI_API_KEY`,
    /// the base URL from `base_url` if given, else `OPENAI_BASE_URL`, else the default.
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
        let mut provider = Self::new(model).with_api_key(non_empty(env("OPENAI_API_KEY")));
        if let Some(url) = non_empty(base_url).or_else(|| non_empty(env("OPENAI_BASE_URL"))) {
            provider = provider.with_base_url(url);
        }
        provider
    }

    /// Sets the base URL (the part before `/chat/completions`, e.g. `http://localhost:11434/v1`).
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into().trim_end_matches('/').to_owned();
        self
    }

    /// Sets or clears the API key sent as `Authorization: Bearer`.
    pub fn with_api_key(mut self, api_key: Option<String>) -> Self {
        self.api_key = api_key;
        self
    }

    /// Sets the timeout (see [`DEFAULT_TIMEOUT`]); when it passes the call fails
    /// with [`ProviderErrorKind::Timeout`]. A stream is bounded by it between
    /// events (an idle limit), never as a whole: a long answer that keeps
    /// coming is not cut.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets what the model can do, in place of the shipped
    /// [`CapabilityTable`] entry (a host's own table, or a model the table
    /// does not know): requests are shaped from it (`max_completion_tokens`
    /// and no `temperature` for reasoning models).
    pub fn with_capabilities(mut self, capabilities: ModelCapabilities) -> Self {
        self.capabilities = Some(capabilities);
        self
    }

    /// What the model can do, when known (from the shipped capability table
    /// unless set with [`with_capabilities`](Self::with_capabilities)).
    pub fn capabilities(&self) -> Option<&ModelCapabilities> {
        self.capabilities.as_ref()
    }

    /// Overrides the provider id (default `openai:MODEL`), e.g. `ollama:qwen2.5:7b`
    /// for a compatible server. The model sent on the wire is unchanged.
    pub fn with_id(mut self, id: ProviderId) -> Self {
        self.id = id;
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

    fn error(&self, kind: ProviderErrorKind, message: impl Into<String>) -> ProviderError {
        ProviderError::new(kind, self.id.clone(), message)
    }

    fn transport_error(&self, err: &reqwest::Error) -> ProviderError {
        transport_error(&self.id, self.timeout, err)
    }

    /// Sends `body` to `{base}/chat/completions`; an error only when no response came.
    ///
    /// A whole call is bounded by the timeout from connect to the end of the
    /// body. A streamed call is bounded only until the response headers: its
    /// body is read under an idle limit instead (see `start_stream`).
    async fn send(&self, body: &ChatRequest<'_>, streamed: bool) -> Result<reqwest::Response, ProviderError> {
        let url = format!("{}/chat/completions", self.base_url);
        let mut builder = self.client.post(&url).json(body);
        if !streamed {
            builder = builder.timeout(self.timeout);
        }
        if let Some(key) = &self.api_key {
            builder = builder.bearer_auth(key);
        }
        match tokio::time::timeout(self.timeout, builder.send()).await {
            Ok(sent) => sent.map_err(|e| self.transport_error(&e)),
            Err(_) => Err(self.error(
                ProviderErrorKind::Timeout,
                format!("no response within {:?} (connect and wait for the headers)", self.timeout),
            )),
        }
    }

    /// The classified error of a non-2xx response, with status, request id and raw body.
    fn http_error(&self, status: u16, headers: &HeaderMap, request_id: Option<String>, body: String) -> ProviderError {
        let classified = error::classify(status, headers, &body, SystemTime::now());
        self.error(classified.kind, classified.message)
            .with_status(status)
            .with_request_id(request_id)
            .with_raw_body(body)
    }

    /// Reads the whole body of `response`: the completion, or the classified error.
    async fn read_whole(&self, response: reqwest::Response, prompt_estimate: u64) -> Result<Completion, ProviderError> {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let header_request_id = request_id_header(&headers);
        let body = response
            .text()
            .await
            .map_err(|e| self.transport_error(&e).with_status(status).with_request_id(header_request_id.clone()))?;
        if !(200..300).contains(&status) {
            return Err(self.http_error(status, &headers, header_request_id, body));
        }
        self.parse_completion(status, header_request_id, body, prompt_estimate)
    }

    fn parse_completion(
        &self,
        status: u16,
        header_request_id: Option<String>,
        body: String,
        prompt_estimate: u64,
    ) -> Result<Completion, ProviderError> {
        let parsed: ChatResponse = serde_json::from_str(&body).map_err(|e| {
            self.error(ProviderErrorKind::Unparseable, format!("response is not a chat completion: {e}"))
                .with_status(status)
                .with_request_id(header_request_id.clone())
                .with_raw_body(body.clone())
        })?;
        let Some(choice) = parsed.choices.into_iter().next() else {
            return Err(self
                .error(ProviderErrorKind::Unparseable, "response has no choices")
                .with_status(status)
                .with_request_id(header_request_id.or(parsed.id))
                .with_raw_body(body));
        };

        let content = choice.message.content.or(choice.message.refusal).unwrap_or_default();
        let tool_calls: Vec<ToolCall> = choice
            .message
            .tool_calls
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(position, call)| call.into_tool_call(position))
            .collect();
        let usage = match parsed.usage {
            Some(u) => u.to_usage(),
            None => estimated_usage(prompt_estimate, &content, &tool_calls),
        };
        let cost = parsed
            .model
            .as_deref()
            .and_then(|m| pricing::cost_usd(m, &usage))
            .or_else(|| pricing::cost_usd(&self.model, &usage));
        let mut completion = Completion::new(self.id.clone(), content).with_usage(usage).with_cost(cost);
        completion.tool_calls = tool_calls;
        completion.model = parsed.model;
        completion.finish_reason = choice.finish_reason.as_deref().map(wire::finish_reason);
        completion.request_id = header_request_id.or(parsed.id);
        Ok(completion)
    }

    async fn call(&self, req: &CompletionRequest) -> Result<Completion, ProviderError> {
        let response = self.send(&ChatRequest::shaped(&self.model, req, self.capabilities.as_ref()), false).await?;
        self.read_whole(response, estimate_prompt_tokens(req)).await
    }

    /// Starts a streamed call: errors before the stream starts are classified
    /// as in `complete`; a server that ignores `stream: true` and answers one
    /// JSON body is read whole and replayed as a stream. The body is read
    /// with the timeout as an idle limit between events.
    async fn start_stream(&self, req: &CompletionRequest) -> Result<CompletionStream, ProviderError> {
        let response =
            self.send(&ChatRequest::shaped(&self.model, req, self.capabilities.as_ref()).streamed(), true).await?;
        let status = response.status().as_u16();
        let is_json = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("application/json"));
        if !(200..300).contains(&status) || is_json {
            return match tokio::time::timeout(self.timeout, self.read_whole(response, estimate_prompt_tokens(req)))
                .await
            {
                Ok(whole) => Ok(whole_as_stream(whole?)),
                Err(_) => Err(self
                    .error(
                        ProviderErrorKind::Timeout,
                        format!("the response body did not arrive within {:?}", self.timeout),
                    )
                    .with_status(status)),
            };
        }
        let request_id = request_id_header(response.headers());
        let assembler = stream::Assembler::new(self.id.clone(), &self.model)
            .with_request_id(request_id)
            .with_prompt_estimate(estimate_prompt_tokens(req));
        let (id, timeout) = (self.id.clone(), self.timeout);
        let bytes = response.bytes_stream().map_err(move |e| transport_error(&id, timeout, &e));
        Ok(stream::sse_completion_stream_with_idle_timeout(assembler, bytes, self.timeout))
    }
}

/// A whole completion replayed as a stream: its text, each tool call, then `Done`.
fn whole_as_stream(completion: Completion) -> CompletionStream {
    if completion.tool_calls.is_empty() {
        return stream_from_completion(completion);
    }
    let mut events = Vec::new();
    if !completion.content.is_empty() {
        events.push(Ok(StreamEvent::Delta { text: completion.content.clone() }));
    }
    for (index, call) in (0u32..).zip(&completion.tool_calls) {
        events.push(Ok(StreamEvent::ToolCallDelta {
            index,
            id: Some(call.id.clone()),
            name: Some(call.name.clone()),
            arguments: call.arguments.clone(),
        }));
    }
    events.push(Ok(StreamEvent::Done { completion }));
    Box::pin(futures::stream::iter(events))
}

/// A rough token count of `bytes` bytes of text: four bytes a token, rounded up.
fn estimate_tokens(bytes: usize) -> u64 {
    u64::try_from(bytes.div_ceil(4)).unwrap_or(u64::MAX)
}

/// A rough count of the prompt tokens of `req` (four bytes a token, plus a
/// few per message for the chat template), for servers that report no usage.
/// At least 1.
pub fn estimate_prompt_tokens(req: &CompletionRequest) -> u64 {
    let messages: u64 = req
        .messages
        .iter()
        .map(|m| {
            let calls: usize = m.tool_calls.iter().map(|c| c.name.len() + c.arguments.len()).sum();
            4 + estimate_tokens(m.content.len() + calls)
        })
        .sum();
    let tools: u64 = req
        .tools
        .iter()
        .map(|t| estimate_tokens(t.name.len() + t.description.len() + t.parameters.to_string().len()))
        .sum();
    let format = req.response_format.as_ref().map_or(0, |f| estimate_tokens(f.schema.to_string().len()));
    (messages + tools + format).max(1)
}

/// The usage of an answer whose server reported none: `prompt` tokens in, the
/// answer's text and tool calls at four bytes a token out, marked estimated.
pub(crate) fn estimated_usage(prompt: u64, content: &str, tool_calls: &[ToolCall]) -> Usage {
    let calls: usize = tool_calls.iter().map(|c| c.name.len() + c.arguments.len()).sum();
    Usage::new(prompt.max(1), estimate_tokens(content.len() + calls)).as_estimate()
}

fn request_id_header(headers: &HeaderMap) -> Option<String> {
    headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned)
}

fn transport_error(id: &ProviderId, timeout: Duration, err: &reqwest::Error) -> ProviderError {
    let kind = if err.is_timeout() { ProviderErrorKind::Timeout } else { ProviderErrorKind::Transport };
    let mut message = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    if err.is_timeout() {
        message = format!("no answer within {timeout:?}: {message}");
    }
    let mut error = ProviderError::new(kind, id.clone(), message);
    if let Some(status) = err.status() {
        error = error.with_status(status.as_u16());
    }
    error
}

/// Records the GenAI attributes of a finished call (or its error) on `span`.
fn record_outcome(span: &tracing::Span, result: Result<&Completion, &ProviderError>) {
    match result {
        Ok(c) => {
            if let Some(model) = &c.model {
                span.record("gen_ai.response.model", model.as_str());
            }
            if let Some(id) = &c.request_id {
                span.record("gen_ai.response.id", id.as_str());
            }
            span.record("gen_ai.usage.input_tokens", c.usage.input_tokens);
            span.record("gen_ai.usage.output_tokens", c.usage.output_tokens);
            tracing::debug!(parent: span, cost_usd = c.cost_usd.map(Usd::dollars), "chat completion finished");
        }
        Err(e) => {
            span.record("error.type", e.kind.name());
            if let Some(status) = e.status {
                span.record("http.response.status_code", status);
            }
            tracing::debug!(parent: span, request_id = e.request_id.as_deref(), "chat completion failed: {}", e.message);
        }
    }
}

#[async_trait]
impl LlmProvider for OpenAiProvider {
    fn id(&self) -> &ProviderId {
        &self.id
    }

    async fn complete(&self, req: CompletionRequest) -> Result<Completion, ProviderError> {
        let span = self.span(&req, false);
        let result = self.call(&req).instrument(span.clone()).await;
        record_outcome(&span, result.as_ref());
        result
    }

    async fn stream(&self, req: CompletionRequest) -> Result<CompletionStream, ProviderError> {
        let span = self.span(&req, true);
        match self.start_stream(&req).instrument(span.clone()).await {
            Ok(events) => Ok(Box::pin(events.inspect(move |item| match item {
                Ok(StreamEvent::Done { completion }) => record_outcome(&span, Ok(completion)),
                Err(e) => record_outcome(&span, Err(e)),
                Ok(_) => {}
            }))),
            Err(e) => {
                record_outcome(&span, Err(&e));
                Err(e)
            }
        }
    }
}

impl OpenAiProvider {
    fn span(&self, req: &CompletionRequest, streaming: bool) -> tracing::Span {
        tracing::info_span!(
            "gen_ai.chat",
            gen_ai.system = "openai",
            gen_ai.operation.name = "chat",
            gen_ai.request.model = %self.model,
            gen_ai.request.max_tokens = req.max_tokens,
            gen_ai.request.temperature = req.temperature,
            gen_ai.request.stream = streaming,
            gen_ai.response.model = Empty,
            gen_ai.response.id = Empty,
            gen_ai.usage.input_tokens = Empty,
            gen_ai.usage.output_tokens = Empty,
            error.type = Empty,
            http.response.status_code = Empty,
        )
    }
}
