//! The repair-context builder: classified failures grouped by root cause,
//! each with its kind, location, message and the code around the line (the
//! enclosing function where a grammar is available), within a token budget
//! counted with tiktoken's `o200k_base`.
//!
//! [`RepairContextBuilder`] implements agent-core's
//! [`ContextRenderer`](agent_core::ContextRenderer), so a host hands it to
//! the loop with `RepairLoop::with_context_renderer` (agent-loop).
//!
//! ```
//! use agent_core::failure::{Classification, Failure, FailureCategory, FailureKind};
//! use agent_core::ContextRenderer;
//! use agent_classify::{RepairContextBuilder, count_tokens};
//!
//! // Forty tests fail on one panic location: one root cause.
//! let mut c = Classification::default();
//! for i in 0..40 {
//!     c.failures.push(
//!         Failure::new(FailureCategory::Test, FailureKind::TestPanic, "index out of bounds")
//!             .at("src/table.rs", Some(12), Some(5))
//!             .in_test(format!("tests::case_{i}")),
//!     );
//! }
//! let builder = RepairContextBuilder::new().with_budget(400);
//! let text = builder.render("/nonexistent".as_ref(), &c);
//! assert_eq!(text.matches("src/table.rs:12:5").count(), 1);
//! assert!(text.contains("in 40 tests"), "{text}");
//! assert!(count_tokens(&text) <= 400);
//! ```

use agent_core::ContextRenderer;
use agent_core::context::{mask_durations, test_status_line};
use agent_core::failure::{Classification, Failure, FailureKind};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Token counts: tiktoken's `o200k_base` with the `tokenizer` feature, else
/// one token per three bytes (see [`agent_tokens`]).
pub use agent_tokens::{count_tokens, exact_token_counts};

/// One root cause: failures that share a location and a cause (one compile
/// error failing many tests, many tests panicking at one line) or, without
/// a location, the same kind, code and message.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RootCause {
    /// The kind of the first failure of the group.
    pub kind: FailureKind,
    /// The file, relative to the workspace root when the classifier made it so.
    pub file: Option<PathBuf>,
    /// 1-based line.
    pub line: Option<u32>,
    /// 1-based column.
    pub column: Option<u32>,
    /// The tool's code (`E0308`), when it gave one.
    pub code: Option<String>,
    /// The first failure's message, as classified.
    pub message: String,
    /// The first failure's snippet from the tool output, if the classifier kept one.
    pub snippet: Option<String>,
    /// The names of the failing tests this cause accounts for, in order, without repeats.
    pub tests: Vec<String>,
    /// How many failures of the classification this cause accounts for.
    pub failures: usize,
}

