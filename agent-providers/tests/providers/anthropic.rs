//! Anthropic Messages against a loopback server speaking its wire format:
//! whole and streamed answers, usage normalisation, request shape, and every
//! error class with status, request id and raw body kept.

use crate::native_support::*;
use agent_core::LlmProvider;
use agent_core::budget::Usd;
use agent_core::provider::{
    CompletionRequest, FinishReason, Message, ProviderError, ProviderErrorKind, ToolCall, ToolSpec,
};
use agent_providers::{AnthropicProvider, ProviderSpec, build_provider_with_env};
use serde_json::{Value, json};
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MODEL: &str = "claude-sonnet-4-5";

async fn server_with(response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST")).and(path("/v1/messages")).respond_with(response).mount(&server).await;
    server
}

fn provider_for(server: &MockServer) -> AnthropicProvider {
    AnthropicProvider::new(MODEL)
        .with_base_url(server.uri())
        .with_api_key(Some("sk-ant-test".to_owned()))
        .with_timeout(Duration::from_secs(10))
}

fn ask(text: &str) -> CompletionRequest {
    CompletionRequest::new(vec![Message::user(text)])
}

/// A message as the Messages API returns it, with cache reads and writes.
fn message_body(content: Value, stop_reason: &str) -> Value {
    json!({
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "content": content,
        "model": "claude-sonnet-4-5-20250929",
        "stop_reason": stop_reason,
        "stop_sequence": null,
        "usage": {
            "input_tokens": 25,
            "cache_creation_input_tokens": 100,
            "cache_read_input_tokens": 2000,
            "output_tokens": 12,
            "service_tier": "standard"
        }
    })
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).insert_header("request-id", "req_011CSHoEeqs5C35K2UUqR7Fy").set_body_json(body)
}

/// An SSE body from `(event, data)` pairs.
fn sse(events: &[(&str, Value)]) -> ResponseTemplate {
    let mut body = String::new();
    for (name, data) in events {
        body.push_str(&format!("event: {name}\ndata: {data}\n\n"));
    }
    ResponseTemplate::new(200)
        .insert_header("content-type", "text/event-stream; charset=utf-8")
        .insert_header("request-id", "req_stream_1")
        .set_body_string(body)
}

fn message_start() -> (&'static str, Value) {
    (
        "message_start",
        json!({"type": "message_start", "message": {
            "id": "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", "type": "message", "role": "assistant",
            "content": [], "model": "claude-sonnet-4-5-20250929", "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 25, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 1800, "output_tokens": 1}
        }}),
    )
}

fn text_delta(index: u32, text: &str) -> (&'static str, Value) {
    (
        "content_block_delta",
        json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": text}}),
    )
}

fn json_delta(index: u32, partial: &str) -> (&'static str, Value) {
    (
        "content_block_delta",
        json!({"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": partial}}),
    )
}

fn block_start_text(index: u32) -> (&'static str, Value) {
    (
        "content_block_start",
        json!({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}),
    )
}

fn block_stop(index: u32) -> (&'static str, Value) {
    ("content_block_stop", json!({"type": "content_block_stop", "index": index}))
}

fn ping() -> (&'static str, Value) {
    ("ping", json!({"type": "ping"}))
}

fn message_delta(stop_reason: &str, output_tokens: u64) -> (&'static str, Value) {
    (
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": null}, "usage": {"output_tokens": output_tokens}}),
    )
}

fn message_stop() -> (&'static str, Value) {
    ("message_stop", json!({"type": "message_stop"}))
}

