//! The conformance suite run against `OpenAiProvider`, with a wiremock server
//! answering each scenario in the Chat Completions wire format.

use crate::common::*;
use crate::openai_stream::{chunk, event_stream, sse, usage_chunk};
use agent_core::async_trait;
use agent_core::provider::ProviderId;
use agent_providers::conformance::{
    CallMode, ConformanceHarness, ConformanceReport, ErrorClass, Scenario, Wired, run_conformance,
};
use serde_json::{Value, json};
use wiremock::{MockServer, ResponseTemplate};

/// The JSON bodies a wiremock server kept as a harness's guard received.
pub(crate) async fn bodies_of(wired: &Wired) -> Option<Vec<Value>> {
    let server = wired.guard.as_ref()?.downcast_ref::<MockServer>()?;
    let requests = server.received_requests().await?;
    Some(requests.iter().map(|r| serde_json::from_slice(&r.body).unwrap_or(Value::Null)).collect())
}

/// Asserts that every check passed except those named in `pending`, which
/// are only reported: request-mapping checks that the providers' own
/// changes (content parts, reasoning, `is_error`) make pass. Once those
/// land, `pending` is empty and this is `assert_passes`.
#[track_caller]
pub(crate) fn assert_passes_except(report: &ConformanceReport, pending: &[&str]) {
    for name in pending {
        assert!(report.check(name).is_some(), "no check named {name:?}:\n{report}");
    }
    let failed: Vec<String> = report
        .failures()
        .into_iter()
        .filter(|c| !pending.contains(&c.name.as_str()))
        .map(|c| format!("  - {}: {}", c.name, c.message))
        .collect();
    for c in report.checks.iter().filter(|c| pending.contains(&c.name.as_str())) {
        eprintln!("pending {}: {}: {}", if c.passed { "PASS" } else { "FAIL" }, c.name, c.message);
    }
    assert!(failed.is_empty(), "{} conformance checks failed:\n{}\n\n{report}", failed.len(), failed.join("\n"));
}

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
        ErrorClass::ServerError => {
            (500, error_body("The server had an error while processing your request.", "server_error", None))
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
            (Scenario::ErrorInStream { text }, _) => {
                let mut items = text_items(text)[..3].to_vec();
                items.push(
                    json!({"error": {"message": "The server is overloaded", "type": "server_error",
                        "param": null, "code": "server_is_overloaded"}})
                    .to_string(),
                );
                event_stream(sse(&items))
            }
            (other, _) => panic!("unknown scenario {other:?}"),
        };
        let server = server_with(response).await;
        Wired::new(provider_for(&server)).keeping(server)
    }

    async fn received(&self, wired: &Wired) -> Option<Vec<Value>> {
        bodies_of(wired).await
    }

    fn expected_id(&self) -> Option<ProviderId> {
        Some(ProviderId::new(format!("openai:{MODEL}")))
    }
}

/// Checks the OpenAI provider's content-part mapping (issue 16) has to make pass.
const OPENAI_PENDING: &[&str] = &[];

#[tokio::test]
async fn openai_provider_passes_the_conformance_suite() {
    let report = run_conformance(&OpenAiHarness).await;
    assert_eq!(report.checks.len(), 26, "{report}");
    assert_passes_except(&report, OPENAI_PENDING);
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

    async fn received(&self, wired: &Wired) -> Option<Vec<Value>> {
        bodies_of(wired).await
    }
}

#[tokio::test]
async fn the_conformance_report_names_the_check_a_broken_server_fails() {
    let report = run_conformance(&AlwaysTruncated).await;
    assert!(!report.passed());
    let failures: Vec<_> =
        report.failures().into_iter().filter(|c| !OPENAI_PENDING.contains(&c.name.as_str())).collect();
    // The text stream is cut: both checks that read it fail, and name why.
    assert_eq!(failures.len(), 2, "{report}");
    assert!(failures[0].name.starts_with("stream deltas concatenate"), "{report}");
    assert!(failures[0].message.contains("ended early"), "{report}");
    assert!(failures[1].name.starts_with("stream: the Done completion carries"), "{report}");
    let panic = std::panic::catch_unwind(|| report.assert_passes()).expect_err("assert_passes panics");
    let text = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(text.contains("conformance checks failed"), "{text}");
    assert!(text.contains("of 26"), "{text}");
}

