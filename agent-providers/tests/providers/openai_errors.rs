//! Failed calls: every error class, with status, request id and raw body kept.

use crate::common::*;
use agent_core::LlmProvider;
use agent_core::provider::{ProviderError, ProviderErrorKind};
use agent_providers::OpenAiProvider;
use std::time::Duration;
use wiremock::ResponseTemplate;

/// Answers with `status`, `body` and `headers`, and returns the provider's error.
async fn error_for(status: u16, body: &str, headers: &[(&str, &str)]) -> ProviderError {
    let mut response = ResponseTemplate::new(status)
        .insert_header("x-request-id", "req_err_42")
        .insert_header("content-type", "application/json")
        .set_body_string(body);
    for (name, value) in headers {
        response = response.insert_header(*name, *value);
    }
    let server = server_with(response).await;
    let err = provider_for(&server).complete(ask("hi")).await.expect_err("the call must fail");
    assert_eq!(err.status, Some(status), "status kept");
    assert_eq!(err.request_id.as_deref(), Some("req_err_42"), "request id kept");
    assert_eq!(err.raw_body.as_deref(), Some(body), "raw body kept");
    assert_eq!(err.provider.as_str(), "openai:gpt-4.1-mini");
    err
}

const RATE_LIMIT_MESSAGE: &str = "Rate limit reached for gpt-4.1-mini in organization org-abc on tokens per min (TPM): \
     Limit 200000, Used 199990, Requested 150. Please try again in 20ms. \
     Visit https://platform.openai.com/account/rate-limits to learn more.";

#[tokio::test]
async fn rate_limit_429_waits_as_long_as_the_retry_after_header_says() {
    let body = error_body("Rate limit reached for requests", "requests", Some("rate_limit_exceeded"));
    let err = error_for(429, &body, &[("retry-after", "7")]).await;
    assert_eq!(err.kind, ProviderErrorKind::RateLimited { retry_after_ms: Some(7_000) });
    assert!(err.kind.is_transient());
}

#[tokio::test]
async fn rate_limit_429_prefers_retry_after_ms_over_retry_after() {
    let body = error_body("Rate limit reached", "requests", Some("rate_limit_exceeded"));
    let err = error_for(429, &body, &[("retry-after", "7"), ("retry-after-ms", "1250")]).await;
    assert_eq!(err.kind, ProviderErrorKind::RateLimited { retry_after_ms: Some(1_250) });
}

#[tokio::test]
async fn rate_limit_429_reads_the_try_again_hint_in_the_message() {
    let body = error_body(RATE_LIMIT_MESSAGE, "tokens", Some("rate_limit_exceeded"));
    let err = error_for(429, &body, &[]).await;
    assert_eq!(err.kind, ProviderErrorKind::RateLimited { retry_after_ms: Some(20) });
    assert!(err.message.contains("Rate limit reached"), "message: {}", err.message);
}

#[tokio::test]
async fn rate_limit_429_reads_a_fractional_seconds_hint() {
    let body = error_body("Rate limit reached. Please try again in 1.5s.", "tokens", Some("rate_limit_exceeded"));
    let err = error_for(429, &body, &[]).await;
    assert_eq!(err.kind, ProviderErrorKind::RateLimited { retry_after_ms: Some(1_500) });
}

#[tokio::test]
async fn rate_limit_429_without_any_hint_has_no_delay() {
    let body = error_body("Too many requests", "requests", Some("rate_limit_exceeded"));
    let err = error_for(429, &body, &[]).await;
    assert_eq!(err.kind, ProviderErrorKind::RateLimited { retry_after_ms: None });
}

#[tokio::test]
async fn insufficient_quota_429_is_quota_exhausted_not_rate_limited() {
    let body = error_body(
        "You exceeded your current quota, please check your plan and billing details.",
        "insufficient_quota",
        Some("insufficient_quota"),
    );
    let err = error_for(429, &body, &[("retry-after", "1")]).await;
    assert!(matches!(err.kind, ProviderErrorKind::QuotaExhausted { .. }), "{:?}", err.kind);
    assert!(!err.kind.is_transient());
}

