//! The in-process snapshot path: the user's index as a stat cache, gix for
//! the directory walk, blobs, trees and the commit.
//!
//! Files whose `lstat` matches their entry in the user's index (and are not
//! racily clean) are unchanged since they were staged: their blob id is taken
//! from the index without reading them. Only files whose stat differs and
//! untracked files are read and hashed, so the cost in hashing is
//! proportional to what changed, not to the size of the repository.

use super::{Excluded, GuardReason, Limits};
use agent_core::SnapshotError;
use gix::bstr::{BStr, BString, ByteSlice};
use gix::index::entry::{Flags, Mode, Stat, stat};
use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// What the gix path produced, or why it declined (the caller then uses the CLI).
pub(super) enum Outcome {
    /// The snapshot commit (not yet referenced) and what it needs to persist.
    Done(Snapshot),
    /// This repository uses something the fast path does not model.
    Unsupported(String),
}

pub(super) struct Snapshot {
    pub(super) commit: String,
    /// The snapshot's entries with the stat data they had at snapshot time,
    /// serialized as a git index file.
    pub(super) stat_index: Vec<u8>,
    pub(super) excluded: Vec<Excluded>,
}

fn backend(operation: &str) -> impl FnOnce(gix::Error) -> SnapshotError + '_ {
    move |e| SnapshotError::Backend { operation: operation.to_owned(), message: e.to_string() }
}

/// One path of the snapshot.
struct Item {
    mode: Mode,
    id: gix::ObjectId,
    stat: Stat,
}

const STAT_OPTIONS: stat::Options =
    stat::Options { trust_ctime: true, check_stat: true, use_nsec: false, use_stdev: false };

fn is_attributes_file(path: &BStr) -> bool {
    path == ".gitattributes" || path.ends_with(b"/.gitattributes")
}

