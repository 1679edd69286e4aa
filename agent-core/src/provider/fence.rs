//! Reading a model's answer: the text inside a Markdown code fence.

/// The text inside one Markdown code fence (```` ```json … ``` ````), or the
/// whole trimmed text when there is none.
///
/// ```
/// use agent_core::provider::strip_code_fence;
///
/// assert_eq!(strip_code_fence("```json\n{\"a\":1}\n```"), "{\"a\":1}");
/// assert_eq!(strip_code_fence("plain"), "plain");
/// ```
pub fn strip_code_fence(text: &str) -> &str {
    let trimmed = text.trim();
    let fenced = match trimmed.find("```") {
        Some(0) => &trimmed[3..],
        // Prose before a fence: only a fence that says it holds JSON.
        Some(_) => match trimmed.find("```json") {
            Some(at) => &trimmed[at + 3..],
            None => return trimmed,
        },
        None => return trimmed,
    };
    let Some(newline) = fenced.find('\n') else { return trimmed };
    let tag = fenced[..newline].trim();
    if tag.contains(char::is_whitespace) {
        return trimmed;
    }
    let body = &fenced[newline + 1..];
    match body.rfind("```") {
        Some(end) => body[..end].trim(),
        None => body.trim(),
    }
}

#[cfg(test)]
mod tests {
    use super::strip_code_fence;

    #[test]
    fn one_code_fence_is_stripped_with_or_without_a_language_tag() {
        assert_eq!(strip_code_fence("```json\n{\"a\":1}\n```"), "{\"a\":1}");
        assert_eq!(strip_code_fence("  ```\n[1]\n```\n"), "[1]");
        assert_eq!(strip_code_fence("Here it is:\n```json\n{}\n```\nDone."), "{}");
        assert_eq!(strip_code_fence("{\"code\":\"```\"}"), "{\"code\":\"```\"}");
        assert_eq!(strip_code_fence("plain"), "plain");
    }
}
