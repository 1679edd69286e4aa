//! The snapshot's stat data stored as a delta against the user's index, and
//! the directory stat cache a restore uses to read only the directories that
//! changed.
//!
//! **Stat delta.** The snapshot's stat index is the user's index (saved
//! byte for byte anyway) with the entries the snapshot found changed,
//! deleted or untracked replaced, removed or added. Writing a few entries
//! instead of re-serialising every one is most of the saving; the restore
//! reads the saved user's index without verifying its checksum (it is our
//! own copy) and applies the delta.
//!
//! **Directory stat cache.** Before the snapshot walks the tree it `lstat`s
//! every directory of the user's index. A directory whose entries change
//! (a file created, deleted or renamed in or out of it) gets a new mtime and
//! ctime, so at restore a directory whose stat is still the recorded one
//! (mtime and ctime to the nanosecond, inode, size, owner) holds the same
//! names as at snapshot time and cannot hold a new file: it is not read.
//! Putting an mtime back by hand (`touch -d`) still changes the ctime.
//! Racily clean directories are read anyway, with git's rule for files: a
//! directory whose mtime is not older, in whole seconds, than the delta file
//! (written after the stats were taken) is not trusted. Directories the
//! snapshot only discovered during its walk (wholly untracked ones) have no
//! recorded stat and are always read.

use super::gix_snapshot::{Walk, backend};
use agent_core::snapshot::SnapshotError;
use gix::bstr::{BStr, BString, ByteSlice};
use gix::index::entry::{Flags, Mode, Stat, stat};
use std::collections::HashSet;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

const MAGIC: &[u8; 4] = b"AKD1";

/// Directories with the stat they had before the snapshot read them (`None`: not known then).
pub(super) type DirStats = Vec<(BString, Option<Stat>)>;

/// What a snapshot stores besides its commit: differences from the user's
/// index and the stat of the directories it saw.
#[derive(Default)]
pub(super) struct Delta {
    /// The delta holds every entry of the snapshot and applies to an empty
    /// index (the user's index could not be shown to be the saved bytes).
    pub(super) full: bool,
    /// Paths of the user's index the snapshot does not hold.
    pub(super) removed: Vec<BString>,
    /// Entries of the snapshot that differ from (or are absent in) the user's index.
    pub(super) upserts: Vec<(BString, Mode, gix::ObjectId, Stat)>,
    /// Every directory the snapshot saw (not ignored), with its stat taken
    /// before the walk when it was known then.
    pub(super) dirs: DirStats,
}

pub(super) fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

pub(super) fn put_path(out: &mut Vec<u8>, p: &BStr) {
    out.extend_from_slice(p);
    out.push(0);
}

pub(super) fn put_stat(out: &mut Vec<u8>, s: &Stat) {
    for v in [s.mtime.secs, s.mtime.nsecs, s.ctime.secs, s.ctime.nsecs, s.dev, s.ino, s.uid, s.gid, s.size] {
        put_u32(out, v);
    }
}

/// Reads what the `put_*` writers wrote, front to back; `None` past the end.
pub(super) struct Reader<'a>(pub(super) &'a [u8]);

impl<'a> Reader<'a> {
    pub(super) fn u32(&mut self) -> Option<u32> {
        let (head, rest) = self.0.split_first_chunk::<4>()?;
        self.0 = rest;
        Some(u32::from_le_bytes(*head))
    }
    pub(super) fn path(&mut self) -> Option<&'a BStr> {
        let end = self.0.find_byte(0)?;
        let p = &self.0[..end];
        self.0 = &self.0[end + 1..];
        Some(p.as_bstr())
    }
    pub(super) fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    pub(super) fn stat(&mut self) -> Option<Stat> {
        let mut v = [0u32; 9];
        for slot in &mut v {
            *slot = self.u32()?;
        }
        Some(Stat {
            mtime: stat::Time { secs: v[0], nsecs: v[1] },
            ctime: stat::Time { secs: v[2], nsecs: v[3] },
            dev: v[4],
            ino: v[5],
            uid: v[6],
            gid: v[7],
            size: v[8],
        })
    }
}

