//! Ollama's native `/api/chat` against a loopback server speaking its wire
//! format: whole answers, NDJSON streams (lines split across chunks), tool
//! calls with object arguments, and error classes.

use crate::native_support::*;
use agent_core::LlmProvider;
use agent_core::provider::{
    CompletionRequest, FinishReason, Message, ModelCapabilities, ProviderError, ProviderErrorKind, ToolCall, ToolSpec,
};
use agent_providers::{OllamaProvider, ProviderSpec, build_provider_with_env};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MODEL: &str = "qwen2.5:7b";

async fn server_with(response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST")).and(path("/api/chat")).respond_with(response).mount(&server).await;
    server
}

fn provider_for(server: &MockServer) -> OllamaProvider {
    OllamaProvider::new(MODEL).with_base_url(server.uri()).with_timeout(Duration::from_secs(10))
}

fn ask(text: &str) -> CompletionRequest {
    CompletionRequest::new(vec![Message::user(text)])
}

fn chat_body(message: Value) -> Value {
    json!({
        "model": MODEL,
        "created_at": "2025-06-01T12:00:00.123456Z",
        "message": message,
        "done_reason": "stop",
        "done": true,
        "total_duration": 4_883_583_458_u64,
        "load_duration": 1_334_875,
        "prompt_eval_count": 26,
        "prompt_eval_duration": 342_546_000,
        "eval_count": 282,
        "eval_duration": 4_535_599_000_u64
    })
}

/// NDJSON lines as `/api/chat` streams them.
fn ndjson(lines: &[Value]) -> ResponseTemplate {
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    ResponseTemplate::new(200).insert_header("content-type", "application/x-ndjson").set_body_string(body)
}

fn line(content: &str) -> Value {
    json!({"model": MODEL, "created_at": "2025-06-01T12:00:00Z", "message": {"role": "assistant", "content": content}, "done": false})
}

fn done_line() -> Value {
    json!({
        "model": MODEL, "created_at": "2025-06-01T12:00:01Z",
        "message": {"role": "assistant", "content": ""},
        "done_reason": "stop", "done": true,
        "total_duration": 4_883_583_458_u64, "prompt_eval_count": 26, "eval_count": 290
    })
}

fn weather_tool() -> ToolSpec {
    ToolSpec {
        name: "get_weather".to_owned(),
        description: "Current weather of a city".to_owned(),
        parameters: json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
    }
}

#[tokio::test]
async fn complete_returns_text_usage_and_model_without_a_cost() {
    let server = server_with(ok_body(chat_body(json!({"role": "assistant", "content": "Hi there."})))).await;
    let out = provider_for(&server).complete(ask("hi")).await.unwrap();
    assert_eq!(out.content, "Hi there.");
    assert_eq!(out.provider.as_str(), "ollama:qwen2.5:7b");
    assert_eq!(out.model.as_deref(), Some(MODEL));
    assert_eq!(out.finish_reason, Some(FinishReason::Stop));
    assert_eq!(out.usage.input_tokens, 26);
    assert_eq!(out.usage.output_tokens, 282);
    assert_eq!(out.cost_usd, None, "local models have no price");
}

