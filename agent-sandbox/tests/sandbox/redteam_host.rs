//! Red team, host side: what a hostile command leaves in a repository, a
//! worktree slot or a snapshot store never gets a program run by the host
//! nor a file written outside the workspace.
//!
//! Every planted program is `evil.sh`, which appends a line naming itself
//! and its arguments to a marker file outside the workspace (and passes its
//! input through, as a filter must); a test fails when that marker exists.

use crate::common::{git, init_repo, tree_state, write};
use agent_core::Snapshotter;
use agent_core::snapshot::{SnapshotError, SnapshotId};
use agent_sandbox::{DirSnapshotter, GitSnapshotter, WorktreePool};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Bytes no line-ending conversion or filter would leave alone.
const RAW: &[u8] = b"raw\r\nbytes \x00\xff\r\nend";

/// A directory outside every workspace holding `evil.sh` and, once it ran,
/// its marker `ran`.
struct Trap {
    dir: tempfile::TempDir,
}

impl Trap {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("ran");
        let script = dir.path().join("evil.sh");
        std::fs::write(&script, format!("#!/bin/sh\necho \"$0 $*\" >> '{}'\nexec cat\n", marker.display())).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        Self { dir }
    }

    fn script(&self) -> String {
        self.dir.path().join("evil.sh").display().to_string()
    }

    /// What ran, if anything did.
    fn ran(&self) -> Option<String> {
        std::fs::read_to_string(self.dir.path().join("ran")).ok()
    }
}

