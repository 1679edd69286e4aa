//! Record/replay of provider calls through a JSON cassette file.
//!
//! [`RecordingProvider`] wraps a real provider and appends every call to a
//! cassette; [`ReplayProvider`] answers from that cassette without any
//! network, so tests and demos are fast, free and deterministic.
//!
//! The file is `{"version":1,"interactions":[{"key","provider","request","response"}]}`,
//! with `"error"` instead of `"response"` for a call that failed. It holds
//! only the [`CompletionRequest`] and the [`Completion`] or [`ProviderError`]:
//! never headers, so an API key sent to the server never reaches it. Extra
//! strings (a key that a prompt quotes, a user name) can be redacted with
//! [`RecordingProvider::with_redactions`].
//!
//! Requests are matched by [`request_key`]: a SHA-256 of the provider id and
//! the whole request, so any change in a prompt or a setting is a miss
//! ([`ProviderErrorKind::NotRecorded`](agent_core::ProviderErrorKind::NotRecorded)),
//! never a wrong answer.
//!
//! ```no_run
//! use agent_core::{CompletionRequest, LlmProvider, Message, ProviderId};
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

pub use recording::{REDACTED, RecordingProvider};
pub use replay::ReplayProvider;

use agent_core::{Completion, CompletionRequest, ProviderError, ProviderId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
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
    /// What it was asked.
    pub request: CompletionRequest,
    /// What it answered.
    #[serde(flatten)]
    pub outcome: RecordedOutcome,
}

/// What a recorded call returned: written as a `"response"` or an `"error"` field.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RecordedOutcome {
    /// The completion.
    Response(Completion),
    /// The error.
    Error(ProviderError),
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
