//! What an endpoint turned out to accept, remembered for the later calls of
//! a provider: the structured-output mode of Chat Completions servers that
//! refuse `json_schema` (llama.cpp, older vLLM), and whether the Responses
//! API takes `include: ["reasoning.encrypted_content"]` for a model.

use agent_core::provider::{CompletionRequest, Message, ProviderError, Role, StructuredOutputMode};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Endpoint (URL and model) → what was learnt about it, shared by every
/// clone of the provider that made it.
#[derive(Clone, Debug, Default)]
pub(crate) struct EndpointMemory<T: Copy>(Arc<Mutex<HashMap<String, T>>>);

impl<T: Copy> EndpointMemory<T> {
    /// What was learnt about `key`, if anything.
    pub(crate) fn get(&self, key: &str) -> Option<T> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).get(key).copied()
    }

    /// Remembers `value` for `key`.
    pub(crate) fn set(&self, key: &str, value: T) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).insert(key.to_owned(), value);
    }
}

/// The key of one endpoint: the URL requests go to and the model.
pub(crate) fn endpoint_key(url: &str, model: &str) -> String {
    format!("{url} {model}")
}

/// The mode after `mode` once the server refused it: `json_schema` →
/// `json_object` → instructions alone → nothing left to try.
pub(super) fn next_mode(mode: StructuredOutputMode) -> Option<StructuredOutputMode> {
    match mode {
        StructuredOutputMode::JsonSchema => Some(StructuredOutputMode::JsonObject),
        StructuredOutputMode::JsonObject => Some(StructuredOutputMode::None),
        _ => None,
    }
}

/// Whether `err` is a server refusing the request's `response_format`
/// rather than failing on its own: an HTTP 400/422 (OpenAI, vLLM) or 500
/// (llama.cpp's Python server, whose validation error reads "Input should
/// be 'text' or 'json_object'") whose body names `response_format`,
/// `json_schema` or `json_object`. Anything else (a rate limit, an
/// unrelated 500) is not a refusal and is returned as it is.
pub(super) fn refuses_structured_output(err: &ProviderError) -> bool {
    if !matches!(err.status, Some(400 | 422 | 500)) {
        return false;
    }
    let body = err.raw_body.as_deref().unwrap_or(&err.message).to_ascii_lowercase();
    ["response_format", "json_schema", "json_object", "'text' or 'json_object'"].iter().any(|m| body.contains(m))
}

/// The instructions that ask for JSON matching the request's schema, for
/// the modes where the server does not enforce it.
pub(super) fn schema_instructions(name: &str, schema: &serde_json::Value) -> String {
    format!(
        "Answer with one JSON object and nothing else (no prose, no code fence). \
         It must match this JSON Schema, named `{name}`:\n{schema}"
    )
}

/// `req` as sent in `mode`: unchanged for `json_schema`; for `json_object`
/// and instructions alone, with the schema put in the instructions (added to
/// the first system message, or a system message of its own at the start).
pub(super) fn with_schema_instructions(
    req: &CompletionRequest,
    mode: StructuredOutputMode,
) -> Cow<'_, CompletionRequest> {
    let Some(format) = req.response_format.as_ref() else { return Cow::Borrowed(req) };
    if mode == StructuredOutputMode::JsonSchema {
        return Cow::Borrowed(req);
    }
    let instructions = schema_instructions(&format.name, &format.schema);
    let mut owned = req.clone();
    match owned.messages.first_mut() {
        Some(first) if first.role == Role::System => {
            let separator = if first.content.is_empty() { "" } else { "\n\n" };
            let text = format!("{separator}{instructions}");
            if first.parts.is_empty() {
                first.content.push_str(&text);
            } else {
                first.push_part(agent_core::provider::ContentPart::text(text));
            }
        }
        _ => owned.messages.insert(0, Message::system(instructions)),
    }
    Cow::Owned(owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_core::provider::{ProviderErrorKind, ProviderId};
    use serde_json::json;

    fn http_error(status: u16, body: &str) -> ProviderError {
        ProviderError::new(ProviderErrorKind::Other, ProviderId::new("openai:m"), "x")
            .with_status(status)
            .with_raw_body(body)
    }

    #[test]
    fn only_errors_that_name_the_format_are_refusals() {
        let llama = r#"{"error":{"message":"1 validation error for CreateChatCompletionRequest\nresponse_format.type\n  Input should be 'text' or 'json_object' [type=literal_error, input_value='json_schema', input_type=str]","type":"internal_server_error","param":null,"code":null}}"#;
        assert!(refuses_structured_output(&http_error(500, llama)));
        assert!(refuses_structured_output(&http_error(
            400,
            r#"{"error":{"message":"Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model."}}"#
        )));
        assert!(!refuses_structured_output(&http_error(500, r#"{"error":{"message":"The server had an error"}}"#)));
        assert!(!refuses_structured_output(&http_error(429, r#"{"error":{"message":"json_schema rate"}}"#)));
    }

    #[test]
    fn instructions_join_the_first_system_message_or_open_one() {
        let schema = json!({"type": "object"});
        let req = CompletionRequest::new(vec![Message::system("Be terse."), Message::user("hi")])
            .with_response_format("answer", schema.clone());
        let shaped = with_schema_instructions(&req, StructuredOutputMode::JsonObject);
        assert_eq!(shaped.messages.len(), 2);
        assert!(shaped.messages[0].content.starts_with("Be terse.\n\nAnswer with one JSON object"));
        assert!(shaped.messages[0].content.contains(r#"{"type":"object"}"#));
        let req = CompletionRequest::new(vec![Message::user("hi")]).with_response_format("answer", schema);
        let shaped = with_schema_instructions(&req, StructuredOutputMode::None);
        assert_eq!(shaped.messages[0].role, Role::System);
        assert!(matches!(with_schema_instructions(&req, StructuredOutputMode::JsonSchema), Cow::Borrowed(_)));
    }

    #[test]
    fn memory_is_shared_by_clones() {
        let memory = EndpointMemory::default();
        let clone = memory.clone();
        clone.set("k", StructuredOutputMode::JsonObject);
        assert_eq!(memory.get("k"), Some(StructuredOutputMode::JsonObject));
        assert_eq!(memory.get("other"), None);
    }
}