impl Delta {
    pub(super) fn encode(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.push(u8::from(self.full));
        put_u32(&mut out, u32::try_from(self.removed.len()).unwrap_or(u32::MAX));
        for p in &self.removed {
            put_path(&mut out, p.as_bstr());
        }
        put_u32(&mut out, u32::try_from(self.upserts.len()).unwrap_or(u32::MAX));
        for (p, mode, id, stat) in &self.upserts {
            put_path(&mut out, p.as_bstr());
            put_u32(&mut out, mode.bits());
            out.extend_from_slice(id.as_bytes());
            put_stat(&mut out, stat);
        }
        put_u32(&mut out, u32::try_from(self.dirs.len()).unwrap_or(u32::MAX));
        for (p, stat) in &self.dirs {
            put_path(&mut out, p.as_bstr());
            match stat {
                Some(s) => {
                    out.push(1);
                    put_stat(&mut out, s);
                }
                None => out.push(0),
            }
        }
        out
    }

    pub(super) fn decode(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader(bytes.strip_prefix(MAGIC.as_slice())?);
        let mut delta = Delta { full: r.bytes(1)? == [1], ..Delta::default() };
        for _ in 0..r.u32()? {
            delta.removed.push(r.path()?.to_owned());
        }
        for _ in 0..r.u32()? {
            let path = r.path()?.to_owned();
            let mode = Mode::from_bits(r.u32()?)?;
            let id = gix::ObjectId::try_from(r.bytes(20)?).ok()?;
            delta.upserts.push((path, mode, id, r.stat()?));
        }
        for _ in 0..r.u32()? {
            let path = r.path()?.to_owned();
            let stat = match r.bytes(1)? {
                [1] => Some(r.stat()?),
                _ => None,
            };
            delta.dirs.push((path, stat));
        }
        r.0.is_empty().then_some(delta)
    }

    /// The snapshot's stat index: `base` (the saved user's index) with the
    /// delta applied. Its racy-clean reference is the delta file's mtime
    /// (written after every stat it holds was taken), not `base`'s timestamp.
    pub(super) fn apply(&self, base: &mut gix::index::State) {
        if !self.removed.is_empty() {
            let removed: HashSet<&BStr> = self.removed.iter().map(|p| p.as_bstr()).collect();
            base.remove_entries(|_, path, _| removed.contains(path));
        }
        let mut added = Vec::new();
        for (path, mode, id, stat) in &self.upserts {
            match base.entry_mut_by_path_and_stage(path.as_bstr(), gix::index::entry::Stage::Unconflicted) {
                Some(entry) => {
                    entry.mode = *mode;
                    entry.id = *id;
                    entry.stat = *stat;
                }
                None => added.push((path, mode, id, stat)),
            }
        }
        if !added.is_empty() {
            for (path, mode, id, stat) in added {
                base.dangerously_push_entry(*stat, *id, Flags::empty(), *mode, path.as_bstr());
            }
            base.sort_entries();
        }
    }
}

const CACHE_MAGIC: &[u8; 4] = b"AKW1";

/// The previous snapshot's directory walk, saved so the next snapshot reads
/// only the directories whose stat changed since (see [`rescan`]). Valid
/// only while the tracked paths, the global and per-repository exclude
/// files and every tracked `.gitignore` are what they were (an untracked
/// `.gitignore` turning up in a directory read again invalidates it too).
#[derive(Default)]
pub(super) struct WalkCache {
    /// Fingerprint of the user's index paths and modes.
    pub(super) tracked: u64,
    /// Fingerprint of `info/exclude` and the global excludes files.
    pub(super) rules: u64,
    /// Every tracked `.gitignore`, with its stat taken before the walk.
    pub(super) gitignores: Vec<(BString, Stat)>,
    /// Nested repositories found (not entered): still repositories?
    pub(super) repositories: Vec<BString>,
    pub(super) dirs: DirStats,
    pub(super) walk: Walk,
}

impl WalkCache {
    pub(super) fn encode(&self) -> Vec<u8> {
        let mut out = CACHE_MAGIC.to_vec();
        out.extend_from_slice(&self.tracked.to_le_bytes());
        out.extend_from_slice(&self.rules.to_le_bytes());
        put_u32(&mut out, u32::try_from(self.gitignores.len()).unwrap_or(u32::MAX));
        for (p, stat) in &self.gitignores {
            put_path(&mut out, p.as_bstr());
            put_stat(&mut out, stat);
        }
        let lists =
            [&self.repositories, &self.walk.files, &self.walk.empty_dirs, &self.walk.ignored, &self.walk.others];
        for list in lists {
            put_u32(&mut out, u32::try_from(list.len()).unwrap_or(u32::MAX));
            for p in list {
                put_path(&mut out, p.as_bstr());
            }
        }
        let dirs = Delta { dirs: self.dirs.clone(), ..Delta::default() }.encode();
        out.extend_from_slice(&dirs);
        out
    }

