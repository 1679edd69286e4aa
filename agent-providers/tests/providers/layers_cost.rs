//! `CostMeter`: prices from the table, one journal event per call, host overrides.
//! Providers are the `ScriptedProvider` test double.

use crate::common::ask;
use crate::layers_support::*;
use agent_core::budget::Usd;
use agent_core::event::{Event, EventKind, TaskId};
use agent_core::provider::{Completion, ProviderErrorKind, ProviderId, StreamEvent};
use agent_core::{Journal, LlmProvider};
use agent_loop::MemoryJournal;
use agent_providers::layers::{CostMeter, ModelPrice, PriceTable, Unpriced, UnpricedLog};
use agent_providers::{ScriptedReply, StreamStep};
use std::sync::Arc;
use std::time::Duration;

fn close(a: Usd, b: f64) -> bool {
    a == Usd::from_dollars(b)
}

async fn events(journal: &MemoryJournal, task: &str) -> Vec<Event> {
    journal.events(&TaskId::new(task)).await.unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_call_is_priced_from_the_table_and_journaled_once_with_tokens_and_latency() {
    // gpt-4.1-mini: $0.40 input, $0.10 cached input, $1.60 output per million.
    // 800k uncached · 0.40 + 200k cached · 0.10 + 500k output · 1.60 = 0.32 + 0.02 + 0.80.
    let p = scripted(
        "openai:gpt-4.1-mini",
        vec![ScriptedReply::delayed(
            Duration::from_millis(250),
            ScriptedReply::text_with_usage("priced", usage(1_000_000, 200_000, 500_000)),
        )],
    );
    let journal = Arc::new(MemoryJournal::default());
    let meter = CostMeter::new(dyn_of(&p), PriceTable::builtin(), journal.clone(), TaskId::new("t1"));
    let out = meter.complete(ask("q")).await.unwrap();
    assert!(close(out.cost_usd.unwrap(), 1.14), "{:?}", out.cost_usd);

    let events = events(&journal, "t1").await;
    assert_eq!(events.len(), 1);
    match &events[0].kind {
        EventKind::LlmCall {
            provider,
            purpose,
            input_tokens,
            output_tokens,
            cached_tokens,
            cost_usd,
            latency_ms,
            error,
        } => {
            assert_eq!(provider, "openai:gpt-4.1-mini");
            assert_eq!(purpose, "provider_call");
            assert_eq!((*input_tokens, *output_tokens, *cached_tokens), (1_000_000, 500_000, 200_000));
            assert!(close(cost_usd.unwrap(), 1.14));
            assert_eq!(*latency_ms, 250);
            assert_eq!(*error, None);
        }
        other => panic!("expected an LLM call event, got {other:?}"),
    }
}

#[tokio::test]
async fn a_host_override_changes_the_price() {
    let p =
        scripted("openai:gpt-4.1-mini", vec![ScriptedReply::text_with_usage("x", usage(1_000_000, 200_000, 500_000))]);
    let table = PriceTable::builtin().with_price("gpt-4.1-mini", ModelPrice::new(1.0, 0.5, 2.0));
    let journal = Arc::new(MemoryJournal::default());
    let meter = CostMeter::new(dyn_of(&p), table, journal.clone(), TaskId::new("t"));
    // 800k · 1.0 + 200k · 0.5 + 500k · 2.0 = 0.8 + 0.1 + 1.0.
    assert!(close(meter.complete(ask("q")).await.unwrap().cost_usd.unwrap(), 1.9));
}

#[tokio::test]
async fn a_model_added_from_json_is_priced_and_an_unknown_one_is_not() {
    let table =
        PriceTable::builtin().merge_json(r#"{"models": {"my-local-llama": {"input": 0.5, "output": 1.0}}}"#).unwrap();
    let journal = Arc::new(MemoryJournal::default());
    let known =
        scripted("ollama:my-local-llama", vec![ScriptedReply::text_with_usage("x", usage(2_000_000, 0, 1_000_000))]);
    let out = CostMeter::new(dyn_of(&known), table.clone(), journal.clone(), TaskId::new("t")).complete(ask("q")).await;
    assert!(close(out.unwrap().cost_usd.unwrap(), 2.0));

    let unknown = scripted("ollama:mystery", vec![ScriptedReply::text_with_usage("x", usage(10, 0, 10))]);
    let out = CostMeter::new(dyn_of(&unknown), table, journal.clone(), TaskId::new("t")).complete(ask("q")).await;
    assert_eq!(out.unwrap().cost_usd, None);
    assert!(matches!(events(&journal, "t").await[1].kind, EventKind::LlmCall { cost_usd: None, .. }));
}

#[tokio::test]
async fn a_failed_call_is_journaled_with_its_error_class_and_a_host_purpose() {
    let p = scripted("openai:gpt-4.1-mini", vec![ScriptedReply::error(ProviderErrorKind::Auth)]);
    let journal = Arc::new(MemoryJournal::default());
    let meter =
        CostMeter::new(dyn_of(&p), PriceTable::builtin(), journal.clone(), TaskId::new("t")).with_purpose("repair");
    meter.complete(ask("q")).await.unwrap_err();
    let events = events(&journal, "t").await;
    assert_eq!(events.len(), 1);
    assert!(matches!(
        &events[0].kind,
        EventKind::LlmCall { purpose, error: Some(class), cost_usd: None, .. } if purpose == "repair" && class == "auth"
    ));
}

#[tokio::test]
async fn a_stream_is_priced_on_done_and_journaled_once() {
    let p = scripted(
        "openai:gpt-4.1-nano",
        vec![ScriptedReply::text_stream("openai:gpt-4.1-nano", &["a", "b", "c"], usage(1_000_000, 0, 1_000_000))],
    );
    let journal = Arc::new(MemoryJournal::default());
    let meter = CostMeter::new(dyn_of(&p), PriceTable::builtin(), journal.clone(), TaskId::new("t"));
    let items = drain(meter.stream(ask("q")).await.unwrap()).await;
    // gpt-4.1-nano: $0.10 input + $0.40 output per million.
    match items.last() {
        Some(Ok(StreamEvent::Done { completion })) => assert!(close(completion.cost_usd.unwrap(), 0.5)),
        other => panic!("expected Done, got {other:?}"),
    }
    let events = events(&journal, "t").await;
    assert_eq!(events.len(), 1);
    assert!(
        matches!(&events[0].kind, EventKind::LlmCall { output_tokens: 1_000_000, cost_usd: Some(c), .. } if close(*c, 0.5))
    );
}

/// A scripted reply whose completion carries no cost: a `Done` event built
/// by hand, as a provider that does not price its calls answers.
fn costless(provider: &str, model: Option<&str>, usage: agent_core::provider::Usage) -> ScriptedReply {
    let mut completion = Completion::new(ProviderId::new(provider), "answer").with_usage(usage);
    if let Some(m) = model {
        completion = completion.with_model(m);
    }
    assert_eq!(completion.cost_usd, None);
    ScriptedReply::stream(vec![StreamStep::Event(StreamEvent::Done { completion })])
}

#[tokio::test]
async fn a_completion_without_a_cost_is_priced_from_the_table_by_its_usage_and_model() {
    // A router answering for a priced model under a vendor prefix, with no cost of its own:
    // gpt-4.1-mini, 1M input · 0.40 + 1M output · 1.60.
    let p = scripted(
        "openrouter:openai/gpt-4.1-mini",
        vec![
            costless(
                "openrouter:openai/gpt-4.1-mini",
                Some("openai/gpt-4.1-mini-2025-04-14"),
                usage(1_000_000, 0, 1_000_000),
            ),
            costless("openrouter:openai/gpt-4.1-mini", None, usage(1_000_000, 0, 1_000_000)),
        ],
    );
    let journal = Arc::new(MemoryJournal::default());
    let meter = CostMeter::new(dyn_of(&p), PriceTable::builtin().without_fallback(), journal.clone(), TaskId::new("t"));
    assert!(close(meter.complete(ask("q")).await.unwrap().cost_usd.unwrap(), 2.0), "priced by the reported model");
    let streamed = drain(meter.stream(ask("q")).await.unwrap()).await;
    match streamed.last() {
        Some(Ok(StreamEvent::Done { completion })) => {
            assert!(close(completion.cost_usd.unwrap(), 2.0), "priced by the provider's model")
        }
        other => panic!("expected Done, got {other:?}"),
    }
    assert!(meter.unpriced().is_empty());
    let events = events(&journal, "t").await;
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|e| matches!(&e.kind, EventKind::LlmCall { cost_usd: Some(c), .. } if close(*c, 2.0))));
}

