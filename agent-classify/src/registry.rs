//! Choosing a classifier: [`classifier_for`] by tool name, [`detect_tool`] from the output itself.

use crate::generic;
use crate::{CargoClassifier, GenericClassifier};
use agent_core::FailureClassifier;
use agent_core::exec::RunOutput;
use agent_core::failure::Classification;
use agent_core::workspace::WorkspaceProfile;
use std::sync::Arc;

/// A tool name no classifier is registered for ([`classifier_for`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown tool `{tool}`")]
pub struct UnknownTool {
    /// The name as given.
    pub tool: String,
}

/// Classifies output a host captured and hands in without the command that
/// printed it: `text` (stdout and stderr together), the exit code when it is
/// known, printed by `tool` — a [`classifier_for`] name, or `auto` to guess it
/// from the text with [`detect_tool`] (`generic` when nothing is recognised).
/// This is what `agentctl classify` does; when the library runs a command
/// itself, [`AutoClassifier`](crate::AutoClassifier) decides from the command.
///
/// ```
/// use agent_classify::classify_captured;
/// use agent_core::workspace::WorkspaceProfile;
///
/// let text = "error[E0425]: cannot find value `x` in this scope\n --> src/lib.rs:2:5\n";
/// let c = classify_captured("auto", text, Some(101), &WorkspaceProfile::new(".")).unwrap();
/// assert_eq!(c.tool, "cargo");
/// assert!(classify_captured("no-such-tool", text, None, &WorkspaceProfile::new(".")).is_err());
/// ```
pub fn classify_captured(
    tool: &str,
    text: &str,
    exit_code: Option<i32>,
    ws: &WorkspaceProfile,
) -> Result<Classification, UnknownTool> {
    let tool = if tool == "auto" { detect_tool(text).unwrap_or(GenericClassifier::TOOL) } else { tool };
    let classifier = classifier_for(tool).ok_or_else(|| UnknownTool { tool: tool.to_owned() })?;
    let mut run = RunOutput::from_text(format!("{tool} (captured)"), exit_code.unwrap_or(0), text, "");
    run.exit_code = exit_code;
    Ok(classifier.classify(&run, ws))
}

/// The classifier for `tool` (`cargo`, `generic`), or `None` when none is known.
///
/// `rustc`, `clippy` and `libtest` are accepted as names for the cargo classifier;
/// `nextest` (cargo-nextest, human or libtest-json) and `libtest-json`
/// (`cargo test -- -Z unstable-options --format json`) name the
/// [`NextestClassifier`](crate::NextestClassifier), `pytest-junit` the
/// [`PytestJunitClassifier`](crate::PytestJunitClassifier) (a `--junitxml` report),
/// `unittest` the [`UnittestClassifier`](crate::UnittestClassifier) (`python -m unittest`).
///
/// ```
/// let c = agent_classify::classifier_for("cargo").unwrap();
/// # let _ = c;
/// assert!(agent_classify::classifier_for("no-such-tool").is_none());
/// ```
pub fn classifier_for(tool: &str) -> Option<Arc<dyn FailureClassifier>> {
    match tool.trim().to_ascii_lowercase().as_str() {
        "cargo" | "rustc" | "clippy" | "cargo-clippy" | "libtest" | "cargo-test" => {
            Some(Arc::new(CargoClassifier::new()))
        }
        "nextest" | "cargo-nextest" | "cargo nextest" => Some(Arc::new(crate::NextestClassifier::new())),
        "libtest-json" | "libtest_json" => Some(Arc::new(crate::NextestClassifier::libtest_json())),
        "generic" => Some(Arc::new(GenericClassifier::new())),
        "tsc" | "typescript" => Some(Arc::new(crate::TscClassifier::new())),
        "jest" => Some(Arc::new(crate::JestClassifier::jest())),
        "vitest" => Some(Arc::new(crate::JestClassifier::vitest())),
        "node" | "node-test" | "node --test" => Some(Arc::new(crate::NodeTestClassifier::new())),
        "eslint" => Some(Arc::new(crate::EslintClassifier::new())),
        "pytest" | "py.test" => Some(Arc::new(crate::PytestClassifier::new())),
        "pytest-junit" | "pytest-junitxml" | "junit" | "junitxml" => {
            Some(Arc::new(crate::PytestJunitClassifier::new()))
        }
        "unittest" | "python-unittest" | "python -m unittest" => Some(Arc::new(crate::UnittestClassifier::new())),
        "mypy" => Some(Arc::new(crate::MypyClassifier::new())),
        "ruff" => Some(Arc::new(crate::RuffClassifier::new())),
        "go" | "go-test" | "go test" | "go-vet" | "go vet" | "go build" => Some(Arc::new(crate::GoClassifier::new())),
        _ => None,
    }
}

/// Guesses which tool printed `text`: `nextest` for cargo-nextest's output,
/// `libtest-json` for libtest JSON events, `cargo` for other cargo, rustc or libtest output,
/// `pytest-junit` for a JUnit XML report written by pytest, `unittest` for `python -m unittest`,
/// `generic` for `file:line:col: error:` lines, `None` otherwise.
///
/// ```
/// use agent_classify::detect_tool;
/// assert_eq!(detect_tool("test result: ok. 2 passed; 0 failed; 0 ignored"), Some("cargo"));
/// assert_eq!(detect_tool("main.c:3:5: error: expected ';'"), Some("generic"));
/// assert_eq!(detect_tool("hello"), None);
/// ```
pub fn detect_tool(text: &str) -> Option<&'static str> {
    // nextest and libtest JSON runs also print cargo's own lines (`Running unittests`): look for them first.
    if crate::nextest::detect(text) {
        return Some(crate::NextestClassifier::TOOL);
    }
    if text.lines().any(crate::nextest::is_json_event) {
        return Some(crate::NextestClassifier::LIBTEST_JSON);
    }
    const CARGO_MARKERS: &[&str] = &[
        "\"reason\":\"compiler-message\"",
        "\"reason\":\"compiler-artifact\"",
        "\"reason\":\"build-finished\"",
        "\"$message_type\":\"diagnostic\"",
        "test result: ",
        "error: could not compile",
        "error: aborting due to",
        "rustc --explain",
        "Running unittests",
        "Doc-tests ",
        "error: could not load Cargo configuration",
        "error: failed to parse manifest at",
        "error: failed to load manifest for",
    ];
    if CARGO_MARKERS.iter().any(|m| text.contains(m)) {
        return Some(CargoClassifier::TOOL);
    }
    for line in text.lines() {
        let t = line.trim_start();
        let rustc_header = t.starts_with("error[E") || t.starts_with("warning[E");
        let rust_location = t.starts_with("--> ") && (t.contains(".rs:") || t.contains("Cargo.toml:"));
        let libtest = (t.starts_with("test ") && (t.ends_with(" ... ok") || t.ends_with(" ... FAILED")))
            || (t.starts_with("running ") && (t.ends_with(" tests") || t.ends_with(" test")))
            || (t.starts_with("Compiling ") && t.contains(" v"));
        if rustc_header || rust_location || libtest {
            return Some(CargoClassifier::TOOL);
        }
    }
    if let Some(tool) = crate::jest::detect_js(text) {
        return Some(tool);
    }
    if let Some(tool) = crate::python::detect(text) {
        return Some(tool);
    }
    if crate::go::detect(text) {
        return Some(crate::GoClassifier::TOOL);
    }
    if text.lines().any(|l| generic::error_line(l).is_some()) {
        return Some(GenericClassifier::TOOL);
    }
    None
}
