//! Content parts: what one message carries beyond plain text (images,
//! reasoning blocks with the provider's signature, cache breakpoints), and
//! the reasoning controls of a request.
//!
//! A [`Message`](crate::provider::Message) with no parts is its `content`
//! text, exactly as before parts existed (and it serialises the same, so
//! request hashes and recorded cassettes do not change). A message with
//! parts is those parts, in order; its `content` is then the concatenation
//! of its text parts, so code that only reads text keeps working.
//!
//! Every provider maps the parts to its wire format and back. A part a
//! provider cannot carry (an image to a model without image input) is a
//! typed [`Unsupported`](crate::provider::ProviderErrorKind::Unsupported)
//! error before anything is sent. Reasoning made by another wire is that
//! provider's private state and is left out; a cache breakpoint is a hint
//! that providers without explicit caching ignore.
//!
//! ```
//! use agent_core::provider::{ContentPart, Message, Reasoning, Role};
//!
//! let question = Message::with_parts(
//!     Role::User,
//!     vec![
//!         ContentPart::text("What does this diagram show?"),
//!         ContentPart::image_bytes("image/png", &[0x89, b'P', b'N', b'G']),
//!         ContentPart::CacheBreakpoint,
//!     ],
//! );
//! assert_eq!(question.content, "What does this diagram show?");
//! assert_eq!(question.content_parts().len(), 3);
//!
//! // Reasoning comes back from one provider and is sent back to it unchanged.
//! let thought = Reasoning::new("anthropic", "The user wants...").with_signature(Some("sig-1".into()));
//! let answer = Message::with_parts(Role::Assistant, vec![ContentPart::Reasoning(thought), ContentPart::text("A cat.")]);
//! assert_eq!(answer.content, "A cat.");
//! assert_eq!(answer.reasoning().count(), 1);
//! ```

use base64::Engine;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where an image's bytes are.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ImageSource {
    /// The bytes, base64-encoded (standard alphabet, padded).
    Base64(String),
    /// A URL the provider fetches (`https:` or a `data:` URL).
    Url(String),
}

/// One reasoning (thinking) block a model produced, kept so that it can be
/// sent back unchanged with the history of the next request: Anthropic
/// `thinking` / `redacted_thinking` blocks (with their `signature`), Gemini
/// thought parts (`thoughtSignature`), OpenAI Responses `reasoning` items
/// (`id` and `encrypted_content`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Reasoning {
    /// The wire that produced it (`anthropic`, `gemini`, `openai-responses`,
    /// ...). Other wires leave the block out of their requests.
    pub origin: String,
    /// The readable reasoning or its summary (empty when the provider
    /// returned it only encrypted or redacted).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// The provider's signature over the block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// Opaque encrypted content (Anthropic `redacted_thinking` data, OpenAI
    /// `encrypted_content`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted: Option<String>,
    /// The provider's id of the block (OpenAI Responses reasoning item id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

impl Reasoning {
    /// A block from wire `origin` with readable `text`.
    pub fn new(origin: impl Into<String>, text: impl Into<String>) -> Self {
        Self { origin: origin.into(), text: text.into(), signature: None, encrypted: None, id: None }
    }

    /// Sets the provider's signature.
    pub fn with_signature(mut self, signature: Option<String>) -> Self {
        self.signature = signature;
        self
    }

    /// Sets the encrypted content.
    pub fn with_encrypted(mut self, encrypted: Option<String>) -> Self {
        self.encrypted = encrypted;
        self
    }

    /// Sets the provider's id of the block.
    pub fn with_id(mut self, id: Option<String>) -> Self {
        self.id = id;
        self
    }
}

/// One part of a message's content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ContentPart {
    /// Plain text.
    Text {
        /// The text.
        text: String,
    },
    /// An image the model should look at.
    Image {
        /// Its media type (`image/png`, `image/jpeg`, `image/gif`, `image/webp`).
        media_type: String,
        /// Its bytes or URL.
        source: ImageSource,
    },
    /// A reasoning block, round-tripped unchanged to the wire that made it.
    Reasoning(Reasoning),
    /// Everything before this point is a stable prefix worth caching
    /// (Anthropic `cache_control` on the preceding block; other wires cache
    /// on their own and ignore it).
    CacheBreakpoint,
}

impl ContentPart {
    /// A text part.
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text { text: text.into() }
    }

    /// An image from its bytes (base64-encoded here).
    pub fn image_bytes(media_type: impl Into<String>, bytes: &[u8]) -> Self {
        Self::Image {
            media_type: media_type.into(),
            source: ImageSource::Base64(base64::engine::general_purpose::STANDARD.encode(bytes)),
        }
    }

    /// An image the provider fetches from `url`.
    pub fn image_url(media_type: impl Into<String>, url: impl Into<String>) -> Self {
        Self::Image { media_type: media_type.into(), source: ImageSource::Url(url.into()) }
    }

    /// The text of a text part.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text { text } => Some(text),
            _ => None,
        }
    }
}

