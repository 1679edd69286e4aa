//! `run_tests`: runs the project's tests and shows the classified result,
//! never the raw log.

use crate::tools::bound_observation;
use crate::tools::common::{failed, parse_args, schema_of, show};
use crate::tools::run_command::status;
use agent_core::Tool;
use agent_core::context::test_status_line;
use agent_core::tool::{ToolContext, ToolError, ToolOutput};
use agent_core::workspace::DetectedCommand;
use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;
use std::path::Path;

/// `run_tests`: runs the workspace profile's test command
/// ([`WorkspaceProfile::test_command`](agent_core::workspace::WorkspaceProfile::test_command)),
/// narrowed to `tests` when names are given, through the context's [`Executor`](agent_core::Executor) under
/// [`test_timeout`](agent_core::tool::ObservationLimits::test_timeout) and
/// the context's sandbox policy (the tests run code the model may have
/// written). jest and vitest are asked for their JSON report as well, in a
/// file outside the workspace ([`structured_output`](agent_core::gate::structured_output)'s
/// report requests; nothing else of the command changes). The run is
/// classified by the context's classifier and the
/// observation is the context's renderer's text for the classification
/// (after the command line and its exit status), never the raw log; the
/// output carries the classification. Failures of the context's
/// [`environment_broken_tests`](agent_core::tool::ToolContext::environment_broken_tests)
/// are left out of the text (a line says how many), never out of the
/// output's classification.
///
/// Test names narrow the run the way each runner takes them:
///
/// | runner (from the profile's test command) | names become |
/// |---|---|
/// | `cargo test` | one name: `cargo test NAME`; several: `cargo test -- A B` (libtest filters: substrings of the test path) |
/// | `cargo nextest run` | `cargo nextest run A B` |
/// | pytest (`pytest`, `python -m pytest`, `uv run pytest`, …) | node ids (`tests/test_x.py::test_y`) as arguments when every name is one; otherwise `-k "A or B"` |
/// | `go test` | `-run '^(A\|B)$'` (top-level test names, regex-escaped) |
/// | `node --test` | one `--test-name-pattern=NAME` each (regex-escaped), right after `--test` |
///
/// Any other test command (`npm test`, `make test`, …) takes no names: the
/// whole suite runs and the observation says so. A name that is empty or
/// starts with `-` is [`ToolError::InvalidArguments`].
///
/// A profile without a test command is [`ToolError::Failed`], telling the
/// model to find the command with the other tools and run it with
/// `run_command`.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunTests;

/// Arguments of `run_tests`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Args {
    /// Names of the tests to run (default: all), as the project's test runner takes them:
    /// a test function's name or path (`tests::adds`, `test_average`, `TestParse`), or a pytest node id
    /// (`tests/test_stats.py::test_mean`).
    #[serde(default)]
    tests: Vec<String>,
}

const NAME: &str = "run_tests";

#[async_trait]
impl Tool for RunTests {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> &str {
        "Run the project's tests (all, or only those named in `tests`) and show what failed: the classified \
         failures with their locations and source lines."
    }

    fn parameters(&self) -> serde_json::Value {
        schema_of::<Args>()
    }

    async fn call(&self, args: serde_json::Value, cx: &ToolContext) -> Result<ToolOutput, ToolError> {
        let args: Args = parse_args(NAME, args)?;
        for name in &args.tests {
            if name.trim().is_empty() || name.starts_with('-') {
                return Err(ToolError::InvalidArguments {
                    tool: NAME.to_owned(),
                    reason: format!("`tests`: `{name}` is not a test name (empty, or starts with `-`)"),
                });
            }
        }
        let Some(command) = cx.profile.test_command() else {
            return Err(failed(
                NAME,
                "the workspace profile has no test command. Find how this project runs its tests (README, CI \
                 workflows, manifests: list_files, read_file and search find them) and run that command with \
                 run_command",
            ));
        };
        let (narrowed, note) = narrow(command, &args.tests);
        let mut spec = narrowed.to_spec(&cx.root).wall_timeout(cx.limits.test_timeout).sandbox(cx.sandbox.clone());
        // No `.pytest_cache` in the user's tree: it ignores itself, so a restore would leave it.
        // (Through the environment, so the command the model sees stays its own.)
        let is_pytest = spec.program.ends_with("pytest") || spec.args.iter().any(|a| a == "pytest");
        if is_pytest && !spec.args.iter().any(|a| a.contains("cacheprovider")) {
            spec.env.set.entry("PYTEST_ADDOPTS".to_owned()).or_insert_with(|| "-p no:cacheprovider".to_owned());
        }
        let mut header = format!("$ {}", spec.display_redacted());
        if !command.cwd.as_os_str().is_empty() {
            header.push_str(&format!("  (in {})", show(&command.cwd)));
        }
        // jest and vitest also write their JSON report to a file outside the workspace, read
        // in preference to the console (what the tests print cannot break it); the command
        // line and the console output stay the project's own.
        let structured = agent_core::gate::structured_output(spec.clone());
        if structured.args == spec.args {
            spec.reports = structured.reports;
        }
        let run = cx.executor.run(spec).await?;
        let classification = cx.classifier.classify(&run, &cx.profile);
        let shown = classification.without_environment_failures_of(&cx.environment_broken_tests);
        let rendered = cx.renderer.render(&cx.root, &shown);
        let mut out = format!("{header}\n{}\n", status(&run, cx.limits.test_timeout));
        if let Some(note) = note {
            out.push_str(&note);
            out.push('\n');
        }
        let left_out = classification.failures.len() - shown.failures.len();
        if left_out > 0 {
            out.push_str(&format!(
                "({left_out} failure(s) of tests the environment already broke before any change are not shown: \
                 no edit can mend them, leave them be)\n"
            ));
        }
        if rendered.trim().is_empty() {
            out.push_str(&format!("Test status: {}\n", test_status_line(&shown)));
        } else {
            out.push_str(&rendered);
            if !rendered.ends_with('\n') {
                out.push('\n');
            }
        }
        Ok(ToolOutput::text(bound_observation(&out, cx.limits.max_tokens)).with_classification(classification))
    }
}

