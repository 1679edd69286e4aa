//! [`ReplayProvider`]: answers from a cassette, without a network.
// `ProviderError` is the error type of the `LlmProvider` trait; its size is not ours to change.
#![allow(clippy::result_large_err)]

use super::{Cassette, CassetteError, Index, RecordedOutcome, outcome_to_completion, outcome_to_stream, request_key};
use agent_core::provider::{
    Completion, CompletionRequest, CompletionStream, ProviderError, ProviderErrorKind, ProviderId, Role,
};
use agent_core::{LlmProvider, async_trait};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// How many characters of the last user message a miss quotes.
const SNIPPET_CHARS: usize = 120;

/// An [`LlmProvider`] that answers from a cassette written by
/// [`RecordingProvider`](super::RecordingProvider).
///
/// A request is looked up by [`request_key`] under this provider's id (give
/// the id the recording provider had). A key recorded several times is
/// answered in recorded order, then the last answer repeats. A recorded
/// error is returned as that error. A request that was never recorded fails
/// with [`ProviderErrorKind::NotRecorded`], whose message quotes the request,
/// its key, the cassette path and its size. Completions come back with
/// `provider` set to this provider's id. A recorded stream replays to
/// `stream` as the same events (then its error, if it ended with one).
#[derive(Debug)]
pub struct ReplayProvider {
    id: ProviderId,
    path: PathBuf,
    interactions: usize,
    index: Mutex<Index>,
}

impl ReplayProvider {
    /// Opens the cassette at `path`, replaying as provider `id`.
    pub fn open(path: impl AsRef<Path>, id: ProviderId) -> Result<Self, CassetteError> {
        let path = path.as_ref().to_owned();
        let cassette = Cassette::load(&path)?;
        let index = Mutex::new(Index::new(&cassette));
        Ok(Self { id, path, interactions: cassette.interactions.len(), index })
    }

    /// The cassette file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many calls the cassette holds.
    pub fn interaction_count(&self) -> usize {
        self.interactions
    }

    fn not_recorded(&self, req: &CompletionRequest, key: String) -> ProviderError {
        let message = format!(
            "no recording for request {:?} (key {key}) in cassette {} ({} interactions); record it again",
            snippet(req),
            self.path.display(),
            self.interaction_count(),
        );
        ProviderError::new(ProviderErrorKind::NotRecorded { request_hash: key }, self.id.clone(), message)
    }
}

/// The first characters of the last user message (or of the last message).
fn snippet(req: &CompletionRequest) -> String {
    let message = req.messages.iter().rev().find(|m| m.role == Role::User).or(req.messages.last());
    let text = message.map_or("", |m| m.content.as_str()).split_whitespace().collect::<Vec<_>>().join(" ");
    match text.char_indices().nth(SNIPPET_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

#[async_trait]
impl LlmProvider for ReplayProvider {
    fn id(&self) -> &ProviderId {
        &self.id
    }

    async fn complete(&self, req: CompletionRequest) -> Result<Completion, ProviderError> {
        outcome_to_completion(self.lookup(&req)?, &self.id)
    }

    async fn stream(&self, req: CompletionRequest) -> Result<CompletionStream, ProviderError> {
        outcome_to_stream(self.lookup(&req)?, &self.id)
    }
}

impl ReplayProvider {
    fn lookup(&self, req: &CompletionRequest) -> Result<RecordedOutcome, ProviderError> {
        let key = request_key(&self.id, req);
        let found = self.index.lock().unwrap_or_else(std::sync::PoisonError::into_inner).next(&key);
        found.ok_or_else(|| self.not_recorded(req, key))
    }
}
