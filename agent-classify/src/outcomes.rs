//! Per-test outcomes from a test run's output, for the regression-aware
//! comparison of [`agent_core::failure::compare_runs`].
//!
//! One reader per output format, all applied (a run prints one format; the
//! others find nothing):
//!
//! - libtest text (`test NAME ... ok|FAILED|ignored`, doctests included)
//!   and libtest JSON (`{"type":"test","event":"ok",…}`);
//! - cargo-nextest (`PASS [ 0.004s] (1/3) crate tests::name`, `FAIL`, `SKIP`);
//! - pytest `-rA` summary lines (`PASSED id`, `FAILED id - msg`, `ERROR id`,
//!   `XFAIL`, `XPASS`) and `-v` lines (`id PASSED [ 50%]`);
//! - go test `-json` (`"Action":"pass"` with a `Test`) and `-v` text (`--- PASS: TestX`);
//! - jest and vitest `--json` (`assertionResults[].status`);
//! - node --test TAP (`ok 2 - name`, `not ok 1 - name`, `# SKIP`) and spec
//!   (`✔ name`, `✖ name`, `﹣ name # SKIP`).
//!
//! ```
//! use agent_core::failure::TestStatus;
//! use agent_classify::test_outcomes;
//!
//! let out = "test tests::adds ... ok\ntest tests::subtracts ... FAILED\ntest tests::slow ... ignored\n";
//! let outcomes = test_outcomes(out);
//! assert_eq!(outcomes.len(), 3);
//! assert_eq!(outcomes[1].name, "tests::subtracts");
//! assert_eq!(outcomes[1].status, TestStatus::Failed);
//! ```

use agent_core::failure::{TestOutcome, TestStatus};
use serde_json::Value;

/// Every test the output of a run shows, once each, in output order (a
/// test shown as passed and as anything else counts as the latter).
pub fn test_outcomes(output: &str) -> Vec<TestOutcome> {
    let mut out = Vec::new();
    for line in output.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('{') {
            // Only test events are parsed: cargo's compiler messages are most of a JSON run.
            if trimmed.contains("\"type\":\"test\"") || trimmed.contains("\"Action\":") {
                json_line(trimmed, &mut out);
            }
            continue;
        }
        if let Some(o) =
            libtest(trimmed).or_else(|| nextest(trimmed)).or_else(|| pytest(trimmed)).or_else(|| go_text(trimmed))
        {
            out.push(o);
            continue;
        }
        if let Some(o) = tap(trimmed).or_else(|| node_spec(line)) {
            out.push(o);
        }
    }
    if out.is_empty() {
        jest_json(output, &mut out);
    }
    merge(out)
}

/// [`test_outcomes`] of a run's stdout and stderr.
pub(crate) fn of_run(run: &agent_core::exec::RunOutput) -> Vec<TestOutcome> {
    let mut text = run.stdout.text();
    text.push('\n');
    text.push_str(&run.stderr.text());
    test_outcomes(&text)
}

/// One outcome per name, in first-seen order: runners print some lines
/// twice (nextest's summary, pytest `-v` with `-rA`), and a name printed as
/// passed and as anything else did not pass.
fn merge(outcomes: Vec<TestOutcome>) -> Vec<TestOutcome> {
    let mut out: Vec<TestOutcome> = Vec::with_capacity(outcomes.len());
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for o in outcomes {
        match index.get(&o.name) {
            Some(&i) => {
                if o.status != TestStatus::Passed {
                    out[i].status = o.status;
                }
            }
            None => {
                index.insert(o.name.clone(), out.len());
                out.push(o);
            }
        }
    }
    out
}

/// `test NAME ... ok` (libtest, doctests: `test src/lib.rs - f (line 3) ... ok`).
fn libtest(line: &str) -> Option<TestOutcome> {
    let rest = line.strip_prefix("test ")?;
    let (name, result) = rest.rsplit_once(" ... ")?;
    let status = match result.trim() {
        "ok" => TestStatus::Passed,
        "FAILED" => TestStatus::Failed,
        r if r.starts_with("ignored") => TestStatus::Skipped,
        _ => return None,
    };
    Some(TestOutcome::new(name.trim(), status))
}

/// `PASS [   0.004s] (1/3) crate tests::name` (nextest 0.9).
fn nextest(line: &str) -> Option<TestOutcome> {
    let (word, rest) = line.split_once(' ')?;
    let status = match word {
        "PASS" => TestStatus::Passed,
        "FAIL" | "SIGSEGV" | "SIGABRT" | "ABORT" => TestStatus::Failed,
        "SKIP" => TestStatus::Skipped,
        "TIMEOUT" => TestStatus::Failed,
        _ => return None,
    };
    let rest = rest.trim_start();
    let rest = rest.strip_prefix('[')?;
    let (_, rest) = rest.split_once(']')?;
    let rest = rest.trim_start();
    let rest = match rest.strip_prefix('(') {
        Some(r) => r.split_once(')')?.1.trim_start(),
        None => rest,
    };
    // `binary-id test::path`: the test path is the last field.
    let name = rest.rsplit(' ').next()?.trim();
    (!name.is_empty()).then(|| TestOutcome::new(name, status))
}

