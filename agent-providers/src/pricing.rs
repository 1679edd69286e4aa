//! The price table: what a model costs per million tokens, and the cost of one call.
//!
//! Prices are the providers' published list prices in US dollars per million
//! tokens (standard tier, prompts of at most 200k tokens where the price steps
//! up beyond): OpenAI, Anthropic (cache writes at the 5-minute rate) and Google
//! Gemini (paid tier; cache storage is not a per-call cost and is left out).
//! There is one table, `src/layers/prices.json`: these functions read it as
//! [`PriceTable::builtin`] does, so the providers' own figure and the cost
//! meter's never disagree.
//!
//! Input tokens are split into cache reads, cache writes and the rest, each
//! billed at its rate:
//! `(input − cached − cache_write) · input_rate + cached · cached_rate
//!  + cache_write · cache_write_rate + output · output_rate`.
//!
//! ```
//! use agent_core::provider::Usage;
//! use agent_providers::pricing::{cost_usd, price_for};
//!
//! assert!(price_for("gpt-4.1-mini").is_some());
//! let usage = Usage::new(1_000_000, 0);
//! let list_price = price_for("gpt-4.1-mini").map(|p| p.input_per_mtok).unwrap();
//! assert_eq!(cost_usd("gpt-4.1-mini", &usage).map(|c| c.dollars()), Some(list_price));
//! assert_eq!(cost_usd("some-local-model", &usage), None);
//! // Anthropic snapshot names (`-YYYYMMDD`) and `-latest` aliases are priced as their model.
//! assert_eq!(price_for("claude-sonnet-4-20250514"), price_for("claude-sonnet-4"));
//! ```

use crate::layers::{ModelPrice, PriceTable};
use agent_core::budget::Usd;
use agent_core::provider::Usage;

pub use crate::model_names::model_names;

/// The price of one model, in US dollars per million tokens.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Price {
    /// Uncached prompt tokens.
    pub input_per_mtok: f64,
    /// Prompt tokens served from the prompt cache.
    pub cached_input_per_mtok: f64,
    /// Generated tokens (reasoning tokens included).
    pub output_per_mtok: f64,
    /// Prompt tokens written to the prompt cache (Anthropic bills them above the
    /// input rate; for other providers this equals `input_per_mtok`).
    pub cache_write_per_mtok: f64,
}

impl Price {
    /// The cost of `usage` at this price, in US dollars.
    ///
    /// Cache reads and writes are parts of `usage.input_tokens`; counts beyond
    /// it are clamped so no token is billed twice.
    pub fn cost(&self, usage: &Usage) -> Usd {
        let cached = usage.cached_input_tokens.min(usage.input_tokens);
        let written = usage.cache_write_input_tokens.min(usage.input_tokens - cached);
        let uncached = usage.input_tokens - cached - written;
        Usd::from_dollars(
            (uncached as f64 * self.input_per_mtok
                + cached as f64 * self.cached_input_per_mtok
                + written as f64 * self.cache_write_per_mtok
                + usage.output_tokens as f64 * self.output_per_mtok)
                / 1_000_000.0,
        )
    }
}

impl From<ModelPrice> for Price {
    /// The price with its defaults filled in: cache reads and writes at the
    /// input rate unless the table gives their own.
    fn from(p: ModelPrice) -> Self {
        Price {
            input_per_mtok: p.input,
            cached_input_per_mtok: p.cached_input.unwrap_or(p.input),
            output_per_mtok: p.output,
            cache_write_per_mtok: p.cache_write.unwrap_or(p.input),
        }
    }
}

/// The price of `model`, if the shipped table knows it.
///
/// The table is the one [`PriceTable::builtin`] reads (`src/layers/prices.json`),
/// looked up under the names of [`model_names`], so `gpt-4o-2024-08-06` is
/// priced as `gpt-4o`, `claude-3-5-haiku-latest` as `claude-3-5-haiku`,
/// `models/gemini-2.5-pro` as `gemini-2.5-pro` and a router's
/// `anthropic/claude-sonnet-4` as `claude-sonnet-4`.
pub fn price_for(model: &str) -> Option<Price> {
    PriceTable::shipped().price(model).map(Price::from)
}

/// The cost of one call of `model` with this usage, in US dollars, if the price is known.
pub fn cost_usd(model: &str, usage: &Usage) -> Option<Usd> {
    price_for(model).map(|p| p.cost(usage))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dated_snapshots_are_priced_as_their_model() {
        assert_eq!(price_for("gpt-4o-mini-2024-07-18"), price_for("gpt-4o-mini"));
        assert!(price_for("gpt-4o-mini").is_some());
        assert_eq!(price_for("gpt-4o-mini-latest"), None);
    }

    #[test]
    fn cached_tokens_beyond_input_are_not_billed_twice() {
        let p = Price::from(ModelPrice::new(1.0, 0.5, 2.0));
        let usage = Usage::new(10, 0).with_cached_input(50);
        assert_eq!(p.cost(&usage), Usd::from_dollars(10.0 * 0.5 / 1e6));
    }

    #[test]
    fn cache_writes_are_billed_at_their_own_rate_and_not_again_as_input() {
        let p = Price::from(ModelPrice::new(3.0, 0.30, 15.0).with_cache_write(3.75));
        let usage = Usage::new(3_000_000, 0).with_cached_input(1_000_000).with_cache_write_input(1_000_000);
        assert_eq!(p.cost(&usage), Usd::from_dollars(3.0 + 0.30 + 3.75));
    }
}
