//! [`PytestClassifier`]: structured failures from pytest's text output.

use super::{no_module_named, tool_not_installed};
use crate::common::{MAX_MESSAGE_LINES, Parsed, SnippetCache, bounded, finish, relativize};
use agent_core::FailureClassifier;
use agent_core::exec::RunOutput;
use agent_core::failure::{Classification, Failure, FailureCategory, FailureKind, TestCounts};
use agent_core::workspace::WorkspaceProfile;
use rustc_hash::{FxHashMap, FxHashSet};
use std::path::{Path, PathBuf};

/// Classifies pytest's text output (default or `-rA`, any `--tb` style that prints
/// `file:line: ErrorType` locations).
///
/// - Each failed test becomes a test failure named by its node id
///   (`tests/test_calc.py::test_add_param[2-3-6]`): an `AssertionError` is a
///   [`FailureKind::TestAssertion`], a `NameError` a [`FailureKind::UnresolvedName`], any
///   other exception a [`FailureKind::TestPanic`].
///   The location is where the exception was raised, when that is in the project.
/// - Collection errors are build failures: `SyntaxError` → [`FailureKind::Syntax`];
///   `ImportError`/`ModuleNotFoundError` → [`FailureKind::UnresolvedImport`] when the
///   module is the project's own (a `.py` file or package under the root or `root/src`),
///   else [`FailureKind::MissingDependency`].
/// - Counts come from the final summary line (`3 failed, 2 passed, 1 skipped, 1 xfailed in 0.06s`):
///   failed and error count as failed; skipped, xfailed and deselected as ignored;
///   passed and xpassed as passed.
/// - `valid_run` is false when no tests ran (exit 5, `no tests ran`), when the exit
///   code disagrees with what was parsed (a non-zero exit with no parsed failure,
///   `PASSED` lines with exit 1, exit 0 with failures), or when no summary was found.
/// - `No module named pytest` (pytest itself missing) is an
///   [`FailureKind::Environment`] failure: tier infrastructure, and not a valid run.
///
/// ```
/// use agent_core::FailureClassifier;
/// use agent_core::failure::FailureKind;
/// use agent_core::exec::RunOutput;
/// use agent_core::workspace::WorkspaceProfile;
/// use agent_classify::PytestClassifier;
///
/// let stdout = "tests/test_a.py F\n\
///     =================================== FAILURES ===================================\n\
///     ___________________________________ test_a ___________________________________\n\
///     \n    def test_a():\n>       assert 1 == 2\nE       assert 1 == 2\n\n\
///     tests/test_a.py:2: AssertionError\n\
///     =========================== short test summary info ============================\n\
///     FAILED tests/test_a.py::test_a - assert 1 == 2\n\
///     ============================== 1 failed in 0.01s ===============================\n";
/// let run = RunOutput::from_text("pytest", 1, stdout, "");
/// let c = PytestClassifier::new().classify(&run, &WorkspaceProfile::default());
/// assert!(c.valid_run);
/// assert_eq!(c.failures[0].kind, FailureKind::TestAssertion);
/// assert_eq!(c.failures[0].test_name.as_deref(), Some("tests/test_a.py::test_a"));
/// assert_eq!(c.failures[0].line, Some(2));
/// assert_eq!(c.tests.unwrap().failed, 1);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct PytestClassifier;

impl PytestClassifier {
    /// The tool name in every [`Classification`] this classifier makes.
    pub const TOOL: &'static str = "pytest";

    /// A pytest classifier.
    pub fn new() -> Self {
        Self
    }
}

/// pytest's exit code when no tests were collected.
const EXIT_NO_TESTS: i32 = 5;
/// pytest's exit code for a usage error.
const EXIT_USAGE: i32 = 4;

/// Which section of the report a line is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Section {
    Other,
    Failures,
    Errors,
}

/// One `____ title ____` block of the FAILURES or ERRORS section.
pub(super) struct Block<'a> {
    /// The title between the underscores (`test_add_fails`, `ERROR collecting x.py`).
    pub(super) title: &'a str,
    /// The section the block is in.
    pub(super) section: Section,
    /// The block's lines, without the title.
    pub(super) lines: Vec<&'a str>,
}

