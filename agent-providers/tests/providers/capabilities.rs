//! Requests shaped by the capability table, checked on what was sent to a
//! loopback server speaking the OpenAI wire format, and a cascade falling
//! over when a provider answers that it does not support a parameter.

use crate::common::{ask, ok, only_request_body, server_with};
use agent_core::LlmProvider;
use agent_core::provider::ProviderErrorKind;
use agent_providers::OpenAiProvider;
use agent_providers::layers::{AttemptOutcome, Cascade, CascadeEntry};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn provider(model: &str, server: &MockServer) -> OpenAiProvider {
    OpenAiProvider::new(model).with_base_url(format!("{}/v1", server.uri())).with_timeout(Duration::from_secs(10))
}

/// The body sent for a request asking for 500 tokens at temperature 0.2.
async fn sent_for(model: &str, streamed: bool) -> Value {
    let server = server_with(ok("hi")).await;
    let req = ask("hi").with_max_tokens(500).with_temperature(0.2);
    if streamed {
        // The answer is not SSE; only what was sent matters here.
        let _ = provider(model, &server).stream(req).await;
    } else {
        provider(model, &server).complete(req).await.unwrap();
    }
    only_request_body(&server).await
}

#[tokio::test]
async fn a_gpt5_request_sends_max_completion_tokens_and_no_temperature() {
    for (model, streamed) in [("gpt-5-mini", false), ("gpt-5-2025-08-07", false), ("o4-mini", true)] {
        let body = sent_for(model, streamed).await;
        assert_eq!(body["max_completion_tokens"], 500, "{model}: {body}");
        assert!(body.get("max_tokens").is_none(), "{model}: {body}");
        assert!(body.get("temperature").is_none(), "{model}: {body}");
        assert_eq!(body["model"], model);
    }
}

#[tokio::test]
async fn a_chat_model_request_keeps_max_tokens_and_temperature() {
    for model in ["gpt-4.1-mini", "gpt-4o-2024-08-06"] {
        let body = sent_for(model, false).await;
        assert_eq!(body["max_tokens"], 500, "{model}: {body}");
        assert_eq!(body["temperature"], json!(0.2), "{model}: {body}");
        assert!(body.get("max_completion_tokens").is_none(), "{model}: {body}");
    }
}

#[tokio::test]
async fn a_model_the_table_does_not_know_is_sent_as_before() {
    let body = sent_for("llama-3.3-70b-instruct", false).await;
    assert_eq!(body["max_tokens"], 500, "{body}");
    assert!(body.get("temperature").is_some(), "{body}");
    assert!(body.get("max_completion_tokens").is_none(), "{body}");
}

#[tokio::test]
async fn a_hosts_capabilities_shape_a_model_the_table_does_not_know() {
    use agent_core::provider::{ModelCapabilities, TokenParam};
    let server = server_with(ok("hi")).await;
    let caps = ModelCapabilities::new(200_000, 100_000)
        .with_token_param(TokenParam::MaxCompletionTokens)
        .with_fixed_temperature(true);
    let p = provider("my-reasoner-7", &server).with_capabilities(caps);
    assert_eq!(p.capabilities().map(|c| c.context_window), Some(200_000));
    p.complete(ask("hi").with_max_tokens(500).with_temperature(0.2)).await.unwrap();
    let body = only_request_body(&server).await;
    assert_eq!(body["max_completion_tokens"], 500, "{body}");
    assert!(body.get("max_tokens").is_none() && body.get("temperature").is_none(), "{body}");
}

#[tokio::test]
async fn a_cascade_falls_over_when_a_provider_rejects_a_parameter() {
    let refusing = MockServer::start().await;
    let refusal = json!({"error": {
        "message": "Unsupported value: 'reasoning_effort' does not support 'minimal' with this model.",
        "type": "invalid_request_error", "param": "reasoning_effort", "code": "unsupported_value"
    }});
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(400).set_body_json(refusal))
        .expect(1)
        .mount(&refusing)
        .await;
    let answering = server_with(ok("from the second")).await;
    let cascade = Cascade::new(vec![
        (Arc::new(provider("gpt-5-mini", &refusing)) as Arc<dyn LlmProvider>, CascadeEntry::new()),
        (Arc::new(provider("gpt-4.1-mini", &answering)) as Arc<dyn LlmProvider>, CascadeEntry::new()),
    ]);
    let (answer, attempts) = cascade.complete_with_attempts(ask("hi")).await;
    assert_eq!(answer.unwrap().content, "from the second");
    let outcomes: Vec<AttemptOutcome> = attempts.into_iter().map(|a| a.outcome).collect();
    assert_eq!(
        outcomes,
        [
            AttemptOutcome::Failed(ProviderErrorKind::Unsupported { what: "reasoning_effort".into() }),
            AttemptOutcome::Answered
        ]
    );
}
