//! The agent session's control flow, driven by agent-providers'
//! `ScriptedProvider` (a scripted model: a test double) and small test tools
//! defined here (not the built-in tools).

use crate::fakes::{ByExitCode, NoopEditor};
use agent_core::budget::{Budget, BudgetStop, BudgetTracker};
use agent_core::edit::FileChange;
use agent_core::event::{Event, EventKind, TaskId};
use agent_core::exec::{CommandSpec, ExecError, RunOutput};
use agent_core::failure::{Classification, Failure, FailureCategory, FailureKind};
use agent_core::provider::{
    Completion, CompletionRequest, CompletionStream, ContentPart, FinishReason, Message, ModelCapabilities,
    ProviderError, ProviderErrorKind, ProviderId, Reasoning, ReasoningEffort, ReasoningRequest, Role, StreamEvent,
    ToolCall, Usage,
};
use agent_core::tool::{ObservationLimits, ToolContext, ToolError, ToolOutput};
use agent_core::workspace::WorkspaceProfile;
use agent_core::{Executor, LlmProvider, Tool, async_trait};
use agent_loop::session::{AgentSession, SessionConfig, SessionEnd, SessionError, SessionReport, ToolMode};
use agent_loop::tools::ToolSet;
use agent_loop::{MemoryJournal, PlainContext, Timeline};
use agent_providers::{ScriptedProvider, ScriptedReply, StreamStep};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

// ---- test tools -------------------------------------------------------------

/// Echoes its `text` argument; no `text` is an invalid call.
struct Echo;

