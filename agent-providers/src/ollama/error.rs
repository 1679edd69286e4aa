//! Classifies an Ollama error (`{"error":"…"}`, as an HTTP answer or a stream line).

use crate::native::{Classified, body_excerpt};
use crate::retry_after;
use agent_core::provider::ProviderErrorKind;
use reqwest::header::HeaderMap;
use std::time::SystemTime;

/// The `error` text of an Ollama error body, if it is one.
pub(super) fn error_text(body: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    match value.get("error")? {
        serde_json::Value::String(text) => Some(text.clone()),
        other => other.get("message").and_then(|m| m.as_str()).map(str::to_owned).or_else(|| Some(other.to_string())),
    }
}

fn mentions_context_length(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    lower.contains("context length")
        || lower.contains("context window")
        || lower.contains("exceeds the context")
        || lower.contains("context size")
        || lower.contains("prompt is too long")
}

/// A usage or quota limit of a hosted Ollama (or a proxy in front of one), as opposed to a rate limit.
fn mentions_quota(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    lower.contains("quota") || lower.contains("usage limit")
}

/// What Ollama says the model does not support: `model "x" not found`
/// (the model is not pulled here) or `"x" does not support tools` (the
/// capability named after it).
fn unsupported(status: u16, message: &str) -> Option<String> {
    let lower = message.to_ascii_lowercase();
    if let Some((_, rest)) = lower.split_once("does not support ") {
        let what: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        return Some(if what.is_empty() { "parameter".to_owned() } else { what });
    }
    (status == 404 && lower.contains("model") && lower.contains("not found")).then(|| "model".to_owned())
}

/// Classifies an error from its status (500 for a stream line), headers and body.
pub(super) fn classify(status: u16, headers: &HeaderMap, body: &str, now: SystemTime) -> Classified {
    let message = error_text(body).filter(|m| !m.trim().is_empty()).unwrap_or_else(|| body_excerpt(body));
    let retry_after_ms = || retry_after::from_headers(headers, now);
    let kind = if mentions_context_length(&message) {
        ProviderErrorKind::ContextTooLong
    } else if let Some(what) = unsupported(status, &message).filter(|_| matches!(status, 400 | 404)) {
        ProviderErrorKind::Unsupported { what }
    } else {
        match status {
            404 => ProviderErrorKind::InvalidRequest,
            401 | 403 => ProviderErrorKind::Auth,
            402 => ProviderErrorKind::QuotaExhausted { resets_at_unix_ms: None },
            429 if mentions_quota(&message) => ProviderErrorKind::QuotaExhausted { resets_at_unix_ms: None },
            429 => ProviderErrorKind::RateLimited { retry_after_ms: retry_after_ms() },
            503 => ProviderErrorKind::Overloaded { retry_after_ms: retry_after_ms() },
            408 | 504 => ProviderErrorKind::Timeout,
            400..=499 => ProviderErrorKind::InvalidRequest,
            500..=599 => ProviderErrorKind::ServerError { status },
            _ => ProviderErrorKind::Other,
        }
    };
    Classified { kind, message: format!("HTTP {status}: {message}"), request_id: None }
}
