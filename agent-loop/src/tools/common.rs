//! What the built-in tools share: strict argument parsing, the argument
//! schema, the containment of paths, workspace-relative display, running
//! file work off the async runtime, and numbered lines.

use agent_core::tool::{ToolContext, ToolError};
use agent_core::workspace::{Contained, contain};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use std::path::Path;

/// Deserialises `args` into `T` (a `deny_unknown_fields` struct); a failure
/// is [`ToolError::InvalidArguments`] naming the field. `null` (a call
/// without arguments) is read as `{}`.
pub(crate) fn parse_args<T: DeserializeOwned>(tool: &str, args: serde_json::Value) -> Result<T, ToolError> {
    let args = if args.is_null() { serde_json::Value::Object(serde_json::Map::new()) } else { args };
    if !args.is_object() {
        return Err(ToolError::InvalidArguments {
            tool: tool.to_owned(),
            reason: format!("the arguments must be a JSON object, not {}", json_kind(&args)),
        });
    }
    serde_path_to_error::deserialize(args).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        let reason = if path == "." || path.is_empty() { message } else { format!("`{path}`: {message}") };
        ToolError::InvalidArguments { tool: tool.to_owned(), reason }
    })
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// The JSON schema of `T` as a tool's parameters: schemars' object schema
/// without the `$schema`, `title` and top-level `description` keys (the
/// argument type's name and doc mean nothing to the model; the tool's
/// description says what it does, each field's what it is).
pub(crate) fn schema_of<T: JsonSchema>() -> serde_json::Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(T)).unwrap_or(serde_json::Value::Null);
    if let Some(object) = schema.as_object_mut() {
        object.remove("$schema");
        object.remove("title");
        object.remove("description");
    }
    schema
}

/// `path` checked by [`contain`] against the context's root; a refusal is
/// [`ToolError::Refused`] with its reason.
pub(crate) fn contained(cx: &ToolContext, path: &str) -> Result<Contained, ToolError> {
    Ok(contain(&cx.root, Path::new(path))?)
}

/// The workspace root itself, resolved (symlinks followed).
pub(crate) fn canonical_root(cx: &ToolContext) -> Result<std::path::PathBuf, ToolError> {
    Ok(contain(&cx.root, Path::new("."))?.resolved)
}

/// A workspace-relative path as shown to the model: `/`-separated, `.` for
/// the root itself.
pub(crate) fn show(relative: &Path) -> String {
    let parts: Vec<String> = relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    if parts.is_empty() { ".".to_owned() } else { parts.join("/") }
}

/// A [`ToolError::Failed`] of `tool`.
pub(crate) fn failed(tool: &str, reason: impl Into<String>) -> ToolError {
    ToolError::Failed { tool: tool.to_owned(), reason: reason.into() }
}

/// Runs blocking file work on tokio's blocking pool.
pub(crate) async fn blocking<T, F>(tool: &str, work: F) -> Result<T, ToolError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, ToolError> + Send + 'static,
{
    tokio::task::spawn_blocking(work).await.map_err(|e| failed(tool, format!("the call did not complete: {e}")))?
}

/// One numbered line as tools show it: the 1-based number right-aligned in
/// five columns, ` | `, the text (`   12 | let x = 1;`).
pub(crate) fn numbered(number: usize, text: &str) -> String {
    if text.is_empty() { format!("{number:>5} |") } else { format!("{number:>5} | {text}") }
}

/// `line` cut to at most `max` characters, with `…` when cut.
pub(crate) fn clip_line(line: &str, max: usize) -> String {
    match line.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line.to_owned(),
    }
}

/// Whether `bytes` look binary: a NUL byte in the first 8 KiB (git's and
/// ripgrep's test).
pub(crate) fn looks_binary(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(8192)].contains(&0)
}

/// A duration as a person writes it: `2m`, `90s`, `500ms`.
pub(crate) fn human_duration(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    if ms % 60_000 == 0 && ms > 0 {
        format!("{}m", ms / 60_000)
    } else if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}
