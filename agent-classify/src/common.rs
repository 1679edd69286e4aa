//! Helpers shared by the classifiers: paths, snippets, environment detection,
//! deduplication and the valid-run rules.
//!
//! **Valid-run rules** (`finish`, which every classifier ends with; they
//! follow SWE-bench's hardening of test harnesses). A run passes only when
//! it is valid and nothing failed. It is not valid when it timed out (its
//! output is incomplete), when it exits 0 but failures were parsed, when a
//! test run exits 0 without the tool's test summary (did the tests run?), or
//! when it fails and no failure can be parsed (the tail of its output then
//! becomes one `Unknown` failure). Output whose exit status nobody recorded
//! is judged from its content alone. Classifiers add their tool's cases: no
//! test collected or found is not a pass (pytest's exit 5, jest's and node's
//! empty suites), and skipped tests count as ignored, never as passed.
//!
//! **Environment tier.** Problems the model cannot fix (a command or tool
//! not found, a missing linker, out of memory, a full disk, no network, an
//! offline build that needed a download, a port in use) become
//! [`FailureKind::Environment`] failures, listed first, and put the
//! classification in tier [`Tier::Infrastructure`]: the repair loop does not
//! send them to the model but hands the task to a person (unless they are
//! only tests the task does not name). A build or configuration error whose
//! own line shows such a cause (rustup with no toolchain, a module download
//! with no DNS) becomes that environment failure, at its location. A *test* that fails
//! on its environment (an unset environment variable — `KeyError` from
//! `os.environ[...]`, Rust's `NotPresent`, `environment variable X not set` —
//! a missing data or fixture file, a port in use, a host name that does not
//! resolve) keeps its name and location
//! and becomes an environment failure itself ([`environment_cause`]); so does an
//! import of a third-party module the project declares but this environment
//! lacks (the Python and JavaScript classifiers decide that from the manifests).
//!
//! **Killed runs.** A run stopped from outside — coreutils `timeout` (exit 124),
//! SIGKILL (137 or signal 9), SIGTERM (143 or signal 15), SIGALRM, SIGXCPU — is
//! not valid and gets a [`FailureKind::TestTimeout`] naming the test that had
//! started and not finished when the output names one ([`last_started_test`]).

use agent_core::exec::{CapturedStream, RunOutput};
use agent_core::failure::{Classification, Failure, FailureCategory, FailureKind, TestCounts, Tier};
use aho_corasick::{AhoCorasick, MatchKind};
// The classifiers' sets and maps are keyed by short strings and paths from one run's
// output: FxHash, since SipHash's resistance to crafted collisions buys nothing there.
use rustc_hash::{FxBuildHasher, FxHashMap, FxHashSet};
use std::borrow::Cow;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

/// Most lines kept in a failure message.
pub(crate) const MAX_MESSAGE_LINES: usize = 20;
/// Most lines kept in a snippet.
pub(crate) const MAX_SNIPPET_LINES: usize = 40;
/// Lines of stderr kept when nothing could be parsed.
const TAIL_LINES: usize = 20;
/// Source lines shown on each side of a failing line.
const CONTEXT_LINES: u32 = 3;

/// The captured text of a stream, borrowed when nothing was dropped (the common case),
/// so a classifier does not copy megabytes of output to read it.
pub(crate) fn text(stream: &CapturedStream) -> Cow<'_, str> {
    if !stream.truncated && stream.tail.is_empty() {
        Cow::Borrowed(stream.head.as_str())
    } else {
        Cow::Owned(stream.text())
    }
}

/// `path` relative to `root` when it is absolute and under it; `./` stripped.
pub(crate) fn relativize(path: &str, root: &Path) -> PathBuf {
    let p = Path::new(path);
    if p.is_absolute() && !root.as_os_str().is_empty() {
        if let Ok(rel) = p.strip_prefix(root) {
            return rel.to_path_buf();
        }
    }
    match path.strip_prefix("./") {
        Some(rest) => PathBuf::from(rest),
        None => p.to_path_buf(),
    }
}

