//! Snapshot + restore on a large repository: `GitSnapshotter` against the git
//! command line doing the same job.
//!
//! The repository has 100,000 committed files (1,000 directories of 100),
//! then 20 of them modified and 10 new untracked files. Each iteration takes
//! a snapshot, makes the agent's edits (3 files rewritten, 2 new files, 1
//! deletion), restores the snapshot and drops it. Two repositories: a plain
//! one, and one with a root `.gitattributes` (`* text=auto`, `*.bat
//! eol=crlf`, `*.png binary`) and ten CRLF `.bat` files. On each,
//! `GitSnapshotter` runs in this process, and then with one process per
//! step (snapshot, restore, discard each in a fresh process: this binary
//! run again, or `agentctl` when `AGENTCTL` names its binary), as a
//! short-lived host or `agentctl recover` would.
//!
//! The baseline is what a script would do with git alone: a temporary
//! `GIT_INDEX_FILE` with `git add -A`, `git write-tree`, `git commit-tree`;
//! restore with `git restore --source <commit> --worktree -- .` and removal
//! of the files created since (`git ls-files -o` against the temporary index).
//!
//! ```sh
//! cargo bench --bench snapshot_large
//! # the steps through agentctl instead of this binary:
//! cargo build --release --example agentctl
//! AGENTCTL=$PWD/target/release/examples/agentctl cargo bench --bench snapshot_large
//! ```
#![allow(missing_docs)] // criterion's macros generate undocumented items

use agentkit::core::Snapshotter;
use agentkit::core::snapshot::SnapshotId;
use agentkit::sandbox::GitSnapshotter;
use criterion::{Criterion, criterion_group};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Set when this binary runs as one step of the process-per-step case.
const STEP_ENV: &str = "AGENTKIT_BENCH_SNAPSHOT_STEP";

const DIRS: usize = 1_000;
const FILES_PER_DIR: usize = 100;

