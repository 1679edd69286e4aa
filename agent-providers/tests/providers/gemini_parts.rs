//! Gemini content parts, reasoning and HTTP options against a loopback server
//! speaking Gemini's wire format, asserting on what was sent: a Gemini 3 tool
//! loop over three turns whose thought parts and signatures go back
//! unchanged (the server refuses a history missing one, as Gemini 3 does),
//! `thinkingConfig` from the reasoning controls, images, failed tool
//! results, no empty parts, foreign reasoning left out, images refused
//! before sending to a model that reads none, and `HttpOptions`.

use crate::native_support::*;
use agent_core::LlmProvider;
use agent_core::provider::{
    Completion, CompletionRequest, ContentPart, Message, ModelCapabilities, ProviderError, ProviderErrorKind,
    Reasoning, ReasoningControl, ReasoningEffort, ReasoningRequest, Role, StreamEvent, ToolCall, ToolSpec,
};
use agent_providers::{GeminiProvider, HttpOptions};
use serde_json::{Value, json};
use std::time::Duration;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const GEMINI_3: &str = "gemini-3-pro-preview";

// Opaque signatures as Gemini sends them, distinct per part.
const SIG_THOUGHT_1: &str = "CqMCAdHtim9vX2Rk4cL0p7m1qVwZ8x3sYt6bN0aE5fG2hJ9kL4mP1oQ7rS8tU3vW6xY==";
const SIG_PARIS: &str = "CiQBjz1rX2Zk3m8Yq0c6y0pV+Zr1nQm5c0bP1u2xk0A9mZ0sCmUBjz1rX1h7c1Q0w9e1Yk7b2Q==";
const SIG_TEXT_2: &str = "EpQBCpEBAdHtim8aB3cD4eF5gH6iJ7kL8mN9oP0qR1sT2uV3wX4yZ5aB6cD7eF8g==";
const SIG_LOGS: &str = "EqkCCqYCAdHtim8Jx4oQzW3bq6kq2mJ8pT5vZ0rXc3s9k1L7w2u0Y6f4N8a1D5e9R3t7U2i6O0p4A==";
const SIG_TEXT_3: &str = "Ev0BCvoBAdHtim9zQ1w2E3r4T5y6U7i8O9p0A1s2D3f4G5h6J7k8L9z0X1c2V3b4N==";

fn provider(model: &str, server: &MockServer) -> GeminiProvider {
    GeminiProvider::new(model)
        .with_base_url(format!("{}/v1beta", server.uri()))
        .with_api_key(Some("AIza-test".to_owned()))
        .with_timeout(Duration::from_secs(10))
}

