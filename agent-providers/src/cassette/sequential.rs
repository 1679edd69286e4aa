//! Sequential replay: how a [`ReplayProvider`](super::ReplayProvider) matches
//! calls ([`ReplayMatch`]), and what it reports when a call differs from its
//! recording ([`ReplayMismatch`], [`RequestDifference`], [`ReplayMismatchLog`]).

use agent_core::provider::{CompletionRequest, ProviderId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};

/// How many characters an excerpt of a differing value holds at most.
const EXCERPT_CHARS: usize = 160;
/// How many of them come before the first differing character of a string.
const EXCERPT_CONTEXT: usize = 40;
/// How many hex digits of a key a message shows.
const SHORT_KEY: usize = 12;

/// How a [`ReplayProvider`](super::ReplayProvider) matches a call to a recording.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ReplayMatch {
    /// By [`request_key`](super::request_key): a request answers only if it
    /// was recorded byte for byte; anything else is a
    /// [`NotRecorded`](agent_core::provider::ProviderErrorKind::NotRecorded) miss.
    #[default]
    Strict,
    /// By position: the Nth call gets the Nth interaction recorded for the
    /// provider id, whatever the request; a request that differs from the
    /// recorded one is reported as a [`ReplayMismatch`], not failed.
    Sequential,
}

impl ReplayMatch {
    /// Every mode, in the order they are listed in messages.
    pub const ALL: [ReplayMatch; 2] = [Self::Strict, Self::Sequential];

    /// The lower-case name (`strict`, `sequential`), as [`FromStr`] reads it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Strict => "strict",
            Self::Sequential => "sequential",
        }
    }
}

impl fmt::Display for ReplayMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A replay mode name that is neither `strict` nor `sequential`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown replay match mode {given:?}; expected strict or sequential")]
#[non_exhaustive]
pub struct UnknownReplayMatch {
    /// The text as given.
    pub given: String,
}

impl FromStr for ReplayMatch {
    type Err = UnknownReplayMatch;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| UnknownReplayMatch { given: text.to_owned() })
    }
}

/// A call of a sequential replay whose request differs from the one recorded
/// at its position. The call was answered with the recording all the same.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ReplayMismatch {
    /// The provider id that was replayed.
    pub provider: ProviderId,
    /// Which call to that provider it was, counting from 1 (the position of
    /// the interaction among the provider's recordings).
    pub turn: usize,
    /// The [`request_key`](super::request_key) the interaction was recorded under.
    pub recorded_key: String,
    /// The key of the request actually made.
    pub actual_key: String,
    /// The first place where the two requests differ, or `None` when the
    /// recorded request as written equals the actual one (the key was taken
    /// before redaction, so only redacted text differs).
    pub difference: Option<RequestDifference>,
}

impl fmt::Display for ReplayMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "turn {} of {}: the request differs from the recording (recorded key {}, actual key {}): ",
            self.turn,
            self.provider,
            short_key(&self.recorded_key),
            short_key(&self.actual_key),
        )?;
        match &self.difference {
            Some(difference) => write!(f, "{difference}"),
            None => f.write_str("no difference in the recorded text (the recording was redacted)"),
        }
    }
}

fn short_key(key: &str) -> &str {
    key.get(..SHORT_KEY).unwrap_or(key)
}

/// The first place where a request differs from the recorded one, in the
/// requests' JSON form (object keys in byte order, array items in order).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RequestDifference {
    /// Where: a path such as `messages[3].content`, `tools` or `max_tokens`.
    pub path: String,
    /// The index of the message it lies in, when it lies in `messages`.
    pub message_index: Option<usize>,
    /// For two strings, the character offset of their first difference.
    pub offset: Option<usize>,
    /// A bounded excerpt of the recorded value there (`None`: it has none).
    pub recorded: Option<String>,
    /// A bounded excerpt of the actual value there (`None`: it has none).
    pub actual: Option<String>,
}

impl fmt::Display for RequestDifference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() { "the request" } else { self.path.as_str() };
        write!(f, "{path} differs")?;
        if let Some(offset) = self.offset {
            write!(f, " at character {offset}")?;
        }
        let side = |value: &Option<String>| value.as_ref().map_or_else(|| "absent".to_owned(), |v| format!("{v:?}"));
        write!(f, ": recorded {}, actual {}", side(&self.recorded), side(&self.actual))
    }
}

/// Where a replay reports its mismatches. Clones share one log, so a host
/// can hand one to several replays (a cascade's members) and read it after
/// the run.
#[derive(Clone, Debug, Default)]
pub struct ReplayMismatchLog(Arc<Mutex<Vec<ReplayMismatch>>>);

impl ReplayMismatchLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every mismatch reported so far, oldest first.
    pub fn mismatches(&self) -> Vec<ReplayMismatch> {
        self.lock().clone()
    }

    /// How many mismatches were reported.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no mismatch was reported.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    pub(crate) fn push(&self, mismatch: ReplayMismatch) {
        self.lock().push(mismatch);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<ReplayMismatch>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The first difference between the recorded and the actual request, if
