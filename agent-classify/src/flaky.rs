//! [`FlakyDetector`]: re-runs each failing test alone and marks those that
//! pass on a re-run as flaky rather than broken.
//!
//! A test that fails once and then passes on its own is not something the
//! model should "fix": a repair prompt built from it sends the model after a
//! race or an ordering dependency that the change under test did not cause.
//! The detector describes one command per failing test (`cargo test --
//! --exact NAME`, `python3 -m pytest NODEID`, `go test -run '^Name$' ./pkg`,
//! `jest -t NAME`, `vitest run -t NAME`, `node --test --test-name-pattern`),
//! runs it through the [`Executor`] it was given (so the process is spawned
//! by the sandbox, never here) up to N times, and classifies each re-run with
//! the tool's own classifier: only a valid run in which the test really ran
//! and passed counts as a pass.
//!
//! ```no_run
//! use agent_core::{Executor, FailureClassifier};
//! use agent_core::exec::RunOutput;
//! use agent_core::workspace::WorkspaceProfile;
//! use agent_classify::{FlakyDetector, PytestClassifier};
//! use std::sync::Arc;
//!
//! # async fn demo(executor: Arc<dyn Executor>, run: RunOutput) -> Result<(), agent_classify::FlakyError> {
//! let ws = WorkspaceProfile::new("/path/to/project");
//! let failing = PytestClassifier::new().classify(&run, &ws);
//! let report = FlakyDetector::new(executor).reruns(3).detect(&failing, "pytest", &ws).await?;
//! for f in &report.classification.failures {
//!     println!("{:?} flaky: {}", f.test_name, f.flaky);
//! }
//! # Ok(())
//! # }
//! ```

use crate::registry::classifier_for;
use agent_core::Executor;
use agent_core::exec::{CommandSpec, ExecError};
use agent_core::failure::{Classification, Failure, FailureCategory, FailureKind};
use agent_core::workspace::WorkspaceProfile;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Why flaky detection could not finish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FlakyError {
    /// The executor could not run a re-run at all (a missing program, a bad working directory).
    #[error("could not re-run test {test}: {source}")]
    Exec {
        /// The test being re-run.
        test: String,
        /// What the executor said.
        #[source]
        source: ExecError,
    },
}

/// What the re-runs of one failing test showed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rerun {
    /// The test's name as the classification gave it.
    pub test: String,
    /// The command that re-ran it alone.
    pub command: String,
    /// Re-runs made (stops at the first pass).
    pub runs: u32,
    /// Whether one of them passed: the test is flaky.
    pub passed: bool,
}

/// The classification with flaky failures marked, and what each re-run showed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FlakyReport {
    /// The input classification, with [`Failure::flaky`] set on the tests that passed alone.
    pub classification: Classification,
    /// One entry per failing test that could be re-run, in the order of the failures.
    pub reruns: Vec<Rerun>,
}

impl FlakyReport {
    /// Whether every failure of the run is flaky: nothing is broken.
    pub fn only_flaky(&self) -> bool {
        !self.classification.failures.is_empty() && self.classification.failures.iter().all(|f| f.flaky)
    }
}

/// Re-runs failing tests alone to tell flaky tests from broken ones.
///
/// A test is re-run up to [`reruns`](Self::reruns) times (default 3); the
/// first re-run that passes marks it flaky. Failures that are not test
/// failures (build errors, lints, environment problems) or that carry no
/// test name are left as they are.
#[derive(Clone)]
pub struct FlakyDetector {
    executor: Arc<dyn Executor>,
    reruns: u32,
    wall_timeout: Duration,
    python: String,
}

impl std::fmt::Debug for FlakyDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlakyDetector")
            .field("reruns", &self.reruns)
            .field("wall_timeout", &self.wall_timeout)
            .field("python", &self.python)
            .finish_non_exhaustive()
    }
}

impl FlakyDetector {
    /// A detector that runs its re-runs through `executor`, 3 times at most per test,
    /// each within 5 minutes.
    pub fn new(executor: Arc<dyn Executor>) -> Self {
        Self { executor, reruns: 3, wall_timeout: Duration::from_secs(300), python: "python3".to_owned() }
    }