impl RootCause {
    /// Groups `failures` by root cause, in an order that does not depend on
    /// the order of the output (parallel test runners print failures as they
    /// finish): what stops the build first (syntax, type, name, import,
    /// dependency, borrow errors), then lint findings, then test failures,
    /// each by file, line and column. A group's tests are sorted, and its
    /// message is that of its first test by name.
    ///
    /// Failures with a file and line group by file, line, kind and code (the
    /// first message line stands in for a missing code, except for test
    /// failures, where one location is one cause whatever values the
    /// assertion printed). Failures without a location group by kind, code
    /// and first message line. Test failures without a location (a test
    /// binary that did not build, a suite that could not load) join the
    /// first build failure with a location, when there is one: the tests
    /// failed because the code did not compile.
    ///
    /// ```
    /// use agent_core::failure::{Failure, FailureCategory, FailureKind};
    /// use agent_classify::RootCause;
    ///
    /// let panic = |test: &str| Failure::new(FailureCategory::Test, FailureKind::TestPanic, "boom")
    ///     .at("src/lib.rs", Some(7), None)
    ///     .in_test(test);
    /// let causes = RootCause::group(&[panic("a"), panic("b"), panic("c")]);
    /// assert_eq!(causes.len(), 1);
    /// assert_eq!(causes[0].tests, ["a", "b", "c"]);
    /// ```
    pub fn group(failures: &[Failure]) -> Vec<RootCause> {
        let mut groups: Vec<(GroupKey, Vec<&Failure>)> = Vec::new();
        let build_cause = failures
            .iter()
            .find(|f| f.category == agent_core::failure::FailureCategory::Build && f.file.is_some())
            .map(key_of);
        for f in failures {
            let key = match &build_cause {
                Some(build) if f.file.is_none() && f.category == agent_core::failure::FailureCategory::Test => {
                    build.clone()
                }
                _ => key_of(f),
            };
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, members)) => members.push(f),
                None => groups.push((key, vec![f])),
            }
        }
        let mut causes: Vec<RootCause> = groups
            .into_iter()
            .filter_map(|(_, members)| {
                // The member that speaks for the group, chosen by content, not by output order.
                let lead = members.iter().min_by(|a, b| {
                    (a.file.is_none(), &a.test_name, &a.message, a.column).cmp(&(
                        b.file.is_none(),
                        &b.test_name,
                        &b.message,
                        b.column,
                    ))
                })?;
                let mut cause = RootCause::from_failure(lead);
                let mut tests: Vec<String> = members.iter().filter_map(|f| f.test_name.clone()).collect();
                tests.sort();
                tests.dedup();
                cause.tests = tests;
                cause.failures = members.len();
                Some(cause)
            })
            .collect();
        causes.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
        causes
    }

    fn from_failure(f: &Failure) -> RootCause {
        RootCause {
            kind: f.kind,
            file: f.file.clone(),
            line: f.line,
            column: f.column,
            code: f.code.clone(),
            message: f.message.clone(),
            snippet: f.snippet.clone(),
            tests: f.test_name.iter().cloned().collect(),
            failures: 1,
        }
    }

    /// `file:line:col` (as much of it as is known), or `None` without a file.
    pub fn location(&self) -> Option<String> {
        let file = self.file.as_ref()?;
        let mut s = file.display().to_string();
        if let Some(line) = self.line {
            let _ = write!(s, ":{line}");
            if let Some(col) = self.column {
                let _ = write!(s, ":{col}");
            }
        }
        Some(s)
    }
}

/// The order of causes: build failures, then lint, then tests (what
/// stops the build comes first), then by location, kind, code and message.
type SortKey<'a> = (u8, bool, Option<&'a PathBuf>, Option<u32>, Option<u32>, FailureKind, Option<&'a String>, &'a str);

fn sort_key(c: &RootCause) -> SortKey<'_> {
    let rank = match c.kind {
        FailureKind::Syntax
        | FailureKind::Type
        | FailureKind::UnresolvedName
        | FailureKind::UnresolvedImport
        | FailureKind::MissingDependency
        | FailureKind::Borrow
        | FailureKind::BuildScript
        | FailureKind::Config => 0,
        FailureKind::Lint => 1,
        FailureKind::TestAssertion | FailureKind::TestPanic | FailureKind::TestTimeout | FailureKind::DocTest => 2,
        _ => 3,
    };
    (rank, c.file.is_none(), c.file.as_ref(), c.line, c.column, c.kind, c.code.as_ref(), c.message.as_str())
}

/// What makes two failures one root cause.
#[derive(Clone, Debug, PartialEq, Eq)]
enum GroupKey {
    At { file: PathBuf, line: u32, kind: FailureKind, cause: Option<String> },
    Unplaced { kind: FailureKind, code: Option<String>, first_line: String },
}

fn is_test_kind(kind: FailureKind) -> bool {
    matches!(kind, FailureKind::TestAssertion | FailureKind::TestPanic | FailureKind::TestTimeout)
}

fn first_line(message: &str) -> String {
    mask_durations(message.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or_default())
}

fn key_of(f: &Failure) -> GroupKey {
    match (&f.file, f.line) {
        (Some(file), Some(line)) => GroupKey::At {
            file: file.clone(),
            line,
            kind: f.kind,
            cause: if is_test_kind(f.kind) {
                None
            } else {
                Some(f.code.clone().unwrap_or_else(|| first_line(&f.message)))
            },
        },
        _ => GroupKey::Unplaced {
            kind: f.kind,
            code: f.code.clone(),
            first_line: format!(
                "{}{}",
                f.file.as_ref().map(|p| format!("{}: ", p.display())).unwrap_or_default(),
                first_line(&f.message)
            ),
        },
    }
}