#[tokio::test]
async fn spend_limit_code_with_null_type_is_quota_exhausted() {
    let body = error_body("Project spend limit reached", "invalid_request_error", Some("project_spend_limit_exceeded"));
    let err = error_for(429, &body, &[]).await;
    assert!(matches!(err.kind, ProviderErrorKind::QuotaExhausted { .. }), "{:?}", err.kind);
}

#[tokio::test]
async fn unauthorized_401_is_auth() {
    let body =
        error_body("Incorrect API key provided: sk-abc***xyz.", "invalid_request_error", Some("invalid_api_key"));
    let err = error_for(401, &body, &[]).await;
    assert_eq!(err.kind, ProviderErrorKind::Auth);
}

#[tokio::test]
async fn forbidden_403_is_auth() {
    let body = error_body("Project does not have access to model", "invalid_request_error", Some("model_not_found"));
    assert_eq!(error_for(403, &body, &[]).await.kind, ProviderErrorKind::Auth);
}

#[tokio::test]
async fn context_length_exceeded_400_is_context_too_long() {
    let body = error_body(
        "This model's maximum context length is 128000 tokens. However, your messages resulted in 130512 tokens.",
        "invalid_request_error",
        Some("context_length_exceeded"),
    );
    let err = error_for(400, &body, &[]).await;
    assert_eq!(err.kind, ProviderErrorKind::ContextTooLong);
}

#[tokio::test]
async fn maximum_context_length_message_without_code_is_context_too_long() {
    let body = error_body("This model's maximum context length is 8192 tokens.", "invalid_request_error", None);
    assert_eq!(error_for(400, &body, &[]).await.kind, ProviderErrorKind::ContextTooLong);
}

#[tokio::test]
async fn other_bad_request_400_is_invalid_request() {
    let body = error_body(
        "Invalid value for 'temperature': expected a number between 0 and 2.",
        "invalid_request_error",
        Some("invalid_value"),
    );
    let err = error_for(400, &body, &[]).await;
    assert_eq!(err.kind, ProviderErrorKind::InvalidRequest);
    assert!(!err.kind.is_transient());
    assert!(err.message.contains("temperature"), "message: {}", err.message);
}

#[tokio::test]
async fn model_not_found_404_is_unsupported_and_unprocessable_422_is_invalid_request() {
    let body = error_body("The model `gpt-9` does not exist", "invalid_request_error", Some("model_not_found"));
    let err = error_for(404, &body, &[]).await;
    assert_eq!(err.kind, ProviderErrorKind::Unsupported { what: "model".into() });
    assert!(!err.kind.is_transient());
    assert_eq!(error_for(422, "{\"detail\":\"bad\"}", &[]).await.kind, ProviderErrorKind::InvalidRequest);
}

#[tokio::test]
async fn service_unavailable_503_is_overloaded_with_its_retry_after() {
    let body = error_body("The engine is currently overloaded, please try again later", "server_error", None);
    let err = error_for(503, &body, &[("retry-after", "2")]).await;
    assert_eq!(err.kind, ProviderErrorKind::Overloaded { retry_after_ms: Some(2_000) });
}

#[tokio::test]
async fn status_529_is_overloaded() {
    let err = error_for(529, "{\"error\":{\"message\":\"Overloaded\",\"type\":\"overloaded_error\"}}", &[]).await;
    assert!(matches!(err.kind, ProviderErrorKind::Overloaded { .. }), "{:?}", err.kind);
}

#[tokio::test]
async fn internal_error_500_is_a_transient_server_error() {
    let body = error_body("The server had an error while processing your request.", "server_error", None);
    let err = error_for(500, &body, &[]).await;
    assert_eq!(err.kind, ProviderErrorKind::ServerError { status: 500 });
    assert!(err.kind.is_transient());
    assert_eq!(
        error_for(502, "<html>Bad Gateway</html>", &[]).await.kind,
        ProviderErrorKind::ServerError { status: 502 }
    );
}

