//! [`UnittestClassifier`]: structured failures from `python -m unittest` output.

use super::{missing_module_kind, no_module_named, tool_not_installed};
use crate::common::{MAX_MESSAGE_LINES, Parsed, SnippetCache, bounded, finish, mark_environment, relativize};
use agent_core::FailureClassifier;
use agent_core::exec::RunOutput;
use agent_core::failure::{Classification, Failure, FailureCategory, FailureKind, TestCounts, TestOutcome, TestStatus};
use agent_core::workspace::WorkspaceProfile;
use std::path::Path;

/// Classifies the text output of Python's `unittest` runner (`python -m unittest`,
/// with or without `-v`; `python -m unittest discover`; `python setup.py test`).
///
/// - Each `FAIL: name (id)` / `ERROR: name (id)` block becomes a test failure named by
///   the test's dotted id (`tests.test_calc.CalcTest.test_add`, what `python -m unittest`
///   accepts to re-run it): an `AssertionError` in a `FAIL` block is a
///   [`FailureKind::TestAssertion`], an `ERROR` block a [`FailureKind::TestPanic`]
///   (a `NameError` a [`FailureKind::UnresolvedName`]),
///   located at the deepest traceback frame in the project.
/// - A test module that cannot be imported (`unittest.loader._FailedTest`) is a build
///   failure named by the module: `SyntaxError` → [`FailureKind::Syntax`]; an import of
///   the project's own module → [`FailureKind::UnresolvedImport`]; a third-party module
///   the project declares but this environment lacks → [`FailureKind::Environment`];
///   an undeclared one → [`FailureKind::MissingDependency`].
/// - A test failing on its environment (a `KeyError` from `os.environ[...]`, a missing
///   file, a port in use) → [`FailureKind::Environment`], tier infrastructure.
/// - A subtest failure (`FAIL: test_x (pkg.C.test_x) (i=2)`) is named by its test; a
///   failed `setUpClass` by its class; an `UNEXPECTED SUCCESS:` is a [`FailureKind::TestAssertion`].
/// - Counts from `Ran N tests` and `FAILED (failures=1, errors=2, skipped=1)` / `OK (skipped=1)`:
///   failures, errors and unexpected successes are failed; skips and expected failures ignored;
///   with `-v`, passes are its `ok` lines.
/// - `Ran 0 tests` / `NO TESTS RAN` is not a valid run.
///
/// ```
/// use agent_core::FailureClassifier;
/// use agent_core::failure::FailureKind;
/// use agent_core::exec::RunOutput;
/// use agent_core::workspace::WorkspaceProfile;
/// use agent_classify::UnittestClassifier;
///
/// let stderr = "F.\n\
/// ======================================================================\n\
/// FAIL: test_add (tests.test_a.T.test_add)\n\
/// ----------------------------------------------------------------------\n\
/// Traceback (most recent call last):\n  File \"tests/test_a.py\", line 6, in test_add\n    self.assertEqual(1, 2)\n\
/// AssertionError: 1 != 2\n\n\
/// ----------------------------------------------------------------------\n\
/// Ran 2 tests in 0.001s\n\nFAILED (failures=1)\n";
/// let run = RunOutput::from_text("python -m unittest", 1, "", stderr);
/// let c = UnittestClassifier::new().classify(&run, &WorkspaceProfile::default());
/// assert!(c.valid_run);
/// assert_eq!(c.failures[0].kind, FailureKind::TestAssertion);
/// assert_eq!(c.failures[0].test_name.as_deref(), Some("tests.test_a.T.test_add"));
/// assert_eq!(c.failures[0].line, Some(6));
/// assert_eq!(c.tests.unwrap().passed, 1);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct UnittestClassifier;

impl UnittestClassifier {
    /// The tool name in every [`Classification`] this classifier makes.
    pub const TOOL: &'static str = "unittest";

    /// A unittest classifier.
    pub fn new() -> Self {
        Self
    }
}

/// unittest's separators: 70 `=` before each failure, 70 `-` after its title and before `Ran`.
fn is_rule(line: &str, c: char) -> bool {
    let t = line.trim_end();
    t.len() >= 20 && t.chars().all(|x| x == c)
}

