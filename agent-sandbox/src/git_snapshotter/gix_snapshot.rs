//! The in-process snapshot path: the user's index as a stat cache, gix for
//! the directory walk, blobs, trees and the commit.
//!
//! Files whose `lstat` matches their entry in the user's index (and are not
//! racily clean) are unchanged since they were staged: their blob id is taken
//! from the index without reading them. Only files whose stat differs and
//! untracked files are read and hashed, so the cost in hashing is
//! proportional to what changed, not to the size of the repository.

use super::conversion::Conversions;
use super::stat_cache::{self, StatCache};
use super::{Excluded, GuardReason, Limits, delta};
use agent_core::snapshot::SnapshotError;
use gix::bstr::{BStr, BString, ByteSlice};
use gix::index::entry::{Flags, Mode, Stat, stat};
use std::collections::{BTreeMap, HashMap, HashSet};
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
    /// as a delta against the user's index, and the directories' stat
    /// ([`Delta`](super::delta::Delta), encoded).
    pub(super) delta: Vec<u8>,
    pub(super) excluded: Vec<Excluded>,
    /// Directories, not ignored, holding no path of the snapshot (empty, or
    /// only ignored content), relative to the root.
    pub(super) empty_dirs: Vec<BString>,
    /// The walk for the next snapshot ([`delta::WalkCache`], encoded);
    /// `None` when this one cannot be trusted later (an untracked `.gitignore`).
    pub(super) walk_cache: Option<Vec<u8>>,
    /// The raw blob ids this snapshot read or confirmed, for the next one
    /// ([`StatCache`], encoded).
    pub(super) stat_cache: Vec<u8>,
}

pub(super) fn backend(operation: &str) -> impl FnOnce(gix::Error) -> SnapshotError + '_ {
    move |e| SnapshotError::Backend { operation: operation.to_owned(), message: e.to_string() }
}

/// One path of the snapshot.
#[derive(Clone, Copy)]
struct Item {
    mode: Mode,
    id: gix::ObjectId,
    stat: Stat,
}

const STAT_OPTIONS: stat::Options =
    stat::Options { trust_ctime: true, check_stat: true, use_nsec: false, use_stdev: false };