    pub(super) fn decode(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader(bytes.strip_prefix(CACHE_MAGIC.as_slice())?);
        let mut cache = WalkCache {
            tracked: u64::from_le_bytes(r.bytes(8)?.try_into().ok()?),
            rules: u64::from_le_bytes(r.bytes(8)?.try_into().ok()?),
            ..WalkCache::default()
        };
        for _ in 0..r.u32()? {
            let path = r.path()?.to_owned();
            cache.gitignores.push((path, r.stat()?));
        }
        for i in 0..5 {
            let mut list = Vec::new();
            for _ in 0..r.u32()? {
                list.push(r.path()?.to_owned());
            }
            match i {
                0 => cache.repositories = list,
                1 => cache.walk.files = list,
                2 => cache.walk.empty_dirs = list,
                3 => cache.walk.ignored = list,
                _ => cache.walk.others = list,
            }
        }
        cache.dirs = Delta::decode(r.0)?.dirs;
        Some(cache)
    }
}

/// The parent directories of the sorted `paths` (and the root, as ""),
/// without duplicates, in no particular order.
pub(super) fn parent_dirs<'a>(paths: impl Iterator<Item = &'a BStr>, out: &mut HashSet<BString>) {
    out.insert(BString::default());
    let mut last: &[u8] = b"\0";
    for path in paths {
        let Some(slash) = path.rfind_byte(b'/') else { continue };
        let dir = &path[..slash];
        if dir == last {
            continue;
        }
        last = dir;
        add_with_ancestors(dir.as_bstr(), out);
    }
}

/// Adds `dir` and its ancestors to `out`, stopping at the first already there.
pub(super) fn add_with_ancestors(dir: &BStr, out: &mut HashSet<BString>) {
    let mut dir = dir;
    while !dir.is_empty() && out.insert(dir.to_owned()) {
        dir = match dir.rfind_byte(b'/') {
            Some(i) => dir[..i].as_bstr(),
            None => break,
        };
    }
}

/// `lstat` of the directory `rel` under `root`; `None` when it is not a directory.
pub(super) fn dir_stat(root: &Path, rel: &BStr) -> Option<Stat> {
    let full = root.join(std::ffi::OsStr::from_bytes(rel));
    let meta = gix::index::fs::Metadata::from_path_no_follow(&full).ok()?;
    if !meta.is_dir() {
        return None;
    }
    Stat::from_fs(&meta).ok()
}

/// Whether a directory recorded with `recorded` (in a cache written in the
/// second `cache_secs`) and now `now` still holds the same names: every stat
/// field equal to the nanosecond, and not racily clean (its mtime older than
/// the cache in whole seconds, as git judges index entries).
pub(super) fn dir_unchanged(recorded: &Stat, now: &Stat, cache_secs: i64) -> bool {
    let exact = stat::Options { trust_ctime: true, check_stat: true, use_nsec: true, use_stdev: true };
    recorded.matches(now, exact) && i64::from(recorded.mtime.secs) < cache_secs
}

/// What [`rescan`] found in the directories that changed.
pub(super) struct Rescan {
    /// Entries not in the index under the changed (or unrecorded)
    /// directories of the cache and in directories created since.
    pub(super) walk: Walk,
    /// Each directory of the cache with its stat taken before it was read
    /// (`None`: no longer a directory).
    pub(super) stats: DirStats,
    /// The directories of the cache that were read (their stat changed or was unknown).
    pub(super) read: HashSet<BString>,
    /// A `.gitignore` or a `.git` appeared in a directory that was read:
    /// the ignore rules or the repository boundaries may have changed.
    pub(super) rules_changed: bool,
}

