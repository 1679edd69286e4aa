//! [`PytestJunitClassifier`]: structured failures from pytest's `--junitxml` report.

use super::pytest::{Block, Ctx, Section};
use super::tool_not_installed;
use crate::common::{Parsed, finish, relativize};
use agent_core::FailureClassifier;
use agent_core::exec::RunOutput;
use agent_core::failure::{Classification, Failure, FailureCategory, FailureKind, TestCounts};
use agent_core::workspace::WorkspaceProfile;
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use std::path::Path;

/// Classifies the JUnit XML report pytest writes with `--junitxml=PATH`.
///
/// The report is looked for in the captured stdout (then stderr), wherever it
/// starts: `--junitxml=/dev/stdout` under an executor (a pipe) appends it to
/// pytest's text output, and `cat report.xml` prints it alone.
/// [`PytestJunitClassifier::classify_xml`] classifies a report read from a file.
///
/// - Each `<testcase>` with a `<failure>` becomes a test failure named by its
///   node id (`tests/test_calc.py::test_add_param[2-3-6]`, built from the
///   `file` attribute of `junit_family=xunit1` reports or from `classname`
///   and `name`): an `AssertionError` is a [`FailureKind::TestAssertion`], any
///   other exception a [`FailureKind::TestPanic`]. The location is where the
///   exception was raised in the project (from the traceback in the element's
///   text), else the test's own `file`/`line` attributes (`line` is 0-based there).
/// - An `<error>` whose message is `collection failure` is a collection error, a
///   build failure by cause as in [`PytestClassifier`](crate::PytestClassifier)
///   (`SyntaxError` → [`FailureKind::Syntax`], an import of a missing module →
///   [`FailureKind::UnresolvedImport`] or [`FailureKind::MissingDependency`]);
///   the tests of that module never ran, so the run is not valid. Any other
///   `<error>` (a fixture or setup failing) is a [`FailureKind::TestPanic`].
/// - `<skipped>` (skip and xfail) counts as ignored, never as passed.
/// - Counts come from the `<testsuite>` attributes; `valid_run` is false when
///   no report is found, when no test ran, or when the exit code disagrees.
///
/// ```
/// use agent_core::FailureClassifier;
/// use agent_core::failure::FailureKind;
/// use agent_core::exec::RunOutput;
/// use agent_core::workspace::WorkspaceProfile;
/// use agent_classify::PytestJunitClassifier;
///
/// let xml = r#"<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="0" failures="1" skipped="0" tests="2">
/// <testcase classname="tests.test_a" name="test_ok" /><testcase classname="tests.test_a" name="test_bad">
/// <failure message="assert 1 == 2">def test_bad():
/// &gt;       assert 1 == 2
/// E       assert 1 == 2
///
/// tests/test_a.py:5: AssertionError</failure></testcase></testsuite></testsuites>"#;
/// let run = RunOutput::from_text("pytest --junitxml=/dev/stdout", 1, xml, "");
/// let c = PytestJunitClassifier::new().classify(&run, &WorkspaceProfile::default());
/// assert!(c.valid_run);
/// assert_eq!(c.failures[0].kind, FailureKind::TestAssertion);
/// assert_eq!(c.failures[0].test_name.as_deref(), Some("tests/test_a.py::test_bad"));
/// assert_eq!(c.failures[0].line, Some(5));
/// assert_eq!(c.tests.unwrap().passed, 1);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct PytestJunitClassifier;

impl PytestJunitClassifier {
    /// The tool name in every [`Classification`] this classifier makes.
    pub const TOOL: &'static str = "pytest-junit";

    /// A pytest JUnit XML classifier.
    pub fn new() -> Self {
        Self
    }

    /// Classifies a JUnit XML report read from a file, for a run that exited with `exit_code`.
    pub fn classify_xml(&self, xml: &str, exit_code: i32, ws: &WorkspaceProfile) -> Classification {
        self.classify(&RunOutput::from_text("pytest --junitxml", exit_code, xml, ""), ws)
    }
}