/// Every hook name git runs on some path (all of them, not only those the
/// host's commands should reach), as a marker-writing script in `hooks`.
fn plant_hooks(hooks: &Path, trap: &Trap) {
    std::fs::create_dir_all(hooks).unwrap();
    for name in [
        "applypatch-msg",
        "pre-applypatch",
        "post-applypatch",
        "pre-commit",
        "pre-merge-commit",
        "prepare-commit-msg",
        "commit-msg",
        "post-commit",
        "pre-rebase",
        "post-checkout",
        "post-merge",
        "pre-push",
        "pre-receive",
        "update",
        "proc-receive",
        "post-receive",
        "post-update",
        "reference-transaction",
        "push-to-checkout",
        "pre-auto-gc",
        "post-rewrite",
        "sendemail-validate",
        "fsmonitor-watchman",
        "p4-changelist",
        "p4-prepare-changelist",
        "p4-post-changelist",
        "p4-pre-submit",
        "post-index-change",
    ] {
        let path = hooks.join(name);
        std::fs::copy(trap.dir.path().join("evil.sh"), &path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// Plants in `git_dir` what a command with write access to it could: a
/// filter driver (clean, smudge and long-running process) applied to every
/// path by `info/attributes`, `core.fsmonitor`, hooks in `hooks/` and in a
/// `core.hooksPath`, auto gc on every occasion, and every program setting
/// git has (pager, external diff, credentials, ssh, askpass).
fn plant_everything(git_dir: &Path, trap: &Trap) {
    let evil = trap.script();
    let config = git_dir.join("config");
    let set = |key: &str, value: &str| {
        let out = std::process::Command::new("git")
            .args(["config", "--file"])
            .arg(&config)
            .args([key, value])
            .output()
            .unwrap();
        assert!(out.status.success(), "git config {key}: {}", String::from_utf8_lossy(&out.stderr));
    };
    set("filter.evil.clean", &evil);
    set("filter.evil.smudge", &evil);
    set("filter.evil.process", &evil);
    set("filter.evil.required", "true");
    set("filter.a.b.clean", &evil);
    // A name `-c` cannot express.
    set("filter.x=y.smudge", &evil);
    set("filter.x=y.clean", &evil);
    set("filter.a.b.process", &evil);
    set("core.fsmonitor", &evil);
    set("core.untrackedCache", "true");
    let hooks_path = git_dir.join("evil-hooks");
    plant_hooks(&hooks_path, trap);
    plant_hooks(&git_dir.join("hooks"), trap);
    set("core.hooksPath", &hooks_path.display().to_string());
    set("gc.auto", "1");
    set("gc.autoDetach", "false");
    set("core.pager", &evil);
    set("diff.external", &evil);
    set("credential.helper", &format!("!{evil}"));
    set("core.sshCommand", &evil);
    set("core.askPass", &evil);
    set("core.alternateRefsCommand", &evil);
    set("uploadpack.packObjectsHook", &evil);
    std::fs::create_dir_all(git_dir.join("info")).unwrap();
    std::fs::write(git_dir.join("info/attributes"), "* filter=evil\n*.dat filter=a.b\n*.txt filter=x=y\n").unwrap();
}

/// A `git` that logs each invocation's arguments to `log` and runs the real one.
fn logging_git(dir: &Path) -> (PathBuf, PathBuf) {
    let log = dir.join("git.log");
    let wrapper = dir.join("git-wrapper");
    std::fs::write(&wrapper, format!("#!/bin/sh\necho \"$*\" >> '{}'\nexec git \"$@\"\n", log.display())).unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    (wrapper, log)
}

/// A committed repository with a `.gitattributes` naming the filter and a
/// file of raw bytes, committed before anything was planted.
fn attributed_repo() -> tempfile::TempDir {
    let dir = init_repo();
    let root = dir.path();
    write(root, ".gitattributes", b"*.dat filter=evil\n*.txt text eol=crlf\n");
    write(root, "data.dat", RAW);
    write(root, "notes.txt", b"one\ntwo\n");
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "init"]);
    dir
}

/// Snapshot, change, restore, ref changes, discard: the whole host path,
/// asserting the tree came back byte for byte. With `cli`, a directory is
/// left where a file was, which sends the restore to the command line.
async fn round_trip(snaps: &GitSnapshotter, root: &Path, cli: bool) {
    write(root, "untracked.dat", RAW);
    write(root, "data.dat", b"changed by the user\r\n\x01");
    let before = tree_state(root);
    let id = snaps.snapshot(root).await.unwrap();
    write(root, "data.dat", b"changed by the command\n");
    std::fs::remove_file(root.join("untracked.dat")).unwrap();
    write(root, "new.dat", RAW);
    if cli {
        std::fs::remove_file(root.join("notes.txt")).unwrap();
        write(root, "notes.txt/inner", b"a directory now\n");
    } else {
        write(root, "notes.txt", b"rewritten\r\n");
    }
    snaps.restore(root, &id).await.unwrap();
    assert_eq!(tree_state(root), before, "the restore is not byte for byte");
    assert!(snaps.ref_changes(root, &id).await.unwrap().is_empty());
    snaps.discard(root, &id).await.unwrap();
}

/// [`attributed_repo`], set up so snapshot and restore take `path`: "in
/// process" or "command line" (an intent-to-add entry sends both to git).
fn attributed_repo_on(path: &str) -> tempfile::TempDir {
    let dir = attributed_repo();
    if path == "command line" {
        write(dir.path(), "pending.txt", b"to be added\n");
        git(dir.path(), &["add", "-N", "pending.txt"]);
    }
    dir
}

#[tokio::test]
async fn filter_drivers_planted_in_the_repository_never_run_on_snapshot_or_restore() {
    for path in ["in process", "command line"] {
        let trap = Trap::new();
        let dir = attributed_repo_on(path);
        let root = dir.path();
        let config = root.join(".git/config");
        let evil = trap.script();
        for (key, value) in [
            ("filter.evil.clean", evil.as_str()),
            ("filter.evil.smudge", evil.as_str()),
            ("filter.evil.required", "true"),
        ] {
            git(root, &["config", "--file", &config.display().to_string(), key, value]);
        }
        std::fs::write(root.join(".git/info/attributes"), "* filter=evil\n").unwrap();
        let tools = tempfile::tempdir().unwrap();
        let (wrapper, log) = logging_git(tools.path());
        let snaps = GitSnapshotter::new().with_git_program(wrapper);

        round_trip(&snaps, root, path == "command line").await;

        assert_eq!(trap.ran(), None, "a planted filter ran on the {path} path");
        let calls = std::fs::read_to_string(&log).unwrap_or_default();
        if path == "command line" {
            assert!(calls.contains("add -A"), "the snapshot did not go through the command line: {calls}");
            assert!(calls.contains("checkout-index"), "the restore did not go through the command line: {calls}");
        }
    }
}

#[tokio::test]
async fn filter_processes_fsmonitor_and_hooks_planted_in_the_repository_never_run() {
    for path in ["in process", "command line"] {
        let trap = Trap::new();
        let dir = attributed_repo_on(path);
        let root = dir.path();
        plant_everything(&root.join(".git"), &trap);
        let snaps = GitSnapshotter::new();

        round_trip(&snaps, root, path == "command line").await;
        // A run left behind and recovered goes through the same commands.
        let id = snaps.snapshot(root).await.unwrap();
        write(root, "data.dat", b"left by a killed run\n");
        let marker = std::fs::read_dir(root.join(".git/agentkit"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("run-"))
            .unwrap();
        // The old marker format: no owner, so no owner is running.
        std::fs::write(&marker, id.as_str()).unwrap();
        snaps.recover(root).await.unwrap();

        assert_eq!(trap.ran(), None, "a planted program ran on the {path} path");
    }
}

/// A repository with two commits for a pool.
fn pool_repo() -> tempfile::TempDir {
    let dir = init_repo();
    let root = dir.path();
    write(root, "a.txt", b"version one\n");
    write(root, "data.dat", RAW);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "one"]);
    dir
}

