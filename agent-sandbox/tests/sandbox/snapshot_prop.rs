//! Property: whatever happens before and after a snapshot, restore brings
//! back the snapshotted tree byte for byte and mode for mode.

use crate::common::{Entry, git, init_repo, set_exec, tree_state, write};
use agent_core::Snapshotter;
use agent_sandbox::GitSnapshotter;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

/// Paths the operations touch; `x.log` and `d/y.log` are ignored by the repository.
const PATHS: &[&str] = &["a.txt", "b.bin", "d/c.txt", "d/e/f.txt", "g/h.txt", "x.log", "d/y.log"];
const IGNORED: &[&str] = &["x.log", "d/y.log"];
/// Symlink targets: existing, relative upwards, dangling.
const TARGETS: &[&str] = &["a.txt", "../a.txt", "nowhere", "d/e"];

#[derive(Clone, Debug)]
enum Op {
    Write(usize, Vec<u8>),
    Delete(usize),
    Chmod(usize, bool),
    Stage(usize),
    Symlink(usize, usize),
    Rename(usize, usize),
}

fn op() -> impl Strategy<Value = Op> {
    let path = 0..PATHS.len();
    // Text, and binary with NUL bytes and invalid UTF-8.
    let bytes = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        "[a-z \n]{0,40}".prop_map(String::into_bytes),
        Just(vec![0u8, 0xff, 0xfe, 0, 1, 2, 0x80]),
    ];
    prop_oneof![
        3 => (path.clone(), bytes).prop_map(|(p, b)| Op::Write(p, b)),
        2 => path.clone().prop_map(Op::Delete),
        1 => (path.clone(), any::<bool>()).prop_map(|(p, x)| Op::Chmod(p, x)),
        2 => path.clone().prop_map(Op::Stage),
        1 => (path.clone(), 0..TARGETS.len()).prop_map(|(p, t)| Op::Symlink(p, t)),
        1 => (path.clone(), path).prop_map(|(p, q)| Op::Rename(p, q)),
    ]
}

fn present(root: &Path, rel: &str) -> bool {
    std::fs::symlink_metadata(root.join(rel)).is_ok()
}

/// Removes `rel` (file or symlink) and the directories it leaves empty, as a
/// person deleting files would not notice them.
fn remove(root: &Path, rel: &str) {
    let _ = std::fs::remove_file(root.join(rel));
    let mut dir = root.join(rel);
    while dir.pop() && dir != root {
        if std::fs::remove_dir(&dir).is_err() {
            break;
        }
    }
}

fn apply(root: &Path, ops: &[Op]) {
    for op in ops {
        match op {
            Op::Write(p, bytes) => {
                // Replace a symlink rather than write through it.
                if std::fs::symlink_metadata(root.join(PATHS[*p])).is_ok_and(|m| m.file_type().is_symlink()) {
                    std::fs::remove_file(root.join(PATHS[*p])).unwrap();
                }
                write(root, PATHS[*p], bytes)
            }
            Op::Delete(p) => remove(root, PATHS[*p]),
            Op::Chmod(p, exec) => {
                if std::fs::symlink_metadata(root.join(PATHS[*p])).is_ok_and(|m| m.is_file()) {
                    set_exec(root, PATHS[*p], *exec);
                }
            }
            Op::Stage(p) => {
                if IGNORED.contains(&PATHS[*p]) {
                } else if present(root, PATHS[*p]) {
                    git(root, &["add", "--", PATHS[*p]]);
                } else {
                    git(root, &["rm", "-q", "--cached", "--ignore-unmatch", "--", PATHS[*p]]);
                }
            }
            Op::Symlink(p, t) => {
                let path = root.join(PATHS[*p]);
                let _ = std::fs::remove_file(&path);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::os::unix::fs::symlink(TARGETS[*t], &path).unwrap();
            }
            Op::Rename(p, q) => {
                if p != q && present(root, PATHS[*p]) {
                    let to = root.join(PATHS[*q]);
                    let _ = std::fs::remove_file(&to);
                    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
                    std::fs::rename(root.join(PATHS[*p]), &to).unwrap();
                    remove(root, PATHS[*p]);
                }
            }
        }
    }
}

/// The state without ignored files.
fn not_ignored(state: &BTreeMap<String, Entry>) -> BTreeMap<String, Entry> {
    state.iter().filter(|(k, _)| !IGNORED.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// The restored state without ignored files, nor directories created after
/// the snapshot only to hold ignored files (a restore leaves those alone).
fn restored_not_ignored(
    restored: &BTreeMap<String, Entry>,
    snapshot: &BTreeMap<String, Entry>,
) -> BTreeMap<String, Entry> {
    let kept = not_ignored(restored);
    kept.iter()
        .filter(|(k, v)| {
            let holds_ignored = IGNORED.iter().any(|i| restored.contains_key(*i) && i.starts_with(&format!("{k}/")));
            **v != Entry::Dir || snapshot.contains_key(*k) || !holds_ignored
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn ignored(state: &BTreeMap<String, Entry>) -> Vec<Option<Entry>> {
    IGNORED.iter().map(|p| state.get(*p).cloned()).collect()
}

fn status(root: &Path) -> String {
    git(root, &["--no-optional-locks", "status", "--porcelain=v1", "--untracked-files=all"])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn restore_brings_back_the_snapshotted_tree_whatever_happened_before_and_after(
        committed in proptest::collection::vec(op(), 0..6),
        before in proptest::collection::vec(op(), 0..8),
        after in proptest::collection::vec(op(), 1..10),
    ) {
        let dir = init_repo();
        let root = dir.path();
        write(root, ".gitignore", b"*.log\n");
        apply(root, &committed);
        git(root, &["add", "-A"]);
        git(root, &["commit", "-q", "--allow-empty", "-m", "base"]);
        apply(root, &before);
        let snapshot_state = tree_state(root);
        let index_bytes = std::fs::read(root.join(".git/index")).ok();
        let status_before = status(root);

        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let snaps = GitSnapshotter::new();
        let id = rt.block_on(snaps.snapshot(root)).unwrap();
        // Taking the snapshot changed nothing.
        prop_assert_eq!(&tree_state(root), &snapshot_state);
        prop_assert_eq!(std::fs::read(root.join(".git/index")).ok(), index_bytes.clone());
        let (expected, tree) = crate::snapshot::git_tree_and_snapshot_tree(root, &id);
        prop_assert_eq!(tree, expected, "the snapshot's tree is not what `git add -A` records");
        apply(root, &after);
        let ignored_after = ignored(&tree_state(root));
        rt.block_on(snaps.restore(root, &id)).unwrap();

        let restored = tree_state(root);
        prop_assert_eq!(ignored(&restored), ignored_after, "an ignored file was touched");
        prop_assert_eq!(restored_not_ignored(&restored, &snapshot_state), not_ignored(&snapshot_state));
        prop_assert_eq!(std::fs::read(root.join(".git/index")).ok(), index_bytes);
        prop_assert_eq!(status(root), status_before);
    }
}
