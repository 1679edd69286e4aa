//! [`OpenAiResponsesProvider`]: the OpenAI Responses API (`POST {base}/responses`),
//! for models served only there and for reasoning carried between turns.
//!
//! Stateless: every request says `store: false` and, for reasoning models,
//! `include: ["reasoning.encrypted_content"]`, so each answer's reasoning
//! items come back with their id and encrypted content. They are kept in
//! [`Completion::reasoning`] (origin [`REASONING_ORIGIN`]);
//! [`Message::from_completion`](agent_core::provider::Message::from_completion)
//! puts them in the history, and the next request sends them back unchanged
//! as `reasoning` items before the assistant's `function_call` items and
//! the tools' `function_call_output` items. Reasoning from other wires is
//! left out.
//!
//! ```no_run
//! use agent_core::provider::{CompletionRequest, Message, ReasoningEffort, ReasoningRequest};
//! use agent_core::LlmProvider;
//! use agent_providers::OpenAiResponsesProvider;
//!
//! # async fn demo() -> Result<(), agent_core::provider::ProviderError> {
//! let provider = OpenAiResponsesProvider::from_env("o4-mini", None);
//! let mut history = vec![Message::system("Be terse."), Message::user("Plan the migration.")];
//! let req = CompletionRequest::new(history.clone()).with_reasoning(ReasoningRequest::effort(ReasoningEffort::High));
//! let answer = provider.complete(req).await?;
//! history.push(Message::from_completion(&answer)); // reasoning items included, sent back next turn
//! # Ok(()) }
//! ```
//!
//! Mapping: system messages are the `instructions`; the request's
//! `max_tokens` is `max_output_tokens`; `temperature` is left out for
//! models with a fixed one; the reasoning controls are `reasoning.effort`
//! (readable summaries are not asked for, since some organisations may
//! not receive them: add `"reasoning": {"effort": …, "summary": "auto"}`
//! through [`extra_body`](CompletionRequest::extra_body) to get them);
//! tools are `{"type": "function", name, description, parameters, "strict": false}`;
//! structured output is `text.format` of type `json_schema` (`strict` when
//! the schema meets strict mode's rules). An image to a model that reads
//! none, or outside a user message, is `Unsupported` before anything is sent.
//!
//! Errors are classified as for Chat Completions (same classes, same
//! bodies); an `error` event or a `response.failed` inside a 200 stream is
//! classified as the same error on an HTTP response would be (a quota is
//! `QuotaExhausted`, not a rate limit to wait out). A model that refuses
//! the encrypted-reasoning `include` (a chat model unknown to the
//! capability table) gets the call again without it, remembered for later
//! calls. Streams are bounded by the timeout between events, never as a whole.

mod stream;
mod wire;

pub use wire::REASONING_ORIGIN;

use crate::capabilities::CapabilityTable;
use crate::http_options::HttpOptions;
use crate::native::{self, CallContext, Framing};
use crate::openai::modes::{EndpointMemory, endpoint_key};
use crate::openai::{DEFAULT_OPENAI_BASE_URL, DEFAULT_TIMEOUT, error, non_empty};
use crate::pricing;
use crate::spec::ProviderKind;
use crate::usage_estimate::{PromptEstimate, estimated_usage};
use agent_core::provider::{
    Completion, CompletionRequest, CompletionStream, ModelCapabilities, ProviderError, ProviderErrorKind, ProviderId,
    ReasoningControl,
};
use agent_core::{LlmProvider, async_trait};
use std::fmt;
use std::time::{Duration, SystemTime};
use wire::ResponseObject;

/// An [`LlmProvider`] speaking the OpenAI Responses API (see the [module docs](self)).
///
/// Sends `Authorization: Bearer KEY` only when a key is set; the key is
/// never logged and never shown by `Debug`.
#[derive(Clone)]
pub struct OpenAiResponsesProvider {
    id: ProviderId,
    model: String,
    base_url: String,
    api_key: Option<String>,
    timeout: Duration,
    client: reqwest::Client,
    capabilities: Option<ModelCapabilities>,
    http: HttpOptions,
    /// Endpoints that refused `include: ["reasoning.encrypted_content"]`.
    refuses_encrypted: EndpointMemory<bool>,
}

impl fmt::Debug for OpenAiResponsesProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiResponsesProvider")
            .field("id", &self.id)
            .field("model", &self.model)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("http", &self.http)
            .finish_non_exhaustive()
    }
}

