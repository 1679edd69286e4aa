//! Usage for answers whose server reports none (llama.cpp's streams, some
//! gateways): counted with the process's tokenizer ([`agent_tokens`]:
//! tiktoken's `o200k_base` with the `tokenizer` feature, else one token per
//! three bytes) and marked [`estimated`](agent_core::provider::Usage::estimated),
//! never recorded as 0 tokens.
//!
//! The prompt is counted only when it is needed: a [`PromptEstimate`] keeps
//! the request and counts it the first time it is asked, so calls whose
//! server does report usage pay nothing for it.
//!
//! ```
//! use agent_core::provider::{CompletionRequest, Message};
//! use agent_providers::usage_estimate::PromptEstimate;
//!
//! let req = CompletionRequest::new(vec![Message::system("Be brief."), Message::user("Say hello to the world.")]);
//! let estimate = PromptEstimate::of(&req);
//! assert!(estimate.tokens() >= 8, "two messages, each with a few tokens of template");
//! assert_eq!(PromptEstimate::fixed(42).tokens(), 42);
//! ```

use agent_core::provider::{CompletionRequest, ContentPart, ToolCall, Usage};
use agent_tokens::count_tokens;
use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

/// Tokens a message costs beyond its content (the chat template's role markers).
const PER_MESSAGE: u64 = 4;
/// Tokens counted for one image: a 1024×1024 image at high detail is 765 on
/// OpenAI's models and about 1,100–1,600 on Anthropic's; one flat figure.
const PER_IMAGE: u64 = 1_000;

/// The prompt tokens of one request, counted on first use. It borrows the
/// request for a call that ends before the request does (a whole answer),
/// and owns a copy for one that outlives it (a stream,
/// [`PromptEstimate::owned`]).
#[derive(Clone, Debug)]
pub struct PromptEstimate<'a>(Arc<Inner<'a>>);

#[derive(Debug)]
enum Source<'a> {
    Request(Cow<'a, CompletionRequest>),
    Fixed(u64),
}

#[derive(Debug)]
struct Inner<'a> {
    source: Source<'a>,
    tokens: OnceLock<u64>,
}

impl<'a> PromptEstimate<'a> {
    /// The prompt of `req` (borrowed, and counted when first asked).
    pub fn of(req: &'a CompletionRequest) -> Self {
        Self(Arc::new(Inner { source: Source::Request(Cow::Borrowed(req)), tokens: OnceLock::new() }))
    }

    /// A count known in advance.
    pub fn fixed(tokens: u64) -> Self {
        Self(Arc::new(Inner { source: Source::Fixed(tokens), tokens: OnceLock::new() }))
    }

    /// The prompt's tokens: messages (text, tool calls, images), tools and
    /// the response schema, plus a few per message for the chat template;
    /// at least 1 for a request.
    pub fn tokens(&self) -> u64 {
        *self.0.tokens.get_or_init(|| match &self.0.source {
            Source::Fixed(n) => *n,
            Source::Request(req) => prompt_tokens(req),
        })
    }
}

impl PromptEstimate<'static> {
    /// The prompt of `req`, copied (for a stream that outlives the request).
    pub fn owned(req: &CompletionRequest) -> Self {
        Self(Arc::new(Inner { source: Source::Request(Cow::Owned(req.clone())), tokens: OnceLock::new() }))
    }
}

impl Default for PromptEstimate<'_> {
    /// Nothing known: 0 tokens.
    fn default() -> Self {
        Self::fixed(0)
    }
}

fn tokens(text: &str) -> u64 {
    u64::try_from(count_tokens(text)).unwrap_or(u64::MAX)
}

fn calls_tokens(calls: &[ToolCall]) -> u64 {
    calls.iter().map(|c| tokens(&c.name) + tokens(&c.arguments)).sum()
}

/// The prompt tokens of `req` (see [`PromptEstimate::tokens`]).
pub fn prompt_tokens(req: &CompletionRequest) -> u64 {
    let messages: u64 = req
        .messages
        .iter()
        .map(|m| {
            let content: u64 = m
                .content_parts()
                .iter()
                .map(|p| match p {
                    ContentPart::Text { text } => tokens(text),
                    ContentPart::Image { .. } => PER_IMAGE,
                    ContentPart::Reasoning(r) => tokens(&r.text),
                    _ => 0,
                })
                .sum();
            PER_MESSAGE + content + calls_tokens(&m.tool_calls)
        })
        .sum();
    let tools: u64 =
        req.tools.iter().map(|t| tokens(&t.name) + tokens(&t.description) + tokens(&t.parameters.to_string())).sum();
    let format = req.response_format.as_ref().map_or(0, |f| tokens(&f.schema.to_string()));
    (messages + tools + format).max(1)
}

/// The usage of an answer whose server reported none: the prompt's
/// estimate in, the answer's text, reasoning and tool calls out, marked
/// estimated.
pub fn estimated_usage(prompt: &PromptEstimate<'_>, content: &str, reasoning: &str, calls: &[ToolCall]) -> Usage {
    let output = tokens(content) + tokens(reasoning) + calls_tokens(calls);
    Usage::new(prompt.tokens().max(1), output).with_reasoning(tokens(reasoning)).as_estimate()
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_core::provider::{Message, Role};

    #[test]
    fn every_part_of_the_prompt_counts_and_the_count_is_made_once() {
        let plain = CompletionRequest::new(vec![Message::user("fix the failing test in src/lib.rs")]);
        let base = PromptEstimate::of(&plain).tokens();
        assert_eq!(base, PER_MESSAGE + u64::try_from(count_tokens("fix the failing test in src/lib.rs")).unwrap());
        let with_image = CompletionRequest::new(vec![Message::with_parts(
            Role::User,
            vec![ContentPart::text("fix the failing test in src/lib.rs"), ContentPart::image_bytes("image/png", b"x")],
        )]);
        assert_eq!(PromptEstimate::of(&with_image).tokens(), base + PER_IMAGE);
        let with_schema = plain.clone().with_response_format("a", serde_json::json!({"type": "object"}));
        assert!(PromptEstimate::of(&with_schema).tokens() > base);
        let estimate = PromptEstimate::of(&plain);
        let copy = estimate.clone();
        assert_eq!(estimate.tokens(), copy.tokens());
        assert_eq!(PromptEstimate::of(&CompletionRequest::default()).tokens(), 1, "at least 1");
    }

    #[test]
    fn an_estimated_usage_is_marked_and_counts_reasoning_as_output() {
        let usage = estimated_usage(&PromptEstimate::fixed(10), "hello world", "thinking about it", &[]);
        assert!(usage.estimated);
        assert_eq!(usage.input_tokens, 10);
        let reasoning = u64::try_from(count_tokens("thinking about it")).unwrap();
        assert_eq!(usage.reasoning_tokens, reasoning);
        assert_eq!(usage.output_tokens, u64::try_from(count_tokens("hello world")).unwrap() + reasoning);
    }
}
