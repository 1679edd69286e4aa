//! `run_command`: runs a program in the workspace, under the session's
//! sandbox and time limit.

use crate::tools::bound_observation;
use crate::tools::common::{canonical_root, human_duration, parse_args, schema_of};
use agent_core::Tool;
use agent_core::context::mask_durations;
use agent_core::exec::{CapturedStream, CommandSpec, OutputCaps, RunOutput, TimeoutKind};
use agent_core::tool::{ToolContext, ToolError, ToolOutput};
use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;
use std::fmt::Write as _;
use std::path::Path;

/// `run_command`: runs `program` with `args` (no shell: ask for `sh` with
/// `-c` for one) through the context's [`Executor`](agent_core::Executor),
/// from the workspace root, under the context's sandbox policy and
/// [`command_timeout`](agent_core::tool::ObservationLimits::command_timeout).
///
/// The observation: the command line, the exit status (exit code, signal, or
/// the limit that ended it), a note when the sandbox looks like it stopped
/// the command, a note naming the tests of
/// [`environment_broken_tests`](agent_core::tool::ToolContext::environment_broken_tests)
/// the output mentions (the environment broke them before any change), then
/// stdout and stderr, each bounded to its head and tail.
/// The workspace root in the output is shown as `.`, and durations are
/// masked ([`mask_durations`]), so the same run reads the same on every
/// machine. A program that cannot be started is [`ToolError::Exec`].
#[derive(Clone, Copy, Debug, Default)]
pub struct RunCommand;

/// Arguments of `run_command`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Args {
    /// The program: a name looked up on PATH, or a path relative to the workspace root.
    program: String,
    /// Its arguments, one string each (no shell quoting or expansion).
    #[serde(default)]
    args: Vec<String>,
}

const NAME: &str = "run_command";

#[async_trait]
impl Tool for RunCommand {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> &str {
        "Run a program from the workspace root (no shell: pass `sh` and `-c`, `...` for pipes or globs). \
         Shows the exit status and the head and tail of stdout and stderr. Runs sandboxed and time-limited; \
         use run_tests for the project's tests."
    }

    fn parameters(&self) -> serde_json::Value {
        schema_of::<Args>()
    }

    async fn call(&self, args: serde_json::Value, cx: &ToolContext) -> Result<ToolOutput, ToolError> {
        let args: Args = parse_args(NAME, args)?;
        if args.program.trim().is_empty() {
            return Err(ToolError::InvalidArguments { tool: NAME.to_owned(), reason: "`program` is empty".to_owned() });
        }
        let keep = cx.limits.max_tokens.saturating_mul(4).max(4096);
        let spec = CommandSpec::new(args.program)
            .args(args.args)
            .cwd(cx.root.clone())
            .sandbox(cx.sandbox.clone())
            .wall_timeout(cx.limits.command_timeout)
            .output_caps(OutputCaps { head_bytes: keep, tail_bytes: keep });
        let shown = spec.display_redacted();
        let run = cx.executor.run(spec).await?;
        let roots = [canonical_root(cx).ok(), Some(cx.root.clone())];
        let mut out = format!("$ {shown}\n{}\n", status(&run, cx.limits.command_timeout));
        if let Some(evidence) = &run.sandbox.denial_suspected {
            let _ = writeln!(out, "note: the sandbox may have stopped this command ({evidence})");
        }
        let named = environment_broken_named(&run, &cx.environment_broken_tests);
        if !named.is_empty() {
            let _ = writeln!(
                out,
                "note: the environment already broke {} before any change (a missing package, tool or \
                 network, not the code); their failures here are not yours to fix",
                named.join(", ")
            );
        }
        let per_stream = cx.limits.max_tokens / 2;
        for (name, stream) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
            out.push_str(&stream_section(name, stream, &roots, per_stream));
        }
        Ok(ToolOutput::text(bound_observation(&out, cx.limits.max_tokens)))
    }
}

/// The tests of `broken` (those the environment broke before any change)
/// that the run's output names, by their full id or by the name after the
/// last `::` (pytest's `file::test`, libtest's `module::test`).
fn environment_broken_named<'a>(run: &RunOutput, broken: &'a std::collections::BTreeSet<String>) -> Vec<&'a str> {
    if broken.is_empty() {
        return Vec::new();
    }
    let text = format!("{}\n{}", run.stdout.text(), run.stderr.text());
    broken
        .iter()
        .filter(|test| {
            let short = test.rsplit("::").next().unwrap_or(test);
            text.contains(test.as_str()) || (!short.is_empty() && contains_word(&text, short))
        })
        .map(String::as_str)
        .collect()
}

/// Whether `needle` stands in `text` as a whole word (not inside a longer
/// identifier: `test_a` is not named by `test_ab`).
fn contains_word(text: &str, needle: &str) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(needle).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + needle.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

/// How the run ended, in words.
pub(crate) fn status(run: &RunOutput, wall_limit: std::time::Duration) -> String {
    match (run.timed_out, run.exit_code, run.signal) {
        (Some(TimeoutKind::Wall), ..) => format!("timed out: stopped at the {} time limit", human_duration(wall_limit)),
        (Some(kind), ..) => format!("timed out: stopped by the {} limit", kind.name()),
        (None, Some(code), _) => format!("exit code {code}"),
        (None, None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None, None) => "ended without an exit code".to_owned(),
    }
}

fn stream_section(
    name: &str,
    stream: &CapturedStream,
    roots: &[Option<std::path::PathBuf>],
    max_tokens: usize,
) -> String {
    if stream.total_bytes == 0 {
        return format!("{name}: (empty)\n");
    }
    let mut text = stream.text();
    for root in roots.iter().flatten() {
        text = relative_to(&text, root);
    }
    let mut body = bound_observation(&mask_durations(&text), max_tokens);
    if !body.ends_with('\n') {
        body.push('\n');
    }
    format!("{name}:\n{body}")
}

/// `text` with the absolute workspace root written as `.` wherever it stands
/// as a whole path or a path's prefix (`/ws/src/x.rs` is `./src/x.rs`; `/ws2`
/// stays).
fn relative_to(text: &str, root: &Path) -> String {
    let root = root.to_string_lossy();
    let root = root.trim_end_matches('/');
    if root.is_empty() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(root) {
        let after = &rest[at + root.len()..];
        let whole = after.chars().next().is_none_or(|c| !(c.is_alphanumeric() || "-_.".contains(c)));
        out.push_str(&rest[..at]);
        out.push_str(if whole { "." } else { root });
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_name_counts_only_as_a_whole_word() {
        assert!(contains_word("FAILED tests/t.py::test_a - boom", "test_a"));
        assert!(!contains_word("FAILED tests/t.py::test_ab - boom", "test_a"));
        assert!(!contains_word("xtest_a", "test_a"));
        assert!(contains_word("test_a", "test_a"));
    }

    #[test]
    fn the_root_is_written_as_dot_only_as_a_whole_path_component() {
        let root = Path::new("/tmp/ws");
        assert_eq!(relative_to("error at /tmp/ws/src/a.rs:3", root), "error at ./src/a.rs:3");
        assert_eq!(relative_to("cwd: /tmp/ws\n", root), "cwd: .\n");
        assert_eq!(relative_to("/tmp/ws2/x and /tmp/ws.bak", root), "/tmp/ws2/x and /tmp/ws.bak");
    }
}
