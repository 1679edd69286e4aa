//! `BudgetLayer`: refusals before sending. Providers are the `ScriptedProvider` test double.

use crate::common::ask;
use crate::layers_support::*;
use agent_core::LlmProvider;
use agent_core::budget::Budget;
use agent_core::budget::Usd;
use agent_core::event::TaskId;
use agent_core::provider::{ProviderErrorKind, Usage};
use agent_loop::MemoryJournal;
use agent_providers::ScriptedReply;
use agent_providers::layers::{BudgetLayer, CostMeter, PriceTable, Retry, RetryPolicy, SharedBudget};
use std::sync::Arc;

#[tokio::test]
async fn a_spent_token_budget_refuses_before_the_request_is_sent() {
    let p = scripted(
        "openai:gpt-4.1-mini",
        vec![ScriptedReply::text_with_usage("first", usage(80, 0, 30)), ScriptedReply::text("never")],
    );
    let budget = SharedBudget::new(Budget::unlimited().with_max_tokens(100));
    let layer = BudgetLayer::new(dyn_of(&p), budget.clone());
    assert_eq!(layer.complete(ask("one")).await.unwrap().content, "first");

    let e = layer.complete(ask("two")).await.unwrap_err();
    assert_eq!(e.kind, ProviderErrorKind::QuotaExhausted { resets_at_unix_ms: None });
    assert!(!e.kind.is_transient());
    assert!(e.message.contains("task budget exhausted") && e.message.contains("110 of 100"), "{}", e.message);
    assert_eq!(p.requests().len(), 1, "the refused request never reached the provider");
    assert_eq!(budget.snapshot().usage().total(), 110);

    let e = layer.stream(ask("three")).await.err().unwrap();
    assert!(e.message.contains("task budget exhausted"));
    assert_eq!(p.requests().len(), 1);
}

#[tokio::test]
async fn the_cost_ceiling_uses_the_cost_the_meter_computed_and_retry_does_not_retry_a_refusal() {
    // 1M input tokens of gpt-4.1-mini cost $0.40 (hand-computed), over a $0.25 ceiling.
    let p = scripted(
        "openai:gpt-4.1-mini",
        vec![ScriptedReply::text_with_usage("x", usage(1_000_000, 0, 0)), ScriptedReply::text("never")],
    );
    let budget = SharedBudget::new(Budget::unlimited().with_max_cost(Usd::from_dollars(0.25)));
    let meter = CostMeter::new(dyn_of(&p), PriceTable::builtin(), Arc::new(MemoryJournal::default()), TaskId::new("t"));
    let stack = Retry::new(BudgetLayer::new(meter, budget.clone()), RetryPolicy::default());
    stack.complete(ask("one")).await.unwrap();
    assert_eq!(budget.snapshot().cost_usd(), Usd::from_dollars(0.40));

    let e = stack.complete(ask("two")).await.unwrap_err();
    assert!(e.message.contains("cost budget exhausted"), "{}", e.message);
    assert_eq!(p.requests().len(), 1);
}

#[tokio::test]
async fn a_stream_records_its_usage_when_done() {
    let p = scripted("x:m", vec![ScriptedReply::text_stream("x:m", &["a"], usage(5, 0, 7))]);
    let budget = SharedBudget::new(Budget::unlimited());
    let layer = BudgetLayer::new(dyn_of(&p), budget.clone());
    drain(layer.stream(ask("q")).await.unwrap()).await;
    assert_eq!(budget.snapshot().usage(), Usage::new(5, 7));
    assert_eq!(budget.snapshot().turns(), 1);
}
