//! [`ToolMode::Json`](super::ToolMode::Json): tools described in the system
//! prompt, one `{"tool": NAME, "arguments": {...}}` object per answer.

use agent_core::provider::{ToolSpec, strip_code_fence};
use serde_json::{Map, Value};
use std::fmt::Write as _;

/// The format every answer must have, as shown to the model.
pub(super) const FORMAT: &str = r#"{"tool": "<tool name>", "arguments": {<the tool's arguments>}}"#;

/// `system` followed by the tools and the answer format.
pub(super) fn system_prompt(system: &str, specs: &[ToolSpec]) -> String {
    let mut out = system.trim_end().to_owned();
    out.push_str("\n\n# Tools\n\n");
    let _ = writeln!(
        out,
        "You act only by calling tools. Answer every turn with exactly one JSON object and nothing else:\n{FORMAT}\n\
         The result comes back as a message `Observation from <tool name>:`. Call `finish` when done.\n"
    );
    for spec in specs {
        let parameters = serde_json::to_string(&spec.parameters).unwrap_or_else(|_| "{}".to_owned());
        let _ = writeln!(out, "## {}\n{}\nArguments (JSON schema): {parameters}\n", spec.name, spec.description.trim());
    }
    out.truncate(out.trim_end().len());
    out
}

/// One call read from an answer.
#[derive(Debug, PartialEq)]
pub(super) struct JsonCall {
    /// The tool named.
    pub(super) name: String,
    /// Its arguments (an object; `{}` when the answer gave none).
    pub(super) arguments: Value,
}

/// Reads the call in `answer`: one JSON object, in a code fence or not
/// (prose around a lone object is tolerated). `Err` says what is wrong.
pub(super) fn parse_call(answer: &str) -> Result<JsonCall, String> {
    let body = strip_code_fence(answer);
    if body.is_empty() {
        return Err("the answer is empty".to_owned());
    }
    let value: Value = match serde_json::from_str(body) {
        Ok(value) => value,
        Err(err) => match (body.find('{'), body.rfind('}')) {
            (Some(start), Some(end)) if start < end => serde_json::from_str(&body[start..=end])
                .map_err(|_| format!("the answer is not a JSON object: {err}"))?,
            _ => return Err(format!("the answer is not a JSON object: {err}")),
        },
    };
    let Value::Object(mut object) = value else {
        return Err("the answer is JSON but not an object".to_owned());
    };
    let name = match object.remove("tool") {
        Some(Value::String(name)) if !name.trim().is_empty() => name.trim().to_owned(),
        Some(_) => return Err("`tool` must be a string naming the tool".to_owned()),
        None => return Err("the object has no `tool` field".to_owned()),
    };
    let arguments = match object.remove("arguments") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(arguments @ Value::Object(_)) => arguments,
        Some(_) => return Err("`arguments` must be a JSON object".to_owned()),
    };
    Ok(JsonCall { name, arguments })
}

/// The observation for an answer that is not a call.
pub(super) fn format_error(reason: &str, names: &[&str]) -> String {
    format!(
        "error: {reason}. Answer with exactly one JSON object and nothing else:\n{FORMAT}\nThe tools are: {}.",
        names.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_call_is_read_bare_fenced_or_inside_prose_and_arguments_default_to_an_empty_object() {
        let expected = JsonCall { name: "read_file".into(), arguments: json!({"path": "a.rs"}) };
        assert_eq!(parse_call(r#"{"tool":"read_file","arguments":{"path":"a.rs"}}"#), Ok(expected));
        let fenced = "```json\n{\"tool\": \"finish\", \"arguments\": {\"summary\": \"ok\"}}\n```";
        assert_eq!(parse_call(fenced).map(|c| c.name), Ok("finish".to_owned()));
        let prose = "I will look.\n{\"tool\": \"list_files\"}\nThanks.";
        assert_eq!(parse_call(prose), Ok(JsonCall { name: "list_files".into(), arguments: json!({}) }));
    }

    #[test]
    fn answers_that_are_not_a_call_say_what_is_wrong() {
        assert_eq!(parse_call("  "), Err("the answer is empty".to_owned()));
        assert!(parse_call("read the file").unwrap_err().starts_with("the answer is not a JSON object"));
        assert_eq!(parse_call("[1]"), Err("the answer is JSON but not an object".to_owned()));
        assert_eq!(parse_call(r#"{"name":"x"}"#), Err("the object has no `tool` field".to_owned()));
        assert_eq!(parse_call(r#"{"tool":"x","arguments":[1]}"#), Err("`arguments` must be a JSON object".to_owned()));
    }

    #[test]
    fn the_system_prompt_lists_each_tool_with_its_schema_after_the_callers_prompt() {
        let parameters = json!({"properties": {"text": {"type": "string"}}});
        let spec = ToolSpec { name: "echo".into(), description: "Echoes.".into(), parameters };
        let prompt = system_prompt("Be brief.\n", &[spec]);
        assert!(prompt.starts_with("Be brief.\n\n# Tools\n\n"), "{prompt}");
        assert!(prompt.contains(FORMAT), "{prompt}");
        let expected_end =
            "## echo\nEchoes.\nArguments (JSON schema): {\"properties\":{\"text\":{\"type\":\"string\"}}}";
        assert!(prompt.ends_with(expected_end), "{prompt}");
    }
}
