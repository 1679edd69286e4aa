//! `Retry`: delays, permanent classes, caps, streams. Providers are the
//! `ScriptedProvider` test double; time is tokio's paused clock.

use crate::common::ask;
use crate::layers_support::*;
use agent_core::LlmProvider;
use agent_core::provider::{ProviderErrorKind, StreamEvent, Usage};
use agent_providers::layers::{Retry, RetryClasses, RetryPolicy};
use agent_providers::{ScriptedReply, StreamStep};
use std::time::Duration;
use tokio::time::Instant;

fn policy() -> RetryPolicy {
    RetryPolicy::default()
        .with_max_attempts(4)
        .with_backoff(Duration::from_millis(100), Duration::from_secs(2))
        .with_max_wait(Duration::from_secs(60))
        .with_jitter(0.0)
}

#[tokio::test(start_paused = true)]
async fn rate_limit_is_retried_after_exactly_the_delay_the_provider_asked_for() {
    let p = scripted(
        "openai:gpt-4.1-mini",
        vec![
            ScriptedReply::error(ProviderErrorKind::RateLimited { retry_after_ms: Some(17_000) }),
            ScriptedReply::text("ok"),
        ],
    );
    let retry = Retry::new(dyn_of(&p), policy());
    let start = Instant::now();
    assert_eq!(retry.complete(ask("hi")).await.unwrap().content, "ok");
    assert_eq!(start.elapsed(), Duration::from_secs(17), "waited the asked 17 s, not the 100 ms backoff");
    assert_eq!(p.requests().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn overloaded_retry_after_is_honoured_too() {
    let p = scripted(
        "x:m",
        vec![
            ScriptedReply::error(ProviderErrorKind::Overloaded { retry_after_ms: Some(2_500) }),
            ScriptedReply::text("ok"),
        ],
    );
    let start = Instant::now();
    Retry::new(dyn_of(&p), policy()).complete(ask("hi")).await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_millis(2_500));
}

#[tokio::test(start_paused = true)]
async fn permanent_classes_are_returned_after_one_call() {
    for kind in [
        ProviderErrorKind::Auth,
        ProviderErrorKind::InvalidRequest,
        ProviderErrorKind::Unsupported { what: "max_tokens".into() },
        ProviderErrorKind::ContextTooLong,
        ProviderErrorKind::QuotaExhausted { resets_at_unix_ms: None },
        ProviderErrorKind::QuotaExhausted { resets_at_unix_ms: Some(1) },
    ] {
        let p = scripted("x:m", vec![ScriptedReply::error(kind.clone()), ScriptedReply::text("never")]);
        let start = Instant::now();
        let err = Retry::new(dyn_of(&p), policy()).complete(ask("hi")).await.unwrap_err();
        assert_eq!(err.kind, kind);
        assert_eq!(p.requests().len(), 1, "{kind:?} was retried");
        assert_eq!(start.elapsed(), Duration::ZERO, "{kind:?} slept");
    }
}

#[tokio::test(start_paused = true)]
async fn a_server_error_is_retried_after_the_backoff_unless_switched_off() {
    let replies =
        || vec![ScriptedReply::error(ProviderErrorKind::ServerError { status: 502 }), ScriptedReply::text("ok")];
    let p = scripted("x:m", replies());
    let start = Instant::now();
    assert_eq!(Retry::new(dyn_of(&p), policy()).complete(ask("hi")).await.unwrap().content, "ok");
    assert_eq!(start.elapsed(), Duration::from_millis(100), "the first backoff delay");
    assert_eq!(p.requests().len(), 2);

    let p = scripted("x:m", replies());
    let mut classes = RetryClasses::default();
    classes.server_error = false;
    let err = Retry::new(dyn_of(&p), policy().with_classes(classes)).complete(ask("hi")).await.unwrap_err();
    assert_eq!(err.kind, ProviderErrorKind::ServerError { status: 502 });
    assert_eq!(p.requests().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_delay_longer_than_the_cap_is_not_waited_for() {
    let asked = ProviderErrorKind::RateLimited { retry_after_ms: Some(3_600_000) };
    let p = scripted("x:m", vec![ScriptedReply::error(asked.clone()), ScriptedReply::text("never")]);
    let start = Instant::now();
    let err = Retry::new(dyn_of(&p), policy()).complete(ask("hi")).await.unwrap_err();
    assert_eq!(err.kind, asked, "the caller gets the provider's error with its delay");
    assert_eq!(p.requests().len(), 1);
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn transient_errors_without_a_hint_back_off_exponentially_up_to_max_attempts() {
    let p = scripted("x:m", (0..5).map(|_| ScriptedReply::error(ProviderErrorKind::Transport)).collect());
    let start = Instant::now();
    let err = Retry::new(dyn_of(&p), policy()).complete(ask("hi")).await.unwrap_err();
    assert_eq!(err.kind, ProviderErrorKind::Transport);
    assert_eq!(p.requests().len(), 4);
    // 100 + 200 + 400 ms between the four attempts.
    assert_eq!(start.elapsed(), Duration::from_millis(700));
}

#[tokio::test(start_paused = true)]
async fn a_class_switched_off_is_not_retried() {
    let p = scripted("x:m", vec![ScriptedReply::error(ProviderErrorKind::Timeout), ScriptedReply::text("never")]);
    let mut classes = RetryClasses::default();
    classes.timeout = false;
    let err = Retry::new(dyn_of(&p), policy().with_classes(classes)).complete(ask("hi")).await.unwrap_err();
    assert_eq!(err.kind, ProviderErrorKind::Timeout);
    assert_eq!(p.requests().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_stream_failing_before_its_first_event_is_retried() {
    let p = scripted(
        "x:m",
        vec![
            ScriptedReply::stream(vec![StreamStep::Error(ProviderErrorKind::Overloaded {
                retry_after_ms: Some(1_000),
            })]),
            ScriptedReply::text_stream("x:m", &["he", "llo"], Usage::default()),
        ],
    );
    let stream = Retry::new(dyn_of(&p), policy()).stream(ask("hi")).await.unwrap();
    let items = drain(stream).await;
    assert_eq!(text_of(&items), "hello");
    assert!(matches!(items.last(), Some(Ok(StreamEvent::Done { .. }))));
    assert_eq!(p.requests().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_stream_failing_after_its_first_event_is_not_retried() {
    let p = scripted(
        "x:m",
        vec![
            ScriptedReply::stream(vec![
                StreamStep::Event(StreamEvent::Delta { text: "partial".into() }),
                StreamStep::Error(ProviderErrorKind::Transport),
            ]),
            ScriptedReply::text_stream("x:m", &["never"], Usage::default()),
        ],
    );
    let items = drain(Retry::new(dyn_of(&p), policy()).stream(ask("hi")).await.unwrap()).await;
    assert_eq!(text_of(&items), "partial");
    assert_eq!(items.last().unwrap().as_ref().unwrap_err().kind, ProviderErrorKind::Transport);
    assert_eq!(p.requests().len(), 1);
}

#[test]
fn backoff_jitter_stays_within_its_band_and_is_capped() {
    let policy = RetryPolicy::default()
        .with_backoff(Duration::from_millis(1_000), Duration::from_millis(4_000))
        .with_jitter(0.2)
        .with_max_attempts(10);
    let err = agent_core::provider::ProviderError::new(ProviderErrorKind::Other, "x:m".into(), "500");
    for attempt in 1..9 {
        let d = policy.delay_after(&err, attempt).unwrap();
        let nominal = (1_000u64 << (attempt - 1)).min(4_000) as f64;
        let ms = d.as_secs_f64() * 1000.0;
        assert!(ms >= nominal * 0.8 - 1.0 && ms <= nominal * 1.2 + 1.0, "attempt {attempt}: {ms} vs {nominal}");
    }
    assert_eq!(policy.delay_after(&err, 10), None, "no delay after the last attempt");
}
