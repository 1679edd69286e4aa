//! The Gemini `generateContent` wire format: the request body sent and the bodies read.

use crate::native::{arguments_value, body_excerpt, tool_name_for};
use agent_core::provider::{
    CompletionRequest, ContentPart, FinishReason, ImageSource, Message, ModelCapabilities, ReasoningControl,
    ReasoningEffort, Role, Usage,
};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// The `origin` of the reasoning blocks this wire produces and takes back.
pub(super) const ORIGIN: &str = "gemini";

/// A request this wire cannot carry, refused before anything is sent.
#[derive(Debug)]
pub(super) struct Refusal {
    /// What is unsupported (`image`).
    pub(super) what: String,
    /// Why, for the error message.
    pub(super) message: String,
}

/// The body of `POST /models/{model}:generateContent` (and `:streamGenerateContent`).
///
/// `caps` are the model's capabilities when known: an image to a model
/// without image input is refused, and they choose the thinking control
/// (`thinkingLevel` or `thinkingBudget`).
pub(super) fn request_body(req: &CompletionRequest, caps: Option<&ModelCapabilities>) -> Result<Value, Refusal> {
    let mut system: Vec<String> = Vec::new();
    let mut contents: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for (i, message) in req.messages.iter().enumerate() {
        let (role, parts) = match message.role {
            Role::System => {
                system.extend(system_text(message)?);
                continue;
            }
            Role::Assistant => ("model", model_parts(message, caps)?),
            Role::Tool => {
                let call_id = message.tool_call_id.as_deref();
                let name = tool_name_for(&req.messages, i, call_id).or(call_id).unwrap_or("tool");
                let mut parts =
                    vec![json!({"functionResponse": {"name": name, "response": function_response(message)}})];
                for part in &message.parts {
                    if let ContentPart::Image { media_type, source } = part {
                        parts.push(image_part(media_type, source, caps)?);
                    }
                }
                ("user", parts)
            }
            // The user, and any role added later: sent as the user's words.
            _ => ("user", user_parts(message, caps)?),
        };
        if parts.is_empty() {
            // An empty turn is never sent (Gemini refuses a content without parts).
            continue;
        }
        // Consecutive turns of one role are merged (function responses answering
        // one model turn go together in the next user turn).
        match contents.last_mut() {
            Some((last_role, last_parts)) if *last_role == role => last_parts.extend(parts),
            _ => contents.push((role, parts)),
        }
    }
    let mut body = Map::new();
    body.insert(
        "contents".to_owned(),
        contents.into_iter().map(|(role, parts)| json!({"role": role, "parts": parts})).collect(),
    );
    if !system.is_empty() {
        body.insert("systemInstruction".to_owned(), json!({"parts": [{"text": system.join("\n\n")}]}));
    }
    if !req.tools.is_empty() {
        let declarations: Vec<Value> = req
            .tools
            .iter()
            .map(|t| {
                let mut declaration = json!({"name": t.name, "description": t.description});
                let parameters = gemini_schema(&t.parameters);
                let empty_object =
                    parameters.get("properties").is_none_or(|p| p.as_object().is_some_and(Map::is_empty))
                        && parameters.get("type").and_then(Value::as_str) == Some("object");
                if !empty_object {
                    declaration["parameters"] = parameters;
                }
                declaration
            })
            .collect();
        body.insert("tools".to_owned(), json!([{ "functionDeclarations": declarations }]));
    }
    let mut config = Map::new();
    if let Some(max) = req.max_tokens {
        config.insert("maxOutputTokens".to_owned(), json!(max));
    }
    if let Some(temperature) = req.temperature {
        config.insert("temperature".to_owned(), json!(temperature));
    }
    if let Some(format) = &req.response_format {
        config.insert("responseMimeType".to_owned(), json!("application/json"));
        config.insert("responseSchema".to_owned(), gemini_schema(&format.schema));
    }
    if let Some(thinking) = thinking_config(req, caps) {
        config.insert("thinkingConfig".to_owned(), thinking);
    }
    if !config.is_empty() {
        body.insert("generationConfig".to_owned(), Value::Object(config));
    }
    Ok(Value::Object(body))
}

