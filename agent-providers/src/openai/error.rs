//! Classifies an OpenAI (or compatible) error response into a [`ProviderErrorKind`].

use super::wire::{ErrorBody, ErrorEnvelope};
use crate::retry_after;
use agent_core::provider::ProviderErrorKind;
use reqwest::header::HeaderMap;
use std::time::SystemTime;

/// What an error response said, read from its status, headers and body.
pub(crate) struct Classified {
    pub(crate) kind: ProviderErrorKind,
    pub(crate) message: String,
}

/// The error `type`/`code` values that mean a quota or spend limit, not a short-term rate limit.
fn is_quota_marker(value: &str) -> bool {
    matches!(
        value,
        "insufficient_quota" | "credit_balance_exhausted" | "usage_limit_reached" | "billing_hard_limit_reached"
    ) || value.ends_with("_spend_limit_exceeded")
}

fn mentions_context_length(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    lower.contains("maximum context length")
        || lower.contains("context_length_exceeded")
        || lower.contains("context length exceeded")
        || lower.contains("context window")
}

/// The fields of an error body: message, `type`, `code` (as text), `param`.
struct Fields {
    message: String,
    kind: Option<String>,
    code: Option<String>,
    param: Option<String>,
}

impl Fields {
    fn read(body: &str) -> Self {
        let (message, kind, code, param) = match serde_json::from_str::<ErrorEnvelope>(body) {
            Ok(ErrorEnvelope { error: ErrorBody::Object { message, kind, code, param } }) => {
                let code = code.and_then(|c| match c {
                    serde_json::Value::String(s) => Some(s),
                    serde_json::Value::Null => None,
                    other => Some(other.to_string()),
                });
                (message, kind, code, param)
            }
            Ok(ErrorEnvelope { error: ErrorBody::Text(text) }) => (Some(text), None, None, None),
            Err(_) => (None, None, None, None),
        };
        let message = message.filter(|m| !m.trim().is_empty()).unwrap_or_else(|| body_excerpt(body));
        Self { message, kind, code, param: param.filter(|p| !p.trim().is_empty()) }
    }

    fn has(&self, pred: &dyn Fn(&str) -> bool) -> bool {
        self.kind.as_deref().is_some_and(pred) || self.code.as_deref().is_some_and(pred)
    }
}

/// Classifies a non-2xx response.
pub(crate) fn classify(status: u16, headers: &HeaderMap, body: &str, now: SystemTime) -> Classified {
    let fields = Fields::read(body);
    let kind = kind_for_status(status, &fields, headers, now);
    Classified { kind, message: format!("HTTP {status}: {}", fields.message) }
}

/// What a 400/404 says this provider does not support, if it says so: the
/// model (`model_not_found`, or a 404 whose message is about the model), or
/// a parameter (`unsupported_parameter`/`unsupported_value`, named by `param`).
fn unsupported(status: u16, fields: &Fields) -> Option<String> {
    let param = || fields.param.clone().unwrap_or_else(|| "parameter".to_owned());
    if fields.has(&|v| v == "model_not_found") {
        return Some("model".to_owned());
    }
    if fields.has(&|v| matches!(v, "unsupported_parameter" | "unsupported_value")) {
        return Some(param());
    }
    let lower = fields.message.to_ascii_lowercase();
    if status == 404 && lower.contains("model") && (lower.contains("not found") || lower.contains("does not exist")) {
        return Some("model".to_owned());
    }
    None
}

fn kind_for_status(status: u16, fields: &Fields, headers: &HeaderMap, now: SystemTime) -> ProviderErrorKind {
    let message = &fields.message;
    let retry_after_ms = || {
        retry_after::from_headers(headers, now)
            .or_else(|| retry_after::from_message(message))
            .or_else(|| retry_after::from_ratelimit_reset(headers))
    };
    if let Some(what) = matches!(status, 400 | 404).then(|| unsupported(status, fields)).flatten() {
        return ProviderErrorKind::Unsupported { what };
    }
    match status {
        429 if fields.has(&is_quota_marker) => ProviderErrorKind::QuotaExhausted { resets_at_unix_ms: None },
        429 => ProviderErrorKind::RateLimited { retry_after_ms: retry_after_ms() },
        402 => ProviderErrorKind::QuotaExhausted { resets_at_unix_ms: None },
        401 | 403 => ProviderErrorKind::Auth,
        413 => ProviderErrorKind::ContextTooLong,
        400 if fields.has(&|v| v == "context_length_exceeded") || mentions_context_length(message) => {
            ProviderErrorKind::ContextTooLong
        }
        408 => ProviderErrorKind::Timeout,
        503 | 529 => ProviderErrorKind::Overloaded { retry_after_ms: retry_after_ms() },
        400..=499 => ProviderErrorKind::InvalidRequest,
        500..=599 => ProviderErrorKind::ServerError { status },
        _ => ProviderErrorKind::Other,
    }
}

