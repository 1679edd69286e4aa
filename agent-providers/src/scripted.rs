//! [`ScriptedProvider`]: a test double that answers from a script (feature `test-utils`).
//!
//! ```
//! use agent_core::provider::{CompletionRequest, Message, ProviderErrorKind};
//! use agent_core::LlmProvider;
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
//!
//! Replies may also be scripted streams ([`ScriptedReply::stream`]) whose
//! steps are events, errors, pauses or a stall, and any reply may be delayed
//! ([`ScriptedReply::delayed`]); pauses use `tokio::time`, so tests with
//! paused time run them instantly.

use crate::pricing;
use agent_core::provider::{
    Completion, CompletionRequest, CompletionStream, FinishReason, ModelCapabilities, ProviderError, ProviderErrorKind,
    ProviderId, StreamEvent, ToolCall, Usage, stream_from_completion,
};
use agent_core::{LlmProvider, async_trait};
use futures::StreamExt;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

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
    /// A completion that calls tools (with `content` as its text, often empty).
    ToolCalls {
        /// The answer text beside the calls.
        content: String,
        /// The calls, in order.
        calls: Vec<ToolCall>,
        /// The usage reported with it.
        usage: Usage,
    },
    /// A failure of this class.
    Error(ProviderErrorKind),
    /// A streamed answer: `stream` yields these steps in order. `complete`
    /// plays the steps and answers the `Done` event's completion (or the
    /// first error).
    Stream(Vec<StreamStep>),
    /// Another reply, given after this pause (`tokio::time::sleep`).
    Delayed(Duration, Box<ScriptedReply>),
}

/// One step of a scripted stream.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum StreamStep {
    /// The stream yields this event.
    Event(StreamEvent),
    /// The stream yields an error of this class (and then goes on with the next step).
    Error(ProviderErrorKind),
    /// The stream waits this long before the next step (`tokio::time::sleep`).
    Pause(Duration),
    /// The stream never yields again (a stalled connection kept open).
    Stall,
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

    /// A completion calling these tools, with this usage. Each call is
    /// `(name, arguments)`; their ids are `call_1`, `call_2`, … within the reply.
    pub fn tool_calls(calls: Vec<(&str, serde_json::Value)>, usage: Usage) -> Self {
        let calls = calls
            .into_iter()
            .enumerate()
            .map(|(i, (name, args))| ToolCall::new(format!("call_{}", i + 1), name, args.to_string()))
            .collect();
        Self::ToolCalls { content: String::new(), calls, usage }
    }

    /// A completion calling one tool `name` with `arguments`, with this usage.
    pub fn call(name: &str, arguments: serde_json::Value, usage: Usage) -> Self {
        Self::tool_calls(vec![(name, arguments)], usage)
    }

    /// A failure of this class.
    pub fn error(kind: ProviderErrorKind) -> Self {
        Self::Error(kind)
    }

    /// A scripted stream of these steps.
    pub fn stream(steps: Vec<StreamStep>) -> Self {
        Self::Stream(steps)
    }

    /// A stream of one text delta per piece, then `Done` with the joined text
    /// and this usage. `provider` names the `Done` completion's provider.
    pub fn text_stream(provider: impl Into<ProviderId>, pieces: &[&str], usage: Usage) -> Self {
        Self::Stream(text_stream_steps(provider, pieces, usage))
    }

    /// This reply, given after `delay`.
    pub fn delayed(delay: Duration, reply: ScriptedReply) -> Self {
        Self::Delayed(delay, Box::new(reply))
    }
}

/// The steps of a text stream: one delta per piece, then `Done` with the joined text and `usage`.
pub fn text_stream_steps(provider: impl Into<ProviderId>, pieces: &[&str], usage: Usage) -> Vec<StreamStep> {
    let provider = provider.into();
    let mut steps: Vec<StreamStep> =
        pieces.iter().map(|p| StreamStep::Event(StreamEvent::Delta { text: (*p).to_owned() })).collect();
    let mut completion = Completion::new(provider.clone(), pieces.concat()).with_usage(usage);
    completion.model = Some(provider.model().to_owned());
    steps.push(StreamStep::Event(StreamEvent::Done { completion }));
    steps
}

/// A test double: an [`LlmProvider`] that answers from a fixed script, in
/// order, and remembers every request it was asked.
///
/// Not a real model. When the script is used up every call fails with
/// [`ProviderErrorKind::Other`] and the message "script exhausted after N
/// replies". Costs come from the price table for the model part of the id
/// (`gpt-4.1-mini` in `openai:gpt-4.1-mini`).
///
/// It answers [`LlmProvider::capabilities`] and [`LlmProvider::endpoint`]
/// with what it was given ([`with_capabilities`](Self::with_capabilities),
/// [`with_endpoint`](Self::with_endpoint)), `None` by default, so that
/// layers that read them can be tested.
#[derive(Debug)]
pub struct ScriptedProvider {
    id: ProviderId,
    replies: Vec<ScriptedReply>,
    state: Mutex<State>,
    capabilities: Option<ModelCapabilities>,
    endpoint: Option<String>,
}

