//! Record/replay of provider calls through a JSON cassette file.
//!
//! [`RecordingProvider`] wraps a real provider and appends every call to a
//! cassette; [`ReplayProvider`] answers from that cassette without any
//! network, so tests and demos are fast, free and deterministic.
//!
//! The file is `{"version":1,"interactions":[{"key","provider","endpoint","request","response"}]}`,
//! with `"error"` instead of `"response"` for a call that failed, and
//! `"stream": {"events": [...], "error": ...}` for a streamed call: the
//! events as the provider yielded them, and the error that ended the stream,
//! if one did. A recorded stream replays as a stream yielding the same
//! events (and `complete` answers its `Done` completion); a recorded
//! completion replays to `stream` as one delta and `Done`. Cassettes written
//! before streams were recorded hold no `"stream"` entries and load as they are.
//!
//! Three modes: [`RecordingProvider`] (record every call),
//! [`ReplayProvider`] (replay; a miss is an error naming the request; see
//! [sequential replay](#sequential-replay) for matching by position) and
//! [`ReplayOrRecordProvider`] (replay a hit, call the inner provider and
//! record a miss). It holds
//! only the [`CompletionRequest`] and the [`Completion`] or [`ProviderError`]:
//! never headers, so an API key sent to the server never reaches it. Extra
//! strings (a key that a prompt quotes, a user name) can be redacted with
//! [`RecordingProvider::with_redactions`].
//!
//! Requests are matched by [`request_key`]: a SHA-256 of the provider id and
//! the whole request, so any change in a prompt or a setting is a miss
//! ([`ProviderErrorKind::NotRecorded`]),
//! never a wrong answer.
//!
//! # Endpoints
//!
//! An interaction also records the base URL the call went to (the
//! provider's [`endpoint`](agent_core::LlmProvider::endpoint), as
//! `"endpoint"`), beside the key rather than inside it, so that the key of a
//! request never changes. A replay that knows its endpoint
//! ([`ReplayProvider::with_endpoint`]; a [`ProviderStack`](crate::layers::ProviderStack)
//! passes the base provider's) answers only from interactions recorded at
//! that endpoint or recorded without one: the same request sent to two
//! servers (a local llama.cpp and a hosted model under the same id) keeps
//! two recordings, each replayed to its own endpoint, while cassettes
//! written before endpoints were recorded replay to any endpoint. Endpoints
//! are compared without a trailing `/`.
//!
//! # Writing
//!
//! Every recorder of one file in a process (the members of a cascade
//! recording into one cassette, several stacks of a host) shares one
//! [`CassetteWriter`], found in a process-wide registry by the file's
//! canonical path, so no recorder overwrites what another recorded. A call
//! is appended: only the end of the file (`]` and `}`) is rewritten, never
//! the interactions already there, and each append re-reads that end under
//! a lock file (`.NAME.lock` beside the cassette), so a writer in another
//! process appends after it rather than over it. The file stays a valid
//! cassette of this version between appends; a crash in the middle of one
//! can leave it cut, which loading reports as a parse error.
//!
//! # Sequential replay
//!
//! Strict matching is the default, and right for tests of a provider or a
//! prompt. An agent session is different: it runs many model turns per
//! task, and its prompts quote tool observations (compiler and test-runner
//! output) whose wording changes with the rustc, pytest or go at hand, so
//! a demo cassette keyed on prompt bytes would miss on a newcomer's machine.
//! [`ReplayMatch::Sequential`] ([`ReplayProvider::sequential`], or
//! [`ProviderStack::replay_with`](crate::layers::ProviderStack::replay_with)
//! in a stack) replays such a task turn by turn:
//!
//! - The Nth call to the provider, `complete` or `stream`, gets the Nth
//!   interaction recorded under its provider id (the interaction's
//!   `"provider"` field), whatever the request. Each provider id has its own
//!   sequence, so the members of a cascade replay independently.
//! - A recorded error replays as that error, a recorded stream as a stream,
//!   exactly as in strict mode.
//! - When the request's key differs from the recorded one the call is still
//!   answered, and the mismatch is reported, not failed: a
//!   [`ReplayMismatch`] (turn number from 1, recorded key, actual key and a
//!   [`RequestDifference`]: the JSON path of the first difference, such as
//!   `messages[3].content`, with a bounded excerpt of both sides) is kept in
//!   a [`ReplayMismatchLog`] ([`ReplayProvider::mismatches`]) and logged with
//!   `tracing::warn!`. A cassette recorded with redactions is compared as
//!   written, so the difference may point at a redacted string.
//! - A call past the provider's last recorded interaction fails with
//!   [`ProviderErrorKind::NotRecorded`], whose message says how many were
//!   recorded. A [`Cascade`](crate::layers::Cascade) treats that as a miss
//!   and moves on to its next provider, as it does for a strict miss.
//!
//! Sequential replay trusts the order of the calls: if a run takes a
//! different path (a turn more or fewer, or a cascade member whose
//! rate-limit cool-down ran out live but not in the faster replay), later
//! answers belong to other questions. The mismatch log is how a host
//! notices; a demo can print it, a test can assert it is empty.
//!
//! ```no_run
//! use agent_core::provider::{CompletionRequest, Message, ProviderId};
//! use agent_core::LlmProvider;
//! use agent_providers::ReplayProvider;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let replay = ReplayProvider::open("examples/cassettes/buggy-stats.json", ProviderId::new("openai:gpt-4.1-mini"))?
//!     .sequential();
//! // Turn 1 is answered with the first recording even if this rustc worded its error differently.
//! let answer = replay.complete(CompletionRequest::new(vec![Message::user("fix: error[E0308]…")])).await?;
//! for mismatch in replay.mismatches() {
//!     eprintln!("warning: {mismatch}");
//! }
//! # let _ = answer; Ok(()) }
//! ```
//!
//! ```no_run
//! use agent_core::provider::{CompletionRequest, Message, ProviderId};
//! use agent_core::LlmProvider;
//! use agent_providers::{OpenAiProvider, RecordingProvider, ReplayProvider};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let req = CompletionRequest::new(vec![Message::user("Say hi")]);
//! // Once, against the real service:
//! let recorder = RecordingProvider::new(OpenAiProvider::from_env("gpt-4.1-mini", None), "tests/cassettes/hi.json")?;
//! let live = recorder.complete(req.clone()).await?;
//! // Ever after, offline:
//! let replay = ReplayProvider::open("tests/cassettes/hi.json", ProviderId::new("openai:gpt-4.1-mini"))?;
//! assert_eq!(replay.complete(req).await?.content, live.content);
//! # Ok(()) }
//! ```