/// A gitdir of the attacker's: a copy of the repository's (so every object
/// is there) without an index (so a checkout writes, and smudges, every
/// file), with everything planted.
fn attacker_gitdir(repo: &Path, at: &Path, trap: &Trap) {
    let out = std::process::Command::new("cp").arg("-a").arg(repo.join(".git")).arg(at).output().unwrap();
    assert!(out.status.success());
    let _ = std::fs::remove_file(at.join("index"));
    plant_everything(at, trap);
}

#[tokio::test]
async fn a_slot_whose_git_file_points_at_an_attacker_gitdir_is_recreated_without_running_its_programs() {
    let trap = Trap::new();
    let repo = pool_repo();
    let outside = tempfile::tempdir().unwrap();
    let evil_git = outside.path().join("evil.git");
    attacker_gitdir(repo.path(), &evil_git, &trap);
    let evil_config = std::fs::read(evil_git.join("config")).unwrap();
    let pool_dir = tempfile::tempdir().unwrap();
    let pool = WorktreePool::new(repo.path().to_path_buf(), pool_dir.path().join("pool"), 1);

    let slot = pool.acquire().await.unwrap();
    let path = slot.path().to_path_buf();
    let honest = std::fs::read(path.join(".git")).unwrap();
    // The command: rewrites the slot's `.git` and leaves some mess.
    std::fs::write(path.join(".git"), format!("gitdir: {}\n", evil_git.display())).unwrap();
    write(&path, "a.txt", b"tampered\n");
    drop(slot);

    let slot = pool.acquire().await.unwrap();
    assert_eq!(trap.ran(), None, "the host ran a program from the attacker's gitdir");
    assert_eq!(std::fs::read(slot.path().join(".git")).unwrap(), honest, "the slot was not put back");
    assert_eq!(std::fs::read(slot.path().join("a.txt")).unwrap(), b"version one\n");
    assert_eq!(std::fs::read(slot.path().join("data.dat")).unwrap(), RAW);
    assert_eq!(std::fs::read(evil_git.join("config")).unwrap(), evil_config);
    drop(slot);
    pool.shutdown().await.unwrap();
    assert_eq!(trap.ran(), None, "the host ran a program from the attacker's gitdir on shutdown");
}

