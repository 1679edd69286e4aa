//! Conformance checks every [`LlmProvider`] must pass (feature `test-utils`).
//!
//! A plugin author implements [`ConformanceHarness`]: for each [`Scenario`]
//! it starts a local server (on loopback) that answers in the provider's own
//! wire format, and returns the provider pointed at it. [`run_conformance`]
//! then drives the provider through every scenario and reports each check:
//!
//! - `complete` returns the text, with non-zero input and output usage;
//! - `stream` yields deltas that concatenate to the text, and exactly one
//!   [`StreamEvent::Done`], last, whose content equals the text;
//! - a tool call is assembled (by `complete` and by `stream`) with its name
//!   and arguments that parse to the JSON sent;
//! - each HTTP error ([`ErrorClass`]) yields that [`ProviderErrorKind`](agent_core::provider::ProviderErrorKind) class
//!   with the status and the raw body kept, from `complete` and from `stream`;
//! - a stream cut before its terminal event is an error, not a short answer;
//! - `id()` has the form `kind:model`.
//!
//! ```no_run
//! use agent_core::{LlmProvider, async_trait};
//! use agent_core::provider::ProviderId;
//! use agent_providers::OpenAiProvider;
//! use agent_providers::conformance::{CallMode, ConformanceHarness, Scenario, Wired, run_conformance};
//!
//! /// Starts a loopback server answering `scenario` in my wire format and
//! /// returns its base URL and a guard that stops it when dropped.
//! async fn start_server(scenario: &Scenario, mode: CallMode) -> (String, Box<dyn std::any::Any + Send>) {
//!     // e.g. a wiremock::MockServer with the body for this scenario
//! #   unimplemented!()
//! }
//!
//! struct MyHarness;
//!
//! #[async_trait]
//! impl ConformanceHarness for MyHarness {
//!     async fn wire(&self, scenario: &Scenario, mode: CallMode) -> Wired {
//!         let (url, server) = start_server(scenario, mode).await;
//!         Wired::new(OpenAiProvider::new("gpt-4.1-mini").with_base_url(url)).keeping(server)
//!     }
//!     fn expected_id(&self) -> Option<ProviderId> {
//!         Some("openai:gpt-4.1-mini".into())
//!     }
//! }
//!
//! # async fn demo() {
//! // In a #[tokio::test]:
//! run_conformance(&MyHarness).await.assert_passes();
//! # }
//! ```

use agent_core::provider::{
    CompletionRequest, CompletionStream, Message, ProviderError, ProviderId, StreamEvent, ToolSpec,
};
use agent_core::{LlmProvider, async_trait};
use futures::StreamExt;
use serde_json::{Value, json};
use std::any::Any;
use std::fmt;
use std::future::Future;
use std::time::Duration;

/// How the suite will call the provider wired for a scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallMode {
    /// [`LlmProvider::complete`]: answer with one whole response.
    Complete,
    /// [`LlmProvider::stream`]: answer with the wire's streaming format.
    Stream,
}

/// An HTTP error class the server must answer with, as the provider's API sends it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorClass {
    /// A short-term rate limit (OpenAI: 429 `rate_limit_exceeded`).
    RateLimited,
    /// A quota or spend limit (OpenAI: 429 `insufficient_quota`).
    QuotaExhausted,
    /// Bad credentials (401).
    Auth,
    /// The prompt is longer than the context window (OpenAI: 400 `context_length_exceeded`).
    ContextTooLong,
    /// The service is overloaded (503, Anthropic 529).
    Overloaded,
}

impl ErrorClass {
    /// Every class the suite checks.
    pub const ALL: [ErrorClass; 5] =
        [Self::RateLimited, Self::QuotaExhausted, Self::Auth, Self::ContextTooLong, Self::Overloaded];

    /// The [`ProviderErrorKind::name`](agent_core::provider::ProviderErrorKind::name) the provider must report for it.
    pub fn kind_name(self) -> &'static str {
        match self {
            Self::RateLimited => "rate_limited",
            Self::QuotaExhausted => "quota_exhausted",
            Self::Auth => "auth",
            Self::ContextTooLong => "context_too_long",
            Self::Overloaded => "overloaded",
        }
    }
}