/// Parses `file:line:col` (col optional) at the end of `s`; the file may contain `:`.
pub(crate) fn parse_location(s: &str) -> Option<(String, u32, Option<u32>)> {
    let s = s.trim().trim_end_matches(':');
    let mut parts = s.rsplitn(3, ':');
    let last = parts.next()?;
    let mid = parts.next()?;
    let first = parts.next();
    match (first, mid.parse::<u32>(), last.parse::<u32>()) {
        (Some(file), Ok(line), Ok(col)) if !file.is_empty() => Some((file.to_owned(), line, Some(col))),
        _ => {
            let line = last.parse::<u32>().ok()?;
            let file = match first {
                Some(f) => format!("{f}:{mid}"),
                None => mid.to_owned(),
            };
            (!file.is_empty()).then_some((file, line, None))
        }
    }
}

/// The text of `file` (relative to `root`, or absolute under it) when
/// agent-core's [`contain`](agent_core::workspace::contain) accepts it, else `None`.
///
/// The one way this crate reads a file named by tool output or by a
/// failure: a path outside the workspace (an absolute frame in the standard
/// library, `../../etc/passwd`, a symlink pointing out, anything in `.git`)
/// stays a location in the failure and its content is never read. An empty
/// root stands for the current directory, as `Path::join` treats it.
pub(crate) fn read_contained(root: &Path, file: &Path) -> Option<String> {
    read_contained_bounded(root, file, u64::MAX)
}

/// [`read_contained`], for a file of at most `max_bytes` bytes (a larger one is not read).
pub(crate) fn read_contained_bounded(root: &Path, file: &Path, max_bytes: u64) -> Option<String> {
    let root = if root.as_os_str().is_empty() { Path::new(".") } else { root };
    let contained = agent_core::workspace::contain(root, file).ok()?;
    if max_bytes < u64::MAX && std::fs::metadata(&contained.resolved).ok()?.len() > max_bytes {
        return None;
    }
    std::fs::read_to_string(contained.resolved).ok()
}

/// ±3 source lines around `line` of `root/file`, the failing line marked with `>`;
/// `None` when the file is outside the workspace ([`read_contained`]).
pub(crate) fn source_snippet(root: &Path, file: &Path, line: u32) -> Option<String> {
    if line == 0 {
        return None;
    }
    let text = read_contained(root, file)?;
    let first = line.saturating_sub(CONTEXT_LINES).max(1);
    let last = line.saturating_add(CONTEXT_LINES);
    let width = last.to_string().len();
    let out: Vec<String> = text
        .lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let n = u32::try_from(i + 1).ok()?;
            (n >= first && n <= last).then(|| {
                let mark = if n == line { '>' } else { ' ' };
                format!("{mark} {n:>width$} | {l}")
            })
        })
        .collect();
    (!out.is_empty()).then(|| out.join("\n"))
}

/// The words a tool's test summary uses for each of the [`TestCounts`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct CountWords {
    /// Words counted as passed.
    pub(crate) passed: &'static [&'static str],
    /// Words counted as failed.
    pub(crate) failed: &'static [&'static str],
    /// Words counted as ignored.
    pub(crate) ignored: &'static [&'static str],
}

impl CountWords {
    /// Adds each `N word …` part of a summary to `counts`, by the counter `word`
    /// belongs to; parts in another form or with another word are skipped.
    pub(crate) fn add<'a>(&self, parts: impl IntoIterator<Item = &'a str>, counts: &mut TestCounts) {
        for part in parts {
            let mut words = part.split_whitespace();
            let (Some(n), Some(what)) = (words.next(), words.next()) else { continue };
            let Ok(n) = n.parse::<u32>() else { continue };
            let counter = if self.passed.contains(&what) {
                &mut counts.passed
            } else if self.failed.contains(&what) {
                &mut counts.failed
            } else if self.ignored.contains(&what) {
                &mut counts.ignored
            } else {
                continue;
            };
            *counter = counter.saturating_add(n);
        }
    }
}

/// [`source_snippet`] remembered per file and line, so a classification that
/// meets the same location many times (repeated or looping output) reads the file once.
#[derive(Debug, Default)]
pub(crate) struct SnippetCache {
    seen: FxHashMap<(std::ffi::OsString, u32), Option<String>>,
}