/// Takes a snapshot of the working tree of `root` as a commit object with
/// parent `head`. Writes objects, but no ref and nothing else. File contents
/// are stored raw; a file's blob id comes from `stat_cache` when its stat is
/// the cached one, else from the user's index when its stat matches there
/// and git stores it unconverted (see [`Conversions`]), else from reading it.
#[allow(clippy::too_many_arguments)] // one call site, all of it the snapshot's inputs
pub(super) fn snapshot(
    repo: &gix::Repository,
    root: &Path,
    head: Option<gix::ObjectId>,
    message: &str,
    limits: Limits,
    walk_cache: Option<(&[u8], i64)>,
    user_index: Option<&[u8]>,
    stat_cache: Option<&StatCache>,
) -> Result<Outcome, SnapshotError> {
    if repo.object_hash() != gix::hash::Kind::Sha1 {
        return Ok(Outcome::Unsupported("not a sha1 repository".into()));
    }
    // Every stat below is taken after this second began (the racy-clean
    // reference of the stat cache written at the end).
    let started_secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));

    let index_path = repo.index_path();
    let index = match gix::index::File::at_or_default(&index_path, gix::hash::Kind::Sha1, false, Default::default()) {
        Ok(index) => index,
        Err(e) => return Ok(Outcome::Unsupported(format!("cannot read the index: {e}"))),
    };
    if index.link().is_some() || index.is_sparse() {
        return Ok(Outcome::Unsupported("split or sparse index".into()));
    }
    let unusual = Flags::SKIP_WORKTREE | Flags::INTENT_TO_ADD | Flags::ASSUME_VALID;

    // 1. Tracked paths: stat against the index (on a few threads, while
    //    another walks the tree for untracked files), hash only what differs.
    for entry in index.entries() {
        let path = entry.path(&index);
        if entry.stage_raw() != 0 {
            return Ok(Outcome::Unsupported("the index has conflicts".into()));
        }
        if entry.flags.intersects(unusual) {
            return Ok(Outcome::Unsupported(format!("skip-worktree, intent-to-add or assume-valid entry {path}")));
        }
    }
    // The directories of the user's index, stat'ed before anything is read:
    // a restore reads only those whose stat changed since (see `delta`).
    let mut index_dirs = HashSet::new();
    delta::parent_dirs(index.entries().iter().map(|e| e.path(&index)), &mut index_dirs);
    let mut conversions = Conversions::new(repo, root, &index, &index_dirs)?;
    // With attribute files about, paths the index vouches for are cached
    // too (they would otherwise be looked up again next time).
    let cache_all = !conversions.none();
    let dir_stats: HashMap<BString, Stat> =
        index_dirs.into_iter().filter_map(|d| delta::dir_stat(root, d.as_bstr()).map(|s| (d, s))).collect();
    // The previous snapshot's walk, if the rules it was made under still hold.
    let tracked_fingerprint = fingerprint_tracked(&index);
    let rules_fingerprint = fingerprint_rules(repo);
    let gitignores: Vec<(BString, Stat)> = index
        .entries()
        .iter()
        .map(|e| e.path(&index))
        .filter(|p| *p == ".gitignore" || p.ends_with(b"/.gitignore"))
        .filter_map(|p| {
            let meta =
                gix::index::fs::Metadata::from_path_no_follow(&root.join(std::ffi::OsStr::from_bytes(p))).ok()?;
            Some((p.to_owned(), Stat::from_fs(&meta).ok()?))
        })
        .collect();
    let cached =
        walk_cache.and_then(|(bytes, secs)| Some((delta::WalkCache::decode(bytes)?, secs))).filter(|(c, secs)| {
            c.tracked == tracked_fingerprint
                && c.rules == rules_fingerprint
                && c.gitignores.len() == gitignores.len()
                && c.gitignores
                    .iter()
                    .zip(&gitignores)
                    .all(|((p, was), (q, now))| p == q && delta::dir_unchanged(was, now, *secs))
                && c.repositories.iter().all(|r| {
                    let mut git = root.join(std::ffi::OsStr::from_bytes(r));
                    git.push(".git");
                    git.symlink_metadata().is_ok()
                })
        });
    let racy_secs = index.timestamp().unix_seconds();
    let walk = || -> Result<(Walk, Option<delta::DirStats>), SnapshotError> {
        if let Some((cache, secs)) = &cached {
            let rescan = delta::rescan(repo, root, &index, &cache.dirs, *secs, &|_| false)?;
            if !rescan.rules_changed {
                return Ok((merge_walk(&cache.walk, rescan.walk, &rescan.read, &rescan.stats), Some(rescan.stats)));
            }
        }
        Ok((walk_untracked(repo, &index)?, None))
    };
    let (probes, walk) = probe_all(root, &index, racy_secs, walk);
    let probes = probes?;
    let (Walk { files: untracked, empty_dirs, ignored, others }, rescanned) = walk?;
    let mut dir_stats = dir_stats;
    for (dir, stat) in rescanned.into_iter().flatten() {
        if let Some(stat) = stat {
            dir_stats.entry(dir).or_insert(stat);
        }
    }
    // The delta applies to the user's index bytes the caller saves; unless
    // they are provably what gix read (same trailing checksum), it holds
    // every entry instead.
    let same_base = match user_index {
        Some(bytes) => index
            .checksum()
            .is_some_and(|sum| !sum.is_null() && bytes.len() >= 20 && bytes[bytes.len() - 20..] == *sum.as_bytes()),
        None => index.entries().is_empty() && !index_path.exists(),
    };
    let mut delta = delta::Delta { full: !same_base, ..delta::Delta::default() };
    let mut tracked: Vec<(&BStr, Item)> = Vec::with_capacity(index.entries().len());
    let mut new_cache: Vec<stat_cache::Entry> = Vec::new();
    let mut cursor = stat_cache::Cursor::default();
    // The user's index as the stat cache's bit set knows it (see `stat_cache`).
    let index_checksum = index.checksum().filter(|sum| !sum.is_null());
    let mut verified = stat_cache::Verified::with_len(index.entries().len());
    // Entries whose blob id is known (from the stat cache or read below):
    // position, entry, mode and stat now, whether the user's index vouched for the stat.
    let mut settled: Vec<(usize, &gix::index::Entry, Mode, Stat, bool, gix::ObjectId)> = Vec::new();
    let mut to_read: Vec<(usize, &gix::index::Entry, Mode, Stat, bool)> = Vec::new();
    for (position, (entry, probe)) in index.entries().iter().zip(probes).enumerate() {
        let path = entry.path(&index);
        if entry.mode.is_submodule() {
            tracked.push((path, Item { mode: entry.mode, id: entry.id, stat: entry.stat }));
            continue;
        }
        let (mode, stat, clean) = match probe {
            // Deleted, or a fifo or socket git does not store.
            Probe::Missing | Probe::Unstorable => {
                delta.removed.push(path.to_owned());
                continue;
            }
            Probe::Directory => return Ok(Outcome::Unsupported(format!("{path} became a directory"))),
            Probe::Clean { stat } => (entry.mode, stat, true),
            Probe::Changed { mode, stat } => (mode, stat, false),
        };
        // Its raw bytes were found to be the index's blob, and nothing changed since.
        if clean && stat_cache.is_some_and(|c| c.verified(index_checksum, position, &entry.stat, &stat)) {
            verified.insert(position);
            tracked.push((path, Item { mode: entry.mode, id: entry.id, stat: entry.stat }));
            continue;
        }
        let id = match stat_cache.and_then(|c| c.lookup(&mut cursor, path, mode, &stat)) {
            Some(id) => id,
            // The index's blob is the file's bytes: unchanged since staged, stored unconverted.
            None if clean && (mode == Mode::SYMLINK || !conversions.may_convert(path)?) => {
                if cache_all {
                    remember(
                        &mut verified,
                        &mut new_cache,
                        index_checksum,
                        position,
                        entry,
                        path,
                        mode,
                        stat,
                        entry.id,
                    );
                }
                tracked.push((path, Item { mode: entry.mode, id: entry.id, stat: entry.stat }));
                continue;
            }
            None => {
                to_read.push((position, entry, mode, stat, clean));
                continue;
            }
        };
        settled.push((position, entry, mode, stat, clean, id));
    }
    // Files only their bytes can tell: read and hashed on a few threads,
    // stored when the object database lacks them.
    let jobs: Vec<(&BStr, Mode, Option<gix::ObjectId>)> =
        to_read.iter().map(|(_, entry, mode, _, _)| (entry.path(&index), *mode, Some(entry.id))).collect();
    for ((position, entry, mode, stat, clean), id) in to_read.iter().zip(hash_all(repo, root, &jobs)?) {
        settled.push((*position, entry, *mode, *stat, *clean, id));
    }
    for (position, entry, mode, stat, clean, id) in settled {
        let path = entry.path(&index);
        remember(&mut verified, &mut new_cache, index_checksum, position, entry, path, mode, stat, id);
        if clean && id == entry.id {
            tracked.push((path, Item { mode: entry.mode, id: entry.id, stat: entry.stat }));
        } else {
            tracked.push((path, Item { mode, id, stat }));
            delta.upserts.push((path.to_owned(), mode, id, stat));
        }
    }

    // 2. Untracked, not ignored: gix's directory walk (or the previous
    //    snapshot's, with the directories that changed read again), nested
    //    repositories and submodules not entered.
    let mut excluded = Vec::new();
    // Group untracked files by their outermost wholly untracked directory.
    let mut groups: BTreeMap<BString, Vec<(BString, gix::index::fs::Metadata)>> = BTreeMap::new();
    let untracked_all = untracked.clone();
    for path in untracked {
        let full = root.join(std::ffi::OsStr::from_bytes(&path));
        let meta = match gix::index::fs::Metadata::from_path_no_follow(&full) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(SnapshotError::Io { path: full, source: e }),
        };
        if fs_mode(&meta).is_none() {
            continue;
        }
        let top = outermost_untracked_dir(&index, path.as_bstr());
        groups.entry(top).or_default().push((path, meta));
    }
    let mut untracked_items: Vec<(BString, Item)> = Vec::new();
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
            let stat = Stat::from_fs(&meta).unwrap_or_default();
            let id = match stat_cache.and_then(|c| c.lookup(&mut cursor, path.as_bstr(), mode, &stat)) {
                Some(id) => id,
                None => hash_all(repo, root, &[(path.as_bstr(), mode, None)])?[0],
            };
            new_cache.push((path.clone(), mode, id, stat));
            untracked_items.push((path, Item { mode, id, stat }));
        }
    }

    // 3. Trees bottom-up (only the ones the object database lacks are written), then the commit.
    let mut items = tracked;
    items.extend(untracked_items.iter().map(|(p, i)| (p.as_bstr(), *i)));
    items.sort_by(|a, b| a.0.cmp(b.0));
    // 4. The stat data of the snapshot, for a restore that hashes only what
    //    changed: a delta against the user's index (saved by the caller).
    delta.upserts.extend(untracked_items.iter().map(|(p, i)| (p.clone(), i.mode, i.id, i.stat)));
    // Directories holding a changed, deleted or untracked path; any other
    // takes its tree id from the user's index's cache-tree when that is valid.
    let mut dirty = HashSet::new();
    for path in delta.removed.iter().map(|p| p.as_bstr()).chain(delta.upserts.iter().map(|(p, ..)| p.as_bstr())) {
        if let Some(slash) = path.rfind_byte(b'/') {
            delta::add_with_ancestors(path[..slash].as_bstr(), &mut dirty);
        }
    }
    let reuse = Reuse { cache: if same_base { index.tree() } else { None }, dirty: &dirty };
    let tree = write_tree(repo, &items, 0, reuse.cache, &reuse)?;
    let signature = super::agentkit_signature();
    let parents: Vec<gix::ObjectId> = head.into_iter().collect();
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

    if delta.full {
        delta.removed.clear();
        delta.upserts = items.iter().map(|(p, i)| ((*p).to_owned(), i.mode, i.id, i.stat)).collect();
    }
    // Directories the snapshot's paths do not imply: empty ones and those
    // holding only ignored entries (and the directories above them).
    let mut dirs = std::collections::BTreeSet::new();
    let ancestors = |path: &BStr, dirs: &mut std::collections::BTreeSet<BString>| {
        for (i, b) in path.iter().enumerate() {
            if *b == b'/' {
                dirs.insert(path[..i].into());
            }
        }
    };
    for dir in &empty_dirs {
        ancestors(dir.as_bstr(), &mut dirs);
        dirs.insert(dir.clone());
    }
    for path in &ignored {
        ancestors(path.as_bstr(), &mut dirs);
    }
    // Every directory the snapshot saw, for the restore's directory cache.
    let mut seen = HashSet::new();
    delta::parent_dirs(items.iter().map(|(p, _)| *p), &mut seen);
    // (Untracked files left out by a guard included: a cached walk can only
    // vouch for entries of directories whose stat it knows.)
    for path in ignored.iter().chain(&others).chain(&untracked_all).chain(excluded_paths(&excluded).iter()) {
        if let Some(slash) = path.rfind_byte(b'/') {
            delta::add_with_ancestors(path[..slash].as_bstr(), &mut seen);
        }
    }
    for dir in &dirs {
        seen.insert(dir.clone());
    }
    delta.dirs = seen
        .into_iter()
        .map(|d| {
            let stat = dir_stats.get(&d).copied();
            (d, stat)
        })
        .collect();
    delta.dirs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let untracked_rules =
        untracked_all.iter().chain(&ignored).any(|p| p == ".gitignore" || p.ends_with(b"/.gitignore"));
    let walk_cache = (!untracked_rules).then(|| {
        let repositories = others
            .iter()
            .filter(|p| {
                let mut git = root.join(std::ffi::OsStr::from_bytes(p));
                git.push(".git");
                git.symlink_metadata().is_ok()
            })
            .cloned()
            .collect();
        delta::WalkCache {
            tracked: tracked_fingerprint,
            rules: rules_fingerprint,
            gitignores,
            repositories,
            dirs: delta.dirs.clone(),
            walk: Walk {
                files: untracked_all.clone(),
                empty_dirs: empty_dirs.clone(),
                ignored: ignored.clone(),
                others: others.clone(),
            },
        }
        .encode()
    });
    let empty_dirs = dirs
        .into_iter()
        .filter(|d| {
            let mut prefix = d.clone();
            prefix.push(b'/');
            let at = items.partition_point(|(p, _)| *p < prefix.as_bstr());
            let holds_items = items.get(at).is_some_and(|(p, _)| p.starts_with(&prefix));
            let under_excluded = excluded.iter().any(|e| {
                let e = e.path.as_os_str().as_bytes();
                d.as_bytes() == e || (d.starts_with(e) && d.get(e.len()) == Some(&b'/'))
            });
            !holds_items && !under_excluded
        })
        .collect();
    new_cache.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    new_cache.dedup_by(|a, b| a.0 == b.0);
    let stat_cache = StatCache {
        taken_secs: started_secs,
        index_checksum,
        verified: if index_checksum.is_some() { verified } else { stat_cache::Verified::default() },
        entries: new_cache,
    }
    .encode();
    Ok(Outcome::Done(Snapshot {
        commit: commit.to_string(),
        delta: delta.encode(),
        excluded,
        empty_dirs,
        walk_cache,
        stat_cache,
    }))
}

