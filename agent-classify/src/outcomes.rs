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
//! - unittest `-v` (`test_x (pkg.mod.Class.test_x) ... ok`, `FAIL`, `ERROR`,
//!   `skipped '…'`, `expected failure`, `unexpected success`), named by the test's dotted id;
//! - go test `-json` (`"Action":"pass"` with a `Test`) and `-v` text (`--- PASS: TestX`);
//! - jest and vitest `--json` (`assertionResults[].status`), and their text
//!   reporters when no report was printed (jest's `--verbose` tree and `● a › b`
//!   headings, vitest's default and verbose reporters: see `js_text`), named as the
//!   reports name them (`fullName`: describe titles and title joined by spaces);
//! - node --test TAP (`ok 2 - name`, `not ok 1 - name`, `# SKIP`) and spec
//!   (`✔ name`, `✖ name`, `﹣ name # SKIP`).
//!
//! Each outcome carries its scope ([`TestOutcome::scope`]) when the runner
//! reports one, so that two crates' `tests::it_works` stay two tests:
//!
//! - `cargo test`: the test binary of the `Running unittests src/lib.rs
//!   (target/debug/deps/crate_a-…)`, `Running tests/it.rs (…/it-…)` and
//!   `Doc-tests crate_a` lines (on stderr), matched in order with the
//!   binaries' `running N tests` lines (on stdout), so it works on stdout and
//!   stderr read one after the other as well as interleaved: `crate_a` for a
//!   library or `src/main.rs`, `crate_a::it` for an integration test (the
//!   crate of the unit tests run just before), `crate_a::bin/tool` for
//!   `src/bin/tool.rs`. When the two counts disagree, no scope is given;
//! - nextest: the binary id (`crate_a`, `crate_a::it`), and in its
//!   libtest-json the part of the name before `$` (`crate_a::crate_a`, a
//!   library, read as `crate_a`);
//! - go test: the package (`ok  \tPKG`, `FAIL\tPKG` after its tests in `-v`
//!   text, the `Package` field in `-json`);
//! - jest and vitest: for a test title that two files hold, the shortest
//!   path suffix telling the files apart (`a/sum.test.js`);
//! - pytest ids are file-qualified and node --test names no file: no scope.
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
//!
//! let go = "--- PASS: TestIt (0.00s)\nok  \texample.com/m/alpha\t0.005s\n--- FAIL: TestIt (0.00s)\nFAIL\texample.com/m/beta\t0.009s\n";
//! let outcomes = test_outcomes(go);
//! assert_eq!(outcomes.len(), 2);
//! assert_eq!(outcomes[1].scope.as_deref(), Some("example.com/m/beta"));
//! ```

use agent_core::failure::{TestOutcome, TestStatus};
use serde_json::Value;

/// Every test the output of a run shows, once each per scope, in output
/// order (a test shown as passed and as anything else counts as the latter).
pub fn test_outcomes(output: &str) -> Vec<TestOutcome> {
    let binaries = cargo_binaries(output);
    let suites = output.lines().filter(|l| suite_start(l)).count();
    // Scopes only when every suite has its binary: a partial match would misplace tests.
    let binaries = if binaries.len() == suites { binaries } else { Vec::new() };
    let mut suite: Option<usize> = None;
    let mut out = Vec::new();
    // Indices of go `-v` outcomes waiting for their package's `ok`/`FAIL` line.
    let mut go_pending: Vec<usize> = Vec::new();
    for line in output.lines() {
        if suite_start(line) {
            suite = Some(suite.map_or(0, |s| s + 1));
        }
        let binary = suite.and_then(|s| binaries.get(s)).map(String::as_str);
        let trimmed = line.trim();
        if trimmed.starts_with('{') {
            // Only test events are parsed: cargo's compiler messages are most of a JSON run.
            // libtest writes `{ "type": "test", … }`, nextest `{"type":"test",…}`.
            if trimmed.contains("\"test\"") || trimmed.contains("\"Action\"") {
                json_line(trimmed, binary, &mut out);
            }
            continue;
        }
        if let Some(o) = libtest(trimmed) {
            out.push(scoped(o, binary));
            continue;
        }
        if let Some(o) =
            nextest(trimmed).or_else(|| pytest(trimmed)).or_else(|| crate::python::unittest_outcome(trimmed))
        {
            out.push(o);
            continue;
        }
        if let Some(o) = go_text(trimmed) {
            go_pending.push(out.len());
            out.push(o);
            continue;
        }
        if let Some(package) = go_package(trimmed) {
            for i in go_pending.drain(..) {
                if let Some(o) = out.get_mut(i) {
                    o.scope = Some(package.to_owned());
                }
            }
            continue;
        }
        if let Some(o) = tap(trimmed).or_else(|| node_spec(line)) {
            out.push(o);
        }
    }
    if out.is_empty() {
        jest_json(output, &mut out);
    }
    if out.is_empty() {
        push_js(crate::js_text::js_text(output), &mut out);
    }
    merge(out)
}

