//! [`NodeTestClassifier`]: structured failures from `node --test`, spec or TAP reporter.

use crate::common::{MAX_MESSAGE_LINES, Parsed, bounded, finish, relativize, source_snippet};
use crate::jest::{is_user_path, stack_frame, test_kind};
use agent_core::FailureClassifier;
use agent_core::exec::RunOutput;
use agent_core::failure::{Classification, Failure, FailureCategory, FailureKind, TestCounts};
use agent_core::workspace::WorkspaceProfile;
use std::path::{Path, PathBuf};

/// Classifies the output of node's built-in test runner, `node --test`.
///
/// - TAP (`not ok 1 - name` with its YAML block: `error`, `name`, `stack`,
///   `location`) and the spec reporter (`✖ name (1ms)` followed by the
///   indented error and stack) are both read.
/// - An `AssertionError` / `ERR_ASSERTION` becomes
///   [`FailureKind::TestAssertion`], a cancelled or timed-out test
///   [`FailureKind::TestTimeout`], anything else [`FailureKind::TestPanic`].
///   The location is the first stack frame inside the workspace (the throw
///   site), else the test's own `location`.
/// - Parents that failed only because a subtest failed are not repeated.
/// - Counts come from `# pass N` / `ℹ pass N`, `fail`, `skipped`, `todo`.
///
/// ```
/// use agent_core::FailureClassifier;
/// use agent_core::failure::FailureKind;
/// use agent_core::exec::RunOutput;
/// use agent_core::workspace::WorkspaceProfile;
/// use agent_classify::NodeTestClassifier;
///
/// let tap = "TAP version 13\nnot ok 1 - adds\n  ---\n  error: 'boom'\n  name: 'AssertionError'\n  \
///     stack: |-\n    TestContext.<anonymous> (file:///w/a.test.js:6:10)\n  ...\n1..1\n# pass 0\n# fail 1\n";
/// let run = RunOutput::from_text("node --test", 1, tap, "");
/// let c = NodeTestClassifier::new().classify(&run, &WorkspaceProfile::new("/w"));
/// assert_eq!(c.failures[0].kind, FailureKind::TestAssertion);
/// assert_eq!(c.failures[0].line, Some(6));
/// assert_eq!(c.tests.unwrap().failed, 1);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct NodeTestClassifier;

impl NodeTestClassifier {
    /// The tool name in every [`Classification`] this classifier makes.
    pub const TOOL: &'static str = "node";

    /// A `node --test` classifier.
    pub fn new() -> Self {
        Self
    }
}

/// The first workspace frame among `lines` (each a frame with or without `at `).
fn first_user_frame<'a>(
    lines: impl Iterator<Item = &'a str>,
    root: &Path,
) -> Option<(PathBuf, u32, Option<u32>, String)> {
    lines
        .filter_map(|l| {
            let t = l.trim();
            let (file, ln, col) = stack_frame(t)?;
            let file = relativize(&file, root);
            is_user_path(&file).then(|| (file, ln, col, t.to_owned()))
        })
        .next()
}

/// Strips a YAML scalar's quotes.
fn unquote(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('\'')
        .and_then(|s| s.strip_suffix('\''))
        .or_else(|| s.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
        .unwrap_or(s)
}

fn build(
    name: &str,
    kind: FailureKind,
    mut message: Vec<String>,
    frame: Option<(PathBuf, u32, Option<u32>, String)>,
    location: Option<(PathBuf, u32, Option<u32>)>,
    root: &Path,
) -> Failure {
    if let Some((_, _, _, raw)) = &frame {
        message.push(format!("at {}", raw.trim_start_matches("at ")));
    }
    let refs: Vec<&str> = message.iter().map(String::as_str).collect();
    let mut f = Failure::new(FailureCategory::Test, kind, bounded(&refs, MAX_MESSAGE_LINES)).in_test(name);
    if let Some((file, ln, col)) = frame.map(|(f, l, c, _)| (f, l, c)).or(location) {
        f.snippet = source_snippet(root, &file, ln);
        f = f.at(file, Some(ln), col);
    }
    f
}

fn kind_for(text: &str, failure_type: &str) -> FailureKind {
    if failure_type == "cancelledByParent" || text.contains("timed out") || failure_type.contains("imeout") {
        FailureKind::TestTimeout
    } else {
        test_kind(text)
    }
}

/// Parses TAP output.
fn tap(text: &str, root: &Path, parsed: &mut Parsed) {
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let t = lines[i].trim_start();
        let Some(rest) = t.strip_prefix("not ok ") else {
            i += 1;
            continue;
        };
        let name = rest.split_once(" - ").map_or(rest, |(_, n)| n).trim();
        let name = name.split(" # ").next().unwrap_or(name).to_owned();
        let mut j = i + 1;
        let (mut error, mut err_name, mut code, mut failure_type) =
            (Vec::new(), String::new(), String::new(), String::new());
        let mut location = None;
        let mut stack: Vec<&str> = Vec::new();
        if j < lines.len() && lines[j].trim() == "---" {
            let indent = lines[j].len() - lines[j].trim_start().len();
            j += 1;
            let mut current = "";
            while j < lines.len() && lines[j].trim() != "..." {
                let l = lines[j];
                let ind = l.len() - l.trim_start().len();
                if ind == indent && l.trim_start().contains(':') {
                    let (key, value) = l.trim_start().split_once(':').unwrap_or(("", ""));
                    let value = value.trim();
                    current = key;
                    match key {
                        "error" if value != "|-" && value != "|" => error.push(unquote(value).to_owned()),
                        "name" => err_name = unquote(value).to_owned(),
                        "code" => code = unquote(value).to_owned(),
                        "failureType" => failure_type = unquote(value).to_owned(),
                        "location" => {
                            location = crate::common::parse_location(unquote(value))
                                .map(|(f, l, c)| (relativize(&f, root), l, c))
                                .filter(|(f, _, _)| is_user_path(f));
                        }
                        _ => {}
                    }
                } else if current == "error" {
                    error.push(l.trim().to_owned());
                } else if current == "stack" {
                    stack.push(l);
                }
                j += 1;
            }
        }
        i = j;
        if failure_type == "subtestsFailed" {
            continue;
        }
        while error.last().is_some_and(|l| l.is_empty()) {
            error.pop();
        }
        let mut message = Vec::new();
        let first = error.first().cloned().unwrap_or_default();
        message.push(if err_name.is_empty() { first } else { format!("{err_name}: {first}") });
        message.extend(error.iter().skip(1).cloned());
        let kinds_text = format!("{} {} {}", err_name, code, message.join("\n"));
        let kind = kind_for(&kinds_text, &failure_type);
        let frame = first_user_frame(stack.iter().copied(), root);
        parsed.failures.push(build(&name, kind, message, frame, location, root));
    }
}

