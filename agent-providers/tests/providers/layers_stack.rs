//! `ProviderStack`: the layers in their documented order, what they answer for
//! the provider they wrap, no double retry, and the idle limit per provider.
//! Providers are the `ScriptedProvider` test double; time is tokio's paused clock.

use crate::common::ask;
use crate::layers_support::*;
use agent_core::LlmProvider;
use agent_core::budget::Budget;
use agent_core::event::{EventKind, TaskId};
use agent_core::provider::{ModelCapabilities, ProviderErrorKind, ProviderId, ReasoningControl, StreamEvent};
use agent_loop::MemoryJournal;
use agent_providers::layers::{
    Cascade, CascadeEntry, IdleLimits, PriceTable, ProviderStack, RetryPolicy, SharedBudget, StackError,
};
use agent_providers::{ScriptedProvider, ScriptedReply, StreamStep};
use std::sync::Arc;
use std::time::Duration;

#[tokio::test(start_paused = true)]
async fn each_retry_attempt_is_metered_and_counted_against_the_budget() {
    let p = scripted(
        "openai:gpt-4.1-mini",
        vec![
            ScriptedReply::error(ProviderErrorKind::RateLimited { retry_after_ms: Some(1_000) }),
            ScriptedReply::text_with_usage("ok", usage(100, 0, 10)),
        ],
    );
    let journal = Arc::new(MemoryJournal::default());
    let budget = SharedBudget::new(Budget::unlimited().with_max_model_turns(5));
    let stack = ProviderStack::new(dyn_of(&p))
        .retry(RetryPolicy::default().with_jitter(0.0))
        .budget(budget.clone())
        .cost_meter(PriceTable::builtin(), journal.clone(), TaskId::new("t"))
        .idle_timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    assert_eq!(stack.complete(ask("q")).await.unwrap().content, "ok");
    let errors: Vec<Option<String>> = journal
        .all()
        .into_iter()
        .map(|e| match e.kind {
            EventKind::LlmCall { error, .. } => error,
            other => panic!("unexpected event {other:?}"),
        })
        .collect();
    assert_eq!(errors, [Some("rate_limited".to_owned()), None], "retry is outside the cost meter");
    assert_eq!(budget.snapshot().turns(), 2, "retry is outside the budget");
    assert!(budget.snapshot().cost_usd() > agent_core::budget::Usd::ZERO, "budget is outside the cost meter");
}

#[tokio::test(start_paused = true)]
async fn retry_around_a_cascade_waits_only_when_every_provider_cools_down() {
    let a = scripted(
        "a:one",
        vec![
            ScriptedReply::error(ProviderErrorKind::RateLimited { retry_after_ms: Some(4_000) }),
            ScriptedReply::text("one"),
        ],
    );
    let b =
        scripted("b:two", vec![ScriptedReply::error(ProviderErrorKind::RateLimited { retry_after_ms: Some(9_000) })]);
    let cascade = Arc::new(Cascade::new(vec![(dyn_of(&a), CascadeEntry::new()), (dyn_of(&b), CascadeEntry::new())]));
    let stack = ProviderStack::new(cascade.clone()).retry(RetryPolicy::default().with_jitter(0.0)).build().unwrap();
    let start = tokio::time::Instant::now();
    assert_eq!(stack.complete(ask("q")).await.unwrap().content, "one");
    assert_eq!(start.elapsed(), Duration::from_secs(4), "waited for the first provider's cool-down only");
}

fn reasoning_caps() -> ModelCapabilities {
    ModelCapabilities::new(400_000, 128_000).with_reasoning(ReasoningControl::Effort)
}

fn described(id: &str, replies: Vec<ScriptedReply>) -> Arc<ScriptedProvider> {
    Arc::new(
        ScriptedProvider::new(id, replies).with_capabilities(reasoning_caps()).with_endpoint("http://127.0.0.1:1/v1"),
    )
}

