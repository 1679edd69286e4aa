//! `GitSnapshotter`: size guards, crash recovery, submodules.

use crate::common::{git, init_repo, tree_state, write};
use agent_core::Snapshotter;
use agent_sandbox::{GitSnapshotter, GuardReason};
use std::path::Path;

fn committed_repo() -> tempfile::TempDir {
    let dir = init_repo();
    let root = dir.path();
    write(root, ".gitignore", b"*.log\n");
    write(root, "a.txt", b"alpha\n");
    write(root, "dir/b.txt", b"beta\n");
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "init"]);
    dir
}

fn snapshot_paths(root: &Path, id: &str) -> Vec<String> {
    git(root, &["ls-tree", "-r", "--name-only", id]).lines().map(str::to_owned).collect()
}

#[tokio::test]
async fn a_large_untracked_file_and_a_huge_untracked_dir_are_left_out_reported_and_survive_restore() {
    let dir = committed_repo();
    let root = dir.path();
    let big = vec![0xabu8; 11 << 20];
    write(root, "big.bin", &big);
    for i in 0..2_500 {
        write(root, &format!("node_modules/pkg{}/f{i}.js", i % 10), format!("module {i}\n").as_bytes());
    }
    write(root, "notes.txt", b"small untracked\n");
    let snaps = GitSnapshotter::new();
    let (id, report) = snaps.snapshot_with_report(root).await.unwrap();

    let mut excluded: Vec<_> = report.excluded.iter().map(|e| (e.path.clone(), e.reason, e.bytes)).collect();
    excluded.sort();
    assert_eq!(
        excluded,
        vec![
            ("big.bin".into(), GuardReason::FileTooLarge, 11 << 20),
            (
                "node_modules".into(),
                GuardReason::TooManyEntries { entries: 2_500 },
                (0..2_500).map(|i| format!("module {i}\n").len() as u64).sum()
            ),
        ]
    );
    let paths = snapshot_paths(root, id.as_str());
    assert!(paths.contains(&"notes.txt".to_owned()), "{paths:?}");
    assert!(!paths.iter().any(|p| p == "big.bin" || p.starts_with("node_modules/")), "{paths:?}");

    write(root, "a.txt", b"agent edit\n");
    write(root, "agent.txt", b"agent file\n");
    write(root, "node_modules/pkg0/added-later.js", b"x");
    snaps.restore(root, &id).await.unwrap();

    assert_eq!(std::fs::read(root.join("a.txt")).unwrap(), b"alpha\n");
    assert!(!root.join("agent.txt").exists(), "a file created after the snapshot survived");
    assert_eq!(std::fs::read(root.join("big.bin")).unwrap(), big, "the excluded file was touched");
    assert_eq!(std::fs::read(root.join("node_modules/pkg3/f3.js")).unwrap(), b"module 3\n");
    assert_eq!(std::fs::read_dir(root.join("node_modules")).unwrap().count(), 10);
    assert!(root.join("node_modules/pkg0/added-later.js").exists(), "restore deleted inside an excluded directory");
}

#[tokio::test]
async fn the_guards_are_configurable() {
    let dir = committed_repo();
    let root = dir.path();
    write(root, "medium.txt", &[b'x'; 100]);
    write(root, "small.txt", b"ok");
    for i in 0..4 {
        write(root, &format!("gen/f{i}"), b"g");
    }
    let snaps = GitSnapshotter::new().with_max_untracked_file_bytes(50).with_max_untracked_dir_entries(3);
    let (id, report) = snaps.snapshot_with_report(root).await.unwrap();
    let mut excluded: Vec<_> = report.excluded.iter().map(|e| (e.path.clone(), e.reason)).collect();
    excluded.sort();
    assert_eq!(
        excluded,
        vec![
            ("gen".into(), GuardReason::TooManyEntries { entries: 4 }),
            ("medium.txt".into(), GuardReason::FileTooLarge)
        ]
    );
    let paths = snapshot_paths(root, id.as_str());
    assert!(paths.contains(&"small.txt".to_owned()), "{paths:?}");
    // Within the limits, nothing is left out.
    let (_, report) = GitSnapshotter::new().snapshot_with_report(root).await.unwrap();
    assert!(report.excluded.is_empty(), "{:?}", report.excluded);
}

/// Leaves what a restore that died half way leaves: the marker naming the
/// snapshot and a tree with only part of the snapshot written back.
fn crash_half_way(root: &Path, id: &str) {
    std::fs::create_dir_all(root.join(".git/agentkit")).unwrap();
    std::fs::write(root.join(".git/agentkit/restore-in-progress"), id).unwrap();
    write(root, "a.txt", b"user edit\n"); // already restored; the rest is not
}

