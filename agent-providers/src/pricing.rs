//! The price table: what a model costs per million tokens, and the cost of one call.
//!
//! Prices are OpenAI's published list prices in US dollars per million tokens
//! (standard tier). Cached input tokens are billed at the cached rate and the
//! rest of the input at the full rate, so a call's cost is
//! `(input − cached) · input_rate + cached · cached_rate + output · output_rate`.
//!
//! ```
//! use agent_core::Usage;
//! use agent_providers::pricing::{cost_usd, price_for};
//!
//! assert!(price_for("gpt-4.1-mini").is_some());
//! let usage = Usage { input_tokens: 1_000_000, output_tokens: 0, cached_input_tokens: 0, reasoning_tokens: 0 };
//! assert_eq!(cost_usd("gpt-4.1-mini", &usage), price_for("gpt-4.1-mini").map(|p| p.input_per_mtok));
//! assert_eq!(cost_usd("some-local-model", &usage), None);
//! ```

use agent_core::Usage;

/// The price of one model, in US dollars per million tokens.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Price {
    /// Uncached prompt tokens.
    pub input_per_mtok: f64,
    /// Prompt tokens served from the prompt cache.
    pub cached_input_per_mtok: f64,
    /// Generated tokens (reasoning tokens included).
    pub output_per_mtok: f64,
}

impl Price {
    /// The cost of `usage` at this price, in US dollars.
    pub fn cost(&self, usage: &Usage) -> f64 {
        let cached = usage.cached_input_tokens.min(usage.input_tokens);
        let uncached = usage.input_tokens - cached;
        (uncached as f64 * self.input_per_mtok
            + cached as f64 * self.cached_input_per_mtok
            + usage.output_tokens as f64 * self.output_per_mtok)
            / 1_000_000.0
    }
}

const fn price(input: f64, cached: f64, output: f64) -> Price {
    Price { input_per_mtok: input, cached_input_per_mtok: cached, output_per_mtok: output }
}

/// Model name → price. Names are matched exactly, or with a dated snapshot
/// suffix (`gpt-4.1-mini-2025-04-14`) removed.
const TABLE: &[(&str, Price)] = &[
    ("gpt-5", price(1.25, 0.125, 10.00)),
    ("gpt-5-mini", price(0.25, 0.025, 2.00)),
    ("gpt-5-nano", price(0.05, 0.005, 0.40)),
    ("gpt-4.1", price(2.00, 0.50, 8.00)),
    ("gpt-4.1-mini", price(0.40, 0.10, 1.60)),
    ("gpt-4.1-nano", price(0.10, 0.025, 0.40)),
    ("gpt-4o", price(2.50, 1.25, 10.00)),
    ("gpt-4o-mini", price(0.15, 0.075, 0.60)),
    ("o3", price(2.00, 0.50, 8.00)),
    ("o4-mini", price(1.10, 0.275, 4.40)),
];

/// The price of `model`, if the table knows it.
///
/// Matches the name exactly or without a dated snapshot suffix
/// (`-YYYY-MM-DD`), so `gpt-4o-2024-08-06` is priced as `gpt-4o`.
pub fn price_for(model: &str) -> Option<Price> {
    let lookup = |name: &str| TABLE.iter().find(|(n, _)| *n == name).map(|(_, p)| *p);
    lookup(model).or_else(|| strip_date_suffix(model).and_then(lookup))
}

/// The cost of one call of `model` with this usage, in US dollars, if the price is known.
pub fn cost_usd(model: &str, usage: &Usage) -> Option<f64> {
    price_for(model).map(|p| p.cost(usage))
}

/// `gpt-4.1-2025-04-14` → `gpt-4.1`.
fn strip_date_suffix(model: &str) -> Option<&str> {
    let (head, tail) = model.split_at_checked(model.len().checked_sub(11)?)?;
    let bytes = tail.as_bytes();
    let shape_ok = bytes[0] == b'-'
        && bytes[5] == b'-'
        && bytes[8] == b'-'
        && bytes.iter().enumerate().all(|(i, b)| matches!(i, 0 | 5 | 8) || b.is_ascii_digit());
    shape_ok.then_some(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dated_snapshots_are_priced_as_their_model() {
        assert_eq!(price_for("gpt-4o-mini-2024-07-18"), price_for("gpt-4o-mini"));
        assert!(price_for("gpt-4o-mini").is_some());
        assert_eq!(strip_date_suffix("gpt-4o-mini"), None);
        assert_eq!(price_for("gpt-4o-mini-latest"), None);
    }

    #[test]
    fn cached_tokens_beyond_input_are_not_billed_twice() {
        let p = price(1.0, 0.5, 2.0);
        let usage = Usage { input_tokens: 10, output_tokens: 0, cached_input_tokens: 50, ..Usage::default() };
        assert!((p.cost(&usage) - 10.0 * 0.5 / 1e6).abs() < 1e-15);
    }
}