/// A line made of `=` around a title: `=== FAILURES ===` → `FAILURES`.
fn banner(line: &str, fill: char) -> Option<&str> {
    // Banners start the line; a first-byte check spares trimming every other line.
    if !line.trim_start().starts_with(fill) {
        return None;
    }
    let t = line.trim();
    if t.len() < 5 || !t.ends_with(fill) {
        return None;
    }
    let inner = t.trim_matches(fill).trim();
    Some(inner)
}

/// Parses a summary like `3 failed, 2 passed, 1 skipped in 0.06s` (banner already removed).
pub(crate) fn summary_counts(text: &str) -> Option<(TestCounts, bool)> {
    let t = text.trim().trim_matches('=').trim();
    let (body, time) = t.rsplit_once(" in ")?;
    let time = time.split_whitespace().next()?;
    if !time.ends_with('s') || !time.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    if body == "no tests ran" {
        return Some((TestCounts::default(), true));
    }
    let mut counts = TestCounts::default();
    let mut any = false;
    for part in body.split(", ") {
        let (n, what) = part.trim().split_once(' ')?;
        let n: u32 = n.parse().ok()?;
        match what {
            "passed" | "xpassed" => counts.passed = counts.passed.saturating_add(n),
            "failed" | "error" | "errors" => counts.failed = counts.failed.saturating_add(n),
            "skipped" | "xfailed" | "deselected" => counts.ignored = counts.ignored.saturating_add(n),
            "warning" | "warnings" | "rerun" | "reruns" | "subtests passed" => {}
            _ => return None,
        }
        any = true;
    }
    any.then_some((counts, false))
}

/// A `file.py:12: ErrorType` or `file.py:12: in func` traceback location.
fn traceback_location(line: &str) -> Option<(&str, u32, &str)> {
    if line.is_empty() || line.starts_with([' ', 'E', '>', '_']) {
        return None;
    }
    // The first `.py:LINE:` in the line; what follows (after a space) is the text.
    // A byte scan: this runs on every line of every traceback.
    for (i, _) in line.match_indices(':') {
        if !line[..i].ends_with(".py") {
            continue;
        }
        let rest = &line[i + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            continue;
        }
        let after = rest[digits..].strip_prefix(':')?;
        if !(after.is_empty() || after.starts_with(' ')) {
            return None;
        }
        let file = &line[..i];
        if file.contains(": ") {
            // `text: file.py:3:` is not a location line.
            return None;
        }
        return Some((file, rest[..digits].parse().ok()?, after.trim()));
    }
    None
}

/// `File "/path/x.py", line 2` in a SyntaxError report.
fn syntax_location(line: &str) -> Option<(&str, u32)> {
    let rest = line.trim_start_matches('E').trim_start().strip_prefix("File \"")?;
    let (file, rest) = rest.split_once('"')?;
    let n = rest.trim_start_matches(',').trim().strip_prefix("line ")?;
    let n = n.split(|c: char| !c.is_ascii_digit()).next()?;
    Some((file, n.parse().ok()?))
}

/// The exception type at the start of an `E   ` line: `ValueError: msg` → `ValueError`.
fn exception_type(message: &str) -> Option<&str> {
    // `Failed` only as the whole name (pytest's `pytest.fail`), not as a suffix.
    super::exception_head(message, &["Warning"]).or_else(|| {
        let head = message.split_once(':').map_or(message, |(h, _)| h).trim();
        (head.rsplit('.').next() == Some("Failed")).then_some(head)
    })
}

/// Turns a path printed by pytest into one relative to the workspace root,
/// also trying pytest's own `rootdir:` when the path is not under `root`.
fn project_path(file: &str, root: &Path, rootdir: Option<&Path>) -> PathBuf {
    let rel = relativize(file, root);
    if rel.is_absolute() {
        if let Some(base) = rootdir {
            if let Ok(r) = rel.strip_prefix(base) {
                return r.to_path_buf();
            }
        }
    }
    rel
}

/// Whether a traceback file is the user's code rather than the interpreter's or a package's.
fn is_user_file(file: &str) -> bool {
    !(file.starts_with('<')
        || file.contains("site-packages")
        || file.contains("dist-packages")
        || file.contains("/lib/python")
        || file.contains("_pytest/"))
}

