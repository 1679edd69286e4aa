//! The [`LlmProvider`] trait and its error, [`ProviderError`].

use crate::provider::{Completion, CompletionRequest, CompletionStream, ModelCapabilities, ProviderId};
use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A language model behind some wire format, or a layer around another provider.
///
/// Errors are classified ([`ProviderErrorKind`]) so that layers (retry,
/// cascade, budget) act on the class without parsing strings.
///
/// ```
/// use agent_core::{async_trait, LlmProvider};
/// use agent_core::provider::{Completion, CompletionRequest, CompletionStream, ProviderError, ProviderId, stream_from_completion};
///
/// /// Answers every request with the same text.
/// struct Echo(ProviderId);
///
/// #[async_trait]
/// impl LlmProvider for Echo {
///     fn id(&self) -> &ProviderId { &self.0 }
///     async fn complete(&self, req: CompletionRequest) -> Result<Completion, ProviderError> {
///         let last = req.messages.last().map(|m| m.content.clone()).unwrap_or_default();
///         Ok(Completion::new(self.0.clone(), last))
///     }
///     async fn stream(&self, req: CompletionRequest) -> Result<CompletionStream, ProviderError> {
///         Ok(stream_from_completion(self.complete(req).await?))
///     }
/// }
///
/// # tokio_test_block(async {
/// let p: std::sync::Arc<dyn LlmProvider> = std::sync::Arc::new(Echo("echo:v1".into()));
/// let out = p.complete(CompletionRequest::new(vec![agent_core::provider::Message::user("hi")])).await.unwrap();
/// assert_eq!(out.content, "hi");
/// # });
/// # fn tokio_test_block<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[async_trait]
pub trait LlmProvider: Send + Sync {
    /// `KIND:MODEL`, e.g. `openai:gpt-4.1-mini`.
    fn id(&self) -> &ProviderId;
    /// One whole completion.
    async fn complete(&self, req: CompletionRequest) -> Result<Completion, ProviderError>;
    /// A streamed completion, ending with [`StreamEvent::Done`](crate::provider::StreamEvent::Done).
    async fn stream(&self, req: CompletionRequest) -> Result<CompletionStream, ProviderError>;
    /// What the model behind this provider accepts and can do, when known
    /// (a layer answers for the provider it wraps; a cascade for its first
    /// member). `None` by default.
    fn capabilities(&self) -> Option<ModelCapabilities> {
        None
    }
    /// The base URL requests go to (`https://api.openai.com/v1`), when the
    /// provider speaks HTTP; record/replay keys recordings with it. `None`
    /// by default.
    fn endpoint(&self) -> Option<String> {
        None
    }
}

#[async_trait]
impl<T: LlmProvider + ?Sized> LlmProvider for Arc<T> {
    fn id(&self) -> &ProviderId {
        (**self).id()
    }
    fn capabilities(&self) -> Option<ModelCapabilities> {
        (**self).capabilities()
    }
    fn endpoint(&self) -> Option<String> {
        (**self).endpoint()
    }
    async fn complete(&self, req: CompletionRequest) -> Result<Completion, ProviderError> {
        (**self).complete(req).await
    }
    async fn stream(&self, req: CompletionRequest) -> Result<CompletionStream, ProviderError> {
        (**self).stream(req).await
    }
}

#[async_trait]
impl<T: LlmProvider + ?Sized> LlmProvider for Box<T> {
    fn id(&self) -> &ProviderId {
        (**self).id()
    }
    fn capabilities(&self) -> Option<ModelCapabilities> {
        (**self).capabilities()
    }
    fn endpoint(&self) -> Option<String> {
        (**self).endpoint()
    }
    async fn complete(&self, req: CompletionRequest) -> Result<Completion, ProviderError> {
        (**self).complete(req).await
    }
    async fn stream(&self, req: CompletionRequest) -> Result<CompletionStream, ProviderError> {
        (**self).stream(req).await
    }
}