fn git_cmd(root: &Path, index: Option<&Path>) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("-C").arg(root).args(["-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]);
    if let Some(index) = index {
        cmd.env("GIT_INDEX_FILE", index);
    }
    cmd
}

fn git(root: &Path, index: Option<&Path>, args: &[&str]) -> Vec<u8> {
    let out = git_cmd(root, index).args(args).output().expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

fn make_repo(root: &Path, attributes: bool) {
    std::fs::create_dir_all(root).expect("mkdir");
    git(root, None, &["init", "-q"]);
    std::fs::write(root.join(".gitignore"), "/target\n").expect("write");
    if attributes {
        std::fs::write(root.join(".gitattributes"), "* text=auto\n*.bat eol=crlf\n*.png binary\n").expect("write");
        std::fs::create_dir_all(root.join("scripts")).expect("mkdir");
        for i in 0..10 {
            std::fs::write(root.join(format!("scripts/s{i}.bat")), format!("@echo off\r\necho {i}\r\n"))
                .expect("write");
        }
    }
    for d in 0..DIRS {
        let dir = root.join(format!("src/d{:02}/m{d}", d % 50));
        std::fs::create_dir_all(&dir).expect("mkdir");
        for f in 0..FILES_PER_DIR {
            std::fs::write(dir.join(format!("f{f}.rs")), format!("pub fn f{d}_{f}() -> u32 {{ {f} }}\n"))
                .expect("write");
        }
    }
    git(root, None, &["add", "-A"]);
    git(root, None, &["commit", "-q", "-m", "base"]);
    // The user's uncommitted work: 20 modified, 10 new.
    for i in 0..20 {
        let d = i * 50;
        std::fs::write(root.join(format!("src/d{:02}/m{d}/f{i}.rs", d % 50)), format!("// modified {i}\n"))
            .expect("write");
    }
    for i in 0..10 {
        std::fs::write(root.join(format!("src/d{:02}/new{i}.rs", i)), format!("// new {i}\n")).expect("write");
    }
    // Let the stat data of the user's index settle (as after any `git status`),
    // and the writeback of the new files finish before anything is timed.
    let _ = Command::new("sync").status();
    std::thread::sleep(Duration::from_millis(1100));
    git(root, None, &["status", "--porcelain"]);
}

fn dirty(root: &Path) {
    for i in 0..3 {
        std::fs::write(root.join(format!("src/d01/m{}/f{}.rs", 1 + 50 * i, 7)), "broken").expect("write");
    }
    std::fs::write(root.join("src/agent_new.rs"), "new").expect("write");
    std::fs::write(root.join("src/d02/agent_new.rs"), "new").expect("write");
    std::fs::remove_file(root.join("src/d03/m3/f3.rs")).expect("remove");
}

fn cli_snapshot_restore(root: &Path, tmp_index: &Path) {
    let _ = std::fs::remove_file(tmp_index);
    git(root, Some(tmp_index), &["add", "-A"]);
    let tree = String::from_utf8(git(root, Some(tmp_index), &["write-tree"])).expect("utf8");
    let head = String::from_utf8(git(root, None, &["rev-parse", "HEAD"])).expect("utf8");
    let commit = String::from_utf8(git(root, None, &["commit-tree", tree.trim(), "-p", head.trim(), "-m", "snapshot"]))
        .expect("utf8");
    dirty(root);
    git(root, None, &["restore", "--source", commit.trim(), "--worktree", "--", "."]);
    let new = git(root, Some(tmp_index), &["ls-files", "-z", "-o", "--exclude-standard"]);
    for path in new.split(|b| *b == 0).filter(|p| !p.is_empty()) {
        std::fs::remove_file(root.join(String::from_utf8_lossy(path).as_ref())).expect("remove new file");
    }
}

/// Runs one step in a fresh process: `AGENTCTL` if set, else this binary.
fn step(root: &Path, what: &str, id: Option<&str>) -> String {
    let out = match std::env::var_os("AGENTCTL") {
        Some(agentctl) => {
            let mut cmd = Command::new(agentctl);
            cmd.arg(what).arg(root);
            if let Some(id) = id {
                cmd.arg(id);
            }
            cmd.output()
        }
        None => {
            let mut cmd = Command::new(std::env::current_exe().expect("current exe"));
            cmd.env(STEP_ENV, what).env("AGENTKIT_BENCH_ROOT", root);
            if let Some(id) = id {
                cmd.env("AGENTKIT_BENCH_ID", id);
            }
            cmd.output()
        }
    }
    .expect("step runs");
    assert!(out.status.success(), "{what}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).split_whitespace().last().unwrap_or_default().to_owned()
}

/// The body of a step process (see [`STEP_ENV`]).
fn run_step(what: &str) {
    let root = PathBuf::from(std::env::var_os("AGENTKIT_BENCH_ROOT").expect("AGENTKIT_BENCH_ROOT"));
    let id = std::env::var("AGENTKIT_BENCH_ID").map(SnapshotId::new);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let snapshotter = GitSnapshotter::new();
    rt.block_on(async {
        match what {
            "snapshot" => println!("{}", snapshotter.snapshot(&root).await.expect("snapshot")),
            "restore" => snapshotter.restore(&root, &id.expect("id")).await.expect("restore"),
            "discard" => snapshotter.discard(&root, &id.expect("id")).await.expect("discard"),
            other => panic!("unknown step {other}"),
        }
    });
}

fn bench(c: &mut Criterion) {
    bench_repo(c, "snapshot_restore_100k_files", false);
    bench_repo(c, "snapshot_restore_100k_files_gitattributes", true);
}

fn bench_repo(c: &mut Criterion, name: &str, attributes: bool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("repo");
    make_repo(&root, attributes);
    let tmp_index = dir.path().join("baseline-index");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let snapshotter = GitSnapshotter::new();

    let mut group = c.benchmark_group(name);
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("agentkit_git_snapshotter", |b| {
        b.iter(|| {
            rt.block_on(async {
                let id = snapshotter.snapshot(&root).await.expect("snapshot");
                dirty(&root);
                snapshotter.restore(&root, &id).await.expect("restore");
                snapshotter.discard(&root, &id).await.expect("discard");
            })
        })
    });
    group.bench_function("agentkit_process_per_step", |b| {
        b.iter(|| {
            let id = step(&root, "snapshot", None);
            dirty(&root);
            step(&root, "restore", Some(&id));
            step(&root, "discard", Some(&id));
        })
    });
    group.bench_function("git_cli_temp_index_add_write_tree_commit_tree_restore", |b| {
        b.iter(|| cli_snapshot_restore(&root, &tmp_index))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1));
    targets = bench
}

fn main() {
    if let Ok(what) = std::env::var(STEP_ENV) {
        run_step(&what);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