/// Takes a snapshot of the working tree of `root` as a commit object with
/// parent `head`. Writes objects, but no ref and nothing else.
pub(super) fn snapshot(
    root: &Path,
    head: Option<&str>,
    message: &str,
    limits: Limits,
) -> Result<Outcome, SnapshotError> {
    let repo = match gix::open(root) {
        Ok(repo) => repo,
        Err(e) => return Ok(Outcome::Unsupported(format!("gix cannot open the repository: {e}"))),
    };
    if repo.object_hash() != gix::hash::Kind::Sha1 {
        return Ok(Outcome::Unsupported("not a sha1 repository".into()));
    }
    let config = repo.config_snapshot();
    if let Some(v) = config.string("core.autocrlf") {
        if !matches!(v.to_str_lossy().to_ascii_lowercase().as_str(), "false" | "no" | "off" | "0" | "") {
            return Ok(Outcome::Unsupported("core.autocrlf is set".into()));
        }
    }
    if repo.git_dir().join("info/attributes").exists() {
        return Ok(Outcome::Unsupported("info/attributes exists".into()));
    }

    let index_path = repo.index_path();
    let index = match gix::index::File::at_or_default(&index_path, gix::hash::Kind::Sha1, false, Default::default()) {
        Ok(index) => index,
        Err(e) => return Ok(Outcome::Unsupported(format!("cannot read the index: {e}"))),
    };
    if index.link().is_some() || index.is_sparse() {
        return Ok(Outcome::Unsupported("split or sparse index".into()));
    }
    let timestamp = index.timestamp();
    let unusual = Flags::SKIP_WORKTREE | Flags::INTENT_TO_ADD | Flags::ASSUME_VALID;

    // 1. Tracked paths: stat against the index, hash only what differs.
    let mut items: BTreeMap<BString, Item> = BTreeMap::new();
    let mut walk_index = gix::index::State::new(gix::hash::Kind::Sha1);
    for entry in index.entries() {
        let path = entry.path(&index);
        if entry.stage_raw() != 0 {
            return Ok(Outcome::Unsupported("the index has conflicts".into()));
        }
        if entry.flags.intersects(unusual) {
            return Ok(Outcome::Unsupported("skip-worktree, intent-to-add or assume-valid entries".into()));
        }
        if is_attributes_file(path) {
            return Ok(Outcome::Unsupported(".gitattributes in the index".into()));
        }
        // The directory walk below must see every index path as tracked.
        walk_index.dangerously_push_entry(entry.stat, entry.id, entry.flags | Flags::UPTODATE, entry.mode, path);
        if entry.mode.is_submodule() {
            items.insert(path.to_owned(), Item { mode: entry.mode, id: entry.id, stat: entry.stat });
            continue;
        }
        let full = root.join(std::ffi::OsStr::from_bytes(path));
        let meta = match gix::index::fs::Metadata::from_path_no_follow(&full) {
            Ok(meta) => meta,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory) => {
                continue; // deleted
            }
            Err(e) => return Err(SnapshotError::Io { path: full, source: e }),
        };
        if meta.is_dir() {
            return Ok(Outcome::Unsupported(format!("{} became a directory", path)));
        }
        let Some(mode) = fs_mode(&meta) else {
            continue; // a fifo or socket: not something git stores
        };
        let fs_stat = Stat::from_fs(&meta).unwrap_or_default();
        if mode == entry.mode
            && entry.stat.matches(&fs_stat, STAT_OPTIONS)
            && !entry.stat.is_racy(timestamp, STAT_OPTIONS)
        {
            items.insert(path.to_owned(), Item { mode, id: entry.id, stat: entry.stat });
        } else {
            let id = hash_path(&repo, &full, mode)?;
            items.insert(path.to_owned(), Item { mode, id, stat: fs_stat });
        }
    }

    // 2. Untracked, not ignored: gix's directory walk, nested repositories
    //    and submodules not entered.
    let untracked = walk_untracked(&repo, &walk_index)?;
    let mut excluded = Vec::new();
    // Group untracked files by their outermost wholly untracked directory.
    let mut groups: BTreeMap<BString, Vec<(BString, gix::index::fs::Metadata)>> = BTreeMap::new();
    for path in untracked {
        if is_attributes_file(path.as_bstr()) {
            return Ok(Outcome::Unsupported("an untracked .gitattributes".into()));
        }
        let full = root.join(std::ffi::OsStr::from_bytes(&path));
        let meta = match gix::index::fs::Metadata::from_path_no_follow(&full) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(SnapshotError::Io { path: full, source: e }),
        };
        if fs_mode(&meta).is_none() {
            continue;
        }
        let top = outermost_untracked_dir(&walk_index, path.as_bstr());
        groups.entry(top).or_default().push((path, meta));
    }
    for (top, files) in groups {
        if !top.is_empty() && files.len() > limits.max_untracked_dir_entries {
            let bytes = files.iter().map(|(_, m)| m.len()).sum();
            excluded.push(Excluded {
                path: PathBuf::from(std::ffi::OsStr::from_bytes(&top)),
                reason: GuardReason::TooManyEntries { entries: files.len() },
                bytes,
            });
            continue;
        }
        for (path, meta) in files {
            let mode = fs_mode(&meta).unwrap_or(Mode::FILE);
            if mode != Mode::SYMLINK && meta.len() > limits.max_untracked_file_bytes {
                excluded.push(Excluded {
                    path: PathBuf::from(std::ffi::OsStr::from_bytes(&path)),
                    reason: GuardReason::FileTooLarge,
                    bytes: meta.len(),
                });
                continue;
            }
            let full = root.join(std::ffi::OsStr::from_bytes(&path));
            let id = hash_path(&repo, &full, mode)?;
            items.insert(path, Item { mode, id, stat: Stat::from_fs(&meta).unwrap_or_default() });
        }
    }

    // 3. Trees bottom-up (only the ones the object database lacks are written), then the commit.
    let list: Vec<(&BStr, &Item)> = items.iter().map(|(p, i)| (p.as_bstr(), i)).collect();
    let tree = write_tree(&repo, &list, 0)?;
    let signature = gix::actor::Signature {
        name: "agentkit".into(),
        email: "agentkit@localhost".into(),
        time: gix::date::Time::now_local_or_utc(),
    };
    let parents = match head {
        Some(head) => vec![
            gix::ObjectId::from_hex(head.as_bytes())
                .map_err(|e| SnapshotError::Backend { operation: "parse HEAD".into(), message: e.to_string() })?,
        ],
        None => Vec::new(),
    };
    let commit = gix::objs::Commit {
        tree,
        parents: parents.into_iter().collect(),
        author: signature.clone(),
        committer: signature,
        encoding: None,
        message: message.into(),
        extra_headers: Vec::new(),
    };
    let commit = repo.write_object(&commit).map_err(backend("write snapshot commit"))?.detach();

    // 4. The stat index of the snapshot, for a restore that hashes only what changed.
    let mut state = gix::index::State::new(gix::hash::Kind::Sha1);
    for (path, item) in &items {
        state.dangerously_push_entry(item.stat, item.id, Flags::empty(), item.mode, path.as_bstr());
    }
    state.sort_entries();
    let mut stat_index = Vec::new();
    gix::index::File::from_state(state, PathBuf::new())
        .write_to(&mut stat_index, gix::index::write::Options::default())
        .map_err(backend("write snapshot index"))?;
    Ok(Outcome::Done(Snapshot { commit: commit.to_string(), stat_index, excluded }))
}

