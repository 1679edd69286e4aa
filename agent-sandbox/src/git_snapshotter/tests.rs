//! Snapshots of real repositories with `.gitattributes` and line-ending
//! conversion on the in-process path, and the on-disk stat cache across
//! snapshotter instances (as across processes).

use super::gix_snapshot::FILES_HASHED;
use super::stat_cache::{Cursor, StatCache};
use super::{Limits, Repo};
use agent_core::snapshot::SnapshotId;
use gix::index::entry::{Mode, Stat};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn git(root: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("git")
        .current_dir(root)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "core.safecrlf=false"])
        .args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_WORK_TREE")
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).expect("utf8").trim().to_owned()
}

/// A fresh snapshotter on `root`: nothing but what is on disk is shared with
/// any earlier one (as in another process).
fn open(root: &Path) -> Repo {
    Repo::open(Path::new("git"), root, Limits::default()).expect("open")
}

fn hashed() -> usize {
    FILES_HASHED.with(std::cell::Cell::get)
}

fn reset_hashed() {
    FILES_HASHED.with(|n| n.set(0));
}

/// Every file of the working tree (outside `.git`) with its bytes.
fn tree_bytes(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(root.join(dir)).expect("read_dir") {
            let entry = entry.expect("entry");
            let rel = dir.join(entry.file_name());
            if rel == Path::new(".git") {
                continue;
            }
            if entry.file_type().expect("type").is_dir() {
                walk(root, &rel, out);
            } else {
                out.insert(rel.clone(), std::fs::read(root.join(&rel)).expect("read"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, Path::new(""), &mut out);
    out
}

/// `path` → blob id in the snapshot's tree.
fn snapshot_blobs(root: &Path, id: &SnapshotId) -> BTreeMap<String, String> {
    let listing = text(git(root, &["ls-tree", "-r", "-z", id.as_str()]));
    listing
        .split('\0')
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (meta, path) = l.split_once('\t').expect("tab");
            (path.to_owned(), meta.split(' ').nth(2).expect("id").to_owned())
        })
        .collect()
}

/// `path` → blob id in the user's index (`git ls-files -s`).
fn index_blobs(root: &Path) -> BTreeMap<String, String> {
    let listing = text(git(root, &["ls-files", "-s", "-z"]));
    listing
        .split('\0')
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (meta, path) = l.split_once('\t').expect("tab");
            (path.to_owned(), meta.split(' ').nth(1).expect("id").to_owned())
        })
        .collect()
}

/// The blob id of a file's raw bytes, no filters.
fn raw_id(root: &Path, path: &str) -> String {
    text(git(root, &["hash-object", "--no-filters", path]))
}

fn assert_gix_path(root: &Path, id: &SnapshotId) {
    let agentkit = root.join(".git/agentkit");
    assert!(agentkit.join(format!("stat-delta-{id}")).is_file(), "the in-process path wrote the stat delta");
    assert!(!agentkit.join(format!("index-snap-{id}")).exists(), "the command-line fallback did not run");
}

/// Lets every file written so far become older than the next snapshot's
/// second (git's racy-clean rule would read them again otherwise).
fn settle() {
    std::thread::sleep(Duration::from_millis(1_100));
}

/// A repository with `* text=auto`, `*.bat eol=crlf`, a `binary` file and
/// CRLF files, committed, then some uncommitted work.
fn attributes_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    git(root, &["init", "-q"]);
    std::fs::write(root.join(".gitattributes"), "* text=auto\n*.bat eol=crlf\n*.dat binary\n").expect("write");
    std::fs::write(root.join("lf.txt"), "one\ntwo\n").expect("write");
    std::fs::write(root.join("crlf.txt"), "one\r\ntwo\r\n").expect("write");
    std::fs::write(root.join("mixed.txt"), "one\r\ntwo\nthree\r\n").expect("write");
    std::fs::write(root.join("run.bat"), "@echo off\r\necho hi\r\n").expect("write");
    std::fs::write(root.join("blob.dat"), b"\r\n\x00\x01\r\n").expect("write");
    std::fs::create_dir(root.join("sub")).expect("mkdir");
    std::fs::write(root.join("sub/deep.txt"), "deep\r\n").expect("write");
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "base"]);
    // Uncommitted work: a modified CRLF file, a staged one, an untracked one.
    std::fs::write(root.join("sub/deep.txt"), "deeper\r\nstill\r\n").expect("write");
    std::fs::write(root.join("staged.txt"), "staged\r\n").expect("write");
    git(root, &["add", "staged.txt"]);
    std::fs::write(root.join("untracked.txt"), "new\r\n").expect("write");
    settle();
    git(root, &["status", "--porcelain"]);
    dir
}

