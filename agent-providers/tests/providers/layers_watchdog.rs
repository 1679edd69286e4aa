//! `IdleWatchdog`: stalls end a stream, steady streams pass, keep-alive pings do
//! not count, reasoning progress does. Scripted streams come from the
//! `ScriptedProvider` test double (paused time); the ping test and the
//! sixty-second reasoning streams use loopback servers speaking SSE in real
//! time to the real `OpenAiProvider` (the latter take about a minute).

use crate::common::{MODEL, ask};
use crate::layers_support::*;
use agent_core::LlmProvider;
use agent_core::provider::{ProviderErrorKind, StreamEvent, Usage};
use agent_providers::layers::IdleWatchdog;
use agent_providers::{OpenAiProvider, ScriptedReply, StreamStep, scripted::text_stream_steps};
use std::io::{Read, Write};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn a_stalled_stream_ends_with_a_timeout_after_the_idle_limit() {
    let p = scripted(
        "x:m",
        vec![ScriptedReply::stream(vec![
            StreamStep::Event(StreamEvent::Delta { text: "a".into() }),
            StreamStep::Stall,
        ])],
    );
    let watched = IdleWatchdog::new(dyn_of(&p), Duration::from_secs(30));
    let start = Instant::now();
    let items = drain(watched.stream(ask("q")).await.unwrap()).await;
    assert_eq!(items.len(), 2, "the delta, then the timeout, then the end");
    assert_eq!(text_of(&items), "a");
    let e = items[1].as_ref().unwrap_err();
    assert_eq!(e.kind, ProviderErrorKind::Timeout);
    assert!(e.message.contains("idle watchdog"), "{}", e.message);
    assert_eq!(start.elapsed(), Duration::from_secs(30));
}

#[tokio::test(start_paused = true)]
async fn a_steady_stream_slower_in_total_than_the_limit_is_not_cut() {
    let mut steps = Vec::new();
    for piece in ["one ", "two ", "three"] {
        steps.push(StreamStep::Pause(Duration::from_secs(20)));
        steps.push(StreamStep::Event(StreamEvent::Delta { text: piece.into() }));
    }
    steps.extend(text_stream_steps("x:m", &[], Usage::default()));
    let p = scripted("x:m", vec![ScriptedReply::stream(steps)]);
    let watched = IdleWatchdog::new(dyn_of(&p), Duration::from_secs(30));
    let start = Instant::now();
    let items = drain(watched.stream(ask("q")).await.unwrap()).await;
    assert_eq!(text_of(&items), "one two three");
    assert!(items.iter().all(Result::is_ok));
    assert!(matches!(items.last(), Some(Ok(StreamEvent::Done { .. }))));
    assert_eq!(start.elapsed(), Duration::from_secs(60), "60 s in all, never 30 s without an event");
}

#[tokio::test(start_paused = true)]
async fn a_stream_that_never_opens_times_out() {
    let p = scripted("x:m", vec![ScriptedReply::delayed(Duration::from_secs(3_600), ScriptedReply::text("late"))]);
    let watched = IdleWatchdog::new(dyn_of(&p), Duration::from_secs(30));
    let e = watched.stream(ask("q")).await.err().unwrap();
    assert_eq!(e.kind, ProviderErrorKind::Timeout);
}

/// Serves one SSE response on loopback that sends only `: ping` comments,
/// every 20 ms, for at most `for_how_long`.
fn ping_only_server(for_how_long: Duration) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        let mut buf = [0u8; 8192];
        let _ = socket.read(&mut buf);
        let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n";
        if socket.write_all(head.as_bytes()).is_err() {
            return;
        }
        let started = std::time::Instant::now();
        while started.elapsed() < for_how_long {
            if socket.write_all(b": ping\n\n").and_then(|()| socket.flush()).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    format!("http://{addr}/v1")
}

#[tokio::test]
async fn keep_alive_pings_do_not_reset_the_idle_timer() {
    let base = ping_only_server(Duration::from_secs(20));
    let provider = OpenAiProvider::new(MODEL).with_base_url(base).with_timeout(Duration::from_secs(60));
    let watched = IdleWatchdog::new(provider, Duration::from_millis(300));
    let start = std::time::Instant::now();
    let outcome = match watched.stream(ask("q")).await {
        Ok(stream) => drain(stream).await.into_iter().find_map(Result::err),
        Err(e) => Some(e),
    };
    let e = outcome.expect("the stream ends with an error");
    assert_eq!(e.kind, ProviderErrorKind::Timeout, "{e}");
    // Pings came every 20 ms for 20 s; had they reset the timer, no timeout before 20 s.
    assert!(start.elapsed() < Duration::from_secs(10), "took {:?}", start.elapsed());
}

#[tokio::test(start_paused = true)]
async fn reasoning_progress_even_with_empty_text_keeps_a_stream_alive() {
    let mut steps = Vec::new();
    for i in 0..10 {
        steps.push(StreamStep::Pause(Duration::from_secs(20)));
        let text = if i % 2 == 0 { String::new() } else { "weighing options".to_owned() };
        steps.push(StreamStep::Event(StreamEvent::ReasoningDelta { text }));
    }
    steps.extend(text_stream_steps("x:m", &["the answer"], Usage::default()));
    let p = scripted("x:m", vec![ScriptedReply::stream(steps)]);
    let watched = IdleWatchdog::new(dyn_of(&p), Duration::from_secs(30));
    let start = Instant::now();
    let items = drain(watched.stream(ask("q")).await.unwrap()).await;
    assert!(items.iter().all(Result::is_ok), "{items:?}");
    assert_eq!(text_of(&items), "the answer");
    assert_eq!(start.elapsed(), Duration::from_secs(200), "200 s of thinking under a 30 s limit");
}

