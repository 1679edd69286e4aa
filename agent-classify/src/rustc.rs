//! rustc and cargo diagnostics, both `--message-format=json` lines and the
//! human-readable form, mapped to [`Failure`]s.

use crate::common::{MAX_MESSAGE_LINES, MAX_SNIPPET_LINES, bounded, parse_location, relativize, user_part};
use agent_core::failure::{Failure, FailureCategory, FailureKind};
use serde::Deserialize;
use std::path::Path;

/// Error codes that are borrow-checker (or mutability/lifetime-of-borrow) errors.
const BORROW: &[&str] = &[
    "E0373", "E0381", "E0382", "E0384", "E0499", "E0502", "E0503", "E0505", "E0506", "E0507", "E0508", "E0509",
    "E0594", "E0596", "E0597", "E0712", "E0713", "E0716",
];
/// Error codes for a name that does not resolve.
const UNRESOLVED_NAME: &[&str] =
    &["E0405", "E0411", "E0412", "E0422", "E0423", "E0424", "E0425", "E0426", "E0433", "E0531", "E0532"];
/// Error codes for an import or module that does not resolve.
const UNRESOLVED_IMPORT: &[&str] = &["E0432", "E0583"];
/// Error codes for a crate that is not there.
const MISSING_CRATE: &[&str] = &["E0463"];

/// Maps a diagnostic to a category and kind.
///
/// `code` is the diagnostic code (`E0308`, `clippy::ptr_arg`, `unused_variables`),
/// `message` its headline and `detail` the rest of it (labels, notes, help).
pub(crate) fn kind_of(code: Option<&str>, message: &str, detail: &str) -> (FailureCategory, FailureKind) {
    use FailureKind as K;
    let build = |k| (FailureCategory::Build, k);
    if let Some(code) = code.filter(|c| !c.is_empty()) {
        let is_rustc_code = code.len() == 5 && code.starts_with('E') && code[1..].bytes().all(|b| b.is_ascii_digit());
        if !is_rustc_code {
            // `clippy::…` or a rustc lint (`unused_variables`) denied by `-D warnings`.
            return (FailureCategory::Lint, K::Lint);
        }
        let external = detail.contains("cargo add")
            || message.contains("unlinked crate")
            || detail.contains("you might be missing crate")
            || message.contains("can't find crate");
        if MISSING_CRATE.contains(&code) {
            return build(K::MissingDependency);
        }
        if code == "E0432" || code == "E0433" {
            if external {
                return build(K::MissingDependency);
            }
            if code == "E0432"
                || message.contains("use of undeclared crate or module")
                || message.contains("unresolved module")
            {
                return build(K::UnresolvedImport);
            }
            return build(K::UnresolvedName);
        }
        if UNRESOLVED_IMPORT.contains(&code) {
            return build(K::UnresolvedImport);
        }
        if UNRESOLVED_NAME.contains(&code) {
            return build(K::UnresolvedName);
        }
        if BORROW.contains(&code) {
            return build(K::Borrow);
        }
        // Every other rustc error code is a type or semantic error (E0308, E0277, E0061, E0599, E0369, …).
        return build(K::Type);
    }
    let m = message;
    if m.contains("failed to run custom build command") {
        return build(K::BuildScript);
    }
    if m.contains("no matching package named")
        || m.contains("failed to select a version")
        || m.contains("can't find crate for")
        || m.contains("no matching package found")
    {
        return build(K::MissingDependency);
    }
    if m.contains("could not find `Cargo.toml`")
        || m.contains("failed to parse manifest")
        || m.contains("failed to load manifest")
        || m.contains("invalid manifest")
        || m.contains("current package believes it's in a workspace")
        || m.contains("could not load Cargo configuration")
        || m.contains("could not parse TOML configuration")
    {
        return build(K::Config);
    }
    if m.starts_with("cannot find ") {
        return build(K::UnresolvedName);
    }
    if m.contains("lifetime may not live long enough")
        || m.contains("borrowed data escapes")
        || m.contains("does not live long enough")
    {
        return build(K::Borrow);
    }
    if m.starts_with("expected ")
        || m.contains("expected one of")
        || m.contains("unexpected token")
        || m.contains("unclosed delimiter")
        || m.contains("mismatched closing delimiter")
        || m.contains("unexpected closing delimiter")
        || m.starts_with("unterminated ")
        || m.starts_with("unknown start of token")
        || m.contains("found keyword")
    {
        return build(K::Syntax);
    }
    if detail.contains("implied by `-D warnings`") || detail.contains("deny(") || detail.contains("forbid(") {
        return (FailureCategory::Lint, K::Lint);
    }
    build(K::Unknown)
}

