//! [`ProviderStack`]: builds a provider wrapped in layers, in a fixed, documented order.

use super::retrying;
use super::{BudgetLayer, CostMeter, IdleLimits, IdleWatchdog, PriceTable, Retry, RetryPolicy, SharedBudget};
use crate::cassette::{
    CassetteError, RecordingProvider, ReplayMatch, ReplayMismatchLog, ReplayOrRecordProvider, ReplayProvider,
};
use agent_core::event::TaskId;
use agent_core::provider::ProviderId;
use agent_core::{Journal, LlmProvider};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A stack could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StackError {
    /// The cassette could not be opened.
    #[error(transparent)]
    Cassette(#[from] CassetteError),
    /// [`retry`](ProviderStack::retry) was asked for around a provider that
    /// already retries on its own: a cascade whose members were built with a
    /// retry, or a stack built with one. Each attempt of the outer retry
    /// would run every inner retry again (N×M attempts for one 500). Retry
    /// either in the members (a 500 is retried on the same provider before
    /// the cascade moves on) or around the cascade (the cascade moves on at
    /// once and the whole cascade is retried), not both.
    #[error(
        "{provider} already retries on its own ({}): a retry around it would multiply the attempts; \
         retry either inside (per member) or outside, not both",
        retrying.iter().map(ProviderId::as_str).collect::<Vec<_>>().join(", ")
    )]
    DoubleRetry {
        /// The provider the retry was asked around.
        provider: ProviderId,
        /// The providers inside it that retry on their own.
        retrying: Vec<ProviderId>,
    },
}

#[derive(Debug)]
enum Idle {
    Fixed(Duration),
    Limits(IdleLimits),
}

#[derive(Debug)]
enum CassetteMode {
    Record(PathBuf),
    Replay(PathBuf, ReplayMatch),
    ReplayOrRecord(PathBuf),
}

struct Meter {
    table: PriceTable,
    journal: Arc<dyn Journal>,
    task: TaskId,
}

/// Builds `Retry(Budget(CostMeter(Cassette(IdleWatchdog(provider)))))` from the
/// layers asked for; the order does not depend on the order of the calls.
///
/// Outermost first, and why:
/// 1. [`Retry`]: every attempt passes through all the layers below, so each
///    retry is checked against the budget, priced and journaled as the call it is.
/// 2. [`BudgetLayer`]: refuses before anything is sent or recorded; it sits
///    outside the cost meter so that it records the cost the meter computed.
/// 3. [`CostMeter`]: outside the cassette, so a replayed run journals the
///    same tokens and cost as the live run it replays (with replay latency).
/// 4. Cassette ([`RecordingProvider`], [`ReplayProvider`],
///    [`ReplayOrRecordProvider`]): records exactly what the provider (with its
///    watchdog) yielded. In replay mode the provider is never called and no
///    watchdog is needed; the replay answers under the provider's id.
/// 5. [`IdleWatchdog`]: directly around the provider, since a stall is a
///    property of the connection; its timeout is then retried by `Retry`.
///
/// For several providers, build a stack per provider without `retry` and
/// `budget` (`CostMeter(Cassette(IdleWatchdog(p)))`, so every attempt is
/// journaled under its provider), put them in a [`Cascade`](super::Cascade),
/// and wrap the cascade in a stack with `budget` and `retry`: a retry inside
/// a cascade member would sleep on a rate limit instead of moving to the next
/// provider at once, while outside it waits only when every provider is
/// cooling down (the cascade then answers `RateLimited` with the wait).
///
/// # No double retry
///
/// Retry in the members or around the cascade, never both: with both, each
/// outer attempt runs every member's retries again, and one HTTP 500 costs
/// N×M attempts. The builder refuses that combination: [`build`](Self::build)
/// answers [`StackError::DoubleRetry`] when `retry` is asked for around a
/// provider that already retries — a [`Cascade`](super::Cascade) with a
/// member built by a stack with `retry` (see
/// [`Cascade::retrying_members`](super::Cascade::retrying_members)), or a
/// stack built with `retry`, under any number of other layers. (It is
/// refused rather than silently flattened so that the policy a host asked
/// for is never dropped unseen.) Providers wrapped by hand in
/// [`Retry::new`] are not tracked.
///
/// # Idle limit
///
/// [`idle_timeout`](Self::idle_timeout) sets a fixed limit;
/// [`idle_limits`](Self::idle_limits) takes it from [`IdleLimits`] by the
/// provider's id and [`capabilities`](LlmProvider::capabilities): 120 s by
/// default, 300 s for a reasoning model, overridable per provider id or kind.
/// Reasoning progress counts as activity (see [`IdleWatchdog`]).
///
/// # Cassettes
///
/// Stacks recording into the same file share one writer (see
/// [`CassetteWriter`](crate::cassette::CassetteWriter)); recordings are keyed
/// with the provider's [`endpoint`](LlmProvider::endpoint), and a replay
/// answers with the base provider's id, endpoint and capabilities.
///
/// ```
/// use agent_core::budget::Budget;
/// use agent_core::LlmProvider;
/// use agent_providers::layers::{Cascade, CascadeEntry, ProviderStack, RetryPolicy, SharedBudget};
/// use agent_providers::OpenAiProvider;
/// use std::{sync::Arc, time::Duration};
///
/// let member = |model: &str| {
///     ProviderStack::new(Arc::new(OpenAiProvider::new(model))).idle_timeout(Duration::from_secs(120)).build().unwrap()
/// };
/// let cascade = Arc::new(Cascade::new(vec![
///     (member("gpt-4.1-mini"), CascadeEntry::with_context_window(1_047_576)),
///     (member("gpt-4o-mini"), CascadeEntry::with_context_window(128_000)),
/// ]));
/// let provider = ProviderStack::new(cascade.clone())
///     .budget(SharedBudget::new(Budget::unlimited().with_max_tokens(200_000)))
///     .retry(RetryPolicy::default())
///     .build()
///     .unwrap();
/// assert_eq!(cascade.states().len(), 2);
/// # let _ = provider;
/// ```
pub struct ProviderStack {
    base: Arc<dyn LlmProvider>,
    cassette: Option<CassetteMode>,
    mismatch_log: Option<ReplayMismatchLog>,
    redactions: Vec<String>,
    idle: Option<Idle>,
    meter: Option<Meter>,
    purpose: Option<String>,
    budget: Option<SharedBudget>,
    retry: Option<RetryPolicy>,
}

