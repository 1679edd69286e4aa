//! Fixture helpers.

use agent_core::exec::RunOutput;
use agent_core::workspace::WorkspaceProfile;
use std::path::{Path, PathBuf};

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

/// Copies a fixture tree into a fresh temporary directory; returns the guard and the copy's path.
pub(crate) fn copy_fixture(src: &Path) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dst = tmp.path().join(src.file_name().unwrap());
    copy_dir(src, &dst);
    (tmp, dst)
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let to = dst.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "target" {
                copy_dir(&entry.path(), &to);
            }
        } else {
            std::fs::copy(entry.path(), &to).unwrap();
        }
    }
}

/// The 1-based line of the first line of `file` containing `needle` (read from the fixture, not the code under test).
pub(crate) fn line_of(file: &Path, needle: &str) -> u32 {
    let text = std::fs::read_to_string(file).unwrap();
    let idx = text.lines().position(|l| l.contains(needle)).unwrap_or_else(|| panic!("{needle} not in {file:?}"));
    u32::try_from(idx + 1).unwrap()
}
