//! The regression check shared by the repair loop and the tests gate: one
//! way to run the tests on both sides ([`structured_test_reporting`]), one
//! way to judge an after-run against its baseline ([`check_test_run`]).

use crate::exec::{CommandSpec, ReportFormat, ReportRequest};
use crate::failure::{RunComparison, TestOutcome, TestStatus, compare_runs};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Asks runners that print only failures by default to print every test, so
/// that per-test outcomes exist for passing tests too: pytest gets `-v -rA`
/// (and `-p no:cacheprovider`, so no `.pytest_cache` is left in the tree),
/// `go test` gets `-v` (unless it has `-v` or `-json`). libtest, nextest
/// and `node --test` list every test already. The baseline and every
/// after-run go through this, so both sides report alike.
///
/// ```
/// use agent_core::exec::CommandSpec;
/// use agent_core::gate::per_test_reporting;
///
/// let spec = per_test_reporting(CommandSpec::new("go").args(["test", "./..."]));
/// assert_eq!(spec.args, ["test", "-v", "./..."]);
/// let spec = per_test_reporting(CommandSpec::new("python").args(["-m", "pytest", "-q"]));
/// assert_eq!(spec.args, ["-m", "pytest", "-q", "-v", "-rA", "-p", "no:cacheprovider"]);
/// ```
pub fn per_test_reporting(mut spec: CommandSpec) -> CommandSpec {
    let is_pytest = spec.program.ends_with("pytest") || spec.args.iter().any(|a| a == "pytest");
    // `-rA` alone names no skipped test (`SKIPPED [1] file:line`); `-v` does.
    if is_pytest && !spec.args.iter().any(|a| a.starts_with("-v")) {
        spec.args.push("-v".to_owned());
    }
    if is_pytest && !spec.args.iter().any(|a| a == "-rA") {
        spec.args.push("-rA".to_owned());
    }
    // pytest's cache directory ignores itself (`.pytest_cache/.gitignore` is `*`), so a
    // restore, which leaves ignored files alone, would leave it in the user's tree.
    // Runs that ask for the cache (`--lf`, `--ff`, `--sw`, `--nf`) keep it.
    let wants_cache = spec.args.iter().any(|a| {
        a.contains("cacheprovider")
            || [
                "--lf",
                "--last-failed",
                "--ff",
                "--failed-first",
                "--nf",
                "--new-first",
                "--sw",
                "--stepwise",
                "--cache-show",
                "--cache-clear",
            ]
            .contains(&a.as_str())
    });
    if is_pytest && !wants_cache {
        spec.args.extend(["-p".to_owned(), "no:cacheprovider".to_owned()]);
    }
    let is_go_test =
        (spec.program == "go" || spec.program.ends_with("/go")) && spec.args.first().is_some_and(|a| a == "test");
    if is_go_test && !spec.args.iter().any(|a| a == "-v" || a.starts_with("-json")) {
        spec.args.insert(1, "-v".to_owned());
    }
    spec
}

/// How the library runs a test command itself, the repair loop's baseline
/// and after-runs and the tests gate's alike: [`per_test_reporting`], and
/// the tool's structured output where it has one ([`structured_output`]):
/// jest and vitest write their JSON report to a file the executor reads
/// back, `go test` prints `-json` events.
///
/// ```
/// use agent_core::exec::{CommandSpec, ReportFormat};
/// use agent_core::gate::structured_test_reporting;
///
/// let spec = structured_test_reporting(CommandSpec::new("go").args(["test", "./..."]));
/// assert_eq!(spec.display(), "go test -json ./...");
/// let spec = structured_test_reporting(CommandSpec::new("npx").args(["jest", "--ci"]));
/// assert_eq!(spec.display(), "npx jest --ci --json --outputFile={report}");
/// assert_eq!(spec.reports[0].format, ReportFormat::JestJson);
/// ```
pub fn structured_test_reporting(spec: CommandSpec) -> CommandSpec {
    per_test_reporting(structured_output(spec))
}

