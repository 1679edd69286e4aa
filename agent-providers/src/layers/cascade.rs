//! [`Cascade`]: ordered providers, each with a state the host can see.

use super::first_event;
use super::retrying;
use agent_core::event::unix_ms_now;
use agent_core::provider::{
    Completion, CompletionRequest, CompletionStream, ModelCapabilities, ProviderError, ProviderErrorKind, ProviderId,
};
use agent_core::{LlmProvider, async_trait};
use futures::FutureExt;
use futures::future::BoxFuture;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

/// What the cascade knows about one of its providers besides the provider itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CascadeEntry {
    /// The model's context window in tokens, when known. A request that is
    /// too long for a provider goes only to later providers whose window is
    /// known and larger. When `None`, the cascade takes the window from the
    /// provider's [`capabilities`](LlmProvider::capabilities), if it has any.
    pub context_window: Option<u64>,
}

impl CascadeEntry {
    /// An entry with no known context window.
    pub fn new() -> Self {
        Self::default()
    }
    /// An entry with this context window, in tokens.
    pub fn with_context_window(tokens: u64) -> Self {
        Self { context_window: Some(tokens) }
    }
}

/// Settings of a [`Cascade`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CascadePolicy {
    /// How long a rate-limited provider cools down when it did not say (default 5 s).
    /// (An overloaded provider that did not say is not cooled down.)
    pub default_cooldown: Duration,
}

impl Default for CascadePolicy {
    fn default() -> Self {
        Self { default_cooldown: Duration::from_secs(5) }
    }
}

/// The state of one provider of a cascade.
///
/// Instants are `tokio::time::Instant`s, so they follow tokio's paused
/// clock in tests; [`ProviderState::until_unix_ms`] converts to wall time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProviderState {
    /// Tried in turn.
    Healthy,
    /// Rate limited, or overloaded with a retry-after: skipped until this
    /// instant, then healthy again.
    CoolingUntil(Instant),
    /// Quota or spend limit reached: skipped until its reset time when the
    /// provider gave one, else for the life of the cascade.
    Exhausted {
        /// When the quota resets, if the provider said.
        until: Option<Instant>,
    },
}

impl ProviderState {
    /// When this state ends, as Unix milliseconds (`None`: healthy, or exhausted for good).
    pub fn until_unix_ms(&self) -> Option<u64> {
        let until = match self {
            Self::Healthy | Self::Exhausted { until: None } => return None,
            Self::CoolingUntil(t) | Self::Exhausted { until: Some(t) } => *t,
        };
        let remaining = until.saturating_duration_since(Instant::now());
        Some(unix_ms_now().saturating_add(u64::try_from(remaining.as_millis()).unwrap_or(u64::MAX)))
    }
}

/// One provider of a cascade and its state, as [`Cascade::states`] reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProviderStatus {
    /// The provider.
    pub provider: ProviderId,
    /// Its context window, when known.
    pub context_window: Option<u64>,
    /// Its state now.
    pub state: ProviderState,
}

/// What happened to one provider during one call.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttemptOutcome {
    /// It answered (for a stream: its first event arrived).
    Answered,
    /// It was called and failed with this class.
    Failed(ProviderErrorKind),
    /// Not called: cooling down after a rate limit (or an overload with a retry-after).
    SkippedCooling,
    /// Not called: its quota is exhausted.
    SkippedExhausted,
    /// Not called: its context window is not larger than one that was already too small.
    SkippedContextWindow,
}

/// One entry of a call's attempt log.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CascadeAttempt {
    /// The provider.
    pub provider: ProviderId,
    /// What happened.
    pub outcome: AttemptOutcome,
}

struct Member {
    provider: Arc<dyn LlmProvider>,
    entry: CascadeEntry,
    state: Mutex<ProviderState>,
    /// Whether the current cool-down is for an overload (else a rate limit).
    overloaded: std::sync::atomic::AtomicBool,
}

