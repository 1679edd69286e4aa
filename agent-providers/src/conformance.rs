//! Conformance checks every [`LlmProvider`] must pass (feature `test-utils`).
//!
//! A plugin author implements [`ConformanceHarness`]: for each [`Scenario`]
//! it starts a local server (on loopback) that answers in the provider's own
//! wire format, and returns the provider pointed at it; it also reports what
//! that server received ([`ConformanceHarness::received`]), so the suite can
//! check what was *sent*, not only what was parsed. [`run_conformance`] then
//! drives the provider through every scenario and reports each check:
//!
//! Answers:
//! - `complete` returns the text, with non-zero input and output usage;
//! - `stream` yields deltas that concatenate to the text, and exactly one
//!   [`StreamEvent::Done`], last, whose content equals the text, and whose
//!   usage is non-zero (counted by the server, or estimated and marked so);
//! - a tool call is assembled (by `complete` and by `stream`) with its name
//!   and arguments that parse to the JSON sent;
//! - a reasoning block (on wires that carry reasoning,
//!   [`ConformanceHarness::reasoning_origin`]) comes back in
//!   [`Completion::reasoning`](agent_core::provider::Completion::reasoning)
//!   with its signature, streams as
//!   [`StreamEvent::ReasoningDelta`] progress, and is sent back unchanged in
//!   the history of the next request.
//!
//! Errors:
//! - each HTTP error ([`ErrorClass`]) yields that [`ProviderErrorKind`] class
//!   with the status and the raw body kept, from `complete` and from `stream`;
//! - an error event inside a stream that already yielded text ends the
//!   stream with a provider-side class (`overloaded` or `server_error`), not
//!   with `Done` and not as a cut or unparseable stream;
//! - a stream cut before its terminal event is an error, not a short answer.
//!
//! Request mapping (read from the bodies the server received):
//! - a multi-turn history (system, user, assistant text with two tool calls,
//!   their two results, a user turn ending with a cache breakpoint) reaches
//!   the wire: every text, both tool names, both results;
//! - a failed tool result ([`Message::tool_error`], `is_error`) is marked as
//!   failed on the wire (an `is_error` flag, an `error` field, or an error
//!   note next to its text), unlike the successful one;
//! - reasoning made by another wire is left out of the request;
//! - an image part is sent (its base64 bytes are in the body) or refused
//!   with [`Unsupported`](agent_core::provider::ProviderErrorKind::Unsupported)
//!   before anything is sent — never dropped silently.
//!
//! And `id()` has the form `kind:model`. A harness that cannot wire a
//! scenario (it panics) fails that check; the suite goes on.
//!
//! ```no_run
//! use agent_core::{LlmProvider, async_trait};
//! use agent_core::provider::ProviderId;
//! use agent_providers::OpenAiProvider;
//! use agent_providers::conformance::{CallMode, ConformanceHarness, Scenario, Wired, run_conformance};
//! use serde_json::Value;
//!
//! /// My loopback server: answers `scenario` in my wire format and keeps the
//! /// bodies it receives (e.g. a `wiremock::MockServer` with request recording).
//! struct MyServer;
//! impl MyServer {
//!     async fn start(scenario: &Scenario, mode: CallMode) -> (String, MyServer) {
//! #       unimplemented!()
//!     }
//!     async fn bodies(&self) -> Vec<Value> {
//! #       unimplemented!()
//!     }
//! }
//!
//! struct MyHarness;
//!
//! #[async_trait]
//! impl ConformanceHarness for MyHarness {
//!     async fn wire(&self, scenario: &Scenario, mode: CallMode) -> Wired {
//!         let (url, server) = MyServer::start(scenario, mode).await;
//!         Wired::new(OpenAiProvider::new("gpt-4.1-mini").with_base_url(url)).keeping(server)
//!     }
//!     async fn received(&self, wired: &Wired) -> Option<Vec<Value>> {
//!         let server = wired.guard.as_ref()?.downcast_ref::<MyServer>()?;
//!         Some(server.bodies().await)
//!     }
//!     fn expected_id(&self) -> Option<ProviderId> {
//!         Some("openai:gpt-4.1-mini".into())
//!     }
//!     // A wire that carries reasoning with signatures names the origin its
//!     // provider writes into `Reasoning::origin` (here: none).
//!     fn reasoning_origin(&self) -> Option<&str> {
//!         None
//!     }
//! }
//!
//! # async fn demo() {
//! // In a #[tokio::test]:
//! run_conformance(&MyHarness).await.assert_passes();
//! # }
//! ```