fn weather_tool() -> ToolSpec {
    ToolSpec {
        name: "get_weather".to_owned(),
        description: "Current weather of a city".to_owned(),
        parameters: json!({"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}),
    }
}

#[tokio::test]
async fn complete_returns_text_and_normalises_usage_with_cache_reads_and_writes() {
    let server = server_with(ok(message_body(json!([{"type": "text", "text": "Hi there."}]), "end_turn"))).await;
    let out = provider_for(&server).complete(ask("hi")).await.unwrap();
    assert_eq!(out.content, "Hi there.");
    assert_eq!(out.provider.as_str(), "anthropic:claude-sonnet-4-5");
    assert_eq!(out.model.as_deref(), Some("claude-sonnet-4-5-20250929"));
    assert_eq!(out.finish_reason, Some(FinishReason::Stop));
    assert_eq!(out.request_id.as_deref(), Some("req_011CSHoEeqs5C35K2UUqR7Fy"));
    // Anthropic's input_tokens (25) excludes cache reads (2000) and writes (100).
    assert_eq!(out.usage.input_tokens, 2125);
    assert_eq!(out.usage.cached_input_tokens, 2000);
    assert_eq!(out.usage.cache_write_input_tokens, 100);
    assert_eq!(out.usage.output_tokens, 12);
    // $3 input, $0.30 cache read, $3.75 cache write, $15 output per million.
    let expected = (25.0 * 3.0 + 2000.0 * 0.30 + 100.0 * 3.75 + 12.0 * 15.0) / 1e6;
    assert_eq!(out.cost_usd.unwrap(), Usd::from_dollars(expected), "cost {:?}", out.cost_usd);
}

#[tokio::test]
async fn request_carries_headers_system_prompt_tools_and_tool_turns() {
    let server = server_with(ok(message_body(json!([{"type": "text", "text": "Sunny."}]), "end_turn"))).await;
    let call = ToolCall::new(
        "toolu_01A09q90qw90lq917835lq9".to_owned(),
        "get_weather".to_owned(),
        r#"{"location":"Paris"}"#.to_owned(),
    );
    let second = ToolCall::new("toolu_02", call.name.clone(), call.arguments.clone());
    let req = CompletionRequest::new(vec![
        Message::system("Be brief."),
        Message::system("Answer in English."),
        Message::user("Weather in Paris?"),
        Message::assistant_tool_calls("Let me check.", vec![call, second]),
        Message::tool_result("toolu_01A09q90qw90lq917835lq9", "18°C, sunny"),
        Message::tool_result("toolu_02", "still sunny"),
    ])
    .with_tools(vec![weather_tool()])
    .with_temperature(0.2);
    provider_for(&server).with_auto_cache(false).complete(req).await.unwrap();

    let request = only_request(&server).await;
    assert_eq!(header(&request, "x-api-key"), Some("sk-ant-test"));
    assert_eq!(header(&request, "anthropic-version"), Some("2023-06-01"));
    assert!(request.headers.get("authorization").is_none());
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["model"], MODEL);
    assert_eq!(body["max_tokens"], 64_000, "max_tokens is required; the model's output limit is sent");
    assert_eq!(body["system"], "Be brief.\n\nAnswer in English.");
    assert!(body.get("stream").is_none());
    assert!((body["temperature"].as_f64().unwrap() - 0.2).abs() < 1e-6);
    assert_eq!(
        body["tools"],
        json!([{"name": "get_weather", "description": "Current weather of a city", "input_schema": weather_tool().parameters}])
    );
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 3, "system messages leave the list; both tool results share one user turn");
    assert_eq!(messages[0], json!({"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]}));
    assert_eq!(messages[1]["role"], "assistant");
    assert_eq!(messages[1]["content"][0], json!({"type": "text", "text": "Let me check."}));
    assert_eq!(
        messages[1]["content"][1],
        json!({"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather", "input": {"location": "Paris"}})
    );
    assert_eq!(messages[2]["role"], "user");
    assert_eq!(
        messages[2]["content"],
        json!([
            {"type": "tool_result", "tool_use_id": "toolu_01A09q90qw90lq917835lq9", "content": "18°C, sunny"},
            {"type": "tool_result", "tool_use_id": "toolu_02", "content": "still sunny"}
        ])
    );
}

#[tokio::test]
async fn complete_returns_tool_use_blocks_as_tool_calls_with_json_text_arguments() {
    let content = json!([
        {"type": "text", "text": "I'll check."},
        {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather", "input": {"location": "San Francisco, CA", "unit": "celsius"}}
    ]);
    let server = server_with(ok(message_body(content, "tool_use"))).await;
    let out = provider_for(&server).complete(ask("weather?").with_tools(vec![weather_tool()])).await.unwrap();
    assert_eq!(out.content, "I'll check.");
    assert_eq!(out.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(out.tool_calls.len(), 1);
    assert_eq!(out.tool_calls[0].id, "toolu_01A09q90qw90lq917835lq9");
    assert_eq!(out.tool_calls[0].name, "get_weather");
    assert_eq!(
        out.tool_calls[0].parsed_arguments().unwrap(),
        json!({"location": "San Francisco, CA", "unit": "celsius"})
    );
}

#[tokio::test]
async fn stream_yields_text_deltas_skips_pings_and_ends_with_final_usage() {
    let server = server_with(sse(&[
        message_start(),
        block_start_text(0),
        ping(),
        text_delta(0, "Hello"),
        ping(),
        text_delta(0, ", world"),
        block_stop(0),
        message_delta("end_turn", 15),
        message_stop(),
    ]))
    .await;
    let got = collect(provider_for(&server).stream(ask("hi")).await.unwrap()).await;
    assert!(got.error.is_none(), "{:?}", got.error);
    assert_eq!(got.text(), "Hello, world");
    assert_eq!(got.events.len(), 3, "two deltas and Done: {:?}", got.events);
    let done = got.done().unwrap();
    assert_eq!(done.content, "Hello, world");
    assert_eq!(done.finish_reason, Some(FinishReason::Stop));
    assert_eq!(done.request_id.as_deref(), Some("req_stream_1"));
    assert_eq!(done.model.as_deref(), Some("claude-sonnet-4-5-20250929"));
    assert_eq!(done.usage.input_tokens, 1825);
    assert_eq!(done.usage.cached_input_tokens, 1800);
    assert_eq!(done.usage.output_tokens, 15, "the output count of message_delta is the final one");
    assert!(done.cost_usd.is_some());

    let body: Value = serde_json::from_slice(&only_request(&server).await.body).unwrap();
    assert_eq!(body["stream"], true);
}

#[tokio::test]
async fn stream_assembles_tool_calls_from_input_json_deltas() {
    let server = server_with(sse(&[
        message_start(),
        block_start_text(0),
        text_delta(0, "Checking."),
        block_stop(0),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "name": "get_weather", "input": {}}}),
        ),
        json_delta(1, ""),
        json_delta(1, "{\"location\":"),
        ping(),
        json_delta(1, " \"Paris\"}"),
        block_stop(1),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "toolu_02", "name": "get_time", "input": {}}}),
        ),
        block_stop(2),
        message_delta("tool_use", 40),
        message_stop(),
    ]))
    .await;
    let got = collect(provider_for(&server).stream(ask("weather?")).await.unwrap()).await;
    assert!(got.error.is_none(), "{:?}", got.error);
    let deltas = got.tool_deltas();
    assert_eq!(
        deltas[0],
        (0, Some("toolu_01T1x1fJ34qAmk2tNTrN7Up6".to_owned()), Some("get_weather".to_owned()), String::new())
    );
    assert!(deltas[1..].iter().take_while(|d| d.0 == 0).all(|d| d.1.is_none() && d.2.is_none()));
    let first_args: String = deltas.iter().filter(|d| d.0 == 0).map(|d| d.3.as_str()).collect();
    assert_eq!(first_args, "{\"location\": \"Paris\"}");
    assert_eq!(deltas.last().unwrap().0, 1, "the second tool_use block is call 1, not block 2");
    let done = got.done().unwrap();
    assert_eq!(done.content, "Checking.");
    assert_eq!(done.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(done.tool_calls.len(), 2);
    assert_eq!(done.tool_calls[0].parsed_arguments().unwrap(), json!({"location": "Paris"}));
    assert_eq!(done.tool_calls[1].name, "get_time");
    assert_eq!(done.tool_calls[1].arguments, "{}", "a call without input deltas has empty-object arguments");
}