impl Member {
    /// The state now; an expired cool-down or reset becomes healthy.
    fn state_now(&self, now: Instant) -> ProviderState {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let expired = match *state {
            ProviderState::CoolingUntil(t) | ProviderState::Exhausted { until: Some(t) } => t <= now,
            ProviderState::Healthy | ProviderState::Exhausted { until: None } => false,
        };
        if expired {
            *state = ProviderState::Healthy;
        }
        *state
    }

    fn set(&self, state: ProviderState) {
        *self.state.lock().unwrap_or_else(PoisonError::into_inner) = state;
    }

    fn cool(&self, until: Instant, overloaded: bool) {
        self.overloaded.store(overloaded, std::sync::atomic::Ordering::Relaxed);
        self.set(ProviderState::CoolingUntil(until));
    }

    fn cooling_for_overload(&self) -> bool {
        self.overloaded.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// An [`LlmProvider`] over ordered providers (usually each a
/// [`ProviderStack`](super::ProviderStack)), trying them in order:
///
/// | failure of a provider | the provider becomes | the call goes on with |
/// |---|---|---|
/// | `RateLimited` | cooling until now + `retry_after` (or [`CascadePolicy::default_cooldown`]) | the next provider, at once |
/// | `QuotaExhausted` | exhausted until its reset, or for the life of the cascade | the next provider, at once (no sleep) |
/// | `Overloaded` with a `retry_after` | cooling until now + `retry_after` | the next provider, at once |
/// | `Overloaded` without one, `ServerError` (5xx), `Transport`, `Timeout`, `Other`, `Auth` | unchanged | the next provider |
/// | `Unsupported` (this provider does not serve the model or a parameter of the request) | unchanged | the next provider, which may serve it |
/// | `ContextTooLong` | unchanged | the next provider whose known context window is larger (smaller ones are skipped) |
/// | `NotRecorded` (a replay miss; in [sequential replay](crate::cassette#sequential-replay), a provider with no recorded interaction left) | unchanged | the next provider: when a cascade was recorded, the answer sits under the provider that gave it |
/// | `InvalidRequest`, `Unparseable` | unchanged | nothing: the error is returned (the request is at fault) |
///
/// A stream falls over only before its first event: the cascade waits for
/// that event, and once it arrived, later errors reach the caller.
///
/// When no provider answers, the error is the last provider's error with the
/// attempt log in its message, except that when some provider is cooling
/// down it is `RateLimited` with `retry_after_ms` until the earliest
/// cool-down ends (so an outer [`Retry`](super::Retry) waits just that long;
/// `Overloaded` when every cooling provider is cooling for an overload),
/// and a `ContextTooLong` with no larger window left is returned as it is.
///
/// A member's context window is its [`CascadeEntry::context_window`], or else
/// the `context_window` of its provider's
/// [`capabilities`](LlmProvider::capabilities) (read once, when the cascade is made).
///
/// The cascade answers [`capabilities`](LlmProvider::capabilities) and
/// [`endpoint`](LlmProvider::endpoint) for the member about to serve: the
/// first one, in order, that is not cooling down or exhausted now (the first
/// member when every one is). That is the model the next call most likely
/// reaches, so a loop plans with its limits; a host that needs the smallest
/// window of all reads [`Cascade::states`].
///
/// A cascade knows which of its members retry on their own (those built by
/// a [`ProviderStack`](super::ProviderStack) with
/// [`retry`](super::ProviderStack::retry), [`Cascade::retrying_members`]); a
/// stack asked to retry around such a cascade refuses
/// ([`StackError::DoubleRetry`](super::StackError::DoubleRetry)).
///
/// The attempt log of a call is returned by [`Cascade::complete_with_attempts`]
/// and [`Cascade::stream_with_attempts`]; [`Cascade::last_attempts`] keeps
/// the log of the most recent call to finish. States are visible through
/// [`Cascade::states`].
pub struct Cascade {
    id: ProviderId,
    members: Vec<Member>,
    policy: CascadePolicy,
    last_attempts: Mutex<Vec<CascadeAttempt>>,
    retrying_members: Vec<ProviderId>,
}

impl Drop for Cascade {
    fn drop(&mut self) {
        retrying::unregister_cascade(&self.id);
    }
}

impl std::fmt::Debug for Cascade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cascade").field("id", &self.id).field("states", &self.states()).finish_non_exhaustive()
    }
}

