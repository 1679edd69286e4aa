//! The OpenAI Responses API wire format: the request body sent to
//! `POST /responses` and the response object read back (whole, or as the
//! `response` of a streamed `response.completed` event).

use agent_core::provider::{
    CompletionRequest, ContentPart, FinishReason, Message, ModelCapabilities, Reasoning, ReasoningControl, Role,
    ToolCall, Usage,
};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value, json};

/// The origin of the reasoning items this wire returns and takes back.
pub const REASONING_ORIGIN: &str = "openai-responses";

/// How one request body is shaped.
pub(super) struct Shape<'a> {
    pub(super) model: &'a str,
    pub(super) caps: Option<&'a ModelCapabilities>,
    /// Ask for `reasoning.encrypted_content` (reasoning models only: others refuse it).
    pub(super) include_encrypted: bool,
    pub(super) stream: bool,
}

/// The body of `POST /responses` for `req`, or why a part of it cannot be
/// carried (an image outside a user message, or to a model that reads
/// none), checked before anything is sent.
///
/// System messages become `instructions`; user messages `message` items of
/// `input_text` and `input_image` parts; assistant messages their
/// `reasoning` items (only those made by this wire, with their id, sent
/// back unchanged), an `output_text` message and `function_call` items;
/// tool messages `function_call_output` items (a tool error's `is_error`
/// has no field on this wire: its text is prefixed with `Error: ` unless it
/// already says "error"). Empty text is
/// never sent and cache breakpoints are ignored (OpenAI caches on its own).
pub(super) fn request_body(shape: &Shape<'_>, req: &CompletionRequest) -> Result<Value, String> {
    let caps = shape.caps;
    if caps.is_some_and(|c| !c.image_input) && req.messages.iter().any(Message::has_images) {
        return Err("the model does not read images (its capabilities say image_input: false)".to_owned());
    }
    let mut instructions: Vec<&str> = Vec::new();
    let mut input: Vec<Value> = Vec::new();
    for message in &req.messages {
        if message.has_images() && message.role != Role::User {
            return Err("the Responses API carries images only in user messages".to_owned());
        }
        match message.role {
            Role::System => {
                if !message.content.is_empty() {
                    instructions.push(&message.content);
                }
            }
            Role::User => push_user(message, &mut input),
            Role::Assistant => push_assistant(message, &mut input),
            Role::Tool => input.push(json!({
                "type": "function_call_output",
                "call_id": message.tool_call_id.as_deref().unwrap_or_default(),
                "output": if message.is_error {
                    crate::native::flagged_tool_error(&message.content)
                } else {
                    std::borrow::Cow::Borrowed(message.content.as_str())
                },
            })),
            // A role added to agent-core later: its text, as a user message.
            _ => push_user(message, &mut input),
        }
    }

    let mut body = Map::new();
    body.insert("model".into(), json!(shape.model));
    body.insert("input".into(), Value::Array(input));
    if !instructions.is_empty() {
        body.insert("instructions".into(), json!(instructions.join("\n\n")));
    }
    body.insert("store".into(), json!(false));
    if shape.include_encrypted {
        body.insert("include".into(), json!(["reasoning.encrypted_content"]));
    }
    if let Some(max) = req.max_tokens {
        body.insert("max_output_tokens".into(), json!(max));
    }
    if let Some(t) = req.temperature.filter(|_| !caps.is_some_and(|c| c.fixed_temperature)) {
        body.insert("temperature".into(), crate::openai::short_number(t));
    }
    let takes_effort = caps.is_none_or(|c| c.reasoning == ReasoningControl::Effort);
    if let Some(effort) = req.reasoning.and_then(|r| r.effective_effort()).filter(|_| takes_effort) {
        body.insert("reasoning".into(), json!({"effort": effort.as_str()}));
    }
    if !req.tools.is_empty() {
        let tools: Vec<Value> = req
            .tools
            .iter()
            .map(|t| {
                // `strict` defaults to true on this wire, which refuses most
                // schemas; tools keep the schema they were given.
                json!({"type": "function", "name": t.name, "description": t.description, "parameters": t.parameters, "strict": false})
            })
            .collect();
        body.insert("tools".into(), Value::Array(tools));
    }
    if let Some(format) = &req.response_format {
        body.insert(
            "text".into(),
            json!({"format": {
                "type": "json_schema",
                "name": format.name,
                "schema": format.schema,
                "strict": strict_compatible(&format.schema),
            }}),
        );
    }
    if shape.stream {
        body.insert("stream".into(), json!(true));
    }
    Ok(Value::Object(body))
}