/// The kind of a test failure from its exception type.
fn test_kind(exc: Option<&str>, message: &str) -> FailureKind {
    // pytest-timeout's signal method fails the test with `Failed: Timeout (>2.0s) from pytest-timeout.`
    if message.contains("Timeout (>") || message.contains("from pytest-timeout") {
        return FailureKind::TestTimeout;
    }
    match exc {
        Some(e) if e.ends_with("AssertionError") => FailureKind::TestAssertion,
        // A name the test or the code under test uses and nothing defines: the same
        // unresolved name a collection error or a compiler reports, not a crash of the test.
        Some(e) if e.rsplit('.').next() == Some("NameError") => FailureKind::UnresolvedName,
        Some(e) if e.ends_with("Timeout") || e.contains("Timeout") => FailureKind::TestTimeout,
        Some(_) => FailureKind::TestPanic,
        None if message.starts_with("assert ") || message.starts_with("AssertionError") => FailureKind::TestAssertion,
        None if message.starts_with("Failed: Timeout") => FailureKind::TestTimeout,
        None => FailureKind::TestPanic,
    }
}

/// The category of a test's failure of `kind`: a name that does not resolve is the code's
/// (build), anything else the test's.
fn category_of(kind: FailureKind) -> FailureCategory {
    if kind == FailureKind::UnresolvedName { FailureCategory::Build } else { FailureCategory::Test }
}

/// Context for building failures.
pub(super) struct Ctx<'a> {
    root: &'a Path,
    rootdir: Option<PathBuf>,
    snippets: std::cell::RefCell<SnippetCache>,
}

impl<'a> Ctx<'a> {
    /// A context for a workspace `root` and pytest's own `rootdir:`, when printed.
    pub(super) fn new(root: &'a Path, rootdir: Option<PathBuf>) -> Self {
        Self { root, rootdir, snippets: std::cell::RefCell::default() }
    }

    /// A failure located at `file:line`, with a snippet when the file is
    /// readable inside the workspace. pytest's `rootdir:` comes from the
    /// output: a path under it is read only when it is also under the root.
    pub(super) fn locate(&self, mut f: Failure, file: &str, line: u32) -> Failure {
        let path = project_path(file, self.root, self.rootdir.as_deref());
        let mut cache = self.snippets.borrow_mut();
        f.snippet = cache.get(self.root, &path, line).or_else(|| {
            let base = self.rootdir.as_deref()?;
            cache.get(self.root, &base.join(&path), line)
        });
        f.at(path, Some(line), None)
    }

