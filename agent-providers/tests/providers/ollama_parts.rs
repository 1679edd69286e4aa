//! Ollama content parts, thinking and HTTP options against a loopback server
//! speaking `/api/chat`, asserting on what was sent: images as base64 in the
//! message, an image by URL (or to a text-only model) refused before
//! sending, `think` from the reasoning controls and `thinking` round-tripped,
//! failed tool results, foreign reasoning left out, and `HttpOptions`.

use crate::native_support::*;
use agent_core::LlmProvider;
use agent_core::provider::{
    CompletionRequest, ContentPart, Message, ModelCapabilities, ProviderErrorKind, Reasoning, ReasoningControl,
    ReasoningEffort, ReasoningRequest, Role, StreamEvent, ToolCall,
};
use agent_providers::{HttpOptions, OllamaProvider};
use serde_json::{Value, json};
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn provider(model: &str, server: &MockServer) -> OllamaProvider {
    OllamaProvider::new(model).with_base_url(server.uri()).with_timeout(Duration::from_secs(10))
}

fn chat_body(model: &str, message: Value) -> Value {
    json!({
        "model": model,
        "created_at": "2025-08-05T09:12:44.123456Z",
        "message": message,
        "done_reason": "stop",
        "done": true,
        "total_duration": 3_120_448_042_u64,
        "load_duration": 1_270_375,
        "prompt_eval_count": 41,
        "prompt_eval_duration": 142_546_000,
        "eval_count": 96,
        "eval_duration": 2_935_599_000_u64
    })
}

async fn server_answering(model: &str, message: Value) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat"))
        .respond_with(ResponseTemplate::new(200).set_body_json(chat_body(model, message)))
        .mount(&server)
        .await;
    server
}

async fn bodies(server: &MockServer) -> Vec<Value> {
    server.received_requests().await.unwrap().iter().map(|r| serde_json::from_slice(&r.body).unwrap()).collect()
}

fn ask(text: &str) -> CompletionRequest {
    CompletionRequest::new(vec![Message::user(text)])
}

fn with_image(image: ContentPart) -> CompletionRequest {
    CompletionRequest::new(vec![Message::with_parts(Role::User, vec![ContentPart::text("What is this?"), image])])
}

#[tokio::test]
async fn images_go_in_the_messages_images_as_base64() {
    let server = server_answering("gemma3:4b", json!({"role": "assistant", "content": "A cat."})).await;
    let question = Message::with_parts(
        Role::User,
        vec![
            ContentPart::text("Compare "),
            ContentPart::image_bytes("image/png", &[0x89, b'P', b'N', b'G', 0x0d, 0x0a]),
            ContentPart::text("and this."),
            ContentPart::image_url("image/gif", "data:image/gif;base64,R0lGODlhAQABAAAAACw="),
            ContentPart::CacheBreakpoint,
        ],
    );
    let out = provider("gemma3:4b", &server).complete(CompletionRequest::new(vec![question])).await.unwrap();
    assert_eq!(out.content, "A cat.");
    assert_eq!(
        bodies(&server).await[0]["messages"],
        json!([{"role": "user", "content": "Compare and this.", "images": ["iVBORw0K", "R0lGODlhAQABAAAAACw="]}])
    );
}

