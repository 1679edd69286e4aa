//! Streamed calls: real SSE bodies (`text/event-stream`, `data:` lines,
//! `: ping`, `[DONE]`) served on loopback, assembled into deltas and one `Done`.

use crate::common::*;
use agent_core::LlmProvider;
use agent_core::budget::Usd;
use agent_core::provider::{
    Completion, FinishReason, ProviderError, ProviderErrorKind, StreamEvent, ToolCall, ToolSpec,
};
use agent_providers::openai::stream::{Assembler, sse_completion_stream};
use futures::StreamExt;
use proptest::prelude::*;
use serde_json::{Value, json};
use wiremock::ResponseTemplate;

/// An SSE body: each item becomes `data: ITEM` and a blank line; items
/// starting with `:` are written as comment lines.
pub(crate) fn sse(items: &[String]) -> String {
    let mut body = String::new();
    for item in items {
        if item.starts_with(':') {
            body.push_str(item);
            body.push('\n');
        } else {
            body.push_str("data: ");
            body.push_str(item);
            body.push_str("\n\n");
        }
    }
    body
}

/// A `chat.completion.chunk` with this delta and finish reason.
pub(crate) fn chunk(delta: Value, finish_reason: Option<&str>) -> String {
    json!({
        "id": "chatcmpl-stream-1",
        "object": "chat.completion.chunk",
        "created": 1_741_569_952,
        "model": "gpt-4.1-mini-2025-04-14",
        "system_fingerprint": "fp_6f2eabb9a5",
        "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish_reason}],
    })
    .to_string()
}

/// The final usage chunk sent with `stream_options.include_usage`: no choices.
pub(crate) fn usage_chunk(prompt: u64, cached: u64, completion: u64) -> String {
    json!({
        "id": "chatcmpl-stream-1",
        "object": "chat.completion.chunk",
        "created": 1_741_569_952,
        "model": "gpt-4.1-mini-2025-04-14",
        "choices": [],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached},
            "completion_tokens_details": {"reasoning_tokens": 0}
        }
    })
    .to_string()
}

/// A 200 `text/event-stream` answer with this body.
pub(crate) fn event_stream(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200).insert_header("x-request-id", "req_stream_7").set_body_raw(body, "text/event-stream")
}

/// The chunks of a text answer, in pieces, with keep-alives, ending with usage and `[DONE]`.
fn text_stream_items(pieces: &[&str]) -> Vec<String> {
    let mut items =
        vec![": ping".to_owned(), chunk(json!({"role": "assistant", "content": "", "refusal": null}), None)];
    for piece in pieces {
        items.push(chunk(json!({"content": piece}), None));
        items.push(": keep-alive".to_owned());
    }
    items.push(chunk(json!({}), Some("stop")));
    items.push(usage_chunk(2006, 1920, 300));
    items.push("[DONE]".to_owned());
    items
}

/// Streams from a server answering `body` and collects every item.
async fn stream_items(body: String) -> Vec<Result<StreamEvent, ProviderError>> {
    let server = server_with(event_stream(body)).await;
    provider_for(&server).stream(ask("hi")).await.expect("the stream starts").collect().await
}

/// The text deltas concatenated, and the single `Done` completion (asserted last and unique).
fn text_and_done(events: &[Result<StreamEvent, ProviderError>]) -> (String, Completion) {
    let mut text = String::new();
    let mut done = Vec::new();
    for (i, event) in events.iter().enumerate() {
        match event.as_ref().expect("no error in the stream") {
            StreamEvent::Delta { text: t } => text.push_str(t),
            StreamEvent::Done { completion } => {
                assert_eq!(i, events.len() - 1, "Done is the last event");
                done.push(completion.clone());
            }
            _ => {}
        }
    }
    assert_eq!(done.len(), 1, "exactly one Done");
    (text, done.remove(0))
}

fn tool_call_chunk(index: u32, id: Option<&str>, name: Option<&str>, arguments: Value) -> String {
    let mut function = json!({"arguments": arguments});
    if let Some(name) = name {
        function["name"] = json!(name);
    }
    let mut call = json!({"index": index, "function": function});
    if let Some(id) = id {
        call["id"] = json!(id);
        call["type"] = json!("function");
    }
    chunk(json!({"tool_calls": [call]}), None)
}

