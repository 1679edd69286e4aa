//! Anthropic Messages with content parts, against a loopback server speaking
//! its wire format: cache breakpoints over a two-turn conversation and
//! cache-aware cost, extended thinking round-tripped (whole and streamed),
//! images, failed tool results, empty text, other wires' reasoning,
//! structured output by forced tool choice, and the HTTP escape hatches.
//! Every test asserts what reached the server, not only what was parsed.

use crate::native_support::*;
use agent_core::LlmProvider;
use agent_core::provider::{
    CompletionRequest, ContentPart, FinishReason, Message, ModelCapabilities, ProviderErrorKind, Reasoning,
    ReasoningControl, ReasoningRequest, Role, StreamEvent, ToolCall, ToolSpec,
};
use agent_providers::layers::PriceTable;
use agent_providers::{AnthropicProvider, HttpOptions, complete_structured};
use serde_json::{Value, json};
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const MODEL: &str = "claude-sonnet-4-5";
const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];

/// A server answering each POST with the next of `responses` (the last one repeats).
async fn server_answering(responses: Vec<ResponseTemplate>) -> MockServer {
    let server = MockServer::start().await;
    let count = responses.len();
    for (i, response) in responses.into_iter().enumerate() {
        let mock = Mock::given(method("POST")).and(path("/v1/messages")).respond_with(response);
        let mock = if i + 1 < count { mock.up_to_n_times(1) } else { mock };
        mock.mount(&server).await;
    }
    server
}

fn provider_at(server: &MockServer, model: &str) -> AnthropicProvider {
    AnthropicProvider::new(model)
        .with_base_url(server.uri())
        .with_api_key(Some("sk-ant-test".to_owned()))
        .with_timeout(Duration::from_secs(10))
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).insert_header("request-id", "req_parts_1").set_body_json(body)
}

/// A message as the Messages API returns it.
fn message(content: Value, stop_reason: &str, usage: Value) -> Value {
    json!({
        "id": "msg_01Parts", "type": "message", "role": "assistant", "content": content,
        "model": "claude-sonnet-4-5-20250929", "stop_reason": stop_reason, "stop_sequence": null, "usage": usage
    })
}

fn text_answer(text: &str) -> ResponseTemplate {
    ok(message(json!([{"type": "text", "text": text}]), "end_turn", json!({"input_tokens": 10, "output_tokens": 5})))
}

fn bodies(requests: &[Request]) -> Vec<Value> {
    requests.iter().map(|r| serde_json::from_slice(&r.body).unwrap()).collect()
}

async fn sent_bodies(server: &MockServer) -> Vec<Value> {
    bodies(&server.received_requests().await.unwrap())
}

async fn only_body(server: &MockServer) -> Value {
    serde_json::from_slice(&only_request(server).await.body).unwrap()
}

/// Every block of every message.
fn blocks(body: &Value) -> Vec<&Value> {
    body["messages"].as_array().unwrap().iter().flat_map(|m| m["content"].as_array().unwrap()).collect()
}

/// Where `cache_control` is set, as paths like `system[0]`, `tools[1]`, `messages[2][0]`.
fn breakpoints(body: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let marked = |v: &Value| v.get("cache_control") == Some(&json!({"type": "ephemeral"}));
    if let Some(system) = body["system"].as_array() {
        found.extend(system.iter().enumerate().filter(|(_, b)| marked(b)).map(|(i, _)| format!("system[{i}]")));
    }
    if let Some(tools) = body["tools"].as_array() {
        found.extend(tools.iter().enumerate().filter(|(_, b)| marked(b)).map(|(i, _)| format!("tools[{i}]")));
    }
    for (m, msg) in body["messages"].as_array().unwrap().iter().enumerate() {
        for (b, block) in msg["content"].as_array().unwrap().iter().enumerate() {
            if marked(block) {
                found.push(format!("messages[{m}][{b}]"));
            }
        }
    }
    found
}

