//! Classifies an OpenAI (or compatible) error response into a [`ProviderErrorKind`].

use super::wire::{ErrorBody, ErrorEnvelope};
use crate::retry_after;
use agent_core::ProviderErrorKind;
use reqwest::header::HeaderMap;
use std::time::SystemTime;

/// What an error response said, read from its status, headers and body.
pub(super) struct Classified {
    pub(super) kind: ProviderErrorKind,
    pub(super) message: String,
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

/// Classifies a non-2xx response.
pub(super) fn classify(status: u16, headers: &HeaderMap, body: &str, now: SystemTime) -> Classified {
    let (message, kind_field, code_field) = match serde_json::from_str::<ErrorEnvelope>(body) {
        Ok(ErrorEnvelope { error: ErrorBody::Object { message, kind, code } }) => {
            let code = code.and_then(|c| match c {
                serde_json::Value::String(s) => Some(s),
                serde_json::Value::Null => None,
                other => Some(other.to_string()),
            });
            (message, kind, code)
        }
        Ok(ErrorEnvelope { error: ErrorBody::Text(text) }) => (Some(text), None, None),
        Err(_) => (None, None, None),
    };
    let message = message.filter(|m| !m.trim().is_empty()).unwrap_or_else(|| body_excerpt(body));
    let has = |pred: &dyn Fn(&str) -> bool| {
        kind_field.as_deref().is_some_and(pred) || code_field.as_deref().is_some_and(pred)
    };
    let retry_after_ms = || retry_after::from_headers(headers, now).or_else(|| retry_after::from_message(&message));

    let kind = match status {
        429 if has(&is_quota_marker) => ProviderErrorKind::QuotaExhausted { resets_at_unix_ms: None },
        429 => ProviderErrorKind::RateLimited { retry_after_ms: retry_after_ms() },
        402 => ProviderErrorKind::QuotaExhausted { resets_at_unix_ms: None },
        401 | 403 => ProviderErrorKind::Auth,
        413 => ProviderErrorKind::ContextTooLong,
        400 if has(&|v| v == "context_length_exceeded") || mentions_context_length(&message) => {
            ProviderErrorKind::ContextTooLong
        }
        408 => ProviderErrorKind::Timeout,
        503 | 529 => ProviderErrorKind::Overloaded { retry_after_ms: retry_after_ms() },
        400..=499 => ProviderErrorKind::InvalidRequest,
        _ => ProviderErrorKind::Other,
    };
    Classified { kind, message: format!("HTTP {status}: {message}") }
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
    fn plain_text_error_bodies_are_classified_by_status() {
        assert_eq!(kind(404, "model not found"), ProviderErrorKind::InvalidRequest);
        assert_eq!(kind(502, ""), ProviderErrorKind::Other);
        assert_eq!(
            kind(400, r#"{"error":"This model's maximum context length is 8192 tokens"}"#),
            ProviderErrorKind::ContextTooLong
        );
    }
}