#[tokio::test]
async fn a_slot_whose_git_is_a_symlink_or_a_directory_is_recreated_without_running_its_programs() {
    for kind in ["symlink", "directory"] {
        let trap = Trap::new();
        let repo = pool_repo();
        let outside = tempfile::tempdir().unwrap();
        let evil_git = outside.path().join("evil.git");
        attacker_gitdir(repo.path(), &evil_git, &trap);
        let pool_dir = tempfile::tempdir().unwrap();
        let pool = WorktreePool::new(repo.path().to_path_buf(), pool_dir.path().join("pool"), 1);

        let slot = pool.acquire().await.unwrap();
        let path = slot.path().to_path_buf();
        let honest = std::fs::read(path.join(".git")).unwrap();
        std::fs::remove_file(path.join(".git")).unwrap();
        if kind == "symlink" {
            let file = outside.path().join("gitfile");
            std::fs::write(&file, format!("gitdir: {}\n", evil_git.display())).unwrap();
            std::os::unix::fs::symlink(&file, path.join(".git")).unwrap();
        } else {
            let out =
                std::process::Command::new("cp").arg("-a").arg(&evil_git).arg(path.join(".git")).output().unwrap();
            assert!(out.status.success());
        }
        drop(slot);

        let slot = pool.acquire().await.unwrap();
        assert_eq!(trap.ran(), None, "the host ran a program planted behind a {kind} .git");
        let meta = std::fs::symlink_metadata(slot.path().join(".git")).unwrap();
        assert!(meta.is_file(), "the slot's .git is still a {kind}");
        assert_eq!(std::fs::read(slot.path().join(".git")).unwrap(), honest);
        assert_eq!(std::fs::read(slot.path().join("a.txt")).unwrap(), b"version one\n");
        drop(slot);
        pool.shutdown().await.unwrap();
    }
}

/// A plain workspace, a store of its own and a directory outside both.
struct DirSetup {
    ws: tempfile::TempDir,
    store: tempfile::TempDir,
    outside: tempfile::TempDir,
    snaps: DirSnapshotter,
}

fn dir_setup() -> DirSetup {
    let ws = tempfile::tempdir().unwrap();
    write(ws.path(), "a.txt", b"alpha\n");
    write(ws.path(), "sub/f.txt", b"in sub\n");
    let store = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let snaps = DirSnapshotter::new(store.path().join("snaps"));
    DirSetup { ws, store, outside, snaps }
}

impl DirSetup {
    fn manifest_path(&self, id: &SnapshotId) -> PathBuf {
        self.store.path().join("snaps").join(id.as_str()).join("manifest.json")
    }