fn search_tool() -> ToolSpec {
    ToolSpec {
        name: "search_code".to_owned(),
        description: "Searches the repository".to_owned(),
        parameters: json!({"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}),
    }
}

/// The published rates of `model` in the crate's price table file, per million tokens:
/// (input, cached_input, cache_write, output).
fn published_rates(model: &str) -> (f64, f64, f64, f64) {
    let table: Value = serde_json::from_str(include_str!("../../src/layers/prices.json")).unwrap();
    let p = &table["models"][model];
    let rate = |k: &str| p[k].as_f64().unwrap();
    (rate("input"), rate("cached_input"), rate("cache_write"), rate("output"))
}

// ----- caching -----

#[tokio::test]
async fn second_turn_reads_the_prefix_the_first_turn_wrote_to_the_cache_and_is_priced_at_the_read_rate() {
    let first = ok(message(
        json!([{"type": "text", "text": "The parser lives in src/parse.rs."}]),
        "end_turn",
        json!({"input_tokens": 12, "cache_creation_input_tokens": 40_000, "cache_read_input_tokens": 0, "output_tokens": 200}),
    ));
    let second = ok(message(
        json!([{"type": "text", "text": "It returns a Result."}]),
        "end_turn",
        json!({"input_tokens": 8, "cache_creation_input_tokens": 220, "cache_read_input_tokens": 40_000, "output_tokens": 100}),
    ));
    let server = server_answering(vec![first, second]).await;
    let provider = provider_at(&server, MODEL);
    let system = Message::system("You are a code assistant. <a long repository map>");
    let question = Message::user("Where is the parser?");

    let turn1 = provider
        .complete(CompletionRequest::new(vec![system.clone(), question.clone()]).with_tools(vec![search_tool()]))
        .await
        .unwrap();
    let history = vec![system, question, Message::from_completion(&turn1), Message::user("What does it return?")];
    let turn2 = provider.complete(CompletionRequest::new(history).with_tools(vec![search_tool()])).await.unwrap();

    let sent = sent_bodies(&server).await;
    assert_eq!(sent.len(), 2);
    let (one, two) = (&sent[0], &sent[1]);
    // Turn 1: the end of the system prompt, the last tool, and the one user turn.
    assert_eq!(breakpoints(one), ["system[0]", "tools[0]", "messages[0][0]"], "{one}");
    assert_eq!(one["system"][0]["text"], "You are a code assistant. <a long repository map>");
    // Turn 2: the same three places (what turn 1 wrote) plus the new last turn.
    assert_eq!(breakpoints(two), ["system[0]", "tools[0]", "messages[0][0]", "messages[2][0]"], "{two}");
    // Turn 1's whole request is, byte for byte, the prefix of turn 2's, ending at a breakpoint.
    assert_eq!(two["tools"], one["tools"]);
    assert_eq!(two["system"], one["system"]);
    assert_eq!(two["messages"][0], one["messages"][0]);
    assert_eq!(
        two["messages"][1],
        json!({"role": "assistant", "content": [{"type": "text", "text": "The parser lives in src/parse.rs."}]})
    );

    // Usage: Anthropic's input_tokens excludes cache reads and writes.
    assert_eq!(turn1.usage.input_tokens, 12 + 40_000);
    assert_eq!(turn1.usage.cache_write_input_tokens, 40_000);
    assert_eq!(turn1.usage.cached_input_tokens, 0);
    assert_eq!(turn2.usage.input_tokens, 8 + 220 + 40_000);
    assert_eq!(turn2.usage.cached_input_tokens, 40_000);
    assert_eq!(turn2.usage.cache_write_input_tokens, 220);

    // The server reported the dated snapshot name; it is priced as claude-sonnet-4-5,
    // whose published rates are $3 input, $0.30 cache read, $3.75 cache write, $15 output.
    assert_eq!(published_rates(MODEL), (3.0, 0.30, 3.75, 15.0));
    // Turn 1: 12·3 + 40,000·3.75 + 200·15 = 36 + 150,000 + 3,000 = 153,036 µ$.
    assert_eq!(turn1.cost_usd.unwrap().micros(), 153_036);
    // Turn 2: 8·3 + 40,000·0.30 + 220·3.75 + 100·15 = 24 + 12,000 + 825 + 1,500 = 14,349 µ$.
    assert_eq!(turn2.cost_usd.unwrap().micros(), 14_349);
    // The cost meter's path prices the same way.
    assert_eq!(PriceTable::builtin().price_completion(&turn2).unwrap().micros(), 14_349);
}

#[tokio::test]
async fn an_explicit_breakpoint_marks_the_block_before_it_and_automatic_ones_can_be_switched_off() {
    let server = server_answering(vec![text_answer("ok")]).await;
    let document = Message::with_parts(
        Role::User,
        vec![
            ContentPart::text("<a long design document>"),
            ContentPart::CacheBreakpoint,
            ContentPart::text("Summarise it."),
        ],
    );
    let req = CompletionRequest::new(vec![Message::system("Be brief."), document]).with_tools(vec![search_tool()]);
    provider_at(&server, MODEL).with_auto_cache(false).complete(req).await.unwrap();
    let body = only_body(&server).await;
    assert_eq!(breakpoints(&body), ["messages[0][0]"], "{body}");
    assert_eq!(body["system"], "Be brief.", "an unmarked system prompt is sent as text");
    assert_eq!(body["messages"][0]["content"][1], json!({"type": "text", "text": "Summarise it."}));
}

#[tokio::test]
async fn explicit_breakpoints_take_precedence_and_four_is_the_most_sent() {
    let server = server_answering(vec![text_answer("ok")]).await;
    let mut messages = vec![Message::system("Be brief.")];
    for i in 0..3 {
        messages.push(Message::user(format!("doc {i}")).with_cache_breakpoint());
        messages.push(Message::assistant(format!("noted {i}")));
    }
    messages.push(Message::user("and now?"));
    provider_at(&server, MODEL)
        .complete(CompletionRequest::new(messages).with_tools(vec![search_tool()]))
        .await
        .unwrap();
    let body = only_body(&server).await;
    // Three explicit ones, then the first automatic one (the last turn); system and tools miss out.
    assert_eq!(breakpoints(&body), ["messages[0][0]", "messages[2][0]", "messages[4][0]", "messages[6][0]"]);
}

// ----- extended thinking -----

fn thinking_content() -> Value {
    json!([
        {"type": "thinking", "thinking": "The user wants the weather; I should call get_weather.", "signature": "EqQBCgIYAhIMzWbCZQ8l"},
        {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"},
        {"type": "text", "text": "Let me check."},
        {"type": "tool_use", "id": "toolu_01Think", "name": "get_weather", "input": {"location": "Paris"}}
    ])
}

fn weather_tool() -> ToolSpec {
    ToolSpec {
        name: "get_weather".to_owned(),
        description: "Current weather of a city".to_owned(),
        parameters: json!({"type": "object", "properties": {"location": {"type": "string"}}}),
    }
}

#[tokio::test]
async fn thinking_blocks_come_back_unchanged_and_first_in_the_next_request() {
    let first = ok(message(thinking_content(), "tool_use", json!({"input_tokens": 50, "output_tokens": 300})));
    let server = server_answering(vec![first, text_answer("18°C and sunny.")]).await;
    let provider = provider_at(&server, MODEL);
    let ask = |messages| {
        CompletionRequest::new(messages)
            .with_tools(vec![weather_tool()])
            .with_reasoning(ReasoningRequest::budget(2_000))
            .with_max_tokens(1_000)
            .with_temperature(0.7)
    };
    let question = Message::user("Weather in Paris?");
    let turn1 = provider.complete(ask(vec![question.clone()])).await.unwrap();
    assert_eq!(turn1.reasoning.len(), 2);
    assert_eq!(turn1.reasoning[0].origin, "anthropic");
    assert_eq!(turn1.reasoning[0].text, "The user wants the weather; I should call get_weather.");
    assert_eq!(turn1.reasoning[0].signature.as_deref(), Some("EqQBCgIYAhIMzWbCZQ8l"));
    assert!(turn1.reasoning[1].text.is_empty());
    assert_eq!(
        turn1.reasoning[1].encrypted.as_deref(),
        Some("EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP")
    );
    assert_eq!(turn1.content, "Let me check.", "thinking is not answer text");
    assert_eq!(turn1.finish_reason, Some(FinishReason::ToolCalls));

    let history =
        vec![question, Message::from_completion(&turn1), Message::tool_result("toolu_01Think", "18°C, sunny")];
    provider.complete(ask(history)).await.unwrap();

    let sent = sent_bodies(&server).await;
    for body in &sent {
        assert_eq!(body["thinking"], json!({"type": "enabled", "budget_tokens": 2_000}));
        assert!(body.get("temperature").is_none(), "no temperature with thinking: {body}");
        assert_eq!(body["max_tokens"], 3_000, "raised above the budget by the requested answer length");
    }
    let assistant = &sent[1]["messages"][1];
    assert_eq!(assistant["role"], "assistant");
    let content = assistant["content"].as_array().unwrap();
    let received = thinking_content();
    // Thinking first and byte for byte as received, then the text and the tool use.
    assert_eq!(content[0], received[0]);
    assert_eq!(content[1], received[1]);
    assert_eq!(content[2], received[2]);
    assert_eq!(content[3]["type"], "tool_use");
    assert_eq!(content[3]["id"], "toolu_01Think");
    assert_eq!(content[3]["input"], json!({"location": "Paris"}));
    assert_eq!(content.len(), 4);
}

/// An SSE body from the `data` JSON of each event (its `type` names the event).
fn sse(events: &[Value]) -> ResponseTemplate {
    let body: String =
        events.iter().map(|e| format!("event: {}\ndata: {e}\n\n", e["type"].as_str().unwrap())).collect();
    ResponseTemplate::new(200).insert_header("content-type", "text/event-stream").set_body_string(body)
}

fn thinking_stream() -> Vec<Value> {
    vec![
        json!({"type": "message_start", "message": {"id": "msg_01Stream", "type": "message", "role": "assistant", "content": [],
            "model": "claude-sonnet-4-5-20250929", "stop_reason": null, "usage": {"input_tokens": 50, "output_tokens": 1}}}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "The user wants the weather; "}}),
        json!({"type": "ping"}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "I should call get_weather."}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "EqQBCgIYAhIMzWbCZQ8l"}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "content_block_start", "index": 1, "content_block": {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"}}),
        json!({"type": "content_block_stop", "index": 1}),
        json!({"type": "content_block_start", "index": 2, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "content_block_delta", "index": 2, "delta": {"type": "text_delta", "text": "Let me check."}}),
        json!({"type": "content_block_stop", "index": 2}),
        json!({"type": "content_block_start", "index": 3, "content_block": {"type": "tool_use", "id": "toolu_01Think", "name": "get_weather", "input": {}}}),
        json!({"type": "content_block_delta", "index": 3, "delta": {"type": "input_json_delta", "partial_json": "{\"location\":\"Paris\"}"}}),
        json!({"type": "content_block_stop", "index": 3}),
        json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 300}}),
        json!({"type": "message_stop"}),
    ]
}

