//! Assembles a streamed message from its server-sent events.

use super::request::AnswerTool;
use super::wire::{self, BlockDelta, ContentBlock, StreamFrame, WireUsage};
use super::{Answer, ORIGIN, error};
use crate::native::{Frame, StreamDecoder};
use agent_core::provider::{
    Completion, ProviderError, ProviderErrorKind, ProviderId, Reasoning, StreamEvent, ToolCall,
};
use std::collections::HashMap;
use std::time::SystemTime;

/// What a content block of the stream is, by its index.
#[derive(Clone, Copy)]
enum Block {
    /// A `tool_use` block: the call at this position of the answer's tool calls.
    Tool(usize),
    /// The answer tool's `tool_use` block (structured output).
    Structured,
    /// A `thinking` block: the reasoning at this position.
    Thinking(usize),
}

/// Assembles a streamed message from its events.
pub(super) struct Decoder {
    id: ProviderId,
    configured_model: String,
    answer_tool: Option<AnswerTool>,
    message_id: Option<String>,
    model: Option<String>,
    answer: Answer,
    /// The answer tool's input as streamed.
    structured_json: Option<String>,
    blocks: HashMap<u32, Block>,
    usage: WireUsage,
    stop_reason: Option<String>,
    stopped: bool,
}

impl Decoder {
    pub(super) fn new(id: ProviderId, configured_model: String, answer_tool: Option<AnswerTool>) -> Self {
        Self {
            id,
            configured_model,
            answer_tool,
            message_id: None,
            model: None,
            answer: Answer::default(),
            structured_json: None,
            blocks: HashMap::new(),
            usage: WireUsage::default(),
            stop_reason: None,
            stopped: false,
        }
    }

    fn error(&self, kind: ProviderErrorKind, message: impl Into<String>) -> ProviderError {
        ProviderError::new(kind, self.id.clone(), message)
    }

    /// Whether the answer tool's input arrives as it is sent, so that its
    /// pieces can be streamed as answer text (not when it is wrapped).
    fn structured_is_live(&self) -> bool {
        self.answer_tool.as_ref().is_some_and(|t| !t.wrapped)
    }

    fn block_start(&mut self, index: u32, block: ContentBlock, out: &mut Vec<StreamEvent>) {
        match block {
            ContentBlock::Text { text } => {
                if !text.is_empty() {
                    self.answer.text.push_str(&text);
                    out.push(StreamEvent::Delta { text });
                }
            }
            ContentBlock::ToolUse { id, name, input } => {
                // The input is normally `{}` and arrives in `input_json_delta`s;
                // some gateways send it whole here instead.
                let arguments = match &input {
                    serde_json::Value::Object(map) if !map.is_empty() => input.to_string(),
                    _ => String::new(),
                };
                if self.answer_tool.as_ref().is_some_and(|t| t.name == name) {
                    self.blocks.insert(index, Block::Structured);
                    if self.structured_is_live() && !arguments.is_empty() {
                        out.push(StreamEvent::Delta { text: arguments.clone() });
                    }
                    self.structured_json = Some(arguments);
                    return;
                }
                let position = self.answer.tool_calls.len();
                self.blocks.insert(index, Block::Tool(position));
                out.push(StreamEvent::ToolCallDelta {
                    index: u32::try_from(position).unwrap_or(u32::MAX),
                    id: Some(id.clone()),
                    name: Some(name.clone()),
                    arguments: arguments.clone(),
                });
                self.answer.tool_calls.push(ToolCall::new(id, name, arguments));
            }
            ContentBlock::Thinking { thinking, signature } => {
                self.blocks.insert(index, Block::Thinking(self.answer.reasoning.len()));
                if !thinking.is_empty() {
                    out.push(StreamEvent::ReasoningDelta { text: thinking.clone() });
                }
                self.answer.reasoning.push(Reasoning::new(ORIGIN, thinking).with_signature(signature));
            }
            ContentBlock::RedactedThinking { data } => {
                // Nothing readable, but the model is thinking: progress all the same.
                out.push(StreamEvent::ReasoningDelta { text: String::new() });
                self.answer.reasoning.push(Reasoning::new(ORIGIN, "").with_encrypted(Some(data)));
            }
            ContentBlock::Other => {}
        }
    }