fn response(parts: Value) -> Value {
    json!({
        "candidates": [{"content": {"parts": parts, "role": "model"}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 310, "candidatesTokenCount": 22, "thoughtsTokenCount": 96, "totalTokenCount": 428},
        "modelVersion": GEMINI_3,
        "responseId": "yK3saO7xLbSd1MkPp9_MwQk"
    })
}

fn thought(text: &str, signature: Option<&str>) -> Value {
    let mut part = json!({"text": text, "thought": true});
    if let Some(signature) = signature {
        part["thoughtSignature"] = json!(signature);
    }
    part
}

fn text(text: &str, signature: Option<&str>) -> Value {
    let mut part = json!({"text": text});
    if let Some(signature) = signature {
        part["thoughtSignature"] = json!(signature);
    }
    part
}

fn call(name: &str, args: Value, signature: Option<&str>) -> Value {
    let mut part = json!({"functionCall": {"name": name, "args": args}});
    if let Some(signature) = signature {
        part["thoughtSignature"] = json!(signature);
    }
    part
}

/// The parts of the model's three answers, as Gemini 3 orders them: thought
/// summaries, text, then function calls. Two parallel calls (only the first
/// signed), a signed text and a signed call, then the signed final text.
fn turn_parts() -> Vec<Value> {
    vec![
        json!([
            thought("I should look up both cities in parallel.", Some(SIG_THOUGHT_1)),
            call("get_weather", json!({"location": "Paris"}), Some(SIG_PARIS)),
            call("get_weather", json!({"location": "Rome"}), None),
        ]),
        json!([
            thought("Paris is known; Rome failed. The logs next.", None),
            text("Rome's lookup failed; checking the logs.", Some(SIG_TEXT_2)),
            call("read_logs", json!({"since": "1h"}), Some(SIG_LOGS)),
        ]),
        json!([
            thought("Everything is known now.", None),
            text("Sunny in Paris, Rome unknown; the logs are clean.", Some(SIG_TEXT_3)),
        ]),
    ]
}

/// Gemini's 400 for a history that lost a signature: its own message for a
/// function call's signature; for a thought or text signature (which Gemini
/// itself does not check) a message saying this server is stricter.
fn missing_signature_error(part: &Value, turn: usize) -> ResponseTemplate {
    let message = match part["functionCall"]["name"].as_str() {
        Some(name) => format!(
            "Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call `default_api:{name}` , position {}. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.",
            2 * turn + 2
        ),
        None => format!(
            "(test server, stricter than Gemini) the thought_signature of part {part} of model turn {turn} was not sent back."
        ),
    };
    ResponseTemplate::new(400)
        .insert_header("content-type", "application/json; charset=UTF-8")
        .set_body_json(json!({"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}}))
}

/// A stateless Gemini 3: answers a request with the turn after the model
/// turns of its history, after checking that every part it signed in those
/// turns came back, byte for byte, in the model turn it was given in. A lost
/// function-call signature gets Gemini 3's own 400; a lost thought or text
/// signature a 400 too (stricter than Gemini, so that dropping any signature
/// fails the test).
struct SigningGemini {
    streamed: bool,
}

impl SigningGemini {
    fn refusal(body: &Value) -> Option<ResponseTemplate> {
        let model_turns: Vec<&Value> = body["contents"].as_array()?.iter().filter(|c| c["role"] == "model").collect();
        let turns = turn_parts();
        for (k, sent) in model_turns.iter().enumerate() {
            let given = turns.get(k)?.as_array()?;
            let sent_parts = sent["parts"].as_array()?;
            for signed in given.iter().filter(|p| p.get("thoughtSignature").is_some()) {
                if !sent_parts.contains(signed) {
                    return Some(missing_signature_error(signed, k));
                }
            }
        }
        None
    }

    /// The turn as SSE frames: a thought in two fragments (the signature on
    /// the second), a signed text as its text then an empty signed part, one
    /// frame per call, the finish reason and usage on the last frame.
    fn frames(parts: &[Value]) -> String {
        let mut pieces: Vec<Value> = Vec::new();
        for part in parts {
            let signature = part.get("thoughtSignature").cloned();
            if part["thought"] == true {
                let whole = part["text"].as_str().unwrap();
                let (head, tail) = whole.split_at(whole.len() / 2);
                pieces.push(json!({"text": head, "thought": true}));
                let mut last = json!({"text": tail, "thought": true});
                if let Some(signature) = signature {
                    last["thoughtSignature"] = signature;
                }
                pieces.push(last);
            } else if part.get("text").is_some() {
                pieces.push(json!({"text": part["text"]}));
                if let Some(signature) = signature {
                    pieces.push(json!({"text": "", "thoughtSignature": signature}));
                }
            } else {
                pieces.push(part.clone());
            }
        }
        let full = response(Value::Array(parts.to_vec()));
        let mut out = String::new();
        for (i, piece) in pieces.iter().enumerate() {
            let mut frame = json!({
                "candidates": [{"content": {"parts": [piece], "role": "model"}, "index": 0}],
                "modelVersion": GEMINI_3,
                "responseId": "yK3saO7xLbSd1MkPp9_MwQk"
            });
            if i + 1 == pieces.len() {
                frame["candidates"][0]["finishReason"] = json!("STOP");
                frame["usageMetadata"] = full["usageMetadata"].clone();
            }
            out.push_str(&format!("data: {frame}\r\n\r\n"));
        }
        out
    }
}

impl Respond for SigningGemini {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return ResponseTemplate::new(400).set_body_string("not JSON");
        };
        if let Some(refusal) = Self::refusal(&body) {
            return refusal;
        }
        let answered = body["contents"].as_array().map_or(0, |c| c.iter().filter(|c| c["role"] == "model").count());
        let turns = turn_parts();
        let parts = turns[answered.min(turns.len() - 1)].as_array().unwrap().clone();
        if self.streamed {
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/event-stream")
                .set_body_string(Self::frames(&parts))
        } else {
            ResponseTemplate::new(200).set_body_json(response(Value::Array(parts)))
        }
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

async fn answer(
    provider: &GeminiProvider,
    req: CompletionRequest,
    streamed: bool,
) -> Result<Completion, ProviderError> {
    if !streamed {
        return provider.complete(req).await;
    }
    let got = collect(provider.stream(req).await?).await;
    if let Some(error) = got.error {
        return Err(error);
    }
    let reasoning: String = got
        .events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::ReasoningDelta { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    let done = got.done().unwrap().clone();
    let thoughts: String = done.reasoning.iter().map(|r| r.text.as_str()).collect();
    assert_eq!(reasoning, thoughts, "the streamed reasoning deltas are the thoughts of Done");
    Ok(done)
}

/// Runs the tool loop as an agent does: each answer recorded with
/// `Message::from_completion`, then a result for each call (the Rome lookup
/// fails). Returns the completions and the request bodies the server got.
async fn gemini_3_tool_loop(streamed: bool) -> (Vec<Completion>, Vec<Value>) {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(SigningGemini { streamed }).mount(&server).await;
    let provider = provider(GEMINI_3, &server);
    let mut messages = vec![Message::user("Weather in Paris and Rome, then check the logs.")];
    let mut completions = Vec::new();
    for _ in 0..3 {
        let req = CompletionRequest::new(messages.clone())
            .with_tools(tools())
            .with_reasoning(ReasoningRequest::effort(ReasoningEffort::High));
        let completion = answer(&provider, req, streamed).await.expect("every turn is accepted");
        messages.push(Message::from_completion(&completion));
        for call in &completion.tool_calls {
            messages.push(match call.parsed_arguments().unwrap()["location"].as_str() {
                Some("Rome") => Message::tool_error(call.id.clone(), "weather service timed out"),
                Some(_) => Message::tool_result(call.id.clone(), r#"{"temp_c":18,"sky":"sunny"}"#),
                None => Message::tool_result(call.id.clone(), "no errors in the last hour"),
            });
        }
        let finished = completion.tool_calls.is_empty();
        completions.push(completion);
        if finished {
            break;
        }
    }
    let bodies: Vec<Value> =
        server.received_requests().await.unwrap().iter().map(|r| serde_json::from_slice(&r.body).unwrap()).collect();
    (completions, bodies)
}

fn assert_loop_round_trips(completions: &[Completion], bodies: &[Value]) {
    assert_eq!(bodies.len(), 3, "three turns were requested");
    assert_eq!(completions.len(), 3);

    // What was parsed: thoughts and text signatures as reasoning, call signatures on the calls.
    assert_eq!(
        completions[0].reasoning,
        vec![
            Reasoning::new("gemini", "I should look up both cities in parallel.")
                .with_signature(Some(SIG_THOUGHT_1.into()))
        ]
    );
    assert_eq!(completions[0].content, "", "a thought is not answer text");
    assert_eq!(completions[0].tool_calls[0].signature.as_deref(), Some(SIG_PARIS));
    assert_eq!(completions[0].tool_calls[1].signature, None);
    assert_eq!(
        completions[1].reasoning,
        vec![
            Reasoning::new("gemini", "Paris is known; Rome failed. The logs next."),
            Reasoning::new("gemini", "").with_signature(Some(SIG_TEXT_2.into())),
        ],
        "a text part's signature is kept as a reasoning block with no text"
    );
    assert_eq!(completions[1].content, "Rome's lookup failed; checking the logs.");
    assert_eq!(completions[2].content, "Sunny in Paris, Rome unknown; the logs are clean.");

    // What was sent: every request asks for thoughts at Gemini 3's level.
    for body in bodies {
        assert_eq!(
            body["generationConfig"]["thinkingConfig"],
            json!({"thinkingLevel": "high", "includeThoughts": true})
        );
    }
    let turns = turn_parts();
    let question = json!({"role": "user", "parts": [{"text": "Weather in Paris and Rome, then check the logs."}]});
    let results_1 = json!({"role": "user", "parts": [
        {"functionResponse": {"name": "get_weather", "response": {"temp_c": 18, "sky": "sunny"}}},
        {"functionResponse": {"name": "get_weather", "response": {"error": "weather service timed out"}}}
    ]});
    let results_2 = json!({"role": "user", "parts": [
        {"functionResponse": {"name": "read_logs", "response": {"result": "no errors in the last hour"}}}
    ]});
    let model = |k: usize| json!({"role": "model", "parts": turns[k]});
    assert_eq!(bodies[0]["contents"], json!([question]));
    assert_eq!(
        bodies[1]["contents"],
        json!([question, model(0), results_1]),
        "turn 2 sends turn 1's thought and call signatures unchanged, in their parts"
    );
    assert_eq!(
        bodies[2]["contents"],
        json!([question, model(0), results_1, model(1), results_2]),
        "turn 3 sends every earlier thought, text and call signature unchanged, in their parts"
    );
}

#[tokio::test]
async fn a_gemini_3_tool_loop_sends_every_thought_and_signature_back_unchanged_over_three_turns() {
    let (completions, bodies) = gemini_3_tool_loop(false).await;
    assert_loop_round_trips(&completions, &bodies);
}

#[tokio::test]
async fn a_streamed_gemini_3_tool_loop_sends_every_thought_and_signature_back_unchanged_over_three_turns() {
    let (completions, bodies) = gemini_3_tool_loop(true).await;
    assert_loop_round_trips(&completions, &bodies);
}

#[tokio::test]
async fn the_signing_server_refuses_a_history_that_lost_a_call_signature() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(SigningGemini { streamed: false }).mount(&server).await;
    let provider = provider(GEMINI_3, &server);
    let first = provider.complete(CompletionRequest::new(vec![Message::user("Weather?")])).await.unwrap();
    let mut recorded = Message::from_completion(&first);
    recorded.tool_calls[0].signature = None;
    let results = first.tool_calls.iter().map(|c| Message::tool_result(c.id.clone(), "{}"));
    let history: Vec<Message> = [Message::user("Weather?"), recorded].into_iter().chain(results).collect::<Vec<_>>();
    let err = provider.complete(CompletionRequest::new(history)).await.expect_err("Gemini 3 refuses the turn");
    assert_eq!(err.kind, ProviderErrorKind::InvalidRequest);
    assert_eq!(err.status, Some(400));
    assert!(err.message.contains("Function call is missing a thought_signature"), "{}", err.message);
    assert!(err.message.contains("default_api:get_weather"), "{}", err.message);
}

/// A server answering every request with a short text; the bodies are read back.
async fn text_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(response(json!([{"text": "ok"}]))))
        .mount(&server)
        .await;
    server
}

async fn sent_body(provider: &GeminiProvider, server: &MockServer, req: CompletionRequest) -> Value {
    provider.complete(req).await.unwrap();
    let received = server.received_requests().await.unwrap();
    serde_json::from_slice(&received.last().unwrap().body).unwrap()
}

fn ask(text: &str) -> CompletionRequest {
    CompletionRequest::new(vec![Message::user(text)])
}

#[tokio::test]
async fn reasoning_sends_a_thinking_budget_to_gemini_2_5_and_a_thinking_level_to_gemini_3() {
    let server = text_server().await;
    let cases: Vec<(&str, ReasoningRequest, Option<Value>)> = vec![
        (
            "gemini-2.5-flash",
            ReasoningRequest::budget(3_000),
            Some(json!({"thinkingBudget": 3000, "includeThoughts": true})),
        ),
        (
            "gemini-2.5-pro",
            ReasoningRequest::effort(ReasoningEffort::Low),
            Some(json!({"thinkingBudget": 2048, "includeThoughts": true})),
        ),
        ("gemini-2.5-flash", ReasoningRequest::budget(0), Some(json!({"thinkingBudget": 0, "includeThoughts": false}))),
        (
            "gemini-3-pro-preview",
            ReasoningRequest::effort(ReasoningEffort::Minimal),
            Some(json!({"thinkingLevel": "low", "includeThoughts": true})),
        ),
        (
            "models/gemini-3-flash-preview",
            ReasoningRequest::budget(20_000),
            Some(json!({"thinkingLevel": "high", "includeThoughts": true})),
        ),
        // A model the table does not know takes a budget (so does Gemini 3).
        (
            "gemini-exp-1206",
            ReasoningRequest::budget(1_024),
            Some(json!({"thinkingBudget": 1024, "includeThoughts": true})),
        ),
        // Gemini 2.0 does not think: no thinking config, which it would refuse.
        ("gemini-2.0-flash", ReasoningRequest::effort(ReasoningEffort::High), None),
    ];
    for (model, reasoning, expected) in cases {
        let body = sent_body(&provider(model, &server), &server, ask("think").with_reasoning(reasoning)).await;
        assert_eq!(body["generationConfig"].get("thinkingConfig").cloned(), expected, "{model}: {body}");
    }
    let body = sent_body(&provider("gemini-2.5-flash", &server), &server, ask("no reasoning asked")).await;
    assert!(body.get("generationConfig").is_none(), "no reasoning, no thinking config: {body}");
}

#[tokio::test]
async fn thought_parts_come_back_as_reasoning_and_stream_as_reasoning_deltas() {
    let parts = json!([thought("Consider the units.", Some("sig-th")), text("42 km.", None)]);
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(wiremock::matchers::path("/v1beta/models/gemini-2.5-flash:generateContent"))
        .respond_with(ResponseTemplate::new(200).set_body_json(response(parts.clone())))
        .mount(&server)
        .await;
    let frames: String = [
        json!({"candidates": [{"content": {"parts": [thought("Consider ", None)], "role": "model"}, "index": 0}]}),
        json!({"candidates": [{"content": {"parts": [thought("the units.", Some("sig-th"))], "role": "model"}, "index": 0}]}),
        json!({"candidates": [{"content": {"parts": [text("42 km.", None)], "role": "model"}, "finishReason": "STOP", "index": 0}]}),
    ]
    .iter()
    .map(|f| format!("data: {f}\r\n\r\n"))
    .collect();
    Mock::given(method("POST"))
        .and(wiremock::matchers::path("/v1beta/models/gemini-2.5-flash:streamGenerateContent"))
        .respond_with(
            ResponseTemplate::new(200).insert_header("content-type", "text/event-stream").set_body_string(frames),
        )
        .mount(&server)
        .await;
    let provider = provider("gemini-2.5-flash", &server);
    let expected = vec![Reasoning::new("gemini", "Consider the units.").with_signature(Some("sig-th".into()))];

    let whole = provider.complete(ask("how far?")).await.unwrap();
    assert_eq!(whole.content, "42 km.");
    assert_eq!(whole.reasoning, expected);

    let got = collect(provider.stream(ask("how far?")).await.unwrap()).await;
    assert!(got.error.is_none(), "{:?}", got.error);
    let kinds: Vec<StreamEvent> =
        got.events.iter().filter(|e| !matches!(e, StreamEvent::Done { .. })).cloned().collect();
    assert_eq!(
        kinds,
        vec![
            StreamEvent::ReasoningDelta { text: "Consider ".into() },
            StreamEvent::ReasoningDelta { text: "the units.".into() },
            StreamEvent::Delta { text: "42 km.".into() },
        ]
    );
    let done = got.done().unwrap();
    assert_eq!(done.reasoning, expected, "the fragments make one block, closed by its signature");
    assert_eq!(done.content, "42 km.");
}

#[tokio::test]
async fn images_are_sent_as_inline_data_for_bytes_and_file_data_for_urls() {
    let server = text_server().await;
    let png = [0x89, b'P', b'N', b'G', 0x0d, 0x0a];
    let question = Message::with_parts(
        Role::User,
        vec![
            ContentPart::text("Compare these."),
            ContentPart::image_bytes("image/png", &png),
            ContentPart::image_url("image/jpeg", "https://generativelanguage.googleapis.com/v1beta/files/abc-123"),
            ContentPart::image_url("image/gif", "data:image/gif;base64,R0lGODlhAQABAAAAACw="),
            ContentPart::image_url("image/svg+xml", "data:image/svg+xml,%3Csvg%2F%3E"),
        ],
    );
    let body = sent_body(&provider("gemini-2.5-flash", &server), &server, CompletionRequest::new(vec![question])).await;
    assert_eq!(
        body["contents"],
        json!([{"role": "user", "parts": [
            {"text": "Compare these."},
            {"inlineData": {"mimeType": "image/png", "data": "iVBORw0K"}},
            {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://generativelanguage.googleapis.com/v1beta/files/abc-123"}},
            {"inlineData": {"mimeType": "image/gif", "data": "R0lGODlhAQABAAAAACw="}},
            {"inlineData": {"mimeType": "image/svg+xml", "data": "PHN2Zy8+"}}
        ]}])
    );
}

#[tokio::test]
async fn a_failed_tool_result_is_sent_as_an_error_function_response() {
    let server = text_server().await;
    let calls = vec![
        ToolCall::new("c1", "read_file", r#"{"path":"a.rs"}"#),
        ToolCall::new("c2", "read_file", r#"{"path":"b.rs"}"#),
        ToolCall::new("c3", "run", "{}"),
    ];
    let req = CompletionRequest::new(vec![
        Message::user("Read both, then run."),
        Message::assistant_tool_calls("", calls),
        Message::tool_result("c1", "fn main() {}"),
        Message::tool_error("c2", "no such file: b.rs"),
        Message::tool_error("c3", r#"{"exit_code": 101, "stderr": "panicked"}"#),
    ]);
    let body = sent_body(&provider("gemini-2.5-flash", &server), &server, req).await;
    assert_eq!(
        body["contents"][2],
        json!({"role": "user", "parts": [
            {"functionResponse": {"name": "read_file", "response": {"result": "fn main() {}"}}},
            {"functionResponse": {"name": "read_file", "response": {"error": "no such file: b.rs"}}},
            {"functionResponse": {"name": "run", "response": {"error": {"exit_code": 101, "stderr": "panicked"}}}}
        ]})
    );
}

#[tokio::test]
async fn empty_text_parts_turns_and_system_instructions_are_never_sent() {
    let server = text_server().await;
    let req = CompletionRequest::new(vec![
        Message::system(""),
        Message::with_parts(
            Role::User,
            vec![ContentPart::text(""), ContentPart::text("Hello"), ContentPart::CacheBreakpoint],
        ),
        Message::assistant(""),
        Message::user(""),
        Message::with_parts(Role::Assistant, vec![ContentPart::text("")]),
        Message::assistant_tool_calls("", vec![ToolCall::new("c1", "ls", "{}")]),
        Message::tool_result("c1", ""),
        Message::user("Go on."),
    ]);
    let body = sent_body(&provider("gemini-2.5-flash", &server), &server, req).await;
    assert!(body.get("systemInstruction").is_none(), "an empty system instruction is left out: {body}");
    assert_eq!(
        body["contents"],
        json!([
            {"role": "user", "parts": [{"text": "Hello"}]},
            {"role": "model", "parts": [{"functionCall": {"name": "ls", "args": {}}}]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "ls", "response": {"result": ""}}},
                {"text": "Go on."}
            ]}
        ]),
        "no empty text part and no model turn with nothing in it"
    );
}

#[tokio::test]
async fn reasoning_from_another_wire_is_left_out_and_a_text_signature_goes_on_the_text() {
    let server = text_server().await;
    let req = CompletionRequest::new(vec![
        Message::user("Q1"),
        Message::with_parts(
            Role::Assistant,
            vec![
                ContentPart::Reasoning(
                    Reasoning::new("anthropic", "Claude's thinking").with_signature(Some("ant-sig".into())),
                ),
                ContentPart::Reasoning(Reasoning::new("openai-responses", "").with_encrypted(Some("gAAAA".into()))),
                ContentPart::Reasoning(Reasoning::new("gemini", "Gemini's thought")),
                ContentPart::text("A1"),
                // A text signature after the text still goes on it.
                ContentPart::Reasoning(Reasoning::new("gemini", "").with_signature(Some("text-sig".into()))),
            ],
        ),
        Message::user("Q2"),
        // A turn holding only another wire's reasoning is not sent at all.
        Message::with_parts(
            Role::Assistant,
            vec![ContentPart::Reasoning(Reasoning::new("anthropic", "only mine").with_signature(Some("s".into())))],
        ),
        Message::user("Q3"),
    ]);
    let body = sent_body(&provider("gemini-2.5-flash", &server), &server, req).await;
    assert_eq!(
        body["contents"],
        json!([
            {"role": "user", "parts": [{"text": "Q1"}]},
            {"role": "model", "parts": [
                {"text": "Gemini's thought", "thought": true},
                {"text": "A1", "thoughtSignature": "text-sig"}
            ]},
            {"role": "user", "parts": [{"text": "Q2"}, {"text": "Q3"}]}
        ])
    );
}

#[tokio::test]
async fn an_image_to_a_model_without_image_input_is_unsupported_before_any_request() {
    let server = text_server().await;
    let text_only = provider("my-text-model", &server).with_capabilities(ModelCapabilities::new(32_768, 8_192));
    let with_image = || {
        CompletionRequest::new(vec![Message::with_parts(
            Role::User,
            vec![ContentPart::text("What is this?"), ContentPart::image_bytes("image/png", b"png")],
        )])
    };
    let err = text_only.complete(with_image()).await.expect_err("refused");
    assert_eq!(err.kind, ProviderErrorKind::Unsupported { what: "image".into() });
    assert_eq!(err.provider.as_str(), "gemini:my-text-model");
    let err = text_only.stream(with_image()).await.err().expect("refused");
    assert_eq!(err.kind, ProviderErrorKind::Unsupported { what: "image".into() });
    assert!(server.received_requests().await.unwrap().is_empty(), "nothing was sent");

    // A model that reads images sends the same request.
    let body = sent_body(&provider("gemini-2.5-flash", &server), &server, with_image()).await;
    assert_eq!(body["contents"][0]["parts"][1]["inlineData"]["mimeType"], "image/png");
}

#[tokio::test]
async fn http_options_send_through_the_injected_client_with_headers_and_body_fields() {
    let server = text_server().await;
    let client = reqwest::Client::builder().user_agent("agentkit-injected/1").build().unwrap();
    let http = HttpOptions::new()
        .with_client(client)
        .with_header("x-team", "agents")
        .unwrap()
        .with_header("x-override", "provider")
        .unwrap()
        .with_extra_body("safetySettings", json!([{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]))
        .with_extra_body("cachedContent", json!("cachedContents/provider"));
    let provider = provider("gemini-2.5-flash", &server).with_http_options(http);
    let req = ask("hi")
        .with_extra_header("x-override", "request")
        .with_extra_body("cachedContent", json!("cachedContents/request"));
    provider.stream(req.clone()).await.map(drop).ok();
    provider.complete(req).await.unwrap();

    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 2, "streamed and whole");
    for request in &received {
        assert_eq!(header(request, "user-agent"), Some("agentkit-injected/1"), "the injected client sent it");
        assert_eq!(header(request, "x-team"), Some("agents"));
        assert_eq!(header(request, "x-override"), Some("request"), "the request's header wins");
        assert_eq!(header(request, "x-goog-api-key"), Some("AIza-test"));
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(body["safetySettings"][0]["threshold"], "BLOCK_NONE");
        assert_eq!(body["cachedContent"], "cachedContents/request", "the request's field wins");
        assert_eq!(body["contents"][0]["parts"][0]["text"], "hi");
    }
}

#[tokio::test]
async fn an_invalid_request_header_is_an_invalid_request_before_sending() {
    let server = text_server().await;
    let provider = provider("gemini-2.5-flash", &server);
    let err = provider.complete(ask("hi").with_extra_header("x-bad", "line\nbreak")).await.expect_err("refused");
    assert_eq!(err.kind, ProviderErrorKind::InvalidRequest);
    let err = provider.stream(ask("hi").with_extra_header("bad header", "x")).await.err().expect("refused");
    assert_eq!(err.kind, ProviderErrorKind::InvalidRequest);
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[test]
fn the_provider_reports_its_capabilities_and_endpoint() {
    let gemini_3: &dyn LlmProvider = &GeminiProvider::new(GEMINI_3).with_base_url("http://127.0.0.1:9/v1beta/");
    let caps = gemini_3.capabilities().expect("Gemini 3 is in the table");
    assert_eq!(caps.reasoning, ReasoningControl::Effort, "Gemini 3 takes a thinking level");
    assert!(caps.image_input);
    assert_eq!(gemini_3.endpoint().as_deref(), Some("http://127.0.0.1:9/v1beta"));
    let flash = GeminiProvider::new("models/gemini-2.5-flash");
    assert_eq!(LlmProvider::capabilities(&flash).map(|c| c.reasoning), Some(ReasoningControl::BudgetTokens));
    assert_eq!(flash.endpoint().as_deref(), Some("https://generativelanguage.googleapis.com/v1beta"));
    let unknown = GeminiProvider::new("gemini-exp-1206");
    assert_eq!(LlmProvider::capabilities(&unknown), None);
    let overridden = unknown.with_capabilities(ModelCapabilities::new(1_000, 100).with_image_input(true));
    assert_eq!(LlmProvider::capabilities(&overridden).map(|c| c.context_window), Some(1_000));
}
