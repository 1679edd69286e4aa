//! [`NextestClassifier`]: cargo-nextest's human output, its `libtest-json`
//! output, and libtest's own JSON (`cargo test -- -Z unstable-options --format json`).

use crate::common::{CountWords, Parsed, finish};
use crate::{libtest, rustc};
use agent_core::FailureClassifier;
use agent_core::exec::RunOutput;
use agent_core::failure::{Classification, Failure, FailureCategory, FailureKind, TestCounts};
use agent_core::workspace::WorkspaceProfile;
use rustc_hash::FxHashSet;
use serde::Deserialize;
use std::collections::HashSet;
use std::path::Path;

/// Classifies Rust test runs that cargo's own classifier does not read:
///
/// - `cargo nextest run` (human): each `FAIL`, `SIGSEGV`, `SIGABRT`, `ABORT`,
///   `TIMEOUT` or `LEAK-FAIL` status line becomes a failure named by the test
///   (`tests::adds`), its location and message taken from the panic in the
///   `stdout ───`/`stderr ───` output nextest prints under it; counts come from
///   the `Summary` line; a test that failed and then passed on a retry
///   (`TRY 2 PASS`, `FLAKY`) is not a failure.
/// - libtest JSON events, from `NEXTEST_EXPERIMENTAL_LIBTEST_JSON=1 cargo
///   nextest run --message-format libtest-json` (names `crate::binary$tests::adds`,
///   reported as `tests::adds`) or from `cargo test -- -Z unstable-options
///   --format json`: `failed` events become failures (doctests as
///   [`FailureKind::DocTest`] at their line), `timeout` events
///   [`FailureKind::TestTimeout`]; counts are summed over the suite events.
/// - Compiler errors printed before the tests (a build that fails) are parsed
///   as [`CargoClassifier`](crate::CargoClassifier) parses them.
/// - `valid_run` follows the shared rules: no summary on a test run, or an
///   exit code that disagrees with what was parsed, is not a valid run.
///
/// ```
/// use agent_core::FailureClassifier;
/// use agent_core::failure::FailureKind;
/// use agent_core::exec::RunOutput;
/// use agent_core::workspace::WorkspaceProfile;
/// use agent_classify::NextestClassifier;
///
/// let stdout = r#"{ "type": "suite", "event": "started", "test_count": 1 }
/// { "type": "test", "event": "started", "name": "tests::adds" }
/// { "type": "test", "name": "tests::adds", "event": "failed", "stdout": "thread 'tests::adds' panicked at src/lib.rs:14:9:\nassertion `left == right` failed\n" }
/// { "type": "suite", "event": "failed", "passed": 0, "failed": 1, "ignored": 0, "measured": 0, "filtered_out": 0, "exec_time": 0.01 }
/// "#;
/// let run = RunOutput::from_text("cargo test -- -Z unstable-options --format json", 101, stdout, "");
/// let c = NextestClassifier::libtest_json().classify(&run, &WorkspaceProfile::default());
/// assert!(c.valid_run);
/// assert_eq!(c.tool, "libtest-json");
/// assert_eq!(c.failures[0].kind, FailureKind::TestAssertion);
/// assert_eq!(c.failures[0].test_name.as_deref(), Some("tests::adds"));
/// assert_eq!(c.failures[0].line, Some(14));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct NextestClassifier {
    tool: &'static str,
}

impl Default for NextestClassifier {
    fn default() -> Self {
        Self::new()
    }
}

impl NextestClassifier {
    /// The tool name for cargo-nextest output.
    pub const TOOL: &'static str = "nextest";
    /// The tool name for libtest's JSON output.
    pub const LIBTEST_JSON: &'static str = "libtest-json";

    /// A classifier that names its classifications `nextest`.
    pub fn new() -> Self {
        Self { tool: Self::TOOL }
    }

