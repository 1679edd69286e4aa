//! Property: whatever happens before and after a snapshot, restore brings
//! back the snapshotted tree byte for byte and mode for mode.

use crate::common::{Entry, git, init_repo, set_exec, tree_state, write};
use agent_core::Snapshotter;
use agent_sandbox::GitSnapshotter;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

/// Paths the operations touch; `x.log` is ignored by the repository.
const PATHS: &[&str] = &["a.txt", "b.bin", "d/c.txt", "d/e/f.txt", "g/h.txt", "x.log"];

#[derive(Clone, Debug)]
enum Op {
    Write(usize, Vec<u8>),
    Delete(usize),
    Chmod(usize, bool),
    Stage(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let path = 0..PATHS.len();
    prop_oneof![
        3 => (path.clone(), proptest::collection::vec(any::<u8>(), 0..64)).prop_map(|(p, b)| Op::Write(p, b)),
        2 => path.clone().prop_map(Op::Delete),
        1 => (path.clone(), any::<bool>()).prop_map(|(p, x)| Op::Chmod(p, x)),
        1 => path.prop_map(Op::Stage),
    ]
}

fn apply(root: &Path, ops: &[Op]) {
    for op in ops {
        match op {
            Op::Write(p, bytes) => write(root, PATHS[*p], bytes),
            Op::Delete(p) => {
                let _ = std::fs::remove_file(root.join(PATHS[*p]));
                // Leave no empty directory behind, as a person deleting files would not notice.
                let mut dir = root.join(PATHS[*p]);
                while dir.pop() && dir != root {
                    if std::fs::remove_dir(&dir).is_err() {
                        break;
                    }
                }
            }
            Op::Chmod(p, exec) => {
                if root.join(PATHS[*p]).exists() {
                    set_exec(root, PATHS[*p], *exec);
                }
            }
            Op::Stage(p) => {
                if PATHS[*p] == "x.log" {
                } else if root.join(PATHS[*p]).exists() {
                    git(root, &["add", "--", PATHS[*p]]);
                } else {
                    git(root, &["rm", "-q", "--cached", "--ignore-unmatch", "--", PATHS[*p]]);
                }
            }
        }
    }
}

fn not_ignored(state: BTreeMap<String, Entry>) -> BTreeMap<String, Entry> {
    state.into_iter().filter(|(k, _)| k != "x.log").collect()
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
        let status = git(root, &["--no-optional-locks", "status", "--porcelain=v1", "--untracked-files=all"]);

        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let snaps = GitSnapshotter::new();
        let id = rt.block_on(snaps.snapshot(root)).unwrap();
        apply(root, &after);
        let ignored_after = tree_state(root).remove("x.log");
        rt.block_on(snaps.restore(root, &id)).unwrap();

        let restored = tree_state(root);
        prop_assert_eq!(restored.get("x.log").cloned(), ignored_after, "the ignored file was touched");
        prop_assert_eq!(not_ignored(restored), not_ignored(snapshot_state));
        prop_assert_eq!(std::fs::read(root.join(".git/index")).ok(), index_bytes);
        prop_assert_eq!(git(root, &["--no-optional-locks", "status", "--porcelain=v1", "--untracked-files=all"]), status);
    }
}