/// Records for the next snapshot that index entry `position` (`entry`), now
/// with `mode` and `stat`, has raw blob `id`: as a bit when that is the
/// index's own blob and stat (and the index has a checksum), else as an entry.
#[allow(clippy::too_many_arguments)] // the facts of one path, from two call sites
fn remember(
    verified: &mut stat_cache::Verified,
    new_cache: &mut Vec<stat_cache::Entry>,
    index_checksum: Option<gix::ObjectId>,
    position: usize,
    entry: &gix::index::Entry,
    path: &BStr,
    mode: Mode,
    stat: Stat,
    id: gix::ObjectId,
) {
    let exact = stat::Options { trust_ctime: true, check_stat: true, use_nsec: true, use_stdev: true };
    if index_checksum.is_some() && id == entry.id && mode == entry.mode && entry.stat.matches(&stat, exact) {
        verified.insert(position);
    } else {
        new_cache.push((path.to_owned(), mode, id, stat));
    }
}

/// What `lstat` says about the working-tree path of an index entry.
pub(super) enum Probe {
    /// Nothing there (or a leading component is not a directory).
    Missing,
    /// A directory where the entry's file should be.
    Directory,
    /// Something git does not store (a fifo, a socket).
    Unstorable,
    /// Same mode and stat as the entry and not racily clean: the content is
    /// the entry's, without reading it. `stat` is the path's `lstat` now.
    Clean { stat: Stat },
    /// Anything else: the content must be read to know.
    Changed { mode: Mode, stat: Stat },
}

