//! Building the planning and repair prompts from structured facts.
//!
//! Prompts carry classified failures, rendered by the loop's
//! [`ContextRenderer`](agent_core::ContextRenderer) (kind, file, line, test,
//! message, the code around the line), and the current text of the files
//! involved, never the raw log. They hold only paths relative to the workspace root and no
//! timings, so the same workspace state gives the same prompt byte for byte:
//! this is what makes record/replay cassettes reusable across machines.
//!
//! What keeps them stable: the file listing is sorted, bounded and honours
//! the ignore files; durations copied from tool output are masked
//! ([`mask_durations`]); file contents are shown only for workspace-relative
//! locations, cut at a size limit; and the loop sends every request at
//! temperature 0 with the plan's JSON schema as its response format. A
//! cassette keys a call by a hash of the whole request, so a prompt that
//! changed by one byte is a miss, never a wrong answer.

use agent_core::ContextRenderer;
use agent_core::context::mask_durations;
use agent_core::failure::Classification;
use agent_core::plan::Plan;
use agent_core::workspace::WorkspaceProfile;
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

/// The system prompt of every agent session of the loop (tools mode).
pub const TOOLS_SYSTEM_PROMPT: &str = "You are a careful software engineer working inside a real repository \
through tools. Look before you change anything: list_files, read_file and search show the code. edit_file \
replaces one occurrence of a text (read the file first so that `old` matches it); write_file and delete_file \
change whole files; run_tests runs the test suite, or the tests you name, and shows the classified failures; \
run_command runs a program in the repository root. Paths are relative to the repository root. Fix the code, \
not the tests, unless the goal says otherwise. When the tests pass, call finish with a one- or two-sentence \
summary of what you changed.";

/// The first message of the session that looks for a test command the oracle did not find.
pub(crate) fn discovery_prompt(goal: &str, root: &Path, profile: &WorkspaceProfile, max_listing: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Goal (for later): {goal}\n");
    if let Some(p) = profile.primary() {
        let _ = writeln!(out, "Workspace: a {} project built with {}.", p.kinds.join("/"), p.build_system);
    }
    let files = list_files(root, max_listing);
    if !files.is_empty() {
        let _ = writeln!(out, "Files: {}", files.join(", "));
    }
    out.push_str(
        "\nNo test command was found for this repository. Find the command that runs its tests (read the \
         manifests, the CI configuration, the README), run it once with run_command to see that it really \
         runs tests, then call finish with a summary whose first line is exactly that command, program first, \
         arguments separated by spaces, run from the repository root. Change no file.",
    );
    out
}

/// The first message of an agent session: goal, workspace, baseline, map.
pub(crate) fn session_prompt(
    goal: &str,
    root: &Path,
    profile: &WorkspaceProfile,
    test_command: &str,
    baseline: &Classification,
    style: PromptStyle<'_>,
    repo_map: Option<&str>,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Goal: {goal}\n");
    describe_workspace(&mut out, profile, test_command);
    out.push_str("\nBefore any change:\n");
    out.push_str(&mask_durations(&style.context.render(root, baseline)));
    match repo_map.map(str::trim).filter(|m| !m.is_empty()) {
        Some(map) => {
            out.push_str("\nRepository map (files and their top-level symbols, the failing files first):\n");
            out.push_str(map);
            out.push('\n');
        }
        None => {
            let files = list_files(root, style.limits.max_listing);
            if !files.is_empty() {
                let _ = writeln!(out, "\nFiles: {}", files.join(", "));
            }
        }
    }
    out.push_str("\nWork with the tools; call finish when the tests pass.");
    out
}

