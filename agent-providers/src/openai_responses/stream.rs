//! Streamed Responses API calls: the SSE events of `POST /responses` with
//! `stream: true` decoded into [`StreamEvent`]s and one [`Completion`].
//!
//! | event | yields |
//! |---|---|
//! | `response.output_text.delta`, `response.refusal.delta` | [`StreamEvent::Delta`] |
//! | `response.reasoning_summary_text.delta`, `response.reasoning_text.delta` | [`StreamEvent::ReasoningDelta`] |
//! | `response.output_item.added` (reasoning) | an empty [`StreamEvent::ReasoningDelta`]: the model is thinking |
//! | `response.output_item.added` (function call) | [`StreamEvent::ToolCallDelta`] with id and name |
//! | `response.function_call_arguments.delta` | [`StreamEvent::ToolCallDelta`] with an arguments piece |
//! | `response.output_item.done` | the finished item (reasoning id and encrypted content, whole arguments) |
//! | `response.completed`, `response.incomplete` | [`StreamEvent::Done`], with usage |
//! | `response.failed`, `error` | a classified [`ProviderError`] (quota is `QuotaExhausted`) |
//!
//! A stream that ends before `response.completed` is a `Transport` error.

use super::wire::{MessageContent, OutputItem, ResponseObject, TextPiece, lenient_text};
use crate::native::{Frame, StreamDecoder};
use crate::openai::error;
use crate::usage_estimate::PromptEstimate;
use agent_core::provider::{Completion, ProviderError, ProviderErrorKind, ProviderId, StreamEvent};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::SystemTime;

/// One event's data: the fields of every event type this decoder reads.
#[derive(Deserialize)]
struct Event {
    #[serde(rename = "type", default, deserialize_with = "lenient_text")]
    kind: Option<String>,
    #[serde(default)]
    output_index: Option<u64>,
    #[serde(default, deserialize_with = "lenient_text")]
    item_id: Option<String>,
    #[serde(default)]
    summary_index: Option<u64>,
    #[serde(default, deserialize_with = "lenient_text")]
    delta: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    arguments: Option<String>,
    #[serde(default)]
    item: Option<OutputItem>,
    #[serde(default)]
    response: Option<ResponseObject>,
    /// `error` events: `{"type":"error","code","message","param"}`, or an `error` object.
    #[serde(default)]
    code: Option<Value>,
    #[serde(default, deserialize_with = "lenient_text")]
    message: Option<String>,
    #[serde(default)]
    error: Option<Value>,
}

/// An output item being streamed.
#[derive(Default)]
struct Partial {
    /// The item as announced by `response.output_item.added`.
    added: Option<OutputItem>,
    /// The item as finished by `response.output_item.done`.
    done: Option<OutputItem>,
    /// Deltas so far: message text, reasoning text, or call arguments.
    text: String,
    /// For a function call: its position among the answer's calls.
    ordinal: Option<u32>,
    summary_index: Option<u64>,
}

impl Partial {
    fn id(&self) -> Option<&str> {
        self.done.as_ref().or(self.added.as_ref()).and_then(OutputItem::id)
    }

    /// The item: as finished when it was, else as assembled from its deltas.
    fn into_item(self) -> Option<OutputItem> {
        if let Some(done) = self.done {
            return Some(done);
        }
        match self.added {
            Some(OutputItem::FunctionCall { id, call_id, name, arguments }) => Some(OutputItem::FunctionCall {
                id,
                call_id,
                name,
                arguments: if self.text.is_empty() { arguments } else { Some(self.text) },
            }),
            Some(OutputItem::Reasoning { id, encrypted_content, .. }) => Some(OutputItem::Reasoning {
                id,
                encrypted_content,
                summary: vec![TextPiece { text: self.text }],
                content: Vec::new(),
            }),
            Some(OutputItem::Other) => None,
            Some(OutputItem::Message { id, .. }) => {
                Some(OutputItem::Message { id, content: vec![MessageContent::OutputText { text: self.text }] })
            }
            None if self.text.is_empty() => None,
            None => {
                Some(OutputItem::Message { id: None, content: vec![MessageContent::OutputText { text: self.text }] })
            }
        }
    }
}

/// Decodes a Responses API event stream (see the module docs).
pub(super) struct Decoder {
    id: ProviderId,
    model: String,
    prompt_estimate: PromptEstimate<'static>,
    items: BTreeMap<u64, Partial>,
    next_ordinal: u32,
    response: Option<ResponseObject>,
    events: usize,
}

impl Decoder {
    pub(super) fn new(id: ProviderId, model: impl Into<String>, prompt_estimate: PromptEstimate<'static>) -> Self {
        Self {
            id,
            model: model.into(),
            prompt_estimate,
            items: BTreeMap::new(),
            next_ordinal: 0,
            response: None,
            events: 0,
        }
    }

    fn error(&self, kind: ProviderErrorKind, message: impl Into<String>) -> ProviderError {
        ProviderError::new(kind, self.id.clone(), message)
    }

    /// The output index an event refers to: its own, else that of the item
    /// with its `item_id`, else the last item (servers that send neither).
    fn index_of(&self, event: &Event) -> u64 {
        if let Some(index) = event.output_index {
            return index;
        }
        if let Some(item_id) = event.item_id.as_deref() {
            if let Some((index, _)) = self.items.iter().find(|(_, p)| p.id() == Some(item_id)) {
                return *index;
            }
        }
        self.items.keys().next_back().copied().unwrap_or(0)
    }