async fn crashed_repo() -> (
    tempfile::TempDir,
    agent_core::snapshot::SnapshotId,
    std::collections::BTreeMap<String, crate::common::Entry>,
    Vec<u8>,
) {
    let dir = committed_repo();
    let root = dir.path();
    write(root, "a.txt", b"user edit\n");
    write(root, "dir/b.txt", b"staged\n");
    git(root, &["add", "dir/b.txt"]);
    write(root, "untracked.txt", b"notes\n");
    let before = tree_state(root);
    let index = std::fs::read(root.join(".git/index")).unwrap();
    let id = GitSnapshotter::new().snapshot(root).await.unwrap();
    // The agent's attempt.
    write(root, "a.txt", b"agent\n");
    std::fs::remove_file(root.join("untracked.txt")).unwrap();
    write(root, "new/agent.rs", b"fn x() {}\n");
    git(root, &["add", "-A"]);
    crash_half_way(root, id.as_str());
    (dir, id, before, index)
}

#[tokio::test]
async fn a_snapshot_after_a_crashed_restore_first_finishes_that_restore() {
    let (dir, _id, before, index) = crashed_repo().await;
    let root = dir.path();
    let snaps = GitSnapshotter::new();
    let second = snaps.snapshot(root).await.unwrap();
    assert_eq!(tree_state(root), before);
    assert_eq!(std::fs::read(root.join(".git/index")).unwrap(), index);
    assert!(!root.join(".git/agentkit/restore-in-progress").exists());
    // The new snapshot holds the recovered state.
    let paths = snapshot_paths(root, second.as_str());
    assert!(paths.contains(&"untracked.txt".to_owned()) && !paths.iter().any(|p| p.starts_with("new/")), "{paths:?}");
}

#[tokio::test]
async fn a_restore_or_discard_after_a_crashed_restore_recovers_the_snapshot() {
    let (dir, id, before, index) = crashed_repo().await;
    let root = dir.path();
    let snaps = GitSnapshotter::new();
    snaps.restore(root, &id).await.unwrap();
    assert_eq!(tree_state(root), before);
    assert_eq!(std::fs::read(root.join(".git/index")).unwrap(), index);
    assert!(!root.join(".git/agentkit/restore-in-progress").exists());

    let (dir, id, before, _) = crashed_repo().await;
    let root = dir.path();
    snaps.discard(root, &id).await.unwrap();
    assert_eq!(tree_state(root), before, "discard did not finish the interrupted restore first");
}

#[tokio::test]
async fn a_marker_for_a_snapshot_that_no_longer_exists_is_dropped() {
    let dir = committed_repo();
    let root = dir.path();
    crash_half_way(root, "0123456789abcdef0123456789abcdef01234567");
    let snaps = GitSnapshotter::new();
    let id = snaps.snapshot(root).await.unwrap();
    assert!(!root.join(".git/agentkit/restore-in-progress").exists());
    snaps.restore(root, &id).await.unwrap();
}

#[tokio::test]
async fn a_submodule_is_recorded_as_a_gitlink_and_left_untouched_by_restore() {
    let upstream = committed_repo();
    let dir = committed_repo();
    let root = dir.path();
    git(
        root,
        &["-c", "protocol.file.allow=always", "submodule", "add", "-q", &upstream.path().to_string_lossy(), "sub"],
    );
    git(root, &["commit", "-q", "-m", "add submodule"]);
    let sub = root.join("sub");
    let sub_head = git(&sub, &["rev-parse", "HEAD"]);
    let snaps = GitSnapshotter::new();
    let id = snaps.snapshot(root).await.unwrap();
    let entry = git(root, &["ls-tree", id.as_str(), "sub"]);
    assert!(entry.starts_with(&format!("160000 commit {}", sub_head.trim())), "{entry}");

    // The agent works inside the submodule (edits and a commit) and outside.
    write(&sub, "a.txt", b"submodule edit\n");
    write(&sub, "inner-new.txt", b"new in submodule\n");
    git(&sub, &["add", "-A"]);
    git(&sub, &["commit", "-q", "-m", "inner"]);
    write(&sub, "dirty.txt", b"dirty\n");
    let sub_state = tree_state(&sub);
    let sub_head_after = git(&sub, &["rev-parse", "HEAD"]);
    write(root, "a.txt", b"outer edit\n");
    snaps.restore(root, &id).await.unwrap();

    assert_eq!(std::fs::read(root.join("a.txt")).unwrap(), b"alpha\n");
    assert_eq!(tree_state(&sub), sub_state, "restore went into the submodule");
    assert_eq!(git(&sub, &["rev-parse", "HEAD"]), sub_head_after);
}

#[tokio::test]
async fn an_untracked_nested_repository_is_not_recorded_and_not_deleted() {
    let dir = committed_repo();
    let root = dir.path();
    let inner = root.join("tools/inner");
    std::fs::create_dir_all(&inner).unwrap();
    git(&inner, &["init", "-q"]);
    write(&inner, "x.txt", b"inner\n");
    let snaps = GitSnapshotter::new();
    let id = snaps.snapshot(root).await.unwrap();
    let paths = snapshot_paths(root, id.as_str());
    assert!(!paths.iter().any(|p| p.starts_with("tools/")), "{paths:?}");
    write(&inner, "y.txt", b"created after\n");
    snaps.restore(root, &id).await.unwrap();
    assert_eq!(std::fs::read(inner.join("x.txt")).unwrap(), b"inner\n");
    assert_eq!(std::fs::read(inner.join("y.txt")).unwrap(), b"created after\n");
    assert!(inner.join(".git").is_dir());
}