/// `generationConfig.thinkingConfig` for the request's reasoning controls,
/// chosen by the model's [`ReasoningControl`]:
/// - `effort` (Gemini 3): `thinkingLevel`, `low` for minimal and low, `high`
///   for medium and high (the two levels every Gemini 3 model takes);
/// - `budget_tokens` (Gemini 2.5), or a model the table does not know:
///   `thinkingBudget` (Gemini 3 still takes a budget);
/// - `none` (a model that does not think, e.g. Gemini 2.0): nothing is sent,
///   since Gemini refuses a thinking config there.
///
/// Thoughts are asked for (`includeThoughts: true`) unless the budget is 0,
/// which turns thinking off.
fn thinking_config(req: &CompletionRequest, caps: Option<&ModelCapabilities>) -> Option<Value> {
    let reasoning = req.reasoning?;
    let mut config = Map::new();
    match caps.map(|c| c.reasoning) {
        Some(ReasoningControl::None) => return None,
        Some(ReasoningControl::Effort) => {
            if let Some(effort) = reasoning.effective_effort() {
                let level = match effort {
                    ReasoningEffort::Minimal | ReasoningEffort::Low => "low",
                    _ => "high",
                };
                config.insert("thinkingLevel".to_owned(), json!(level));
            }
            config.insert("includeThoughts".to_owned(), json!(true));
        }
        _ => {
            let budget = reasoning.effective_budget();
            if let Some(budget) = budget {
                config.insert("thinkingBudget".to_owned(), json!(budget));
            }
            config.insert("includeThoughts".to_owned(), json!(budget != Some(0)));
        }
    }
    Some(Value::Object(config))
}

/// The `response` of a `functionResponse`: a JSON-object result as is,
/// anything else as `{"result": …}`; a failed tool (`is_error`) as
/// `{"error": …}`, the key Gemini reads as the function's failure.
fn function_response(message: &Message) -> Value {
    let parsed = serde_json::from_str::<Value>(&message.content).ok();
    if message.is_error {
        return json!({ "error": parsed.unwrap_or_else(|| json!(message.content)) });
    }
    match parsed {
        Some(obj @ Value::Object(_)) => obj,
        Some(other) => json!({ "result": other }),
        None => json!({ "result": message.content }),
    }
}

/// The text of a system message (`systemInstruction` takes text only: an
/// image there is refused; an empty text adds nothing).
fn system_text(message: &Message) -> Result<Option<String>, Refusal> {
    if message.has_images() {
        return Err(Refusal {
            what: "image".to_owned(),
            message: "Gemini's systemInstruction takes text only: send the image in a user message".to_owned(),
        });
    }
    Ok(Some(message.content.clone()).filter(|text| !text.trim().is_empty()))
}

/// A user turn's parts: text (never empty) and images; reasoning and cache
/// breakpoints are not sent.
fn user_parts(message: &Message, caps: Option<&ModelCapabilities>) -> Result<Vec<Value>, Refusal> {
    let mut parts = Vec::new();
    for part in message.content_parts().iter() {
        match part {
            ContentPart::Text { text } if !text.is_empty() => parts.push(json!({"text": text})),
            ContentPart::Image { media_type, source } => parts.push(image_part(media_type, source, caps)?),
            _ => {}
        }
    }
    Ok(parts)
}

