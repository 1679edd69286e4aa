//! [`RecordingProvider`]: calls a real provider and appends every call to a cassette.

use super::{Cassette, CassetteError, CassetteWriter, Interaction, RecordedOutcome, recording_stream};
use agent_core::provider::{
    Completion, CompletionRequest, CompletionStream, ModelCapabilities, ProviderError, ProviderErrorKind, ProviderId,
};
use agent_core::{LlmProvider, async_trait};
use futures::FutureExt;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What a redacted string is replaced with in the cassette (the same marker as in memory).
pub use agent_core::memory::REDACTED;

/// A layer that records every call of the provider it wraps into a cassette file.
///
/// Each [`complete`](LlmProvider::complete) calls the inner provider, appends
/// the request and its completion (or error) to the cassette, with the
/// provider's [`endpoint`](LlmProvider::endpoint), then returns what the
/// inner provider returned, unredacted. Only the request and the answer are
/// written, never headers or keys. If the cassette cannot be written, the
/// call fails with [`ProviderErrorKind::Other`] so that a recording is never
/// silently lost.
///
/// A [`stream`](LlmProvider::stream) passes the inner stream's events
/// through as they come and records them, with the error that ended the
/// stream if any, when the stream ends (a stream dropped before its end is
/// not recorded).
///
/// Recorders of the same file share the process's one
/// [`CassetteWriter`](super::CassetteWriter) for it, which appends; each
/// recorder keeps its own redactions.
#[derive(Debug)]
pub struct RecordingProvider<P> {
    inner: P,
    recorder: Arc<Recorder>,
}

/// One recorder's view of a cassette file: the shared writer and its own redactions.
#[derive(Debug)]
pub(crate) struct Recorder {
    path: PathBuf,
    redactions: std::sync::RwLock<Vec<String>>,
    writer: Arc<CassetteWriter>,
}

impl Recorder {
    /// Checks the cassette at `path` (when it exists) and takes the process's writer for it.
    pub(crate) fn open(path: PathBuf) -> Result<Self, CassetteError> {
        Cassette::load_or_default(&path)?;
        let writer = CassetteWriter::shared(&path)?;
        Ok(Self { path, redactions: std::sync::RwLock::default(), writer })
    }

    pub(crate) fn set_redactions(&self, secrets: Vec<String>) {
        *self.redactions.write().unwrap_or_else(std::sync::PoisonError::into_inner) =
            secrets.into_iter().filter(|s| !s.is_empty()).collect();
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn redact(&self, interaction: Interaction) -> Result<Interaction, String> {
        let redactions = self.redactions.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        if redactions.is_empty() {
            return Ok(interaction);
        }
        let key = interaction.key.clone();
        let mut value = serde_json::to_value(&interaction).map_err(|e| e.to_string())?;
        redact_value(&mut value, &redactions);
        let mut redacted: Interaction = serde_json::from_value(value).map_err(|e| e.to_string())?;
        redacted.key = key;
        Ok(redacted)
    }

    /// Appends one call (redacted) to the file.
    pub(crate) async fn record(
        &self,
        provider: &ProviderId,
        endpoint: Option<String>,
        req: CompletionRequest,
        outcome: RecordedOutcome,
    ) -> Result<(), String> {
        let interaction = Interaction::new(provider.clone(), endpoint, req, outcome);
        let interaction = self.redact(interaction).map_err(|e| format!("could not redact the interaction: {e}"))?;
        self.writer.append(&interaction).await.map_err(|e| e.to_string())
    }

    pub(crate) fn failure(&self, provider: &ProviderId, message: &str) -> ProviderError {
        tracing::error!(cassette = %self.path.display(), "recording failed: {message}");
        ProviderError::new(
            ProviderErrorKind::Other,
            provider.clone(),
            format!("could not record into cassette {}: {message}", self.path.display()),
        )
    }

    /// Records `stream` as it passes; see [`recording_stream`].
    pub(crate) fn record_stream(
        self: &Arc<Self>,
        provider: &ProviderId,
        endpoint: Option<String>,
        req: CompletionRequest,
        stream: CompletionStream,
    ) -> CompletionStream {
        let recorder = self.clone();
        let id = provider.clone();
        recording_stream(stream, provider.clone(), move |seen| {
            async move { recorder.record(&id, endpoint, req, RecordedOutcome::Stream(seen)).await }.boxed()
        })
    }
}

impl<P: LlmProvider> RecordingProvider<P> {
    /// Records `inner` into the cassette at `path`, appending to it if the file exists.
    pub fn new(inner: P, path: impl Into<PathBuf>) -> Result<Self, CassetteError> {
        Ok(Self { inner, recorder: Arc::new(Recorder::open(path.into())?) })
    }

    /// Replaces each of these strings with `[REDACTED]` in everything written
    /// to the cassette (requests, answers, errors). Empty strings are ignored.
    pub fn with_redactions(self, secrets: Vec<String>) -> Self {
        self.recorder.set_redactions(secrets);
        self
    }

    /// The cassette file.
    pub fn path(&self) -> &Path {
        self.recorder.path()
    }

    /// The wrapped provider.
    pub fn inner(&self) -> &P {
        &self.inner
    }
}

fn redact_value(value: &mut Value, secrets: &[String]) {
    let redact_str = |s: &str| secrets.iter().fold(s.to_owned(), |acc, secret| acc.replace(secret.as_str(), REDACTED));
    match value {
        Value::String(s) => {
            if secrets.iter().any(|secret| s.contains(secret.as_str())) {
                *s = redact_str(s);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| redact_value(v, secrets)),
        Value::Object(map) => {
            let entries = std::mem::take(map);
            for (k, mut v) in entries {
                redact_value(&mut v, secrets);
                map.insert(redact_str(&k), v);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

#[async_trait]
impl<P: LlmProvider> LlmProvider for RecordingProvider<P> {
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
        let result = self.inner.complete(req.clone()).await;
        let outcome = match &result {
            Ok(completion) => RecordedOutcome::Response(completion.clone()),
            Err(error) => RecordedOutcome::Error(error.clone()),
        };
        if let Err(message) = self.recorder.record(self.inner.id(), self.inner.endpoint(), req, outcome).await {
            return Err(self.recorder.failure(self.inner.id(), &message));
        }
        result
    }

    async fn stream(&self, req: CompletionRequest) -> Result<CompletionStream, ProviderError> {
        match self.inner.stream(req.clone()).await {
            Ok(stream) => Ok(self.recorder.record_stream(self.inner.id(), self.inner.endpoint(), req, stream)),
            Err(error) => {
                if let Err(message) = self
                    .recorder
                    .record(self.inner.id(), self.inner.endpoint(), req, RecordedOutcome::Error(error.clone()))
                    .await
                {
                    return Err(self.recorder.failure(self.inner.id(), &message));
                }
                Err(error)
            }
        }
    }
}