impl std::fmt::Debug for ProviderStack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderStack")
            .field("base", self.base.id())
            .field("cassette", &self.cassette)
            .field("replay_mismatch_log", &self.mismatch_log.is_some())
            .field("idle", &self.idle)
            .field("cost_meter", &self.meter.is_some())
            .field("budget", &self.budget.is_some())
            .field("retry", &self.retry)
            .finish()
    }
}

impl ProviderStack {
    /// A stack around `base`, with no layers yet.
    pub fn new(base: Arc<dyn LlmProvider>) -> Self {
        Self {
            base,
            cassette: None,
            mismatch_log: None,
            redactions: Vec::new(),
            idle: None,
            meter: None,
            purpose: None,
            budget: None,
            retry: None,
        }
    }

    /// Records every call into the cassette at `path`.
    pub fn record(mut self, path: impl Into<PathBuf>) -> Self {
        self.cassette = Some(CassetteMode::Record(path.into()));
        self
    }

    /// Answers from the cassette at `path` only, matching requests strictly
    /// ([`ReplayMatch::Strict`]); a miss is an error naming the request.
    pub fn replay(self, path: impl Into<PathBuf>) -> Self {
        self.replay_with(path, ReplayMatch::Strict)
    }

    /// Answers from the cassette at `path` only, matching calls to
    /// recordings as `matching` says. With [`ReplayMatch::Sequential`] the
    /// Nth call gets the Nth interaction recorded for the provider's id and a
    /// request that differs is reported, not failed (see
    /// [sequential replay](crate::cassette#sequential-replay)); read the
    /// reports through [`replay_mismatch_log`](Self::replay_mismatch_log).
    pub fn replay_with(mut self, path: impl Into<PathBuf>, matching: ReplayMatch) -> Self {
        self.cassette = Some(CassetteMode::Replay(path.into(), matching));
        self
    }