/// A model turn's parts, in order: thought parts (`"thought": true`, with
/// their `thoughtSignature`), text, images, then one `functionCall` part per
/// tool call with its signature.
///
/// A Gemini reasoning block with no text is the signature of a text part
/// (Gemini 3 signs the answer text): it goes back on the next text part of
/// the message, else on the last one before it; with no text part at all
/// it is left out (Gemini validates only function-call signatures).
/// Reasoning from another wire is left out; empty text is never sent.
fn model_parts(message: &Message, caps: Option<&ModelCapabilities>) -> Result<Vec<Value>, Refusal> {
    let mut parts: Vec<Value> = Vec::new();
    // Text signatures and the position they were found at.
    let mut text_signatures: Vec<(usize, &str)> = Vec::new();
    let content = message.content_parts();
    for part in content.iter() {
        match part {
            ContentPart::Text { text } if !text.is_empty() => parts.push(json!({"text": text})),
            ContentPart::Image { media_type, source } => parts.push(image_part(media_type, source, caps)?),
            ContentPart::Reasoning(reasoning) if reasoning.origin == ORIGIN => {
                let signature = reasoning.signature.as_deref().filter(|s| !s.is_empty());
                if !reasoning.text.is_empty() {
                    let mut thought = json!({"text": reasoning.text, "thought": true});
                    if let Some(signature) = signature {
                        thought["thoughtSignature"] = json!(signature);
                    }
                    parts.push(thought);
                } else if let Some(signature) = signature {
                    text_signatures.push((parts.len(), signature));
                }
            }
            _ => {}
        }
    }
    for (at, signature) in text_signatures {
        let unsigned_text =
            |p: &Value| p.get("text").is_some() && p.get("thought").is_none() && p.get("thoughtSignature").is_none();
        let target = (at..parts.len())
            .find(|&i| unsigned_text(&parts[i]))
            .or_else(|| (0..at).rev().find(|&i| unsigned_text(&parts[i])));
        if let Some(i) = target {
            parts[i]["thoughtSignature"] = json!(signature);
        }
    }
    for call in &message.tool_calls {
        let args = match arguments_value(&call.arguments) {
            obj @ Value::Object(_) => obj,
            other => json!({ "value": other }),
        };
        let mut part = json!({"functionCall": {"name": call.name, "args": args}});
        if let Some(signature) = &call.signature {
            // Gemini 3 rejects the turn unless each call's signature comes back with it.
            part["thoughtSignature"] = json!(signature);
        }
        parts.push(part);
    }
    Ok(parts)
}

/// An image part: `inlineData` for bytes (and for a `data:` URL), `fileData`
/// for any other URL (a Files API URI, or a URL Gemini fetches). Refused
/// when the model is known not to read images.
fn image_part(media_type: &str, source: &ImageSource, caps: Option<&ModelCapabilities>) -> Result<Value, Refusal> {
    if caps.is_some_and(|c| !c.image_input) {
        return Err(Refusal {
            what: "image".to_owned(),
            message: "this model does not read images (image_input is false in its capabilities)".to_owned(),
        });
    }
    Ok(match source {
        ImageSource::Base64(data) => json!({"inlineData": {"mimeType": media_type, "data": data}}),
        ImageSource::Url(url) => match data_url(url) {
            Some((url_type, data)) => {
                let mime = if media_type.is_empty() { url_type } else { media_type.to_owned() };
                json!({"inlineData": {"mimeType": mime, "data": data}})
            }
            None => json!({"fileData": {"mimeType": media_type, "fileUri": url}}),
        },
        // A source added after this mapping was written: refused, not guessed at.
        _ => {
            return Err(Refusal {
                what: "image".to_owned(),
                message: "an image source Gemini cannot carry".to_owned(),
            });
        }
    })
}

/// A `data:` URL as its media type and base64 payload (a payload that is not
/// base64, `data:image/svg+xml,%3Csvg…`, is percent-decoded and encoded);
/// `None` for any other URL or a malformed one.
pub(crate) fn data_url(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("data:").or_else(|| url.strip_prefix("DATA:"))?;
    let (meta, payload) = rest.split_once(',')?;
    let mut fields = meta.split(';');
    let media_type = fields.next().unwrap_or_default().trim().to_owned();
    let is_base64 = fields.any(|f| f.trim().eq_ignore_ascii_case("base64"));
    let data = if is_base64 {
        payload.trim().to_owned()
    } else {
        match ContentPart::image_bytes(&media_type, &percent_decode(payload)) {
            ContentPart::Image { source: ImageSource::Base64(data), .. } => data,
            _ => return None,
        }
    };
    Some((media_type, data))
}

/// `%XX` escapes decoded; a malformed escape is kept as written.
fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(high), Some(low)) => {
                out.push(u8::try_from(high * 16 + low).unwrap_or(b'?'));
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}