/// Asks a tool the library runs itself for its structured output, where it
/// has one the classifiers read, so that nothing the code under test prints
/// can break the parse; other commands are returned unchanged, and a command
/// that already chooses its own output format is left as it is:
///
/// | tool (named by the command, behind `npx`, `pnpm exec`, `yarn`, `bunx`, `node node_modules/.bin/…`) | asked for |
/// |---|---|
/// | jest | `--json --outputFile={report}`: a [`ReportRequest`] of [`ReportFormat::JestJson`]; the console keeps jest's text reporter |
/// | vitest | `--reporter=default --reporter=json --outputFile.json={report}` ([`ReportFormat::VitestJson`]): the text reporter for the log, the JSON one to the file |
/// | `go test` | `-json` (test events on stdout; a test's own output is inside the events) |
/// | `cargo build`, `check`, `clippy` | `--message-format=json` (compiler messages as JSON) |
/// | eslint | `-f json` |
///
/// The report file is chosen, read back into
/// [`RunOutput::reports`](crate::exec::RunOutput::reports) and deleted by
/// the executor, outside the workspace: it never dirties the user's tree.
/// An executor that does not honour report requests runs the command
/// without them, and the text reporter is read instead. pytest keeps its
/// `-rA` summary ([`per_test_reporting`]): pytest captures what tests
/// print, and its JUnit report names tests otherwise than the node ids
/// goals and baselines use. `cargo test` keeps its human output: libtest
/// prints the same lines either way, and its compile errors, which the
/// repair prompts quote, read better from the text renderer.
///
/// ```
/// use agent_core::exec::CommandSpec;
/// use agent_core::gate::structured_output;
///
/// let spec = structured_output(CommandSpec::new("cargo").args(["clippy", "--all-targets", "--", "-D", "warnings"]));
/// assert_eq!(spec.display(), "cargo clippy --all-targets --message-format=json -- -D warnings");
/// let spec = structured_output(CommandSpec::new("pnpm").args(["exec", "vitest", "run"]));
/// assert_eq!(
///     spec.display(),
///     "pnpm exec vitest run --reporter=default --reporter=json --outputFile.json={report}"
/// );
/// let spec = structured_output(CommandSpec::new("npx").args(["eslint", "."]));
/// assert_eq!(spec.display(), "npx eslint . -f json");
/// // A command choosing its own format, or not naming a known tool, is left alone.
/// let spec = structured_output(CommandSpec::new("npx").args(["jest", "--json"]));
/// assert_eq!(spec.display(), "npx jest --json");
/// assert_eq!(structured_output(CommandSpec::new("npm").args(["test"])).display(), "npm test");
/// assert_eq!(structured_output(CommandSpec::new("cargo").args(["test", "--workspace"])).display(), "cargo test --workspace");
/// ```
pub fn structured_output(mut spec: CommandSpec) -> CommandSpec {
    let Some((tool, at)) = tool_of(&spec.program, &spec.args) else { return spec };
    // The tool's own arguments: what follows its name.
    let own = spec.args.get(at..).unwrap_or_default();
    let has = |f: &dyn Fn(&str) -> bool| own.iter().any(|a| f(a));
    match tool {
        Tool::Jest | Tool::Vitest => {
            // `--` would make the requested options test-name patterns; a format of the command's own wins.
            let chosen = has(&|a| {
                a == "--"
                    || a == "--json"
                    || a.starts_with("--outputFile")
                    || a.starts_with("--reporter")
                    || a.starts_with("--watch")
            });
            if chosen || !spec.reports.is_empty() {
                return spec;
            }
            let request = if tool == Tool::Jest {
                ReportRequest::new(ReportFormat::JestJson, ["--json", "--outputFile={report}"])
            } else {
                ReportRequest::new(
                    ReportFormat::VitestJson,
                    ["--reporter=default", "--reporter=json", "--outputFile.json={report}"],
                )
            };
            spec.reports.push(request);
        }
        Tool::GoTest => {
            if !has(&|a| a == "-json" || a.starts_with("-json=") || a == "--json") {
                spec.args.insert(at, "-json".to_owned());
            }
        }
        Tool::Cargo => {
            if !has(&|a| a.starts_with("--message-format")) {
                // Before `--`: what follows goes to the test binaries or to clippy-driver.
                let end = own.iter().position(|a| a == "--").map_or(spec.args.len(), |i| at + i);
                spec.args.insert(end, "--message-format=json".to_owned());
            }
        }
        Tool::Eslint => {
            let chosen = has(&|a| {
                a.starts_with("--format")
                    || a == "-o"
                    || a.starts_with("--output-file")
                    || (a.starts_with("-f") && !a.starts_with("--"))
            });
            if !chosen {
                spec.args.extend(["-f".to_owned(), "json".to_owned()]);
            }
        }
    }
    spec
}