impl SnippetCache {
    /// [`source_snippet`] of `root/file` at `line`, from the cache when already read.
    pub(crate) fn get(&mut self, root: &Path, file: &Path, line: u32) -> Option<String> {
        let key = (root.join(file).into_os_string(), line);
        if let Some(hit) = self.seen.get(&key) {
            return hit.clone();
        }
        let snippet = source_snippet(root, file, line);
        self.seen.insert(key, snippet.clone());
        snippet
    }
}

/// The first `max` lines of `lines`, with a marker when some were dropped.
pub(crate) fn bounded(lines: &[&str], max: usize) -> String {
    let mut out: Vec<&str> = lines.iter().take(max).copied().collect();
    while out.last().is_some_and(|l| l.trim().is_empty()) {
        out.pop();
    }
    let mut text = out.join("\n");
    if lines.len() > max {
        text.push_str(&format!("\n[… {} more lines]", lines.len() - max));
    }
    text
}

/// The part of a rendered diagnostic that is about the user's code.
///
/// rustc follows some diagnostics with notes located in the standard library
/// or in dependencies (`--> /rustc/<hash>/library/...`). Those lines cost
/// tokens, change with every toolchain, and say nothing the model can act
/// on, so the snippet stops at the first location after the primary one
/// that lies outside the workspace (an absolute path), and trailing lines
/// that introduced the dropped part go too.
pub(crate) fn user_part<'a>(lines: &[&'a str]) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut seen_location = false;
    for line in lines {
        let t = line.trim_start();
        if let Some(loc) = t.strip_prefix("--> ").or_else(|| t.strip_prefix("::: ")) {
            if seen_location && loc.starts_with('/') {
                break;
            }
            seen_location = true;
        }
        out.push(*line);
    }
    if out.len() < lines.len() {
        while out.last().is_some_and(|l| {
            let t = l.trim();
            t.is_empty() || t == "|" || t.starts_with("help:") || t.starts_with("note:")
        }) {
            out.pop();
        }
    }
    out
}

/// The last lines of `text`, non-empty ones only.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Substrings that reveal an environment problem, and what each means.
const ENV_PATTERNS: &[(&str, &str)] = &[
    ("command not found", "a command was not found"),
    ("could not execute process", "a tool could not be executed"),
    ("No space left on device", "the disk is full"),
    ("out of memory", "out of memory"),
    ("Cannot allocate memory", "out of memory"),
    ("could not resolve host", "the network is unavailable (DNS)"),
    ("Could not resolve host", "the network is unavailable (DNS)"),
    ("Network is unreachable", "the network is unreachable"),
    ("network unreachable", "the network is unreachable"),
    ("but --offline was specified", "a download was needed in offline mode"),
    ("no such host", "the network is unavailable (DNS)"),
    ("Temporary failure in name resolution", "the network is unavailable (DNS)"),
    ("Name or service not known", "the network is unavailable (DNS)"),
    ("failed to lookup address information", "the network is unavailable (DNS)"),
    ("getaddrinfo ENOTFOUND", "the network is unavailable (DNS)"),
    ("getaddrinfo EAI_AGAIN", "the network is unavailable (DNS)"),
    ("rustup could not choose a version", "no Rust toolchain is installed or set as rustup's default"),
    ("error: toolchain '", "the Rust toolchain asked for is not installed"),
    ("Address already in use", "a port is already in use"),
    ("address already in use", "a port is already in use"),
    ("EADDRINUSE", "a port is already in use"),
];

/// Substrings that need a second look (`memory allocation of … failed`, ``linker `cc` not found``).
const ENV_HINTS: &[&str] = &["memory allocation of", "linker `"];

/// One automaton over [`ENV_PATTERNS`] and [`ENV_HINTS`]: most output holds none of
/// them, and a single pass over it (SIMD-accelerated) says so.
/// Leftmost-first matching lets the automaton use its packed (Teddy) SIMD searcher;
/// whether any pattern occurs does not depend on the match semantics.
static ENV_SEARCH: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
    AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostFirst)
        .build(ENV_PATTERNS.iter().map(|(p, _)| *p).chain(ENV_HINTS.iter().copied()))
        .ok()
});

