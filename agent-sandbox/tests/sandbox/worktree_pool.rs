//! `WorktreePool`: isolated working trees per worker, bounded concurrency,
//! clean reuse, the main repository left alone.

use crate::common::{Entry, git, init_repo, set_exec, tree_state, write};
use agent_sandbox::{PoolError, WorktreePool};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A repository with two commits; returns it and the first commit's sha.
fn repo() -> (tempfile::TempDir, String) {
    let dir = init_repo();
    let root = dir.path();
    write(root, ".gitignore", b"target/\n*.log\n");
    write(root, "a.txt", b"version one\n");
    write(root, "src/lib.rs", b"pub fn f() {}\n");
    write(root, "run.sh", b"#!/bin/sh\n");
    set_exec(root, "run.sh", true);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "one"]);
    let first = git(root, &["rev-parse", "HEAD"]).trim().to_owned();
    write(root, "a.txt", b"version two\n");
    write(root, "b.txt", b"added in two\n");
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "two"]);
    (dir, first)
}

/// The main repository's state a pool must never change.
fn main_repo_state(root: &Path) -> (String, Option<Vec<u8>>, String, String) {
    let index = std::fs::read(root.join(".git/index")).ok();
    (
        std::fs::read_to_string(root.join(".git/HEAD")).unwrap(),
        index,
        git(root, &["for-each-ref", "refs/heads", "refs/tags"]),
        git(root, &["--no-optional-locks", "status", "--porcelain=v1", "--untracked-files=all"]),
    )
}