/// `name (id)` → the dotted id of the test (`pkg.mod.Class.name`); Python before 3.11
/// prints `name (pkg.mod.Class)`. A module that failed to import
/// (`tests.x (unittest.loader._FailedTest.tests.x)`) → `tests.x`.
pub(crate) fn test_id(head: &str) -> Option<String> {
    let head = head.trim();
    let (name, rest) = head.split_once(" (")?;
    // A subtest adds its parameters: `test_x (pkg.C.test_x) (i=2)`.
    let id = rest.split_once(')').map(|(i, _)| i)?;
    if name.is_empty() || name.contains(' ') || id.contains(' ') {
        return None;
    }
    if matches!(name, "setUpClass" | "tearDownClass" | "setUpModule" | "tearDownModule") {
        // A class or module fixture that failed: the id is the class (or module) itself.
        return Some(id.to_owned());
    }
    if let Some(module) = id.strip_prefix("unittest.loader._FailedTest.") {
        return Some(module.to_owned());
    }
    if id.starts_with("unittest.loader.") || id.starts_with("unittest.suite.") {
        return Some(name.to_owned());
    }
    Some(if id == name || id.ends_with(&format!(".{name}")) { id.to_owned() } else { format!("{id}.{name}") })
}

/// A verbose result line `name (id) ... RESULT` (or `name (id)\ndoc ... RESULT`): (id, result).
fn verbose_line(line: &str) -> Option<(String, &str)> {
    let (head, result) = line.rsplit_once(" ... ")?;
    let id = test_id(head)?;
    Some((id, result.trim()))
}

/// The outcome a `-v` line reports: `test_x (pkg.C.test_x) ... ok` (also `FAIL`, `ERROR`,
/// `skipped 'why'`, `expected failure`, `unexpected success`).
pub(crate) fn outcome(line: &str) -> Option<TestOutcome> {
    let (id, result) = verbose_line(line)?;
    let status = match result {
        "ok" => TestStatus::Passed,
        "FAIL" | "ERROR" | "unexpected success" => TestStatus::Failed,
        r if r.starts_with("skipped") || r == "expected failure" => TestStatus::Skipped,
        _ => return None,
    };
    Some(TestOutcome::new(id, status))
}

/// A `File "path", line N, in func` frame.
fn frame(line: &str) -> Option<(&str, u32, &str)> {
    let rest = line.trim_start().strip_prefix("File \"")?;
    let (file, rest) = rest.split_once('"')?;
    let rest = rest.trim_start_matches(',').trim().strip_prefix("line ")?;
    let (n, func) = rest.split_once(", in ").unwrap_or((rest, ""));
    Some((file, n.trim().parse().ok()?, func.trim()))
}

/// Whether a traceback file is the project's rather than the interpreter's or a package's.
fn is_user_file(file: &str) -> bool {
    !(file.starts_with('<')
        || file.contains("site-packages")
        || file.contains("dist-packages")
        || file.contains("/lib/python")
        || file.contains("/unittest/"))
}

/// The exception type at the start of a line: `ValueError: msg` → `ValueError`.
fn exception_type(line: &str) -> Option<&str> {
    if line.starts_with([' ', '\t']) {
        return None;
    }
    super::exception_head(line, &["Timeout", "Failure"])
}

/// One `FAIL:`/`ERROR:` block.
struct Block<'a> {
    error: bool,
    id: String,
    lines: Vec<&'a str>,
}

/// The `Ran N tests` count and the `FAILED (...)`/`OK (...)` line.
fn counts(ran: u32, status: &str) -> TestCounts {
    let mut c = TestCounts::default();
    let inner = status.split_once('(').map_or("", |(_, r)| r.trim_end_matches(')'));
    for part in inner.split(", ") {
        let Some((what, n)) = part.split_once('=') else { continue };
        let Ok(n) = n.trim().parse::<u32>() else { continue };
        match what.trim() {
            "failures" | "errors" | "unexpected successes" => c.failed = c.failed.saturating_add(n),
            "skipped" | "expected failures" => c.ignored = c.ignored.saturating_add(n),
            _ => {}
        }
    }
    c.passed = ran.saturating_sub(c.failed).saturating_sub(c.ignored);
    // Unexpected successes ran and "passed" but count as failures; `Ran` includes them once.
    c
}

