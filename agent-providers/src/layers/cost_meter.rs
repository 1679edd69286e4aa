//! [`CostMeter`]: prices every call from a [`PriceTable`] and journals it.

use crate::model_names::model_names;
use agent_core::budget::Usd;
use agent_core::event::{Event, EventKind, TaskId};
use agent_core::provider::{
    Completion, CompletionRequest, CompletionStream, ModelCapabilities, ProviderError, ProviderId, StreamEvent, Usage,
};
use agent_core::{Journal, LlmProvider, async_trait};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use tokio::time::Instant;

/// The price table shipped with the crate (`src/layers/prices.json`): the
/// only price data of the crate ([`crate::pricing`] reads it too).
const BUILTIN_PRICES: &str = include_str!("prices.json");

/// [`BUILTIN_PRICES`], parsed once. The shipped file is checked by a unit
/// test; an empty table is the harmless fallback should it ever not parse.
static SHIPPED: LazyLock<PriceTable> =
    LazyLock::new(|| PriceTable::from_json(BUILTIN_PRICES).unwrap_or_else(|_| PriceTable::empty()));

/// The price of one model, in US dollars per million tokens.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ModelPrice {
    /// Uncached prompt tokens.
    pub input: f64,
    /// Prompt tokens read from a cache (default: `input`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_input: Option<f64>,
    /// Prompt tokens written to a cache (default: `input`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write: Option<f64>,
    /// Generated tokens, reasoning included.
    pub output: f64,
}

impl ModelPrice {
    /// A price with these rates (per million tokens); cache writes at the input rate.
    pub fn new(input: f64, cached_input: f64, output: f64) -> Self {
        Self { input, cached_input: Some(cached_input), cache_write: None, output }
    }

    /// Sets the cache-write rate (per million tokens).
    pub fn with_cache_write(mut self, cache_write: f64) -> Self {
        self.cache_write = Some(cache_write);
        self
    }

    /// The cost of `usage` at this price, in US dollars.
    ///
    /// `usage.input_tokens` includes cached reads and cache writes (see
    /// [`Usage`]); each part is billed at its own rate and the rest at `input`:
    /// `(input − cached − written)·input + cached·cached_input + written·cache_write + output·output`.
    pub fn cost(&self, usage: &Usage) -> Usd {
        let cached = usage.cached_input_tokens.min(usage.input_tokens);
        let written = usage.cache_write_input_tokens.min(usage.input_tokens - cached);
        let plain = usage.input_tokens - cached - written;
        Usd::from_dollars(
            (plain as f64 * self.input
                + cached as f64 * self.cached_input.unwrap_or(self.input)
                + written as f64 * self.cache_write.unwrap_or(self.input)
                + usage.output_tokens as f64 * self.output)
                / 1_000_000.0,
        )
    }
}

/// A price table that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("price table is not valid: {0}")]
pub struct PriceTableError(String);

#[derive(Deserialize)]
struct PriceFile {
    models: BTreeMap<String, ModelPrice>,
}

/// Model name → [`ModelPrice`], as data.
///
/// The JSON form is `{"models": {"gpt-4.1-mini": {"input": 0.4,
/// "cached_input": 0.1, "cache_write": 0.4, "output": 1.6}, …}}` (rates per
/// million tokens; `cached_input` and `cache_write` default to `input`).
/// [`PriceTable::builtin`] is the table shipped with the crate; a host
/// overrides or adds prices with [`PriceTable::with_price`] or
/// [`PriceTable::merge_json`]. Names match exactly or with a dated snapshot
/// suffix or a path prefix removed (`gpt-4o-2024-08-06` → `gpt-4o`,
/// `anthropic/claude-sonnet-4` → `claude-sonnet-4`: the names of
/// [`crate::model_names::model_names`]). Unless
/// [`PriceTable::without_fallback`] was called, a model a table read from
/// JSON lacks is priced from the shipped table (the one [`crate::pricing`]
/// reads too).
#[derive(Clone, Debug, PartialEq)]
pub struct PriceTable {
    models: BTreeMap<String, ModelPrice>,
    fallback: bool,
}