/// The keywords of Gemini's `Schema` (an OpenAPI 3.0 subset); the API rejects any other field.
const SCHEMA_FIELDS: &[&str] = &[
    "type",
    "format",
    "description",
    "nullable",
    "enum",
    "maxItems",
    "minItems",
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "example",
    "anyOf",
    "propertyOrdering",
    "default",
    "items",
    "minimum",
    "maximum",
];

/// Rewrites a JSON schema into the subset Gemini accepts: local `$ref`s to
/// `$defs`/`definitions` are inlined (recursive types are cut at depth 8),
/// `oneOf` becomes `anyOf`, `const` becomes a one-value `enum`, a type list
/// with `"null"` becomes `nullable`, and every other keyword (`$schema`,
/// `title`, `additionalProperties`, …) is dropped.
pub fn gemini_schema(schema: &Value) -> Value {
    let defs = schema.get("$defs").or_else(|| schema.get("definitions")).cloned().unwrap_or(Value::Null);
    convert_schema(schema, &defs, 0)
}

fn convert_schema(schema: &Value, defs: &Value, depth: usize) -> Value {
    let Some(object) = schema.as_object() else {
        return schema.clone();
    };
    if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
        let name = reference.rsplit('/').next().unwrap_or_default();
        return match defs.get(name) {
            Some(target) if depth < 8 => {
                let mut inlined = convert_schema(target, defs, depth + 1);
                if let (Some(description), Some(map)) = (object.get("description"), inlined.as_object_mut()) {
                    map.insert("description".to_owned(), description.clone());
                }
                inlined
            }
            _ => json!({"type": "object"}),
        };
    }
    let mut out = Map::new();
    for (key, value) in object {
        match key.as_str() {
            "properties" => {
                let properties = value
                    .as_object()
                    .map(|p| p.iter().map(|(k, v)| (k.clone(), convert_schema(v, defs, depth))).collect::<Map<_, _>>())
                    .unwrap_or_default();
                out.insert(key.clone(), Value::Object(properties));
            }
            "items" => {
                out.insert(key.clone(), convert_schema(value, defs, depth));
            }
            "anyOf" | "oneOf" => {
                let variants = value.as_array().map(|v| v.iter().map(|s| convert_schema(s, defs, depth)).collect());
                out.insert("anyOf".to_owned(), Value::Array(variants.unwrap_or_default()));
            }
            "allOf" => {
                // A single-entry allOf (how schemars wraps a described $ref) is its entry.
                if let Some([only]) = value.as_array().map(Vec::as_slice) {
                    if let Value::Object(inner) = convert_schema(only, defs, depth) {
                        for (k, v) in inner {
                            out.entry(k).or_insert(v);
                        }
                    }
                }
            }
            "const" => {
                out.insert("enum".to_owned(), json!([value]));
                if value.is_string() {
                    out.entry("type").or_insert(json!("string"));
                }
            }
            "type" => match value {
                Value::Array(types) => {
                    let non_null: Vec<&Value> = types.iter().filter(|t| t.as_str() != Some("null")).collect();
                    if non_null.len() < types.len() {
                        out.insert("nullable".to_owned(), json!(true));
                    }
                    if let Some(first) = non_null.first() {
                        out.insert("type".to_owned(), (*first).clone());
                    }
                }
                other => {
                    out.insert("type".to_owned(), other.clone());
                }
            },
            "format" => {
                if matches!(value.as_str(), Some("date-time" | "enum" | "int32" | "int64" | "float" | "double")) {
                    out.insert(key.clone(), value.clone());
                }
            }
            field if SCHEMA_FIELDS.contains(&field) => {
                out.insert(key.clone(), value.clone());
            }
            _ => {}
        }
    }
    if let Some(Value::Array(variants)) = out.get("anyOf") {
        // `anyOf: [X, {type: null}]` (an Option in schemars) is a nullable X.
        let non_null: Vec<Value> =
            variants.iter().filter(|v| v.get("type").and_then(Value::as_str) != Some("null")).cloned().collect();
        if non_null.len() < variants.len() {
            out.insert("nullable".to_owned(), json!(true));
            if let [only] = non_null.as_slice() {
                out.remove("anyOf");
                if let Value::Object(inner) = only {
                    for (k, v) in inner {
                        out.entry(k.clone()).or_insert(v.clone());
                    }
                }
            } else {
                out.insert("anyOf".to_owned(), Value::Array(non_null));
            }
        }
    }
    Value::Object(out)
}

