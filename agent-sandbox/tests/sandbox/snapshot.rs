//! `GitSnapshotter`: restore fidelity and leaving the user's git state alone.

use crate::common::{Entry, git, init_repo, set_exec, tree_state, write};
use agent_core::Snapshotter;
use agent_core::snapshot::{SnapshotError, SnapshotId};
use agent_sandbox::GitSnapshotter;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Everything about the user's git state the snapshotter must not change.
#[derive(Debug, PartialEq, Eq)]
struct UserGitState {
    status: String,
    index: Option<Vec<u8>>,
    head: String,
    branches: String,
    stash: String,
}

fn user_git_state(root: &Path) -> UserGitState {
    // The index first: a plain `git status` may refresh and rewrite it.
    let index = std::fs::read(root.join(".git/index")).ok();
    UserGitState {
        status: git(root, &["--no-optional-locks", "status", "--porcelain=v1", "--untracked-files=all"]),
        index,
        head: std::fs::read_to_string(root.join(".git/HEAD")).unwrap(),
        branches: git(root, &["for-each-ref", "refs/heads", "refs/tags"]),
        stash: git(root, &["stash", "list"]),
    }
}

/// A repository with a commit: text files, an executable script, a symlink,
/// a `.gitignore` for `target/` and `*.log`.
fn committed_repo() -> tempfile::TempDir {
    let dir = init_repo();
    let root = dir.path();
    write(root, ".gitignore", b"target/\n*.log\n");
    write(root, "a.txt", b"alpha\n");
    write(root, "dir/b.txt", b"beta\n");
    write(root, "dir/deep/c.txt", b"gamma\n");
    write(root, "script.sh", b"#!/bin/sh\necho hi\n");
    set_exec(root, "script.sh", true);
    std::os::unix::fs::symlink("a.txt", root.join("link")).unwrap();
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "init"]);
    dir
}

#[tokio::test]
async fn restore_brings_back_modified_deleted_and_untracked_files_and_removes_new_ones() {
    let dir = committed_repo();
    let root = dir.path();
    // Dirty user work from before the snapshot: unstaged, staged, untracked.
    write(root, "a.txt", b"alpha, edited by the user\n");
    write(root, "dir/b.txt", b"beta, staged by the user\n");
    git(root, &["add", "dir/b.txt"]);
    write(root, "untracked.txt", b"user notes\n");
    write(root, "notes/todo.md", b"- [ ] x\n");
    let before = tree_state(root);
    let git_before = user_git_state(root);

    let snaps = GitSnapshotter::new();
    let id = snaps.snapshot(root).await.unwrap();
    assert_eq!(user_git_state(root), git_before, "taking a snapshot changed the user's git state");

    // The agent's attempt.
    write(root, "a.txt", b"agent rewrote this\n");
    std::fs::remove_file(root.join("dir/b.txt")).unwrap();
    std::fs::remove_file(root.join("untracked.txt")).unwrap();
    std::fs::remove_dir_all(root.join("notes")).unwrap();
    std::fs::remove_dir_all(root.join("dir/deep")).unwrap();
    write(root, "new.txt", b"new file\n");
    write(root, "newdir/sub/x.rs", b"fn main() {}\n");
    std::fs::create_dir_all(root.join("emptynew/inner")).unwrap();
    set_exec(root, "script.sh", false);
    std::fs::remove_file(root.join("link")).unwrap();
    write(root, "link", b"now a regular file\n");
    git(root, &["add", "new.txt"]);

    snaps.restore(root, &id).await.unwrap();

    assert_eq!(tree_state(root), before);
    assert_eq!(user_git_state(root), git_before);
}

