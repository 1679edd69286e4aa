//! The scripted test double.

use crate::common::ask;
use agent_core::LlmProvider;
use agent_core::budget::Usd;
use agent_core::provider::{ProviderErrorKind, Usage};
use agent_providers::{ScriptedProvider, ScriptedReply};

#[tokio::test]
async fn replies_come_in_script_order_then_the_script_is_exhausted() {
    let provider = ScriptedProvider::new(
        "openai:gpt-4.1-mini",
        vec![ScriptedReply::text("one"), ScriptedReply::error(ProviderErrorKind::Auth), ScriptedReply::text("three")],
    );
    assert_eq!(provider.complete(ask("a")).await.unwrap().content, "one");
    assert_eq!(provider.complete(ask("b")).await.unwrap_err().kind, ProviderErrorKind::Auth);
    assert_eq!(provider.complete(ask("c")).await.unwrap().content, "three");
    let exhausted = provider.complete(ask("d")).await.unwrap_err();
    assert_eq!(exhausted.kind, ProviderErrorKind::Other);
    assert!(exhausted.message.contains("script exhausted after 3 replies"), "{}", exhausted.message);
}

#[tokio::test]
async fn every_request_is_remembered_in_order() {
    let provider = ScriptedProvider::new("openai:gpt-4o", vec![ScriptedReply::text("x")]);
    provider.complete(ask("first")).await.unwrap();
    provider.complete(ask("second")).await.unwrap_err();
    let asked: Vec<String> = provider.requests().iter().map(|r| r.messages[0].content.clone()).collect();
    assert_eq!(asked, ["first", "second"]);
}

#[tokio::test]
async fn usage_is_priced_from_the_model_part_of_the_id() {
    let usage = Usage::new(1_000_000, 1_000_000).with_cached_input(0);
    let provider = ScriptedProvider::new("openai:gpt-4.1-nano", vec![ScriptedReply::text_with_usage("x", usage)]);
    let out = provider.complete(ask("a")).await.unwrap();
    assert_eq!(out.provider.as_str(), "openai:gpt-4.1-nano");
    assert_eq!(out.usage, usage);
    // gpt-4.1-nano: $0.10 input + $0.40 output per million tokens.
    assert_eq!(out.cost_usd.unwrap(), Usd::from_dollars(0.50));
}

#[tokio::test]
async fn capabilities_and_endpoint_are_answered_as_given() {
    use agent_core::provider::ModelCapabilities;
    let bare = ScriptedProvider::new("x:m", vec![]);
    assert_eq!((bare.capabilities(), bare.endpoint()), (None, None));
    let caps = ModelCapabilities::new(200_000, 64_000).with_image_input(true);
    let described =
        ScriptedProvider::new("x:m", vec![]).with_capabilities(caps.clone()).with_endpoint("http://127.0.0.1:9/v1");
    assert_eq!(described.capabilities(), Some(caps));
    assert_eq!(described.endpoint().as_deref(), Some("http://127.0.0.1:9/v1"));
}