/// A harness that cannot report what its server received, and panics on
/// the scenarios added after it was written: the suite goes on and says why.
struct Outdated;

#[async_trait]
impl ConformanceHarness for Outdated {
    async fn wire(&self, scenario: &Scenario, mode: CallMode) -> Wired {
        match scenario {
            Scenario::ErrorInStream { .. } | Scenario::Error(ErrorClass::ServerError) => {
                panic!("no body for {scenario:?}")
            }
            _ => OpenAiHarness.wire(scenario, mode).await,
        }
    }
}

#[tokio::test]
async fn a_harness_that_panics_or_reports_no_bodies_fails_those_checks_and_the_suite_goes_on() {
    let report = run_conformance(&Outdated).await;
    assert_eq!(report.checks.len(), 26, "{report}");
    let in_stream = report.check("an error event inside a stream ends it with a provider-side class").unwrap();
    assert!(!in_stream.passed && in_stream.message.contains("could not wire"), "{report}");
    let history = report.check("request: a multi-turn history with tool calls and results reaches the wire").unwrap();
    assert!(!history.passed && history.message.contains("ConformanceHarness::received"), "{report}");
    assert!(report.check("complete returns the text with non-zero usage").unwrap().passed, "{report}");
}

// ----- A reference provider that does everything the suite asks -----
//
// A small wire of its own (JSON in, JSON or NDJSON out) and a provider for it
// that maps every content part, marks failed tool results, keeps and sends
// back its own reasoning, and drops other wires' reasoning: the whole suite
// passes, so every check can be met, and a plugin author has an example.

mod reference {
    use super::bodies_of;
    use agent_core::LlmProvider;
    use agent_core::async_trait;
    use agent_core::provider::{
        Completion, CompletionRequest, CompletionStream, ContentPart, ImageSource, ProviderError, ProviderErrorKind,
        ProviderId, Reasoning, Role, StreamEvent, ToolCall, Usage,
    };
    use agent_providers::conformance::{CallMode, ConformanceHarness, ErrorClass, Scenario, Wired};
    use serde_json::{Value, json};
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const ORIGIN: &str = "reference";

    pub(super) struct ReferenceProvider {
        id: ProviderId,
        base: String,
        client: reqwest::Client,
    }

    fn part(p: &ContentPart) -> Option<Value> {
        Some(match p {
            ContentPart::Text { text } => json!({"type": "text", "text": text}),
            ContentPart::Image { media_type, source: ImageSource::Base64(data) } => {
                json!({"type": "image", "media_type": media_type, "data": data})
            }
            ContentPart::Image { media_type, source: ImageSource::Url(url) } => {
                json!({"type": "image", "media_type": media_type, "url": url})
            }
            ContentPart::Reasoning(r) if r.origin == ORIGIN => {
                json!({"type": "reasoning", "text": r.text, "signature": r.signature})
            }
            ContentPart::CacheBreakpoint => json!({"type": "cache_breakpoint"}),
            _ => return None,
        })
    }

    fn body(req: &CompletionRequest) -> Value {
        let messages: Vec<Value> = req
            .messages
            .iter()
            .map(|m| {
                let role = match m.role {
                    Role::System => "system",
                    Role::User => "user",
                    Role::Assistant => "assistant",
                    _ => "tool",
                };
                let mut out =
                    json!({"role": role, "parts": m.content_parts().iter().filter_map(part).collect::<Vec<_>>()});
                if !m.tool_calls.is_empty() {
                    out["tool_calls"] = m
                        .tool_calls
                        .iter()
                        .map(|c| json!({"id": c.id, "name": c.name, "arguments": c.arguments}))
                        .collect();
                }
                if let Some(id) = &m.tool_call_id {
                    out["tool_call_id"] = json!(id);
                }
                if m.is_error {
                    out["is_error"] = json!(true);
                }
                out
            })
            .collect();
        let tools: Vec<&str> = req.tools.iter().map(|t| t.name.as_str()).collect();
        json!({"messages": messages, "tools": tools})
    }