/// How much of one root cause is shown; budgets lower it, last cause first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Detail {
    /// The location line only.
    Location,
    /// Plus the first message line.
    Headline,
    /// Plus the message and the failing line with one line either side.
    Short,
    /// Plus the whole trimmed message and the enclosing function (or the window).
    Full,
}

/// Renders a [`Classification`] as one prompt entry per root cause within a
/// token budget.
///
/// Each entry gives the kind, `file:line:col`, the tool's code, the tests
/// it fails (counted, the first few named), the message (trimmed: no blank
/// lines, no repeats, no copy of the tool's own source rendering, long lines
/// cut, paths made relative to the root, rustc's labels and suggestions
/// kept), and the code around the line: the innermost enclosing function
/// when the file's language has a grammar (feature `syntax`) and it is short
/// enough, else a window of lines around it that stops at blank lines
/// (clipped to the function, whose first line is kept). The failing line is
/// marked with `>`; a line an earlier entry already showed is quoted alone.
///
/// The budget ([`count_tokens`], `o200k_base`) covers the whole section.
/// When the full rendering is over it, entries lose detail lowest priority
/// (last) first: first the snippet shrinks to the failing line and its
/// neighbours, then the snippet and all but the message's first line go,
/// then the message. The status line and every entry's location line are
/// always kept, so a budget too small for them is exceeded rather than a
/// failing location lost.
///
/// Output is deterministic: durations are masked ([`mask_durations`]) and
/// nothing depends on the time or the machine beyond the files under `root`.
///
/// ```
/// use agent_core::failure::{Classification, Failure, FailureCategory, FailureKind};
/// use agent_core::ContextRenderer;
/// use agent_classify::RepairContextBuilder;
///
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::create_dir(dir.path().join("src")).unwrap();
/// std::fs::write(dir.path().join("src/lib.rs"), "fn a() {}\n\nfn mean(v: &[i64]) -> i64 {\n    let n: u32 = \"three\";\n    0\n}\n").unwrap();
/// let mut c = Classification::default();
/// c.valid_run = true;
/// let mut f = Failure::new(FailureCategory::Build, FailureKind::Type, "mismatched types").at("src/lib.rs", Some(4), Some(18));
/// f.code = Some("E0308".into());
/// c.failures.push(f);
/// let text = RepairContextBuilder::new().render(dir.path(), &c);
/// // The whole enclosing function, and nothing of `a`.
/// assert_eq!(
///     text,
///     "Failures:\n1. [type] src/lib.rs:4:18 E0308\n   mismatched types\n   ```rust\n   fn mean(v: &[i64]) -> i64 {\n>      let n: u32 = \"three\";\n       0\n   }\n   ```\n"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepairContextBuilder {
    budget_tokens: usize,
    context_lines: u32,
    max_snippet_lines: usize,
    max_message_lines: usize,
    max_line_chars: usize,
    max_tests_named: usize,
}

impl Default for RepairContextBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl RepairContextBuilder {
    /// A builder with the defaults: a 2,000-token budget, 3 lines either
    /// side of the failing line when no function encloses it, functions of
    /// up to 12 lines shown whole, 6 message lines of at most 200
    /// characters, 3 test names per entry.
    pub fn new() -> Self {
        Self {
            budget_tokens: 2000,
            context_lines: 3,
            max_snippet_lines: 12,
            max_message_lines: 6,
            max_line_chars: 200,
            max_tests_named: 3,
        }
    }

    /// Sets the token budget of the whole section (`o200k_base` tokens).
    pub fn with_budget(mut self, tokens: usize) -> Self {
        self.budget_tokens = tokens;
        self
    }

    /// Sets the lines shown on each side of the failing line when the whole
    /// enclosing function is not shown.
    pub fn with_context_lines(mut self, lines: u32) -> Self {
        self.context_lines = lines;
        self
    }