/// [`test_outcomes`] of a run's stdout and stderr; a jest or vitest JSON
/// report file the run wrote ([`RunOutput::reports`](agent_core::exec::RunOutput::reports))
/// is read instead when it lists tests. Every reader applies, whatever tool
/// ran, as in [`test_outcomes`].
pub fn run_test_outcomes(run: &agent_core::exec::RunOutput) -> Vec<TestOutcome> {
    of_run(run)
}

/// [`run_test_outcomes`], the classifiers' shared reader.
pub(crate) fn of_run(run: &agent_core::exec::RunOutput) -> Vec<TestOutcome> {
    if let Some(report) = crate::jest::report_file(run) {
        let mut out = Vec::new();
        jest_json(report, &mut out);
        if !out.is_empty() {
            return merge(out);
        }
    }
    let mut text = run.stdout.text();
    text.push('\n');
    text.push_str(&run.stderr.text());
    test_outcomes(&text)
}

fn scoped(o: TestOutcome, scope: Option<&str>) -> TestOutcome {
    match scope {
        Some(s) => o.in_scope(s),
        None => o,
    }
}

/// One outcome per (scope, name), in first-seen order: runners print some
/// lines twice (nextest's summary, pytest `-v` with `-rA`), and a name
/// printed as passed and as anything else did not pass. An unscoped outcome
/// whose name a scoped one carries is the same test printed again without
/// its scope (libtest lines inside nextest's captured output) and is dropped.
fn merge(outcomes: Vec<TestOutcome>) -> Vec<TestOutcome> {
    let scoped_names: std::collections::HashSet<String> =
        outcomes.iter().filter(|o| o.scope.is_some()).map(|o| o.name.clone()).collect();
    let mut out: Vec<TestOutcome> = Vec::with_capacity(outcomes.len());
    let mut index: std::collections::HashMap<(Option<String>, String), usize> = std::collections::HashMap::new();
    for o in outcomes {
        if o.scope.is_none() && scoped_names.contains(&o.name) {
            continue;
        }
        let key = (o.scope.clone(), o.name.clone());
        match index.get(&key) {
            Some(&i) => {
                if o.status != TestStatus::Passed {
                    out[i].status = o.status;
                }
            }
            None => {
                index.insert(key, out.len());
                out.push(o);
            }
        }
    }
    out
}

/// Where one test binary's results begin: libtest's `running N tests`
/// (unindented: nextest indents the libtest output it captures) or the
/// `suite started` event of libtest's JSON.
fn suite_start(line: &str) -> bool {
    if let Some(rest) = line.strip_prefix("running ") {
        let mut words = rest.split_whitespace();
        return words.next().is_some_and(|n| n.parse::<u64>().is_ok())
            && words.next().is_some_and(|w| w == "test" || w == "tests")
            && words.next().is_none();
    }
    let t = line.trim();
    t.starts_with('{')
        && t.contains("\"suite\"")
        && t.contains("\"started\"")
        && serde_json::from_str::<Value>(t).is_ok_and(|v| v["type"] == "suite" && v["event"] == "started")
}

