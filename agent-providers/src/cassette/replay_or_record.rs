//! [`ReplayOrRecordProvider`]: replays what the cassette holds, records what it lacks.

use super::recording::Recorder;
use super::{CassetteError, Index, RecordedOutcome, outcome_to_completion, outcome_to_stream, request_key};
use agent_core::provider::{
    Completion, CompletionRequest, CompletionStream, ModelCapabilities, ProviderError, ProviderId,
};
use agent_core::{LlmProvider, async_trait};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

/// A layer that answers a request from the cassette when it was recorded
/// (a hit, in recorded order like [`ReplayProvider`](super::ReplayProvider)),
/// and otherwise calls the inner provider and records the call (a miss,
/// like [`RecordingProvider`](super::RecordingProvider)); the next identical
/// request is then a hit. Keys and headers are never written. Hits and
/// recordings are keyed with the inner provider's
/// [`endpoint`](LlmProvider::endpoint) as well as the request (see
/// [endpoints](super#endpoints)); the file is written through the process's
/// one [`CassetteWriter`](super::CassetteWriter) for it.
#[derive(Debug)]
pub struct ReplayOrRecordProvider<P> {
    inner: P,
    recorder: Arc<Recorder>,
    index: Arc<Mutex<Index>>,
}

impl<P: LlmProvider> ReplayOrRecordProvider<P> {
    /// Replays from, and records into, the cassette at `path` (created on the first miss).
    pub fn new(inner: P, path: impl Into<PathBuf>) -> Result<Self, CassetteError> {
        let path = path.into();
        let index = Index::new(&super::Cassette::load_or_default(&path)?);
        Ok(Self { inner, recorder: Arc::new(Recorder::open(path)?), index: Arc::new(Mutex::new(index)) })
    }

    /// Replaces each of these strings with `[REDACTED]` in what is recorded.
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

    fn lookup(&self, key: &str, endpoint: Option<&str>) -> Option<RecordedOutcome> {
        self.index.lock().unwrap_or_else(PoisonError::into_inner).next(key, endpoint)
    }
}

fn remember(index: &Mutex<Index>, key: String, endpoint: Option<String>, outcome: RecordedOutcome) {
    let mut index = index.lock().unwrap_or_else(PoisonError::into_inner);
    index.push(key.clone(), endpoint.clone(), outcome);
    // The call just made counts as served: the next identical request
    // replays it rather than a later recording.
    index.next(&key, endpoint.as_deref());
}

#[async_trait]
impl<P: LlmProvider> LlmProvider for ReplayOrRecordProvider<P> {
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
        let key = request_key(self.inner.id(), &req);
        let endpoint = self.inner.endpoint();
        if let Some(outcome) = self.lookup(&key, endpoint.as_deref()) {
            return outcome_to_completion(outcome, self.inner.id());
        }
        let result = self.inner.complete(req.clone()).await;
        let outcome = match &result {
            Ok(c) => RecordedOutcome::Response(c.clone()),
            Err(e) => RecordedOutcome::Error(e.clone()),
        };
        if let Err(message) = self.recorder.record(self.inner.id(), endpoint.clone(), req, outcome.clone()).await {
            return Err(self.recorder.failure(self.inner.id(), &message));
        }
        remember(&self.index, key, endpoint, outcome);
        result
    }

    async fn stream(&self, req: CompletionRequest) -> Result<CompletionStream, ProviderError> {
        let key = request_key(self.inner.id(), &req);
        let endpoint = self.inner.endpoint();
        if let Some(outcome) = self.lookup(&key, endpoint.as_deref()) {
            return outcome_to_stream(outcome, self.inner.id());
        }
        match self.inner.stream(req.clone()).await {
            Ok(stream) => {
                let recorder = self.recorder.clone();
                let index = self.index.clone();
                let id = self.inner.id().clone();
                Ok(super::recording_stream(stream, id.clone(), move |seen| {
                    Box::pin(async move {
                        let outcome = RecordedOutcome::Stream(seen);
                        recorder.record(&id, endpoint.clone(), req, outcome.clone()).await?;
                        remember(&index, key, endpoint, outcome);
                        Ok(())
                    })
                }))
            }
            Err(error) => {
                let outcome = RecordedOutcome::Error(error.clone());
                if let Err(message) =
                    self.recorder.record(self.inner.id(), endpoint.clone(), req, outcome.clone()).await
                {
                    return Err(self.recorder.failure(self.inner.id(), &message));
                }
                remember(&self.index, key, endpoint, outcome);
                Err(error)
            }
        }
    }
}