mod recording;
mod replay;
mod replay_or_record;
mod sequential;
mod writer;

pub use recording::{REDACTED, RecordingProvider};
pub use replay::ReplayProvider;
pub use replay_or_record::ReplayOrRecordProvider;
pub use sequential::{ReplayMatch, ReplayMismatch, ReplayMismatchLog, RequestDifference, UnknownReplayMatch};
pub use writer::CassetteWriter;

use agent_core::provider::{
    Completion, CompletionRequest, CompletionStream, ProviderError, ProviderErrorKind, ProviderId, StreamEvent,
    stream_from_completion,
};
use futures::StreamExt;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The cassette format version this library writes and reads.
pub const CASSETTE_VERSION: u32 = 1;

/// The key a request is recorded and looked up under.
///
/// It is the lower-case hex SHA-256 of the canonical JSON of
/// `{"provider": ID, "request": REQUEST}`. Canonical means: the value is
/// first converted to a [`serde_json::Value`], then written compactly with
/// every object's keys sorted by byte order (sorted explicitly, so the key
/// does not depend on serde_json's `preserve_order` feature), and numbers
/// as serde_json writes them. Equal requests to the same provider id get
/// equal keys; a change in any message, setting or the provider id changes it.
pub fn request_key(provider: &ProviderId, req: &CompletionRequest) -> String {
    let request = serde_json::to_value(req).unwrap_or_else(|e| Value::String(format!("unserializable: {e}")));
    let mut root = serde_json::Map::new();
    root.insert("provider".to_owned(), Value::String(provider.as_str().to_owned()));
    root.insert("request".to_owned(), request);
    let mut canonical = String::new();
    write_canonical(&Value::Object(root), &mut canonical);
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// A cassette: the recorded calls, oldest first.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Cassette {
    /// The format version, [`CASSETTE_VERSION`].
    pub version: u32,
    /// The recorded calls, oldest first.
    pub interactions: Vec<Interaction>,
}

