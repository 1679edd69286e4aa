//! `GitSnapshotter`: HEAD, refs and the stash list are part of a snapshot;
//! restores that cannot be done refuse; `recover` acts only on dead owners.

use crate::common::{Entry, git, init_repo, tree_state, write};
use agent_core::Snapshotter;
use agent_core::snapshot::{SnapshotError, SnapshotId};
use agent_sandbox::{GitSnapshotter, RecoverReport};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command};

/// Everything of a repository a restore must put back, byte for byte.
#[derive(Debug, PartialEq, Eq)]
struct FullState {
    tree: BTreeMap<String, Entry>,
    index: Option<Vec<u8>>,
    head: String,
    refs: String,
    stash_log: Option<Vec<u8>>,
    stash_list: String,
    status: String,
}

fn full_state(root: &Path) -> FullState {
    let index = std::fs::read(root.join(".git/index")).ok();
    let refs = git(root, &["for-each-ref", "--format=%(refname) %(objectname) %(symref)"])
        .lines()
        .filter(|l| !l.starts_with("refs/agentkit/"))
        .collect::<Vec<_>>()
        .join("\n");
    FullState {
        tree: tree_state(root),
        index,
        head: std::fs::read_to_string(root.join(".git/HEAD")).unwrap(),
        refs,
        stash_log: std::fs::read(root.join(".git/logs/refs/stash")).ok(),
        stash_list: git(root, &["stash", "list", "--format=%H %gs"]),
        status: git(root, &["--no-optional-locks", "status", "--porcelain=v1", "--untracked-files=all"]),
    }
}

/// A repository with history, a second branch, tags (light and annotated),
/// a remote-tracking branch and its symbolic `HEAD`, two stash entries, and
/// dirty user work (unstaged, staged, untracked).
fn rich_repo() -> tempfile::TempDir {
    let dir = init_repo();
    let root = dir.path();
    write(root, "a.txt", b"alpha\n");
    write(root, "src/lib.rs", b"pub fn f() {}\n");
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "init"]);
    git(root, &["branch", "feature"]);
    git(root, &["tag", "v1"]);
    git(root, &["tag", "-a", "v1-annotated", "-m", "release"]);
    git(root, &["update-ref", "refs/remotes/origin/main", "HEAD"]);
    git(root, &["symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main"]);
    write(root, "a.txt", b"stashed one\n");
    git(root, &["stash", "push", "-q", "-m", "first"]);
    write(root, "src/lib.rs", b"pub fn stashed() {}\n");
    git(root, &["stash", "push", "-q", "-m", "second"]);
    write(root, "a.txt", b"alpha, edited by the user\n");
    write(root, "src/lib.rs", b"pub fn staged() {}\n");
    git(root, &["add", "src/lib.rs"]);
    write(root, "notes.md", b"user notes\n");
    dir
}

#[tokio::test]
async fn restore_undoes_a_commit_a_checkout_new_tags_deleted_refs_and_stash_push_and_drop() {
    let dir = rich_repo();
    let root = dir.path();
    let before = full_state(root);
    let snaps = GitSnapshotter::new();
    let id = snaps.snapshot(root).await.unwrap();
    assert_eq!(full_state(root), before, "taking a snapshot changed the repository");
    assert!(snaps.ref_changes(root, &id).await.unwrap().is_empty());

    // What a model's commands could do.
    write(root, "a.txt", b"agent\n");
    git(root, &["commit", "-q", "-am", "agent commit"]);
    git(root, &["checkout", "-q", "-b", "x"]);
    write(root, "new.rs", b"fn agent() {}\n");
    git(root, &["tag", "agent-tag"]);
    git(root, &["tag", "-d", "v1"]);
    git(root, &["branch", "-D", "feature"]);
    git(root, &["stash", "drop", "-q", "stash@{1}"]);
    git(root, &["stash", "push", "-q", "-u", "-m", "agent stash"]);
    git(root, &["update-ref", "-d", "refs/remotes/origin/HEAD"]);
    let changes = snaps.ref_changes(root, &id).await.unwrap();
    let names: Vec<&str> = changes.iter().map(|c| c.name.as_str()).collect();
    for name in ["HEAD", "refs/heads/main", "refs/heads/x", "refs/heads/feature", "refs/tags/v1", "stash list"] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }

    snaps.restore(root, &id).await.unwrap();
    assert_eq!(full_state(root), before);
    assert!(snaps.ref_changes(root, &id).await.unwrap().is_empty());
    // The stash entries are usable again, in their order.
    assert_eq!(git(root, &["stash", "list", "--format=%gs"]), "On main: second\nOn main: first\n");
    assert_eq!(git(root, &["show", "stash@{1}:a.txt"]), "stashed one\n");
}

