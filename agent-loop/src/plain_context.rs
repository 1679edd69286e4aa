//! [`PlainContext`], the default [`ContextRenderer`]: one entry per failure,
//! with the source lines around it.

use agent_core::context::{ContextRenderer, test_status_line};
use agent_core::failure::{Classification, Failure};
use std::fmt::Write as _;
use std::path::Path;

/// The default rendering: a status line, then every failure (up to a limit)
/// with its kind, `file:line:col`, code, test, message (at most 20 lines)
/// and the source lines around its line (the classifier's snippet if it has
/// one), the failing line marked with `>`.
///
/// No grouping and no token budget: one entry per failure, so forty tests
/// failing on one compile error are forty entries cut at the limit.
/// `agent-classify` has a grouping, budgeted renderer (`RepairContextBuilder`).
///
/// ```
/// use agent_core::failure::{Classification, Failure, FailureCategory, FailureKind};
/// use agent_core::ContextRenderer;
/// use agent_loop::PlainContext;
///
/// let mut c = Classification::default();
/// c.failures.push(Failure::new(FailureCategory::Build, FailureKind::Type, "mismatched types").at("src/lib.rs", Some(5), Some(18)));
/// let text = PlainContext::default().render("/nonexistent".as_ref(), &c);
/// assert!(text.contains("1. [type] src/lib.rs:5:18\n   mismatched types\n"), "{text}");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlainContext {
    /// Lines of source shown on each side of a failure's line.
    pub context_lines: u32,
    /// At most this many failures are shown; a final line counts the rest.
    pub max_failures: usize,
}

impl Default for PlainContext {
    /// The [`RepairConfig`](crate::RepairConfig) defaults: 6 context lines, 8 failures.
    fn default() -> Self {
        Self { context_lines: 6, max_failures: 8 }
    }
}

impl PlainContext {
    /// A plain renderer with these limits.
    pub fn new(context_lines: u32, max_failures: usize) -> Self {
        Self { context_lines, max_failures }
    }
}

impl ContextRenderer for PlainContext {
    fn render(&self, root: &Path, c: &Classification) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "Test status: {}", test_status_line(c));
        if c.failures.is_empty() {
            return out;
        }
        let _ = writeln!(out, "Failures ({} in all):", c.failures.len());
        for (i, f) in c.failures.iter().take(self.max_failures).enumerate() {
            self.describe_failure(&mut out, i, f, root);
        }
        if c.failures.len() > self.max_failures {
            let _ = writeln!(out, "… and {} more of the same run.", c.failures.len() - self.max_failures);
        }
        out
    }
}

impl PlainContext {
    fn describe_failure(&self, out: &mut String, index: usize, f: &Failure, root: &Path) {
        let _ = write!(out, "{}. [{}]", index + 1, f.kind.name());
        if let Some(file) = &f.file {
            let _ = write!(out, " {}", file.display());
            if let Some(line) = f.line {
                let _ = write!(out, ":{line}");
                if let Some(col) = f.column {
                    let _ = write!(out, ":{col}");
                }
            }
        }
        if let Some(code) = &f.code {
            let _ = write!(out, " {code}");
        }
        if let Some(test) = &f.test_name {
            let _ = write!(out, " in test `{test}`");
        }
        out.push('\n');
        for line in f.message.lines().take(20) {
            let _ = writeln!(out, "   {line}");
        }
        let snippet = f.snippet.clone().or_else(|| read_around(root, f, self.context_lines));
        if let Some(snippet) = snippet {
            out.push_str("   ```\n");
            for line in snippet.lines().take(2 * self.context_lines as usize + 8) {
                let _ = writeln!(out, "   {line}");
            }
            out.push_str("   ```\n");
        }
    }
}

/// Source lines around a failure's line, the failing line marked with `>`.
fn read_around(root: &Path, f: &Failure, context: u32) -> Option<String> {
    let file = f.file.as_ref()?;
    let line = f.line? as usize;
    let text = std::fs::read_to_string(root.join(file)).ok()?;
    let lines: Vec<&str> = text.lines().collect();
    if line == 0 || line > lines.len() {
        return None;
    }
    let from = line.saturating_sub(context as usize).max(1);
    let to = (line + context as usize).min(lines.len());
    let mut out = String::new();
    for n in from..=to {
        let mark = if n == line { '>' } else { ' ' };
        let _ = writeln!(out, "{mark}{n:>5} | {}", lines[n - 1]);
    }
    Some(out)
}
