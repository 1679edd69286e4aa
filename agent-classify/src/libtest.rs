//! libtest's human output: `test name ... FAILED`, the `---- name stdout ----`
//! sections with their panics, and the `test result:` summaries.

use crate::common::{CountWords, MAX_MESSAGE_LINES, bounded, parse_location, relativize, source_snippet};
use agent_core::failure::{Failure, FailureCategory, FailureKind, TestCounts};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

/// What libtest printed, parsed.
#[derive(Debug, Default)]
pub(crate) struct Report {
    /// One failure per failed test, in the order they were reported.
    pub(crate) failures: Vec<Failure>,
    /// Counts summed over every `test result:` line; `None` when there was none.
    pub(crate) counts: Option<TestCounts>,
    /// Whether a `running N tests` line was seen.
    pub(crate) saw_running: bool,
}

/// The test name of a `---- name stdout ----` header.
pub(crate) fn section_header(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("---- ")?.trim_end();
    rest.strip_suffix(" stdout ----").or_else(|| rest.strip_suffix(" stderr ----"))
}

/// Lines after which no `----` section continues.
pub(crate) fn ends_sections(line: &str) -> bool {
    let t = line.trim_end();
    t == "failures:" || t == "successes:" || t.starts_with("test result:") || is_running(t)
}

/// `running 3 tests` / `running 1 test`.
fn is_running(line: &str) -> bool {
    line.strip_prefix("running ")
        .and_then(|r| r.split_once(' '))
        .is_some_and(|(n, w)| n.parse::<u32>().is_ok() && (w == "tests" || w == "test"))
}

/// `test a::b ... FAILED` → ("a::b", "FAILED").
fn result_line(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix("test ")?;
    let (name, result) = rest.rsplit_once(" ... ")?;
    let name = name.split(" ... ").next().unwrap_or(name);
    let name = name.strip_suffix(" - should panic").unwrap_or(name);
    Some((name.trim(), result.trim()))
}

/// Adds the counts of a `test result:` line to `total`.
fn add_counts(line: &str, total: &mut TestCounts) -> bool {
    const WORDS: CountWords = CountWords { passed: &["passed"], failed: &["failed"], ignored: &["ignored"] };
    let Some(rest) = line.trim().strip_prefix("test result: ") else {
        return false;
    };
    let body = rest.split_once(". ").map_or(rest, |(_, b)| b);
    WORDS.add(body.split(';'), total);
    true
}

/// A doctest name: `src/lib.rs - foo (line 3)` → ("src/lib.rs", 3).
fn doctest_location(name: &str) -> Option<(&str, u32)> {
    let (file, rest) = name.split_once(" - ")?;
    let line = rest.rsplit_once("(line ")?.1.strip_suffix(')')?.parse().ok()?;
    Some((file, line))
}

