//! Chat Completions with content parts, reasoning controls, structured
//! output that degrades per endpoint, Azure and the HTTP escape hatches,
//! asserted on what the local server received.

use crate::common::*;
use crate::openai_stream::{chunk, event_stream, sse, usage_chunk};
use agent_core::LlmProvider;
use agent_core::provider::{
    CompletionRequest, ContentPart, Message, ModelCapabilities, ProviderErrorKind, Reasoning, ReasoningEffort,
    ReasoningRequest, Role, StreamEvent, StructuredOutputMode, ToolCall,
};
use agent_providers::{HttpOptions, OpenAiProvider};
use futures::StreamExt;
use serde_json::{Value, json};
use std::time::Duration;
use wiremock::matchers::{body_partial_json, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The JSON bodies of every request the server received, in order.
async fn request_bodies(server: &MockServer) -> Vec<Value> {
    let received = server.received_requests().await.expect("request recording is on");
    received.iter().map(|r| serde_json::from_slice(&r.body).expect("request body is JSON")).collect()
}

fn provider(server: &MockServer, model: &str) -> OpenAiProvider {
    OpenAiProvider::new(model).with_base_url(format!("{}/v1", server.uri())).with_timeout(Duration::from_secs(10))
}

#[tokio::test]
async fn reasoning_model_request_sends_max_completion_tokens_reasoning_effort_and_no_temperature() {
    let server = server_with(ok("done")).await;
    let req = ask("Plan it.")
        .with_max_tokens(2_000)
        .with_temperature(0.2)
        .with_reasoning(ReasoningRequest::effort(ReasoningEffort::Low));
    provider(&server, "gpt-5-mini").complete(req).await.unwrap();

    let body = only_request_body(&server).await;
    assert_eq!(body["max_completion_tokens"], 2_000);
    assert_eq!(body["reasoning_effort"], "low");
    let object = body.as_object().unwrap();
    assert!(!object.contains_key("max_tokens"), "{body}");
    assert!(!object.contains_key("temperature"), "{body}");
}

#[tokio::test]
async fn a_reasoning_budget_is_sent_as_the_effort_it_stands_for() {
    let server = server_with(ok("done")).await;
    provider(&server, "o4-mini").complete(ask("x").with_reasoning(ReasoningRequest::budget(30_000))).await.unwrap();
    assert_eq!(only_request_body(&server).await["reasoning_effort"], "high");
}

#[tokio::test]
async fn a_chat_model_is_sent_no_reasoning_effort_even_when_asked() {
    let server = server_with(ok("done")).await;
    let req = ask("x").with_temperature(0.2).with_reasoning(ReasoningRequest::effort(ReasoningEffort::High));
    provider(&server, "gpt-4.1-mini").complete(req).await.unwrap();
    let body = only_request_body(&server).await;
    assert!(body.get("reasoning_effort").is_none(), "{body}");
    assert_eq!(body["temperature"], 0.2);
}

#[tokio::test]
async fn images_are_sent_as_image_url_parts_with_data_and_https_urls() {
    let server = server_with(ok("a cat")).await;
    let question = Message::with_parts(
        Role::User,
        vec![
            ContentPart::text("What is in these?"),
            ContentPart::image_bytes("image/png", b"png-bytes"),
            ContentPart::CacheBreakpoint,
            ContentPart::text(""),
            ContentPart::image_url("image/jpeg", "https://example.invalid/cat.jpg"),
        ],
    );
    provider(&server, "gpt-4o").complete(CompletionRequest::new(vec![question])).await.unwrap();

    let body = only_request_body(&server).await;
    assert_eq!(
        body["messages"][0]["content"],
        json!([
            {"type": "text", "text": "What is in these?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,cG5nLWJ5dGVz"}},
            {"type": "image_url", "image_url": {"url": "https://example.invalid/cat.jpg"}},
        ])
    );
}