/// The scopes of the test binaries `cargo test` ran, in order, from its
/// `Running …` and `Doc-tests NAME` lines.
fn cargo_binaries(output: &str) -> Vec<String> {
    let mut out = Vec::new();
    // The crate of the last unit-test binary: integration tests follow their crate's.
    let mut krate: Option<String> = None;
    for line in output.lines() {
        let t = line.trim();
        if let Some(name) = t.strip_prefix("Doc-tests ") {
            let name = name.trim();
            if !name.is_empty() && !name.contains(' ') {
                out.push(name.to_owned());
            }
            continue;
        }
        let Some(rest) = t.strip_prefix("Running ") else { continue };
        let rest = rest.trim();
        // `unittests src/lib.rs (target/debug/deps/crate_a-1a2b)`, `tests/it.rs (…/it-1a2b)`,
        // or (old cargo) the binary path alone.
        let (source, binary) = match rest.rsplit_once(" (") {
            Some((source, b)) => (Some(source.trim()), b.trim_end_matches(')')),
            None if !rest.contains(' ') => (None, rest),
            None => continue,
        };
        let Some(name) = binary_name(binary) else { continue };
        let scope = match source {
            Some(src) if src.starts_with("unittests ") => {
                let src = src.trim_start_matches("unittests ").replace('\\', "/");
                if src.contains("src/bin/") {
                    krate.as_ref().map_or_else(|| format!("bin/{name}"), |k| format!("{k}::bin/{name}"))
                } else {
                    krate = Some(name.clone());
                    name
                }
            }
            Some(_) => krate.as_ref().map_or_else(|| name.clone(), |k| format!("{k}::{name}")),
            None => name,
        };
        out.push(scope);
    }
    out
}

/// `crate_a` of `target/debug/deps/crate_a-9a63dcfeec167e80` (`.exe` too).
fn binary_name(path: &str) -> Option<String> {
    let file = path.rsplit(['/', '\\']).next()?;
    let file = file.strip_suffix(".exe").unwrap_or(file);
    let name = match file.rsplit_once('-') {
        Some((name, hash)) if !hash.is_empty() && hash.chars().all(|c| c.is_ascii_hexdigit()) => name,
        _ => file,
    };
    (!name.is_empty()).then(|| name.to_owned())
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
    // `binary-id test::path`: the test path is the last field, the binary id the one before.
    let (binary, name) = match rest.trim().rsplit_once(' ') {
        Some((binary, name)) => (Some(binary.trim()).filter(|b| !b.is_empty()), name.trim()),
        None => (None, rest.trim()),
    };
    (!name.is_empty()).then(|| scoped(TestOutcome::new(name, status), binary))
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

/// The package of go test's per-package result line: `ok  \tPKG\t0.01s`,
/// `FAIL\tPKG\t0.01s`, `FAIL\tPKG [build failed]`, `?   \tPKG\t[no test files]`.
fn go_package(line: &str) -> Option<&str> {
    let mut fields = line.split('\t');
    let word = fields.next()?.trim_end();
    if !matches!(word, "ok" | "FAIL" | "?") {
        return None;
    }
    let package = fields.next()?.split_whitespace().next()?;
    (!package.is_empty()).then_some(package)
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
    } else {
        (TestStatus::Skipped, trimmed.strip_prefix('﹣')?)
    };
    let name = rest.trim();
    let name = name.rsplit_once(" (").map_or(name, |(n, _)| n).trim();
    // The summary block repeats failures under "✖ failing tests:"; its header is no test.
    if name.is_empty() || name.ends_with(':') {
        return None;
    }
    Some(TestOutcome::new(name, status))
}

