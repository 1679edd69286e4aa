//! [`OllamaProvider`]: Ollama's native chat API (`POST {host}/api/chat`),
//! whole and streamed (NDJSON: one JSON object per line).
//!
//! Mapping from [`CompletionRequest`]: messages keep their roles (`system`,
//! `user`, `assistant`, `tool`); tools become `tools[{type: function, …}]`;
//! an assistant message's tool calls are sent with their arguments as an
//! object, and a tool message names its tool (`tool_name`); `response_format`
//! becomes `format: <schema>`; `max_tokens` and `temperature` go in `options`
//! (`num_predict`, `temperature`), and so does `num_ctx`, sized to the
//! request (estimated prompt plus output, rounded up to a power of two,
//! capped at the model's window from the [`CapabilityTable`]): Ollama's own
//! default window is small and it truncates a longer prompt without an
//! error. Tool calls come back with arguments as an object, serialised to
//! JSON text, and with generated `call_…` ids when
//! Ollama gives none. No key is sent unless one is set with
//! [`OllamaProvider::with_api_key`].
//!
//! Content parts: images go in the message's `images` (base64; a `data:`
//! URL's payload). Ollama fetches no URL, so an image by URL is
//! [`ProviderErrorKind::Unsupported`] (`what: "image_url"`) before anything
//! is sent, and so is any image to a model whose capabilities say it reads
//! none (`what: "image"`). A failed tool's result
//! ([`Message::is_error`](agent_core::provider::Message::is_error)) is sent
//! as its text, prefixed with `Error: ` unless it already says "error"
//! (Ollama has no error flag). Cache breakpoints are ignored (Ollama reuses a prompt prefix on its own).
//!
//! Reasoning: [`CompletionRequest::reasoning`](agent_core::provider::CompletionRequest::reasoning)
//! becomes `think`, shaped by the model's
//! [`ReasoningControl`](agent_core::provider::ReasoningControl): a level
//! (`low`/`medium`/`high`) for `effort` models (gpt-oss), else `true`
//! (`false` for a budget of 0); nothing for a model known not to think.
//! `message.thinking` comes back as a [`Completion::reasoning`] block of
//! origin `ollama` (streamed as [`StreamEvent::ReasoningDelta`]) and goes back
//! as the assistant message's `thinking` in later requests; reasoning from
//! another wire is left out. [`HttpOptions`] (an injected client, headers,
//! extra body fields) apply to every request. For Ollama's OpenAI-compatible endpoint
//! use [`OpenAiProvider`](crate::OpenAiProvider) with base URL `{host}/v1`
//! (spec `openai:MODEL@http://host:11434/v1`).
//!
//! ```no_run
//! use agent_core::provider::{CompletionRequest, Message};
//! use agent_core::LlmProvider;
//! use agent_providers::OllamaProvider;
//!
//! # async fn demo() -> Result<(), agent_core::provider::ProviderError> {
//! let provider = OllamaProvider::from_env("qwen2.5:7b", None);
//! let answer = provider.complete(CompletionRequest::new(vec![Message::user("Say hi")])).await?;
//! println!("{} ({} tokens)", answer.content, answer.usage.total());
//! # Ok(()) }
//! ```

mod error;
mod wire;

use crate::capabilities::CapabilityTable;
use crate::http_options::HttpOptions;
use crate::native::{self, CallContext, Frame, Framing, StreamDecoder, generated_call_id};
use crate::spec::ProviderKind;
use agent_core::provider::{
    Completion, CompletionRequest, CompletionStream, ModelCapabilities, ProviderError, ProviderErrorKind, ProviderId,
    Reasoning, StreamEvent, ToolCall, Usage,
};
use agent_core::{LlmProvider, async_trait};

use std::time::{Duration, SystemTime};
use wire::ChatChunk;

/// Where Ollama listens when no host is given and `OLLAMA_HOST` is not set.
pub const DEFAULT_OLLAMA_HOST: &str = "http://localhost:11434";

/// How long a call may take by default: the whole call for `complete`; the
/// wait for the headers (model loading included) and then for each line for `stream`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// An [`LlmProvider`] speaking Ollama's native `/api/chat`.
///
/// Errors are classified from the status and the `{"error": "…"}` body: an
/// unknown model (404) or a model that "does not support tools" is
/// `Unsupported` (a cascade falls over), a 5xx is `ServerError`, a prompt beyond the context is
/// `ContextTooLong`, a refused connection is `Transport`. Every error keeps
/// the status, the `x-request-id` when a proxy sends one, and the raw body. A
/// stream that ends before its `done: true` line is an error; an `error` line
/// inside a stream is an error.
#[derive(Clone)]
pub struct OllamaProvider {
    id: ProviderId,
    model: String,
    base_url: String,
    api_key: Option<String>,
    timeout: Duration,
    capabilities: Option<ModelCapabilities>,
    client: reqwest::Client,
    http: HttpOptions,
}