/// The index mode of what `meta` describes; `None` for what git cannot store.
fn fs_mode(meta: &gix::index::fs::Metadata) -> Option<Mode> {
    if meta.is_symlink() {
        Some(Mode::SYMLINK)
    } else if meta.is_file() {
        Some(if meta.is_executable() { Mode::FILE_EXECUTABLE } else { Mode::FILE })
    } else {
        None
    }
}

/// Reads a file (or a symlink's target) raw and stores it as a blob.
fn hash_path(repo: &gix::Repository, full: &Path, mode: Mode) -> Result<gix::ObjectId, SnapshotError> {
    let io = |source| SnapshotError::Io { path: full.to_path_buf(), source };
    let bytes = if mode == Mode::SYMLINK {
        std::fs::read_link(full).map_err(io)?.as_os_str().as_bytes().to_vec()
    } else {
        std::fs::read(full).map_err(io)?
    };
    Ok(repo.write_blob(&bytes).map_err(backend("write blob"))?.detach())
}

/// Paths of untracked, non-ignored files and symlinks, relative to the root.
fn walk_untracked(repo: &gix::Repository, index: &gix::index::State) -> Result<Vec<BString>, SnapshotError> {
    let options = repo
        .dirwalk_options()
        .map_err(backend("dirwalk options"))?
        .emit_untracked(gix::dir::walk::EmissionMode::Matching)
        .emit_ignored(None)
        .emit_tracked(false)
        .recurse_repositories(false)
        .emit_empty_directories(false);
    let mut collect = gix::dir::walk::delegate::Collect::default();
    let interrupt = std::sync::atomic::AtomicBool::new(false);
    repo.dirwalk(index, None::<&str>, &interrupt, options, &mut collect).map_err(backend("dirwalk"))?;
    Ok(collect
        .unorded_entries
        .into_iter()
        .filter(|(e, _)| {
            e.status == gix::dir::entry::Status::Untracked
                && matches!(e.disk_kind, Some(gix::dir::entry::Kind::File | gix::dir::entry::Kind::Symlink))
        })
        .map(|(e, _)| e.rela_path)
        .collect())
}

/// The outermost ancestor directory of `path` holding no tracked path (empty
/// when even the parent holds tracked paths).
fn outermost_untracked_dir(index: &gix::index::State, path: &BStr) -> BString {
    for (i, b) in path.iter().enumerate() {
        if *b == b'/' && index.prefixed_entries_range(path[..=i].as_bstr()).is_none_or(|r| r.is_empty()) {
            return path[..i].into();
        }
    }
    BString::default()
}

/// Writes the tree of `entries` (sorted by path, all under the same prefix of
/// `depth` bytes) and returns its id.
fn write_tree(
    repo: &gix::Repository,
    entries: &[(&BStr, &Item)],
    depth: usize,
) -> Result<gix::ObjectId, SnapshotError> {
    let mut tree = gix::objs::Tree { entries: Vec::new() };
    let mut i = 0;
    while i < entries.len() {
        let rest = &entries[i].0[depth..];
        match rest.find_byte(b'/') {
            None => {
                let item = entries[i].1;
                let mode = item.mode.to_tree_entry_mode().ok_or_else(|| SnapshotError::Backend {
                    operation: "build tree".into(),
                    message: format!("no tree mode for {}", entries[i].0),
                })?;
                tree.entries.push(gix::objs::tree::Entry { mode, filename: rest.into(), oid: item.id });
                i += 1;
            }
            Some(slash) => {
                let name = &rest[..slash];
                let prefix_len = depth + slash + 1;
                let start = i;
                while i < entries.len() && {
                    let p = entries[i].0;
                    p.len() > prefix_len && p[depth..prefix_len] == rest[..=slash]
                } {
                    i += 1;
                }
                let oid = write_tree(repo, &entries[start..i], prefix_len)?;
                tree.entries.push(gix::objs::tree::Entry {
                    mode: gix::objs::tree::EntryKind::Tree.into(),
                    filename: name.into(),
                    oid,
                });
            }
        }
    }
    tree.entries.sort();
    Ok(repo.write_object(&tree).map_err(backend("write tree"))?.detach())
}
