//! The [`ContextRenderer`] trait: how a [`Classification`] becomes the
//! failure section of a planning or repair prompt, and [`PlainContext`], the
//! default rendering.
//!
//! The [`RepairLoop`](crate::RepairLoop) asks its renderer for the text that
//! stands between the attempt summary and the current file contents of a
//! prompt. A renderer must be deterministic: the same classification and the
//! same files under `root` give the same text (no timings, no absolute
//! paths), so record/replay cassettes keyed by the request stay valid.
//! [`mask_durations`] replaces run-dependent durations for renderers that
//! copy tool messages.

use crate::Classification;
use crate::Failure;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

/// Renders classified failures as prompt text.
///
/// Object-safe, so a loop holds an `Arc<dyn ContextRenderer>`; set one with
/// [`RepairLoop::with_context_renderer`](crate::RepairLoop::with_context_renderer).
/// `root` is the workspace root, against which the failures' relative paths
/// resolve; a renderer may read source files there, never write.
///
/// ```
/// use agent_core::{Classification, ContextRenderer, Failure, FailureCategory, FailureKind};
/// use std::path::Path;
///
/// /// One line per failure: `kind file:line`.
/// struct OneLine;
///
/// impl ContextRenderer for OneLine {
///     fn render(&self, _root: &Path, c: &Classification) -> String {
///         c.failures
///             .iter()
///             .map(|f| {
///                 let file = f.file.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
///                 format!("{} {}:{}\n", f.kind.name(), file, f.line.unwrap_or(0))
///             })
///             .collect()
///     }
/// }
///
/// let mut c = Classification::default();
/// c.failures.push(Failure::new(FailureCategory::Build, FailureKind::Type, "mismatched types").at("src/lib.rs", Some(5), None));
/// assert_eq!(OneLine.render(Path::new("/work"), &c), "type src/lib.rs:5\n");
/// ```
pub trait ContextRenderer: Send + Sync {
    /// The failure section for `classification`, a run in the workspace at `root`.
    fn render(&self, root: &Path, classification: &Classification) -> String;
}

impl<T: ContextRenderer + ?Sized> ContextRenderer for Arc<T> {
    fn render(&self, root: &Path, classification: &Classification) -> String {
        (**self).render(root, classification)
    }
}

impl<T: ContextRenderer + ?Sized> ContextRenderer for Box<T> {
    fn render(&self, root: &Path, classification: &Classification) -> String {
        (**self).render(root, classification)
    }
}

/// The default rendering: a status line, then every failure (up to a limit)
/// with its kind, `file:line:col`, code, test, message (at most 20 lines)
/// and the source lines around its line (the classifier's snippet if it has
/// one), the failing line marked with `>`.
///
/// No grouping and no token budget: one entry per failure, so forty tests
/// failing on one compile error are forty entries cut at the limit.
/// `agent-oracles` has a grouping, budgeted renderer.
///
/// ```
/// use agent_core::{Classification, ContextRenderer, Failure, FailureCategory, FailureKind, PlainContext};
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

/// The test status of a run in one line: counts, or that no summary was
/// found, and whether the run is valid (with the classifier's notes).
///
/// ```
/// use agent_core::{Classification, TestCounts, test_status_line};
///
/// let mut c = Classification::default();
/// c.valid_run = true;
/// c.tests = Some(TestCounts { passed: 3, failed: 1, ignored: 0 });
/// assert_eq!(test_status_line(&c), "3 passed, 1 failed, 0 ignored");
/// ```
pub fn test_status_line(c: &Classification) -> String {
    let mut line = match c.tests {
        Some(t) => format!("{} passed, {} failed, {} ignored", t.passed, t.failed, t.ignored),
        None => "no test summary (the build may have failed)".to_owned(),
    };
    if !c.valid_run {
        line.push_str("; the run is not valid");
        if !c.notes.is_empty() {
            let _ = write!(line, " ({})", c.notes.join("; "));
        }
    }
    line
}

/// Replaces run-dependent durations (`0.52s`, `12ms`) with `<time>` so that
/// prompts built from tool output stay the same from run to run. Whole
/// seconds without a decimal point (`3s`) and other numbers are kept.
///
/// ```
/// use agent_core::mask_durations;
///
/// assert_eq!(mask_durations("finished in 0.52s; 3 passed"), "finished in <time>; 3 passed");
/// assert_eq!(mask_durations("took 12ms at line 40"), "took <time> at line 40");
/// assert_eq!(mask_durations("E0308 v1.2 3s"), "E0308 v1.2 3s");
/// ```
pub fn mask_durations(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let starts_number = bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric());
        if starts_number {
            let mut j = i;
            while j < bytes.len() && (bytes[j].is_ascii_digit() || bytes[j] == b'.') {
                j += 1;
            }
            let unit_len = if text[j..].starts_with("ms") {
                2
            } else if text[j..].starts_with('s') {
                1
            } else {
                0
            };
            let after = j + unit_len;
            let ends_word = after >= bytes.len() || !bytes[after].is_ascii_alphanumeric();
            if unit_len > 0 && ends_word && text[i..j].contains('.') || (unit_len == 2 && ends_word) {
                out.push_str("<time>");
                i = after;
                continue;
            }
            out.push_str(&text[i..j]);
            i = j;
            continue;
        }
        let ch = text[i..].chars().next().unwrap_or('\u{fffd}');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}
