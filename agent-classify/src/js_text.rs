//! Per-test outcomes from the text reporters of jest and vitest, for
//! [`test_outcomes`](crate::test_outcomes) when a run printed no `--json` report.
//!
//! What each reporter shows, and so what is read:
//!
//! - jest `--verbose`: every test of every file, under its `PASS file` / `FAIL file`
//!   header (`FAIL core packages/core/a.test.js` with a project's `displayName`), as a tree whose indentation is the describe blocks (`✓ name (3 ms)`,
//!   `✕ name`, `○ skipped name`, `✎ todo name`), up to the blank line that ends it;
//! - jest without `--verbose`: the failed tests only, as `● describe › name` headings
//!   under their file's `FAIL file` (read only for a file whose tree is not printed);
//! - vitest's default reporter: a file's line (`✓ file (3 tests)`, `❯ file (4 tests |
//!   3 failed)`), and under the file of a failed one each of its tests (`✓ describe >
//!   name 1ms`, `× name`, `↓ skipped`), plus the `FAIL  file > describe > name` headings
//!   of the failures;
//! - vitest `--reporter=verbose`: every test, `✓ file > describe > name 2ms`;
//! - in a vitest workspace (`test.projects`), each file behind its project's name,
//!   `|@shop/core| test/a.test.js`.
//!
//! A test is named as the JSON reports name it (`fullName`): its describe titles and its
//! own title joined by spaces. The file a test is in is kept so that a title two files
//! hold can be told apart, as for the JSON reports.

use agent_core::failure::TestStatus;
use std::path::{Path, PathBuf};

/// One test a text reporter showed: the file it is in, its name, its status.
pub(crate) type JsTest = (String, String, TestStatus);

/// Every test the jest or vitest text in `output` shows, in output order.
pub(crate) fn js_text(output: &str) -> Vec<JsTest> {
    let vitest = output.lines().map(str::trim).any(|l| l.starts_with("Test Files ") || l.starts_with("RUN  v"));
    let mut tests = if vitest { vitest_text(output) } else { jest_text(output) };
    tests.retain(|(_, name, _)| !name.trim().is_empty());
    tests
}

/// The number of leading spaces of a line.
fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// `name (12 ms)` / `name (1.5 s)` → `name`: jest's duration of a test or file.
fn strip_paren_duration(text: &str) -> &str {
    let t = text.trim_end();
    if let Some((head, tail)) = t.rsplit_once(" (") {
        let inner = tail.strip_suffix(')').unwrap_or("");
        let num = inner.strip_suffix(" ms").or_else(|| inner.strip_suffix(" s")).unwrap_or("");
        if !num.is_empty() && num.chars().all(|c| c.is_ascii_digit() || c == '.') {
            return head.trim_end();
        }
    }
    t
}

/// jest's `PASS path` / `FAIL path` file header (a slow file adds its duration).
fn jest_header(line: &str) -> Option<&str> {
    let t = line.trim();
    let rest = t.strip_prefix("PASS ").or_else(|| t.strip_prefix("FAIL "))?;
    let path = jest_header_path(rest);
    (!path.is_empty() && !path.contains(" > ")).then_some(path)
}

/// The test file of a jest file header's text: with `projects` that have a `displayName`,
/// the name comes first (`core packages/core/test/a.test.js`), so a last word that is a
/// script's path is the file; a slow file's duration (`(6.1 s)`) follows it.
pub(crate) fn jest_header_path(text: &str) -> &str {
    let text = strip_paren_duration(text.trim());
    match text.rsplit_once(' ') {
        Some((_, last)) if is_js_file(last) => last,
        _ => text,
    }
}

/// A test line of jest's verbose tree: its status and title.
fn jest_test_line(body: &str) -> Option<(TestStatus, &str)> {
    let mut chars = body.chars();
    let marker = chars.next()?;
    let rest = chars.as_str().strip_prefix(' ')?;
    let (status, title) = match marker {
        '✓' | '√' => (TestStatus::Passed, rest),
        '✕' | '×' => (TestStatus::Failed, rest),
        '○' => (TestStatus::Skipped, rest.strip_prefix("skipped ").unwrap_or(rest)),
        '✎' => (TestStatus::Skipped, rest.strip_prefix("todo ").unwrap_or(rest)),
        _ => return None,
    };
    let title = strip_paren_duration(title);
    (!title.is_empty()).then_some((status, title))
}

