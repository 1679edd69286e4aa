//! Asking the model to resolve one conflicted file: the prompt (both
//! sides, the common base, the task's goal), the answer's shape
//! ([`ConflictAnswer`], sent as the response format's JSON schema), and
//! the strict check of an answer.

use agent_core::provider::{CompletionRequest, Message, strip_code_fence};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// The system prompt of a conflict resolution.
const SYSTEM: &str = "You resolve one git merge conflict in one file. A task's change is being rebased onto \
the target branch, which moved since the task began. Keep what the target branch changed and what the task \
changed, so that the file does what both intended. Answer with exactly one JSON object and nothing else: \
{\"resolution\": \"<the whole resolved file>\", \"confidence\": <0.0 to 1.0: how sure you are that the \
resolution keeps both intents and is correct>, \"reason\": \"<one sentence>\"}. The resolution must hold no \
conflict markers. Give a low confidence when the two changes contradict each other.";

/// A model's answer for a conflicted file, in the shape it must have.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConflictAnswer {
    /// The whole content of the resolved file.
    pub resolution: String,
    /// How sure the model is, from 0 to 1.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub confidence: f64,
    /// Why, in a sentence.
    pub reason: String,
}

impl ConflictAnswer {
    /// The JSON schema an answer must match.
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(ConflictAnswer)).unwrap_or(serde_json::Value::Null)
    }

    /// Reads a model's answer (the object alone or in one fenced block),
    /// strictly: unknown fields, a confidence outside 0–1 and a resolution
    /// still holding conflict markers are refused, with why.
    pub fn parse(answer: &str) -> Result<ConflictAnswer, String> {
        let body = strip_code_fence(answer).trim();
        let value: serde_json::Value = serde_json::from_str(body).map_err(|e| format!("not JSON: {e}"))?;
        let parsed: ConflictAnswer =
            serde_path_to_error::deserialize(value).map_err(|e| format!("at `{}`: {}", e.path(), e.inner()))?;
        if !(0.0..=1.0).contains(&parsed.confidence) {
            return Err(format!("confidence {} is outside 0 to 1", parsed.confidence));
        }
        if has_conflict_markers(&parsed.resolution) {
            return Err("the resolution still holds conflict markers".to_owned());
        }
        Ok(parsed)
    }
}

/// Whether `text` has a line starting a conflict marker (`<<<<<<< `,
/// `>>>>>>> `, or a lone `=======` between them).
fn has_conflict_markers(text: &str) -> bool {
    let mut open = false;
    for line in text.lines() {
        if line.starts_with("<<<<<<< ") || line == "<<<<<<<" {
            open = true;
        } else if line.starts_with(">>>>>>> ") || line == ">>>>>>>" || (open && line == "=======") {
            return true;
        }
    }
    false
}

/// The three versions of a conflicted file git holds in its index.
pub(super) struct Sides {
    /// Stage 1: the common ancestor (`None` when the file did not exist there).
    pub(super) base: Option<String>,
    /// Stage 2: the target branch's version, the side being rebased onto.
    pub(super) target: Option<String>,
    /// Stage 3: the task's version.
    pub(super) task: Option<String>,
}

/// The request for `file`'s resolution.
pub(super) fn request(goal: &str, file: &str, sides: &Sides) -> CompletionRequest {
    let mut p = String::new();
    let _ = writeln!(p, "The task's goal:\n{}\n", goal.trim());
    let _ = writeln!(p, "The conflicted file: {file}\n");
    let version = |p: &mut String, title: &str, text: &Option<String>| match text {
        Some(text) => {
            let _ = writeln!(p, "## {title}\n```\n{text}\n```\n");
        }
        None => {
            let _ = writeln!(p, "## {title}\n(the file does not exist on this side)\n");
        }
    };
    version(&mut p, "Common ancestor (base)", &sides.base);
    version(&mut p, "Target branch's version (theirs: what others merged since)", &sides.target);
    version(&mut p, "The task's version (ours: the change being landed)", &sides.task);
    p.push_str("Answer with the JSON object only.");
    CompletionRequest::new(vec![Message::system(SYSTEM), Message::user(p)])
        .with_temperature(0.0)
        .with_response_format("conflict_resolution", ConflictAnswer::json_schema())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_read_bare_or_fenced() {
        let a = ConflictAnswer::parse(r#"{"resolution":"x\n","confidence":0.9,"reason":"both"}"#).unwrap();
        assert_eq!((a.resolution.as_str(), a.confidence), ("x\n", 0.9));
        let fenced = "```json\n{\"resolution\":\"y\",\"confidence\":1.0,\"reason\":\"r\"}\n```";
        assert_eq!(ConflictAnswer::parse(fenced).unwrap().resolution, "y");
    }

    #[test]
    fn prose_out_of_range_confidence_unknown_fields_and_markers_are_refused() {
        assert!(ConflictAnswer::parse("I merged it").unwrap_err().starts_with("not JSON"));
        let high = ConflictAnswer::parse(r#"{"resolution":"x","confidence":1.7,"reason":"r"}"#).unwrap_err();
        assert!(high.contains("outside 0 to 1"), "{high}");
        assert!(ConflictAnswer::parse(r#"{"resolution":"x","confidence":-0.1,"reason":"r"}"#).is_err());
        assert!(ConflictAnswer::parse(r#"{"resolution":"x","confidence":0.5,"reason":"r","extra":1}"#).is_err());
        assert!(ConflictAnswer::parse(r#"{"resolution":"x","reason":"r"}"#).is_err());
        let marked = r#"{"resolution":"<<<<<<< HEAD\na\n=======\nb\n>>>>>>> t\n","confidence":0.9,"reason":"r"}"#;
        assert!(ConflictAnswer::parse(marked).unwrap_err().contains("conflict markers"));
    }

    #[test]
    fn the_schema_bounds_the_confidence() {
        let schema = ConflictAnswer::json_schema().to_string();
        assert!(schema.contains("\"maximum\":1.0"), "{schema}");
        assert!(schema.contains("\"resolution\""), "{schema}");
    }
}