/// A tool [`structured_output`] knows how to ask for structured output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tool {
    Jest,
    Vitest,
    GoTest,
    Cargo,
    Eslint,
}

/// The file name of a program or script, without the extensions node and
/// Windows launchers add.
fn base_name(word: &str) -> &str {
    let name = word.rsplit(['/', '\\']).next().unwrap_or(word);
    [".exe", ".cmd", ".js", ".mjs", ".cjs"].iter().find_map(|ext| name.strip_suffix(ext)).unwrap_or(name)
}

/// The JavaScript tool a program or script name is.
fn js_tool(word: &str) -> Option<Tool> {
    match base_name(word) {
        "jest" => Some(Tool::Jest),
        "vitest" => Some(Tool::Vitest),
        "eslint" => Some(Tool::Eslint),
        _ => None,
    }
}

/// The known tool the command runs, and the index in `args` where the
/// tool's own arguments begin (after its name, or its subcommand for go).
fn tool_of(program: &str, args: &[String]) -> Option<(Tool, usize)> {
    let first_word = |from: usize, with_value: &[&str]| -> Option<usize> {
        let mut i = from;
        while let Some(a) = args.get(i) {
            if a == "--" {
                return (i + 1 < args.len()).then_some(i + 1);
            }
            if !a.starts_with('-') {
                return Some(i);
            }
            i += if with_value.contains(&a.as_str()) { 2 } else { 1 };
        }
        None
    };
    let js_at = |i: usize| js_tool(args.get(i)?).map(|t| (t, i + 1));
    match base_name(program) {
        "go" => {
            let at = first_word(0, &["-C"])?;
            (args[at] == "test").then_some((Tool::GoTest, at + 1))
        }
        "cargo" => {
            let at = first_word(0, &["-Z", "-C", "--config", "--color"])?;
            let sub = args[at].as_str();
            // `+toolchain` comes before the subcommand.
            let (sub, at) = if sub.starts_with('+') {
                let next = first_word(at + 1, &["-Z", "-C", "--config", "--color"])?;
                (args[next].as_str(), next)
            } else {
                (sub, at)
            };
            matches!(sub, "build" | "b" | "check" | "c" | "clippy").then_some((Tool::Cargo, at + 1))
        }
        "npx" | "bunx" | "pnpx" => js_at(first_word(0, &["-p", "--package", "--cache", "-w", "--workspace"])?),
        "npm" => {
            let at = first_word(0, &[])?;
            if !matches!(args[at].as_str(), "exec" | "x") {
                return None;
            }
            js_at(first_word(at + 1, &["-p", "--package", "-w", "--workspace"])?)
        }
        "pnpm" | "yarn" | "bun" => {
            let at = first_word(0, &["-C", "--dir", "--cwd", "--filter", "-F"])?;
            match args[at].as_str() {
                "exec" | "dlx" | "x" => js_at(first_word(at + 1, &[])?),
                _ => js_at(at),
            }
        }
        "node" | "nodejs" => {
            let at = first_word(0, &["-r", "--require", "--import", "--loader"])?;
            let script = args[at].as_str();
            // `node_modules/.bin/jest`, `node_modules/jest/bin/jest.js`, `node_modules/vitest/vitest.mjs`.
            script.contains("node_modules").then(|| js_at(at)).flatten()
        }
        name => js_tool(name).map(|t| (t, 0)),
    }
}