/// The test runners whose command lines take test names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Runner {
    Cargo,
    Nextest,
    Pytest,
    Go,
    NodeTest,
    Other,
}

fn runner(program: &str, args: &[String]) -> Runner {
    let base = Path::new(program).file_name().and_then(|n| n.to_str()).unwrap_or(program);
    let has = |a: &str| args.iter().any(|x| x == a);
    match base {
        "cargo" if has("nextest") => Runner::Nextest,
        "cargo" if has("test") => Runner::Cargo,
        "go" if args.first().is_some_and(|a| a == "test") => Runner::Go,
        "node" if has("--test") => Runner::NodeTest,
        _ if base.starts_with("pytest") || base == "py.test" || has("pytest") || has("py.test") => Runner::Pytest,
        _ => Runner::Other,
    }
}

/// `command` narrowed to the tests `names`, and a note when it cannot be.
fn narrow(command: &DetectedCommand, names: &[String]) -> (DetectedCommand, Option<String>) {
    let mut narrowed = command.clone();
    if names.is_empty() {
        return (narrowed, None);
    }
    let args = &mut narrowed.args;
    let separator = args.iter().position(|a| a == "--");
    match runner(&command.program, args) {
        Runner::Cargo => match (names, separator) {
            ([one], None) => args.push(one.clone()),
            (_, Some(_)) => args.extend(names.iter().cloned()),
            (_, None) => {
                args.push("--".to_owned());
                args.extend(names.iter().cloned());
            }
        },
        Runner::Nextest => {
            let at = separator.unwrap_or(args.len());
            args.splice(at..at, names.iter().cloned());
        }
        Runner::Pytest => {
            let node_id = |n: &String| n.contains("::") || n.contains('/') || n.ends_with(".py");
            if names.iter().all(node_id) {
                args.extend(names.iter().cloned());
            } else {
                let keywords: Vec<&str> = names.iter().map(|n| n.rsplit("::").next().unwrap_or(n)).collect();
                args.push("-k".to_owned());
                args.push(keywords.join(" or "));
            }
        }
        Runner::Go => {
            let alternatives: Vec<String> = names.iter().map(|n| regex_escape(n)).collect();
            args.push("-run".to_owned());
            args.push(format!("^({})$", alternatives.join("|")));
        }
        Runner::NodeTest => {
            let at = args.iter().position(|a| a == "--test").map_or(args.len(), |i| i + 1);
            let patterns = names.iter().map(|n| format!("--test-name-pattern={}", regex_escape(n)));
            args.splice(at..at, patterns);
        }
        Runner::Other => {
            return (narrowed, Some(format!("(`{}` takes no test names: every test ran)", command.display_redacted())));
        }
    }
    (narrowed, None)
}

/// `text` with the regex metacharacters escaped (Go's RE2 and JavaScript read these escapes alike).
fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
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

    fn cmd(program: &str, args: &[&str]) -> DetectedCommand {
        DetectedCommand::new(program, args, Vec::new(), 1.0)
    }

    fn narrowed(program: &str, args: &[&str], names: &[&str]) -> Vec<String> {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        narrow(&cmd(program, args), &names).0.args
    }

    #[test]
    fn each_runner_takes_names_its_own_way() {
        assert_eq!(narrowed("cargo", &["test"], &["adds"]), ["test", "adds"]);
        assert_eq!(narrowed("cargo", &["test"], &["a", "b"]), ["test", "--", "a", "b"]);
        assert_eq!(narrowed("cargo", &["test", "--", "--nocapture"], &["a"]), ["test", "--", "--nocapture", "a"]);
        assert_eq!(narrowed("cargo", &["nextest", "run", "--", "x"], &["a"]), ["nextest", "run", "a", "--", "x"]);
        assert_eq!(
            narrowed("python3", &["-m", "pytest"], &["test_a", "t.py::test_b"]),
            ["-m", "pytest", "-k", "test_a or test_b"]
        );
        assert_eq!(narrowed("pytest", &[], &["tests/t.py::test_b"]), ["tests/t.py::test_b"]);
        assert_eq!(
            narrowed("go", &["test", "./..."], &["TestA", "TestB"]),
            ["test", "./...", "-run", "^(TestA|TestB)$"]
        );
        assert_eq!(
            narrowed("node", &["--test", "test/"], &["adds 1+1"]),
            ["--test", "--test-name-pattern=adds 1\\+1", "test/"]
        );
        let (same, note) = narrow(&cmd("npm", &["test"]), &["x".to_owned()]);
        assert_eq!(same.args, ["test"]);
        assert!(note.is_some());
    }
}