// ----- A real HTTP wire: OpenAI chat chunks with `reasoning_content` deltas -----

/// Serves one request on loopback with a `text/event-stream` body written as
/// `(pause, bytes)` steps in real time, then closes.
async fn sse_server(steps: Vec<(Duration, String)>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        read_http_request(&mut socket).await;
        let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n";
        if socket.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        for (pause, bytes) in steps {
            tokio::time::sleep(pause).await;
            if socket.write_all(bytes.as_bytes()).await.is_err() || socket.flush().await.is_err() {
                return; // the client gave up
            }
        }
        let _ = socket.shutdown().await;
    });
    format!("http://{address}/v1")
}

async fn read_http_request(socket: &mut tokio::net::TcpStream) {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let Ok(n) = socket.read(&mut buf).await else { return };
        if n == 0 {
            return;
        }
        seen.extend_from_slice(&buf[..n]);
        let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
        let head = String::from_utf8_lossy(&seen[..end]).to_ascii_lowercase();
        let length: usize =
            head.lines().find_map(|l| l.strip_prefix("content-length:")).map_or(0, |v| v.trim().parse().unwrap_or(0));
        if seen.len() >= end + 4 + length {
            return;
        }
    }
}

fn chat_chunk(delta: serde_json::Value, finish: Option<&str>) -> String {
    let chunk = serde_json::json!({"id": "chatcmpl-r1", "object": "chat.completion.chunk", "model": "o4-mini",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
    format!("data: {chunk}\n\n")
}

/// A reasoning model's answer: a `reasoning_content` keep-alive every `every`
/// (empty or with text) until `thinking` has passed, one silent `gap` after
/// `gap_after`, then the answer, its finish and `[DONE]`.
fn thinking_stream(thinking: Duration, every: Duration, gap: Option<(Duration, Duration)>) -> Vec<(Duration, String)> {
    let mut steps = vec![(Duration::ZERO, chat_chunk(serde_json::json!({"role": "assistant", "content": null}), None))];
    let mut elapsed = Duration::ZERO;
    let mut i = 0;
    while elapsed < thinking {
        let mut pause = every;
        if let Some((after, long)) = gap {
            if elapsed < after && elapsed + every >= after {
                pause = long;
            }
        }
        elapsed += pause;
        let text = if i % 2 == 0 { "" } else { "considering the next step" };
        steps.push((pause, chat_chunk(serde_json::json!({"reasoning_content": text}), None)));
        i += 1;
    }
    steps.push((Duration::ZERO, chat_chunk(serde_json::json!({"content": "Forty-two."}), None)));
    steps.push((Duration::ZERO, chat_chunk(serde_json::json!({}), Some("stop"))));
    steps.push((Duration::ZERO, "data: [DONE]\n\n".to_owned()));
    steps
}

/// The real OpenAI provider on the local server, with an idle limit of its
/// own well above the watchdog's, so only the watchdog can cut the stream.
fn openai(base_url: String) -> OpenAiProvider {
    OpenAiProvider::new("o4-mini").with_base_url(base_url).with_timeout(Duration::from_secs(120))
}

const LIMIT: Duration = Duration::from_secs(10);
const KEEP_ALIVE: Duration = Duration::from_secs(3);

#[tokio::test]
async fn a_sixty_second_reasoning_stream_over_http_stays_alive_under_a_shorter_idle_limit() {
    let base = sse_server(thinking_stream(Duration::from_secs(60), KEEP_ALIVE, None)).await;
    let watched = IdleWatchdog::new(openai(base), LIMIT);
    let items = drain(watched.stream(ask("think hard")).await.unwrap()).await;
    let error = items.iter().find_map(|i| i.as_ref().err());
    assert!(error.is_none(), "the watchdog cut a stream that showed its reasoning: {error:?}");
    let progress = items.iter().filter(|i| matches!(i, Ok(StreamEvent::ReasoningDelta { .. }))).count();
    assert_eq!(progress, 20, "a keep-alive every 3 s for 60 s");
    assert_eq!(text_of(&items), "Forty-two.");
    assert!(matches!(items.last(), Some(Ok(StreamEvent::Done { completion })) if completion.content == "Forty-two."));
}

#[tokio::test]
async fn the_same_stream_with_one_gap_longer_than_the_limit_is_cut_with_a_timeout() {
    let gap = Some((Duration::from_secs(9), Duration::from_secs(15)));
    let base = sse_server(thinking_stream(Duration::from_secs(60), KEEP_ALIVE, gap)).await;
    let watched = IdleWatchdog::new(openai(base), LIMIT);
    let items = drain(watched.stream(ask("think hard")).await.unwrap()).await;
    let progress = items.iter().filter(|i| matches!(i, Ok(StreamEvent::ReasoningDelta { .. }))).count();
    assert_eq!(progress, 2, "the keep-alives before the gap (at 3 s and 6 s) arrived");
    assert!(items.iter().all(|i| !matches!(i, Ok(StreamEvent::Done { .. }))), "a cut stream has no Done");
    let error = items.last().unwrap().as_ref().unwrap_err();
    assert_eq!(error.kind, ProviderErrorKind::Timeout, "{error}");
    assert!(error.message.contains("idle watchdog"), "{}", error.message);
}