/// Whether `text` holds any environment pattern or hint (patterns never span lines).
fn any_env_pattern(text: &str) -> bool {
    match ENV_SEARCH.as_ref() {
        Some(ac) => ac.is_match(text),
        None => ENV_PATTERNS.iter().any(|(p, _)| text.contains(p)) || ENV_HINTS.iter().any(|h| text.contains(h)),
    }
}

/// Environment problems the model cannot fix: one [`FailureKind::Environment`] failure per pattern found.
pub(crate) fn environment_failures(run: &RunOutput, program: &str) -> Vec<Failure> {
    let stdout = text(&run.stdout);
    let stderr = text(&run.stderr);
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let push = |out: &mut Vec<Failure>, seen: &mut HashSet<String>, what: &str, line: &str| {
        if seen.insert(what.to_owned()) {
            out.push(Failure::new(
                FailureCategory::Infrastructure,
                FailureKind::Environment,
                format!("{what}: {}", line.trim()),
            ));
        }
    };
    for text in [&stdout, &stderr] {
        if !any_env_pattern(text) {
            continue;
        }
        for line in text.lines() {
            for (pattern, what) in ENV_PATTERNS {
                if line.contains(pattern) {
                    push(&mut out, &mut seen, what, line);
                }
            }
            if line.contains("memory allocation of") && line.contains("failed") {
                push(&mut out, &mut seen, "out of memory", line);
            }
            if line.contains("linker `") && line.contains("` not found") {
                push(&mut out, &mut seen, "the linker is missing", line);
            }
        }
    }
    // The tool itself missing: the executor reports it on stderr, usually with exit 127.
    if stderr.contains("No such file or directory (os error 2)") {
        for line in stderr.lines() {
            if line.contains("No such file or directory (os error 2)") && (program.is_empty() || line.contains(program))
            {
                push(&mut out, &mut seen, "a tool was not found", line);
            }
        }
    }
    // dash and busybox: `sh: 1: protoc: not found`.
    for line in stderr.lines() {
        let t = line.trim();
        if t.starts_with("sh: ") && t.ends_with(": not found") {
            push(&mut out, &mut seen, "a command was not found", line);
        }
    }
    if run.exit_code == Some(127) && seen.is_empty() {
        push(&mut out, &mut seen, "a command was not found (exit 127)", &tail(&stderr, 1));
    }
    out
}

/// Drops failures identical to an earlier one (the snippet is not compared).
pub(crate) fn dedupe(failures: Vec<Failure>) -> Vec<Failure> {
    // Borrowed keys: nothing is cloned to compare.
    type Key<'a> = (
        FailureCategory,
        FailureKind,
        Option<&'a std::ffi::OsStr>,
        Option<u32>,
        Option<u32>,
        Option<&'a str>,
        Option<&'a str>,
        &'a str,
    );
    let keep: Vec<bool> = {
        let mut seen: FxHashSet<Key<'_>> = FxHashSet::with_capacity_and_hasher(failures.len().min(1024), FxBuildHasher);
        failures
            .iter()
            .map(|f| {
                seen.insert((
                    f.category,
                    f.kind,
                    f.file.as_deref().map(Path::as_os_str),
                    f.line,
                    f.column,
                    f.test_name.as_deref(),
                    f.code.as_deref(),
                    f.message.as_str(),
                ))
            })
            .collect()
    };
    if keep.iter().all(|k| *k) {
        return failures;
    }
    failures.into_iter().zip(keep).filter_map(|(f, k)| k.then_some(f)).collect()
}

/// What a classifier parsed, before the valid-run rules are applied.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    /// Failures found, in order.
    pub(crate) failures: Vec<Failure>,
    /// Summed test counts, when a summary was found.
    pub(crate) tests: Option<TestCounts>,
    /// Whether the run was a test run (a summary is then required for a pass).
    pub(crate) test_run: bool,
    /// Remarks for people.
    pub(crate) notes: Vec<String>,
    /// The test that had started and not finished when the output ends, when the
    /// output names one: the hanging test of a run killed by a time limit or a signal.
    pub(crate) hanging_test: Option<String>,
}

