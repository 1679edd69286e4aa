//! `DirSnapshotter`: exact restore of plain directories, exclusions reported
//! and left alone, crash recovery, ids.

use crate::common::write;
use agent_core::Snapshotter;
use agent_core::snapshot::{SnapshotError, SnapshotId};
use agent_sandbox::{DirExclusionReason, DirSnapshotter, ExcludedPath};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// What is at one path: kind, permission bits, bytes, symlink target.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    File { mode: u32, bytes: Vec<u8> },
    Symlink(PathBuf),
    Dir { mode: u32 },
}

/// Every path under `root` (nothing skipped) with everything restore must bring back.
fn full_state(root: &Path) -> BTreeMap<String, Node> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Node>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let mode = meta.permissions().mode() & 0o7777;
            if meta.file_type().is_symlink() {
                out.insert(rel, Node::Symlink(std::fs::read_link(&path).unwrap()));
            } else if meta.is_dir() {
                out.insert(rel, Node::Dir { mode });
                walk(root, &path, out);
            } else {
                out.insert(rel, Node::File { mode, bytes: std::fs::read(&path).unwrap() });
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn chmod(root: &Path, rel: &str, mode: u32) {
    std::fs::set_permissions(root.join(rel), std::fs::Permissions::from_mode(mode)).unwrap();
}

fn symlink(root: &Path, target: &str, rel: &str) {
    std::os::unix::fs::symlink(target, root.join(rel)).unwrap();
}

/// A workspace (no git) with text and binary files, an executable, a
/// read-only file, symlinks (one dangling), empty directories and a
/// directory with a non-default mode; and a snapshotter with its own store.
fn workspace() -> (tempfile::TempDir, tempfile::TempDir, DirSnapshotter) {
    let ws = tempfile::tempdir().unwrap();
    let root = ws.path();
    write(root, "README.md", b"# demo\n");
    write(root, "src/main.rs", b"fn main() {}\n");
    write(root, "src/util/mod.rs", b"pub fn u() {}\n");
    write(root, "data/blob.bin", &(0..=255u8).cycle().take(5000).collect::<Vec<_>>());
    write(root, "run.sh", b"#!/bin/sh\necho run\n");
    chmod(root, "run.sh", 0o755);
    write(root, "locked.txt", b"read only\n");
    chmod(root, "locked.txt", 0o444);
    symlink(root, "README.md", "readme-link");
    symlink(root, "does/not/exist", "dangling");
    std::fs::create_dir_all(root.join("empty/nested-empty")).unwrap();
    std::fs::create_dir(root.join("private")).unwrap();
    write(root, "private/key.txt", b"secret\n");
    chmod(root, "private", 0o750);
    let store = tempfile::tempdir().unwrap();
    let snaps = DirSnapshotter::new(store.path().to_path_buf());
    (ws, store, snaps)
}

/// Every kind of change an attempt could make to the workspace.
fn vandalise(root: &Path) {
    write(root, "README.md", b"# rewritten by the agent\n");
    std::fs::remove_file(root.join("src/main.rs")).unwrap();
    std::fs::remove_dir_all(root.join("src/util")).unwrap();
    write(root, "data/blob.bin", b"no longer binary");
    write(root, "new.txt", b"new file\n");
    write(root, "newdir/deep/x.rs", b"fn x() {}\n");
    std::fs::create_dir_all(root.join("new-empty/inner")).unwrap();
    chmod(root, "run.sh", 0o644);
    chmod(root, "locked.txt", 0o644);
    std::fs::remove_file(root.join("readme-link")).unwrap();
    write(root, "readme-link", b"a regular file now\n");
    std::fs::remove_file(root.join("dangling")).unwrap();
    symlink(root, "src", "dangling");
    symlink(root, "README.md", "new-link");
    std::fs::remove_dir(root.join("empty/nested-empty")).unwrap();
    write(root, "empty/nested-empty", b"file where a directory was\n");
    chmod(root, "private", 0o755);
}

#[tokio::test]
async fn restore_undoes_modified_deleted_and_new_files_dirs_modes_and_symlinks_exactly() {
    let (ws, _store, snaps) = workspace();
    let root = ws.path();
    let before = full_state(root);
    let id = snaps.snapshot(root).await.unwrap();
    assert_eq!(full_state(root), before, "taking a snapshot changed the workspace");

    vandalise(root);
    assert_ne!(full_state(root), before);
    snaps.restore(root, &id).await.unwrap();
    assert_eq!(full_state(root), before);

    // A second restore of the same snapshot is a no-op and still exact.
    snaps.restore(root, &id).await.unwrap();
    assert_eq!(full_state(root), before);
}

#[tokio::test]
async fn restore_leaves_unchanged_files_alone_so_they_keep_their_mtime() {
    let (ws, _store, snaps) = workspace();
    let root = ws.path();
    let old = SystemTime::now() - Duration::from_secs(3600);
    for rel in ["src/main.rs", "data/blob.bin", "run.sh"] {
        std::fs::File::options().write(true).open(root.join(rel)).unwrap().set_modified(old).unwrap();
    }
    let mtime = |rel: &str| std::fs::metadata(root.join(rel)).unwrap().modified().unwrap();
    let id = snaps.snapshot(root).await.unwrap();

    write(root, "README.md", b"changed\n");
    chmod(root, "run.sh", 0o600); // a mode-only change is undone by chmod, not a rewrite
    snaps.restore(root, &id).await.unwrap();

    assert_eq!(mtime("src/main.rs"), old);
    assert_eq!(mtime("data/blob.bin"), old);
    assert_eq!(mtime("run.sh"), old);
    assert_eq!(std::fs::read(root.join("README.md")).unwrap(), b"# demo\n");
}

#[tokio::test]
async fn excluded_directories_and_large_files_are_reported_and_never_touched_by_restore() {
    let ws = tempfile::tempdir().unwrap();
    let root = ws.path();
    write(root, "index.js", b"module.exports = 1;\n");
    write(root, "node_modules/left-pad/index.js", b"original dependency\n");
    write(root, "target/debug/app", b"\x7fELF build output");
    write(root, "crates/a/target/x.rlib", b"nested build output");
    write(root, "big.dat", &[7u8; 3000]);
    write(root, "small.dat", &[1u8; 1000]);
    let store = tempfile::tempdir().unwrap();
    let snaps = DirSnapshotter::new(store.path().to_path_buf()).with_max_file_bytes(2048);
    let id = snaps.snapshot(root).await.unwrap();

    let mut excluded = snaps.excluded(&id).unwrap();
    excluded.sort_by(|a, b| a.path.cmp(&b.path));
    let listed: Vec<(PathBuf, DirExclusionReason)> = excluded.into_iter().map(|e| (e.path, e.reason)).collect();
    assert_eq!(
        listed,
        vec![
            (PathBuf::from("big.dat"), DirExclusionReason::TooLarge { size: 3000, limit: 2048 }),
            (PathBuf::from("crates/a/target"), DirExclusionReason::ExcludedDirectory),
            (PathBuf::from("node_modules"), DirExclusionReason::ExcludedDirectory),
            (PathBuf::from("target"), DirExclusionReason::ExcludedDirectory),
        ]
    );

    // The attempt changes excluded content, the large file and a normal file,
    // and installs a dependency in a directory that did not exist.
    write(root, "node_modules/left-pad/index.js", b"patched by npm install\n");
    write(root, "node_modules/new-dep/index.js", b"new dependency\n");
    write(root, "target/debug/app", b"rebuilt");
    write(root, "big.dat", &[9u8; 5000]);
    write(root, "index.js", b"broken(\n");
    write(root, "packages/p/node_modules/q/index.js", b"nested install\n");
    write(root, "packages/p/index.js", b"new package\n");
    let touched = |state: BTreeMap<String, Node>| -> BTreeMap<String, Node> {
        state
            .into_iter()
            .filter(|(k, _)| {
                k == "big.dat" || k.starts_with("node_modules") || k.starts_with("target") || k.contains("node_modules")
            })
            .collect()
    };
    let excluded_after_edit = touched(full_state(root));

    snaps.restore(root, &id).await.unwrap();

    let after = full_state(root);
    assert_eq!(touched(after.clone()), excluded_after_edit, "restore touched excluded paths");
    assert_eq!(std::fs::read(root.join("index.js")).unwrap(), b"module.exports = 1;\n");
    assert_eq!(std::fs::read(root.join("small.dat")).unwrap(), vec![1u8; 1000]);
    assert_eq!(std::fs::read(root.join("crates/a/target/x.rlib")).unwrap(), b"nested build output");
    // The new package directory stays only to hold its (excluded) node_modules.
    assert!(!root.join("packages/p/index.js").exists());
    assert!(root.join("packages/p/node_modules/q/index.js").exists());
}

#[tokio::test]
async fn a_store_inside_the_workspace_is_reported_and_survives_restore() {
    let ws = tempfile::tempdir().unwrap();
    let root = ws.path();
    write(root, "a.txt", b"a\n");
    let snaps = DirSnapshotter::new(root.join(".snapshots"));
    let id = snaps.snapshot(root).await.unwrap();
    let excluded = snaps.excluded(&id).unwrap();
    assert!(
        excluded
            .iter()
            .any(|e: &ExcludedPath| e.path == Path::new(".snapshots") && e.reason == DirExclusionReason::SnapshotStore),
        "{excluded:?}"
    );
    write(root, "a.txt", b"changed\n");
    snaps.restore(root, &id).await.unwrap();
    assert_eq!(std::fs::read(root.join("a.txt")).unwrap(), b"a\n");
    snaps.restore(root, &id).await.unwrap();
}

#[tokio::test]
async fn restore_after_an_interrupted_restore_ends_exact_and_clears_the_marker() {
    let (ws, store, snaps) = workspace();
    let root = ws.path();
    let before = full_state(root);
    let id = snaps.snapshot(root).await.unwrap();
    vandalise(root);

    // What a crash halfway through a restore leaves: the marker, some files
    // already back, a temporary file next to its destination, the rest not.
    let marker = store.path().join(id.as_str()).join("restore-in-progress");
    std::fs::write(&marker, b"").unwrap();
    write(root, "README.md", b"# demo\n");
    write(root, "src/main.rs", b"fn main() {}\n");
    write(root, "src/.agentkit-restore-1-0.tmp", b"fn main() {");
    std::fs::remove_file(root.join("new.txt")).unwrap();
    assert_eq!(snaps.interrupted_restores().unwrap(), vec![id.clone()]);

    snaps.restore(root, &id).await.unwrap();

    assert_eq!(full_state(root), before);
    assert!(!marker.exists());
    assert!(snaps.interrupted_restores().unwrap().is_empty());
}

#[tokio::test]
async fn discard_removes_the_snapshot_and_unknown_ids_and_missing_roots_are_errors() {
    let (ws, store, snaps) = workspace();
    let root = ws.path();
    let id = snaps.snapshot(root).await.unwrap();
    let second = snaps.snapshot(root).await.unwrap();
    assert_ne!(id, second, "snapshot ids must be unique");
    assert!(store.path().join(id.as_str()).join("manifest.json").is_file());

    snaps.discard(root, &id).await.unwrap();
    assert!(!store.path().join(id.as_str()).exists());
    assert!(matches!(snaps.restore(root, &id).await, Err(SnapshotError::NotFound { .. })));
    assert!(matches!(snaps.discard(root, &id).await, Err(SnapshotError::NotFound { .. })));
    assert!(matches!(snaps.excluded(&id), Err(SnapshotError::NotFound { .. })));
    for bogus in ["../etc", "", "d/../../x", "nope"] {
        assert!(matches!(snaps.restore(root, &SnapshotId::from(bogus)).await, Err(SnapshotError::NotFound { .. })));
    }

    let missing = root.join("no-such-dir");
    assert!(matches!(snaps.discard(&missing, &second).await, Err(SnapshotError::Unsupported { .. })));
    assert!(matches!(snaps.snapshot(&missing).await, Err(SnapshotError::Unsupported { .. })));

    // A snapshot belongs to the root it was taken of.
    let other = tempfile::tempdir().unwrap();
    assert!(matches!(snaps.restore(other.path(), &second).await, Err(SnapshotError::NotFound { .. })));
    snaps.discard(root, &second).await.unwrap();
}

/// Paths the property test writes to (directories appear as parents).
const PATHS: &[&str] = &["a.txt", "b.bin", "d/c.txt", "d/e/f.txt", "g/h", "g/i/j.txt"];

#[derive(Clone, Debug)]
enum Op {
    Write(usize, Vec<u8>),
    Delete(usize),
    Chmod(usize, bool),
    Symlink(usize, usize),
    MkdirEmpty(usize),
    RemoveDirOf(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let p = 0..PATHS.len();
    prop_oneof![
        4 => (p.clone(), proptest::collection::vec(any::<u8>(), 0..96)).prop_map(|(i, b)| Op::Write(i, b)),
        2 => p.clone().prop_map(Op::Delete),
        1 => (p.clone(), any::<bool>()).prop_map(|(i, x)| Op::Chmod(i, x)),
        1 => (p.clone(), p.clone()).prop_map(|(i, j)| Op::Symlink(i, j)),
        1 => p.clone().prop_map(Op::MkdirEmpty),
        1 => p.prop_map(Op::RemoveDirOf),
    ]
}

/// Applies `ops`, each one forcing its way (replacing whatever is in the way).
fn apply(root: &Path, ops: &[Op]) {
    let clear = |path: &Path| {
        if let Ok(meta) = std::fs::symlink_metadata(path) {
            if meta.is_dir() {
                std::fs::remove_dir_all(path).unwrap();
            } else {
                std::fs::remove_file(path).unwrap();
            }
        }
    };
    // Makes the parents of `path` directories, replacing files in the way.
    let parents = |path: &Path| {
        let mut acc = PathBuf::from(root);
        let rel = path.strip_prefix(root).unwrap();
        let comps: Vec<_> = rel.components().collect();
        for c in &comps[..comps.len() - 1] {
            acc.push(c);
            match std::fs::symlink_metadata(&acc) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    std::fs::remove_file(&acc).unwrap();
                    std::fs::create_dir(&acc).unwrap();
                }
                Err(_) => std::fs::create_dir(&acc).unwrap(),
            }
        }
    };
    for op in ops {
        match op {
            Op::Write(i, bytes) => {
                let path = root.join(PATHS[*i]);
                parents(&path);
                clear(&path);
                std::fs::write(&path, bytes).unwrap();
            }
            Op::Delete(i) => clear(&root.join(PATHS[*i])),
            Op::Chmod(i, exec) => {
                let path = root.join(PATHS[*i]);
                if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
                    chmod(root, PATHS[*i], if *exec { 0o755 } else { 0o644 });
                }
            }
            Op::Symlink(i, j) => {
                let path = root.join(PATHS[*i]);
                parents(&path);
                clear(&path);
                std::os::unix::fs::symlink(PATHS[*j], &path).unwrap();
            }
            Op::MkdirEmpty(i) => {
                let path = root.join(format!("{}.dir", PATHS[*i]));
                parents(&path);
                clear(&path);
                std::fs::create_dir(&path).unwrap();
            }
            Op::RemoveDirOf(i) => {
                if let Some(parent) = Path::new(PATHS[*i]).parent().filter(|p| !p.as_os_str().is_empty()) {
                    clear(&root.join(parent));
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn restore_brings_back_any_random_tree_after_any_random_edits(
        initial in proptest::collection::vec(op(), 0..12),
        edits in proptest::collection::vec(op(), 1..12),
    ) {
        let ws = tempfile::tempdir().unwrap();
        let root = ws.path();
        apply(root, &initial);
        let before = full_state(root);
        let store = tempfile::tempdir().unwrap();
        let snaps = DirSnapshotter::new(store.path().to_path_buf());
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let id = rt.block_on(snaps.snapshot(root)).unwrap();
        apply(root, &edits);
        rt.block_on(snaps.restore(root, &id)).unwrap();
        prop_assert_eq!(full_state(root), before);
    }
}