use agent_core::provider::{
    CompletionRequest, CompletionStream, ContentPart, ImageSource, Message, ProviderError, ProviderErrorKind,
    ProviderId, Reasoning, Role, StreamEvent, ToolCall, ToolSpec,
};
use agent_core::{LlmProvider, async_trait};
use futures::{FutureExt, StreamExt};
use serde_json::{Value, json};
use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
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
    /// The service failed on its side (HTTP 500 with the wire's error body).
    ServerError,
}

impl ErrorClass {
    /// Every class the suite checks.
    pub const ALL: [ErrorClass; 6] = [
        Self::RateLimited,
        Self::QuotaExhausted,
        Self::Auth,
        Self::ContextTooLong,
        Self::Overloaded,
        Self::ServerError,
    ];

    /// The [`ProviderErrorKind::name`](agent_core::provider::ProviderErrorKind::name) the provider must report for it.
    pub fn kind_name(self) -> &'static str {
        match self {
            Self::RateLimited => "rate_limited",
            Self::QuotaExhausted => "quota_exhausted",
            Self::Auth => "auth",
            Self::ContextTooLong => "context_too_long",
            Self::Overloaded => "overloaded",
            Self::ServerError => "server_error",
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
    /// Answer `text` after one reasoning block whose readable text is
    /// `reasoning` and whose signature is `signature`, as the wire carries
    /// reasoning (Anthropic `thinking` with `signature`, Gemini a `thought`
    /// part with `thoughtSignature`, OpenAI Responses a `reasoning` item with
    /// `encrypted_content`), with non-zero usage. In [`CallMode::Stream`],
    /// stream the reasoning first (in pieces where the wire allows), then the
    /// text. Only asked of harnesses that name a
    /// [`reasoning_origin`](ConformanceHarness::reasoning_origin).
    Reasoning {
        /// The readable reasoning (or its summary).
        reasoning: String,
        /// The signature (or encrypted content) the provider must keep.
        signature: String,
        /// The answer text.
        text: String,
    },
    /// Stream the first pieces of `text` with HTTP status 200, then the
    /// wire's error event inside the stream for a failure on the provider's
    /// side (an overload, where the wire can say so), then end the stream.
    ErrorInStream {
        /// The answer that the error interrupts.
        text: String,
    },
}

/// A provider wired to a scenario's server, and whatever must stay alive while it is used.
#[non_exhaustive]
pub struct Wired {
    /// The provider under test.
    pub provider: Box<dyn LlmProvider>,
    /// Dropped after the check (for example the mock server). The harness
    /// reads what the server received through it ([`ConformanceHarness::received`]).
    pub guard: Option<Box<dyn Any + Send + Sync>>,
}

impl Wired {
    /// Wraps the provider under test.
    pub fn new(provider: impl LlmProvider + 'static) -> Self {
        Self { provider: Box::new(provider), guard: None }
    }