/// Why a failing test's `text` (its message, or its whole traceback) shows the
/// environment at fault rather than the code: a missing environment variable,
/// a missing data or fixture file, a port in use. `None` when it does not.
///
/// The description starts like [`ENV_PATTERNS`]' (`a port is already in use`),
/// so the whole-output scan does not repeat it.
pub(crate) fn environment_cause(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    if lower.contains("address already in use") || text.contains("EADDRINUSE") || text.contains("kind: AddrInUse") {
        return Some("a port is already in use".to_owned());
    }
    // A host name that does not resolve: glibc's `Name or service not
    // known`, Go's `no such host`, Rust's `failed to lookup address
    // information`, node's `getaddrinfo ENOTFOUND`.
    if let Some((_, what)) = ENV_PATTERNS
        .iter()
        .filter(|(_, what)| what.starts_with("the network is unavailable"))
        .find(|(p, _)| text.contains(p))
    {
        return Some((*what).to_owned());
    }
    // `KeyError: 'X'` raised by `os.environ[...]` (its frame is `<frozen os>` … `__getitem__`).
    if let Some(at) = text.find("KeyError: ") {
        if text.contains("os.environ[") || text.contains("<frozen os>") || text.contains("environ.__getitem__") {
            let var =
                text[at + "KeyError: ".len()..].lines().next().unwrap_or_default().trim().trim_matches(['\'', '"']);
            return Some(format!("the environment variable {var} is not set"));
        }
    }
    // Rust's `std::env::var(..).unwrap()`: `called `Result::unwrap()` on an `Err` value: NotPresent`.
    if text.lines().any(|l| l.trim_end().ends_with(": NotPresent")) || text.contains("VarError") {
        return Some("an environment variable is not set (std::env::var: NotPresent)".to_owned());
    }
    if let Some(at) = lower.find("environment variable") {
        let rest = &lower[at..];
        let end = rest.find('\n').unwrap_or(rest.len());
        let line = &rest[..end];
        if ["not set", "is missing", "must be set", "is required", "not defined", "is unset", "missing"]
            .iter()
            .any(|w| line.contains(w))
        {
            let original = &text[at..at + end];
            return Some(format!("an environment variable is not set: {}", original.trim()));
        }
    }
    if text.contains("FileNotFoundError") || text.contains("ENOENT") || lower.contains("no such file or directory") {
        let line = text
            .lines()
            .find(|l| {
                l.contains("FileNotFoundError")
                    || l.contains("ENOENT")
                    || l.to_ascii_lowercase().contains("no such file")
            })
            .unwrap_or_default();
        return Some(format!("a data or fixture file is missing: {}", line.trim()));
    }
    None
}

/// Turns `f` into an [`FailureKind::Environment`] failure (category infrastructure)
/// when `context` shows an [`environment_cause`]; its test, location and message stay.
pub(crate) fn mark_environment(f: &mut Failure, context: &str) {
    if let Some(cause) = environment_cause(context) {
        f.kind = FailureKind::Environment;
        f.category = FailureCategory::Infrastructure;
        f.message = format!("{cause}\n{}", f.message);
    }
}

