//! `Cascade`: routing per error class, states, streams. Providers are the
//! `ScriptedProvider` test double; time is tokio's paused clock.

use crate::common::ask;
use crate::layers_support::*;
use agent_core::LlmProvider;
use agent_core::event::unix_ms_now;
use agent_core::provider::{ModelCapabilities, ProviderErrorKind, StreamEvent, Usage};
use agent_providers::layers::{AttemptOutcome, Cascade, CascadeEntry, ProviderState};
use agent_providers::{ScriptedProvider, ScriptedReply, StreamStep};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

fn cascade_of(members: &[(&Arc<ScriptedProvider>, Option<u64>)]) -> Cascade {
    Cascade::new(
        members
            .iter()
            .map(|(p, window)| {
                let entry = window.map_or_else(CascadeEntry::new, CascadeEntry::with_context_window);
                (dyn_of(p), entry)
            })
            .collect(),
    )
}

fn outcomes(c: &Cascade) -> Vec<AttemptOutcome> {
    c.last_attempts().into_iter().map(|a| a.outcome).collect()
}

fn err(kind: ProviderErrorKind) -> ScriptedReply {
    ScriptedReply::error(kind)
}

#[tokio::test(start_paused = true)]
async fn rate_limited_provider_cools_down_until_its_reset_while_the_next_answers_at_once() {
    let first = scripted(
        "a:one",
        vec![err(ProviderErrorKind::RateLimited { retry_after_ms: Some(10_000) }), ScriptedReply::text("one again")],
    );
    let second = scripted("b:two", vec![ScriptedReply::text("two"), ScriptedReply::text("two again")]);
    let cascade = cascade_of(&[(&first, None), (&second, None)]);
    let start = Instant::now();

    assert_eq!(cascade.complete(ask("q")).await.unwrap().content, "two");
    assert_eq!(start.elapsed(), Duration::ZERO, "the next provider is tried at once");
    assert_eq!(cascade.states()[0].state, ProviderState::CoolingUntil(start + Duration::from_secs(10)));
    assert_eq!(cascade.states()[1].state, ProviderState::Healthy);

    assert_eq!(cascade.complete(ask("q")).await.unwrap().content, "two again");
    assert_eq!(outcomes(&cascade), [AttemptOutcome::SkippedCooling, AttemptOutcome::Answered]);
    assert_eq!(first.requests().len(), 1, "a cooling provider is not called");

    tokio::time::advance(Duration::from_secs(10)).await;
    assert_eq!(cascade.states()[0].state, ProviderState::Healthy);
    assert_eq!(cascade.complete(ask("q")).await.unwrap().content, "one again");
    assert_eq!(outcomes(&cascade), [AttemptOutcome::Answered]);
}