    /// Sets the longest enclosing function shown whole, in lines.
    pub fn with_max_snippet_lines(mut self, lines: usize) -> Self {
        self.max_snippet_lines = lines.max(1);
        self
    }

    /// Sets how many lines of a failure's message are kept.
    pub fn with_max_message_lines(mut self, lines: usize) -> Self {
        self.max_message_lines = lines.max(1);
        self
    }

    /// Sets how many failing test names an entry lists before counting the rest.
    pub fn with_max_tests_named(mut self, n: usize) -> Self {
        self.max_tests_named = n;
        self
    }

    /// The token budget.
    pub fn budget(&self) -> usize {
        self.budget_tokens
    }

    fn header(&self, c: &Classification, causes: &[RootCause]) -> String {
        let mut out = String::new();
        match c.tests {
            Some(_) => {
                let _ = writeln!(out, "Tests: {}", mask_durations(&test_status_line(c)));
            }
            // No summary: the entries say what failed; only an invalid run needs a word.
            None if c.valid_run && !causes.is_empty() => {}
            None => {
                let _ = writeln!(out, "Tests: no summary{}", mask_durations(&invalid_note(c)));
            }
        }
        if !causes.is_empty() {
            if causes.len() == c.failures.len() {
                out.push_str("Failures:\n");
            } else {
                let _ = writeln!(out, "Root causes ({}, for {} failures):", causes.len(), c.failures.len());
            }
        }
        out
    }

    /// The entry's first line: number, kind, location, code, tests.
    fn location_line(&self, index: usize, cause: &RootCause) -> String {
        let mut out = String::new();
        let _ = write!(out, "{}. [{}]", index + 1, cause.kind.name());
        if let Some(loc) = cause.location() {
            let _ = write!(out, " {loc}");
        }
        if let Some(code) = &cause.code {
            let _ = write!(out, " {code}");
        }
        match cause.tests.len() {
            0 if cause.failures > 1 => {
                let _ = write!(out, " ({} failures)", cause.failures);
            }
            0 => {}
            // A module that failed to load is named like its file: the location says it.
            1 if cause.file.as_ref().is_some_and(|f| f.display().to_string() == cause.tests[0]) => {}
            1 => {
                let _ = write!(out, " in test `{}`", short_test_name(cause, &cause.tests[0]));
            }
            n => {
                let named: Vec<String> = cause
                    .tests
                    .iter()
                    .take(self.max_tests_named)
                    .map(|t| format!("`{}`", short_test_name(cause, t)))
                    .collect();
                let _ = write!(out, " in {n} tests: {}", named.join(", "));
                if n > named.len() {
                    let _ = write!(out, " and {} more", n - named.len());
                }
            }
        }
        out.push('\n');
        out
    }

    /// Everything about one cause that does not depend on the budget.
    fn prepare(&self, root: &Path, index: usize, cause: &RootCause) -> Prepared {
        let source = cause
            .file
            .as_ref()
            .and_then(|f| crate::common::read_contained(root, f))
            .map(|text| text.lines().map(str::to_owned).collect::<Vec<String>>());
        let at = cause.line.map(|l| l as usize).filter(|&l| l > 0);
        let failing_source = match (&source, at) {
            (Some(lines), Some(at)) => lines.get(at - 1).map(|l| l.trim().to_owned()),
            _ => None,
        };
        let mut message = self.trim_message(root, cause, failing_source.as_deref());
        let labels = tool_labels(cause.snippet.as_deref().unwrap_or_default());
        for label in labels.into_iter().take(4) {
            let label = cut(&label, self.max_line_chars);
            if !message.iter().any(|m| m.trim() == label) {
                message.push(label);
            }
        }
        let (full, short) = match (&source, at, &cause.file) {
            (Some(lines), Some(at), Some(file)) if at <= lines.len() => {
                let function = enclosing(file, &lines.join("\n"), at as u32);
                let (start, end) = self.span(lines, function, at);
                let mut rows: Vec<Row> = Vec::new();
                if let Some((fs, _)) = function.filter(|(fs, _)| *fs < start) {
                    rows.push(Row::Line(fs, lines[fs - 1].clone()));
                    if fs + 1 < start {
                        rows.push(Row::Gap);
                    }
                }
                rows.extend((start..=end).map(|n| Row::Line(n, lines[n - 1].clone())));
                let short = (at.saturating_sub(1).max(1)..=(at + 1).min(lines.len()))
                    .map(|n| Row::Line(n, lines[n - 1].clone()));
                (Some(trim_blank_edges(rows, at)), Some(trim_blank_edges(short.collect(), at)))
            }
            _ => match cause.snippet.as_deref().map(numbered_rows) {
                Some(rows) if !rows.is_empty() => {
                    let at = at.or_else(|| rows.iter().find_map(|r| r.number())).unwrap_or(0);
                    let full = window(&rows, at, self.context_lines as usize);
                    let short = window(&rows, at, 1);
                    (Some(trim_blank_edges(full, at)), Some(trim_blank_edges(short, at)))
                }
                _ => (None, None),
            },
        };
        Prepared {
            location: self.location_line(index, cause),
            message,
            file: cause.file.clone(),
            at: at.unwrap_or(0),
            lang: cause.file.as_deref().map(language_tag).unwrap_or_default(),
            full,
            short,
        }
    }

