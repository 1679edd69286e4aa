//! [`GoClassifier`]: structured failures from `go test` (text or `-json`),
//! `go build` and `go vet`.

use crate::common::{MAX_MESSAGE_LINES, Parsed, bounded, finish, parse_location, relativize, source_snippet};
use agent_core::FailureClassifier;
use agent_core::exec::RunOutput;
use agent_core::failure::{Classification, Failure, FailureCategory, FailureKind, TestCounts};
use agent_core::workspace::WorkspaceProfile;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Classifies the output of the go command.
///
/// - `go test` text: `--- FAIL: TestX (0.00s)` with its indented
///   `file_test.go:12: message` lines → [`FailureKind::TestAssertion`] named
///   `TestX` (subtests `TestX/case`; a parent that only failed because a
///   subtest did is not repeated); `panic:` with its goroutine trace →
///   [`FailureKind::TestPanic`] located at the first frame outside the standard
///   library; `panic: test timed out` → [`FailureKind::TestTimeout`];
///   `ok  \tpkg` / `FAIL\tpkg` package lines.
/// - `go test -json`: the `Output` of every event is read as the text above;
///   counts come from the `pass`/`fail`/`skip` actions of tests; `build-output`
///   / `build-fail` events (Go 1.24+) and `FailedBuild` are build failures.
/// - Compiler errors `./file.go:3:2: message`: `undefined:` →
///   [`FailureKind::UnresolvedName`]; `imported and not used` / `declared and not used`
///   → [`FailureKind::Lint`] in category build (the compiler refuses them, but the
///   fix is a lint fix: delete the unused item); `syntax error` → [`FailureKind::Syntax`];
///   `no required module provides package`, `cannot find module providing package`,
///   `cannot find package`, `missing go.sum entry` → [`FailureKind::MissingDependency`],
///   except a package under the main module's own path (`go.mod`'s `module`), which is the
///   project's own import → [`FailureKind::UnresolvedImport`];
///   `is not in std` / `could not import` → [`FailureKind::UnresolvedImport`],
///   except a standard-library package newer than the toolchain (`slices` on
///   Go 1.19) → [`FailureKind::Environment`] in category infrastructure;
///   any other compiler error → [`FailureKind::Type`] (the Go compiler's errors
///   come from its type checker).
/// - `go vet` findings (`file:line:col: message` with `vet` in the command, or a vet
///   analyzer's message in `go test`'s build step) → [`FailureKind::Lint`] in category lint.
/// - A timeout panic names the hanging test from `running tests:` or from the test's goroutine frame.
/// - `go: ...` errors of the go command itself (bad go.mod, no main module) → [`FailureKind::Config`].
///
/// File names in test output are bare (`calc_test.go`); they are joined to the
/// package's directory, found from the import path and the `module` line of
/// `go.mod` at the workspace root.
///
/// ```
/// use agent_core::FailureClassifier;
/// use agent_core::failure::FailureKind;
/// use agent_core::exec::RunOutput;
/// use agent_core::workspace::WorkspaceProfile;
/// use agent_classify::GoClassifier;
///
/// let out = "--- FAIL: TestAdd (0.00s)\n    calc_test.go:13: Add(2, 2) = 4, want 5\nFAIL\nFAIL\texample.com/calc\t0.002s\nFAIL\n";
/// let c = GoClassifier::new().classify(&RunOutput::from_text("go test ./...", 1, out, ""), &WorkspaceProfile::default());
/// assert!(c.valid_run);
/// assert_eq!(c.failures[0].kind, FailureKind::TestAssertion);
/// assert_eq!(c.failures[0].test_name.as_deref(), Some("TestAdd"));
/// assert_eq!(c.failures[0].line, Some(13));
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct GoClassifier;

impl GoClassifier {
    /// The tool name in every [`Classification`] this classifier makes.
    pub const TOOL: &'static str = "go";

    /// A go classifier.
    pub fn new() -> Self {
        Self
    }
}