impl Default for Cassette {
    fn default() -> Self {
        Self { version: CASSETTE_VERSION, interactions: Vec::new() }
    }
}

/// One recorded call.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Interaction {
    /// [`request_key`] of the provider id and the request.
    pub key: String,
    /// The provider that was called.
    pub provider: ProviderId,
    /// The base URL the call went to ([`endpoint`](agent_core::LlmProvider::endpoint)),
    /// when the provider named one. Not part of the key; an interaction
    /// without one (recorded before endpoints were) matches any endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// What it was asked.
    pub request: CompletionRequest,
    /// What it answered.
    #[serde(flatten)]
    pub outcome: RecordedOutcome,
}

impl Interaction {
    /// The call `provider` (at `endpoint`) was asked, `request`, and what it
    /// answered, `outcome`, under the key [`request_key`] gives them.
    pub fn new(
        provider: ProviderId,
        endpoint: Option<String>,
        request: CompletionRequest,
        outcome: RecordedOutcome,
    ) -> Self {
        Self { key: request_key(&provider, &request), provider, endpoint, request, outcome }
    }
}

/// What a recorded call returned: written as a `"response"`, an `"error"` or a `"stream"` field.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RecordedOutcome {
    /// The completion.
    Response(Completion),
    /// The error.
    Error(ProviderError),
    /// A streamed answer, kept as its events.
    Stream(RecordedStream),
}

/// A streamed answer as recorded: its events in order, and the error that ended it, if any.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RecordedStream {
    /// The events, in the order the provider yielded them.
    pub events: Vec<StreamEvent>,
    /// The error that ended the stream, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ProviderError>,
}

/// Whether an interaction recorded at `recorded` may answer a call to `asked`:
/// always when either is unknown, else when they are equal (ignoring a trailing `/`).
pub(crate) fn endpoint_matches(recorded: Option<&str>, asked: Option<&str>) -> bool {
    match (recorded, asked) {
        (Some(r), Some(a)) => r.trim_end_matches('/') == a.trim_end_matches('/'),
        _ => true,
    }
}

/// Recorded outcomes by key (and endpoint), served in recorded order (then the last repeats).
#[derive(Debug, Default)]
pub(crate) struct Index {
    outcomes: Vec<(Option<String>, RecordedOutcome)>,
    by_key: HashMap<String, Vec<usize>>,
    /// How many were served, per key and per endpoint asked.
    served: HashMap<String, Vec<(Option<String>, usize)>>,
}

impl Index {
    pub(crate) fn new(cassette: &Cassette) -> Self {
        let mut index = Self::default();
        for interaction in &cassette.interactions {
            index.push(interaction.key.clone(), interaction.endpoint.clone(), interaction.outcome.clone());
        }
        index
    }

    pub(crate) fn push(&mut self, key: String, endpoint: Option<String>, outcome: RecordedOutcome) {
        self.by_key.entry(key).or_default().push(self.outcomes.len());
        self.outcomes.push((endpoint, outcome));
    }

