//! [`OpenAiProvider`]: OpenAI Chat Completions, and any server that speaks it
//! (Ollama, vLLM, llama.cpp, LM Studio, OpenRouter, …) by base URL, and
//! Azure OpenAI deployments ([`OpenAiProvider::azure`]).
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
//!
//! # Content parts
//!
//! A message without images is sent as one string, exactly as before
//! content parts existed; a user message with images as an array of `text`
//! and `image_url` parts (bytes as a `data:` URL). An image to a model whose
//! capabilities say it reads none, or outside a user message, is
//! [`ProviderErrorKind::Unsupported`] before anything is sent. Reasoning
//! parts are never sent back (this wire takes none), cache breakpoints are
//! ignored (OpenAI caches prompt prefixes on its own), and a tool result's
//! `is_error` has no field here: its text is prefixed with `Error: ` unless
//! it already says "error".
//!
//! The readable reasoning some compatible servers return (`reasoning_content`
//! from DeepSeek and llama.cpp, `reasoning` from OpenRouter, vLLM and
//! Ollama) is streamed as [`StreamEvent::ReasoningDelta`] and kept in
//! [`Completion::reasoning`] (origin `openai`).
//!
//! # Structured output
//!
//! A `response_format` is sent as `json_schema`. A server that refuses it
//! (llama.cpp answers HTTP 500 "Input should be 'text' or 'json_object'",
//! others a 400 naming `response_format`) gets the same call again with
//! `response_format: {"type": "json_object"}` and the schema in the
//! instructions, then with the instructions alone; the mode that was not
//! refused is remembered for the endpoint (URL and model) by this provider
//! and its clones, so later calls start there. A model whose capabilities
//! name a structured-output mode starts at that mode.

pub(crate) mod error;
pub(crate) mod modes;
pub mod stream;
mod wire;

use crate::capabilities::CapabilityTable;
use crate::http_options::HttpOptions;
use crate::pricing;
use crate::spec::ProviderKind;
use crate::usage_estimate::{PromptEstimate, estimated_usage};
use agent_core::budget::Usd;
use agent_core::provider::{
    Completion, CompletionRequest, CompletionStream, ModelCapabilities, ProviderError, ProviderErrorKind, ProviderId,
    Reasoning, StreamEvent, StructuredOutputMode, ToolCall, stream_from_completion,
};
use agent_core::{LlmProvider, async_trait};
use futures::{StreamExt, TryStreamExt};
use modes::EndpointMemory;
use reqwest::header::HeaderMap;
use std::fmt;
use std::time::{Duration, SystemTime};
use tracing::Instrument;
use tracing::field::Empty;
use wire::{ChatRequest, ChatResponse};

pub(crate) use wire::image_url as image_data_url;

/// The base URL used when none is given.
pub const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com/v1";

/// The Azure OpenAI `api-version` used when none is given (the latest
/// generally available version of the data-plane inference API).
pub const DEFAULT_AZURE_API_VERSION: &str = "2024-10-21";

/// How long a call may take by default: the whole call (connect, send, wait,
/// read) for `complete`; the wait for the response headers and then for each
/// event for `stream`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// The origin of the reasoning this wire returns ([`Reasoning::origin`]).
pub const REASONING_ORIGIN: &str = "openai";

/// Which service the provider speaks to: where requests go and how the key is sent.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Service {
    /// `POST {base}/chat/completions`, `Authorization: Bearer KEY`.
    OpenAi,
    /// `POST {endpoint}/openai/deployments/{deployment}/chat/completions?api-version=…`, `api-key: KEY`.
    Azure { api_version: String },
}