#[tokio::test]
async fn restore_keeps_the_executable_bit_and_symlinks() {
    let dir = committed_repo();
    let root = dir.path();
    std::os::unix::fs::symlink("dir/b.txt", root.join("untracked-link")).unwrap();
    write(root, "tool", b"#!/bin/sh\n");
    set_exec(root, "tool", true);
    let before = tree_state(root);
    let snaps = GitSnapshotter::new();
    let id = snaps.snapshot(root).await.unwrap();

    set_exec(root, "tool", false);
    set_exec(root, "a.txt", true);
    std::fs::remove_file(root.join("untracked-link")).unwrap();
    std::fs::remove_file(root.join("link")).unwrap();
    std::os::unix::fs::symlink("dir/b.txt", root.join("link")).unwrap();
    snaps.restore(root, &id).await.unwrap();

    let after = tree_state(root);
    assert_eq!(after["tool"], Entry::File { bytes: b"#!/bin/sh\n".to_vec(), executable: true });
    assert_eq!(after["link"], Entry::Symlink("a.txt".into()));
    assert_eq!(after, before);
}

#[tokio::test]
async fn ignored_files_are_left_alone_even_when_the_gitignore_is_reverted() {
    let dir = committed_repo();
    let root = dir.path();
    write(root, "target/debug/app", b"binary v1");
    write(root, "build.log", b"log v1");
    let snaps = GitSnapshotter::new();
    let id = snaps.snapshot(root).await.unwrap();

    // The agent un-ignores target/ and touches ignored files.
    write(root, ".gitignore", b"*.log\n");
    write(root, "target/debug/app", b"binary v2");
    write(root, "target/new-artifact", b"artifact");
    write(root, "build.log", b"log v2");
    snaps.restore(root, &id).await.unwrap();

    assert_eq!(std::fs::read(root.join(".gitignore")).unwrap(), b"target/\n*.log\n");
    assert_eq!(std::fs::read(root.join("target/debug/app")).unwrap(), b"binary v2");
    assert_eq!(std::fs::read(root.join("target/new-artifact")).unwrap(), b"artifact");
    assert_eq!(std::fs::read(root.join("build.log")).unwrap(), b"log v2");
}

#[tokio::test]
async fn restore_does_not_rewrite_unchanged_files() {
    let dir = committed_repo();
    let root = dir.path();
    let snaps = GitSnapshotter::new();
    let id = snaps.snapshot(root).await.unwrap();
    let inode_before = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(root.join("dir/b.txt")).unwrap());
    write(root, "a.txt", b"changed\n");
    snaps.restore(root, &id).await.unwrap();
    let inode_after = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(root.join("dir/b.txt")).unwrap());
    assert_eq!(inode_before, inode_after, "an unchanged file was rewritten");
    assert_eq!(std::fs::read(root.join("a.txt")).unwrap(), b"alpha\n");
}

#[tokio::test]
async fn snapshots_work_in_a_repository_without_commits() {
    let dir = init_repo();
    let root = dir.path();
    write(root, "a.txt", b"first\n");
    write(root, "src/main.rs", b"fn main() {}\n");
    git(root, &["add", "a.txt"]);
    let before = tree_state(root);
    let git_before = user_git_state(root);
    let snaps = GitSnapshotter::new();
    let id = snaps.snapshot(root).await.unwrap();

    write(root, "a.txt", b"second\n");
    std::fs::remove_file(root.join("src/main.rs")).unwrap();
    write(root, "extra/file", b"x");
    snaps.restore(root, &id).await.unwrap();

    assert_eq!(tree_state(root), before);
    assert_eq!(user_git_state(root), git_before);
    let head = std::process::Command::new("git")
        .current_dir(root)
        .args(["rev-parse", "-q", "--verify", "HEAD"])
        .output()
        .unwrap();
    assert!(!head.status.success(), "a snapshot created a commit on HEAD");
}

#[tokio::test]
async fn a_repository_without_an_index_gets_none_back() {
    let dir = init_repo();
    let root = dir.path();
    write(root, "a.txt", b"x");
    assert!(!root.join(".git/index").exists());
    let snaps = GitSnapshotter::new();
    let id = snaps.snapshot(root).await.unwrap();
    git(root, &["add", "a.txt"]);
    write(root, "a.txt", b"y");
    snaps.restore(root, &id).await.unwrap();
    assert!(!root.join(".git/index").exists());
    assert_eq!(std::fs::read(root.join("a.txt")).unwrap(), b"x");
}