/// The test a run was in when it ended: the last line of `output` that starts a test
/// and gives no result. Recognises unittest's `-v` (`test_x (pkg.mod.C.test_x) ... `),
/// pytest's `-v` (`tests/a.py::test_x `), libtest's (`test m::x ... `) and go's `-v`
/// (`=== RUN   TestX` with no `--- PASS`/`--- FAIL` after it).
pub(crate) fn last_started_test(output: &str) -> Option<String> {
    let last = output.lines().rev().find(|l| !l.trim().is_empty())?;
    // The shell may append how the process ended to the line it was on.
    let t = last.trim_end().trim_end_matches("Killed").trim_end_matches("Terminated").trim_end();
    if let Some(head) = t.strip_suffix(" ...").or_else(|| t.strip_suffix("...")) {
        // unittest -v: `name (id) ...`; libtest: `test name ...`.
        if let Some(name) = head.strip_prefix("test ") {
            return Some(name.trim().to_owned());
        }
        if let Some((name, id)) = head.split_once(" (") {
            let id = id.strip_suffix(')')?;
            return Some(if id.ends_with(&format!(".{name}")) { id.to_owned() } else { format!("{id}.{name}") });
        }
    }
    let first = t.split_whitespace().next()?;
    if first.contains("::") && t.split_whitespace().count() == 1 {
        return Some(first.to_owned());
    }
    let mut running: Vec<&str> = Vec::new();
    for line in output.lines() {
        if let Some(name) = line.strip_prefix("=== RUN") {
            running.push(name.trim());
        } else if let Some(rest) = line.trim_start().strip_prefix("--- ") {
            if let Some((_, name)) = rest.split_once(": ") {
                let name = name.split(" (").next().unwrap_or(name);
                running.retain(|r| *r != name);
            }
        }
    }
    running.last().map(|s| (*s).to_owned())
}

/// How a run was stopped from outside, from its exit code or signal: coreutils
/// `timeout` (exit 124), SIGKILL (exit 137 or signal 9) or SIGTERM (exit 143 or
/// signal 15), SIGALRM, SIGXCPU. `None` for any other ending.
pub(crate) fn killed_by(run: &RunOutput) -> Option<&'static str> {
    match (run.exit_code, run.signal) {
        (Some(124), _) => Some("exit 124: stopped by `timeout`"),
        (Some(137), _) | (None, Some(9)) => Some("killed by SIGKILL (a time limit or the out-of-memory killer)"),
        (Some(143), _) | (None, Some(15)) => Some("terminated by SIGTERM (a time limit)"),
        (Some(142), _) | (None, Some(14)) => Some("killed by SIGALRM (a time limit)"),
        (Some(152), _) | (None, Some(24)) => Some("killed by SIGXCPU (the CPU time limit)"),
        _ => None,
    }
}