fn tool_stream(middle: Vec<String>) -> String {
    let mut items = vec![chunk(json!({"role": "assistant", "content": null}), None)];
    items.extend(middle);
    items.push(chunk(json!({}), Some("tool_calls")));
    items.push(usage_chunk(120, 0, 40));
    items.push("[DONE]".to_owned());
    sse(&items)
}

fn call(id: &str, name: &str, arguments: &str) -> ToolCall {
    ToolCall::new(id.to_owned(), name.to_owned(), arguments.to_owned())
}

#[tokio::test]
async fn text_stream_yields_each_delta_then_one_done_with_usage_cost_and_request_id() {
    let server = server_with(event_stream(sse(&text_stream_items(&["Hel", "lo, ", "wörld!"])))).await;
    let events: Vec<_> = provider_for(&server).stream(ask("hi")).await.unwrap().collect().await;

    let deltas: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Ok(StreamEvent::Delta { text }) => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(deltas, ["Hel", "lo, ", "wörld!"], "one delta per content piece, empty ones skipped");
    let (text, done) = text_and_done(&events);
    assert_eq!(text, "Hello, wörld!");
    assert_eq!(done.content, text);
    assert_eq!(done.finish_reason, Some(FinishReason::Stop));
    assert_eq!(done.model.as_deref(), Some("gpt-4.1-mini-2025-04-14"));
    assert_eq!(done.request_id.as_deref(), Some("req_stream_7"));
    assert_eq!((done.usage.input_tokens, done.usage.cached_input_tokens, done.usage.output_tokens), (2006, 1920, 300));
    let cost = done.cost_usd.expect("gpt-4.1-mini is priced");
    assert_eq!(cost, Usd::from_dollars(0.000_706_4), "same price as the non-streamed call, was {cost}");

    let body = only_request_body(&server).await;
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"], json!({"include_usage": true}));
}

#[tokio::test]
async fn usage_arrives_in_the_chunk_with_empty_choices_and_text_is_not_disturbed_by_it() {
    let items = vec![
        chunk(json!({"content": "ok"}), Some("stop")),
        usage_chunk(11, 0, 1),
        ": ping".to_owned(),
        "[DONE]".to_owned(),
    ];
    let (text, done) = text_and_done(&stream_items(sse(&items)).await);
    assert_eq!(text, "ok");
    assert_eq!((done.usage.input_tokens, done.usage.output_tokens), (11, 1));
}