#[tokio::test(start_paused = true)]
async fn every_layer_answers_capabilities_and_endpoint_for_the_provider_it_wraps() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.json");
    let p = described("openai:gpt-5", vec![ScriptedReply::text("ok")]);
    let journal = Arc::new(MemoryJournal::default());
    let recording = ProviderStack::new(dyn_of(&p))
        .idle_timeout(Duration::from_secs(60))
        .record(&path)
        .cost_meter(PriceTable::builtin(), journal.clone(), TaskId::new("t"))
        .budget(SharedBudget::new(Budget::unlimited()))
        .retry(RetryPolicy::default())
        .build()
        .unwrap();
    assert_eq!(recording.capabilities(), Some(reasoning_caps()));
    assert_eq!(recording.endpoint().as_deref(), Some("http://127.0.0.1:1/v1"));
    recording.complete(ask("q")).await.unwrap();

    let replaying = ProviderStack::new(dyn_of(&p)).replay(&path).retry(RetryPolicy::default()).build().unwrap();
    assert_eq!(replaying.capabilities(), Some(reasoning_caps()), "a replay stands in for the provider");
    assert_eq!(replaying.endpoint().as_deref(), Some("http://127.0.0.1:1/v1"));
    assert_eq!(replaying.complete(ask("q")).await.unwrap().content, "ok");

    let both =
        ProviderStack::new(dyn_of(&p)).replay_or_record(&path).idle_limits(IdleLimits::default()).build().unwrap();
    assert_eq!(both.capabilities(), Some(reasoning_caps()));
    assert_eq!(both.endpoint().as_deref(), Some("http://127.0.0.1:1/v1"));

    let bare = ProviderStack::new(scripted("x:m", vec![])).retry(RetryPolicy::default()).build().unwrap();
    assert_eq!((bare.capabilities(), bare.endpoint()), (None, None));
}

fn server_errors(id: &str, n: usize) -> Arc<ScriptedProvider> {
    scripted(id, (0..n).map(|_| ScriptedReply::error(ProviderErrorKind::ServerError { status: 500 })).collect())
}

fn retry3() -> RetryPolicy {
    RetryPolicy::default().with_max_attempts(3).with_jitter(0.0)
}

#[tokio::test(start_paused = true)]
async fn retry_around_a_cascade_whose_members_retry_is_refused_with_a_typed_error() {
    let a = server_errors("a:one", 10);
    let b = server_errors("b:two", 10);
    let member = |p: &Arc<ScriptedProvider>| ProviderStack::new(dyn_of(p)).retry(retry3()).build().unwrap();
    let cascade = Arc::new(Cascade::new(vec![(member(&a), CascadeEntry::new()), (member(&b), CascadeEntry::new())]));
    assert_eq!(cascade.retrying_members(), [ProviderId::new("a:one"), ProviderId::new("b:two")]);

    match ProviderStack::new(cascade.clone()).retry(RetryPolicy::default()).build() {
        Err(StackError::DoubleRetry { provider, retrying }) => {
            assert_eq!(provider.as_str(), "cascade:a:one,b:two");
            assert_eq!(retrying, [ProviderId::new("a:one"), ProviderId::new("b:two")]);
        }
        other => panic!("expected DoubleRetry, got {:?}", other.map(|p| p.id().clone())),
    }
    // Under other layers too: a budget stack around the cascade, then a retry around that.
    let budgeted = ProviderStack::new(cascade.clone()).budget(SharedBudget::new(Budget::unlimited())).build().unwrap();
    let refused = ProviderStack::new(budgeted).retry(RetryPolicy::default()).build();
    assert!(matches!(refused, Err(StackError::DoubleRetry { .. })));
    // Without a retry of its own the cascade is fine in a stack.
    assert!(ProviderStack::new(cascade).budget(SharedBudget::new(Budget::unlimited())).build().is_ok());
}