impl Cascade {
    /// A cascade over `providers`, tried in this order.
    ///
    /// An entry without a context window takes the one of its provider's
    /// [`capabilities`](LlmProvider::capabilities), when it has any.
    pub fn new(providers: Vec<(Arc<dyn LlmProvider>, CascadeEntry)>) -> Self {
        let ids: Vec<&str> = providers.iter().map(|(p, _)| p.id().as_str()).collect();
        let id = ProviderId::new(format!("cascade:{}", ids.join(",")));
        let mut retrying_members = Vec::new();
        let members = providers
            .into_iter()
            .map(|(provider, mut entry)| {
                if entry.context_window.is_none() {
                    entry.context_window = provider.capabilities().map(|c| c.context_window);
                }
                if !retrying::retrying_inside(&provider).is_empty() {
                    retrying_members.push(provider.id().clone());
                }
                Member {
                    provider,
                    entry,
                    state: Mutex::new(ProviderState::Healthy),
                    overloaded: std::sync::atomic::AtomicBool::new(false),
                }
            })
            .collect();
        retrying::register_cascade(&id, &retrying_members);
        Self { id, members, policy: CascadePolicy::default(), last_attempts: Mutex::new(Vec::new()), retrying_members }
    }

    /// The members that retry on their own (built by a
    /// [`ProviderStack`](super::ProviderStack) with a retry, or cascades of
    /// such members), in cascade order.
    pub fn retrying_members(&self) -> &[ProviderId] {
        &self.retrying_members
    }

    /// The member about to serve: the first that is not cooling down or
    /// exhausted now, else the first.
    fn serving(&self) -> Option<&Member> {
        let now = Instant::now();
        self.members.iter().find(|m| m.state_now(now) == ProviderState::Healthy).or(self.members.first())
    }