/// A `● …` heading that is no test: a suite that did not run, console output, a configuration error.
fn is_suite_heading(title: &str) -> bool {
    title == "Test suite failed to run" || title.starts_with("Console") || title.starts_with("Validation Error")
}

/// jest's text reporter.
fn jest_text(output: &str) -> Vec<JsTest> {
    // Per file: the tests of its verbose tree, and those of its `●` failure headings.
    let mut files: Vec<(&str, Vec<JsTest>, Vec<JsTest>)> = Vec::new();
    let mut in_tree = false;
    // The describe blocks open at the current line: (indentation, title).
    let mut stack: Vec<(usize, &str)> = Vec::new();
    for line in output.lines() {
        if let Some(path) = jest_header(line) {
            files.push((path, Vec::new(), Vec::new()));
            in_tree = true;
            stack.clear();
            continue;
        }
        let Some((file, tree, headings)) = files.last_mut() else { continue };
        let body = line.trim();
        if body.is_empty() {
            // The tree ends at the first blank line; failure details follow.
            in_tree = false;
            stack.clear();
            continue;
        }
        if let Some(title) = body.strip_prefix("● ") {
            in_tree = false;
            let title = title.trim();
            if !is_suite_heading(title) {
                let name = title.split(" › ").collect::<Vec<_>>().join(" ");
                headings.push(((*file).to_owned(), name, TestStatus::Failed));
            }
            continue;
        }
        let at = indent(line);
        if !in_tree || at < 2 {
            continue;
        }
        stack.retain(|(i, _)| *i < at);
        match jest_test_line(body) {
            Some((status, title)) => {
                let mut parts: Vec<&str> = stack.iter().map(|(_, t)| *t).collect();
                parts.push(title);
                tree.push(((*file).to_owned(), parts.join(" "), status));
            }
            None => stack.push((at, body)),
        }
    }
    files.into_iter().flat_map(|(_, tree, headings)| if tree.is_empty() { headings } else { tree }).collect()
}

/// Whether a vitest name segment is a test file's path (`test/a.test.ts`, `a.spec.mjs`).
fn is_js_file(segment: &str) -> bool {
    const EXTENSIONS: &[&str] = &[".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".cts", ".tsx", ".vue", ".svelte"];
    !segment.is_empty() && !segment.contains(' ') && EXTENSIONS.iter().any(|e| segment.ends_with(e))
}

/// `name 12ms` / `name 1.20s` → `name`: vitest's duration of a test.
fn strip_vitest_duration(text: &str) -> &str {
    let t = text.trim_end();
    if let Some((head, tail)) = t.rsplit_once(' ') {
        let num = tail.strip_suffix("ms").or_else(|| tail.strip_suffix('s')).unwrap_or("");
        if !num.is_empty() && num.chars().all(|c| c.is_ascii_digit() || c == '.') {
            return head.trim_end();
        }
    }
    t
}

/// A vitest line behind a status marker: its status and the rest.
fn vitest_marked(body: &str) -> Option<(Option<TestStatus>, &str)> {
    let mut chars = body.chars();
    let marker = chars.next()?;
    let rest = chars.as_str().strip_prefix(' ')?.trim();
    let status = match marker {
        '✓' | '√' => Some(TestStatus::Passed),
        '×' | '✕' => Some(TestStatus::Failed),
        '↓' => Some(TestStatus::Skipped),
        // A failed file's line: its tests follow with their own markers.
        '❯' => None,
        _ => return None,
    };
    Some((status, rest))
}

/// `file (4 tests | 3 failed) 317ms`: a file's line of the default reporter.
fn vitest_file_line(rest: &str) -> Option<&str> {
    let (file, counts) = rest.split_once(" (")?;
    let counts = counts.trim_start();
    (is_js_file(file) && counts.starts_with(|c: char| c.is_ascii_digit()) && counts.contains(" test")).then_some(file)
}

/// `|@shop/core| test/a.test.js …`: a test file of one project of a vitest workspace, its
/// path relative to the project's folder. The file is named under the project's last name
/// segment (`core/test/a.test.js`), the folder a workspace usually gives it, so that the
/// same file of two projects stays two files.
pub(crate) fn strip_project(text: &str) -> (Option<&str>, &str) {
    if let Some(rest) = text.strip_prefix('|') {
        if let Some((name, rest)) = rest.split_once("| ") {
            if !name.is_empty() && !name.contains(' ') {
                return (Some(name), rest.trim_start());
            }
        }
    }
    (None, text)
}

/// The folder (relative to `root`) of the vitest project named `name`: the folder, at most
/// two levels down, whose `package.json` has that name (vitest's default project name),
/// else the one named as its last segment (`@shop/core` → `packages/core`).
pub(crate) fn project_dir(root: &Path, name: &str) -> Option<PathBuf> {
    const MAX_DIRS: usize = 2000;
    let mut dirs: Vec<PathBuf> = Vec::new();
    let children = |rel: &Path| -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(root.join(rel)) else { return Vec::new() };
        entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| {
                let n = e.file_name().to_str()?.to_owned();
                (!n.starts_with('.') && n != "node_modules").then(|| rel.join(n))
            })
            .take(MAX_DIRS)
            .collect()
    };
    for top in children(Path::new("")) {
        dirs.extend(children(&top));
        dirs.push(top);
        if dirs.len() > MAX_DIRS {
            break;
        }
    }
    dirs.sort();
    let declared = |d: &PathBuf| {
        crate::common::read_contained_bounded(root, &d.join("package.json"), 1 << 20)
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .is_some_and(|v| v["name"] == name)
    };
    let last = name.rsplit('/').next().unwrap_or(name);
    dirs.iter()
        .find(|d| declared(d))
        .or_else(|| dirs.iter().find(|d| d.file_name().is_some_and(|n| n == last)))
        .cloned()
}