    fn ordinal(&mut self, index: u64) -> u32 {
        let next = &mut self.next_ordinal;
        let partial = self.items.entry(index).or_default();
        *partial.ordinal.get_or_insert_with(|| {
            let ordinal = *next;
            *next += 1;
            ordinal
        })
    }

    /// The classified error of an `error` event or a failed response.
    fn stream_error(&self, error: &Value, raw: &str) -> ProviderError {
        let classified = error::classify_error_object(error, SystemTime::now());
        self.error(classified.kind, classified.message).with_status(200).with_raw_body(raw)
    }
}

impl StreamDecoder for Decoder {
    fn frame(&mut self, frame: &Frame, out: &mut Vec<StreamEvent>) -> Result<bool, ProviderError> {
        self.events += 1;
        let data = frame.data.trim();
        if data.is_empty() || data == "[DONE]" {
            return Ok(false);
        }
        let event: Event = serde_json::from_str(data).map_err(|e| {
            self.error(ProviderErrorKind::Unparseable, format!("stream event is not a Responses API event: {e}"))
                .with_raw_body(data)
        })?;
        let kind = event.kind.clone().unwrap_or_else(|| frame.name.clone());
        match kind.as_str() {
            "response.output_item.added" => {
                let index = self.index_of(&event);
                let Some(item) = event.item else { return Ok(false) };
                match &item {
                    OutputItem::FunctionCall { call_id, name, arguments, .. } => {
                        let (call_id, name, arguments) = (call_id.clone(), name.clone(), arguments.clone());
                        let ordinal = self.ordinal(index);
                        out.push(StreamEvent::ToolCallDelta {
                            index: ordinal,
                            id: call_id,
                            name,
                            arguments: arguments.unwrap_or_default(),
                        });
                    }
                    OutputItem::Reasoning { .. } => out.push(StreamEvent::ReasoningDelta { text: String::new() }),
                    _ => {}
                }
                self.items.entry(index).or_default().added = Some(item);
            }
            "response.output_text.delta" | "response.refusal.delta" => {
                let index = self.index_of(&event);
                if let Some(text) = event.delta.filter(|t| !t.is_empty()) {
                    self.items.entry(index).or_default().text.push_str(&text);
                    out.push(StreamEvent::Delta { text });
                }
            }
            "response.reasoning_summary_text.delta" | "response.reasoning_text.delta" => {
                let index = self.index_of(&event);
                if let Some(text) = event.delta.filter(|t| !t.is_empty()) {
                    let partial = self.items.entry(index).or_default();
                    if event.summary_index.is_some() && partial.summary_index != event.summary_index {
                        if partial.summary_index.is_some() {
                            partial.text.push_str("\n\n");
                        }
                        partial.summary_index = event.summary_index;
                    }
                    partial.text.push_str(&text);
                    out.push(StreamEvent::ReasoningDelta { text });
                }
            }
            "response.function_call_arguments.delta" => {
                let index = self.index_of(&event);
                if let Some(piece) = event.delta.filter(|t| !t.is_empty()) {
                    let ordinal = self.ordinal(index);
                    self.items.entry(index).or_default().text.push_str(&piece);
                    out.push(StreamEvent::ToolCallDelta { index: ordinal, id: None, name: None, arguments: piece });
                }
            }
            "response.function_call_arguments.done" => {
                let index = self.index_of(&event);
                if let Some(arguments) = event.arguments {
                    self.items.entry(index).or_default().text = arguments;
                }
            }
            "response.output_item.done" => {
                let index = self.index_of(&event);
                let Some(item) = event.item else { return Ok(false) };
                if let OutputItem::FunctionCall { call_id, name, arguments, .. } = &item {
                    if self.items.get(&index).is_none_or(|p| p.ordinal.is_none()) {
                        // A call never announced: announce it whole.
                        let (call_id, name, arguments) = (call_id.clone(), name.clone(), arguments.clone());
                        let ordinal = self.ordinal(index);
                        out.push(StreamEvent::ToolCallDelta {
                            index: ordinal,
                            id: call_id,
                            name,
                            arguments: arguments.unwrap_or_default(),
                        });
                    }
                }
                self.items.entry(index).or_default().done = Some(item);
            }
            "response.completed" | "response.incomplete" => {
                self.response = Some(event.response.unwrap_or_default());
                return Ok(true);
            }
            "response.failed" => {
                let error =
                    event.response.and_then(|r| r.error).filter(|e| !e.is_null()).unwrap_or_else(
                        || serde_json::json!({"type": "server_error", "message": "the response failed"}),
                    );
                return Err(self.stream_error(&error, data));
            }
            "error" => {
                let error = match event.error.filter(Value::is_object) {
                    Some(error) => error,
                    None => serde_json::json!({"code": event.code, "message": event.message}),
                };
                return Err(self.stream_error(&error, data));
            }
            _ => {}
        }
        Ok(false)
    }

    fn finish(&mut self) -> Result<Completion, ProviderError> {
        let Some(mut response) = self.response.take() else {
            return Err(self.error(
                ProviderErrorKind::Transport,
                format!(
                    "stream ended early: the connection closed before `response.completed` (after {} events)",
                    self.events
                ),
            ));
        };
        if response.output.is_empty() {
            response.output = std::mem::take(&mut self.items).into_values().filter_map(Partial::into_item).collect();
        }
        super::completion_from(&self.id, &self.model, response, &self.prompt_estimate, None)
    }
}