/// libtest JSON (`binary`: the scope of the suite it is in) and go test -json lines.
fn json_line(line: &str, binary: Option<&str>, out: &mut Vec<TestOutcome>) {
    let Ok(v) = serde_json::from_str::<Value>(line) else { return };
    if v["type"] == "test" {
        let status = match v["event"].as_str() {
            Some("ok") => TestStatus::Passed,
            Some("failed" | "timeout") => TestStatus::Failed,
            Some("ignored") => TestStatus::Skipped,
            _ => return,
        };
        if let Some(name) = v["name"].as_str() {
            // nextest's libtest-json names a test `crate::binary$test::path`; a library's
            // binary is the crate (`crate_a::crate_a`), whose binary id is `crate_a`.
            out.push(match name.split_once('$') {
                Some((id, test)) if !id.is_empty() && !test.is_empty() => {
                    let id = match id.split_once("::") {
                        Some((krate, binary)) if krate == binary => krate,
                        _ => id,
                    };
                    TestOutcome::new(test, status).in_scope(id)
                }
                _ => scoped(TestOutcome::new(name, status), binary),
            });
        }
    } else if let (Some(action), Some(test)) = (v["Action"].as_str(), v["Test"].as_str()) {
        let status = match action {
            "pass" => TestStatus::Passed,
            "fail" => TestStatus::Failed,
            "skip" => TestStatus::Skipped,
            _ => return,
        };
        out.push(scoped(TestOutcome::new(test, status), v["Package"].as_str().filter(|p| !p.is_empty())));
    }
}

/// jest / vitest `--json`: one document.
fn jest_json(output: &str, out: &mut Vec<TestOutcome>) {
    let start = output.find('{');
    // The document may be followed by other output (stderr): read the first value only.
    let first = start.and_then(|s| serde_json::Deserializer::from_str(&output[s..]).into_iter::<Value>().next());
    let Some(Ok(v)) = first else { return };
    let title = |a: &Value| a["fullName"].as_str().or_else(|| a["title"].as_str()).map(str::to_owned);
    let mut tests = Vec::new();
    for file in v["testResults"].as_array().into_iter().flatten() {
        let path = file["name"].as_str().unwrap_or_default();
        for a in file["assertionResults"].as_array().into_iter().flatten() {
            let status = match a["status"].as_str() {
                Some("passed") => TestStatus::Passed,
                Some("failed") => TestStatus::Failed,
                Some("pending" | "skipped" | "todo" | "disabled") => TestStatus::Skipped,
                _ => continue,
            };
            if let Some(name) = title(a) {
                tests.push((path.to_owned(), name, status));
            }
        }
    }
    push_js(tests, out);
}

/// jest / vitest tests as `(file, name, status)`: a name two files hold is scoped by
/// the shortest path suffix that tells its file apart.
fn push_js(tests: Vec<crate::js_text::JsTest>, out: &mut Vec<TestOutcome>) {
    let mut holders: std::collections::HashMap<&str, Vec<&str>> = std::collections::HashMap::new();
    for (path, name, _) in &tests {
        let paths = holders.entry(name.as_str()).or_default();
        if !paths.contains(&path.as_str()) {
            paths.push(path.as_str());
        }
    }
    for (path, name, status) in &tests {
        let scope = holders.get(name.as_str()).filter(|p| p.len() > 1).map(|p| distinct_suffix(path, p));
        out.push(scoped(TestOutcome::new(name.clone(), *status), scope.as_deref()));
    }
}

/// The shortest trailing run of `path`'s components that no other of
/// `paths` ends with: `a/sum.test.js` of `/x/a/sum.test.js` beside
/// `/x/b/sum.test.js`. It does not depend on where the project lies.
fn distinct_suffix(path: &str, paths: &[&str]) -> String {
    let parts: Vec<&str> = path.split(['/', '\\']).filter(|p| !p.is_empty()).collect();
    for k in 1..=parts.len() {
        let suffix = parts[parts.len() - k..].join("/");
        let clash = paths.iter().filter(|p| **p != path).any(|p| {
            let other: Vec<&str> = p.split(['/', '\\']).filter(|p| !p.is_empty()).collect();
            other.len() >= k && other[other.len() - k..].join("/") == suffix
        });
        if !clash {
            return suffix;
        }
    }
    path.to_owned()
}