#[tokio::test]
async fn streamed_thinking_assembles_the_same_reasoning_and_history_as_a_whole_answer() {
    let whole = ok(message(thinking_content(), "tool_use", json!({"input_tokens": 50, "output_tokens": 300})));
    let server = server_answering(vec![whole, sse(&thinking_stream())]).await;
    let provider = provider_at(&server, MODEL);
    let req = CompletionRequest::new(vec![Message::user("Weather in Paris?")])
        .with_tools(vec![weather_tool()])
        .with_reasoning(ReasoningRequest::budget(2_000));
    let completed = provider.complete(req.clone()).await.unwrap();
    let got = collect(provider.stream(req).await.unwrap()).await;
    assert!(got.error.is_none(), "{:?}", got.error);

    let thoughts: Vec<&str> = got
        .events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::ReasoningDelta { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        thoughts,
        ["The user wants the weather; ", "I should call get_weather.", ""],
        "the redacted block is progress too"
    );
    assert_eq!(got.text(), "Let me check.");
    let streamed = got.done().unwrap();
    assert_eq!(streamed.reasoning, completed.reasoning);
    assert_eq!(streamed.tool_calls, completed.tool_calls);
    assert_eq!(Message::from_completion(streamed), Message::from_completion(&completed));
    assert_eq!(sent_bodies(&server).await[1]["stream"], true);
}