/// Compares the file at `full` with an index entry (`mode`, `stat`) of
/// `index` by `lstat` alone, with git's racy-clean rule: an entry whose mtime
/// is not older (in whole seconds) than `racy_secs`, when the index's stat
/// data was last known good, cannot be trusted. Both the snapshot (against
/// the user's index) and the restore (against the snapshot's stat data)
/// decide what to read with this.
pub(super) fn probe(full: &Path, mode: Mode, stat: &Stat, racy_secs: i64) -> Result<Probe, SnapshotError> {
    let meta = match gix::index::fs::Metadata::from_path_no_follow(full) {
        Ok(meta) => meta,
        Err(e) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory) => {
            return Ok(Probe::Missing);
        }
        Err(e) => return Err(SnapshotError::Io { path: full.to_path_buf(), source: e }),
    };
    if meta.is_dir() {
        return Ok(Probe::Directory);
    }
    let Some(fs_mode) = fs_mode(&meta) else {
        return Ok(Probe::Unstorable);
    };
    let fs_stat = Stat::from_fs(&meta).unwrap_or_default();
    if fs_mode == mode && stat.matches(&fs_stat, STAT_OPTIONS) && i64::from(stat.mtime.secs) < racy_secs {
        Ok(Probe::Clean { stat: fs_stat })
    } else {
        Ok(Probe::Changed { mode: fs_mode, stat: fs_stat })
    }
}