fn pytest_status(word: &str) -> Option<TestStatus> {
    Some(match word {
        "PASSED" | "XPASS" => TestStatus::Passed,
        "FAILED" => TestStatus::Failed,
        "SKIPPED" | "XFAIL" => TestStatus::Skipped,
        "ERROR" => TestStatus::Errored,
        _ => return None,
    })
}

/// pytest `-rA` (`PASSED id`, `FAILED id - msg`) and `-v` (`id PASSED [ 50%]`).
fn pytest(line: &str) -> Option<TestOutcome> {
    if let Some((word, rest)) = line.split_once(' ') {
        if let Some(status) = pytest_status(word) {
            let id = rest.split(" - ").next()?.trim();
            // `SKIPPED [1] file:line: reason` names no test.
            if id.starts_with('[') || !id.contains("::") {
                return None;
            }
            return Some(TestOutcome::new(id, status));
        }
    }
    let (id, rest) = line.split_once(' ')?;
    if !id.contains("::") {
        return None;
    }
    let word = rest.split_whitespace().next()?;
    Some(TestOutcome::new(id, pytest_status(word)?))
}

/// go test `-v`: `--- PASS: TestX (0.00s)`, indented for subtests.
fn go_text(line: &str) -> Option<TestOutcome> {
    let rest = line.strip_prefix("--- ")?;
    let (word, rest) = rest.split_once(": ")?;
    let status = match word {
        "PASS" => TestStatus::Passed,
        "FAIL" => TestStatus::Failed,
        "SKIP" => TestStatus::Skipped,
        _ => return None,
    };
    let name = rest.split(" (").next()?.trim();
    Some(TestOutcome::new(name, status))
}

/// TAP from node --test: `ok 2 - name`, `not ok 1 - name # SKIP`.
fn tap(line: &str) -> Option<TestOutcome> {
    let (failed, rest) = match line.strip_prefix("not ok ") {
        Some(r) => (true, r),
        None => (false, line.strip_prefix("ok ")?),
    };
    let (_, name) = rest.split_once(" - ")?;
    let (name, directive) = match name.split_once(" # ") {
        Some((n, d)) => (n, Some(d.to_ascii_uppercase())),
        None => (name, None),
    };
    let status = match directive.as_deref() {
        Some(d) if d.starts_with("SKIP") || d.starts_with("TODO") => TestStatus::Skipped,
        _ if failed => TestStatus::Failed,
        _ => TestStatus::Passed,
    };
    Some(TestOutcome::new(name.trim(), status))
}

/// node --test spec reporter: `✔ name (1.2ms)`, `✖ name (3ms)`, `﹣ name (0ms) # SKIP`.
fn node_spec(line: &str) -> Option<TestOutcome> {
    let trimmed = line.trim_start();
    let (status, rest) = if let Some(r) = trimmed.strip_prefix('✔') {
        (TestStatus::Passed, r)
    } else if let Some(r) = trimmed.strip_prefix('✖') {
        (TestStatus::Failed, r)
    } else if let Some(r) = trimmed.strip_prefix('﹣') {
        (TestStatus::Skipped, r)
    } else {
        return None;
    };
    let name = rest.trim();
    let name = name.rsplit_once(" (").map_or(name, |(n, _)| n).trim();
    // The summary block repeats failures under "✖ failing tests:"; its header is no test.
    if name.is_empty() || name.ends_with(':') {
        return None;
    }
    Some(TestOutcome::new(name, status))
}

/// libtest JSON and go test -json lines.
fn json_line(line: &str, out: &mut Vec<TestOutcome>) {
    let Ok(v) = serde_json::from_str::<Value>(line) else { return };
    if v["type"] == "test" {
        let status = match v["event"].as_str() {
            Some("ok") => TestStatus::Passed,
            Some("failed" | "timeout") => TestStatus::Failed,
            Some("ignored") => TestStatus::Skipped,
            _ => return,
        };
        if let Some(name) = v["name"].as_str() {
            out.push(TestOutcome::new(name, status));
        }
    } else if let (Some(action), Some(test)) = (v["Action"].as_str(), v["Test"].as_str()) {
        let status = match action {
            "pass" => TestStatus::Passed,
            "fail" => TestStatus::Failed,
            "skip" => TestStatus::Skipped,
            _ => return,
        };
        out.push(TestOutcome::new(test, status));
    }
}

/// jest / vitest `--json`: one document.
fn jest_json(output: &str, out: &mut Vec<TestOutcome>) {
    let start = output.find('{');
    // The document may be followed by other output (stderr): read the first value only.
    let first = start.and_then(|s| serde_json::Deserializer::from_str(&output[s..]).into_iter::<Value>().next());
    let Some(Ok(v)) = first else { return };
    for file in v["testResults"].as_array().into_iter().flatten() {
        for a in file["assertionResults"].as_array().into_iter().flatten() {
            let status = match a["status"].as_str() {
                Some("passed") => TestStatus::Passed,
                Some("failed") => TestStatus::Failed,
                Some("pending" | "skipped" | "todo" | "disabled") => TestStatus::Skipped,
                _ => continue,
            };
            if let Some(name) = a["fullName"].as_str().or_else(|| a["title"].as_str()) {
                out.push(TestOutcome::new(name, status));
            }
        }
    }
}