    /// Sets the policy.
    pub fn with_policy(mut self, policy: CascadePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Sets the cascade's own id (default `cascade:ID1,ID2,…`).
    pub fn with_id(mut self, id: ProviderId) -> Self {
        retrying::unregister_cascade(&self.id);
        self.id = id;
        retrying::register_cascade(&self.id, &self.retrying_members);
        self
    }

    /// Every provider with its state now, in cascade order.
    pub fn states(&self) -> Vec<ProviderStatus> {
        let now = Instant::now();
        self.members
            .iter()
            .map(|m| ProviderStatus {
                provider: m.provider.id().clone(),
                context_window: m.entry.context_window,
                state: m.state_now(now),
            })
            .collect()
    }

    /// Makes a provider healthy again (for example after the host topped up
    /// its credit). Returns whether a provider has this id.
    pub fn mark_healthy(&self, provider: &ProviderId) -> bool {
        let mut found = false;
        for m in self.members.iter().filter(|m| m.provider.id() == provider) {
            m.set(ProviderState::Healthy);
            found = true;
        }
        found
    }

    /// The attempt log of the most recent call to finish.
    pub fn last_attempts(&self) -> Vec<CascadeAttempt> {
        self.last_attempts.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// A completion, with the attempt log of this call.
    pub async fn complete_with_attempts(
        &self,
        req: CompletionRequest,
    ) -> (Result<Completion, ProviderError>, Vec<CascadeAttempt>) {
        self.route(req, |p, req| async move { p.complete(req).await }.boxed()).await
    }

    /// A stream (its first event already received), with the attempt log of this call.
    pub async fn stream_with_attempts(
        &self,
        req: CompletionRequest,
    ) -> (Result<CompletionStream, ProviderError>, Vec<CascadeAttempt>) {
        self.route(req, |p, req| {
            async move {
                let stream = p.stream(req).await?;
                first_event(stream, p.id()).await
            }
            .boxed()
        })
        .await
    }

    async fn route<T, F>(&self, req: CompletionRequest, call: F) -> (Result<T, ProviderError>, Vec<CascadeAttempt>)
    where
        F: Fn(Arc<dyn LlmProvider>, CompletionRequest) -> BoxFuture<'static, Result<T, ProviderError>>,
    {
        let mut attempts = Vec::with_capacity(self.members.len());
        let result = self.try_in_order(req, &call, &mut attempts).await;
        *self.last_attempts.lock().unwrap_or_else(PoisonError::into_inner) = attempts.clone();
        (result, attempts)
    }

    async fn try_in_order<T, F>(
        &self,
        req: CompletionRequest,
        call: &F,
        attempts: &mut Vec<CascadeAttempt>,
    ) -> Result<T, ProviderError>
    where
        F: Fn(Arc<dyn LlmProvider>, CompletionRequest) -> BoxFuture<'static, Result<T, ProviderError>>,
    {
        // After a ContextTooLong: only windows larger than this are tried.
        let mut needs_window_above: Option<u64> = None;
        let mut last_error: Option<ProviderError> = None;
        for m in &self.members {
            let id = m.provider.id().clone();
            let skipped = match m.state_now(Instant::now()) {
                ProviderState::Healthy => None,
                ProviderState::CoolingUntil(_) => Some(AttemptOutcome::SkippedCooling),
                ProviderState::Exhausted { .. } => Some(AttemptOutcome::SkippedExhausted),
            };
            let skipped = skipped.or_else(|| {
                let too_small = needs_window_above.is_some_and(|w| m.entry.context_window.is_none_or(|cw| cw <= w));
                too_small.then_some(AttemptOutcome::SkippedContextWindow)
            });
            if let Some(outcome) = skipped {
                attempts.push(CascadeAttempt { provider: id, outcome });
                continue;
            }
            let error = match call(m.provider.clone(), req.clone()).await {
                Ok(answer) => {
                    attempts.push(CascadeAttempt { provider: id, outcome: AttemptOutcome::Answered });
                    return Ok(answer);
                }
                Err(e) => e,
            };
            attempts.push(CascadeAttempt { provider: id.clone(), outcome: AttemptOutcome::Failed(error.kind.clone()) });
            tracing::debug!(provider = %id, error.type = error.kind.name(), "cascade: provider failed");
            match &error.kind {
                ProviderErrorKind::RateLimited { retry_after_ms } => {
                    let cool = retry_after_ms.map_or(self.policy.default_cooldown, Duration::from_millis);
                    m.cool(Instant::now() + cool, false);
                }
                // Overloaded for a time the provider named: not worth asking
                // again before then. Without a time, the next call tries it.
                ProviderErrorKind::Overloaded { retry_after_ms: Some(ms) } => {
                    m.cool(Instant::now() + Duration::from_millis(*ms), true);
                }
                ProviderErrorKind::QuotaExhausted { resets_at_unix_ms } => {
                    let until = resets_at_unix_ms
                        .map(|at| Instant::now() + Duration::from_millis(at.saturating_sub(unix_ms_now())));
                    m.set(ProviderState::Exhausted { until });
                }
                ProviderErrorKind::ContextTooLong => match m.entry.context_window {
                    Some(w) => needs_window_above = Some(needs_window_above.map_or(w, |n| n.max(w))),
                    // Without a known window no other provider is known to be larger.
                    None => return Err(self.exhausted_error(error, attempts)),
                },
                ProviderErrorKind::InvalidRequest | ProviderErrorKind::Unparseable => return Err(error),
                // Not the request's fault as such: the next provider may serve
                // the model or accept the parameter. The state stays healthy
                // (another request, without that parameter, may suit it).
                ProviderErrorKind::Unsupported { .. } => {}
                _ => {}
            }
            last_error = Some(error);
        }
        Err(self.final_error(last_error, attempts))
    }

    fn final_error(&self, last_error: Option<ProviderError>, attempts: &[CascadeAttempt]) -> ProviderError {
        if let Some(e) = &last_error {
            if e.kind == ProviderErrorKind::ContextTooLong {
                return self.exhausted_error(e.clone(), attempts);
            }
        }
        let now = Instant::now();
        let every_cooling_one_overloaded = self
            .members
            .iter()
            .filter(|m| matches!(m.state_now(now), ProviderState::CoolingUntil(_)))
            .all(Member::cooling_for_overload);
        let earliest = |cooling: bool| {
            self.members
                .iter()
                .filter_map(|m| match m.state_now(now) {
                    ProviderState::CoolingUntil(t) if cooling => Some(t),
                    ProviderState::Exhausted { until: Some(t) } if !cooling => Some(t),
                    _ => None,
                })
                .min()
        };
        if let Some(t) = earliest(true) {
            let wait = u64::try_from(t.saturating_duration_since(now).as_millis()).unwrap_or(u64::MAX);
            let retry_after_ms = Some(wait.max(1));
            let kind = if every_cooling_one_overloaded {
                ProviderErrorKind::Overloaded { retry_after_ms }
            } else {
                ProviderErrorKind::RateLimited { retry_after_ms }
            };
            return ProviderError::new(kind, self.id.clone(), self.summary("every provider is unavailable", attempts));
        }
        match last_error {
            Some(e) => self.exhausted_error(e, attempts),
            None => {
                let resets_at_unix_ms = earliest(false).map(|t| {
                    let remaining = u64::try_from(t.saturating_duration_since(now).as_millis()).unwrap_or(u64::MAX);
                    unix_ms_now().saturating_add(remaining)
                });
                let kind = ProviderErrorKind::QuotaExhausted { resets_at_unix_ms };
                ProviderError::new(kind, self.id.clone(), self.summary("every provider is exhausted", attempts))
            }
        }
    }

    fn exhausted_error(&self, mut error: ProviderError, attempts: &[CascadeAttempt]) -> ProviderError {
        error.message = format!("{}; last error: {}", self.summary("no provider answered", attempts), error.message);
        error
    }

    fn summary(&self, what: &str, attempts: &[CascadeAttempt]) -> String {
        let log: Vec<String> = attempts
            .iter()
            .map(|a| {
                let outcome = match &a.outcome {
                    AttemptOutcome::Answered => "answered".to_owned(),
                    AttemptOutcome::Failed(kind) => kind.name().to_owned(),
                    AttemptOutcome::SkippedCooling => "skipped (cooling down)".to_owned(),
                    AttemptOutcome::SkippedExhausted => "skipped (quota exhausted)".to_owned(),
                    AttemptOutcome::SkippedContextWindow => "skipped (context window too small)".to_owned(),
                };
                format!("{} → {outcome}", a.provider)
            })
            .collect();
        format!("{}: {what} ({})", self.id, log.join(", "))
    }
}

#[async_trait]
impl LlmProvider for Cascade {
    fn id(&self) -> &ProviderId {
        &self.id
    }

    /// The capabilities of the member about to serve (see [`Cascade`]).
    fn capabilities(&self) -> Option<ModelCapabilities> {
        self.serving().and_then(|m| m.provider.capabilities())
    }

    /// The endpoint of the member about to serve (see [`Cascade`]).
    fn endpoint(&self) -> Option<String> {
        self.serving().and_then(|m| m.provider.endpoint())
    }

    async fn complete(&self, req: CompletionRequest) -> Result<Completion, ProviderError> {
        self.complete_with_attempts(req).await.0
    }

    async fn stream(&self, req: CompletionRequest) -> Result<CompletionStream, ProviderError> {
        self.stream_with_attempts(req).await.0
    }
}