/// [`probe`]s every entry of `index` (a submodule only for presence: `Clean`
/// or `Missing`) on a few threads, while `alongside` runs on this one.
pub(super) fn probe_all<T>(
    root: &Path,
    index: &gix::index::State,
    racy_secs: i64,
    alongside: impl FnOnce() -> T,
) -> (Result<Vec<Probe>, SnapshotError>, T) {
    let entries = index.entries();
    // Twice the cores: `lstat` spends much of its time off the CPU here
    // (measured: 4 threads on 2 cores stat 100,000 paths about 15% faster than 2).
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get).saturating_mul(2).clamp(2, 8);
    let chunk = entries.len().div_ceil(threads).max(1);
    let probe_entry = |entry: &gix::index::Entry| {
        let full = root.join(std::ffi::OsStr::from_bytes(entry.path(index)));
        if entry.mode.is_submodule() {
            return Ok(if std::fs::symlink_metadata(&full).is_ok() {
                Probe::Clean { stat: entry.stat }
            } else {
                Probe::Missing
            });
        }
        probe(&full, entry.mode, &entry.stat, racy_secs)
    };
    std::thread::scope(|scope| {
        let workers: Vec<_> = entries
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(probe_entry).collect::<Result<Vec<_>, _>>()))
            .collect();
        let side = alongside();
        let mut probes = Ok(Vec::with_capacity(entries.len()));
        for worker in workers {
            let part = worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            match (&mut probes, part) {
                (Ok(all), Ok(part)) => all.extend(part),
                (Ok(_), Err(e)) => probes = Err(e),
                (Err(_), _) => {}
            }
        }
        (probes, side)
    })
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