    /// A failure from one FAILURES/ERRORS block.
    pub(super) fn block_failure(&self, block: &Block<'_>, node_id: Option<&str>) -> Failure {
        let errors: Vec<&str> =
            block.lines.iter().filter_map(|l| l.strip_prefix("E ").map(str::trim)).filter(|l| !l.is_empty()).collect();
        let locations: Vec<(&str, u32, &str)> = block.lines.iter().filter_map(|l| traceback_location(l)).collect();
        // The exception line: the last `E   Type: msg` line, else the type on the last location line.
        let exc_line = errors.iter().rev().find(|l| exception_type(l).is_some()).copied();
        let exc = exc_line
            .and_then(exception_type)
            .or_else(|| locations.last().map(|(_, _, t)| *t).filter(|t| exception_type(t).is_some()));
        let message_lines: Vec<&str> =
            if errors.is_empty() { block.lines.iter().rev().take(5).rev().copied().collect() } else { errors.clone() };
        let message = bounded(&message_lines, MAX_MESSAGE_LINES);
        let collecting = block.title.strip_prefix("ERROR collecting ");
        let doctest = block.title.starts_with("[doctest] ");
        let (category, kind, code) = if let Some(_path) = collecting {
            let (category, kind, code) = self.collection_kind(exc, &errors);
            let category = if kind == FailureKind::Environment { FailureCategory::Infrastructure } else { category };
            (category, kind, code)
        } else if doctest {
            (FailureCategory::Test, FailureKind::DocTest, exc.or(Some("DocTestFailure")))
        } else if let Some(m) = exc
            .filter(|e| e.ends_with("ModuleNotFoundError"))
            .and_then(|_| errors.iter().find_map(|l| no_module_named(l)))
            .filter(|m| !super::is_project_module(m, self.root))
        {
            // An import inside the test of a third-party module: missing here, or undeclared.
            let mut roots = vec![self.root];
            roots.extend(self.rootdir.as_deref());
            let kind = super::missing_module_kind(m, &roots);
            let category =
                if kind == FailureKind::Environment { FailureCategory::Infrastructure } else { FailureCategory::Build };
            (category, kind, exc)
        } else if block.section == Section::Errors {
            // An error in a fixture or in setup/teardown: the test did not get to run.
            (FailureCategory::Test, FailureKind::TestPanic, exc)
        } else {
            let kind = test_kind(exc, &message);
            (category_of(kind), kind, exc)
        };
        let mut f = Failure::new(category, kind, message);
        f.code = code.map(|c| c.rsplit('.').next().unwrap_or(c).to_owned());
        if category == FailureCategory::Test && kind != FailureKind::DocTest {
            // The whole traceback: `os.environ[...]` shows a KeyError to be a missing variable.
            crate::common::mark_environment(&mut f, &block.lines.join("\n"));
        }
        let syntax = errors.iter().find_map(|l| syntax_location(l));
        // Location: a SyntaxError's own position, else the deepest user frame, else the last frame.
        let loc = if let (FailureKind::Syntax, Some((file, line))) = (kind, syntax) {
            Some((file, line))
        } else {
            locations
                .iter()
                .rev()
                .find(|(file, _, _)| is_user_file(file))
                .or(locations.last())
                .map(|(file, line, _)| (*file, *line))
        };
        if let Some((file, line)) = loc {
            f = self.locate(f, file, line);
        } else if let Some(path) = collecting {
            f.file = Some(project_path(path, self.root, self.rootdir.as_deref()));
        }
        match (node_id, collecting) {
            (Some(id), _) => f.in_test(id),
            (None, Some(path)) => f.in_test(path.trim()),
            (None, None) => f.in_test(title_path(block.title)),
        }
    }

    /// The kind of a collection error.
    fn collection_kind<'e>(
        &self,
        exc: Option<&'e str>,
        errors: &[&str],
    ) -> (FailureCategory, FailureKind, Option<&'e str>) {
        let kind = match exc.map(|e| e.rsplit('.').next().unwrap_or(e)) {
            Some("SyntaxError" | "IndentationError" | "TabError") => FailureKind::Syntax,
            Some("ModuleNotFoundError" | "ImportError") => {
                let module = errors.iter().find_map(|l| no_module_named(l));
                let mut roots = vec![self.root];
                roots.extend(self.rootdir.as_deref());
                match module {
                    Some(m) => super::missing_module_kind(m, &roots),
                    None => FailureKind::UnresolvedImport,
                }
            }
            Some("NameError" | "AttributeError") => FailureKind::UnresolvedName,
            Some("TypeError") => FailureKind::Type,
            _ => FailureKind::Unknown,
        };
        (FailureCategory::Build, kind, exc)
    }
}

/// A short-summary line: `FAILED nodeid - msg`, `ERROR nodeid`, `PASSED nodeid`, ….
fn short_line(line: &str) -> Option<(&str, &str, &str)> {
    if !matches!(line.as_bytes().first(), Some(b'F' | b'E' | b'P' | b'S' | b'X')) {
        return None;
    }
    let (word, rest) = line.split_once(' ')?;
    if !matches!(word, "FAILED" | "ERROR" | "PASSED" | "SKIPPED" | "XFAIL" | "XPASS") {
        return None;
    }
    let (id, msg) = rest.split_once(" - ").unwrap_or((rest, ""));
    Some((word, id.trim(), msg.trim()))
}

/// The node id in `ids` (keyed by the part after the file) whose last part is the block
/// `title` (`test_add_param[2-3-6]`, `TestX.test_y` for methods).
fn node_id_for<'a>(title: &str, ids: &FxHashMap<&str, &'a str>) -> Option<&'a str> {
    if let Some(name) = title.strip_prefix("[doctest] ") {
        // `[doctest] pkg.mod.func` is `pkg/mod.py::pkg.mod.func`.
        return ids.get(name).copied();
    }
    let want = title_path(title);
    ids.get(want.as_str()).copied()
}

