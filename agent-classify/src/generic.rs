//! [`GenericClassifier`]: a fallback for any tool that prints
//! `file:line:col: error: message` lines (gcc, clang, many linters).

use crate::common::{Parsed, finish, parse_location, relativize, source_snippet};
use agent_core::FailureClassifier;
use agent_core::exec::RunOutput;
use agent_core::failure::{Classification, Failure, FailureCategory, FailureKind};
use agent_core::workspace::WorkspaceProfile;

/// Classifies `file:line[:col]: error: message` lines from any tool.
///
/// Every such line (also `fatal error:`) becomes a
/// [`FailureKind::Unknown`] build failure with its location and the source
/// lines around it; the valid-run and tier rules are those of every classifier here.
///
/// ```
/// use agent_core::FailureClassifier;
/// use agent_core::exec::RunOutput;
/// use agent_core::workspace::WorkspaceProfile;
/// use agent_classify::GenericClassifier;
///
/// let run = RunOutput::from_text("make", 2, "", "main.c:3:5: error: expected ';' before 'return'\n");
/// let c = GenericClassifier::new().classify(&run, &WorkspaceProfile::default());
/// assert_eq!(c.failures[0].line, Some(3));
/// assert!(c.valid_run);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct GenericClassifier;

impl GenericClassifier {
    /// The tool name in every [`Classification`] this classifier makes.
    pub const TOOL: &'static str = "generic";

    /// A generic classifier.
    pub fn new() -> Self {
        Self
    }
}

/// Parses `file:line[:col]: error: message`.
pub(crate) fn error_line(line: &str) -> Option<(String, u32, Option<u32>, &str)> {
    let line = line.trim();
    let (loc, message) = line.split_once(": fatal error: ").or_else(|| line.split_once(": error: "))?;
    let (file, ln, col) = parse_location(loc)?;
    if file.contains(' ') && !file.contains('/') {
        return None;
    }
    Some((file, ln, col, message.trim()))
}

impl FailureClassifier for GenericClassifier {
    fn classify(&self, run: &RunOutput, ws: &WorkspaceProfile) -> Classification {
        let root = ws.root.as_path();
        let mut parsed = Parsed::default();
        let stdout = run.stdout.text();
        let stderr = run.stderr.text();
        for line in stderr.lines().chain(stdout.lines()) {
            if let Some((file, ln, col, message)) = error_line(line) {
                let file = relativize(&file, root);
                let mut f = Failure::new(FailureCategory::Build, FailureKind::Unknown, message);
                f.snippet = source_snippet(root, &file, ln);
                parsed.failures.push(f.at(file, Some(ln), col));
            }
        }
        parsed.failures.extend(crate::jest::npm_config_error(&stdout, &stderr));
        let program = run.command.split_whitespace().next().unwrap_or_default().to_owned();
        finish(Self::TOOL, run, parsed, &program)
    }
}
