//! [`RecordingProvider`]: calls a real provider and appends every call to a cassette.

use super::{Cassette, CassetteError, Interaction, RecordedOutcome, request_key};
use agent_core::{
    Completion, CompletionRequest, CompletionStream, LlmProvider, ProviderError, ProviderErrorKind, ProviderId,
    async_trait, stream_from_completion,
};
use serde_json::Value;
use std::path::{Path, PathBuf};
use tokio::sync::Mutex;

/// What a redacted string is replaced with in the cassette.
pub const REDACTED: &str = "[REDACTED]";

/// A layer that records every call of the provider it wraps into a cassette file.
///
/// Each [`complete`](LlmProvider::complete) calls the inner provider, appends
/// the request and its completion (or error) to the cassette and saves the
/// file atomically, then returns what the inner provider returned,
/// unredacted. Only the request and the answer are written, never headers or
/// keys. If the cassette cannot be written, the call fails with
/// [`ProviderErrorKind::Other`] so that a recording is never silently lost.
#[derive(Debug)]
pub struct RecordingProvider<P> {
    inner: P,
    path: PathBuf,
    redactions: Vec<String>,
    cassette: Mutex<Cassette>,
}

impl<P: LlmProvider> RecordingProvider<P> {
    /// Records `inner` into the cassette at `path`, appending to it if the file exists.
    pub fn new(inner: P, path: impl Into<PathBuf>) -> Result<Self, CassetteError> {
        let path = path.into();
        let cassette = Cassette::load_or_default(&path)?;
        Ok(Self { inner, path, redactions: Vec::new(), cassette: Mutex::new(cassette) })
    }

    /// Replaces each of these strings with `[REDACTED]` in everything written
    /// to the cassette (requests, answers, errors). Empty strings are ignored.
    pub fn with_redactions(mut self, secrets: Vec<String>) -> Self {
        self.redactions = secrets.into_iter().filter(|s| !s.is_empty()).collect();
        self
    }

    /// The cassette file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The wrapped provider.
    pub fn inner(&self) -> &P {
        &self.inner
    }

    fn redact(&self, interaction: Interaction) -> Result<Interaction, String> {
        if self.redactions.is_empty() {
            return Ok(interaction);
        }
        let key = interaction.key.clone();
        let mut value = serde_json::to_value(&interaction).map_err(|e| e.to_string())?;
        redact_value(&mut value, &self.redactions);
        let mut redacted: Interaction = serde_json::from_value(value).map_err(|e| e.to_string())?;
        redacted.key = key;
        Ok(redacted)
    }

    async fn record(&self, req: CompletionRequest, result: &Result<Completion, ProviderError>) -> Result<(), String> {
        let outcome = match result {
            Ok(completion) => RecordedOutcome::Response(completion.clone()),
            Err(error) => RecordedOutcome::Error(error.clone()),
        };
        let interaction = Interaction {
            key: request_key(self.inner.id(), &req),
            provider: self.inner.id().clone(),
            request: req,
            outcome,
        };
        let interaction = self.redact(interaction).map_err(|e| format!("could not redact the interaction: {e}"))?;
        let mut cassette = self.cassette.lock().await;
        cassette.interactions.push(interaction);
        cassette.save(&self.path).await.map_err(|e| e.to_string())
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

    async fn complete(&self, req: CompletionRequest) -> Result<Completion, ProviderError> {
        let result = self.inner.complete(req.clone()).await;
        if let Err(message) = self.record(req, &result).await {
            tracing::error!(cassette = %self.path.display(), "recording failed: {message}");
            return Err(ProviderError::new(
                ProviderErrorKind::Other,
                self.inner.id().clone(),
                format!("could not record into cassette {}: {message}", self.path.display()),
            ));
        }
        result
    }

    async fn stream(&self, req: CompletionRequest) -> Result<CompletionStream, ProviderError> {
        Ok(stream_from_completion(self.complete(req).await?))
    }
}