#[tokio::test]
async fn restore_puts_back_a_detached_head_and_drops_a_stash_created_since() {
    let dir = init_repo();
    let root = dir.path();
    write(root, "a.txt", b"one\n");
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "one"]);
    write(root, "a.txt", b"two\n");
    git(root, &["commit", "-q", "-am", "two"]);
    git(root, &["checkout", "-q", "--detach", "HEAD~1"]);
    let before = full_state(root);
    let snaps = GitSnapshotter::new();
    let id = snaps.snapshot(root).await.unwrap();

    git(root, &["checkout", "-q", "main"]);
    write(root, "a.txt", b"agent\n");
    git(root, &["stash", "push", "-q"]);
    snaps.restore(root, &id).await.unwrap();
    assert_eq!(full_state(root), before);
    assert!(before.stash_log.is_none() && !root.join(".git/refs/stash").exists());
}

#[tokio::test]
async fn a_restore_whose_branch_commit_is_gone_refuses_and_changes_nothing() {
    let dir = rich_repo();
    let root = dir.path();
    git(root, &["checkout", "-q", "-b", "side"]);
    write(root, "side.txt", b"only on side\n");
    git(root, &["add", "side.txt"]);
    git(root, &["commit", "-q", "-m", "side only"]);
    let lost = git(root, &["rev-parse", "HEAD"]).trim().to_owned();
    git(root, &["checkout", "-q", "main"]);
    let snaps = GitSnapshotter::new();
    let id = snaps.snapshot(root).await.unwrap();

    git(root, &["branch", "-D", "side"]);
    git(root, &["reflog", "expire", "--expire=now", "--all"]);
    git(root, &["gc", "-q", "--prune=now"]);
    assert!(Command::new("git").current_dir(root).args(["cat-file", "-e", &lost]).status().unwrap().code() != Some(0));
    write(root, "a.txt", b"agent\n");
    let after = full_state(root);

    let err = snaps.restore(root, &id).await.unwrap_err();
    match &err {
        SnapshotError::RestoreRefused { id: refused, reason } => {
            assert_eq!(refused, &id);
            assert!(reason.contains("refs/heads/side") && reason.contains(&lost), "{reason}");
        }
        other => panic!("expected RestoreRefused, got {other:?}"),
    }
    assert_eq!(full_state(root), after, "a refused restore changed the repository");
    assert!(!root.join(".git/agentkit/restore-in-progress").exists());
}

#[tokio::test]
async fn a_held_index_lock_is_a_typed_error_and_the_restore_changes_nothing() {
    let dir = rich_repo();
    let root = dir.path();
    let snaps = GitSnapshotter::new();
    let id = snaps.snapshot(root).await.unwrap();
    git(root, &["commit", "-q", "-m", "agent"]);
    write(root, "a.txt", b"agent\n");
    std::fs::write(root.join(".git/index.lock"), b"held by another git").unwrap();
    let after = full_state(root);

    match snaps.restore(root, &id).await.unwrap_err() {
        SnapshotError::Locked { path, holder: None } => assert!(path.ends_with(".git/index.lock"), "{path:?}"),
        other => panic!("expected Locked, got {other:?}"),
    }
    assert_eq!(full_state(root), after);
    assert_eq!(std::fs::read(root.join(".git/index.lock")).unwrap(), b"held by another git");
    // Once the other process is done, the restore goes through.
    std::fs::remove_file(root.join(".git/index.lock")).unwrap();
    snaps.restore(root, &id).await.unwrap();
    assert!(!root.join(".git/index.lock").exists());
}

