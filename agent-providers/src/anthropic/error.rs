//! Classifies an Anthropic error (an HTTP error response, or an `error` event
//! inside a stream) into a [`ProviderErrorKind`].

use super::wire::ErrorEnvelope;
use crate::native::Classified;
use crate::retry_after;
use agent_core::provider::ProviderErrorKind;
use reqwest::header::HeaderMap;
use std::time::SystemTime;

/// The HTTP status Anthropic documents for an `error.type`, used to classify an
/// `error` event that arrived inside a 200 stream like the HTTP error it stands for.
pub(super) fn status_for_error_type(kind: &str) -> u16 {
    match kind {
        "invalid_request_error" => 400,
        "authentication_error" => 401,
        "billing_error" => 402,
        "permission_error" => 403,
        "not_found_error" => 404,
        "request_too_large" => 413,
        "rate_limit_error" => 429,
        "timeout_error" => 504,
        "overloaded_error" => 529,
        _ => 500,
    }
}

fn mentions_spend_limit(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    ["credit balance", "spend limit", "spending limit", "api usage limits", "billing"]
        .iter()
        .any(|needle| lower.contains(needle))
}

fn mentions_context_length(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    lower.contains("prompt is too long")
        || lower.contains("exceed context limit")
        || lower.contains("exceeds the context window")
        || lower.contains("context length")
}

