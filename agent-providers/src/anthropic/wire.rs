//! The Anthropic Messages wire format: the bodies read (the request body is
//! built in `request`).

use crate::native::body_excerpt;
use agent_core::provider::{FinishReason, Usage};
use serde::Deserialize;
use serde_json::Value;

/// The body of a successful `POST /v1/messages`.
#[derive(Deserialize)]
pub(super) struct MessagesResponse {
    #[serde(default)]
    pub(super) id: Option<String>,
    #[serde(default)]
    pub(super) model: Option<String>,
    #[serde(default)]
    pub(super) content: Vec<ContentBlock>,
    #[serde(default)]
    pub(super) stop_reason: Option<String>,
    #[serde(default)]
    pub(super) usage: WireUsage,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum ContentBlock {
    Text {
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        #[serde(default)]
        input: Value,
    },
    /// Extended thinking: readable (or summarised) reasoning and its signature.
    Thinking {
        #[serde(default)]
        thinking: String,
        #[serde(default)]
        signature: Option<String>,
    },
    /// Thinking the safety systems encrypted: only its data, sent back as is.
    RedactedThinking {
        #[serde(default)]
        data: String,
    },
    #[serde(other)]
    Other,
}

/// Anthropic's usage: `input_tokens` counts only the uncached part of the prompt.
#[derive(Deserialize, Default, Clone, Copy, Debug)]
pub(super) struct WireUsage {
    #[serde(default)]
    pub(super) input_tokens: Option<u64>,
    #[serde(default)]
    pub(super) output_tokens: Option<u64>,
    #[serde(default)]
    pub(super) cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    pub(super) cache_read_input_tokens: Option<u64>,
}

impl WireUsage {
    /// Takes every count `later` carries (stream events repeat or update them).
    pub(super) fn update(&mut self, later: &WireUsage) {
        self.input_tokens = later.input_tokens.or(self.input_tokens);
        self.output_tokens = later.output_tokens.or(self.output_tokens);
        self.cache_creation_input_tokens = later.cache_creation_input_tokens.or(self.cache_creation_input_tokens);
        self.cache_read_input_tokens = later.cache_read_input_tokens.or(self.cache_read_input_tokens);
    }

    /// Normalised: `input_tokens` = uncached input + cache reads + cache writes.
    pub(super) fn to_usage(self) -> Usage {
        let read = self.cache_read_input_tokens.unwrap_or(0);
        let write = self.cache_creation_input_tokens.unwrap_or(0);
        Usage::new(self.input_tokens.unwrap_or(0) + read + write, self.output_tokens.unwrap_or(0))
            .with_cached_input(read)
            .with_cache_write_input(write)
    }
}

pub(super) fn finish_reason(wire: &str) -> FinishReason {
    match wire {
        "end_turn" | "stop_sequence" => FinishReason::Stop,
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "refusal" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_owned()),
    }
}

/// One server-sent event of a streamed message (the `data:` JSON; its `type` names the event).
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum StreamFrame {
    MessageStart {
        message: StartMessage,
    },
    ContentBlockStart {
        index: u32,
        content_block: ContentBlock,
    },
    ContentBlockDelta {
        index: u32,
        delta: BlockDelta,
    },
    ContentBlockStop {
        #[serde(default)]
        index: Option<u32>,
    },
    MessageDelta {
        delta: MessageDeltaBody,
        #[serde(default)]
        usage: WireUsage,
    },
    MessageStop,
    Ping,
    Error {},
    #[serde(other)]
    Unknown,
}

#[derive(Deserialize)]
pub(super) struct StartMessage {
    #[serde(default)]
    pub(super) id: Option<String>,
    #[serde(default)]
    pub(super) model: Option<String>,
    #[serde(default)]
    pub(super) usage: WireUsage,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum BlockDelta {
    TextDelta {
        text: String,
    },
    InputJsonDelta {
        partial_json: String,
    },
    ThinkingDelta {
        thinking: String,
    },
    SignatureDelta {
        signature: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
pub(super) struct MessageDeltaBody {
    #[serde(default)]
    pub(super) stop_reason: Option<String>,
}

/// The body of an error: `{"type":"error","error":{"type","message","details"},"request_id"}`.
#[derive(Deserialize, Default)]
pub(super) struct ErrorEnvelope {
    #[serde(default)]
    pub(super) error: ErrorBody,
    #[serde(default)]
    pub(super) request_id: Option<String>,
}

#[derive(Deserialize, Default)]
pub(super) struct ErrorBody {
    #[serde(default, rename = "type")]
    pub(super) kind: Option<String>,
    #[serde(default)]
    pub(super) message: Option<String>,
    #[serde(default)]
    pub(super) details: Option<Value>,
}

impl ErrorEnvelope {
    /// Parses an error body; anything else gives an empty envelope.
    pub(super) fn parse(body: &str) -> Self {
        serde_json::from_str(body).unwrap_or_default()
    }

    /// The error message, or an excerpt of the body when there is none.
    pub(super) fn message(&self, body: &str) -> String {
        self.error.message.clone().filter(|m| !m.trim().is_empty()).unwrap_or_else(|| body_excerpt(body))
    }

    /// `error.details.error_code`, when present.
    pub(super) fn error_code(&self) -> Option<&str> {
        self.error.details.as_ref()?.get("error_code")?.as_str()
    }
}
