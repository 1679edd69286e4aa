//! [`AutoClassifier`]: the classifier of each run chosen from the command
//! that ran, so one host classifies a Rust, Python, Go or Node repository
//! without being told which.
//!
//! The choice, per run:
//!
//! 1. **The command** ([`RunOutput::command`]), read by
//!    [`tool_for_command`]: the program behind wrappers and launchers
//!    (`FOO=1 env time`, `npx`, `pnpm exec`, `yarn`, `uv run`, `poetry run`,
//!    `python3 -m`, `sh -c`, `node node_modules/.bin/jest`), then its
//!    subcommand where it matters (`cargo nextest`, `cargo test -- --format
//!    json`, `node --test`).
//! 2. **The output refines the command within its family**: a `pytest` run
//!    whose output is a JUnit XML report is read by the JUnit classifier; a
//!    `cargo` run whose output is nextest's or libtest's JSON by the nextest
//!    classifier. A run of `python3 -m pytest` is never read as cargo output.
//!    A JSON report file the run wrote ([`RunOutput::reports`]) names its
//!    tool before the command does.
//! 3. **No known tool in the command** (`npm test`, `make check`, an empty
//!    command): [`detect_tool`] on the output.
//! 4. **Nothing recognised**: the [`GenericClassifier`](crate::GenericClassifier).
//!
//! A command chaining several known tools (`tsc --noEmit && npx jest`) is
//! read by the one the output shows, else by the first.
//!
//! ```
//! use agent_core::FailureClassifier;
//! use agent_core::exec::RunOutput;
//! use agent_core::workspace::WorkspaceProfile;
//! use agent_classify::{AutoClassifier, tool_for_command};
//!
//! assert_eq!(tool_for_command("python3 -m pytest -q"), Some("pytest"));
//! assert_eq!(tool_for_command("npx vitest run"), Some("vitest"));
//! assert_eq!(tool_for_command("cargo nextest run"), Some("nextest"));
//! assert_eq!(tool_for_command("npm test"), None);
//!
//! let out = "--- FAIL: TestAdd (0.00s)\n    calc_test.go:13: Add(2, 2) = 4, want 5\nFAIL\nFAIL\tcalc\t0.002s\n";
//! let run = RunOutput::from_text("go test ./...", 1, out, "");
//! let auto = AutoClassifier::new();
//! assert_eq!(auto.tool(&run), "go");
//! let c = auto.classify(&run, &WorkspaceProfile::default());
//! assert_eq!(c.tool, "go");
//! assert_eq!(c.failures[0].test_name.as_deref(), Some("TestAdd"));
//! ```

use crate::registry::{classifier_for, detect_tool};
use crate::{GenericClassifier, NextestClassifier};
use agent_core::FailureClassifier;
use agent_core::exec::{ReportFormat, RunOutput};
use agent_core::failure::{Classification, TestOutcome};
use agent_core::workspace::WorkspaceProfile;
use std::sync::Arc;

/// Wrappers nested deeper than this (`sh -c "sh -c '…'"`) are not followed.
const MAX_DEPTH: usize = 4;
/// Words of a command looked at; the rest are ignored.
const MAX_WORDS: usize = 4096;

/// A [`FailureClassifier`] that picks, for each run, the classifier of the
/// tool that ran: from the command ([`tool_for_command`]) refined by the
/// output, else [`detect_tool`] on the output, else the generic classifier.
/// Both [`classify`](FailureClassifier::classify)
/// and [`test_outcomes`](FailureClassifier::test_outcomes) dispatch, and give
/// exactly what the chosen classifier gives.
///
/// ```
/// use agent_core::FailureClassifier;
/// use agent_core::exec::RunOutput;
/// use agent_core::workspace::WorkspaceProfile;
/// use agent_classify::{AutoClassifier, PytestClassifier};
///
/// let out = "F\n=================================== FAILURES ===================================\n\
/// __________________________________ test_add ___________________________________\n\n    def test_add():\n\
/// >       assert 1 + 1 == 3\nE       assert 2 == 3\n\ntests/test_calc.py:2: AssertionError\n\
/// =========================== short test summary info ============================\n\
/// FAILED tests/test_calc.py::test_add - assert 2 == 3\n1 failed in 0.01s\n";
/// let run = RunOutput::from_text("python3 -m pytest -q", 1, out, "");
/// let ws = WorkspaceProfile::default();
/// let auto = AutoClassifier::new();
/// assert_eq!(auto.tool(&run), "pytest");
/// assert_eq!(auto.classify(&run, &ws), PytestClassifier::new().classify(&run, &ws));
/// assert_eq!(auto.test_outcomes(&run), PytestClassifier::new().test_outcomes(&run));
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct AutoClassifier;

