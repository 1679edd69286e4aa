//! [`EslintClassifier`]: structured failures from `eslint -f json` and from eslint's
//! default `stylish` text formatter.

use crate::common::{MAX_MESSAGE_LINES, Parsed, bounded, finish, relativize, source_snippet};
use agent_core::FailureClassifier;
use agent_core::exec::RunOutput;
use agent_core::failure::{Classification, Failure, FailureCategory, FailureKind};
use agent_core::workspace::WorkspaceProfile;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Classifies eslint's JSON formatter output
/// (`[{filePath, messages: [{ruleId, severity, fatal, message, line, column}]}]`)
/// and its default `stylish` text (a file's path alone on a line, then
/// `  4:7  error  message  rule-id` lines).
///
/// Errors (severity 2) become [`FailureCategory::Lint`] /
/// [`FailureKind::Lint`] failures with the rule id as code; fatal messages
/// (parsing errors, `Parsing error: …` in the text) become [`FailureKind::Syntax`].
/// Warnings (severity 1) are ignored, as eslint itself does for its exit code.
/// Exit code 2 with no finding (`Oops! Something went wrong!`: an invalid
/// configuration, a missing plugin) is a [`FailureKind::Config`] failure. A run
/// that exits 0 with neither a report nor text eslint prints is not a valid run.
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
        let stderr = run.stderr.text();
        let text = report.is_none() && stylish(&format!("{stdout}\n{stderr}"), root, &mut parsed);
        if parsed.failures.is_empty() && run.exit_code == Some(2) {
            // eslint's exit 2: its configuration is wrong or it crashed, before linting.
            let lines: Vec<&str> =
                stderr.lines().chain(stdout.lines()).map(str::trim).filter(|l| !l.is_empty()).collect();
            let mut f = Failure::new(FailureCategory::Build, FailureKind::Config, bounded(&lines, MAX_MESSAGE_LINES));
            f.code = Some("eslint-config".to_owned());
            parsed.failures.push(f);
        }
        let mut c = finish(Self::TOOL, run, parsed, "eslint");
        if report.is_none() && !text && !stdout.trim().is_empty() && run.exit_code == Some(0) {
            c.valid_run = false;
            c.notes.push("no eslint JSON report found (was `-f json` given?)".to_owned());
        }
        c
    }
}

/// One message line of the stylish formatter: line, column, error (not warning), message,
/// rule id (none for a parsing error).
fn stylish_line(line: &str) -> Option<(u32, u32, bool, &str, Option<&str>)> {
    if !line.starts_with(' ') {
        return None;
    }
    let t = line.trim();
    let (loc, rest) = t.split_once(char::is_whitespace)?;
    let (l, c) = loc.split_once(':')?;
    let (l, c) = (l.parse().ok()?, c.parse().ok()?);
    let rest = rest.trim_start();
    let (severity, rest) = rest.split_once(char::is_whitespace)?;
    let error = match severity {
        "error" => true,
        "warning" => false,
        _ => return None,
    };
    let rest = rest.trim();
    // The rule id is the last column, after two or more spaces; a parsing error has none.
    let rule = |r: &str| !r.is_empty() && r.chars().all(|ch| ch.is_ascii_alphanumeric() || "-/@_.".contains(ch));
    match rest.rsplit_once("  ") {
        Some((message, id)) if rule(id.trim()) => Some((l, c, error, message.trim(), Some(id.trim()))),
        _ => Some((l, c, error, rest, None)),
    }
}

/// Parses the stylish formatter's text into `parsed`; whether any of it was seen (a file
/// header followed by its messages, or the `✖ N problems` summary).
fn stylish(text: &str, root: &Path, parsed: &mut Parsed) -> bool {
    let mut file: Option<PathBuf> = None;
    let mut seen = false;
    for line in text.lines() {
        if line.trim_start().starts_with('✖') && line.contains("problem") {
            seen = true;
            continue;
        }
        if let Some((l, c, error, message, rule)) = stylish_line(line) {
            let Some(path) = &file else { continue };
            seen = true;
            if !error {
                continue;
            }
            let mut f = if rule.is_none() && message.starts_with("Parsing error") {
                Failure::new(FailureCategory::Build, FailureKind::Syntax, message)
            } else {
                Failure::new(FailureCategory::Lint, FailureKind::Lint, message)
            };
            f.code = rule.map(str::to_owned);
            f.snippet = source_snippet(root, path, l);
            parsed.failures.push(f.at(path.clone(), Some(l), Some(c)));
            continue;
        }
        let t = line.trim_end();
        // A file header: a path alone on an unindented line.
        file = (!t.is_empty() && !line.starts_with(char::is_whitespace) && !t.contains("  ") && t.contains('.'))
            .then(|| relativize(t, root));
    }
    seen
}