/// A baseline test run: what ran, how it exited, which tests it showed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct TestBaseline {
    /// The command as run (with its per-test reporting flags).
    pub command: String,
    /// Its exit code (`None`: killed or timed out).
    pub exit_code: Option<i32>,
    /// Its per-test outcomes.
    pub outcomes: Vec<TestOutcome>,
    /// Whether a test the after-run shows and this baseline lacks must
    /// pass. Set for a baseline taken at another revision than the
    /// change's own base (the head a merge lands on): a test it lacks is
    /// one the change brought, and a change does not land with its own
    /// tests failing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub new_tests_must_pass: bool,
}

impl TestBaseline {
    /// A baseline.
    pub fn new(command: impl Into<String>, exit_code: Option<i32>, outcomes: Vec<TestOutcome>) -> Self {
        Self { command: command.into(), exit_code, outcomes, new_tests_must_pass: false }
    }

    /// The same baseline, with every test it lacks required to pass
    /// ([`new_tests_must_pass`](Self::new_tests_must_pass)).
    ///
    /// ```
    /// use agent_core::failure::{TestOutcome, TestStatus};
    /// use agent_core::gate::{TestBaseline, check_test_run};
    ///
    /// // At the target's head one test already fails; the change adds `new_one`.
    /// let at_target = TestBaseline::new("go test", Some(1), vec![
    ///     TestOutcome::new("TestOld", TestStatus::Passed),
    ///     TestOutcome::new("TestFlaky", TestStatus::Failed),
    /// ])
    /// .requiring_new_tests();
    /// let after = |new: TestStatus| vec![
    ///     TestOutcome::new("TestOld", TestStatus::Passed),
    ///     TestOutcome::new("TestFlaky", TestStatus::Failed),
    ///     TestOutcome::new("TestNew", new),
    /// ];
    /// // A test that already failed does not stop the change; its own failing test does.
    /// assert!(check_test_run(&at_target, "go test", Some(1), &after(TestStatus::Passed), &[]).passed);
    /// assert!(!check_test_run(&at_target, "go test", Some(1), &after(TestStatus::Failed), &[]).passed);
    /// ```
    pub fn requiring_new_tests(mut self) -> Self {
        self.new_tests_must_pass = true;
        self
    }

    /// Why this baseline cannot be compared against (no outcome read, or an
    /// exit code that disagrees with them); `None` when it can.
    pub fn invalid(&self) -> Option<String> {
        if self.outcomes.is_empty() {
            return Some(format!("the baseline run of `{}` showed no test outcome", self.command));
        }
        exit_code_agrees(self.exit_code, &self.outcomes).err().map(|e| format!("the baseline run is not valid: {e}"))
    }
}

/// Whether a run's exit code agrees with its parsed outcomes: exit 0 with
/// a failed test, a non-zero exit with no failed test, or no exit code at
/// all (killed, timed out) is a run that cannot be trusted.
pub fn exit_code_agrees(exit_code: Option<i32>, outcomes: &[TestOutcome]) -> Result<(), String> {
    let failing = outcomes.iter().filter(|o| matches!(o.status, TestStatus::Failed | TestStatus::Errored)).count();
    match exit_code {
        None => Err("the run did not exit on its own (killed or timed out)".to_owned()),
        Some(0) if failing > 0 => Err(format!("exit code 0 with {failing} failing test(s) parsed")),
        Some(code) if code != 0 && failing == 0 => {
            Err(format!("exit code {code} with no failing test parsed: something other than a test failed"))
        }
        Some(_) => Ok(()),
    }
}

/// The judgement of an after-run against its baseline.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TestRunCheck {
    /// Whether the run passes the regression check.
    pub passed: bool,
    /// The per-test comparison with the baseline.
    pub comparison: RunComparison,
    /// Why the run is not valid or cannot be judged (empty when it can).
    pub problems: Vec<String>,
    /// Remarks for people (e.g. how an invalid baseline was dealt with).
    pub notes: Vec<String>,
}