/// One `go test -json` event.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Event {
    #[serde(rename = "Action")]
    action: String,
    #[serde(default)]
    package: Option<String>,
    #[serde(default)]
    import_path: Option<String>,
    #[serde(default)]
    test: Option<String>,
    #[serde(default)]
    output: Option<String>,
    #[serde(default)]
    failed_build: Option<String>,
}

/// A failed test being collected.
#[derive(Default)]
struct TestFail {
    name: String,
    package: Option<String>,
    messages: Vec<String>,
    location: Option<(String, u32)>,
    panic: Option<Panic>,
}

/// A panic and its first project frame.
#[derive(Default)]
struct Panic {
    message: String,
    frame: Option<(String, u32)>,
    timeout: bool,
}

/// Maps import paths to directories relative to the workspace root, using `root/go.mod`.
struct Packages {
    module: Option<String>,
}

impl Packages {
    fn new(root: &Path) -> Self {
        let module = crate::common::read_contained(root, Path::new("go.mod")).and_then(|t| {
            t.lines().find_map(|l| l.trim().strip_prefix("module ").map(|m| m.trim().trim_matches('"').to_owned()))
        });
        Self { module }
    }

    /// `file` (a bare name from test output) as a path relative to the root.
    fn file(&self, package: Option<&str>, file: &str, root: &Path) -> PathBuf {
        let rel = relativize(file, root);
        if rel.components().count() > 1 || rel.is_absolute() {
            return rel;
        }
        let dir = match (package, self.module.as_deref()) {
            (Some(p), Some(m)) if p == m => None,
            (Some(p), Some(m)) => p.strip_prefix(m).and_then(|r| r.strip_prefix('/')),
            _ => None,
        };
        match dir {
            Some(d) => Path::new(d).join(rel),
            None => rel,
        }
    }
}

/// `--- FAIL: TestX (0.00s)` (any indentation) → (`FAIL`, `TestX`).
fn result_line(line: &str) -> Option<(&str, &str)> {
    let rest = line.trim_start().strip_prefix("--- ")?;
    let (word, rest) = rest.split_once(": ")?;
    if !matches!(word, "FAIL" | "PASS" | "SKIP") {
        return None;
    }
    let name = rest.split(" (").next()?.trim();
    (!name.is_empty()).then_some((word, name))
}

/// `ok  \tpkg\t0.003s`, `FAIL\tpkg\t0.002s`, `FAIL\tpkg [build failed]` → (ok?, pkg, build failed?).
fn package_line(line: &str) -> Option<(bool, &str, bool)> {
    let (ok, rest) =
        if let Some(r) = line.strip_prefix("ok  \t") { (true, r) } else { (false, line.strip_prefix("FAIL\t")?) };
    let pkg = rest.split(['\t', ' ']).next()?;
    Some((ok, pkg, rest.contains("[build failed]") || rest.contains("[setup failed]")))
}

/// A `file.go:12: message` line logged by a test (after indentation).
fn test_log(line: &str) -> Option<(&str, u32, &str)> {
    let t = line.trim_start();
    let (file, rest) = t.split_once(".go:")?;
    let (n, msg) = rest.split_once(": ").or_else(|| rest.strip_suffix(':').map(|n| (n, "")))?;
    if file.contains(' ') {
        return None;
    }
    Some((&t[..file.len() + 3], n.parse().ok()?, msg))
}

/// A compiler or vet diagnostic `./file.go:3:2: message`.
fn diagnostic(line: &str) -> Option<(String, u32, Option<u32>, &str)> {
    if line.starts_with([' ', '\t']) {
        return None;
    }
    let idx = line.find(".go:")?;
    let after = &line[idx + 4..];
    let (nums, msg) = after.split_once(": ")?;
    let loc = &line[..idx + 4 + nums.len()];
    let (file, ln, col) = parse_location(loc)?;
    if file.contains(' ') {
        return None;
    }
    Some((file, ln, col, msg.trim()))
}

