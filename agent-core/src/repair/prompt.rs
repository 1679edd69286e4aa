//! Building the planning and repair prompts from structured facts.
//!
//! Prompts carry classified failures (kind, file, line, test, message, the
//! code around the line) and the current text of the files involved, never
//! the raw log. They hold only paths relative to the workspace root and no
//! timings, so the same workspace state gives the same prompt byte for byte:
//! this is what makes record/replay cassettes reusable across machines.

use crate::{Classification, Failure, Plan, WorkspaceProfile};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

/// The system prompt of every planning and repair conversation.
pub const SYSTEM_PROMPT: &str = "You are a careful software engineer working inside a real repository. \
You change files only through the JSON plan you answer with. Every answer is exactly one JSON object \
with a `summary` (one or two sentences) and `actions`, a list of: \
{\"action\":\"write_file\",\"path\",\"content\"}, {\"action\":\"replace_block\",\"path\",\"old\",\"new\"} \
(`old` must occur exactly once in the file), {\"action\":\"delete_file\",\"path\"}, \
{\"action\":\"run_command\",\"program\",\"args\"}. Paths are relative to the repository root. \
After your plan is applied the test suite runs; if it fails you get the classified failures and answer \
with a new plan that repairs them. Fix the code, not the tests, unless the goal says otherwise.";

/// Limits on what a prompt may contain.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PromptLimits {
    pub(crate) context_lines: u32,
    pub(crate) max_failures: usize,
    pub(crate) max_file_bytes: usize,
    pub(crate) max_files: usize,
    pub(crate) max_listing: usize,
}

