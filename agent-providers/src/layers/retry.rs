//! [`Retry`]: tries transient failures again, honouring the provider's delay.

use super::first_event;
use agent_core::provider::{
    Completion, CompletionRequest, CompletionStream, ModelCapabilities, ProviderError, ProviderErrorKind, ProviderId,
};
use agent_core::{LlmProvider, async_trait};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Which transient classes [`Retry`] tries again. Permanent classes
/// (auth, invalid request, unsupported, context too long, quota exhausted,
/// unparseable, not recorded) are never retried, whatever these switches say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryClasses {
    /// [`ProviderErrorKind::RateLimited`].
    pub rate_limited: bool,
    /// [`ProviderErrorKind::Overloaded`].
    pub overloaded: bool,
    /// [`ProviderErrorKind::Transport`].
    pub transport: bool,
    /// [`ProviderErrorKind::Timeout`] (an idle stream, a slow answer).
    pub timeout: bool,
    /// [`ProviderErrorKind::ServerError`] (a 5xx other than 503/529).
    pub server_error: bool,
    /// [`ProviderErrorKind::Other`] (a failure with no further detail).
    pub other: bool,
}

impl Default for RetryClasses {
    fn default() -> Self {
        Self { rate_limited: true, overloaded: true, transport: true, timeout: true, server_error: true, other: true }
    }
}

impl RetryClasses {
    /// Whether `kind` is to be retried.
    pub fn allows(&self, kind: &ProviderErrorKind) -> bool {
        if !kind.is_transient() {
            return false;
        }
        match kind {
            ProviderErrorKind::RateLimited { .. } => self.rate_limited,
            ProviderErrorKind::Overloaded { .. } => self.overloaded,
            ProviderErrorKind::Transport => self.transport,
            ProviderErrorKind::Timeout => self.timeout,
            ProviderErrorKind::ServerError { .. } => self.server_error,
            ProviderErrorKind::Other => self.other,
            _ => false,
        }
    }
}

/// How [`Retry`] tries again.
///
/// The delay before attempt `n + 1` is the provider's `retry_after_ms` when it
/// gave one (rate limited, overloaded), exactly; else
/// `min(base_delay · 2^(n-1), max_delay)` with ± `jitter` (a fraction) applied.
/// A provider asking for more than `max_wait` is not waited for: the error is
/// returned at once, so a per-minute or per-day limit never parks the caller.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = never retry).
    pub max_attempts: u32,
    /// The first backoff delay.
    pub base_delay: Duration,
    /// The largest backoff delay.
    pub max_delay: Duration,
    /// The longest delay a provider may ask for and still be waited for.
    pub max_wait: Duration,
    /// Relative jitter of the backoff delay, 0.0 to 1.0 (0.2 = ±20 %).
    pub jitter: f64,
    /// Which transient classes are retried.
    pub classes: RetryClasses,
}

impl Default for RetryPolicy {
    /// 4 attempts, 500 ms · 2^n ± 20 %, capped at 8 s; waits at most 60 s when asked.
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_wait: Duration::from_secs(60),
            jitter: 0.2,
            classes: RetryClasses::default(),
        }
    }
}

impl RetryPolicy {
    /// Sets the number of attempts (the first included).
    pub fn with_max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }
    /// Sets the backoff: first delay and largest delay.
    pub fn with_backoff(mut self, base: Duration, max: Duration) -> Self {
        self.base_delay = base;
        self.max_delay = max;
        self
    }
    /// Sets the longest provider-asked delay that is waited for.
    pub fn with_max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }
    /// Sets the relative jitter (clamped to 0.0..=1.0).
    pub fn with_jitter(mut self, jitter: f64) -> Self {
        self.jitter = jitter.clamp(0.0, 1.0);
        self
    }
    /// Sets which transient classes are retried.
    pub fn with_classes(mut self, classes: RetryClasses) -> Self {
        self.classes = classes;
        self
    }

    /// The delay before the next attempt after `error` on attempt `attempt`
    /// (1-based), or `None` when the error must be returned.
    pub fn delay_after(&self, error: &ProviderError, attempt: u32) -> Option<Duration> {
        if attempt >= self.max_attempts || !self.classes.allows(&error.kind) {
            return None;
        }
        let asked = match &error.kind {
            ProviderErrorKind::RateLimited { retry_after_ms } | ProviderErrorKind::Overloaded { retry_after_ms } => {
                *retry_after_ms
            }
            _ => None,
        };
        if let Some(ms) = asked {
            let asked = Duration::from_millis(ms);
            return (asked <= self.max_wait).then_some(asked);
        }
        let exp = self.base_delay.saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
        let capped = exp.min(self.max_delay);
        Some(jittered(capped, self.jitter))
    }
}

fn jittered(d: Duration, jitter: f64) -> Duration {
    if jitter <= 0.0 {
        return d;
    }
    // A small splitmix64 generator seeded by a counter and the clock: jitter
    // only has to spread clients apart, not be unpredictable.
    static SEED: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let mut z = SEED.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed) ^ u64::from(nanos);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    let unit = (z >> 11) as f64 / (1u64 << 53) as f64; // [0, 1)
    let factor = 1.0 + jitter * (2.0 * unit - 1.0);
    d.mul_f64(factor.max(0.0))
}

/// A layer that tries transient failures again with a [`RetryPolicy`].
///
/// Never retries the permanent classes (auth, invalid request, context too
/// long, quota exhausted, …): the first such error is returned after one call.
/// A stream is retried only when it fails before its first event; once an
/// event was yielded, a later error reaches the caller as it is (the caller
/// may have shown the text already). Delays use `tokio::time::sleep`.
#[derive(Debug)]
pub struct Retry<P> {
    inner: P,
    policy: RetryPolicy,
}

impl<P: LlmProvider> Retry<P> {
    /// Retries `inner` with `policy`.
    pub fn new(inner: P, policy: RetryPolicy) -> Self {
        Self { inner, policy }
    }

    /// The wrapped provider.
    pub fn inner(&self) -> &P {
        &self.inner
    }

    async fn wait_or_give_up(&self, error: &ProviderError, attempt: u32) -> bool {
        match self.policy.delay_after(error, attempt) {
            Some(delay) => {
                tracing::debug!(
                    provider = %error.provider,
                    error.type = error.kind.name(),
                    attempt,
                    delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    "retrying after a transient error"
                );
                tokio::time::sleep(delay).await;
                true
            }
            None => false,
        }
    }
}

#[async_trait]
impl<P: LlmProvider> LlmProvider for Retry<P> {
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
        let mut attempt = 1;
        loop {
            match self.inner.complete(req.clone()).await {
                Ok(c) => return Ok(c),
                Err(e) => {
                    if !self.wait_or_give_up(&e, attempt).await {
                        return Err(e);
                    }
                }
            }
            attempt += 1;
        }
    }

    async fn stream(&self, req: CompletionRequest) -> Result<CompletionStream, ProviderError> {
        let mut attempt = 1;
        loop {
            let opened = match self.inner.stream(req.clone()).await {
                Ok(stream) => first_event(stream, self.inner.id()).await,
                Err(e) => Err(e),
            };
            match opened {
                Ok(stream) => return Ok(stream),
                Err(e) => {
                    if !self.wait_or_give_up(&e, attempt).await {
                        return Err(e);
                    }
                }
            }
            attempt += 1;
        }
    }
}
