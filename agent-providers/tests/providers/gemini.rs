//! Gemini `generateContent` / `streamGenerateContent?alt=sse` against a loopback
//! server speaking its wire format: whole and streamed answers, usage, request
//! shape, generated tool-call ids, and every error class with status, request
//! id and raw body kept.

use crate::native_support::*;
use agent_core::LlmProvider;
use agent_core::budget::Usd;
use agent_core::provider::{
    CompletionRequest, FinishReason, Message, ProviderError, ProviderErrorKind, ToolCall, ToolSpec,
};
use agent_providers::{GeminiProvider, ProviderSpec, build_provider_with_env};
use serde_json::{Value, json};
use std::time::Duration;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MODEL: &str = "gemini-2.5-flash";
const GENERATE: &str = "/v1beta/models/gemini-2.5-flash:generateContent";
const STREAM: &str = "/v1beta/models/gemini-2.5-flash:streamGenerateContent";

async fn server_with(response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST")).and(path(GENERATE)).respond_with(response.clone()).mount(&server).await;
    Mock::given(method("POST"))
        .and(path(STREAM))
        .and(query_param("alt", "sse"))
        .respond_with(response)
        .mount(&server)
        .await;
    server
}

fn provider_for(server: &MockServer) -> GeminiProvider {
    GeminiProvider::new(MODEL)
        .with_base_url(format!("{}/v1beta", server.uri()))
        .with_api_key(Some("AIza-test".to_owned()))
        .with_timeout(Duration::from_secs(10))
}

fn ask(text: &str) -> CompletionRequest {
    CompletionRequest::new(vec![Message::user(text)])
}

fn usage_metadata() -> Value {
    json!({
        "promptTokenCount": 1200,
        "candidatesTokenCount": 8,
        "totalTokenCount": 1258,
        "cachedContentTokenCount": 1000,
        "thoughtsTokenCount": 50,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 1200}],
        "cacheTokensDetails": [{"modality": "TEXT", "tokenCount": 1000}]
    })
}

