//! [`JestClassifier`]: structured failures from jest and vitest, `--json`
//! (`--reporter=json` for vitest) or their default text reporters.

use crate::common::{CountWords, MAX_MESSAGE_LINES, Parsed, bounded, finish, relativize, source_snippet};
use agent_core::FailureClassifier;
use agent_core::exec::{ReportFormat, RunOutput};
use agent_core::failure::{Classification, Failure, FailureCategory, FailureKind, TestCounts};
use agent_core::workspace::WorkspaceProfile;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Classifies the output of jest or vitest.
///
/// - A JSON report file the run wrote ([`RunOutput::reports`], asked for
///   by [`structured_output`](agent_core::gate::structured_output)) is read
///   first: nothing the tests print can break it. Otherwise the JSON report
///   on stdout (`jest --json`, `vitest run --reporter=json`) is used when
///   present, and otherwise the text reporter (`● Suite › test` blocks for
///   jest, `FAIL file > suite > test` blocks for vitest, whose paths a vitest
///   workspace's `|project|` prefix makes relative to that project's folder) is parsed.
/// - A failed `expect(...)` or `AssertionError` becomes
///   [`FailureKind::TestAssertion`], a timeout [`FailureKind::TestTimeout`],
///   any other thrown error [`FailureKind::TestPanic`]; the location is the
///   first stack frame inside the workspace (the throw site), the message
///   keeps the error and the workspace frames.
/// - A suite that failed to run (jest's `Test suite failed to run`,
///   `testExecError`, vitest's failed file without tests) becomes
///   [`FailureKind::Syntax`], [`FailureKind::UnresolvedImport`] /
///   [`FailureKind::MissingDependency`] (`Cannot find module`),
///   [`FailureKind::UnresolvedName`] (`ReferenceError`) or
///   [`FailureKind::Config`] by its message.
/// - Counts come from the report (`numPassedTests`, …) or the text summary
///   (`Tests: 1 failed, 2 passed, 3 total`).
/// - `valid_run` is false when no tests were found, when the exit code
///   disagrees with the report's `success` or with the failures parsed.
///
/// ```
/// use agent_core::FailureClassifier;
/// use agent_core::failure::FailureKind;
/// use agent_core::exec::RunOutput;
/// use agent_core::workspace::WorkspaceProfile;
/// use agent_classify::JestClassifier;
///
/// let json = r#"{"success":false,"numFailedTests":1,"numPassedTests":0,"numPendingTests":0,
///   "numTotalTests":1,"numRuntimeErrorTestSuites":0,"testResults":[{"name":"/w/a.test.js",
///   "status":"failed","message":"","assertionResults":[{"ancestorTitles":["math"],"title":"adds",
///   "fullName":"math adds","status":"failed","failureMessages":["Error: expect(received).toBe(expected)\n\nExpected: 3\nReceived: 4\n    at Object.toBe (/w/a.test.js:5:23)"]}]}]}"#;
/// let run = RunOutput::from_text("jest --json", 1, json, "");
/// let c = JestClassifier::jest().classify(&run, &WorkspaceProfile::new("/w"));
/// assert_eq!(c.failures[0].kind, FailureKind::TestAssertion);
/// assert_eq!(c.failures[0].line, Some(5));
/// assert_eq!(c.failures[0].test_name.as_deref(), Some("math › adds"));
/// assert!(c.valid_run);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct JestClassifier {
    tool: &'static str,
}

impl Default for JestClassifier {
    fn default() -> Self {
        Self::jest()
    }
}

impl JestClassifier {
    /// The tool name of a jest classification.
    pub const JEST: &'static str = "jest";
    /// The tool name of a vitest classification.
    pub const VITEST: &'static str = "vitest";

    /// A classifier of jest output.
    pub fn jest() -> Self {
        Self { tool: Self::JEST }
    }

    /// A classifier of vitest output.
    pub fn vitest() -> Self {
        Self { tool: Self::VITEST }
    }