/// What the local server must answer.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Scenario {
    /// Answer `text`, finish normally, and report non-zero input and output
    /// usage. In [`CallMode::Stream`], send the text in several pieces.
    Text {
        /// The answer text.
        text: String,
    },
    /// Answer with one call of tool `name` (offered in the request) with
    /// `arguments`, a JSON object. In [`CallMode::Stream`], split the
    /// arguments over several pieces where the wire allows it.
    ToolCall {
        /// The call's id, where the wire carries one.
        id: String,
        /// The tool's name.
        name: String,
        /// The arguments.
        arguments: Value,
    },
    /// Fail before any answer with this class's HTTP status and error body.
    Error(ErrorClass),
    /// Stream the first pieces of `text`, then close the connection before
    /// the wire's terminal event (`[DONE]`, `message_stop`, `done: true`, …).
    TruncatedStream {
        /// The answer that is cut short.
        text: String,
    },
}

/// A provider wired to a scenario's server, and whatever must stay alive while it is used.
#[non_exhaustive]
pub struct Wired {
    /// The provider under test.
    pub provider: Box<dyn LlmProvider>,
    /// Dropped after the check (for example the mock server).
    pub guard: Option<Box<dyn Any + Send>>,
}

impl Wired {
    /// Wraps the provider under test.
    pub fn new(provider: impl LlmProvider + 'static) -> Self {
        Self { provider: Box::new(provider), guard: None }
    }

    /// Keeps `guard` (the server) alive as long as the provider is used.
    pub fn keeping(mut self, guard: impl Any + Send) -> Self {
        self.guard = Some(Box::new(guard));
        self
    }
}

impl fmt::Debug for Wired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wired").field("provider", self.provider.id()).finish_non_exhaustive()
    }
}

/// Wires a provider to a local server for each scenario of the suite.
#[async_trait]
pub trait ConformanceHarness: Send + Sync {
    /// A provider pointed at a fresh loopback server that answers
    /// `scenario`, in the provider's own wire format, to a call made as `mode`.
    async fn wire(&self, scenario: &Scenario, mode: CallMode) -> Wired;

    /// The id the provider must report; `None` checks only the `kind:model` shape.
    fn expected_id(&self) -> Option<ProviderId> {
        None
    }

    /// How long one call may take before its check fails (default 20 s).
    fn call_timeout(&self) -> Duration {
        Duration::from_secs(20)
    }
}

/// The outcome of one check.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckOutcome {
    /// What was checked.
    pub name: String,
    /// Whether it held.
    pub passed: bool,
    /// What was seen (the reason, for a failure).
    pub message: String,
}

/// The outcome of every check of [`run_conformance`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConformanceReport {
    /// One outcome per check, in the order run.
    pub checks: Vec<CheckOutcome>,
}

impl ConformanceReport {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }

    /// The checks that failed.
    pub fn failures(&self) -> Vec<&CheckOutcome> {
        self.checks.iter().filter(|c| !c.passed).collect()
    }

    /// Panics listing every failed check.
    ///
    /// # Panics
    /// When any check failed.
    #[track_caller]
    pub fn assert_passes(&self) {
        let failures = self.failures();
        if !failures.is_empty() {
            let list: Vec<String> = failures.iter().map(|c| format!("  - {}: {}", c.name, c.message)).collect();
            panic!("{} of {} conformance checks failed:\n{}", failures.len(), self.checks.len(), list.join("\n"));
        }
    }
}

impl fmt::Display for ConformanceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.checks {
            writeln!(f, "{} {}: {}", if c.passed { "PASS" } else { "FAIL" }, c.name, c.message)?;
        }
        Ok(())
    }
}

/// The text the suite asks for.
pub const CONFORMANCE_TEXT: &str = "Hello from the conformance suite — ünïcode ✓, three pieces.";

fn tool_scenario() -> (ToolSpec, Scenario) {
    let arguments = json!({"path": "src/main.rs", "line": 7, "context": {"before": 2, "after": 2}});
    let spec = ToolSpec {
        name: "read_file".to_owned(),
        description: "Reads lines of a file".to_owned(),
        parameters: json!({
            "type": "object",
            "properties": {"path": {"type": "string"}, "line": {"type": "integer"}, "context": {"type": "object"}},
            "required": ["path"]
        }),
    };
    (spec, Scenario::ToolCall { id: "call_conformance_1".to_owned(), name: "read_file".to_owned(), arguments })
}

fn request() -> CompletionRequest {
    CompletionRequest::new(vec![Message::user("Conformance check: answer as scripted.")]).with_max_tokens(256)
}

/// Runs `fut` with the harness's call timeout.
async fn timed<T>(h: &impl ConformanceHarness, fut: impl Future<Output = T>) -> Result<T, String> {
    let limit = h.call_timeout();
    tokio::time::timeout(limit, fut).await.map_err(|_| format!("no answer within {limit:?}"))
}