impl Default for PriceTable {
    fn default() -> Self {
        Self::builtin()
    }
}

impl PriceTable {
    /// The table shipped with the crate.
    pub fn builtin() -> Self {
        SHIPPED.clone()
    }

    /// The shipped table, parsed once.
    pub(crate) fn shipped() -> &'static Self {
        &SHIPPED
    }

    /// A table with no prices and no fallback.
    pub fn empty() -> Self {
        Self { models: BTreeMap::new(), fallback: false }
    }

    /// A table read from JSON (`{"models": {…}}`), with the fallback on.
    pub fn from_json(json: &str) -> Result<Self, PriceTableError> {
        let file: PriceFile = serde_json::from_str(json).map_err(|e| PriceTableError(e.to_string()))?;
        Ok(Self { models: file.models, fallback: true })
    }

    /// Adds or replaces the prices in `json` (same form as [`PriceTable::from_json`]).
    pub fn merge_json(mut self, json: &str) -> Result<Self, PriceTableError> {
        let file: PriceFile = serde_json::from_str(json).map_err(|e| PriceTableError(e.to_string()))?;
        self.models.extend(file.models);
        Ok(self)
    }

    /// Adds or replaces the price of `model`.
    pub fn with_price(mut self, model: impl Into<String>, price: ModelPrice) -> Self {
        self.models.insert(model.into(), price);
        self
    }

    /// Stops pricing models this table lacks from the shipped table.
    pub fn without_fallback(mut self) -> Self {
        self.fallback = false;
        self
    }

    /// How many models the table itself prices.
    pub fn len(&self) -> usize {
        self.models.len()
    }

    /// Whether the table itself prices no model.
    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }

    /// The price of `model`, if known.
    pub fn price(&self, model: &str) -> Option<ModelPrice> {
        self.own_price(model).or_else(|| if self.fallback { SHIPPED.own_price(model) } else { None })
    }

    /// The price of `model` in this table itself, under the names of [`model_names`].
    fn own_price(&self, model: &str) -> Option<ModelPrice> {
        model_names(model).into_iter().find_map(|name| self.models.get(name).copied())
    }

    /// The cost of one call of `model` with `usage`, in US dollars, if the price is known.
    pub fn cost(&self, model: &str, usage: &Usage) -> Option<Usd> {
        self.price(model).map(|p| p.cost(usage))
    }

    /// The cost of `completion` from its usage and model: the model it
    /// reported first, else the model part of its provider id. A completion
    /// that reported no token usage, or whose models the table does not
    /// know, is [`Unpriced`]: its cost is unknown, which is not $0.
    pub fn price_completion(&self, completion: &Completion) -> Result<Usd, Unpriced> {
        let models: Vec<String> = completion
            .model
            .iter()
            .map(String::as_str)
            .chain(std::iter::once(completion.provider.model()))
            .filter(|m| !m.is_empty())
            .fold(Vec::new(), |mut seen, m| {
                if !seen.iter().any(|s: &String| s == m) {
                    seen.push(m.to_owned());
                }
                seen
            });
        let Some((model, price)) = models.iter().find_map(|m| self.price(m).map(|p| (m, p))) else {
            return Err(Unpriced::UnknownModel { models });
        };
        if completion.usage.total() == 0 {
            return Err(Unpriced::NoUsage { model: model.clone() });
        }
        Ok(price.cost(&completion.usage))
    }
}

/// Why a call has no price. Its cost is unknown, never counted as $0: the
/// completion keeps `cost_usd: None` (or the provider's own figure) and the
/// call is reported to the meter's [`UnpricedLog`] and as a warning.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Unpriced {
    /// Neither the model the completion reported nor its provider's model is
    /// in the table.
    #[error("no price for model {}", if models.is_empty() { "(none named)".to_owned() } else { models.join(" or ") })]
    UnknownModel {
        /// The model names looked up, reported one first.
        models: Vec<String>,
    },
    /// The model is priced but the completion reported no token usage, so
    /// what it cost cannot be computed.
    #[error("model {model} is priced but the call reported no token usage")]
    NoUsage {
        /// The priced model.
        model: String,
    },
}