    /// Rewrites the snapshot's manifest with `edit`.
    fn tamper(&self, id: &SnapshotId, edit: impl FnOnce(&mut Vec<Value>)) {
        let path = self.manifest_path(id);
        let mut manifest: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        edit(manifest["entries"].as_array_mut().unwrap());
        std::fs::write(&path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
    }

    /// Plants `bytes` as the store's copy of `rel` (as if the snapshot had it).
    fn plant_copy(&self, id: &SnapshotId, rel: &str, bytes: &[u8]) {
        let path = self.store.path().join("snaps").join(id.as_str()).join("tree").join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    /// Restores `id`, which must be refused naming `entry`, with the
    /// workspace untouched and nothing created outside.
    async fn assert_refused(&self, id: &SnapshotId, entry: &str) {
        write(self.ws.path(), "a.txt", b"changed since\n");
        let before = tree_state(self.ws.path());
        let outside_before = tree_state(self.outside.path());
        let err = self.snaps.restore(self.ws.path(), id).await.unwrap_err();
        match &err {
            SnapshotError::RestoreRefused { id: refused, reason } => {
                assert_eq!(refused, id);
                assert!(reason.contains(entry), "the refusal does not name {entry}: {reason}");
            }
            other => panic!("not refused: {other:?}"),
        }
        assert_eq!(tree_state(self.ws.path()), before, "a refused restore changed the workspace");
        assert_eq!(tree_state(self.outside.path()), outside_before, "a refused restore wrote outside");
    }
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

fn file_entry(path: &str, bytes: &[u8]) -> Value {
    serde_json::json!({"path": path, "kind": "file", "mode": 0o644, "size": bytes.len(), "sha256": sha256(bytes)})
}

#[tokio::test]
async fn a_manifest_entry_climbing_out_of_the_root_is_refused_before_anything_is_written() {
    let s = dir_setup();
    let id = s.snaps.snapshot(s.ws.path()).await.unwrap();
    let name = s.ws.path().file_name().unwrap().to_string_lossy().into_owned();
    let escape = format!("../{name}-outside.txt");
    s.tamper(&id, |entries| entries.push(file_entry(&escape, b"planted\n")));
    s.plant_copy(&id, &escape, b"planted\n");

    s.assert_refused(&id, &escape).await;
    let sibling = s.ws.path().parent().unwrap().join(format!("{name}-outside.txt"));
    assert!(!sibling.exists(), "the restore wrote {}", sibling.display());
}

#[tokio::test]
async fn a_manifest_entry_with_an_absolute_path_is_refused_before_anything_is_written() {
    let s = dir_setup();
    let id = s.snaps.snapshot(s.ws.path()).await.unwrap();
    let dir = s.outside.path().join("created-by-restore");
    let link = s.outside.path().join("link-by-restore");
    let (dir_s, link_s) = (dir.display().to_string(), link.display().to_string());
    s.tamper(&id, |entries| {
        entries.push(serde_json::json!({"path": dir_s, "kind": "dir", "mode": 0o755, "size": 0}));
        entries.push(serde_json::json!({"path": link_s, "kind": "symlink", "mode": 0o777, "size": 0, "target": "/"}));
    });

    s.assert_refused(&id, &dir_s).await;
    assert!(!dir.exists() && std::fs::symlink_metadata(&link).is_err(), "the restore created paths outside");
}

#[tokio::test]
async fn a_manifest_writing_through_a_directory_swapped_for_a_symlink_to_outside_is_refused() {
    let s = dir_setup();
    let id = s.snaps.snapshot(s.ws.path()).await.unwrap();
    let outside = s.outside.path().display().to_string();
    // The command swaps `sub` for a symlink to outside and records it so in
    // the manifest; the manifest still lists `sub/f.txt`.
    std::fs::remove_dir_all(s.ws.path().join("sub")).unwrap();
    std::os::unix::fs::symlink(s.outside.path(), s.ws.path().join("sub")).unwrap();
    s.tamper(&id, |entries| {
        for e in entries.iter_mut() {
            if e["path"] == "sub" {
                *e = serde_json::json!({"path": "sub", "kind": "symlink", "mode": 0o777, "size": 0, "target": outside});
            }
        }
    });

    s.assert_refused(&id, "sub/f.txt").await;
    assert!(!s.outside.path().join("f.txt").exists(), "the restore wrote through the symlink");
}

#[tokio::test]
async fn manifest_entries_with_a_nul_byte_a_dot_component_or_listed_twice_are_refused() {
    for (bad, label) in
        [("a\0b.txt", "a\\0b.txt"), ("./a.txt", "./a.txt"), ("sub/../a.txt", "sub/../a.txt"), ("a.txt", "a.txt")]
    {
        let s = dir_setup();
        let id = s.snaps.snapshot(s.ws.path()).await.unwrap();
        // `a.txt` is already listed: adding it again is a duplicate.
        s.tamper(&id, |entries| entries.push(file_entry(bad, b"alpha\n")));
        s.assert_refused(&id, label).await;
    }
}

#[tokio::test]
async fn a_directory_swapped_for_a_symlink_to_outside_is_put_back_without_writing_outside() {
    let s = dir_setup();
    let before = tree_state(s.ws.path());
    let id = s.snaps.snapshot(s.ws.path()).await.unwrap();
    std::fs::remove_dir_all(s.ws.path().join("sub")).unwrap();
    std::os::unix::fs::symlink(s.outside.path(), s.ws.path().join("sub")).unwrap();

    s.snaps.restore(s.ws.path(), &id).await.unwrap();
    assert_eq!(tree_state(s.ws.path()), before);
    assert!(std::fs::read_dir(s.outside.path()).unwrap().next().is_none(), "the restore wrote outside");
}

#[tokio::test]
async fn a_snapshot_store_that_is_a_symlink_is_refused_and_a_new_one_is_private() {
    let s = dir_setup();
    let elsewhere = tempfile::tempdir().unwrap();
    let planted = s.store.path().join("planted");
    std::os::unix::fs::symlink(elsewhere.path(), &planted).unwrap();
    let err = DirSnapshotter::new(planted).snapshot(s.ws.path()).await.unwrap_err();
    assert!(
        matches!(&err, SnapshotError::Io { source, .. } if source.kind() == std::io::ErrorKind::PermissionDenied),
        "{err:?}"
    );
    assert!(std::fs::read_dir(elsewhere.path()).unwrap().next().is_none(), "the snapshot went through the symlink");

    let id = s.snaps.snapshot(s.ws.path()).await.unwrap();
    for dir in [s.store.path().join("snaps"), s.store.path().join("snaps").join(id.as_str())] {
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{} is not private", dir.display());
    }
}

#[tokio::test]
async fn a_pool_of_a_repository_with_planted_programs_runs_none_of_them() {
    let trap = Trap::new();
    let repo = pool_repo();
    write(repo.path(), ".gitattributes", b"*.dat filter=evil\n");
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-q", "-m", "attributes"]);
    plant_everything(&repo.path().join(".git"), &trap);
    let pool_dir = tempfile::tempdir().unwrap();
    let pool = WorktreePool::new(repo.path().to_path_buf(), pool_dir.path().join("pool"), 1);

    let slot = pool.acquire().await.unwrap();
    assert_eq!(std::fs::read(slot.path().join("data.dat")).unwrap(), RAW);
    write(slot.path(), "data.dat", b"changed\n");
    write(slot.path(), "new.dat", b"new\n");
    drop(slot);
    let slot = pool.acquire().await.unwrap();
    assert_eq!(std::fs::read(slot.path().join("data.dat")).unwrap(), RAW);
    assert!(!slot.path().join("new.dat").exists());
    drop(slot);
    pool.shutdown().await.unwrap();
    assert_eq!(trap.ran(), None, "the pool ran a program the repository names");
}

#[tokio::test]
async fn a_tampered_list_of_empty_directories_never_creates_one_through_a_symlink() {
    let dir = attributed_repo();
    let root = dir.path();
    write(root, ".gitignore", b"cache\n");
    std::fs::create_dir_all(root.join("empty/inner")).unwrap();
    let snaps = GitSnapshotter::new();
    let id = snaps.snapshot(root).await.unwrap();
    // The command: an ignored symlink to outside, and the snapshot's list
    // of empty directories made to name a directory through it.
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), root.join("cache")).unwrap();
    let listing = root.join(format!(".git/agentkit/dirs-{}", id.as_str()));
    assert!(std::fs::read(&listing).unwrap().starts_with(b"empty"), "the listing moved");
    std::fs::write(&listing, b"empty/inner\0cache/planted\0").unwrap();

    let result = snaps.restore(root, &id).await;
    assert!(std::fs::read_dir(outside.path()).unwrap().next().is_none(), "the restore created a directory outside");
    let err = result.unwrap_err();
    assert!(matches!(&err, SnapshotError::Io { path, .. } if path.ends_with("cache")), "{err:?}");
    assert!(root.join("empty/inner").is_dir());
}

#[tokio::test]
async fn a_symlinked_index_or_snapshot_directory_in_the_git_dir_is_refused_and_nothing_is_copied_out() {
    for planted in ["index", "agentkit"] {
        let dir = attributed_repo();
        let root = dir.path();
        let outside = tempfile::tempdir().unwrap();
        let secret = outside.path().join("secret");
        std::fs::write(&secret, b"host secret\n").unwrap();
        if planted == "index" {
            std::fs::remove_file(root.join(".git/index")).unwrap();
            std::os::unix::fs::symlink(&secret, root.join(".git/index")).unwrap();
        } else {
            std::os::unix::fs::symlink(outside.path(), root.join(".git/agentkit")).unwrap();
        }
        let err = GitSnapshotter::new().snapshot(root).await.unwrap_err();
        assert!(matches!(err, SnapshotError::Unsupported { .. }), "{planted}: {err:?}");
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 1, "{planted}: the snapshot wrote outside");
        let copied = planted == "index"
            && std::fs::read_dir(root.join(".git/agentkit"))
                .into_iter()
                .flatten()
                .any(|e| std::fs::read(e.unwrap().path()).is_ok_and(|b| b == b"host secret\n"));
        assert!(!copied, "{planted}: the secret was copied into the git dir");
    }
}
