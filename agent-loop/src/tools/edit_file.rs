//! `edit_file`: replaces the one occurrence of a block of text in a file,
//! exactly or, failing that, tolerant of whitespace and line endings.

use crate::tools::bound_observation;
use crate::tools::common::{blocking, clip_line, contained, failed, numbered, parse_args, schema_of, show};
use agent_core::Tool;
use agent_core::plan::Action;
use agent_core::tool::{ToolContext, ToolError, ToolOutput};
use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;
use std::fmt::Write as _;

/// `edit_file`: replaces the one occurrence of `old` in a file with `new`.
///
/// The search for `old` goes in three steps, each tried only when the one
/// before found nothing:
///
/// 1. the exact text (as the editor's `ReplaceBlock` counts it);
/// 2. line by line, ignoring trailing whitespace and CRLF/LF differences;
/// 3. line by line, ignoring indentation too (the `new` lines are then
///    re-indented by the difference between the file's indentation and
///    `old`'s).
///
/// A step that finds more than one place stops the search: the edit is
/// ambiguous, a [`ToolError::Failed`] listing the places with their line
/// numbers and text. When no step finds anything, the
/// [`ToolError::Failed`] shows the lines of the file most like `old`
/// (character-bigram similarity around `old`'s longest line), so the model
/// can copy the real text and retry. The replacement gets the file's line
/// endings (a CRLF file stays CRLF). An exact match is written as an
/// [`Action::ReplaceBlock`] of the bytes found, a tolerant one as an
/// [`Action::WriteFile`] of the whole new content, both through the
/// context's [`Editor`](agent_core::Editor). The observation shows the
/// edited lines with their numbers; the output carries the
/// [`FileChange`](agent_core::edit::FileChange).
#[derive(Clone, Copy, Debug, Default)]
pub struct EditFile;

/// Arguments of `edit_file`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Args {
    /// File to edit, relative to the workspace root.
    path: String,
    /// The text to replace, copied from the file (whole lines, without line
    /// numbers); it must occur exactly once.
    old: String,
    /// The replacement text.
    new: String,
}

const NAME: &str = "edit_file";

/// Longest line shown whole in a report or an error.
const MAX_LINE_CHARS: usize = 500;

#[async_trait]
impl Tool for EditFile {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> &str {
        "Edit a file: replace the one occurrence of `old` with `new`. Copy `old` from the file (without the \
         line numbers read_file shows) with enough surrounding lines to occur exactly once. Differences in \
         trailing whitespace, line endings and indentation are tolerated. To create a file or replace all \
         of it, use write_file."
    }

    fn parameters(&self) -> serde_json::Value {
        schema_of::<Args>()
    }

    async fn call(&self, args: serde_json::Value, cx: &ToolContext) -> Result<ToolOutput, ToolError> {
        let args: Args = parse_args(NAME, args)?;
        if args.old.is_empty() {
            return Err(ToolError::InvalidArguments {
                tool: NAME.to_owned(),
                reason: "`old` is empty; to create a file or replace all of it use write_file".to_owned(),
            });
        }
        if args.old == args.new {
            return Err(failed(NAME, "`old` and `new` are the same: there is nothing to change"));
        }
        let file = contained(cx, &args.path)?;
        if file.relative.as_os_str().is_empty() {
            return Err(failed(NAME, "the path names the workspace root, not a file"));
        }
        let shown = show(&file.relative);
        let resolved = file.resolved.clone();
        let for_plan = shown.clone();
        let (old, new) = (args.old.clone(), args.new);
        let max_tokens = cx.limits.max_tokens;
        let edit = blocking(NAME, move || {
            let content = read_text(&resolved, &for_plan)?;
            plan_edit(&content, &old, &new)
                .map_err(|miss| failed(NAME, bound_observation(&miss.explain(&content, &for_plan), max_tokens)))
        })
        .await?;
        let action = match edit.matched {
            Matched::Exact => {
                Action::ReplaceBlock { path: shown.clone(), old: args.old.clone(), new: edit.new_text.clone() }
            }
            _ => Action::WriteFile { path: shown.clone(), content: edit.content.clone() },
        };
        let change = cx.editor.apply(&cx.root, &action).await?;
        let text = edit.report(&shown);
        Ok(ToolOutput::text(bound_observation(&text, cx.limits.max_tokens)).with_changes(vec![change]))
    }
}