#[tokio::test]
async fn text_only_parts_are_sent_as_one_string_byte_for_byte_like_a_plain_message() {
    let server = server_with(ok("x")).await;
    let p = provider(&server, MODEL);
    let plain = CompletionRequest::new(vec![Message::system("Be terse."), Message::user("Hello there")]);
    let parts = CompletionRequest::new(vec![
        Message::system("Be terse.").with_cache_breakpoint(),
        Message::with_parts(Role::User, vec![ContentPart::text("Hello "), ContentPart::text("there")]),
    ]);
    p.complete(plain).await.unwrap();
    p.complete(parts).await.unwrap();
    let received = server.received_requests().await.unwrap();
    assert_eq!(received[0].body, received[1].body, "{}", String::from_utf8_lossy(&received[1].body));
    let body: Value = serde_json::from_slice(&received[1].body).unwrap();
    assert_eq!(body["messages"][1]["content"], "Hello there");
}

#[tokio::test]
async fn reasoning_parts_of_any_origin_are_left_out_of_chat_requests() {
    let server = server_with(ok("x")).await;
    let answer = Message::with_parts(
        Role::Assistant,
        vec![
            ContentPart::Reasoning(Reasoning::new("anthropic", "secret thoughts").with_signature(Some("sig".into()))),
            ContentPart::Reasoning(Reasoning::new("openai", "my own thoughts")),
            ContentPart::text("Paris."),
        ],
    );
    let req = CompletionRequest::new(vec![Message::user("Capital of France?"), answer, Message::user("Sure?")]);
    provider(&server, MODEL).complete(req).await.unwrap();
    let body = only_request_body(&server).await;
    assert_eq!(body["messages"][1], json!({"role": "assistant", "content": "Paris."}));
    let text = body.to_string();
    assert!(!text.contains("thoughts") && !text.contains("sig"), "{text}");
}