    impl ReferenceProvider {
        fn error(&self, kind: ProviderErrorKind, message: impl Into<String>) -> ProviderError {
            ProviderError::new(kind, self.id.clone(), message)
        }

        fn classify(&self, status: u16, text: &str) -> ProviderError {
            let kind = match status {
                429 if text.contains("quota") => ProviderErrorKind::QuotaExhausted { resets_at_unix_ms: None },
                429 => ProviderErrorKind::RateLimited { retry_after_ms: None },
                401 => ProviderErrorKind::Auth,
                400 if text.contains("context") => ProviderErrorKind::ContextTooLong,
                503 => ProviderErrorKind::Overloaded { retry_after_ms: None },
                500..=599 => ProviderErrorKind::ServerError { status },
                _ => ProviderErrorKind::InvalidRequest,
            };
            self.error(kind, format!("HTTP {status}")).with_status(status).with_raw_body(text)
        }

        async fn post(&self, path: &str, req: &CompletionRequest) -> Result<String, ProviderError> {
            let sent = self.client.post(format!("{}/{path}", self.base)).json(&body(req)).send().await;
            let response = sent.map_err(|e| self.error(ProviderErrorKind::Transport, e.to_string()))?;
            let status = response.status().as_u16();
            let text = response.text().await.map_err(|e| self.error(ProviderErrorKind::Transport, e.to_string()))?;
            if (200..300).contains(&status) { Ok(text) } else { Err(self.classify(status, &text)) }
        }

        fn completion(&self, v: &Value) -> Completion {
            let text = v["text"].as_str().unwrap_or_default();
            let usage = Usage::new(v["usage"]["in"].as_u64().unwrap_or(0), v["usage"]["out"].as_u64().unwrap_or(0));
            let mut c = Completion::new(self.id.clone(), text).with_usage(usage);
            c.reasoning = v["reasoning"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| {
                    let text = r["text"].as_str().unwrap_or_default();
                    Reasoning::new(ORIGIN, text).with_signature(r["signature"].as_str().map(str::to_owned))
                })
                .collect();
            c.tool_calls = v["tool_calls"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| {
                    ToolCall::new(
                        t["id"].as_str().unwrap_or("call_0"),
                        t["name"].as_str().unwrap_or(""),
                        t["arguments"].to_string(),
                    )
                })
                .collect();
            c
        }
    }

    #[async_trait]
    impl LlmProvider for ReferenceProvider {
        fn id(&self) -> &ProviderId {
            &self.id
        }

        async fn complete(&self, req: CompletionRequest) -> Result<Completion, ProviderError> {
            let text = self.post("complete", &req).await?;
            let v: Value =
                serde_json::from_str(&text).map_err(|e| self.error(ProviderErrorKind::Unparseable, e.to_string()))?;
            Ok(self.completion(&v))
        }