#[tokio::test(start_paused = true)]
async fn exhausted_quota_without_a_reset_is_skipped_for_the_rest_of_the_run() {
    let first = scripted("a:one", vec![err(ProviderErrorKind::QuotaExhausted { resets_at_unix_ms: None })]);
    let second = scripted("b:two", (0..3).map(|i| ScriptedReply::text(format!("two {i}"))).collect());
    let cascade = cascade_of(&[(&first, None), (&second, None)]);
    let start = Instant::now();

    assert_eq!(cascade.complete(ask("q")).await.unwrap().content, "two 0");
    assert_eq!(start.elapsed(), Duration::ZERO, "no sleep between the quota answer and the next provider");
    assert_eq!(
        outcomes(&cascade),
        [
            AttemptOutcome::Failed(ProviderErrorKind::QuotaExhausted { resets_at_unix_ms: None }),
            AttemptOutcome::Answered
        ]
    );
    assert_eq!(cascade.states()[0].state, ProviderState::Exhausted { until: None });

    tokio::time::advance(Duration::from_secs(86_400)).await;
    assert_eq!(cascade.complete(ask("q")).await.unwrap().content, "two 1");
    assert_eq!(outcomes(&cascade), [AttemptOutcome::SkippedExhausted, AttemptOutcome::Answered]);
    assert_eq!(first.requests().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn exhausted_quota_with_a_reset_time_is_used_again_after_it() {
    let resets_at = unix_ms_now() + 60_000;
    let first = scripted(
        "a:one",
        vec![err(ProviderErrorKind::QuotaExhausted { resets_at_unix_ms: Some(resets_at) }), ScriptedReply::text("one")],
    );
    let second = scripted("b:two", vec![ScriptedReply::text("two"), ScriptedReply::text("two again")]);
    let cascade = cascade_of(&[(&first, None), (&second, None)]);

    assert_eq!(cascade.complete(ask("q")).await.unwrap().content, "two");
    let state = cascade.states()[0].state;
    assert!(matches!(state, ProviderState::Exhausted { until: Some(_) }), "{state:?}");
    let until_ms = state.until_unix_ms().unwrap();
    assert!(until_ms.abs_diff(resets_at) < 1_000, "reported reset {until_ms} vs {resets_at}");

    tokio::time::advance(Duration::from_secs(30)).await;
    assert_eq!(cascade.complete(ask("q")).await.unwrap().content, "two again", "still exhausted before the reset");
    tokio::time::advance(Duration::from_secs(31)).await;
    assert_eq!(cascade.complete(ask("q")).await.unwrap().content, "one", "used again after the reset");
}

#[tokio::test(start_paused = true)]
async fn overloaded_and_transport_failures_go_to_the_next_provider_without_changing_state() {
    let a = scripted("a:one", vec![err(ProviderErrorKind::Overloaded { retry_after_ms: None })]);
    let b = scripted("b:two", vec![err(ProviderErrorKind::Transport)]);
    let c = scripted("c:three", vec![ScriptedReply::text("three")]);
    let cascade = cascade_of(&[(&a, None), (&b, None), (&c, None)]);
    let answer = cascade.complete(ask("q")).await.unwrap();
    assert_eq!(answer.content, "three");
    assert_eq!(answer.provider.as_str(), "c:three");
    assert_eq!(
        outcomes(&cascade),
        [
            AttemptOutcome::Failed(ProviderErrorKind::Overloaded { retry_after_ms: None }),
            AttemptOutcome::Failed(ProviderErrorKind::Transport),
            AttemptOutcome::Answered,
        ]
    );
    assert!(cascade.states().iter().all(|s| s.state == ProviderState::Healthy));
}

#[tokio::test(start_paused = true)]
async fn context_too_long_goes_to_the_next_larger_window_skipping_smaller_and_unknown_ones() {
    let small = scripted("a:8k", vec![err(ProviderErrorKind::ContextTooLong)]);
    let smaller = scripted("b:4k", vec![ScriptedReply::text("never")]);
    let unknown = scripted("c:unknown", vec![ScriptedReply::text("never")]);
    let same = scripted("d:8k", vec![ScriptedReply::text("never")]);
    let large = scripted("e:200k", vec![ScriptedReply::text("large")]);
    let cascade = cascade_of(&[
        (&small, Some(8_000)),
        (&smaller, Some(4_000)),
        (&unknown, None),
        (&same, Some(8_000)),
        (&large, Some(200_000)),
    ]);
    assert_eq!(cascade.complete(ask("a very long prompt")).await.unwrap().content, "large");
    assert_eq!(
        outcomes(&cascade),
        [
            AttemptOutcome::Failed(ProviderErrorKind::ContextTooLong),
            AttemptOutcome::SkippedContextWindow,
            AttemptOutcome::SkippedContextWindow,
            AttemptOutcome::SkippedContextWindow,
            AttemptOutcome::Answered,
        ]
    );
    assert!(smaller.requests().is_empty() && unknown.requests().is_empty() && same.requests().is_empty());
}

#[tokio::test(start_paused = true)]
async fn context_too_long_with_no_larger_window_is_returned() {
    let big = scripted("a:200k", vec![err(ProviderErrorKind::ContextTooLong)]);
    let small = scripted("b:8k", vec![ScriptedReply::text("never")]);
    let cascade = cascade_of(&[(&big, Some(200_000)), (&small, Some(8_000))]);
    let e = cascade.complete(ask("q")).await.unwrap_err();
    assert_eq!(e.kind, ProviderErrorKind::ContextTooLong);
    assert!(e.message.contains("a:200k → context_too_long"), "{}", e.message);
    assert!(small.requests().is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_invalid_request_is_returned_without_trying_the_others() {
    let a = scripted("a:one", vec![err(ProviderErrorKind::InvalidRequest)]);
    let b = scripted("b:two", vec![ScriptedReply::text("never")]);
    let cascade = cascade_of(&[(&a, None), (&b, None)]);
    assert_eq!(cascade.complete(ask("q")).await.unwrap_err().kind, ProviderErrorKind::InvalidRequest);
    assert!(b.requests().is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_unsupported_model_or_parameter_falls_over_to_the_next_provider() {
    let unsupported = ProviderErrorKind::Unsupported { what: "max_tokens".into() };
    let a = scripted("a:one", vec![err(unsupported.clone()), ScriptedReply::text("one later")]);
    let b = scripted("b:two", vec![ScriptedReply::text("two")]);
    let cascade = cascade_of(&[(&a, None), (&b, None)]);
    assert_eq!(cascade.complete(ask("q")).await.unwrap().content, "two");
    assert_eq!(outcomes(&cascade), [AttemptOutcome::Failed(unsupported), AttemptOutcome::Answered]);
    assert_eq!(cascade.states()[0].state, ProviderState::Healthy, "not cooled or exhausted");
    assert_eq!(a.requests().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_server_error_falls_over_to_the_next_provider() {
    let a = scripted("a:one", vec![err(ProviderErrorKind::ServerError { status: 500 })]);
    let b = scripted("b:two", vec![ScriptedReply::text("two")]);
    let cascade = cascade_of(&[(&a, None), (&b, None)]);
    assert_eq!(cascade.complete(ask("q")).await.unwrap().content, "two");
}

#[tokio::test(start_paused = true)]
async fn when_every_provider_is_cooling_the_error_says_how_long_until_the_first_is_back() {
    let a = scripted("a:one", vec![err(ProviderErrorKind::RateLimited { retry_after_ms: Some(5_000) })]);
    let b = scripted("b:two", vec![err(ProviderErrorKind::RateLimited { retry_after_ms: Some(8_000) })]);
    let cascade = cascade_of(&[(&a, None), (&b, None)]);
    let e = cascade.complete(ask("q")).await.unwrap_err();
    assert_eq!(e.kind, ProviderErrorKind::RateLimited { retry_after_ms: Some(5_000) });
    assert!(e.message.contains("a:one → rate_limited") && e.message.contains("b:two → rate_limited"), "{}", e.message);
}

#[tokio::test(start_paused = true)]
async fn a_stream_falls_over_to_the_next_provider_before_its_first_event() {
    let a = scripted(
        "a:one",
        vec![ScriptedReply::stream(vec![StreamStep::Error(ProviderErrorKind::Overloaded { retry_after_ms: None })])],
    );
    let b = scripted("b:two", vec![ScriptedReply::error(ProviderErrorKind::Transport)]);
    let c = scripted("c:three", vec![ScriptedReply::text_stream("c:three", &["from ", "three"], Usage::default())]);
    let cascade = cascade_of(&[(&a, None), (&b, None), (&c, None)]);
    let (stream, attempts) = cascade.stream_with_attempts(ask("q")).await;
    let items = drain(stream.unwrap()).await;
    assert_eq!(text_of(&items), "from three");
    assert_eq!(attempts.len(), 3);
    assert_eq!(attempts[2].provider.as_str(), "c:three");
}

#[tokio::test(start_paused = true)]
async fn a_stream_failing_after_its_first_event_surfaces_the_error_and_does_not_fall_over() {
    let a = scripted(
        "a:one",
        vec![ScriptedReply::stream(vec![
            StreamStep::Event(StreamEvent::Delta { text: "half an answer".into() }),
            StreamStep::Error(ProviderErrorKind::Transport),
        ])],
    );
    let b = scripted("b:two", vec![ScriptedReply::text_stream("b:two", &["never"], Usage::default())]);
    let cascade = cascade_of(&[(&a, None), (&b, None)]);
    let items = drain(cascade.stream(ask("q")).await.unwrap()).await;
    assert_eq!(text_of(&items), "half an answer");
    assert_eq!(items.last().unwrap().as_ref().unwrap_err().kind, ProviderErrorKind::Transport);
    assert!(b.requests().is_empty());
    assert_eq!(outcomes(&cascade), [AttemptOutcome::Answered]);
}

#[tokio::test(start_paused = true)]
async fn states_name_every_provider_with_its_window_and_can_be_reset_by_the_host() {
    let a = scripted(
        "a:one",
        vec![err(ProviderErrorKind::QuotaExhausted { resets_at_unix_ms: None }), ScriptedReply::text("one")],
    );
    let b = scripted("b:two", vec![ScriptedReply::text("two")]);
    let cascade = cascade_of(&[(&a, Some(128_000)), (&b, None)]);
    cascade.complete(ask("q")).await.unwrap();
    let states = cascade.states();
    assert_eq!(states[0].provider.as_str(), "a:one");
    assert_eq!(states[0].context_window, Some(128_000));
    assert_eq!(states[0].state, ProviderState::Exhausted { until: None });
    assert!(cascade.mark_healthy(&"a:one".into()));
    assert_eq!(cascade.complete(ask("q")).await.unwrap().content, "one");
}

fn caps(context_window: u64) -> ModelCapabilities {
    ModelCapabilities::new(context_window, 8_192)
}

#[tokio::test(start_paused = true)]
async fn a_members_context_window_comes_from_its_capabilities_when_the_entry_gives_none() {
    let small = Arc::new(
        ScriptedProvider::new("a:8k", vec![err(ProviderErrorKind::ContextTooLong)]).with_capabilities(caps(8_000)),
    );
    let unknown = scripted("b:unknown", vec![ScriptedReply::text("never")]);
    let large =
        Arc::new(ScriptedProvider::new("c:1m", vec![ScriptedReply::text("large")]).with_capabilities(caps(1_000_000)));
    let given = Arc::new(ScriptedProvider::new("d:given", vec![]).with_capabilities(caps(1_000_000)));
    let cascade = Cascade::new(vec![
        (dyn_of(&small), CascadeEntry::new()),
        (dyn_of(&unknown), CascadeEntry::new()),
        (dyn_of(&large), CascadeEntry::new()),
        (dyn_of(&given), CascadeEntry::with_context_window(32_000)),
    ]);
    let windows: Vec<Option<u64>> = cascade.states().iter().map(|s| s.context_window).collect();
    assert_eq!(windows, [Some(8_000), None, Some(1_000_000), Some(32_000)], "the entry's window wins");

    assert_eq!(cascade.complete(ask("a very long prompt")).await.unwrap().content, "large");
    assert_eq!(
        outcomes(&cascade),
        [
            AttemptOutcome::Failed(ProviderErrorKind::ContextTooLong),
            AttemptOutcome::SkippedContextWindow,
            AttemptOutcome::Answered,
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn overloaded_with_a_retry_after_cools_the_member_down_for_that_long() {
    let overloaded = ProviderErrorKind::Overloaded { retry_after_ms: Some(7_000) };
    let a = scripted("a:one", vec![err(overloaded.clone()), ScriptedReply::text("one again")]);
    let b = scripted("b:two", vec![ScriptedReply::text("two"), ScriptedReply::text("two again")]);
    let cascade = cascade_of(&[(&a, None), (&b, None)]);
    let start = Instant::now();

    assert_eq!(cascade.complete(ask("q")).await.unwrap().content, "two");
    assert_eq!(start.elapsed(), Duration::ZERO, "the next member answers at once");
    assert_eq!(cascade.states()[0].state, ProviderState::CoolingUntil(start + Duration::from_secs(7)));

    assert_eq!(cascade.complete(ask("q")).await.unwrap().content, "two again");
    assert_eq!(outcomes(&cascade), [AttemptOutcome::SkippedCooling, AttemptOutcome::Answered]);
    assert_eq!(a.requests().len(), 1, "not asked again while cooling");

    tokio::time::advance(Duration::from_secs(7)).await;
    assert_eq!(cascade.complete(ask("q")).await.unwrap().content, "one again");
}

#[tokio::test(start_paused = true)]
async fn overloaded_without_a_retry_after_leaves_the_member_healthy() {
    let a = scripted(
        "a:one",
        vec![err(ProviderErrorKind::Overloaded { retry_after_ms: None }), ScriptedReply::text("one again")],
    );
    let b = scripted("b:two", vec![ScriptedReply::text("two")]);
    let cascade = cascade_of(&[(&a, None), (&b, None)]);
    assert_eq!(cascade.complete(ask("q")).await.unwrap().content, "two");
    assert_eq!(cascade.states()[0].state, ProviderState::Healthy);
    assert_eq!(cascade.complete(ask("q")).await.unwrap().content, "one again", "tried again on the next call");
}

#[tokio::test(start_paused = true)]
async fn when_every_member_cools_for_an_overload_the_error_is_overloaded_with_the_wait() {
    let a = scripted("a:one", vec![err(ProviderErrorKind::Overloaded { retry_after_ms: Some(3_000) })]);
    let b = scripted("b:two", vec![err(ProviderErrorKind::Overloaded { retry_after_ms: Some(9_000) })]);
    let cascade = cascade_of(&[(&a, None), (&b, None)]);
    let e = cascade.complete(ask("q")).await.unwrap_err();
    assert_eq!(e.kind, ProviderErrorKind::Overloaded { retry_after_ms: Some(3_000) });
}

#[tokio::test(start_paused = true)]
async fn an_unsupported_error_falls_over_to_the_next_member_for_streams_too() {
    let unsupported = ProviderErrorKind::Unsupported { what: "model".into() };
    let a = scripted("a:one", vec![err(unsupported.clone())]);
    let b = scripted("b:two", vec![ScriptedReply::text_stream("b:two", &["served ", "elsewhere"], Usage::default())]);
    let cascade = cascade_of(&[(&a, None), (&b, None)]);
    let (stream, attempts) = cascade.stream_with_attempts(ask("q")).await;
    assert_eq!(text_of(&drain(stream.unwrap()).await), "served elsewhere");
    let outcomes: Vec<AttemptOutcome> = attempts.into_iter().map(|a| a.outcome).collect();
    assert_eq!(outcomes, [AttemptOutcome::Failed(unsupported), AttemptOutcome::Answered]);
}

#[tokio::test(start_paused = true)]
async fn the_cascade_answers_capabilities_and_endpoint_for_the_member_about_to_serve() {
    let a = Arc::new(
        ScriptedProvider::new(
            "a:one",
            vec![err(ProviderErrorKind::RateLimited { retry_after_ms: Some(10_000) }), ScriptedReply::text("one")],
        )
        .with_capabilities(caps(128_000))
        .with_endpoint("http://127.0.0.1:1/a"),
    );
    let b = Arc::new(
        ScriptedProvider::new("b:two", vec![ScriptedReply::text("two")])
            .with_capabilities(caps(1_000_000))
            .with_endpoint("http://127.0.0.1:1/b"),
    );
    let cascade = cascade_of(&[(&a, None), (&b, None)]);
    assert_eq!(cascade.capabilities().map(|c| c.context_window), Some(128_000), "the first member serves");
    assert_eq!(cascade.endpoint().as_deref(), Some("http://127.0.0.1:1/a"));

    assert_eq!(cascade.complete(ask("q")).await.unwrap().content, "two");
    assert_eq!(cascade.capabilities().map(|c| c.context_window), Some(1_000_000), "the first is cooling down");
    assert_eq!(cascade.endpoint().as_deref(), Some("http://127.0.0.1:1/b"));

    tokio::time::advance(Duration::from_secs(10)).await;
    assert_eq!(cascade.endpoint().as_deref(), Some("http://127.0.0.1:1/a"), "back once the cool-down ends");
}

#[tokio::test(start_paused = true)]
async fn when_every_member_is_unavailable_the_cascade_answers_for_the_first() {
    let a = Arc::new(
        ScriptedProvider::new("a:one", vec![err(ProviderErrorKind::QuotaExhausted { resets_at_unix_ms: None })])
            .with_endpoint("http://127.0.0.1:1/a"),
    );
    let b = Arc::new(
        ScriptedProvider::new("b:two", vec![err(ProviderErrorKind::QuotaExhausted { resets_at_unix_ms: None })])
            .with_endpoint("http://127.0.0.1:1/b"),
    );
    let cascade = cascade_of(&[(&a, None), (&b, None)]);
    cascade.complete(ask("q")).await.unwrap_err();
    assert_eq!(cascade.endpoint().as_deref(), Some("http://127.0.0.1:1/a"));
    assert_eq!(cascade.capabilities(), None, "the first member has none");
}