/// Cargo and rustc summary lines that repeat what the diagnostics already say.
pub(crate) fn is_summary(message: &str) -> bool {
    const SUMMARIES: &[&str] = &[
        "could not compile",
        "aborting due to",
        "test failed, to rerun pass",
        "doctest failed, to rerun pass",
        "target failed:",
        "targets failed:",
        "build failed",
        "Some errors have detailed explanations",
        "For more information about",
        "could not document",
        "failed to compile",
    ];
    SUMMARIES.iter().any(|s| message.contains(s))
}

/// Whether a cargo JSON line (`{"reason":…`, trimmed) may hold an error diagnostic and
/// so needs parsing: a `compiler-message` with an error level somewhere in it.
pub(crate) fn is_error_candidate(line: &str) -> bool {
    line.strip_prefix("{\"reason\":\"").is_some_and(|rest| rest.starts_with("compiler-message\""))
        && line.contains("\"level\":\"error")
}

/// Parses one line of JSON output (a cargo message or a bare rustc diagnostic).
///
/// Returns `None` when the line is not JSON; `Some(None)` when it is JSON but not an error.
pub(crate) fn json_line(line: &str, root: &Path) -> Option<Option<Failure>> {
    let line = line.trim();
    if !line.starts_with('{') {
        return None;
    }
    // Cargo writes `reason` first: artifacts, build-script runs and the final
    // message are answered without parsing, and so are diagnostics with no
    // error level anywhere (warnings: the field is `"level":"error"` or
    // `"level":"error: internal compiler error"`, never escaped outside a string).
    if line.starts_with("{\"reason\":\"") && !is_error_candidate(line) {
        return Some(None);
    }
    // Cargo writes `reason` first; a bare rustc diagnostic starts with `$message_type`.
    let cargo = |line: &str| serde_json::from_str::<CargoMessage>(line).ok();
    let bare = |line: &str| serde_json::from_str::<Diagnostic>(line).ok();
    if line.starts_with("{\"reason\"") {
        let message = cargo(line)?;
        return Some(match (message.reason.as_str(), message.message) {
            ("compiler-message", Some(diag)) => diagnostic(&diag, root),
            _ => None,
        });
    }
    match bare(line) {
        Some(diag) if diag.message_type.is_some() || diag.spans.is_some() => Some(diagnostic(&diag, root)),
        Some(_) => Some(None),
        None => {
            let message = cargo(line)?;
            Some(match (message.reason.as_str(), message.message) {
                ("compiler-message", Some(diag)) => diagnostic(&diag, root),
                _ => None,
            })
        }
    }
}

/// A cargo JSON message: its `reason`, and for a `compiler-message` the diagnostic.
/// Typed, so the fields not read are skipped rather than built into a tree.
#[derive(Debug, Deserialize)]
struct CargoMessage {
    reason: String,
    #[serde(default)]
    message: Option<Diagnostic>,
}

/// A rustc diagnostic, as far as the classifier reads it.
#[derive(Debug, Default, Deserialize)]
struct Diagnostic {
    #[serde(default, rename = "$message_type")]
    message_type: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    code: Option<Code>,
    #[serde(default)]
    level: Option<String>,
    #[serde(default)]
    spans: Option<Vec<Span>>,
    #[serde(default)]
    children: Vec<Child>,
    #[serde(default)]
    rendered: Option<String>,
}

/// `code: {code, explanation}`.
#[derive(Debug, Deserialize)]
struct Code {
    code: String,
}