#[tokio::test]
async fn reasoning_is_ignored_for_a_model_without_reasoning_control() {
    let server = server_answering(vec![text_answer("ok")]).await;
    let req = CompletionRequest::new(vec![Message::user("hi")])
        .with_reasoning(ReasoningRequest::budget(4_000))
        .with_temperature(0.3);
    provider_at(&server, "claude-3-5-haiku-20241022").complete(req).await.unwrap();
    let body = only_body(&server).await;
    assert!(body.get("thinking").is_none(), "{body}");
    assert!((body["temperature"].as_f64().unwrap() - 0.3).abs() < 1e-6);
    assert_eq!(body["max_tokens"], 8_192, "claude-3-5-haiku's output limit from the capability table");
}

// ----- parts -----

#[tokio::test]
async fn image_parts_are_sent_as_image_blocks_from_bytes_and_urls() {
    let server = server_answering(vec![text_answer("A diagram.")]).await;
    let question = Message::with_parts(
        Role::User,
        vec![
            ContentPart::text("What do these show?"),
            ContentPart::image_bytes("image/png", PNG),
            ContentPart::image_url("image/jpeg", "https://example.invalid/chart.jpg"),
        ],
    );
    provider_at(&server, MODEL).with_auto_cache(false).complete(CompletionRequest::new(vec![question])).await.unwrap();
    let body = only_body(&server).await;
    assert_eq!(
        body["messages"][0]["content"],
        json!([
            {"type": "text", "text": "What do these show?"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
            {"type": "image", "source": {"type": "url", "url": "https://example.invalid/chart.jpg"}}
        ])
    );
}

#[tokio::test]
async fn an_image_to_a_model_without_image_input_is_unsupported_and_nothing_is_sent() {
    let server = server_answering(vec![text_answer("never")]).await;
    let provider = provider_at(&server, "claude-3-5-haiku");
    let question = Message::with_parts(
        Role::User,
        vec![ContentPart::text("What is this?"), ContentPart::image_bytes("image/png", PNG)],
    );
    let req = CompletionRequest::new(vec![question]);
    let err = provider.complete(req.clone()).await.unwrap_err();
    assert_eq!(err.kind, ProviderErrorKind::Unsupported { what: "image_input".into() });
    assert_eq!(err.provider.as_str(), "anthropic:claude-3-5-haiku");
    let err = provider.stream(req).await.err().expect("the stream is refused too");
    assert_eq!(err.kind, ProviderErrorKind::Unsupported { what: "image_input".into() });
    // In a tool result as well.
    let mut result = Message::tool_result("toolu_1", "");
    result.push_part(ContentPart::image_bytes("image/png", PNG));
    let req = CompletionRequest::new(vec![
        Message::user("Take a screenshot"),
        Message::assistant_tool_calls("", vec![ToolCall::new("toolu_1", "screenshot", "{}")]),
        result,
    ]);
    assert!(matches!(provider.complete(req).await.unwrap_err().kind, ProviderErrorKind::Unsupported { .. }));
    assert!(server.received_requests().await.unwrap().is_empty(), "no request reached the server");
}

#[tokio::test]
async fn a_failed_tool_result_carries_is_error_and_a_result_with_images_carries_blocks() {
    let server = server_answering(vec![text_answer("I see.")]).await;
    let mut screenshot = Message::tool_result("toolu_2", "");
    screenshot.push_part(ContentPart::text("The page:"));
    screenshot.push_part(ContentPart::image_bytes("image/png", PNG));
    let req = CompletionRequest::new(vec![
        Message::user("Run the tests and take a screenshot"),
        Message::assistant_tool_calls(
            "",
            vec![ToolCall::new("toolu_1", "run_tests", "{}"), ToolCall::new("toolu_2", "screenshot", "{}")],
        ),
        Message::tool_error("toolu_1", "cargo: command not found"),
        screenshot,
    ]);
    provider_at(&server, MODEL).with_auto_cache(false).complete(req).await.unwrap();
    let body = only_body(&server).await;
    assert_eq!(
        body["messages"][2]["content"],
        json!([
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "cargo: command not found", "is_error": true},
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": [
                {"type": "text", "text": "The page:"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
            ]}
        ])
    );
}