#[tokio::test]
async fn a_model_missing_from_the_table_is_reported_unpriced_not_free() {
    let p =
        scripted("ollama:mystery-7b", vec![costless("ollama:mystery-7b", Some("mystery-7b:q4"), usage(5_000, 0, 100))]);
    let journal = Arc::new(MemoryJournal::default());
    let log = UnpricedLog::new();
    let meter = CostMeter::new(dyn_of(&p), PriceTable::builtin(), journal.clone(), TaskId::new("t"))
        .with_unpriced_log(log.clone());
    let out = meter.complete(ask("q")).await.unwrap();
    assert_eq!(out.cost_usd, None, "unknown, not $0");
    let calls = log.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].task, TaskId::new("t"));
    assert_eq!(calls[0].provider, "ollama:mystery-7b");
    assert_eq!(calls[0].why, Unpriced::UnknownModel { models: vec!["mystery-7b:q4".into(), "mystery-7b".into()] });
    assert!(calls[0].why.to_string().contains("mystery-7b:q4 or mystery-7b"), "{}", calls[0].why);
    assert!(matches!(events(&journal, "t").await[0].kind, EventKind::LlmCall { cost_usd: None, error: None, .. }));
}

#[tokio::test]
async fn a_priced_model_that_reported_no_usage_is_unpriced_not_zero() {
    let p = scripted("openai:gpt-4.1-mini", vec![costless("openai:gpt-4.1-mini", None, usage(0, 0, 0))]);
    let journal = Arc::new(MemoryJournal::default());
    let meter = CostMeter::new(dyn_of(&p), PriceTable::builtin(), journal.clone(), TaskId::new("t"));
    assert_eq!(meter.complete(ask("q")).await.unwrap().cost_usd, None);
    assert_eq!(meter.unpriced().calls()[0].why, Unpriced::NoUsage { model: "gpt-4.1-mini".into() });
}