#[async_trait]
impl Tool for Echo {
    fn name(&self) -> &str {
        "echo"
    }
    fn description(&self) -> &str {
        "Echoes the text."
    }
    fn parameters(&self) -> Value {
        json!({"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]})
    }
    async fn call(&self, args: Value, _cx: &ToolContext) -> Result<ToolOutput, ToolError> {
        match args.get("text").and_then(Value::as_str) {
            Some(text) => Ok(ToolOutput::text(format!("echo: {text}"))),
            None => Err(ToolError::InvalidArguments { tool: "echo".into(), reason: "missing field `text`".into() }),
        }
    }
}

/// Ends the session with its `summary`.
struct Finish;

#[async_trait]
impl Tool for Finish {
    fn name(&self) -> &str {
        "finish"
    }
    fn description(&self) -> &str {
        "Ends the session."
    }
    fn parameters(&self) -> Value {
        json!({"type": "object", "properties": {"summary": {"type": "string"}}, "required": ["summary"]})
    }
    async fn call(&self, args: Value, _cx: &ToolContext) -> Result<ToolOutput, ToolError> {
        let summary = args.get("summary").and_then(Value::as_str).unwrap_or_default();
        Ok(ToolOutput::finish(summary))
    }
}

/// A file read that gives 800 bytes (200 tokens) whatever the path.
struct ReadFile;

#[async_trait]
impl Tool for ReadFile {
    fn name(&self) -> &str {
        "read_file"
    }
    fn description(&self) -> &str {
        "Reads a file."
    }
    fn parameters(&self) -> Value {
        json!({"type": "object", "properties": {"path": {"type": "string"}}})
    }
    async fn call(&self, _args: Value, _cx: &ToolContext) -> Result<ToolOutput, ToolError> {
        Ok(ToolOutput::text("x".repeat(800)))
    }
}

/// A test run that always fails one assertion: 400 bytes (100 tokens).
struct RunTests;

fn failing_run() -> Classification {
    let mut c = Classification::default();
    c.tool = "fake".into();
    c.valid_run = true;
    c.failures.push(Failure::new(FailureCategory::Test, FailureKind::TestAssertion, "left == right"));
    c
}

fn failing_run_text() -> String {
    format!("FAILED tests::average\n{}", "t".repeat(378))
}

#[async_trait]
impl Tool for RunTests {
    fn name(&self) -> &str {
        "run_tests"
    }
    fn description(&self) -> &str {
        "Runs the tests."
    }
    fn parameters(&self) -> Value {
        json!({"type": "object", "properties": {}})
    }
    async fn call(&self, _args: Value, _cx: &ToolContext) -> Result<ToolOutput, ToolError> {
        Ok(ToolOutput::text(failing_run_text()).with_classification(failing_run()))
    }
}

/// Records a change of `path`, its `content` standing in for the digest.
struct WriteFile;

#[async_trait]
impl Tool for WriteFile {
    fn name(&self) -> &str {
        "write_file"
    }
    fn description(&self) -> &str {
        "Writes a file."
    }
    fn parameters(&self) -> Value {
        json!({"type": "object", "properties": {"path": {"type": "string"}, "content": {"type": "string"}}})
    }
    async fn call(&self, args: Value, _cx: &ToolContext) -> Result<ToolOutput, ToolError> {
        let path = args["path"].as_str().unwrap_or_default().to_owned();
        let content = args["content"].as_str().unwrap_or_default().to_owned();
        let change = FileChange::new(path.clone(), "modified").with_sha256(Some(content));
        Ok(ToolOutput::text(format!("wrote {path}")).with_changes(vec![change]))
    }
}

/// Sleeps 80 ms.
struct Sleep;

#[async_trait]
impl Tool for Sleep {
    fn name(&self) -> &str {
        "sleep"
    }
    fn description(&self) -> &str {
        "Sleeps."
    }
    fn parameters(&self) -> Value {
        json!({"type": "object", "properties": {}})
    }
    async fn call(&self, _args: Value, _cx: &ToolContext) -> Result<ToolOutput, ToolError> {
        tokio::time::sleep(Duration::from_millis(80)).await;
        Ok(ToolOutput::text("slept"))
    }
}

/// Always fails the way a well-formed call can (not an invalid call).
struct Broken;

#[async_trait]
impl Tool for Broken {
    fn name(&self) -> &str {
        "broken"
    }
    fn description(&self) -> &str {
        "Always fails."
    }
    fn parameters(&self) -> Value {
        json!({"type": "object", "properties": {}})
    }
    async fn call(&self, _args: Value, _cx: &ToolContext) -> Result<ToolOutput, ToolError> {
        Err(ToolError::Failed { tool: "broken".into(), reason: "the disk is on fire".into() })
    }
}

/// Gives 10,000 bytes.
struct Flood;

#[async_trait]
impl Tool for Flood {
    fn name(&self) -> &str {
        "flood"
    }
    fn description(&self) -> &str {
        "Prints a lot."
    }
    fn parameters(&self) -> Value {
        json!({"type": "object", "properties": {}})
    }
    async fn call(&self, _args: Value, _cx: &ToolContext) -> Result<ToolOutput, ToolError> {
        Ok(ToolOutput::text((0..1000).map(|i| format!("line {i:04}\n")).collect::<String>()))
    }
}

/// Runs nothing: the test tools never start a process.
struct NoExecutor;

#[async_trait]
impl Executor for NoExecutor {
    async fn run(&self, cmd: CommandSpec) -> Result<RunOutput, ExecError> {
        Err(ExecError::InvalidCommand { reason: format!("no process in these tests: {}", cmd.display()) })
    }
}

// ---- helpers ----------------------------------------------------------------

const MODEL: &str = "scripted:model";

fn cx() -> ToolContext {
    ToolContext::new(
        "/workspace",
        Arc::new(NoopEditor),
        Arc::new(NoExecutor),
        WorkspaceProfile::new("/workspace"),
        Arc::new(ByExitCode),
        Arc::new(PlainContext::new(3, 5)),
    )
}

fn tools() -> ToolSet {
    ToolSet::empty()
        .with(Arc::new(Echo))
        .with(Arc::new(Finish))
        .with(Arc::new(ReadFile))
        .with(Arc::new(RunTests))
        .with(Arc::new(WriteFile))
        .with(Arc::new(Sleep))
        .with(Arc::new(Broken))
        .with(Arc::new(Flood))
}

/// A model answer asking for these calls `(id, tool, arguments as JSON text)`;
/// 100 tokens in, 10 out.
fn raw_calls(calls: &[(&str, &str, &str)]) -> ScriptedReply {
    let mut completion = Completion::new(ProviderId::new(MODEL), "").with_usage(Usage::new(100, 10));
    completion.tool_calls = calls.iter().map(|(id, name, args)| ToolCall::new(*id, *name, *args)).collect();
    completion.finish_reason = Some(FinishReason::ToolCalls);
    ScriptedReply::stream(vec![StreamStep::Event(StreamEvent::Done { completion })])
}

/// A model answer asking for these calls `(id, tool, arguments)`.
fn calls(calls: &[(&str, &str, Value)]) -> ScriptedReply {
    let texts: Vec<(&str, &str, String)> = calls.iter().map(|(i, n, a)| (*i, *n, a.to_string())).collect();
    let refs: Vec<(&str, &str, &str)> = texts.iter().map(|(i, n, a)| (*i, *n, a.as_str())).collect();
    raw_calls(&refs)
}

/// A model answer of plain text; 100 tokens in, 10 out.
fn text(content: &str) -> ScriptedReply {
    ScriptedReply::text_with_usage(content, Usage::new(100, 10))
}

fn finish(id: &str) -> ScriptedReply {
    calls(&[(id, "finish", json!({"summary": "done"}))])
}

struct Run {
    provider: Arc<ScriptedProvider>,
    journal: Arc<MemoryJournal>,
    result: Result<SessionReport, SessionError>,
    tracker: BudgetTracker,
}

impl Run {
    fn report(&self) -> &SessionReport {
        self.result.as_ref().unwrap()
    }

    fn request(&self, n: usize) -> Vec<Message> {
        self.provider.requests()[n].messages.clone()
    }

    fn tool_events(&self) -> Vec<(u32, String, String, Option<String>)> {
        self.journal
            .all()
            .into_iter()
            .filter_map(|e| match e.kind {
                EventKind::ToolCall { turn, name, arguments_sha256, error, .. } => {
                    Some((turn, name, arguments_sha256, error))
                }
                _ => None,
            })
            .collect()
    }
}

async fn run_with(replies: Vec<ScriptedReply>, config: SessionConfig, budget: Budget) -> Run {
    let provider = Arc::new(ScriptedProvider::new(MODEL, replies));
    let journal = Arc::new(MemoryJournal::default());
    let session = AgentSession::new(provider.clone(), tools(), journal.clone(), TaskId::new("t")).with_config(config);
    let mut tracker = BudgetTracker::start(budget);
    let result = session.run(&cx(), "You fix tests.".into(), goal(), &mut tracker).await;
    Run { provider, journal, result, tracker }
}

async fn run(replies: Vec<ScriptedReply>) -> Run {
    run_with(replies, SessionConfig::default(), Budget::unlimited()).await
}

/// The first user message: the goal and the failures, 400 bytes (100 tokens).
fn goal() -> String {
    format!("GOAL: make the tests pass\n{}", "f".repeat(374))
}

const SHA_OF_TEXT_ONE: &str = "5a16c51629b5175a9faa934c172b836ff2553ca8adf18c8c53a8ccbae5f16e77"; // {"text":"one"}
const SHA_OF_EMPTY_OBJECT: &str = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"; // {}

// ---- tests ------------------------------------------------------------------

#[tokio::test]
async fn two_tool_calls_then_finish_put_both_observations_in_the_next_request_in_order_with_their_call_ids() {
    let r = run(vec![
        calls(&[("call_a", "echo", json!({"text": "one"})), ("call_b", "echo", json!({"text": "two"}))]),
        finish("call_c"),
    ])
    .await;
    let report = r.report();
    assert_eq!(report.end, SessionEnd::Finished { summary: "done".into() });
    assert_eq!(report.turns.len(), 2);
    let names: Vec<&str> = report.turns[0].tool_calls.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["echo", "echo"]);
    assert!(report.turns[0].tool_calls.iter().all(|c| c.ok && c.error.is_none()));
    assert_eq!(report.turns[0].tool_calls[0].result_bytes, 9, "`echo: one`");
    assert_eq!(report.usage, Usage::new(200, 20));

    let first = &r.provider.requests()[0];
    let offered: Vec<&str> = first.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(offered, ["echo", "finish", "read_file", "run_tests", "write_file", "sleep", "broken", "flood"]);
    assert_eq!(first.temperature, Some(0.0));
    assert_eq!(first.max_tokens, Some(8192));
    assert_eq!(first.messages, vec![Message::system("You fix tests."), Message::user(goal())]);

    let second = r.request(1);
    assert_eq!(second.len(), 5);
    assert_eq!(second[2].role, Role::Assistant);
    let asked: Vec<&str> = second[2].tool_calls.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(asked, ["call_a", "call_b"]);
    assert_eq!(second[3], Message::tool_result("call_a", "echo: one"));
    assert_eq!(second[4], Message::tool_result("call_b", "echo: two"));
}

#[tokio::test]
async fn every_model_call_and_tool_call_is_journaled_with_digests_not_arguments() {
    let provider = Arc::new(ScriptedProvider::new(
        MODEL,
        vec![calls(&[("c1", "echo", json!({"text": "secret-argument-value"}))]), finish("c2")],
    ));
    let journal = Arc::new(MemoryJournal::default());
    let seen = Arc::new(Mutex::new(0usize));
    let counter = seen.clone();
    let session = AgentSession::new(provider, tools(), journal.clone(), TaskId::new("t"))
        .with_purpose("repair")
        .with_observer(Arc::new(move |_: &Event| *counter.lock().unwrap() += 1));
    let mut tracker = BudgetTracker::start(Budget::unlimited());
    session.run(&cx(), "sys".into(), "goal".into(), &mut tracker).await.unwrap();

    let events = journal.all();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| match &e.kind {
            EventKind::LlmCall { .. } => "llm",
            EventKind::ToolCall { .. } => "tool",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["llm", "tool", "llm", "tool"]);
    match &events[0].kind {
        EventKind::LlmCall { provider, purpose, input_tokens, output_tokens, error, .. } => {
            assert_eq!((provider.as_str(), purpose.as_str()), (MODEL, "repair"));
            assert_eq!((*input_tokens, *output_tokens), (100, 10));
            assert_eq!(*error, None);
        }
        other => panic!("{other:?}"),
    }
    match &events[1].kind {
        EventKind::ToolCall { turn, name, arguments_sha256, result_bytes, error, .. } => {
            assert_eq!((*turn, name.as_str()), (1, "echo"));
            assert_eq!(arguments_sha256, "12ff585efa8b0fd3973ef65fb89e5034167428188393e7e04645a7219838b3f6");
            assert_eq!(*result_bytes, "echo: secret-argument-value".len() as u64);
            assert_eq!(*error, None);
        }
        other => panic!("{other:?}"),
    }
    let journaled = serde_json::to_string(&events).unwrap();
    assert!(!journaled.contains("secret-argument-value"), "{journaled}");
    assert_eq!(*seen.lock().unwrap(), 4, "the observer sees every event");
    assert_eq!(tracker.turns(), 2);
}

#[tokio::test]
async fn an_unknown_tool_and_bad_arguments_become_error_observations_and_the_session_recovers() {
    let r = run(vec![
        raw_calls(&[("c1", "no_such_tool", "{}"), ("c2", "echo", "{not json")]),
        calls(&[("c3", "echo", json!({"text": "one"}))]),
        calls(&[("c4", "echo", json!({"wrong": 1}))]),
        finish("c5"),
    ])
    .await;
    assert_eq!(r.report().end, SessionEnd::Finished { summary: "done".into() });

    let second = r.request(1);
    assert_eq!(
        second[3],
        Message::tool_error(
            "c1",
            "error: unknown tool `no_such_tool`; the tools are: echo, finish, read_file, run_tests, write_file, sleep, broken, flood"
        )
    );
    assert_eq!(second[4].tool_call_id.as_deref(), Some("c2"));
    assert!(
        second[4].content.starts_with("error: invalid arguments for `echo`: the arguments are not valid JSON: "),
        "{}",
        second[4].content
    );
    assert!(second[4].is_error);
    let fourth = r.request(3);
    assert_eq!(
        fourth.last().unwrap(),
        &Message::tool_error("c4", "error: invalid arguments for `echo`: missing field `text`")
    );

    let events = r.tool_events();
    assert_eq!(events.len(), 5);
    assert_eq!(
        events[0],
        (
            1,
            "no_such_tool".to_owned(),
            SHA_OF_EMPTY_OBJECT.to_owned(),
            Some(
                "unknown tool `no_such_tool`; the tools are: echo, finish, read_file, run_tests, write_file, sleep, broken, flood"
                    .to_owned()
            )
        )
    );
    assert_eq!(events[1].2, "92072df399cb74703f8e86f450d552bc0bb01eeeb98a90985a1b7772c8fd0016", "`{{not json`");
    assert_eq!(events[2], (2, "echo".to_owned(), SHA_OF_TEXT_ONE.to_owned(), None));
    let oks: Vec<bool> = r.report().turns.iter().flat_map(|t| t.tool_calls.iter().map(|c| c.ok)).collect();
    assert_eq!(oks, [false, false, true, false, true]);
}

#[tokio::test]
async fn three_invalid_calls_in_a_row_end_the_session_as_invalid_calls() {
    let r = run(vec![
        text("I think the bug is in average()."),
        calls(&[("c1", "no_such_tool", json!({}))]),
        calls(&[("c2", "echo", json!({}))]),
        finish("c3"),
    ])
    .await;
    assert_eq!(
        r.report().end,
        SessionEnd::InvalidCalls { count: 3, last_error: "invalid arguments for `echo`: missing field `text`".into() }
    );
    assert_eq!(r.provider.remaining(), 1, "no turn after the third invalid call");
    assert_eq!(r.report().turns[0].error.as_deref(), Some("the answer called no tool"));
    let second = r.request(1);
    assert_eq!(second[2], Message::assistant("I think the bug is in average()."));
    assert_eq!(second[3], Message::user("Call a tool; call `finish` when done."));
}

#[tokio::test]
async fn a_valid_call_resets_the_count_of_invalid_calls() {
    let r = run(vec![
        text("thinking"),
        text("still thinking"),
        calls(&[("c1", "echo", json!({"text": "one"}))]),
        text("thinking again"),
        text("and again"),
        finish("c2"),
    ])
    .await;
    assert_eq!(r.report().end, SessionEnd::Finished { summary: "done".into() });
}

#[tokio::test]
async fn a_tool_that_fails_is_an_error_observation_but_not_an_invalid_call() {
    let broken = || calls(&[("c", "broken", json!({}))]);
    let r = run(vec![broken(), broken(), broken(), broken(), finish("f")]).await;
    assert_eq!(r.report().end, SessionEnd::Finished { summary: "done".into() });
    assert_eq!(r.request(1).last().unwrap(), &Message::tool_result("c", "error: broken failed: the disk is on fire"));
    let errors: Vec<Option<String>> = r.tool_events().into_iter().map(|e| e.3).collect();
    assert_eq!(errors[0].as_deref(), Some("broken failed: the disk is on fire"));
}

#[tokio::test]
async fn tokens_running_out_stop_the_session_before_the_next_turn() {
    let r = run_with(
        vec![text("let me think"), finish("f")],
        SessionConfig::default(),
        Budget::unlimited().with_max_tokens(100),
    )
    .await;
    assert_eq!(r.report().end, SessionEnd::BudgetStop(BudgetStop::Tokens { used: 110, limit: 100 }));
    assert_eq!(r.provider.requests().len(), 1);
    let stops: Vec<String> = r
        .journal
        .all()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::BudgetStop { reason } => Some(reason),
            _ => None,
        })
        .collect();
    assert_eq!(stops, ["token budget exhausted: 110 of 100"]);
}