#[tokio::test]
async fn no_empty_text_block_and_no_empty_system_prompt_is_sent() {
    let server = server_answering(vec![text_answer("ok")]).await;
    let req = CompletionRequest::new(vec![
        Message::system(""),
        Message::with_parts(Role::User, vec![ContentPart::text(""), ContentPart::text("Fix the bug")]),
        Message::assistant_tool_calls("", vec![ToolCall::new("toolu_1", "read_file", r#"{"path":"a.rs"}"#)]),
        Message::tool_result("toolu_1", ""),
        Message::assistant(""),
        Message::user("Go on"),
    ]);
    provider_at(&server, MODEL).complete(req).await.unwrap();
    let body = only_body(&server).await;
    assert!(body.get("system").is_none(), "{body}");
    for block in blocks(&body) {
        if block["type"] == "text" {
            assert!(!block["text"].as_str().unwrap().is_empty(), "empty text block sent: {body}");
        }
    }
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 3, "the empty assistant turn is left out: {body}");
    assert_eq!(messages[1]["content"].as_array().unwrap().len(), 1, "only the tool use: {body}");
    assert_eq!(messages[1]["content"][0]["type"], "tool_use");
    assert!(messages[2]["content"][0].get("content").is_none(), "an empty tool result has no content: {body}");
    assert_eq!(messages[2]["content"][1]["text"], "Go on");
}

#[tokio::test]
async fn reasoning_made_by_another_wire_is_dropped() {
    let server = server_answering(vec![text_answer("ok")]).await;
    let gemini = Reasoning::new("gemini", "gemini thoughts").with_signature(Some("CiQB".into()));
    let openai =
        Reasoning::new("openai-responses", "").with_encrypted(Some("gAAAA".into())).with_id(Some("rs_1".into()));
    let ours = Reasoning::new("anthropic", "my thoughts").with_signature(Some("EqQB".into()));
    let assistant = Message::with_parts(
        Role::Assistant,
        vec![
            ContentPart::Reasoning(gemini),
            ContentPart::Reasoning(openai),
            ContentPart::text("Earlier answer."),
            ContentPart::Reasoning(ours),
        ],
    );
    let req = CompletionRequest::new(vec![Message::user("q1"), assistant, Message::user("q2")]);
    provider_at(&server, MODEL).with_auto_cache(false).complete(req).await.unwrap();
    let body = only_body(&server).await;
    assert_eq!(
        body["messages"][1]["content"],
        json!([
            {"type": "thinking", "thinking": "my thoughts", "signature": "EqQB"},
            {"type": "text", "text": "Earlier answer."}
        ])
    );
}

// ----- structured output -----

#[derive(Debug, serde::Deserialize, schemars::JsonSchema, PartialEq)]
struct Verdict {
    approve: bool,
    reasons: Vec<String>,
}

#[tokio::test]
async fn structured_output_forces_the_schema_tool_and_its_input_is_the_answer() {
    let content = json!([{"type": "tool_use", "id": "toolu_01Ans", "name": "Verdict",
        "input": {"approve": true, "reasons": ["tests pass"]}}]);
    let server =
        server_answering(vec![ok(message(content, "tool_use", json!({"input_tokens": 40, "output_tokens": 20})))])
            .await;
    let req = CompletionRequest::new(vec![Message::user("Review this diff")]).with_temperature(0.0);
    let answer = complete_structured::<Verdict>(&provider_at(&server, MODEL), req).await.unwrap();
    assert_eq!(answer.value, Verdict { approve: true, reasons: vec!["tests pass".into()] });
    assert!(answer.completion.tool_calls.is_empty(), "the answer tool's call is the answer");
    assert_eq!(answer.completion.finish_reason, Some(FinishReason::Stop));

    let body = only_body(&server).await;
    assert_eq!(body["tool_choice"], json!({"type": "tool", "name": "Verdict"}));
    let tools = body["tools"].as_array().unwrap();
    assert_eq!(tools.len(), 1);
    assert_eq!(tools[0]["name"], "Verdict");
    assert_eq!(tools[0]["input_schema"]["type"], "object");
    assert!(tools[0]["input_schema"]["properties"]["reasons"].is_object(), "{body}");
    assert!(body.get("system").is_none(), "no instruction is needed when the tool is forced: {body}");
}

#[tokio::test]
async fn streamed_structured_output_streams_the_tool_input_as_the_answer_text() {
    let events = vec![
        json!({"type": "message_start", "message": {"id": "msg_s", "type": "message", "role": "assistant", "content": [],
            "model": "claude-sonnet-4-5-20250929", "usage": {"input_tokens": 40, "output_tokens": 1}}}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "toolu_01Ans", "name": "verdict", "input": {}}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{\"approve\": false, "}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "\"reasons\": [\"no tests\"]}"}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 20}}),
        json!({"type": "message_stop"}),
    ];
    let server = server_answering(vec![sse(&events)]).await;
    let schema =
        json!({"type": "object", "properties": {"approve": {"type": "boolean"}, "reasons": {"type": "array"}}});
    let req = CompletionRequest::new(vec![Message::user("Review")]).with_response_format("verdict", schema);
    let got = collect(provider_at(&server, MODEL).stream(req).await.unwrap()).await;
    assert!(got.error.is_none(), "{:?}", got.error);
    let done = got.done().unwrap();
    assert_eq!(got.text(), done.content);
    assert_eq!(
        serde_json::from_str::<Value>(&done.content).unwrap(),
        json!({"approve": false, "reasons": ["no tests"]})
    );
    assert!(done.tool_calls.is_empty() && got.tool_deltas().is_empty());
    assert_eq!(done.finish_reason, Some(FinishReason::Stop));
    assert_eq!(only_body(&server).await["tool_choice"], json!({"type": "tool", "name": "verdict"}));
}

