//! OpenAI-compatible servers that report no usage (many ignore
//! `stream_options.include_usage`): the call is counted by estimate and marked
//! so, never recorded as 0 tokens; a reported usage is taken as is.

use crate::common::*;
use crate::openai_stream::{chunk, event_stream, sse, usage_chunk};
use agent_core::LlmProvider;
use agent_core::provider::{Completion, CompletionRequest, Message, StreamEvent, Usage};
use futures::StreamExt;
use serde_json::json;
use wiremock::ResponseTemplate;

const ANSWER: &str = "The failing test expects the parser to accept trailing commas in arrays.";

/// A text stream without a usage chunk, as vLLM or llama.cpp send it by default.
fn stream_without_usage() -> String {
    sse(&[
        chunk(json!({"role": "assistant", "content": ""}), None),
        chunk(json!({"content": &ANSWER[..30]}), None),
        chunk(json!({"content": &ANSWER[30..]}), None),
        chunk(json!({}), Some("stop")),
        "[DONE]".to_owned(),
    ])
}

async fn streamed(response: ResponseTemplate, req: CompletionRequest) -> Completion {
    let server = server_with(response).await;
    let events: Vec<_> = provider_for(&server).stream(req).await.unwrap().collect().await;
    match events.last() {
        Some(Ok(StreamEvent::Done { completion })) => completion.clone(),
        other => panic!("the stream did not end with Done: {other:?}"),
    }
}

fn long_prompt() -> CompletionRequest {
    CompletionRequest::new(vec![
        Message::system("You are a careful Rust engineer. Answer briefly."),
        Message::user("error[E0308]: mismatched types\n".repeat(200)),
    ])
}

#[tokio::test]
async fn a_stream_without_usage_is_counted_by_estimate_and_marked_estimated() {
    let done = streamed(event_stream(stream_without_usage()), long_prompt()).await;
    assert_eq!(done.content, ANSWER);
    assert!(done.usage.estimated, "{:?}", done.usage);
    let prompt_bytes = "error[E0308]: mismatched types\n".len() * 200;
    // About four bytes a token: within a factor of two of that.
    assert!((prompt_bytes as u64 / 8..=prompt_bytes as u64 / 2).contains(&done.usage.input_tokens), "{:?}", done.usage);
    assert!(
        (ANSWER.len() as u64 / 8..=ANSWER.len() as u64 / 2).contains(&done.usage.output_tokens),
        "{:?}",
        done.usage
    );
}

#[tokio::test]
async fn a_short_prompt_without_usage_is_still_never_zero_tokens() {
    let body = sse(&[chunk(json!({"content": "ok"}), Some("stop")), "[DONE]".to_owned()]);
    let done = streamed(event_stream(body), ask("hi")).await;
    assert!(done.usage.estimated);
    assert!(done.usage.input_tokens > 0 && done.usage.output_tokens > 0, "{:?}", done.usage);
}

#[tokio::test]
async fn a_longer_prompt_without_usage_is_estimated_at_more_input_tokens() {
    let short = streamed(event_stream(stream_without_usage()), ask("hi")).await;
    let long = streamed(event_stream(stream_without_usage()), long_prompt()).await;
    assert!(long.usage.input_tokens > short.usage.input_tokens * 10, "{:?} vs {:?}", long.usage, short.usage);
    assert_eq!(long.usage.output_tokens, short.usage.output_tokens, "same answer, same output estimate");
}

#[tokio::test]
async fn a_streamed_tool_call_without_usage_counts_its_arguments_as_output() {
    let arguments = json!({"path": "src/parser/array.rs", "old": "a".repeat(400), "new": "b".repeat(400)}).to_string();
    let call = json!({"index": 0, "id": "call_1", "type": "function", "function": {"name": "edit_file", "arguments": arguments}});
    let body = sse(&[chunk(json!({"tool_calls": [call]}), Some("tool_calls")), "[DONE]".to_owned()]);
    let done = streamed(event_stream(body), ask("fix it")).await;
    assert!(done.usage.estimated);
    assert!(done.usage.output_tokens >= arguments.len() as u64 / 8, "{:?}", done.usage);
}

#[tokio::test]
async fn a_stream_with_a_usage_chunk_keeps_the_servers_counts_unestimated() {
    let mut items = vec![chunk(json!({"content": ANSWER}), Some("stop"))];
    items.push(usage_chunk(2006, 1920, 300));
    items.push("[DONE]".to_owned());
    let done = streamed(event_stream(sse(&items)), long_prompt()).await;
    assert_eq!(done.usage, Usage::new(2006, 300).with_cached_input(1920));
    assert!(!done.usage.estimated);
}

#[tokio::test]
async fn a_whole_answer_without_usage_is_counted_by_estimate() {
    let mut body = chat_body(ANSWER, 0, 0, 0);
    body.as_object_mut().unwrap().remove("usage");
    let server = server_with(ResponseTemplate::new(200).set_body_json(body)).await;
    let out = provider_for(&server).complete(long_prompt()).await.unwrap();
    assert!(out.usage.estimated);
    assert!(out.usage.input_tokens > 100 && out.usage.output_tokens > 0, "{:?}", out.usage);
}

#[test]
fn usage_serializes_as_before_unless_estimated_and_sums_keep_the_mark() {
    let exact = Usage::new(10, 2);
    assert_eq!(
        serde_json::to_value(exact).unwrap(),
        json!({"input_tokens": 10, "output_tokens": 2, "cached_input_tokens": 0, "reasoning_tokens": 0, "cache_write_input_tokens": 0}),
        "cassettes are unchanged for reported usage"
    );
    let guessed = Usage::new(10, 2).as_estimate();
    assert_eq!(serde_json::to_value(guessed).unwrap()["estimated"], json!(true));
    let mut total = exact;
    total.add(&guessed);
    assert!(total.estimated, "a sum with an estimated part is an estimate");
    assert_eq!(total.total(), 24);
    let mut exact_sum = exact;
    exact_sum.add(&exact);
    assert!(!exact_sum.estimated);
}