    /// Re-runs per failing test (at least 1).
    pub fn reruns(mut self, n: u32) -> Self {
        self.reruns = n.max(1);
        self
    }

    /// The wall-clock limit of each re-run.
    pub fn wall_timeout(mut self, limit: Duration) -> Self {
        self.wall_timeout = limit;
        self
    }

    /// The Python interpreter that runs pytest (`python3` by default; a virtualenv's, say).
    pub fn python(mut self, program: impl Into<String>) -> Self {
        self.python = program.into();
        self
    }

    /// The command that runs the test of `failure` alone, for a run of `tool`, from
    /// the workspace `root`; `None` when the failure names no test or the tool is not known.
    ///
    /// ```
    /// use agent_core::failure::{Failure, FailureCategory, FailureKind};
    /// use agent_classify::FlakyDetector;
    /// use std::path::Path;
    ///
    /// let f = Failure::new(FailureCategory::Test, FailureKind::TestAssertion, "boom")
    ///     .at("tests/test_calc.py", Some(11), None)
    ///     .in_test("tests/test_calc.py::test_add");
    /// let cmd = FlakyDetector::command_for("pytest", &f, Path::new("/ws"), "python3").unwrap();
    /// assert_eq!(cmd.display(), "python3 -m pytest -p no:cacheprovider tests/test_calc.py::test_add");
    /// ```
    pub fn command_for(tool: &str, failure: &Failure, root: &Path, python: &str) -> Option<CommandSpec> {
        let name = failure.test_name.as_deref()?.trim();
        if name.is_empty() {
            return None;
        }
        let spec = match family(tool)? {
            Family::Cargo => cargo_command(name, failure, root),
            Family::Pytest => CommandSpec::new(python).args(["-m", "pytest", "-p", "no:cacheprovider", name]),
            Family::Go => go_command(name, failure),
            Family::Jest => npx_command(["jest", "--ci"], name, failure),
            Family::Vitest => npx_command(["vitest", "run"], name, failure),
            Family::NodeTest => with_file(
                CommandSpec::new("node")
                    .args(["--test".to_owned(), format!("--test-name-pattern={}", js_pattern(name))]),
                failure,
            ),
        };
        Some(spec.cwd(root))
    }

    /// Re-runs each failing test of `classification` (a run of `tool` in `ws`) alone and
    /// returns the classification with the tests that passed on a re-run marked flaky.
    pub async fn detect(
        &self,
        classification: &Classification,
        tool: &str,
        ws: &WorkspaceProfile,
    ) -> Result<FlakyReport, FlakyError> {
        let mut out = classification.clone();
        let mut reruns = Vec::new();
        let judge = family(tool).and_then(|f| classifier_for(f.classifier()));
        for failure in out.failures.iter_mut() {
            if !is_rerunnable(failure) {
                continue;
            }
            let (Some(judge), Some(spec)) = (judge.as_ref(), Self::command_for(tool, failure, &ws.root, &self.python))
            else {
                continue;
            };
            let spec = spec.wall_timeout(self.wall_timeout);
            let test = failure.test_name.clone().unwrap_or_default();
            let mut rerun = Rerun { test: test.clone(), command: spec.display_redacted(), runs: 0, passed: false };
            for _ in 0..self.reruns {
                rerun.runs += 1;
                let output = self
                    .executor
                    .run(spec.clone())
                    .await
                    .map_err(|source| FlakyError::Exec { test: test.clone(), source })?;
                let c = judge.classify(&output, ws);
                let ran = c.tests.is_some_and(|t| t.passed >= 1);
                if c.passed() && ran {
                    rerun.passed = true;
                    break;
                }
            }
            if rerun.passed {
                failure.flaky = true;
                tracing::info!(test = %rerun.test, runs = rerun.runs, "test passed when re-run alone: flaky");
            }
            reruns.push(rerun);
        }
        Ok(FlakyReport { classification: out, reruns })
    }
}

/// Whether a failure is a test failure that a re-run can judge.
fn is_rerunnable(f: &Failure) -> bool {
    f.category == FailureCategory::Test
        && f.test_name.is_some()
        && matches!(
            f.kind,
            FailureKind::TestAssertion | FailureKind::TestPanic | FailureKind::TestTimeout | FailureKind::DocTest
        )
}