#[test]
fn a_repository_with_gitattributes_and_crlf_files_takes_the_gix_path_and_restores_the_exact_bytes() {
    let dir = attributes_repo();
    let root = dir.path();
    let before = tree_bytes(root);
    let index_before = std::fs::read(root.join(".git/index")).expect("index");
    let head_before = text(git(root, &["rev-parse", "HEAD"]));
    let user_index = index_blobs(root);
    // The index holds normalised blobs for the CRLF files: the premise.
    assert_ne!(user_index["crlf.txt"], raw_id(root, "crlf.txt"));

    for round in 0..2 {
        let (id, _) = open(root).snapshot().expect("snapshot");
        assert_gix_path(root, &id);
        let blobs = snapshot_blobs(root, &id);
        for (path, bytes) in &before {
            let path = path.to_str().expect("utf8");
            assert_eq!(blobs[path], raw_id(root, path), "round {round}: {path} is stored raw");
            let show = git(root, &["cat-file", "blob", &blobs[path]]);
            assert_eq!(&show, bytes, "round {round}: {path}");
        }
        // Files whose bytes are what git stored keep the user's index blob id.
        for path in ["lf.txt", "blob.dat", ".gitattributes"] {
            assert_eq!(blobs[path], user_index[path], "round {round}: {path} keeps the index's blob id");
        }

        // The agent's edits: rewrite, delete, create, stage.
        std::fs::write(root.join("crlf.txt"), "one\ntwo\n").expect("write");
        std::fs::write(root.join("run.bat"), "@echo off\necho hi\n").expect("write");
        std::fs::remove_file(root.join("mixed.txt")).expect("remove");
        std::fs::write(root.join("blob.dat"), b"changed").expect("write");
        std::fs::write(root.join("agent.txt"), "agent\r\n").expect("write");
        std::fs::write(root.join(".gitattributes"), "* -text\n").expect("write");
        git(root, &["add", "agent.txt", "crlf.txt"]);

        open(root).restore(&id).expect("restore");
        assert_eq!(tree_bytes(root), before, "round {round}: the working tree, byte for byte");
        assert_eq!(std::fs::read(root.join(".git/index")).expect("index"), index_before, "round {round}");
        assert_eq!(text(git(root, &["rev-parse", "HEAD"])), head_before, "round {round}");
        open(root).discard(&id).expect("discard");
        settle();
    }
}

/// A repository of `n` committed LF files under `* text=auto`, settled.
fn text_auto_repo(n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    git(root, &["init", "-q"]);
    std::fs::write(root.join(".gitattributes"), "* text=auto\n*.bat eol=crlf\n").expect("write");
    std::fs::create_dir(root.join("d")).expect("mkdir");
    for i in 0..n {
        std::fs::write(root.join(format!("d/f{i}.txt")), format!("file {i}\n")).expect("write");
    }
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "base"]);
    settle();
    git(root, &["status", "--porcelain"]);
    dir
}

#[test]
fn a_second_snapshotter_reuses_the_stat_cache_on_disk() {
    let dir = text_auto_repo(40);
    let root = dir.path();
    reset_hashed();
    let (first, _) = open(root).snapshot().expect("snapshot");
    assert_gix_path(root, &first);
    // Under `text=auto` the index cannot vouch for the bytes: all are read once.
    assert!(hashed() >= 41, "first snapshot read {} files", hashed());
    open(root).discard(&first).expect("discard");

    settle();
    reset_hashed();
    let (second, _) = open(root).snapshot().expect("snapshot");
    assert_eq!(hashed(), 0, "the second snapshotter read nothing: the cache on disk answered");
    assert_eq!(snapshot_blobs(root, &first), snapshot_blobs(root, &second));

    // One file changes: only it is read.
    std::fs::write(root.join("d/f3.txt"), "changed\r\n").expect("write");
    settle();
    reset_hashed();
    let (third, _) = open(root).snapshot().expect("snapshot");
    assert_eq!(hashed(), 1);
    assert_eq!(snapshot_blobs(root, &third)["d/f3.txt"], raw_id(root, "d/f3.txt"));
}