    /// The message lines worth showing: durations masked, the workspace
    /// root made relative, blank lines, repeats, the tool's own rendering of
    /// the source (`-->` and `|` gutter lines, a copy of the failing line,
    /// caret lines, stack frames at the failure's own location) dropped,
    /// long lines cut, at most `max_message_lines` kept.
    fn trim_message(&self, root: &Path, cause: &RootCause, failing_source: Option<&str>) -> Vec<String> {
        let mut masked = mask_durations(&cause.message);
        let root_text = root.to_string_lossy();
        let root_text = root_text.trim_end_matches('/');
        if !root_text.is_empty() {
            masked = masked
                .replace(&format!("file://{root_text}/"), "")
                .replace(&format!("{root_text}/"), "")
                .replace(root_text, ".");
        }
        let own_location = match (&cause.file, cause.line) {
            (Some(f), Some(l)) => Some((f.display().to_string(), l)),
            _ => None,
        };
        // `calc_test.go:13: got 4` (go test) repeats the entry's location.
        let own_prefixes: Vec<String> = match (&cause.file, cause.line) {
            (Some(f), Some(l)) => {
                let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                vec![format!("{}:{l}: ", f.display()), format!("{name}:{l}: ")]
            }
            _ => Vec::new(),
        };
        let mut lines: Vec<String> = Vec::new();
        let mut dropped = 0usize;
        for raw in masked.lines() {
            let line = raw.trim_end();
            let mut t = line.trim_start();
            let mut line = line;
            if let Some(rest) = own_prefixes.iter().find_map(|p| t.strip_prefix(p.as_str())) {
                t = rest;
                line = rest;
            }
            if t.is_empty() || is_source_rendering(t) || is_caret_line(t) {
                continue;
            }
            if failing_source.is_some_and(|s| !s.is_empty() && s == t) {
                continue;
            }
            if let Some((file, l)) = &own_location {
                let frame = t.starts_with("at ") || t.starts_with("❯ ") || t.starts_with("File \"");
                if frame && (t.contains(&format!("{file}:{l}")) || t.contains(&format!("{file}\", line {l}"))) {
                    continue;
                }
            }
            if lines.iter().any(|l| l.trim_start() == t) {
                continue;
            }
            if lines.len() == self.max_message_lines {
                dropped += 1;
                continue;
            }
            lines.push(cut(line, self.max_line_chars));
        }
        if lines.is_empty() {
            lines.push(String::from("(no message)"));
        }
        if dropped > 0 {
            lines.push(format!("[{dropped} more lines]"));
        }
        lines
    }

    /// The 1-based inclusive line range to show around `at` in full detail:
    /// the enclosing function when it is short enough, else the window
    /// clipped to it.
    fn span(&self, lines: &[String], function: Option<(usize, usize)>, at: usize) -> (usize, usize) {
        let window = paragraph(lines, at, self.context_lines as usize);
        match function {
            Some((s, e)) if s <= at && at <= e && e + 1 - s <= self.max_snippet_lines => (s, e),
            Some((s, e)) if s <= at && at <= e => (window.0.max(s), window.1.min(e)),
            _ => window,
        }
    }