#[tokio::test]
async fn tokens_running_out_in_a_turn_stop_the_session_before_its_tools_run() {
    let r = run_with(
        vec![calls(&[("c1", "echo", json!({"text": "one"}))]), calls(&[("c2", "echo", json!({"text": "one"}))])],
        SessionConfig::default(),
        Budget::unlimited().with_max_tokens(150),
    )
    .await;
    assert_eq!(r.report().end, SessionEnd::BudgetStop(BudgetStop::Tokens { used: 220, limit: 150 }));
    assert_eq!(r.report().turns.len(), 2);
    assert_eq!(r.report().turns[1].tool_calls, []);
    assert_eq!(r.tool_events().len(), 1);
}

#[tokio::test]
async fn wall_time_running_out_during_a_tool_stops_the_session_before_the_next_tool() {
    let r = run_with(
        vec![calls(&[("c1", "sleep", json!({})), ("c2", "echo", json!({"text": "one"}))]), finish("f")],
        SessionConfig::default(),
        Budget::unlimited().with_max_wall(Duration::from_millis(40)),
    )
    .await;
    match &r.report().end {
        SessionEnd::BudgetStop(BudgetStop::WallTime { used_ms, limit_ms }) => {
            assert_eq!(*limit_ms, 40);
            assert!(*used_ms >= 80, "{used_ms}");
        }
        other => panic!("{other:?}"),
    }
    let names: Vec<String> = r.tool_events().into_iter().map(|e| e.1).collect();
    assert_eq!(names, ["sleep"], "echo did not run");
    assert_eq!(r.provider.requests().len(), 1);
    assert!(
        r.journal
            .all()
            .iter()
            .any(|e| matches!(&e.kind, EventKind::BudgetStop { reason } if reason.starts_with("wall time exhausted")))
    );
}