/// The first message of the session after a failed attempt: what the last
/// session said it did, how it ended, and the classified failures the
/// loop's own test run found.
pub(crate) fn session_repair_prompt(
    root: &Path,
    attempt: u32,
    max_attempts: u32,
    summary: Option<&str>,
    end_note: Option<&str>,
    after: &Classification,
    style: PromptStyle<'_>,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Attempt {attempt} of {max_attempts} did not pass: the test suite run after your session still fails."
    );
    if let Some(summary) = summary {
        let _ = writeln!(out, "Your summary: {summary}");
    }
    if let Some(note) = end_note {
        let _ = writeln!(out, "{note}");
    }
    out.push_str(&mask_durations(&style.context.render(root, after)));
    out.push_str("\nThe files are as you left them. Continue with the tools; call finish when the tests pass.");
    out
}

/// How failures and files go into a prompt: the loop's renderer and the limits.
#[derive(Clone, Copy)]
pub(crate) struct PromptStyle<'a> {
    /// Renders the failure section.
    pub(crate) context: &'a dyn ContextRenderer,
    /// Bounds on files and listings.
    pub(crate) limits: PromptLimits,
}

/// Limits on what a prompt may contain.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PromptLimits {
    pub(crate) max_file_bytes: usize,
    pub(crate) max_files: usize,
    pub(crate) max_listing: usize,
}

fn files_section(out: &mut String, root: &Path, files: &BTreeSet<String>, limits: PromptLimits) {
    let mut shown = 0;
    for path in files {
        if shown == limits.max_files {
            break;
        }
        // Only files inside the workspace: a path from tool output that
        // leaves it stays a location, its content is never read.
        let Ok(inside) = agent_core::workspace::contain(root, Path::new(path)) else { continue };
        let Ok(text) = std::fs::read_to_string(&inside.resolved) else { continue };
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

/// A bounded listing of the workspace's files, sorted: what git would
/// show (`.gitignore`, `.git/info/exclude` and the global excludes
/// honoured), without hidden files and without build-output and dependency
/// directories even where nothing ignores them.
pub(crate) fn list_files(root: &Path, max: usize) -> Vec<String> {
    const SKIP: &[&str] = &["target", "node_modules", "vendor", "dist", "build", "__pycache__", ".venv"];
    let walk = ignore::WalkBuilder::new(root)
        .hidden(true)
        .parents(false)
        .filter_entry(|e| {
            !(e.depth() > 0 && e.file_type().is_some_and(|t| t.is_dir()) && SKIP.iter().any(|s| e.file_name() == *s))
        })
        .build();
    let mut out: Vec<String> = walk
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
        .filter_map(|e| e.path().strip_prefix(root).ok().map(|p| p.to_string_lossy().into_owned()))
        .collect();
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
    style: PromptStyle<'_>,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Goal: {goal}\n");
    describe_workspace(&mut out, profile, test_command);
    let files = list_files(root, style.limits.max_listing);
    if !files.is_empty() {
        let _ = writeln!(out, "Files: {}", files.join(", "));
    }
    out.push_str("\nBefore any change:\n");
    out.push_str(&mask_durations(&style.context.render(root, baseline)));
    files_section(&mut out, root, &failure_files(baseline), style.limits);
    out.push_str("\nAnswer with the JSON plan that achieves the goal.");
    out
}

/// The prompt after a failed attempt: what was tried and the classified failures it left.
pub(crate) fn repair_prompt(
    root: &Path,
    attempt: u32,
    max_attempts: u32,
    plan: Option<&Plan>,
    apply_error: Option<&str>,
    after: &Classification,
    style: PromptStyle<'_>,
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
    out.push_str(&mask_durations(&style.context.render(root, after)));
    let mut files = failure_files(after);
    if let Some(plan) = plan {
        files.extend(plan.actions.iter().filter_map(|a| a.path()).map(str::to_owned));
    }
    files_section(&mut out, root, &files, style.limits);
    out.push_str("\nAnswer with a JSON plan that repairs these failures.");
    out
}

/// The corrective message after an answer that is not a valid plan.
pub(crate) fn reask_prompt(error: &str) -> String {
    format!(
        "Your answer could not be used: {error}. Answer again with only one JSON object that matches the plan \
         schema: {{\"summary\": string, \"actions\": [ ... ]}} and nothing else."
    )
}