fn read_text(path: &std::path::Path, shown: &str) -> Result<String, ToolError> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => return Err(failed(NAME, format!("`{shown}` is a directory"))),
        Ok(_) => {}
        Err(_) => return Err(failed(NAME, format!("no such file `{shown}`; to create it use write_file"))),
    }
    let bytes = std::fs::read(path).map_err(|e| failed(NAME, format!("cannot read `{shown}`: {e}")))?;
    String::from_utf8(bytes).map_err(|_| {
        failed(NAME, format!("`{shown}` is not UTF-8 text; edit_file cannot edit it (write_file can replace it)"))
    })
}

/// How `old` was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Matched {
    /// Byte for byte.
    Exact,
    /// Line by line, trailing whitespace and line endings ignored.
    TrailingWhitespace,
    /// Line by line, leading and trailing whitespace ignored.
    Indentation,
}

impl Matched {
    fn ignoring(self) -> &'static str {
        match self {
            Matched::Exact => "",
            Matched::TrailingWhitespace => " when trailing whitespace and line endings are ignored",
            Matched::Indentation => " when indentation is ignored",
        }
    }
}

/// A planned edit.
#[derive(Debug)]
struct Edit {
    /// The whole file after the edit.
    content: String,
    /// The text inserted in place of the match (file line endings, re-indented).
    new_text: String,
    matched: Matched,
    /// 1-based lines of the file the match covered.
    replaced: (usize, usize),
    /// 1-based line of the new content where `new_text` starts.
    first_new_line: usize,
    reindented: bool,
}

impl Edit {
    fn report(&self, shown: &str) -> String {
        let new_lines = count_lines(&self.new_text);
        let (a, b) = self.replaced;
        let what = if a == b { format!("line {a}") } else { format!("lines {a}-{b}") };
        let mut out = format!("edited `{shown}`: replaced {what} with {new_lines} line{}", plural(new_lines));
        match self.matched {
            Matched::Exact => {}
            Matched::TrailingWhitespace => out.push_str(" (matched ignoring trailing whitespace and line endings)"),
            Matched::Indentation if self.reindented => {
                out.push_str(" (matched ignoring indentation; `new` re-indented to the file's)");
            }
            Matched::Indentation => out.push_str(" (matched ignoring indentation)"),
        }
        out.push_str("\nNow:\n");
        let lines: Vec<&str> = self.content.lines().collect();
        let from = self.first_new_line.saturating_sub(2).max(1);
        let to = (self.first_new_line + new_lines.max(1) + 1).min(lines.len());
        for n in from..=to.min(from + 40) {
            if let Some(line) = lines.get(n - 1) {
                out.push_str(&numbered(n, &clip_line(line, MAX_LINE_CHARS)));
                out.push('\n');
            }
        }
        if to > from + 40 {
            out.push_str("[…]\n");
        }
        out
    }
}

/// Why no edit was planned.
#[derive(Debug)]
enum Miss {
    /// More than one place matched: how many, their 1-based first lines, and the block length in lines.
    Ambiguous { matched: Matched, count: usize, starts: Vec<usize>, block: usize },
    /// Nothing matched: the nearest window (0-based start, line count), if any line resembles `old`.
    Absent { nearest: Option<(usize, usize)> },
}

