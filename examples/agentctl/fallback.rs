//! A minimal ordered fallback over several providers, reporting every attempt.
//!
//! agent-providers grows a full cascade (cool-downs, quota tracking); this
//! keeps agentctl's `ask` and `repair` honest about which provider answered.

use agentkit::core::{
    Completion, CompletionRequest, CompletionStream, LlmProvider, ProviderError, ProviderErrorKind, ProviderId,
    StreamEvent, async_trait, stream_from_completion,
};
use futures::StreamExt;
use serde::Serialize;
use std::sync::Arc;

/// Receives streamed text as it arrives.
pub(crate) type DeltaSink = dyn Fn(&str) + Send + Sync;

/// One provider's try.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct AttemptRecord {
    /// The provider tried.
    pub(crate) provider: String,
    /// Whether it answered.
    pub(crate) ok: bool,
    /// The error class, when it failed.
    pub(crate) error_class: Option<String>,
    /// The error, when it failed.
    pub(crate) error: Option<String>,
}

/// The answer (if any) and every attempt.
pub(crate) struct FallbackResult {
    pub(crate) completion: Option<Completion>,
    pub(crate) attempts: Vec<AttemptRecord>,
    last_error: Option<ProviderError>,
}

/// Tries providers in order until one answers.
pub(crate) struct Fallback {
    providers: Vec<Arc<dyn LlmProvider>>,
}

impl Fallback {
    pub(crate) fn new(providers: Vec<Arc<dyn LlmProvider>>) -> Self {
        Self { providers }
    }

    /// Whether the next provider may succeed where this one failed.
    fn worth_trying_next(kind: &ProviderErrorKind) -> bool {
        !matches!(kind, ProviderErrorKind::InvalidRequest)
    }

    async fn one(
        provider: &dyn LlmProvider,
        req: CompletionRequest,
        stream: bool,
        on_delta: Option<&DeltaSink>,
    ) -> Result<Completion, ProviderError> {
        if !stream {
            return provider.complete(req).await;
        }
        let mut events = provider.stream(req).await?;
        let mut text = String::new();
        while let Some(event) = events.next().await {
            match event? {
                StreamEvent::Delta { text: piece } => {
                    if let Some(sink) = on_delta {
                        sink(&piece);
                    }
                    text.push_str(&piece);
                }
                StreamEvent::Done { completion } => return Ok(completion),
                _ => {}
            }
        }
        Err(ProviderError::new(
            ProviderErrorKind::Unparseable,
            provider.id().clone(),
            format!("stream ended before its terminal event after {} bytes", text.len()),
        ))
    }

    pub(crate) async fn complete_reporting(
        &self,
        req: CompletionRequest,
        stream: bool,
        on_delta: Option<&DeltaSink>,
    ) -> FallbackResult {
        let mut attempts = Vec::new();
        let mut last_error = None;
        for provider in &self.providers {
            match Self::one(provider.as_ref(), req.clone(), stream, on_delta).await {
                Ok(completion) => {
                    attempts.push(AttemptRecord {
                        provider: provider.id().to_string(),
                        ok: true,
                        error_class: None,
                        error: None,
                    });
                    return FallbackResult { completion: Some(completion), attempts, last_error: None };
                }
                Err(err) => {
                    attempts.push(AttemptRecord {
                        provider: provider.id().to_string(),
                        ok: false,
                        error_class: Some(err.kind.name().to_owned()),
                        error: Some(err.to_string()),
                    });
                    let next = Self::worth_trying_next(&err.kind);
                    last_error = Some(err);
                    if !next {
                        break;
                    }
                }
            }
        }
        FallbackResult { completion: None, attempts, last_error }
    }
}

#[async_trait]
impl LlmProvider for Fallback {
    fn id(&self) -> &ProviderId {
        static NONE: std::sync::OnceLock<ProviderId> = std::sync::OnceLock::new();
        self.providers.first().map_or_else(|| NONE.get_or_init(|| ProviderId::new("none:none")), |p| p.id())
    }

    async fn complete(&self, req: CompletionRequest) -> Result<Completion, ProviderError> {
        let result = self.complete_reporting(req, false, None).await;
        match (result.completion, result.last_error) {
            (Some(c), _) => Ok(c),
            (None, Some(e)) => Err(e),
            (None, None) => {
                Err(ProviderError::new(ProviderErrorKind::Other, self.id().clone(), "no provider configured"))
            }
        }
    }

    async fn stream(&self, req: CompletionRequest) -> Result<CompletionStream, ProviderError> {
        Ok(stream_from_completion(self.complete(req).await?))
    }
}