impl UnittestClassifier {
    fn block_failure(&self, b: &Block<'_>, root: &Path, snippets: &mut SnippetCache) -> Failure {
        let frames: Vec<(usize, (&str, u32, &str))> =
            b.lines.iter().enumerate().filter_map(|(i, l)| frame(l).map(|f| (i, f))).collect();
        // The message: the exception lines after the last frame's source lines (column 0).
        let after = frames.last().map_or(0, |(i, _)| i + 1);
        let mut message: Vec<&str> =
            b.lines[after..].iter().copied().skip_while(|l| l.starts_with([' ', '\t'])).collect();
        while message.last().is_some_and(|l| l.trim().is_empty()) {
            message.pop();
        }
        if message.is_empty() && b.lines.iter().all(|l| l.trim().is_empty()) {
            message = vec!["unexpected success: the test is marked as an expected failure but passed"];
        }
        if message.is_empty() {
            let kept: Vec<&str> = b.lines.iter().copied().filter(|l| !l.trim().is_empty()).collect();
            message = kept[kept.len().saturating_sub(3)..].to_vec();
        }
        let exc_line = message.iter().find(|l| exception_type(l).is_some()).copied();
        let exc = exc_line.and_then(exception_type);
        let exc_name = exc.map(|e| e.rsplit('.').next().unwrap_or(e));
        let import_failure = b.lines.iter().any(|l| l.starts_with("ImportError: Failed to import test module"))
            || b.lines.iter().any(|l| l.contains("unittest.loader._FailedTest"));
        let (category, kind) = if import_failure {
            let kind = match exc_name {
                Some("SyntaxError" | "IndentationError" | "TabError") => FailureKind::Syntax,
                Some("ModuleNotFoundError" | "ImportError") => match message.iter().find_map(|l| no_module_named(l)) {
                    Some(m) => missing_module_kind(m, &[root]),
                    None => FailureKind::UnresolvedImport,
                },
                Some("NameError" | "AttributeError") => FailureKind::UnresolvedName,
                _ => FailureKind::Unknown,
            };
            let category =
                if kind == FailureKind::Environment { FailureCategory::Infrastructure } else { FailureCategory::Build };
            (category, kind)
        } else if let Some(m) = exc_name
            .filter(|e| *e == "ModuleNotFoundError")
            .and_then(|_| message.iter().find_map(|l| no_module_named(l)))
            .filter(|m| !super::is_project_module(m, root))
        {
            // An import inside the test of a third-party module: missing here, or undeclared.
            let kind = missing_module_kind(m, &[root]);
            let category =
                if kind == FailureKind::Environment { FailureCategory::Infrastructure } else { FailureCategory::Build };
            (category, kind)
        } else if exc_name.is_some_and(|e| e.contains("Timeout") || e == "TimeoutExpired") {
            (FailureCategory::Test, FailureKind::TestTimeout)
        } else if exc_name == Some("NameError") {
            // A name nothing defines: unresolved, as pytest's classifier says too.
            (FailureCategory::Build, FailureKind::UnresolvedName)
        } else if !b.error && exc_name.is_none_or(|e| e == "AssertionError" || e.ends_with("Failure")) {
            (FailureCategory::Test, FailureKind::TestAssertion)
        } else {
            (FailureCategory::Test, FailureKind::TestPanic)
        };
        let mut f = Failure::new(category, kind, bounded(&message, MAX_MESSAGE_LINES));
        f.code = exc_name.map(str::to_owned);
        if category == FailureCategory::Test {
            mark_environment(&mut f, &b.lines.join("\n"));
        }
        // Location: a SyntaxError's own position, else the deepest frame in the project.
        let syntax_at = (kind == FailureKind::Syntax)
            .then(|| b.lines.iter().rev().find_map(|l| frame(l).filter(|(file, ..)| is_user_file(file))))
            .flatten();
        let at = syntax_at.or_else(|| frames.iter().rev().map(|(_, f)| *f).find(|(file, ..)| is_user_file(file)));
        if let Some((file, line, _)) = at {
            let path = relativize(file, root);
            f.snippet = snippets.get(root, &path, line);
            f = f.at(path, Some(line), None);
        }
        f.in_test(b.id.as_str())
    }
}

/// Whether `text` is unittest's output: its summary (`Ran N tests in`) next to its
/// status line, or its `FAIL:`/`ERROR:` block headers under a rule of `=`.
pub(crate) fn detect(text: &str) -> bool {
    let mut prev_rule = false;
    let mut ran = false;
    for line in text.lines() {
        let t = line.trim_end();
        if prev_rule && (t.starts_with("FAIL: ") || t.starts_with("ERROR: ")) && t.ends_with(')') {
            return true;
        }
        if t.starts_with("Ran ") && t.contains(" test") && t.contains(" in ") && t.ends_with('s') {
            ran = true;
        }
        if ran && (t == "OK" || t.starts_with("OK (") || t.starts_with("FAILED (") || t == "NO TESTS RAN") {
            return true;
        }
        prev_rule = is_rule(t, '=');
    }
    false
}