#[cfg(test)]
thread_local! {
    /// How many files [`hash_all`] read for this thread (for tests).
    pub(super) static FILES_HASHED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Reads the files (or symlinks' targets) of `jobs` raw, on a few threads
/// when there are many, and returns their blob ids; stores those that are
/// not the `known` id of the job (an object the user's index names).
fn hash_all(
    repo: &gix::Repository,
    root: &Path,
    jobs: &[(&BStr, Mode, Option<gix::ObjectId>)],
) -> Result<Vec<gix::ObjectId>, SnapshotError> {
    #[cfg(test)]
    FILES_HASHED.with(|n| n.set(n.get() + jobs.len()));
    let hash_one = |(path, mode, known): &(&BStr, Mode, Option<gix::ObjectId>)| {
        let full = root.join(std::ffi::OsStr::from_bytes(path));
        let bytes = read_path(&full, *mode)?;
        let id = gix::objs::compute_hash(gix::hash::Kind::Sha1, gix::objs::Kind::Blob, &bytes)
            .map_err(|e| SnapshotError::Backend { operation: "hash blob".into(), message: e.to_string() })?;
        Ok::<_, SnapshotError>((id, (Some(id) != *known).then_some(bytes)))
    };
    let hashed: Vec<(gix::ObjectId, Option<Vec<u8>>)> = if jobs.len() < 64 {
        jobs.iter().map(hash_one).collect::<Result<_, _>>()?
    } else {
        let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get).clamp(1, 8);
        let chunk = jobs.len().div_ceil(threads).max(1);
        std::thread::scope(|scope| {
            let workers: Vec<_> = jobs
                .chunks(chunk)
                .map(|part| scope.spawn(move || part.iter().map(hash_one).collect::<Result<Vec<_>, _>>()))
                .collect();
            let mut all = Vec::with_capacity(jobs.len());
            for worker in workers {
                all.extend(worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))?);
            }
            Ok::<_, SnapshotError>(all)
        })?
    };
    let mut ids = Vec::with_capacity(hashed.len());
    for (id, bytes) in hashed {
        match bytes {
            Some(bytes) if !repo.has_object(id) => {
                ids.push(repo.write_blob(&bytes).map_err(backend("write blob"))?.detach());
            }
            _ => ids.push(id),
        }
    }
    Ok(ids)
}