    /// The tool name in the classifications it makes (`jest` or `vitest`).
    pub fn tool(&self) -> &'static str {
        self.tool
    }

    fn separator(&self) -> &'static str {
        if self.tool == Self::VITEST { " > " } else { " › " }
    }
}

/// One stack frame: file as printed (maybe `file://`), line, column.
pub(crate) fn stack_frame(line: &str) -> Option<(String, u32, Option<u32>)> {
    let t = line.trim();
    let t = t.strip_prefix("at ").or_else(|| t.strip_prefix("❯ ")).unwrap_or(t);
    let loc = match (t.rfind('('), t.ends_with(')')) {
        (Some(open), true) => &t[open + 1..t.len() - 1],
        _ => t.rsplit(' ').next().unwrap_or(t),
    };
    let loc = loc.strip_prefix("file://").unwrap_or(loc);
    let (file, ln, col) = crate::common::parse_location(loc)?;
    if file.is_empty() || file.starts_with("node:") || file.contains('<') || file.contains(' ') {
        return None;
    }
    Some((file, ln, col))
}

/// Whether a (relativized) path lies in the workspace and outside dependencies.
pub(crate) fn is_user_path(path: &Path) -> bool {
    let s = path.to_string_lossy();
    path.is_relative() && !s.starts_with("..") && !s.contains("node_modules")
}

/// The workspace frames of a stack, relativized, in order.
pub(crate) fn user_frames(lines: &[&str], root: &Path) -> Vec<(PathBuf, u32, Option<u32>, String)> {
    lines
        .iter()
        .filter_map(|l| {
            let t = l.trim_start();
            if !(t.starts_with("at ") || t.starts_with("❯ ")) {
                return None;
            }
            let (file, ln, col) = stack_frame(t)?;
            let file = relativize(&file, root);
            is_user_path(&file).then(|| (file, ln, col, t.to_owned()))
        })
        .collect()
}

/// The kind of a failed test's error, from its first lines.
pub(crate) fn test_kind(message: &str) -> FailureKind {
    let head: String = message.lines().take(3).collect::<Vec<_>>().join("\n");
    // vitest's JSON report gives a timed-out test the stack of its definition, whose
    // message is vitest's own placeholder `STACK_TRACE_ERROR` (its text says `Test timed out`).
    if head.contains("Exceeded timeout")
        || head.contains("Test timed out")
        || head.contains("timed out in")
        || head.starts_with("Error: STACK_TRACE_ERROR")
    {
        FailureKind::TestTimeout
    } else if head.contains("expect(")
        || head.contains("AssertionError")
        || head.contains("ERR_ASSERTION")
        || head.contains("JestAssertionError")
    {
        FailureKind::TestAssertion
    } else {
        FailureKind::TestPanic
    }
}

/// The kind of a suite that failed to run, from its message.
pub(crate) fn suite_kind(message: &str) -> (FailureCategory, FailureKind) {
    // vite (vitest) reports a file it cannot parse as `Failed to parse source for import
    // analysis because the content contains invalid JS syntax`.
    if message.contains("SyntaxError") || message.contains("Unexpected token") || message.contains("invalid JS syntax")
    {
        (FailureCategory::Build, FailureKind::Syntax)
    } else if let Some(spec) = cannot_find_module(message) {
        let relative = spec.starts_with('.') || spec.starts_with('/');
        let kind = if relative { FailureKind::UnresolvedImport } else { FailureKind::MissingDependency };
        (FailureCategory::Build, kind)
    } else if message.contains("ReferenceError") || message.contains("is not defined") {
        (FailureCategory::Build, FailureKind::UnresolvedName)
    } else if message.contains("TypeError") {
        (FailureCategory::Test, FailureKind::TestPanic)
    } else if message.contains("Validation Error") || message.contains("onfiguration") {
        (FailureCategory::Build, FailureKind::Config)
    } else {
        (FailureCategory::Test, FailureKind::TestPanic)
    }
}