/// Applies the valid-run and tier rules and builds the [`Classification`].
pub(crate) fn finish(tool: &str, run: &RunOutput, parsed: Parsed, program: &str) -> Classification {
    let Parsed { mut failures, tests, test_run, mut notes, hanging_test } = parsed;
    // A test that failed because of its environment: the same test, tier infrastructure.
    for f in failures.iter_mut().filter(|f| {
        f.category == FailureCategory::Test
            && matches!(f.kind, FailureKind::TestPanic | FailureKind::TestAssertion | FailureKind::Unknown)
    }) {
        let message = f.message.clone();
        mark_environment(f, &message);
    }
    // A build or configuration error whose own first line holds an
    // environment pattern (rustup's `error: rustup could not choose…`, go's
    // `module …: dial tcp: lookup …: no such host`) is an environment
    // failure, with its location; the whole-output scan then does not repeat it.
    for f in failures.iter_mut().filter(|f| f.category != FailureCategory::Test && f.kind != FailureKind::Environment) {
        let first = f.message.lines().next().unwrap_or_default();
        if let Some((_, what)) = ENV_PATTERNS.iter().find(|(p, _)| first.contains(p)) {
            f.kind = FailureKind::Environment;
            f.category = FailureCategory::Infrastructure;
            f.message = format!("{what}: {}", f.message);
        }
    }
    // The whole-output scan, less what a test's own environment failure already says.
    let mut env: Vec<Failure> = environment_failures(run, program)
        .into_iter()
        .filter(|e| {
            let what = e.message.split(':').next().unwrap_or_default();
            !failures.iter().any(|f| f.kind == FailureKind::Environment && f.message.starts_with(what))
        })
        .collect();
    if run.timed_out.is_none() {
        if let Some(how) = killed_by(run) {
            if !failures.iter().any(|f| f.kind == FailureKind::TestTimeout) {
                let hanging = hanging_test.or_else(|| {
                    let stdout = text(&run.stdout);
                    last_started_test(&stdout).or_else(|| last_started_test(&text(&run.stderr)))
                });
                let message = match &hanging {
                    Some(t) => format!("the run was {how} while `{t}` was running"),
                    None => format!("the run was {how}"),
                };
                let mut f = Failure::new(FailureCategory::Test, FailureKind::TestTimeout, message);
                f.test_name = hanging;
                failures.insert(0, f);
            }
            notes.push(format!("the run was {how}: its output is incomplete"));
        }
    }
    // Environment failures come first: nothing else can be fixed before them.
    env.extend(failures);
    let mut failures = dedupe(env);
    let valid_run;
    if let Some(kind) = run.timed_out {
        if !failures.iter().any(|f| f.kind == FailureKind::TestTimeout) {
            failures.push(Failure::new(
                FailureCategory::Test,
                FailureKind::TestTimeout,
                format!("the run was stopped by the {kind:?} time limit after {} ms", run.duration_ms).to_lowercase(),
            ));
        }
        notes.push("the run timed out: its output is incomplete".to_owned());
        valid_run = false;
    } else if killed_by(run).is_some() {
        valid_run = false;
    } else if run.exit_code == Some(0) {
        if !failures.is_empty() {
            notes.push(format!("exit code 0 but {} failure(s) parsed", failures.len()));
            valid_run = false;
        } else if test_run && tests.is_none() {
            notes.push("exit code 0 but no `test result:` summary found: did the tests run?".to_owned());
            valid_run = false;
        } else {
            valid_run = true;
        }
    } else if run.exit_code.is_none() && run.signal.is_none() {
        // Captured output whose exit status nobody recorded: judge it by its content alone.
        notes.push("exit status unknown: judged from the output alone".to_owned());
        valid_run = !failures.is_empty() || !test_run || tests.is_some();
        if !valid_run {
            notes.push("no failure and no `test result:` summary found: did the tests run?".to_owned());
        }
    } else if failures.is_empty() {
        let status = match (run.exit_code, run.signal) {
            (Some(code), _) => format!("exit code {code}"),
            (None, Some(sig)) => format!("signal {sig}"),
            (None, None) => "no exit status".to_owned(),
        };
        notes.push(format!("{status} but no failure could be parsed from the output"));
        let stderr = text(&run.stderr);
        let source = if stderr.trim().is_empty() { text(&run.stdout) } else { stderr };
        let mut message = tail(&source, TAIL_LINES);
        if message.is_empty() {
            message = format!("the command failed with {status} and printed nothing");
        }
        failures.push(Failure::new(FailureCategory::Build, FailureKind::Unknown, message));
        valid_run = false;
    } else {
        valid_run = true;
    }
    let tier = if failures.iter().any(|f| f.kind == FailureKind::Environment) {
        Tier::Infrastructure
    } else if failures.is_empty() {
        Tier::None
    } else {
        Tier::Code
    };
    let mut c = Classification::default();
    c.tool = tool.to_owned();
    c.failures = failures;
    c.valid_run = valid_run;
    c.tier = tier;
    c.tests = tests;
    c.notes = notes;
    c
}

#[cfg(test)]
mod tests {
    use super::user_part;

    #[test]
    fn user_part_stops_at_the_first_standard_library_location_after_the_primary_one() {
        let rendered = [
            "error[E0277]: cannot divide `i64` by `usize`",
            " --> src/lib.rs:9:14",
            "  |",
            "9 |     Some(sum / values.len())",
            "  |              ^ no implementation for `i64 / usize`",
            "  |",
            "  = help: the trait `Div<usize>` is not implemented for `i64`",
            "help: the following other types implement trait `Div<Rhs>`",
            " --> /rustc/abc/library/core/src/ops/arith.rs:490:8",
            "  = note: `i64` implements `Div`",
        ];
        let kept = user_part(&rendered);
        assert_eq!(kept.last(), Some(&"  = help: the trait `Div<usize>` is not implemented for `i64`"));
        assert!(!kept.iter().any(|l| l.contains("/rustc/")));
    }

    #[test]
    fn user_part_keeps_an_absolute_primary_location() {
        let rendered = ["error: x", " --> /abs/src/lib.rs:1:1", "1 | fn x()"];
        assert_eq!(user_part(&rendered), rendered.to_vec());
    }
}
