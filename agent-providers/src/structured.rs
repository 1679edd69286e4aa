//! Structured output: ask any [`LlmProvider`] for JSON matching a Rust type,
//! and check the answer on receipt.
//!
//! [`complete_structured`] derives a JSON schema from `T` (schemars), sends it
//! as the request's `response_format`, strips one Markdown code fence from
//! the answer if the model added one, and deserializes the answer strictly
//! into `T`, naming the path that failed.
//!
//! ```no_run
//! use agent_core::provider::{CompletionRequest, Message};
//! use agent_providers::OpenAiProvider;
//! use agent_providers::structured::{StructuredError, complete_structured};
//! use schemars::JsonSchema;
//! use serde::Deserialize;
//!
//! #[derive(Debug, Deserialize, JsonSchema)]
//! #[serde(deny_unknown_fields)] // extra keys are a schema violation too
//! struct Verdict {
//!     approve: bool,
//!     reasons: Vec<String>,
//! }
//!
//! # async fn demo() -> Result<(), StructuredError> {
//! let provider = OpenAiProvider::from_env("gpt-4.1-mini", None);
//! let req = CompletionRequest::new(vec![Message::user("Review this diff: …")]);
//! match complete_structured::<Verdict>(&provider, req).await {
//!     Ok(answer) => println!("{:?} for ${:?}", answer.value, answer.completion.cost_usd),
//!     Err(StructuredError::SchemaViolation { path, message, .. }) => eprintln!("bad answer at {path}: {message}"),
//!     Err(other) => return Err(other),
//! }
//! # Ok(()) }
//! ```

use agent_core::LlmProvider;
use agent_core::provider::{Completion, CompletionRequest, ProviderError, ResponseFormat};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;

/// A value of `T` read from a model's answer, with the completion it came from.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Structured<T> {
    /// The answer, deserialized.
    pub value: T,
    /// The whole completion (usage, cost, request id, the raw text).
    pub completion: Completion,
}

/// Why [`complete_structured`] gave no value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StructuredError {
    /// The provider call failed.
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// The answer (after removing a code fence) is not JSON.
    #[error("the answer is not JSON: {message}")]
    NotJson {
        /// The parser's message, with line and column.
        message: String,
        /// The text that was parsed.
        raw: String,
        /// The completion, for its usage and cost.
        completion: Box<Completion>,
    },
    /// The answer is JSON but does not deserialize into the type asked for.
    #[error("the answer does not match the schema at `{path}`: {message}")]
    SchemaViolation {
        /// Where it failed, e.g. `actions[2].path` (`.` for the root).
        path: String,
        /// What was wrong there.
        message: String,
        /// The JSON text that was parsed.
        raw: String,
        /// The completion, for its usage and cost.
        completion: Box<Completion>,
    },
}

/// The JSON schema of `T`, as sent in `response_format`.
pub fn schema_of<T: JsonSchema>() -> serde_json::Value {
    let mut schema = serde_json::Value::from(schemars::schema_for!(T));
    if let Some(object) = schema.as_object_mut() {
        object.remove("$schema");
    }
    schema
}

/// A schema name providers accept: letters, digits, `_` and `-`, at most 64 characters.
fn schema_name<T: JsonSchema>() -> String {
    let name: String = T::schema_name()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' })
        .take(64)
        .collect();
    if name.is_empty() { "answer".to_owned() } else { name }
}

/// Reads `text` (fence stripped) strictly as a `T`.
///
/// # Errors
/// [`StructuredError::NotJson`] or [`StructuredError::SchemaViolation`], carrying `completion`.
pub fn parse_structured<T: DeserializeOwned>(text: &str, completion: &Completion) -> Result<T, StructuredError> {
    let raw = agent_core::provider::strip_code_fence(text);
    let not_json = |e: &serde_json::Error| StructuredError::NotJson {
        message: e.to_string(),
        raw: raw.to_owned(),
        completion: Box::new(completion.clone()),
    };
    let mut de = serde_json::Deserializer::from_str(raw);
    let value = serde_path_to_error::deserialize::<_, T>(&mut de).map_err(|err| match err.inner().classify() {
        serde_json::error::Category::Data => StructuredError::SchemaViolation {
            path: err.path().to_string(),
            message: err.inner().to_string(),
            raw: raw.to_owned(),
            completion: Box::new(completion.clone()),
        },
        _ => not_json(err.inner()),
    })?;
    de.end().map_err(|e| not_json(&e))?;
    Ok(value)
}

/// Asks `provider` for an answer that is JSON matching `T`'s schema, and reads it into `T`.
///
/// Sets `req.response_format` from `schemars::schema_for!(T)` (replacing any
/// format already set), strips one code fence if present, and deserializes
/// strictly: trailing text is an error, and so are unknown keys when `T`
/// says `#[serde(deny_unknown_fields)]`.
///
/// # Errors
/// [`StructuredError::Provider`] when the call fails; [`StructuredError::NotJson`]
/// or [`StructuredError::SchemaViolation`] (with the failing path) when the answer is wrong.
pub async fn complete_structured<T: JsonSchema + DeserializeOwned>(
    provider: &dyn LlmProvider,
    mut req: CompletionRequest,
) -> Result<Structured<T>, StructuredError> {
    req.response_format = Some(ResponseFormat { name: schema_name::<T>(), schema: schema_of::<T>() });
    let completion = provider.complete(req).await?;
    let value = parse_structured(&completion.content, &completion)?;
    Ok(Structured { value, completion })
}
