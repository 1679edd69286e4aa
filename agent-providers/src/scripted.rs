//! [`ScriptedProvider`]: a test double that answers from a script (feature `test-utils`).
//!
//! ```
//! use agent_core::{CompletionRequest, LlmProvider, Message, ProviderErrorKind};
//! use agent_providers::{ScriptedProvider, ScriptedReply};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let provider = ScriptedProvider::new("openai:gpt-4.1-mini", vec![
//!     ScriptedReply::error(ProviderErrorKind::RateLimited { retry_after_ms: Some(10) }),
//!     ScriptedReply::text("fixed"),
//! ]);
//! let req = CompletionRequest::new(vec![Message::user("fix it")]);
//! assert!(provider.complete(req.clone()).await.is_err());
//! assert_eq!(provider.complete(req).await.unwrap().content, "fixed");
//! assert_eq!(provider.requests().len(), 2);
//! # });
//! ```

use crate::pricing;
use agent_core::{
    Completion, CompletionRequest, CompletionStream, LlmProvider, ProviderError, ProviderErrorKind, ProviderId, Usage,
    async_trait, stream_from_completion,
};
use std::sync::{Mutex, PoisonError};

/// One scripted answer.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ScriptedReply {
    /// A completion with this text and usage.
    Text {
        /// The answer text.
        content: String,
        /// The usage reported with it (and priced from the price table).
        usage: Usage,
    },
    /// A failure of this class.
    Error(ProviderErrorKind),
}

impl ScriptedReply {
    /// A completion with this text and no usage.
    pub fn text(content: impl Into<String>) -> Self {
        Self::Text { content: content.into(), usage: Usage::default() }
    }

    /// A completion with this text and usage.
    pub fn text_with_usage(content: impl Into<String>, usage: Usage) -> Self {
        Self::Text { content: content.into(), usage }
    }

    /// A failure of this class.
    pub fn error(kind: ProviderErrorKind) -> Self {
        Self::Error(kind)
    }
}

/// A test double: an [`LlmProvider`] that answers from a fixed script, in
/// order, and remembers every request it was asked.
///
/// Not a real model. When the script is used up every call fails with
/// [`ProviderErrorKind::Other`] and the message "script exhausted after N
/// replies". Costs come from the price table for the model part of the id
/// (`gpt-4.1-mini` in `openai:gpt-4.1-mini`).
#[derive(Debug)]
pub struct ScriptedProvider {
    id: ProviderId,
    replies: Vec<ScriptedReply>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    next: usize,
    requests: Vec<CompletionRequest>,
}

impl ScriptedProvider {
    /// A provider with this id answering `replies` in order.
    pub fn new(id: impl Into<ProviderId>, replies: Vec<ScriptedReply>) -> Self {
        Self { id: id.into(), replies, state: Mutex::new(State::default()) }
    }

    /// Every request asked so far, oldest first.
    pub fn requests(&self) -> Vec<CompletionRequest> {
        self.lock().requests.clone()
    }

    /// How many scripted replies are not used yet.
    pub fn remaining(&self) -> usize {
        self.replies.len().saturating_sub(self.lock().next)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl LlmProvider for ScriptedProvider {
    fn id(&self) -> &ProviderId {
        &self.id
    }

    async fn complete(&self, req: CompletionRequest) -> Result<Completion, ProviderError> {
        let reply = {
            let mut state = self.lock();
            state.requests.push(req);
            let reply = self.replies.get(state.next).cloned();
            state.next += 1;
            reply
        };
        match reply {
            Some(ScriptedReply::Text { content, usage }) => {
                let model = self.id.model();
                let mut completion = Completion::new(self.id.clone(), content)
                    .with_usage(usage)
                    .with_cost(pricing::cost_usd(model, &usage));
                completion.model = Some(model.to_owned());
                Ok(completion)
            }
            Some(ScriptedReply::Error(kind)) => {
                let message = format!("scripted {} error", kind.name());
                Err(ProviderError::new(kind, self.id.clone(), message))
            }
            None => Err(ProviderError::new(
                ProviderErrorKind::Other,
                self.id.clone(),
                format!("script exhausted after {} replies", self.replies.len()),
            )),
        }
    }

    async fn stream(&self, req: CompletionRequest) -> Result<CompletionStream, ProviderError> {
        Ok(stream_from_completion(self.complete(req).await?))
    }
}