/// The package a bare import specifier names: `@scope/name/sub` → `@scope/name`, `name/sub` → `name`.
fn package_of(spec: &str) -> &str {
    let spec = spec.strip_prefix("node:").unwrap_or(spec);
    let mut ends = spec.match_indices('/').map(|(i, _)| i);
    let end = if spec.starts_with('@') { ends.nth(1) } else { ends.next() };
    &spec[..end.unwrap_or(spec.len())]
}

/// Whether the project's `package.json` at `root` declares `package` in any dependency table.
pub(crate) fn js_declared(package: &str, root: &Path) -> bool {
    let Some(text) = crate::common::read_contained_bounded(root, Path::new("package.json"), 1 << 20) else {
        return false;
    };
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else { return false };
    ["dependencies", "devDependencies", "peerDependencies", "optionalDependencies"]
        .iter()
        .any(|t| json[*t].get(package).is_some())
}

/// `Cannot find module 'x'` in a test or suite failure: a relative path is the project's
/// own import ([`FailureKind::UnresolvedImport`]); a package the project's `package.json`
/// declares is only not installed here ([`FailureKind::Environment`], tier infrastructure:
/// `npm install`, not a code change); an undeclared one a [`FailureKind::MissingDependency`].
pub(crate) fn js_environment(failures: &mut [Failure], root: &Path) {
    for f in failures.iter_mut() {
        if matches!(f.kind, FailureKind::Environment | FailureKind::Config) {
            continue;
        }
        let Some(spec) = cannot_find_module(&f.message) else { continue };
        if spec.starts_with('.') || spec.starts_with('/') {
            f.kind = FailureKind::UnresolvedImport;
            f.category = FailureCategory::Build;
        } else if js_declared(package_of(spec), root) {
            f.kind = FailureKind::Environment;
            f.category = FailureCategory::Infrastructure;
            f.message = format!("`{}` is declared in package.json but not installed\n{}", package_of(spec), f.message);
        } else {
            f.kind = FailureKind::MissingDependency;
            f.category = FailureCategory::Build;
        }
    }
}

/// npm's own configuration errors: a `package.json` that is not JSON (`npm error code EJSONPARSE`).
pub(crate) fn npm_config_error(stdout: &str, stderr: &str) -> Option<Failure> {
    let lines: Vec<&str> = stderr.lines().chain(stdout.lines()).collect();
    let code = lines.iter().position(|l| {
        let t = l.trim();
        t == "npm error code EJSONPARSE" || t == "npm ERR! code EJSONPARSE"
    })?;
    let detail: Vec<&str> = lines[code..]
        .iter()
        .filter_map(|l| l.strip_prefix("npm error ").or_else(|| l.strip_prefix("npm ERR! ")))
        .filter(|l| l.starts_with("JSON.parse"))
        .collect();
    let mut f = Failure::new(
        FailureCategory::Build,
        FailureKind::Config,
        if detail.is_empty() { "package.json is not valid JSON".to_owned() } else { detail.join("\n") },
    );
    f.code = Some("EJSONPARSE".to_owned());
    f.file = Some(PathBuf::from("package.json"));
    Some(f)
}

/// vitest's `failed to load config from FILE` (a `Startup Error`: the configuration does not
/// load, a plugin it imports is not installed): the project's configuration.
fn vitest_startup_error(text: &str, root: &Path) -> Option<Failure> {
    let lines: Vec<&str> = text.lines().collect();
    let at = lines.iter().position(|l| l.trim_start().starts_with("failed to load config from "))?;
    let file = lines[at].trim().trim_start_matches("failed to load config from ").trim();
    let detail: Vec<&str> = lines[at..]
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty() && !l.starts_with("at ") && !l.starts_with('⎯'))
        .collect();
    let mut f = Failure::new(FailureCategory::Build, FailureKind::Config, bounded(&detail, MAX_MESSAGE_LINES));
    f.file = Some(relativize(file, root));
    Some(f)
}