impl std::fmt::Debug for OllamaProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OllamaProvider")
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

impl OllamaProvider {
    /// A provider for `model` at [`DEFAULT_OLLAMA_HOST`] with the default timeout.
    pub fn new(model: impl Into<String>) -> Self {
        let model = model.into();
        let capabilities = CapabilityTable::shipped().lookup(ProviderKind::Ollama, &model).cloned();
        Self {
            id: ProviderId::new(format!("ollama:{model}")),
            model,
            base_url: DEFAULT_OLLAMA_HOST.to_owned(),
            api_key: None,
            timeout: DEFAULT_TIMEOUT,
            capabilities,
            client: reqwest::Client::new(),
            http: HttpOptions::default(),
        }
    }

    /// A provider whose host is `base_url` if given, else `OLLAMA_HOST`, else
    /// [`DEFAULT_OLLAMA_HOST`]. A host without a scheme (`0.0.0.0:11434`) gets
    /// `http://`; one without a port either gets `:11434`, as the Ollama CLI does.
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
        let provider = Self::new(model);
        match non_empty(base_url).or_else(|| non_empty(env("OLLAMA_HOST"))) {
            Some(host) => provider.with_base_url(normalize_host(&host)),
            None => provider,
        }
    }

    /// Sets the base URL (the part before `/api/chat`, e.g. `http://gpu-box:11434`).
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into().trim_end_matches('/').to_owned();
        self
    }

    /// Sets or clears a key sent as `Authorization: Bearer` (a local Ollama needs
    /// none; hosted Ollama and authenticating proxies do). `from_env` sets none.
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
    /// does not know). Its context window caps `options.num_ctx`.
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

    /// The request to send, or the typed error that stops it before anything
    /// is sent (a part this wire or model cannot carry, an invalid header).
    fn request(&self, req: &CompletionRequest, stream: bool) -> Result<reqwest::RequestBuilder, ProviderError> {
        let mut body = wire::request_body(&self.model, req, self.capabilities.as_ref(), stream).map_err(|refusal| {
            ProviderError::new(ProviderErrorKind::Unsupported { what: refusal.what }, self.id.clone(), refusal.message)
        })?;
        self.http.merge_body(&mut body, req);
        let mut builder = self.http.client_or(&self.client).post(format!("{}/api/chat", self.base_url)).json(&body);
        if let Some(key) = &self.api_key {
            builder = builder.bearer_auth(key);
        }
        self.http
            .apply_headers(builder, req)
            .map_err(|e| ProviderError::new(ProviderErrorKind::InvalidRequest, self.id.clone(), e.to_string()))
    }

    async fn call(&self, req: &CompletionRequest) -> Result<Completion, ProviderError> {
        let cx = self.context();
        let (status, request_id, body) = cx.send_for_body(self.request(req, false)?).await?;
        let chunk: ChatChunk = cx.parse_body(status, request_id.as_ref(), &body, "an Ollama chat response")?;
        if let Some(message) = chunk.error.clone() {
            let kind = (cx.classify)(500, &reqwest::header::HeaderMap::new(), &body, SystemTime::now()).kind;
            return Err(cx.error(kind, message).with_status(status).with_request_id(request_id).with_raw_body(body));
        }
        let mut assembly = Assembly::default();
        assembly.absorb(chunk, &mut Vec::new());
        let mut completion = assembly.completion(self.id.clone());
        completion.request_id = request_id;
        Ok(completion)
    }
}

/// `0.0.0.0` → `http://0.0.0.0:11434`; `gpu:1234` → `http://gpu:1234`;
/// `http://h:1/` → `http://h:1`; a trailing `/v1` (the OpenAI-compatible path) is dropped.
fn normalize_host(host: &str) -> String {
    let host = host.trim().trim_end_matches('/');
    let host = host.strip_suffix("/v1").unwrap_or(host);
    if host.contains("://") {
        return host.to_owned();
    }
    let has_port = host.rsplit_once(':').is_some_and(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()));
    if has_port { format!("http://{host}") } else { format!("http://{host}:11434") }
}

#[async_trait]
impl LlmProvider for OllamaProvider {
    fn id(&self) -> &ProviderId {
        &self.id
    }

