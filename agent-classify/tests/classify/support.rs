//! Fixture helpers.

use agent_core::exec::RunOutput;
use agent_core::workspace::WorkspaceProfile;
use std::path::{Path, PathBuf};

pub(crate) use agent_testkit::{copy_fixture, line_of};

/// `agent-classify/tests/testdata`.
pub(crate) fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("testdata")
}

/// The source crate of a classifier fixture (read only).
pub(crate) fn crate_dir(name: &str) -> PathBuf {
    testdata().join("crates").join(name)
}

/// The captured output of `name` in `mode` (`human` or `json`), as the executor would report it.
pub(crate) fn captured(name: &str, mode: &str) -> RunOutput {
    let dir = testdata().join("captured");
    let read = |ext: &str| std::fs::read_to_string(dir.join(format!("{name}.{mode}.{ext}"))).unwrap();
    let exit: i32 = read("exit").trim().parse().unwrap();
    let command = match (name, mode) {
        ("clippy_lint", "json") => "cargo clippy --offline --all-targets --message-format=json -- -D warnings",
        ("clippy_lint", _) => "cargo clippy --offline --all-targets -- -D warnings",
        (_, "json") => "cargo test --offline --no-fail-fast --message-format=json",
        _ => "cargo test --offline --no-fail-fast",
    };
    RunOutput::from_text(command, exit, read("stdout"), read("stderr"))
}

/// A profile rooted at the fixture crate's source, so snippets can be read.
pub(crate) fn profile_of(name: &str) -> WorkspaceProfile {
    WorkspaceProfile::new(crate_dir(name))
}