    /// Where the replay reports requests that differ from their recordings
    /// (sequential replay only). Several stacks may share one log; without
    /// one, the mismatches are only logged with `tracing::warn!`.
    pub fn replay_mismatch_log(mut self, log: ReplayMismatchLog) -> Self {
        self.mismatch_log = Some(log);
        self
    }

    /// Answers from the cassette at `path` when it holds the request, else calls and records.
    pub fn replay_or_record(mut self, path: impl Into<PathBuf>) -> Self {
        self.cassette = Some(CassetteMode::ReplayOrRecord(path.into()));
        self
    }

    /// Strings replaced with `[REDACTED]` in what is recorded.
    pub fn redact(mut self, secrets: Vec<String>) -> Self {
        self.redactions = secrets;
        self
    }

    /// Ends a stream that yields no event for `idle` (a fixed limit).
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.idle = Some(Idle::Fixed(idle));
        self
    }

    /// Ends a stream that yields no event for the limit `limits` give the
    /// base provider ([`IdleLimits::for_provider`]: an override for its id
    /// or kind, else by whether its capabilities say it reasons).
    pub fn idle_limits(mut self, limits: IdleLimits) -> Self {
        self.idle = Some(Idle::Limits(limits));
        self
    }

    /// Prices calls from `table` and journals each into `journal` under `task`.
    pub fn cost_meter(mut self, table: PriceTable, journal: Arc<dyn Journal>, task: TaskId) -> Self {
        self.meter = Some(Meter { table, journal, task });
        self
    }

    /// Sets the purpose the cost meter writes in its events (default `provider_call`).
    pub fn purpose(mut self, purpose: impl Into<String>) -> Self {
        self.purpose = Some(purpose.into());
        self
    }

    /// Enforces a task's budget before each call.
    pub fn budget(mut self, budget: SharedBudget) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Retries transient failures with `policy`. Refused at
    /// [`build`](Self::build) when the base already retries (see
    /// [No double retry](Self#no-double-retry)).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// The provider with its layers, in the order documented on [`ProviderStack`].
    ///
    /// # Errors
    /// [`StackError::Cassette`] when the cassette cannot be opened;
    /// [`StackError::DoubleRetry`] when `retry` was asked for around a
    /// provider that already retries.
    pub fn build(self) -> Result<Arc<dyn LlmProvider>, StackError> {
        let already_retrying = retrying::retrying_inside(&self.base);
        if self.retry.is_some() && !already_retrying.is_empty() {
            return Err(StackError::DoubleRetry { provider: self.base.id().clone(), retrying: already_retrying });
        }
        let retries = self.retry.is_some() || !already_retrying.is_empty();
        let mut p: Arc<dyn LlmProvider> = self.base;
        let replaying = matches!(self.cassette, Some(CassetteMode::Replay(..)));
        match (self.idle, replaying) {
            (Some(Idle::Fixed(idle)), false) => p = Arc::new(IdleWatchdog::new(p, idle)),
            (Some(Idle::Limits(limits)), false) => p = Arc::new(IdleWatchdog::with_limits(p, &limits)),
            _ => {}
        }
        p = match self.cassette {
            None => p,
            Some(CassetteMode::Record(path)) => {
                Arc::new(RecordingProvider::new(p, path)?.with_redactions(self.redactions))
            }
            Some(CassetteMode::Replay(path, matching)) => {
                let replay = ReplayProvider::open(path, p.id().clone())?
                    .with_match(matching)
                    .with_endpoint(p.endpoint())
                    .with_capabilities(p.capabilities());
                Arc::new(match self.mismatch_log {
                    Some(log) => replay.with_mismatch_log(log),
                    None => replay,
                })
            }
            Some(CassetteMode::ReplayOrRecord(path)) => {
                Arc::new(ReplayOrRecordProvider::new(p, path)?.with_redactions(self.redactions))
            }
        };
        if let Some(m) = self.meter {
            let meter = CostMeter::new(p, m.table, m.journal, m.task);
            p = Arc::new(match self.purpose {
                Some(purpose) => meter.with_purpose(purpose),
                None => meter,
            });
        }
        if let Some(budget) = self.budget {
            p = Arc::new(BudgetLayer::new(p, budget));
        }
        if let Some(policy) = self.retry {
            p = Arc::new(Retry::new(p, policy));
        }
        if retries {
            retrying::mark_retrying(&p);
        }
        Ok(p)
    }
}