    /// A fenced snippet, indented like the entry, the failing line marked
    /// with `>`; no line numbers (the entry's location line has the one that
    /// matters, and unnumbered lines can be copied into an edit as they are).
    /// A single line is quoted without a fence.
    fn fence(&self, lang: &str, rows: &[Row], at: usize) -> String {
        if let [Row::Line(n, text)] = rows {
            let mark = if *n == at { ">" } else { "" };
            return format!("   {mark} {}\n", cut(text, self.max_line_chars).trim());
        }
        let mut out = format!("   ```{lang}\n");
        for row in rows {
            match row {
                Row::Line(n, text) => {
                    let mark = if *n == at { ">  " } else { "   " };
                    let _ = writeln!(out, "{mark}{}", cut(text, self.max_line_chars).trim_end());
                }
                Row::Gap => out.push_str("   …\n"),
            }
        }
        out.push_str("   ```\n");
        out
    }
}

/// A cause ready to render at any detail.
struct Prepared {
    location: String,
    message: Vec<String>,
    file: Option<PathBuf>,
    at: usize,
    lang: &'static str,
    full: Option<Vec<Row>>,
    short: Option<Vec<Row>>,
}

/// One line of a snippet: a numbered source line, or an elision.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Row {
    Line(usize, String),
    Gap,
}

impl Row {
    fn number(&self) -> Option<usize> {
        match self {
            Row::Line(n, _) => Some(*n),
            Row::Gap => None,
        }
    }

    fn is_blank(&self) -> bool {
        matches!(self, Row::Line(_, text) if text.trim().is_empty())
    }
}

/// Drops blank lines at either end of a snippet (never the failing line).
fn trim_blank_edges(mut rows: Vec<Row>, at: usize) -> Vec<Row> {
    while rows.first().is_some_and(|r| r.is_blank() && r.number() != Some(at)) {
        rows.remove(0);
    }
    while rows.last().is_some_and(|r| r.is_blank() && r.number() != Some(at)) {
        rows.pop();
    }
    rows
}

/// The 1-based inclusive range of at most `radius` lines either side of
/// `at` that stays within its paragraph: it stops before a blank line, so a
/// window does not run into the next item.
fn paragraph(lines: &[String], at: usize, radius: usize) -> (usize, usize) {
    let blank = |n: usize| lines[n - 1].trim().is_empty();
    let mut start = at;
    while start > 1 && at - start < radius && !blank(start - 1) {
        start -= 1;
    }
    let mut end = at;
    while end < lines.len() && end - at < radius && !blank(end + 1) {
        end += 1;
    }
    (start, end)
}

/// The rows within `radius` lines of `at`, stopping before a blank row as
/// [`paragraph`] does.
fn window(rows: &[Row], at: usize, radius: usize) -> Vec<Row> {
    let Some(i) = rows.iter().position(|r| r.number() == Some(at)) else {
        return rows
            .iter()
            .filter(|r| r.number().is_some_and(|n| n + radius >= at && n <= at + radius))
            .cloned()
            .collect();
    };
    let near = |j: usize| rows[j].number().is_some_and(|n| n + radius >= at && n <= at + radius);
    let mut start = i;
    while start > 0 && near(start - 1) && !rows[start - 1].is_blank() {
        start -= 1;
    }
    let mut end = i;
    while end + 1 < rows.len() && near(end + 1) && !rows[end + 1].is_blank() {
        end += 1;
    }
    rows[start..=end].to_vec()
}

/// Numbered source lines of a tool's snippet (`> 11 |     code`,
/// `5 |     code`), renumbered as rows; unnumbered lines are skipped.
fn numbered_rows(snippet: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    for line in snippet.lines() {
        let t = line.trim_start().trim_start_matches('>').trim_start();
        let digits = t.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            continue;
        }
        let rest = t[digits..].trim_start();
        let Some(code) = rest.strip_prefix('|') else { continue };
        let code = code.strip_prefix(' ').unwrap_or(code);
        if let Ok(n) = t[..digits].parse::<usize>() {
            if !rows.iter().any(|r: &Row| r.number() == Some(n)) {
                rows.push(Row::Line(n, code.to_owned()));
            }
        }
    }
    rows
}