impl AutoClassifier {
    /// An automatic classifier.
    pub fn new() -> Self {
        Self
    }

    /// The registry name ([`classifier_for`]) of the classifier chosen for
    /// `run`: `cargo`, `nextest`, `libtest-json`, `pytest`, `pytest-junit`,
    /// `unittest`, `mypy`, `ruff`, `go`, `tsc`, `jest`, `vitest`, `node`, `eslint` or
    /// `generic`.
    pub fn tool(&self, run: &RunOutput) -> &'static str {
        // A report file names the tool that wrote it.
        for report in &run.reports {
            match report.format {
                ReportFormat::JestJson => return crate::JestClassifier::JEST,
                ReportFormat::VitestJson => return crate::JestClassifier::VITEST,
                _ => {}
            }
        }
        let candidates = tools_in(&run.command, 0);
        // One tool the output cannot refine: its output need not be read.
        if let [only] = candidates.as_slice() {
            if !REFINED.contains(only) {
                return only;
            }
        }
        let mut output = crate::common::text(&run.stdout).into_owned();
        output.push('\n');
        output.push_str(&crate::common::text(&run.stderr));
        choose_among(&candidates, &output)
    }

    /// The classifier chosen for `run` (see [`tool`](Self::tool)).
    pub fn classifier(&self, run: &RunOutput) -> Arc<dyn FailureClassifier> {
        classifier_for(self.tool(run)).unwrap_or_else(|| Arc::new(GenericClassifier::new()))
    }
}

impl FailureClassifier for AutoClassifier {
    fn classify(&self, run: &RunOutput, ws: &WorkspaceProfile) -> Classification {
        self.classifier(run).classify(run, ws)
    }

    fn test_outcomes(&self, run: &RunOutput) -> Vec<TestOutcome> {
        self.classifier(run).test_outcomes(run)
    }
}

/// The tool for a run of `command` that printed `output`.
#[cfg(test)]
fn choose(command: &str, output: &str) -> &'static str {
    choose_among(&tools_in(command, 0), output)
}

