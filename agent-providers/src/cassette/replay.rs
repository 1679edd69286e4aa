//! [`ReplayProvider`]: answers from a cassette, without a network.

use super::{Cassette, CassetteError, RecordedOutcome, request_key};
use agent_core::{
    Completion, CompletionRequest, CompletionStream, LlmProvider, ProviderError, ProviderErrorKind, ProviderId, Role,
    async_trait, stream_from_completion,
};
use std::collections::HashMap;
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
/// `provider` set to this provider's id.
#[derive(Debug)]
pub struct ReplayProvider {
    id: ProviderId,
    path: PathBuf,
    cassette: Cassette,
    by_key: HashMap<String, Vec<usize>>,
    served: Mutex<HashMap<String, usize>>,
}

impl ReplayProvider {
    /// Opens the cassette at `path`, replaying as provider `id`.
    pub fn open(path: impl AsRef<Path>, id: ProviderId) -> Result<Self, CassetteError> {
        let path = path.as_ref().to_owned();
        let cassette = Cassette::load(&path)?;
        let mut by_key: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, interaction) in cassette.interactions.iter().enumerate() {
            by_key.entry(interaction.key.clone()).or_default().push(i);
        }
        Ok(Self { id, path, cassette, by_key, served: Mutex::new(HashMap::new()) })
    }

    /// The cassette file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many calls the cassette holds.
    pub fn interaction_count(&self) -> usize {
        self.cassette.interactions.len()
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
        let key = request_key(&self.id, &req);
        let Some(indices) = self.by_key.get(&key).filter(|v| !v.is_empty()) else {
            return Err(self.not_recorded(&req, key));
        };
        let index = {
            let mut served = self.served.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let count = served.entry(key).or_insert(0);
            let index = indices[(*count).min(indices.len() - 1)];
            *count += 1;
            index
        };
        match &self.cassette.interactions[index].outcome {
            RecordedOutcome::Response(completion) => {
                let mut completion = completion.clone();
                completion.provider = self.id.clone();
                Ok(completion)
            }
            RecordedOutcome::Error(error) => Err(error.clone()),
        }
    }

    async fn stream(&self, req: CompletionRequest) -> Result<CompletionStream, ProviderError> {
        Ok(stream_from_completion(self.complete(req).await?))
    }
}