/// How much a reasoning model should think, as a level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ReasoningEffort {
    /// As little as the model allows.
    Minimal,
    /// Little.
    Low,
    /// The usual amount.
    Medium,
    /// A lot.
    High,
}

impl ReasoningEffort {
    /// The level as OpenAI writes it (`minimal`, `low`, `medium`, `high`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Minimal => "minimal",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }

    /// The thinking budget in tokens a level stands for on wires that take a
    /// budget (Anthropic needs at least 1,024).
    pub fn budget_tokens(self) -> u32 {
        match self {
            Self::Minimal => 1_024,
            Self::Low => 2_048,
            Self::Medium => 8_192,
            Self::High => 24_576,
        }
    }

    /// The level closest to a thinking budget, for wires that take a level.
    pub fn from_budget(budget_tokens: u32) -> Self {
        match budget_tokens {
            0..=1_535 => Self::Minimal,
            1_536..=4_095 => Self::Low,
            4_096..=16_383 => Self::Medium,
            _ => Self::High,
        }
    }
}

/// The reasoning controls of a request: a level, a token budget, or both.
/// Each provider maps what its wire takes ([`effort`](Self::effort) for
/// OpenAI, [`budget_tokens`](Self::budget_tokens) for Anthropic and Gemini)
/// and derives it from the other when only that one is set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct ReasoningRequest {
    /// A level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<ReasoningEffort>,
    /// A token budget for thinking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_tokens: Option<u32>,
}

impl ReasoningRequest {
    /// Reasoning at level `effort`.
    pub fn effort(effort: ReasoningEffort) -> Self {
        Self { effort: Some(effort), budget_tokens: None }
    }

    /// Reasoning within `budget_tokens`.
    pub fn budget(budget_tokens: u32) -> Self {
        Self { effort: None, budget_tokens: Some(budget_tokens) }
    }

    /// The level, given or derived from the budget.
    pub fn effective_effort(&self) -> Option<ReasoningEffort> {
        self.effort.or(self.budget_tokens.map(ReasoningEffort::from_budget))
    }

    /// The budget, given or derived from the level.
    pub fn effective_budget(&self) -> Option<u32> {
        self.budget_tokens.or(self.effort.map(ReasoningEffort::budget_tokens))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_serialise_with_a_type_tag_and_round_trip() {
        let parts = vec![
            ContentPart::text("hi"),
            ContentPart::image_bytes("image/png", b"abc"),
            ContentPart::image_url("image/jpeg", "https://example.invalid/a.jpg"),
            ContentPart::Reasoning(
                Reasoning::new("anthropic", "think").with_signature(Some("s".into())).with_id(Some("r1".into())),
            ),
            ContentPart::CacheBreakpoint,
        ];
        let json = serde_json::to_value(&parts).unwrap();
        assert_eq!(json[0], serde_json::json!({"type": "text", "text": "hi"}));
        assert_eq!(
            json[1],
            serde_json::json!({"type": "image", "media_type": "image/png", "source": {"base64": "YWJj"}})
        );
        assert_eq!(json[3]["type"], "reasoning");
        assert_eq!(json[3]["origin"], "anthropic");
        assert_eq!(json[3]["signature"], "s");
        assert_eq!(json[4], serde_json::json!({"type": "cache_breakpoint"}));
        let back: Vec<ContentPart> = serde_json::from_value(json).unwrap();
        assert_eq!(back, parts);
    }

    #[test]
    fn effort_and_budget_derive_each_other() {
        assert_eq!(ReasoningRequest::budget(30_000).effective_effort(), Some(ReasoningEffort::High));
        assert_eq!(ReasoningRequest::budget(1_024).effective_effort(), Some(ReasoningEffort::Minimal));
        assert_eq!(ReasoningRequest::effort(ReasoningEffort::Low).effective_budget(), Some(2_048));
        let both = ReasoningRequest { effort: Some(ReasoningEffort::High), budget_tokens: Some(5_000) };
        assert_eq!(both.effective_budget(), Some(5_000));
        assert_eq!(both.effective_effort(), Some(ReasoningEffort::High));
        assert_eq!(ReasoningRequest::default().effective_budget(), None);
        for e in [ReasoningEffort::Minimal, ReasoningEffort::Low, ReasoningEffort::Medium, ReasoningEffort::High] {
            assert_eq!(ReasoningEffort::from_budget(e.budget_tokens()), e, "{e:?}");
        }
    }
}