fn response_body(parts: Value, finish_reason: &str) -> Value {
    json!({
        "candidates": [{"content": {"parts": parts, "role": "model"}, "finishReason": finish_reason, "index": 0}],
        "usageMetadata": usage_metadata(),
        "modelVersion": "gemini-2.5-flash",
        "responseId": "mAitaLmkHPPlz7IPvtfUqQ4"
    })
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

/// An SSE body of frames, separated by CRLF blank lines as Google sends them.
fn sse(frames: &[Value]) -> ResponseTemplate {
    let body: String = frames.iter().map(|f| format!("data: {f}\r\n\r\n")).collect();
    ResponseTemplate::new(200).insert_header("content-type", "text/event-stream").set_body_string(body)
}

fn text_frame(text: &str) -> Value {
    json!({
        "candidates": [{"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}],
        "usageMetadata": {"promptTokenCount": 1200, "totalTokenCount": 1200},
        "modelVersion": "gemini-2.5-flash",
        "responseId": "resp-stream-1"
    })
}

fn weather_tool() -> ToolSpec {
    ToolSpec {
        name: "get_weather".to_owned(),
        description: "Current weather of a city".to_owned(),
        parameters: json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "title": "WeatherArgs",
            "type": "object",
            "properties": {"location": {"type": "string", "title": "Location"}},
            "required": ["location"],
            "additionalProperties": false
        }),
    }
}

#[tokio::test]
async fn complete_returns_text_and_usage_with_cached_and_thought_tokens() {
    let server = server_with(ok(response_body(json!([{"text": "Hi there."}]), "STOP"))).await;
    let out = provider_for(&server).complete(ask("hi")).await.unwrap();
    assert_eq!(out.content, "Hi there.");
    assert_eq!(out.provider.as_str(), "gemini:gemini-2.5-flash");
    assert_eq!(out.model.as_deref(), Some("gemini-2.5-flash"));
    assert_eq!(out.finish_reason, Some(FinishReason::Stop));
    assert_eq!(out.request_id.as_deref(), Some("mAitaLmkHPPlz7IPvtfUqQ4"), "responseId stands in for a request id");
    // promptTokenCount already includes the cached tokens; thoughts are output.
    assert_eq!(out.usage.input_tokens, 1200);
    assert_eq!(out.usage.cached_input_tokens, 1000);
    assert_eq!(out.usage.output_tokens, 58);
    assert_eq!(out.usage.reasoning_tokens, 50);
    // $0.30 input, $0.03 cached input, $2.50 output per million.
    let expected = (200.0 * 0.30 + 1000.0 * 0.03 + 58.0 * 2.50) / 1e6;
    assert_eq!(out.cost_usd.unwrap(), Usd::from_dollars(expected), "cost {:?}", out.cost_usd);
}

#[tokio::test]
async fn request_carries_key_system_instruction_tools_function_turns_and_json_schema() {
    let server = server_with(ok(response_body(json!([{"text": "{\"ok\":true}"}]), "STOP"))).await;
    let call = ToolCall::new("call_1".to_owned(), "get_weather".to_owned(), r#"{"location":"Paris"}"#.to_owned());
    let req = CompletionRequest::new(vec![
        Message::system("Be brief."),
        Message::user("Weather in Paris?"),
        Message::assistant_tool_calls("", vec![call]),
        Message::tool_result("call_1", r#"{"temp_c": 18}"#),
        Message::user("And so?"),
    ])
    .with_tools(vec![weather_tool()])
    .with_max_tokens(256)
    .with_temperature(0.5)
    .with_response_format(
        "verdict",
        json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "Verdict", "type": "object",
               "properties": {"ok": {"type": "boolean"}}, "required": ["ok"], "additionalProperties": false}),
    );
    provider_for(&server).complete(req).await.unwrap();

    let request = only_request(&server).await;
    assert_eq!(request.url.path(), GENERATE);
    assert_eq!(request.url.query(), None, "the key is never in the URL");
    assert_eq!(header(&request, "x-goog-api-key"), Some("AIza-test"));
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["systemInstruction"], json!({"parts": [{"text": "Be brief."}]}));
    assert_eq!(
        body["contents"],
        json!([
            {"role": "user", "parts": [{"text": "Weather in Paris?"}]},
            {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"location": "Paris"}}}]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"temp_c": 18}}},
                {"text": "And so?"}
            ]}
        ])
    );
    assert_eq!(
        body["tools"],
        json!([{"functionDeclarations": [{
            "name": "get_weather",
            "description": "Current weather of a city",
            "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}
        }]}])
    );
    let config = &body["generationConfig"];
    assert_eq!(config["maxOutputTokens"], 256);
    assert!((config["temperature"].as_f64().unwrap() - 0.5).abs() < 1e-6);
    assert_eq!(config["responseMimeType"], "application/json");
    assert_eq!(
        config["responseSchema"],
        json!({"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}),
        "$schema, title and additionalProperties are stripped"
    );
}

#[tokio::test]
async fn complete_returns_function_calls_with_generated_distinct_ids() {
    let parts = json!([
        {"functionCall": {"name": "get_weather", "args": {"location": "Paris"}}},
        {"functionCall": {"name": "get_weather", "args": {"location": "Rome"}}}
    ]);
    let server = server_with(ok(response_body(parts, "STOP"))).await;
    let out = provider_for(&server).complete(ask("weather?").with_tools(vec![weather_tool()])).await.unwrap();
    assert_eq!(out.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(out.tool_calls.len(), 2);
    assert!(out.tool_calls.iter().all(|c| c.id.starts_with("call_")), "{:?}", out.tool_calls);
    assert_ne!(out.tool_calls[0].id, out.tool_calls[1].id);
    assert_eq!(out.tool_calls[1].parsed_arguments().unwrap(), json!({"location": "Rome"}));
}

#[tokio::test]
async fn stream_yields_text_deltas_and_ends_with_the_last_frames_usage() {
    let mut last = text_frame(" world");
    last["candidates"][0]["finishReason"] = json!("STOP");
    last["usageMetadata"] = usage_metadata();
    let server = server_with(sse(&[text_frame("Hello"), text_frame(","), last])).await;
    let got = collect(provider_for(&server).stream(ask("hi")).await.unwrap()).await;
    assert!(got.error.is_none(), "{:?}", got.error);
    assert_eq!(got.text(), "Hello, world");
    let done = got.done().unwrap();
    assert_eq!(done.content, "Hello, world");
    assert_eq!(done.finish_reason, Some(FinishReason::Stop));
    assert_eq!(done.usage.input_tokens, 1200);
    assert_eq!(done.usage.cached_input_tokens, 1000);
    assert_eq!(done.usage.output_tokens, 58);
    assert_eq!(done.request_id.as_deref(), Some("resp-stream-1"));

    let request = only_request(&server).await;
    assert_eq!(request.url.path(), STREAM);
    assert_eq!(request.url.query(), Some("alt=sse"));
}

#[tokio::test]
async fn stream_delivers_function_calls_whole_with_generated_ids() {
    let call_frame = json!({
        "candidates": [{"content": {"parts": [{"functionCall": {"name": "get_weather", "args": {"location": "Paris"}}}], "role": "model"}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": usage_metadata(),
        "modelVersion": "gemini-2.5-flash"
    });
    let server = server_with(sse(&[text_frame("Checking."), call_frame])).await;
    let got = collect(provider_for(&server).stream(ask("weather?")).await.unwrap()).await;
    assert!(got.error.is_none(), "{:?}", got.error);
    let deltas = got.tool_deltas();
    assert_eq!(deltas.len(), 1);
    let (index, id, name, arguments) = &deltas[0];
    assert_eq!(*index, 0);
    assert!(id.as_deref().unwrap().starts_with("call_"));
    assert_eq!(name.as_deref(), Some("get_weather"));
    assert_eq!(serde_json::from_str::<Value>(arguments).unwrap(), json!({"location": "Paris"}));
    let done = got.done().unwrap();
    assert_eq!(done.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(done.tool_calls[0].id, *id.as_ref().unwrap(), "the Done call keeps the streamed id");
    assert_eq!(done.content, "Checking.");
}

#[tokio::test]
async fn stream_that_ends_without_a_finish_reason_is_an_error() {
    let server = server_with(sse(&[text_frame("Hello"), text_frame(", wor")])).await;
    let got = collect(provider_for(&server).stream(ask("hi")).await.unwrap()).await;
    assert_eq!(got.text(), "Hello, wor");
    assert!(got.done().is_none());
    let err = got.error.expect("a cut stream ends with an error");
    assert!(err.message.contains("finishReason"), "{}", err.message);
}

#[tokio::test]
async fn error_object_mid_stream_is_classified() {
    let error = json!({"error": {"code": 503, "message": "The model is overloaded. Please try again later.", "status": "UNAVAILABLE"}});
    let server = server_with(sse(&[text_frame("Hel"), error.clone()])).await;
    let got = collect(provider_for(&server).stream(ask("hi")).await.unwrap()).await;
    assert_eq!(got.text(), "Hel");
    let err = got.error.unwrap();
    assert!(matches!(err.kind, ProviderErrorKind::Overloaded { .. }), "{:?}", err.kind);
    assert_eq!(err.raw_body.as_deref(), Some(error.to_string().as_str()));
}

fn quota_body(quota_id: &str, quota_value: &str, retry_delay: &str) -> String {
    json!({"error": {
        "code": 429,
        "message": format!("You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.\n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: {quota_value}, model: gemini-2.5-pro\nPlease retry in 37.343213s."),
        "status": "RESOURCE_EXHAUSTED",
        "details": [
            {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{
                "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                "quotaId": quota_id,
                "quotaDimensions": {"location": "global", "model": "gemini-2.5-pro"},
                "quotaValue": quota_value
            }]},
            {"@type": "type.googleapis.com/google.rpc.Help", "links": [{"description": "Learn more about Gemini API quotas", "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]},
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay}
        ]
    }})
    .to_string()
}

fn status_body(code: u16, status: &str, message: &str) -> String {
    json!({"error": {"code": code, "message": message, "status": status}}).to_string()
}

async fn error_for(status: u16, body: &str) -> ProviderError {
    let response = ResponseTemplate::new(status)
        .insert_header("x-request-id", "req_gem_9")
        .insert_header("content-type", "application/json; charset=UTF-8")
        .set_body_string(body);
    let server = server_with(response).await;
    let err = provider_for(&server).complete(ask("hi")).await.expect_err("the call must fail");
    assert_eq!(err.status, Some(status), "status kept");
    assert_eq!(err.request_id.as_deref(), Some("req_gem_9"), "request id kept");
    assert_eq!(err.raw_body.as_deref(), Some(body), "raw body kept");
    assert_eq!(err.provider.as_str(), "gemini:gemini-2.5-flash");
    err
}

#[tokio::test]
async fn per_day_quota_429_is_quota_exhausted_even_with_a_retry_delay() {
    let err = error_for(429, &quota_body("GenerateRequestsPerDayPerProjectPerModel-FreeTier", "50", "37s")).await;
    assert!(matches!(err.kind, ProviderErrorKind::QuotaExhausted { .. }), "{:?}", err.kind);
    assert!(!err.kind.is_transient());
}

#[tokio::test]
async fn zero_limit_429_is_quota_exhausted() {
    let err = error_for(429, &quota_body("GenerateRequestsPerMinutePerProjectPerModel-FreeTier", "0", "20s")).await;
    assert!(matches!(err.kind, ProviderErrorKind::QuotaExhausted { .. }), "{:?}", err.kind);
}

#[tokio::test]
async fn per_minute_429_is_rate_limited_for_the_retry_delay() {
    let err = error_for(429, &quota_body("GenerateRequestsPerMinutePerProjectPerModel-FreeTier", "10", "37s")).await;
    assert_eq!(err.kind, ProviderErrorKind::RateLimited { retry_after_ms: Some(37_000) });
}

#[tokio::test]
async fn token_count_400_is_context_too_long() {
    let body = status_body(
        400,
        "INVALID_ARGUMENT",
        "The input token count (1234567) exceeds the maximum number of tokens allowed (1048576).",
    );
    assert_eq!(error_for(400, &body).await.kind, ProviderErrorKind::ContextTooLong);
}

#[tokio::test]
async fn invalid_argument_400_is_invalid_request() {
    let body =
        status_body(400, "INVALID_ARGUMENT", "Invalid JSON payload received. Unknown name \"foo\": Cannot find field.");
    assert_eq!(error_for(400, &body).await.kind, ProviderErrorKind::InvalidRequest);
}

#[tokio::test]
async fn invalid_api_key_400_and_permission_errors_are_auth() {
    let bad_key = json!({"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "INVALID_ARGUMENT",
        "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com"}]}})
    .to_string();
    assert_eq!(error_for(400, &bad_key).await.kind, ProviderErrorKind::Auth);
    let denied = status_body(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers.");
    assert_eq!(error_for(403, &denied).await.kind, ProviderErrorKind::Auth);
    let unauthenticated = status_body(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.");
    assert_eq!(error_for(401, &unauthenticated).await.kind, ProviderErrorKind::Auth);
}

#[tokio::test]
async fn unavailable_503_is_overloaded() {
    let err =
        error_for(503, &status_body(503, "UNAVAILABLE", "The model is overloaded. Please try again later.")).await;
    assert_eq!(err.kind, ProviderErrorKind::Overloaded { retry_after_ms: None });
}

#[tokio::test]
async fn internal_500_is_a_transient_server_error() {
    let err = error_for(500, &status_body(500, "INTERNAL", "An internal error has occurred.")).await;
    assert_eq!(err.kind, ProviderErrorKind::ServerError { status: 500 });
    assert!(err.kind.is_transient());
}

#[tokio::test]
async fn a_model_that_is_not_found_is_unsupported_so_a_cascade_falls_over() {
    let message = "models/gemini-9-pro is not found for API version v1beta, or is not supported for generateContent.";
    let err = error_for(404, &status_body(404, "NOT_FOUND", message)).await;
    assert_eq!(err.kind, ProviderErrorKind::Unsupported { what: "model".into() });
    assert!(!err.kind.is_transient());
}

#[tokio::test]
async fn an_unsupported_feature_is_unsupported_and_another_bad_argument_is_invalid() {
    let message = "Function calling is not supported by this model.";
    let err = error_for(400, &status_body(400, "INVALID_ARGUMENT", message)).await;
    assert_eq!(err.kind, ProviderErrorKind::Unsupported { what: "Function calling".into() });
    let err = error_for(400, &status_body(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")).await;
    assert_eq!(err.kind, ProviderErrorKind::InvalidRequest);
}

#[tokio::test]
async fn stream_http_error_fails_the_call() {
    let body = quota_body("GenerateRequestsPerMinutePerProjectPerModel-FreeTier", "10", "2s");
    let server = server_with(ResponseTemplate::new(429).set_body_string(body)).await;
    let err = provider_for(&server).stream(ask("hi")).await.err().expect("the call fails");
    assert_eq!(err.kind, ProviderErrorKind::RateLimited { retry_after_ms: Some(2_000) });
}

#[tokio::test]
async fn spec_builds_a_gemini_provider_with_the_key_from_the_environment() {
    let server = server_with(ok(response_body(json!([{"text": "from env"}]), "STOP"))).await;
    let spec: ProviderSpec = format!("gemini:gemini-2.5-flash@{}/v1beta", server.uri()).parse().unwrap();
    let provider = build_provider_with_env(&spec, &env_of(&[("GEMINI_API_KEY", "AIza-env")])).unwrap();
    assert_eq!(provider.id().as_str(), "gemini:gemini-2.5-flash");
    assert_eq!(provider.complete(ask("hi")).await.unwrap().content, "from env");
    assert_eq!(header(&only_request(&server).await, "x-goog-api-key"), Some("AIza-env"));
}
