//! Streamed OpenAI calls are bounded between events, not as a whole: a long
//! answer that keeps coming outlives the timeout, a stream that goes silent
//! (or only sends keep-alive comments) fails with the `Timeout` class.
//!
//! wiremock writes a body at once, so these tests serve the SSE body from a
//! small loopback HTTP server that writes it piece by piece with pauses.

use crate::common::*;
use crate::native_support::collect;
use crate::openai_stream::{chunk, usage_chunk};
use agent_core::LlmProvider;
use agent_core::provider::ProviderErrorKind;
use agent_providers::OpenAiProvider;
use serde_json::json;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const IDLE: Duration = Duration::from_millis(300);

/// One step of a scripted answer: wait, then write these bytes.
struct Step {
    pause: Duration,
    bytes: String,
}

fn after(ms: u64, bytes: impl Into<String>) -> Step {
    Step { pause: Duration::from_millis(ms), bytes: bytes.into() }
}

fn data(item: &str) -> String {
    format!("data: {item}\n\n")
}

/// Reads one HTTP request (headers and a `content-length` body).
async fn read_request(socket: &mut TcpStream) {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = socket.read(&mut buf).await.unwrap();
        if n == 0 {
            return;
        }
        seen.extend_from_slice(&buf[..n]);
        let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
        let head = String::from_utf8_lossy(&seen[..end]).to_ascii_lowercase();
        let length: usize =
            head.lines().find_map(|l| l.strip_prefix("content-length:")).map_or(0, |v| v.trim().parse().unwrap());
        if seen.len() >= end + 4 + length {
            return;
        }
    }
}

/// A server that answers one request with a 200 `text/event-stream` head
/// (after `head_pause`), then the steps, then closes the connection.
async fn trickling_server(head_pause: Duration, steps: Vec<Step>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        read_request(&mut socket).await;
        tokio::time::sleep(head_pause).await;
        let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nx-request-id: req_trickle_1\r\nconnection: close\r\n\r\n";
        if socket.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        for step in steps {
            tokio::time::sleep(step.pause).await;
            if socket.write_all(step.bytes.as_bytes()).await.is_err() || socket.flush().await.is_err() {
                return; // the client gave up
            }
        }
        let _ = socket.shutdown().await;
    });
    format!("http://{address}/v1")
}

fn provider_at(base_url: String) -> OpenAiProvider {
    OpenAiProvider::new(MODEL).with_base_url(base_url).with_timeout(IDLE)
}

/// Ten text pieces 100 ms apart (about a second in all, over three times the timeout).
fn long_answer() -> (Vec<Step>, String) {
    let mut steps = vec![after(0, data(&chunk(json!({"role": "assistant", "content": ""}), None)))];
    let mut expected = String::new();
    for i in 0..10 {
        let piece = format!("piece {i}; ");
        expected.push_str(&piece);
        steps.push(after(100, data(&chunk(json!({"content": piece}), None))));
    }
    steps.push(after(100, data(&chunk(json!({}), Some("stop")))));
    steps.push(after(0, data(&usage_chunk(40, 0, 30))));
    steps.push(after(0, data("[DONE]")));
    (steps, expected)
}

#[tokio::test]
async fn a_stream_that_keeps_coming_longer_than_the_timeout_is_not_cut() {
    let (steps, expected) = long_answer();
    let provider = provider_at(trickling_server(Duration::ZERO, steps).await);
    let got = collect(provider.stream(ask("write a long answer")).await.unwrap()).await;
    assert!(got.error.is_none(), "the stream was cut: {:?}", got.error);
    assert_eq!(got.text(), expected);
    let done = got.done().expect("the stream ends with Done");
    assert_eq!(done.content, expected);
    assert_eq!(done.usage.output_tokens, 30);
}

#[tokio::test]
async fn a_stream_that_goes_silent_longer_than_the_timeout_fails_as_timeout() {
    let steps = vec![
        after(0, data(&chunk(json!({"role": "assistant", "content": "Hel"}), None))),
        after(50, data(&chunk(json!({"content": "lo"}), None))),
        // Silent for ten times the idle limit, then the rest (never read).
        after(3_000, data(&chunk(json!({"content": " world"}), Some("stop")))),
        after(0, data("[DONE]")),
    ];
    let provider = provider_at(trickling_server(Duration::ZERO, steps).await);
    let got = collect(provider.stream(ask("hi")).await.unwrap()).await;
    assert_eq!(got.text(), "Hello", "what came before the stall is delivered");
    assert!(got.done().is_none(), "a stalled stream has no Done");
    let error = got.error.expect("the stall is an error");
    assert_eq!(error.kind, ProviderErrorKind::Timeout, "{error:?}");
}

#[tokio::test]
async fn keep_alive_comments_alone_do_not_keep_a_stalled_stream_open() {
    let mut steps = vec![after(0, data(&chunk(json!({"role": "assistant", "content": "Thinking"}), None)))];
    // A comment every 100 ms for three seconds: bytes keep arriving, events do not.
    steps.extend((0..30).map(|_| after(100, ": ping\n\n")));
    steps.push(after(0, data(&chunk(json!({"content": "."}), Some("stop")))));
    steps.push(after(0, data("[DONE]")));
    let provider = provider_at(trickling_server(Duration::ZERO, steps).await);
    let got = collect(provider.stream(ask("hi")).await.unwrap()).await;
    assert_eq!(got.text(), "Thinking");
    let error = got.error.expect("pings alone are a stall");
    assert_eq!(error.kind, ProviderErrorKind::Timeout, "{error:?}");
}

#[tokio::test]
async fn a_server_that_sends_no_response_head_within_the_timeout_fails_as_timeout() {
    let provider = provider_at(trickling_server(Duration::from_secs(3), Vec::new()).await);
    let error = match provider.stream(ask("hi")).await {
        Ok(stream) => collect(stream).await.error.expect("no answer is an error"),
        Err(e) => e,
    };
    assert_eq!(error.kind, ProviderErrorKind::Timeout, "{error:?}");
}