/// An [`LlmProvider`] speaking OpenAI Chat Completions (`POST {base}/chat/completions`).
///
/// Sends `Authorization: Bearer KEY` only when a key is set, so it also
/// serves local servers that need none. The key is never logged and never
/// shown by `Debug`. Errors are classified from the status, the error body
/// and the headers (see [`ProviderErrorKind`]); every error keeps the status,
/// the `x-request-id` and the raw body. See the [module docs](self) for
/// content parts and structured output.
#[derive(Clone)]
pub struct OpenAiProvider {
    id: ProviderId,
    model: String,
    base_url: String,
    api_key: Option<String>,
    timeout: Duration,
    client: reqwest::Client,
    capabilities: Option<ModelCapabilities>,
    service: Service,
    http: HttpOptions,
    /// Whether `http` adds fields to the body (else the body is written straight from the request).
    http_body_extras: bool,
    /// The structured-output mode each endpoint accepted after refusing another.
    structured_modes: EndpointMemory<StructuredOutputMode>,
}

impl fmt::Debug for OpenAiProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiProvider")
            .field("id", &self.id)
            .field("model", &self.model)
            .field("base_url", &self.base_url)
            .field("service", &self.service)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("http", &self.http)
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
            service: Service::OpenAi,
            http: HttpOptions::new(),
            http_body_extras: false,
            structured_modes: EndpointMemory::default(),
        }
    }

    /// A provider for an Azure OpenAI deployment: requests go to
    /// `{endpoint}/openai/deployments/{deployment}/chat/completions?api-version={api_version}`
    /// (`endpoint` as `https://RESOURCE.openai.azure.com`), the key is sent
    /// as an `api-key` header (set it with [`with_api_key`](Self::with_api_key)),
    /// and the id is `azure:DEPLOYMENT`. The deployment name is also sent as
    /// the body's `model` (Azure ignores it) and looked up in the capability
    /// table (its `azure` entries, then its `openai` ones: deployments are
    /// usually named after their model).
    ///
    /// ```
    /// use agent_core::LlmProvider;
    /// use agent_providers::OpenAiProvider;
    ///
    /// let azure = OpenAiProvider::azure("https://contoso.openai.azure.com/", "gpt-4o", "2024-10-21")
    ///     .with_api_key(Some("AZURE-KEY".into()));
    /// assert_eq!(azure.id().as_str(), "azure:gpt-4o");
    /// assert_eq!(
    ///     azure.chat_completions_url(),
    ///     "https://contoso.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
    /// );
    /// ```
    pub fn azure(endpoint: impl Into<String>, deployment: impl Into<String>, api_version: impl Into<String>) -> Self {
        let deployment = deployment.into();
        let table = CapabilityTable::shipped();
        let capabilities = table
            .lookup(ProviderKind::Azure, &deployment)
            .or_else(|| table.lookup(ProviderKind::OpenAi, &deployment))
            .cloned();
        let mut provider = Self::new(deployment).with_base_url(endpoint);
        provider.id = ProviderId::new(format!("azure:{}", provider.model));
        provider.capabilities = capabilities;
        provider.service = Service::Azure { api_version: api_version.into() };
        provider
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
        let mut provider = Self::new(model).with_api_key(non_empty(env("OPENAI_API_KEY")));
        if let Some(url) = non_empty(base_url).or_else(|| non_empty(env("OPENAI_BASE_URL"))) {
            provider = provider.with_base_url(url);
        }
        provider
    }

    /// An Azure OpenAI deployment configured from the environment: the
    /// endpoint from `endpoint` if given, else `AZURE_OPENAI_ENDPOINT`; the
    /// key from `AZURE_OPENAI_API_KEY`; the version from
    /// `AZURE_OPENAI_API_VERSION`, else [`DEFAULT_AZURE_API_VERSION`].
    /// `None` when no endpoint is known.
    pub fn azure_from_env(deployment: impl Into<String>, endpoint: Option<String>) -> Option<Self> {
        Self::azure_from_lookup(deployment, endpoint, &|name| std::env::var(name).ok())
    }

    /// Like [`azure_from_env`](Self::azure_from_env) with the variables read through `env`.
    pub(crate) fn azure_from_lookup(
        deployment: impl Into<String>,
        endpoint: Option<String>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Option<Self> {
        let endpoint = non_empty(endpoint).or_else(|| non_empty(env("AZURE_OPENAI_ENDPOINT")))?;
        let version =
            non_empty(env("AZURE_OPENAI_API_VERSION")).unwrap_or_else(|| DEFAULT_AZURE_API_VERSION.to_owned());
        Some(Self::azure(endpoint, deployment, version).with_api_key(non_empty(env("AZURE_OPENAI_API_KEY"))))
    }

    /// Sets the base URL (the part before `/chat/completions`, e.g.
    /// `http://localhost:11434/v1`; for Azure the resource endpoint).
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into().trim_end_matches('/').to_owned();
        self
    }

    /// Sets or clears the API key (sent as `Authorization: Bearer`, or as
    /// `api-key` to Azure).
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

    /// Sets the HTTP escape hatches ([`HttpOptions`]): an injected client
    /// (custom CA, proxy), headers added to every request (after the
    /// provider's own, so they may replace `Authorization`), fields merged
    /// into every body (over the provider's, under the request's own
    /// [`extra_body`](CompletionRequest::extra_body)).
    pub fn with_http_options(mut self, http: HttpOptions) -> Self {
        let mut probe = serde_json::Value::Object(serde_json::Map::new());
        http.merge_body(&mut probe, &CompletionRequest::default());
        self.http_body_extras = probe.as_object().is_some_and(|o| !o.is_empty());
        self.client = http.client_or(&self.client);
        self.http = http;
        self
    }

    /// Sets what the model can do, in place of the shipped
    /// [`CapabilityTable`] entry (a host's own table, or a model the table
    /// does not know): requests are shaped from it (`max_completion_tokens`
    /// and no `temperature` for reasoning models, `reasoning_effort`, the
    /// first structured-output mode tried, whether images may be sent).
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

    /// The model sent on the wire (for Azure, the deployment).
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The URL chat completions are posted to.
    pub fn chat_completions_url(&self) -> String {
        match &self.service {
            Service::OpenAi => format!("{}/chat/completions", self.base_url),
            Service::Azure { api_version } => format!(
                "{}/openai/deployments/{}/chat/completions?api-version={}",
                self.base_url,
                encode_component(&self.model),
                encode_component(api_version)
            ),
        }
    }

    fn error(&self, kind: ProviderErrorKind, message: impl Into<String>) -> ProviderError {
        ProviderError::new(kind, self.id.clone(), message)
    }

    fn transport_error(&self, err: &reqwest::Error) -> ProviderError {
        transport_error(&self.id, self.timeout, err)
    }

    /// Fails with `Unsupported` when `req` holds a part this wire or model
    /// cannot carry (nothing is sent).
    fn check_parts(&self, req: &CompletionRequest) -> Result<(), ProviderError> {
        match wire::unsupported_part(req, self.capabilities.as_ref()) {
            Some(why) => Err(self.error(ProviderErrorKind::Unsupported { what: "image".to_owned() }, why)),
            None => Ok(()),
        }
    }

    /// The structured-output mode a call starts at: the one remembered for
    /// this endpoint, else the model's capability, else `json_schema`.
    fn structured_mode(&self, req: &CompletionRequest) -> StructuredOutputMode {
        if req.response_format.is_none() {
            return StructuredOutputMode::JsonSchema;
        }
        self.structured_modes
            .get(&self.endpoint_key())
            .or(self.capabilities.as_ref().map(|c| c.structured_output))
            .unwrap_or_default()
    }

    fn endpoint_key(&self) -> String {
        modes::endpoint_key(&self.chat_completions_url(), &self.model)
    }

    /// The mode to try after `err`, when `err` is the server refusing the
    /// structured-output mode `mode` and a weaker one is left (remembered
    /// for the endpoint from now on).
    fn degraded_mode(
        &self,
        req: &CompletionRequest,
        mode: StructuredOutputMode,
        err: &ProviderError,
    ) -> Option<StructuredOutputMode> {
        if req.response_format.is_none() || !modes::refuses_structured_output(err) {
            return None;
        }
        let next = modes::next_mode(mode)?;
        tracing::info!(
            endpoint = %self.base_url, model = %self.model, refused = ?mode, next = ?next,
            "the server refused the structured-output mode; trying a weaker one"
        );
        self.structured_modes.set(&self.endpoint_key(), next);
        Some(next)
    }

    /// The JSON body of `req` in structured-output `mode`.
    fn body(
        &self,
        req: &CompletionRequest,
        mode: StructuredOutputMode,
        streamed: bool,
    ) -> Result<Vec<u8>, ProviderError> {
        let shaped_req = modes::with_schema_instructions(req, mode);
        let mut chat = ChatRequest::shaped(&self.model, &shaped_req, self.capabilities.as_ref(), mode);
        if streamed {
            chat = chat.streamed();
        }
        let written = if self.http_body_extras || !req.extra_body.is_empty() {
            serde_json::to_value(&chat).and_then(|mut value| {
                // A JSON value holds an f32 widened to f64 (0.30000001192092896): keep the short form.
                if let (Some(t), Some(object)) = (chat.temperature, value.as_object_mut()) {
                    object.insert("temperature".to_owned(), short_number(t));
                }
                self.http.merge_body(&mut value, req);
                serde_json::to_vec(&value)
            })
        } else {
            serde_json::to_vec(&chat)
        };
        written.map_err(|e| {
            self.error(ProviderErrorKind::InvalidRequest, format!("the request cannot be written as JSON: {e}"))
        })
    }

    /// Sends `body` to the chat completions URL; an error only when no response came.
    ///
    /// A whole call is bounded by the timeout from connect to the end of the
    /// body. A streamed call is bounded only until the response headers: its
    /// body is read under an idle limit instead (see `start_stream`).
    async fn send(
        &self,
        body: Vec<u8>,
        req: &CompletionRequest,
        streamed: bool,
    ) -> Result<reqwest::Response, ProviderError> {
        let mut builder = self
            .client
            .post(self.chat_completions_url())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        if !streamed {
            builder = builder.timeout(self.timeout);
        }
        if let Some(key) = &self.api_key {
            builder = match self.service {
                Service::OpenAi => builder.bearer_auth(key),
                Service::Azure { .. } => builder.header("api-key", key),
            };
        }
        let builder = self
            .http
            .apply_headers(builder, req)
            .map_err(|e| self.error(ProviderErrorKind::InvalidRequest, e.to_string()))?;
        if !streamed {
            // reqwest's own timeout bounds the whole call: no second timer.
            return builder.send().await.map_err(|e| self.transport_error(&e));
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
    async fn read_whole(
        &self,
        response: reqwest::Response,
        prompt_estimate: &PromptEstimate<'_>,
    ) -> Result<Completion, ProviderError> {
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
        prompt_estimate: &PromptEstimate<'_>,
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

        let reasoning_text = choice.message.reasoning_content.or(choice.message.reasoning).unwrap_or_default();
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
            None => estimated_usage(prompt_estimate, &content, &reasoning_text, &tool_calls),
        };
        let cost = parsed
            .model
            .as_deref()
            .and_then(|m| pricing::cost_usd(m, &usage))
            .or_else(|| pricing::cost_usd(&self.model, &usage));
        let mut completion = Completion::new(self.id.clone(), content).with_usage(usage).with_cost(cost);
        if !reasoning_text.is_empty() {
            completion.reasoning = vec![Reasoning::new(REASONING_ORIGIN, reasoning_text)];
        }
        completion.tool_calls = tool_calls;
        completion.model = parsed.model;
        completion.finish_reason = choice.finish_reason.as_deref().map(wire::finish_reason);
        completion.request_id = header_request_id.or(parsed.id);
        Ok(completion)
    }

    async fn call(&self, req: &CompletionRequest) -> Result<Completion, ProviderError> {
        self.check_parts(req)?;
        let mut mode = self.structured_mode(req);
        loop {
            let response = self.send(self.body(req, mode, false)?, req, false).await?;
            match self.read_whole(response, &PromptEstimate::of(req)).await {
                Err(e) => match self.degraded_mode(req, mode, &e) {
                    Some(next) => mode = next,
                    None => return Err(e),
                },
                ok => return ok,
            }
        }
    }

    /// Starts a streamed call: errors before the stream starts are classified
    /// as in `complete` (and a refused structured-output mode degrades as
    /// there); a server that ignores `stream: true` and answers one JSON body
    /// is read whole and replayed as a stream. The body is read with the
    /// timeout as an idle limit between events.
    async fn start_stream(&self, req: &CompletionRequest) -> Result<CompletionStream, ProviderError> {
        self.check_parts(req)?;
        let mut mode = self.structured_mode(req);
        loop {
            match self.try_stream(req, mode).await {
                Err(e) => match self.degraded_mode(req, mode, &e) {
                    Some(next) => mode = next,
                    None => return Err(e),
                },
                ok => return ok,
            }
        }
    }

    async fn try_stream(
        &self,
        req: &CompletionRequest,
        mode: StructuredOutputMode,
    ) -> Result<CompletionStream, ProviderError> {
        let response = self.send(self.body(req, mode, true)?, req, true).await?;
        let status = response.status().as_u16();
        let is_json = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("application/json"));
        if !(200..300).contains(&status) || is_json {
            let estimate = PromptEstimate::of(req);
            return match tokio::time::timeout(self.timeout, self.read_whole(response, &estimate)).await {
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
            .with_prompt(PromptEstimate::owned(req));
        let (id, timeout) = (self.id.clone(), self.timeout);
        let bytes = response.bytes_stream().map_err(move |e| transport_error(&id, timeout, &e));
        Ok(stream::sse_completion_stream_with_idle_timeout(assembler, bytes, self.timeout))
    }
}

/// `value` as a JSON number in its shortest decimal form, as serialising the
/// `f32` itself writes it (widening it to `f64` would write `0.30000001192092896`).
pub(crate) fn short_number(value: f32) -> serde_json::Value {
    value
        .to_string()
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or(serde_json::Value::Null, serde_json::Value::Number)
}

/// A value that is set and not blank.
pub(crate) fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|s| !s.trim().is_empty())
}