/// Test runners the detector knows how to aim at one test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    Cargo,
    Pytest,
    Go,
    Jest,
    Vitest,
    NodeTest,
}

impl Family {
    /// The classifier that judges a re-run.
    fn classifier(self) -> &'static str {
        match self {
            Self::Cargo => "cargo",
            Self::Pytest => "pytest",
            Self::Go => "go",
            Self::Jest => "jest",
            Self::Vitest => "vitest",
            Self::NodeTest => "node",
        }
    }
}

/// The runner family of a tool name as [`classifier_for`] accepts it.
fn family(tool: &str) -> Option<Family> {
    Some(match tool.trim().to_ascii_lowercase().as_str() {
        "cargo" | "libtest" | "cargo-test" | "nextest" | "cargo-nextest" | "cargo nextest" | "libtest-json"
        | "libtest_json" => Family::Cargo,
        "pytest" | "py.test" | "pytest-junit" | "pytest-junitxml" | "junit" | "junitxml" => Family::Pytest,
        "go" | "go-test" | "go test" => Family::Go,
        "jest" => Family::Jest,
        "vitest" => Family::Vitest,
        "node" | "node-test" | "node --test" => Family::NodeTest,
        _ => return None,
    })
}

/// `cargo test [-p PKG] [--test T | --doc] -- --exact NAME`: the target is the
/// integration test file, the doctests, or every target (a unit test's name
/// is exact within its crate) of the package that holds the failing file.
fn cargo_command(name: &str, failure: &Failure, root: &Path) -> CommandSpec {
    let mut args: Vec<String> = vec!["test".into()];
    let file = failure.file.as_deref();
    if let Some(pkg) = file.and_then(|f| package_of(root, f)) {
        args.extend(["-p".into(), pkg]);
    }
    if failure.kind == FailureKind::DocTest {
        args.push("--doc".into());
    } else if let Some(target) = file.and_then(integration_target) {
        args.extend(["--test".into(), target]);
    }
    args.extend(["--".into(), "--exact".into(), name.into()]);
    CommandSpec::new("cargo").args(args)
}

/// `tests/foo.rs`, or any file of a `tests/foo/` target (`main.rs` and its modules),
/// under any package directory → `foo`.
fn integration_target(file: &Path) -> Option<String> {
    let parts: Vec<&str> = file.iter().filter_map(|p| p.to_str()).collect();
    let at = parts.iter().rposition(|p| *p == "tests")?;
    match &parts[at + 1..] {
        [single] => single.strip_suffix(".rs").map(str::to_owned),
        [dir, _, ..] => Some((*dir).to_owned()),
        [] => None,
    }
}

/// The package name of the nearest `Cargo.toml` above `file` inside `root`, when
/// that is not the root's own manifest (the root package needs no `-p`).
/// Manifests outside the workspace are not read.
fn package_of(root: &Path, file: &Path) -> Option<String> {
    let mut dir: PathBuf = file.parent()?.to_path_buf();
    loop {
        if dir.as_os_str().is_empty() {
            return None;
        }
        if let Some(text) = crate::common::read_contained(root, &dir.join("Cargo.toml")) {
            let value: toml::Table = toml::from_str(&text).ok()?;
            return value.get("package")?.get("name")?.as_str().map(str::to_owned);
        }
        if !dir.pop() {
            return None;
        }
    }
}

/// `go test -v -run '^TestX$/^sub$' ./pkg`: `-v` so the re-run reports the test it ran.
fn go_command(name: &str, failure: &Failure) -> CommandSpec {
    let pattern = name.split('/').map(|part| format!("^{}$", regex_escape(part))).collect::<Vec<_>>().join("/");
    let dir = failure.file.as_deref().and_then(Path::parent).filter(|d| !d.as_os_str().is_empty());
    let pkg = match dir {
        Some(d) => format!("./{}", d.to_string_lossy()),
        None => "./".to_owned(),
    };
    CommandSpec::new("go").args(["test".to_owned(), "-v".to_owned(), "-run".to_owned(), pattern, pkg])
}