/// The class of a provider failure: what a layer should do about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "class", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProviderErrorKind {
    /// A short-term rate limit: wait `retry_after_ms` (when known) and try again.
    RateLimited {
        /// How long the provider asked to wait, in milliseconds.
        retry_after_ms: Option<u64>,
    },
    /// A quota or spend limit: waiting a few seconds cannot help.
    QuotaExhausted {
        /// When the quota resets, as Unix milliseconds, if the provider said.
        resets_at_unix_ms: Option<u64>,
    },
    /// The provider is overloaded (HTTP 529/503): try later or elsewhere.
    Overloaded {
        /// How long the provider asked to wait, in milliseconds.
        retry_after_ms: Option<u64>,
    },
    /// The prompt does not fit the model's context window.
    ContextTooLong,
    /// Missing, wrong or insufficient credentials.
    Auth,
    /// The request itself is wrong; sending it again gives the same answer.
    InvalidRequest,
    /// This provider does not serve the model or does not accept a parameter
    /// of the request (an OpenAI 400 `unsupported_parameter`/`unsupported_value`,
    /// a 404 for the model). Sending it again gives the same answer, but
    /// another provider may serve it: a cascade falls over to the next one.
    Unsupported {
        /// What is unsupported: `model`, or the parameter (`max_tokens`, `temperature`, `tools`, …).
        what: String,
    },
    /// The connection failed (DNS, TCP, TLS, reset).
    Transport,
    /// The provider did not answer in time.
    Timeout,
    /// The provider answered something this library cannot parse.
    Unparseable,
    /// A replay cassette has no recording for this request.
    NotRecorded {
        /// The hash the request was looked up under.
        request_hash: String,
    },
    /// The provider failed on its side (an HTTP 5xx other than 503/529, which
    /// are [`Overloaded`](Self::Overloaded)): try again.
    ServerError {
        /// The HTTP status (500 for an error event inside a stream that named no status).
        status: u16,
    },
    /// Any other failure.
    Other,
}

impl ProviderErrorKind {
    /// Whether sending the same request again later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::RateLimited { .. }
            | Self::Overloaded { .. }
            | Self::ServerError { .. }
            | Self::Transport
            | Self::Timeout
            | Self::Other => true,
            Self::QuotaExhausted { .. }
            | Self::ContextTooLong
            | Self::Auth
            | Self::InvalidRequest
            | Self::Unsupported { .. }
            | Self::Unparseable
            | Self::NotRecorded { .. } => false,
        }
    }

    /// A short stable name of the class (`rate_limited`, `quota_exhausted`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Self::RateLimited { .. } => "rate_limited",
            Self::QuotaExhausted { .. } => "quota_exhausted",
            Self::Overloaded { .. } => "overloaded",
            Self::ContextTooLong => "context_too_long",
            Self::Auth => "auth",
            Self::InvalidRequest => "invalid_request",
            Self::Unsupported { .. } => "unsupported",
            Self::Transport => "transport",
            Self::Timeout => "timeout",
            Self::Unparseable => "unparseable",
            Self::NotRecorded { .. } => "not_recorded",
            Self::ServerError { .. } => "server_error",
            Self::Other => "other",
        }
    }
}

/// A failed provider call: its class plus what the provider said.
#[derive(Clone, Debug, PartialEq, thiserror::Error, Serialize, Deserialize, JsonSchema)]
#[error("{provider}: {} error: {message}", kind.name())]
#[non_exhaustive]
pub struct ProviderError {
    /// What a layer should do about it.
    pub kind: ProviderErrorKind,
    /// The provider that failed.
    pub provider: ProviderId,
    /// A human-readable message.
    pub message: String,
    /// The HTTP status, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The provider's request id, when it sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The raw response body, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_body: Option<String>,
}

impl ProviderError {
    /// An error of this class with a message and no HTTP details.
    pub fn new(kind: ProviderErrorKind, provider: ProviderId, message: impl Into<String>) -> Self {
        Self { kind, provider, message: message.into(), status: None, request_id: None, raw_body: None }
    }

    /// Sets the HTTP status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// Sets the provider's request id.
    pub fn with_request_id(mut self, request_id: Option<String>) -> Self {
        self.request_id = request_id;
        self
    }

    /// Sets the raw body.
    pub fn with_raw_body(mut self, body: impl Into<String>) -> Self {
        self.raw_body = Some(body.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_errors_are_retried_and_unsupported_is_not() {
        assert!(ProviderErrorKind::ServerError { status: 500 }.is_transient());
        assert!(!ProviderErrorKind::Unsupported { what: "max_tokens".into() }.is_transient());
    }

    #[test]
    fn new_classes_have_stable_snake_case_json_names() {
        let server = ProviderErrorKind::ServerError { status: 502 };
        assert_eq!(serde_json::to_value(&server).unwrap(), serde_json::json!({"class": "server_error", "status": 502}));
        assert_eq!(server.name(), "server_error");
        let unsupported = ProviderErrorKind::Unsupported { what: "model".into() };
        assert_eq!(
            serde_json::to_value(&unsupported).unwrap(),
            serde_json::json!({"class": "unsupported", "what": "model"})
        );
        assert_eq!(unsupported.name(), "unsupported");
    }
}
