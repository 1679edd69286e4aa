//! Classifies a Gemini error (an HTTP error response, or an `error` object
//! inside a stream) into a [`ProviderErrorKind`].

use super::wire::ErrorEnvelope;
use crate::native::Classified;
use crate::retry_after;
use agent_core::provider::ProviderErrorKind;
use reqwest::header::HeaderMap;
use serde_json::Value;
use std::time::SystemTime;

/// Whether a 429 is a quota waiting cannot help: a per-day `quotaId`, or a limit of 0
/// (the model is not in the plan at all).
fn is_hard_quota(envelope: &ErrorEnvelope, message: &str) -> bool {
    let per_day_or_zero = envelope.details_of("google.rpc.QuotaFailure").any(|failure| {
        failure.get("violations").and_then(Value::as_array).into_iter().flatten().any(|violation| {
            let text = |key: &str| violation.get(key).and_then(Value::as_str).unwrap_or_default();
            text("quotaId").contains("PerDay")
                || violation.get("quotaValue").is_some_and(|v| v.as_str() == Some("0") || v.as_u64() == Some(0))
        })
    });
    per_day_or_zero || message.to_ascii_lowercase().contains("limit: 0")
}

/// `RetryInfo.retryDelay` ("37s", "1.5s") in milliseconds.
fn retry_delay_ms(envelope: &ErrorEnvelope) -> Option<u64> {
    envelope
        .details_of("google.rpc.RetryInfo")
        .find_map(|info| info.get("retryDelay").and_then(Value::as_str))
        .and_then(retry_after::parse_duration_ms)
}

fn mentions_context_length(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    (lower.contains("token count") && lower.contains("exceeds"))
        || lower.contains("exceeds the maximum number of tokens")
        || lower.contains("context window")
        || lower.contains("context length")
        || lower.contains("too many tokens")
}

/// A model that does not exist for this API version, or a field or value it
/// does not support: the next provider of a cascade may take the request.
fn unsupported(status: u16, rpc_status: &str, message: &str) -> Option<String> {
    let lower = message.to_ascii_lowercase();
    let model_gone = (status == 404 || rpc_status == "NOT_FOUND") && lower.contains("model");
    if model_gone {
        return Some("model".to_owned());
    }
    let not_supported = lower.contains("is not supported") || lower.contains("not supported by");
    ((status == 400 || rpc_status == "INVALID_ARGUMENT") && not_supported).then(|| {
        // "Function calling is not supported by this model" → the thing named first.
        message.split(" is not supported").next().unwrap_or(message).trim().chars().take(80).collect()
    })
}

fn is_bad_api_key(envelope: &ErrorEnvelope, message: &str) -> bool {
    envelope
        .details_of("google.rpc.ErrorInfo")
        .any(|info| info.get("reason").and_then(Value::as_str).is_some_and(|r| r.starts_with("API_KEY_")))
        || message.contains("API key not valid")
}

/// Classifies an error answer from its status, headers and body.
pub(super) fn classify(status: u16, headers: &HeaderMap, body: &str, now: SystemTime) -> Classified {
    let envelope = ErrorEnvelope::parse(body).unwrap_or_default();
    let message = envelope.message(body);
    let rpc_status = envelope.error.status.as_deref().unwrap_or_default();
    let retry_after_ms = || retry_delay_ms(&envelope).or_else(|| retry_after::from_headers(headers, now));

    let unsupported = unsupported(status, rpc_status, &message);
    let kind = match (status, rpc_status) {
        (429, _) | (_, "RESOURCE_EXHAUSTED") if is_hard_quota(&envelope, &message) => {
            ProviderErrorKind::QuotaExhausted { resets_at_unix_ms: None }
        }
        (429, _) | (_, "RESOURCE_EXHAUSTED") => ProviderErrorKind::RateLimited { retry_after_ms: retry_after_ms() },
        (401 | 403, _) | (_, "UNAUTHENTICATED" | "PERMISSION_DENIED") => ProviderErrorKind::Auth,
        (400, _) if is_bad_api_key(&envelope, &message) => ProviderErrorKind::Auth,
        (413, _) => ProviderErrorKind::ContextTooLong,
        (400, _) if mentions_context_length(&message) => ProviderErrorKind::ContextTooLong,
        (503, _) | (_, "UNAVAILABLE") => ProviderErrorKind::Overloaded { retry_after_ms: retry_after_ms() },
        (408 | 504, _) | (_, "DEADLINE_EXCEEDED") => ProviderErrorKind::Timeout,
        _ if unsupported.is_some() => ProviderErrorKind::Unsupported { what: unsupported.unwrap_or_default() },
        (400..=499, _) => ProviderErrorKind::InvalidRequest,
        (500..=599, _) => ProviderErrorKind::ServerError { status },
        _ => ProviderErrorKind::Other,
    };
    let label = if rpc_status.is_empty() { String::new() } else { format!(" {rpc_status}") };
    Classified { kind, message: format!("HTTP {status}{label}: {message}"), request_id: None }
}