/// The labels, notes and suggestions of a rustc-style rendering: the text
/// after `^^^`/`---` markers, `= help:`/`= note:` lines (without the
/// boilerplate about `-D warnings` and documentation links), `help:` lines
/// and suggested replacement lines (`4 + new code`).
fn tool_labels(snippet: &str) -> Vec<String> {
    const BOILERPLATE: &[&str] =
        &["for further information visit", "implied by `-D warnings`", "to override `-D warnings`", "on by default"];
    let mut out: Vec<String> = Vec::new();
    let mut push = |s: String| {
        if !s.is_empty() && !out.contains(&s) && !BOILERPLATE.iter().any(|b| s.contains(b)) {
            out.push(s);
        }
    };
    for line in snippet.lines() {
        let t = line.trim();
        if let Some(note) = t.strip_prefix("= ") {
            push(note.trim().to_owned());
            continue;
        }
        if t.starts_with("help:") || t.starts_with("note:") {
            push(t.to_owned());
            continue;
        }
        let digits = t.bytes().take_while(u8::is_ascii_digit).count();
        let rest = t[digits..].trim_start();
        if digits > 0 {
            if let Some(new) = rest.strip_prefix("+ ") {
                push(format!("suggested: {}", new.trim()));
            }
            continue;
        }
        if let Some(marks) = rest.strip_prefix('|') {
            if marks.contains('^')
                || marks.contains('-')
                || marks.trim_start().chars().next().is_some_and(char::is_alphabetic)
            {
                let label =
                    marks.trim_start_matches(|c: char| c.is_whitespace() || matches!(c, '^' | '-' | '|' | '_' | '+'));
                push(label.trim().to_owned());
            }
        }
    }
    out
}

impl Prepared {
    fn text(&self, detail: Detail, full_rows: Option<&[Row]>, fence: impl Fn(&str, &[Row], usize) -> String) -> String {
        let mut out = self.location.clone();
        if detail == Detail::Location {
            return out;
        }
        let keep = if detail == Detail::Headline { 1 } else { self.message.len() };
        for line in self.message.iter().take(keep) {
            let _ = writeln!(out, "   {line}");
        }
        let rows = match detail {
            Detail::Full => full_rows.or(self.full.as_deref()),
            Detail::Short => self.short.as_deref(),
            _ => None,
        };
        if let Some(rows) = rows.filter(|r| !r.is_empty()) {
            out.push_str(&fence(self.lang, rows, self.at));
        }
        out
    }
}