/// Reads the directories of `dirs` whose stat changed since the cache was
/// written in the second `cache_secs` (or was not recorded) and returns what
/// they hold that `index` does not track, judged by the ignore rules now on
/// disk: untracked files and symlinks, empty directories, ignored entries (an
/// ignored directory as one entry, not entered), nested repositories and
/// anything else (in `others`, not entered). Directories that are not in
/// `dirs` are walked whole. Paths `skip` says are left out of the snapshot
/// by a guard are not entered. A directory of `dirs` that is now a symlink
/// is never followed.
pub(super) fn rescan(
    repo: &gix::Repository,
    root: &Path,
    index: &gix::index::State,
    dirs: &[(BString, Option<Stat>)],
    cache_secs: i64,
    skip: &dyn Fn(&[u8]) -> bool,
) -> Result<Rescan, SnapshotError> {
    let known: HashSet<&BStr> = dirs.iter().map(|(d, _)| d.as_bstr()).collect();
    let mut out = Rescan {
        walk: Walk::default(),
        stats: Vec::with_capacity(dirs.len()),
        read: HashSet::new(),
        rules_changed: false,
    };
    let mut candidates: Vec<(BString, std::fs::FileType)> = Vec::new();
    // Parents before children: a directory under one that is no longer a
    // real directory (a symlink now) is never read through it.
    let mut sorted: Vec<&(BString, Option<Stat>)> = dirs.iter().collect();
    sorted.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut unreal: HashSet<&BStr> = HashSet::new();
    // Directories of the cache that now hold a `.git`: nested repositories,
    // never entered (nothing under them is reported).
    let mut repositories: Vec<BString> = Vec::new();
    for (dir, recorded) in sorted {
        let parent = dir.rfind_byte(b'/').map_or(BStr::new(""), |i| dir[..i].as_bstr());
        let now = if !dir.is_empty() && unreal.contains(parent) { None } else { dir_stat(root, dir.as_bstr()) };
        out.stats.push((dir.clone(), now));
        let Some(now) = now else {
            // Gone, or not a directory any more.
            unreal.insert(dir.as_bstr());
            continue;
        };
        if recorded.is_some_and(|recorded| dir_unchanged(&recorded, &now, cache_secs)) {
            continue;
        }
        out.read.insert(dir.clone());
        let full = root.join(std::ffi::OsStr::from_bytes(dir));
        let Ok(entries) = std::fs::read_dir(&full) else { continue };
        let mut any = false;
        for entry in entries {
            let entry = entry.map_err(|source| SnapshotError::Io { path: full.clone(), source })?;
            any = true;
            let name = entry.file_name();
            let name = name.as_bytes();
            if name == b".git" {
                if !dir.is_empty() {
                    out.rules_changed = true;
                    repositories.push(dir.clone());
                }
                continue;
            }
            let path = join(dir.as_bstr(), name);
            if name == b".gitignore" && index.entry_by_path(path.as_bstr()).is_none() {
                // An untracked ignore file: its rules must be read, and it
                // may be new. (A tracked one is accounted for by the caller.)
                out.rules_changed = true;
            }
            let Ok(kind) = entry.file_type() else { continue };
            if (kind.is_dir() && known.contains(path.as_bstr())) || index.entry_by_path(path.as_bstr()).is_some() {
                continue;
            }
            candidates.push((path, kind));
        }
        if !any && !dir.is_empty() {
            out.walk.empty_dirs.push(dir.clone());
        }
    }
    if !repositories.is_empty() {
        let inside =
            |path: &BString| repositories.iter().any(|r| path.starts_with(r) && path.get(r.len()) == Some(&b'/'));
        candidates.retain(|(path, _)| !inside(path));
        out.walk.empty_dirs.retain(|path| !inside(path));
    }
    if candidates.is_empty() {
        return Ok(out);
    }
    let mut excludes = repo
        .excludes(index, None, gix::worktree::stack::state::ignore::Source::WorktreeThenIdMappingIfNotSkipped)
        .map_err(backend("exclude rules"))?;
    let mut is_excluded = |path: &BStr, is_dir: bool| -> Result<bool, SnapshotError> {
        // Git's rule: a path under an excluded directory is excluded.
        let mut at = 0;
        while let Some(slash) = path[at..].find_byte(b'/') {
            let dir = &path[..at + slash];
            if !known.contains(dir.as_bstr()) && check(&mut excludes, dir.as_bstr(), true)? {
                return Ok(true);
            }
            at += slash + 1;
        }
        check(&mut excludes, path, is_dir)
    };
    while let Some((path, kind)) = candidates.pop() {
        if skip(&path) {
            continue;
        }
        if is_excluded(path.as_bstr(), kind.is_dir())? {
            out.walk.ignored.push(path);
            continue;
        }
        if kind.is_file() || kind.is_symlink() {
            out.walk.files.push(path);
        } else if kind.is_dir() {
            let full = root.join(std::ffi::OsStr::from_bytes(&path));
            let Ok(entries) = std::fs::read_dir(&full) else { continue };
            let mut children = Vec::new();
            let mut nested_repository = false;
            for entry in entries {
                let entry = entry.map_err(|source| SnapshotError::Io { path: full.clone(), source })?;
                let name = entry.file_name();
                if name.as_bytes() == b".git" {
                    nested_repository = true;
                    break;
                }
                out.rules_changed |= name.as_bytes() == b".gitignore";
                let Ok(kind) = entry.file_type() else { continue };
                children.push((join(path.as_bstr(), name.as_bytes()), kind));
            }
            if nested_repository {
                out.walk.others.push(path);
            } else if children.is_empty() {
                out.walk.empty_dirs.push(path);
            } else {
                candidates.extend(children);
            }
        } else {
            out.walk.others.push(path);
        }
    }
    Ok(out)
}

