//! The OpenAI Responses API provider against a local server speaking its
//! wire format: a stateless tool loop with reasoning items carried between
//! turns, streaming, structured output, parts, and errors (HTTP and inside
//! a 200 stream), asserted on what the server received.

use agent_core::LlmProvider;
use agent_core::provider::{
    Completion, CompletionRequest, ContentPart, FinishReason, Message, ProviderError, ProviderErrorKind, Reasoning,
    ReasoningEffort, ReasoningRequest, Role, StreamEvent, ToolCall, ToolSpec,
};
use agent_providers::{HttpOptions, OpenAiResponsesProvider};
use futures::StreamExt;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const MODEL: &str = "o4-mini";

/// Answers the n-th request with the n-th template (the last one again after that).
struct Turns {
    replies: Vec<ResponseTemplate>,
    next: AtomicUsize,
}

impl Respond for Turns {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.next.fetch_add(1, Ordering::SeqCst).min(self.replies.len() - 1);
        self.replies[n].clone()
    }
}

async fn server_answering(replies: Vec<ResponseTemplate>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/responses"))
        .respond_with(Turns { replies, next: AtomicUsize::new(0) })
        .mount(&server)
        .await;
    server
}

fn provider(server: &MockServer, model: &str) -> OpenAiResponsesProvider {
    OpenAiResponsesProvider::new(model)
        .with_base_url(format!("{}/v1", server.uri()))
        .with_api_key(Some("sk-test".into()))
        .with_timeout(Duration::from_secs(10))
}

async fn request_bodies(server: &MockServer) -> Vec<Value> {
    let received = server.received_requests().await.expect("request recording is on");
    received.iter().map(|r| serde_json::from_slice(&r.body).expect("request body is JSON")).collect()
}

/// A response object as the API returns it, with these output items.
fn response(id: &str, output: Value, input_tokens: u64, output_tokens: u64, reasoning_tokens: u64) -> Value {
    json!({
        "id": id,
        "object": "response",
        "created_at": 1_756_000_000,
        "status": "completed",
        "background": false,
        "error": null,
        "incomplete_details": null,
        "instructions": "You are a coding agent.",
        "max_output_tokens": 4000,
        "model": "o4-mini-2025-04-16",
        "output": output,
        "parallel_tool_calls": true,
        "previous_response_id": null,
        "reasoning": {"effort": "medium", "summary": null},
        "store": false,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto",
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": 64},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
            "total_tokens": input_tokens + output_tokens
        },
        "user": null,
        "metadata": {}
    })
}

fn json_reply(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).insert_header("x-request-id", "req_resp_1").set_body_json(body)
}

fn reasoning_item(id: &str, summary: &[&str], encrypted: &str) -> Value {
    let summary: Vec<Value> = summary.iter().map(|t| json!({"type": "summary_text", "text": t})).collect();
    json!({"id": id, "type": "reasoning", "summary": summary, "encrypted_content": encrypted})
}

fn call_item(id: &str, call_id: &str, name: &str, arguments: &str) -> Value {
    json!({"id": id, "type": "function_call", "status": "completed", "arguments": arguments, "call_id": call_id, "name": name})
}

fn message_item(id: &str, text: &str) -> Value {
    json!({"id": id, "type": "message", "status": "completed", "role": "assistant",
           "content": [{"type": "output_text", "annotations": [], "logprobs": [], "text": text}]})
}

fn tools() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: "read_file".into(),
            description: "Read a file".into(),
            parameters: json!({"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}),
        },
        ToolSpec {
            name: "list_dir".into(),
            description: "List a directory".into(),
            parameters: json!({"type": "object", "properties": {"path": {"type": "string"}}}),
        },
    ]
}

fn turn(history: &[Message]) -> CompletionRequest {
    CompletionRequest::new(history.to_vec())
        .with_tools(tools())
        .with_max_tokens(4_000)
        .with_temperature(0.2)
        .with_reasoning(ReasoningRequest::effort(ReasoningEffort::Medium))
}

