//! [`EslintClassifier`]: structured failures from `eslint -f json`.

use crate::common::{Parsed, finish, relativize, source_snippet};
use agent_core::FailureClassifier;
use agent_core::exec::RunOutput;
use agent_core::failure::{Classification, Failure, FailureCategory, FailureKind};
use agent_core::workspace::WorkspaceProfile;
use serde_json::Value;

/// Classifies eslint's JSON formatter output
/// (`[{filePath, messages: [{ruleId, severity, fatal, message, line, column}]}]`).
///
/// Errors (severity 2) become [`FailureCategory::Lint`] /
/// [`FailureKind::Lint`] failures with the rule id as code; fatal messages
/// (parsing errors) become [`FailureKind::Syntax`]. Warnings (severity 1)
/// are ignored, as eslint itself does for its exit code. Text output that
/// is not JSON yields no failures (the valid-run rules then report it).
///
/// ```
/// use agent_core::FailureClassifier;
/// use agent_core::failure::FailureKind;
/// use agent_core::exec::RunOutput;
/// use agent_core::workspace::WorkspaceProfile;
/// use agent_classify::EslintClassifier;
///
/// let json = r#"[{"filePath":"/w/src/a.js","messages":[{"ruleId":"no-undef","severity":2,
///   "message":"'x' is not defined.","line":3,"column":5}],"errorCount":1}]"#;
/// let run = RunOutput::from_text("eslint -f json src", 1, json, "");
/// let c = EslintClassifier::new().classify(&run, &WorkspaceProfile::new("/w"));
/// assert_eq!(c.failures[0].kind, FailureKind::Lint);
/// assert_eq!(c.failures[0].code.as_deref(), Some("no-undef"));
/// assert_eq!(c.failures[0].file.as_deref(), Some(std::path::Path::new("src/a.js")));
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct EslintClassifier;

impl EslintClassifier {
    /// The tool name in every [`Classification`] this classifier makes.
    pub const TOOL: &'static str = "eslint";

    /// An eslint classifier.
    pub fn new() -> Self {
        Self
    }
}

fn u32_at(v: &Value, key: &str) -> Option<u32> {
    v.get(key).and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok())
}

impl FailureClassifier for EslintClassifier {
    fn classify(&self, run: &RunOutput, ws: &WorkspaceProfile) -> Classification {
        let root = ws.root.as_path();
        let stdout = run.stdout.text();
        let mut parsed = Parsed::default();
        let report = stdout
            .find('[')
            .and_then(|i| serde_json::from_str::<Value>(stdout[i..].trim()).ok())
            .and_then(|v| v.as_array().cloned());
        for file in report.iter().flatten() {
            let path = relativize(file.get("filePath").and_then(Value::as_str).unwrap_or_default(), root);
            for m in file.get("messages").and_then(Value::as_array).into_iter().flatten() {
                let fatal = m.get("fatal").and_then(Value::as_bool).unwrap_or(false);
                if u32_at(m, "severity") != Some(2) && !fatal {
                    continue;
                }
                let message = m.get("message").and_then(Value::as_str).unwrap_or("eslint error");
                let mut f = if fatal {
                    Failure::new(FailureCategory::Build, FailureKind::Syntax, message)
                } else {
                    Failure::new(FailureCategory::Lint, FailureKind::Lint, message)
                };
                f.code = m.get("ruleId").and_then(Value::as_str).map(str::to_owned);
                let line = u32_at(m, "line");
                if !path.as_os_str().is_empty() {
                    f.snippet = line.and_then(|l| source_snippet(root, &path, l));
                    f = f.at(path.clone(), line, u32_at(m, "column"));
                }
                parsed.failures.push(f);
            }
        }
        let mut c = finish(Self::TOOL, run, parsed, "eslint");
        if report.is_none() && run.exit_code == Some(0) {
            c.valid_run = false;
            c.notes.push("no eslint JSON report found (was `-f json` given?)".to_owned());
        }
        c
    }
}
