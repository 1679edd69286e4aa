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
//! Content parts ([`ContentPart`](agent_core::provider::ContentPart)):
//! - text parts become `text` parts; an empty text is never sent, nor a turn
//!   left with no part, nor an empty system instruction;
//! - an image becomes `inlineData {mimeType, data}` (bytes, or a `data:`
//!   URL) or `fileData {mimeType, fileUri}` (any other URL). An image to a
//!   model whose capabilities say it reads none (`image_input: false`) is
//!   [`ProviderErrorKind::Unsupported`] (`what: "image"`) before anything is
//!   sent; so is an image in a system message (`systemInstruction` is text);
//! - a tool result is `functionResponse {name, response}`: a JSON-object
//!   result as is, anything else as `{"result": …}`, and a failed tool
//!   ([`Message::is_error`](agent_core::provider::Message::is_error)) as
//!   `{"error": …}`, the key Gemini reads as the function's failure;
//! - cache breakpoints are ignored (Gemini caches prompt prefixes on its own).
//!
//! Reasoning: thought parts (`"thought": true`) come back as
//! [`Completion::reasoning`] blocks of origin `gemini` (text and
//! `thoughtSignature`), streamed as [`StreamEvent::ReasoningDelta`]; a
//! stream's consecutive thought fragments make one block, closed by a
//! signature. Gemini 3 may also sign a text part: that signature is kept as a
//! block with no text and only the signature, and goes back on the text part
//! of that model turn. In later requests the blocks go back unchanged in the
//! model turn (thought parts first, then the text, then the calls); blocks
//! from another wire are left out. The `thoughtSignature` of a
//! `functionCall` part (Gemini 3 refuses the next turn without it) is kept
//! as [`ToolCall::signature`] and sent back on that call's part.
//!
//! [`CompletionRequest::reasoning`](agent_core::provider::CompletionRequest::reasoning)
//! becomes `generationConfig.thinkingConfig` with `includeThoughts: true`,
//! shaped by the model's [`ReasoningControl`](agent_core::provider::ReasoningControl)
//! in the [`CapabilityTable`]: `effort` (Gemini 3) sends `thinkingLevel`
//! (`low` for minimal/low, `high` for medium/high); `budget_tokens` (Gemini
//! 2.5) and a model the table does not know send `thinkingBudget`; a model
//! that does not think (`none`, Gemini 2.0) gets no thinking config.
//!
//! Gemini gives tool calls no ids (unless it sends `functionCall.id`): each
//! call gets a generated `call_…` id. Usage: `promptTokenCount` already
//! includes the cached tokens; output counts candidates plus thoughts.
//! [`HttpOptions`] (an injected client, headers, extra body fields) apply to
//! every request.
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

mod error;
mod wire;

use crate::capabilities::CapabilityTable;
use crate::http_options::HttpOptions;
use crate::native::{self, CallContext, Frame, Framing, StreamDecoder, generated_call_id};
use crate::pricing;
use crate::spec::ProviderKind;
use agent_core::provider::{
    Completion, CompletionRequest, CompletionStream, FinishReason, ModelCapabilities, ProviderError, ProviderErrorKind,
    ProviderId, Reasoning, StreamEvent, ToolCall, Usage,
};
use agent_core::{LlmProvider, async_trait};
use std::fmt;
use std::time::{Duration, SystemTime};
use wire::{GenerateResponse, UsageMetadata};

pub(crate) use wire::data_url;
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
    capabilities: Option<ModelCapabilities>,
    client: reqwest::Client,
    http: HttpOptions,
}

impl fmt::Debug for GeminiProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeminiProvider")
            .field("id", &self.id)
            .field("model", &self.model)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("capabilities", &self.capabilities)
            .field("http", &self.http)
            .finish_non_exhaustive()
    }
}

