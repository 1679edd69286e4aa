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

/// The delay in milliseconds from OpenAI's `x-ratelimit-reset-{requests,tokens}`
/// headers (Go-style durations such as `6m0s` or `12ms`), taken from the
/// limit that is used up (`x-ratelimit-remaining-*` is `0`); when both are,
/// the later reset wins. `None` when no used-up limit says when it resets.
pub(crate) fn from_ratelimit_reset(headers: &HeaderMap) -> Option<u64> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    ["requests", "tokens"]
        .iter()
        .filter(|limit| header(&format!("x-ratelimit-remaining-{limit}")) == Some("0"))
        .filter_map(|limit| header(&format!("x-ratelimit-reset-{limit}")).and_then(parse_duration_ms))
        .max()
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

/// Parses an RFC 3339 timestamp (`2025-06-01T12:00:30Z`, `2025-06-01T12:00:30.250+02:00`)
/// into Unix milliseconds. Returns `None` for anything else (and for times before 1970).
pub(crate) fn parse_rfc3339_unix_ms(text: &str) -> Option<u64> {
    let text = text.trim();
    let bytes = text.as_bytes();
    if bytes.len() < 20 || !matches!(bytes[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes().all(|b| b.is_ascii_digit()).then(|| part.parse().ok())?
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if bytes[4] != b'-' || bytes[7] != b'-' || bytes[13] != b':' || bytes[16] != b':' {
        return None;
    }
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &text[19..];
    let mut millis = 0_i64;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.find(|c: char| !c.is_ascii_digit()).unwrap_or(fraction.len());
        if digits == 0 {
            return None;
        }
        let padded = format!("{:0<3}", &fraction[..digits.min(3)]);
        millis = padded.parse().ok()?;
        rest = &fraction[digits..];
    }
    let offset_minutes = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let offset = &rest[1..];
            if offset.len() != 5 || offset.as_bytes()[2] != b':' {
                return None;
            }
            let (h, m): (i64, i64) = (offset[..2].parse().ok()?, offset[3..].parse().ok()?);
            sign * (h * 60 + m)
        }
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_minutes * 60;
    u64::try_from(secs * 1000 + millis).ok()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Unix milliseconds of `now`.
pub(crate) fn unix_ms(now: SystemTime) -> u64 {
    now.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The delay in milliseconds from `now` until an RFC 3339 timestamp (0 when it is past).
pub(crate) fn until_rfc3339(text: &str, now: SystemTime) -> Option<u64> {
    parse_rfc3339_unix_ms(text).map(|at| at.saturating_sub(unix_ms(now)))
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

    #[test]
    fn rfc3339_timestamps_with_zones_and_fractions_are_read() {
        assert_eq!(parse_rfc3339_unix_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339_unix_ms("2024-02-29T12:00:30Z"), Some(1_709_208_030_000));
        assert_eq!(parse_rfc3339_unix_ms("2024-02-29T14:00:30.25+02:00"), Some(1_709_208_030_250));
        assert_eq!(parse_rfc3339_unix_ms("2024-02-29T12:00:30.123456789Z"), Some(1_709_208_030_123));
        assert_eq!(parse_rfc3339_unix_ms("2024-02-29 12:00:30"), None);
        assert_eq!(parse_rfc3339_unix_ms("Sun, 06 Nov 1994 08:49:47 GMT"), None);
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_709_208_000);
        assert_eq!(until_rfc3339("2024-02-29T12:00:30Z", now), Some(30_000));
        assert_eq!(until_rfc3339("2024-02-29T11:00:00Z", now), Some(0));
    }

    #[test]
    fn google_and_go_durations_are_read() {
        assert_eq!(parse_duration_ms("37s"), Some(37_000));
        assert_eq!(parse_duration_ms("0.5s"), Some(500));
        assert_eq!(parse_duration_ms("1m30s"), Some(90_000));
    }
}
