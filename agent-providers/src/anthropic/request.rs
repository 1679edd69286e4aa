//! The body of `POST /v1/messages`: a [`CompletionRequest`] mapped to the
//! Messages wire format (see the rules in the [module docs](super)).
//!
//! Built as JSON values so that `cache_control` can be put on any block once
//! the whole body is known: the breakpoints are chosen last, explicit ones
//! first, then the automatic ones, at most [`MAX_CACHE_BREAKPOINTS`].

use super::{DEFAULT_MAX_TOKENS, ORIGIN};
use agent_core::provider::{
    CompletionRequest, ContentPart, ImageSource, Message, ModelCapabilities, ProviderErrorKind, Reasoning,
    ReasoningControl, ResponseFormat, Role, ToolSpec,
};
use serde_json::{Map, Value, json};

/// Anthropic accepts at most this many `cache_control` breakpoints per request.
pub(super) const MAX_CACHE_BREAKPOINTS: usize = 4;

/// The smallest thinking budget Anthropic accepts.
pub(super) const MIN_THINKING_BUDGET: u32 = 1_024;

/// What shapes the body beyond the request's own fields.
pub(super) struct Shape<'a> {
    pub(super) model: &'a str,
    /// The model's capabilities, when the table (or the host) knows them.
    pub(super) caps: Option<&'a ModelCapabilities>,
    /// Whether the automatic cache breakpoints are placed.
    pub(super) auto_cache: bool,
    pub(super) stream: bool,
}

/// The tool that carries a structured answer (`response_format`): the model
/// is made to call it, and its input is the answer.
#[derive(Clone, Debug)]
pub(super) struct AnswerTool {
    pub(super) name: String,
    /// The schema is not an object schema (tool inputs must be objects): it
    /// was sent as the property `value` of an object, and the answer is that property.
    pub(super) wrapped: bool,
}

impl AnswerTool {
    /// The answer, as JSON text, from the tool's input.
    pub(super) fn answer_from_input(&self, input: &Value) -> String {
        match (self.wrapped, input.get("value")) {
            (true, Some(value)) => value.to_string(),
            _ => input.to_string(),
        }
    }

    /// The answer, as JSON text, from the tool's input streamed as text.
    pub(super) fn answer_from_text(&self, text: &str) -> String {
        if text.trim().is_empty() {
            return "{}".to_owned();
        }
        if self.wrapped {
            if let Ok(input) = serde_json::from_str::<Value>(text) {
                return self.answer_from_input(&input);
            }
        }
        text.to_owned()
    }
}

/// The body, and the answer tool when the request asked for structured output.
pub(super) struct Built {
    pub(super) body: Value,
    pub(super) answer: Option<AnswerTool>,
}

/// A request that cannot be sent to this model, found before sending.
#[derive(Debug)]
pub(super) struct Refused {
    pub(super) kind: ProviderErrorKind,
    pub(super) message: String,
}

impl Refused {
    fn unsupported(what: &str, message: impl Into<String>) -> Self {
        Self { kind: ProviderErrorKind::Unsupported { what: what.to_owned() }, message: message.into() }
    }
}

/// Where a block sits in the body, in the order Anthropic reads the cached
/// prefix: tools, then the system prompt, then the messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Loc {
    Tool(usize),
    System(usize),
    Message(usize, usize),
}

struct WireMessage {
    role: &'static str,
    content: Vec<Value>,
}

/// The body under construction.
#[derive(Default)]
struct Body {
    tools: Vec<Value>,
    system: Vec<Value>,
    messages: Vec<WireMessage>,
    /// Blocks that explicit [`ContentPart::CacheBreakpoint`]s follow.
    explicit: Vec<Loc>,
}

/// Thinking and redacted-thinking blocks cannot carry `cache_control`.
fn cacheable(block: &Value) -> bool {
    !matches!(block.get("type").and_then(Value::as_str), Some("thinking" | "redacted_thinking"))
}