impl OpenAiResponsesProvider {
    /// A provider for `model` at the default base URL
    /// ([`DEFAULT_OPENAI_BASE_URL`]), with no API key and the default
    /// timeout; its capabilities are the capability table's
    /// `openai-responses` entry, else its `openai` one.
    pub fn new(model: impl Into<String>) -> Self {
        let model = model.into();
        let table = CapabilityTable::shipped();
        let capabilities = table
            .lookup(ProviderKind::OpenAiResponses, &model)
            .or_else(|| table.lookup(ProviderKind::OpenAi, &model))
            .cloned();
        Self {
            id: ProviderId::new(format!("openai-responses:{model}")),
            model,
            base_url: DEFAULT_OPENAI_BASE_URL.to_owned(),
            api_key: None,
            timeout: DEFAULT_TIMEOUT,
            client: reqwest::Client::new(),
            capabilities,
            http: HttpOptions::new(),
            refuses_encrypted: EndpointMemory::default(),
        }
    }

    /// A provider configured from the environment, as
    /// [`OpenAiProvider::from_env`](crate::OpenAiProvider::from_env): the key
    /// from `OPENAI_API_KEY`, the base URL from `base_url` if given, else
    /// `OPENAI_BASE_URL`, else the default.
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

    /// Sets the base URL (the part before `/responses`, e.g. `https://api.openai.com/v1`).
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into().trim_end_matches('/').to_owned();
        self
    }

    /// Sets or clears the API key sent as `Authorization: Bearer`.
    pub fn with_api_key(mut self, api_key: Option<String>) -> Self {
        self.api_key = api_key;
        self
    }

    /// Sets the timeout: of a whole call for `complete`; for `stream`, of
    /// the wait for the response headers and then between events (an idle
    /// limit; a long answer that keeps coming is never cut).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the HTTP escape hatches ([`HttpOptions`]): an injected client,
    /// headers added to every request, fields merged into every body.
    pub fn with_http_options(mut self, http: HttpOptions) -> Self {
        self.client = http.client_or(&self.client);
        self.http = http;
        self
    }

    /// Sets what the model can do, in place of the capability table's entry:
    /// whether it reasons (`include` and `reasoning.effort` are sent only to
    /// reasoning models), has a fixed temperature, reads images.
    pub fn with_capabilities(mut self, capabilities: ModelCapabilities) -> Self {
        self.capabilities = Some(capabilities);
        self
    }

    /// What the model can do, when known.
    pub fn capabilities(&self) -> Option<&ModelCapabilities> {
        self.capabilities.as_ref()
    }

    /// Overrides the provider id (default `openai-responses:MODEL`). The model sent is unchanged.
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

    fn url(&self) -> String {
        format!("{}/responses", self.base_url)
    }

    fn context(&self) -> CallContext<'_> {
        CallContext {
            id: &self.id,
            timeout: self.timeout,
            request_id_header: "x-request-id",
            classify: error::classify_for_native,
        }
    }

    fn error(&self, kind: ProviderErrorKind, message: impl Into<String>) -> ProviderError {
        ProviderError::new(kind, self.id.clone(), message)
    }

    /// Whether to ask for encrypted reasoning: for reasoning models (and
    /// models the table does not know), unless this endpoint refused it.
    fn include_encrypted(&self) -> bool {
        self.capabilities.as_ref().is_none_or(|c| c.reasoning != ReasoningControl::None)
            && self.refuses_encrypted.get(&endpoint_key(&self.url(), &self.model)) != Some(true)
    }

    /// Whether `err` is the model refusing `include: ["reasoning.encrypted_content"]`
    /// ("Encrypted content is not supported with this model", `param: include`).
    fn refuses_include(err: &ProviderError) -> bool {
        if err.status != Some(400) {
            return false;
        }
        let body = err.raw_body.as_deref().unwrap_or_default();
        let param = serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.pointer("/error/param").and_then(|p| p.as_str().map(str::to_owned)));
        param.as_deref() == Some("include") || body.to_ascii_lowercase().contains("encrypted content is not supported")
    }

    /// The request for `req`: its body (with the provider's and the
    /// request's extra fields), key and headers. An unsupported part is
    /// `Unsupported` and a bad header `InvalidRequest`, before sending.
    fn request(
        &self,
        req: &CompletionRequest,
        stream: bool,
        include_encrypted: bool,
    ) -> Result<reqwest::RequestBuilder, ProviderError> {
        let shape = wire::Shape { model: &self.model, caps: self.capabilities.as_ref(), include_encrypted, stream };
        let mut body = wire::request_body(&shape, req)
            .map_err(|why| self.error(ProviderErrorKind::Unsupported { what: "image".to_owned() }, why))?;
        self.http.merge_body(&mut body, req);
        let mut builder = self.client.post(self.url()).json(&body);
        if let Some(key) = &self.api_key {
            builder = builder.bearer_auth(key);
        }
        self.http.apply_headers(builder, req).map_err(|e| self.error(ProviderErrorKind::InvalidRequest, e.to_string()))
    }

    /// Sends with `send` once, and once more without `include` when the
    /// model refused it (remembered for the endpoint).
    async fn with_include_fallback<T, F, Fut>(&self, send: F) -> Result<T, ProviderError>
    where
        F: Fn(bool) -> Fut,
        Fut: std::future::Future<Output = Result<T, ProviderError>>,
    {
        let include = self.include_encrypted();
        match send(include).await {
            Err(e) if include && Self::refuses_include(&e) => {
                tracing::info!(model = %self.model, "the model refused encrypted reasoning; asking without it");
                self.refuses_encrypted.set(&endpoint_key(&self.url(), &self.model), true);
                send(false).await
            }
            other => other,
        }
    }

    async fn call(&self, req: &CompletionRequest) -> Result<Completion, ProviderError> {
        let cx = self.context();
        let (status, request_id, body) = self
            .with_include_fallback(|include| async move { cx.send_for_body(self.request(req, false, include)?).await })
            .await?;
        let response: ResponseObject = cx.parse_body(status, request_id.as_ref(), &body, "a Responses API response")?;
        completion_from(&self.id, &self.model, response, &PromptEstimate::of(req), request_id)
            .map_err(|e| e.with_status(status).with_raw_body(body))
    }

    async fn start_stream(&self, req: &CompletionRequest) -> Result<CompletionStream, ProviderError> {
        let cx = self.context();
        self.with_include_fallback(|include| async move {
            let decoder = stream::Decoder::new(self.id.clone(), &self.model, PromptEstimate::owned(req));
            cx.send_for_stream(self.request(req, true, include)?, Framing::Sse, decoder).await
        })
        .await
    }
}

