//! Reads how long a provider asked the caller to wait before trying again.

use reqwest::header::HeaderMap;
use std::time::SystemTime;

/// The delay in milliseconds from `retry-after-ms` (Azure) or `retry-after`
/// (seconds, or an HTTP date measured against `now`).
pub(crate) fn from_headers(headers: &HeaderMap, now: SystemTime) -> Option<u64> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(ms) = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return float_ms(ms);
    }
    let value = header("retry-after")?;
    if let Ok(secs) = value.parse::<f64>() {
        return float_ms(secs * 1000.0);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)))
}

/// The delay in milliseconds from a hint in an error message such as
/// "Please try again in 6ms", "try again in 1.5s" or "try again in 6m0s".
pub(crate) fn from_message(message: &str) -> Option<u64> {
    let lower = message.to_ascii_lowercase();
    let start = lower.find("try again in ")? + "try again in ".len();
    parse_duration_ms(&lower[start..])
}

/// Parses a leading duration: `6ms`, `1.5s`, `20 seconds`, Go-style `6m0s`, `1h2m3.5s`.
pub(crate) fn parse_duration_ms(text: &str) -> Option<u64> {
    let mut rest = text.trim_start();
    let mut total_ms = 0.0_f64;
    let mut parsed_any = false;
    loop {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if num_len == 0 {
            break;
        }
        let Ok(value) = rest[..num_len].parse::<f64>() else { break };
        let after = rest[num_len..].trim_start();
        let unit_len = after.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(after.len());
        let factor = match &after[..unit_len] {
            "ms" | "msec" | "millisecond" | "milliseconds" => 1.0,
            "s" | "sec" | "secs" | "second" | "seconds" => 1000.0,
            "m" | "min" | "mins" | "minute" | "minutes" => 60_000.0,
            "h" | "hr" | "hour" | "hours" => 3_600_000.0,
            _ => break,
        };
        total_ms += value * factor;
        parsed_any = true;
        rest = &after[unit_len..];
        if !rest.starts_with(|c: char| c.is_ascii_digit()) {
            break;
        }
    }
    if parsed_any { float_ms(total_ms) } else { None }
}

fn float_ms(ms: f64) -> Option<u64> {
    // Saturating float → integer conversion; negative and NaN become 0.
    (ms.is_finite()).then(|| ms.max(0.0).ceil() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use std::time::Duration;

    #[test]
    fn message_hints_in_several_units_are_read() {
        assert_eq!(from_message("Rate limit reached. Please try again in 6ms. Visit"), Some(6));
        assert_eq!(from_message("Please try again in 1.5s."), Some(1500));
        assert_eq!(from_message("Please try again in 6m0s."), Some(360_000));
        assert_eq!(from_message("try again in 20 seconds"), Some(20_000));
        assert_eq!(from_message("try again later"), None);
    }

    #[test]
    fn retry_after_header_accepts_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("Sun, 06 Nov 1994 08:49:47 GMT"));
        assert_eq!(from_headers(&headers, now), Some(10_000));
        headers.insert("retry-after", HeaderValue::from_static("3"));
        assert_eq!(from_headers(&headers, now), Some(3_000));
        headers.insert("retry-after-ms", HeaderValue::from_static("250"));
        assert_eq!(from_headers(&headers, now), Some(250));
    }
}
