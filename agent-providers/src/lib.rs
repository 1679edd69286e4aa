//! `agent-providers`: LLM providers and provider layers for `agent-core`.
//!
//! - [`OpenAiProvider`]: OpenAI Chat Completions and every server that speaks
//!   it (Ollama, vLLM, llama.cpp, OpenRouter, …), with errors classified into
//!   [`ProviderErrorKind`](agent_core::provider::ProviderErrorKind) so that layers act
//!   on the class, and the cost of each call from the [`pricing`] table.
//! - [`AnthropicProvider`] (Messages API), [`GeminiProvider`]
//!   (`generateContent`) and [`OllamaProvider`] (native `/api/chat`): whole and
//!   streamed answers, tools and structured output, usage normalised across
//!   caches, errors classified the same way.
//! - [`ProviderSpec`] and [`build_provider`]: a provider from text,
//!   `KIND:MODEL[@BASE_URL]`, with keys read from the environment.
//! - [`RecordingProvider`] and [`ReplayProvider`]: record calls into a JSON
//!   cassette once, replay them offline forever ([`cassette`]), matched by
//!   request or, for agent sessions, turn by turn ([`ReplayMatch`]).
//! - [`layers`]: retry, cascade/fallback, idle watchdog, cost meter, budget,
//!   and [`layers::ProviderStack`], which wraps a provider in them in a documented order.
//! - [`capabilities::CapabilityTable`] and [`pricing`]: what each model can do
//!   and what it costs, as data the host can override; both look names up
//!   with [`model_names::model_names`].
//! - `ScriptedProvider` (feature `test-utils`): a test double answering from a script.
//!
//! This is the only crate of the workspace that speaks HTTP. Its tests run
//! against a local server on loopback (wiremock) that speaks the real wire
//! format of each provider; none calls a live service.
//!
//! ```no_run
//! use agent_core::provider::{CompletionRequest, Message};
//! use agent_providers::{ProviderSpec, build_provider};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let spec: ProviderSpec = "ollama:qwen2.5:7b".parse()?;
//! let provider = build_provider(&spec)?;
//! let answer = provider.complete(CompletionRequest::new(vec![Message::user("Say hi")])).await?;
//! println!("{}: {}", answer.provider, answer.content);
//! # Ok(()) }
//! ```

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod anthropic;
pub mod capabilities;
pub mod cassette;
#[cfg(feature = "test-utils")]
pub mod conformance;
pub mod gemini;
pub mod http_options;
pub mod layers;
pub mod model_names;
mod native;
pub mod ollama;
pub mod openai;
pub mod openai_responses;
pub mod pricing;
mod retry_after;
#[cfg(feature = "test-utils")]
pub mod scripted;
pub mod spec;
pub mod structured;
pub mod usage_estimate;

pub use anthropic::AnthropicProvider;
pub use cassette::ReplayOrRecordProvider;
pub use cassette::{
    CassetteError, RecordingProvider, ReplayMatch, ReplayMismatch, ReplayMismatchLog, ReplayProvider,
    RequestDifference, UnknownReplayMatch, request_key,
};
pub use gemini::GeminiProvider;
pub use http_options::{HttpOptions, InvalidHeader};
pub use ollama::OllamaProvider;
pub use openai::OpenAiProvider;
pub use openai_responses::OpenAiResponsesProvider;
pub use pricing::{Price, cost_usd, price_for};
#[cfg(feature = "test-utils")]
pub use scripted::StreamStep;
#[cfg(feature = "test-utils")]
pub use scripted::{ScriptedProvider, ScriptedReply};
pub use spec::{ProviderKind, ProviderSpec, SpecError, build_provider, build_provider_with_env};
pub use structured::{Structured, StructuredError, complete_structured};