/// The HTTP status an error body stands for when it arrives without one
/// (an `{"error":…}` event inside a 200 stream): a numeric `code` (OpenRouter,
/// LiteLLM), else the status OpenAI sends with that `type`/`code`.
fn implied_status(fields: &Fields) -> Option<u16> {
    if let Some(code) = fields.code.as_deref().and_then(|c| c.parse::<u16>().ok()) {
        if (400..600).contains(&code) {
            return Some(code);
        }
    }
    if fields.has(&is_quota_marker) {
        return Some(429);
    }
    let rate_limit = |v: &str| {
        matches!(v, "rate_limit_exceeded" | "rate_limit_error" | "rate_limit" | "requests" | "tokens")
            || v.contains("rate_limit")
    };
    if fields.has(&rate_limit) {
        return Some(429);
    }
    if fields.has(&|v| v == "context_length_exceeded") || mentions_context_length(&fields.message) {
        return Some(400);
    }
    let auth = |v: &str| {
        matches!(v, "invalid_api_key" | "authentication_error" | "invalid_authentication" | "permission_error")
    };
    if fields.has(&auth) {
        return Some(401);
    }
    let overloaded =
        |v: &str| matches!(v, "server_is_overloaded" | "slow_down" | "overloaded_error" | "service_unavailable");
    if fields.has(&overloaded) {
        return Some(503);
    }
    if fields.has(&|v| v == "model_not_found") {
        return Some(404);
    }
    if fields.has(&|v| {
        matches!(v, "invalid_request_error" | "unsupported_parameter" | "unsupported_value" | "invalid_prompt")
    }) {
        return Some(400);
    }
    if fields.has(&|v| matches!(v, "server_error" | "api_error" | "internal_error")) {
        return Some(500);
    }
    None
}

/// Classifies an `{"error":…}` event received inside a 200 stream, as the
/// same body would be classified on an HTTP error response.
pub(crate) fn classify_stream_event(data: &str, now: SystemTime) -> Classified {
    let fields = Fields::read(data);
    let kind = match implied_status(&fields) {
        Some(status) => kind_for_status(status, &fields, &HeaderMap::new(), now),
        None => ProviderErrorKind::Other,
    };
    Classified { kind, message: format!("error event in the stream: {}", fields.message) }
}

/// [`classify`] in the form the shared HTTP plumbing of the crate takes
/// (the Responses API provider classifies its errors as Chat Completions does).
pub(crate) fn classify_for_native(
    status: u16,
    headers: &HeaderMap,
    body: &str,
    now: SystemTime,
) -> crate::native::Classified {
    let classified = classify(status, headers, body, now);
    crate::native::Classified { kind: classified.kind, message: classified.message, request_id: None }
}

/// Classifies an error object met inside a 200 stream or body (`{"code",
/// "message", "type"}`, as the Responses API sends in `error` events and in
/// a failed response), as the same error on an HTTP response would be.
pub(crate) fn classify_error_object(error: &serde_json::Value, now: SystemTime) -> Classified {
    let envelope = serde_json::json!({ "error": error });
    classify_stream_event(&envelope.to_string(), now)
}