fn worktree_list(root: &Path) -> Vec<String> {
    git(root, &["worktree", "list", "--porcelain"])
        .lines()
        .filter_map(|l| l.strip_prefix("worktree ").map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_concurrent_acquisitions_of_a_pool_of_two_never_exceed_two_nor_share_a_path() {
    let (repo, _) = repo();
    let pool_dir = tempfile::tempdir().unwrap();
    let pool = WorktreePool::new(repo.path().to_path_buf(), pool_dir.path().join("pool"), 2);
    let live = AtomicUsize::new(0);
    let peak = AtomicUsize::new(0);
    let in_use: Mutex<HashSet<PathBuf>> = Mutex::new(HashSet::new());
    let seen: Mutex<HashSet<PathBuf>> = Mutex::new(HashSet::new());

    let worker = |n: u8| {
        let (pool, live, peak, in_use, seen) = (&pool, &live, &peak, &in_use, &seen);
        async move {
            let wt = pool.acquire().await.unwrap();
            let now = live.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            assert!(now <= 2, "{now} worktrees live at once");
            assert!(in_use.lock().unwrap().insert(wt.path().to_path_buf()), "path handed out twice");
            seen.lock().unwrap().insert(wt.path().to_path_buf());
            assert_eq!(std::fs::read(wt.path().join("a.txt")).unwrap(), b"version two\n");
            write(wt.path(), "worker.txt", &[n]);
            tokio::time::sleep(Duration::from_millis(150)).await;
            assert_eq!(std::fs::read(wt.path().join("worker.txt")).unwrap(), vec![n], "another worker wrote here");
            in_use.lock().unwrap().remove(wt.path());
            live.fetch_sub(1, Ordering::SeqCst);
        }
    };
    tokio::join!(worker(1), worker(2), worker(3), worker(4));

    assert_eq!(peak.load(Ordering::SeqCst), 2);
    assert_eq!(seen.lock().unwrap().len(), 2, "slots are reused, not multiplied");
    pool.shutdown().await.unwrap();
}

#[tokio::test]
async fn worktrees_hold_the_repo_at_the_rev_and_writes_stay_in_their_own_tree() {
    let (repo, first) = repo();
    let root = repo.path();
    // Uncommitted work in the main tree must neither leak into worktrees nor be touched.
    write(root, "a.txt", b"uncommitted edit\n");
    write(root, "scratch.txt", b"untracked\n");
    let main_before = main_repo_state(root);
    let main_tree = tree_state(root);
    let pool_dir = tempfile::tempdir().unwrap();
    let pool = WorktreePool::new(root.to_path_buf(), pool_dir.path().to_path_buf(), 3);

    let head = pool.acquire().await.unwrap();
    let old = pool.acquire_at(&first).await.unwrap();
    let head2 = pool.acquire_at("HEAD").await.unwrap();
    let committed_head: Vec<(String, Entry)> = vec![
        (".gitignore".into(), Entry::File { bytes: b"target/\n*.log\n".to_vec(), executable: false }),
        ("a.txt".into(), Entry::File { bytes: b"version two\n".to_vec(), executable: false }),
        ("b.txt".into(), Entry::File { bytes: b"added in two\n".to_vec(), executable: false }),
        ("run.sh".into(), Entry::File { bytes: b"#!/bin/sh\n".to_vec(), executable: true }),
        ("src".into(), Entry::Dir),
        ("src/lib.rs".into(), Entry::File { bytes: b"pub fn f() {}\n".to_vec(), executable: false }),
    ];
    assert_eq!(tree_state(head.path()).into_iter().collect::<Vec<_>>(), committed_head);
    assert_eq!(tree_state(head2.path()), tree_state(head.path()));
    assert_eq!(std::fs::read(old.path().join("a.txt")).unwrap(), b"version one\n");
    assert!(!old.path().join("b.txt").exists());
    assert_eq!(old.rev(), Some(first.as_str()));
    assert_eq!(head.rev().map(str::to_owned), Some(git(root, &["rev-parse", "HEAD"]).trim().to_owned()));
    let paths: HashSet<_> = [head.path(), old.path(), head2.path()].into_iter().collect();
    assert_eq!(paths.len(), 3);

    write(head.path(), "a.txt", b"attempt one\n");
    write(head.path(), "new.rs", b"fn n() {}\n");
    std::fs::remove_file(head.path().join("b.txt")).unwrap();
    git(head.path(), &["add", "-A"]);
    git(head.path(), &["commit", "-q", "-m", "attempt"]);
    assert_eq!(std::fs::read(head2.path().join("a.txt")).unwrap(), b"version two\n");
    assert!(!head2.path().join("new.rs").exists());
    assert!(head2.path().join("b.txt").exists());
    assert_eq!(tree_state(root), main_tree, "the main working tree changed");

    drop((head, old, head2));
    pool.shutdown().await.unwrap();
    assert_eq!(main_repo_state(root), main_before, "the main repository's HEAD, index, branches or status changed");
}

#[tokio::test]
async fn a_reused_slot_is_clean_but_keeps_its_target_cache() {
    let (repo, first) = repo();
    let pool_dir = tempfile::tempdir().unwrap();
    let pool = WorktreePool::new(repo.path().to_path_buf(), pool_dir.path().to_path_buf(), 1);

    let wt = pool.acquire().await.unwrap();
    let path = wt.path().to_path_buf();
    // The previous holder moved HEAD, then left edits of every kind.
    git(&path, &["checkout", "-q", "--detach", &first]);
    write(&path, "junk.txt", b"left by the previous attempt\n");
    write(&path, "a.txt", b"modified by the previous attempt\n");
    write(&path, "debug.log", b"ignored, still removed\n");
    write(&path, "newdir/x.rs", b"fn x() {}\n");
    std::fs::remove_file(path.join("src/lib.rs")).unwrap();
    write(&path, "target/debug/cache.bin", b"build cache");
    drop(wt);

    let wt = pool.acquire().await.unwrap();
    assert_eq!(wt.path(), path, "a pool of one reuses its slot");
    assert!(!path.join("junk.txt").exists());
    assert!(!path.join("debug.log").exists());
    assert!(!path.join("newdir").exists());
    assert_eq!(std::fs::read(path.join("a.txt")).unwrap(), b"version two\n");
    assert!(path.join("b.txt").exists(), "back at HEAD, not at the previous holder's commit");
    assert_eq!(std::fs::read(path.join("src/lib.rs")).unwrap(), b"pub fn f() {}\n");
    assert_eq!(std::fs::read(path.join("target/debug/cache.bin")).unwrap(), b"build cache");
    assert_eq!(git(&path, &["status", "--porcelain"]), "");
    drop(wt);
    pool.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_new_pool_on_the_same_dir_reuses_worktrees_left_by_a_dropped_pool() {
    let (repo, _) = repo();
    let pool_dir = tempfile::tempdir().unwrap();
    let pool = WorktreePool::new(repo.path().to_path_buf(), pool_dir.path().to_path_buf(), 1);
    let wt = pool.acquire().await.unwrap();
    write(wt.path(), "target/cache", b"kept");
    write(wt.path(), "junk", b"gone");
    drop(wt);
    drop(pool);

    let pool = WorktreePool::new(repo.path().to_path_buf(), pool_dir.path().to_path_buf(), 1);
    let wt = pool.acquire().await.unwrap();
    assert_eq!(std::fs::read(wt.path().join("target/cache")).unwrap(), b"kept");
    assert!(!wt.path().join("junk").exists());
    assert_eq!(worktree_list(repo.path()).len(), 2);
    drop(wt);
    pool.shutdown().await.unwrap();
}

#[tokio::test]
async fn shutdown_removes_every_worktree_and_leaves_only_the_main_one_listed() {
    let (repo, _) = repo();
    let root = repo.path();
    let pool_dir = tempfile::tempdir().unwrap();
    let slots = pool_dir.path().join("slots");
    let pool = WorktreePool::new(root.to_path_buf(), slots.clone(), 2);
    let (a, b) = tokio::join!(pool.acquire(), pool.acquire());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(worktree_list(root).len(), 3);
    drop((a, b));

    pool.shutdown().await.unwrap();
    let list = worktree_list(root);
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(Path::new(&list[0]).canonicalize().unwrap(), root.canonicalize().unwrap());
    assert!(!slots.exists(), "the slot directories are gone");
}

#[tokio::test]
async fn a_directory_that_is_not_a_repository_is_served_as_plain_copies() {
    let src = tempfile::tempdir().unwrap();
    let root = src.path();
    write(root, "a.txt", b"alpha\n");
    write(root, "run.sh", b"#!/bin/sh\n");
    set_exec(root, "run.sh", true);
    std::os::unix::fs::symlink("a.txt", root.join("link")).unwrap();
    write(root, "target/big-cache", b"not copied");
    let pool_dir = tempfile::tempdir().unwrap();
    let pool = WorktreePool::new(root.to_path_buf(), pool_dir.path().to_path_buf(), 1);

    let wt = pool.acquire().await.unwrap();
    assert_eq!(wt.rev(), None);
    let mut expected = tree_state(root);
    expected.retain(|k, _| !k.starts_with("target"));
    assert_eq!(tree_state(wt.path()), expected);
    write(wt.path(), "a.txt", b"changed in the copy\n");
    write(wt.path(), "junk", b"x");
    write(wt.path(), "target/own-cache", b"kept");
    assert_eq!(std::fs::read(root.join("a.txt")).unwrap(), b"alpha\n");
    let path = wt.path().to_path_buf();
    drop(wt);

    let wt = pool.acquire().await.unwrap();
    assert_eq!(wt.path(), path);
    assert_eq!(std::fs::read(path.join("a.txt")).unwrap(), b"alpha\n");
    assert!(!path.join("junk").exists());
    assert_eq!(std::fs::read(path.join("target/own-cache")).unwrap(), b"kept");
    drop(wt);

    assert!(matches!(pool.acquire_at("HEAD").await, Err(PoolError::NotARepository { .. })));
    pool.shutdown().await.unwrap();
    assert!(!path.exists());
}