/// A block title's `Class.method` as node-id parts (`Class::method`); the dots of a
/// parametrize id (`test_discounted[10.0-15-8.0]`) are the parameters' own and stay.
fn title_path(title: &str) -> String {
    let (head, params) = title.split_at(title.find('[').unwrap_or(title.len()));
    format!("{}{params}", head.replace('.', "::"))
}

/// A node id's key for [`node_id_for`]: what follows the file (`tests/a.py::T::t` → `T::t`),
/// or the whole id for a collection error.
fn node_key(id: &str) -> &str {
    id.split_once("::").map_or(id, |(_, rest)| rest)
}

impl FailureClassifier for PytestClassifier {
    fn test_outcomes(&self, run: &RunOutput) -> Vec<agent_core::failure::TestOutcome> {
        crate::outcomes::of_run(run)
    }

    fn classify(&self, run: &RunOutput, ws: &WorkspaceProfile) -> Classification {
        let stdout = crate::common::text(&run.stdout);
        let stderr = crate::common::text(&run.stderr);
        let mut parsed = Parsed { test_run: true, ..Parsed::default() };
        let missing = tool_not_installed(run, "pytest");
        if let Some(f) = &missing {
            parsed.failures.push(f.clone());
            parsed.notes.push("pytest is not installed: no test ran".to_owned());
        }
        let mut rootdir = None;
        let mut blocks: Vec<Block<'_>> = Vec::new();
        let mut section = Section::Other;
        let mut failed_ids: Vec<&str> = Vec::new();
        let mut summary_failures: Vec<(&str, &str)> = Vec::new();
        let mut passed_lines = 0u32;
        let mut counts: Option<TestCounts> = None;
        let mut no_tests = false;
        let mut interrupted = false;
        for line in stdout.lines().chain(stderr.lines()) {
            if let Some(dir) = line.strip_prefix("rootdir: ") {
                let dir = dir.split(", ").next().unwrap_or(dir).trim();
                rootdir = Some(PathBuf::from(dir));
                continue;
            }
            if let Some(title) = banner(line, '=') {
                if let Some((c, none)) = summary_counts(title) {
                    counts = Some(c);
                    no_tests |= none;
                    section = Section::Other;
                    continue;
                }
                section = match title {
                    "FAILURES" => Section::Failures,
                    "ERRORS" => Section::Errors,
                    _ => Section::Other,
                };
                continue;
            }
            if let Some(title) = banner(line, '!') {
                interrupted |= title.starts_with("Interrupted");
                continue;
            }
            if section != Section::Other {
                if let Some(title) = banner(line, '_') {
                    // `_ _ _ _` separators between frames also match; they are not titles.
                    if !title.starts_with("_ ") && !title.is_empty() && !title.chars().all(|c| c == '_' || c == ' ') {
                        blocks.push(Block { title, section, lines: Vec::new() });
                        continue;
                    }
                }
                if let Some(b) = blocks.last_mut() {
                    b.lines.push(line);
                }
                continue;
            }
            if let Some((word, id, msg)) = short_line(line) {
                match word {
                    "FAILED" | "ERROR" => {
                        failed_ids.push(id);
                        summary_failures.push((id, msg));
                    }
                    "PASSED" => passed_lines = passed_lines.saturating_add(1),
                    _ => {}
                }
            } else if counts.is_none() && line.as_bytes().first().is_some_and(|b| b.is_ascii_digit() || *b == b'n') {
                // `-q` prints the summary without a banner.
                if let Some((c, none)) = summary_counts(line) {
                    counts = Some(c);
                    no_tests |= none;
                }
            }
        }
        let ctx = Ctx { root: ws.root.as_path(), rootdir, snippets: std::cell::RefCell::default() };
        let mut covered: FxHashSet<&str> = FxHashSet::default();
        let mut by_key: FxHashMap<&str, &str> = FxHashMap::default();
        for id in &failed_ids {
            by_key.entry(node_key(id)).or_insert(id);
        }
        // A block identical to an earlier one (same title, section and lines: output
        // repeated by a loop or concatenated runs) would give an identical failure,
        // which `finish` drops anyway: skip it before the work.
        let mut by_title: FxHashMap<(&str, Section), Vec<usize>> = FxHashMap::default();
        for (i, block) in blocks.iter().enumerate() {
            let earlier = by_title.entry((block.title, block.section)).or_default();
            if earlier.iter().any(|&j| blocks[j].lines == block.lines) {
                continue;
            }
            earlier.push(i);
            let collecting = block.title.strip_prefix("ERROR collecting ").map(str::trim);
            let id = match collecting {
                Some(path) => by_key.get(path).copied().filter(|id| *id == path),
                None => node_id_for(
                    block.title.trim_start_matches("ERROR at setup of ").trim_start_matches("ERROR at teardown of "),
                    &by_key,
                ),
            };
            if let Some(id) = id {
                covered.insert(id);
            }
            parsed.failures.push(ctx.block_failure(block, id));
        }
        // FAILED/ERROR lines with no traceback block (`--tb=no`, `-q`): the summary line alone.
        for (id, msg) in summary_failures {
            if !covered.insert(id) {
                continue;
            }
            let exc = exception_type(msg);
            let kind = test_kind(exc, msg);
            let mut f = Failure::new(category_of(kind), kind, if msg.is_empty() { "failed" } else { msg });
            f.code = exc.map(str::to_owned);
            if let Some((file, _)) = id.split_once("::") {
                f.file = Some(project_path(file, ctx.root, ctx.rootdir.as_deref()));
            }
            parsed.failures.push(f.in_test(id));
        }
        // A usage error (exit 4: a bad option, a bad `addopts`) also prints `no tests ran`:
        // the configuration is what failed, below.
        if (no_tests && run.exit_code != Some(EXIT_USAGE)) || run.exit_code == Some(EXIT_NO_TESTS) {
            parsed.notes.push("no tests ran: nothing was collected (pytest exit 5)".to_owned());
            parsed.failures.push(Failure::new(FailureCategory::Test, FailureKind::Unknown, "no tests ran"));
        }
        // pytest-timeout's thread method dumps the stacks between `+++ Timeout +++` lines and
        // ends the process: no summary; the hanging test is the last started (`-v`) or the
        // deepest frame of a test function in the dump.
        if !parsed.failures.iter().any(|f| f.kind == FailureKind::TestTimeout) {
            if let Some(f) = thread_timeout(&stdout, &stderr, &ctx) {
                parsed.failures.push(f);
            }
        }
        if let Some(f) = config_error(&stdout, &stderr, &ctx) {
            parsed.failures.push(f);
        }
        if run.exit_code == Some(EXIT_USAGE) && parsed.failures.is_empty() {
            let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
            parsed.failures.push(Failure::new(
                FailureCategory::Build,
                FailureKind::Config,
                bounded(&lines, MAX_MESSAGE_LINES),
            ));
        }
        if interrupted {
            parsed.notes.push("pytest was interrupted (collection errors): no test ran".to_owned());
        }
        if let Some(c) = counts {
            let parsed_failed = u32::try_from(covered.len()).unwrap_or(u32::MAX);
            if c.failed > 0 && parsed_failed == 0 && blocks.is_empty() {
                parsed.notes.push(format!("the summary reports {} failed but no failure was found", c.failed));
            }
        }
        if passed_lines > 0 && run.exit_code.is_some_and(|e| e != 0) && parsed.failures.is_empty() {
            parsed.notes.push(format!(
                "{passed_lines} PASSED line(s) but exit code {}: not a pass",
                run.exit_code.unwrap_or_default()
            ));
        }
        parsed.tests = counts;
        let mut c = finish(Self::TOOL, run, parsed, "pytest");
        if no_tests || run.exit_code == Some(EXIT_NO_TESTS) || missing.is_some() {
            c.valid_run = false;
        }
        if let Some(t) = c.tests {
            // The summary must agree with the exit code: failures reported with exit 0 are not a pass.
            if run.exit_code == Some(0) && t.failed > 0 {
                c.valid_run = false;
                c.notes.push(format!("exit code 0 but the summary reports {} failed", t.failed));
            }
        }
        c
    }
}