/// `npx RUNNER [FILE] -t PATTERN` (jest, vitest): the failing test's file, when
/// known, narrows the run; the pattern picks the test.
fn npx_command(runner: [&str; 2], name: &str, failure: &Failure) -> CommandSpec {
    with_file(CommandSpec::new("npx").args(runner), failure).args(["-t".to_owned(), js_pattern(name)])
}

/// `spec` with the failing test's file appended as an argument, when the failure has one.
fn with_file(spec: CommandSpec, failure: &Failure) -> CommandSpec {
    match &failure.file {
        Some(file) => spec.args([file.to_string_lossy().into_owned()]),
        None => spec,
    }
}

/// A jest/vitest/node test-name pattern matching `name` exactly. Jest joins
/// `describe` and test titles with a space where the classifier shows ` › `.
fn js_pattern(name: &str) -> String {
    format!("^{}$", regex_escape(&name.replace(" › ", " ")))
}

/// `s` with regular-expression metacharacters escaped.
fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(kind: FailureKind, file: Option<&str>, test: &str) -> Failure {
        let f = Failure::new(FailureCategory::Test, kind, "boom").in_test(test);
        match file {
            Some(file) => f.at(file, Some(3), None),
            None => f,
        }
    }

    fn cmd(tool: &str, f: &Failure) -> String {
        FlakyDetector::command_for(tool, f, Path::new("/nonexistent-ws"), "python3")
            .map(|c| c.display())
            .unwrap_or_default()
    }

    #[test]
    fn cargo_reruns_a_unit_test_by_exact_name_across_targets() {
        let f = failure(FailureKind::TestAssertion, Some("src/lib.rs"), "tests::adds");
        assert_eq!(cmd("cargo", &f), "cargo test -- --exact tests::adds");
        assert_eq!(cmd("nextest", &f), "cargo test -- --exact tests::adds");
    }

    #[test]
    fn cargo_reruns_an_integration_test_in_its_own_target_and_a_doctest_with_doc() {
        let f = failure(FailureKind::TestPanic, Some("tests/api.rs"), "creates_user");
        assert_eq!(cmd("cargo", &f), "cargo test --test api -- --exact creates_user");
        let f = failure(FailureKind::TestPanic, Some("tests/oracles/synthetic.rs"), "x");
        assert_eq!(cmd("cargo", &f), "cargo test --test oracles -- --exact x");
        let f = failure(FailureKind::DocTest, Some("src/lib.rs"), "src/lib.rs - double (line 5)");
        assert_eq!(cmd("libtest-json", &f), "cargo test --doc -- --exact src/lib.rs - double (line 5)");
    }

    #[test]
    fn go_reruns_one_test_or_subtest_by_anchored_pattern_in_its_package() {
        let f = failure(FailureKind::TestAssertion, Some("calc_test.go"), "TestAddFails");
        assert_eq!(cmd("go", &f), "go test -v -run ^TestAddFails$ ./");
        let f = failure(FailureKind::TestAssertion, Some("pkg/calc/calc_test.go"), "TestTable/two.b");
        assert_eq!(cmd("go", &f), "go test -v -run ^TestTable$/^two\\.b$ ./pkg/calc");
    }

    #[test]
    fn js_runners_get_an_anchored_escaped_name_pattern() {
        let f = failure(FailureKind::TestAssertion, Some("sum.test.js"), "sum › adds (two) numbers");
        assert_eq!(cmd("jest", &f), "npx jest --ci sum.test.js -t ^sum adds \\(two\\) numbers$");
        assert_eq!(cmd("vitest", &f), "npx vitest run sum.test.js -t ^sum adds \\(two\\) numbers$");
        let f = failure(FailureKind::TestAssertion, Some("test/a.test.mjs"), "adds");
        assert_eq!(cmd("node", &f), "node --test --test-name-pattern=^adds$ test/a.test.mjs");
    }

    #[test]
    fn failures_without_a_test_name_or_of_unknown_tools_get_no_command() {
        let build =
            Failure::new(FailureCategory::Build, FailureKind::Type, "mismatched types").at("src/lib.rs", Some(1), None);
        assert_eq!(cmd("cargo", &build), "");
        let f = failure(FailureKind::TestAssertion, None, "t");
        assert_eq!(cmd("make", &f), "");
        assert!(!is_rerunnable(&build));
    }
}