#[tokio::test(start_paused = true)]
async fn retry_around_a_stack_that_already_retries_is_refused() {
    let inner = ProviderStack::new(scripted("a:one", vec![])).retry(retry3()).build().unwrap();
    let e = ProviderStack::new(inner).retry(retry3()).build().map(|_| ()).unwrap_err();
    assert!(matches!(&e, StackError::DoubleRetry { retrying, .. } if retrying == &[ProviderId::new("a:one")]));
    assert!(e.to_string().contains("would multiply the attempts"), "{e}");
}

#[tokio::test(start_paused = true)]
async fn a_server_error_gets_exactly_n_attempts_when_the_members_retry() {
    let a = server_errors("a:one", 10);
    let b = server_errors("b:two", 10);
    let member = |p: &Arc<ScriptedProvider>| ProviderStack::new(dyn_of(p)).retry(retry3()).build().unwrap();
    let cascade = Cascade::new(vec![(member(&a), CascadeEntry::new()), (member(&b), CascadeEntry::new())]);
    let e = cascade.complete(ask("q")).await.unwrap_err();
    assert_eq!(e.kind, ProviderErrorKind::ServerError { status: 500 });
    assert_eq!((a.requests().len(), b.requests().len()), (3, 3), "3 attempts each, not 3×M");
}

#[tokio::test(start_paused = true)]
async fn a_server_error_gets_exactly_n_attempts_when_retry_wraps_a_cascade_of_plain_members() {
    let a = server_errors("a:one", 10);
    let b = server_errors("b:two", 10);
    let cascade = Arc::new(Cascade::new(vec![(dyn_of(&a), CascadeEntry::new()), (dyn_of(&b), CascadeEntry::new())]));
    assert!(cascade.retrying_members().is_empty());
    let stack = ProviderStack::new(cascade).retry(retry3()).build().unwrap();
    let e = stack.complete(ask("q")).await.unwrap_err();
    assert_eq!(e.kind, ProviderErrorKind::ServerError { status: 500 });
    assert_eq!((a.requests().len(), b.requests().len()), (3, 3), "3 attempts of the cascade, one per member each");
}

#[tokio::test(start_paused = true)]
async fn the_idle_limit_comes_from_the_capabilities_and_an_override_wins() {
    let stalled =
        || ScriptedReply::stream(vec![StreamStep::Event(StreamEvent::Delta { text: "a".into() }), StreamStep::Stall]);
    let timed_out_after = |p: Arc<dyn LlmProvider>, limits: IdleLimits| async move {
        let stack = ProviderStack::new(p).idle_limits(limits).build().unwrap();
        let start = tokio::time::Instant::now();
        let items = drain(stack.stream(ask("q")).await.unwrap()).await;
        assert_eq!(items.last().unwrap().as_ref().unwrap_err().kind, ProviderErrorKind::Timeout);
        start.elapsed()
    };
    let reasoning = described("openai:gpt-5", vec![stalled()]);
    assert_eq!(timed_out_after(dyn_of(&reasoning), IdleLimits::default()).await, IdleLimits::REASONING);
    let chat = scripted("openai:gpt-4.1-mini", vec![stalled()]);
    assert_eq!(timed_out_after(dyn_of(&chat), IdleLimits::default()).await, IdleLimits::DEFAULT);
    let local = described("ollama:qwen3:32b", vec![stalled()]);
    let limits = IdleLimits::default().with_override("ollama", Duration::from_secs(900));
    assert_eq!(timed_out_after(dyn_of(&local), limits).await, Duration::from_secs(900));
    let exact = described("ollama:qwen3:32b", vec![stalled()]);
    let limits = IdleLimits::default()
        .with_override("ollama", Duration::from_secs(900))
        .with_override("ollama:qwen3:32b", Duration::from_secs(45));
    assert_eq!(
        timed_out_after(dyn_of(&exact), limits).await,
        Duration::from_secs(45),
        "the exact id wins over the kind"
    );
}