/// pytest-timeout's thread method: `+++++ Timeout +++++` and the stacks, then the process ends.
fn thread_timeout(stdout: &str, stderr: &str, ctx: &Ctx<'_>) -> Option<Failure> {
    let all = || stdout.lines().chain(stderr.lines());
    let banner = all().find(|l| l.contains("+ Timeout +") || l.trim_start_matches('+').trim() == "Timeout")?;
    // `-v` prints the banner on the test's own line: `tests/a.py::test_x ++++ Timeout ++++`.
    let on_line = banner.split(" +").next().map(str::trim).filter(|h| h.contains("::") && !h.contains(' '));
    // The deepest frame of a test function: `  File "/p/tests/test_a.py", line 9, in test_hangs`.
    let frame = all()
        .filter_map(|l| {
            let rest = l.trim_start().strip_prefix("File \"")?;
            let (file, rest) = rest.split_once('"')?;
            let (line, func) = rest.trim_start_matches(',').trim().strip_prefix("line ")?.split_once(", in ")?;
            (func.starts_with("test") && is_user_file(file))
                .then(|| (file, line.trim().parse::<u32>().ok(), func.trim()))
        })
        .next_back();
    let name = on_line.map(str::to_owned).or_else(|| {
        let (file, _, func) = frame?;
        let rel = project_path(file, ctx.root, ctx.rootdir.as_deref());
        Some(format!("{}::{func}", rel.display()))
    });
    let mut f = Failure::new(
        FailureCategory::Test,
        FailureKind::TestTimeout,
        match &name {
            Some(n) => format!("pytest-timeout stopped the run in `{n}`"),
            None => "pytest-timeout stopped the run".to_owned(),
        },
    );
    if let Some((file, Some(line), _)) = frame {
        f = ctx.locate(f, file, line);
    }
    f.test_name = name;
    Some(f)
}