    /// The same classifier, naming its classifications `libtest-json`.
    pub fn libtest_json() -> Self {
        Self { tool: Self::LIBTEST_JSON }
    }
}

/// One libtest JSON event (`type` test or suite); other fields are ignored.
#[derive(Debug, Deserialize)]
struct JsonEvent<'a> {
    #[serde(rename = "type", borrow)]
    kind: &'a str,
    #[serde(borrow)]
    event: &'a str,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    stdout: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    passed: u32,
    #[serde(default)]
    failed: u32,
    #[serde(default)]
    ignored: u32,
}

/// Whether `line` looks like a libtest JSON event: libtest and nextest both
/// write `type` first (`{"type":"test",…}`, `{ "type": "suite", … }`).
pub(crate) fn is_json_event(line: &str) -> bool {
    let t = line.trim_start();
    let rest = t.strip_prefix("{\"type\":").or_else(|| t.strip_prefix("{ \"type\":"));
    rest.is_some_and(|r| {
        let r = r.trim_start();
        r.starts_with("\"test\"") || r.starts_with("\"suite\"")
    })
}

/// libtest JSON events, parsed.
#[derive(Debug, Default)]
pub(crate) struct JsonReport {
    /// One failure per failed or timed-out test.
    pub(crate) failures: Vec<Failure>,
    /// Counts of the distinct tests that ended; `None` when none did.
    test_counts: Option<TestCounts>,
    /// Counts summed over the suite end events; `None` when there was none.
    suite_counts: Option<TestCounts>,
    /// Tests already counted.
    counted: HashSet<String>,
    /// Whether any event was seen.
    pub(crate) saw_events: bool,
}

/// The libtest name of a nextest libtest-json name: `crate::binary$tests::adds` → `tests::adds`.
fn test_name(name: &str) -> &str {
    name.split_once('$').map_or(name, |(_, n)| n)
}

impl JsonReport {
    /// Feeds one line; returns false when it is not a libtest event.
    pub(crate) fn line(&mut self, line: &str, root: &Path) -> bool {
        if !is_json_event(line) {
            return false;
        }
        let Ok(ev) = serde_json::from_str::<JsonEvent<'_>>(line.trim()) else { return false };
        self.saw_events = true;
        match (ev.kind, ev.event) {
            ("suite", "ok" | "failed") => {
                let c = self.suite_counts.get_or_insert_with(TestCounts::default);
                c.passed = c.passed.saturating_add(ev.passed);
                c.failed = c.failed.saturating_add(ev.failed);
                c.ignored = c.ignored.saturating_add(ev.ignored);
            }
            ("test", "ok" | "failed" | "ignored" | "timeout") => {
                let name = ev.name.as_deref().unwrap_or_default();
                if self.counted.insert(name.to_owned()) {
                    let c = self.test_counts.get_or_insert_with(TestCounts::default);
                    match ev.event {
                        "ok" => c.passed = c.passed.saturating_add(1),
                        "ignored" => c.ignored = c.ignored.saturating_add(1),
                        _ => c.failed = c.failed.saturating_add(1),
                    }
                }
                self.test_event(&ev, root);
            }
            _ => {}
        }
        true
    }

    /// Reads cargo's output, `stdout` then `stderr`, line by line: libtest events
    /// go to the report, and the rustc JSON diagnostics that are errors come back
    /// as failures.
    ///
    /// Cargo prints the same diagnostic once per target that compiles the file
    /// (`lib` and `lib test`); an identical line gives an identical failure, so
    /// it is parsed once.
    pub(crate) fn read(&mut self, stdout: &str, stderr: &str, root: &Path) -> Vec<Failure> {
        let mut failures = Vec::new();
        let mut seen: FxHashSet<&str> = FxHashSet::default();
        for line in stdout.lines().chain(stderr.lines()) {
            if self.line(line, root) {
                continue;
            }
            let t = line.trim();
            if rustc::is_error_candidate(t) && !seen.insert(t) {
                continue;
            }
            if let Some(Some(failure)) = rustc::json_line(line, root) {
                failures.push(failure);
            }
        }
        failures
    }

