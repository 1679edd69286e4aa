//! Token counts, shared by the repair-context budget (`agent-classify`) and
//! the usage estimate of providers whose server reports none
//! (`agent-providers`).
//!
//! With the `tiktoken` feature, [`count_tokens`] counts with tiktoken's
//! `o200k_base` encoding (the GPT-4o / GPT-4.1 / o-series / gpt-5
//! tokenizer), loaded once per process; other models' tokenizers differ by
//! a few percent. Without it (or if the encoding cannot be loaded) the count
//! is an estimate that errs high: one token per three bytes, rounded up.
//! [`exact_token_counts`] says which one a process gets.
//!
//! ```
//! use agent_tokens::count_tokens;
//!
//! assert_eq!(count_tokens(""), 0);
//! assert!(count_tokens("error[E0308]: mismatched types") >= 5);
//! ```

/// Counts the tokens of `text` (see the crate docs for how).
pub fn count_tokens(text: &str) -> usize {
    if text.is_empty() {
        return 0;
    }
    #[cfg(feature = "tiktoken")]
    if let Some(bpe) = o200k() {
        return bpe.encode_with_special_tokens(text).len();
    }
    text.len().div_ceil(3)
}

/// Whether [`count_tokens`] counts with the real `o200k_base` tokenizer
/// (rather than estimating).
pub fn exact_token_counts() -> bool {
    #[cfg(feature = "tiktoken")]
    {
        o200k().is_some()
    }
    #[cfg(not(feature = "tiktoken"))]
    {
        false
    }
}

#[cfg(feature = "tiktoken")]
fn o200k() -> Option<&'static tiktoken_rs::CoreBPE> {
    static BPE: std::sync::OnceLock<Option<tiktoken_rs::CoreBPE>> = std::sync::OnceLock::new();
    BPE.get_or_init(|| match tiktoken_rs::o200k_base() {
        Ok(bpe) => Some(bpe),
        Err(err) => {
            tracing::warn!(%err, "cannot load the o200k_base tokenizer; token counts are estimates");
            None
        }
    })
    .as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_zero_for_nothing_and_grow_with_the_text() {
        assert_eq!(count_tokens(""), 0);
        let one = count_tokens("fn main() {}");
        let ten = count_tokens(&"fn main() {}\n".repeat(10));
        assert!(one >= 1 && ten >= 9 * one, "{one} {ten}");
    }

    #[cfg(feature = "tiktoken")]
    #[test]
    fn with_tiktoken_a_known_sentence_has_its_o200k_count() {
        // "hello world" is two tokens in o200k_base (tiktoken's own test vectors).
        assert!(exact_token_counts());
        assert_eq!(count_tokens("hello world"), 2);
    }

    #[cfg(not(feature = "tiktoken"))]
    #[test]
    fn without_tiktoken_the_estimate_is_a_token_per_three_bytes() {
        assert!(!exact_token_counts());
        assert_eq!(count_tokens("abcdefg"), 3);
    }
}