/// A real process, and its start time as `/proc` tells it.
fn sleeper() -> (Child, u32, u64) {
    let child = Command::new("sleep").arg("600").spawn().unwrap();
    let pid = child.id();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let start = stat.rsplit_once(')').unwrap().1.split_whitespace().nth(19).unwrap().parse().unwrap();
    (child, pid, start)
}

/// Makes `pid` (started at `start`) the owner of snapshot `id`'s run marker,
/// as if that process had taken it.
fn own_run(root: &Path, id: &SnapshotId, pid: u32, start: u64) {
    let marker = root.join(".git/agentkit").join(format!("run-{id}"));
    assert!(marker.is_file(), "a snapshot leaves a run marker");
    std::fs::write(&marker, format!("snapshot {id}\npid {pid}\nstart {start}\ntime 1\n")).unwrap();
}

/// The user's state, a snapshot, and an attempt that commits and edits.
async fn mid_run() -> (tempfile::TempDir, SnapshotId, FullState) {
    let dir = rich_repo();
    let root = dir.path();
    let before = full_state(root);
    let id = GitSnapshotter::new().snapshot(root).await.unwrap();
    write(root, "a.txt", b"agent edit\n");
    write(root, "agent.rs", b"fn f() {}\n");
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "agent"]);
    (dir, id, before)
}

#[tokio::test]
async fn recover_leaves_a_run_alone_while_its_owner_runs_and_restores_it_once_the_owner_is_killed() {
    let (dir, id, before) = mid_run().await;
    let root = dir.path();
    let (mut child, pid, start) = sleeper();
    own_run(root, &id, pid, start);
    let mid = full_state(root);
    let snaps = GitSnapshotter::new();

    let report = snaps.recover(root).await.unwrap();
    assert_eq!(report, RecoverReport::OwnerRunning { pid, snapshot: id.clone() });
    assert_eq!(report.reason(), format!("owner still running (pid {pid})"));
    assert_eq!(full_state(root), mid, "a run whose owner is alive was touched");

    child.kill().unwrap();
    child.wait().unwrap();
    let report = snaps.recover(root).await.unwrap();
    assert_eq!(report, RecoverReport::Restored { snapshot: id.clone(), owner: Some(pid), discarded: vec![id.clone()] });
    assert_eq!(full_state(root), before);
    assert!(!root.join(format!(".git/agentkit/run-{id}")).exists());
    assert_eq!(snaps.recover(root).await.unwrap(), RecoverReport::NothingToRecover);
}

#[tokio::test]
async fn a_live_pid_with_another_start_time_is_not_taken_for_the_owner() {
    let (dir, id, before) = mid_run().await;
    let root = dir.path();
    let (mut child, pid, start) = sleeper();
    // The owner died and its pid now belongs to an unrelated process.
    own_run(root, &id, pid, start + 1);
    let report = GitSnapshotter::new().recover(root).await.unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(report.recovered(), "{report:?}");
    assert_eq!(full_state(root), before);
}

#[tokio::test]
async fn recover_in_the_process_that_owns_the_run_does_nothing() {
    let (dir, id, _) = mid_run().await;
    let root = dir.path();
    let mid = full_state(root);
    let report = GitSnapshotter::new().recover(root).await.unwrap();
    assert_eq!(report, RecoverReport::OwnerRunning { pid: std::process::id(), snapshot: id });
    assert_eq!(full_state(root), mid);
}

#[tokio::test]
async fn recover_restores_the_oldest_snapshot_of_a_dead_run_and_discards_all_of_them() {
    let (dir, first, before) = mid_run().await;
    let root = dir.path();
    let snaps = GitSnapshotter::new();
    let second = snaps.snapshot(root).await.unwrap();
    write(root, "later.txt", b"second attempt\n");
    let (mut child, pid, start) = sleeper();
    child.kill().unwrap();
    child.wait().unwrap();
    own_run(root, &first, pid, start);
    let marker = root.join(".git/agentkit").join(format!("run-{second}"));
    std::fs::write(&marker, format!("snapshot {second}\npid {pid}\nstart {start}\ntime 2\n")).unwrap();

    let report = snaps.recover(root).await.unwrap();
    assert_eq!(report.snapshot(), Some(&first));
    assert_eq!(full_state(root), before);
    assert!(matches!(snaps.restore(root, &second).await, Err(SnapshotError::NotFound { .. })));
}