/// The raw content git stores for `full`: its bytes, or a symlink's target.
pub(super) fn read_path(full: &Path, mode: Mode) -> Result<Vec<u8>, SnapshotError> {
    let io = |source| SnapshotError::Io { path: full.to_path_buf(), source };
    if mode == Mode::SYMLINK {
        Ok(std::fs::read_link(full).map_err(io)?.as_os_str().as_bytes().to_vec())
    } else {
        std::fs::read(full).map_err(io)
    }
}

/// What a directory walk found that the index does not track.
#[derive(Default)]
pub(super) struct Walk {
    /// Untracked, non-ignored files and symlinks, relative to the root.
    pub(super) files: Vec<BString>,
    /// Empty, non-ignored directories (leaves: directories without entries).
    pub(super) empty_dirs: Vec<BString>,
    /// Ignored files and directories (an ignored directory as one entry).
    pub(super) ignored: Vec<BString>,
    /// Anything else the walk reported (nested repositories, fifos...).
    pub(super) others: Vec<BString>,
}

/// One gix directory walk against `index`, honouring the ignore rules of the
/// working tree; nested repositories and submodules are not entered.
pub(super) fn walk_untracked(repo: &gix::Repository, index: &gix::index::State) -> Result<Walk, SnapshotError> {
    use gix::dir::entry::{Kind, Property, Status};
    let options = repo
        .dirwalk_options()
        .map_err(backend("dirwalk options"))?
        .emit_untracked(gix::dir::walk::EmissionMode::Matching)
        .emit_ignored(Some(gix::dir::walk::EmissionMode::Matching))
        .emit_tracked(false)
        .recurse_repositories(false)
        .emit_empty_directories(true);
    let mut collect = gix::dir::walk::delegate::Collect::default();
    let interrupt = std::sync::atomic::AtomicBool::new(false);
    repo.dirwalk(index, None::<&str>, &interrupt, options, &mut collect).map_err(backend("dirwalk"))?;
    let mut walk = Walk::default();
    for (e, _) in collect.unorded_entries {
        if matches!(e.status, Status::Ignored(_)) {
            walk.ignored.push(e.rela_path);
            continue;
        }
        if e.status != Status::Untracked {
            walk.others.push(e.rela_path);
            continue;
        }
        match e.disk_kind {
            Some(Kind::File | Kind::Symlink) => walk.files.push(e.rela_path),
            Some(Kind::Directory) if e.property == Some(Property::EmptyDirectory) && !e.rela_path.is_empty() => {
                walk.empty_dirs.push(e.rela_path);
            }
            _ => walk.others.push(e.rela_path),
        }
    }
    Ok(walk)
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

/// What [`write_tree`] may take from the user's index instead of writing.
struct Reuse<'a> {
    /// The cache-tree of the user's index (when the snapshot's base is it).
    cache: Option<&'a gix::index::extension::Tree>,
    /// Directories whose content differs from the user's index.
    dirty: &'a HashSet<BString>,
}