#[tokio::test]
async fn error_event_mid_stream_is_an_error_classified_like_the_http_error() {
    let error = json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}, "request_id": "req_mid_1"});
    let server =
        server_with(sse(&[message_start(), block_start_text(0), text_delta(0, "Hel"), ("error", error.clone())])).await;
    let got = collect(provider_for(&server).stream(ask("hi")).await.unwrap()).await;
    assert_eq!(got.text(), "Hel", "deltas before the error are delivered");
    assert!(got.done().is_none());
    let err = got.error.expect("the stream ends with an error");
    assert!(matches!(err.kind, ProviderErrorKind::Overloaded { .. }), "{:?}", err.kind);
    assert_eq!(err.raw_body.as_deref(), Some(error.to_string().as_str()));
    assert_eq!(err.request_id.as_deref(), Some("req_mid_1"));

    let rate = json!({"type": "error", "error": {"type": "rate_limit_error", "message": "Rate limited"}});
    let server = server_with(sse(&[message_start(), ("error", rate)])).await;
    let got = collect(provider_for(&server).stream(ask("hi")).await.unwrap()).await;
    assert!(matches!(got.error.unwrap().kind, ProviderErrorKind::RateLimited { .. }));
}

#[tokio::test]
async fn stream_without_message_stop_is_an_error_not_a_short_answer() {
    let server = server_with(sse(&[message_start(), block_start_text(0), text_delta(0, "Hel"), ping()])).await;
    let got = collect(provider_for(&server).stream(ask("hi")).await.unwrap()).await;
    assert!(got.done().is_none(), "no Done for a cut stream");
    let err = got.error.expect("a cut stream ends with an error");
    assert!(err.message.contains("message_stop"), "{}", err.message);
    assert!(err.kind.is_transient());
    assert_eq!(err.request_id.as_deref(), Some("req_stream_1"));
}