fn push_user(message: &Message, input: &mut Vec<Value>) {
    let content: Vec<Value> = message
        .content_parts()
        .iter()
        .filter_map(|part| match part {
            ContentPart::Text { text } if !text.is_empty() => Some(json!({"type": "input_text", "text": text})),
            ContentPart::Image { media_type, source } => Some(json!({
                "type": "input_image",
                "image_url": crate::openai::image_data_url(media_type, source),
                "detail": "auto",
            })),
            _ => None,
        })
        .collect();
    if !content.is_empty() {
        input.push(json!({"type": "message", "role": "user", "content": content}));
    }
}

fn push_assistant(message: &Message, input: &mut Vec<Value>) {
    let mut text = String::new();
    let flush = |text: &mut String, input: &mut Vec<Value>| {
        if !text.is_empty() {
            let text = std::mem::take(text);
            input.push(
                json!({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]}),
            );
        }
    };
    for part in message.content_parts().iter() {
        match part {
            ContentPart::Text { text: piece } => text.push_str(piece),
            ContentPart::Reasoning(r) if r.origin == REASONING_ORIGIN && r.id.is_some() => {
                flush(&mut text, input);
                input.push(reasoning_item(r));
            }
            _ => {}
        }
    }
    flush(&mut text, input);
    for call in &message.tool_calls {
        input
            .push(json!({"type": "function_call", "call_id": call.id, "name": call.name, "arguments": call.arguments}));
    }
}

/// A reasoning item as the API returned it: id, encrypted content, summary.
fn reasoning_item(r: &Reasoning) -> Value {
    let summary: Vec<Value> =
        if r.text.is_empty() { Vec::new() } else { vec![json!({"type": "summary_text", "text": r.text})] };
    let mut item = json!({"type": "reasoning", "id": r.id, "summary": summary});
    if let (Some(encrypted), Some(object)) = (&r.encrypted, item.as_object_mut()) {
        object.insert("encrypted_content".into(), json!(encrypted));
    }
    item
}

/// Whether `schema` meets the rules of strict structured output (every
/// object schema closes `additionalProperties` and requires all its
/// properties): such a schema is sent with `strict: true`, any other with
/// `strict: false` (strict mode refuses it with a 400).
pub(super) fn strict_compatible(schema: &Value) -> bool {
    match schema {
        Value::Object(map) => {
            let is_object = map.contains_key("properties")
                || match map.get("type") {
                    Some(Value::String(t)) => t == "object",
                    Some(Value::Array(types)) => types.iter().any(|t| t == "object"),
                    _ => false,
                };
            if is_object {
                if map.get("additionalProperties") != Some(&Value::Bool(false)) {
                    return false;
                }
                let required: Vec<&str> = match map.get("required") {
                    Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).collect(),
                    _ => Vec::new(),
                };
                if let Some(Value::Object(properties)) = map.get("properties") {
                    if !properties.keys().all(|k| required.contains(&k.as_str())) {
                        return false;
                    }
                    if !properties.values().all(strict_compatible) {
                        return false;
                    }
                }
            }
            map.iter().filter(|(k, _)| k.as_str() != "properties").all(|(_, v)| strict_compatible(v))
        }
        Value::Array(items) => items.iter().all(strict_compatible),
        _ => true,
    }
}

/// `null` (or a missing field) as the type's default.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(deserializer: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A string field, or nothing when it holds anything else.
pub(super) fn lenient_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::String(text) => Some(text),
        _ => None,
    })
}

/// Tool-call arguments: JSON text (the standard), or a JSON value some
/// compatible servers send instead, written back as text.
fn arguments_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::Null => None,
        Value::String(text) => Some(text),
        other => Some(other.to_string()),
    })
}

