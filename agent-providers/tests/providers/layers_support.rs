//! Helpers for the layer tests. Every provider here is the `ScriptedProvider`
//! test double (feature `test-utils`), never a real model.

use agent_core::LlmProvider;
use agent_core::provider::{CompletionStream, ProviderError, StreamEvent, Usage};
use agent_providers::ScriptedProvider;
use futures::StreamExt;
use std::sync::Arc;

/// A scripted test double shared between the test and the layer around it.
pub(crate) fn scripted(id: &str, replies: Vec<agent_providers::ScriptedReply>) -> Arc<ScriptedProvider> {
    Arc::new(ScriptedProvider::new(id, replies))
}

/// As `Arc<dyn LlmProvider>`.
pub(crate) fn dyn_of(p: &Arc<ScriptedProvider>) -> Arc<dyn LlmProvider> {
    p.clone()
}

/// Every item of a stream.
pub(crate) async fn drain(stream: CompletionStream) -> Vec<Result<StreamEvent, ProviderError>> {
    stream.collect().await
}

/// The text of the deltas of a drained stream.
pub(crate) fn text_of(items: &[Result<StreamEvent, ProviderError>]) -> String {
    items
        .iter()
        .filter_map(|i| match i {
            Ok(StreamEvent::Delta { text }) => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

pub(crate) fn usage(input: u64, cached: u64, output: u64) -> Usage {
    Usage::new(input, output).with_cached_input(cached)
}