#[tokio::test]
async fn stream_http_error_fails_the_call_before_any_event() {
    let body = error_body("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit");
    let server = server_with(ResponseTemplate::new(429).insert_header("retry-after", "12").set_body_string(body)).await;
    let err = provider_for(&server).stream(ask("hi")).await.err().expect("the call fails");
    assert_eq!(err.kind, ProviderErrorKind::RateLimited { retry_after_ms: Some(12_000) });
    assert_eq!(err.status, Some(429));
}

fn error_body(kind: &str, message: &str) -> String {
    json!({"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_body_7"}).to_string()
}

/// Answers with `status`, `body` and `headers`, and returns the provider's error.
async fn error_for(status: u16, body: &str, headers: &[(&str, &str)]) -> ProviderError {
    let mut response = ResponseTemplate::new(status)
        .insert_header("request-id", "req_err_42")
        .insert_header("content-type", "application/json")
        .set_body_string(body);
    for (name, value) in headers {
        response = response.insert_header(*name, *value);
    }
    let server = server_with(response).await;
    let err = provider_for(&server).complete(ask("hi")).await.expect_err("the call must fail");
    assert_eq!(err.status, Some(status), "status kept");
    assert_eq!(err.request_id.as_deref(), Some("req_err_42"), "request id kept");
    assert_eq!(err.raw_body.as_deref(), Some(body), "raw body kept");
    assert_eq!(err.provider.as_str(), "anthropic:claude-sonnet-4-5");
    err
}

#[tokio::test]
async fn rate_limit_429_waits_as_long_as_retry_after_says() {
    let body = error_body("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit");
    let err = error_for(429, &body, &[("retry-after", "15")]).await;
    assert_eq!(err.kind, ProviderErrorKind::RateLimited { retry_after_ms: Some(15_000) });
}

#[tokio::test]
async fn rate_limit_429_without_retry_after_waits_until_the_exhausted_limit_resets() {
    let body = error_body("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit");
    let soon = rfc3339_after(Duration::from_secs(5));
    let later = rfc3339_after(Duration::from_secs(40));
    let err = error_for(
        429,
        &body,
        &[
            ("anthropic-ratelimit-requests-remaining", "49"),
            ("anthropic-ratelimit-requests-reset", &soon),
            ("anthropic-ratelimit-tokens-remaining", "0"),
            ("anthropic-ratelimit-tokens-reset", &later),
        ],
    )
    .await;
    let ProviderErrorKind::RateLimited { retry_after_ms: Some(ms) } = err.kind else { panic!("{:?}", err.kind) };
    assert!((38_000..=40_000).contains(&ms), "waits for the tokens limit: {ms} ms");
}

#[tokio::test]
async fn spend_limit_429_is_quota_exhausted_not_rate_limited() {
    let body = json!({
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "You have exceeded your spend limit.", "details": {"error_code": "enforced_spend_limit_reached"}},
        "request_id": "req_body_7"
    })
    .to_string();
    let err = error_for(429, &body, &[]).await;
    assert!(matches!(err.kind, ProviderErrorKind::QuotaExhausted { .. }), "{:?}", err.kind);
    assert!(!err.kind.is_transient());
}

#[tokio::test]
async fn credit_balance_too_low_is_quota_exhausted() {
    let body = error_body(
        "invalid_request_error",
        "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.",
    );
    let err = error_for(400, &body, &[]).await;
    assert!(matches!(err.kind, ProviderErrorKind::QuotaExhausted { .. }), "{:?}", err.kind);
}

#[tokio::test]
async fn overloaded_529_is_overloaded() {
    let err = error_for(529, &error_body("overloaded_error", "Overloaded"), &[]).await;
    assert_eq!(err.kind, ProviderErrorKind::Overloaded { retry_after_ms: None });
    assert!(err.kind.is_transient());
}

#[tokio::test]
async fn request_too_large_413_is_context_too_long() {
    let err =
        error_for(413, &error_body("request_too_large", "Request exceeds the maximum allowed number of bytes."), &[])
            .await;
    assert_eq!(err.kind, ProviderErrorKind::ContextTooLong);
}

