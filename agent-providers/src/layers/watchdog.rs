//! [`IdleWatchdog`]: ends a stream that stops yielding events; [`IdleLimits`]:
//! how long that is, per provider.

use agent_core::provider::{
    Completion, CompletionRequest, CompletionStream, ModelCapabilities, ProviderError, ProviderErrorKind, ProviderId,
    ReasoningControl,
};
use agent_core::{LlmProvider, async_trait};
use futures::StreamExt;
use std::collections::BTreeMap;
use std::time::Duration;

/// How long a stream may go without an event, per provider.
///
/// The limit for a provider is, first match wins:
/// 1. an override for its exact id (`openai:o3`);
/// 2. an override for its kind (`ollama`, the part of the id before the first `:`);
/// 3. the `reasoning` field when its
///    [`capabilities`](LlmProvider::capabilities) say it is a reasoning model
///    (a [`ReasoningControl`] other than `None`): such a model may think for
///    minutes, and on a wire that does not stream its reasoning (OpenAI Chat
///    Completions for the o-series and gpt-5) nothing at all arrives meanwhile;
/// 4. the `default` field.
///
/// Defaults: 120 s ([`IdleLimits::DEFAULT`]) and 300 s for reasoning models
/// ([`IdleLimits::REASONING`]).
///
/// (`ModelCapabilities` carries no idle limit of its own; the capability
/// table only tells whether a model reasons. A per-model figure would be an
/// `agent-core` field.)
///
/// ```
/// use agent_providers::layers::IdleLimits;
/// use agent_core::provider::{ModelCapabilities, ProviderId, ReasoningControl};
/// use std::time::Duration;
///
/// let limits = IdleLimits::default().with_override("ollama", Duration::from_secs(900));
/// let reasoning = ModelCapabilities::new(400_000, 128_000).with_reasoning(ReasoningControl::Effort);
/// assert_eq!(limits.limit_for(&ProviderId::new("openai:gpt-5"), Some(&reasoning)), IdleLimits::REASONING);
/// assert_eq!(limits.limit_for(&ProviderId::new("openai:gpt-4.1-mini"), None), IdleLimits::DEFAULT);
/// assert_eq!(limits.limit_for(&ProviderId::new("ollama:qwen3:32b"), Some(&reasoning)), Duration::from_secs(900));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct IdleLimits {
    /// The limit for a model that is not known to reason.
    pub default: Duration,
    /// The limit for a reasoning model (its capabilities name a reasoning control).
    pub reasoning: Duration,
    /// Limits by provider id (`openai:o3`) or provider kind (`ollama`); they win over the others.
    pub overrides: BTreeMap<String, Duration>,
}

impl Default for IdleLimits {
    fn default() -> Self {
        Self { default: Self::DEFAULT, reasoning: Self::REASONING, overrides: BTreeMap::new() }
    }
}

impl IdleLimits {
    /// The default limit for models that are not known to reason: 120 s.
    pub const DEFAULT: Duration = Duration::from_secs(120);
    /// The default limit for reasoning models: 300 s.
    pub const REASONING: Duration = Duration::from_secs(300);

    /// Limits of `default` for every model, reasoning models included.
    pub fn uniform(default: Duration) -> Self {
        Self { default, reasoning: default, overrides: BTreeMap::new() }
    }

    /// Sets the limit for models that are not known to reason.
    pub fn with_default(mut self, default: Duration) -> Self {
        self.default = default;
        self
    }

    /// Sets the limit for reasoning models.
    pub fn with_reasoning(mut self, reasoning: Duration) -> Self {
        self.reasoning = reasoning;
        self
    }

    /// Sets the limit for a provider id (`openai:o3`) or a provider kind (`ollama`).
    pub fn with_override(mut self, provider: impl Into<String>, limit: Duration) -> Self {
        self.overrides.insert(provider.into(), limit);
        self
    }