/// Replaces run-dependent figures (durations such as `0.52s`, `12ms`) so prompts stay stable.
pub(crate) fn normalize(text: &str) -> String {
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

fn status_line(c: &Classification) -> String {
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

fn describe_failure(out: &mut String, index: usize, f: &Failure, root: &Path, limits: PromptLimits) {
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
    let snippet = f.snippet.clone().or_else(|| read_around(root, f, limits.context_lines));
    if let Some(snippet) = snippet {
        out.push_str("   ```\n");
        for line in snippet.lines().take(2 * limits.context_lines as usize + 8) {
            let _ = writeln!(out, "   {line}");
        }
        out.push_str("   ```\n");
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

fn failures_section(out: &mut String, c: &Classification, root: &Path, limits: PromptLimits) {
    let _ = writeln!(out, "Test status: {}", status_line(c));
    if c.failures.is_empty() {
        return;
    }
    let _ = writeln!(out, "Failures ({} in all):", c.failures.len());
    for (i, f) in c.failures.iter().take(limits.max_failures).enumerate() {
        describe_failure(out, i, f, root, limits);
    }
    if c.failures.len() > limits.max_failures {
        let _ = writeln!(out, "… and {} more of the same run.", c.failures.len() - limits.max_failures);
    }
}

fn files_section(out: &mut String, root: &Path, files: &BTreeSet<String>, limits: PromptLimits) {
    let mut shown = 0;
    for path in files {
        if shown == limits.max_files {
            break;
        }
        let Ok(text) = std::fs::read_to_string(root.join(path)) else { continue };
        shown += 1;
        let _ = writeln!(out, "\nCurrent content of `{path}`:");
        out.push_str("```\n");
        if text.len() > limits.max_file_bytes {
            let mut cut = limits.max_file_bytes;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            out.push_str(&text[..cut]);
            let _ = write!(out, "\n[… {} more bytes not shown …]", text.len() - cut);
        } else {
            out.push_str(&text);
        }
        if !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str("```\n");
    }
}

fn failure_files(c: &Classification) -> BTreeSet<String> {
    c.failures
        .iter()
        .filter_map(|f| f.file.as_ref())
        .filter(|p| p.is_relative())
        .map(|p| p.to_string_lossy().into_owned())
        .collect()
}

/// A bounded listing of the workspace's source files, sorted, skipping
/// hidden, build-output and dependency directories.
pub(crate) fn list_files(root: &Path, max: usize) -> Vec<String> {
    const SKIP: &[&str] = &["target", "node_modules", "vendor", "dist", "build", "__pycache__", ".venv"];
    let mut out = Vec::new();
    let mut stack = vec![std::path::PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(root.join(&rel)) else { continue };
        let mut names: Vec<(String, bool)> = entries
            .filter_map(Result::ok)
            .map(|e| (e.file_name().to_string_lossy().into_owned(), e.file_type().map(|t| t.is_dir()).unwrap_or(false)))
            .filter(|(n, _)| !n.starts_with('.'))
            .collect();
        names.sort();
        for (name, is_dir) in names.into_iter().rev() {
            let path = rel.join(&name);
            if is_dir {
                if !SKIP.contains(&name.as_str()) {
                    stack.push(path);
                }
            } else {
                out.push(path.to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out.truncate(max);
    out
}

fn describe_workspace(out: &mut String, profile: &WorkspaceProfile, test_command: &str) {
    if let Some(p) = profile.primary() {
        let _ = writeln!(
            out,
            "Workspace: a {} project built with {}; tests run with `{test_command}` from the root.",
            p.kinds.join("/"),
            p.build_system
        );
    } else {
        let _ = writeln!(out, "Workspace: tests run with `{test_command}` from the root.");
    }
}

/// The first prompt of a task: goal, workspace, baseline test status, files.
pub(crate) fn plan_prompt(
    goal: &str,
    root: &Path,
    profile: &WorkspaceProfile,
    test_command: &str,
    baseline: &Classification,
    limits: PromptLimits,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Goal: {goal}\n");
    describe_workspace(&mut out, profile, test_command);
    let files = list_files(root, limits.max_listing);
    if !files.is_empty() {
        let _ = writeln!(out, "Files: {}", files.join(", "));
    }
    out.push_str("\nBefore any change:\n");
    failures_section(&mut out, baseline, root, limits);
    files_section(&mut out, root, &failure_files(baseline), limits);
    out.push_str("\nAnswer with the JSON plan that achieves the goal.");
    normalize(&out)
}

/// The prompt after a failed attempt: what was tried and the classified failures it left.
pub(crate) fn repair_prompt(
    root: &Path,
    attempt: u32,
    max_attempts: u32,
    plan: Option<&Plan>,
    apply_error: Option<&str>,
    after: &Classification,
    limits: PromptLimits,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Attempt {attempt} of {max_attempts} did not pass.");
    if let Some(plan) = plan {
        let touched: Vec<&str> = plan.actions.iter().filter_map(|a| a.path()).collect();
        let _ = writeln!(out, "Your plan: {} (files: {}).", plan.summary, touched.join(", "));
    }
    if let Some(err) = apply_error {
        let _ = writeln!(out, "Applying your plan failed: {err}. The files were left as shown below.");
    }
    failures_section(&mut out, after, root, limits);
    let mut files = failure_files(after);
    if let Some(plan) = plan {
        files.extend(plan.actions.iter().filter_map(|a| a.path()).map(str::to_owned));
    }
    files_section(&mut out, root, &files, limits);
    out.push_str("\nAnswer with a JSON plan that repairs these failures.");
    normalize(&out)
}

/// The corrective message after an answer that is not a valid plan.
pub(crate) fn reask_prompt(error: &str) -> String {
    format!(
        "Your answer could not be used: {error}. Answer again with only one JSON object that matches the plan \
         schema: {{\"summary\": string, \"actions\": [ ... ]}} and nothing else."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_masked_and_other_numbers_kept() {
        assert_eq!(normalize("finished in 0.52s; 3 passed"), "finished in <time>; 3 passed");
        assert_eq!(normalize("took 12ms at line 40"), "took <time> at line 40");
        assert_eq!(normalize("E0308 v1.2 3s"), "E0308 v1.2 3s");
    }
}