/// The tool for a run whose command names `candidates` and that printed `output`.
fn choose_among(candidates: &[&'static str], output: &str) -> &'static str {
    let detected = || detect_tool(output);
    match candidates {
        [] => detected().unwrap_or(GenericClassifier::TOOL),
        [only] => refine(only, output),
        [first, ..] => {
            // Several tools chained: the one the output shows, refined; else the first.
            let shown = detected();
            candidates
                .iter()
                .copied()
                .find(|c| shown.is_some_and(|d| family(c) == family(d)))
                .map_or_else(|| refine(first, output), |c| refine(c, output))
        }
    }
}

/// The family a tool's outputs share: the tools the output may refine it to.
fn family(tool: &str) -> &str {
    match tool {
        "cargo" | "libtest-json" => "cargo",
        "pytest" | "pytest-junit" => "pytest",
        other => other,
    }
}

/// The tools [`refine`] may replace by another of their family.
const REFINED: &[&str] = &["cargo", "pytest"];

/// `tool` from the command, refined by what the output shows within its family:
/// a cargo run printing libtest or nextest JSON, a pytest run printing its JUnit report.
fn refine(tool: &'static str, output: &str) -> &'static str {
    match tool {
        "cargo" if crate::nextest::detect(output) => NextestClassifier::TOOL,
        "cargo" if output.lines().any(crate::nextest::is_json_event) => NextestClassifier::LIBTEST_JSON,
        "pytest" if crate::python::detect(output) == Some(crate::PytestJunitClassifier::TOOL) => {
            crate::PytestJunitClassifier::TOOL
        }
        other => other,
    }
}

/// The registry name of the tool a command line runs, read from the command
/// alone, or `None` when no known tool is named (`npm test`, `make check`,
/// an empty command).
///
/// The program is found behind environment assignments (`FOO=1 cargo
/// test`), wrappers (`env`, `time`, `nice`, `nohup`, `timeout 60`, `sh -c
/// "…"`), launchers (`npx`, `bunx`, `npm exec`, `pnpm exec`, `pnpm dlx`,
/// `yarn`, `uv run`, `uvx`, `poetry run`, `pipenv run`, `pdm run`, `hatch
/// run`, `pipx run`) and interpreters (`python3 -m pytest`, `node
/// node_modules/.bin/jest`), by its file name (`/usr/bin/python3`,
/// `./node_modules/.bin/tsc`). In a chain (`cd pkg && go test ./...`) the
/// first segment naming a known tool decides.
///
/// ```
/// use agent_classify::tool_for_command;
///
/// assert_eq!(tool_for_command("cargo test --workspace"), Some("cargo"));
/// assert_eq!(tool_for_command("RUSTC_BOOTSTRAP=1 cargo test -- -Z unstable-options --format json"), Some("libtest-json"));
/// assert_eq!(tool_for_command("cd web && pnpm exec eslint -f json ."), Some("eslint"));
/// assert_eq!(tool_for_command("uv run mypy ."), Some("mypy"));
/// assert_eq!(tool_for_command("node --test"), Some("node"));
/// assert_eq!(tool_for_command("tsc --noEmit"), Some("tsc"));
/// assert_eq!(tool_for_command("npx eslint -c eslint.config.js src"), Some("eslint"));
/// assert_eq!(tool_for_command("npx -p typescript -c 'tsc --noEmit'"), Some("tsc"));
/// assert_eq!(tool_for_command("make test"), None);
/// ```
pub fn tool_for_command(command: &str) -> Option<&'static str> {
    tools_in(command, 0).into_iter().next()
}

/// The known tools of every segment of `command`, in order, without repeats.
fn tools_in(command: &str, depth: usize) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    if depth > MAX_DEPTH {
        return out;
    }
    for segment in segments(command) {
        if let Some(tool) = tool_of(&segment, depth) {
            if !out.contains(&tool) {
                out.push(tool);
            }
        }
    }
    out
}

/// The words of each simple command of a command line, split at `;`, `&`,
/// `|`, newlines and parentheses; quotes and backslashes are honoured.
fn segments(command: &str) -> Vec<Vec<String>> {
    let mut segments: Vec<Vec<String>> = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = command.chars();
    let mut count = 0usize;
    while let Some(c) = chars.next() {
        if count >= MAX_WORDS {
            break;
        }
        match quote {
            Some(q) if c == q => quote = None,
            Some('"') if c == '\\' => {
                if let Some(next) = chars.next() {
                    word.push(next);
                }
            }
            Some(_) => word.push(c),
            None => match c {
                '\'' | '"' => {
                    quote = Some(c);
                    in_word = true;
                }
                '\\' => {
                    if let Some(next) = chars.next() {
                        word.push(next);
                    }
                    in_word = true;
                }
                ';' | '&' | '|' | '\n' | '(' | ')' => {
                    if in_word {
                        words.push(std::mem::take(&mut word));
                        count += 1;
                        in_word = false;
                    }
                    if !words.is_empty() {
                        segments.push(std::mem::take(&mut words));
                    }
                }
                c if c.is_whitespace() => {
                    if in_word {
                        words.push(std::mem::take(&mut word));
                        count += 1;
                        in_word = false;
                    }
                }
                c => {
                    word.push(c);
                    in_word = true;
                }
            },
        }
    }
    if in_word {
        words.push(word);
    }
    if !words.is_empty() {
        segments.push(words);
    }
    segments
}

/// Whether `word` is an environment assignment (`NAME=value`).
fn is_assignment(word: &str) -> bool {
    let Some((name, _)) = word.split_once('=') else { return false };
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The file name of a program, lower-cased, without a Windows launcher extension.
fn program_name(word: &str) -> String {
    let name = word.rsplit(['/', '\\']).next().unwrap_or(word).to_ascii_lowercase();
    for ext in [".exe", ".cmd", ".bat", ".ps1"] {
        if let Some(stem) = name.strip_suffix(ext) {
            return stem.to_owned();
        }
    }
    name
}

/// The words after the options at the start of `words`: options listed in
/// `with_value` take the next word as their value (unless written `--opt=value`);
/// a `--` ends the options.
fn after_options<'a>(words: &'a [String], with_value: &[&str]) -> &'a [String] {
    let mut i = 0;
    while i < words.len() {
        let w = words[i].as_str();
        if w == "--" {
            return &words[i + 1..];
        }
        if !w.starts_with('-') || w == "-" {
            break;
        }
        i += if with_value.contains(&w) { 2 } else { 1 };
    }
    words.get(i..).unwrap_or_default()
}

