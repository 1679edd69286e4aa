//! [`GeminiProvider`]: Google Gemini `generateContent`, whole and streamed
//! (`streamGenerateContent?alt=sse`).
//!
//! Mapping from [`CompletionRequest`]:
//! - system messages become `systemInstruction`; assistant turns are role `model`;
//! - tools become one `functionDeclarations` tool; an assistant message's tool
//!   calls become `functionCall` parts and tool messages `functionResponse`
//!   parts (named after the call they answer; a JSON-object result is sent as
//!   is, anything else as `{"result": …}`);
//! - `response_format` becomes `generationConfig.responseMimeType:
//!   application/json` plus `responseSchema`, the schema rewritten into the
//!   subset Gemini accepts (refs inlined; `$schema`, `title`,
//!   `additionalProperties` and other unknown keywords dropped); tool
//!   parameters are rewritten the same way.
//!
//! Gemini gives tool calls no ids (unless it sends `functionCall.id`): each
//! call gets a generated `call_…` id. The `thoughtSignature` of a
//! `functionCall` part (Gemini 3) is kept as [`ToolCall::signature`] and sent
//! back unchanged on that call's part in later requests; signatures on text
//! parts are not kept (Gemini does not require them back). Usage: `promptTokenCount` already
//! includes the cached tokens; output counts candidates plus thoughts.
//!
//! ```no_run
//! use agent_core::provider::{CompletionRequest, Message};
//! use agent_core::LlmProvider;
//! use agent_providers::GeminiProvider;
//!
//! # async fn demo() -> Result<(), agent_core::provider::ProviderError> {
//! let provider = GeminiProvider::from_env("gemini-2.5-flash", None);
//! let answer = provider.complete(CompletionRequest::new(vec![Message::user("Say hi")])).await?;
//! println!("{} ({} tokens)", answer.content, answer.usage.total());
//! # Ok(()) }
//! ```

// `ProviderError` is agent-core's error type, returned unboxed across the crate.
#![allow(clippy::result_large_err)]

mod error;
mod wire;

use crate::native::{self, CallContext, Frame, Framing, StreamDecoder, generated_call_id};
use crate::pricing;
use agent_core::provider::{
    Completion, CompletionRequest, CompletionStream, FinishReason, ProviderError, ProviderErrorKind, ProviderId,
    StreamEvent, ToolCall, Usage,
};
use agent_core::{LlmProvider, async_trait};
use std::fmt;
use std::time::{Duration, SystemTime};
use wire::{GenerateResponse, UsageMetadata};

pub use wire::gemini_schema;

/// The base URL used when none is given.
pub const DEFAULT_GEMINI_BASE_URL: &str = "https://generativelanguage.googleapis.com/v1beta";

/// How long a call may take by default: the whole call for `complete`; the
/// wait for the headers and then for each event for `stream`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// An [`LlmProvider`] speaking the Gemini API (`generateContent`).
///
/// Sends the key as `x-goog-api-key` (never in the URL, never logged, never
/// shown by `Debug`). Errors are classified from the status, the
/// `google.rpc` details (`QuotaFailure`, `RetryInfo`, `ErrorInfo`) and the
/// headers; every error keeps the status, the `x-request-id` when sent, and
/// the raw body. A stream is complete only once a frame carried a
/// `finishReason`; one that ends before is an error.
#[derive(Clone)]
pub struct GeminiProvider {
    id: ProviderId,
    model: String,
    base_url: String,
    api_key: Option<String>,
    timeout: Duration,
    client: reqwest::Client,
}

