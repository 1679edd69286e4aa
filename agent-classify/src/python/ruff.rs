//! [`RuffClassifier`]: lint failures from `ruff check`, JSON or text.

use super::tool_not_installed;
use crate::common::{MAX_MESSAGE_LINES, Parsed, bounded, finish, parse_location, relativize, source_snippet};
use agent_core::FailureClassifier;
use agent_core::exec::RunOutput;
use agent_core::failure::{Classification, Failure, FailureCategory, FailureKind};
use agent_core::workspace::WorkspaceProfile;
use serde::Deserialize;
use std::path::Path;

/// Classifies `ruff check` output: `--output-format json` (`code, message,
/// filename, location{row,column}`), `concise` text (`file:row:col: CODE message`)
/// and the default `full` text (`CODE message` then ` --> file:row:col`).
///
/// Every finding is a [`FailureKind::Lint`] with the rule code; a syntax error
/// (no code, ruff's `invalid-syntax`, or a message starting `SyntaxError`) is a
/// [`FailureKind::Syntax`]; a file `ruff format --check` would reformat (`unformatted:`
/// then ` --> file`, or older ruff's `Would reformat: file`) is a [`FailureKind::Lint`];
/// `ruff failed` with exit 2 (bad configuration or arguments) is a
/// [`FailureKind::Config`].
///
/// ```
/// use agent_core::FailureClassifier;
/// use agent_core::failure::FailureKind;
/// use agent_core::exec::RunOutput;
/// use agent_core::workspace::WorkspaceProfile;
/// use agent_classify::RuffClassifier;
///
/// let out = "mod.py:1:8: F401 [*] `os` imported but unused\nFound 1 error.\n";
/// let c = RuffClassifier::new().classify(&RunOutput::from_text("ruff check", 1, out, ""), &WorkspaceProfile::default());
/// assert_eq!(c.failures[0].kind, FailureKind::Lint);
/// assert_eq!(c.failures[0].code.as_deref(), Some("F401"));
/// assert_eq!(c.failures[0].message, "`os` imported but unused");
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct RuffClassifier;

impl RuffClassifier {
    /// The tool name in every [`Classification`] this classifier makes.
    pub const TOOL: &'static str = "ruff";

    /// A ruff classifier.
    pub fn new() -> Self {
        Self
    }
}

/// A ruff location.
#[derive(Deserialize)]
struct Location {
    row: i64,
    column: i64,
}

/// One finding of `ruff check --output-format json`.
#[derive(Deserialize)]
struct Finding {
    #[serde(default)]
    code: Option<String>,
    message: String,
    filename: String,
    #[serde(default)]
    location: Option<Location>,
}

/// A lint (or syntax) failure.
fn failure(root: &Path, file: &str, line: u32, col: Option<u32>, code: Option<&str>, message: &str) -> Failure {
    // Rule codes are `F401`-like; ruff names its own diagnostics (`invalid-syntax`, the
    // format check's `unformatted`) in kebab case.
    let syntax = code.is_none()
        || code == Some("E999")
        || code.is_some_and(|c| c.contains("syntax"))
        || message.starts_with("SyntaxError");
    let (category, kind) =
        if syntax { (FailureCategory::Build, FailureKind::Syntax) } else { (FailureCategory::Lint, FailureKind::Lint) };
    let file = relativize(file, root);
    let mut f = Failure::new(category, kind, message);
    f.code = code.map(str::to_owned);
    f.snippet = source_snippet(root, &file, line);
    f.at(file, Some(line), col)
}

/// A rule code: `F401`, `E711`, `PLR0913`, `RUF100`.
pub(super) fn is_code(s: &str) -> bool {
    let letters = s.chars().take_while(|c| c.is_ascii_uppercase()).count();
    letters > 0 && s.len() > letters && s[letters..].chars().all(|c| c.is_ascii_digit())
}

