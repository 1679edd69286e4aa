//! The Gemini `generateContent` wire format: the request body sent and the bodies read.

use crate::native::{arguments_value, body_excerpt, tool_name_for};
use agent_core::provider::{CompletionRequest, FinishReason, Role, Usage};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// The body of `POST /models/{model}:generateContent` (and `:streamGenerateContent`).
pub(super) fn request_body(req: &CompletionRequest) -> Value {
    let mut system: Vec<&str> = Vec::new();
    let mut contents: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for (i, message) in req.messages.iter().enumerate() {
        let (role, parts) = match message.role {
            Role::System => {
                system.push(&message.content);
                continue;
            }
            Role::Assistant => {
                let mut parts = Vec::new();
                if !message.content.is_empty() || message.tool_calls.is_empty() {
                    parts.push(json!({"text": message.content}));
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
                ("model", parts)
            }
            Role::Tool => {
                let call_id = message.tool_call_id.as_deref();
                let name = tool_name_for(&req.messages, i, call_id).or(call_id).unwrap_or("tool");
                let response = match serde_json::from_str::<Value>(&message.content) {
                    Ok(obj @ Value::Object(_)) => obj,
                    Ok(other) => json!({ "result": other }),
                    Err(_) => json!({ "result": message.content }),
                };
                ("user", vec![json!({"functionResponse": {"name": name, "response": response}})])
            }
            // The user, and any role added later: sent as the user's words.
            _ => ("user", vec![json!({"text": message.content})]),
        };
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
    if !config.is_empty() {
        body.insert("generationConfig".to_owned(), Value::Object(config));
    }
    Value::Object(body)
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
    fn recursive_refs_are_cut() {
        let schema = json!({"$ref": "#/$defs/Node", "$defs": {"Node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}}}});
        let out = gemini_schema(&schema);
        assert_eq!(out["type"], "object");
        assert!(out.to_string().len() < 2_000);
    }
}