#[tokio::test]
async fn an_image_to_a_model_without_image_input_is_unsupported_and_nothing_is_sent() {
    let server = server_with(ok("x")).await;
    let req = CompletionRequest::new(vec![Message::with_parts(
        Role::User,
        vec![ContentPart::text("Look"), ContentPart::image_bytes("image/png", b"x")],
    )]);
    let p = provider(&server, "o3-mini"); // the table says: no image input
    let err = p.complete(req.clone()).await.unwrap_err();
    assert_eq!(err.kind, ProviderErrorKind::Unsupported { what: "image".into() });
    let err = p.stream(req).await.err().expect("stream refused too");
    assert_eq!(err.kind, ProviderErrorKind::Unsupported { what: "image".into() });
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_image_in_a_tool_result_is_unsupported_before_sending() {
    let server = server_with(ok("x")).await;
    let mut result = Message::tool_result("call_1", "screenshot:");
    result.push_part(ContentPart::image_bytes("image/png", b"x"));
    let req = CompletionRequest::new(vec![
        Message::user("Take a screenshot"),
        Message::assistant_tool_calls("", vec![ToolCall::new("call_1", "screenshot", "{}")]),
        result,
    ]);
    let err = provider(&server, "gpt-4o").complete(req).await.unwrap_err();
    assert!(matches!(err.kind, ProviderErrorKind::Unsupported { .. }), "{err}");
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_tool_error_is_sent_as_its_text_since_chat_has_no_error_flag() {
    let server = server_with(ok("sorry")).await;
    let req = CompletionRequest::new(vec![
        Message::user("Read a.txt"),
        Message::assistant_tool_calls("", vec![ToolCall::new("call_1", "read", r#"{"path":"a.txt"}"#)]),
        Message::tool_error("call_1", "error: no such file"),
    ]);
    provider(&server, MODEL).complete(req).await.unwrap();
    let body = only_request_body(&server).await;
    assert_eq!(body["messages"][1]["content"], Value::Null);
    assert_eq!(
        body["messages"][2],
        json!({"role": "tool", "content": "error: no such file", "tool_call_id": "call_1"})
    );
}

#[tokio::test]
async fn reasoning_content_deltas_stream_as_reasoning_deltas_and_are_kept_in_the_completion() {
    let body = sse(&[
        chunk(json!({"role": "assistant", "content": null, "reasoning_content": "The user "}), None),
        chunk(json!({"reasoning_content": "greets me."}), None),
        chunk(json!({"reasoning": {"odd": "shape"}}), None),
        chunk(json!({"content": "Hi!"}), Some("stop")),
        usage_chunk(12, 0, 9),
        "[DONE]".to_owned(),
    ]);
    let server = server_with(event_stream(body)).await;
    let events: Vec<_> = provider(&server, MODEL).stream(ask("hi")).await.unwrap().collect().await;
    let reasoning: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Ok(StreamEvent::ReasoningDelta { text }) => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(reasoning, ["The user ", "greets me."]);
    let Some(Ok(StreamEvent::Done { completion })) = events.last() else { panic!("{events:?}") };
    assert_eq!(completion.content, "Hi!");
    assert_eq!(completion.reasoning, [Reasoning::new("openai", "The user greets me.")]);
    // Sent back in the history, the reasoning is left out.
    let history = CompletionRequest::new(vec![Message::user("hi"), Message::from_completion(completion)]);
    let server = server_with(ok("x")).await;
    provider(&server, MODEL).complete(history).await.unwrap();
    assert_eq!(only_request_body(&server).await["messages"][1], json!({"role": "assistant", "content": "Hi!"}));
}

#[tokio::test]
async fn a_whole_answer_with_reasoning_content_keeps_it_as_reasoning() {
    let mut answer = chat_body("42", 10, 0, 30);
    answer["choices"][0]["message"]["reasoning_content"] = json!("Six times seven.");
    let server = server_with(ResponseTemplate::new(200).set_body_json(answer)).await;
    let out = provider(&server, MODEL).complete(ask("6*7?")).await.unwrap();
    assert_eq!(out.content, "42");
    assert_eq!(out.reasoning, [Reasoning::new("openai", "Six times seven.")]);
}

/// llama.cpp's Python server refusing `json_schema`: an HTTP 500 with its validation error.
fn llama_cpp_refusal() -> ResponseTemplate {
    let message = "1 validation error for CreateChatCompletionRequest\nresponse_format.type\n  Input should be 'text' or 'json_object' [type=literal_error, input_value='json_schema', input_type=str]\n    For further information visit https://errors.pydantic.dev/2.9/v/literal_error";
    ResponseTemplate::new(500).set_body_json(
        json!({"error": {"message": message, "type": "internal_server_error", "param": null, "code": null}}),
    )
}

fn verdict_schema() -> Value {
    json!({"type": "object", "properties": {"approve": {"type": "boolean"}}, "required": ["approve"]})
}

fn structured(text: &str) -> CompletionRequest {
    CompletionRequest::new(vec![Message::system("You review diffs."), Message::user(text)])
        .with_response_format("verdict", verdict_schema())
}

/// A server that refuses `response_format` of type `kind` with `refusal` and answers anything else.
async fn refusing(kinds: &[&str], refusal: ResponseTemplate, answer: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    for kind in kinds {
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .and(body_partial_json(json!({"response_format": {"type": kind}})))
            .respond_with(refusal.clone())
            .with_priority(1)
            .mount(&server)
            .await;
    }
    Mock::given(method("POST")).and(path("/v1/chat/completions")).respond_with(answer).mount(&server).await;
    server
}

fn assert_schema_in_system_message(body: &Value) {
    let system = &body["messages"][0];
    assert_eq!(system["role"], "system");
    let text = system["content"].as_str().unwrap();
    assert!(text.starts_with("You review diffs.\n\n"), "{text}");
    assert!(text.contains(&verdict_schema().to_string()), "{text}");
    assert!(text.contains("JSON"), "{text}");
    assert_eq!(body["messages"].as_array().unwrap().len(), 2, "the instructions join the system message");
}

#[tokio::test]
async fn json_schema_refused_with_llama_cpp_500_is_retried_as_json_object_with_the_schema_in_the_instructions_and_remembered()
 {
    let server = refusing(&["json_schema"], llama_cpp_refusal(), ok(r#"{"approve": true}"#)).await;
    let p = provider(&server, "qwen2.5-7b-instruct");
    let out = p.complete(structured("diff 1")).await.unwrap();
    assert_eq!(out.content, r#"{"approve": true}"#);

    let bodies = request_bodies(&server).await;
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0]["response_format"]["type"], "json_schema");
    assert_eq!(bodies[0]["messages"][0], json!({"role": "system", "content": "You review diffs."}));
    assert_eq!(bodies[1]["response_format"], json!({"type": "json_object"}));
    assert_schema_in_system_message(&bodies[1]);

    // A later call of the same provider (a clone shares what was learnt) starts at json_object.
    p.clone().complete(structured("diff 2")).await.unwrap();
    let bodies = request_bodies(&server).await;
    assert_eq!(bodies.len(), 3, "one request only");
    assert_eq!(bodies[2]["response_format"], json!({"type": "json_object"}));
    // A call without structured output is sent as always.
    p.complete(ask("hi")).await.unwrap();
    let bodies = request_bodies(&server).await;
    assert!(bodies[3].get("response_format").is_none());
    assert_eq!(bodies[3]["messages"], json!([{"role": "user", "content": "hi"}]));
}

#[tokio::test]
async fn json_object_refused_too_falls_back_to_the_instructions_alone() {
    let refusal = ResponseTemplate::new(400).set_body_json(json!({"error": {
        "message": "Invalid parameter: 'response_format' is not supported by this server.",
        "type": "invalid_request_error", "param": "response_format", "code": null}}));
    let server = refusing(&["json_schema", "json_object"], refusal, ok(r#"{"approve": false}"#)).await;
    let p = provider(&server, "local-model");
    assert_eq!(p.complete(structured("diff")).await.unwrap().content, r#"{"approve": false}"#);
    let bodies = request_bodies(&server).await;
    assert_eq!(bodies.len(), 3);
    assert!(bodies[2].get("response_format").is_none(), "{}", bodies[2]);
    assert_schema_in_system_message(&bodies[2]);
    p.complete(structured("again")).await.unwrap();
    assert_eq!(request_bodies(&server).await.len(), 4);
}

#[tokio::test]
async fn a_model_whose_capabilities_say_json_object_starts_there() {
    let server = server_with(ok("{}")).await;
    let caps = ModelCapabilities::new(32_768, 4_096).with_structured_output(StructuredOutputMode::JsonObject);
    let req = CompletionRequest::new(vec![Message::user("Review")]).with_response_format("verdict", verdict_schema());
    provider(&server, "local").with_capabilities(caps).complete(req).await.unwrap();
    let body = only_request_body(&server).await;
    assert_eq!(body["response_format"], json!({"type": "json_object"}));
    assert_eq!(body["messages"][0]["role"], "system", "a system message of its own when there was none");
    assert_eq!(body["messages"][1], json!({"role": "user", "content": "Review"}));
}

#[tokio::test]
async fn a_streamed_call_degrades_structured_output_the_same_way() {
    let answer = event_stream(sse(&[chunk(json!({"content": "{}"}), Some("stop")), "[DONE]".to_owned()]));
    let server = refusing(&["json_schema"], llama_cpp_refusal(), answer).await;
    let events: Vec<_> = provider(&server, "local").stream(structured("diff")).await.unwrap().collect().await;
    assert!(matches!(events.last(), Some(Ok(StreamEvent::Done { completion })) if completion.content == "{}"));
    let bodies = request_bodies(&server).await;
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[1]["response_format"], json!({"type": "json_object"}));
    assert_eq!(bodies[1]["stream"], true);
}

#[tokio::test]
async fn an_unrelated_server_error_is_not_taken_for_a_format_refusal() {
    let server = server_with(
        ResponseTemplate::new(500)
            .set_body_json(json!({"error": {"message": "The server had an error", "type": "server_error"}})),
    )
    .await;
    let err = provider(&server, "local").complete(structured("diff")).await.unwrap_err();
    assert_eq!(err.kind, ProviderErrorKind::ServerError { status: 500 });
    assert_eq!(request_bodies(&server).await.len(), 1);
}

#[tokio::test]
async fn azure_posts_to_the_deployment_url_with_the_api_version_and_an_api_key_header() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/openai/deployments/my-gpt-5/chat/completions"))
        .and(query_param("api-version", "2024-10-21"))
        .respond_with(ok("hello from azure"))
        .mount(&server)
        .await;
    let azure = OpenAiProvider::azure(format!("{}/", server.uri()), "my-gpt-5", "2024-10-21")
        .with_api_key(Some("azure-key-1".into()))
        .with_capabilities(
            ModelCapabilities::new(400_000, 128_000)
                .with_token_param(agent_core::provider::TokenParam::MaxCompletionTokens),
        );
    assert_eq!(azure.id().as_str(), "azure:my-gpt-5");
    let out = azure.complete(ask("hi").with_max_tokens(50)).await.unwrap();
    assert_eq!(out.content, "hello from azure");
    assert_eq!(out.provider.as_str(), "azure:my-gpt-5");

    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].headers.get("api-key").unwrap(), "azure-key-1");
    assert!(received[0].headers.get("authorization").is_none());
    let body: Value = serde_json::from_slice(&received[0].body).unwrap();
    assert_eq!(body["max_completion_tokens"], 50);
    assert_eq!(
        LlmProvider::endpoint(&azure).as_deref(),
        Some(format!("{}/openai/deployments/my-gpt-5", server.uri()).as_str())
    );
}

#[tokio::test]
async fn http_options_headers_and_body_fields_reach_the_server_and_request_extras_win() {
    let server = server_with(ok("x")).await;
    let http = HttpOptions::new()
        .with_header("x-team", "agents")
        .unwrap()
        .with_extra_body("service_tier", json!("flex"))
        .with_extra_body("user", json!("provider-level"));
    let req = ask("hi")
        .with_temperature(0.3)
        .with_extra_body("user", json!("request-level"))
        .with_extra_header("x-trace", "t-1");
    provider(&server, MODEL).with_api_key(Some("sk-1".into())).with_http_options(http).complete(req).await.unwrap();

    let received = server.received_requests().await.unwrap();
    assert_eq!(received[0].headers.get("x-team").unwrap(), "agents");
    assert_eq!(received[0].headers.get("x-trace").unwrap(), "t-1");
    assert_eq!(received[0].headers.get("authorization").unwrap(), "Bearer sk-1");
    let body: Value = serde_json::from_slice(&received[0].body).unwrap();
    assert_eq!(body["service_tier"], "flex");
    assert_eq!(body["user"], "request-level");
    assert_eq!(body["model"], MODEL);
    assert_eq!(body["temperature"].to_string(), "0.3");
}

#[tokio::test]
async fn an_invalid_request_header_is_invalid_request_and_nothing_is_sent() {
    let server = server_with(ok("x")).await;
    let err = provider(&server, MODEL).complete(ask("hi").with_extra_header("bad header", "x")).await.unwrap_err();
    assert_eq!(err.kind, ProviderErrorKind::InvalidRequest);
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_injected_client_sends_the_requests() {
    let server = server_with(ok("x")).await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-from-client", "yes".parse().unwrap());
    let client = reqwest::Client::builder().default_headers(headers).build().unwrap();
    provider(&server, MODEL)
        .with_http_options(HttpOptions::new().with_client(client))
        .complete(ask("hi"))
        .await
        .unwrap();
    let received = server.received_requests().await.unwrap();
    assert_eq!(received[0].headers.get("x-from-client").unwrap(), "yes");
}

#[test]
fn the_provider_reports_capabilities_and_endpoint_through_the_trait() {
    let p: std::sync::Arc<dyn LlmProvider> =
        std::sync::Arc::new(OpenAiProvider::new("gpt-5").with_base_url("http://localhost:8080/v1/"));
    assert_eq!(p.endpoint().as_deref(), Some("http://localhost:8080/v1"));
    assert_eq!(p.capabilities().map(|c| c.reasoning), Some(agent_core::provider::ReasoningControl::Effort));
    assert!(OpenAiProvider::new("my-finetune").capabilities().is_none());
}
