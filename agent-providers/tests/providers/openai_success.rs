//! Successful calls: what is sent and what is read back.

use crate::common::*;
use agent_core::LlmProvider;
use agent_core::budget::Usd;
use agent_core::provider::{CompletionRequest, FinishReason, Message, StreamEvent};
use agent_providers::OpenAiProvider;
use futures::StreamExt;
use serde_json::json;
use wiremock::ResponseTemplate;

#[tokio::test]
async fn completion_reads_content_usage_cached_tokens_and_prices_them() {
    let server = server_with(
        ResponseTemplate::new(200)
            .insert_header("x-request-id", "req_8f3a")
            .set_body_json(chat_body("Hello!", 2006, 1920, 300)),
    )
    .await;
    let out = provider_for(&server).complete(ask("hi")).await.unwrap();

    assert_eq!(out.content, "Hello!");
    assert_eq!(out.provider.as_str(), "openai:gpt-4.1-mini");
    assert_eq!(out.model.as_deref(), Some("gpt-4.1-mini-2025-04-14"));
    assert_eq!(out.finish_reason, Some(FinishReason::Stop));
    assert_eq!(out.request_id.as_deref(), Some("req_8f3a"));
    assert_eq!(out.usage.input_tokens, 2006, "prompt_tokens already includes the cached ones");
    assert_eq!(out.usage.cached_input_tokens, 1920);
    assert_eq!(out.usage.output_tokens, 300);
    // gpt-4.1-mini list price: $0.40 input, $0.10 cached input, $1.60 output per million tokens.
    // 86 uncached · 0.40 + 1920 cached · 0.10 + 300 · 1.60 = 706.4 µ$
    let cost = out.cost_usd.expect("gpt-4.1-mini is priced");
    assert_eq!(cost, Usd::from_dollars(0.000_706_4), "cost was {cost}");
}

#[tokio::test]
async fn request_id_falls_back_to_the_body_id_without_the_header() {
    let server = server_with(ResponseTemplate::new(200).set_body_json(chat_body("x", 1, 0, 1))).await;
    let out = provider_for(&server).complete(ask("hi")).await.unwrap();
    assert_eq!(out.request_id.as_deref(), Some("chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT"));
}

#[tokio::test]
async fn request_body_carries_model_messages_limits_and_json_schema_format() {
    let server = server_with(ok("{}")).await;
    let schema = json!({"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]});
    let req = CompletionRequest::new(vec![Message::system("Be terse."), Message::user("2+2?")])
        .with_max_tokens(64)
        .with_temperature(0.5)
        .with_response_format("answer", schema.clone());
    provider_for(&server).complete(req).await.unwrap();

    let body = only_request_body(&server).await;
    assert_eq!(body["model"], "gpt-4.1-mini");
    assert_eq!(
        body["messages"],
        json!([{"role": "system", "content": "Be terse."}, {"role": "user", "content": "2+2?"}])
    );
    assert_eq!(body["max_tokens"], 64);
    assert_eq!(body["temperature"], 0.5);
    assert_eq!(
        body["response_format"],
        json!({"type": "json_schema", "json_schema": {"name": "answer", "schema": schema, "strict": false}})
    );
}

#[tokio::test]
async fn unset_settings_are_left_out_of_the_request_body() {
    let server = server_with(ok("x")).await;
    provider_for(&server).complete(ask("hi")).await.unwrap();
    let body = only_request_body(&server).await;
    let keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["messages", "model"]);
}

#[tokio::test]
async fn bearer_header_is_sent_when_a_key_is_set() {
    let server = server_with(ok("x")).await;
    provider_for(&server).with_api_key(Some("sk-test-123".into())).complete(ask("hi")).await.unwrap();
    let received = server.received_requests().await.unwrap();
    let auth = received[0].headers.get("authorization").expect("authorization header");
    assert_eq!(auth.to_str().unwrap(), "Bearer sk-test-123");
}

#[tokio::test]
async fn no_authorization_header_is_sent_without_a_key() {
    let server = server_with(ok("x")).await;
    provider_for(&server).with_api_key(None).complete(ask("hi")).await.unwrap();
    let received = server.received_requests().await.unwrap();
    assert!(received[0].headers.get("authorization").is_none());
}

#[tokio::test]
async fn base_url_with_trailing_slash_still_reaches_chat_completions() {
    let server = server_with(ok("slash")).await;
    let provider = OpenAiProvider::new(MODEL).with_base_url(format!("{}/v1/", server.uri()));
    assert_eq!(provider.complete(ask("hi")).await.unwrap().content, "slash");
}

#[tokio::test]
async fn debug_output_never_shows_the_api_key() {
    let provider = OpenAiProvider::new(MODEL).with_api_key(Some("sk-very-secret".into()));
    assert!(!format!("{provider:?}").contains("sk-very-secret"));
}

#[tokio::test]
async fn unknown_models_have_no_cost() {
    let mut body = chat_body("x", 10, 0, 10);
    body["model"] = json!("llama3.1:8b");
    let server = server_with(ResponseTemplate::new(200).set_body_json(body)).await;
    let provider = OpenAiProvider::new("llama3.1:8b").with_base_url(format!("{}/v1", server.uri()));
    let out = provider.complete(ask("hi")).await.unwrap();
    assert_eq!(out.cost_usd, None);
    assert_eq!(out.usage.input_tokens, 10);
}

#[tokio::test]
async fn length_finish_reason_is_read_and_missing_usage_is_estimated_not_zero() {
    let body = json!({
        "id": "x", "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "cut"}, "finish_reason": "length"}]
    });
    let server = server_with(ResponseTemplate::new(200).set_body_json(body)).await;
    let out = provider_for(&server).complete(ask("hi")).await.unwrap();
    assert_eq!(out.finish_reason, Some(FinishReason::Length));
    assert!(out.usage.estimated, "{:?}", out.usage);
    assert!(out.usage.input_tokens > 0 && out.usage.output_tokens > 0, "{:?}", out.usage);
}

#[tokio::test]
async fn stream_yields_the_text_then_the_whole_completion() {
    let server = server_with(ok("streamed")).await;
    let events: Vec<_> = provider_for(&server).stream(ask("hi")).await.unwrap().collect().await;
    assert_eq!(events.len(), 2);
    assert!(matches!(&events[0], Ok(StreamEvent::Delta { text }) if text == "streamed"));
    assert!(matches!(&events[1], Ok(StreamEvent::Done { completion }) if completion.content == "streamed"));
}