/// One call a [`CostMeter`] could not price.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnpricedCall {
    /// The task the call served.
    pub task: TaskId,
    /// The provider that answered (`KIND:MODEL`).
    pub provider: String,
    /// Why it has no price.
    pub why: Unpriced,
}

/// The calls a meter could not price (and did not get a figure for from the
/// provider), shared between the meter and the host. Cloning shares the log.
#[derive(Clone, Debug, Default)]
pub struct UnpricedLog(Arc<Mutex<Vec<UnpricedCall>>>);

impl UnpricedLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// The unpriced calls so far, oldest first.
    pub fn calls(&self) -> Vec<UnpricedCall> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// How many calls were unpriced.
    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Whether every call was priced.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn push(&self, call: UnpricedCall) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).push(call);
    }
}

struct Meter {
    table: PriceTable,
    journal: Arc<dyn Journal>,
    task: TaskId,
    purpose: String,
    unpriced: UnpricedLog,
}

impl Meter {
    /// Sets the completion's cost from the table
    /// ([`PriceTable::price_completion`]). When the table cannot price it,
    /// the provider's own figure is kept; without one the call is reported
    /// unpriced (a warning and an [`UnpricedLog`] entry) and its cost stays
    /// `None`, never $0.
    fn price(&self, completion: &mut Completion) {
        match self.table.price_completion(completion) {
            Ok(cost) => completion.cost_usd = Some(cost),
            Err(_) if completion.cost_usd.is_some() => {}
            Err(why) => {
                tracing::warn!(task = %self.task, provider = %completion.provider, "unpriced model call: {why}");
                self.unpriced.push(UnpricedCall {
                    task: self.task.clone(),
                    provider: completion.provider.to_string(),
                    why,
                });
            }
        }
    }

    async fn journal(&self, outcome: Result<&Completion, &ProviderError>, started: Instant) {
        let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let kind = match outcome {
            Ok(c) => EventKind::LlmCall {
                provider: c.provider.to_string(),
                purpose: self.purpose.clone(),
                input_tokens: c.usage.input_tokens,
                output_tokens: c.usage.output_tokens,
                cached_tokens: c.usage.cached_input_tokens,
                cost_usd: c.cost_usd,
                latency_ms,
                error: None,
            },
            Err(e) => EventKind::LlmCall {
                provider: e.provider.to_string(),
                purpose: self.purpose.clone(),
                input_tokens: 0,
                output_tokens: 0,
                cached_tokens: 0,
                cost_usd: None,
                latency_ms,
                error: Some(e.kind.name().to_owned()),
            },
        };
        if let Err(e) = self.journal.append(Event::now(self.task.clone(), kind)).await {
            tracing::warn!(task = %self.task, "cost meter could not journal a call: {e}");
        }
    }
}

/// A layer that prices every call from a [`PriceTable`], sets
/// [`Completion::cost_usd`], and appends one
/// [`EventKind::LlmCall`] per call (failed ones included, with their error
/// class) to a journal: task, provider (`KIND:MODEL`), purpose (default
/// `provider_call`), input/output/cached tokens, cost and latency.
///
/// A completion is priced by its usage and model
/// ([`PriceTable::price_completion`]), whether or not the provider put a
/// cost on it; a call the table cannot price keeps the provider's figure or,
/// without one, is reported as [`Unpriced`] (a warning and an entry in
/// [`CostMeter::unpriced`]) with `cost_usd: None`: unknown, not free.
///
/// For a stream, the event is appended when `Done` passes (its completion is
/// priced on the way) or when the stream yields an error; a stream dropped
/// before either leaves no event.
pub struct CostMeter<P> {
    inner: P,
    meter: Arc<Meter>,
}

impl<P> std::fmt::Debug for CostMeter<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CostMeter")
            .field("task", &self.meter.task)
            .field("purpose", &self.meter.purpose)
            .finish_non_exhaustive()
    }
}