/// A message of one of `go vet`'s analyzers, which `go test` also runs before the tests
/// (its findings then print like compiler errors, under `[build failed]`): a lint
/// finding, never a type error. The compiler prints none of these.
pub(crate) fn is_vet_finding(msg: &str) -> bool {
    const VET: &[&str] = &[
        " format %",
        "call has arguments but no formatting directives",
        "call has possible Printf formatting directive",
        "call has possible formatting directive",
        "arg list ends with redundant newline",
        "call needs ",
        "wrong number of args for format",
        "possible misuse of ",
        "unreachable code",
        "self-assignment of ",
        "passes lock by value",
        "copies lock value",
        "assignment copies lock",
        "range var ",
        "loop variable ",
        "struct field tag ",
        "composite literal uses unkeyed fields",
        "should have signature ",
        "the cancel function ",
        "result of fmt.",
        "result of errors.New call not used",
        "comparison of function ",
        "is never nil",
        "suspect or: ",
        "suspect and: ",
        "redundant or: ",
        "redundant and: ",
        "self-comparison",
        "misuse of unbuffered os.Signal channel",
        "call to (*testing.T)",
        "call to (*T).Fatal",
        "Fatalf from a non-test goroutine",
        "has malformed example suffix",
        "refers to unknown identifier",
        "possible formatting directive",
    ];
    VET.iter().any(|p| msg.contains(p))
}

/// Standard-library packages and the Go release that added them: an older
/// toolchain says `package slices is not in GOROOT` (`… is not in std` since
/// Go 1.20), which no edit of the code fixes.
const NEWER_STD: &[(&str, &str)] = &[
    ("cmp", "1.21"),
    ("crypto/ecdh", "1.20"),
    ("crypto/hkdf", "1.24"),
    ("crypto/mlkem", "1.24"),
    ("crypto/pbkdf2", "1.24"),
    ("crypto/sha3", "1.24"),
    ("go/version", "1.22"),
    ("iter", "1.23"),
    ("log/slog", "1.21"),
    ("maps", "1.21"),
    ("math/rand/v2", "1.22"),
    ("slices", "1.21"),
    ("structs", "1.23"),
    ("testing/slogtest", "1.21"),
    ("testing/synctest", "1.25"),
    ("unique", "1.23"),
    ("weak", "1.24"),
];

/// The package and the Go release of a `package P is not in GOROOT|std`
/// error for a standard-library package newer than the toolchain.
fn newer_std_package(msg: &str) -> Option<(&'static str, &'static str)> {
    let rest = msg.strip_prefix("package ")?;
    let (package, _) = rest.split_once(" is not in ")?;
    NEWER_STD.iter().find(|(p, _)| *p == package).copied()
}

/// The kind of a compiler error message; `module` is the main module's path (`go.mod`).
fn compile_kind(msg: &str, module: Option<&str>) -> FailureKind {
    if msg.starts_with("undefined: ") || msg.contains("undefined (type") {
        FailureKind::UnresolvedName
    } else if msg.contains("imported and not used")
        || msg.contains("declared and not used")
        || msg.contains("declared but not used")
    {
        FailureKind::Lint
    } else if msg.starts_with("syntax error")
        || msg.contains("expected ") && msg.contains("found") && !msg.contains("type")
    {
        FailureKind::Syntax
    } else if is_missing_dependency(msg) {
        missing_package_kind(msg, module)
    } else if msg.contains("is not in std") || msg.contains("is not in GOROOT") || msg.contains("could not import") {
        FailureKind::UnresolvedImport
    } else {
        FailureKind::Type
    }
}

/// The kind of a package no module provides: a package under the main module's own path
/// (`example.com/shop/inventory` in module `example.com/shop`) is the project's own import
/// of a package it lacks ([`FailureKind::UnresolvedImport`]); any other a dependency the
/// module does not require ([`FailureKind::MissingDependency`]).
fn missing_package_kind(msg: &str, module: Option<&str>) -> FailureKind {
    let package = ["provides package ", "providing package ", "cannot find package "].iter().find_map(|m| {
        let rest = &msg[msg.find(m)? + m.len()..];
        let rest = rest.trim_start_matches('"');
        rest.split(|c: char| c == '"' || c == ';' || c.is_whitespace()).next().filter(|p| !p.is_empty())
    });
    match (package, module) {
        (Some(p), Some(m)) if p == m || p.strip_prefix(m).is_some_and(|r| r.starts_with('/')) => {
            FailureKind::UnresolvedImport
        }
        _ => FailureKind::MissingDependency,
    }
}