/// A `GenerateContentResponse`: the whole answer, or one frame of a stream.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct GenerateResponse {
    #[serde(default)]
    pub(super) candidates: Vec<Candidate>,
    #[serde(default)]
    pub(super) usage_metadata: Option<UsageMetadata>,
    #[serde(default)]
    pub(super) model_version: Option<String>,
    #[serde(default)]
    pub(super) response_id: Option<String>,
    #[serde(default)]
    pub(super) prompt_feedback: Option<PromptFeedback>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Candidate {
    #[serde(default)]
    pub(super) content: Option<Content>,
    #[serde(default)]
    pub(super) finish_reason: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Content {
    #[serde(default)]
    pub(super) parts: Vec<Part>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Part {
    #[serde(default)]
    pub(super) text: Option<String>,
    /// Set on thought summaries, which are not part of the answer.
    #[serde(default)]
    pub(super) thought: Option<bool>,
    #[serde(default)]
    pub(super) function_call: Option<FunctionCall>,
    /// Gemini 3's opaque signature of the model's reasoning; on a
    /// `functionCall` part it must be sent back with the call.
    #[serde(default)]
    pub(super) thought_signature: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct FunctionCall {
    #[serde(default)]
    pub(super) id: Option<String>,
    pub(super) name: String,
    #[serde(default)]
    pub(super) args: Option<Value>,
}

impl FunctionCall {
    /// The arguments as JSON text (`{}` when absent).
    pub(super) fn arguments(&self) -> String {
        match &self.args {
            None | Some(Value::Null) => "{}".to_owned(),
            Some(args) => args.to_string(),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PromptFeedback {
    #[serde(default)]
    pub(super) block_reason: Option<String>,
}

/// Gemini's usage: `promptTokenCount` already includes `cachedContentTokenCount`;
/// `candidatesTokenCount` excludes `thoughtsTokenCount`.
#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "camelCase")]
pub(super) struct UsageMetadata {
    #[serde(default)]
    prompt_token_count: u64,
    #[serde(default)]
    candidates_token_count: u64,
    #[serde(default)]
    cached_content_token_count: u64,
    #[serde(default)]
    thoughts_token_count: u64,
    #[serde(default)]
    tool_use_prompt_token_count: u64,
}

impl UsageMetadata {
    pub(super) fn to_usage(self) -> Usage {
        Usage::new(
            self.prompt_token_count + self.tool_use_prompt_token_count,
            self.candidates_token_count + self.thoughts_token_count,
        )
        .with_cached_input(self.cached_content_token_count)
        .with_reasoning(self.thoughts_token_count)
    }
}

pub(super) fn finish_reason(wire: &str, has_tool_calls: bool) -> FinishReason {
    match wire {
        "STOP" if has_tool_calls => FinishReason::ToolCalls,
        "STOP" => FinishReason::Stop,
        "MAX_TOKENS" => FinishReason::Length,
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY" => {
            FinishReason::ContentFilter
        }
        other => FinishReason::Other(other.to_owned()),
    }
}

/// The body of an error: `{"error":{"code","message","status","details":[…]}}`
/// (streaming endpoints may wrap it in a one-element array).
#[derive(Deserialize, Default)]
pub(super) struct ErrorEnvelope {
    #[serde(default)]
    pub(super) error: ErrorBody,
}

#[derive(Deserialize, Default)]
pub(super) struct ErrorBody {
    #[serde(default)]
    pub(super) code: Option<u16>,
    #[serde(default)]
    pub(super) message: Option<String>,
    #[serde(default)]
    pub(super) status: Option<String>,
    #[serde(default)]
    pub(super) details: Vec<Value>,
}

impl ErrorEnvelope {
    pub(super) fn parse(body: &str) -> Option<Self> {
        match serde_json::from_str::<Value>(body).ok()? {
            Value::Array(items) => serde_json::from_value(items.into_iter().next()?).ok(),
            value @ Value::Object(_) if value.get("error").is_some_and(Value::is_object) => {
                serde_json::from_value(value).ok()
            }
            _ => None,
        }
    }

    pub(super) fn message(&self, body: &str) -> String {
        self.error.message.clone().filter(|m| !m.trim().is_empty()).unwrap_or_else(|| body_excerpt(body))
    }

    /// The detail entries of one `google.rpc` type (`QuotaFailure`, `RetryInfo`, `ErrorInfo`).
    pub(super) fn details_of<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.error
            .details
            .iter()
            .filter(move |d| d.get("@type").and_then(Value::as_str).is_some_and(|t| t.rsplit('/').next() == Some(kind)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemars_style_schemas_become_gemini_schemas() {
        let schema = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "Plan",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "steps": {"type": "array", "items": {"$ref": "#/$defs/Step"}},
                "note": {"type": ["string", "null"]},
                "limit": {"type": "integer", "format": "uint32", "minimum": 0},
                "owner": {"anyOf": [{"$ref": "#/$defs/Step"}, {"type": "null"}]}
            },
            "required": ["steps"],
            "$defs": {
                "Step": {"oneOf": [
                    {"type": "object", "properties": {"kind": {"const": "run"}}, "required": ["kind"], "additionalProperties": false}
                ]}
            }
        });
        let out = gemini_schema(&schema);
        assert_eq!(
            out,
            json!({
                "type": "object",
                "properties": {
                    "steps": {"type": "array", "items": {"anyOf": [
                        {"type": "object", "properties": {"kind": {"enum": ["run"], "type": "string"}}, "required": ["kind"]}
                    ]}},
                    "note": {"type": "string", "nullable": true},
                    "limit": {"type": "integer", "minimum": 0},
                    "owner": {"nullable": true, "anyOf": [
                        {"type": "object", "properties": {"kind": {"enum": ["run"], "type": "string"}}, "required": ["kind"]}
                    ]}
                },
                "required": ["steps"]
            })
        );
    }

    #[test]
    fn data_urls_give_their_base64_payload_and_bad_ones_give_none() {
        assert_eq!(data_url("data:image/png;base64,iVBORw0K"), Some(("image/png".into(), "iVBORw0K".into())));
        assert_eq!(data_url("data:image/svg+xml,%3Csvg%2F%3E"), Some(("image/svg+xml".into(), "PHN2Zy8+".into())));
        // Malformed escapes are kept as written; nothing panics on odd input.
        assert_eq!(data_url("data:text/plain,%G1%"), Some(("text/plain".into(), "JUcxJQ==".into())));
        assert_eq!(data_url("data:,é%E2%9C%93"), Some((String::new(), "w6ninJM=".into())));
        for bad in ["https://example.com/a.png", "data:", "data:image/png;base64", "", "dat"] {
            assert_eq!(data_url(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_text_signature_goes_on_the_next_text_part_else_the_previous_one() {
        use agent_core::provider::{Message, Reasoning};
        let signature = |s: &str| ContentPart::Reasoning(Reasoning::new(ORIGIN, "").with_signature(Some(s.into())));
        let message = Message::with_parts(
            Role::Assistant,
            vec![signature("s1"), ContentPart::text("a"), ContentPart::text("b"), signature("s2"), signature("s3")],
        );
        let parts = model_parts(&message, None).unwrap();
        assert_eq!(
            parts,
            vec![json!({"text": "a", "thoughtSignature": "s1"}), json!({"text": "b", "thoughtSignature": "s2"})],
            "s3 finds no unsigned text part and is left out"
        );
        let alone = Message::with_parts(Role::Assistant, vec![signature("s1")]);
        assert!(model_parts(&alone, None).unwrap().is_empty(), "a signature with no text sends nothing");
    }

    #[test]
    fn recursive_refs_are_cut() {
        let schema = json!({"$ref": "#/$defs/Node", "$defs": {"Node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}}}});
        let out = gemini_schema(&schema);
        assert_eq!(out["type"], "object");
        assert!(out.to_string().len() < 2_000);
    }
}