impl Miss {
    fn explain(&self, content: &str, shown: &str) -> String {
        let lines: Vec<&str> = content.lines().collect();
        let mut out = String::new();
        match self {
            Miss::Ambiguous { matched, count, starts, block } => {
                let _ = writeln!(
                    out,
                    "`old` matches {} places in `{shown}`{} (at lines {}); it must match exactly one. Add lines \
                     around the place you mean to `old` so that it occurs once. The places:",
                    count,
                    matched.ignoring(),
                    join_numbers(starts),
                );
                // Each place with a line of context around it, overlapping places merged.
                let mut ranges: Vec<(usize, usize)> = Vec::new();
                for &start in starts.iter().take(10) {
                    let from = start.saturating_sub(1).max(1);
                    let to = (start + (*block).clamp(1, 3)).min(lines.len());
                    match ranges.last_mut() {
                        Some(last) if from <= last.1 + 1 => last.1 = last.1.max(to),
                        _ => ranges.push((from, to)),
                    }
                }
                for (i, (from, to)) in ranges.into_iter().enumerate() {
                    if i > 0 {
                        out.push_str("   --\n");
                    }
                    for n in from..=to {
                        if let Some(line) = lines.get(n - 1) {
                            out.push_str(&numbered(n, &clip_line(line, MAX_LINE_CHARS)));
                            out.push('\n');
                        }
                    }
                }
                if starts.len() > 10 {
                    let _ = writeln!(out, "[… and {} more places]", starts.len() - 10);
                }
            }
            Miss::Absent { nearest } => {
                let _ = write!(
                    out,
                    "`old` was not found in `{shown}`, neither exactly nor with trailing whitespace, line endings \
                     or indentation ignored."
                );
                match nearest {
                    Some((start, count)) => {
                        let shown_count = (*count).min(12);
                        let _ = writeln!(
                            out,
                            " The nearest lines of the file (lines {}-{}):",
                            start + 1,
                            start + shown_count
                        );
                        for n in *start..start + shown_count {
                            if let Some(line) = lines.get(n) {
                                out.push_str(&numbered(n + 1, &clip_line(line, MAX_LINE_CHARS)));
                                out.push('\n');
                            }
                        }
                        if *count > shown_count {
                            out.push_str("[…]\n");
                        }
                        out.push_str("Copy `old` from the file as it is (read_file shows it) and try again.\n");
                    }
                    None => {
                        out.push_str(" No line of the file resembles it; read_file shows what the file holds.\n");
                    }
                }
            }
        }
        out
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn join_numbers(ns: &[usize]) -> String {
    let shown: Vec<String> = ns.iter().take(10).map(ToString::to_string).collect();
    match shown.len() {
        0 => String::new(),
        1 => shown[0].clone(),
        n if ns.len() > 10 => format!("{}, …", shown[..n].join(", ")),
        n => format!("{} and {}", shown[..n - 1].join(", "), shown[n - 1]),
    }
}

/// Lines `text` holds: a last line without a newline counts.
fn count_lines(text: &str) -> usize {
    text.lines().count()
}

/// Whether most of `text`'s line endings are CRLF.
fn uses_crlf(text: &str) -> bool {
    let crlf = text.matches("\r\n").count();
    crlf > 0 && crlf * 2 >= text.matches('\n').count()
}

/// `text` with CRLF line endings when `crlf`, LF otherwise.
fn with_line_endings(text: &str, crlf: bool) -> String {
    let lf = text.replace("\r\n", "\n");
    if crlf { lf.replace('\n', "\r\n") } else { lf }
}

/// 1-based line of byte offset `at`.
fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Start offsets of every (possibly overlapping) occurrence of `needle`,
/// counted the way the editor counts them for `ReplaceBlock`.
fn occurrences(haystack: &str, needle: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = haystack[from..].find(needle) {
        let at = from + i;
        out.push(at);
        from = at + haystack[at..].chars().next().map_or(1, char::len_utf8);
        if from > haystack.len() {
            break;
        }
    }
    out
}

/// A line of the file: its text without the terminator, and byte offsets.
#[derive(Clone, Copy, Debug)]
struct Span<'a> {
    text: &'a str,
    start: usize,
    /// End of the text (before `\r\n` or `\n`).
    end: usize,
    /// After the terminator.
    next: usize,
}

fn spans(content: &str) -> Vec<Span<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < content.len() {
        let (end, next) = match content[start..].find('\n') {
            Some(i) => (start + i, start + i + 1),
            None => (content.len(), content.len()),
        };
        let text_end = if end > start && content.as_bytes()[end - 1] == b'\r' && next > end { end - 1 } else { end };
        out.push(Span { text: &content[start..text_end], start, end: text_end, next });
        start = next;
    }
    out
}

fn indentation(line: &str) -> &str {
    &line[..line.len() - line.trim_start().len()]
}