/// The specifier of `Cannot find module 'x'` / `Cannot find package 'x'` / `Failed to load url x`.
fn cannot_find_module(message: &str) -> Option<&str> {
    for marker in ["Cannot find module ", "Cannot find package ", "Failed to load url ", "Failed to resolve import "] {
        if let Some(i) = message.find(marker) {
            let rest = &message[i + marker.len()..];
            let rest = rest.trim_start_matches(['\'', '"']);
            let end = rest.find(['\'', '"', ' ', '\n']).unwrap_or(rest.len());
            return Some(&rest[..end]);
        }
    }
    None
}

/// `SyntaxError: /path/file.js: message (4:26)`: the file, line and column babel reports.
fn babel_location(message: &str, root: &Path) -> Option<(PathBuf, u32, Option<u32>)> {
    let line = message.lines().find(|l| l.contains("SyntaxError: "))?;
    let rest = &line[line.find("SyntaxError: ")? + "SyntaxError: ".len()..];
    let (file, msg) = rest.split_once(": ")?;
    let open = msg.rfind('(')?;
    let (l, c) = msg[open + 1..].trim_end().strip_suffix(')')?.split_once(':')?;
    let file = relativize(file, root);
    Some((file, l.parse().ok()?, c.parse().ok()))
}

/// The message lines before the stack, without code frames, plus the workspace frames.
fn clean_message(lines: &[&str], root: &Path) -> (String, Option<(PathBuf, u32, Option<u32>)>) {
    let mut text: Vec<String> = Vec::new();
    for l in lines {
        let t = l.trim();
        if t.starts_with("at ") || t.starts_with("❯ ") {
            break;
        }
        // Code frames (`> 5 | code`, `  6 | code`, `    |   ^`) repeat the source: the snippet has it.
        let frame = t.trim_start_matches('>').trim_start();
        let is_code_frame =
            frame.split_once('|').is_some_and(|(n, _)| n.trim().is_empty() || n.trim().parse::<u32>().is_ok());
        if is_code_frame || t.starts_with('⎯') {
            continue;
        }
        text.push(t.to_owned());
    }
    while text.last().is_some_and(|l| l.is_empty()) {
        text.pop();
    }
    while text.first().is_some_and(|l| l.is_empty()) {
        text.remove(0);
    }
    let frames = user_frames(lines, root);
    for (_, _, _, raw) in frames.iter().take(4) {
        text.push(raw.clone());
    }
    let loc = frames.first().map(|(f, l, c, _)| (f.clone(), *l, *c));
    let refs: Vec<&str> = text.iter().map(String::as_str).collect();
    (bounded(&refs, MAX_MESSAGE_LINES), loc)
}

/// A failure of one test, located at the first workspace frame (else `file`).
fn test_failure(name: &str, message: &str, file: Option<&Path>, root: &Path) -> Failure {
    let lines: Vec<&str> = message.lines().collect();
    let (text, loc) = clean_message(&lines, root);
    let kind = test_kind(message);
    let mut f = Failure::new(FailureCategory::Test, kind, text).in_test(name);
    match loc {
        Some((file, ln, col)) => {
            f.snippet = source_snippet(root, &file, ln);
            f = f.at(file, Some(ln), col);
        }
        None => {
            if let Some(file) = file {
                f = f.at(file, None, None);
            }
        }
    }
    f
}

/// A failure of a suite that failed to run.
fn suite_failure(file: &Path, message: &str, root: &Path) -> Failure {
    let body: Vec<&str> =
        message.lines().filter(|l| !l.contains("Test suite failed to run") && !l.trim().starts_with('●')).collect();
    let (text, frame) = clean_message(&body, root);
    let (category, kind) = suite_kind(message);
    let loc = babel_location(message, root).or(frame);
    let mut f = Failure::new(category, kind, text);
    match loc {
        Some((file, ln, col)) => {
            f.snippet = source_snippet(root, &file, ln);
            f = f.at(file, Some(ln), col);
        }
        None => f = f.at(file, None, None),
    }
    f
}