#[tokio::test]
async fn a_discarded_snapshot_cannot_be_restored() {
    let dir = committed_repo();
    let root = dir.path();
    let snaps = GitSnapshotter::new();
    let id = snaps.snapshot(root).await.unwrap();
    assert!(git(root, &["for-each-ref", "refs/agentkit"]).contains(id.as_str()));
    snaps.discard(root, &id).await.unwrap();

    assert!(git(root, &["for-each-ref", "refs/agentkit"]).is_empty(), "the ref survived discard");
    let err = snaps.restore(root, &id).await.unwrap_err();
    assert!(matches!(err, SnapshotError::NotFound { .. }), "{err:?}");
    let err = snaps.discard(root, &id).await.unwrap_err();
    assert!(matches!(err, SnapshotError::NotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn unknown_or_malformed_ids_are_not_found() {
    let dir = committed_repo();
    let root = dir.path();
    let snaps = GitSnapshotter::new();
    let head = git(root, &["rev-parse", "HEAD"]).trim().to_owned();
    for id in [head.as_str(), "0123456789abcdef0123456789abcdef01234567", "../../etc/passwd", "HEAD"] {
        let err = snaps.restore(root, &SnapshotId::new(id)).await.unwrap_err();
        assert!(matches!(err, SnapshotError::NotFound { .. }), "{id}: {err:?}");
    }
}

#[tokio::test]
async fn two_snapshots_of_the_same_state_are_distinct() {
    let dir = committed_repo();
    let root = dir.path();
    let snaps = GitSnapshotter::new();
    let a = snaps.snapshot(root).await.unwrap();
    let b = snaps.snapshot(root).await.unwrap();
    assert_ne!(a, b);
    snaps.discard(root, &a).await.unwrap();
    write(root, "a.txt", b"changed");
    snaps.restore(root, &b).await.unwrap();
    assert_eq!(std::fs::read(root.join("a.txt")).unwrap(), b"alpha\n");
}

#[tokio::test]
async fn a_directory_that_is_not_a_repository_is_unsupported() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.txt", b"x");
    let err = GitSnapshotter::new().snapshot(dir.path()).await.unwrap_err();
    assert!(matches!(err, SnapshotError::Unsupported { .. }), "{err:?}");
}

#[tokio::test]
async fn a_subdirectory_of_a_repository_is_unsupported() {
    let dir = committed_repo();
    let err = GitSnapshotter::new().snapshot(&dir.path().join("dir")).await.unwrap_err();
    assert!(matches!(err, SnapshotError::Unsupported { .. }), "{err:?}");
}

#[tokio::test]
async fn a_nested_repository_is_left_alone() {
    let dir = committed_repo();
    let root = dir.path();
    let inner = root.join("vendor/inner");
    std::fs::create_dir_all(&inner).unwrap();
    git(&inner, &["init", "-q"]);
    write(&inner, "lib.txt", b"inner v1\n");
    git(&inner, &["add", "-A"]);
    git(&inner, &["commit", "-q", "-m", "inner"]);
    let inner_head = git(&inner, &["rev-parse", "HEAD"]);
    let snaps = GitSnapshotter::new();
    let id = snaps.snapshot(root).await.unwrap();

    write(&inner, "lib.txt", b"inner v2\n");
    write(root, "a.txt", b"outer changed\n");
    snaps.restore(root, &id).await.unwrap();

    assert_eq!(std::fs::read(root.join("a.txt")).unwrap(), b"alpha\n");
    assert_eq!(std::fs::read(inner.join("lib.txt")).unwrap(), b"inner v2\n", "restore went into the nested repo");
    assert_eq!(git(&inner, &["rev-parse", "HEAD"]), inner_head);
}

#[tokio::test]
async fn the_users_stash_and_branches_survive_snapshot_and_restore() {
    let dir = committed_repo();
    let root = dir.path();
    git(root, &["branch", "feature"]);
    write(root, "a.txt", b"stashed change\n");
    git(root, &["stash", "push", "-q"]);
    write(root, "a.txt", b"working change\n");
    let git_before = user_git_state(root);
    assert!(!git_before.stash.is_empty());
    let snaps = GitSnapshotter::new();
    let id = snaps.snapshot(root).await.unwrap();
    write(root, "a.txt", b"agent change\n");
    snaps.restore(root, &id).await.unwrap();
    assert_eq!(user_git_state(root), git_before);
    assert_eq!(std::fs::read(root.join("a.txt")).unwrap(), b"working change\n");
}

#[tokio::test]
async fn restore_never_writes_through_a_symlink_that_replaced_a_directory() {
    let dir = committed_repo();
    let root = dir.path();
    let outside = tempfile::tempdir().unwrap();
    let before = tree_state(root);
    let snaps = GitSnapshotter::new();
    let id = snaps.snapshot(root).await.unwrap();

    std::fs::remove_dir_all(root.join("dir/deep")).unwrap();
    std::os::unix::fs::symlink(outside.path(), root.join("dir/deep")).unwrap();
    snaps.restore(root, &id).await.unwrap();

    assert_eq!(tree_state(root), before);
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0, "restore wrote outside the tree");
}

#[tokio::test]
async fn a_directory_where_a_file_was_and_an_empty_directory_are_restored() {
    let dir = committed_repo();
    let root = dir.path();
    std::fs::create_dir_all(root.join("empty/inner")).unwrap();
    let before = tree_state(root);
    let snaps = GitSnapshotter::new();
    let id = snaps.snapshot(root).await.unwrap();

    std::fs::remove_file(root.join("a.txt")).unwrap();
    write(root, "a.txt/nested.txt", b"agent\n");
    std::fs::remove_dir_all(root.join("empty")).unwrap();
    snaps.restore(root, &id).await.unwrap();

    assert_eq!(tree_state(root), before);
}

/// Puts the mtime of `rel` back to `mtime` (like `touch -d`); the ctime still moves.
fn put_mtime_back(root: &Path, rel: &str, mtime: std::time::SystemTime) {
    let dir = std::fs::File::open(root.join(rel)).unwrap();
    dir.set_modified(mtime).unwrap();
    assert_eq!(std::fs::metadata(root.join(rel)).unwrap().modified().unwrap(), mtime);
}

fn mtime(root: &Path, rel: &str) -> std::time::SystemTime {
    std::fs::metadata(root.join(rel)).unwrap().modified().unwrap()
}

/// A tree whose directories all have an mtime older than the second the
/// snapshot is taken in, so the restore trusts its directory stat cache
/// (nothing is racily clean): only directories whose stat changed are read.
async fn settled_snapshot(snaps: &GitSnapshotter) -> (tempfile::TempDir, SnapshotId) {
    let dir = committed_repo();
    let root = dir.path();
    write(root, "notes/todo.md", b"untracked notes\n"); // a wholly untracked directory
    write(root, "logs/old.log", b"ignored\n"); // a directory holding only ignored files
    std::fs::create_dir_all(root.join("empty/inner")).unwrap(); // empty directories
    std::thread::sleep(std::time::Duration::from_millis(1_100));
    let id = snaps.snapshot(root).await.unwrap();
    (dir, id)
}

#[tokio::test]
async fn new_files_are_found_in_directories_whose_mtime_was_put_back_by_hand() {
    let snaps = GitSnapshotter::new();
    let (dir, id) = settled_snapshot(&snaps).await;
    let root = dir.path();
    let before = tree_state(root);
    // The agent creates files in every kind of directory the snapshot saw,
    // and each time puts the directory's mtime back as `touch -d` would.
    for (parent, file) in [
        ("", "top.txt"),
        ("dir/deep", "new.txt"),
        ("notes", "more.md"),
        ("logs", "not-ignored.txt"),
        ("empty/inner", "x.txt"),
    ] {
        let old = mtime(root, if parent.is_empty() { "." } else { parent });
        let rel = if parent.is_empty() { file.to_owned() } else { format!("{parent}/{file}") };
        write(root, &rel, b"created by the agent\n");
        put_mtime_back(root, if parent.is_empty() { "." } else { parent }, old);
    }
    // A new directory tree under an existing directory whose mtime is put back.
    let old = mtime(root, "dir");
    write(root, "dir/n1/n2/f.rs", b"fn f() {}\n");
    std::fs::create_dir_all(root.join("dir/n1/empty")).unwrap();
    put_mtime_back(root, "dir", old);
    // An ignored file created the same way stays.
    let old = mtime(root, "dir/deep");
    write(root, "dir/deep/trace.log", b"ignored\n");
    put_mtime_back(root, "dir/deep", old);

    snaps.restore(root, &id).await.unwrap();

    let mut expected = before;
    expected.insert("dir/deep/trace.log".into(), Entry::File { bytes: b"ignored\n".to_vec(), executable: false });
    assert_eq!(tree_state(root), expected);
}

#[tokio::test]
async fn a_second_restore_of_the_same_snapshot_still_finds_new_files() {
    let snaps = GitSnapshotter::new();
    let (dir, id) = settled_snapshot(&snaps).await;
    let root = dir.path();
    let before = tree_state(root);
    write(root, "dir/deep/one.txt", b"1\n");
    write(root, "a.txt", b"edited\n");
    snaps.restore(root, &id).await.unwrap();
    assert_eq!(tree_state(root), before);
    // The first restore changed directories; a later edit must still be seen,
    // also in a directory the first restore did not touch.
    std::thread::sleep(std::time::Duration::from_millis(1_100));
    write(root, "dir/deep/two.txt", b"2\n");
    let old = mtime(root, "notes");
    write(root, "notes/three.txt", b"3\n");
    put_mtime_back(root, "notes", old);
    snaps.restore(root, &id).await.unwrap();
    assert_eq!(tree_state(root), before);
}

#[tokio::test]
async fn a_new_file_in_the_second_of_the_snapshot_is_found() {
    // No settling: every directory is racily clean and read at restore.
    let dir = committed_repo();
    let root = dir.path();
    let snaps = GitSnapshotter::new();
    let id = snaps.snapshot(root).await.unwrap();
    let before = tree_state(root);
    let old = mtime(root, "dir");
    write(root, "dir/same-second.txt", b"x\n");
    put_mtime_back(root, "dir", old);
    snaps.restore(root, &id).await.unwrap();
    assert_eq!(tree_state(root), before);
}

/// The second of `t` since the epoch.
fn whole_second(t: std::time::SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// A file staged and then rewritten with other bytes of the same size, all
/// in the second the user's index was written, keeps its index entry's stat
/// (same inode, size, and mtime and ctime to the second). Git's racy-clean
/// rule reads it again; the snapshot, taken a second later, must too.
#[tokio::test]
async fn a_file_rewritten_in_the_second_its_index_entry_was_written_is_read_again() {
    let (dir, root) = loop {
        let dir = init_repo();
        let root = dir.path().to_path_buf();
        write(&root, "d/f.bin", b"first bytes, sixteen");
        git(&root, &["add", "-A"]);
        write(&root, "d/f.bin", b"other bytes, sixteen");
        let meta = std::fs::metadata(root.join("d/f.bin")).unwrap();
        let index = std::fs::metadata(root.join(".git/index")).unwrap().modified().unwrap();
        let staged = git(&root, &["ls-files", "--debug", "d/f.bin"]);
        let staged_ctime = staged.lines().find_map(|l| l.trim().strip_prefix("ctime: ")).unwrap();
        // Retry in the rare case a second boundary fell between the steps.
        let same_second = staged_ctime.split(':').next() == Some(&meta.ctime().to_string())
            && whole_second(meta.modified().unwrap()) == whole_second(index);
        if same_second {
            break (dir, root);
        }
    };
    let index = std::fs::metadata(root.join(".git/index")).unwrap().modified().unwrap();
    while whole_second(std::time::SystemTime::now()) == whole_second(index) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let id = GitSnapshotter::new().snapshot(&root).await.unwrap();
    let blob = git(&root, &["cat-file", "-p", &format!("{}:d/f.bin", id.as_str())]);
    assert_eq!(blob, "other bytes, sixteen", "the snapshot holds the bytes on disk, not the staged ones");
    let (expected, tree) = git_tree_and_snapshot_tree(&root, &id);
    assert_eq!(tree, expected, "the snapshot's tree is what `git add -A` records");
    drop(dir);
}

/// The tree `git add -A` would record for the working tree now (through a
/// copy of the user's index), and the tree of snapshot `id`.
pub(crate) fn git_tree_and_snapshot_tree(root: &Path, id: &SnapshotId) -> (String, String) {
    let tmp = tempfile::tempdir().unwrap();
    let index = tmp.path().join("index");
    if root.join(".git/index").exists() {
        // The copy keeps the index's mtime: git trusts an entry's stat only
        // when it is older than the index file (its racy-clean rule), so a
        // copy made a second later would vouch for a file rewritten in the
        // second the index was written, and the expected tree would hold
        // the old bytes (seen in CI).
        std::fs::copy(root.join(".git/index"), &index).unwrap();
        let mtime = std::fs::metadata(root.join(".git/index")).and_then(|m| m.modified()).unwrap();
        std::fs::File::options().write(true).open(&index).and_then(|f| f.set_modified(mtime)).unwrap();
    }
    let run = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .current_dir(root)
            .env("GIT_INDEX_FILE", &index)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    // An untracked nested repository is not recorded (`git add` would add it as a gitlink).
    if root.join("sub/.git").exists() {
        run(&["add", "-A", "--", ".", ":(exclude)sub"]);
    } else {
        run(&["add", "-A"]);
    }
    let tree = run(&["write-tree"]);
    (tree, git(root, &["rev-parse", &format!("{}^{{tree}}", id.as_str())]).trim().to_owned())
}

/// The paths of snapshot `id`, and what git itself sees as tracked or
/// untracked-not-ignored on disk now; a snapshot must hold exactly those.
fn snapshot_and_git_paths(root: &Path, id: &SnapshotId) -> (Vec<String>, Vec<String>) {
    let listed = git(root, &["ls-tree", "-r", "-z", "--name-only", id.as_str()]);
    let snap: Vec<String> = listed.split('\0').filter(|p| !p.is_empty()).map(str::to_owned).collect();
    let seen = git(root, &["ls-files", "-z", "-co", "--exclude-standard"]);
    let mut on_disk: Vec<String> = seen
        .split('\0')
        .filter(|p| !p.is_empty() && !p.ends_with('/') && std::fs::symlink_metadata(root.join(p)).is_ok())
        .map(str::to_owned)
        .collect();
    on_disk.sort();
    on_disk.dedup();
    let (expected, tree) = git_tree_and_snapshot_tree(root, id);
    assert_eq!(tree, expected, "the snapshot's tree is not what `git add -A` records");
    (snap, on_disk)
}

#[tokio::test]
async fn a_later_snapshot_sees_what_changed_behind_the_previous_snapshots_walk() {
    let snaps = GitSnapshotter::new();
    let (dir, first) = settled_snapshot(&snaps).await;
    let root = dir.path();
    write(root, "sub/.keep", b"");
    git(&root.join("sub"), &["init", "-q"]);
    write(root, "sub/inner.txt", b"in a nested repository\n");
    write(root, "dir/deep/was.log", b"ignored until the rule changes\n");
    std::thread::sleep(std::time::Duration::from_millis(1_100));
    let second = snaps.snapshot(root).await.unwrap();
    let (snap, on_disk) = snapshot_and_git_paths(root, &second);
    assert_eq!(snap, on_disk);
    assert!(!snap.iter().any(|p| p.starts_with("sub/") || p.ends_with(".log")));

    // Behind the cached walk: new files in directories whose mtime is put
    // back, an untracked file deleted.
    for (parent, file) in [("dir/deep", "new.txt"), ("notes", "more.md"), ("logs", "x.txt"), ("empty/inner", "y.txt")] {
        let old = mtime(root, parent);
        write(root, &format!("{parent}/{file}"), b"new\n");
        put_mtime_back(root, parent, old);
    }
    std::fs::remove_file(root.join("notes/todo.md")).unwrap();
    let third = snaps.snapshot(root).await.unwrap();
    let (snap, on_disk) = snapshot_and_git_paths(root, &third);
    assert_eq!(snap, on_disk);
    for path in ["dir/deep/new.txt", "notes/more.md", "logs/x.txt", "empty/inner/y.txt"] {
        assert!(snap.iter().any(|p| p == path), "{path} missing from {snap:?}");
    }
    assert!(!snap.iter().any(|p| p == "notes/todo.md"));

    let mut ids = vec![first, second, third];
    let mut check = async |must_hold: &[&str], must_lack: &[&str]| {
        let id = snaps.snapshot(root).await.unwrap();
        let (snap, on_disk) = snapshot_and_git_paths(root, &id);
        assert_eq!(snap, on_disk);
        for path in must_hold {
            assert!(snap.iter().any(|p| p == path), "{path} missing from {snap:?}");
        }
        for path in must_lack {
            assert!(!snap.iter().any(|p| p == path), "{path} in {snap:?}");
        }
        ids.push(id);
    };
    // A tracked `.gitignore` edited in place, its mtime put back.
    let old = mtime(root, ".gitignore");
    write(root, ".gitignore", b"target/\n*.txt.log\n");
    put_mtime_back(root, ".gitignore", old);
    check(&["dir/deep/was.log"], &[]).await;
    // An untracked `.gitignore` appearing in a directory.
    write(root, "dir/deep/.gitignore", b"new.txt\n");
    check(&["dir/deep/.gitignore"], &["dir/deep/new.txt"]).await;
    // A path unstaged: now untracked, still recorded.
    git(root, &["rm", "-q", "--cached", "dir/b.txt"]);
    check(&["dir/b.txt"], &[]).await;
    // A nested repository that stops being one.
    std::fs::remove_dir_all(root.join("sub/.git")).unwrap();
    check(&["sub/inner.txt"], &[]).await;
    for id in ids {
        snaps.discard(root, &id).await.unwrap();
    }
}

#[tokio::test]
async fn restore_never_reads_a_known_directory_through_a_symlink_that_replaced_it() {
    let snaps = GitSnapshotter::new();
    let (dir, id) = settled_snapshot(&snaps).await;
    let root = dir.path();
    let outside = tempfile::tempdir().unwrap();
    write(outside.path(), "victim.txt", b"not part of the repository\n");
    write(outside.path(), "inner/victim.txt", b"not part of the repository\n");
    // `logs` (only ignored content) and `empty` (above the empty `inner`)
    // become symlinks to a directory outside the working tree, which has an
    // `inner` of its own.
    std::fs::remove_dir_all(root.join("logs")).unwrap();
    std::os::unix::fs::symlink(outside.path(), root.join("logs")).unwrap();
    std::fs::remove_dir_all(root.join("empty")).unwrap();
    std::os::unix::fs::symlink(outside.path(), root.join("empty")).unwrap();
    snaps.restore(root, &id).await.unwrap();
    assert!(outside.path().join("victim.txt").exists());
    assert!(outside.path().join("inner/victim.txt").exists());
    // The symlinks are new non-ignored entries: removed; the snapshot's
    // directories are back as real directories.
    for path in ["logs", "empty", "empty/inner"] {
        let meta = std::fs::symlink_metadata(root.join(path)).unwrap();
        assert!(meta.is_dir(), "{path} is not a real directory");
    }
    assert_eq!(std::fs::read(root.join("a.txt")).unwrap(), b"alpha\n");
}