/// Plans replacing the one occurrence of `old` in `content` with `new`.
fn plan_edit(content: &str, old: &str, new: &str) -> Result<Edit, Miss> {
    let crlf = uses_crlf(content);
    let exact = occurrences(content, old);
    match exact[..] {
        [at] => {
            let new_text = with_line_endings(new, crlf);
            let mut edited = String::with_capacity(content.len() + new_text.len());
            edited.push_str(&content[..at]);
            edited.push_str(&new_text);
            edited.push_str(&content[at + old.len()..]);
            let first = line_of(content, at);
            return Ok(Edit {
                content: edited,
                new_text,
                matched: Matched::Exact,
                replaced: (first, line_of(content, at + old.len().saturating_sub(1))),
                first_new_line: first,
                reindented: false,
            });
        }
        [] => {}
        _ => {
            let mut starts: Vec<usize> = exact.iter().map(|&at| line_of(content, at)).collect();
            starts.dedup();
            return Err(Miss::Ambiguous {
                matched: Matched::Exact,
                count: exact.len(),
                starts,
                block: count_lines(old).max(1),
            });
        }
    }
    let file = spans(content);
    let old_text = old.replace("\r\n", "\n");
    let mut old_lines: Vec<&str> = old_text.split('\n').collect();
    let old_ends_nl = old_text.ends_with('\n');
    if old_ends_nl {
        old_lines.pop();
    }
    if old_lines.iter().all(|l| l.trim().is_empty()) || old_lines.len() > file.len() {
        return Err(Miss::Absent { nearest: nearest(&file, &old_lines) });
    }
    let n = old_lines.len();
    for (matched, norm) in
        [(Matched::TrailingWhitespace, str::trim_end as fn(&str) -> &str), (Matched::Indentation, str::trim)]
    {
        let starts: Vec<usize> =
            (0..=file.len() - n).filter(|&i| (0..n).all(|j| norm(file[i + j].text) == norm(old_lines[j]))).collect();
        match starts[..] {
            [] => continue,
            [i] => {
                let old = OldBlock { lines: &old_lines, ends_with_newline: old_ends_nl };
                return Ok(tolerant_edit(content, &file, i, &old, new, crlf, matched));
            }
            _ => {
                return Err(Miss::Ambiguous {
                    matched,
                    count: starts.len(),
                    starts: starts.iter().map(|i| i + 1).collect(),
                    block: n,
                });
            }
        }
    }
    Err(Miss::Absent { nearest: nearest(&file, &old_lines) })
}

/// The `old` text as lines, and whether it ended with a newline.
struct OldBlock<'a> {
    lines: &'a [&'a str],
    ends_with_newline: bool,
}

