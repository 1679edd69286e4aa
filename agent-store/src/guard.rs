//! [`LedgerGuard`]: a provider layer that asks the [`BudgetLedger`] before
//! every model call and records what the call cost.
//!
//! ```
//! use agent_core::provider::{CompletionRequest, Message, ProviderId};
//! use agent_core::LlmProvider;
//! use agent_core::budget::Usd;
//! use agent_store::{BudgetLedger, LedgerGuard, Scope, SpendScopes, Store};
//! use std::sync::Arc;
//! # struct Echo(ProviderId);
//! # #[agent_core::async_trait]
//! # impl LlmProvider for Echo {
//! #     fn id(&self) -> &ProviderId { &self.0 }
//! #     async fn complete(&self, _r: CompletionRequest) -> Result<agent_core::provider::Completion, agent_core::provider::ProviderError> {
//! #         let mut c = agent_core::provider::Completion::new(self.0.clone(), "hi"); c.cost_usd = Some(Usd::from_dollars(0.02)); Ok(c)
//! #     }
//! #     async fn stream(&self, _r: CompletionRequest) -> Result<agent_core::provider::CompletionStream, agent_core::provider::ProviderError> { unimplemented!() }
//! # }
//! # let dir = tempfile::tempdir().unwrap();
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let store = Arc::new(Store::open(&format!("sqlite://{}?mode=rwc", dir.path().join("g.db").display())).await.unwrap());
//! store.set_ceiling(Scope::Task, "t1", Usd::from_dollars(0.03)).await.unwrap();
//! let model: Arc<dyn LlmProvider> = Arc::new(Echo(ProviderId::new("openai:gpt-4.1-mini")));
//! let guarded = LedgerGuard::new(model, store.clone(), SpendScopes::new("t1", "w1", "repo", "acme"), Usd::from_dollars(0.01));
//! let req = CompletionRequest::new(vec![Message::user("hello")]);
//! assert!(guarded.complete(req.clone()).await.is_ok()); // 0.02 spent
//! assert!(guarded.complete(req.clone()).await.is_ok()); // 0.02 + 0.01 held <= 0.03: admitted, 0.04 spent
//! assert!(guarded.complete(req).await.is_err());        // refused before the call
//! assert_eq!(guarded.refusals(), 1);
//! # });
//! ```

use crate::{BudgetLedger, Spend, SpendScopes, StoreError};
use agent_core::LlmProvider;
use agent_core::budget::Usd;
use agent_core::provider::{
    Completion, CompletionRequest, CompletionStream, ProviderError, ProviderErrorKind, ProviderId,
};
use async_trait::async_trait;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Wraps a provider so that each call is admitted by the ledger first.
///
/// Before a call, `estimate_usd` is reserved against the task, worker,
/// repository and tenant (refused atomically across all workers when a
/// ceiling would be passed: the call is then not made and the error is
/// [`ProviderErrorKind::QuotaExhausted`], which the repair loop treats as a
/// stop). After a completed call the reservation is settled with the
/// completion's real cost and tokens; after a failed call it is released.
/// Streamed calls are charged the estimate (their usage arrives with the
/// stream's last event, after this layer has returned).
pub struct LedgerGuard {
    inner: Arc<dyn LlmProvider>,
    ledger: Arc<dyn BudgetLedger>,
    who: SpendScopes,
    estimate_usd: Usd,
    refusals: AtomicUsize,
}

impl LedgerGuard {
    /// Guards `inner` with `ledger`, charging calls to `who`, holding
    /// `estimate_usd` per call until its real cost is known.
    pub fn new(
        inner: Arc<dyn LlmProvider>,
        ledger: Arc<dyn BudgetLedger>,
        who: SpendScopes,
        estimate_usd: Usd,
    ) -> Self {
        Self { inner, ledger, who, estimate_usd, refusals: AtomicUsize::new(0) }
    }

    /// Calls refused because a ceiling would have been passed.
    pub fn refusals(&self) -> usize {
        self.refusals.load(Ordering::Relaxed)
    }

    fn refuse(&self, e: StoreError) -> ProviderError {
        let kind = match &e {
            StoreError::BudgetExceeded { .. } => {
                self.refusals.fetch_add(1, Ordering::Relaxed);
                ProviderErrorKind::QuotaExhausted { resets_at_unix_ms: None }
            }
            e if e.is_transient() => ProviderErrorKind::Transport,
            _ => ProviderErrorKind::Other,
        };
        ProviderError::new(kind, self.inner.id().clone(), format!("budget ledger: {e}"))
    }

    fn spend(&self, cost_usd: Usd, input: u64, output: u64, model: Option<&str>) -> Spend {
        let id = self.inner.id();
        Spend::new(id.kind(), model.unwrap_or(id.model()), cost_usd, input, output)
    }
}

#[async_trait]
impl LlmProvider for LedgerGuard {
    fn id(&self) -> &ProviderId {
        self.inner.id()
    }

    async fn complete(&self, req: CompletionRequest) -> Result<Completion, ProviderError> {
        let held = self.ledger.reserve(&self.who, self.estimate_usd).await.map_err(|e| self.refuse(e))?;
        match self.inner.complete(req).await {
            Ok(c) => {
                let spend = self.spend(
                    c.cost_usd.unwrap_or(Usd::ZERO),
                    c.usage.input_tokens,
                    c.usage.output_tokens,
                    c.model.as_deref(),
                );
                if let Err(e) = self.ledger.settle(&held, &spend).await {
                    tracing::warn!(error = %e, "could not record the cost of a model call");
                }
                Ok(c)
            }
            Err(err) => {
                if let Err(e) = self.ledger.release(&held).await {
                    tracing::warn!(error = %e, "could not release a budget reservation");
                }
                Err(err)
            }
        }
    }

    async fn stream(&self, req: CompletionRequest) -> Result<CompletionStream, ProviderError> {
        let held = self.ledger.reserve(&self.who, self.estimate_usd).await.map_err(|e| self.refuse(e))?;
        let result = self.inner.stream(req).await;
        let closed = match &result {
            Ok(_) => self.ledger.settle(&held, &self.spend(self.estimate_usd, 0, 0, None)).await,
            Err(_) => self.ledger.release(&held).await,
        };
        if let Err(e) = closed {
            tracing::warn!(error = %e, "could not close a budget reservation");
        }
        result
    }
}
