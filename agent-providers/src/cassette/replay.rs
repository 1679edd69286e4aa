//! [`ReplayProvider`]: answers from a cassette, without a network.

use super::sequential::{ReplayMatch, ReplayMismatch, ReplayMismatchLog, first_difference};
use super::{
    Cassette, CassetteError, Index, Interaction, RecordedOutcome, endpoint_matches, outcome_to_completion,
    outcome_to_stream, request_key,
};
use agent_core::provider::{
    Completion, CompletionRequest, CompletionStream, ModelCapabilities, ProviderError, ProviderErrorKind, ProviderId,
    Role,
};
use agent_core::{LlmProvider, async_trait};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

/// How many characters of the last user message a miss quotes.
const SNIPPET_CHARS: usize = 120;

/// An [`LlmProvider`] that answers from a cassette written by
/// [`RecordingProvider`](super::RecordingProvider).
///
/// By default ([`ReplayMatch::Strict`]) a request is looked up by
/// [`request_key`] under this provider's id (give the id the recording
/// provider had). A key recorded several times is answered in recorded
/// order, then the last answer repeats. A recorded error is returned as that
/// error. A request that was never recorded fails with
/// [`ProviderErrorKind::NotRecorded`], whose message quotes the request, its
/// key, the cassette path and its size. Completions come back with
/// `provider` set to this provider's id. A recorded stream replays to
/// `stream` as the same events (then its error, if it ended with one).
///
/// In [`ReplayMatch::Sequential`] mode ([`ReplayProvider::sequential`]) the
/// Nth call, `complete` or `stream`, gets the Nth interaction recorded under
/// this provider's id, whatever the request; outcomes replay as in strict
/// mode. A call whose key differs from the recorded one is answered all the
/// same and reported: kept as a [`ReplayMismatch`] ([`ReplayProvider::mismatches`])
/// and logged with `tracing::warn!`. A call past the last recorded
/// interaction fails with [`ProviderErrorKind::NotRecorded`], whose message
/// says how many were recorded.
///
/// With an endpoint ([`with_endpoint`](Self::with_endpoint)), only
/// interactions recorded at that endpoint or without one answer, in either
/// mode (see [endpoints](super#endpoints)). The endpoint and the
/// capabilities it is given ([`with_capabilities`](Self::with_capabilities))
/// are what it answers to [`LlmProvider::endpoint`] and
/// [`LlmProvider::capabilities`], standing in for the provider it replays.
#[derive(Debug)]
pub struct ReplayProvider {
    id: ProviderId,
    path: PathBuf,
    interactions: usize,
    index: Mutex<Index>,
    matching: ReplayMatch,
    endpoint: Option<String>,
    capabilities: Option<ModelCapabilities>,
    /// Every interaction recorded under `id`, oldest first.
    recorded_for_id: Vec<Interaction>,
    /// Those of them recorded at this endpoint (or without one), for
    /// sequential mode: positions in `recorded_for_id`.
    sequence: Vec<usize>,
    /// How many calls sequential mode has answered or refused.
    calls: Mutex<usize>,
    mismatches: ReplayMismatchLog,
}

impl ReplayProvider {
    /// Opens the cassette at `path`, replaying as provider `id` in [`ReplayMatch::Strict`] mode.
    pub fn open(path: impl AsRef<Path>, id: ProviderId) -> Result<Self, CassetteError> {
        let path = path.as_ref().to_owned();
        let cassette = Cassette::load(&path)?;
        let index = Mutex::new(Index::new(&cassette));
        let interactions = cassette.interactions.len();
        let recorded_for_id: Vec<Interaction> =
            cassette.interactions.into_iter().filter(|i| i.provider == id).collect();
        Ok(Self {
            id,
            path,
            interactions,
            index,
            matching: ReplayMatch::Strict,
            endpoint: None,
            capabilities: None,
            sequence: (0..recorded_for_id.len()).collect(),
            recorded_for_id,
            calls: Mutex::new(0),
            mismatches: ReplayMismatchLog::new(),
        })
    }