#[tokio::test]
async fn unsupported_parameter_400_names_the_parameter() {
    let body = serde_json::json!({"error": {
        "message": "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
        "type": "invalid_request_error", "param": "max_tokens", "code": "unsupported_parameter"
    }})
    .to_string();
    let err = error_for(400, &body, &[]).await;
    assert_eq!(err.kind, ProviderErrorKind::Unsupported { what: "max_tokens".into() });
    assert!(!err.kind.is_transient());
    assert_eq!(err.kind.name(), "unsupported");
}

#[tokio::test]
async fn non_json_200_body_is_unparseable_and_kept() {
    let body = "<html><body>502 Bad Gateway</body></html>";
    let server = server_with(
        ResponseTemplate::new(200)
            .insert_header("x-request-id", "req_html")
            .insert_header("content-type", "text/html")
            .set_body_string(body),
    )
    .await;
    let err = provider_for(&server).complete(ask("hi")).await.unwrap_err();
    assert_eq!(err.kind, ProviderErrorKind::Unparseable);
    assert_eq!(err.status, Some(200));
    assert_eq!(err.request_id.as_deref(), Some("req_html"));
    assert_eq!(err.raw_body.as_deref(), Some(body));
}

#[tokio::test]
async fn json_200_without_choices_is_unparseable() {
    let server = server_with(ResponseTemplate::new(200).set_body_string("{\"id\":\"x\",\"choices\":[]}")).await;
    let err = provider_for(&server).complete(ask("hi")).await.unwrap_err();
    assert_eq!(err.kind, ProviderErrorKind::Unparseable);
}

#[tokio::test]
async fn connection_refused_is_transport() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let provider = OpenAiProvider::new(MODEL)
        .with_base_url(format!("http://127.0.0.1:{port}/v1"))
        .with_timeout(Duration::from_secs(5));
    let err = provider.complete(ask("hi")).await.unwrap_err();
    assert_eq!(err.kind, ProviderErrorKind::Transport, "{err}");
    assert_eq!(err.status, None);
}

#[tokio::test]
async fn server_slower_than_the_timeout_is_timeout() {
    let server = server_with(ok("late").set_delay(Duration::from_secs(5))).await;
    let started = std::time::Instant::now();
    let err = provider_for(&server).with_timeout(Duration::from_millis(200)).complete(ask("hi")).await.unwrap_err();
    assert_eq!(err.kind, ProviderErrorKind::Timeout, "{err}");
    assert!(started.elapsed() < Duration::from_secs(4), "gave up after {:?}", started.elapsed());
}

#[tokio::test]
async fn rate_limit_429_without_retry_after_waits_until_the_used_up_limit_resets() {
    let body = error_body("Rate limit reached for tokens", "tokens", Some("rate_limit_exceeded"));
    let headers = [
        ("x-ratelimit-remaining-requests", "499"),
        ("x-ratelimit-reset-requests", "120ms"),
        ("x-ratelimit-remaining-tokens", "0"),
        ("x-ratelimit-reset-tokens", "6m0s"),
    ];
    let err = error_for(429, &body, &headers).await;
    assert_eq!(err.kind, ProviderErrorKind::RateLimited { retry_after_ms: Some(360_000) });
}

#[tokio::test]
async fn rate_limit_reset_headers_of_limits_not_used_up_are_not_a_delay() {
    let body = error_body("Rate limit reached", "requests", Some("rate_limit_exceeded"));
    let headers = [("x-ratelimit-remaining-requests", "3"), ("x-ratelimit-reset-requests", "1s")];
    let err = error_for(429, &body, &headers).await;
    assert_eq!(err.kind, ProviderErrorKind::RateLimited { retry_after_ms: None });
}