    /// The limit for the provider `id` whose model has `capabilities`.
    pub fn limit_for(&self, id: &ProviderId, capabilities: Option<&ModelCapabilities>) -> Duration {
        if let Some(limit) = self.overrides.get(id.as_str()).or_else(|| self.overrides.get(id.kind())) {
            return *limit;
        }
        match capabilities {
            Some(caps) if caps.reasoning != ReasoningControl::None => self.reasoning,
            _ => self.default,
        }
    }

    /// The limit for `provider`, from its id and its capabilities.
    pub fn for_provider(&self, provider: &dyn LlmProvider) -> Duration {
        self.limit_for(provider.id(), provider.capabilities().as_ref())
    }
}

/// A layer that ends a stream with a [`ProviderErrorKind::Timeout`] error when
/// no event arrives for `idle` (and applies the same limit to the wait for
/// the stream to open).
///
/// Every [`StreamEvent`](agent_core::provider::StreamEvent) resets the timer:
/// text deltas, tool-call deltas, `Done`, and reasoning progress
/// ([`ReasoningDelta`](agent_core::provider::StreamEvent::ReasoningDelta),
/// even with empty text): a reasoning model that shows it is thinking is
/// alive, however long it thinks. Providers must not turn bare keep-alive
/// pings (SSE `: ping` comments, Anthropic `ping` events, empty chunks) into
/// events, so a connection kept open by pings alone with no data is still
/// seen as stalled — the stall that pings would otherwise hide for minutes.
/// After the timeout error the stream ends. `complete` is passed through
/// unchanged: a whole call is bounded by the provider's own request timeout.
///
/// The limit may be fixed ([`IdleWatchdog::new`]) or come from
/// [`IdleLimits`] by the provider's id and capabilities
/// ([`IdleWatchdog::with_limits`]).
#[derive(Debug)]
pub struct IdleWatchdog<P> {
    inner: P,
    idle: Duration,
}

impl<P: LlmProvider> IdleWatchdog<P> {
    /// Watches the streams of `inner`, allowing at most `idle` between events.
    pub fn new(inner: P, idle: Duration) -> Self {
        Self { inner, idle }
    }

    /// Watches the streams of `inner` with the limit `limits` give it
    /// ([`IdleLimits::for_provider`]), read once, now.
    pub fn with_limits(inner: P, limits: &IdleLimits) -> Self {
        let idle = limits.for_provider(&inner);
        Self { inner, idle }
    }

    /// The limit between two events.
    pub fn idle(&self) -> Duration {
        self.idle
    }

    /// The wrapped provider.
    pub fn inner(&self) -> &P {
        &self.inner
    }

    fn timeout_error(&self, what: &str) -> ProviderError {
        ProviderError::new(
            ProviderErrorKind::Timeout,
            self.inner.id().clone(),
            format!("{what} for {} ms (idle watchdog)", self.idle.as_millis()),
        )
    }
}

#[async_trait]
impl<P: LlmProvider> LlmProvider for IdleWatchdog<P> {
    fn id(&self) -> &ProviderId {
        self.inner.id()
    }

    fn capabilities(&self) -> Option<ModelCapabilities> {
        self.inner.capabilities()
    }

    fn endpoint(&self) -> Option<String> {
        self.inner.endpoint()
    }

    async fn complete(&self, req: CompletionRequest) -> Result<Completion, ProviderError> {
        self.inner.complete(req).await
    }

    async fn stream(&self, req: CompletionRequest) -> Result<CompletionStream, ProviderError> {
        let stream = match tokio::time::timeout(self.idle, self.inner.stream(req)).await {
            Ok(opened) => opened?,
            Err(_) => return Err(self.timeout_error("the stream did not open")),
        };
        let idle = self.idle;
        let stalled = self.timeout_error("no stream event");
        let watched = futures::stream::unfold(Some((stream, stalled)), move |state| async move {
            let (mut stream, stalled) = state?;
            match tokio::time::timeout(idle, stream.next()).await {
                Ok(Some(item)) => Some((item, Some((stream, stalled)))),
                Ok(None) => None,
                Err(_) => Some((Err(stalled), None)),
            }
        });
        Ok(Box::pin(watched))
    }
}