/// A package the module does not provide.
fn is_missing_dependency(msg: &str) -> bool {
    msg.contains("no required module provides package")
        || msg.contains("cannot find module providing package")
        || msg.contains("cannot find package")
        || msg.contains("missing go.sum entry")
}

/// Whether a stack frame's function belongs to the standard library or the runtime.
fn is_std_frame(func: &str) -> bool {
    let first = func.split('/').next().unwrap_or(func);
    func.starts_with("panic(")
        || func.starts_with("created by ")
        || !first.split('.').next().unwrap_or(first).contains('.') && !func.contains('/') && {
            // `main.f` and `pkg.f` of a module without a dot are user code; the runtime and testing are not.
            let pkg = first.split('.').next().unwrap_or(first);
            matches!(pkg, "runtime" | "testing" | "reflect" | "sync" | "internal" | "os" | "syscall" | "fmt")
        }
}

/// `\t/abs/path/file.go:12 +0x1d` → (`/abs/path/file.go`, 12).
fn frame_location(line: &str) -> Option<(&str, u32)> {
    let t = line.strip_prefix('\t')?;
    let t = t.split(" +0x").next()?;
    let (file, n) = t.rsplit_once(':')?;
    file.ends_with(".go").then_some(())?;
    Some((file, n.trim().parse().ok()?))
}

/// The test named by a line of a timeout panic: `\tTestX (10m0s)` under `running tests:`,
/// or a frame `example.com/pkg.TestX(0xc000…)` of the test's goroutine.
fn timed_out_test(line: &str) -> Option<&str> {
    let is_test = |name: &str| {
        ["Test", "Benchmark", "Fuzz", "Example"].iter().any(|p| name.starts_with(p))
            && name.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '/')
    };
    if let Some(rest) = line.strip_prefix('\t') {
        let (name, dur) = rest.split_once(" (")?;
        return (dur.ends_with(')') && is_test(name)).then_some(name);
    }
    let call = line.split_once('(')?.0;
    let func = call.rsplit('/').next()?.split_once('.')?.1;
    is_test(func).then_some(func)
}

/// Everything the text parser gathers.
#[derive(Default)]
struct Scan {
    fails: Vec<TestFail>,
    diagnostics: Vec<(String, u32, Option<u32>, String)>,
    go_errors: Vec<String>,
    counts: TestCounts,
    packages_seen: bool,
    build_failed: Vec<String>,
}

