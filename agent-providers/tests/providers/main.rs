//! Integration tests of `agent-providers` against a local wiremock server on
//! loopback that speaks the OpenAI Chat Completions wire format. No test
//! calls a live network service.

#![allow(clippy::unwrap_used)]

mod anthropic;
mod anthropic_parts;
mod capabilities;
mod cassette;
#[cfg(feature = "test-utils")]
mod cassette_modes;
#[cfg(feature = "test-utils")]
mod cassette_sequential;
mod common;
mod gemini;
mod gemini_parts;
mod gemini_signatures;
#[cfg(feature = "test-utils")]
mod layers_budget;
#[cfg(feature = "test-utils")]
mod layers_cascade;
#[cfg(feature = "test-utils")]
mod layers_cost;
#[cfg(feature = "test-utils")]
mod layers_parts;
#[cfg(feature = "test-utils")]
mod layers_retry;
#[cfg(feature = "test-utils")]
mod layers_stack;
#[cfg(feature = "test-utils")]
mod layers_support;
#[cfg(feature = "test-utils")]
mod layers_watchdog;
#[cfg(feature = "test-utils")]
mod native_conformance;
mod native_support;
mod ollama;
mod ollama_parts;
#[cfg(feature = "test-utils")]
mod openai_conformance;
mod openai_errors;
mod openai_idle;
mod openai_parts;
mod openai_responses;
mod openai_stream;
mod openai_success;
mod openai_usage_estimate;
mod pricing;
#[cfg(feature = "test-utils")]
mod scripted;
mod spec;
mod structured;
