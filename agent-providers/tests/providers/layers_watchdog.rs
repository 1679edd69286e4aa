//! `IdleWatchdog`: stalls end a stream, steady streams pass, keep-alive pings do not count.
//! Scripted streams come from the `ScriptedProvider` test double (paused time);
//! the ping test uses a loopback server speaking SSE.

use crate::common::{MODEL, ask};
use crate::layers_support::*;
use agent_core::LlmProvider;
use agent_core::provider::{ProviderErrorKind, StreamEvent, Usage};
use agent_providers::layers::IdleWatchdog;
use agent_providers::{OpenAiProvider, ScriptedReply, StreamStep, scripted::text_stream_steps};
use std::io::{Read, Write};
use std::time::Duration;
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