/// Parses the spec reporter's output (the part before `✖ failing tests:`).
fn spec(text: &str, root: &Path, parsed: &mut Parsed) {
    let text = text.split("✖ failing tests:").next().unwrap_or(text);
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let t = lines[i].trim_start();
        let Some(rest) = t.strip_prefix("✖ ") else {
            i += 1;
            continue;
        };
        let indent = lines[i].len() - t.len();
        let name = match rest.rfind(" (") {
            Some(k) if rest.ends_with(')') => &rest[..k],
            _ => rest,
        };
        let mut j = i + 1;
        let mut body: Vec<&str> = Vec::new();
        while j < lines.len() {
            let l = lines[j];
            let ind = l.len() - l.trim_start().len();
            if !l.trim().is_empty() && ind <= indent {
                break;
            }
            let lt = l.trim_start();
            if lt.starts_with("✖ ") || lt.starts_with("✔ ") || lt.starts_with("﹣ ") {
                break;
            }
            body.push(l);
            j += 1;
        }
        i = j;
        let joined = body.join("\n");
        if joined.contains("subtest failed")
            || joined.contains("subtests failed")
            || body.iter().all(|l| l.trim().is_empty())
        {
            continue;
        }
        let mut message = Vec::new();
        for l in &body {
            let lt = l.trim();
            if lt.starts_with("at ") || lt.ends_with('{') {
                break;
            }
            message.push(lt.to_owned());
        }
        while message.last().is_some_and(|l| l.is_empty()) {
            message.pop();
        }
        let kind = kind_for(&joined, "");
        let frame = first_user_frame(body.iter().copied().filter(|l| l.trim_start().starts_with("at ")), root);
        parsed.failures.push(build(name.trim(), kind, message, frame, None, root));
    }
}

/// Counts from `# pass 1` (TAP) or `ℹ pass 1` (spec).
fn counts(text: &str) -> Option<TestCounts> {
    let mut c = TestCounts::default();
    let mut seen = false;
    for l in text.lines() {
        let t = l.trim_start();
        let Some(rest) = t.strip_prefix("# ").or_else(|| t.strip_prefix("ℹ ")) else { continue };
        let mut w = rest.split_whitespace();
        let (Some(key), Some(n), None) = (w.next(), w.next(), w.next()) else { continue };
        let Ok(n) = n.parse::<u32>() else { continue };
        match key {
            "pass" => c.passed = n,
            "fail" => c.failed = n,
            "skipped" | "todo" => c.ignored = c.ignored.saturating_add(n),
            "tests" => {}
            _ => continue,
        }
        seen = true;
    }
    seen.then_some(c)
}

impl FailureClassifier for NodeTestClassifier {
    fn test_outcomes(&self, run: &RunOutput) -> Vec<agent_core::failure::TestOutcome> {
        crate::outcomes::of_run(run)
    }

    fn classify(&self, run: &RunOutput, ws: &WorkspaceProfile) -> Classification {
        let root = ws.root.as_path();
        let stdout = run.stdout.text();
        let stderr = run.stderr.text();
        let mut parsed = Parsed { test_run: true, ..Parsed::default() };
        for text in [&stdout, &stderr] {
            if text.lines().any(|l| l.trim_start().starts_with("not ok ") || l.starts_with("TAP version")) {
                tap(text, root, &mut parsed);
            } else {
                spec(text, root, &mut parsed);
            }
            if let Some(c) = counts(text) {
                parsed.tests = Some(c);
            }
        }
        // A test file that cannot load its imports fails as a whole (`test failed`); node prints
        // the loader's `Error: Cannot find module 'x'` beside it, as TAP comments or on stderr.
        let module_error = stdout
            .lines()
            .chain(stderr.lines())
            .find(|l| l.contains("Cannot find module ") || l.contains("Cannot find package "))
            .map(|l| l.trim_start_matches('#').trim().to_owned());
        if let Some(line) = module_error {
            for f in parsed.failures.iter_mut().filter(|f| f.message.trim() == "test failed") {
                f.message = format!("{line}\n{}", f.message);
            }
        }
        crate::jest::js_environment(&mut parsed.failures, root);
        let mut c = finish(Self::TOOL, run, parsed, "node");
        if c.tests.is_some_and(|t| t.passed == 0 && t.failed == 0 && t.ignored == 0) {
            c.valid_run = false;
            c.notes.push("no tests were found: the suite did not run".to_owned());
        }
        c
    }
}