    /// Replays as the provider at `endpoint` (its base URL): only
    /// interactions recorded there, or recorded without an endpoint, answer.
    /// `None` (the default) lets every interaction answer.
    pub fn with_endpoint(mut self, endpoint: Option<String>) -> Self {
        self.sequence = (0..self.recorded_for_id.len())
            .filter(|&i| endpoint_matches(self.recorded_for_id[i].endpoint.as_deref(), endpoint.as_deref()))
            .collect();
        self.endpoint = endpoint;
        self
    }

    /// Answers [`LlmProvider::capabilities`] with `capabilities` (those of the provider replayed).
    pub fn with_capabilities(mut self, capabilities: Option<ModelCapabilities>) -> Self {
        self.capabilities = capabilities;
        self
    }

    /// Sets how calls are matched to recordings.
    pub fn with_match(mut self, matching: ReplayMatch) -> Self {
        self.matching = matching;
        self
    }

    /// Matches calls by position ([`ReplayMatch::Sequential`]): the Nth call
    /// gets the Nth interaction recorded under this provider's id.
    pub fn sequential(self) -> Self {
        self.with_match(ReplayMatch::Sequential)
    }

    /// Reports mismatches into `log` (shared with its clones) instead of a
    /// log of this provider's own.
    pub fn with_mismatch_log(mut self, log: ReplayMismatchLog) -> Self {
        self.mismatches = log;
        self
    }

    /// How calls are matched to recordings.
    pub fn match_mode(&self) -> ReplayMatch {
        self.matching
    }

    /// The cassette file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many calls the cassette holds.
    pub fn interaction_count(&self) -> usize {
        self.interactions
    }

    /// How many of them were recorded under this provider's id (and at its
    /// endpoint, when it has one): the length of the sequence that
    /// [`ReplayMatch::Sequential`] replays.
    pub fn recorded_turns(&self) -> usize {
        self.sequence.len()
    }

    /// The mismatches reported so far, oldest first: every entry of this
    /// provider's log (which other replays may share, see
    /// [`with_mismatch_log`](Self::with_mismatch_log)). Strict mode reports none.
    pub fn mismatches(&self) -> Vec<ReplayMismatch> {
        self.mismatches.mismatches()
    }

    /// How many mismatches the log holds.
    pub fn mismatch_count(&self) -> usize {
        self.mismatches.len()
    }

    /// The log mismatches are reported into (a handle sharing it).
    pub fn mismatch_log(&self) -> ReplayMismatchLog {
        self.mismatches.clone()
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

    fn past_the_end(&self, req: &CompletionRequest, turn: usize, key: String) -> ProviderError {
        let message = format!(
            "sequential replay: call {turn} to {} (request {:?}, key {key}) has no recording; \
             {} interactions were recorded for {} in cassette {} ({} in all); record it again",
            self.id,
            snippet(req),
            self.sequence.len(),
            self.id,
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

    fn capabilities(&self) -> Option<ModelCapabilities> {
        self.capabilities.clone()
    }

    fn endpoint(&self) -> Option<String> {
        self.endpoint.clone()
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
        match self.matching {
            ReplayMatch::Strict => {
                let found =
                    self.index.lock().unwrap_or_else(PoisonError::into_inner).next(&key, self.endpoint.as_deref());
                found.ok_or_else(|| self.not_recorded(req, key))
            }
            ReplayMatch::Sequential => self.next_in_sequence(req, key),
        }
    }

    fn next_in_sequence(&self, req: &CompletionRequest, key: String) -> Result<RecordedOutcome, ProviderError> {
        let position = {
            let mut calls = self.calls.lock().unwrap_or_else(PoisonError::into_inner);
            let position = *calls;
            *calls += 1;
            position
        };
        let turn = position + 1;
        let Some(recorded) = self.sequence.get(position).and_then(|&i| self.recorded_for_id.get(i)) else {
            return Err(self.past_the_end(req, turn, key));
        };
        if recorded.key != key {
            let mismatch = ReplayMismatch {
                provider: self.id.clone(),
                turn,
                recorded_key: recorded.key.clone(),
                actual_key: key,
                difference: first_difference(&recorded.request, req),
            };
            tracing::warn!(
                provider = %self.id,
                turn,
                recorded_key = %mismatch.recorded_key,
                actual_key = %mismatch.actual_key,
                cassette = %self.path.display(),
                "sequential replay answered a request that differs from its recording: {mismatch}"
            );
            self.mismatches.push(mismatch);
        }
        Ok(recorded.outcome.clone())
    }
}