/// Writes the tree of `entries` (sorted by path, all under the same prefix of
/// `depth` bytes) and returns its id. `cache` is the cache-tree node of that
/// prefix, if any: a subtree that is not dirty, whose node is valid, counts
/// as many entries and whose tree object exists is taken as is.
fn write_tree(
    repo: &gix::Repository,
    entries: &[(&BStr, Item)],
    depth: usize,
    cache: Option<&gix::index::extension::Tree>,
    reuse: &Reuse<'_>,
) -> Result<gix::ObjectId, SnapshotError> {
    let mut tree = gix::objs::Tree { entries: Vec::new() };
    let mut i = 0;
    while i < entries.len() {
        let rest = &entries[i].0[depth..];
        match rest.find_byte(b'/') {
            None => {
                let item = &entries[i].1;
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
                let node = cache.and_then(|c| c.children.iter().find(|t| t.name.as_slice() == name));
                let dir = &entries[start].0[..prefix_len - 1];
                let reused = node.filter(|node| {
                    !reuse.dirty.contains(dir)
                        && node.num_entries.and_then(|n| usize::try_from(n).ok()) == Some(i - start)
                        && repo.has_object(node.id)
                });
                let oid = match reused {
                    Some(node) => node.id,
                    None => write_tree(repo, &entries[start..i], prefix_len, node, reuse)?,
                };
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

fn excluded_paths(excluded: &[Excluded]) -> Vec<BString> {
    excluded.iter().map(|e| BString::from(e.path.as_os_str().as_bytes())).collect()
}

/// The cached walk `cached` with what changed: entries of directories that
/// were read again (or are gone) replaced by what `rescan` found there.
fn merge_walk(cached: &Walk, rescan: Walk, read: &HashSet<BString>, stats: &delta::DirStats) -> Walk {
    let alive: HashSet<&BStr> = stats.iter().filter(|(_, s)| s.is_some()).map(|(d, _)| d.as_bstr()).collect();
    let stale = |dir: &BStr| read.contains(dir) || !alive.contains(dir);
    let parent = |p: &BString| -> BString { p.rfind_byte(b'/').map_or_else(BString::default, |i| p[..i].into()) };
    let keep =
        |list: &[BString]| -> Vec<BString> { list.iter().filter(|p| !stale(parent(p).as_bstr())).cloned().collect() };
    let mut walk = Walk {
        files: keep(&cached.files),
        empty_dirs: keep(&cached.empty_dirs).into_iter().filter(|d| !stale(d.as_bstr())).collect(),
        ignored: keep(&cached.ignored),
        others: keep(&cached.others),
    };
    walk.files.extend(rescan.files);
    walk.empty_dirs.extend(rescan.empty_dirs);
    walk.ignored.extend(rescan.ignored);
    walk.others.extend(rescan.others);
    walk
}

/// A fingerprint of the tracked paths and their kinds (what decides which
/// entries a walk reports as untracked).
fn fingerprint_tracked(index: &gix::index::State) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    for e in index.entries() {
        e.path(index).as_bytes().hash(&mut h);
        e.mode.bits().hash(&mut h);
    }
    h.finish()
}

/// A fingerprint of the exclude rules outside the working tree:
/// `info/exclude`, `core.excludesFile` and the default global excludes files.
fn fingerprint_rules(repo: &gix::Repository) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    let config = repo.config_snapshot();
    let configured = config.string("core.excludesFile").map(|v| v.to_vec());
    configured.hash(&mut h);
    let mut files = vec![repo.common_dir().join("info/exclude"), repo.git_dir().join("info/exclude")];
    if let Ok(Some(path)) = config.trusted_path("core.excludesFile") {
        files.push(path);
    }
    if let Some(xdg) = std::env::var_os("XDG_CONFIG_HOME") {
        files.push(PathBuf::from(xdg).join("git/ignore"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        files.push(PathBuf::from(home).join(".config/git/ignore"));
    }
    for file in files {
        file.hash(&mut h);
        std::fs::read(&file).ok().hash(&mut h);
    }
    h.finish()
}