impl Body {
    /// The last block of the tools and the system prompt.
    fn end_of_preamble(&self) -> Option<Loc> {
        self.system.len().checked_sub(1).map(Loc::System).or_else(|| self.tools.len().checked_sub(1).map(Loc::Tool))
    }

    /// The last cacheable block before block `end` of message `msg`, looking
    /// back through earlier messages, then the system prompt and the tools.
    fn cacheable_before(&self, msg: usize, end: usize) -> Option<Loc> {
        for m in (0..=msg).rev() {
            let Some(message) = self.messages.get(m) else { continue };
            let stop = if m == msg { end.min(message.content.len()) } else { message.content.len() };
            if let Some(b) = (0..stop).rev().find(|&b| message.content.get(b).is_some_and(cacheable)) {
                return Some(Loc::Message(m, b));
            }
        }
        self.end_of_preamble()
    }

    /// The last cacheable block of the body so far.
    fn last_cacheable(&self) -> Option<Loc> {
        match self.messages.len().checked_sub(1) {
            Some(m) => self.cacheable_before(m, usize::MAX),
            None => self.end_of_preamble(),
        }
    }

    /// Appends one turn's blocks (merged into the previous turn of the same
    /// role: tool results answering one assistant turn share one user turn),
    /// with explicit breakpoints after `marks[i]` of its blocks.
    fn add(&mut self, role: &'static str, blocks: Vec<Value>, marks: &[usize]) {
        let start = match self.messages.last_mut() {
            Some(last) if last.role == role => {
                let start = last.content.len();
                last.content.extend(blocks);
                Some((self.messages.len() - 1, start))
            }
            _ if blocks.is_empty() => None,
            _ => {
                self.messages.push(WireMessage { role, content: blocks });
                Some((self.messages.len() - 1, 0))
            }
        };
        for &count in marks {
            let loc = match start {
                Some((m, offset)) => self.cacheable_before(m, offset + count),
                None => self.last_cacheable(),
            };
            self.explicit.extend(loc);
        }
    }

    fn block_mut(&mut self, loc: Loc) -> Option<&mut Map<String, Value>> {
        let block = match loc {
            Loc::Tool(i) => self.tools.get_mut(i),
            Loc::System(i) => self.system.get_mut(i),
            Loc::Message(m, b) => self.messages.get_mut(m).and_then(|msg| msg.content.get_mut(b)),
        };
        block.and_then(Value::as_object_mut)
    }

