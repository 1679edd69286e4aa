//! [`Plan`] and [`Action`]: what the model asks to be done, checked against a schema.
//!
//! Validation is strict deserialisation of the type the schema is generated
//! from. [`Plan::json_schema`] is derived by schemars from [`Plan`], and
//! [`Plan::parse`] deserialises into it (`deny_unknown_fields` on every
//! type) through `serde_path_to_error`, so it rejects what the schema
//! rejects (unknown fields and actions, missing fields, wrong types) and
//! names the path that failed. Semantic checks follow (no actions, an empty
//! or absolute path, an empty or no-op replacement, an empty program). No
//! second JSON-schema engine is needed, and the schema sent to the model and
//! the check of its answer cannot drift apart.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One change the model asks for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Action {
    /// Create or overwrite a file with `content`.
    WriteFile {
        /// Path relative to the workspace root.
        path: String,
        /// The whole new content.
        content: String,
    },
    /// Replace exactly one occurrence of `old` in a file with `new`.
    ReplaceBlock {
        /// Path relative to the workspace root.
        path: String,
        /// Text that occurs exactly once in the file.
        old: String,
        /// Its replacement.
        new: String,
    },
    /// Delete a file.
    DeleteFile {
        /// Path relative to the workspace root.
        path: String,
    },
    /// Run a command from the workspace root (e.g. a code generator).
    RunCommand {
        /// The program.
        program: String,
        /// Its arguments.
        #[serde(default)]
        args: Vec<String>,
    },
}

impl Action {
    /// The file this action touches, if it touches one.
    pub fn path(&self) -> Option<&str> {
        match self {
            Self::WriteFile { path, .. } | Self::ReplaceBlock { path, .. } | Self::DeleteFile { path } => Some(path),
            Self::RunCommand { .. } => None,
        }
    }
}

/// The model's answer to a planning or repair prompt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// One or two sentences: what the change does and why.
    pub summary: String,
    /// The changes, applied in order.
    pub actions: Vec<Action>,
}

/// Why a model's answer is not a valid [`Plan`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub enum PlanError {
    /// The answer is not JSON at all.
    #[error("answer is not JSON: {message}")]
    NotJson {
        /// The parser's message.
        message: String,
    },
    /// The JSON does not match the plan schema.
    #[error("answer does not match the plan schema at `{path}`: {message}")]
    SchemaViolation {
        /// Where in the document (`actions[0].path`).
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The plan matches the schema but cannot be carried out.
    #[error("plan is not usable: {reason}")]
    Unusable {
        /// Why.
        reason: String,
    },
}

impl Plan {
    /// The JSON schema the model's answer must match.
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(Plan)).unwrap_or(serde_json::Value::Null)
    }

    /// Parses and validates a model's answer.
    ///
    /// Accepts the JSON object alone or inside one fenced code block (models
    /// often add the fence). Unknown fields, unknown actions, missing fields
    /// and wrong types are schema violations; an empty action list, an empty
    /// or absolute path and a no-op replacement are unusable.
    ///
    /// ```
    /// use agent_core::plan::{Plan, PlanError};
    /// let ok = Plan::parse(r#"{"summary":"fix","actions":[{"action":"delete_file","path":"a.txt"}]}"#);
    /// assert!(ok.is_ok());
    /// let bad = Plan::parse(r#"{"summary":"fix","actions":[{"action":"format_disk"}]}"#);
    /// assert!(matches!(bad, Err(PlanError::SchemaViolation { .. })));
    /// ```
    pub fn parse(answer: &str) -> Result<Plan, PlanError> {
        let body = crate::provider::strip_code_fence(answer);
        let value: serde_json::Value =
            serde_json::from_str(body).map_err(|e| PlanError::NotJson { message: e.to_string() })?;
        let plan: Plan = serde_path_to_error::deserialize(value)
            .map_err(|e| PlanError::SchemaViolation { path: e.path().to_string(), message: e.inner().to_string() })?;
        plan.check()?;
        Ok(plan)
    }

    fn check(&self) -> Result<(), PlanError> {
        if self.actions.is_empty() {
            return Err(PlanError::Unusable { reason: "the plan has no actions".into() });
        }
        for (i, action) in self.actions.iter().enumerate() {
            if let Some(path) = action.path() {
                if path.trim().is_empty() {
                    return Err(PlanError::Unusable { reason: format!("actions[{i}] has an empty path") });
                }
                if path.starts_with('/') {
                    return Err(PlanError::Unusable {
                        reason: format!(
                            "actions[{i}] path `{path}` is absolute; paths are relative to the workspace root"
                        ),
                    });
                }
            }
            match action {
                Action::ReplaceBlock { old, new, .. } if old == new => {
                    return Err(PlanError::Unusable { reason: format!("actions[{i}] replaces a block with itself") });
                }
                Action::ReplaceBlock { old, .. } if old.is_empty() => {
                    return Err(PlanError::Unusable { reason: format!("actions[{i}] has an empty `old` block") });
                }
                Action::RunCommand { program, .. } if program.trim().is_empty() => {
                    return Err(PlanError::Unusable { reason: format!("actions[{i}] has an empty program") });
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fenced_json_is_accepted() {
        let plan =
            Plan::parse("```json\n{\"summary\":\"s\",\"actions\":[{\"action\":\"delete_file\",\"path\":\"x\"}]}\n```")
                .unwrap();
        assert_eq!(plan.actions, vec![Action::DeleteFile { path: "x".into() }]);
    }

    #[test]
    fn unknown_field_inside_an_action_is_a_schema_violation_with_its_path() {
        let err =
            Plan::parse(r#"{"summary":"s","actions":[{"action":"delete_file","path":"x","force":true}]}"#).unwrap_err();
        match err {
            PlanError::SchemaViolation { path, message } => {
                assert!(path.starts_with("actions[0]"), "{path}");
                assert!(message.contains("force"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn prose_is_not_json() {
        assert!(matches!(Plan::parse("Sure! I fixed it."), Err(PlanError::NotJson { .. })));
    }

    #[test]
    fn empty_plan_and_absolute_paths_are_unusable() {
        assert!(matches!(Plan::parse(r#"{"summary":"s","actions":[]}"#), Err(PlanError::Unusable { .. })));
        let abs = r#"{"summary":"s","actions":[{"action":"write_file","path":"/etc/passwd","content":""}]}"#;
        assert!(matches!(Plan::parse(abs), Err(PlanError::Unusable { .. })));
    }

    #[test]
    fn schema_names_every_action_kind() {
        let schema = Plan::json_schema().to_string();
        for name in ["write_file", "replace_block", "delete_file", "run_command"] {
            assert!(schema.contains(name), "{name} missing from {schema}");
        }
    }
}