fn u32_of(v: &Value, key: &str) -> u32 {
    v.get(key).and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok()).unwrap_or(0)
}

/// What the JSON report said, beyond failures.
struct Report {
    success: Option<bool>,
    total: u32,
}

impl JestClassifier {
    /// Parses a jest/vitest JSON report; `None` when `text` holds none.
    fn json(&self, text: &str, root: &Path, parsed: &mut Parsed) -> Option<Report> {
        let start = text.find('{')?;
        let v: Value = serde_json::from_str(text[start..].trim()).ok()?;
        let results = v.get("testResults")?.as_array()?;
        for suite in results {
            let file = relativize(suite.get("name").and_then(Value::as_str).unwrap_or_default(), root);
            let asserts = suite.get("assertionResults").and_then(Value::as_array).cloned().unwrap_or_default();
            let mut failed_tests = 0;
            for a in &asserts {
                if a.get("status").and_then(Value::as_str) != Some("failed") {
                    continue;
                }
                failed_tests += 1;
                let mut parts: Vec<String> = a
                    .get("ancestorTitles")
                    .and_then(Value::as_array)
                    .map(|t| t.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                    .unwrap_or_default();
                let title = a.get("title").and_then(Value::as_str).unwrap_or_default();
                parts.push(title.to_owned());
                let name = parts.join(self.separator());
                let messages: Vec<&str> = a
                    .get("failureMessages")
                    .and_then(Value::as_array)
                    .map(|m| m.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let message = messages.first().copied().unwrap_or("the test failed");
                let mut f = test_failure(&name, message, Some(&file), root);
                if f.line.is_none() {
                    if let Some(loc) = a.get("location").filter(|l| !l.is_null()) {
                        let line = u32_of(loc, "line");
                        if line > 0 {
                            f.line = Some(line);
                            f.column = loc.get("column").and_then(Value::as_u64).and_then(|c| u32::try_from(c).ok());
                            f.snippet = source_snippet(root, &file, line);
                        }
                    }
                }
                parsed.failures.push(f);
            }
            let exec = suite.get("testExecError").filter(|e| !e.is_null());
            let message = suite.get("message").and_then(Value::as_str).unwrap_or_default();
            let failed = suite.get("status").and_then(Value::as_str) == Some("failed");
            if let Some(e) = exec {
                let m = e.get("stack").or_else(|| e.get("message")).and_then(Value::as_str).unwrap_or(message);
                let m = if message.is_empty() { m } else { message };
                parsed.failures.push(suite_failure(&file, m, root));
            } else if failed && failed_tests == 0 {
                let m = if message.is_empty() { "the test file failed to run" } else { message };
                parsed.failures.push(suite_failure(&file, m, root));
            }
        }
        parsed.tests = Some(TestCounts {
            passed: u32_of(&v, "numPassedTests"),
            failed: u32_of(&v, "numFailedTests"),
            ignored: u32_of(&v, "numPendingTests").saturating_add(u32_of(&v, "numTodoTests")),
        });
        Some(Report { success: v.get("success").and_then(Value::as_bool), total: u32_of(&v, "numTotalTests") })
    }

    /// Parses the jest text reporter.
    fn jest_text(&self, text: &str, root: &Path, parsed: &mut Parsed) {
        let lines: Vec<&str> = text.lines().collect();
        let mut file = PathBuf::new();
        let mut i = 0;
        while i < lines.len() {
            let t = lines[i].trim();
            if let Some(f) = t.strip_prefix("FAIL ") {
                // `FAIL core packages/core/a.test.js`: a project's displayName comes first.
                file = relativize(crate::js_text::jest_header_path(f.trim()), root);
                i += 1;
                continue;
            }
            let Some(name) = t.strip_prefix("● ") else {
                i += 1;
                continue;
            };
            let mut j = i + 1;
            while j < lines.len() {
                let n = lines[j].trim();
                if n.starts_with("● ")
                    || n.starts_with("FAIL ")
                    || n.starts_with("PASS ")
                    || n.starts_with("Test Suites:")
                {
                    break;
                }
                j += 1;
            }
            let body = lines[i + 1..j].join("\n");
            if name.trim() == "Test suite failed to run" {
                parsed.failures.push(suite_failure(&file, &body, root));
            } else if !name.starts_with("Console") {
                let f =
                    test_failure(name.trim(), &body, (!file.as_os_str().is_empty()).then_some(file.as_path()), root);
                parsed.failures.push(f);
            }
            i = j;
        }
        for l in &lines {
            if let Some(rest) = l.trim().strip_prefix("Tests:") {
                parsed.tests = Some(summary_counts(rest));
            }
        }
    }

    /// Parses the vitest default reporter.
    fn vitest_text(&self, text: &str, root: &Path, parsed: &mut Parsed) {
        let lines: Vec<&str> = text.lines().collect();
        let mut i = 0;
        while i < lines.len() {
            let t = lines[i].trim();
            let Some(head) = t.strip_prefix("FAIL ") else {
                if let Some(rest) = t.strip_prefix("Tests ") {
                    parsed.tests = Some(summary_counts(rest.split('(').next().unwrap_or(rest)));
                }
                i += 1;
                continue;
            };
            let head = head.trim();
            let mut j = i + 1;
            while j < lines.len() {
                let n = lines[j].trim();
                if n.starts_with("FAIL ") || n.starts_with('⎯') || n.starts_with("Test Files ") {
                    break;
                }
                j += 1;
            }
            let body = lines[i + 1..j].join("\n");
            // A vitest workspace prefixes its project (`|@shop/core| test/a.test.js`), and
            // paths are then relative to the project's folder.
            let (project, head) = crate::js_text::strip_project(head);
            let (file, name) = match head.split_once(" > ") {
                Some((f, n)) => (relativize(f.trim(), root), Some(n.trim())),
                None => (relativize(head.split(" [").next().unwrap_or(head).trim(), root), None),
            };
            let mut f = match name {
                Some(name) => test_failure(name, &body, Some(&file), root),
                None => suite_failure(&file, &body, root),
            };
            if let Some(dir) = project.and_then(|p| crate::js_text::project_dir(root, p)) {
                crate::js_text::rebase(&mut f, root, &dir);
            }
            parsed.failures.push(f);
            i = j;
        }
    }
}

/// Counts from `2 failed, 2 passed, 4 total` (jest) or `2 failed | 2 passed` (vitest).
fn summary_counts(text: &str) -> TestCounts {
    const WORDS: CountWords =
        CountWords { passed: &["passed"], failed: &["failed"], ignored: &["skipped", "todo", "pending"] };
    let mut counts = TestCounts::default();
    WORDS.add(text.split([',', '|']), &mut counts);
    counts
}

impl FailureClassifier for JestClassifier {
    fn test_outcomes(&self, run: &RunOutput) -> Vec<agent_core::failure::TestOutcome> {
        crate::outcomes::of_run(run)
    }

    fn classify(&self, run: &RunOutput, ws: &WorkspaceProfile) -> Classification {
        let root = ws.root.as_path();
        let stdout = run.stdout.text();
        let stderr = run.stderr.text();
        let mut parsed = Parsed { test_run: true, ..Parsed::default() };
        let report = report_file(run).and_then(|file| self.json(file, root, &mut parsed));
        let report = report.or_else(|| {
            parsed = Parsed { test_run: true, ..Parsed::default() };
            self.json(&stdout, root, &mut parsed)
        });
        if report.is_none() {
            let combined = format!("{stdout}\n{stderr}");
            if self.tool == Self::VITEST || combined.contains(" RUN  v") || combined.contains("Test Files ") {
                self.vitest_text(&combined, root, &mut parsed);
            } else {
                self.jest_text(&combined, root, &mut parsed);
            }
        }
        let no_tests = stdout.contains("No tests found")
            || stderr.contains("No tests found")
            || stderr.contains("No test files found");
        js_environment(&mut parsed.failures, root);
        for f in &mut parsed.failures {
            // `● Validation Error:` (an unknown preset, a bad option) is jest's configuration, not a test.
            if f.test_name.as_deref().is_some_and(|t| t.starts_with("Validation Error")) {
                f.kind = FailureKind::Config;
                f.category = FailureCategory::Build;
                f.test_name = None;
                if f.file.is_none() {
                    f.file = Some(PathBuf::from("package.json"));
                }
            }
        }
        parsed.failures.extend(npm_config_error(&stdout, &stderr));
        if parsed.failures.is_empty() {
            parsed.failures.extend(vitest_startup_error(&format!("{stdout}\n{stderr}"), root));
        }
        let mut c = finish(self.tool, run, parsed, self.tool);
        if no_tests || report.as_ref().is_some_and(|r| r.total == 0 && c.failures.is_empty()) {
            c.valid_run = false;
            c.notes.push("no tests were found: the suite did not run".to_owned());
        }
        if let (Some(success), Some(code)) = (report.as_ref().and_then(|r| r.success), run.exit_code) {
            if success != (code == 0) {
                c.valid_run = false;
                c.notes.push(format!("the report says success={success} but the exit code is {code}"));
            }
        }
        c
    }
}

/// The jest or vitest JSON report file the run wrote, if any.
pub(crate) fn report_file(run: &RunOutput) -> Option<&str> {
    run.reports
        .iter()
        .find(|r| matches!(r.format, ReportFormat::JestJson | ReportFormat::VitestJson))
        .map(|r| r.content.as_str())
}

/// Recognises the output of tsc, jest, vitest, `node --test` and eslint (`-f json`).
pub(crate) fn detect_js(text: &str) -> Option<&'static str> {
    if text.contains("\"testResults\"") && text.contains("\"numFailedTests\"") {
        // Only jest's report counts suites that failed at runtime.
        return Some(if text.contains("\"numRuntimeErrorTestSuites\"") { "jest" } else { "vitest" });
    }
    if text.contains("\"filePath\"") && text.contains("\"messages\"") && text.trim_start().starts_with('[') {
        return Some("eslint");
    }
    if text.lines().any(|l| crate::tsc::error_line(l).is_some()) {
        return Some("tsc");
    }
    let lines = || text.lines().map(str::trim);
    // eslint's stylish summary (`✖ 3 problems (3 errors, 0 warnings)`) and its crash banner.
    if lines().any(|l| l.starts_with("✖ ") && l.contains(" problem") && l.contains(" error"))
        || lines().any(|l| l == "Oops! Something went wrong! :(") && lines().any(|l| l.starts_with("ESLint: "))
    {
        return Some("eslint");
    }
    if lines().any(|l| l.starts_with("failed to load config from ")) && text.contains("Startup Error") {
        return Some("vitest");
    }
    if lines().any(|l| l.starts_with("Test Files ") || l.starts_with("RUN  v")) {
        return Some("vitest");
    }
    if lines().any(|l| {
        l.starts_with("Test Suites:")
            || l == "● Test suite failed to run"
            || l == "● Validation Error:"
            || l.starts_with("No tests found, exiting with code")
    }) {
        return Some("jest");
    }
    let tap = lines().any(|l| l.starts_with("TAP version"));
    if lines().any(|l| l.starts_with("ℹ fail ") || (tap && l.starts_with("# fail "))) {
        return Some("node");
    }
    None
}