/// What a 400 says this model does not support (`"thinking: … is not
/// supported on this model"` names the field before the colon), if it says so.
fn unsupported_parameter(message: &str) -> Option<String> {
    let lower = message.to_ascii_lowercase();
    if !(lower.contains("not supported") || lower.contains("does not support") || lower.contains("unsupported")) {
        return None;
    }
    let field = message
        .split_once(':')
        .map(|(head, _)| head.trim())
        .filter(|head| !head.is_empty() && head.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.')));
    Some(field.unwrap_or("parameter").to_owned())
}

/// "You will regain access on 2025-08-01 at 00:00 UTC." → Unix milliseconds.
fn regain_access_at(message: &str) -> Option<u64> {
    let start = message.find("regain access on ")? + "regain access on ".len();
    let rest = &message[start..];
    let date = rest.get(..10)?;
    let time = rest.get(10..)?.strip_prefix(" at ")?.get(..5)?;
    retry_after::parse_rfc3339_unix_ms(&format!("{date}T{time}:00Z"))
}

/// The wait from the `anthropic-ratelimit-*-reset` headers (RFC 3339): the latest
/// reset among the limits with nothing remaining, else the earliest reset given.
fn ratelimit_reset_ms(headers: &HeaderMap, now: SystemTime) -> Option<u64> {
    let value = |name: String| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let mut exhausted: Option<u64> = None;
    let mut earliest: Option<u64> = None;
    for limit in ["requests", "tokens", "input-tokens", "output-tokens"] {
        let Some(delay) =
            value(format!("anthropic-ratelimit-{limit}-reset")).and_then(|r| retry_after::until_rfc3339(r, now))
        else {
            continue;
        };
        earliest = Some(earliest.map_or(delay, |e| e.min(delay)));
        if value(format!("anthropic-ratelimit-{limit}-remaining")) == Some("0") {
            exhausted = Some(exhausted.map_or(delay, |e| e.max(delay)));
        }
    }
    exhausted.or(earliest)
}

/// Classifies an error answer from its status, headers and body.
pub(super) fn classify(status: u16, headers: &HeaderMap, body: &str, now: SystemTime) -> Classified {
    let envelope = ErrorEnvelope::parse(body);
    let message = envelope.message(body);
    let kind_field = envelope.error.kind.as_deref().unwrap_or_default();
    let retry_after_ms = || retry_after::from_headers(headers, now).or_else(|| ratelimit_reset_ms(headers, now));

    let quota = envelope.error_code() == Some("enforced_spend_limit_reached")
        || kind_field == "billing_error"
        || (matches!(status, 400 | 402 | 403 | 429) && mentions_spend_limit(&message));
    let kind = if quota {
        ProviderErrorKind::QuotaExhausted { resets_at_unix_ms: regain_access_at(&message) }
    } else {
        match (status, kind_field) {
            (429, _) | (_, "rate_limit_error") => ProviderErrorKind::RateLimited { retry_after_ms: retry_after_ms() },
            (503 | 529, _) | (_, "overloaded_error") => {
                ProviderErrorKind::Overloaded { retry_after_ms: retry_after_ms() }
            }
            (413, _) | (_, "request_too_large") => ProviderErrorKind::ContextTooLong,
            (400, _) if mentions_context_length(&message) => ProviderErrorKind::ContextTooLong,
            // Anthropic's only 404 on the Messages API: the model is not served here.
            (404, _) | (_, "not_found_error") => ProviderErrorKind::Unsupported { what: "model".to_owned() },
            (400, _) if unsupported_parameter(&message).is_some() => {
                ProviderErrorKind::Unsupported { what: unsupported_parameter(&message).unwrap_or_default() }
            }
            (401 | 403, _) | (_, "authentication_error" | "permission_error") => ProviderErrorKind::Auth,
            (408 | 504, _) | (_, "timeout_error") => ProviderErrorKind::Timeout,
            (402, _) => ProviderErrorKind::QuotaExhausted { resets_at_unix_ms: None },
            (400..=499, _) => ProviderErrorKind::InvalidRequest,
            (500..=599, _) => ProviderErrorKind::ServerError { status },
            _ => ProviderErrorKind::Other,
        }
    };
    let label = if kind_field.is_empty() { String::new() } else { format!(" {kind_field}") };
    Classified { kind, message: format!("HTTP {status}{label}: {message}"), request_id: envelope.request_id }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use std::time::Duration;

    fn body(kind: &str, message: &str) -> String {
        serde_json::json!({"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_1"})
            .to_string()
    }

    #[test]
    fn usage_limit_message_gives_the_reset_time() {
        let text =
            "You have reached your specified API usage limits. You will regain access on 2025-08-01 at 00:00 UTC.";
        let classified = classify(400, &HeaderMap::new(), &body("invalid_request_error", text), SystemTime::now());
        assert_eq!(classified.kind, ProviderErrorKind::QuotaExhausted { resets_at_unix_ms: Some(1_754_006_400_000) });
    }

    #[test]
    fn the_exhausted_limit_decides_the_reset_delay() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_709_208_000);
        let mut headers = HeaderMap::new();
        headers.insert("anthropic-ratelimit-requests-reset", HeaderValue::from_static("2024-02-29T12:00:05Z"));
        headers.insert("anthropic-ratelimit-requests-remaining", HeaderValue::from_static("10"));
        headers.insert("anthropic-ratelimit-tokens-reset", HeaderValue::from_static("2024-02-29T12:00:40Z"));
        headers.insert("anthropic-ratelimit-tokens-remaining", HeaderValue::from_static("0"));
        assert_eq!(ratelimit_reset_ms(&headers, now), Some(40_000));
        headers.remove("anthropic-ratelimit-tokens-remaining");
        assert_eq!(ratelimit_reset_ms(&headers, now), Some(5_000));
    }

    #[test]
    fn error_types_map_to_their_documented_statuses() {
        assert_eq!(status_for_error_type("overloaded_error"), 529);
        assert_eq!(status_for_error_type("rate_limit_error"), 429);
        assert_eq!(status_for_error_type("something_new"), 500);
    }

    #[test]
    fn a_missing_model_or_unsupported_field_is_unsupported() {
        let missing = classify(404, &HeaderMap::new(), &body("not_found_error", "model: claude-9"), SystemTime::now());
        assert_eq!(missing.kind, ProviderErrorKind::Unsupported { what: "model".into() });
        let text = "thinking: extended thinking is not supported on this model";
        let field = classify(400, &HeaderMap::new(), &body("invalid_request_error", text), SystemTime::now());
        assert_eq!(field.kind, ProviderErrorKind::Unsupported { what: "thinking".into() });
        let bad =
            classify(400, &HeaderMap::new(), &body("invalid_request_error", "messages: empty"), SystemTime::now());
        assert_eq!(bad.kind, ProviderErrorKind::InvalidRequest);
    }

    #[test]
    fn api_errors_are_server_errors_with_their_status() {
        let classified =
            classify(500, &HeaderMap::new(), &body("api_error", "Internal server error"), SystemTime::now());
        assert_eq!(classified.kind, ProviderErrorKind::ServerError { status: 500 });
        let overloaded = classify(529, &HeaderMap::new(), &body("overloaded_error", "Overloaded"), SystemTime::now());
        assert_eq!(overloaded.kind, ProviderErrorKind::Overloaded { retry_after_ms: None });
    }
}
