//! Integration tests of `agent-providers` against a local wiremock server on
//! loopback that speaks the OpenAI Chat Completions wire format. No test
//! calls a live network service.

#![allow(clippy::unwrap_used)]

mod cassette;
mod common;
mod openai_errors;
mod openai_success;
mod pricing;
#[cfg(feature = "test-utils")]
mod scripted;
mod spec;