fn stat_of(path: &Path) -> Stat {
    let meta = gix::index::fs::Metadata::from_path_no_follow(path).expect("lstat");
    Stat::from_fs(&meta).expect("stat")
}

#[test]
fn a_damaged_or_racy_stat_cache_never_gives_a_wrong_snapshot() {
    let dir = text_auto_repo(10);
    let root = dir.path();
    let cache_path = root.join(".git/agentkit/stat-cache");
    let expected: BTreeMap<String, String> = index_blobs(root).keys().map(|p| (p.clone(), raw_id(root, p))).collect();
    let (id, _) = open(root).snapshot().expect("snapshot");
    open(root).discard(&id).expect("discard");
    let good = std::fs::read(&cache_path).expect("the cache was written");
    settle();

    // Truncated, another version, a flipped byte: no cache, everything read.
    let mut wrong_version = good.clone();
    wrong_version[4] ^= 1;
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x20;
    for (what, bytes) in
        [("truncated", &good[..good.len() - 7]), ("wrong version", &wrong_version), ("flipped", &flipped)]
    {
        std::fs::write(&cache_path, bytes).expect("write");
        reset_hashed();
        let (id, _) = open(root).snapshot().expect("snapshot");
        assert!(hashed() >= 11, "{what}: the damaged cache was not used ({} read)", hashed());
        assert_eq!(snapshot_blobs(root, &id), expected, "{what}");
        open(root).discard(&id).expect("discard");
    }

    // A cache claiming a wrong blob for a file with exactly its stat. Taken
    // in a later second it is believed (the control: the cache is used)...
    let victim = "d/f4.txt";
    let stat = stat_of(&root.join(victim));
    let bogus = gix::ObjectId::from_hex(b"0123456789abcdef0123456789abcdef01234567").expect("hex");
    let forged = |taken_secs: i64| {
        StatCache { taken_secs, entries: vec![(victim.into(), Mode::FILE, bogus, stat)], ..StatCache::default() }
            .encode()
    };
    let mut cursor = Cursor::default();
    let later = StatCache::decode(&forged(i64::from(stat.mtime.secs) + 1)).expect("decodes");
    assert_eq!(later.lookup(&mut cursor, victim.into(), Mode::FILE, &stat), Some(bogus));
    // ...but taken in the second the file was modified (racily clean), the
    // file is read again, as is one whose stat differs.
    std::fs::write(&cache_path, forged(i64::from(stat.mtime.secs))).expect("write");
    reset_hashed();
    let (id, _) = open(root).snapshot().expect("snapshot");
    assert_eq!(snapshot_blobs(root, &id), expected, "a racy entry is not trusted");
    open(root).discard(&id).expect("discard");

    let mut other = stat;
    other.mtime.nsecs ^= 1;
    let stale = StatCache {
        taken_secs: i64::MAX,
        entries: vec![(victim.into(), Mode::FILE, bogus, other)],
        ..StatCache::default()
    };
    std::fs::write(&cache_path, stale.encode()).expect("write");
    let (id, _) = open(root).snapshot().expect("snapshot");
    assert_eq!(snapshot_blobs(root, &id), expected, "an entry with another stat is not trusted");
    open(root).discard(&id).expect("discard");

    // A file rewritten within the second a snapshot started, keeping its
    // size: the next snapshot reads it again.
    let (id, _) = open(root).snapshot().expect("snapshot");
    std::fs::write(root.join(victim), "FILE 4\n").expect("write");
    open(root).discard(&id).expect("discard");
    let (id, _) = open(root).snapshot().expect("snapshot");
    assert_eq!(snapshot_blobs(root, &id)[victim], raw_id(root, victim));
}