        async fn stream(&self, req: CompletionRequest) -> Result<CompletionStream, ProviderError> {
            let text = self.post("stream", &req).await?;
            let mut items = Vec::new();
            let (mut answer, mut thought, mut signature) = (String::new(), String::new(), None);
            let mut ended = false;
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let v: Value = serde_json::from_str(line).unwrap_or_default();
                if let Some(piece) = v["reasoning"].as_str() {
                    thought.push_str(piece);
                    items.push(Ok(StreamEvent::ReasoningDelta { text: piece.to_owned() }));
                } else if let Some(s) = v["signature"].as_str() {
                    signature = Some(s.to_owned());
                } else if let Some(piece) = v["text"].as_str() {
                    answer.push_str(piece);
                    items.push(Ok(StreamEvent::Delta { text: piece.to_owned() }));
                } else if v.get("tool_calls").is_some() {
                    let mut c = self.completion(&v);
                    c.content = answer.clone();
                    items.push(Ok(StreamEvent::Done { completion: c }));
                    ended = true;
                    break;
                } else if let Some(status) = v["error"]["status"].as_u64() {
                    items.push(Err(self.classify(u16::try_from(status).unwrap_or(500), line)));
                    ended = true;
                    break;
                } else if v["done"] == json!(true) {
                    let mut c = self.completion(&json!({"text": answer, "usage": v["usage"]}));
                    if !thought.is_empty() || signature.is_some() {
                        c.reasoning = vec![Reasoning::new(ORIGIN, thought.clone()).with_signature(signature.clone())];
                    }
                    items.push(Ok(StreamEvent::Done { completion: c }));
                    ended = true;
                    break;
                }
            }
            if !ended {
                items.push(Err(self.error(ProviderErrorKind::Transport, "the stream ended before done")));
            }
            Ok(Box::pin(futures::stream::iter(items)))
        }
    }

    fn lines(values: &[Value]) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_string(values.iter().map(|v| format!("{v}\n")).collect::<String>())
    }

    fn halves(text: &str) -> [String; 2] {
        let cut = text.char_indices().nth(text.chars().count() / 2).map_or(0, |(i, _)| i);
        [text[..cut].to_owned(), text[cut..].to_owned()]
    }

    pub(super) struct ReferenceHarness;

    #[async_trait]
    impl ConformanceHarness for ReferenceHarness {
        async fn wire(&self, scenario: &Scenario, mode: CallMode) -> Wired {
            let usage = json!({"in": 12, "out": 7});
            let response = match (scenario, mode) {
                (Scenario::Text { text }, CallMode::Complete) => ResponseTemplate::new(200).set_body_json(json!({"text": text, "usage": usage})),
                (Scenario::Text { text }, _) => {
                    let [a, b] = halves(text);
                    lines(&[json!({"text": a}), json!({"text": b}), json!({"done": true, "usage": usage})])
                }
                (Scenario::ToolCall { id, name, arguments }, CallMode::Complete) => ResponseTemplate::new(200)
                    .set_body_json(json!({"text": "", "usage": usage, "tool_calls": [{"id": id, "name": name, "arguments": arguments}]})),
                (Scenario::ToolCall { id, name, arguments }, _) => {
                    lines(&[json!({"usage": usage, "tool_calls": [{"id": id, "name": name, "arguments": arguments}]})])
                }
                (Scenario::Error(class), _) => {
                    let (status, text) = match class {
                        ErrorClass::RateLimited => (429, "slow down"),
                        ErrorClass::QuotaExhausted => (429, "quota spent"),
                        ErrorClass::Auth => (401, "who are you"),
                        ErrorClass::ContextTooLong => (400, "context too long"),
                        ErrorClass::Overloaded => (503, "busy"),
                        _ => (500, "broken"),
                    };
                    ResponseTemplate::new(status).set_body_json(json!({"message": text}))
                }
                (Scenario::TruncatedStream { text }, _) => lines(&[json!({"text": halves(text)[0]})]),
                (Scenario::ErrorInStream { text }, _) => lines(&[json!({"text": halves(text)[0]}), json!({"error": {"status": 503}})]),
                (Scenario::Reasoning { reasoning, signature, text }, CallMode::Complete) => ResponseTemplate::new(200)
                    .set_body_json(json!({"text": text, "usage": usage, "reasoning": [{"text": reasoning, "signature": signature}]})),
                (Scenario::Reasoning { reasoning, signature, text }, _) => {
                    let [r1, r2] = halves(reasoning);
                    lines(&[
                        json!({"reasoning": r1}),
                        json!({"reasoning": r2}),
                        json!({"signature": signature}),
                        json!({"text": text}),
                        json!({"done": true, "usage": usage}),
                    ])
                }
                (other, _) => panic!("unknown scenario {other:?}"),
            };
            let server = MockServer::start().await;
            Mock::given(method("POST")).respond_with(response).mount(&server).await;
            let provider = ReferenceProvider {
                id: ProviderId::new("reference:model-1"),
                base: server.uri(),
                client: reqwest::Client::new(),
            };
            Wired::new(provider).keeping(server)
        }

        async fn received(&self, wired: &Wired) -> Option<Vec<Value>> {
            bodies_of(wired).await
        }

        fn reasoning_origin(&self) -> Option<&str> {
            Some(ORIGIN)
        }
    }
}

#[tokio::test]
async fn a_provider_that_maps_every_part_passes_every_check_of_the_conformance_suite() {
    let report = run_conformance(&reference::ReferenceHarness).await;
    assert_eq!(report.checks.len(), 26, "{report}");
    report.assert_passes();
}