    fn block_delta(
        &mut self,
        index: u32,
        delta: BlockDelta,
        frame: &Frame,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), ProviderError> {
        let id = &self.id;
        let mismatch = |what: &str| {
            let message = format!("{what} for block {index}, which is not of its kind");
            ProviderError::new(ProviderErrorKind::Unparseable, id.clone(), message).with_raw_body(frame.data.clone())
        };
        match delta {
            BlockDelta::TextDelta { text } => {
                self.answer.text.push_str(&text);
                out.push(StreamEvent::Delta { text });
            }
            BlockDelta::InputJsonDelta { partial_json } => match self.blocks.get(&index).copied() {
                Some(Block::Tool(position)) => {
                    let Some(call) = self.answer.tool_calls.get_mut(position) else {
                        return Err(mismatch("input_json_delta"));
                    };
                    call.arguments.push_str(&partial_json);
                    out.push(StreamEvent::ToolCallDelta {
                        index: u32::try_from(position).unwrap_or(u32::MAX),
                        id: None,
                        name: None,
                        arguments: partial_json,
                    });
                }
                Some(Block::Structured) => {
                    self.structured_json.get_or_insert_with(String::new).push_str(&partial_json);
                    if self.structured_is_live() && !partial_json.is_empty() {
                        out.push(StreamEvent::Delta { text: partial_json });
                    }
                }
                _ => return Err(mismatch("input_json_delta")),
            },
            BlockDelta::ThinkingDelta { thinking } => {
                let Some(Block::Thinking(position)) = self.blocks.get(&index).copied() else {
                    return Err(mismatch("thinking_delta"));
                };
                let Some(reasoning) = self.answer.reasoning.get_mut(position) else {
                    return Err(mismatch("thinking_delta"));
                };
                reasoning.text.push_str(&thinking);
                out.push(StreamEvent::ReasoningDelta { text: thinking });
            }
            BlockDelta::SignatureDelta { signature } => {
                let Some(Block::Thinking(position)) = self.blocks.get(&index).copied() else {
                    return Err(mismatch("signature_delta"));
                };
                let Some(reasoning) = self.answer.reasoning.get_mut(position) else {
                    return Err(mismatch("signature_delta"));
                };
                reasoning.signature.get_or_insert_with(String::new).push_str(&signature);
            }
            BlockDelta::Other => {}
        }
        Ok(())
    }

    /// The wrapped structured answer, whole, when its block ends.
    fn block_stop(&mut self, index: Option<u32>, out: &mut Vec<StreamEvent>) {
        let Some(index) = index else { return };
        if !matches!(self.blocks.get(&index), Some(Block::Structured)) || self.structured_is_live() {
            return;
        }
        if let (Some(tool), Some(json)) = (&self.answer_tool, &self.structured_json) {
            let text = tool.answer_from_text(json);
            if !text.is_empty() {
                out.push(StreamEvent::Delta { text });
            }
        }
    }
}

impl StreamDecoder for Decoder {
    fn frame(&mut self, frame: &Frame, out: &mut Vec<StreamEvent>) -> Result<bool, ProviderError> {
        let unparseable = |e: serde_json::Error| {
            self.error(ProviderErrorKind::Unparseable, format!("malformed {:?} event: {e}", frame.name))
                .with_raw_body(frame.data.clone())
        };
        let parsed: StreamFrame = serde_json::from_str(&frame.data).map_err(unparseable)?;
        match parsed {
            StreamFrame::MessageStart { message } => {
                self.message_id = message.id;
                self.model = message.model;
                self.usage.update(&message.usage);
            }
            StreamFrame::ContentBlockStart { index, content_block } => self.block_start(index, content_block, out),
            StreamFrame::ContentBlockDelta { index, delta } => self.block_delta(index, delta, frame, out)?,
            StreamFrame::ContentBlockStop { index } => self.block_stop(index, out),
            StreamFrame::Ping | StreamFrame::Unknown => {}
            StreamFrame::MessageDelta { delta, usage } => {
                if delta.stop_reason.is_some() {
                    self.stop_reason = delta.stop_reason;
                }
                self.usage.update(&usage);
            }
            StreamFrame::MessageStop => {
                self.stopped = true;
                return Ok(true);
            }
            StreamFrame::Error {} => {
                let envelope = wire::ErrorEnvelope::parse(&frame.data);
                let status = error::status_for_error_type(envelope.error.kind.as_deref().unwrap_or_default());
                let classified =
                    error::classify(status, &reqwest::header::HeaderMap::new(), &frame.data, SystemTime::now());
                return Err(self
                    .error(classified.kind, format!("error event in the stream: {}", classified.message))
                    .with_request_id(envelope.request_id)
                    .with_raw_body(frame.data.clone()));
            }
        }
        Ok(false)
    }

    fn finish(&mut self) -> Result<Completion, ProviderError> {
        if !self.stopped {
            return Err(self.error(
                ProviderErrorKind::Transport,
                "the stream ended before message_stop: the answer is incomplete",
            ));
        }
        let mut answer = std::mem::take(&mut self.answer);
        for call in &mut answer.tool_calls {
            if call.arguments.trim().is_empty() {
                call.arguments = "{}".to_owned();
            }
        }
        if let (Some(tool), Some(json)) = (&self.answer_tool, self.structured_json.take()) {
            answer.structured = Some(tool.answer_from_text(&json));
        }
        Ok(answer.into_completion(
            &self.id,
            &self.configured_model,
            self.model.take(),
            self.usage,
            self.stop_reason.as_deref(),
            self.message_id.take(),
        ))
    }
}
