//! Gemini 3 thought signatures: the `thoughtSignature` of each `functionCall`
//! part comes back unchanged on that call's part in every later request of a
//! tool loop (without it Gemini 3 answers the next turn with a 400). Driven
//! over three turns against a loopback server speaking Gemini's wire format,
//! whole and streamed, asserting on the request bodies the server received.

use crate::native_support::*;
use agent_core::LlmProvider;
use agent_core::provider::{Completion, CompletionRequest, Message, ToolCall, ToolSpec};
use agent_providers::GeminiProvider;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const MODEL: &str = "gemini-3-pro-preview";

// Signatures as Gemini sends them: opaque base64, distinct per call.
const SIG_PARIS: &str = "CiQBjz1rX2Zk3m8Yq0c6y0pV+Zr1nQm5c0bP1u2xk0A9mZ0sCmUBjz1rX1h7c1Q0w9e1Yk7b2Q==";
const SIG_LOGS: &str = "EqkCCqYCAdHtim8Jx4oQzW3bq6kq2mJ8pT5vZ0rXc3s9k1L7w2u0Y6f4N8a1D5e9R3t7U2i6O0p4A==";

fn function_call(name: &str, args: Value, signature: Option<&str>) -> Value {
    let mut part = json!({"functionCall": {"name": name, "args": args}});
    if let Some(signature) = signature {
        part["thoughtSignature"] = json!(signature);
    }
    part
}

fn response(parts: Value) -> Value {
    json!({
        "candidates": [{"content": {"parts": parts, "role": "model"}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 310, "candidatesTokenCount": 22, "thoughtsTokenCount": 96, "totalTokenCount": 428},
        "modelVersion": MODEL,
        "responseId": "yK3saO7xLbSd1MkPp9_MwQk"
    })
}

/// The model's three answers: two parallel calls (Gemini signs only the
/// first), then one signed call, then the final text (with a text signature).
fn turns() -> Vec<Value> {
    vec![
        response(json!([
            function_call("get_weather", json!({"location": "Paris"}), Some(SIG_PARIS)),
            function_call("get_weather", json!({"location": "Rome"}), None),
        ])),
        response(json!([
            {"text": "Both cities looked up; checking the log next."},
            function_call("read_logs", json!({"since": "1h"}), Some(SIG_LOGS)),
        ])),
        response(
            json!([{"text": "Sunny in Paris and Rome; the logs are clean.", "thoughtSignature": "Ev0BCvoBAdHtim9z"}]),
        ),
    ]
}

/// Answers the n-th request with the n-th turn, whole or as one SSE frame per part.
struct Turns {
    next: Arc<AtomicUsize>,
    streamed: bool,
}

impl Respond for Turns {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let turns = turns();
        let body = turns[self.next.fetch_add(1, Ordering::SeqCst).min(turns.len() - 1)].clone();
        if !self.streamed {
            return ResponseTemplate::new(200).set_body_json(body);
        }
        // One frame per part; the finish reason and usage come with the last.
        let parts = body["candidates"][0]["content"]["parts"].as_array().unwrap().clone();
        let mut frames = String::new();
        for (i, part) in parts.iter().enumerate() {
            let mut frame = json!({
                "candidates": [{"content": {"parts": [part], "role": "model"}, "index": 0}],
                "modelVersion": MODEL,
            });
            if i + 1 == parts.len() {
                frame["candidates"][0]["finishReason"] = json!("STOP");
                frame["usageMetadata"] = body["usageMetadata"].clone();
            }
            frames.push_str(&format!("data: {frame}\r\n\r\n"));
        }
        ResponseTemplate::new(200).insert_header("content-type", "text/event-stream").set_body_string(frames)
    }
}

fn tools() -> Vec<ToolSpec> {
    ["get_weather", "read_logs"]
        .into_iter()
        .map(|name| ToolSpec {
            name: name.to_owned(),
            description: format!("{name} tool"),
            parameters: json!({"type": "object", "properties": {"location": {"type": "string"}, "since": {"type": "string"}}}),
        })
        .collect()
}

async fn answer(provider: &GeminiProvider, req: CompletionRequest, streamed: bool) -> Completion {
    if streamed {
        let got = collect(provider.stream(req).await.unwrap()).await;
        assert!(got.error.is_none(), "{:?}", got.error);
        got.done().unwrap().clone()
    } else {
        provider.complete(req).await.unwrap()
    }
}

