//! Helpers shared by the test modules: wire bodies as OpenAI sends them, and a provider for a mock server.

use agent_core::provider::{CompletionRequest, Message};
use agent_providers::OpenAiProvider;
use serde_json::{Value, json};
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub(crate) const MODEL: &str = "gpt-4.1-mini";

/// A chat completion body as OpenAI returns it.
pub(crate) fn chat_body(content: &str, prompt_tokens: u64, cached: u64, completion_tokens: u64) -> Value {
    json!({
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "object": "chat.completion",
        "created": 1_741_569_952,
        "model": "gpt-4.1-mini-2025-04-14",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content, "refusal": null, "annotations": []},
            "logprobs": null,
            "finish_reason": "stop"
        }],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0, "audio_tokens": 0,
                "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0
            }
        },
        "service_tier": "default",
        "system_fingerprint": "fp_6f2eabb9a5"
    })
}

/// A successful answer with the headers OpenAI sends.
pub(crate) fn ok(content: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).insert_header("x-request-id", "req_ok_1").set_body_json(chat_body(content, 20, 0, 5))
}

/// An OpenAI error body.
pub(crate) fn error_body(message: &str, kind: &str, code: Option<&str>) -> String {
    json!({"error": {"message": message, "type": kind, "param": null, "code": code}}).to_string()
}

/// A mock server answering every `POST /v1/chat/completions` with `response`.
pub(crate) async fn server_with(response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST")).and(path("/v1/chat/completions")).respond_with(response).mount(&server).await;
    server
}

/// A provider for `MODEL` at the mock server, without a key.
pub(crate) fn provider_for(server: &MockServer) -> OpenAiProvider {
    OpenAiProvider::new(MODEL).with_base_url(format!("{}/v1", server.uri())).with_timeout(Duration::from_secs(10))
}

/// A one-message request.
pub(crate) fn ask(text: &str) -> CompletionRequest {
    CompletionRequest::new(vec![Message::user(text)])
}

/// The JSON body of the only request the server received.
pub(crate) async fn only_request_body(server: &MockServer) -> Value {
    let received = server.received_requests().await.expect("request recording is on");
    assert_eq!(received.len(), 1, "expected exactly one request");
    serde_json::from_slice(&received[0].body).expect("request body is JSON")
}

/// A provider pointed at a port nothing listens on (for tests that never call it).
pub(crate) fn provider_for_nowhere() -> OpenAiProvider {
    OpenAiProvider::new(MODEL).with_base_url("http://127.0.0.1:9/v1")
}