/// Where a JUnit report starts in `text`: its XML declaration or its root element.
pub(crate) fn report_start(text: &str) -> Option<usize> {
    let decl = text.find("<?xml");
    let root = text.find("<testsuites").or_else(|| text.find("<testsuite"));
    match (decl, root) {
        (Some(d), Some(r)) if d <= r => Some(d),
        (_, Some(r)) => Some(r),
        _ => None,
    }
}

/// Whether `text` holds a JUnit report written by pytest.
pub(crate) fn is_pytest_report(text: &str) -> bool {
    let Some(start) = report_start(text) else { return false };
    let rest = &text[start..];
    rest.contains("<testcase") && (rest.contains("name=\"pytest\"") || rest.contains("name=\"pytest tests\""))
}

/// What a `<failure>`, `<error>` or `<skipped>` element says.
#[derive(Debug, Default)]
struct Outcome {
    /// `failure`, `error` or `skipped`.
    element: String,
    /// Its `message` attribute.
    message: String,
    /// Its text (the traceback), unescaped.
    body: String,
}

/// One `<testcase>`.
#[derive(Debug, Default)]
struct Case {
    classname: String,
    name: String,
    file: Option<String>,
    line: Option<u32>,
    outcomes: Vec<Outcome>,
}

/// A parsed report: its cases and the summed `<testsuite>` counts.
#[derive(Debug, Default)]
struct Report {
    cases: Vec<Case>,
    tests: u32,
    failures: u32,
    errors: u32,
    skipped: u32,
    suites: u32,
    /// Set when the XML is malformed (the parse stopped there).
    error: Option<String>,
}