/// A diagnostic ruff names in kebab case rather than by a rule code, as its full format
/// prints them (`invalid-syntax: Expected ...`, `ruff format --check`'s `unformatted: File
/// would be reformatted`); not a severity or remark (`error`, `warning`, `help`, `note`).
pub(super) fn is_diagnostic_id(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !matches!(s, "error" | "warning" | "help" | "note" | "info" | "hint" | "cause")
}

/// A concise line: file, row, column, code, message.
pub(super) type Concise<'a> = (String, u32, Option<u32>, Option<&'a str>, &'a str);

/// `file:row:col: CODE [*] message` (concise) or `file:row:col: SyntaxError: message`.
pub(super) fn concise_line(line: &str) -> Option<Concise<'_>> {
    let (loc, rest) = line.split_once(": ")?;
    let (file, ln, col) = parse_location(loc)?;
    if !(file.ends_with(".py") || file.ends_with(".pyi") || file.ends_with(".ipynb")) {
        return None;
    }
    let (code, msg) = match rest.split_once(' ') {
        Some((c, m)) if is_code(c) => (Some(c), m),
        _ => (None, rest),
    };
    let msg = msg.trim_start().strip_prefix("[*] ").unwrap_or(msg).trim();
    Some((file, ln, col, code, msg))
}

impl FailureClassifier for RuffClassifier {
    fn classify(&self, run: &RunOutput, ws: &WorkspaceProfile) -> Classification {
        let root = ws.root.as_path();
        let stdout = crate::common::text(&run.stdout);
        let stderr = crate::common::text(&run.stderr);
        let mut parsed = Parsed::default();
        if let Some(f) = tool_not_installed(run, "ruff") {
            parsed.failures.push(f);
        }
        let json = stdout.trim_start();
        if json.starts_with('[') {
            if let Ok(findings) = serde_json::from_str::<Vec<Finding>>(json) {
                for f in findings {
                    let (ln, col) = f
                        .location
                        .map_or((0, None), |l| (u32::try_from(l.row).unwrap_or(0), u32::try_from(l.column).ok()));
                    parsed.failures.push(failure(root, &f.filename, ln, col, f.code.as_deref(), &f.message));
                }
                return finish(Self::TOOL, run, parsed, "ruff");
            }
        }
        let mut header: Option<(Option<&str>, &str)> = None;
        for line in stdout.lines().chain(stderr.lines()) {
            if let Some((file, ln, col, code, msg)) = concise_line(line) {
                parsed.failures.push(failure(root, &file, ln, col, code, msg));
                header = None;
                continue;
            }
            let t = line.trim();
            if let Some(file) = t.strip_prefix("Would reformat: ") {
                let file = relativize(file.trim(), root);
                let mut f = Failure::new(FailureCategory::Lint, FailureKind::Lint, "file would be reformatted");
                f.code = Some("unformatted".to_owned());
                parsed.failures.push(f.at(file, None, None));
                continue;
            }
            if let Some(loc) = t.strip_prefix("--> ") {
                if let (Some((code, msg)), Some((file, ln, col))) = (header.take(), parse_location(loc)) {
                    parsed.failures.push(failure(root, &file, ln, col, code, msg));
                }
                continue;
            }
            if !line.starts_with(' ') {
                header = match (t.split_once(' '), t.split_once(": ")) {
                    (Some((c, m)), _) if is_code(c) => Some((Some(c), m.trim_start_matches("[*] ").trim())),
                    (_, Some((id, m))) if is_diagnostic_id(id) => Some((Some(id), m.trim())),
                    _ => t.strip_prefix("error: ").filter(|m| m.starts_with("SyntaxError")).map(|m| (None, m)),
                };
            }
        }
        if parsed.failures.is_empty() && run.exit_code == Some(2) {
            // On stderr; a host may hand in both streams as one text.
            let lines: Vec<&str> = stderr.lines().chain(stdout.lines()).filter(|l| !l.trim().is_empty()).collect();
            if !lines.is_empty() {
                parsed.failures.push(Failure::new(
                    FailureCategory::Lint,
                    FailureKind::Config,
                    bounded(&lines, MAX_MESSAGE_LINES),
                ));
            }
        }
        finish(Self::TOOL, run, parsed, "ruff")
    }
}