impl fmt::Debug for GeminiProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeminiProvider")
            .field("id", &self.id)
            .field("model", &self.model)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl GeminiProvider {
    /// A provider for `model` (`gemini-2.5-flash`, or `models/gemini-2.5-flash`)
    /// at the default base URL, with no API key and the default timeout.
    pub fn new(model: impl Into<String>) -> Self {
        let model = model.into();
        Self {
            id: ProviderId::new(format!("gemini:{model}")),
            model,
            base_url: DEFAULT_GEMINI_BASE_URL.to_owned(),
            api_key: None,
            timeout: DEFAULT_TIMEOUT,
            client: reqwest::Client::new(),
        }
    }

    /// A provider configured from the environment: the key from `GEMINI_API_KEY`
    /// (else `GOOGLE_API_KEY`), the base URL from `base_url` if given, else the default.
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
        let key = non_empty(env("GEMINI_API_KEY")).or_else(|| non_empty(env("GOOGLE_API_KEY")));
        let mut provider = Self::new(model).with_api_key(key);
        if let Some(url) = non_empty(base_url) {
            provider = provider.with_base_url(url);
        }
        provider
    }

    /// Sets the base URL (the part before `/models/…`, e.g. `https://generativelanguage.googleapis.com/v1beta`).
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into().trim_end_matches('/').to_owned();
        self
    }

    /// Sets or clears the API key sent as `x-goog-api-key`.
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
        CallContext {
            id: &self.id,
            timeout: self.timeout,
            request_id_header: "x-request-id",
            classify: error::classify,
        }
    }

    /// `{base}/models/{model}:{method}`; a model written `models/…` or `tunedModels/…` is used as is.
    fn url(&self, method: &str) -> String {
        if self.model.contains('/') {
            format!("{}/{}:{method}", self.base_url, self.model)
        } else {
            format!("{}/models/{}:{method}", self.base_url, self.model)
        }
    }

    fn request(&self, req: &CompletionRequest, stream: bool) -> reqwest::RequestBuilder {
        let url = if stream { self.url("streamGenerateContent?alt=sse") } else { self.url("generateContent") };
        let mut builder = self.client.post(url).json(&wire::request_body(req));
        if let Some(key) = &self.api_key {
            builder = builder.header("x-goog-api-key", key);
        }
        builder
    }

    async fn call(&self, req: &CompletionRequest) -> Result<Completion, ProviderError> {
        let cx = self.context();
        let (status, request_id, body) = cx.send_for_body(self.request(req, false)).await?;
        let parsed: GenerateResponse = cx.parse_body(status, request_id.as_ref(), &body, "a Gemini response")?;
        let mut assembly = Assembly::default();
        if parsed.candidates.is_empty()
            && parsed.prompt_feedback.as_ref().and_then(|f| f.block_reason.as_ref()).is_none()
        {
            return Err(cx
                .error(ProviderErrorKind::Unparseable, "response has no candidates")
                .with_status(status)
                .with_request_id(request_id)
                .with_raw_body(body));
        }
        assembly.absorb(parsed, &mut Vec::new());
        let mut completion = assembly.completion(self.id.clone(), &self.model);
        if request_id.is_some() {
            completion.request_id = request_id;
        }
        Ok(completion)
    }
}

#[async_trait]
impl LlmProvider for GeminiProvider {
    fn id(&self) -> &ProviderId {
        &self.id
    }

    async fn complete(&self, req: CompletionRequest) -> Result<Completion, ProviderError> {
        native::traced("gemini", &self.model, &req, self.call(&req)).await
    }

    async fn stream(&self, req: CompletionRequest) -> Result<CompletionStream, ProviderError> {
        let decoder = Decoder { id: self.id.clone(), model: self.model.clone(), assembly: Assembly::default() };
        self.context().send_for_stream(self.request(&req, true), Framing::Sse, decoder).await
    }
}

/// An answer assembled from one response or from the frames of a stream.
#[derive(Default)]
struct Assembly {
    text: String,
    tool_calls: Vec<ToolCall>,
    finish: Option<String>,
    blocked: Option<String>,
    usage: Option<UsageMetadata>,
    model: Option<String>,
    response_id: Option<String>,
}

