//! [`OpenAiProvider`]: OpenAI Chat Completions, and any server that speaks it
//! (Ollama, vLLM, llama.cpp, LM Studio, OpenRouter, …) by base URL.
//!
//! ```no_run
//! use agent_core::{CompletionRequest, LlmProvider, Message};
//! use agent_providers::OpenAiProvider;
//!
//! # async fn demo() -> Result<(), agent_core::ProviderError> {
//! let provider = OpenAiProvider::from_env("gpt-4.1-mini", None);
//! let answer = provider.complete(CompletionRequest::new(vec![Message::user("Say hi")])).await?;
//! println!("{} ({} tokens, ${:?})", answer.content, answer.usage.total(), answer.cost_usd);
//! # Ok(()) }
//! ```

mod error;
mod wire;

use crate::pricing;
use agent_core::{
    Completion, CompletionRequest, CompletionStream, LlmProvider, ProviderError, ProviderErrorKind, ProviderId,
    async_trait, stream_from_completion,
};
use std::fmt;
use std::time::{Duration, SystemTime};
use tracing::Instrument;
use tracing::field::Empty;
use wire::{ChatRequest, ChatResponse};

/// The base URL used when none is given.
pub const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com/v1";

/// How long a whole call may take by default (connect, send, wait, read).
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
        Self {
            id: ProviderId::new(format!("openai:{model}")),
            model,
            base_url: DEFAULT_OPENAI_BASE_URL.to_owned(),
            api_key: None,
            timeout: DEFAULT_TIMEOUT,
            client: reqwest::Client::new(),
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

    /// Sets how long a whole call may take before it fails with [`ProviderErrorKind::Timeout`].
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
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
        let kind = if err.is_timeout() { ProviderErrorKind::Timeout } else { ProviderErrorKind::Transport };
        let mut message = err.to_string();
        let mut source = std::error::Error::source(err);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        if err.is_timeout() {
            message = format!("no answer within {:?}: {message}", self.timeout);
        }
        let mut error = self.error(kind, message);
        if let Some(status) = err.status() {
            error = error.with_status(status.as_u16());
        }
        error
    }

    async fn call(&self, req: &CompletionRequest) -> Result<Completion, ProviderError> {
        let url = format!("{}/chat/completions", self.base_url);
        let mut builder = self.client.post(&url).timeout(self.timeout).json(&ChatRequest::new(&self.model, req));
        if let Some(key) = &self.api_key {
            builder = builder.bearer_auth(key);
        }
        let response = builder.send().await.map_err(|e| self.transport_error(&e))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let header_request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body = response
            .text()
            .await
            .map_err(|e| self.transport_error(&e).with_status(status).with_request_id(header_request_id.clone()))?;

        if !(200..300).contains(&status) {
            let classified = error::classify(status, &headers, &body, SystemTime::now());
            return Err(self
                .error(classified.kind, classified.message)
                .with_status(status)
                .with_request_id(header_request_id)
                .with_raw_body(body));
        }

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

        let usage = parsed.usage.map(|u| u.to_usage()).unwrap_or_default();
        let cost = parsed
            .model
            .as_deref()
            .and_then(|m| pricing::cost_usd(m, &usage))
            .or_else(|| pricing::cost_usd(&self.model, &usage));
        let content = choice.message.content.or(choice.message.refusal).unwrap_or_default();
        let mut completion = Completion::new(self.id.clone(), content).with_usage(usage).with_cost(cost);
        completion.model = parsed.model;
        completion.finish_reason = choice.finish_reason.as_deref().map(wire::finish_reason);
        completion.request_id = header_request_id.or(parsed.id);
        Ok(completion)
    }
}

#[async_trait]
impl LlmProvider for OpenAiProvider {
    fn id(&self) -> &ProviderId {
        &self.id
    }

    async fn complete(&self, req: CompletionRequest) -> Result<Completion, ProviderError> {
        let span = tracing::info_span!(
            "gen_ai.chat",
            gen_ai.system = "openai",
            gen_ai.operation.name = "chat",
            gen_ai.request.model = %self.model,
            gen_ai.request.max_tokens = req.max_tokens,
            gen_ai.request.temperature = req.temperature,
            gen_ai.response.model = Empty,
            gen_ai.response.id = Empty,
            gen_ai.usage.input_tokens = Empty,
            gen_ai.usage.output_tokens = Empty,
            error.type = Empty,
            http.response.status_code = Empty,
        );
        async {
            let result = self.call(&req).await;
            let span = tracing::Span::current();
            match &result {
                Ok(c) => {
                    if let Some(model) = &c.model {
                        span.record("gen_ai.response.model", model.as_str());
                    }
                    if let Some(id) = &c.request_id {
                        span.record("gen_ai.response.id", id.as_str());
                    }
                    span.record("gen_ai.usage.input_tokens", c.usage.input_tokens);
                    span.record("gen_ai.usage.output_tokens", c.usage.output_tokens);
                    tracing::debug!(cost_usd = c.cost_usd, "chat completion finished");
                }
                Err(e) => {
                    span.record("error.type", e.kind.name());
                    if let Some(status) = e.status {
                        span.record("http.response.status_code", status);
                    }
                    tracing::debug!(request_id = e.request_id.as_deref(), "chat completion failed: {}", e.message);
                }
            }
            result
        }
        .instrument(span)
        .await
    }

    async fn stream(&self, req: CompletionRequest) -> Result<CompletionStream, ProviderError> {
        Ok(stream_from_completion(self.complete(req).await?))
    }
}