/// The unescaped value of attribute `key`.
fn attr(e: &BytesStart<'_>, key: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == key)
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

/// A numeric attribute, 0 when absent.
fn num(e: &BytesStart<'_>, key: &[u8]) -> u32 {
    attr(e, key).and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}

/// Parses the report in `xml`.
fn parse(xml: &str) -> Report {
    let mut reader = Reader::from_str(xml);
    let mut report = Report::default();
    let mut case: Option<Case> = None;
    let mut outcome: Option<Outcome> = None;
    loop {
        let event = match reader.read_event() {
            Ok(e) => e,
            Err(e) => {
                report.error = Some(format!("malformed JUnit XML at byte {}: {e}", reader.error_position()));
                break;
            }
        };
        match event {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == b"testsuite" => {
                report.suites += 1;
                report.tests += num(&e, b"tests");
                report.failures += num(&e, b"failures");
                report.errors += num(&e, b"errors");
                report.skipped += num(&e, b"skipped");
            }
            Event::Start(e) if e.name().as_ref() == b"testcase" => case = Some(new_case(&e)),
            Event::Empty(e) if e.name().as_ref() == b"testcase" => report.cases.push(new_case(&e)),
            Event::Start(e) if case.is_some() && is_outcome(e.name().as_ref()) => outcome = Some(new_outcome(&e)),
            Event::Empty(e) if is_outcome(e.name().as_ref()) => {
                if let Some(c) = case.as_mut() {
                    c.outcomes.push(new_outcome(&e));
                }
            }
            Event::Text(t) => {
                if let (Some(o), Ok(text)) = (outcome.as_mut(), t.xml_content()) {
                    o.body.push_str(&text);
                }
            }
            Event::CData(t) => {
                if let (Some(o), Ok(text)) = (outcome.as_mut(), t.decode()) {
                    o.body.push_str(&text);
                }
            }
            Event::GeneralRef(r) => {
                if let Some(o) = outcome.as_mut() {
                    match r.resolve_char_ref() {
                        Ok(Some(ch)) => o.body.push(ch),
                        _ => {
                            let name = r.decode().unwrap_or_default();
                            let entity = format!("&{name};");
                            let text = quick_xml::escape::unescape(&entity).map(|c| c.into_owned()).unwrap_or(entity);
                            o.body.push_str(&text);
                        }
                    }
                }
            }
            Event::End(e) => match e.name().as_ref() {
                b"failure" | b"error" | b"skipped" => {
                    if let (Some(c), Some(o)) = (case.as_mut(), outcome.take()) {
                        c.outcomes.push(o);
                    }
                }
                b"testcase" => {
                    if let Some(c) = case.take() {
                        report.cases.push(c);
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }
    report
}

/// `failure`, `error` or `skipped`: the elements that say how a case ended.
fn is_outcome(name: &[u8]) -> bool {
    matches!(name, b"failure" | b"error" | b"skipped")
}

/// An outcome from its start tag; the body follows as text.
fn new_outcome(e: &BytesStart<'_>) -> Outcome {
    Outcome {
        element: String::from_utf8_lossy(e.name().as_ref()).into_owned(),
        message: attr(e, b"message").unwrap_or_default(),
        body: String::new(),
    }
}

/// A case from its `<testcase>` start tag.
fn new_case(e: &BytesStart<'_>) -> Case {
    Case {
        classname: attr(e, b"classname").unwrap_or_default(),
        name: attr(e, b"name").unwrap_or_default(),
        file: attr(e, b"file").filter(|f| !f.is_empty()),
        line: attr(e, b"line").and_then(|l| l.trim().parse().ok()),
        outcomes: Vec::new(),
    }
}

/// The pytest node id of a case: `file::Class::name`.
///
/// With a `file` attribute (xunit1) the class is what `classname` adds to the
/// file's module path; without one the module is the longest dotted prefix of
/// `classname` that is a `.py` file under `root`, else all of it.
fn node_id(case: &Case, root: &Path) -> String {
    let parts: Vec<&str> = case.classname.split('.').filter(|p| !p.is_empty()).collect();
    let (file, module_len) = match &case.file {
        Some(file) => {
            let file = file.replace('\\', "/");
            let module_parts = file.trim_end_matches(".py").split('/').filter(|p| !p.is_empty()).count();
            (file, module_parts.min(parts.len()))
        }
        None => {
            let found = (1..=parts.len()).rev().find(|&n| {
                let candidate = format!("{}.py", parts[..n].join("/"));
                !root.as_os_str().is_empty()
                    && agent_core::workspace::contain(root, Path::new(&candidate)).is_ok_and(|c| c.resolved.is_file())
            });
            // Unknown layout: a trailing capitalised part is a class (`TestX`), the rest the module.
            let n = found.unwrap_or_else(|| {
                let class_like = parts.last().is_some_and(|p| p.starts_with(|c: char| c.is_ascii_uppercase()));
                if class_like && parts.len() > 1 { parts.len() - 1 } else { parts.len() }
            });
            (format!("{}.py", parts[..n].join("/")), n)
        }
    };
    let mut id = file;
    if parts.is_empty() && case.file.is_none() {
        // A collection error without xunit1 attributes: `name` is the module path.
        return format!("{}.py", case.name.replace('.', "/"));
    }
    for class in &parts[module_len..] {
        id.push_str("::");
        id.push_str(class);
    }
    if !parts.is_empty() || case.file.is_none() {
        id.push_str("::");
        id.push_str(&case.name);
    }
    id
}

/// pytest's rootdir, which a JUnit report does not name: recovered from a
/// collection error's `importing test module '/abs/dir/tests/test_x.py'` for
/// the case whose node id starts `tests/test_x.py` (used to tell the project's
/// own modules from third-party ones when the workspace root is elsewhere).
fn pytest_rootdir(report: &Report, root: &Path) -> Option<std::path::PathBuf> {
    const MARK: &str = "importing test module '";
    report.cases.iter().find_map(|case| {
        let body = &case.outcomes.iter().find(|o| o.body.contains(MARK))?.body;
        let rest = &body[body.find(MARK)? + MARK.len()..];
        let module = Path::new(&rest[..rest.find('\'')?]);
        let id = node_id(case, root);
        let file = id.split("::").next()?;
        let mut dir = module.to_path_buf();
        for _ in Path::new(file).components() {
            dir.pop();
        }
        (module.is_absolute() && module.ends_with(file)).then_some(dir)
    })
}

/// Whether an `<error>` is pytest's report of a module that failed to import.
fn is_collection_error(case: &Case, o: &Outcome) -> bool {
    o.element == "error" && (o.message == "collection failure" || case.classname.is_empty())
}

impl FailureClassifier for PytestJunitClassifier {
    fn classify(&self, run: &RunOutput, ws: &WorkspaceProfile) -> Classification {
        let stdout = crate::common::text(&run.stdout);
        let stderr = crate::common::text(&run.stderr);
        let mut parsed = Parsed { test_run: true, ..Parsed::default() };
        if let Some(f) = tool_not_installed(run, "pytest") {
            parsed.failures.push(f);
        }
        let source = [&stdout, &stderr].into_iter().find_map(|t| report_start(t).map(|s| &t[s..]));
        let Some(xml) = source else {
            parsed.notes.push("no JUnit XML report found in the output".to_owned());
            let mut c = finish(Self::TOOL, run, parsed, "pytest");
            c.valid_run = false;
            return c;
        };
        let report = parse(xml);
        let root = ws.root.as_path();
        let ctx = Ctx::new(root, pytest_rootdir(&report, root));
        let mut collection_errors = 0u32;
        let mut counted = TestCounts::default();
        for case in &report.cases {
            let id = node_id(case, root);
            let bad = case.outcomes.iter().find(|o| o.element == "failure" || o.element == "error");
            let Some(o) = bad else {
                if case.outcomes.iter().any(|o| o.element == "skipped") {
                    counted.ignored += 1;
                } else {
                    counted.passed += 1;
                }
                continue;
            };
            counted.failed += 1;
            let collecting = is_collection_error(case, o);
            collection_errors += u32::from(collecting);
            let lines: Vec<&str> = o.body.lines().collect();
            let title = if collecting { format!("ERROR collecting {id}") } else { case.name.clone() };
            let section = if o.element == "error" { Section::Errors } else { Section::Failures };
            let block = Block { title: &title, section, lines };
            let mut f = ctx.block_failure(&block, Some(&id));
            if f.message.trim().is_empty() {
                f.message = if o.message.is_empty() { format!("{} failed", id) } else { o.message.clone() };
            }
            if f.line.is_none() {
                if let (Some(file), Some(line)) = (&case.file, case.line) {
                    // pytest writes the 0-based line of the test's `def`.
                    f = ctx.locate(f, file, line.saturating_add(1));
                } else if f.file.is_none() {
                    if let Some((file, _)) = id.split_once("::") {
                        f.file = Some(relativize(file, root));
                    }
                }
            }
            parsed.failures.push(f);
        }
        if let Some(e) = &report.error {
            parsed.notes.push(e.clone());
        }
        let tests = if report.suites > 0 {
            TestCounts {
                passed: report.tests.saturating_sub(report.failures + report.errors + report.skipped),
                failed: report.failures + report.errors,
                ignored: report.skipped,
            }
        } else {
            counted
        };
        parsed.tests = Some(tests);
        if collection_errors > 0 {
            parsed.notes.push(format!("{collection_errors} collection error(s): the tests of those modules never ran"));
        }
        let no_tests = report.cases.is_empty();
        if no_tests {
            parsed.notes.push("no tests ran: the report holds no test case".to_owned());
            parsed.failures.push(Failure::new(FailureCategory::Test, FailureKind::Unknown, "no tests ran"));
        }
        let mut c = finish(Self::TOOL, run, parsed, "pytest");
        if collection_errors > 0 || no_tests || report.error.is_some() {
            c.valid_run = false;
        }
        if run.exit_code == Some(0) && tests.failed > 0 {
            c.valid_run = false;
            c.notes.push(format!("exit code 0 but the report has {} failed", tests.failed));
        }
        c
    }
}
