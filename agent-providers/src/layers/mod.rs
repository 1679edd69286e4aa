//! Provider layers: each is an [`LlmProvider`](agent_core::LlmProvider) around another, the way tower
//! layers wrap a service, and each handles both `complete` and `stream`.
//!
//! - [`Retry`]: tries a transient failure again with a [`RetryPolicy`],
//!   honouring the delay the provider asked for, never retrying permanent
//!   classes, and retrying a stream only before its first event.
//! - [`Cascade`]: ordered providers with per-provider state
//!   ([`ProviderState`]): rate-limited ones cool down, exhausted ones are
//!   skipped, context-too-long goes to a larger window, a stream falls over
//!   only before its first event.
//! - [`IdleWatchdog`]: a stream that yields no event for a while ends with a
//!   [`Timeout`](agent_core::provider::ProviderErrorKind::Timeout); reasoning
//!   progress counts as an event, and [`IdleLimits`] gives the limit per
//!   provider (longer for reasoning models).
//!
//! Every layer answers [`capabilities`](agent_core::LlmProvider::capabilities)
//! and [`endpoint`](agent_core::LlmProvider::endpoint) for the provider it
//! wraps; a cascade answers for the member about to serve.
//! - [`CostMeter`]: prices every call from a [`PriceTable`] and appends one
//!   [`EventKind::LlmCall`](agent_core::event::EventKind::LlmCall) per call to a journal.
//! - [`BudgetLayer`]: refuses a call before it is sent when the task's token
//!   or cost ceiling is reached ([`SharedBudget`]).
//! - [`ProviderStack`]: a builder that puts them in the documented order.
//!
//! ```
//! use agent_core::budget::Budget;
//! use agent_core::provider::{CompletionRequest, Message};
//! use agent_core::LlmProvider;
//! use agent_core::event::TaskId;
//! use agent_core::Journal;
//! use agent_loop::MemoryJournal;
//! use agent_providers::layers::{PriceTable, ProviderStack, RetryPolicy, SharedBudget};
//! use std::{sync::Arc, time::Duration};
//! # use agent_core::async_trait;
//! # use agent_core::provider::{Completion, CompletionStream, ProviderError, ProviderId, stream_from_completion};
//! # struct Echo(ProviderId);
//! # #[async_trait]
//! # impl LlmProvider for Echo {
//! #     fn id(&self) -> &ProviderId { &self.0 }
//! #     async fn complete(&self, r: CompletionRequest) -> Result<Completion, ProviderError> {
//! #         Ok(Completion::new(self.0.clone(), r.messages[0].content.clone()))
//! #     }
//! #     async fn stream(&self, r: CompletionRequest) -> Result<CompletionStream, ProviderError> {
//! #         Ok(stream_from_completion(self.complete(r).await?))
//! #     }
//! # }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let journal = Arc::new(MemoryJournal::default());
//! let provider = ProviderStack::new(Arc::new(Echo("openai:gpt-4.1-mini".into())))
//!     .idle_timeout(Duration::from_secs(120))
//!     .cost_meter(PriceTable::builtin(), journal.clone(), TaskId::new("t1"))
//!     .budget(SharedBudget::new(Budget::unlimited().with_max_cost(agent_core::budget::Usd::from_dollars(2.0))))
//!     .retry(RetryPolicy::default())
//!     .build()
//!     .unwrap();
//! let answer = provider.complete(CompletionRequest::new(vec![Message::user("hi")])).await.unwrap();
//! assert_eq!(answer.content, "hi");
//! assert_eq!(journal.events(&TaskId::new("t1")).await.unwrap().len(), 1);
//! # });
//! ```

mod budget;
mod builder;
mod cascade;
mod cost_meter;
mod retry;
mod retrying;
mod watchdog;

pub use budget::{BudgetLayer, SharedBudget};
pub use builder::{ProviderStack, StackError};
pub use cascade::{
    AttemptOutcome, Cascade, CascadeAttempt, CascadeEntry, CascadePolicy, ProviderState, ProviderStatus,
};
pub use cost_meter::{CostMeter, ModelPrice, PriceTable, PriceTableError, Unpriced, UnpricedCall, UnpricedLog};
pub use retry::{Retry, RetryClasses, RetryPolicy};
pub use watchdog::{IdleLimits, IdleWatchdog};

use agent_core::provider::{CompletionStream, ProviderError, ProviderErrorKind, ProviderId};
use futures::StreamExt;

/// Waits for a stream's first item, so that a failure before the first event
/// can be handled like a failed call (retried, or sent to another provider).
///
/// An error as first item is returned as `Err`; a stream that ends without any
/// item is a [`ProviderErrorKind::Transport`] error. Otherwise the returned
/// stream yields the first item again, then the rest.
pub(crate) async fn first_event(
    mut stream: CompletionStream,
    id: &ProviderId,
) -> Result<CompletionStream, ProviderError> {
    match stream.next().await {
        Some(Ok(event)) => Ok(Box::pin(futures::stream::once(async move { Ok(event) }).chain(stream))),
        Some(Err(e)) => Err(e),
        None => {
            Err(ProviderError::new(ProviderErrorKind::Transport, id.clone(), "stream ended before its first event"))
        }
    }
}