    /// Keeps `guard` (the server) alive as long as the provider is used.
    pub fn keeping(mut self, guard: impl Any + Send + Sync) -> Self {
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

    /// The JSON bodies of the requests the server of `wired` received so
    /// far, oldest first. `None` (the default) means the harness cannot
    /// tell, and every check of what was sent fails saying so.
    ///
    /// With wiremock, keep the `MockServer` as the guard and read
    /// `received_requests()`; see the module example.
    async fn received(&self, wired: &Wired) -> Option<Vec<Value>> {
        let _ = wired;
        None
    }

    /// The id the provider must report; `None` checks only the `kind:model` shape.
    fn expected_id(&self) -> Option<ProviderId> {
        None
    }

    /// The [`Reasoning::origin`] the provider writes on the reasoning blocks
    /// it returns (`anthropic`, `gemini`, `openai-responses`), when its wire
    /// carries reasoning that must be sent back; `None` (the default) when it
    /// carries none, and the reasoning checks do not apply.
    fn reasoning_origin(&self) -> Option<&str> {
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

    /// The check named `name`, if the suite ran one.
    pub fn check(&self, name: &str) -> Option<&CheckOutcome> {
        self.checks.iter().find(|c| c.name == name)
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

/// The readable reasoning of [`Scenario::Reasoning`].
pub const CONFORMANCE_REASONING: &str = "The suite asks for a scripted answer; weigh it, then give it.";

/// The signature of [`Scenario::Reasoning`]'s block, which must come back unchanged.
pub const CONFORMANCE_SIGNATURE: &str = "SIG-conformance-Ek8bQ2xvY2sgc2lnbmF0dXJl";

/// The bytes of the image the suite sends (a 1×1 PNG).
pub const CONFORMANCE_PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0D, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0xF0, 0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF, 0x89, 0x99, 0x3D,
    0x1D, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

/// Texts of the history request, each found in the body when it was sent.
mod marks {
    pub(super) const SYSTEM: &str = "SYS-7f3a You are checked by the conformance suite.";
    pub(super) const USER_1: &str = "USER-1c0d Read src/main.rs and list src.";
    pub(super) const ASSISTANT: &str = "ASSIST-5e21 Reading both.";
    pub(super) const RESULT_OK: &str = "RESULT-OK-3b8e fn main() {}";
    pub(super) const RESULT_FAILED: &str = "RESULT-NO-6a4d permission denied for src";
    pub(super) const USER_2: &str = "USER-2d9f What now?";
    pub(super) const FOREIGN_TEXT: &str = "THINK-FOREIGN-8b1d";
    pub(super) const FOREIGN_SIGNATURE: &str = "SIG-FOREIGN-9d2b";
    pub(super) const FOREIGN_ENCRYPTED: &str = "ENC-FOREIGN-4f6a";
    pub(super) const IMAGE_TEXT: &str = "IMG-1c9e What is in this picture?";
    pub(super) const FOLLOW_UP: &str = "FOLLOW-UP-7a0b And then?";
}

fn tool_scenario() -> (ToolSpec, Scenario) {
    let arguments = json!({"path": "src/main.rs", "line": 7, "context": {"before": 2, "after": 2}});
    (
        read_file_spec(),
        Scenario::ToolCall { id: "call_conformance_1".to_owned(), name: "read_file".to_owned(), arguments },
    )
}

fn read_file_spec() -> ToolSpec {
    ToolSpec {
        name: "read_file".to_owned(),
        description: "Reads lines of a file".to_owned(),
        parameters: json!({
            "type": "object",
            "properties": {"path": {"type": "string"}, "line": {"type": "integer"}, "context": {"type": "object"}},
            "required": ["path"]
        }),
    }
}

fn list_dir_spec() -> ToolSpec {
    ToolSpec {
        name: "list_dir".to_owned(),
        description: "Lists a directory".to_owned(),
        parameters: json!({"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}),
    }
}

fn request() -> CompletionRequest {
    CompletionRequest::new(vec![Message::user("Conformance check: answer as scripted.")]).with_max_tokens(256)
}

/// A multi-turn history: two tool calls, one result that succeeded and one
/// that failed, reasoning of another wire, and a cache breakpoint.
fn history_request() -> CompletionRequest {
    let foreign = Reasoning::new("conformance-foreign-wire", marks::FOREIGN_TEXT)
        .with_signature(Some(marks::FOREIGN_SIGNATURE.to_owned()))
        .with_encrypted(Some(marks::FOREIGN_ENCRYPTED.to_owned()));
    let mut assistant = Message::with_parts(
        Role::Assistant,
        vec![ContentPart::Reasoning(foreign), ContentPart::text(marks::ASSISTANT)],
    );
    assistant.tool_calls = vec![
        ToolCall::new("call_conf_a", "read_file", json!({"path": "src/main.rs"}).to_string()),
        ToolCall::new("call_conf_b", "list_dir", json!({"path": "src"}).to_string()),
    ];
    CompletionRequest::new(vec![
        Message::system(marks::SYSTEM),
        Message::user(marks::USER_1),
        assistant,
        Message::tool_result("call_conf_a", marks::RESULT_OK),
        Message::tool_error("call_conf_b", marks::RESULT_FAILED),
        Message::user(marks::USER_2).with_cache_breakpoint(),
    ])
    .with_tools(vec![read_file_spec(), list_dir_spec()])
    .with_max_tokens(256)
}

fn image_request() -> CompletionRequest {
    let message = Message::with_parts(
        Role::User,
        vec![ContentPart::text(marks::IMAGE_TEXT), ContentPart::image_bytes("image/png", CONFORMANCE_PNG)],
    );
    CompletionRequest::new(vec![message]).with_max_tokens(256)
}

fn reasoning_scenario() -> Scenario {
    Scenario::Reasoning {
        reasoning: CONFORMANCE_REASONING.to_owned(),
        signature: CONFORMANCE_SIGNATURE.to_owned(),
        text: CONFORMANCE_TEXT.to_owned(),
    }
}

/// Wires `scenario`, turning a panic of the harness into a failed check.
async fn wire(h: &impl ConformanceHarness, scenario: &Scenario, mode: CallMode) -> Result<Wired, String> {
    AssertUnwindSafe(h.wire(scenario, mode))
        .catch_unwind()
        .await
        .map_err(|panic| format!("the harness could not wire {scenario:?} ({mode:?}): {}", panic_text(&*panic)))
}

fn panic_text(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "it panicked".to_owned())
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

/// The bodies the server of `wired` received.
async fn bodies(h: &impl ConformanceHarness, wired: &Wired) -> Result<Vec<Value>, String> {
    h.received(wired).await.ok_or_else(|| {
        "the harness does not report what its server received (implement ConformanceHarness::received)".to_owned()
    })
}

/// The one body the server of `wired` received, as text.
async fn only_body(h: &impl ConformanceHarness, wired: &Wired) -> Result<(Value, String), String> {
    match bodies(h, wired).await?.as_slice() {
        [body] => Ok((body.clone(), body.to_string())),
        other => Err(format!("the server received {} requests, expected one", other.len())),
    }
}

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
    let wired = wire(h, &Scenario::Text { text: CONFORMANCE_TEXT.to_owned() }, CallMode::Complete).await?;
    let out = timed(h, wired.provider.complete(request())).await?.map_err(|e| format!("failed: {e}"))?;
    if out.content != CONFORMANCE_TEXT {
        return Err(format!("content {:?}, expected {CONFORMANCE_TEXT:?}", out.content));
    }
    if out.usage.input_tokens == 0 || out.usage.output_tokens == 0 {
        return Err(format!("usage must be non-zero, got {:?}", out.usage));
    }
    Ok(format!("{} in, {} out", out.usage.input_tokens, out.usage.output_tokens))
}

/// The items of a streamed text answer: every item is an event, the deltas
/// concatenate to `expected`, and exactly one `Done` comes last with that content.
fn text_stream_done(
    items: &[StreamResult],
    expected: &str,
) -> Result<(usize, agent_core::provider::Completion), String> {
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
    if text != expected {
        return Err(format!("deltas concatenate to {text:?}, expected {expected:?}"));
    }
    match dones.as_slice() {
        [(i, done)] if *i == items.len() - 1 => {
            if done.content != text {
                return Err(format!("Done content {:?} differs from the deltas {text:?}", done.content));
            }
            Ok((deltas, (*done).clone()))
        }
        [(i, _)] => Err(format!("Done is item {i} of {}, not the last", items.len())),
        other => Err(format!("{} Done events, expected exactly one", other.len())),
    }
}

async fn streamed_text(h: &impl ConformanceHarness) -> Result<Vec<StreamResult>, String> {
    let wired = wire(h, &Scenario::Text { text: CONFORMANCE_TEXT.to_owned() }, CallMode::Stream).await?;
    let stream = timed(h, wired.provider.stream(request())).await?.map_err(|e| format!("did not start: {e}"))?;
    drain(h, stream).await
}

async fn check_stream_text(h: &impl ConformanceHarness) -> Result<String, String> {
    let items = streamed_text(h).await?;
    let (deltas, _) = text_stream_done(&items, CONFORMANCE_TEXT)?;
    Ok(format!("{deltas} deltas, one Done"))
}

async fn check_stream_usage(h: &impl ConformanceHarness) -> Result<String, String> {
    let items = streamed_text(h).await?;
    let (_, done) = text_stream_done(&items, CONFORMANCE_TEXT)?;
    let usage = done.usage;
    if usage.input_tokens == 0 || usage.output_tokens == 0 {
        return Err(format!("the Done completion's usage must be non-zero (counted or estimated), got {usage:?}"));
    }
    let how = if usage.estimated { "estimated" } else { "counted by the server" };
    Ok(format!("{} in, {} out, {how}", usage.input_tokens, usage.output_tokens))
}

fn check_call(calls: &[ToolCall], scenario: &Scenario) -> Result<String, String> {
    let Scenario::ToolCall { name, arguments, .. } = scenario else {
        return Err(format!("not a tool scenario: {scenario:?}"));
    };
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
    let wired = wire(h, &scenario, CallMode::Complete).await?;
    let out = timed(h, wired.provider.complete(request().with_tools(vec![spec]))).await?.map_err(|e| e.to_string())?;
    check_call(&out.tool_calls, &scenario)
}

async fn check_stream_tool_call(h: &impl ConformanceHarness) -> Result<String, String> {
    let (spec, scenario) = tool_scenario();
    let wired = wire(h, &scenario, CallMode::Stream).await?;
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
    let wired = wire(h, &Scenario::Error(class), CallMode::Complete).await?;
    match timed(h, wired.provider.complete(request())).await? {
        Ok(c) => Err(format!("succeeded with {:?}", c.content)),
        Err(e) => check_error(class, &e),
    }
}

async fn check_stream_error(h: &impl ConformanceHarness, class: ErrorClass) -> Result<String, String> {
    let wired = wire(h, &Scenario::Error(class), CallMode::Stream).await?;
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
    let wired = wire(h, &Scenario::TruncatedStream { text: CONFORMANCE_TEXT.to_owned() }, CallMode::Stream).await?;
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

/// Whether `kind` says the provider failed on its side.
fn provider_side(kind: &ProviderErrorKind) -> bool {
    matches!(kind, ProviderErrorKind::Overloaded { .. } | ProviderErrorKind::ServerError { .. })
}

async fn check_error_in_stream(h: &impl ConformanceHarness) -> Result<String, String> {
    let wired = wire(h, &Scenario::ErrorInStream { text: CONFORMANCE_TEXT.to_owned() }, CallMode::Stream).await?;
    let stream = match timed(h, wired.provider.stream(request())).await? {
        Err(e) if provider_side(&e.kind) => return Ok(format!("refused at start: {}", e.kind.name())),
        Err(e) => return Err(format!("refused at start as {} ({e})", e.kind.name())),
        Ok(stream) => stream,
    };
    let items = drain(h, stream).await?;
    let mut text = String::new();
    for (i, item) in items.iter().enumerate() {
        match item {
            Ok(StreamEvent::Delta { text: t }) => text.push_str(t),
            Ok(StreamEvent::Done { .. }) => return Err(format!("item {i} is Done: the error was not seen")),
            Ok(_) => {}
            Err(e) if i + 1 != items.len() => return Err(format!("item {i} is an error but the stream went on: {e}")),
            Err(e) if provider_side(&e.kind) => {
                if !CONFORMANCE_TEXT.starts_with(&text) {
                    return Err(format!("the deltas before the error, {text:?}, are not the start of the text"));
                }
                return Ok(format!("{} after {} characters", e.kind.name(), text.chars().count()));
            }
            Err(e) => {
                return Err(format!("class {}, expected overloaded or server_error ({e})", e.kind.name()));
            }
        }
    }
    Err("the stream ended without an error".to_owned())
}

async fn check_history_mapping(h: &impl ConformanceHarness) -> Result<String, String> {
    let wired = wire(h, &Scenario::Text { text: CONFORMANCE_TEXT.to_owned() }, CallMode::Complete).await?;
    let out = timed(h, wired.provider.complete(history_request())).await?.map_err(|e| format!("failed: {e}"))?;
    if out.content != CONFORMANCE_TEXT {
        return Err(format!("content {:?}, expected {CONFORMANCE_TEXT:?}", out.content));
    }
    let (_, body) = only_body(h, &wired).await?;
    let texts = [marks::SYSTEM, marks::USER_1, marks::ASSISTANT, marks::RESULT_OK, marks::RESULT_FAILED, marks::USER_2];
    let missing: Vec<&str> = texts.iter().copied().filter(|t| !body.contains(t)).collect();
    if !missing.is_empty() {
        return Err(format!("the body lacks {missing:?}"));
    }
    for tool in ["read_file", "list_dir"] {
        if body.matches(&format!("\"{tool}\"")).count() < 2 {
            return Err(format!("`{tool}` is not both offered and called in the body"));
        }
    }
    Ok(format!("6 texts, 2 tool calls and 2 results in {} bytes", body.len()))
}

/// The values from the root of `value` down to the first string that contains `needle`.
fn path_to<'a>(value: &'a Value, needle: &str) -> Option<Vec<&'a Value>> {
    let inner = match value {
        Value::String(s) => return s.contains(needle).then(|| vec![value]),
        Value::Array(items) => items.iter().find_map(|v| path_to(v, needle)),
        Value::Object(map) => map.values().find_map(|v| path_to(v, needle)),
        _ => None,
    }?;
    let mut path = vec![value];
    path.extend(inner);
    Some(path)
}

async fn check_tool_error_marked(h: &impl ConformanceHarness) -> Result<String, String> {
    let wired = wire(h, &Scenario::Text { text: CONFORMANCE_TEXT.to_owned() }, CallMode::Complete).await?;
    timed(h, wired.provider.complete(history_request())).await?.map_err(|e| format!("failed: {e}"))?;
    let (body, _) = only_body(h, &wired).await?;
    let path = path_to(&body, marks::RESULT_FAILED).ok_or("the failed result is not in the body")?;
    // The largest part of the body around the failed result that does not
    // also hold the successful one: the result (and its message) as the wire writes it.
    let around = path
        .iter()
        .rev()
        .take_while(|v| !v.to_string().contains(marks::RESULT_OK))
        .last()
        .ok_or("the failed result is not apart from the successful one")?;
    let written = excerpt(&around.to_string(), 160);
    if marks_error(around, marks::RESULT_FAILED) {
        Ok(format!("marked: {written}"))
    } else {
        Err(format!("the failed result is written like a successful one: {written}"))
    }
}

/// Whether `value` marks an error: a key naming an error whose value is
/// set (not `false`, `null` or empty), or text saying "error" besides `result`.
fn marks_error(value: &Value, result: &str) -> bool {
    match value {
        Value::Object(map) => map.iter().any(|(k, v)| {
            let set = !matches!(v, Value::Null | Value::Bool(false)) && v.as_str() != Some("");
            (k.to_ascii_lowercase().contains("error") && set) || marks_error(v, result)
        }),
        Value::Array(items) => items.iter().any(|v| marks_error(v, result)),
        Value::String(s) => s.replace(result, "").to_ascii_lowercase().contains("error"),
        _ => false,
    }
}

fn excerpt(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

async fn check_foreign_reasoning_left_out(h: &impl ConformanceHarness) -> Result<String, String> {
    let wired = wire(h, &Scenario::Text { text: CONFORMANCE_TEXT.to_owned() }, CallMode::Complete).await?;
    timed(h, wired.provider.complete(history_request())).await?.map_err(|e| format!("failed: {e}"))?;
    let (_, body) = only_body(h, &wired).await?;
    let leaked: Vec<&str> = [marks::FOREIGN_TEXT, marks::FOREIGN_SIGNATURE, marks::FOREIGN_ENCRYPTED]
        .into_iter()
        .filter(|m| body.contains(m))
        .collect();
    if leaked.is_empty() { Ok("left out".to_owned()) } else { Err(format!("the body carries {leaked:?}")) }
}

async fn check_image(h: &impl ConformanceHarness) -> Result<String, String> {
    let wired = wire(h, &Scenario::Text { text: CONFORMANCE_TEXT.to_owned() }, CallMode::Complete).await?;
    let outcome = timed(h, wired.provider.complete(image_request())).await?;
    let received = bodies(h, &wired).await?;
    match outcome {
        Err(e) if matches!(e.kind, ProviderErrorKind::Unsupported { .. }) => {
            if received.is_empty() {
                Ok(format!("refused before sending: {}", e.message))
            } else {
                Err(format!("refused as unsupported, but only after sending {} request(s)", received.len()))
            }
        }
        Err(e) => Err(format!("failed as {} ({e}); expected the image sent, or refused as unsupported", e.kind.name())),
        Ok(_) => {
            let encoded = match ContentPart::image_bytes("image/png", CONFORMANCE_PNG) {
                ContentPart::Image { source: ImageSource::Base64(encoded), .. } => encoded,
                other => return Err(format!("internal: the image part is {other:?}")),
            };
            let [body] = received.as_slice() else {
                return Err(format!("the server received {} requests, expected one", received.len()));
            };
            let body = body.to_string();
            if !body.contains(marks::IMAGE_TEXT) {
                Err("the text beside the image is not in the body".to_owned())
            } else if body.contains(&encoded) {
                Ok("sent with its base64 bytes".to_owned())
            } else {
                Err("the image was dropped silently: neither sent nor refused".to_owned())
            }
        }
    }
}

/// The reasoning block of a completion: from `origin`, with the scenario's signature.
fn check_block(reasoning: &[Reasoning], origin: &str) -> Result<String, String> {
    let block = reasoning.iter().find(|r| r.origin == origin).ok_or_else(|| {
        let origins: Vec<&str> = reasoning.iter().map(|r| r.origin.as_str()).collect();
        format!("no reasoning block from `{origin}` (blocks from {origins:?})")
    })?;
    let signed = [&block.signature, &block.encrypted].iter().any(|s| s.as_deref() == Some(CONFORMANCE_SIGNATURE));
    if !signed {
        return Err(format!(
            "the block's signature {:?} / encrypted {:?} is not the one sent",
            block.signature, block.encrypted
        ));
    }
    if !block.text.is_empty() && block.text != CONFORMANCE_REASONING {
        return Err(format!("the block's text {:?} is not the reasoning sent", block.text));
    }
    Ok(format!("one block from `{origin}`, signature kept"))
}

async fn check_reasoning_round_trip(h: &impl ConformanceHarness) -> Result<String, String> {
    let Some(origin) = h.reasoning_origin() else {
        return Ok("not applicable: the wire carries no reasoning to send back".to_owned());
    };
    let wired = wire(h, &reasoning_scenario(), CallMode::Complete).await?;
    let out = timed(h, wired.provider.complete(request())).await?.map_err(|e| format!("failed: {e}"))?;
    if out.content != CONFORMANCE_TEXT {
        return Err(format!("content {:?}, expected {CONFORMANCE_TEXT:?}", out.content));
    }
    let found = check_block(&out.reasoning, origin)?;
    let mut next = request();
    next.messages.push(Message::from_completion(&out));
    next.messages.push(Message::user(marks::FOLLOW_UP));
    let wired = wire(h, &Scenario::Text { text: CONFORMANCE_TEXT.to_owned() }, CallMode::Complete).await?;
    timed(h, wired.provider.complete(next)).await?.map_err(|e| format!("the next turn failed: {e}"))?;
    let (_, body) = only_body(h, &wired).await?;
    if !body.contains(CONFORMANCE_SIGNATURE) {
        return Err("the next request does not send the signature back".to_owned());
    }
    Ok(format!("{found}; sent back in the next request"))
}

async fn check_reasoning_stream(h: &impl ConformanceHarness) -> Result<String, String> {
    let Some(origin) = h.reasoning_origin() else {
        return Ok("not applicable: the wire carries no reasoning".to_owned());
    };
    let wired = wire(h, &reasoning_scenario(), CallMode::Stream).await?;
    let stream = timed(h, wired.provider.stream(request())).await?.map_err(|e| format!("did not start: {e}"))?;
    let items = drain(h, stream).await?;
    let progress = items.iter().filter(|i| matches!(i, Ok(StreamEvent::ReasoningDelta { .. }))).count();
    if progress == 0 {
        return Err("no ReasoningDelta event: reasoning progress is not shown".to_owned());
    }
    let (_, done) = text_stream_done(&items, CONFORMANCE_TEXT)?;
    let found = check_block(&done.reasoning, origin)?;
    Ok(format!("{progress} reasoning deltas; {found}"))
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

    let id = match wire(h, &Scenario::Text { text: CONFORMANCE_TEXT.to_owned() }, CallMode::Complete).await {
        Ok(wired) => check_id(h, wired.provider.id()),
        Err(e) => Err(e),
    };
    record("id() is kind:model".to_owned(), id);
    record("complete returns the text with non-zero usage".to_owned(), check_complete_text(h).await);
    record(
        "stream deltas concatenate to the text and end with exactly one Done".to_owned(),
        check_stream_text(h).await,
    );
    record("stream: the Done completion carries non-zero usage".to_owned(), check_stream_usage(h).await);
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
    record(
        "an error event inside a stream ends it with a provider-side class".to_owned(),
        check_error_in_stream(h).await,
    );
    record(
        "request: a multi-turn history with tool calls and results reaches the wire".to_owned(),
        check_history_mapping(h).await,
    );
    record(
        "request: a failed tool result is marked as failed on the wire".to_owned(),
        check_tool_error_marked(h).await,
    );
    record("request: reasoning made by another wire is left out".to_owned(), check_foreign_reasoning_left_out(h).await);
    record("request: an image is sent, or refused as unsupported before sending".to_owned(), check_image(h).await);
    record(
        "reasoning comes back with its signature and is sent back unchanged".to_owned(),
        check_reasoning_round_trip(h).await,
    );
    record(
        "stream: reasoning shows as progress and Done keeps the signed block".to_owned(),
        check_reasoning_stream(h).await,
    );
    report
}