/// their JSON forms differ.
pub(crate) fn first_difference(recorded: &CompletionRequest, actual: &CompletionRequest) -> Option<RequestDifference> {
    let as_value = |req: &CompletionRequest| {
        serde_json::to_value(req).unwrap_or_else(|e| Value::String(format!("unserializable: {e}")))
    };
    let (recorded, actual) = (as_value(recorded), as_value(actual));
    let mut path = Vec::new();
    let (recorded, actual) = first_differing(&recorded, &actual, &mut path)?;
    let message_index = match path.as_slice() {
        [Step::Key(key), Step::Index(i), ..] if key == "messages" => Some(*i),
        _ => None,
    };
    let (offset, recorded, actual) = match (recorded, actual) {
        (Some(Value::String(a)), Some(Value::String(b))) => {
            let offset = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
            (Some(offset), Some(excerpt_from(a, offset)), Some(excerpt_from(b, offset)))
        }
        (a, b) => (None, a.map(excerpt_of_value), b.map(excerpt_of_value)),
    };
    Some(RequestDifference { path: render_path(&path), message_index, offset, recorded, actual })
}

enum Step {
    Key(String),
    Index(usize),
}

fn render_path(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// Walks both values to their first difference, leaving its path in `path`;
/// a side is `None` where it has no value (a missing key or array item).
fn first_differing<'a>(
    a: &'a Value,
    b: &'a Value,
    path: &mut Vec<Step>,
) -> Option<(Option<&'a Value>, Option<&'a Value>)> {
    if a == b {
        return None;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                match (x.get(key), y.get(key)) {
                    (Some(u), Some(v)) if u == v => continue,
                    (Some(u), Some(v)) => {
                        path.push(Step::Key(key.clone()));
                        return first_differing(u, v, path);
                    }
                    (u, v) => {
                        path.push(Step::Key(key.clone()));
                        return Some((u, v));
                    }
                }
            }
            None
        }
        (Value::Array(x), Value::Array(y)) => {
            for (i, (u, v)) in x.iter().zip(y).enumerate() {
                if u != v {
                    path.push(Step::Index(i));
                    return first_differing(u, v, path);
                }
            }
            let i = x.len().min(y.len());
            path.push(Step::Index(i));
            Some((x.get(i), y.get(i)))
        }
        _ => Some((Some(a), Some(b))),
    }
}

/// Up to [`EXCERPT_CHARS`] characters of `text` around character `offset`,
/// with `…` where text was left out.
fn excerpt_from(text: &str, offset: usize) -> String {
    let start = offset.saturating_sub(EXCERPT_CONTEXT);
    let mut chars = text.chars().skip(start);
    let body: String = chars.by_ref().take(EXCERPT_CHARS).collect();
    let before = if start > 0 { "…" } else { "" };
    let after = if chars.next().is_some() { "…" } else { "" };
    format!("{before}{body}{after}")
}

fn excerpt_of_value(value: &Value) -> String {
    match value {
        Value::String(s) => excerpt_from(s, 0),
        other => excerpt_from(&other.to_string(), 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_core::provider::Message;

    #[test]
    fn a_changed_message_is_found_at_its_index_and_offset() {
        let a = CompletionRequest::new(vec![Message::system("s"), Message::user("error[E0308]: mismatched types")]);
        let b = CompletionRequest::new(vec![Message::system("s"), Message::user("error[E0308]: type mismatch")]);
        let d = first_difference(&a, &b).unwrap();
        assert_eq!(d.path, "messages[1].content");
        assert_eq!(d.message_index, Some(1));
        assert_eq!(d.offset, Some("error[E0308]: ".len()));
        assert_eq!(d.recorded.as_deref(), Some("error[E0308]: mismatched types"));
    }

    #[test]
    fn an_extra_message_is_absent_on_the_other_side() {
        let a = CompletionRequest::new(vec![Message::user("q")]);
        let b = CompletionRequest::new(vec![Message::user("q"), Message::assistant("more")]);
        let d = first_difference(&a, &b).unwrap();
        assert_eq!(d.path, "messages[1]");
        assert_eq!(d.recorded, None);
        assert!(d.actual.unwrap().contains("more"));
        assert!(first_difference(&a, &a).is_none());
    }

    #[test]
    fn a_long_difference_is_excerpted_around_its_start() {
        let long = "x".repeat(1000);
        let a = CompletionRequest::new(vec![Message::user(format!("{long}A{long}"))]);
        let b = CompletionRequest::new(vec![Message::user(format!("{long}B{long}"))]);
        let d = first_difference(&a, &b).unwrap();
        assert_eq!(d.offset, Some(1000));
        let recorded = d.recorded.unwrap();
        assert!(recorded.starts_with('…') && recorded.ends_with('…'), "{recorded}");
        assert_eq!(recorded.chars().count(), EXCERPT_CHARS + 2);
        assert_eq!(recorded.chars().nth(EXCERPT_CONTEXT + 1), Some('A'));
    }

    #[test]
    fn replay_match_parses_its_names() {
        assert_eq!("Sequential".parse::<ReplayMatch>(), Ok(ReplayMatch::Sequential));
        assert_eq!("strict".parse::<ReplayMatch>(), Ok(ReplayMatch::Strict));
        assert!("fuzzy".parse::<ReplayMatch>().is_err());
        assert_eq!(ReplayMatch::default(), ReplayMatch::Strict);
    }
}
