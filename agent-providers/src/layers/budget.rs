//! [`BudgetLayer`]: refuses a call before it is sent once the task's budget is spent.

use agent_core::budget::{Budget, BudgetStop, BudgetTracker};
use agent_core::provider::{
    Completion, CompletionRequest, CompletionStream, ModelCapabilities, ProviderError, ProviderErrorKind, ProviderId,
    StreamEvent,
};
use agent_core::{LlmProvider, async_trait};
use futures::StreamExt;
use std::sync::{Arc, Mutex, PoisonError};

/// One task's budget, shared by every provider stack that serves the task.
///
/// Cloning shares the same tracker.
#[derive(Clone, Debug)]
pub struct SharedBudget(Arc<Mutex<BudgetTracker>>);

impl SharedBudget {
    /// Starts tracking `budget`.
    pub fn new(budget: Budget) -> Self {
        Self(Arc::new(Mutex::new(BudgetTracker::start(budget))))
    }

    /// Shares an existing tracker.
    pub fn from_tracker(tracker: Arc<Mutex<BudgetTracker>>) -> Self {
        Self(tracker)
    }

    /// A copy of the tracker now (turns, usage, cost spent).
    pub fn snapshot(&self) -> BudgetTracker {
        self.lock().clone()
    }

    /// Checks every limit.
    pub fn check(&self) -> Result<(), BudgetStop> {
        self.lock().check()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BudgetTracker> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, completion: &Completion) {
        self.lock().record(&completion.usage, completion.cost_usd);
    }

    fn record_failed(&self) {
        self.lock().record_failed_turn();
    }
}

/// A layer that checks a task's [`Budget`] (tokens, cost, turns, wall time)
/// before each call is sent, and records the call's usage and cost after.
///
/// A refusal is a [`ProviderErrorKind::QuotaExhausted`] error with no reset
/// time and the message `task budget exhausted: …` (naming the limit and the
/// figures): it is not transient, so [`Retry`](super::Retry) never retries
/// it, and the inner provider never sees the request. (A dedicated error
/// class would need an `agent-core` change; quota exhausted is what a spent
/// budget is, from the caller's side.)
///
/// The cost recorded is [`Completion::cost_usd`], so put the layer outside a
/// [`CostMeter`](super::CostMeter) (as [`ProviderStack`](super::ProviderStack)
/// does). Each call counts as one model turn; a failed call counts as a turn
/// with no usage. For a stream, usage is recorded when `Done` passes.
#[derive(Debug)]
pub struct BudgetLayer<P> {
    inner: P,
    budget: SharedBudget,
}

impl<P: LlmProvider> BudgetLayer<P> {
    /// Enforces `budget` on `inner`.
    pub fn new(inner: P, budget: SharedBudget) -> Self {
        Self { inner, budget }
    }

    /// The shared budget.
    pub fn budget(&self) -> &SharedBudget {
        &self.budget
    }

    /// The wrapped provider.
    pub fn inner(&self) -> &P {
        &self.inner
    }

    fn check(&self) -> Result<(), ProviderError> {
        self.budget.check().map_err(|stop| {
            ProviderError::new(
                ProviderErrorKind::QuotaExhausted { resets_at_unix_ms: None },
                self.inner.id().clone(),
                format!("task budget exhausted: {stop}"),
            )
        })
    }
}

#[async_trait]
impl<P: LlmProvider> LlmProvider for BudgetLayer<P> {
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
        self.check()?;
        let result = self.inner.complete(req).await;
        match &result {
            Ok(c) => self.budget.record(c),
            Err(_) => self.budget.record_failed(),
        }
        result
    }

    async fn stream(&self, req: CompletionRequest) -> Result<CompletionStream, ProviderError> {
        self.check()?;
        let stream = match self.inner.stream(req).await {
            Ok(s) => s,
            Err(e) => {
                self.budget.record_failed();
                return Err(e);
            }
        };
        let budget = self.budget.clone();
        Ok(Box::pin(stream.inspect(move |item| match item {
            Ok(StreamEvent::Done { completion }) => budget.record(completion),
            Err(_) => budget.record_failed(),
            Ok(_) => {}
        })))
    }
}
