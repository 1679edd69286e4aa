//! [`IdleWatchdog`]: ends a stream that stops yielding events.

use agent_core::provider::{
    Completion, CompletionRequest, CompletionStream, ProviderError, ProviderErrorKind, ProviderId,
};
use agent_core::{LlmProvider, async_trait};
use futures::StreamExt;
use std::time::Duration;

/// A layer that ends a stream with a [`ProviderErrorKind::Timeout`] error when
/// no event arrives for `idle` (and applies the same limit to the wait for
/// the stream to open).
///
/// Only [`StreamEvent`](agent_core::provider::StreamEvent)s reset the timer: text
/// deltas, tool-call deltas and `Done`. Providers must not turn keep-alive
/// pings (SSE `: ping` comments, Anthropic `ping` events, empty chunks) into
/// events, so a connection kept open by pings alone with no data is still
/// seen as stalled — the stall that pings would otherwise hide for minutes.
/// After the timeout error the stream ends. `complete` is passed through
/// unchanged: a whole call is bounded by the provider's own request timeout.
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