#[tokio::test]
async fn recover_clears_the_ref_lock_a_run_killed_while_discarding_left_and_discards_its_snapshot() {
    let (dir, id, before) = mid_run().await;
    let root = dir.path();
    let (mut child, pid, start) = sleeper();
    child.kill().unwrap();
    child.wait().unwrap();
    own_run(root, &id, pid, start);
    // What a process killed inside the ref deletion leaves: git's lock beside the ref.
    let lock = root.join(format!(".git/refs/agentkit/snapshots/{id}.lock"));
    std::fs::write(&lock, format!("{id}\n")).unwrap();
    // The lock stops git itself from deleting the ref.
    let refused = Command::new("git")
        .current_dir(root)
        .args(["update-ref", "-d", &format!("refs/agentkit/snapshots/{id}")])
        .output()
        .unwrap();
    assert!(!refused.status.success(), "git deleted a locked ref");

    let snaps = GitSnapshotter::new();
    let report = snaps.recover(root).await.unwrap();
    assert_eq!(report.snapshot(), Some(&id), "{report:?}");
    assert!(report.recovered(), "{report:?}");
    assert_eq!(full_state(root), before);
    assert!(!lock.exists(), "the stale lock is still there");
    assert_eq!(git(root, &["for-each-ref", "refs/agentkit/"]), "", "the snapshot's ref was not deleted");
    assert_eq!(snaps.recover(root).await.unwrap(), RecoverReport::NothingToRecover);
}

#[tokio::test]
async fn a_discarded_snapshot_leaves_nothing_to_recover() {
    let dir = rich_repo();
    let root = dir.path();
    let snaps = GitSnapshotter::new();
    let id = snaps.snapshot(root).await.unwrap();
    write(root, "accepted.txt", b"the accepted change\n");
    snaps.discard(root, &id).await.unwrap();
    let state = full_state(root);
    assert_eq!(snaps.recover(root).await.unwrap(), RecoverReport::NothingToRecover);
    assert_eq!(full_state(root), state);
}

#[tokio::test]
async fn in_a_linked_worktree_restore_puts_head_back_and_leaves_the_shared_refs_of_other_runs_alone() {
    let dir = rich_repo();
    let root = dir.path();
    git(root, &["commit", "-q", "-am", "second"]);
    let wt_parent = tempfile::tempdir().unwrap();
    let wt = wt_parent.path().join("wt");
    git(root, &["worktree", "add", "-q", "--detach", wt.to_str().unwrap(), "HEAD~1"]);
    let head_before = git(&wt, &["rev-parse", "HEAD"]);
    let snaps = GitSnapshotter::new();
    let id = snaps.snapshot(&wt).await.unwrap();

    // This run's command moves its HEAD; another run, in the main working tree, creates a branch.
    git(&wt, &["checkout", "-q", "-b", "x"]);
    write(&wt, "a.txt", b"agent\n");
    git(&wt, &["commit", "-q", "-am", "agent"]);
    git(root, &["branch", "other-run"]);

    snaps.restore(&wt, &id).await.unwrap();
    assert_eq!(git(&wt, &["rev-parse", "HEAD"]), head_before);
    let head_file = std::fs::read_to_string(root.join(".git/worktrees/wt/HEAD")).unwrap();
    assert_eq!(head_file.trim(), head_before.trim(), "the worktree's HEAD is detached again");
    assert!(git(root, &["branch", "--list", "other-run"]).contains("other-run"), "another run's branch was deleted");
    assert_eq!(std::fs::read_to_string(root.join(".git/HEAD")).unwrap(), "ref: refs/heads/main\n");
}
