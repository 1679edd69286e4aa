//! `ProviderStack`: the layers in their documented order. Providers are the
//! `ScriptedProvider` test double; time is tokio's paused clock.

use crate::common::ask;
use crate::layers_support::*;
use agent_core::LlmProvider;
use agent_core::budget::Budget;
use agent_core::event::{EventKind, TaskId};
use agent_core::provider::ProviderErrorKind;
use agent_loop::MemoryJournal;
use agent_providers::ScriptedReply;
use agent_providers::layers::{Cascade, CascadeEntry, PriceTable, ProviderStack, RetryPolicy, SharedBudget};
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