/// Runs the tool loop as an agent does (each answer's calls appended to the
/// history with a result for each) and returns the three request bodies.
async fn three_turn_loop(streamed: bool) -> (Vec<Vec<ToolCall>>, Vec<Value>) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(Turns { next: Arc::new(AtomicUsize::new(0)), streamed })
        .mount(&server)
        .await;
    let provider = GeminiProvider::new(MODEL)
        .with_base_url(format!("{}/v1beta", server.uri()))
        .with_api_key(Some("AIza-test".to_owned()))
        .with_timeout(Duration::from_secs(10));
    let mut messages = vec![Message::user("Weather in Paris and Rome, then check the logs.")];
    let mut calls_per_turn = Vec::new();
    for _ in 0..3 {
        let completion =
            answer(&provider, CompletionRequest::new(messages.clone()).with_tools(tools()), streamed).await;
        if completion.tool_calls.is_empty() {
            break;
        }
        calls_per_turn.push(completion.tool_calls.clone());
        messages.push(Message::assistant_tool_calls(completion.content.clone(), completion.tool_calls.clone()));
        for call in &completion.tool_calls {
            messages.push(Message::tool_result(call.id.clone(), r#"{"ok":true}"#));
        }
    }
    let bodies: Vec<Value> =
        server.received_requests().await.unwrap().iter().map(|r| serde_json::from_slice(&r.body).unwrap()).collect();
    (calls_per_turn, bodies)
}

/// The `functionCall` parts of the model turns in a request body, in order.
fn function_call_parts(body: &Value) -> Vec<Value> {
    body["contents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["role"] == "model")
        .flat_map(|c| c["parts"].as_array().unwrap().iter())
        .filter(|p| p.get("functionCall").is_some())
        .cloned()
        .collect()
}

fn assert_signatures_sent_back(calls_per_turn: &[Vec<ToolCall>], bodies: &[Value]) {
    assert_eq!(bodies.len(), 3, "three turns were requested");
    assert_eq!(calls_per_turn.len(), 2);
    assert_eq!(calls_per_turn[0][0].signature.as_deref(), Some(SIG_PARIS), "the signature is read from the part");
    assert_eq!(calls_per_turn[0][1].signature, None, "an unsigned call stays unsigned");
    assert_eq!(calls_per_turn[1][0].signature.as_deref(), Some(SIG_LOGS));

    assert!(function_call_parts(&bodies[0]).is_empty(), "turn 1 has no history");
    let turn2 = function_call_parts(&bodies[1]);
    assert_eq!(
        turn2,
        vec![
            json!({"functionCall": {"name": "get_weather", "args": {"location": "Paris"}}, "thoughtSignature": SIG_PARIS}),
            json!({"functionCall": {"name": "get_weather", "args": {"location": "Rome"}}}),
        ],
        "turn 2 sends the first call's signature unchanged on its part, and none on the unsigned call"
    );
    let turn3 = function_call_parts(&bodies[2]);
    assert_eq!(
        turn3,
        vec![
            turn2[0].clone(),
            turn2[1].clone(),
            json!({"functionCall": {"name": "read_logs", "args": {"since": "1h"}}, "thoughtSignature": SIG_LOGS}),
        ],
        "turn 3 carries every earlier call's signature"
    );
}

#[tokio::test]
async fn each_function_calls_thought_signature_goes_back_unchanged_in_later_turns() {
    let (calls, bodies) = three_turn_loop(false).await;
    assert_signatures_sent_back(&calls, &bodies);
}

#[tokio::test]
async fn streamed_function_call_signatures_go_back_unchanged_in_later_turns() {
    let (calls, bodies) = three_turn_loop(true).await;
    assert_signatures_sent_back(&calls, &bodies);
}

#[test]
fn a_tool_call_without_signature_serializes_as_before() {
    let call = ToolCall::new("call_1", "read_file", r#"{"path":"a.rs"}"#);
    assert_eq!(
        serde_json::to_value(&call).unwrap(),
        json!({"id": "call_1", "name": "read_file", "arguments": "{\"path\":\"a.rs\"}"}),
        "cassettes and request hashes are unchanged for calls without a signature"
    );
    let signed = call.clone().with_signature(Some("sig".to_owned()));
    let back: ToolCall = serde_json::from_value(serde_json::to_value(&signed).unwrap()).unwrap();
    assert_eq!(back, signed);
    let old: ToolCall =
        serde_json::from_value(json!({"id": "call_1", "name": "read_file", "arguments": "{}"})).unwrap();
    assert_eq!(old.signature, None);
}