impl<P: LlmProvider> CostMeter<P> {
    /// Meters `inner` with `table`, journaling the calls of `task` into `journal`.
    pub fn new(inner: P, table: PriceTable, journal: Arc<dyn Journal>, task: TaskId) -> Self {
        Self {
            inner,
            meter: Arc::new(Meter {
                table,
                journal,
                task,
                purpose: "provider_call".to_owned(),
                unpriced: UnpricedLog::new(),
            }),
        }
    }

    /// Reports unpriced calls to `log` (shared with the host) instead of a log of its own.
    pub fn with_unpriced_log(mut self, log: UnpricedLog) -> Self {
        if let Some(meter) = Arc::get_mut(&mut self.meter) {
            meter.unpriced = log;
        }
        self
    }

    /// The calls this meter could not price.
    pub fn unpriced(&self) -> &UnpricedLog {
        &self.meter.unpriced
    }

    /// Sets the purpose written in each event (default `provider_call`).
    pub fn with_purpose(mut self, purpose: impl Into<String>) -> Self {
        if let Some(meter) = Arc::get_mut(&mut self.meter) {
            meter.purpose = purpose.into();
        }
        self
    }

    /// The price table.
    pub fn table(&self) -> &PriceTable {
        &self.meter.table
    }

    /// The wrapped provider.
    pub fn inner(&self) -> &P {
        &self.inner
    }
}

#[async_trait]
impl<P: LlmProvider> LlmProvider for CostMeter<P> {
    fn id(&self) -> &ProviderId {
        self.inner.id()
    }

    fn capabilities(&self) -> Option<ModelCapabilities> {
        self.inner.capabilities()
    }

    fn endpoint(&self) -> Option<String> {
        self.inner.endpoint()
    }

    async fn complete(&self, req: CompletionRequest) -> Result<Completion, ProviderError> {
        let started = Instant::now();
        let mut result = self.inner.complete(req).await;
        if let Ok(c) = &mut result {
            self.meter.price(c);
        }
        self.meter.journal(result.as_ref(), started).await;
        result
    }

    async fn stream(&self, req: CompletionRequest) -> Result<CompletionStream, ProviderError> {
        let started = Instant::now();
        let stream = match self.inner.stream(req).await {
            Ok(s) => s,
            Err(e) => {
                self.meter.journal(Err(&e), started).await;
                return Err(e);
            }
        };
        let meter = self.meter.clone();
        let journaled = Arc::new(AtomicBool::new(false));
        let metered = stream.then(move |item| {
            let meter = meter.clone();
            let journaled = journaled.clone();
            async move {
                match item {
                    Ok(StreamEvent::Done { mut completion }) => {
                        meter.price(&mut completion);
                        if !journaled.swap(true, Ordering::Relaxed) {
                            meter.journal(Ok(&completion), started).await;
                        }
                        Ok(StreamEvent::Done { completion })
                    }
                    Err(e) => {
                        if !journaled.swap(true, Ordering::Relaxed) {
                            meter.journal(Err(&e), started).await;
                        }
                        Err(e)
                    }
                    other => other,
                }
            }
        });
        Ok(Box::pin(metered))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_price_table_parses_and_prices_every_family() {
        let table = PriceTable::from_json(BUILTIN_PRICES).unwrap();
        assert!(table.len() >= 15);
        for model in ["gpt-4.1-mini", "claude-sonnet-4", "gemini-2.5-flash"] {
            assert!(table.price(model).is_some(), "{model}");
        }
        assert_eq!(table.price("gpt-4o-2024-08-06"), table.price("gpt-4o"));
    }

    #[test]
    fn cache_reads_and_writes_are_billed_at_their_own_rates() {
        let p = ModelPrice::new(3.0, 0.3, 15.0).with_cache_write(3.75);
        let usage = Usage::new(1_000_000, 100_000).with_cached_input(500_000).with_cache_write_input(200_000);
        // 300k plain · 3 + 500k · 0.3 + 200k · 3.75 + 100k · 15, per million.
        let expected = 0.9 + 0.15 + 0.75 + 1.5;
        assert_eq!(p.cost(&usage), Usd::from_dollars(expected), "{}", p.cost(&usage));
    }
}