fn check(excludes: &mut gix::AttributeStack<'_>, path: &BStr, is_dir: bool) -> Result<bool, SnapshotError> {
    let mode = if is_dir { Mode::DIR } else { Mode::FILE };
    let platform = excludes
        .at_entry(path, Some(mode))
        .map_err(|e| SnapshotError::Backend { operation: "exclude rules".into(), message: e.to_string() })?;
    Ok(platform.is_excluded())
}

fn join(dir: &BStr, name: &[u8]) -> BString {
    let mut path = BString::from(Vec::with_capacity(dir.len() + 1 + name.len()));
    if !dir.is_empty() {
        path.extend_from_slice(dir);
        path.push(b'/');
    }
    path.extend_from_slice(name);
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(mtime: (u32, u32), ctime: (u32, u32)) -> Stat {
        Stat {
            mtime: stat::Time { secs: mtime.0, nsecs: mtime.1 },
            ctime: stat::Time { secs: ctime.0, nsecs: ctime.1 },
            dev: 1,
            ino: 42,
            uid: 1000,
            gid: 1000,
            size: 4096,
        }
    }

    #[test]
    fn a_directory_is_trusted_only_with_the_same_stat_and_an_mtime_older_than_the_cache() {
        let cache_time = 1_000;
        let recorded = stat((990, 1), (990, 1));
        assert!(dir_unchanged(&recorded, &recorded, cache_time));
        // An mtime put back by hand: the ctime still moved.
        assert!(!dir_unchanged(&recorded, &stat((990, 1), (1_005, 7)), cache_time));
        // Same second, different nanoseconds.
        assert!(!dir_unchanged(&recorded, &stat((990, 2), (990, 1)), cache_time));
        // Another directory at the same path.
        assert!(!dir_unchanged(&recorded, &Stat { ino: 43, ..recorded }, cache_time));
        // Racily clean: modified in the second the cache was written (or
        // later), so a change in the same clock tick could leave the stat as
        // recorded; such a directory is read.
        let racy = stat((1_000, 0), (1_000, 0));
        assert!(!dir_unchanged(&racy, &racy, cache_time));
        let later = stat((1_001, 0), (1_001, 0));
        assert!(!dir_unchanged(&later, &later, cache_time));
        let just_before = stat((999, 999_999_999), (999, 999_999_999));
        assert!(dir_unchanged(&just_before, &just_before, cache_time));
    }

    #[test]
    fn a_delta_round_trips_and_truncation_is_rejected() {
        let id = gix::ObjectId::from_hex(b"0123456789abcdef0123456789abcdef01234567").unwrap();
        let delta = Delta {
            full: false,
            removed: vec!["gone.txt".into(), "d/x".into()],
            upserts: vec![("a.txt".into(), Mode::FILE_EXECUTABLE, id, stat((5, 6), (7, 8)))],
            dirs: vec![("".into(), Some(stat((1, 2), (3, 4)))), ("d/e".into(), None)],
        };
        let bytes = delta.encode();
        let back = Delta::decode(&bytes).unwrap();
        assert_eq!(back.removed, delta.removed);
        assert_eq!(back.upserts, delta.upserts);
        assert_eq!(back.dirs, delta.dirs);
        assert!(Delta::decode(&bytes[..bytes.len() - 1]).is_none());
    }
}