/// The first 500 characters of a body that carried no error message.
fn body_excerpt(body: &str) -> String {
    let trimmed = body.trim();
    if trimmed.is_empty() {
        return "empty response body".to_owned();
    }
    match trimmed.char_indices().nth(500) {
        Some((cut, _)) => format!("{}…", &trimmed[..cut]),
        None => trimmed.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(status: u16, body: &str) -> ProviderErrorKind {
        classify(status, &HeaderMap::new(), body, SystemTime::now()).kind
    }

    #[test]
    fn every_quota_marker_on_type_or_code_is_quota_exhausted() {
        for marker in ["insufficient_quota", "credit_balance_exhausted", "project_spend_limit_exceeded"] {
            let on_code = format!(r#"{{"error":{{"message":"x","type":"requests","code":"{marker}"}}}}"#);
            let on_type = format!(r#"{{"error":{{"message":"x","type":"{marker}","code":null}}}}"#);
            for body in [on_code, on_type] {
                assert!(matches!(kind(429, &body), ProviderErrorKind::QuotaExhausted { .. }), "{body}");
            }
        }
    }

    #[test]
    fn stream_error_events_are_classified_from_type_code_and_numeric_codes() {
        let event = |body: &str| classify_stream_event(body, SystemTime::now()).kind;
        let quota =
            r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":null}}"#;
        assert!(matches!(event(quota), ProviderErrorKind::QuotaExhausted { .. }));
        let rate = r#"{"error":{"message":"Rate limit reached. Please try again in 2s.","type":"tokens","code":"rate_limit_exceeded"}}"#;
        assert_eq!(event(rate), ProviderErrorKind::RateLimited { retry_after_ms: Some(2_000) });
        let numeric = r#"{"error":{"message":"Provider returned error","code":429}}"#;
        assert_eq!(event(numeric), ProviderErrorKind::RateLimited { retry_after_ms: None });
        let overloaded = r#"{"error":{"message":"busy","type":"server_error","code":"server_is_overloaded"}}"#;
        assert_eq!(event(overloaded), ProviderErrorKind::Overloaded { retry_after_ms: None });
        assert_eq!(
            event(r#"{"error":{"message":"boom","type":"server_error"}}"#),
            ProviderErrorKind::ServerError { status: 500 }
        );
        assert_eq!(event(r#"{"error":{"message":"what"}}"#), ProviderErrorKind::Other);
    }

    #[test]
    fn plain_text_error_bodies_are_classified_by_status() {
        assert_eq!(kind(404, "model not found"), ProviderErrorKind::Unsupported { what: "model".into() });
        assert_eq!(kind(404, "404 page not found"), ProviderErrorKind::InvalidRequest);
        assert_eq!(kind(502, ""), ProviderErrorKind::ServerError { status: 502 });
        assert_eq!(
            kind(400, r#"{"error":"This model's maximum context length is 8192 tokens"}"#),
            ProviderErrorKind::ContextTooLong
        );
    }

    #[test]
    fn unsupported_parameters_and_models_are_unsupported_not_invalid() {
        let param = r#"{"error":{"message":"Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.","type":"invalid_request_error","param":"max_tokens","code":"unsupported_parameter"}}"#;
        assert_eq!(kind(400, param), ProviderErrorKind::Unsupported { what: "max_tokens".into() });
        let value = r#"{"error":{"message":"Unsupported value: 'temperature' does not support 0.2 with this model.","type":"invalid_request_error","param":"temperature","code":"unsupported_value"}}"#;
        assert_eq!(kind(400, value), ProviderErrorKind::Unsupported { what: "temperature".into() });
        let model = r#"{"error":{"message":"The model `gpt-9` does not exist or you do not have access to it.","type":"invalid_request_error","param":null,"code":"model_not_found"}}"#;
        assert_eq!(kind(404, model), ProviderErrorKind::Unsupported { what: "model".into() });
        let other = r#"{"error":{"message":"'messages' must contain the word 'json'","type":"invalid_request_error","param":"messages","code":null}}"#;
        assert_eq!(kind(400, other), ProviderErrorKind::InvalidRequest);
    }

    #[test]
    fn server_errors_keep_their_status_and_overload_stays_overloaded() {
        assert_eq!(
            kind(500, r#"{"error":{"message":"x","type":"server_error"}}"#),
            ProviderErrorKind::ServerError { status: 500 }
        );
        assert_eq!(kind(503, ""), ProviderErrorKind::Overloaded { retry_after_ms: None });
    }
}