    /// The next outcome recorded under `key` for `endpoint`, if any.
    pub(crate) fn next(&mut self, key: &str, endpoint: Option<&str>) -> Option<RecordedOutcome> {
        let indices = self.by_key.get(key)?;
        let outcomes = &self.outcomes;
        let matching = || indices.iter().copied().filter(|&i| endpoint_matches(outcomes[i].0.as_deref(), endpoint));
        let found = matching().count();
        if found == 0 {
            return None;
        }
        let counts = match self.served.get_mut(key) {
            Some(counts) => counts,
            None => self.served.entry(key.to_owned()).or_default(),
        };
        let count = match counts.iter().position(|(e, _)| e.as_deref() == endpoint) {
            Some(at) => &mut counts[at].1,
            None => {
                counts.push((endpoint.map(str::to_owned), 0));
                &mut counts.last_mut()?.1
            }
        };
        let index = matching().nth((*count).min(found - 1))?;
        *count += 1;
        Some(outcomes[index].1.clone())
    }
}

/// A recorded outcome as `complete` answers it, the completion naming `id`.
pub(crate) fn outcome_to_completion(outcome: RecordedOutcome, id: &ProviderId) -> Result<Completion, ProviderError> {
    match outcome {
        RecordedOutcome::Response(mut completion) => {
            completion.provider = id.clone();
            Ok(completion)
        }
        RecordedOutcome::Error(error) => Err(error),
        RecordedOutcome::Stream(stream) => {
            let done = stream.events.into_iter().find_map(|e| match e {
                StreamEvent::Done { completion } => Some(completion),
                _ => None,
            });
            match (done, stream.error) {
                (Some(mut completion), _) => {
                    completion.provider = id.clone();
                    Ok(completion)
                }
                (None, Some(error)) => Err(error),
                (None, None) => Err(ProviderError::new(
                    ProviderErrorKind::Transport,
                    id.clone(),
                    "the recorded stream ended before its Done event",
                )),
            }
        }
    }
}

/// A recorded outcome as `stream` answers it, the `Done` completion naming `id`.
pub(crate) fn outcome_to_stream(outcome: RecordedOutcome, id: &ProviderId) -> Result<CompletionStream, ProviderError> {
    match outcome {
        RecordedOutcome::Response(_) | RecordedOutcome::Error(_) => {
            Ok(stream_from_completion(outcome_to_completion(outcome, id)?))
        }
        RecordedOutcome::Stream(stream) => {
            let mut items: Vec<Result<StreamEvent, ProviderError>> = stream
                .events
                .into_iter()
                .map(|e| match e {
                    StreamEvent::Done { mut completion } => {
                        completion.provider = id.clone();
                        Ok(StreamEvent::Done { completion })
                    }
                    other => Ok(other),
                })
                .collect();
            items.extend(stream.error.map(Err));
            Ok(Box::pin(futures::stream::iter(items)))
        }
    }
}

/// Passes `stream` through, keeping its events; when it ends (after `Done`,
/// an error or its last item) calls `on_end` with what was seen. If `on_end`
/// fails, the caller gets an [`ProviderErrorKind::Other`] error in place of
/// the terminal item, so a lost recording is never silent.
pub(crate) fn recording_stream<F>(stream: CompletionStream, id: ProviderId, on_end: F) -> CompletionStream
where
    F: FnOnce(RecordedStream) -> BoxFuture<'static, Result<(), String>> + Send + 'static,
{
    struct State<F> {
        inner: CompletionStream,
        seen: RecordedStream,
        on_end: Option<F>,
        id: ProviderId,
    }
    let state = State { inner: stream, seen: RecordedStream::default(), on_end: Some(on_end), id };
    Box::pin(futures::stream::unfold(state, |mut st| async move {
        let on_end = st.on_end.take()?;
        let item = st.inner.next().await;
        let terminal = match &item {
            Some(Ok(event @ StreamEvent::Done { .. })) => {
                st.seen.events.push(event.clone());
                true
            }
            Some(Ok(event)) => {
                st.seen.events.push(event.clone());
                false
            }
            Some(Err(error)) => {
                st.seen.error = Some(error.clone());
                true
            }
            None => true,
        };
        if !terminal {
            st.on_end = Some(on_end);
            return item.map(|i| (i, st));
        }
        let seen = std::mem::take(&mut st.seen);
        if let Err(message) = on_end(seen).await {
            tracing::error!("recording a stream failed: {message}");
            let error = ProviderError::new(
                ProviderErrorKind::Other,
                st.id.clone(),
                format!("could not record the stream into its cassette: {message}"),
            );
            return Some((Err(error), st));
        }
        item.map(|i| (i, st))
    }))
}

