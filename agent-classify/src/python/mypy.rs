//! [`MypyClassifier`]: structured failures from mypy, text or `--output json`.

use super::tool_not_installed;
use crate::common::{MAX_MESSAGE_LINES, Parsed, bounded, finish, parse_location, relativize, source_snippet};
use agent_core::FailureClassifier;
use agent_core::exec::RunOutput;
use agent_core::failure::{Classification, Failure, FailureCategory, FailureKind};
use agent_core::workspace::WorkspaceProfile;
use serde::Deserialize;
use std::path::Path;

/// Classifies mypy's output: text lines `file:line[:col]: error: message  [code]`
/// and `--output json` lines (`file, line, column, message, hint, code, severity`).
///
/// Only `error` severity counts; notes are dropped. Kinds by error code:
/// `syntax` → [`FailureKind::Syntax`]; `import-not-found`, `import` →
/// [`FailureKind::UnresolvedImport`] for a module of the project (`pkg.py`, `pkg/`,
/// `src/pkg/` at the root), [`FailureKind::Environment`] for a third-party module the
/// project declares (`pyproject.toml`, `requirements*.txt`, …) and
/// [`FailureKind::MissingDependency`] for an undeclared one; `attr-defined` on a module
/// (`Module "m" has no attribute "x"`) at an import statement →
/// [`FailureKind::UnresolvedImport`]; `import-untyped` (stubs not installed) →
/// [`FailureKind::MissingDependency`]; `name-defined` → [`FailureKind::UnresolvedName`];
/// everything else → [`FailureKind::Type`]. The code is kept in [`Failure::code`].
/// Exit code 2 with no error line (mypy checked nothing: an invalid configuration file, a
/// bad option) is a [`FailureKind::Config`] failure.
/// Columns are 1-based in both formats (mypy's JSON is 0-based and is shifted).
///
/// ```
/// use agent_core::FailureClassifier;
/// use agent_core::failure::FailureKind;
/// use agent_core::exec::RunOutput;
/// use agent_core::workspace::WorkspaceProfile;
/// use agent_classify::MypyClassifier;
///
/// let out = "app.py:10:14: error: Incompatible types in assignment  [assignment]\nFound 1 error in 1 file\n";
/// let c = MypyClassifier::new().classify(&RunOutput::from_text("mypy .", 1, out, ""), &WorkspaceProfile::default());
/// assert_eq!(c.failures[0].kind, FailureKind::Type);
/// assert_eq!(c.failures[0].code.as_deref(), Some("assignment"));
/// assert_eq!(c.failures[0].column, Some(14));
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct MypyClassifier;

impl MypyClassifier {
    /// The tool name in every [`Classification`] this classifier makes.
    pub const TOOL: &'static str = "mypy";

    /// A mypy classifier.
    pub fn new() -> Self {
        Self
    }
}

/// One line of `mypy --output json`.
#[derive(Deserialize)]
struct JsonError {
    file: String,
    line: i64,
    column: i64,
    message: String,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    severity: Option<String>,
}

/// The failure kind of a mypy error code.
fn kind_of(code: Option<&str>) -> FailureKind {
    match code {
        Some("syntax") => FailureKind::Syntax,
        Some("import-not-found" | "import") => FailureKind::UnresolvedImport,
        Some("import-untyped") => FailureKind::MissingDependency,
        Some("name-defined") => FailureKind::UnresolvedName,
        _ => FailureKind::Type,
    }
}

/// Splits `message  [code]` into the message and the code.
fn split_code(message: &str) -> (&str, Option<&str>) {
    let m = message.trim_end();
    if let Some(rest) = m.strip_suffix(']') {
        if let Some((msg, code)) = rest.rsplit_once("  [") {
            if !code.is_empty() && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                return (msg.trim_end(), Some(code));
            }
        }
    }
    (m, None)
}

