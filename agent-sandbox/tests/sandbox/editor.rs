//! `FileEditor`: edits, refusals that write nothing, evidence hashes.

use agent_core::Editor;
use agent_core::edit::EditError;
use agent_core::plan::Action;
use agent_sandbox::FileEditor;
use sha2::{Digest, Sha256};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// A workspace root inside an outer directory, so escapes have somewhere to land.
struct Fixture {
    outer: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let outer = tempfile::tempdir().unwrap();
        std::fs::create_dir(outer.path().join("root")).unwrap();
        std::fs::create_dir(outer.path().join("root/.git")).unwrap();
        std::fs::write(outer.path().join("root/.git/config"), "[core]\n").unwrap();
        Self { outer }
    }
    fn root(&self) -> std::path::PathBuf {
        self.outer.path().join("root")
    }
    fn outer(&self) -> &Path {
        self.outer.path()
    }
}

fn write_file(path: &str, content: &str) -> Action {
    Action::WriteFile { path: path.into(), content: content.into() }
}

fn replace(path: &str, old: &str, new: &str) -> Action {
    Action::ReplaceBlock { path: path.into(), old: old.into(), new: new.into() }
}

fn sha_of_file(path: &Path) -> String {
    let digest = Sha256::digest(std::fs::read(path).unwrap());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every path under `dir`, to prove a refusal wrote nothing.
fn listing(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let meta = std::fs::symlink_metadata(e.path()).unwrap();
            let content = if meta.is_file() { std::fs::read(e.path()).unwrap() } else { Vec::new() };
            out.push((e.path().to_string_lossy().into_owned(), content));
            if meta.is_dir() {
                stack.push(e.path());
            }
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn write_file_creates_parents_and_reports_the_hash_of_the_bytes_on_disk() {
    let fx = Fixture::new();
    let change = FileEditor::new().apply(&fx.root(), &write_file("src/deep/lib.rs", "pub fn f() {}\n")).await.unwrap();
    let path = fx.root().join("src/deep/lib.rs");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "pub fn f() {}\n");
    assert_eq!(change.path, "src/deep/lib.rs");
    assert_eq!(change.change, "created");
    assert_eq!(change.sha256.as_deref(), Some(sha_of_file(&path).as_str()));
    // SHA-256 of the text as computed by `sha256sum`, independent of the code under test.
    assert_eq!(change.sha256.as_deref(), Some("16c2fca9e371936458d01576b4ca311c22d166a45539ccbc9104823d0b10db47"));

    let change = FileEditor::new().apply(&fx.root(), &write_file("src/deep/lib.rs", "")).await.unwrap();
    assert_eq!(change.change, "modified");
    assert_eq!(change.sha256.as_deref(), Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
}

#[tokio::test]
async fn rewriting_an_executable_keeps_it_executable() {
    let fx = Fixture::new();
    let path = fx.root().join("run.sh");
    std::fs::write(&path, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    FileEditor::new().apply(&fx.root(), &write_file("run.sh", "#!/bin/sh\necho hi\n")).await.unwrap();
    FileEditor::new().apply(&fx.root(), &replace("run.sh", "hi", "ho")).await.unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o755);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "#!/bin/sh\necho ho\n");
}

#[tokio::test]
async fn replace_block_needs_exactly_one_occurrence() {
    let fx = Fixture::new();
    let path = fx.root().join("m.rs");
    std::fs::write(&path, "let a = 1;\nlet b = 1;\n").unwrap();
    let editor = FileEditor::new();

    let err = editor.apply(&fx.root(), &replace("m.rs", "= 1;", "= 2;")).await.unwrap_err();
    assert!(matches!(err, EditError::BlockNotUnique { found: 2, .. }), "{err:?}");
    let err = editor.apply(&fx.root(), &replace("m.rs", "let c", "let d")).await.unwrap_err();
    assert!(matches!(err, EditError::BlockNotUnique { found: 0, .. }), "{err:?}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "let a = 1;\nlet b = 1;\n", "a refused edit wrote");

    let change = editor.apply(&fx.root(), &replace("m.rs", "let b = 1;", "let b = 22;")).await.unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "let a = 1;\nlet b = 22;\n");
    assert_eq!(change.change, "modified");
    assert_eq!(change.sha256.as_deref(), Some(sha_of_file(&path).as_str()));
}

#[tokio::test]
async fn replace_block_counts_overlapping_occurrences() {
    let fx = Fixture::new();
    std::fs::write(fx.root().join("o.txt"), "aaa").unwrap();
    let err = FileEditor::new().apply(&fx.root(), &replace("o.txt", "aa", "b")).await.unwrap_err();
    assert!(matches!(err, EditError::BlockNotUnique { found: 2, .. }), "{err:?}");
}

#[tokio::test]
async fn editing_or_deleting_a_missing_file_is_file_not_found() {
    let fx = Fixture::new();
    let err = FileEditor::new().apply(&fx.root(), &replace("nope.rs", "a", "b")).await.unwrap_err();
    assert!(matches!(err, EditError::FileNotFound { ref path } if path == "nope.rs"), "{err:?}");
    let err = FileEditor::new().apply(&fx.root(), &Action::DeleteFile { path: "nope.rs".into() }).await.unwrap_err();
    assert!(matches!(err, EditError::FileNotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn delete_file_removes_it_and_reports_no_hash() {
    let fx = Fixture::new();
    std::fs::write(fx.root().join("gone.txt"), "x").unwrap();
    let change = FileEditor::new().apply(&fx.root(), &Action::DeleteFile { path: "gone.txt".into() }).await.unwrap();
    assert_eq!((change.change.as_str(), change.sha256), ("deleted", None));
    assert!(!fx.root().join("gone.txt").exists());
}

#[tokio::test]
async fn a_command_is_not_an_edit() {
    let fx = Fixture::new();
    let action = Action::RunCommand { program: "touch".into(), args: vec!["x".into()] };
    let err = FileEditor::new().apply(&fx.root(), &action).await.unwrap_err();
    assert!(matches!(err, EditError::NotAnEdit), "{err:?}");
}

#[tokio::test]
async fn paths_leaving_the_root_are_refused_and_nothing_is_written() {
    let fx = Fixture::new();
    std::fs::write(fx.outer().join("outside.txt"), "keep").unwrap();
    std::os::unix::fs::symlink(fx.outer(), fx.root().join("escape")).unwrap();
    std::os::unix::fs::symlink(fx.outer().join("outside.txt"), fx.root().join("file-link")).unwrap();
    let abs = fx.outer().join("abs.txt").to_string_lossy().into_owned();
    let before = listing(fx.outer());
    let editor = FileEditor::new();

    let attempts = [
        write_file("../x.txt", "evil"),
        write_file("a/../../x.txt", "evil"),
        write_file(&abs, "evil"),
        write_file("escape/evil.txt", "evil"),
        write_file("escape/sub/evil.txt", "evil"),
        replace("file-link", "keep", "evil"),
        write_file("file-link", "evil"),
        Action::DeleteFile { path: "../outside.txt".into() },
        replace("/etc/passwd", "agentkit-never-present", "x"),
    ];
    for action in &attempts {
        let err = editor.apply(&fx.root(), action).await.unwrap_err();
        assert!(matches!(err, EditError::OutsideWorkspace { .. }), "{action:?}: {err:?}");
    }
    assert_eq!(listing(fx.outer()), before, "a refused edit changed the disk");
}

#[tokio::test]
async fn paths_into_dot_git_are_refused_and_nothing_is_written() {
    let fx = Fixture::new();
    std::os::unix::fs::symlink(fx.root().join(".git"), fx.root().join("gitlink")).unwrap();
    let before = listing(fx.outer());
    let editor = FileEditor::new();
    let attempts = [
        write_file(".git/config", "[core]\nhooksPath = /tmp\n"),
        write_file(".git/hooks/pre-commit", "#!/bin/sh\n"),
        write_file("sub/../.git/HEAD", "ref: x"),
        write_file("vendor/dep/.git/config", "x"),
        replace(".git/config", "[core]", "[evil]"),
        Action::DeleteFile { path: ".git/config".into() },
        write_file("gitlink/config", "x"),
    ];
    for action in &attempts {
        let err = editor.apply(&fx.root(), action).await.unwrap_err();
        assert!(matches!(err, EditError::InsideGitDir { .. }), "{action:?}: {err:?}");
    }
    assert_eq!(listing(fx.outer()), before, "a refused edit changed the disk");
}

#[tokio::test]
async fn a_symlink_inside_the_root_is_followed_and_kept() {
    let fx = Fixture::new();
    std::fs::write(fx.root().join("real.txt"), "one").unwrap();
    std::os::unix::fs::symlink("real.txt", fx.root().join("alias")).unwrap();
    FileEditor::new().apply(&fx.root(), &write_file("alias", "two")).await.unwrap();
    assert_eq!(std::fs::read_to_string(fx.root().join("real.txt")).unwrap(), "two");
    assert!(std::fs::symlink_metadata(fx.root().join("alias")).unwrap().file_type().is_symlink());
}
