//! Talking to a language model: the [`LlmProvider`] trait, the request and
//! completion types that cross it, token [`Usage`], streams, tool calls and
//! the classified [`ProviderError`], and what a model can do
//! ([`ModelCapabilities`]).
//!
//! Implementations live in `agent-providers`; a plugin author implements
//! [`LlmProvider`] against this module alone.

mod capabilities;
mod completion;
mod content;
mod fence;
mod llm_provider;

pub use crate::ids::ProviderId;
pub use capabilities::{ModelCapabilities, ReasoningControl, StructuredOutputMode, TokenParam};
pub use completion::{
    Completion, CompletionRequest, CompletionStream, FinishReason, Message, ResponseFormat, Role, StreamEvent,
    ToolCall, ToolSpec, Usage, stream_from_completion,
};
pub use content::{ContentPart, ImageSource, Reasoning, ReasoningEffort, ReasoningRequest};
pub use fence::strip_code_fence;
pub use llm_provider::{LlmProvider, ProviderError, ProviderErrorKind};
