//! Helpers shared by the Anthropic, Gemini and Ollama tests.

use agent_core::provider::{Completion, CompletionStream, ProviderError, StreamEvent};
use futures::StreamExt;
use std::collections::HashMap;
use std::time::{Duration, SystemTime};
use wiremock::{MockServer, Request};

/// An environment of exactly these variables, for `build_provider_with_env`.
pub(crate) fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    move |name| map.get(name).cloned()
}

/// What a stream yielded: its events in order, and the error it ended with, if any.
pub(crate) struct Collected {
    pub(crate) events: Vec<StreamEvent>,
    pub(crate) error: Option<ProviderError>,
}

impl Collected {
    /// The concatenated text deltas.
    pub(crate) fn text(&self) -> String {
        self.events
            .iter()
            .filter_map(|e| match e {
                StreamEvent::Delta { text } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The completion of the terminal `Done`, if the stream had one.
    pub(crate) fn done(&self) -> Option<&Completion> {
        self.events.iter().find_map(|e| match e {
            StreamEvent::Done { completion } => Some(completion),
            _ => None,
        })
    }

    /// The tool-call deltas as `(index, id, name, arguments)`.
    pub(crate) fn tool_deltas(&self) -> Vec<(u32, Option<String>, Option<String>, String)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                StreamEvent::ToolCallDelta { index, id, name, arguments } => {
                    Some((*index, id.clone(), name.clone(), arguments.clone()))
                }
                _ => None,
            })
            .collect()
    }
}

/// Reads a stream to its end; asserts nothing follows an error or `Done`.
pub(crate) async fn collect(mut stream: CompletionStream) -> Collected {
    let mut events = Vec::new();
    let mut error = None;
    while let Some(item) = stream.next().await {
        assert!(error.is_none(), "an item followed the error");
        assert!(!matches!(events.last(), Some(StreamEvent::Done { .. })), "an item followed Done");
        match item {
            Ok(event) => events.push(event),
            Err(e) => error = Some(e),
        }
    }
    Collected { events, error }
}

/// The only request the server received.
pub(crate) async fn only_request(server: &MockServer) -> Request {
    let received = server.received_requests().await.expect("request recording is on");
    assert_eq!(received.len(), 1, "expected exactly one request");
    received.into_iter().next().unwrap()
}

/// A request header as text.
pub(crate) fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.headers.get(name).map(|v| v.to_str().unwrap())
}

/// `now + ahead` as RFC 3339 (`2025-06-01T12:00:30Z`), whole seconds.
pub(crate) fn rfc3339_after(ahead: Duration) -> String {
    let secs = (SystemTime::now() + ahead).duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}