#[tokio::test]
async fn structured_output_with_thinking_asks_for_the_tool_without_forcing_it() {
    let content = json!([
        {"type": "thinking", "thinking": "Two files changed.", "signature": "EqQB"},
        {"type": "tool_use", "id": "toolu_01Ans", "name": "files", "input": {"value": ["a.rs", "b.rs"]}}
    ]);
    let server =
        server_answering(vec![ok(message(content, "tool_use", json!({"input_tokens": 40, "output_tokens": 20})))])
            .await;
    let req = CompletionRequest::new(vec![Message::user("Which files?")])
        .with_tools(vec![search_tool()])
        .with_reasoning(ReasoningRequest::budget(1_024))
        .with_response_format("files", json!({"type": "array", "items": {"type": "string"}}));
    let out = provider_at(&server, MODEL).complete(req).await.unwrap();
    assert_eq!(out.content, r#"["a.rs","b.rs"]"#, "a non-object schema is answered under `value`");
    assert_eq!(out.reasoning.len(), 1);

    let body = only_body(&server).await;
    assert_eq!(body["tool_choice"], json!({"type": "auto"}), "Anthropic forbids forced tools with thinking");
    assert!(body["system"][0]["text"].as_str().unwrap().contains("\"files\""), "{body}");
    let tools = body["tools"].as_array().unwrap();
    assert_eq!(tools[0]["name"], "search_code");
    assert_eq!(tools[1]["name"], "files");
    assert_eq!(tools[1]["input_schema"]["properties"]["value"]["type"], "array");
    assert_eq!(tools[1]["input_schema"]["required"], json!(["value"]));
}

#[tokio::test]
async fn structured_output_beside_the_requests_own_tools_lets_the_model_pick_any_tool() {
    let server = server_answering(vec![text_answer("{}")]).await;
    let req = CompletionRequest::new(vec![Message::user("Plan")])
        .with_tools(vec![search_tool()])
        .with_response_format("search_code", json!({"type": "object"}));
    provider_at(&server, MODEL).complete(req).await.unwrap();
    let body = only_body(&server).await;
    assert_eq!(body["tool_choice"], json!({"type": "any"}));
    assert_eq!(body["tools"][1]["name"], "search_code_answer", "a name distinct from the request's tools");
}

// ----- HTTP escape hatches, capabilities, endpoint -----

#[tokio::test]
async fn http_options_headers_client_and_body_reach_the_server_and_request_extras_win() {
    let server = server_answering(vec![text_answer("ok")]).await;
    let client = reqwest::Client::builder().user_agent("agentkit-test/1").build().unwrap();
    let http = HttpOptions::new()
        .with_client(client)
        .with_header("anthropic-beta", "interleaved-thinking-2025-05-14")
        .unwrap()
        .with_header("x-team", "agents")
        .unwrap()
        .with_extra_body("metadata", json!({"user_id": "u-1"}))
        .with_extra_body("top_k", json!(5));
    let req = CompletionRequest::new(vec![Message::user("hi")])
        .with_extra_header("x-team", "repair")
        .with_extra_body("top_k", json!(10));
    provider_at(&server, MODEL).with_http_options(http).complete(req).await.unwrap();
    let request = only_request(&server).await;
    assert_eq!(header(&request, "user-agent"), Some("agentkit-test/1"), "the injected client sent it");
    assert_eq!(header(&request, "anthropic-beta"), Some("interleaved-thinking-2025-05-14"));
    assert_eq!(header(&request, "x-team"), Some("repair"), "the request's header wins");
    assert_eq!(header(&request, "x-api-key"), Some("sk-ant-test"));
    assert_eq!(header(&request, "anthropic-version"), Some("2023-06-01"));
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["metadata"], json!({"user_id": "u-1"}));
    assert_eq!(body["top_k"], 10, "the request's field wins");
    assert_eq!(body["model"], MODEL);
}