#[tokio::test]
async fn max_turns_ends_the_session_after_that_many_model_turns() {
    let echo = |id: &str| calls(&[(id, "echo", json!({"text": "one"}))]);
    let r = run_with(
        vec![echo("c1"), echo("c2"), echo("c3")],
        SessionConfig::default().with_max_turns(2),
        Budget::unlimited(),
    )
    .await;
    assert_eq!(r.report().end, SessionEnd::MaxTurns { turns: 2 });
    assert_eq!(r.provider.requests().len(), 2);
    assert_eq!(r.report().tool_call_count(), 2);
}

/// run_tests in turn 1, then three file reads, then finish.
fn long_session() -> Vec<ScriptedReply> {
    vec![
        calls(&[("c1", "run_tests", json!({}))]),
        calls(&[("c2", "read_file", json!({"path": "src/a.rs"}))]),
        calls(&[("c3", "read_file", json!({"path": "src/b.rs"}))]),
        finish("c4"),
    ]
}

#[tokio::test]
async fn compaction_stubs_old_observations_and_keeps_the_goal_and_the_latest_test_run() {
    // Threshold 500 tokens. Before turn 4 the conversation is about 624 tokens:
    // system 4, goal 100, run_tests 4 + 100, each read 8 + 200.
    let config =
        SessionConfig::default().with_context_window_tokens(1000).with_compact_at(0.5).with_keep_recent_turns(1);
    let compacted = run_with(long_session(), config, Budget::unlimited()).await;
    let plain = run(long_session()).await;
    assert_eq!(compacted.report().end, SessionEnd::Finished { summary: "done".into() });
    assert_eq!(compacted.report().compactions, 1);
    assert_eq!(plain.report().compactions, 0);

    let third = compacted.request(2);
    assert_eq!(third, plain.request(2), "under the threshold nothing changes");

    let fourth = compacted.request(3);
    assert_eq!(fourth.len(), 8);
    assert_eq!(fourth[0], Message::system("You fix tests."));
    assert_eq!(fourth[1], Message::user(goal()));
    assert_eq!(fourth[3], Message::tool_result("c1", failing_run_text()), "the latest test run is kept");
    assert_eq!(
        fourth[5],
        Message::tool_result("c2", "[observation of read_file(src/a.rs) dropped to save context: 200 tokens]")
    );
    assert_eq!(fourth[7], Message::tool_result("c3", "x".repeat(800)), "the last turn is kept");

    let size = |r: &Run| serde_json::to_string(&r.provider.requests()[3]).unwrap().len();
    assert_eq!(size(&plain) - size(&compacted), 800 - 72, "the stub is 72 bytes");
    assert_eq!(compacted.report().last_classification, Some(failing_run()));
    assert_eq!(compacted.tool_events().len(), 4, "compaction journals nothing");
}