/// A failure located by a path relative to its vitest project's folder `dir`, moved under
/// it (with its snippet) when that is where the file is.
pub(crate) fn rebase(f: &mut agent_core::failure::Failure, root: &Path, dir: &Path) {
    let Some(file) = f.file.clone().filter(|p| p.is_relative()) else { return };
    if root.join(&file).is_file() || !root.join(dir).join(&file).is_file() {
        return;
    }
    let moved = dir.join(&file);
    if let Some(line) = f.line {
        f.snippet = crate::common::source_snippet(root, &moved, line);
    }
    f.file = Some(moved);
}

/// A file of project `project` (see [`strip_project`]).
fn in_project(project: Option<&str>, file: &str) -> String {
    match project.and_then(|p| p.rsplit('/').next()).filter(|p| !p.is_empty()) {
        Some(dir) => format!("{dir}/{file}"),
        None => file.to_owned(),
    }
}

/// vitest's default and verbose reporters.
fn vitest_text(output: &str) -> Vec<JsTest> {
    let mut out = Vec::new();
    // The file whose tests are listed under its line, and that line's indentation.
    let mut current: Option<(String, usize)> = None;
    for line in output.lines() {
        let body = line.trim();
        let at = indent(line);
        if let Some(rest) = body.strip_prefix("FAIL ") {
            // `FAIL  file > describe > name`: a failed test's heading (a file alone: its suite).
            let (project, rest) = strip_project(rest.trim());
            let parts: Vec<&str> = rest.split(" > ").collect();
            if let [file, names @ ..] = parts.as_slice() {
                if is_js_file(file) && !names.is_empty() {
                    out.push((in_project(project, file), names.join(" "), TestStatus::Failed));
                }
            }
            current = None;
            continue;
        }
        let Some((status, rest)) = vitest_marked(body) else {
            if current.as_ref().is_some_and(|(_, i)| at <= *i) || body.is_empty() {
                current = None;
            }
            continue;
        };
        let (project, rest) = strip_project(rest);
        if let Some(file) = vitest_file_line(rest) {
            current = Some((in_project(project, file), at));
            continue;
        }
        let Some(status) = status else { continue };
        let rest = strip_vitest_duration(rest);
        let parts: Vec<&str> = rest.split(" > ").collect();
        match (parts.as_slice(), &current) {
            // Verbose: the file first.
            ([file, names @ ..], _) if is_js_file(file) && !names.is_empty() => {
                out.push((in_project(project, file), names.join(" "), status));
            }
            // Default: a test under its file's line.
            (names, Some((file, i))) if at > *i && !names.is_empty() => {
                out.push((file.clone(), names.join(" "), status));
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(tests: &[JsTest]) -> Vec<(&str, &str, TestStatus)> {
        tests.iter().map(|(f, n, s)| (f.as_str(), n.as_str(), *s)).collect()
    }

    #[test]
    fn jest_verbose_tree_nests_describes_by_indentation() {
        let out = "  console.log\n    hi\n\nFAIL ./a.test.js (5.2 s)\n  ✓ top (1 ms)\n  outer\n    ✓ logs (54 ms)\n    inner\n      ✕ fails (2 ms)\n      ✎ todo later\n  after\n    ○ skipped off\n\n  ● outer › inner › fails\n\n    expect(1).toBe(2)\n";
        assert_eq!(
            names(&js_text(out)),
            [
                ("./a.test.js", "top", TestStatus::Passed),
                ("./a.test.js", "outer logs", TestStatus::Passed),
                ("./a.test.js", "outer inner fails", TestStatus::Failed),
                ("./a.test.js", "outer inner later", TestStatus::Skipped),
                ("./a.test.js", "after off", TestStatus::Skipped),
            ]
        );
    }

    #[test]
    fn plain_jest_gives_the_failed_tests_of_its_headings() {
        let out = "FAIL src/a.test.js\n  ● math › adds\n\n    expect(received)\n\n  ● Test suite failed to run\nPASS src/b.test.js\nFAIL web app packages/web/c.test.ts (6.1 s)\n  ● c\n";
        assert_eq!(
            names(&js_text(out)),
            [("src/a.test.js", "math adds", TestStatus::Failed), ("packages/web/c.test.ts", "c", TestStatus::Failed)]
        );
    }

    #[test]
    fn vitest_workspace_files_are_named_under_their_project() {
        let out = " RUN  v3.2.7 /w\n ❯ |@shop/core| test/u.test.js (2 tests | 1 failed) 9ms\n   ✓ u > a 1ms\n   × u > b 2ms\n ✓ |web| test/u.test.js > u > a 1ms\n Test Files  1 failed (2)\n FAIL  |@shop/core| test/u.test.js > u > b\n";
        assert_eq!(
            names(&js_text(out)),
            [
                ("core/test/u.test.js", "u a", TestStatus::Passed),
                ("core/test/u.test.js", "u b", TestStatus::Failed),
                ("web/test/u.test.js", "u a", TestStatus::Passed),
                ("core/test/u.test.js", "u b", TestStatus::Failed),
            ]
        );
    }

    #[test]
    fn vitest_default_lists_the_tests_of_a_failed_file_and_verbose_every_test() {
        let out = " RUN  v3.2.7 /w\n\n ❯ t/a.test.js (2 tests | 1 failed) 5ms\n   ✓ s > ok 1ms\n   × s > bad 2ms\n     → boom\n ✓ t/b.test.js (3 tests) 2ms\n\n Test Files  1 failed | 1 passed (2)\n FAIL  t/a.test.js > s > bad\n";
        assert_eq!(
            names(&js_text(out)),
            [
                ("t/a.test.js", "s ok", TestStatus::Passed),
                ("t/a.test.js", "s bad", TestStatus::Failed),
                ("t/a.test.js", "s bad", TestStatus::Failed),
            ]
        );
        let verbose = " RUN  v3.2.7 /w\n ✓ t/a.test.js > s > ok 1ms\n ↓ t/a.test.js > s > later\n × t/b.test.ts > top 1.20s\n Test Files  1 failed (1)\n";
        assert_eq!(
            names(&js_text(verbose)),
            [
                ("t/a.test.js", "s ok", TestStatus::Passed),
                ("t/a.test.js", "s later", TestStatus::Skipped),
                ("t/b.test.ts", "top", TestStatus::Failed),
            ]
        );
    }
}