/// Whether `name` names a Python interpreter (`python`, `python3`, `python3.12`, `py`, `pypy3`).
fn is_python(name: &str) -> bool {
    name == "py"
        || ["python", "pypy"].iter().any(|p| {
            name.strip_prefix(p).is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.' || c == 'w'))
        })
}

/// The tool a Python module run with `-m` is.
fn python_module(module: &str) -> Option<&'static str> {
    match module {
        "pytest" | "py.test" => Some("pytest"),
        "unittest" => Some("unittest"),
        "mypy" => Some("mypy"),
        "ruff" => Some("ruff"),
        _ => None,
    }
}

/// The tool run by one simple command.
fn tool_of(words: &[String], depth: usize) -> Option<&'static str> {
    if depth > MAX_DEPTH {
        return None;
    }
    let start = words.iter().position(|w| !is_assignment(w))?;
    let words = &words[start..];
    let (first, rest) = words.split_first()?;
    let recurse = |rest: &[String]| tool_of(rest, depth + 1);
    match program_name(first).as_str() {
        // Wrappers that run the rest of the line.
        "env" => recurse(after_options(rest, &["-u", "--unset", "-C", "--chdir", "-S", "--split-string"])),
        "time" | "nohup" | "command" | "exec" | "stdbuf" | "xvfb-run" | "sudo" | "doas" => {
            recurse(after_options(rest, &["-f", "-o", "-u", "-g", "-i", "-e"]))
        }
        "nice" => recurse(after_options(rest, &["-n", "--adjustment"])),
        "timeout" => {
            let rest = after_options(rest, &["-s", "--signal", "-k", "--kill-after"]);
            recurse(rest.get(1..).unwrap_or_default())
        }
        "sh" | "bash" | "zsh" | "dash" | "ksh" => {
            let script =
                rest.iter().position(|w| w == "-c" || (w.starts_with('-') && !w.starts_with("--") && w.ends_with('c')));
            let script = script.and_then(|i| rest.get(i + 1))?;
            tools_in(script, depth + 1).into_iter().next()
        }
        // Rust.
        "cargo" => cargo(rest),
        "cargo-nextest" => Some(NextestClassifier::TOOL),
        "rustc" | "cargo-clippy" | "clippy-driver" => Some("cargo"),
        // Python.
        "pytest" | "py.test" => Some("pytest"),
        "mypy" | "dmypy" => Some("mypy"),
        "ruff" => Some("ruff"),
        name if is_python(name) => {
            let mut i = 0;
            while let Some(w) = rest.get(i) {
                if w == "-m" {
                    return python_module(rest.get(i + 1)?);
                }
                if let Some(module) = w.strip_prefix("-m") {
                    return python_module(module);
                }
                if w == "-c" || !w.starts_with('-') {
                    // Inline code or a script: no module named.
                    return None;
                }
                i += if matches!(w.as_str(), "-X" | "-W") { 2 } else { 1 };
            }
            None
        }
        "uv" => match rest.first().map(String::as_str) {
            Some("run") => recurse(after_options(&rest[1..], UV_VALUES)),
            Some("tool") if rest.get(1).is_some_and(|w| w == "run") => recurse(after_options(&rest[2..], UV_VALUES)),
            _ => None,
        },
        "uvx" | "bunx" | "pnpx" => recurse(after_options(rest, UV_VALUES)),
        "poetry" | "pipenv" | "pdm" | "hatch" | "rye" | "pipx" | "conda" | "micromamba" => {
            let at = rest.iter().position(|w| w == "run")?;
            recurse(after_options(&rest[at + 1..], &["-n", "--name", "-p", "--prefix", "-e", "--env"]))
        }
        // Node.
        "npx" => npx(rest, depth),
        "npm" => match rest.first().map(String::as_str) {
            Some("exec" | "x") => npx(&rest[1..], depth),
            _ => None,
        },
        "pnpm" | "yarn" | "bun" => {
            let rest = after_options(rest, &["-C", "--dir", "--cwd", "--filter", "-F"]);
            match rest.first().map(String::as_str) {
                Some("exec" | "dlx" | "x") => npx(&rest[1..], depth),
                // Scripts of package.json and the package managers' own commands.
                Some(
                    "test" | "t" | "run" | "run-script" | "install" | "i" | "add" | "remove" | "build" | "start"
                    | "workspace" | "workspaces",
                )
                | None => None,
                Some(_) => recurse(rest),
            }
        }
        "node" | "nodejs" => {
            if rest.iter().take_while(|w| w.starts_with('-')).any(|w| w == "--test" || w.starts_with("--test=")) {
                return Some(crate::NodeTestClassifier::TOOL);
            }
            // `node node_modules/.bin/jest`, `node node_modules/vitest/vitest.mjs run`.
            let script = after_options(rest, &["-r", "--require", "--import", "--loader", "-e", "--eval"]).first()?;
            let name = program_name(script);
            let stem = name.trim_end_matches(".js").trim_end_matches(".mjs").trim_end_matches(".cjs");
            js_tool(stem).or_else(|| {
                // `node_modules/jest/bin/jest.js`: the package directory names it.
                let parts: Vec<&str> = script.split(['/', '\\']).collect();
                let at = parts.iter().rposition(|p| *p == "node_modules")?;
                js_tool(parts.get(at + 1)?)
            })
        }
        // Go.
        "go" => Some(crate::GoClassifier::TOOL),
        name => js_tool(name),
    }
}

