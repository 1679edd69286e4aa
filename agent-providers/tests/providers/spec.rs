//! Parsing `KIND:MODEL[@BASE_URL]` and building providers from it.

use crate::common::*;
use agent_providers::{ProviderKind, ProviderSpec, SpecError, build_provider, build_provider_with_env};
use std::collections::HashMap;

fn parse(text: &str) -> Result<ProviderSpec, SpecError> {
    text.parse()
}

fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    move |name| map.get(name).cloned()
}

#[test]
fn kind_and_model_are_split_at_the_first_colon() {
    let spec = parse("openai:gpt-4.1-mini").unwrap();
    assert_eq!(spec.kind, ProviderKind::OpenAi);
    assert_eq!(spec.model, "gpt-4.1-mini");
    assert_eq!(spec.base_url, None);
}

#[test]
fn every_kind_is_recognised() {
    assert_eq!(parse("anthropic:claude-sonnet-4-5").unwrap().kind, ProviderKind::Anthropic);
    assert_eq!(parse("gemini:gemini-2.5-flash").unwrap().kind, ProviderKind::Gemini);
    assert_eq!(parse("ollama:llama3").unwrap().kind, ProviderKind::Ollama);
}

#[test]
fn model_may_contain_colons() {
    let spec = parse("ollama:qwen2.5:7b").unwrap();
    assert_eq!(spec.kind, ProviderKind::Ollama);
    assert_eq!(spec.model, "qwen2.5:7b");
}

#[test]
fn base_url_follows_the_at_sign() {
    let spec = parse("openai:llama3@http://localhost:8080/v1").unwrap();
    assert_eq!(spec.model, "llama3");
    assert_eq!(spec.base_url.as_deref(), Some("http://localhost:8080/v1"));
}

#[test]
fn base_url_with_credentials_and_model_with_colons_split_at_the_last_url_at_sign() {
    let spec = parse("ollama:qwen2.5:7b@https://user@gpu.example:443/ollama").unwrap();
    assert_eq!(spec.model, "qwen2.5:7b");
    assert_eq!(spec.base_url.as_deref(), Some("https://user@gpu.example:443/ollama"));
}

#[test]
fn an_at_sign_not_followed_by_a_url_stays_in_the_model() {
    let spec = parse("openai:org@model@https://proxy.example/v1").unwrap();
    assert_eq!(spec.model, "org@model");
    assert_eq!(spec.base_url.as_deref(), Some("https://proxy.example/v1"));
}

#[test]
fn spec_prints_back_as_it_was_written() {
    for text in ["openai:gpt-4o", "ollama:qwen2.5:7b@http://localhost:11434"] {
        assert_eq!(parse(text).unwrap().to_string(), text);
    }
}

#[test]
fn empty_spec_is_rejected() {
    assert_eq!(parse(""), Err(SpecError::Empty));
    assert_eq!(parse("   "), Err(SpecError::Empty));
}

#[test]
fn spec_without_model_is_rejected() {
    assert!(matches!(parse("gpt-4o"), Err(SpecError::MissingModel { .. })));
    assert!(matches!(parse("openai:"), Err(SpecError::MissingModel { .. })));
    assert!(matches!(parse("openai:@http://localhost:1"), Err(SpecError::MissingModel { .. })));
}

#[test]
fn unknown_kind_is_rejected_and_named() {
    let err = parse("mistral:large").unwrap_err();
    assert!(matches!(&err, SpecError::UnknownKind { kind, .. } if kind == "mistral"));
    assert!(err.to_string().contains("mistral"));
}

#[test]
fn malformed_base_urls_are_rejected() {
    assert!(matches!(parse("openai:gpt@http://"), Err(SpecError::InvalidBaseUrl { .. })));
    assert!(matches!(parse("openai:gpt@ftp://files.example"), Err(SpecError::InvalidBaseUrl { .. })));
}

#[test]
fn model_with_whitespace_is_rejected() {
    assert!(matches!(parse("openai:gpt 4o"), Err(SpecError::InvalidModel { .. })));
}

#[test]
fn every_kind_is_buildable_with_its_kind_in_the_id() {
    for text in ["openai:gpt-4.1-mini", "anthropic:claude-sonnet-4-5", "gemini:gemini-2.5-pro", "ollama:qwen2.5:7b"] {
        let provider = build_provider(&parse(text).unwrap()).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(provider.id().as_str(), text);
    }
}

#[test]
fn openai_spec_builds_a_provider_with_the_openai_id() {
    let provider = build_provider_with_env(&parse("openai:gpt-4.1-mini").unwrap(), &env(&[])).unwrap();
    assert_eq!(provider.id().as_str(), "openai:gpt-4.1-mini");
}

#[tokio::test]
async fn openai_spec_reads_key_and_base_url_from_the_environment() {
    let server = server_with(ok("from env")).await;
    let vars = env(&[("OPENAI_API_KEY", "sk-env-key"), ("OPENAI_BASE_URL", &format!("{}/v1", server.uri()))]);
    let provider = build_provider_with_env(&parse("openai:gpt-4.1-mini").unwrap(), &vars).unwrap();
    let out = provider.complete(ask("hi")).await.unwrap();
    assert_eq!(out.content, "from env");
    let received = server.received_requests().await.unwrap();
    assert_eq!(received[0].headers.get("authorization").unwrap().to_str().unwrap(), "Bearer sk-env-key");
}