/// Every item of a stream (with the call timeout on the whole stream).
async fn drain(h: &impl ConformanceHarness, stream: CompletionStream) -> Result<Vec<StreamResult>, String> {
    timed(h, stream.collect::<Vec<_>>()).await
}

type StreamResult = Result<StreamEvent, ProviderError>;

fn check_id(h: &impl ConformanceHarness, id: &ProviderId) -> Result<String, String> {
    let text = id.as_str();
    let (kind, model) = text.split_once(':').ok_or_else(|| format!("`{text}` has no `kind:` prefix"))?;
    if kind.is_empty() || !kind.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_') {
        return Err(format!("`{text}`: kind `{kind}` is not a lower-case identifier"));
    }
    if model.is_empty() {
        return Err(format!("`{text}` has an empty model"));
    }
    if let Some(expected) = h.expected_id() {
        if &expected != id {
            return Err(format!("`{text}`, expected `{}`", expected.as_str()));
        }
    }
    Ok(format!("`{text}`"))
}

async fn check_complete_text(h: &impl ConformanceHarness) -> Result<String, String> {
    let wired = h.wire(&Scenario::Text { text: CONFORMANCE_TEXT.to_owned() }, CallMode::Complete).await;
    let out = timed(h, wired.provider.complete(request())).await?.map_err(|e| format!("failed: {e}"))?;
    if out.content != CONFORMANCE_TEXT {
        return Err(format!("content {:?}, expected {CONFORMANCE_TEXT:?}", out.content));
    }
    if out.usage.input_tokens == 0 || out.usage.output_tokens == 0 {
        return Err(format!("usage must be non-zero, got {:?}", out.usage));
    }
    Ok(format!("{} in, {} out", out.usage.input_tokens, out.usage.output_tokens))
}

async fn check_stream_text(h: &impl ConformanceHarness) -> Result<String, String> {
    let wired = h.wire(&Scenario::Text { text: CONFORMANCE_TEXT.to_owned() }, CallMode::Stream).await;
    let stream = timed(h, wired.provider.stream(request())).await?.map_err(|e| format!("did not start: {e}"))?;
    let items = drain(h, stream).await?;
    let mut text = String::new();
    let mut deltas = 0;
    let mut dones = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item {
            Ok(StreamEvent::Delta { text: t }) => {
                deltas += 1;
                text.push_str(t);
            }
            Ok(StreamEvent::Done { completion }) => dones.push((i, completion)),
            Ok(_) => {}
            Err(e) => return Err(format!("item {i} is an error: {e}")),
        }
    }
    if text != CONFORMANCE_TEXT {
        return Err(format!("deltas concatenate to {text:?}, expected {CONFORMANCE_TEXT:?}"));
    }
    match dones.as_slice() {
        [(i, done)] if *i == items.len() - 1 => {
            if done.content != text {
                return Err(format!("Done content {:?} differs from the deltas {text:?}", done.content));
            }
        }
        [(i, _)] => return Err(format!("Done is item {i} of {}, not the last", items.len())),
        other => return Err(format!("{} Done events, expected exactly one", other.len())),
    }
    Ok(format!("{deltas} deltas, one Done"))
}

fn check_call(calls: &[agent_core::provider::ToolCall], scenario: &Scenario) -> Result<String, String> {
    let Scenario::ToolCall { name, arguments, .. } = scenario else { unreachable!("a tool scenario") };
    let [call] = calls else { return Err(format!("{} tool calls, expected one", calls.len())) };
    if &call.name != name {
        return Err(format!("tool name {:?}, expected {name:?}", call.name));
    }
    let parsed = call.parsed_arguments().map_err(|e| format!("arguments {:?} do not parse: {e}", call.arguments))?;
    if &parsed != arguments {
        return Err(format!("arguments {parsed}, expected {arguments}"));
    }
    if call.id.is_empty() {
        return Err("the call has an empty id".to_owned());
    }
    Ok(format!("{}({})", call.name, call.arguments))
}

async fn check_complete_tool_call(h: &impl ConformanceHarness) -> Result<String, String> {
    let (spec, scenario) = tool_scenario();
    let wired = h.wire(&scenario, CallMode::Complete).await;
    let out = timed(h, wired.provider.complete(request().with_tools(vec![spec]))).await?.map_err(|e| e.to_string())?;
    check_call(&out.tool_calls, &scenario)
}