impl FailureClassifier for UnittestClassifier {
    fn test_outcomes(&self, run: &RunOutput) -> Vec<TestOutcome> {
        crate::outcomes::of_run(run)
    }

    fn classify(&self, run: &RunOutput, ws: &WorkspaceProfile) -> Classification {
        let stdout = crate::common::text(&run.stdout);
        let stderr = crate::common::text(&run.stderr);
        let root = ws.root.as_path();
        let mut parsed = Parsed { test_run: true, ..Parsed::default() };
        if let Some(f) = tool_not_installed(run, "unittest") {
            parsed.failures.push(f);
        }
        // unittest writes to stderr; a runner may merge it into stdout.
        let mut blocks: Vec<Block<'_>> = Vec::new();
        let mut in_block = false;
        let mut prev_rule = false;
        let mut ran: Option<u32> = None;
        let mut status: Option<&str> = None;
        let lines: Vec<&str> = stderr.lines().chain(stdout.lines()).collect();
        for (i, line) in lines.iter().enumerate() {
            let t = line.trim_end();
            if is_rule(t, '=') {
                in_block = false;
                prev_rule = true;
                continue;
            }
            if prev_rule {
                prev_rule = false;
                let head = t
                    .strip_prefix("FAIL: ")
                    .or_else(|| t.strip_prefix("UNEXPECTED SUCCESS: "))
                    .map(|h| (false, h))
                    .or(t.strip_prefix("ERROR: ").map(|h| (true, h)));
                if let Some((error, head)) = head {
                    if let Some(id) = test_id(head) {
                        blocks.push(Block { error, id, lines: Vec::new() });
                        in_block = true;
                        continue;
                    }
                }
            }
            if is_rule(t, '-') {
                // The rule under a title, or the one before `Ran N tests` that ends the last block.
                if lines.get(i + 1).is_some_and(|n| n.starts_with("Ran ")) {
                    in_block = false;
                }
                continue;
            }
            if let Some(rest) = t.strip_prefix("Ran ") {
                if let Some(n) = rest.split_whitespace().next().and_then(|n| n.parse::<u32>().ok()) {
                    ran = Some(ran.unwrap_or(0).saturating_add(n));
                    in_block = false;
                    continue;
                }
            }
            if !in_block && (t == "OK" || t.starts_with("OK (") || t.starts_with("FAILED (") || t == "NO TESTS RAN") {
                status = Some(t);
                continue;
            }
            if in_block {
                if let Some(b) = blocks.last_mut() {
                    b.lines.push(line);
                }
            }
        }
        let mut snippets = SnippetCache::default();
        for b in &blocks {
            parsed.failures.push(self.block_failure(b, root, &mut snippets));
        }
        if let (Some(n), Some(s)) = (ran, status) {
            let mut c = counts(n, s);
            // `-v` lists each test: its `ok` lines are the exact passes (an error in
            // `setUpClass` is counted in `errors=` but not in `Ran N`).
            let oks = lines.iter().filter(|l| verbose_line(l).is_some_and(|(_, r)| r == "ok")).count();
            if oks > 0 {
                c.passed = u32::try_from(oks).unwrap_or(u32::MAX);
            }
            parsed.tests = Some(c);
            if n == 0 {
                parsed.notes.push("no tests ran: unittest found no test".to_owned());
                parsed.failures.push(Failure::new(FailureCategory::Test, FailureKind::Unknown, "no tests ran"));
            }
        } else if ran.is_some() || status.is_some() {
            parsed.tests = ran.map(|n| TestCounts { passed: n, ..TestCounts::default() });
        }
        if status == Some("NO TESTS RAN") && ran.is_none_or(|n| n != 0) {
            parsed.failures.push(Failure::new(FailureCategory::Test, FailureKind::Unknown, "no tests ran"));
        }
        // A run that stops before its summary (killed): the test it was in.
        if ran.is_none() {
            parsed.hanging_test = crate::common::last_started_test(&stderr);
        }
        let mut c = finish(Self::TOOL, run, parsed, "python");
        if c.failures.iter().any(|f| f.message == "no tests ran") {
            c.valid_run = false;
        }
        c
    }
}