/// Options of `uv run`, `uvx` and the like that take a value.
const UV_VALUES: &[&str] = &[
    "--with",
    "-w",
    "--python",
    "-p",
    "--project",
    "--directory",
    "--package",
    "--extra",
    "--group",
    "--env-file",
    "--index",
    "--from",
    "--with-requirements",
    "--only-group",
];

/// The JavaScript tools with a classifier, by program name.
fn js_tool(name: &str) -> Option<&'static str> {
    match name {
        "jest" => Some(crate::JestClassifier::JEST),
        "vitest" => Some(crate::JestClassifier::VITEST),
        "tsc" | "vue-tsc" | "tsgo" => Some(crate::TscClassifier::TOOL),
        "eslint" => Some(crate::EslintClassifier::TOOL),
        _ => None,
    }
}

/// `npx [options] TOOL …` (also `npm exec`, `pnpm exec`): `-c "…"` runs a command line.
fn npx(words: &[String], depth: usize) -> Option<&'static str> {
    // `npx -c 'script'` / `--call`: an option of npx itself, so before the command it runs
    // (`npx eslint -c bad.config.js src` passes `-c` to eslint).
    const VALUES: &[&str] = &["-p", "--package", "--cache", "--userconfig", "-w", "--workspace"];
    let mut i = 0;
    while let Some(w) = words.get(i).filter(|w| w.starts_with('-')) {
        if w == "-c" || w == "--call" {
            return tools_in(words.get(i + 1)?, depth + 1).into_iter().next();
        }
        i += if VALUES.contains(&w.as_str()) { 2 } else { 1 };
    }
    tool_of(after_options(words, VALUES), depth + 1)
}