/// The edit replacing the `old.lines.len()` lines of `file` from line index
/// `i` (found by a tolerant match) with `new`.
fn tolerant_edit(
    content: &str,
    file: &[Span<'_>],
    i: usize,
    old: &OldBlock<'_>,
    new: &str,
    crlf: bool,
    matched: Matched,
) -> Edit {
    let old_lines = old.lines;
    let n = old_lines.len();
    let last = file[i + n - 1];
    let region_start = file[i].start;
    let region_end = if old.ends_with_newline { last.next } else { last.end };
    let mut new_text = new.replace("\r\n", "\n");
    let mut reindented = false;
    if matched == Matched::Indentation {
        if let Some(j) = old_lines.iter().position(|l| !l.trim().is_empty()) {
            let want = indentation(file[i + j].text);
            let have = indentation(old_lines[j]);
            if want != have {
                let lines: Vec<String> = new_text
                    .split('\n')
                    .map(|l| match l.strip_prefix(have) {
                        Some(rest) if !l.trim().is_empty() => format!("{want}{rest}"),
                        _ => l.to_owned(),
                    })
                    .collect();
                let re = lines.join("\n");
                reindented = re != new_text;
                new_text = re;
            }
        }
    }
    let new_text = with_line_endings(&new_text, crlf);
    let mut edited = String::with_capacity(content.len() + new_text.len());
    edited.push_str(&content[..region_start]);
    edited.push_str(&new_text);
    edited.push_str(&content[region_end..]);
    Edit { content: edited, new_text, matched, replaced: (i + 1, i + n), first_new_line: i + 1, reindented }
}

/// Sorted character bigrams of `s`.
fn bigrams(s: &str) -> Vec<(char, char)> {
    let chars: Vec<char> = s.chars().collect();
    let mut out: Vec<(char, char)> = chars.windows(2).map(|w| (w[0], w[1])).collect();
    out.sort_unstable();
    out
}

/// Sørensen–Dice similarity of two trimmed lines over character bigrams (0 to 1).
fn similarity(a: &str, b: &str, ga: &[(char, char)], gb: &[(char, char)]) -> f64 {
    if a == b {
        return 1.0;
    }
    if ga.is_empty() || gb.is_empty() {
        return 0.0;
    }
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < ga.len() && j < gb.len() {
        match ga[i].cmp(&gb[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    (2 * common) as f64 / (ga.len() + gb.len()) as f64
}

/// The window of the file most like `old`: (0-based start, line count), or
/// `None` when no line resembles `old`'s most distinctive (longest) line.
fn nearest(file: &[Span<'_>], old_lines: &[&str]) -> Option<(usize, usize)> {
    let (key_at, key) =
        old_lines.iter().map(|l| l.trim()).enumerate().filter(|(_, l)| !l.is_empty()).max_by_key(|(i, l)| {
            // The longest line; the first of equals.
            (l.len(), std::cmp::Reverse(*i))
        })?;
    let key_grams = bigrams(key);
    let file_trimmed: Vec<&str> = file.iter().map(|s| s.text.trim()).collect();
    let file_grams: Vec<Vec<(char, char)>> = file_trimmed.iter().map(|l| bigrams(l)).collect();
    let old_trimmed: Vec<&str> = old_lines.iter().map(|l| l.trim()).collect();
    let old_grams: Vec<Vec<(char, char)>> = old_trimmed.iter().map(|l| bigrams(l)).collect();
    let mut scored: Vec<(usize, f64)> = file_trimmed
        .iter()
        .enumerate()
        .map(|(k, l)| (k, similarity(l, key, &file_grams[k], &key_grams)))
        .filter(|(_, s)| *s > 0.0)
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let n = old_lines.len();
    let mut best: Option<(usize, f64)> = None;
    for &(k, _) in scored.iter().take(5) {
        let start = k.saturating_sub(key_at).min(file.len().saturating_sub(n));
        let mut total = 0.0;
        let mut counted = 0usize;
        for j in 0..n.min(file.len() - start) {
            if old_trimmed[j].is_empty() {
                continue;
            }
            total += similarity(file_trimmed[start + j], old_trimmed[j], &file_grams[start + j], &old_grams[j]);
            counted += 1;
        }
        let score = if counted == 0 { 0.0 } else { total / counted as f64 };
        if best.is_none_or(|(s, b)| score > b || (score == b && start < s)) {
            best = Some((start, score));
        }
    }
    best.map(|(start, _)| (start, n.min(file.len() - start)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_indented_window_is_found_and_new_is_reindented() {
        let content = "fn f() {\n    let x = 1;\n    let y = 2;\n}\n";
        let edit = plan_edit(content, "let x = 1;\nlet y = 2;\n", "let x = 10;\nlet y = 20;\n").unwrap();
        assert_eq!(edit.matched, Matched::Indentation);
        assert_eq!(edit.content, "fn f() {\n    let x = 10;\n    let y = 20;\n}\n");
    }

    #[test]
    fn overlapping_occurrences_count_like_the_editor() {
        assert_eq!(occurrences("aaa", "aa"), vec![0, 1]);
        assert_eq!(occurrences("é-é", "é"), vec![0, 3]);
    }

    #[test]
    fn the_nearest_window_follows_the_longest_line() {
        let content = "a\nfn average(xs: &[f64]) -> f64 {\n    xs.iter().sum()\n}\n";
        let file = spans(content);
        let near = nearest(&file, &["fn avrage(xs: &[f64]) -> f64 {", "    xs.iter().sum::<f64>()"]);
        assert_eq!(near, Some((1, 2)));
    }
}
