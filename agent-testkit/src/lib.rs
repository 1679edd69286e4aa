//! `agent-testkit`: fixture helpers the workspace's integration tests share
//! (a dev-dependency only, never published). Fixtures are copied to a
//! temporary directory before a test changes them, the way cargo-mutants'
//! testdata trees are; git runs with a throwaway identity.
//!
//! Every helper panics with the failing step: in a test, a panic is the
//! failure report.
//!
//! ```
//! let (tmp, repo) = agent_testkit::init_repo_in_temp();
//! agent_testkit::write(&repo, "src/lib.rs", b"pub fn f() {}\n");
//! agent_testkit::git(&repo, &["add", "-A"]);
//! agent_testkit::git(&repo, &["commit", "-qm", "first"]);
//! assert_eq!(agent_testkit::git(&repo, &["ls-files"]), "src/lib.rs\n");
//! # drop(tmp);
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;

/// Copies the fixture tree `src` (without its `target` directories) into a
/// fresh temporary directory; returns the guard and the copy's path, named
/// like `src`.
pub fn copy_fixture(src: &Path) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let dst = tmp.path().join(src.file_name().expect("a fixture directory with a name"));
    copy_dir(src, &dst);
    (tmp, dst)
}

/// Copies `src` to `dst` recursively, leaving out directories named `target`.
pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap_or_else(|e| panic!("creating {}: {e}", dst.display()));
    for entry in std::fs::read_dir(src).unwrap_or_else(|e| panic!("reading {}: {e}", src.display())) {
        let entry = entry.expect("a directory entry");
        let to = dst.join(entry.file_name());
        if entry.file_type().expect("a file type").is_dir() {
            if entry.file_name() != "target" {
                copy_dir(&entry.path(), &to);
            }
        } else {
            std::fs::copy(entry.path(), &to).unwrap_or_else(|e| panic!("copying {}: {e}", entry.path().display()));
        }
    }
}

/// Runs git in `dir` with a throwaway identity and `main` as the default
/// branch, away from the system config and from any `GIT_DIR`,
/// `GIT_WORK_TREE` or `GIT_INDEX_FILE` of the environment; returns stdout,
/// panics with stderr on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A fresh git repository: the temporary directory is the repository.
pub fn init_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    git(dir.path(), &["init", "-q"]);
    dir
}

/// A fresh git repository in a subdirectory `repo` of a temporary directory
/// (so the repository's path is canonical and has a stable name).
pub fn init_repo_in_temp() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let repo = tmp.path().join("repo");
    std::fs::create_dir_all(&repo).expect("the repository directory");
    git(&repo, &["init", "-q"]);
    (tmp, repo)
}

/// Writes `content` to `root/rel`, creating its directories.
pub fn write(root: &Path, rel: &str, content: &[u8]) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("a parent directory")).expect("mkdir");
    std::fs::write(&path, content).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

/// The 1-based number of the first line of `file` that contains `needle`,
/// read from the fixture itself (so an expectation never comes from the code
/// under test).
pub fn line_of(file: &Path, needle: &str) -> u32 {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
    let idx = text.lines().position(|l| l.contains(needle)).unwrap_or_else(|| panic!("{needle} not in {file:?}"));
    u32::try_from(idx + 1).expect("a line number that fits u32")
}

/// The `node_modules` directory holding jest, vitest and eslint for tests
/// that run them for real: `$AGENTKIT_JSTOOLS/node_modules` (default
/// `/tmp/jstools/node_modules`), where `npm install --prefix DIR jest@30
/// vitest@3 eslint@9` put them (`.ci/run` does on a fresh machine). Panics,
/// naming the command to run, when one is missing: a test never skips silently.
pub fn js_node_modules() -> PathBuf {
    let dir = std::env::var_os("AGENTKIT_JSTOOLS").map_or_else(|| PathBuf::from("/tmp/jstools"), PathBuf::from);
    let modules = dir.join("node_modules");
    for tool in ["jest", "vitest", "eslint"] {
        assert!(
            modules.join(".bin").join(tool).exists(),
            "{tool} is not installed in {dir}: run `npm install --prefix {dir} jest@30 vitest@3 eslint@9` (.ci/run does)",
            dir = dir.display()
        );
    }
    modules
}