/// Judges an after-run (its exit code and per-test outcomes) against the
/// baseline, regression-aware:
///
/// - the run must show test outcomes, and its exit code must agree with
///   them ([`exit_code_agrees`]);
/// - every named test passes (a skipped test does not), and every test
///   that passed at baseline still passes;
/// - a baseline that is empty or invalid ([`TestBaseline::invalid`]) is
///   never compared against: the run then passes only when it is a clean,
///   complete pass on its own (exit 0, no failing test), which no
///   regression can hide in;
/// - a baseline run with another command than the after-run is not
///   comparable and fails the check (an empty baseline,
///   `TestBaseline::default()`, has no command and is only empty).
///
/// Tests that failed at baseline and still fail, unnamed, do not fail it.
pub fn check_test_run(
    baseline: &TestBaseline,
    command: &str,
    exit_code: Option<i32>,
    outcomes: &[TestOutcome],
    named: &[String],
) -> TestRunCheck {
    let mut check = TestRunCheck::default();
    // An empty baseline (no run recorded: `TestBaseline::default()`) is
    // judged below as one that showed nothing, not as another command.
    let no_run = baseline.command.is_empty() && baseline.outcomes.is_empty();
    if !no_run && baseline.command != command {
        check.problems.push(format!(
            "the baseline ran `{}` and this run `{command}`: their outcomes are not comparable",
            baseline.command
        ));
    }
    if outcomes.is_empty() {
        check.problems.push(format!("`{command}` showed no test outcome: the run is not valid"));
    } else if let Err(e) = exit_code_agrees(exit_code, outcomes) {
        check.problems.push(format!("the run is not valid: {e}"));
    }
    match baseline.invalid() {
        None => {
            check.comparison = compare_runs(&baseline.outcomes, outcomes, named);
            if baseline.new_tests_must_pass {
                check.comparison.regressions.extend(new_tests_not_passing(&baseline.outcomes, outcomes));
            }
        }
        Some(why) => {
            // Comparing against nothing would pass every regression: judge the run alone.
            check.comparison = compare_runs(&[], outcomes, named);
            let failing = outcomes.iter().any(|o| matches!(o.status, TestStatus::Failed | TestStatus::Errored));
            if exit_code != Some(0) || failing {
                check
                    .problems
                    .push(format!("{why}, and this run is not a clean pass, so regressions cannot be ruled out"));
            } else {
                check.notes.push(format!("{why}; judged as a clean, complete pass"));
            }
        }
    }
    check.passed = check.problems.is_empty() && check.comparison.ok();
    check
}