/// The completion a response object stands for: its output read, usage
/// (estimated when the server sent none), cost, finish reason; a failed
/// response is its classified error.
fn completion_from(
    provider: &ProviderId,
    configured_model: &str,
    response: ResponseObject,
    prompt_estimate: &PromptEstimate<'_>,
    request_id: Option<String>,
) -> Result<Completion, ProviderError> {
    if response.status.as_deref() == Some("failed") {
        let error = response
            .error
            .clone()
            .filter(|e| !e.is_null())
            .unwrap_or_else(|| serde_json::json!({"type": "server_error", "message": "the response failed"}));
        let classified = error::classify_error_object(&error, SystemTime::now());
        return Err(ProviderError::new(classified.kind, provider.clone(), classified.message)
            .with_request_id(request_id.or(response.id)));
    }
    let output = wire::read_output(&response.output);
    let finish = wire::finish_reason(&response, !output.tool_calls.is_empty());
    let usage = match response.usage {
        Some(u) => u.to_usage(),
        None => {
            let reasoning: String = output.reasoning.iter().map(|r| r.text.as_str()).collect();
            estimated_usage(prompt_estimate, &output.content, &reasoning, &output.tool_calls)
        }
    };
    let cost = response
        .model
        .as_deref()
        .and_then(|m| pricing::cost_usd(m, &usage))
        .or_else(|| pricing::cost_usd(configured_model, &usage));
    let mut completion = Completion::new(provider.clone(), output.content)
        .with_usage(usage)
        .with_cost(cost)
        .with_finish_reason(finish)
        .with_reasoning(output.reasoning)
        .with_request_id(request_id.or(response.id));
    completion.tool_calls = output.tool_calls;
    completion.model = response.model;
    Ok(completion)
}

#[async_trait]
impl LlmProvider for OpenAiResponsesProvider {
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
        native::traced("openai", &self.model, &req, self.call(&req)).await
    }

    async fn stream(&self, req: CompletionRequest) -> Result<CompletionStream, ProviderError> {
        self.start_stream(&req).await
    }
}