#[derive(Debug, Default)]
struct State {
    next: usize,
    requests: Vec<CompletionRequest>,
}

impl ScriptedProvider {
    /// A provider with this id answering `replies` in order.
    pub fn new(id: impl Into<ProviderId>, replies: Vec<ScriptedReply>) -> Self {
        Self { id: id.into(), replies, state: Mutex::new(State::default()), capabilities: None, endpoint: None }
    }

    /// Answers [`LlmProvider::capabilities`] with `capabilities`.
    pub fn with_capabilities(mut self, capabilities: ModelCapabilities) -> Self {
        self.capabilities = Some(capabilities);
        self
    }

    /// Answers [`LlmProvider::endpoint`] with `endpoint` (a base URL).
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
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

impl ScriptedProvider {
    /// Takes the next reply, remembering the request; unwraps delays (sleeping through them).
    async fn next_reply(&self, req: CompletionRequest) -> Result<ScriptedReply, ProviderError> {
        let reply = {
            let mut state = self.lock();
            state.requests.push(req);
            let reply = self.replies.get(state.next).cloned();
            state.next += 1;
            reply
        };
        let mut reply = reply.ok_or_else(|| {
            ProviderError::new(
                ProviderErrorKind::Other,
                self.id.clone(),
                format!("script exhausted after {} replies", self.replies.len()),
            )
        })?;
        while let ScriptedReply::Delayed(delay, inner) = reply {
            tokio::time::sleep(delay).await;
            reply = *inner;
        }
        Ok(reply)
    }

    fn error_of(&self, kind: ProviderErrorKind) -> ProviderError {
        let message = format!("scripted {} error", kind.name());
        ProviderError::new(kind, self.id.clone(), message)
    }

    fn text_completion(&self, content: String, usage: Usage) -> Completion {
        let model = self.id.model();
        let mut completion =
            Completion::new(self.id.clone(), content).with_usage(usage).with_cost(pricing::cost_usd(model, &usage));
        completion.model = Some(model.to_owned());
        completion
    }

    fn calls_completion(&self, content: String, calls: Vec<ToolCall>, usage: Usage) -> Completion {
        let mut completion = self.text_completion(content, usage).with_finish_reason(Some(FinishReason::ToolCalls));
        completion.tool_calls = calls;
        completion
    }

    fn steps_stream(&self, steps: Vec<StreamStep>) -> CompletionStream {
        let id = self.id.clone();
        let stream = futures::stream::unfold(steps.into_iter(), move |mut steps| {
            let id = id.clone();
            async move {
                loop {
                    match steps.next()? {
                        StreamStep::Event(event) => return Some((Ok(event), steps)),
                        StreamStep::Error(kind) => {
                            let message = format!("scripted {} error", kind.name());
                            return Some((Err(ProviderError::new(kind, id, message)), steps));
                        }
                        StreamStep::Pause(d) => tokio::time::sleep(d).await,
                        StreamStep::Stall => futures::future::pending::<()>().await,
                    }
                }
            }
        });
        Box::pin(stream)
    }
}

#[async_trait]
impl LlmProvider for ScriptedProvider {
    fn id(&self) -> &ProviderId {
        &self.id
    }

    fn capabilities(&self) -> Option<ModelCapabilities> {
        self.capabilities.clone()
    }

    fn endpoint(&self) -> Option<String> {
        self.endpoint.clone()
    }

    async fn complete(&self, req: CompletionRequest) -> Result<Completion, ProviderError> {
        match self.next_reply(req).await? {
            ScriptedReply::Text { content, usage } => Ok(self.text_completion(content, usage)),
            ScriptedReply::ToolCalls { content, calls, usage } => Ok(self.calls_completion(content, calls, usage)),
            ScriptedReply::Error(kind) => Err(self.error_of(kind)),
            ScriptedReply::Stream(steps) => {
                let mut stream = self.steps_stream(steps);
                while let Some(item) = stream.next().await {
                    if let StreamEvent::Done { completion } = item? {
                        return Ok(completion);
                    }
                }
                Err(ProviderError::new(
                    ProviderErrorKind::Transport,
                    self.id.clone(),
                    "scripted stream ended before Done",
                ))
            }
            ScriptedReply::Delayed(..) => unreachable!("next_reply unwraps delays"),
        }
    }

    async fn stream(&self, req: CompletionRequest) -> Result<CompletionStream, ProviderError> {
        match self.next_reply(req).await? {
            ScriptedReply::Text { content, usage } => Ok(stream_from_completion(self.text_completion(content, usage))),
            ScriptedReply::ToolCalls { content, calls, usage } => {
                Ok(stream_from_completion(self.calls_completion(content, calls, usage)))
            }
            ScriptedReply::Error(kind) => Err(self.error_of(kind)),
            ScriptedReply::Stream(steps) => Ok(self.steps_stream(steps)),
            ScriptedReply::Delayed(..) => unreachable!("next_reply unwraps delays"),
        }
    }
}