impl GeminiProvider {
    /// A provider for `model` (`gemini-2.5-flash`, or `models/gemini-2.5-flash`)
    /// at the default base URL, with no API key, the default timeout and the
    /// model's capabilities from the shipped [`CapabilityTable`] (none for a
    /// model it does not know).
    pub fn new(model: impl Into<String>) -> Self {
        let model = model.into();
        let capabilities = CapabilityTable::shipped().lookup(ProviderKind::Gemini, &model).cloned();
        Self {
            id: ProviderId::new(format!("gemini:{model}")),
            model,
            base_url: DEFAULT_GEMINI_BASE_URL.to_owned(),
            api_key: None,
            timeout: DEFAULT_TIMEOUT,
            capabilities,
            client: reqwest::Client::new(),
            http: HttpOptions::default(),
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

    /// Sets what the model can do, in place of the shipped
    /// [`CapabilityTable`] entry (a host's own table, or a model the table
    /// does not know): whether it reads images, and which thinking control
    /// it takes.
    pub fn with_capabilities(mut self, capabilities: ModelCapabilities) -> Self {
        self.capabilities = Some(capabilities);
        self
    }

    /// Sets the HTTP escape hatches: an injected client (custom CA, proxy),
    /// headers added to every request and fields merged into every body (see
    /// [`HttpOptions`]).
    pub fn with_http_options(mut self, http: HttpOptions) -> Self {
        self.http = http;
        self
    }

    /// What the model can do, when known (from the shipped capability table
    /// unless set with [`with_capabilities`](Self::with_capabilities)).
    pub fn capabilities(&self) -> Option<&ModelCapabilities> {
        self.capabilities.as_ref()
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

    /// The request to send, or the typed error that stops it before anything
    /// is sent (a part this wire or model cannot carry, an invalid header).
    fn request(&self, req: &CompletionRequest, stream: bool) -> Result<reqwest::RequestBuilder, ProviderError> {
        let url = if stream { self.url("streamGenerateContent?alt=sse") } else { self.url("generateContent") };
        let mut body = wire::request_body(req, self.capabilities.as_ref()).map_err(|refusal| {
            ProviderError::new(ProviderErrorKind::Unsupported { what: refusal.what }, self.id.clone(), refusal.message)
        })?;
        self.http.merge_body(&mut body, req);
        let mut builder = self.http.client_or(&self.client).post(url).json(&body);
        if let Some(key) = &self.api_key {
            builder = builder.header("x-goog-api-key", key);
        }
        self.http
            .apply_headers(builder, req)
            .map_err(|e| ProviderError::new(ProviderErrorKind::InvalidRequest, self.id.clone(), e.to_string()))
    }

    async fn call(&self, req: &CompletionRequest) -> Result<Completion, ProviderError> {
        let cx = self.context();
        let (status, request_id, body) = cx.send_for_body(self.request(req, false)?).await?;
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
        let request = self.request(&req, true)?;
        let assembly = Assembly { streamed: true, ..Assembly::default() };
        let decoder = Decoder { id: self.id.clone(), model: self.model.clone(), assembly };
        self.context().send_for_stream(request, Framing::Sse, decoder).await
    }

    fn capabilities(&self) -> Option<ModelCapabilities> {
        self.capabilities.clone()
    }

    fn endpoint(&self) -> Option<String> {
        Some(self.base_url.clone())
    }
}

/// An answer assembled from one response or from the frames of a stream.
#[derive(Default)]
struct Assembly {
    /// Whether the parts come as the frames of a stream (consecutive thought
    /// fragments then make one reasoning block).
    streamed: bool,
    text: String,
    reasoning: Vec<Reasoning>,
    /// Whether the last block of `reasoning` is a streamed thought still
    /// open to the next fragment (no signature yet, no other part since).
    thought_open: bool,
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
            if part.thought == Some(true) && part.function_call.is_none() {
                self.absorb_thought(part.text.unwrap_or_default(), part.thought_signature, out);
                continue;
            }
            self.thought_open = false;
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
                continue;
            }
            if let Some(text) = part.text.filter(|t| !t.is_empty()) {
                self.text.push_str(&text);
                out.push(StreamEvent::Delta { text });
            }
            // Gemini 3 signs a text part (in a stream, often an empty last one):
            // kept as a block with only the signature, sent back on the text.
            if let Some(signature) = part.thought_signature.filter(|s| !s.is_empty()) {
                self.reasoning.push(Reasoning::new(wire::ORIGIN, "").with_signature(Some(signature)));
            }
        }
        if candidate.finish_reason.is_some() {
            self.finish = candidate.finish_reason;
        }
    }

    /// Adds one thought part: a new reasoning block, or in a stream the next
    /// fragment of the open one (its signature closes it).
    fn absorb_thought(&mut self, text: String, signature: Option<String>, out: &mut Vec<StreamEvent>) {
        let signature = signature.filter(|s| !s.is_empty());
        if text.is_empty() && signature.is_none() {
            return;
        }
        out.push(StreamEvent::ReasoningDelta { text: text.clone() });
        match self.reasoning.last_mut() {
            Some(open) if self.streamed && self.thought_open => {
                open.text.push_str(&text);
                open.signature = signature;
            }
            _ => self.reasoning.push(Reasoning::new(wire::ORIGIN, text).with_signature(signature)),
        }
        self.thought_open = self.streamed && self.reasoning.last().is_some_and(|r| r.signature.is_none());
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
        completion.reasoning = std::mem::take(&mut self.reasoning);
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