#[tokio::test]
async fn a_tool_loop_sends_each_turns_reasoning_items_back_unchanged_with_its_calls_and_their_outputs() {
    let server = server_answering(vec![
        json_reply(response(
            "resp_1",
            json!([
                reasoning_item("rs_1", &[], "gAAAA-enc-one"),
                call_item("fc_1", "call_read", "read_file", r#"{"path":"Cargo.toml"}"#)
            ]),
            120,
            340,
            320,
        )),
        json_reply(response(
            "resp_2",
            json!([
                reasoning_item(
                    "rs_2",
                    &["**Checking the layout**", "The manifest names a workspace."],
                    "gAAAA-enc-two"
                ),
                call_item("fc_2", "call_ls", "list_dir", r#"{"path":"src"}"#)
            ]),
            400,
            200,
            150,
        )),
        json_reply(response(
            "resp_3",
            json!([reasoning_item("rs_3", &[], "gAAAA-enc-three"), message_item("msg_3", "The crate is agentkit.")]),
            600,
            80,
            40,
        )),
    ])
    .await;
    let p = provider(&server, MODEL);
    let mut history = vec![Message::system("You are a coding agent."), Message::user("What is the crate called?")];

    let first = p.complete(turn(&history)).await.unwrap();
    assert_eq!(
        first.reasoning,
        [Reasoning::new("openai-responses", "")
            .with_id(Some("rs_1".into()))
            .with_encrypted(Some("gAAAA-enc-one".into()))]
    );
    assert_eq!(first.tool_calls, [ToolCall::new("call_read", "read_file", r#"{"path":"Cargo.toml"}"#)]);
    assert_eq!(first.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!((first.usage.input_tokens, first.usage.output_tokens), (120, 340));
    assert_eq!((first.usage.cached_input_tokens, first.usage.reasoning_tokens), (64, 320));
    assert_eq!(first.model.as_deref(), Some("o4-mini-2025-04-16"));
    assert_eq!(first.request_id.as_deref(), Some("req_resp_1"));
    assert!(first.cost_usd.is_some(), "o4-mini is priced");
    history.push(Message::from_completion(&first));
    history.push(Message::tool_result("call_read", "[workspace]\nmembers = [\"agent-core\"]"));

    let second = p.complete(turn(&history)).await.unwrap();
    assert_eq!(second.reasoning[0].text, "**Checking the layout**\n\nThe manifest names a workspace.");
    history.push(Message::from_completion(&second));
    history.push(Message::tool_error("call_ls", "error: permission denied"));

    let third = p.complete(turn(&history)).await.unwrap();
    assert_eq!(third.content, "The crate is agentkit.");
    assert_eq!(third.finish_reason, Some(FinishReason::Stop));
    assert_eq!(third.reasoning[0].id.as_deref(), Some("rs_3"));

    let bodies = request_bodies(&server).await;
    assert_eq!(bodies.len(), 3);
    let user = json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "What is the crate called?"}]});
    for body in &bodies {
        assert_eq!(body["model"], MODEL);
        assert_eq!(body["instructions"], "You are a coding agent.");
        assert_eq!(body["store"], false);
        assert_eq!(body["include"], json!(["reasoning.encrypted_content"]));
        assert_eq!(body["reasoning"], json!({"effort": "medium"}));
        assert_eq!(body["max_output_tokens"], 4_000);
        assert!(body.get("temperature").is_none(), "o4-mini takes no temperature: {body}");
        assert!(body.get("previous_response_id").is_none());
        assert_eq!(
            body["tools"][0],
            json!({"type": "function", "name": "read_file", "description": "Read a file",
                   "parameters": tools()[0].parameters, "strict": false})
        );
    }
    assert_eq!(bodies[0]["input"], json!([user]));
    let turn_one_items = json!([
        user,
        {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAAA-enc-one"},
        {"type": "function_call", "call_id": "call_read", "name": "read_file", "arguments": r#"{"path":"Cargo.toml"}"#},
        {"type": "function_call_output", "call_id": "call_read", "output": "[workspace]\nmembers = [\"agent-core\"]"},
    ]);
    assert_eq!(bodies[1]["input"], turn_one_items);
    let mut turn_two_items = turn_one_items.as_array().unwrap().clone();
    turn_two_items.extend([
        json!({"type": "reasoning", "id": "rs_2", "encrypted_content": "gAAAA-enc-two",
               "summary": [{"type": "summary_text", "text": "**Checking the layout**\n\nThe manifest names a workspace."}]}),
        json!({"type": "function_call", "call_id": "call_ls", "name": "list_dir", "arguments": r#"{"path":"src"}"#}),
        json!({"type": "function_call_output", "call_id": "call_ls", "output": "error: permission denied"}),
    ]);
    assert_eq!(bodies[2]["input"], Value::Array(turn_two_items));
    let received = server.received_requests().await.unwrap();
    assert_eq!(received[0].headers.get("authorization").unwrap(), "Bearer sk-test");
}

/// An SSE body of `(event, data)` pairs.
fn sse(events: &[Value]) -> String {
    let mut body = String::new();
    for (n, data) in events.iter().enumerate() {
        let mut data = data.clone();
        data["sequence_number"] = json!(n);
        body.push_str(&format!("event: {}\ndata: {}\n\n", data["type"].as_str().unwrap(), data));
    }
    body
}

fn event_stream(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200).insert_header("x-request-id", "req_resp_1").set_body_raw(body, "text/event-stream")
}

fn streamed_items() -> Value {
    json!([
        reasoning_item("rs_s1", &["**Reading the manifest**"], "gAAAA-enc-s1"),
        message_item("msg_s2", "Let me check."),
        call_item("fc_s3", "call_s3", "read_file", r#"{"path":"Cargo.toml"}"#),
    ])
}

/// The events OpenAI streams for [`streamed_items`]; `completed_output` is
/// the output carried by `response.completed`.
fn streamed_events(completed_output: Value) -> Vec<Value> {
    let in_progress = json!({"id": "resp_s", "object": "response", "status": "in_progress", "model": "o4-mini-2025-04-16", "output": [], "usage": null});
    let mut done = response("resp_s", completed_output, 150, 90, 60);
    done["id"] = json!("resp_s");
    let items = streamed_items();
    vec![
        json!({"type": "response.created", "response": in_progress}),
        json!({"type": "response.in_progress", "response": in_progress}),
        json!({"type": "response.output_item.added", "output_index": 0, "item": {"id": "rs_s1", "type": "reasoning", "summary": []}}),
        json!({"type": "response.reasoning_summary_part.added", "item_id": "rs_s1", "output_index": 0, "summary_index": 0, "part": {"type": "summary_text", "text": ""}}),
        json!({"type": "response.reasoning_summary_text.delta", "item_id": "rs_s1", "output_index": 0, "summary_index": 0, "delta": "**Reading "}),
        json!({"type": "response.reasoning_summary_text.delta", "item_id": "rs_s1", "output_index": 0, "summary_index": 0, "delta": "the manifest**"}),
        json!({"type": "response.reasoning_summary_text.done", "item_id": "rs_s1", "output_index": 0, "summary_index": 0, "text": "**Reading the manifest**"}),
        json!({"type": "response.output_item.done", "output_index": 0, "item": items[0]}),
        json!({"type": "response.output_item.added", "output_index": 1, "item": {"id": "msg_s2", "type": "message", "status": "in_progress", "role": "assistant", "content": []}}),
        json!({"type": "response.content_part.added", "item_id": "msg_s2", "output_index": 1, "content_index": 0, "part": {"type": "output_text", "annotations": [], "text": ""}}),
        json!({"type": "response.output_text.delta", "item_id": "msg_s2", "output_index": 1, "content_index": 0, "delta": "Let me ", "logprobs": []}),
        json!({"type": "response.output_text.delta", "item_id": "msg_s2", "output_index": 1, "content_index": 0, "delta": "check.", "logprobs": []}),
        json!({"type": "response.output_text.done", "item_id": "msg_s2", "output_index": 1, "content_index": 0, "text": "Let me check."}),
        json!({"type": "response.output_item.done", "output_index": 1, "item": items[1]}),
        json!({"type": "response.output_item.added", "output_index": 2, "item": {"id": "fc_s3", "type": "function_call", "status": "in_progress", "arguments": "", "call_id": "call_s3", "name": "read_file"}}),
        json!({"type": "response.function_call_arguments.delta", "item_id": "fc_s3", "output_index": 2, "delta": "{\"path\":"}),
        json!({"type": "response.function_call_arguments.delta", "item_id": "fc_s3", "output_index": 2, "delta": "\"Cargo.toml\"}"}),
        json!({"type": "response.function_call_arguments.done", "item_id": "fc_s3", "output_index": 2, "arguments": "{\"path\":\"Cargo.toml\"}"}),
        json!({"type": "response.output_item.done", "output_index": 2, "item": items[2]}),
        json!({"type": "response.completed", "response": done}),
    ]
}

async fn collect(p: &OpenAiResponsesProvider, req: CompletionRequest) -> Vec<Result<StreamEvent, ProviderError>> {
    p.stream(req).await.unwrap().collect().await
}

fn done(events: &[Result<StreamEvent, ProviderError>]) -> Completion {
    match events.last() {
        Some(Ok(StreamEvent::Done { completion })) => completion.clone(),
        other => panic!("the stream did not end with Done: {other:?}"),
    }
}

#[tokio::test]
async fn a_streamed_turn_yields_reasoning_text_and_call_deltas_and_assembles_the_same_completion() {
    let mut whole = response("resp_s", streamed_items(), 150, 90, 60);
    whole["id"] = json!("resp_s");
    let server = server_answering(vec![event_stream(sse(&streamed_events(streamed_items()))), json_reply(whole)]).await;
    let p = provider(&server, MODEL);
    let history = vec![Message::user("What is the crate called?")];

    let events = collect(&p, turn(&history)).await;
    let visible: Vec<StreamEvent> = events.iter().filter_map(|e| e.as_ref().ok().cloned()).collect();
    assert_eq!(
        visible[..7],
        [
            StreamEvent::ReasoningDelta { text: String::new() },
            StreamEvent::ReasoningDelta { text: "**Reading ".into() },
            StreamEvent::ReasoningDelta { text: "the manifest**".into() },
            StreamEvent::Delta { text: "Let me ".into() },
            StreamEvent::Delta { text: "check.".into() },
            StreamEvent::ToolCallDelta {
                index: 0,
                id: Some("call_s3".into()),
                name: Some("read_file".into()),
                arguments: String::new()
            },
            StreamEvent::ToolCallDelta { index: 0, id: None, name: None, arguments: "{\"path\":".into() },
        ]
    );
    let streamed = done(&events);
    let whole = p.complete(turn(&history)).await.unwrap();
    assert_eq!(streamed, whole);
    assert_eq!(streamed.content, "Let me check.");
    assert_eq!(streamed.reasoning[0].encrypted.as_deref(), Some("gAAAA-enc-s1"));
    assert_eq!(streamed.tool_calls, [ToolCall::new("call_s3", "read_file", r#"{"path":"Cargo.toml"}"#)]);
    assert_eq!(streamed.usage.reasoning_tokens, 60);

    let bodies = request_bodies(&server).await;
    assert_eq!(bodies[0]["stream"], true);
    assert!(bodies[1].get("stream").is_none());
    assert_eq!(bodies[0]["input"], bodies[1]["input"]);
}

#[tokio::test]
async fn a_completed_event_without_output_is_assembled_from_the_streamed_items() {
    let server = server_answering(vec![event_stream(sse(&streamed_events(json!([]))))]).await;
    let streamed = done(&collect(&provider(&server, MODEL), turn(&[Message::user("hi")])).await);
    assert_eq!(streamed.content, "Let me check.");
    assert_eq!(
        streamed.reasoning,
        [Reasoning::new("openai-responses", "**Reading the manifest**")
            .with_id(Some("rs_s1".into()))
            .with_encrypted(Some("gAAAA-enc-s1".into()))]
    );
    assert_eq!(streamed.tool_calls, [ToolCall::new("call_s3", "read_file", r#"{"path":"Cargo.toml"}"#)]);
    assert_eq!(streamed.finish_reason, Some(FinishReason::ToolCalls));
}

async fn stream_error(events: Vec<Value>) -> ProviderError {
    let server = server_answering(vec![event_stream(sse(&events))]).await;
    let events = collect(&provider(&server, MODEL), turn(&[Message::user("hi")])).await;
    match events.last() {
        Some(Err(e)) => e.clone(),
        other => panic!("the stream did not fail: {other:?}"),
    }
}

#[tokio::test]
async fn a_quota_error_event_inside_a_200_stream_is_quota_exhausted_not_a_rate_limit() {
    let created =
        json!({"type": "response.created", "response": {"id": "resp_e", "status": "in_progress", "output": []}});
    let err = stream_error(vec![
        created,
        json!({"type": "error", "code": "insufficient_quota", "param": null,
               "message": "You exceeded your current quota, please check your plan and billing details."}),
    ])
    .await;
    assert!(matches!(err.kind, ProviderErrorKind::QuotaExhausted { .. }), "{err}");
    assert_eq!(err.status, Some(200));
    assert!(err.raw_body.unwrap().contains("insufficient_quota"));
}

#[tokio::test]
async fn a_rate_limit_error_event_inside_a_stream_is_rate_limited_with_its_hint() {
    let err = stream_error(vec![json!({"type": "error", "code": "rate_limit_exceeded", "param": null,
        "message": "Rate limit reached for o4-mini in organization org-1 on tokens per min (TPM). Please try again in 1.5s."})])
    .await;
    assert_eq!(err.kind, ProviderErrorKind::RateLimited { retry_after_ms: Some(1_500) });
}

#[tokio::test]
async fn a_failed_response_inside_a_stream_is_a_server_error() {
    let err = stream_error(vec![json!({"type": "response.failed", "response": {
        "id": "resp_f", "object": "response", "status": "failed", "output": [], "usage": null,
        "error": {"code": "server_error", "message": "The model failed to generate a response."}}})])
    .await;
    assert_eq!(err.kind, ProviderErrorKind::ServerError { status: 500 });
    assert!(err.message.contains("failed to generate"), "{}", err.message);
}

#[tokio::test]
async fn a_stream_that_ends_before_response_completed_is_a_transport_error() {
    let mut events = streamed_events(streamed_items());
    events.pop();
    let err = stream_error(events).await;
    assert_eq!(err.kind, ProviderErrorKind::Transport);
}

#[tokio::test]
async fn http_429_insufficient_quota_is_quota_exhausted_and_sent_once() {
    let body = json!({"error": {"message": "You exceeded your current quota, please check your plan and billing details.",
                                "type": "insufficient_quota", "param": null, "code": "insufficient_quota"}});
    let server =
        server_answering(vec![ResponseTemplate::new(429).insert_header("x-request-id", "req_q").set_body_json(body)])
            .await;
    let err = provider(&server, MODEL).complete(turn(&[Message::user("hi")])).await.unwrap_err();
    assert!(matches!(err.kind, ProviderErrorKind::QuotaExhausted { .. }), "{err}");
    assert_eq!((err.status, err.request_id.as_deref()), (Some(429), Some("req_q")));
    assert_eq!(request_bodies(&server).await.len(), 1);
    // The same body before a stream starts is classified the same way.
    let err = provider(&server, MODEL).stream(turn(&[Message::user("hi")])).await.err().unwrap();
    assert!(matches!(err.kind, ProviderErrorKind::QuotaExhausted { .. }), "{err}");
}

#[tokio::test]
async fn http_errors_take_the_chat_completions_classes() {
    let server = server_answering(vec![
        ResponseTemplate::new(404).set_body_json(json!({"error": {"message": "The model `o9` does not exist or you do not have access to it.", "type": "invalid_request_error", "param": null, "code": "model_not_found"}})),
        ResponseTemplate::new(500).set_body_json(json!({"error": {"message": "The server had an error processing your request.", "type": "server_error", "param": null, "code": null}})),
    ])
    .await;
    let p = provider(&server, "o9");
    assert_eq!(
        p.complete(turn(&[Message::user("hi")])).await.unwrap_err().kind,
        ProviderErrorKind::Unsupported { what: "model".into() }
    );
    assert_eq!(
        p.complete(turn(&[Message::user("hi")])).await.unwrap_err().kind,
        ProviderErrorKind::ServerError { status: 500 }
    );
}

#[tokio::test]
async fn an_incomplete_response_stopped_at_the_token_limit_is_length() {
    let mut body = response("resp_i", json!([reasoning_item("rs_i", &[], "gAAAA-i")]), 10, 100, 100);
    body["status"] = json!("incomplete");
    body["incomplete_details"] = json!({"reason": "max_output_tokens"});
    let server = server_answering(vec![json_reply(body)]).await;
    let out = provider(&server, MODEL).complete(turn(&[Message::user("hi")])).await.unwrap();
    assert_eq!(out.finish_reason, Some(FinishReason::Length));
    assert_eq!(out.content, "");
}

#[tokio::test]
async fn structured_output_is_sent_as_a_strict_json_schema_text_format_when_the_schema_allows_it() {
    let server = server_answering(vec![json_reply(response(
        "resp_j",
        json!([message_item("msg_j", r#"{"approve":true}"#)]),
        10,
        5,
        0,
    ))])
    .await;
    let p = provider(&server, MODEL);
    let closed = json!({"type": "object", "properties": {"approve": {"type": "boolean"}}, "required": ["approve"], "additionalProperties": false});
    let open = json!({"type": "object", "properties": {"approve": {"type": "boolean"}}});
    p.complete(CompletionRequest::new(vec![Message::user("ok?")]).with_response_format("verdict", closed.clone()))
        .await
        .unwrap();
    p.complete(CompletionRequest::new(vec![Message::user("ok?")]).with_response_format("verdict", open.clone()))
        .await
        .unwrap();
    let bodies = request_bodies(&server).await;
    assert_eq!(
        bodies[0]["text"],
        json!({"format": {"type": "json_schema", "name": "verdict", "schema": closed, "strict": true}})
    );
    assert_eq!(bodies[1]["text"]["format"]["strict"], false);
}

#[tokio::test]
async fn images_are_input_image_parts_and_reasoning_from_other_wires_is_left_out() {
    let server =
        server_answering(vec![json_reply(response("resp_m", json!([message_item("msg_m", "A cat.")]), 10, 5, 0))])
            .await;
    let earlier = Message::with_parts(
        Role::Assistant,
        vec![
            ContentPart::Reasoning(Reasoning::new("anthropic", "thinking").with_signature(Some("sig-a".into()))),
            ContentPart::Reasoning(Reasoning::new("openai", "chat reasoning")),
            ContentPart::text("Send the picture."),
        ],
    );
    let question = Message::with_parts(
        Role::User,
        vec![
            ContentPart::text("What is it?"),
            ContentPart::CacheBreakpoint,
            ContentPart::image_bytes("image/png", b"png-bytes"),
            ContentPart::image_url("image/jpeg", "https://example.invalid/cat.jpg"),
            ContentPart::text(""),
        ],
    );
    let req = CompletionRequest::new(vec![Message::user("Look at this"), earlier, question]);
    provider(&server, "gpt-5").complete(req).await.unwrap();
    let body = &request_bodies(&server).await[0];
    assert_eq!(
        body["input"],
        json!([
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Look at this"}]},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Send the picture."}]},
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "What is it?"},
                {"type": "input_image", "image_url": "data:image/png;base64,cG5nLWJ5dGVz", "detail": "auto"},
                {"type": "input_image", "image_url": "https://example.invalid/cat.jpg", "detail": "auto"},
            ]},
        ])
    );
}

#[tokio::test]
async fn an_image_to_a_model_without_image_input_is_unsupported_and_nothing_is_sent() {
    let server = server_answering(vec![json_reply(response("r", json!([]), 1, 1, 0))]).await;
    let req = CompletionRequest::new(vec![Message::with_parts(
        Role::User,
        vec![ContentPart::image_bytes("image/png", b"x")],
    )]);
    let p = provider(&server, "o3-mini");
    assert!(matches!(p.complete(req.clone()).await.unwrap_err().kind, ProviderErrorKind::Unsupported { .. }));
    assert!(matches!(p.stream(req).await.err().unwrap().kind, ProviderErrorKind::Unsupported { .. }));
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_chat_model_is_asked_for_no_encrypted_reasoning_and_keeps_its_temperature() {
    let server = server_answering(vec![json_reply(response("r", json!([message_item("m", "hi")]), 1, 1, 0))]).await;
    provider(&server, "gpt-4.1-mini").complete(turn(&[Message::user("hi")])).await.unwrap();
    let body = &request_bodies(&server).await[0];
    assert!(body.get("include").is_none(), "{body}");
    assert!(body.get("reasoning").is_none(), "{body}");
    assert_eq!(body["temperature"].to_string(), "0.2");
    assert_eq!(body["store"], false);
}

#[tokio::test]
async fn a_model_that_refuses_encrypted_reasoning_is_asked_again_without_it_and_remembered() {
    let refusal = ResponseTemplate::new(400).set_body_json(json!({"error": {
        "message": "Encrypted content is not supported with this model.", "type": "invalid_request_error", "param": "include", "code": null}}));
    let ok = json_reply(response("r", json!([message_item("m", "hi")]), 1, 1, 0));
    let server = server_answering(vec![refusal, ok]).await;
    let p = provider(&server, "my-gateway-model");
    assert_eq!(p.complete(CompletionRequest::new(vec![Message::user("hi")])).await.unwrap().content, "hi");
    p.clone().complete(CompletionRequest::new(vec![Message::user("again")])).await.unwrap();
    let bodies = request_bodies(&server).await;
    assert_eq!(bodies.len(), 3);
    assert_eq!(bodies[0]["include"], json!(["reasoning.encrypted_content"]));
    assert!(bodies[1].get("include").is_none());
    assert!(bodies[2].get("include").is_none(), "remembered for the endpoint");
}

#[tokio::test]
async fn http_options_reach_the_server_and_the_provider_reports_its_endpoint() {
    let server = server_answering(vec![json_reply(response("r", json!([message_item("m", "hi")]), 1, 1, 0))]).await;
    let http =
        HttpOptions::new().with_header("x-team", "agents").unwrap().with_extra_body("service_tier", json!("flex"));
    let p = provider(&server, MODEL).with_http_options(http);
    p.complete(CompletionRequest::new(vec![Message::user("hi")]).with_extra_body("truncation", json!("auto")))
        .await
        .unwrap();
    let received = server.received_requests().await.unwrap();
    assert_eq!(received[0].headers.get("x-team").unwrap(), "agents");
    let body: Value = serde_json::from_slice(&received[0].body).unwrap();
    assert_eq!((body["service_tier"].as_str(), body["truncation"].as_str()), (Some("flex"), Some("auto")));
    assert_eq!(LlmProvider::endpoint(&p), Some(format!("{}/v1", server.uri())));
    assert_eq!(p.id().as_str(), "openai-responses:o4-mini");
    let err = p
        .complete(CompletionRequest::new(vec![Message::user("x")]).with_extra_header("bad header", "x"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ProviderErrorKind::InvalidRequest);
}

#[test]
fn responses_only_models_have_capabilities_and_others_borrow_the_openai_entry() {
    use agent_core::provider::ReasoningControl;
    assert_eq!(
        OpenAiResponsesProvider::new("o3-pro").capabilities().map(|c| c.reasoning),
        Some(ReasoningControl::Effort)
    );
    assert_eq!(OpenAiResponsesProvider::new("gpt-4.1").capabilities().map(|c| c.context_window), Some(1_047_576));
    assert!(OpenAiResponsesProvider::new("my-model").capabilities().is_none());
    assert!(agent_providers::price_for("o3-pro").is_some());
}