    /// Counts from the test events, else from the suite events (nextest's
    /// experimental output repeats ignored tests in every suite event).
    pub(crate) fn counts(&self) -> Option<TestCounts> {
        self.test_counts.or(self.suite_counts)
    }

    /// A failure for a `failed` or `timeout` test event.
    fn test_event(&mut self, ev: &JsonEvent<'_>, root: &Path) {
        match ev.event {
            "failed" => {
                let name = test_name(ev.name.as_deref().unwrap_or_default());
                let text = ev.stdout.as_deref().or(ev.message.as_deref()).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                self.failures.push(libtest::test_failure(name, &lines, root));
            }
            "timeout" => {
                let name = test_name(ev.name.as_deref().unwrap_or_default());
                self.failures.push(
                    Failure::new(FailureCategory::Test, FailureKind::TestTimeout, format!("test {name} timed out"))
                        .in_test(name),
                );
            }
            _ => {}
        }
    }
}

/// nextest's human output, parsed.
#[derive(Debug, Default)]
struct HumanReport {
    failures: Vec<Failure>,
    counts: Option<TestCounts>,
    saw_start: bool,
}

/// A status line: `FAIL [   0.125s] (2/2) failing_assert tests::adds` → ("FAIL", "tests::adds").
fn status_line(line: &str) -> Option<(&str, &str)> {
    let t = line.trim();
    let (status, rest) = t.split_once(" [")?;
    let status = status.trim();
    if status.is_empty() || !status.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b" -/".contains(&b))
    {
        return None;
    }
    let (time, rest) = rest.split_once(']')?;
    if !time.trim().ends_with('s') {
        return None;
    }
    let mut rest = rest.trim_start();
    if rest.starts_with('(') {
        rest = rest.split_once(')')?.1.trim_start();
    }
    let name = rest.rsplit(' ').next()?;
    (!name.is_empty() && rest.contains(' ')).then_some((status, name))
}

/// Whether a status says the test failed for good (retries that later passed say `TRY n FAIL` and are not final).
fn is_failed(status: &str) -> bool {
    !status.starts_with("TRY ")
        && !status.starts_with("FLAKY")
        && !status.starts_with("RETRY")
        && (status.contains("FAIL")
            || status.starts_with("SIG")
            || status == "ABORT"
            || status == "TIMEOUT"
            || status == "LEAK-FAIL")
}

/// `Summary [   0.127s] 2 tests run: 1 passed, 1 failed, 1 skipped` → counts.
fn summary(line: &str) -> Option<TestCounts> {
    let rest = line.trim().strip_prefix("Summary [")?;
    let (_, rest) = rest.split_once(']')?;
    let (_, body) = rest.split_once(" run: ")?;
    const WORDS: CountWords =
        CountWords { passed: &["passed"], failed: &["failed", "timed", "leaky", "exec"], ignored: &["skipped"] };
    let mut counts = TestCounts::default();
    WORDS.add(body.split(", ").map(|part| part.split(" (").next().unwrap_or(part)), &mut counts);
    Some(counts)
}

/// A ruled line of `─` (the end of an output block or of the run).
fn is_rule(line: &str) -> bool {
    let t = line.trim();
    !t.is_empty() && t.chars().all(|c| c == '─')
}

/// `  stdout ───`, `  stderr ───`, `  output ───`: the start of a failed test's output.
fn is_output_header(line: &str) -> bool {
    let t = line.trim();
    ["stdout", "stderr", "output"].iter().any(|h| t.strip_prefix(h).is_some_and(|r| r.trim_start().starts_with('─')))
}

