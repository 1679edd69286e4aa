//! The conformance suite run against `OpenAiProvider`, with a wiremock server
//! answering each scenario in the Chat Completions wire format.

use crate::common::*;
use crate::openai_stream::{chunk, event_stream, sse, usage_chunk};
use agent_core::async_trait;
use agent_core::provider::ProviderId;
use agent_providers::conformance::{CallMode, ConformanceHarness, ErrorClass, Scenario, Wired, run_conformance};
use serde_json::{Value, json};
use wiremock::ResponseTemplate;

/// Cuts `text` into `n` pieces on character boundaries.
fn pieces(text: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let size = chars.len().div_ceil(n).max(1);
    chars.chunks(size).map(|c| c.iter().collect()).collect()
}

fn text_items(text: &str) -> Vec<String> {
    let mut items = vec![": ping".to_owned(), chunk(json!({"role": "assistant", "content": ""}), None)];
    items.extend(pieces(text, 3).into_iter().map(|p| chunk(json!({"content": p}), None)));
    items
}

fn error_response(class: ErrorClass) -> ResponseTemplate {
    let (status, body) = match class {
        ErrorClass::RateLimited => {
            (429, error_body("Rate limit reached. Please try again in 20ms.", "tokens", Some("rate_limit_exceeded")))
        }
        ErrorClass::QuotaExhausted => {
            (429, error_body("You exceeded your current quota.", "insufficient_quota", Some("insufficient_quota")))
        }
        ErrorClass::Auth => {
            (401, error_body("Incorrect API key provided", "invalid_request_error", Some("invalid_api_key")))
        }
        ErrorClass::ContextTooLong => (
            400,
            error_body(
                "This model's maximum context length is 128000 tokens.",
                "invalid_request_error",
                Some("context_length_exceeded"),
            ),
        ),
        ErrorClass::Overloaded => {
            (503, error_body("The server is overloaded", "server_error", Some("server_is_overloaded")))
        }
        other => panic!("no OpenAI body for {other:?}"),
    };
    ResponseTemplate::new(status).insert_header("x-request-id", "req_conf").set_body_raw(body, "application/json")
}

fn tool_call_whole(id: &str, name: &str, arguments: &Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "chatcmpl-conf", "object": "chat.completion", "model": MODEL,
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": null,
            "tool_calls": [{"id": id, "type": "function", "function": {"name": name, "arguments": arguments.to_string()}}]
        }}],
        "usage": {"prompt_tokens": 40, "completion_tokens": 12}
    }))
}

fn tool_call_streamed(id: &str, name: &str, arguments: &Value) -> ResponseTemplate {
    let mut items = vec![chunk(
        json!({"role": "assistant", "content": null, "tool_calls": [
            {"index": 0, "id": id, "type": "function", "function": {"name": name, "arguments": ""}}
        ]}),
        None,
    )];
    for piece in pieces(&arguments.to_string(), 3) {
        items.push(chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}), None));
    }
    items.push(chunk(json!({}), Some("tool_calls")));
    items.push(usage_chunk(40, 0, 12));
    items.push("[DONE]".to_owned());
    event_stream(sse(&items))
}

struct OpenAiHarness;

#[async_trait]
impl ConformanceHarness for OpenAiHarness {
    async fn wire(&self, scenario: &Scenario, mode: CallMode) -> Wired {
        let response = match (scenario, mode) {
            (Scenario::Text { text }, CallMode::Complete) => ok(text),
            (Scenario::Text { text }, _) => {
                let mut items = text_items(text);
                items.push(chunk(json!({}), Some("stop")));
                items.push(usage_chunk(20, 0, 5));
                items.push("[DONE]".to_owned());
                event_stream(sse(&items))
            }
            (Scenario::ToolCall { id, name, arguments }, CallMode::Complete) => tool_call_whole(id, name, arguments),
            (Scenario::ToolCall { id, name, arguments }, _) => tool_call_streamed(id, name, arguments),
            (Scenario::Error(class), _) => error_response(*class),
            (Scenario::TruncatedStream { text }, _) => event_stream(sse(&text_items(text)[..3])),
            (other, _) => panic!("unknown scenario {other:?}"),
        };
        let server = server_with(response).await;
        Wired::new(provider_for(&server)).keeping(server)
    }

    fn expected_id(&self) -> Option<ProviderId> {
        Some(ProviderId::new(format!("openai:{MODEL}")))
    }
}

#[tokio::test]
async fn openai_provider_passes_the_conformance_suite() {
    let report = run_conformance(&OpenAiHarness).await;
    assert_eq!(report.checks.len(), 16, "{report}");
    report.assert_passes();
}

/// A harness whose server drops the terminal event even for whole answers:
/// the suite must notice, and name what failed.
struct AlwaysTruncated;

#[async_trait]
impl ConformanceHarness for AlwaysTruncated {
    async fn wire(&self, scenario: &Scenario, mode: CallMode) -> Wired {
        match (scenario, mode) {
            (Scenario::Text { text }, CallMode::Stream) => {
                let server = server_with(event_stream(sse(&text_items(text)))).await;
                Wired::new(provider_for(&server)).keeping(server)
            }
            _ => OpenAiHarness.wire(scenario, mode).await,
        }
    }
}

#[tokio::test]
async fn the_conformance_report_names_the_check_a_broken_server_fails() {
    let report = run_conformance(&AlwaysTruncated).await;
    assert!(!report.passed());
    let failures = report.failures();
    assert_eq!(failures.len(), 1, "{report}");
    assert!(failures[0].name.starts_with("stream deltas concatenate"), "{report}");
    assert!(failures[0].message.contains("ended early"), "{report}");
    let panic = std::panic::catch_unwind(|| report.assert_passes()).expect_err("assert_passes panics");
    let text = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(text.contains("1 of 16 conformance checks failed"), "{text}");
}
