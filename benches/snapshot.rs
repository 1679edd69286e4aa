//! Snapshot-and-roll-back cost: `GitSnapshotter` against the git commands a
//! user would otherwise script (`git stash push --include-untracked` to save,
//! `git reset --hard && git clean -fd && git stash pop` to roll back).
//!
//! Both work on identical copies of the same tree: 300 tracked files, 30 of
//! them modified, 20 untracked files, and an ignored `target/` directory.
//! Each iteration saves the state, dirties the tree (one edit, one new file,
//! one deletion), and restores it.
//!
//! ```sh
//! cargo bench --bench snapshot
//! ```
#![allow(missing_docs)] // criterion's macros generate undocumented items

use agentkit::core::Snapshotter;
use agentkit::sandbox::GitSnapshotter;
use criterion::{Criterion, criterion_group, criterion_main};
use std::path::Path;
use std::process::Command;

fn git(root: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["-c", "user.name=bench", "-c", "user.email=bench@example.invalid"])
        .args(args)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn make_tree(root: &Path) {
    std::fs::create_dir_all(root).expect("mkdir");
    git(root, &["init", "-q"]);
    std::fs::write(root.join(".gitignore"), "/target\n").expect("write");
    for i in 0..300 {
        let dir = root.join(format!("src/m{}", i % 15));
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join(format!("f{i}.rs")), format!("pub fn f{i}() -> u32 {{ {i} }}\n").repeat(20))
            .expect("write");
    }
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "base"]);
    for i in (0..300).step_by(10) {
        let path = root.join(format!("src/m{}/f{i}.rs", i % 15));
        std::fs::write(&path, format!("// modified\npub fn f{i}() -> u32 {{ {} }}\n", i + 1)).expect("write");
    }
    for i in 0..20 {
        std::fs::write(root.join(format!("notes{i}.txt")), format!("untracked {i}\n")).expect("write");
    }
    std::fs::create_dir_all(root.join("target/debug")).expect("mkdir");
    std::fs::write(root.join("target/debug/big.bin"), vec![7u8; 4 << 20]).expect("write");
}

fn dirty(root: &Path) {
    std::fs::write(root.join("src/m0/f0.rs"), "broken").expect("write");
    std::fs::write(root.join("src/new.rs"), "new").expect("write");
    std::fs::remove_file(root.join("src/m1/f1.rs")).expect("remove");
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let ours = dir.path().join("ours");
    let theirs = dir.path().join("theirs");
    make_tree(&ours);
    make_tree(&theirs);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let snapshotter = GitSnapshotter::new();

    let mut group = c.benchmark_group("snapshot_dirty_restore");
    group.sample_size(20);
    group.bench_function("agentkit_git_snapshotter", |b| {
        b.iter(|| {
            rt.block_on(async {
                let id = snapshotter.snapshot(&ours).await.expect("snapshot");
                dirty(&ours);
                snapshotter.restore(&ours, &id).await.expect("restore");
                snapshotter.discard(&ours, &id).await.expect("discard");
            })
        })
    });
    group.bench_function("git_stash_reset_clean_pop", |b| {
        b.iter(|| {
            git(&theirs, &["stash", "push", "-q", "--include-untracked"]);
            git(&theirs, &["stash", "apply", "-q"]);
            dirty(&theirs);
            git(&theirs, &["reset", "-q", "--hard"]);
            git(&theirs, &["clean", "-q", "-fd"]);
            git(&theirs, &["stash", "pop", "-q"]);
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = bench
}
criterion_main!(benches);
