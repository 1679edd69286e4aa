//! The price table: what a model costs per million tokens, and the cost of one call.
//!
//! Prices are the providers' published list prices in US dollars per million
//! tokens (standard tier, prompts of at most 200k tokens where the price steps
//! up beyond): OpenAI, Anthropic (cache writes at the 5-minute rate) and Google
//! Gemini (paid tier; cache storage is not a per-call cost and is left out).
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

use agent_core::budget::Usd;
use agent_core::provider::Usage;

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

/// A price whose cache writes cost the same as input.
const fn price(input: f64, cached: f64, output: f64) -> Price {
    Price { input_per_mtok: input, cached_input_per_mtok: cached, output_per_mtok: output, cache_write_per_mtok: input }
}

/// An Anthropic price: input, cache write (5-minute), cache read, output.
const fn anthropic(input: f64, cache_write: f64, cache_read: f64, output: f64) -> Price {
    Price {
        input_per_mtok: input,
        cached_input_per_mtok: cache_read,
        output_per_mtok: output,
        cache_write_per_mtok: cache_write,
    }
}

/// Model name → price. Names are matched exactly, or with a dated snapshot
/// suffix (`gpt-4.1-mini-2025-04-14`, `claude-sonnet-4-20250514`), a Claude `-latest`
/// alias suffix or a `models/` prefix (Gemini) removed.
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
    // Anthropic: input, 5-minute cache write, cache read, output.
    ("claude-opus-4-5", anthropic(5.00, 6.25, 0.50, 25.00)),
    ("claude-opus-4-1", anthropic(15.00, 18.75, 1.50, 75.00)),
    ("claude-opus-4", anthropic(15.00, 18.75, 1.50, 75.00)),
    ("claude-opus-4-0", anthropic(15.00, 18.75, 1.50, 75.00)),
    ("claude-sonnet-4-5", anthropic(3.00, 3.75, 0.30, 15.00)),
    ("claude-sonnet-4", anthropic(3.00, 3.75, 0.30, 15.00)),
    ("claude-sonnet-4-0", anthropic(3.00, 3.75, 0.30, 15.00)),
    ("claude-3-7-sonnet", anthropic(3.00, 3.75, 0.30, 15.00)),
    ("claude-haiku-4-5", anthropic(1.00, 1.25, 0.10, 5.00)),
    ("claude-3-5-haiku", anthropic(0.80, 1.00, 0.08, 4.00)),
    ("claude-3-haiku", anthropic(0.25, 0.30, 0.03, 1.25)),
    // Gemini (paid tier, prompts up to 200k tokens): input, cached input, output.
    ("gemini-2.5-pro", price(1.25, 0.125, 10.00)),
    ("gemini-2.5-flash", price(0.30, 0.03, 2.50)),
    ("gemini-2.5-flash-lite", price(0.10, 0.01, 0.40)),
    ("gemini-2.0-flash", price(0.10, 0.025, 0.40)),
    ("gemini-2.0-flash-lite", price(0.075, 0.075, 0.30)),
];

/// The price of `model`, if the table knows it.
///
/// Tries the names of [`model_names`] in order, so `gpt-4o-2024-08-06` is
/// priced as `gpt-4o`, `claude-3-5-haiku-latest` as `claude-3-5-haiku`,
/// `models/gemini-2.5-pro` as `gemini-2.5-pro` and a router's
/// `anthropic/claude-sonnet-4` as `claude-sonnet-4`.
pub fn price_for(model: &str) -> Option<Price> {
    let lookup = |name: &str| TABLE.iter().find(|(n, _)| *n == name).map(|(_, p)| *p);
    model_names(model).into_iter().find_map(lookup)
}

/// The names a price table looks `model` up under, in order: the name as
/// given; without a path prefix (`models/`, a router's `anthropic/`); then
/// without a dated snapshot suffix (`-YYYY-MM-DD` or `-YYYYMMDD`) or a
/// Claude `-latest` suffix. [`price_for`] and
/// [`PriceTable`](crate::layers::PriceTable) both use it, so a name one
/// prices the other prices too.
///
/// ```
/// use agent_providers::pricing::model_names;
///
/// assert_eq!(model_names("openai/gpt-4o-2024-08-06"), ["openai/gpt-4o-2024-08-06", "gpt-4o-2024-08-06", "gpt-4o"]);
/// assert_eq!(model_names("claude-3-5-haiku-latest"), ["claude-3-5-haiku-latest", "claude-3-5-haiku"]);
/// assert_eq!(model_names("o3"), ["o3"]);
/// ```
pub fn model_names(model: &str) -> Vec<&str> {
    let mut names = vec![model];
    let bare = model.rsplit('/').next().unwrap_or(model);
    if bare != model && !bare.is_empty() {
        names.push(bare);
    }
    let dateless = strip_date_suffix(bare)
        .or_else(|| strip_compact_date_suffix(bare))
        .or_else(|| bare.strip_prefix("claude-").and(bare.strip_suffix("-latest")));
    names.extend(dateless);
    names
}

/// The cost of one call of `model` with this usage, in US dollars, if the price is known.
pub fn cost_usd(model: &str, usage: &Usage) -> Option<Usd> {
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

/// `claude-sonnet-4-20250514` → `claude-sonnet-4`.
fn strip_compact_date_suffix(model: &str) -> Option<&str> {
    let (head, tail) = model.split_at_checked(model.len().checked_sub(9)?)?;
    let bytes = tail.as_bytes();
    (bytes[0] == b'-' && bytes[1..].iter().all(u8::is_ascii_digit)).then_some(head)
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
        let usage = Usage::new(10, 0).with_cached_input(50);
        assert_eq!(p.cost(&usage), Usd::from_dollars(10.0 * 0.5 / 1e6));
    }

    #[test]
    fn cache_writes_are_billed_at_their_own_rate_and_not_again_as_input() {
        let p = anthropic(3.0, 3.75, 0.30, 15.0);
        let usage = Usage::new(3_000_000, 0).with_cached_input(1_000_000).with_cache_write_input(1_000_000);
        assert_eq!(p.cost(&usage), Usd::from_dollars(3.0 + 0.30 + 3.75));
        assert_eq!(strip_compact_date_suffix("claude-3-5-haiku-20241022"), Some("claude-3-5-haiku"));
        assert_eq!(strip_compact_date_suffix("gemini-2.5-pro"), None);
    }
}