    /// The automatic breakpoints, most useful first: the last user turn (the
    /// whole conversation so far), the one before it (what the previous call
    /// wrote, so this call reads it), the end of the system prompt, the last tool.
    fn automatic(&self) -> Vec<Loc> {
        let mut user_turns = self.messages.iter().enumerate().rev().filter(|(_, m)| m.role == "user");
        let mut turn_end = || {
            user_turns.next().and_then(|(m, message)| {
                (0..message.content.len())
                    .rev()
                    .find(|&b| message.content.get(b).is_some_and(cacheable))
                    .map(|b| Loc::Message(m, b))
            })
        };
        let last = turn_end();
        let previous = turn_end();
        [
            last,
            previous,
            self.system.len().checked_sub(1).map(Loc::System),
            self.tools.len().checked_sub(1).map(Loc::Tool),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// Puts `cache_control` on the explicit breakpoints (the last four when
    /// there are more), then on the automatic ones while fewer than four are set.
    fn place_breakpoints(&mut self, auto: bool) {
        let mut chosen = std::mem::take(&mut self.explicit);
        chosen.sort_unstable();
        chosen.dedup();
        if chosen.len() > MAX_CACHE_BREAKPOINTS {
            chosen.drain(..chosen.len() - MAX_CACHE_BREAKPOINTS);
        }
        if auto {
            for loc in self.automatic() {
                if chosen.len() >= MAX_CACHE_BREAKPOINTS {
                    break;
                }
                if !chosen.contains(&loc) {
                    chosen.push(loc);
                }
            }
        }
        for loc in chosen {
            if let Some(block) = self.block_mut(loc) {
                block.insert("cache_control".to_owned(), json!({"type": "ephemeral"}));
            }
        }
    }
}

/// The thinking budget to send: the request's, at least
/// [`MIN_THINKING_BUDGET`]; none when the request asks for no reasoning or
/// the model's known capabilities say it has no reasoning control.
fn thinking_budget(req: &CompletionRequest, caps: Option<&ModelCapabilities>) -> Option<u32> {
    let reasoning = req.reasoning.as_ref()?;
    if caps.is_some_and(|c| c.reasoning == ReasoningControl::None) {
        return None;
    }
    reasoning.effective_budget().map(|b| b.max(MIN_THINKING_BUDGET))
}

/// `max_tokens` and the thinking budget: `max_tokens` from the request, else
/// the model's output limit, else [`DEFAULT_MAX_TOKENS`]. With thinking it is
/// raised above the budget (budget plus the requested answer length, within
/// the model's limit); when the limit leaves no room, the budget shrinks to
/// half of it, and thinking is left out below the minimum budget.
fn token_limits(req: &CompletionRequest, caps: Option<&ModelCapabilities>) -> (u32, Option<u32>) {
    let limit = caps.map(|c| c.max_output_tokens).filter(|&l| l > 0);
    let max_tokens = req.max_tokens.or(limit).unwrap_or(DEFAULT_MAX_TOKENS).max(1);
    let Some(budget) = thinking_budget(req, caps) else { return (max_tokens, None) };
    if max_tokens > budget {
        return (max_tokens, Some(budget));
    }
    let raised = limit.map_or(budget.saturating_add(max_tokens), |l| budget.saturating_add(max_tokens).min(l));
    if raised > budget {
        return (raised, Some(budget));
    }
    let halved = raised / 2;
    (max_tokens.max(raised), (halved >= MIN_THINKING_BUDGET).then_some(halved))
}

/// A name Anthropic accepts for a tool (`^[a-zA-Z0-9_-]{1,64}$`), distinct
/// from the request's own tools.
fn answer_tool_name(format: &ResponseFormat, tools: &[ToolSpec]) -> String {
    let mut base: String = format
        .name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' })
        .take(48)
        .collect();
    if base.is_empty() {
        base = "answer".to_owned();
    }
    let taken = |name: &str| tools.iter().any(|t| t.name == name);
    if !taken(&base) {
        return base;
    }
    // The request's tools are finitely many: one of these names is free.
    (1..=tools.len() + 1)
        .map(|n| if n == 1 { format!("{base}_answer") } else { format!("{base}_answer{n}") })
        .find(|name| !taken(name))
        .unwrap_or(base)
}

/// The answer tool's definition: the schema as its input schema, or, when the
/// schema is not an object schema, under the property `value` (with its
/// definitions kept at the root, where `$ref`s point).
fn answer_tool(format: &ResponseFormat, tools: &[ToolSpec]) -> (AnswerTool, Value) {
    let name = answer_tool_name(format, tools);
    let is_object = format.schema.get("type").and_then(Value::as_str) == Some("object");
    let input_schema = if is_object {
        format.schema.clone()
    } else {
        let mut inner = format.schema.clone();
        let mut outer = Map::new();
        outer.insert("type".to_owned(), json!("object"));
        if let Some(object) = inner.as_object_mut() {
            for key in ["$defs", "definitions"] {
                if let Some(defs) = object.remove(key) {
                    outer.insert(key.to_owned(), defs);
                }
            }
        }
        outer.insert("properties".to_owned(), json!({ "value": inner }));
        outer.insert("required".to_owned(), json!(["value"]));
        Value::Object(outer)
    };
    let description = format!(
        "Give your final answer by calling this tool: its input is the answer, a JSON value matching the schema \"{}\".",
        format.name
    );
    let definition = json!({"name": name, "description": description, "input_schema": input_schema});
    (AnswerTool { name, wrapped: !is_object }, definition)
}

/// The instruction that asks for the answer tool when it cannot be forced
/// (with extended thinking, Anthropic accepts only `tool_choice: auto`).
fn answer_instruction(tool: &AnswerTool) -> String {
    format!(
        "When you have the answer, give it by calling the tool \"{}\" with the answer as its input. \
         Do not write the answer as text.",
        tool.name
    )
}

/// An image block, or `Unsupported` when the model does not read images.
fn image_block(
    model: &str,
    caps: Option<&ModelCapabilities>,
    media_type: &str,
    source: &ImageSource,
) -> Result<Value, Refused> {
    if caps.is_some_and(|c| !c.image_input) {
        return Err(Refused::unsupported("image_input", format!("model {model} does not take image input")));
    }
    let base64 = |media_type: &str, data: &str| json!({"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}});
    match source {
        ImageSource::Base64(data) => Ok(base64(media_type, data)),
        ImageSource::Url(url) => match url.strip_prefix("data:") {
            // Anthropic takes no data: URLs; their bytes go as a base64 source.
            Some(rest) => {
                let (meta, data) = rest.split_once(',').unwrap_or((rest, ""));
                let Some(url_type) = meta.strip_suffix(";base64") else {
                    return Err(Refused {
                        kind: ProviderErrorKind::InvalidRequest,
                        message: "an image data: URL must be base64-encoded".to_owned(),
                    });
                };
                let media_type = if media_type.is_empty() { url_type } else { media_type };
                Ok(base64(media_type, data))
            }
            None => Ok(json!({"type": "image", "source": {"type": "url", "url": url}})),
        },
        _ => Err(Refused::unsupported("image_source", "an image source this provider does not know")),
    }
}

/// A reasoning block of this wire as sent back: `thinking` with its signature,
/// or `redacted_thinking` with its data. Blocks of other wires, and thinking
/// without a signature (which Anthropic refuses), are left out.
fn reasoning_block(reasoning: &Reasoning) -> Option<Value> {
    if reasoning.origin != ORIGIN {
        return None;
    }
    match (&reasoning.signature, &reasoning.encrypted) {
        (_, Some(data)) if reasoning.text.is_empty() => Some(json!({"type": "redacted_thinking", "data": data})),
        (Some(signature), _) => Some(json!({"type": "thinking", "thinking": reasoning.text, "signature": signature})),
        (None, Some(data)) => Some(json!({"type": "redacted_thinking", "data": data})),
        (None, None) => None,
    }
}

fn text_block(text: &str) -> Option<Value> {
    (!text.is_empty()).then(|| json!({"type": "text", "text": text}))
}

/// The tool call's arguments as the `input` object Anthropic requires.
fn tool_input(arguments: &str) -> Value {
    match crate::native::arguments_value(arguments) {
        obj @ Value::Object(_) => obj,
        other => json!({ "value": other }),
    }
}

/// Builds the body for `req` (see the module docs of [`super`]).
pub(super) fn build(req: &CompletionRequest, shape: &Shape<'_>) -> Result<Built, Refused> {
    let caps = shape.caps;
    let mut body = Body {
        tools: req
            .tools
            .iter()
            .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.parameters}))
            .collect(),
        ..Body::default()
    };
    let (max_tokens, thinking) = token_limits(req, caps);
    let answer = req.response_format.as_ref().map(|format| {
        let (tool, definition) = answer_tool(format, &req.tools);
        body.tools.push(definition);
        tool
    });

    for message in &req.messages {
        map_message(&mut body, message, shape, caps)?;
    }

    if let (Some(tool), Some(_)) = (&answer, thinking) {
        body.system.push(json!({"type": "text", "text": answer_instruction(tool)}));
    }
    body.place_breakpoints(shape.auto_cache);

    let mut out = Map::new();
    out.insert("model".to_owned(), json!(shape.model));
    out.insert("max_tokens".to_owned(), json!(max_tokens));
    let system_cached = body.system.iter().any(|b| b.get("cache_control").is_some());
    if system_cached {
        out.insert("system".to_owned(), Value::Array(std::mem::take(&mut body.system)));
    } else if !body.system.is_empty() {
        let texts: Vec<&str> = body.system.iter().filter_map(|b| b.get("text").and_then(Value::as_str)).collect();
        out.insert("system".to_owned(), json!(texts.join("\n\n")));
    }
    let messages: Vec<Value> =
        body.messages.into_iter().map(|m| json!({"role": m.role, "content": m.content})).collect();
    out.insert("messages".to_owned(), Value::Array(messages));
    if let Some(budget) = thinking {
        out.insert("thinking".to_owned(), json!({"type": "enabled", "budget_tokens": budget}));
    } else if let Some(temperature) = req.temperature {
        out.insert("temperature".to_owned(), json!(temperature));
    }
    if !body.tools.is_empty() {
        out.insert("tools".to_owned(), Value::Array(body.tools));
    }
    if let Some(tool) = &answer {
        let choice = match (thinking, req.tools.is_empty()) {
            (Some(_), _) => json!({"type": "auto"}),
            (None, true) => json!({"type": "tool", "name": tool.name}),
            (None, false) => json!({"type": "any"}),
        };
        out.insert("tool_choice".to_owned(), choice);
    }
    if shape.stream {
        out.insert("stream".to_owned(), json!(true));
    }
    Ok(Built { body: Value::Object(out), answer })
}

/// Maps one message into `body`.
fn map_message(
    body: &mut Body,
    message: &Message,
    shape: &Shape<'_>,
    caps: Option<&ModelCapabilities>,
) -> Result<(), Refused> {
    let parts = message.content_parts();
    match message.role {
        Role::System => {
            for part in parts.iter() {
                match part {
                    ContentPart::Text { text } => body.system.extend(text_block(text)),
                    ContentPart::CacheBreakpoint => body.explicit.extend(body.end_of_preamble()),
                    ContentPart::Image { .. } => {
                        return Err(Refused::unsupported(
                            "image_in_system",
                            "the Anthropic system prompt takes text only: put the image in a user message",
                        ));
                    }
                    _ => {}
                }
            }
        }
        Role::Assistant => {
            // Thinking comes first: Anthropic requires it before the tool use it led to.
            let mut blocks: Vec<Value> = parts
                .iter()
                .filter_map(|p| match p {
                    ContentPart::Reasoning(r) => reasoning_block(r),
                    _ => None,
                })
                .collect();
            let mut marks = Vec::new();
            let mut trailing = false;
            for (i, part) in parts.iter().enumerate() {
                match part {
                    ContentPart::Text { text } => blocks.extend(text_block(text)),
                    ContentPart::Image { .. } => {
                        return Err(Refused::unsupported(
                            "image_in_assistant",
                            "Anthropic takes images in user turns and tool results only",
                        ));
                    }
                    // A breakpoint that ends the message covers its tool calls too.
                    ContentPart::CacheBreakpoint if i + 1 == parts.len() => trailing = true,
                    ContentPart::CacheBreakpoint => marks.push(blocks.len()),
                    _ => {}
                }
            }
            for call in &message.tool_calls {
                blocks.push(
                    json!({"type": "tool_use", "id": call.id, "name": call.name, "input": tool_input(&call.arguments)}),
                );
            }
            if trailing {
                marks.push(blocks.len());
            }
            body.add("assistant", blocks, &marks);
        }
        Role::Tool => {
            let mut content = Vec::new();
            let mut text = String::new();
            let mut has_image = false;
            let mut marked = false;
            for part in parts.iter() {
                match part {
                    ContentPart::Text { text: t } => {
                        text.push_str(t);
                        content.extend(text_block(t));
                    }
                    ContentPart::Image { media_type, source } => {
                        has_image = true;
                        content.push(image_block(shape.model, caps, media_type, source)?);
                    }
                    ContentPart::CacheBreakpoint => marked = true,
                    _ => {}
                }
            }
            let mut block = Map::new();
            block.insert("type".to_owned(), json!("tool_result"));
            block.insert("tool_use_id".to_owned(), json!(message.tool_call_id.as_deref().unwrap_or_default()));
            if has_image {
                block.insert("content".to_owned(), Value::Array(content));
            } else if !text.is_empty() {
                block.insert("content".to_owned(), json!(text));
            }
            if message.is_error {
                block.insert("is_error".to_owned(), json!(true));
            }
            let marks: &[usize] = if marked { &[1] } else { &[] };
            body.add("user", vec![Value::Object(block)], marks);
        }
        // The user, and any role added later: sent as the user's words.
        _ => {
            let mut blocks = Vec::new();
            let mut marks = Vec::new();
            for part in parts.iter() {
                match part {
                    ContentPart::Text { text } => blocks.extend(text_block(text)),
                    ContentPart::Image { media_type, source } => {
                        blocks.push(image_block(shape.model, caps, media_type, source)?);
                    }
                    ContentPart::CacheBreakpoint => marks.push(blocks.len()),
                    _ => {}
                }
            }
            body.add("user", blocks, &marks);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_core::provider::{ReasoningRequest, ToolCall};

    fn shape(caps: Option<&ModelCapabilities>) -> Shape<'_> {
        Shape { model: "claude-test", caps, auto_cache: true, stream: false }
    }

    fn cache_marks(body: &Value) -> usize {
        body.to_string().matches("\"cache_control\"").count()
    }

    #[test]
    fn never_more_than_four_breakpoints_and_explicit_ones_win() {
        let mut messages = vec![Message::system("sys")];
        for i in 0..6 {
            messages.push(Message::user(format!("q{i}")).with_cache_breakpoint());
            messages.push(Message::assistant(format!("a{i}")));
        }
        messages.push(Message::user("last"));
        let tool = ToolSpec { name: "t".into(), description: "d".into(), parameters: json!({"type": "object"}) };
        let req = CompletionRequest::new(messages).with_tools(vec![tool]);
        let built = build(&req, &shape(None)).unwrap();
        assert_eq!(cache_marks(&built.body), 4, "{}", built.body);
        let msgs = built.body["messages"].as_array().unwrap();
        // The last four explicit ones: q2..q5; nothing automatic fits.
        for (i, m) in msgs.iter().enumerate() {
            let marked = m["content"][0].get("cache_control").is_some();
            assert_eq!(marked, [4, 6, 8, 10].contains(&i), "message {i}: {m}");
        }
        assert!(built.body["system"].is_string(), "an unmarked system prompt stays a string");
    }

    #[test]
    fn a_breakpoint_never_lands_on_a_thinking_block() {
        let thought = Reasoning::new(ORIGIN, "hmm").with_signature(Some("sig".into()));
        let mut assistant = Message::with_parts(Role::Assistant, vec![ContentPart::Reasoning(thought)]);
        assistant.tool_calls = vec![ToolCall::new("c1", "t", "{}")];
        let mut first = Message::with_parts(Role::Assistant, vec![ContentPart::CacheBreakpoint]);
        first.content.clear();
        let req = CompletionRequest::new(vec![Message::user("u"), first, assistant.with_cache_breakpoint()]);
        let mut s = shape(None);
        s.auto_cache = false;
        let body = build(&req, &s).unwrap().body;
        let msgs = body["messages"].as_array().unwrap();
        assert_eq!(msgs.len(), 2, "the empty assistant message is left out: {body}");
        assert!(msgs[0]["content"][0].get("cache_control").is_some(), "{body}");
        assert!(msgs[1]["content"][0].get("cache_control").is_none(), "{body}");
        assert!(msgs[1]["content"][1].get("cache_control").is_some(), "the tool_use carries it: {body}");
    }

    #[test]
    fn thinking_budget_is_at_least_the_minimum_and_max_tokens_stays_above_it() {
        let caps = ModelCapabilities::new(200_000, 64_000).with_reasoning(ReasoningControl::BudgetTokens);
        let small = CompletionRequest::default().with_reasoning(ReasoningRequest::budget(10)).with_max_tokens(500);
        assert_eq!(token_limits(&small, Some(&caps)), (1_524, Some(1_024)));
        let unset = CompletionRequest::default().with_reasoning(ReasoningRequest::budget(8_000));
        assert_eq!(token_limits(&unset, Some(&caps)), (64_000, Some(8_000)));
        let huge = CompletionRequest::default().with_reasoning(ReasoningRequest::budget(90_000));
        assert_eq!(token_limits(&huge, Some(&caps)), (64_000, Some(32_000)));
        let tiny = ModelCapabilities::new(1_000, 1_500).with_reasoning(ReasoningControl::BudgetTokens);
        assert_eq!(token_limits(&unset, Some(&tiny)), (1_500, None), "no room to think");
        let none = ModelCapabilities::new(200_000, 8_192);
        assert_eq!(token_limits(&unset, Some(&none)), (8_192, None), "a model without reasoning control");
        assert_eq!(token_limits(&unset, None), (DEFAULT_MAX_TOKENS + 8_000, Some(8_000)), "unknown model");
    }

    #[test]
    fn answer_tool_names_are_valid_and_distinct_and_non_objects_are_wrapped() {
        let tools = vec![ToolSpec { name: "plan".into(), description: String::new(), parameters: json!({}) }];
        let format = ResponseFormat { name: "plan".into(), schema: json!({"type": "object"}) };
        assert_eq!(answer_tool_name(&format, &tools), "plan_answer");
        let odd = ResponseFormat { name: "my schema!".into(), schema: json!({"type": "array", "$defs": {"A": {}}}) };
        let (tool, definition) = answer_tool(&odd, &[]);
        assert_eq!(tool.name, "my_schema_");
        assert!(tool.wrapped);
        assert_eq!(definition["input_schema"]["properties"]["value"]["type"], "array");
        assert!(definition["input_schema"]["$defs"]["A"].is_object(), "definitions stay at the root");
        assert_eq!(tool.answer_from_input(&json!({"value": [1, 2]})), "[1,2]");
        assert_eq!(tool.answer_from_text("{\"value\": [3]}"), "[3]");
        assert_eq!(tool.answer_from_text("not json"), "not json");
    }

    #[test]
    fn data_urls_become_base64_sources_and_other_wires_reasoning_is_dropped() {
        let source = ImageSource::Url("data:image/png;base64,iVBORw0K".into());
        let block = image_block("m", None, "", &source).unwrap();
        assert_eq!(block["source"], json!({"type": "base64", "media_type": "image/png", "data": "iVBORw0K"}));
        let plain = ImageSource::Url("data:image/png,raw".into());
        assert!(matches!(
            image_block("m", None, "image/png", &plain).unwrap_err().kind,
            ProviderErrorKind::InvalidRequest
        ));
        let gemini = Reasoning::new("gemini", "x").with_signature(Some("s".into()));
        assert!(reasoning_block(&gemini).is_none());
        let unsigned = Reasoning::new(ORIGIN, "x");
        assert!(reasoning_block(&unsigned).is_none());
        let redacted = Reasoning::new(ORIGIN, "").with_encrypted(Some("EmwK".into()));
        assert_eq!(reasoning_block(&redacted), Some(json!({"type": "redacted_thinking", "data": "EmwK"})));
    }
}