#[tokio::test]
async fn tool_call_deltas_assemble_by_index_with_the_id_only_in_the_first_piece() {
    let body = tool_stream(vec![
        tool_call_chunk(0, Some("call_abc"), Some("read_file"), json!("")),
        tool_call_chunk(0, None, None, json!("{\"pa")),
        tool_call_chunk(0, None, None, json!("th\": \"src/")),
        tool_call_chunk(0, None, None, json!("main.rs\"}")),
    ]);
    let events = stream_items(body).await;
    let pieces: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Ok(StreamEvent::ToolCallDelta { index, id, name, arguments }) => {
                Some((*index, id.clone(), name.clone(), arguments.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(pieces.len(), 4, "one ToolCallDelta per wire piece");
    assert_eq!(pieces[0], (0, Some("call_abc".to_owned()), Some("read_file".to_owned()), String::new()));
    assert_eq!(pieces[1], (0, None, None, "{\"pa".to_owned()));
    let (text, done) = text_and_done(&events);
    assert_eq!(text, "");
    assert_eq!(done.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(done.tool_calls, vec![call("call_abc", "read_file", r#"{"path": "src/main.rs"}"#)]);
    assert_eq!(done.tool_calls[0].parsed_arguments().unwrap(), json!({"path": "src/main.rs"}));
    assert_eq!(done.usage.output_tokens, 40);
}

#[tokio::test]
async fn tool_call_arguments_sent_as_a_json_object_are_serialized_not_dropped() {
    let body = tool_stream(vec![tool_call_chunk(
        0,
        Some("call_obj"),
        Some("run"),
        json!({"cmd": "cargo test", "args": ["-q"]}),
    )]);
    let events = stream_items(body).await;
    let (_, done) = text_and_done(&events);
    assert_eq!(done.tool_calls.len(), 1);
    assert_eq!(done.tool_calls[0].name, "run");
    assert_eq!(done.tool_calls[0].parsed_arguments().unwrap(), json!({"cmd": "cargo test", "args": ["-q"]}));
    assert!(events.iter().any(|e| matches!(e,
        Ok(StreamEvent::ToolCallDelta { arguments, .. }) if arguments.contains("cargo test"))));
}

#[tokio::test]
async fn a_whole_tool_call_in_one_chunk_is_one_call() {
    let body = tool_stream(vec![tool_call_chunk(0, Some("call_1"), Some("ls"), json!(r#"{"dir":"."}"#))]);
    let (_, done) = text_and_done(&stream_items(body).await);
    assert_eq!(done.tool_calls, vec![call("call_1", "ls", r#"{"dir":"."}"#)]);
}

#[tokio::test]
async fn a_call_without_id_or_arguments_gets_a_generated_id_and_empty_object() {
    let body = tool_stream(vec![tool_call_chunk(0, None, Some("now"), Value::Null)]);
    let (_, done) = text_and_done(&stream_items(body).await);
    assert_eq!(done.tool_calls, vec![call("call_0", "now", "{}")]);
}

#[tokio::test]
async fn two_interleaved_tool_calls_assemble_separately_in_index_order() {
    let body = tool_stream(vec![
        tool_call_chunk(0, Some("call_a"), Some("read_file"), json!("")),
        tool_call_chunk(1, Some("call_b"), Some("grep"), json!("{\"pat")),
        tool_call_chunk(0, None, None, json!("{\"path\":")),
        tool_call_chunk(1, None, None, json!("tern\":\"fn main\"}")),
        tool_call_chunk(0, None, None, json!("\"a.rs\"}")),
    ]);
    let (_, done) = text_and_done(&stream_items(body).await);
    assert_eq!(
        done.tool_calls,
        vec![call("call_a", "read_file", r#"{"path":"a.rs"}"#), call("call_b", "grep", r#"{"pattern":"fn main"}"#)]
    );
}

#[tokio::test]
async fn calls_reusing_index_zero_with_distinct_ids_stay_distinct() {
    let body = tool_stream(vec![
        tool_call_chunk(0, Some("call_a"), Some("ls"), json!("{}")),
        tool_call_chunk(0, Some("call_b"), Some("pwd"), json!("{}")),
    ]);
    let (_, done) = text_and_done(&stream_items(body).await);
    assert_eq!(done.tool_calls, vec![call("call_a", "ls", "{}"), call("call_b", "pwd", "{}")]);
}

async fn mid_stream_error(error: Value) -> (Vec<Result<StreamEvent, ProviderError>>, ProviderError) {
    let error_event = json!({ "error": error }).to_string();
    let items = vec![chunk(json!({"content": "partial "}), None), error_event.clone()];
    let mut events = stream_items(sse(&items)).await;
    let last = events.pop().expect("an item").expect_err("the stream ends with the error");
    assert_eq!(last.status, Some(200), "the HTTP status the stream came with");
    assert_eq!(last.raw_body.as_deref(), Some(error_event.as_str()), "the error event kept as raw body");
    assert_eq!(last.request_id.as_deref(), Some("req_stream_7"));
    assert!(!events.iter().any(|e| matches!(e, Ok(StreamEvent::Done { .. }))), "no Done after an error");
    (events, last)
}

#[tokio::test]
async fn a_quota_error_event_inside_a_200_stream_is_quota_exhausted() {
    let (before, err) = mid_stream_error(json!({
        "message": "You exceeded your current quota, please check your plan and billing details.",
        "type": "insufficient_quota", "param": null, "code": "insufficient_quota"
    }))
    .await;
    assert!(matches!(err.kind, ProviderErrorKind::QuotaExhausted { .. }), "{:?}", err.kind);
    assert!(err.message.contains("exceeded your current quota"), "{}", err.message);
    assert!(matches!(&before[..], [Ok(StreamEvent::Delta { text })] if text == "partial "));
}

#[tokio::test]
async fn a_rate_limit_error_event_inside_a_200_stream_is_rate_limited_with_its_hint() {
    let (_, err) = mid_stream_error(json!({
        "message": "Rate limit reached for gpt-4.1-mini. Please try again in 1.5s.",
        "type": "tokens", "param": null, "code": "rate_limit_exceeded"
    }))
    .await;
    assert_eq!(err.kind, ProviderErrorKind::RateLimited { retry_after_ms: Some(1_500) });
}

#[tokio::test]
async fn a_stream_that_ends_without_done_is_an_error_not_a_short_answer() {
    let mut items = text_stream_items(&["The answer is"]);
    items.truncate(items.len() - 3); // drop finish, usage and [DONE]
    let events = stream_items(sse(&items)).await;
    let err = events.last().unwrap().as_ref().expect_err("the last item is an error");
    assert_eq!(err.kind, ProviderErrorKind::Transport);
    assert!(err.message.contains("ended early"), "{}", err.message);
    assert!(events.iter().all(|e| !matches!(e, Ok(StreamEvent::Done { .. }))));
    assert_eq!(events.iter().filter(|e| e.is_err()).count(), 1, "exactly one error, then the stream ends");
}

#[tokio::test]
async fn http_429_before_the_stream_is_classified_as_in_complete() {
    let body = error_body("Rate limit reached for requests", "requests", Some("rate_limit_exceeded"));
    let server = server_with(
        ResponseTemplate::new(429)
            .insert_header("retry-after", "3")
            .insert_header("x-request-id", "req_429")
            .set_body_raw(body.clone(), "application/json"),
    )
    .await;
    let err = match provider_for(&server).stream(ask("hi")).await {
        Err(e) => e,
        Ok(_) => panic!("the stream must not start"),
    };
    assert_eq!(err.kind, ProviderErrorKind::RateLimited { retry_after_ms: Some(3_000) });
    assert_eq!(err.status, Some(429));
    assert_eq!(err.request_id.as_deref(), Some("req_429"));
    assert_eq!(err.raw_body.as_deref(), Some(body.as_str()));
}

#[tokio::test]
async fn an_unparseable_event_is_an_unparseable_error() {
    let items = vec![chunk(json!({"content": "a"}), None), "{not json".to_owned(), "[DONE]".to_owned()];
    let events = stream_items(sse(&items)).await;
    let err = events.last().unwrap().as_ref().expect_err("ends with an error");
    assert_eq!(err.kind, ProviderErrorKind::Unparseable);
    assert_eq!(err.raw_body.as_deref(), Some("{not json"));
}

#[tokio::test]
async fn tools_and_tool_messages_go_out_in_the_wire_format_and_tool_calls_come_back() {
    let answer = json!({
        "id": "chatcmpl-tools", "object": "chat.completion", "model": "gpt-4.1-mini-2025-04-14",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": null,
            "tool_calls": [
                {"id": "call_x", "type": "function", "function": {"name": "read_file", "arguments": "{\"path\":\"a.rs\"}"}},
                {"id": "call_y", "type": "function", "function": {"name": "ls", "arguments": {"dir": "src"}}}
            ]
        }}],
        "usage": {"prompt_tokens": 50, "completion_tokens": 20}
    });
    let server = server_with(ResponseTemplate::new(200).set_body_json(answer)).await;
    let parameters = json!({"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]});
    let tool =
        ToolSpec { name: "read_file".into(), description: "Reads a file".into(), parameters: parameters.clone() };
    let mut req = ask("what is in a.rs?").with_tools(vec![tool]);
    req.messages.push(agent_core::provider::Message::assistant_tool_calls("", vec![call("call_0", "read_file", "{}")]));
    req.messages.push(agent_core::provider::Message::tool_result("call_0", "fn main() {}"));
    let out = provider_for(&server).complete(req).await.unwrap();

    assert_eq!(out.content, "");
    assert_eq!(out.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(
        out.tool_calls,
        vec![call("call_x", "read_file", r#"{"path":"a.rs"}"#), call("call_y", "ls", r#"{"dir":"src"}"#)]
    );
    let body = only_request_body(&server).await;
    assert_eq!(
        body["tools"],
        json!([{"type": "function", "function": {"name": "read_file", "description": "Reads a file", "parameters": parameters}}])
    );
    assert_eq!(
        body["messages"][1],
        json!({"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_0", "type": "function", "function": {"name": "read_file", "arguments": "{}"}}
        ]})
    );
    assert_eq!(body["messages"][2], json!({"role": "tool", "content": "fn main() {}", "tool_call_id": "call_0"}));
    assert!(body.get("stream").is_none(), "complete does not ask for a stream");
}

/// Runs an SSE body cut at `cuts` through the decoder and the assembler.
fn assemble(body: &str, cuts: &[usize]) -> Vec<Result<StreamEvent, ProviderError>> {
    let bytes = body.as_bytes();
    let mut bounds: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    bounds.push(0);
    bounds.push(bytes.len());
    bounds.sort_unstable();
    bounds.dedup();
    let pieces: Vec<Result<Vec<u8>, ProviderError>> =
        bounds.windows(2).map(|w| Ok(bytes[w[0]..w[1]].to_vec())).collect();
    let asm = Assembler::new("openai:gpt-4.1-mini".into(), MODEL);
    futures::executor::block_on(sse_completion_stream(asm, futures::stream::iter(pieces)).collect())
}

fn mixed_stream_body() -> String {
    let mut items = vec![": ping".to_owned(), chunk(json!({"role": "assistant", "content": ""}), None)];
    items.push(chunk(json!({"content": "Ünïcödé → "}), None));
    items.push(chunk(json!({"content": "tools: 🛠"}), None));
    items.push(tool_call_chunk(0, Some("call_a"), Some("read_file"), json!("")));
    items.push(tool_call_chunk(1, Some("call_b"), Some("grep"), json!({"pattern": "ä"})));
    items.push(": ping".to_owned());
    items.push(tool_call_chunk(0, None, None, json!("{\"path\":")));
    items.push(tool_call_chunk(0, None, None, json!("\"ß.rs\"}")));
    items.push(chunk(json!({}), Some("tool_calls")));
    items.push(usage_chunk(300, 100, 50));
    items.push("[DONE]".to_owned());
    sse(&items)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_chunking_of_the_same_sse_bytes_assembles_the_same_completion(
        cuts in proptest::collection::vec(0usize..10_000, 0..40),
    ) {
        let body = mixed_stream_body();
        let whole = assemble(&body, &[]);
        let cut = assemble(&body, &cuts);
        let (whole_text, whole_done) = text_and_done(&whole);
        let (cut_text, cut_done) = text_and_done(&cut);
        prop_assert_eq!(&cut_text, "Ünïcödé → tools: 🛠");
        prop_assert_eq!(whole_text, cut_text);
        prop_assert_eq!(&whole_done, &cut_done);
        prop_assert_eq!(cut_done.tool_calls.len(), 2);
        prop_assert_eq!(cut_done.tool_calls[0].parsed_arguments().unwrap(), json!({"path": "ß.rs"}));
        prop_assert_eq!(cut_done.tool_calls[1].parsed_arguments().unwrap(), json!({"pattern": "ä"}));
        prop_assert_eq!(whole.len(), cut.len(), "same events, whatever the chunking");
    }
}

#[tokio::test]
async fn a_server_that_ignores_stream_true_and_answers_json_is_replayed_as_a_stream() {
    let answer = json!({
        "id": "chatcmpl-json", "object": "chat.completion", "model": MODEL,
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": null,
            "tool_calls": [{"id": "call_j", "type": "function", "function": {"name": "ls", "arguments": "{}"}}]
        }}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 3}
    });
    let server = server_with(ResponseTemplate::new(200).set_body_json(answer)).await;
    let events: Vec<_> = provider_for(&server).stream(ask("hi")).await.unwrap().collect().await;
    assert!(matches!(&events[0], Ok(StreamEvent::ToolCallDelta { index: 0, id: Some(id), .. }) if id == "call_j"));
    let (_, done) = text_and_done(&events);
    assert_eq!(done.tool_calls, vec![call("call_j", "ls", "{}")]);
}
