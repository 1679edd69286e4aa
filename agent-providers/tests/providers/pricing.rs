//! The price table, checked against OpenAI's published list prices.

use agent_core::budget::Usd;
use agent_core::provider::Usage;
use agent_providers::{cost_usd, price_for};

fn usage(input: u64, cached: u64, output: u64) -> Usage {
    Usage::new(input, output).with_cached_input(cached)
}

#[test]
fn a_million_tokens_of_each_kind_costs_the_list_price() {
    // gpt-4o: $2.50 input, $1.25 cached input, $10.00 output per million tokens.
    let cost = cost_usd("gpt-4o", &usage(2_000_000, 1_000_000, 1_000_000)).unwrap();
    assert_eq!(cost, Usd::from_dollars(2.50 + 1.25 + 10.00), "cost was {cost}");
}

#[test]
fn common_openai_models_are_priced() {
    for model in ["gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-4o", "gpt-4o-mini", "o4-mini"] {
        let price = price_for(model).unwrap_or_else(|| panic!("{model} has no price"));
        assert!(price.cached_input_per_mtok < price.input_per_mtok, "{model}: cached input is cheaper");
        assert!(price.input_per_mtok < price.output_per_mtok, "{model}: output is dearer");
    }
}

#[test]
fn dated_snapshot_names_are_priced_like_the_model() {
    assert_eq!(price_for("gpt-4.1-nano-2025-04-14"), price_for("gpt-4.1-nano"));
}

#[test]
fn unknown_models_have_no_price() {
    assert_eq!(price_for("qwen2.5:7b"), None);
    assert_eq!(cost_usd("claude-unknown", &usage(10, 0, 10)), None);
}

#[test]
fn every_hosted_model_in_the_capability_table_has_a_price() {
    use agent_providers::ProviderKind;
    use agent_providers::capabilities::CapabilityTable;
    use agent_providers::layers::PriceTable;
    let table = PriceTable::builtin().without_fallback();
    let mut checked = 0;
    // Ollama models run on the host's own hardware: they have no list price.
    for (kind, model, _) in CapabilityTable::builtin().entries().filter(|(k, _, _)| *k != ProviderKind::Ollama) {
        assert!(table.price(model).is_some(), "{kind}:{model} has capabilities but no price");
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} hosted models in the capability table");
}

#[test]
fn dated_claude_names_price_cache_writes_at_the_cache_write_rate() {
    use agent_providers::layers::PriceTable;
    // claude-sonnet-4-5: $3 input, $3.75 5-minute cache write, $0.30 cache read.
    let writes = Usage::new(1_000_000, 0).with_cache_write_input(1_000_000);
    let expected = Usd::from_dollars(3.75);
    assert_eq!(cost_usd("claude-sonnet-4-5-20250929", &writes), Some(expected));
    assert_eq!(PriceTable::builtin().cost("claude-sonnet-4-5-20250929", &writes), Some(expected));
    // A host table without the model prices it from the shipped table, cache-write rate kept.
    let host = PriceTable::from_json(r#"{"models": {"my-model": {"input": 1.0, "output": 2.0}}}"#).unwrap();
    assert_eq!(host.cost("claude-opus-4-5-20251101", &writes), Some(Usd::from_dollars(6.25)));
    assert_eq!(host.cost("claude-3-7-sonnet-20250219", &writes), Some(expected));
}

#[test]
fn the_providers_figure_and_the_cost_meter_agree_on_every_model() {
    use agent_providers::capabilities::CapabilityTable;
    use agent_providers::layers::PriceTable;
    let meter = PriceTable::builtin();
    let usage = Usage::new(3_000_000, 1_000_000).with_cached_input(1_000_000).with_cache_write_input(1_000_000);
    for (_, model, _) in CapabilityTable::builtin().entries() {
        assert_eq!(cost_usd(model, &usage), meter.cost(model, &usage), "{model}");
    }
    // Gemini 2.5 cached input is billed at 10% of input (Google's current rate).
    let cached = Usage::new(1_000_000, 0).with_cached_input(1_000_000);
    assert_eq!(cost_usd("models/gemini-2.5-flash", &cached), Some(Usd::from_dollars(0.03)));
}