/// Line-ending attributes proptest: every combination of attribute and
/// content round-trips byte for byte, blobs are the raw bytes.
fn content() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(vec![&b"a"[..], b"\r", b"\n", b"\r\n", b"\0", b"z\r\n"]), 0..8)
        .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]
    #[test]
    fn any_line_endings_under_any_attribute_round_trip(
        files in prop::collection::vec(
            (prop::sample::select(vec!["text", "-text", "text=auto", "eol=lf", "eol=crlf", "binary", "text eol=crlf", "filter=none", ""]),
             content(), content()),
            1..5),
        autocrlf in prop::sample::select(vec!["false", "true", "input"]),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        git(root, &["init", "-q"]);
        git(root, &["config", "core.autocrlf", autocrlf]);
        let mut attributes = String::new();
        for (i, (attr, committed, _)) in files.iter().enumerate() {
            attributes.push_str(&format!("f{i} {attr}\n"));
            std::fs::write(root.join(format!("f{i}")), committed).expect("write");
        }
        std::fs::write(root.join(".gitattributes"), attributes).expect("write");
        git(root, &["add", "-A"]);
        git(root, &["commit", "-q", "--allow-empty", "-m", "base"]);
        // Half the files get other bytes after the commit (the user's work).
        for (i, (_, _, now)) in files.iter().enumerate().filter(|(i, _)| i % 2 == 0) {
            std::fs::write(root.join(format!("f{i}")), now).expect("write");
        }
        let before = tree_bytes(root);
        let (id, _) = open(root).snapshot().expect("snapshot");
        assert_gix_path(root, &id);
        let blobs = snapshot_blobs(root, &id);
        for path in before.keys() {
            let path = path.to_str().expect("utf8");
            prop_assert_eq!(&blobs[path], &raw_id(root, path));
        }
        for i in 0..files.len() {
            std::fs::write(root.join(format!("f{i}")), "scrambled\r\n").expect("write");
        }
        open(root).restore(&id).expect("restore");
        prop_assert_eq!(tree_bytes(root), before);
        open(root).discard(&id).expect("discard");
    }
}

#[test]
fn the_stat_cache_of_unconverted_files_is_a_bit_set_that_a_changed_index_voids() {
    // 2,000 LF files under `text=auto`: their raw bytes are the index's
    // blobs, so the cache holds one bit each, not one entry each.
    let dir = text_auto_repo(2_000);
    let root = dir.path();
    let cache_path = root.join(".git/agentkit/stat-cache");
    // An untracked CRLF file, older than the first snapshot.
    std::fs::write(root.join("d/f0a.txt"), "new\r\nfile\r\n").expect("write");
    settle();
    let (id, _) = open(root).snapshot().expect("snapshot");
    open(root).discard(&id).expect("discard");
    let size = std::fs::metadata(&cache_path).expect("the cache was written").len();
    assert!(size < 2_000, "{size} bytes: an entry per path would take over 100,000");

    // The CRLF file is staged, unchanged, at a position whose bit is set
    // (d/f1.txt's, were the index not checked): git stores it converted, so
    // only its raw bytes can tell its blob.
    git(root, &["add", "d/f0a.txt"]);
    settle();
    git(root, &["status", "--porcelain"]);
    assert_ne!(index_blobs(root)["d/f0a.txt"], raw_id(root, "d/f0a.txt"), "the premise: stored converted");
    let before = tree_bytes(root);
    let (id, _) = open(root).snapshot().expect("snapshot");
    let blobs = snapshot_blobs(root, &id);
    for path in ["d/f0a.txt", "d/f1.txt", "d/f10.txt"] {
        assert_eq!(blobs[path], raw_id(root, path), "{path} is stored raw");
    }
    std::fs::write(root.join("d/f0a.txt"), "scrambled").expect("write");
    open(root).restore(&id).expect("restore");
    assert_eq!(tree_bytes(root), before);
    open(root).discard(&id).expect("discard");

    // With the index unchanged since, only the file the restore rewrote is
    // read again, and then nothing.
    settle();
    reset_hashed();
    let (id, _) = open(root).snapshot().expect("snapshot");
    assert_eq!(hashed(), 1, "the bits answered for the new index");
    open(root).discard(&id).expect("discard");
    settle();
    reset_hashed();
    let (id, _) = open(root).snapshot().expect("snapshot");
    assert_eq!(hashed(), 0);
    open(root).discard(&id).expect("discard");
}