impl Assembly {
    /// Adds one response (or frame), pushing the stream events it yields.
    fn absorb(&mut self, response: GenerateResponse, out: &mut Vec<StreamEvent>) {
        if let Some(usage) = response.usage_metadata {
            self.usage = Some(usage);
        }
        if response.model_version.is_some() {
            self.model = response.model_version;
        }
        if response.response_id.is_some() {
            self.response_id = response.response_id;
        }
        if let Some(reason) = response.prompt_feedback.and_then(|f| f.block_reason) {
            self.blocked = Some(reason);
        }
        let Some(candidate) = response.candidates.into_iter().next() else { return };
        for part in candidate.content.map(|c| c.parts).unwrap_or_default() {
            if let Some(call) = part.function_call {
                let index = u32::try_from(self.tool_calls.len()).unwrap_or(u32::MAX);
                let id = call.id.clone().filter(|id| !id.is_empty()).unwrap_or_else(generated_call_id);
                let arguments = call.arguments();
                out.push(StreamEvent::ToolCallDelta {
                    index,
                    id: Some(id.clone()),
                    name: Some(call.name.clone()),
                    arguments: arguments.clone(),
                });
                let signature = part.thought_signature.filter(|s| !s.is_empty());
                self.tool_calls.push(ToolCall::new(id, call.name, arguments).with_signature(signature));
            } else if let Some(text) = part.text.filter(|t| !t.is_empty()) {
                if part.thought != Some(true) {
                    self.text.push_str(&text);
                    out.push(StreamEvent::Delta { text });
                }
            }
        }
        if candidate.finish_reason.is_some() {
            self.finish = candidate.finish_reason;
        }
    }

    fn is_finished(&self) -> bool {
        self.finish.is_some() || self.blocked.is_some()
    }

    fn completion(&mut self, id: ProviderId, configured_model: &str) -> Completion {
        let usage: Usage = self.usage.map(UsageMetadata::to_usage).unwrap_or_default();
        let cost = self
            .model
            .as_deref()
            .and_then(|m| pricing::cost_usd(m, &usage))
            .or_else(|| pricing::cost_usd(configured_model, &usage));
        let finish = match (&self.finish, &self.blocked) {
            (Some(reason), _) => Some(wire::finish_reason(reason, !self.tool_calls.is_empty())),
            (None, Some(_)) => Some(FinishReason::ContentFilter),
            (None, None) => None,
        };
        let mut completion = Completion::new(id, std::mem::take(&mut self.text))
            .with_usage(usage)
            .with_cost(cost)
            .with_finish_reason(finish)
            .with_request_id(self.response_id.take());
        completion.model = self.model.take();
        completion.tool_calls = std::mem::take(&mut self.tool_calls);
        completion
    }
}

struct Decoder {
    id: ProviderId,
    model: String,
    assembly: Assembly,
}

impl StreamDecoder for Decoder {
    fn frame(&mut self, frame: &Frame, out: &mut Vec<StreamEvent>) -> Result<bool, ProviderError> {
        if let Some(envelope) = wire::ErrorEnvelope::parse(&frame.data) {
            let status = envelope.error.code.unwrap_or(500);
            let classified =
                error::classify(status, &reqwest::header::HeaderMap::new(), &frame.data, SystemTime::now());
            return Err(ProviderError::new(
                classified.kind,
                self.id.clone(),
                format!("error in the stream: {}", classified.message),
            )
            .with_raw_body(frame.data.clone()));
        }
        let response: GenerateResponse = serde_json::from_str(&frame.data).map_err(|e| {
            ProviderError::new(ProviderErrorKind::Unparseable, self.id.clone(), format!("malformed stream frame: {e}"))
                .with_raw_body(frame.data.clone())
        })?;
        self.assembly.absorb(response, out);
        // No terminal frame: the body's end closes the stream; the last frame
        // carries the finishReason and the final usage.
        Ok(false)
    }

    fn finish(&mut self) -> Result<Completion, ProviderError> {
        if !self.assembly.is_finished() {
            return Err(ProviderError::new(
                ProviderErrorKind::Transport,
                self.id.clone(),
                "the stream ended without a finishReason: the answer is incomplete",
            ));
        }
        Ok(self.assembly.completion(self.id.clone(), &self.model))
    }
}