fn ok_body(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

#[tokio::test]
async fn request_keeps_roles_sends_tools_object_arguments_format_and_options() {
    let server = server_with(ok_body(chat_body(json!({"role": "assistant", "content": "{}"})))).await;
    let call = ToolCall::new("call_9".to_owned(), "get_weather".to_owned(), r#"{"city":"Paris"}"#.to_owned());
    let schema = json!({"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]});
    let req = CompletionRequest::new(vec![
        Message::system("Be brief."),
        Message::user("Weather in Paris?"),
        Message::assistant_tool_calls("", vec![call]),
        Message::tool_result("call_9", "18°C"),
    ])
    .with_tools(vec![weather_tool()])
    .with_response_format("verdict", schema.clone())
    .with_max_tokens(64)
    .with_temperature(0.0);
    provider_for(&server).complete(req).await.unwrap();

    let request = only_request(&server).await;
    assert!(request.headers.get("authorization").is_none());
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["model"], MODEL);
    assert_eq!(body["stream"], false);
    assert_eq!(
        body["messages"],
        json!([
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
            {"role": "tool", "content": "18°C", "tool_name": "get_weather"}
        ])
    );
    assert_eq!(
        body["tools"],
        json!([{"type": "function", "function": {"name": "get_weather", "description": "Current weather of a city", "parameters": weather_tool().parameters}}])
    );
    assert_eq!(body["format"], schema);
    // qwen2.5 is in the capability table (32k window); a short prompt gets the 8k floor.
    assert_eq!(body["options"], json!({"num_ctx": 8192, "num_predict": 64, "temperature": 0.0}));
}

#[tokio::test]
async fn complete_returns_tool_calls_with_object_arguments_as_json_text() {
    let message = json!({"role": "assistant", "content": "", "tool_calls": [
        {"function": {"index": 0, "name": "get_weather", "arguments": {"city": "Paris", "unit": "c"}}}
    ]});
    let server = server_with(ok_body(chat_body(message))).await;
    let out = provider_for(&server).complete(ask("weather?").with_tools(vec![weather_tool()])).await.unwrap();
    assert_eq!(out.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(out.tool_calls.len(), 1);
    assert!(out.tool_calls[0].id.starts_with("call_"));
    assert_eq!(out.tool_calls[0].name, "get_weather");
    assert_eq!(out.tool_calls[0].parsed_arguments().unwrap(), json!({"city": "Paris", "unit": "c"}));
}

#[tokio::test]
async fn stream_yields_deltas_tool_calls_and_the_done_lines_usage() {
    let tool_line = json!({"model": MODEL, "created_at": "2025-06-01T12:00:00Z", "message": {"role": "assistant", "content": "", "tool_calls": [
        {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}
    ]}, "done": false});
    let server = server_with(ndjson(&[line("Hel"), line("lo"), tool_line, done_line()])).await;
    let got = collect(provider_for(&server).stream(ask("hi")).await.unwrap()).await;
    assert!(got.error.is_none(), "{:?}", got.error);
    assert_eq!(got.text(), "Hello");
    let deltas = got.tool_deltas();
    assert_eq!(deltas.len(), 1);
    assert_eq!(deltas[0].0, 0);
    assert_eq!(deltas[0].2.as_deref(), Some("get_weather"));
    assert_eq!(serde_json::from_str::<Value>(&deltas[0].3).unwrap(), json!({"city": "Paris"}));
    let done = got.done().unwrap();
    assert_eq!(done.content, "Hello");
    assert_eq!(done.tool_calls[0].id, deltas[0].1.clone().unwrap());
    assert_eq!(done.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(done.usage.input_tokens, 26);
    assert_eq!(done.usage.output_tokens, 290);
    let body: Value = serde_json::from_slice(&only_request(&server).await.body).unwrap();
    assert_eq!(body["stream"], true);
}

/// A one-shot HTTP server on loopback that answers with a chunked body written
/// piece by piece, so lines (and a multi-byte character) are split across chunks.
fn chunked_server(pieces: Vec<Vec<u8>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        let mut request = Vec::new();
        let mut buf = [0_u8; 4096];
        // Read the head, then the body by Content-Length.
        loop {
            let n = socket.read(&mut buf).unwrap();
            request.extend_from_slice(&buf[..n]);
            if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
                    .unwrap_or(0);
                while request.len() < end + 4 + length {
                    let n = socket.read(&mut buf).unwrap();
                    request.extend_from_slice(&buf[..n]);
                }
                break;
            }
        }
        socket
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/x-ndjson\r\ntransfer-encoding: chunked\r\n\r\n")
            .unwrap();
        for piece in pieces {
            socket.write_all(format!("{:x}\r\n", piece.len()).as_bytes()).unwrap();
            socket.write_all(&piece).unwrap();
            socket.write_all(b"\r\n").unwrap();
            socket.flush().unwrap();
            std::thread::sleep(Duration::from_millis(20));
        }
        socket.write_all(b"0\r\n\r\n").unwrap();
    });
    url
}

#[tokio::test]
async fn stream_lines_split_across_chunks_are_carried_over() {
    let body = format!("{}\n{}\n{}", line("Grüße"), line(", Welt"), done_line()).into_bytes();
    // Cut inside the first JSON line, inside the two-byte "ü", and just before a newline;
    // the last line has no trailing newline at all.
    let u_umlaut = body.windows(2).position(|w| w == "ü".as_bytes()).unwrap();
    let first_newline = body.iter().position(|b| *b == b'\n').unwrap();
    let cuts = [10, u_umlaut + 1, first_newline, first_newline + 1, first_newline + 30, body.len()];
    let mut pieces = Vec::new();
    let mut start = 0;
    for cut in cuts {
        pieces.push(body[start..cut].to_vec());
        start = cut;
    }
    let url = chunked_server(pieces);
    let provider = OllamaProvider::new(MODEL).with_base_url(url).with_timeout(Duration::from_secs(10));
    let got = collect(provider.stream(ask("hi")).await.unwrap()).await;
    assert!(got.error.is_none(), "{:?}", got.error);
    assert_eq!(got.text(), "Grüße, Welt");
    assert_eq!(got.done().unwrap().usage.output_tokens, 290);
}

#[tokio::test]
async fn stream_without_a_done_line_is_an_error() {
    let server = server_with(ndjson(&[line("Hel"), line("lo")])).await;
    let got = collect(provider_for(&server).stream(ask("hi")).await.unwrap()).await;
    assert_eq!(got.text(), "Hello");
    assert!(got.done().is_none());
    let err = got.error.expect("a cut stream ends with an error");
    assert!(err.message.contains("done"), "{}", err.message);
    assert!(err.kind.is_transient());
}

#[tokio::test]
async fn error_line_in_the_stream_is_an_error() {
    let error = json!({"error": "an error was encountered while running the model: unexpected EOF"});
    let server = server_with(ndjson(&[line("Hel"), error.clone()])).await;
    let got = collect(provider_for(&server).stream(ask("hi")).await.unwrap()).await;
    assert_eq!(got.text(), "Hel");
    let err = got.error.unwrap();
    assert_eq!(err.kind, ProviderErrorKind::ServerError { status: 500 });
    assert!(err.message.contains("unexpected EOF"), "{}", err.message);
    assert_eq!(err.raw_body.as_deref(), Some(error.to_string().as_str()));
}

async fn error_for(status: u16, body: &str) -> ProviderError {
    let response = ResponseTemplate::new(status)
        .insert_header("x-request-id", "req_proxy_3")
        .insert_header("content-type", "application/json; charset=utf-8")
        .set_body_string(body);
    let server = server_with(response).await;
    let err = provider_for(&server).complete(ask("hi")).await.expect_err("the call must fail");
    assert_eq!(err.status, Some(status), "status kept");
    assert_eq!(err.request_id.as_deref(), Some("req_proxy_3"), "request id kept");
    assert_eq!(err.raw_body.as_deref(), Some(body), "raw body kept");
    assert_eq!(err.provider.as_str(), "ollama:qwen2.5:7b");
    err
}

#[tokio::test]
async fn unknown_model_404_is_unsupported_so_a_cascade_falls_over() {
    let err = error_for(404, r#"{"error":"model \"qwen2.5:7b\" not found, try pulling it first"}"#).await;
    assert_eq!(err.kind, ProviderErrorKind::Unsupported { what: "model".into() });
    assert!(err.message.contains("try pulling it first"), "{}", err.message);
}

#[tokio::test]
async fn context_length_errors_are_context_too_long() {
    let err = error_for(400, r#"{"error":"the input length exceeds the context length"}"#).await;
    assert_eq!(err.kind, ProviderErrorKind::ContextTooLong);
    let err = error_for(500, r#"{"error":"prompt is too long for the context window"}"#).await;
    assert_eq!(err.kind, ProviderErrorKind::ContextTooLong);
}

#[tokio::test]
async fn server_errors_keep_their_status_and_busy_is_overloaded() {
    let err = error_for(500, r#"{"error":"llama runner process has terminated: exit status 2"}"#).await;
    assert_eq!(err.kind, ProviderErrorKind::ServerError { status: 500 });
    assert!(err.kind.is_transient());
    let err = error_for(503, r#"{"error":"server busy, please try again.  maximum pending requests exceeded"}"#).await;
    assert!(matches!(err.kind, ProviderErrorKind::Overloaded { .. }), "{:?}", err.kind);
}

#[tokio::test]
async fn a_model_without_tool_support_is_unsupported_tools() {
    let err = error_for(400, r#"{"error":"registry.ollama.ai/library/gemma3:4b does not support tools"}"#).await;
    assert_eq!(err.kind, ProviderErrorKind::Unsupported { what: "tools".into() });
    assert!(!err.kind.is_transient());
}

#[tokio::test]
async fn request_carries_num_ctx_sized_to_a_long_prompt() {
    let server = server_with(ok_body(chat_body(json!({"role": "assistant", "content": "ok"})))).await;
    // 120 000 bytes ≈ 40 000 tokens (three bytes a token, estimated high) + 1 000 output: 64k.
    let long = CompletionRequest::new(vec![Message::user("x".repeat(120_000))]).with_max_tokens(1_000);
    let provider = OllamaProvider::new("llama3.1:8b").with_base_url(server.uri());
    provider.complete(long).await.unwrap();
    let body: Value = serde_json::from_slice(&only_request(&server).await.body).unwrap();
    assert_eq!(body["options"]["num_ctx"], 65_536);
    assert_eq!(body["options"]["num_predict"], 1_000);
}

#[tokio::test]
async fn num_ctx_is_capped_at_the_models_window() {
    let server = server_with(ok_body(chat_body(json!({"role": "assistant", "content": "ok"})))).await;
    let long = CompletionRequest::new(vec![Message::user("x".repeat(300_000))]);
    // qwen2.5's window in the shipped table is 32k; a host may set its own.
    provider_for(&server).complete(long.clone()).await.unwrap();
    let host_set = OllamaProvider::new("my-model")
        .with_base_url(server.uri())
        .with_capabilities(ModelCapabilities::new(24_576, 4_096));
    host_set.complete(long).await.unwrap();
    let received = server.received_requests().await.unwrap();
    let num_ctx = |i: usize| serde_json::from_slice::<Value>(&received[i].body).unwrap()["options"]["num_ctx"].clone();
    assert_eq!(num_ctx(0), 32_768);
    assert_eq!(num_ctx(1), 24_576);
}

#[tokio::test]
async fn connection_refused_is_a_transport_error() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let provider = OllamaProvider::new(MODEL).with_base_url(format!("http://127.0.0.1:{port}"));
    let err = provider.complete(ask("hi")).await.unwrap_err();
    assert_eq!(err.kind, ProviderErrorKind::Transport);
    assert_eq!(err.status, None);
    let err = provider.stream(ask("hi")).await.err().unwrap();
    assert_eq!(err.kind, ProviderErrorKind::Transport);
}

#[tokio::test]
async fn spec_talks_to_ollama_host_natively_without_a_key() {
    let server = server_with(ok_body(chat_body(json!({"role": "assistant", "content": "from ollama"})))).await;
    let vars = env_of(&[("OLLAMA_HOST", &server.uri()), ("OPENAI_API_KEY", "sk-must-not-leak")]);
    let spec: ProviderSpec = "ollama:qwen2.5:7b".parse().unwrap();
    let provider = build_provider_with_env(&spec, &vars).unwrap();
    assert_eq!(provider.id().as_str(), "ollama:qwen2.5:7b");
    let out = provider.complete(ask("hi")).await.unwrap();
    assert_eq!(out.content, "from ollama");
    let request = only_request(&server).await;
    assert_eq!(request.url.path(), "/api/chat");
    assert!(request.headers.get("authorization").is_none());
}

#[tokio::test]
async fn spec_host_without_scheme_and_the_openai_compatible_spec_both_work() {
    let server = server_with(ok_body(chat_body(json!({"role": "assistant", "content": "native"})))).await;
    let host = server.uri().trim_start_matches("http://").to_owned();
    let spec: ProviderSpec = "ollama:qwen2.5:7b".parse().unwrap();
    let out =
        build_provider_with_env(&spec, &env_of(&[("OLLAMA_HOST", &host)])).unwrap().complete(ask("hi")).await.unwrap();
    assert_eq!(out.content, "native");

    // Ollama's OpenAI-compatible endpoint stays reachable as an `openai` spec.
    let compatible = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(crate::common::chat_body("compatible", 5, 0, 1)))
        .mount(&compatible)
        .await;
    let spec: ProviderSpec = format!("openai:qwen2.5:7b@{}/v1", compatible.uri()).parse().unwrap();
    let out = build_provider_with_env(&spec, &env_of(&[])).unwrap().complete(ask("hi")).await.unwrap();
    assert_eq!(out.content, "compatible");
}

#[tokio::test]
async fn a_key_set_explicitly_is_sent_as_a_bearer_token() {
    let server = server_with(ok_body(chat_body(json!({"role": "assistant", "content": "ok"})))).await;
    let provider = provider_for(&server).with_api_key(Some("ollama-key".to_owned()));
    assert!(!format!("{provider:?}").contains("ollama-key"), "Debug redacts the key");
    provider.complete(ask("hi")).await.unwrap();
    assert_eq!(header(&only_request(&server).await, "authorization"), Some("Bearer ollama-key"));
}