async fn check_stream_tool_call(h: &impl ConformanceHarness) -> Result<String, String> {
    let (spec, scenario) = tool_scenario();
    let wired = h.wire(&scenario, CallMode::Stream).await;
    let stream = timed(h, wired.provider.stream(request().with_tools(vec![spec])))
        .await?
        .map_err(|e| format!("did not start: {e}"))?;
    let items = drain(h, stream).await?;
    let mut done = None;
    for (i, item) in items.into_iter().enumerate() {
        match item {
            Ok(StreamEvent::Done { completion }) => done = Some(completion),
            Ok(_) => {}
            Err(e) => return Err(format!("item {i} is an error: {e}")),
        }
    }
    let done = done.ok_or("the stream has no Done")?;
    check_call(&done.tool_calls, &scenario)
}

fn check_error(class: ErrorClass, err: &ProviderError) -> Result<String, String> {
    if err.kind.name() != class.kind_name() {
        return Err(format!("class {}, expected {} ({err})", err.kind.name(), class.kind_name()));
    }
    let status = err.status.ok_or("the HTTP status is not kept")?;
    match err.raw_body.as_deref() {
        Some(body) if !body.trim().is_empty() => Ok(format!("HTTP {status}, {}", err.kind.name())),
        _ => Err("the raw body is not kept".to_owned()),
    }
}

async fn check_complete_error(h: &impl ConformanceHarness, class: ErrorClass) -> Result<String, String> {
    let wired = h.wire(&Scenario::Error(class), CallMode::Complete).await;
    match timed(h, wired.provider.complete(request())).await? {
        Ok(c) => Err(format!("succeeded with {:?}", c.content)),
        Err(e) => check_error(class, &e),
    }
}

async fn check_stream_error(h: &impl ConformanceHarness, class: ErrorClass) -> Result<String, String> {
    let wired = h.wire(&Scenario::Error(class), CallMode::Stream).await;
    let stream = match timed(h, wired.provider.stream(request())).await? {
        Err(e) => return check_error(class, &e),
        Ok(stream) => stream,
    };
    // An error may also come as the stream's first item.
    for item in drain(h, stream).await? {
        match item {
            Err(e) => return check_error(class, &e),
            Ok(StreamEvent::Done { .. }) => return Err("the stream finished with Done".to_owned()),
            Ok(_) => {}
        }
    }
    Err("the stream ended without an error".to_owned())
}

async fn check_truncated_stream(h: &impl ConformanceHarness) -> Result<String, String> {
    let wired = h.wire(&Scenario::TruncatedStream { text: CONFORMANCE_TEXT.to_owned() }, CallMode::Stream).await;
    let stream = match timed(h, wired.provider.stream(request())).await? {
        Err(e) => return Ok(format!("refused at start: {}", e.kind.name())),
        Ok(stream) => stream,
    };
    let items = drain(h, stream).await?;
    if items.iter().any(|i| matches!(i, Ok(StreamEvent::Done { .. }))) {
        return Err("a cut stream ended with Done, as if the answer were whole".to_owned());
    }
    match items.iter().find_map(|i| i.as_ref().err()) {
        Some(e) => Ok(format!("{}: {}", e.kind.name(), e.message)),
        None => Err("the stream ended without an error".to_owned()),
    }
}

/// Runs every check against providers wired by `h` and reports each one.
///
/// Each call is bounded by [`ConformanceHarness::call_timeout`]; a timeout
/// fails that check and the suite goes on. Needs a Tokio runtime with timers.
pub async fn run_conformance(h: &impl ConformanceHarness) -> ConformanceReport {
    let mut report = ConformanceReport::default();
    let mut record = |name: String, outcome: Result<String, String>| {
        let (passed, message) = match outcome {
            Ok(m) => (true, m),
            Err(m) => (false, m),
        };
        report.checks.push(CheckOutcome { name, passed, message });
    };

    let wired = h.wire(&Scenario::Text { text: CONFORMANCE_TEXT.to_owned() }, CallMode::Complete).await;
    record("id() is kind:model".to_owned(), check_id(h, wired.provider.id()));
    drop(wired);
    record("complete returns the text with non-zero usage".to_owned(), check_complete_text(h).await);
    record(
        "stream deltas concatenate to the text and end with exactly one Done".to_owned(),
        check_stream_text(h).await,
    );
    record("complete assembles the tool call with parseable arguments".to_owned(), check_complete_tool_call(h).await);
    record("stream assembles the tool call with parseable arguments".to_owned(), check_stream_tool_call(h).await);
    for class in ErrorClass::ALL {
        let name = class.kind_name();
        record(
            format!("complete: HTTP error is {name}, status and raw body kept"),
            check_complete_error(h, class).await,
        );
        record(format!("stream: HTTP error is {name}, status and raw body kept"), check_stream_error(h, class).await);
    }
    record("a stream cut before its terminal event is an error".to_owned(), check_truncated_stream(h).await);
    report
}