/// A response object (`"object": "response"`).
#[derive(Clone, Debug, Default, Deserialize)]
pub(super) struct ResponseObject {
    #[serde(default, deserialize_with = "lenient_text")]
    pub(super) id: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    pub(super) model: Option<String>,
    /// `completed`, `incomplete`, `failed`, `in_progress`, `cancelled`, `queued`.
    #[serde(default, deserialize_with = "lenient_text")]
    pub(super) status: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) output: Vec<OutputItem>,
    #[serde(default)]
    pub(super) usage: Option<WireUsage>,
    #[serde(default)]
    pub(super) incomplete_details: Option<IncompleteDetails>,
    /// The error of a failed response.
    #[serde(default)]
    pub(super) error: Option<Value>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub(super) struct IncompleteDetails {
    #[serde(default, deserialize_with = "lenient_text")]
    reason: Option<String>,
}

/// One item of a response's `output`.
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum OutputItem {
    /// The answer text.
    Message {
        #[serde(default, deserialize_with = "lenient_text")]
        id: Option<String>,
        #[serde(default, deserialize_with = "nullable")]
        content: Vec<MessageContent>,
    },
    /// A reasoning item, to be sent back with the next request.
    Reasoning {
        #[serde(default, deserialize_with = "lenient_text")]
        id: Option<String>,
        #[serde(default, deserialize_with = "lenient_text")]
        encrypted_content: Option<String>,
        #[serde(default, deserialize_with = "nullable")]
        summary: Vec<TextPiece>,
        /// Raw reasoning text (`reasoning_text` parts, from open-weight models).
        #[serde(default, deserialize_with = "nullable")]
        content: Vec<TextPiece>,
    },
    /// A tool call.
    FunctionCall {
        #[serde(default, deserialize_with = "lenient_text")]
        id: Option<String>,
        #[serde(default, deserialize_with = "lenient_text")]
        call_id: Option<String>,
        #[serde(default, deserialize_with = "lenient_text")]
        name: Option<String>,
        #[serde(default, deserialize_with = "arguments_text")]
        arguments: Option<String>,
    },
    /// An item this library does not read (web search, file search, …).
    #[serde(other)]
    Other,
}

impl OutputItem {
    /// The item's id (`msg_…`, `rs_…`, `fc_…`).
    pub(super) fn id(&self) -> Option<&str> {
        match self {
            Self::Message { id, .. } | Self::Reasoning { id, .. } | Self::FunctionCall { id, .. } => id.as_deref(),
            Self::Other => None,
        }
    }
}

/// One part of an output message.
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum MessageContent {
    OutputText {
        #[serde(default, deserialize_with = "nullable")]
        text: String,
    },
    Refusal {
        #[serde(default, deserialize_with = "nullable")]
        refusal: String,
    },
    #[serde(other)]
    Other,
}

/// `{"type": "summary_text" | "reasoning_text", "text": …}`.
#[derive(Clone, Debug, Default, Deserialize)]
pub(super) struct TextPiece {
    #[serde(default, deserialize_with = "nullable")]
    pub(super) text: String,
}

#[derive(Clone, Copy, Debug, Default, Deserialize)]
pub(super) struct WireUsage {
    #[serde(default, deserialize_with = "nullable")]
    input_tokens: u64,
    #[serde(default, deserialize_with = "nullable")]
    output_tokens: u64,
    #[serde(default)]
    input_tokens_details: Option<InputDetails>,
    #[serde(default)]
    output_tokens_details: Option<OutputDetails>,
}

#[derive(Clone, Copy, Debug, Default, Deserialize)]
struct InputDetails {
    #[serde(default, deserialize_with = "nullable")]
    cached_tokens: u64,
}

#[derive(Clone, Copy, Debug, Default, Deserialize)]
struct OutputDetails {
    #[serde(default, deserialize_with = "nullable")]
    reasoning_tokens: u64,
}

impl WireUsage {
    /// `input_tokens` already includes the cached ones; `output_tokens` the reasoning ones.
    pub(super) fn to_usage(self) -> Usage {
        Usage::new(self.input_tokens, self.output_tokens)
            .with_cached_input(self.input_tokens_details.map_or(0, |d| d.cached_tokens))
            .with_reasoning(self.output_tokens_details.map_or(0, |d| d.reasoning_tokens))
    }
}

/// What the output items of one response say.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Output {
    pub(super) content: String,
    pub(super) reasoning: Vec<Reasoning>,
    pub(super) tool_calls: Vec<ToolCall>,
}