/// The tests of `after` that `before` lacks (by scope and name; a side
/// without a scope for a name stands for every scope of it) and that failed,
/// one sentence each.
fn new_tests_not_passing(before: &[TestOutcome], after: &[TestOutcome]) -> Vec<String> {
    let known = |o: &TestOutcome| {
        before.iter().any(|b| b.name == o.name && (b.scope == o.scope || b.scope.is_none() || o.scope.is_none()))
    };
    let mut out: Vec<String> = Vec::new();
    for o in after.iter().filter(|o| matches!(o.status, TestStatus::Failed | TestStatus::Errored)) {
        if !known(o) {
            let line = format!("{} is new since the baseline and {} after the change", o.label(), o.status.name());
            if !out.contains(&line) {
                out.push(line);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(name: &str, status: TestStatus) -> TestOutcome {
        TestOutcome::new(name, status)
    }

    #[test]
    fn an_empty_baseline_never_passes_a_run_that_still_fails_a_test() {
        let empty = TestBaseline::new("cargo test", Some(101), vec![]);
        let after = [o("a", TestStatus::Passed), o("b", TestStatus::Failed)];
        let check = check_test_run(&empty, "cargo test", Some(101), &after, &["a".into()]);
        assert!(!check.passed, "{check:?}");
        assert!(check.problems[0].contains("no test outcome"));
    }

    #[test]
    fn a_run_with_no_tests_is_never_a_pass() {
        let base = TestBaseline::new("python -m unittest discover", Some(0), vec![]);
        let check = check_test_run(&base, "python -m unittest discover", Some(0), &[], &[]);
        assert!(!check.passed);
    }

    #[test]
    fn exit_codes_that_disagree_with_the_outcomes_are_not_valid() {
        let base = TestBaseline::new("t", Some(1), vec![o("a", TestStatus::Failed)]);
        let ok = [o("a", TestStatus::Passed)];
        assert!(check_test_run(&base, "t", Some(0), &ok, &[]).passed);
        assert!(!check_test_run(&base, "t", Some(2), &ok, &[]).passed, "non-zero with nothing failing");
        let bad = [o("a", TestStatus::Failed)];
        assert!(!check_test_run(&base, "t", Some(0), &bad, &[]).passed, "zero with a failure");
        assert!(!check_test_run(&base, "t", None, &ok, &[]).passed, "killed");
    }

    fn shown(program: &str, args: &[&str]) -> String {
        structured_test_reporting(CommandSpec::new(program).args(args.iter().copied())).display()
    }

    #[test]
    fn structured_output_finds_the_tool_behind_launchers_and_leaves_chosen_formats_alone() {
        let jest = " --json --outputFile={report}";
        let vitest = " --reporter=default --reporter=json --outputFile.json={report}";
        for (program, args, expected) in [
            ("jest", &["--ci"][..], format!("jest --ci{jest}")),
            ("yarn", &["jest"][..], format!("yarn jest{jest}")),
            (
                "pnpm",
                &["--filter", "web", "exec", "vitest", "run"][..],
                format!("pnpm --filter web exec vitest run{vitest}"),
            ),
            ("node", &["node_modules/.bin/jest", "-i"][..], format!("node node_modules/.bin/jest -i{jest}")),
            (
                "node",
                &["node_modules/vitest/vitest.mjs", "run"][..],
                format!("node node_modules/vitest/vitest.mjs run{vitest}"),
            ),
            ("npm", &["exec", "--", "jest"][..], format!("npm exec -- jest{jest}")),
            ("./node_modules/.bin/vitest", &["run"][..], format!("./node_modules/.bin/vitest run{vitest}")),
            ("go", &["test", "-v", "./..."][..], "go test -json -v ./...".to_owned()),
            ("go", &["-C", "svc", "test", "./..."][..], "go -C svc test -json ./...".to_owned()),
            (
                "cargo",
                &["+nightly", "clippy", "--", "-D", "warnings"][..],
                "cargo +nightly clippy --message-format=json -- -D warnings".to_owned(),
            ),
            ("npx", &["eslint", "src"][..], "npx eslint src -f json".to_owned()),
        ] {
            assert_eq!(shown(program, args), expected, "{program} {args:?}");
        }
        for (program, args) in [
            ("npx", &["jest", "--", "sum"][..]),
            ("npx", &["jest", "--json"][..]),
            ("npx", &["vitest", "run", "--reporter=verbose"][..]),
            ("npx", &["vitest", "--watch"][..]),
            ("go", &["test", "-json", "./..."][..]),
            ("go", &["vet", "./..."][..]),
            ("cargo", &["test", "--workspace"][..]),
            ("cargo", &["nextest", "run"][..]),
            ("cargo", &["clippy", "--message-format=short"][..]),
            ("npx", &["eslint", "--format", "stylish", "."][..]),
            ("npx", &["eslint", "-o", "out.txt", "."][..]),
            ("npm", &["test"][..]),
            ("yarn", &["test"][..]),
            ("node", &["--test"][..]),
            ("node", &["scripts/jest.js"][..]),
            ("make", &["test"][..]),
        ] {
            let spec = structured_output(CommandSpec::new(program).args(args.iter().copied()));
            assert_eq!(spec.display(), format!("{program} {}", args.join(" ")), "{program} {args:?}");
            assert!(spec.reports.is_empty());
        }
    }

    #[test]
    fn a_baseline_of_another_command_is_not_compared() {
        let base = TestBaseline::new("pytest", Some(1), vec![o("t::a", TestStatus::Failed)]);
        let check = check_test_run(&base, "pytest -v -rA", Some(0), &[o("t::a", TestStatus::Passed)], &[]);
        assert!(!check.passed);
    }
}

#[cfg(test)]
mod baseline_tests {
    use super::*;

    fn o(name: &str, status: TestStatus) -> TestOutcome {
        TestOutcome::new(name, status)
    }

    fn outcomes(failed: bool) -> Vec<TestOutcome> {
        let last = if failed { TestStatus::Failed } else { TestStatus::Passed };
        vec![
            TestOutcome::new("tests/test_a.py::test_a", TestStatus::Passed),
            TestOutcome::new("tests/test_b.py::test_b", last),
        ]
    }

    #[test]
    fn an_empty_baseline_asks_for_a_clean_pass_instead_of_a_matching_command() {
        let none = TestBaseline::default();
        let clean = check_test_run(&none, "python -m pytest -v", Some(0), &outcomes(false), &[]);
        assert!(clean.passed, "{clean:?}");
        assert!(clean.problems.is_empty());
        let failing = check_test_run(&none, "python -m pytest -v", Some(1), &outcomes(true), &[]);
        assert!(!failing.passed);
        assert!(failing.problems.iter().any(|p| p.contains("not a clean pass")), "{failing:?}");
        assert!(!failing.problems.iter().any(|p| p.contains("not comparable")), "{failing:?}");
    }

    #[test]
    fn a_baseline_of_another_command_is_still_not_comparable() {
        let other = TestBaseline::new("cargo test", Some(0), outcomes(false));
        let check = check_test_run(&other, "python -m pytest -v", Some(0), &outcomes(false), &[]);
        assert!(!check.passed);
        assert!(check.problems.iter().any(|p| p.contains("not comparable")), "{check:?}");
    }

    #[test]
    fn a_baseline_requiring_new_tests_fails_a_new_test_that_fails_and_only_that() {
        let base =
            TestBaseline::new("pytest", Some(1), vec![o("old", TestStatus::Passed), o("flaky", TestStatus::Failed)])
                .requiring_new_tests();
        let after = [
            o("old", TestStatus::Passed),
            o("flaky", TestStatus::Failed),
            o("added_ok", TestStatus::Passed),
            o("added_bad", TestStatus::Failed),
            o("added_later", TestStatus::Skipped),
        ];
        let check = check_test_run(&base, "pytest", Some(1), &after, &[]);
        assert!(!check.passed);
        assert_eq!(check.comparison.regressions, ["`added_bad` is new since the baseline and failed after the change"]);
        // The same run against a baseline that does not require them: the new failure is not its business.
        let plain = TestBaseline::new("pytest", Some(1), base.outcomes.clone());
        assert!(check_test_run(&plain, "pytest", Some(1), &after, &[]).passed);
    }

    #[test]
    fn a_new_test_is_told_apart_by_its_scope_and_an_unscoped_side_stands_for_every_scope() {
        let base = TestBaseline::new("cargo test", Some(0), vec![o("tests::it", TestStatus::Passed).in_scope("a")])
            .requiring_new_tests();
        // The same name in another crate is a new test.
        let other_crate =
            [o("tests::it", TestStatus::Passed).in_scope("a"), o("tests::it", TestStatus::Failed).in_scope("b")];
        let check = check_test_run(&base, "cargo test", Some(101), &other_crate, &[]);
        assert_eq!(
            check.comparison.regressions,
            ["`tests::it` (b) is new since the baseline and failed after the change"]
        );
        // A runner that printed no scope: the name is known, so nothing is new (the regression rule judges it).
        let unscoped = [o("tests::it", TestStatus::Failed)];
        let check = check_test_run(&base, "cargo test", Some(101), &unscoped, &[]);
        assert!(check.comparison.regressions.iter().all(|r| !r.contains("is new")), "{check:?}");
        assert!(!check.passed);
    }

    #[test]
    fn a_baseline_requiring_new_tests_still_round_trips_and_an_old_one_reads_as_not_requiring_them() {
        let base = TestBaseline::new("go test", Some(0), vec![o("TestA", TestStatus::Passed)]).requiring_new_tests();
        let text = serde_json::to_string(&base).unwrap();
        assert!(text.contains("\"new_tests_must_pass\":true"), "{text}");
        assert_eq!(serde_json::from_str::<TestBaseline>(&text).unwrap(), base);
        let old: TestBaseline = serde_json::from_str(r#"{"command":"go test","exit_code":0,"outcomes":[]}"#).unwrap();
        assert!(!old.new_tests_must_pass);
    }
}