/// `text` percent-encoded for a URL path segment or query value (every byte
/// but the unreserved characters of RFC 3986).
fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A whole completion replayed as a stream: its reasoning, its text, each tool call, then `Done`.
fn whole_as_stream(completion: Completion) -> CompletionStream {
    if completion.tool_calls.is_empty() && completion.reasoning.is_empty() {
        return stream_from_completion(completion);
    }
    let mut events = Vec::new();
    for reasoning in &completion.reasoning {
        events.push(Ok(StreamEvent::ReasoningDelta { text: reasoning.text.clone() }));
    }
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

/// The prompt tokens of `req` as this library estimates them for servers
/// that report no usage (see [`usage_estimate`](crate::usage_estimate)).
/// At least 1.
pub fn estimate_prompt_tokens(req: &CompletionRequest) -> u64 {
    crate::usage_estimate::prompt_tokens(req)
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

    fn capabilities(&self) -> Option<ModelCapabilities> {
        self.capabilities.clone()
    }

    fn endpoint(&self) -> Option<String> {
        Some(match &self.service {
            Service::OpenAi => self.base_url.clone(),
            Service::Azure { .. } => format!("{}/openai/deployments/{}", self.base_url, encode_component(&self.model)),
        })
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
        let system = match self.service {
            Service::OpenAi => "openai",
            Service::Azure { .. } => "az.ai.openai",
        };
        tracing::info_span!(
            "gen_ai.chat",
            gen_ai.system = system,
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
