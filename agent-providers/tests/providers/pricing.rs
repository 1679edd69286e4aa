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