#[tokio::test]
async fn an_image_by_url_is_unsupported_before_any_request() {
    let server = server_answering("gemma3", json!({"role": "assistant", "content": "?"})).await;
    let provider = provider("gemma3", &server);
    let image = || with_image(ContentPart::image_url("image/jpeg", "https://example.com/cat.jpg"));
    let err = provider.complete(image()).await.expect_err("Ollama fetches no URL");
    assert_eq!(err.kind, ProviderErrorKind::Unsupported { what: "image_url".into() });
    assert_eq!(err.provider.as_str(), "ollama:gemma3");
    let err = provider.stream(image()).await.err().expect("refused");
    assert_eq!(err.kind, ProviderErrorKind::Unsupported { what: "image_url".into() });
    assert!(server.received_requests().await.unwrap().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn an_image_to_a_text_only_model_is_unsupported_before_any_request() {
    let server = server_answering("qwen2.5:7b", json!({"role": "assistant", "content": "?"})).await;
    let image = || with_image(ContentPart::image_bytes("image/png", b"png"));
    let err = provider("qwen2.5:7b", &server).complete(image()).await.expect_err("qwen2.5 reads no image");
    assert_eq!(err.kind, ProviderErrorKind::Unsupported { what: "image".into() });
    let caps = ModelCapabilities::new(8_192, 2_048);
    let err = provider("my-model", &server).with_capabilities(caps).stream(image()).await.err().expect("refused");
    assert_eq!(err.kind, ProviderErrorKind::Unsupported { what: "image".into() });
    assert!(server.received_requests().await.unwrap().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn reasoning_becomes_think_as_a_switch_or_a_level_per_model() {
    let server = server_answering("m", json!({"role": "assistant", "content": "ok"})).await;
    let cases: Vec<(&str, Option<ReasoningRequest>, Option<Value>)> = vec![
        ("qwen3:8b", Some(ReasoningRequest::effort(ReasoningEffort::High)), Some(json!(true))),
        ("deepseek-r1:14b", Some(ReasoningRequest::budget(8_000)), Some(json!(true))),
        ("qwen3:8b", Some(ReasoningRequest::budget(0)), Some(json!(false))),
        // gpt-oss takes levels only.
        ("gpt-oss:20b", Some(ReasoningRequest::effort(ReasoningEffort::High)), Some(json!("high"))),
        ("gpt-oss:20b", Some(ReasoningRequest::effort(ReasoningEffort::Minimal)), Some(json!("low"))),
        ("gpt-oss:120b", Some(ReasoningRequest::budget(8_000)), Some(json!("medium"))),
        // A model known not to think gets no `think` (Ollama would refuse it).
        ("qwen2.5-coder:7b", Some(ReasoningRequest::effort(ReasoningEffort::High)), None),
        // A model the table does not know is asked to think.
        ("my-reasoner", Some(ReasoningRequest::effort(ReasoningEffort::Low)), Some(json!(true))),
        // No reasoning controls: the model's default.
        ("qwen3:8b", None, None),
    ];
    for (model, reasoning, _) in &cases {
        let mut req = ask("think");
        req.reasoning = *reasoning;
        provider(model, &server).complete(req).await.unwrap();
    }
    for ((model, _, expected), body) in cases.iter().zip(bodies(&server).await) {
        assert_eq!(body.get("think"), expected.as_ref(), "{model}: {body}");
        assert_eq!(body["model"], *model);
    }
}

#[tokio::test]
async fn thinking_comes_back_as_reasoning_and_goes_back_as_the_assistants_thinking() {
    let server = server_answering(
        "qwen3:8b",
        json!({"role": "assistant", "content": "17 is prime.", "thinking": "Check divisors up to 4: none divide 17."}),
    )
    .await;
    let provider = provider("qwen3:8b", &server);
    let reasoning = ReasoningRequest::effort(ReasoningEffort::Medium);
    let first = provider.complete(ask("Is 17 prime?").with_reasoning(reasoning)).await.unwrap();
    assert_eq!(first.content, "17 is prime.");
    assert_eq!(first.reasoning, vec![Reasoning::new("ollama", "Check divisors up to 4: none divide 17.")]);

    let history = vec![Message::user("Is 17 prime?"), Message::from_completion(&first), Message::user("And 19?")];
    provider.complete(CompletionRequest::new(history).with_reasoning(reasoning)).await.unwrap();
    let sent = bodies(&server).await;
    assert_eq!(
        sent[1]["messages"],
        json!([
            {"role": "user", "content": "Is 17 prime?"},
            {"role": "assistant", "content": "17 is prime.", "thinking": "Check divisors up to 4: none divide 17."},
            {"role": "user", "content": "And 19?"}
        ])
    );
    assert_eq!(sent[1]["think"], true);
}

#[tokio::test]
async fn streamed_thinking_comes_as_reasoning_deltas_before_the_answer() {
    let line = |message: Value, done: bool| {
        let mut line =
            json!({"model": "qwen3:8b", "created_at": "2025-08-05T09:12:44Z", "message": message, "done": done});
        if done {
            line["done_reason"] = json!("stop");
            line["prompt_eval_count"] = json!(12);
            line["eval_count"] = json!(30);
        }
        format!("{line}\n")
    };
    let body = [
        line(json!({"role": "assistant", "content": "", "thinking": "Divisors "}), false),
        line(json!({"role": "assistant", "content": "", "thinking": "of 19: none."}), false),
        line(json!({"role": "assistant", "content": "Prime."}), false),
        line(json!({"role": "assistant", "content": ""}), true),
    ]
    .concat();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat"))
        .respond_with(
            ResponseTemplate::new(200).insert_header("content-type", "application/x-ndjson").set_body_string(body),
        )
        .mount(&server)
        .await;
    let req = ask("Is 19 prime?").with_reasoning(ReasoningRequest::effort(ReasoningEffort::Low));
    let got = collect(provider("qwen3:8b", &server).stream(req).await.unwrap()).await;
    assert!(got.error.is_none(), "{:?}", got.error);
    let events: Vec<StreamEvent> =
        got.events.iter().filter(|e| !matches!(e, StreamEvent::Done { .. })).cloned().collect();
    assert_eq!(
        events,
        vec![
            StreamEvent::ReasoningDelta { text: "Divisors ".into() },
            StreamEvent::ReasoningDelta { text: "of 19: none.".into() },
            StreamEvent::Delta { text: "Prime.".into() },
        ]
    );
    let done = got.done().unwrap();
    assert_eq!(done.reasoning, vec![Reasoning::new("ollama", "Divisors of 19: none.")]);
    assert_eq!(done.content, "Prime.");
    assert_eq!(bodies(&server).await[0]["think"], true);
}

#[tokio::test]
async fn a_failed_tool_result_is_sent_as_its_text_and_foreign_reasoning_is_left_out() {
    let server = server_answering("qwen3", json!({"role": "assistant", "content": "ok"})).await;
    let mut asked = Message::with_parts(
        Role::Assistant,
        vec![
            ContentPart::Reasoning(Reasoning::new("anthropic", "Claude's thinking").with_signature(Some("sig".into()))),
            ContentPart::Reasoning(Reasoning::new("gemini", "").with_signature(Some("gsig".into()))),
            ContentPart::text("Reading it."),
        ],
    );
    asked.tool_calls = vec![ToolCall::new("c1", "read_file", r#"{"path":"b.rs"}"#)];
    let req = CompletionRequest::new(vec![
        Message::user("Read b.rs"),
        asked,
        Message::tool_error("c1", "error: no such file: b.rs"),
    ]);
    provider("qwen3", &server).complete(req).await.unwrap();
    assert_eq!(
        bodies(&server).await[0]["messages"],
        json!([
            {"role": "user", "content": "Read b.rs"},
            {"role": "assistant", "content": "Reading it.",
             "tool_calls": [{"function": {"name": "read_file", "arguments": {"path": "b.rs"}}}]},
            {"role": "tool", "content": "error: no such file: b.rs", "tool_name": "read_file"}
        ]),
        "no thinking from other wires; the failure is its text (Ollama has no error flag)"
    );
}

#[tokio::test]
async fn http_options_send_through_the_injected_client_with_headers_and_body_fields() {
    let server = server_answering("qwen3", json!({"role": "assistant", "content": "ok"})).await;
    let client = reqwest::Client::builder().user_agent("agentkit-injected/1").build().unwrap();
    let http = HttpOptions::new()
        .with_client(client)
        .with_header("x-team", "agents")
        .unwrap()
        .with_extra_body("keep_alive", json!("10m"))
        .with_extra_body("options", json!({"num_ctx": 4096}));
    let provider = provider("qwen3", &server).with_http_options(http).with_api_key(Some("ollama-key".into()));
    let req = ask("hi").with_extra_header("x-trace", "t-1").with_extra_body("keep_alive", json!(-1));
    provider.stream(req.clone()).await.map(drop).ok();
    provider.complete(req).await.unwrap();

    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 2, "streamed and whole");
    for request in &received {
        assert_eq!(header(request, "user-agent"), Some("agentkit-injected/1"), "the injected client sent it");
        assert_eq!(header(request, "x-team"), Some("agents"));
        assert_eq!(header(request, "x-trace"), Some("t-1"));
        assert_eq!(header(request, "authorization"), Some("Bearer ollama-key"));
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(body["keep_alive"], -1, "the request's field wins over the provider's");
        assert_eq!(body["options"], json!({"num_ctx": 4096}), "an extra field replaces the provider's own");
    }

    let err = provider.complete(ask("hi").with_extra_header("bad header", "x")).await.expect_err("refused");
    assert_eq!(err.kind, ProviderErrorKind::InvalidRequest);
    assert_eq!(server.received_requests().await.unwrap().len(), 2, "the bad header was never sent");
}

#[test]
fn the_provider_reports_its_capabilities_and_endpoint() {
    let ollama: &dyn LlmProvider = &OllamaProvider::new("gpt-oss:20b").with_base_url("http://gpu-box:11434/");
    assert_eq!(ollama.capabilities().map(|c| c.reasoning), Some(ReasoningControl::Effort));
    assert_eq!(ollama.endpoint().as_deref(), Some("http://gpu-box:11434"));
    let vision = OllamaProvider::new("qwen2.5vl:7b");
    assert_eq!(LlmProvider::capabilities(&vision).map(|c| c.image_input), Some(true));
    assert_eq!(LlmProvider::capabilities(&OllamaProvider::new("my-model")), None);
}