#[tokio::test]
async fn an_invalid_per_request_header_is_an_invalid_request_error_and_nothing_is_sent() {
    let server = server_answering(vec![text_answer("never")]).await;
    let provider = provider_at(&server, MODEL);
    let req = CompletionRequest::new(vec![Message::user("hi")]).with_extra_header("bad header", "x");
    let err = provider.complete(req.clone()).await.unwrap_err();
    assert_eq!(err.kind, ProviderErrorKind::InvalidRequest);
    assert!(err.message.contains("bad header"), "{}", err.message);
    let err = provider.stream(req).await.err().expect("the stream is refused too");
    assert_eq!(err.kind, ProviderErrorKind::InvalidRequest);
    let req = CompletionRequest::new(vec![Message::user("hi")]).with_extra_header("x-ok", "line\nbreak");
    assert_eq!(provider.complete(req).await.unwrap_err().kind, ProviderErrorKind::InvalidRequest);
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn capabilities_come_from_the_table_or_the_host_and_the_endpoint_is_the_base_url() {
    let server = server_answering(vec![text_answer("ok")]).await;
    let provider = provider_at(&server, "claude-sonnet-4-5-20250929");
    let dyn_provider: &dyn LlmProvider = &provider;
    let caps = dyn_provider.capabilities().expect("a dated name is looked up as its model");
    assert_eq!(caps.max_output_tokens, 64_000);
    assert_eq!(caps.reasoning, ReasoningControl::BudgetTokens);
    assert!(caps.image_input);
    assert_eq!(dyn_provider.endpoint(), Some(server.uri()));
    assert!(AnthropicProvider::new("claude-next").capabilities().is_none());

    // A host's own entry shapes the request: its output limit is the default max_tokens.
    let own = provider_at(&server, "claude-next").with_capabilities(ModelCapabilities::new(100_000, 2_000));
    own.complete(CompletionRequest::new(vec![Message::user("hi")])).await.unwrap();
    assert_eq!(only_body(&server).await["max_tokens"], 2_000);
}