#[tokio::test]
async fn json_mode_reads_bare_and_fenced_call_objects_and_answers_a_malformed_one_with_the_format() {
    let r = run_with(
        vec![
            text(r#"{"tool": "echo", "arguments": {"text": "one"}}"#),
            text("```json\n{\"tool\": \"echo\", \"arguments\": {\"text\": \"two\"}}\n```"),
            text("I will call echo with three"),
            text(r#"{"tool": "finish", "arguments": {"summary": "done"}}"#),
        ],
        SessionConfig::default().with_mode(ToolMode::Json),
        Budget::unlimited(),
    )
    .await;
    let report = r.report();
    assert_eq!(report.end, SessionEnd::Finished { summary: "done".into() });

    let first = &r.provider.requests()[0];
    assert!(first.tools.is_empty(), "no native tools in JSON mode");
    let system = &first.messages[0].content;
    assert!(system.starts_with("You fix tests.\n\n# Tools\n"), "{system}");
    assert!(system.contains(r#"{"tool": "<tool name>", "arguments": {<the tool's arguments>}}"#), "{system}");
    assert!(system.contains("## echo\nEchoes the text.\nArguments (JSON schema): "), "{system}");

    let second = r.request(1);
    assert_eq!(second[2], Message::assistant(r#"{"tool": "echo", "arguments": {"text": "one"}}"#));
    assert_eq!(second[3], Message::user("Observation from echo:\necho: one"));
    assert_eq!(r.request(2)[5], Message::user("Observation from echo:\necho: two"));

    let fourth = r.request(3);
    let error = &fourth.last().unwrap().content;
    assert!(error.starts_with("error: the answer is not a JSON object: "), "{error}");
    assert!(
        error.ends_with(
            "Answer with exactly one JSON object and nothing else:\n\
             {\"tool\": \"<tool name>\", \"arguments\": {<the tool's arguments>}}\n\
             The tools are: echo, finish, read_file, run_tests, write_file, sleep, broken, flood."
        ),
        "{error}"
    );
    assert!(report.turns[2].error.as_deref().unwrap().starts_with("the answer is not a JSON object"));
    assert_eq!(report.turns[2].tool_calls, []);

    let events = r.tool_events();
    let names: Vec<&str> = events.iter().map(|e| e.1.as_str()).collect();
    assert_eq!(names, ["echo", "echo", "finish"]);
    assert_eq!(events[0].2, SHA_OF_TEXT_ONE);
}

#[tokio::test]
async fn json_mode_ends_as_invalid_calls_after_three_malformed_answers() {
    let r = run_with(
        vec![text("hello"), text("{\"tool\": 3}"), text("[]"), text(r#"{"tool":"finish"}"#)],
        SessionConfig::default().with_mode(ToolMode::Json),
        Budget::unlimited(),
    )
    .await;
    assert_eq!(
        r.report().end,
        SessionEnd::InvalidCalls { count: 3, last_error: "the answer is JSON but not an object".into() }
    );
}

#[tokio::test]
async fn a_provider_error_ends_the_session_with_the_error_after_journaling_it() {
    let r = run(vec![
        calls(&[("c1", "echo", json!({"text": "one"}))]),
        ScriptedReply::error(ProviderErrorKind::Overloaded { retry_after_ms: None }),
    ])
    .await;
    match &r.result {
        Err(SessionError::Provider { turn, error }) => {
            assert_eq!(*turn, 2);
            assert_eq!(error.kind, ProviderErrorKind::Overloaded { retry_after_ms: None });
        }
        other => panic!("{other:?}"),
    }
    let errors: Vec<Option<String>> = r
        .journal
        .all()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::LlmCall { error, .. } => Some(error),
            _ => None,
        })
        .collect();
    assert_eq!(errors, [None, Some("overloaded: scripted overloaded error".to_owned())]);
    assert_eq!(r.tracker.turns(), 2, "the failed turn counts");
}

#[tokio::test]
async fn changes_are_deduplicated_by_path_with_the_last_winning_and_the_last_test_run_is_kept() {
    let write = |id: &str, path: &str, content: &str| (id.to_owned(), path.to_owned(), content.to_owned());
    let turn1 = [write("c1", "src/a.rs", "v1"), write("c2", "src/b.rs", "v1")];
    let turn2 = [write("c3", "src/a.rs", "v2")];
    let as_calls = |ws: &[(String, String, String)]| {
        let list: Vec<(&str, &str, Value)> =
            ws.iter().map(|(id, p, c)| (id.as_str(), "write_file", json!({"path": p, "content": c}))).collect();
        calls(&list)
    };
    let r = run(vec![as_calls(&turn1), as_calls(&turn2), calls(&[("c4", "run_tests", json!({}))]), finish("c5")]).await;
    let report = r.report();
    assert_eq!(
        report.changes,
        vec![
            FileChange::new("src/a.rs", "modified").with_sha256(Some("v2".into())),
            FileChange::new("src/b.rs", "modified").with_sha256(Some("v1".into())),
        ]
    );
    assert_eq!(report.last_classification, Some(failing_run()));
}

#[tokio::test]
async fn a_long_observation_is_bounded_to_the_contexts_limit() {
    let provider = Arc::new(ScriptedProvider::new(MODEL, vec![calls(&[("c1", "flood", json!({}))]), finish("f")]));
    let journal = Arc::new(MemoryJournal::default());
    let session = AgentSession::new(provider.clone(), tools(), journal, TaskId::new("t"));
    let cx = cx().with_limits(ObservationLimits::default().with_max_tokens(100));
    let report = session.run(&cx, "sys".into(), "goal".into(), &mut BudgetTracker::start(Budget::unlimited())).await;
    let observation = provider.requests()[1].messages[3].content.clone();
    assert!(observation.len() <= 400, "{}", observation.len());
    assert!(observation.starts_with("line 0000\n") && observation.ends_with("line 0999\n"), "{observation}");
    assert_eq!(report.unwrap().turns[0].tool_calls[0].result_bytes, observation.len() as u64);
}

#[tokio::test]
async fn the_requests_of_a_session_are_the_same_bytes_when_it_is_run_again() {
    let script = || {
        vec![
            calls(&[("c1", "run_tests", json!({})), ("c2", "read_file", json!({"path": "src/a.rs"}))]),
            raw_calls(&[("c3", "no_such_tool", "{}")]),
            text("thinking"),
            finish("c4"),
        ]
    };
    let once = run(script()).await;
    let again = run(script()).await;
    let bytes = |r: &Run| serde_json::to_string(&r.provider.requests()).unwrap();
    assert_eq!(bytes(&once), bytes(&again));
    assert!(!bytes(&once).contains("/workspace"), "the session adds no absolute path");
}

#[tokio::test]
async fn a_tool_call_without_an_id_gets_one_from_its_turn_and_position() {
    let r = run(vec![raw_calls(&[("", "echo", r#"{"text":"one"}"#), ("", "echo", r#"{"text":"two"}"#)]), finish("f")])
        .await;
    let second = r.request(1);
    assert_eq!(second[3], Message::tool_result("call_1_1", "echo: one"));
    assert_eq!(second[4], Message::tool_result("call_1_2", "echo: two"));
}

#[tokio::test]
async fn a_configuration_without_turns_is_refused_before_any_model_call() {
    let r = run_with(vec![finish("f")], SessionConfig::default().with_max_turns(0), Budget::unlimited()).await;
    assert!(matches!(r.result, Err(SessionError::InvalidConfig { ref reason }) if reason.contains("max_turns")));
    assert!(r.provider.requests().is_empty());
}

#[tokio::test]
async fn a_sessions_tool_calls_read_back_in_the_timeline() {
    let r =
        run(vec![raw_calls(&[("c1", "echo", r#"{"text":"one"}"#), ("c2", "no_such_tool", "{}")]), finish("f")]).await;
    let timeline = Timeline::of(&r.journal.all(), &TaskId::new("t"));
    assert_eq!(timeline.tool_calls, 3);
    assert_eq!(timeline.model_calls, 2);
    let text = timeline.render();
    assert!(text.contains("tool echo (turn 1): 9 bytes in "), "{text}");
    assert!(text.contains("tool no_such_tool (turn 1): "), "{text}");
    assert!(text.contains("ms, error: unknown tool `no_such_tool`"), "{text}");
    assert!(text.ends_with("model calls: 2, tokens: 200 in / 20 out, cost: $0.0000, tool calls: 3\n"), "{text}");
}

#[test]
fn a_report_serializes_its_end_as_a_tagged_object() {
    let end = serde_json::to_value(SessionEnd::BudgetStop(BudgetStop::Tokens { used: 5, limit: 4 })).unwrap();
    assert_eq!(end, json!({"end": "budget_stop", "stop": "tokens", "used": 5, "limit": 4}));
    let end = serde_json::to_value(SessionEnd::Finished { summary: "ok".into() }).unwrap();
    assert_eq!(end, json!({"end": "finished", "summary": "ok"}));
    let schema = schemars::schema_for!(SessionReport);
    assert!(schema.as_value()["properties"]["turns"].is_object());
}

// ---- the model's capabilities and reasoning ---------------------------------

/// The scripted model behind a provider that reports `capabilities` and
/// answers every turn with `reasoning` blocks first (a test double of a
/// reasoning model such as Anthropic's with extended thinking).
struct ReasoningModel {
    inner: Arc<ScriptedProvider>,
    capabilities: Option<ModelCapabilities>,
    reasoning: Vec<Reasoning>,
}

#[async_trait]
impl LlmProvider for ReasoningModel {
    fn id(&self) -> &ProviderId {
        self.inner.id()
    }
    async fn complete(&self, req: CompletionRequest) -> Result<Completion, ProviderError> {
        Ok(self.inner.complete(req).await?.with_reasoning(self.reasoning.clone()))
    }
    async fn stream(&self, req: CompletionRequest) -> Result<CompletionStream, ProviderError> {
        self.inner.stream(req).await
    }
    fn capabilities(&self) -> Option<ModelCapabilities> {
        self.capabilities.clone()
    }
}

async fn run_reasoning(
    replies: Vec<ScriptedReply>,
    config: SessionConfig,
    capabilities: Option<ModelCapabilities>,
    reasoning: Vec<Reasoning>,
) -> Run {
    let inner = Arc::new(ScriptedProvider::new(MODEL, replies));
    let provider = Arc::new(ReasoningModel { inner: inner.clone(), capabilities, reasoning });
    let journal = Arc::new(MemoryJournal::default());
    let session = AgentSession::new(provider, tools(), journal.clone(), TaskId::new("t")).with_config(config);
    let mut tracker = BudgetTracker::start(Budget::unlimited());
    let result = session.run(&cx(), "You fix tests.".into(), goal(), &mut tracker).await;
    Run { provider: inner, journal, result, tracker }
}

#[tokio::test]
async fn without_a_configured_window_the_models_own_context_window_sets_the_compaction_threshold() {
    let small = Some(ModelCapabilities::new(1_000, 100));
    let halfway = || SessionConfig::default().with_compact_at(0.5).with_keep_recent_turns(1);
    let by_model = run_reasoning(long_session(), halfway(), small.clone(), vec![]).await;
    assert_eq!(by_model.report().compactions, 1, "a 1,000-token model compacts at 500");
    let configured = halfway().with_context_window_tokens(1_000);
    let explicit = run_with(long_session(), configured, Budget::unlimited()).await;
    assert_eq!(by_model.request(3), explicit.request(3), "the same requests as a configured 1,000-token window");

    // A configured window wins over the model's; no capabilities: 128,000.
    let wide = halfway().with_context_window_tokens(128_000);
    assert_eq!(run_reasoning(long_session(), wide, small, vec![]).await.report().compactions, 0);
    let unknown = run_reasoning(long_session(), halfway(), None, vec![]).await;
    assert_eq!(unknown.report().compactions, 0);
}

#[tokio::test]
async fn reasoning_blocks_go_back_first_in_the_assistant_turn_and_the_reasoning_controls_are_sent() {
    let thought = Reasoning::new("anthropic", "Check the echo first.").with_signature(Some("sig-1".into()));
    let config = SessionConfig::default().with_reasoning(Some(ReasoningRequest::effort(ReasoningEffort::High)));
    let r = run_reasoning(
        vec![calls(&[("c1", "echo", json!({"text": "one"}))]), finish("c2")],
        config,
        None,
        vec![thought.clone()],
    )
    .await;
    assert_eq!(r.report().end, SessionEnd::Finished { summary: "done".into() });
    let requests = r.provider.requests();
    assert!(requests.iter().all(|q| q.reasoning == Some(ReasoningRequest::effort(ReasoningEffort::High))));
    let assistant = &requests[1].messages[2];
    assert_eq!(assistant.role, Role::Assistant);
    assert_eq!(assistant.parts.first(), Some(&ContentPart::Reasoning(thought)), "the signed block first, unchanged");
    assert_eq!(assistant.tool_calls.len(), 1);
    assert_eq!(assistant.tool_calls[0].id, "c1");
}

#[tokio::test]
async fn an_invalid_call_goes_back_as_a_tool_result_flagged_as_an_error() {
    let r =
        run(vec![calls(&[("c1", "echo", json!({}))]), calls(&[("c2", "echo", json!({"text": "ok"}))]), finish("c3")])
            .await;
    let second = r.request(1);
    let failed = &second[3];
    assert_eq!(failed.tool_call_id.as_deref(), Some("c1"));
    assert!(failed.is_error, "{failed:?}");
    assert!(failed.content.contains("missing field `text`"), "{}", failed.content);
    let third = r.request(2);
    assert!(!third[5].is_error, "a valid call's result is not an error");
}