/// Parses libtest output in `text`.
pub(crate) fn parse(text: &str, root: &Path, timed_out: bool) -> Report {
    let mut report = Report::default();
    let mut counts = TestCounts::default();
    let mut summaries = 0usize;
    let mut failed: Vec<String> = Vec::new();
    let mut finished: HashSet<String> = HashSet::new();
    let mut long_running: Vec<String> = Vec::new();
    let mut sections: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let mut section_order: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.starts_with('{') {
            continue;
        }
        if let Some(name) = section_header(line) {
            let name = name.to_owned();
            if !sections.contains_key(&name) {
                section_order.push(name.clone());
            }
            sections.entry(name.clone()).or_default();
            current = Some(name);
            continue;
        }
        if ends_sections(line) {
            current = None;
        }
        if is_running(line.trim_end()) {
            report.saw_running = true;
        }
        if add_counts(line, &mut counts) {
            summaries += 1;
            continue;
        }
        if let Some(name) = current.as_ref() {
            if let Some(lines) = sections.get_mut(name) {
                lines.push(line);
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("test ") {
            if let Some(name) = rest.strip_suffix(" has been running for over 60 seconds") {
                long_running.push(name.trim().to_owned());
                continue;
            }
        }
        if let Some((name, result)) = result_line(line) {
            finished.insert(name.to_owned());
            if result.starts_with("FAILED") && !failed.iter().any(|f| f == name) {
                failed.push(name.to_owned());
            }
        }
    }
    // A section for a test not reported as passing also counts (its result line may have been cut).
    for name in &section_order {
        let panicked = sections.get(name).is_some_and(|l| l.iter().any(|l| l.contains("panicked at")));
        if !failed.contains(name) && (!finished.contains(name) && panicked) {
            failed.push(name.clone());
        }
    }
    for name in &failed {
        let lines = sections.get(name).map(Vec::as_slice).unwrap_or_default();
        report.failures.push(test_failure(name, lines, root));
    }
    if timed_out {
        for name in long_running.iter().filter(|n| !finished.contains(*n)) {
            let mut f = Failure::new(
                FailureCategory::Test,
                FailureKind::TestTimeout,
                format!("test {name} was still running when the run was stopped"),
            )
            .in_test(name.clone());
            if let Some((file, line)) = doctest_location(name) {
                f = f.at(relativize(file, root), Some(line), None);
            }
            report.failures.push(f);
        }
    }
    if summaries > 0 {
        report.counts = Some(counts);
    }
    report
}

/// One failed test from its name and the lines of its `----` section (empty when there was none).
pub(crate) fn test_failure(name: &str, lines: &[&str], root: &Path) -> Failure {
    let doctest = doctest_location(name);
    let mut location = None;
    let mut message: Vec<&str> = Vec::new();
    let mut idx = 0;
    while idx < lines.len() {
        let line = lines[idx];
        if let Some(pos) = line.find("panicked at ") {
            let rest = &line[pos + "panicked at ".len()..];
            if let Some(quoted) = rest.strip_prefix('\'') {
                // Before Rust 1.73: panicked at 'message', src/lib.rs:10:5 (the message may span lines).
                let mut text = quoted.to_owned();
                let mut j = idx;
                loop {
                    if let Some((msg, loc)) = text.rsplit_once("', ") {
                        if let Some(l) = parse_location(loc) {
                            let owned: Vec<&str> = msg.lines().collect();
                            return finish(name, doctest, Some(l), &owned, root);
                        }
                    }
                    j += 1;
                    if j >= lines.len() || j > idx + MAX_MESSAGE_LINES * 5 {
                        break;
                    }
                    text.push('\n');
                    text.push_str(lines[j]);
                }
                message = vec![quoted];
            } else {
                location = parse_location(rest);
                message = lines[idx + 1..]
                    .iter()
                    .copied()
                    .take_while(|l| {
                        !l.trim().is_empty()
                            && !l.starts_with("stack backtrace:")
                            && !l.starts_with("note: ")
                            && !l.starts_with("thread '")
                    })
                    .collect();
            }
            break;
        }
        idx += 1;
    }
    if location.is_none() && message.is_empty() {
        message = lines.iter().copied().filter(|l| !l.trim().is_empty()).collect();
    }
    finish(name, doctest, location, &message, root)
}

/// Builds the failure once location and message lines are known.
fn finish(
    name: &str,
    doctest: Option<(&str, u32)>,
    location: Option<(String, u32, Option<u32>)>,
    message: &[&str],
    root: &Path,
) -> Failure {
    let text = bounded(message, MAX_MESSAGE_LINES);
    let text = if text.trim().is_empty() { format!("test {name} failed") } else { text };
    let kind = if doctest.is_some() {
        FailureKind::DocTest
    } else if text.contains("assert") {
        FailureKind::TestAssertion
    } else {
        FailureKind::TestPanic
    };
    let mut failure = Failure::new(FailureCategory::Test, kind, text).in_test(name);
    let location = location.or_else(|| doctest.map(|(f, l)| (f.to_owned(), l, None)));
    if let Some((file, line, col)) = location {
        let file = relativize(&file, root);
        failure.snippet = source_snippet(root, &file, line);
        failure = failure.at(file, Some(line), col);
    }
    failure
}