/// Reads go's text output (or the text reconstructed from `-json` events).
fn scan(lines: &[(Option<String>, String)]) -> Scan {
    let mut s = Scan::default();
    // Index of the failing test that logged lines follow.
    let mut current: Option<usize> = None;
    let mut last_indent = 0usize;
    let mut in_panic: Option<usize> = None;
    let mut frame_func: Option<String> = None;
    // The next frame location is the timed-out test function's.
    let mut test_frame_next = false;
    // With -v or -json a test's log lines come between `=== RUN` and `--- FAIL`.
    let mut running: Option<String> = None;
    let mut pending: HashMap<String, Vec<String>> = HashMap::new();
    for (pkg, line) in lines {
        let line = line.as_str();
        if let Some(idx) = in_panic {
            // A timeout panic names the hanging test: `running tests:\n\tTestX (10m0s)` (go 1.20+),
            // else the test function's frame in a goroutine (`pkg.TestX(0xc…)`).
            if s.fails[idx].panic.as_ref().is_some_and(|p| p.timeout) {
                if let Some(name) = timed_out_test(line) {
                    if s.fails[idx].name.is_empty() || s.fails[idx].name == name {
                        s.fails[idx].name = name.to_owned();
                        // The test function's own frame: where it hangs, rather than `_testmain.go`.
                        test_frame_next = !line.starts_with('\t');
                    }
                }
            }
            // Inside a goroutine trace: `func(args)` then `\t/file.go:12 +0x..`.
            if let Some((file, n)) = frame_location(line) {
                if std::mem::take(&mut test_frame_next) {
                    if let Some(p) = s.fails[idx].panic.as_mut() {
                        p.frame = Some((file.to_owned(), n));
                    }
                }
                if let Some(func) = frame_func.take() {
                    let p = s.fails[idx].panic.get_or_insert_with(Panic::default);
                    if p.frame.is_none()
                        && !is_std_frame(&func)
                        && !file.contains("/src/runtime/")
                        && !file.contains("/src/testing/")
                    {
                        p.frame = Some((file.to_owned(), n));
                    }
                }
                continue;
            }
            if !line.is_empty()
                && !line.starts_with("FAIL")
                && !line.starts_with("ok  ")
                && !line.starts_with("exit status")
            {
                if !line.starts_with("goroutine ") {
                    frame_func = Some(line.trim().to_owned());
                }
                continue;
            }
            if line.is_empty() {
                continue;
            }
            in_panic = None;
        }
        if let Some((word, name)) = result_line(line) {
            match word {
                "FAIL" => {
                    s.counts.failed = s.counts.failed.saturating_add(1);
                    let idx = s.fails.iter().position(|f| f.name == name && f.package == *pkg).unwrap_or_else(|| {
                        s.fails.push(TestFail { name: name.to_owned(), package: pkg.clone(), ..TestFail::default() });
                        s.fails.len() - 1
                    });
                    current = Some(idx);
                    last_indent = line.len() - line.trim_start().len();
                    for log in pending.remove(name).unwrap_or_default() {
                        let f = &mut s.fails[idx];
                        if f.location.is_none() {
                            if let Some((file, n, _)) = test_log(&log) {
                                f.location = Some((file.to_owned(), n));
                            }
                        }
                        f.messages.push(log.trim().to_owned());
                    }
                }
                "PASS" => {
                    s.counts.passed = s.counts.passed.saturating_add(1);
                    pending.remove(name);
                    current = None;
                }
                _ => {
                    s.counts.ignored = s.counts.ignored.saturating_add(1);
                    pending.remove(name);
                    current = None;
                }
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("panic: ") {
            let by_running =
                running.as_ref().and_then(|r| s.fails.iter().position(|f| f.name == *r && f.package == *pkg));
            let idx = match current
                .or(by_running)
                .or_else(|| (running.is_none()).then(|| s.fails.len().checked_sub(1)).flatten())
            {
                Some(i) => i,
                None => {
                    let name = running.clone().unwrap_or_default();
                    s.fails.push(TestFail { name, package: pkg.clone(), ..TestFail::default() });
                    s.fails.len() - 1
                }
            };
            let message = rest.trim_end_matches(" [recovered]").to_owned();
            let timeout = message.starts_with("test timed out");
            s.fails[idx].panic = Some(Panic { message, frame: None, timeout });
            if timeout {
                // The running test is named on the next line: `running tests:\n\tTestX (10s)`.
                s.fails[idx].name.clear();
            }
            in_panic = Some(idx);
            frame_func = None;
            continue;
        }
        if let Some((ok, p, build)) = package_line(line) {
            s.packages_seen = true;
            if !ok && build {
                s.build_failed.push(p.to_owned());
            }
            // Tests named before this line belong to this package when it was not known.
            for f in s.fails.iter_mut().filter(|f| f.package.is_none()) {
                f.package = Some(p.to_owned());
            }
            current = None;
            continue;
        }
        if let Some(rest) = line.strip_prefix("=== ") {
            let (word, name) = rest.split_once(' ').unwrap_or((rest, ""));
            if matches!(word, "RUN" | "CONT" | "NAME") && !name.trim().is_empty() {
                running = Some(name.trim().to_owned());
            }
            current = None;
            continue;
        }
        if line == "FAIL" || line == "PASS" || line.starts_with("exit status ") {
            continue;
        }
        if let Some(idx) = current {
            let indent = line.len() - line.trim_start().len();
            if indent > last_indent && !line.trim().is_empty() {
                let f = &mut s.fails[idx];
                if f.location.is_none() {
                    if let Some((file, n, _)) = test_log(line) {
                        f.location = Some((file.to_owned(), n));
                    }
                }
                f.messages.push(line.trim().to_owned());
                continue;
            }
        } else if let Some(name) = &running {
            if line.starts_with([' ', '\t']) && !line.trim().is_empty() {
                pending.entry(name.clone()).or_default().push(line.to_owned());
                continue;
            }
        }
        if let Some((file, n, col, msg)) = diagnostic(line) {
            s.diagnostics.push((file, n, col, msg.to_owned()));
            continue;
        }
        if let Some(msg) = line.strip_prefix("go: ") {
            let noise = ["finding module", "downloading ", "found ", "extracting ", "to add module requirements"];
            if !noise.iter().any(|n| msg.starts_with(n)) {
                s.go_errors.push(msg.trim().to_owned());
            }
        }
    }
    s
}

impl FailureClassifier for GoClassifier {
    fn test_outcomes(&self, run: &RunOutput) -> Vec<agent_core::failure::TestOutcome> {
        crate::outcomes::of_run(run)
    }

    fn classify(&self, run: &RunOutput, ws: &WorkspaceProfile) -> Classification {
        let root = ws.root.as_path();
        let stdout = run.stdout.text();
        let stderr = run.stderr.text();
        let packages = Packages::new(root);
        let vet = run.command.split_whitespace().any(|w| w == "vet");
        let mut lines: Vec<(Option<String>, String)> = Vec::new();
        let mut json_counts = TestCounts::default();
        let mut json_seen = false;
        let mut json_build_failed: Vec<String> = Vec::new();
        // Per-package test output from -json, kept apart so parallel packages do not interleave.
        let mut by_test: HashMap<(Option<String>, Option<String>), usize> = HashMap::new();
        let mut streams: Vec<(Option<String>, Vec<String>)> = Vec::new();
        for line in stdout.lines().chain(stderr.lines()) {
            let t = line.trim();
            if t.starts_with('{') {
                if let Ok(e) = serde_json::from_str::<Event>(t) {
                    json_seen = true;
                    let pkg = e.package.clone().or_else(|| e.import_path.clone());
                    match (e.action.as_str(), &e.test) {
                        ("pass", Some(_)) => json_counts.passed = json_counts.passed.saturating_add(1),
                        ("fail", Some(_)) => json_counts.failed = json_counts.failed.saturating_add(1),
                        ("skip", Some(_)) => json_counts.ignored = json_counts.ignored.saturating_add(1),
                        ("build-fail", _) => json_build_failed.extend(e.import_path.clone()),
                        ("fail", None) => json_build_failed.extend(e.failed_build.clone()),
                        _ => {}
                    }
                    if let Some(out) = e.output {
                        let key =
                            (pkg.clone(), if e.action == "build-output" { Some(String::from("#build")) } else { None });
                        let idx = *by_test.entry(key).or_insert_with(|| {
                            streams.push((pkg.clone(), Vec::new()));
                            streams.len() - 1
                        });
                        streams[idx].1.extend(out.lines().map(str::to_owned));
                    }
                    continue;
                }
            }
            lines.push((None, line.to_owned()));
        }
        for (pkg, stream) in streams {
            lines.extend(stream.into_iter().map(|l| (pkg.clone(), l)));
        }
        let s = scan(&lines);
        let mut parsed = Parsed::default();
        for (file, n, col, msg) in &s.diagnostics {
            let file = relativize(file, root);
            let newer_std = newer_std_package(msg);
            let (category, kind) = if vet || is_vet_finding(msg) {
                (FailureCategory::Lint, FailureKind::Lint)
            } else if newer_std.is_some() {
                (FailureCategory::Infrastructure, FailureKind::Environment)
            } else {
                let kind = compile_kind(msg, packages.module.as_deref());
                (FailureCategory::Build, kind)
            };
            let message = match newer_std {
                Some((package, since)) => format!(
                    "the Go toolchain is older than the code needs: `{package}` is in the standard library \
                     since Go {since}: {msg}"
                ),
                None => msg.clone(),
            };
            let mut f = Failure::new(category, kind, message);
            f.snippet = source_snippet(root, &file, *n);
            parsed.failures.push(f.at(file, Some(*n), *col));
        }
        for msg in &s.go_errors {
            let kind = if is_missing_dependency(msg) {
                missing_package_kind(msg, packages.module.as_deref())
            } else {
                FailureKind::Config
            };
            parsed.failures.push(Failure::new(FailureCategory::Build, kind, format!("go: {msg}")));
        }
        // Leaf failures only: a parent whose subtest failed says nothing of its own.
        let names: Vec<(String, Option<String>)> =
            s.fails.iter().map(|f| (f.name.clone(), f.package.clone())).collect();
        for f in &s.fails {
            let has_failing_child =
                names.iter().any(|(n, p)| *p == f.package && n.starts_with(&format!("{}/", f.name)));
            if has_failing_child && f.messages.is_empty() && f.panic.is_none() {
                continue;
            }
            let pkg = f.package.as_deref();
            let mut failure = if let Some(p) = &f.panic {
                let kind = if p.timeout { FailureKind::TestTimeout } else { FailureKind::TestPanic };
                let mut x = Failure::new(FailureCategory::Test, kind, format!("panic: {}", p.message));
                if let Some((file, n)) = p.frame.as_ref().or(f.location.as_ref()) {
                    let file = packages.file(pkg, file, root);
                    x.snippet = source_snippet(root, &file, *n);
                    x = x.at(file, Some(*n), None);
                }
                x
            } else {
                let msgs: Vec<&str> = f.messages.iter().map(String::as_str).collect();
                let text = if msgs.is_empty() { "test failed".to_owned() } else { bounded(&msgs, MAX_MESSAGE_LINES) };
                let mut x = Failure::new(FailureCategory::Test, FailureKind::TestAssertion, text);
                if let Some((file, n)) = &f.location {
                    let file = packages.file(pkg, file, root);
                    x.snippet = source_snippet(root, &file, *n);
                    x = x.at(file, Some(*n), None);
                }
                x
            };
            if !f.name.is_empty() {
                failure = failure.in_test(f.name.as_str());
            }
            parsed.failures.push(failure);
        }
        let mut build_failed = s.build_failed.clone();
        build_failed.extend(json_build_failed);
        build_failed.sort();
        build_failed.dedup();
        if !build_failed.is_empty() {
            parsed.notes.push(format!("build failed: {}", build_failed.join(", ")));
            if parsed.failures.is_empty() {
                parsed.failures.push(Failure::new(
                    FailureCategory::Build,
                    FailureKind::Unknown,
                    format!("the build of {} failed and no compiler error was found", build_failed.join(", ")),
                ));
            }
        }
        let test_cmd = run.command.split_whitespace().any(|w| w == "test");
        parsed.test_run = test_cmd || s.packages_seen || json_seen;
        if json_seen {
            parsed.tests = Some(json_counts);
        } else if s.packages_seen {
            parsed.tests = Some(s.counts);
            if s.counts.passed == 0 && s.counts.failed == 0 {
                parsed
                    .notes
                    .push("without -v or -json go test does not list passing tests: counts are partial".to_owned());
            }
        }
        if !s.packages_seen && json_seen && json_counts == TestCounts::default() && build_failed.is_empty() {
            parsed.tests = None;
        }
        finish(Self::TOOL, run, parsed, "go")
    }
}

/// Whether `text` is the output of the go command (`go test`, `go build`, `go vet`).
pub(crate) fn detect(text: &str) -> bool {
    text.lines().any(|line| {
        let t = line.trim_start();
        t.starts_with("--- FAIL: ")
            || t.starts_with("--- PASS: ")
            || package_line(line).is_some()
            || line.starts_with("?   \t") && line.contains("[no test files]")
            || t.starts_with('{')
                && t.contains("\"Action\":\"")
                && (t.contains("\"Package\":\"") || t.contains("\"ImportPath\":\""))
            || t.starts_with("go: ")
            || diagnostic(line).is_some_and(|(file, ..)| file.ends_with(".go"))
            || t.starts_with("goroutine ") && t.ends_with("[running]:")
    })
}