impl ContextRenderer for RepairContextBuilder {
    fn render(&self, root: &Path, classification: &Classification) -> String {
        let causes = RootCause::group(&classification.failures);
        let header = self.header(classification, &causes);
        let prepared: Vec<Prepared> = causes.iter().enumerate().map(|(i, c)| self.prepare(root, i, c)).collect();
        // A failing line an earlier entry already showed in full is shown
        // alone: entries lose detail last first, so whenever this entry is
        // in full, so is the earlier one.
        let mut shown: Vec<(&Path, usize)> = Vec::new();
        let mut alone: Vec<Option<Vec<Row>>> = Vec::new();
        for p in &prepared {
            let file = p.file.as_deref();
            let repeat = file.is_some_and(|f| shown.contains(&(f, p.at)));
            let single = repeat
                .then(|| p.full.as_ref().and_then(|rows| rows.iter().find(|r| r.number() == Some(p.at)).cloned()))
                .flatten()
                .map(|row| vec![row]);
            if let (Some(f), Some(rows)) = (file, single.as_ref().or(p.full.as_ref())) {
                shown.extend(rows.iter().filter_map(Row::number).map(|n| (f, n)));
            }
            alone.push(single);
        }
        let fence = |lang: &str, rows: &[Row], at: usize| self.fence(lang, rows, at);
        // Every entry at every detail, rendered and counted once.
        let levels = [Detail::Location, Detail::Headline, Detail::Short, Detail::Full];
        let entries: Vec<[String; 4]> =
            prepared.iter().zip(&alone).map(|(p, a)| levels.map(|d| p.text(d, a.as_deref(), fence))).collect();
        let costs: Vec<[usize; 4]> = entries.iter().map(|e| e.each_ref().map(|t| count_tokens(t))).collect();
        let header_cost = count_tokens(&header);
        let assemble = |details: &[Detail]| {
            let mut out = header.clone();
            for (entry, detail) in entries.iter().zip(details) {
                out.push_str(&entry[*detail as usize]);
            }
            out
        };
        // The sum of the parts' counts is a close estimate of the whole's;
        // the exact count of the assembled text decides.
        let estimate =
            |details: &[Detail]| header_cost + details.iter().zip(&costs).map(|(d, c)| c[*d as usize]).sum::<usize>();
        let mut details = vec![Detail::Full; causes.len()];
        let text = assemble(&details);
        if count_tokens(&text) <= self.budget_tokens {
            return text;
        }
        for target in [Detail::Short, Detail::Headline, Detail::Location] {
            for i in (0..causes.len()).rev() {
                if details[i] <= target {
                    continue;
                }
                details[i] = target;
                if estimate(&details) <= self.budget_tokens {
                    let text = assemble(&details);
                    if count_tokens(&text) <= self.budget_tokens {
                        return text;
                    }
                }
            }
        }
        assemble(&details)
    }
}

/// A test's name without a leading `FILE::` (pytest node ids) when FILE is
/// the cause's own file, which the entry already names.
fn short_test_name<'a>(cause: &RootCause, name: &'a str) -> &'a str {
    let Some(file) = &cause.file else { return name };
    let prefix = format!("{}::", file.display());
    name.strip_prefix(prefix.as_str()).filter(|rest| !rest.is_empty()).unwrap_or(name)
}

/// `; the run is not valid (notes)` for an invalid run, else nothing.
fn invalid_note(c: &Classification) -> String {
    if c.valid_run {
        return String::new();
    }
    let mut note = String::from("; the run is not valid");
    if !c.notes.is_empty() {
        let _ = write!(note, " ({})", c.notes.join("; "));
    }
    note
}

/// Whether a trimmed message line is part of a tool's rendering of source
/// (rustc's `--> file:line:col`, `|` and `5 |     code` gutter lines).
fn is_source_rendering(t: &str) -> bool {
    if t.starts_with("--> ") || t.starts_with("::: ") || t == "|" {
        return true;
    }
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    let rest = t[digits..].trim_start();
    (digits > 0 && (rest.starts_with("| ") || rest == "|")) || (digits == 0 && rest.starts_with("| "))
}

/// Whether a trimmed line only points at columns (`^^^`, `~~~`, `^`).
fn is_caret_line(t: &str) -> bool {
    t.contains('^') && t.chars().all(|c| matches!(c, '^' | '~' | '-' | ' '))
}

fn cut(line: &str, max: usize) -> String {
    if line.chars().count() <= max {
        return line.to_owned();
    }
    let mut s: String = line.chars().take(max).collect();
    s.push('…');
    s
}

fn language_tag(file: &Path) -> &'static str {
    match file.extension().and_then(|e| e.to_str()).unwrap_or_default() {
        "rs" => "rust",
        "py" | "pyi" => "python",
        "js" | "mjs" | "cjs" | "jsx" => "js",
        "ts" | "mts" | "cts" | "tsx" => "ts",
        "go" => "go",
        _ => "",
    }
}

/// The enclosing function's 1-based line range, where a grammar is available.
#[cfg(feature = "syntax")]
fn enclosing(file: &Path, source: &str, line: u32) -> Option<(usize, usize)> {
    agent_syntax::enclosing_function(file, source, line).map(|(s, e)| (s as usize, e as usize))
}

/// Without grammars no function is known: the window is used.
#[cfg(not(feature = "syntax"))]
fn enclosing(_file: &Path, _source: &str, _line: u32) -> Option<(usize, usize)> {
    None
}