/// A failure at `file:line:col` (1-based).
fn failure(root: &Path, file: &str, line: u32, col: Option<u32>, message: &str, code: Option<&str>) -> Failure {
    let file = relativize(file, root);
    let mut kind = kind_of(code);
    if kind == FailureKind::UnresolvedImport {
        // `Cannot find implementation or library stub for module named "x"`: the project's
        // own module, else a third-party one (declared: not installed here; else undeclared).
        if let Some(module) = quoted_after(message, "module named ") {
            kind = super::missing_module_kind(module, &[root]);
        }
    } else if code == Some("attr-defined")
        && message.starts_with("Module \"")
        && crate::common::read_contained(root, &file)
            .and_then(|t| t.lines().nth(line.saturating_sub(1) as usize).map(str::to_owned))
            .is_some_and(|l| is_import_statement(&l))
    {
        // `from good import median` where `good` has no `median`: the import does not resolve.
        kind = FailureKind::UnresolvedImport;
    }
    let mut f = Failure::new(FailureCategory::Lint, kind, message);
    if f.kind == FailureKind::Syntax {
        f.category = FailureCategory::Build;
    } else if f.kind == FailureKind::Environment {
        f.category = FailureCategory::Infrastructure;
    }
    f.code = code.map(str::to_owned);
    f.snippet = source_snippet(root, &file, line);
    f.at(file, Some(line), col)
}

/// The `"quoted"` text after `marker` in `message`.
fn quoted_after<'m>(message: &'m str, marker: &str) -> Option<&'m str> {
    let rest = message[message.find(marker)? + marker.len()..].strip_prefix('"')?;
    rest.split('"').next().filter(|m| !m.is_empty())
}

/// Whether a source line is an import statement (`import a`, `from a import b`).
fn is_import_statement(line: &str) -> bool {
    let t = line.trim_start();
    (t.starts_with("import ") || t.starts_with("from ")) && !t.contains('=')
}

/// A parsed text line: file, line, column, message, code.
type TextLine<'a> = (String, u32, Option<u32>, &'a str, Option<&'a str>);

/// Parses one text line `file:line[:col]: error: message  [code]`.
pub(crate) fn text_line(line: &str) -> Option<TextLine<'_>> {
    let (loc, rest) = line.split_once(": error: ")?;
    let (file, ln, col) = parse_location(loc)?;
    if !(file.ends_with(".py") || file.ends_with(".pyi")) {
        return None;
    }
    let (message, code) = split_code(rest);
    Some((file, ln, col, message, code))
}

impl FailureClassifier for MypyClassifier {
    fn classify(&self, run: &RunOutput, ws: &WorkspaceProfile) -> Classification {
        let root = ws.root.as_path();
        let stdout = crate::common::text(&run.stdout);
        let stderr = crate::common::text(&run.stderr);
        let mut parsed = Parsed::default();
        if let Some(f) = tool_not_installed(run, "mypy") {
            parsed.failures.push(f);
        }
        for line in stdout.lines().chain(stderr.lines()) {
            let t = line.trim();
            if t.starts_with('{') {
                if let Ok(e) = serde_json::from_str::<JsonError>(t) {
                    if e.severity.as_deref().unwrap_or("error") == "error" {
                        let ln = u32::try_from(e.line).unwrap_or(0);
                        let col = u32::try_from(e.column).ok().map(|c| c.saturating_add(1));
                        parsed.failures.push(failure(root, &e.file, ln, col, &e.message, e.code.as_deref()));
                    }
                    continue;
                }
            }
            if let Some((file, ln, col, message, code)) = text_line(t) {
                parsed.failures.push(failure(root, &file, ln, col, message, code));
            }
        }
        if parsed.failures.is_empty() && run.exit_code == Some(2) {
            // mypy's exit 2: it did not check anything (an invalid configuration file, a
            // bad option: `mypy.ini: [mypy]: strict: Not a boolean`, `mypy: error: …`).
            let lines: Vec<&str> = stderr.lines().chain(stdout.lines()).filter(|l| !l.trim().is_empty()).collect();
            if !lines.is_empty() {
                let mut f =
                    Failure::new(FailureCategory::Build, FailureKind::Config, bounded(&lines, MAX_MESSAGE_LINES));
                f.file = lines.iter().find_map(|l| {
                    let (file, _) = l.split_once(": [")?;
                    let known = [".ini", ".cfg", ".toml"].iter().any(|e| file.ends_with(e));
                    known.then(|| relativize(file, root))
                });
                parsed.failures.push(f);
            }
        }
        finish(Self::TOOL, run, parsed, "mypy")
    }
}