/// A configuration failure that stops pytest before collection: a `conftest.py` that
/// cannot be imported (`ImportError while loading conftest '…'`) or a malformed
/// `pyproject.toml`/`pytest.ini`/`tox.ini`/`setup.cfg` (`ERROR: /p/pyproject.toml: Expected …`).
fn config_error(stdout: &str, stderr: &str, ctx: &Ctx<'_>) -> Option<Failure> {
    let lines: Vec<&str> = stdout.lines().chain(stderr.lines()).collect();
    for (i, line) in lines.iter().enumerate() {
        if let Some(rest) = line.strip_prefix("ImportError while loading conftest '") {
            let path = rest.split('\'').next().unwrap_or(rest);
            let errors: Vec<&str> = lines[i..].iter().filter_map(|l| l.strip_prefix("E ")).map(str::trim).collect();
            let mut message = vec![line.trim()];
            message.extend(errors.iter().copied());
            let mut f = Failure::new(FailureCategory::Build, FailureKind::Config, bounded(&message, MAX_MESSAGE_LINES));
            // A conftest importing a package the project declares and this
            // environment lacks: nothing in the code to fix.
            let mut roots = vec![ctx.root];
            roots.extend(ctx.rootdir.as_deref());
            if errors
                .iter()
                .filter_map(|e| super::no_module_named(e))
                .any(|m| super::missing_module_kind(m, &roots) == FailureKind::Environment)
            {
                f.category = FailureCategory::Infrastructure;
                f.kind = FailureKind::Environment;
            }
            f.code = errors
                .iter()
                .rev()
                .find_map(|e| exception_type(e))
                .map(|e| e.rsplit('.').next().unwrap_or(e).to_owned());
            let rel = project_path(path, ctx.root, ctx.rootdir.as_deref());
            let at = lines[i..]
                .iter()
                .filter_map(|l| traceback_location(l))
                .find(|(file, ..)| file.ends_with("conftest.py"));
            return Some(match at {
                Some((file, n, _)) => ctx.locate(f, file, n),
                None => {
                    f.file = Some(rel);
                    f
                }
            });
        }
        if let Some(rest) = line.strip_prefix("ERROR: ") {
            let Some((file, msg)) = rest.split_once(": ") else { continue };
            let config = ["pyproject.toml", "pytest.ini", "tox.ini", "setup.cfg", "conftest.py"];
            if !config.iter().any(|c| file.ends_with(c)) {
                continue;
            }
            let mut f = Failure::new(FailureCategory::Build, FailureKind::Config, rest.trim());
            f.file = Some(project_path(file, ctx.root, ctx.rootdir.as_deref()));
            f.line = msg
                .split_once("at line ")
                .and_then(|(_, n)| n.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok());
            return Some(f);
        }
    }
    None
}