impl Cassette {
    /// Reads a cassette file.
    pub fn load(path: &Path) -> Result<Self, CassetteError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| CassetteError::Io { path: path.to_owned(), source })?;
        Self::parse(path, &text)
    }

    /// Reads a cassette if the file exists, else starts an empty one.
    pub fn load_or_default(path: &Path) -> Result<Self, CassetteError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(CassetteError::Io { path: path.to_owned(), source }),
        }
    }

    fn parse(path: &Path, text: &str) -> Result<Self, CassetteError> {
        let parse_error = |message: String| CassetteError::Parse { path: path.to_owned(), message };
        let value: Value = serde_json::from_str(text).map_err(|e| parse_error(e.to_string()))?;
        let version = value
            .get("version")
            .ok_or_else(|| parse_error("no \"version\" field".to_owned()))?
            .as_u64()
            .ok_or_else(|| parse_error("\"version\" is not a non-negative integer".to_owned()))?;
        if version != u64::from(CASSETTE_VERSION) {
            return Err(CassetteError::UnsupportedVersion { path: path.to_owned(), version });
        }
        serde_path_to_error::deserialize(value).map_err(|e| parse_error(format!("at {}: {}", e.path(), e.inner())))
    }

    /// Writes the cassette atomically: to a temporary file in the same
    /// directory, then renamed over `path`. Creates missing parent directories.
    pub async fn save(&self, path: &Path) -> Result<(), CassetteError> {
        let io_error = |source| CassetteError::Io { path: path.to_owned(), source };
        let mut text = serde_json::to_string_pretty(self)
            .map_err(|e| CassetteError::Parse { path: path.to_owned(), message: e.to_string() })?;
        text.push('\n');
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        tokio::fs::create_dir_all(&dir).await.map_err(io_error)?;
        let file_name = path.file_name().map_or_else(|| "cassette".into(), |n| n.to_string_lossy());
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let tmp = dir.join(format!(".{file_name}.{}.{nanos}.tmp", std::process::id()));
        if let Err(e) = tokio::fs::write(&tmp, text.as_bytes()).await {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(io_error(e));
        }
        if let Err(e) = tokio::fs::rename(&tmp, path).await {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(io_error(e));
        }
        Ok(())
    }
}

/// A cassette could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CassetteError {
    /// Reading or writing the file failed.
    #[error("cassette {}: {source}", path.display())]
    Io {
        /// The cassette file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid cassette.
    #[error("cassette {} is not valid: {message}", path.display())]
    Parse {
        /// The cassette file.
        path: PathBuf,
        /// What is wrong, with the JSON path where it was found.
        message: String,
    },
    /// The file is a cassette of a version this library cannot read.
    #[error("cassette {} has version {version}; this library reads version {CASSETTE_VERSION}", path.display())]
    UnsupportedVersion {
        /// The cassette file.
        path: PathBuf,
        /// The version found.
        version: u64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let v: Value = serde_json::from_str(r#"{"b":{"z":1,"a":[{"y":2,"x":"q"}]},"a":null}"#).unwrap();
        let mut out = String::new();
        write_canonical(&v, &mut out);
        assert_eq!(out, r#"{"a":null,"b":{"a":[{"x":"q","y":2}],"z":1}}"#);
    }
}