/// A child diagnostic (note, help): its message only.
#[derive(Debug, Deserialize)]
struct Child {
    #[serde(default)]
    message: String,
}

/// A span: where, its source lines, and the macro expansion it came from.
#[derive(Debug, Deserialize)]
struct Span {
    #[serde(default)]
    file_name: String,
    #[serde(default)]
    line_start: Option<u64>,
    #[serde(default)]
    column_start: Option<u64>,
    #[serde(default)]
    is_primary: bool,
    #[serde(default)]
    text: Vec<SpanText>,
    #[serde(default)]
    expansion: Option<Box<Expansion>>,
}

/// One source line of a span.
#[derive(Debug, Deserialize)]
struct SpanText {
    #[serde(default)]
    text: String,
}

/// The expansion a span came from: its call site.
#[derive(Debug, Deserialize)]
struct Expansion {
    span: Option<Span>,
}

/// One rustc JSON diagnostic to a failure, when its level is `error`.
fn diagnostic(diag: &Diagnostic, root: &Path) -> Option<Failure> {
    let level = diag.level.as_deref()?;
    if level != "error" && !level.starts_with("error:") {
        return None;
    }
    let message = diag.message.as_deref().unwrap_or_default();
    if is_summary(message) {
        return None;
    }
    let code = diag.code.as_ref().map(|c| c.code.as_str());
    let rendered = diag.rendered.as_deref().unwrap_or_default();
    let mut detail = rendered.to_owned();
    for child in &diag.children {
        detail.push('\n');
        detail.push_str(&child.message);
    }
    let (category, kind) = kind_of(code, message, &detail);
    let mut failure = Failure::new(category, kind, message);
    failure.code = code.map(str::to_owned);
    let spans = diag.spans.as_deref().unwrap_or_default();
    let primary = spans.iter().find(|sp| sp.is_primary).or_else(|| spans.first());
    if let Some(span) = primary {
        let span = outermost_user_span(span);
        if !span.file_name.is_empty() {
            let num = |n: Option<u64>| n.and_then(|n| u32::try_from(n).ok());
            failure = failure.at(relativize(&span.file_name, root), num(span.line_start), num(span.column_start));
        }
        if rendered.trim().is_empty() {
            let lines: Vec<&str> = span.text.iter().map(|l| l.text.as_str()).collect();
            if !lines.is_empty() {
                failure.snippet = Some(bounded(&lines, MAX_SNIPPET_LINES));
            }
        }
    }
    if !rendered.trim().is_empty() {
        let lines: Vec<&str> = rendered.lines().collect();
        failure.snippet = Some(bounded(&user_part(&lines), MAX_SNIPPET_LINES));
    }
    Some(failure)
}

/// A span inside a macro expansion points into the macro; follow it out to the call site in user code.
fn outermost_user_span(span: &Span) -> &Span {
    let mut current = span;
    for _ in 0..16 {
        if !current.file_name.starts_with('<') {
            break;
        }
        match current.expansion.as_ref().and_then(|e| e.span.as_ref()) {
            Some(next) => current = next,
            None => break,
        }
    }
    current
}

/// Parses human-readable rustc/cargo diagnostics (`error[E0308]: …` then ` --> file:line:col`).
///
/// Lines inside libtest `---- name stdout ----` sections are skipped: they belong to tests.
pub(crate) fn human(text: &str, root: &Path) -> Vec<Failure> {
    let mut out = Vec::new();
    // Diagnostics start a line with `error`: one search spares the line scan
    // for output that has none (JSON messages, passing test runs).
    if !text.starts_with("error") && !text.contains("\nerror") {
        return out;
    }
    let mut in_test_section = false;
    let mut lines = text.lines();
    // A line that ended a diagnostic's block and must itself be looked at next.
    let mut pending: Option<&str> = None;
    let mut block: Vec<&str> = Vec::new();
    while let Some(line) = pending.take().or_else(|| lines.next()) {
        if crate::libtest::section_header(line).is_some() {
            in_test_section = true;
        } else if in_test_section && crate::libtest::ends_sections(line) {
            in_test_section = false;
        }
        if in_test_section {
            continue;
        }
        let Some((code, message)) = error_header(line) else {
            continue;
        };
        // The block runs to the next blank line or the next top-level diagnostic.
        block.clear();
        for next in lines.by_ref() {
            let warning = next.starts_with("warning") && next.contains(": ");
            if next.trim().is_empty() || error_header(next).is_some() || warning {
                pending = Some(next);
                break;
            }
            block.push(next);
        }
        if is_summary(message) {
            continue;
        }
        out.push(human_failure(code, message, &block, root));
    }
    out
}