#[tokio::test]
async fn base_url_in_the_spec_wins_over_the_environment() {
    let server = server_with(ok("from spec")).await;
    let spec = parse(&format!("openai:gpt-4.1-mini@{}/v1", server.uri())).unwrap();
    let vars = env(&[("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")]);
    let out = build_provider_with_env(&spec, &vars).unwrap().complete(ask("hi")).await.unwrap();
    assert_eq!(out.content, "from spec");
}

#[test]
fn the_responses_and_azure_kinds_are_recognised_and_print_back() {
    let responses = parse("openai-responses:o3-pro").unwrap();
    assert_eq!((responses.kind, responses.model.as_str()), (ProviderKind::OpenAiResponses, "o3-pro"));
    let azure = parse("azure:prod-gpt-4o@https://contoso.openai.azure.com/").unwrap();
    assert_eq!(azure.kind, ProviderKind::Azure);
    assert_eq!(azure.base_url.as_deref(), Some("https://contoso.openai.azure.com"));
    for text in ["openai-responses:gpt-5", "azure:prod-gpt-4o@https://contoso.openai.azure.com"] {
        assert_eq!(parse(text).unwrap().to_string(), text);
    }
    assert!(parse("mistral:large").unwrap_err().to_string().contains("openai-responses, azure"));
}

#[tokio::test]
async fn openai_responses_spec_posts_to_the_responses_endpoint_with_the_openai_key() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    let answer = serde_json::json!({"id": "resp_1", "object": "response", "status": "completed", "model": "o3-pro",
        "output": [{"type": "message", "id": "msg_1", "role": "assistant", "content": [{"type": "output_text", "text": "hi"}]}],
        "usage": {"input_tokens": 3, "output_tokens": 1}});
    Mock::given(method("POST"))
        .and(path("/v1/responses"))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .mount(&server)
        .await;
    let vars = env(&[("OPENAI_API_KEY", "sk-env-key"), ("OPENAI_BASE_URL", &format!("{}/v1", server.uri()))]);
    let provider = build_provider_with_env(&parse("openai-responses:o3-pro").unwrap(), &vars).unwrap();
    assert_eq!(provider.id().as_str(), "openai-responses:o3-pro");
    assert_eq!(provider.complete(ask("hi")).await.unwrap().content, "hi");
    let received = server.received_requests().await.unwrap();
    assert_eq!(received[0].headers.get("authorization").unwrap(), "Bearer sk-env-key");
}

#[tokio::test]
async fn azure_spec_reads_endpoint_key_and_version_from_the_environment() {
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, MockServer};
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/openai/deployments/gpt-4o/chat/completions"))
        .and(query_param("api-version", "2025-01-01-preview"))
        .respond_with(ok("from azure"))
        .mount(&server)
        .await;
    let vars = env(&[
        ("AZURE_OPENAI_ENDPOINT", &server.uri()),
        ("AZURE_OPENAI_API_KEY", "azure-env-key"),
        ("AZURE_OPENAI_API_VERSION", "2025-01-01-preview"),
        ("OPENAI_API_KEY", "sk-not-for-azure"),
    ]);
    let provider = build_provider_with_env(&parse("azure:gpt-4o").unwrap(), &vars).unwrap();
    assert_eq!(provider.id().as_str(), "azure:gpt-4o");
    assert_eq!(provider.complete(ask("hi")).await.unwrap().content, "from azure");
    let received = server.received_requests().await.unwrap();
    assert_eq!(received[0].headers.get("api-key").unwrap(), "azure-env-key");
    assert!(received[0].headers.get("authorization").is_none());
    // Named after its model, the deployment has the model's capabilities.
    assert!(provider.capabilities().is_some_and(|c| c.image_input));
}

#[tokio::test]
async fn azure_spec_base_url_wins_over_the_environment_and_the_version_defaults() {
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, MockServer};
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/openai/deployments/dep/chat/completions"))
        .and(query_param("api-version", agent_providers::openai::DEFAULT_AZURE_API_VERSION))
        .respond_with(ok("from spec"))
        .mount(&server)
        .await;
    let spec = parse(&format!("azure:dep@{}", server.uri())).unwrap();
    let vars = env(&[("AZURE_OPENAI_ENDPOINT", "http://127.0.0.1:9")]);
    assert_eq!(build_provider_with_env(&spec, &vars).unwrap().complete(ask("hi")).await.unwrap().content, "from spec");
}

#[test]
fn azure_spec_without_an_endpoint_is_an_error_naming_the_variable() {
    let err = build_provider_with_env(&parse("azure:dep").unwrap(), &env(&[])).err().expect("no endpoint");
    assert!(matches!(&err, SpecError::MissingBaseUrl { kind: ProviderKind::Azure, .. }), "{err}");
    assert!(err.to_string().contains("AZURE_OPENAI_ENDPOINT"), "{err}");
    let bad = build_provider_with_env(&parse("azure:dep").unwrap(), &env(&[("AZURE_OPENAI_ENDPOINT", "not a url")]));
    assert!(matches!(bad.err(), Some(SpecError::InvalidBaseUrl { .. })));
}