#[tokio::test]
async fn the_providers_own_figure_is_kept_when_the_table_cannot_price_the_call() {
    let completion = Completion::new(ProviderId::new("custom:house-model"), "x")
        .with_usage(usage(100, 0, 100))
        .with_cost(Some(Usd::from_dollars(0.25)));
    let p = scripted(
        "custom:house-model",
        vec![ScriptedReply::stream(vec![StreamStep::Event(StreamEvent::Done { completion })])],
    );
    let journal = Arc::new(MemoryJournal::default());
    let meter = CostMeter::new(dyn_of(&p), PriceTable::builtin(), journal.clone(), TaskId::new("t"));
    assert!(close(meter.complete(ask("q")).await.unwrap().cost_usd.unwrap(), 0.25));
    assert!(meter.unpriced().is_empty(), "the provider priced it");
}

#[test]
fn the_table_and_the_providers_pricing_accept_the_same_model_names() {
    let table = PriceTable::builtin().without_fallback();
    for name in ["claude-sonnet-4-20250514", "anthropic/claude-sonnet-4", "models/gemini-2.5-pro", "gpt-4o-2024-08-06"]
    {
        assert!(table.price(name).is_some(), "the table prices {name}");
        assert!(agent_providers::price_for(name).is_some(), "pricing prices {name}");
    }
}