    async fn complete(&self, req: CompletionRequest) -> Result<Completion, ProviderError> {
        native::traced("ollama", &self.model, &req, self.call(&req)).await
    }

    async fn stream(&self, req: CompletionRequest) -> Result<CompletionStream, ProviderError> {
        let request = self.request(&req, true)?;
        let decoder = Decoder { id: self.id.clone(), assembly: Assembly::default() };
        self.context().send_for_stream(request, Framing::Ndjson, decoder).await
    }

    fn capabilities(&self) -> Option<ModelCapabilities> {
        self.capabilities.clone()
    }

    fn endpoint(&self) -> Option<String> {
        Some(self.base_url.clone())
    }
}

/// An answer assembled from one response or from the lines of a stream.
#[derive(Default)]
struct Assembly {
    text: String,
    thinking: String,
    tool_calls: Vec<ToolCall>,
    done: bool,
    done_reason: Option<String>,
    usage: Usage,
    model: Option<String>,
}

impl Assembly {
    fn absorb(&mut self, chunk: ChatChunk, out: &mut Vec<StreamEvent>) {
        if chunk.model.is_some() {
            self.model.clone_from(&chunk.model);
        }
        if chunk.done {
            self.done = true;
            self.done_reason.clone_from(&chunk.done_reason);
            self.usage = chunk.usage();
        }
        let Some(message) = chunk.message else { return };
        if let Some(thinking) = message.thinking.filter(|t| !t.is_empty()) {
            self.thinking.push_str(&thinking);
            out.push(StreamEvent::ReasoningDelta { text: thinking });
        }
        if let Some(text) = message.content.filter(|t| !t.is_empty()) {
            self.text.push_str(&text);
            out.push(StreamEvent::Delta { text });
        }
        for call in message.tool_calls {
            let index = u32::try_from(self.tool_calls.len()).unwrap_or(u32::MAX);
            let id = call.id.filter(|id| !id.is_empty()).unwrap_or_else(generated_call_id);
            let arguments = call.function.arguments_text();
            out.push(StreamEvent::ToolCallDelta {
                index,
                id: Some(id.clone()),
                name: Some(call.function.name.clone()),
                arguments: arguments.clone(),
            });
            self.tool_calls.push(ToolCall::new(id, call.function.name, arguments));
        }
    }

    fn completion(&mut self, id: ProviderId) -> Completion {
        let has_calls = !self.tool_calls.is_empty();
        let mut completion = Completion::new(id, std::mem::take(&mut self.text))
            .with_usage(self.usage)
            .with_finish_reason(self.done_reason.as_deref().map(|r| wire::finish_reason(r, has_calls)));
        completion.model = self.model.take();
        completion.tool_calls = std::mem::take(&mut self.tool_calls);
        let thinking = std::mem::take(&mut self.thinking);
        if !thinking.is_empty() {
            completion.reasoning = vec![Reasoning::new(wire::ORIGIN, thinking)];
        }
        completion
    }
}

struct Decoder {
    id: ProviderId,
    assembly: Assembly,
}

impl StreamDecoder for Decoder {
    fn frame(&mut self, frame: &Frame, out: &mut Vec<StreamEvent>) -> Result<bool, ProviderError> {
        let chunk: ChatChunk = serde_json::from_str(&frame.data).map_err(|e| {
            ProviderError::new(ProviderErrorKind::Unparseable, self.id.clone(), format!("malformed stream line: {e}"))
                .with_raw_body(frame.data.clone())
        })?;
        if let Some(message) = &chunk.error {
            let kind = error::classify(500, &reqwest::header::HeaderMap::new(), &frame.data, SystemTime::now()).kind;
            return Err(ProviderError::new(kind, self.id.clone(), format!("error line in the stream: {message}"))
                .with_raw_body(frame.data.clone()));
        }
        self.assembly.absorb(chunk, out);
        Ok(self.assembly.done)
    }

    fn finish(&mut self) -> Result<Completion, ProviderError> {
        if !self.assembly.done {
            return Err(ProviderError::new(
                ProviderErrorKind::Transport,
                self.id.clone(),
                "the stream ended before its done line: the answer is incomplete",
            ));
        }
        Ok(self.assembly.completion(self.id.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_get_a_scheme_and_the_default_port() {
        assert_eq!(normalize_host("0.0.0.0"), "http://0.0.0.0:11434");
        assert_eq!(normalize_host("gpu:1234"), "http://gpu:1234");
        assert_eq!(normalize_host("https://ollama.example/"), "https://ollama.example");
        assert_eq!(normalize_host("http://h:11434/v1"), "http://h:11434");
    }
}
