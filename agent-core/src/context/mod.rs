//! The [`ContextRenderer`] trait: how a [`Classification`] becomes the
//! failure section of a planning or repair prompt, and the helpers renderers
//! share ([`test_status_line`], [`mask_durations`]). `agent-loop` holds the
//! default rendering (`PlainContext`), `agent-classify` the grouped,
//! budgeted one (`RepairContextBuilder`). [`RepoMapper`] maps a workspace
//! for the first prompt of an agent session.
//!
//! A loop asks its renderer for the text that
//! stands between the attempt summary and the current file contents of a
//! prompt. A renderer must be deterministic: the same classification and the
//! same files under `root` give the same text (no timings, no absolute
//! paths), so record/replay cassettes keyed by the request stay valid.
//! [`mask_durations`] replaces run-dependent durations for renderers that
//! copy tool messages.

mod repo_map;

pub use repo_map::RepoMapper;

use crate::failure::Classification;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

/// Renders classified failures as prompt text.
///
/// Object-safe, so a loop holds an `Arc<dyn ContextRenderer>`; set one with
/// `RepairLoop::with_context_renderer` in `agent-loop`.
/// `root` is the workspace root, against which the failures' relative paths
/// resolve; a renderer may read source files there, never write.
///
/// ```
/// use agent_core::failure::{Classification, Failure, FailureCategory, FailureKind};
/// use agent_core::ContextRenderer;
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

/// The test status of a run in one line: counts, or that no summary was
/// found, and whether the run is valid (with the classifier's notes).
///
/// ```
/// use agent_core::failure::{Classification, TestCounts};
/// use agent_core::context::test_status_line;
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
/// use agent_core::context::mask_durations;
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