/// `error[E0308]: mismatched types` → (Some("E0308"), "mismatched types").
fn error_header(line: &str) -> Option<(Option<&str>, &str)> {
    let rest = line.strip_prefix("error")?;
    if let Some(rest) = rest.strip_prefix(": ") {
        return Some((None, rest.trim()));
    }
    let rest = rest.strip_prefix('[')?;
    let (code, msg) = rest.split_once("]: ")?;
    Some((Some(code), msg.trim()))
}

/// Builds a failure from a human diagnostic's header and the lines under it.
fn human_failure(code: Option<&str>, message: &str, block: &[&str], root: &Path) -> Failure {
    let detail = block.join("\n");
    let mut code = code.map(str::to_owned);
    if code.is_none() {
        code = denied_lint(&detail);
    }
    let (category, kind) = kind_of(code.as_deref(), message, &detail);
    // Messages of cargo's own errors continue on the following lines ("Caused by:").
    let mut full_message = message.to_owned();
    let mut failure_loc = None;
    let mut snippet: Vec<&str> = Vec::new();
    let mut in_snippet = false;
    for line in block {
        let t = line.trim_start();
        if let Some(loc) = t.strip_prefix("--> ").or_else(|| t.strip_prefix("::: ")) {
            if failure_loc.is_none() && t.starts_with("-->") {
                failure_loc = parse_location(loc);
                in_snippet = true;
            }
            continue;
        }
        if in_snippet {
            let is_source = t.starts_with('|')
                || t.starts_with("...")
                || t.split_once('|').is_some_and(|(n, _)| {
                    let n = n.trim();
                    !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
                });
            if is_source {
                snippet.push(line);
                continue;
            }
            in_snippet = false;
        }
        if failure_loc.is_none() && snippet.is_empty() && category != FailureCategory::Lint {
            full_message.push('\n');
            full_message.push_str(line.trim_end());
        }
    }
    let message_lines: Vec<&str> = full_message.lines().collect();
    let mut failure = Failure::new(category, kind, bounded(&message_lines, MAX_MESSAGE_LINES));
    failure.code = code;
    if let Some((file, line, col)) = failure_loc {
        failure = failure.at(relativize(&file, root), Some(line), col);
    }
    if !snippet.is_empty() {
        // The whole diagnostic under the header: source lines, labels, notes and help, as rustc rendered them.
        failure.snippet = Some(bounded(&user_part(block), MAX_SNIPPET_LINES));
    }
    failure
}

/// The lint named in "`-D clippy::ptr-arg` implied by `-D warnings`" or `#[deny(…)]`, as `clippy::ptr_arg`.
fn denied_lint(detail: &str) -> Option<String> {
    for line in detail.lines() {
        let t = line.trim_start().trim_start_matches("= ").trim_start_matches("note: ");
        if let Some(rest) = t.strip_prefix("`-D ").or_else(|| t.strip_prefix("`-F ")) {
            if let Some((lint, tail)) = rest.split_once('`') {
                if tail.contains("implied by") {
                    return Some(lint.replace('-', "_"));
                }
            }
        }
        if let Some(idx) = ["#[deny(", "#![deny(", "#[forbid(", "#![forbid("].iter().find_map(|p| t.find(p)) {
            let rest = &t[idx..];
            let start = rest.find('(')? + 1;
            let end = rest[start..].find(')')? + start;
            return Some(rest[start..end].to_owned());
        }
    }
    None
}