#[tokio::test]
async fn prompt_too_long_400_is_context_too_long() {
    let err =
        error_for(400, &error_body("invalid_request_error", "prompt is too long: 208310 tokens > 200000 maximum"), &[])
            .await;
    assert_eq!(err.kind, ProviderErrorKind::ContextTooLong);
}

#[tokio::test]
async fn authentication_and_permission_errors_are_auth() {
    let err = error_for(401, &error_body("authentication_error", "invalid x-api-key"), &[]).await;
    assert_eq!(err.kind, ProviderErrorKind::Auth);
    let err = error_for(
        403,
        &error_body("permission_error", "Your API key does not have permission to use the specified resource."),
        &[],
    )
    .await;
    assert_eq!(err.kind, ProviderErrorKind::Auth);
}

#[tokio::test]
async fn invalid_request_400_is_invalid_request_with_the_message() {
    let err = error_for(400, &error_body("invalid_request_error", "messages: roles must alternate"), &[]).await;
    assert_eq!(err.kind, ProviderErrorKind::InvalidRequest);
    assert!(err.message.contains("roles must alternate"), "{}", err.message);
}

#[tokio::test]
async fn unknown_model_404_is_unsupported_model() {
    let err = error_for(404, &error_body("not_found_error", "model: claude-nope"), &[]).await;
    assert_eq!(err.kind, ProviderErrorKind::Unsupported { what: "model".into() });
}

#[tokio::test]
async fn api_error_500_is_a_transient_server_error() {
    let err = error_for(500, &error_body("api_error", "Internal server error"), &[]).await;
    assert_eq!(err.kind, ProviderErrorKind::ServerError { status: 500 });
    assert!(err.kind.is_transient());
}

#[tokio::test]
async fn request_id_falls_back_to_the_body_when_the_header_is_missing() {
    let server =
        server_with(ResponseTemplate::new(500).set_body_string(error_body("api_error", "Internal server error"))).await;
    let err = provider_for(&server).complete(ask("hi")).await.unwrap_err();
    assert_eq!(err.request_id.as_deref(), Some("req_body_7"));
}

#[tokio::test]
async fn spec_builds_an_anthropic_provider_from_the_environment() {
    let server = server_with(ok(message_body(json!([{"type": "text", "text": "from env"}]), "end_turn"))).await;
    let vars = env_of(&[("ANTHROPIC_API_KEY", "sk-ant-env"), ("ANTHROPIC_BASE_URL", &server.uri())]);
    let spec: ProviderSpec = "anthropic:claude-sonnet-4-5".parse().unwrap();
    let provider = build_provider_with_env(&spec, &vars).unwrap();
    assert_eq!(provider.id().as_str(), "anthropic:claude-sonnet-4-5");
    assert_eq!(provider.complete(ask("hi")).await.unwrap().content, "from env");
    assert_eq!(header(&only_request(&server).await, "x-api-key"), Some("sk-ant-env"));

    let other = MockServer::start().await;
    let spec: ProviderSpec = format!("anthropic:claude-sonnet-4-5@{}", server.uri()).parse().unwrap();
    let vars = env_of(&[("ANTHROPIC_BASE_URL", &other.uri())]);
    build_provider_with_env(&spec, &vars).unwrap().complete(ask("hi")).await.unwrap();
    assert_eq!(server.received_requests().await.unwrap().len(), 2, "the spec's base URL wins over the environment");
}

#[tokio::test]
async fn stream_keeps_thinking_out_of_the_answer_text_and_skips_unknown_events() {
    let server = server_with(sse(&[
        message_start(),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Let me think"}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "EqQBCgIYAhIM"}}),
        ),
        block_stop(0),
        ("some_future_event", json!({"type": "some_future_event"})),
        block_start_text(1),
        text_delta(1, "Answer."),
        block_stop(1),
        message_delta("end_turn", 30),
        message_stop(),
    ]))
    .await;
    let got = collect(provider_for(&server).stream(ask("hi")).await.unwrap()).await;
    assert!(got.error.is_none(), "{:?}", got.error);
    assert_eq!(got.text(), "Answer.", "thinking is not part of the answer");
    let done = got.done().unwrap();
    assert_eq!(done.content, "Answer.");
    assert_eq!(done.reasoning.len(), 1, "thinking is kept as reasoning");
    assert_eq!(done.reasoning[0].text, "Let me think");
    assert_eq!(done.reasoning[0].signature.as_deref(), Some("EqQBCgIYAhIM"));
}
