//! [`model_names`]: the one normalisation of a model name that every table
//! of the crate (prices, capabilities) looks names up with, so a name one
//! table knows the other knows too.
//!
//! ```
//! use agent_providers::model_names::model_names;
//!
//! assert_eq!(model_names("claude-sonnet-4-5-20250929"), ["claude-sonnet-4-5-20250929", "claude-sonnet-4-5"]);
//! assert_eq!(model_names("models/gemini-2.5-pro"), ["models/gemini-2.5-pro", "gemini-2.5-pro"]);
//! assert_eq!(model_names("qwen2.5-coder:7b"), ["qwen2.5-coder:7b", "qwen2.5-coder"]);
//! ```

/// The names a table looks `model` up under, in order, the first found
/// winning: the name as given (so a table may list one snapshot apart);
/// without a path prefix (`models/` of Gemini, a router's `anthropic/`);
/// then without a dated snapshot suffix (`-YYYY-MM-DD` or `-YYYYMMDD`), a
/// Claude `-latest` alias suffix or an Ollama `:tag`.
///
/// `-latest` is removed from Claude names only: OpenAI's `chatgpt-4o-latest`
/// is a model of its own, not an alias of a priced one.
///
/// ```
/// use agent_providers::model_names::model_names;
///
/// assert_eq!(model_names("openai/gpt-4o-2024-08-06"), ["openai/gpt-4o-2024-08-06", "gpt-4o-2024-08-06", "gpt-4o"]);
/// assert_eq!(model_names("claude-3-5-haiku-latest"), ["claude-3-5-haiku-latest", "claude-3-5-haiku"]);
/// assert_eq!(model_names("gpt-5-mini-2025-08-07"), ["gpt-5-mini-2025-08-07", "gpt-5-mini"]);
/// assert_eq!(model_names("o3"), ["o3"]);
/// ```
pub fn model_names(model: &str) -> Vec<&str> {
    let mut names = vec![model];
    let bare = model.rsplit('/').next().unwrap_or(model);
    if bare != model && !bare.is_empty() {
        names.push(bare);
    }
    let normalised = strip_date_suffix(bare)
        .or_else(|| strip_compact_date_suffix(bare))
        .or_else(|| bare.strip_prefix("claude-").and(bare.strip_suffix("-latest")))
        .or_else(|| bare.split_once(':').map(|(name, _tag)| name).filter(|name| !name.is_empty()));
    names.extend(normalised);
    names
}

/// `gpt-4.1-2025-04-14` → `gpt-4.1`.
fn strip_date_suffix(model: &str) -> Option<&str> {
    let (head, tail) = model.split_at_checked(model.len().checked_sub(11)?)?;
    let bytes = tail.as_bytes();
    let shape_ok = bytes[0] == b'-'
        && bytes[5] == b'-'
        && bytes[8] == b'-'
        && bytes.iter().enumerate().all(|(i, b)| matches!(i, 0 | 5 | 8) || b.is_ascii_digit());
    shape_ok.then_some(head)
}

/// `claude-sonnet-4-20250514` → `claude-sonnet-4`.
fn strip_compact_date_suffix(model: &str) -> Option<&str> {
    let (head, tail) = model.split_at_checked(model.len().checked_sub(9)?)?;
    let bytes = tail.as_bytes();
    (bytes[0] == b'-' && bytes[1..].iter().all(u8::is_ascii_digit)).then_some(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_date_shaped_suffixes_are_removed() {
        assert_eq!(strip_date_suffix("gpt-4o-mini"), None);
        assert_eq!(strip_compact_date_suffix("claude-3-5-haiku-20241022"), Some("claude-3-5-haiku"));
        assert_eq!(strip_compact_date_suffix("gemini-2.5-pro"), None);
        assert_eq!(model_names("gpt-4o-mini-latest"), ["gpt-4o-mini-latest"]);
        assert_eq!(model_names("chatgpt-4o-latest"), ["chatgpt-4o-latest"]);
    }
}