/// Parses nextest's human output in `text`.
fn human(text: &str, root: &Path) -> HumanReport {
    let mut report = HumanReport::default();
    // (test name, its output lines without nextest's 4-space indent)
    let mut failed: Vec<(&str, Vec<&str>)> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut current: Option<usize> = None;
    let mut in_output = false;
    for line in text.lines() {
        if let Some((status, name)) = status_line(line) {
            in_output = false;
            current = None;
            if is_failed(status) {
                // The final summary repeats the status lines: keep the first, with its output.
                if seen.insert(name) {
                    failed.push((name, Vec::new()));
                    current = Some(failed.len() - 1);
                }
            }
            continue;
        }
        let t = line.trim();
        if t.starts_with("Starting ") && t.contains(" test") {
            report.saw_start = true;
        }
        if let Some(c) = summary(line) {
            report.counts = Some(c);
            current = None;
            continue;
        }
        if is_rule(line) {
            in_output = false;
            current = None;
            continue;
        }
        if is_output_header(line) {
            in_output = current.is_some();
            continue;
        }
        if let (true, Some(i)) = (in_output, current) {
            let dedented = line.strip_prefix("    ").unwrap_or(line.trim_start());
            failed[i].1.push(dedented);
        }
    }
    for (name, lines) in &failed {
        let mut f = libtest::test_failure(name, lines, root);
        if f.message == format!("test {name} failed") || lines.is_empty() {
            f.message = format!("test {name} failed");
        }
        report.failures.push(f);
    }
    report
}

/// Cargo's summaries of a failed test run that repeat what the tests said.
fn is_run_summary(f: &Failure) -> bool {
    f.file.is_none()
        && (f.message.starts_with("test run failed")
            || f.message.starts_with("command `") && f.message.contains(" exited with code "))
}

impl FailureClassifier for NextestClassifier {
    fn test_outcomes(&self, run: &RunOutput) -> Vec<agent_core::failure::TestOutcome> {
        crate::outcomes::of_run(run)
    }

    fn classify(&self, run: &RunOutput, ws: &WorkspaceProfile) -> Classification {
        let root = ws.root.as_path();
        let stdout = crate::common::text(&run.stdout);
        let stderr = crate::common::text(&run.stderr);
        let mut parsed = Parsed { test_run: true, ..Parsed::default() };
        let mut json = JsonReport::default();
        parsed.failures = json.read(&stdout, &stderr, root);
        for text in [&stderr, &stdout] {
            parsed.failures.extend(rustc::human(text, root).into_iter().filter(|f| !is_run_summary(f)));
        }
        if json.saw_events {
            parsed.tests = json.counts();
            parsed.failures.extend(json.failures);
        } else {
            // Human output: nextest writes its report on stderr, libtest's human text (cargo test) on stdout.
            let mut counts = None;
            for text in [&stderr, &stdout] {
                let h = human(text, root);
                parsed.failures.extend(h.failures);
                counts = counts.or(h.counts);
                if h.saw_start && counts.is_none() {
                    parsed.notes.push("nextest started but printed no summary".to_owned());
                }
            }
            if counts.is_none() {
                // `cargo test` text without nextest: libtest's own summaries.
                let lib = libtest::parse(&stdout, root, run.timed_out.is_some());
                parsed.failures.extend(lib.failures);
                counts = lib.counts;
            }
            parsed.tests = counts;
        }
        finish(self.tool, run, parsed, "cargo")
    }
}

/// Whether `text` is cargo-nextest's human output (its run banner, start line or summary).
pub(crate) fn detect(text: &str) -> bool {
    text.lines().any(|l| {
        let t = l.trim_start();
        t.starts_with("Nextest run ID ")
            || t.starts_with("Starting ") && t.contains(" across ") && t.contains(" binar")
            || t.starts_with("Summary [") && t.contains(" run: ")
            // The build phase that failed: nextest names the cargo command it ran.
            || t.starts_with("error: command `") && t.contains("cargo test --no-run --message-format json-render-diagnostics")
    })
}