/// Reads output items: the text of the messages (refusals included), the
/// reasoning items (id, encrypted content, summary text), the tool calls.
pub(super) fn read_output(items: &[OutputItem]) -> Output {
    let mut out = Output::default();
    for item in items {
        match item {
            OutputItem::Message { content, .. } => {
                for part in content {
                    match part {
                        MessageContent::OutputText { text } => out.content.push_str(text),
                        MessageContent::Refusal { refusal } => out.content.push_str(refusal),
                        MessageContent::Other => {}
                    }
                }
            }
            OutputItem::Reasoning { id, encrypted_content, summary, content } => {
                let pieces = if summary.is_empty() { content } else { summary };
                let text = pieces.iter().map(|p| p.text.as_str()).filter(|t| !t.is_empty()).collect::<Vec<_>>();
                out.reasoning.push(
                    Reasoning::new(REASONING_ORIGIN, text.join("\n\n"))
                        .with_id(id.clone())
                        .with_encrypted(encrypted_content.clone()),
                );
            }
            OutputItem::FunctionCall { call_id, id, name, arguments } => {
                let position = out.tool_calls.len();
                let call_id = call_id.clone().or_else(|| id.clone()).unwrap_or_else(|| format!("call_{position}"));
                let arguments = arguments.clone().filter(|a| !a.trim().is_empty()).unwrap_or_else(|| "{}".to_owned());
                out.tool_calls.push(ToolCall::new(call_id, name.clone().unwrap_or_default(), arguments));
            }
            OutputItem::Other => {}
        }
    }
    out
}

/// Why the model stopped: `incomplete` is the token limit (or the content
/// filter, when that is the reason given); a completed answer with tool
/// calls stopped for them.
pub(super) fn finish_reason(response: &ResponseObject, has_tool_calls: bool) -> Option<FinishReason> {
    match response.status.as_deref() {
        Some("incomplete") => match response.incomplete_details.as_ref().and_then(|d| d.reason.as_deref()) {
            Some("content_filter") => Some(FinishReason::ContentFilter),
            _ => Some(FinishReason::Length),
        },
        Some("completed") | None if has_tool_calls => Some(FinishReason::ToolCalls),
        Some("completed") | None => Some(FinishReason::Stop),
        Some(other) => Some(FinishReason::Other(other.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_mode_is_asked_only_for_schemas_that_meet_its_rules() {
        let closed = json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "array", "items": {"type": "object", "properties": {"c": {"type": "integer"}}, "required": ["c"], "additionalProperties": false}}}, "required": ["a", "b"], "additionalProperties": false});
        assert!(strict_compatible(&closed));
        let open = json!({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]});
        assert!(!strict_compatible(&open));
        let optional = json!({"type": "object", "properties": {"a": {"type": "string"}}, "required": [], "additionalProperties": false});
        assert!(!strict_compatible(&optional));
        let nested_open = json!({"type": "object", "properties": {"a": {"type": "object", "properties": {}}}, "required": ["a"], "additionalProperties": false});
        assert!(!strict_compatible(&nested_open));
    }

    #[test]
    fn odd_items_and_nulls_are_read_not_refused() {
        let response: ResponseObject = serde_json::from_value(json!({
            "id": "resp_1", "status": "completed", "output": [
                {"type": "web_search_call", "id": "ws_1", "status": "completed"},
                {"type": "reasoning", "id": "rs_1", "summary": null, "encrypted_content": null},
                {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": {"x": 1}},
                {"type": "message", "content": [{"type": "output_text", "text": "hi", "annotations": []}, {"type": "audio"}]}
            ], "usage": null
        }))
        .unwrap();
        let out = read_output(&response.output);
        assert_eq!(out.content, "hi");
        assert_eq!(out.reasoning[0].id.as_deref(), Some("rs_1"));
        assert_eq!(out.tool_calls[0].arguments, r#"{"x":1}"#);
        assert_eq!(finish_reason(&response, true), Some(FinishReason::ToolCalls));
    }

    #[test]
    fn temperatures_are_written_in_their_short_form() {
        assert_eq!(crate::openai::short_number(0.3).to_string(), "0.3");
        assert_eq!(crate::openai::short_number(f32::NAN), Value::Null);
    }
}