/// `cargo [+toolchain] [options] SUBCOMMAND …`.
fn cargo(words: &[String]) -> Option<&'static str> {
    let mut i = 0;
    while let Some(w) = words.get(i) {
        if w.starts_with('+') || (w.starts_with('-') && w != "--") {
            i += if matches!(w.as_str(), "-Z" | "-C" | "--config" | "--color") { 2 } else { 1 };
            continue;
        }
        break;
    }
    let sub = words.get(i).map(String::as_str);
    let rest = words.get(i + 1..).unwrap_or_default();
    match sub {
        Some("nextest") => Some(NextestClassifier::TOOL),
        Some("llvm-cov") if rest.iter().any(|w| w == "nextest") => Some(NextestClassifier::TOOL),
        Some("test" | "t") => {
            // `cargo test -- -Z unstable-options --format json`: libtest's JSON events.
            let harness = rest.iter().position(|w| w == "--").map_or(&[][..], |at| &rest[at + 1..]);
            let json = harness.windows(2).any(|p| p[0] == "--format" && p[1] == "json")
                || harness.iter().any(|w| w == "--format=json");
            Some(if json { NextestClassifier::LIBTEST_JSON } else { "cargo" })
        }
        _ => Some("cargo"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_name_their_tools_behind_wrappers_and_launchers() {
        for (command, tool) in [
            ("cargo test --workspace", Some("cargo")),
            ("cargo +nightly -Z unstable-options clippy --all-targets -- -D warnings", Some("cargo")),
            ("cargo nextest run", Some("nextest")),
            ("cargo llvm-cov nextest --workspace", Some("nextest")),
            ("RUSTC_BOOTSTRAP=1 cargo test -- -Z unstable-options --format json", Some("libtest-json")),
            ("python3 -m pytest -q", Some("pytest")),
            ("/usr/bin/python3.12 -B -X dev -m pytest tests", Some("pytest")),
            ("python -mmypy .", Some("mypy")),
            ("python script.py", None),
            ("uv run --with pytest pytest -x", Some("pytest")),
            ("poetry run ruff check .", Some("ruff")),
            ("go test ./...", Some("go")),
            ("cd svc && GOFLAGS=-mod=mod go vet ./...", Some("go")),
            ("npx jest", Some("jest")),
            ("npx --yes -p vitest vitest run", Some("vitest")),
            ("npm exec -- tsc --noEmit", Some("tsc")),
            ("pnpm exec eslint -f json .", Some("eslint")),
            ("yarn vitest run", Some("vitest")),
            ("yarn test", None),
            ("node --test", Some("node")),
            ("node --test --test-reporter=tap", Some("node")),
            ("node node_modules/.bin/jest --ci", Some("jest")),
            ("node node_modules/vitest/vitest.mjs run", Some("vitest")),
            ("node server.js", None),
            ("./node_modules/.bin/tsc --noEmit", Some("tsc")),
            ("tsc --noEmit", Some("tsc")),
            ("mypy .", Some("mypy")),
            ("ruff check", Some("ruff")),
            ("eslint -f json .", Some("eslint")),
            ("env -u HOME CI=1 timeout -s KILL 60 nice -n 5 pytest", Some("pytest")),
            ("sh -c 'cd pkg && python3 -m pytest -q'", Some("pytest")),
            ("bash -lc \"npx jest --json\"", Some("jest")),
            ("make test", None),
            ("npm test", None),
            ("", None),
        ] {
            assert_eq!(tool_for_command(command), tool, "{command}");
        }
    }

    #[test]
    fn the_output_refines_the_command_within_its_family_only() {
        let junit = "<?xml version=\"1.0\" encoding=\"utf-8\"?><testsuites><testsuite name=\"pytest\" errors=\"0\" failures=\"0\" skipped=\"0\" tests=\"1\"><testcase classname=\"t\" name=\"x\"/></testsuite></testsuites>";
        assert_eq!(choose("python -m pytest --junitxml=/dev/stdout", junit), "pytest-junit");
        // Cargo output after a pytest command stays pytest.
        assert_eq!(choose("python3 -m pytest", "test result: ok. 1 passed; 0 failed"), "pytest");
        assert_eq!(choose("npm test", "test result: ok. 1 passed; 0 failed"), "cargo");
        assert_eq!(choose("make", "hello"), "generic");
        // Two tools chained: the one the output shows.
        assert_eq!(choose("tsc --noEmit && npx jest", "Test Suites: 1 failed, 1 total"), "jest");
        assert_eq!(choose("tsc --noEmit && npx jest", "nothing known"), "tsc");
    }
}
