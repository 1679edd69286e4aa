//! The in-process restore path: the snapshot's stat index tells by `lstat`
//! which files may differ from the snapshot (the same racy-clean rules as the
//! snapshot side, see [`probe`](super::gix_snapshot::probe)); only those are read, compared with their
//! blob ids and, if they differ, rewritten from the snapshot's blobs. Files
//! created since are found with one gix directory walk against the stat
//! index.

use super::delta::{Delta, DirStats, rescan};
use super::gix_snapshot::{Probe, Walk, backend, probe_all, read_path, walk_untracked};
use agent_core::snapshot::SnapshotError;
use gix::bstr::{BStr, BString, ByteSlice};
use gix::index::entry::Mode;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// What a restore has to do, computed without touching anything, or why the
/// in-process path declines (the caller then uses the command line).
pub(super) enum Prepared {
    Ready(Box<Plan>),
    Unsupported(String),
}

pub(super) struct Plan {
    /// The snapshot's stat index: every path of the snapshot.
    index: gix::index::State,
    /// Entries whose working-tree file differs from the snapshot (content,
    /// mode, type, or missing): path, mode, blob id.
    writes: Vec<(BString, Mode, gix::ObjectId)>,
    /// Submodule directories that are missing (recreated empty, like git).
    gitlink_dirs: Vec<BString>,
    /// What the snapshot lacks, as walked before the write-back (only for a
    /// snapshot without directory stats, made by an older version).
    walk: Option<Walk>,
    /// The directories the snapshot saw with their stat, and the second the
    /// stats were saved in: after the write-back only changed ones are read.
    dirs: Option<(DirStats, i64)>,
}

impl Plan {
    /// How many files the restore rewrites.
    pub(super) fn writes(&self) -> usize {
        self.writes.len()
    }
}

/// Where a snapshot's stat data is.
pub(super) struct StatSource<'a> {
    /// A [`Delta`] against the saved user's index (`base`, `None` when the
    /// user had no index), as the in-process snapshot writes it.
    pub(super) delta: &'a Path,
    pub(super) base: Option<&'a Path>,
    /// A whole stat index, as the command-line snapshot (and older versions) write it.
    pub(super) stat_index: &'a Path,
}

/// The snapshot's stat index, the second its stat data was known good in
/// (the racy-clean reference), and its directory stats if it has them.
type Loaded = (gix::index::State, i64, Option<DirStats>);

fn load(source: &StatSource<'_>) -> Result<Loaded, String> {
    let read = |path: &Path| {
        // Files this snapshotter wrote itself: the checksum is not verified.
        gix::index::File::at(path, gix::hash::Kind::Sha1, true, Default::default())
            .map_err(|e| format!("cannot read the snapshot's stat index: {e}"))
    };
    match std::fs::read(source.delta) {
        Ok(bytes) => {
            let delta = Delta::decode(&bytes).ok_or("malformed stat delta")?;
            let secs = std::fs::metadata(source.delta)
                .and_then(|m| m.modified())
                .map_err(|e| e.to_string())?
                .duration_since(std::time::UNIX_EPOCH)
                .map_err(|e| e.to_string())?
                .as_secs();
            let mut state = match source.base {
                Some(base) if !delta.full => read(base)?.into_parts().0,
                _ => gix::index::State::new(gix::hash::Kind::Sha1),
            };
            delta.apply(&mut state);
            let secs = i64::try_from(secs).map_err(|e| e.to_string())?;
            Ok((state, secs, Some(delta.dirs)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let file = read(source.stat_index)?;
            let secs = file.timestamp().unix_seconds();
            Ok((file.into_parts().0, secs, None))
        }
        Err(e) => Err(e.to_string()),
    }
}

/// Compares the working tree with the snapshot whose stat data is at `source`.
pub(super) fn prepare(repo: &gix::Repository, root: &Path, source: &StatSource<'_>) -> Result<Prepared, SnapshotError> {
    if repo.object_hash() != gix::hash::Kind::Sha1 {
        return Ok(Prepared::Unsupported("not a sha1 repository".into()));
    }
    let (index, racy_secs, dirs) = match load(source) {
        Ok(loaded) => loaded,
        Err(e) => return Ok(Prepared::Unsupported(e)),
    };
    if index.link().is_some() || index.is_sparse() {
        return Ok(Prepared::Unsupported("split or sparse stat index".into()));
    }
    for entry in index.entries() {
        let path = entry.path(&index);
        if entry.stage_raw() != 0 {
            return Ok(Prepared::Unsupported("the stat index has conflicts".into()));
        }
        if !is_plain(path) {
            return Ok(Prepared::Unsupported(format!("unusual path {path} in the stat index")));
        }
    }
    // Without directory stats, the walk for new files runs alongside the
    // stat comparison; it is redone after the write-back only if an ignore
    // file is rewritten. With them, new files are looked for after it.
    let (probes, walk) =
        probe_all(root, &index, racy_secs, || dirs.is_none().then(|| walk_untracked(repo, &index)).transpose());
    let probes = probes?;
    let walk = walk?;
    let mut writes = Vec::new();
    let mut gitlink_dirs = Vec::new();
    for (entry, probe) in index.entries().iter().zip(probes) {
        let path = entry.path(&index);
        if entry.mode.is_submodule() {
            // Never entered; only recreated as an empty directory when gone.
            if matches!(probe, Probe::Missing) {
                gitlink_dirs.push(path.to_owned());
            }
            continue;
        }
        let differs = match probe {
            Probe::Clean { .. } => false,
            Probe::Missing | Probe::Unstorable => true,
            Probe::Directory => {
                return Ok(Prepared::Unsupported(format!("a directory is where {path} was")));
            }
            Probe::Changed { mode, stat } => {
                let full = root.join(std::ffi::OsStr::from_bytes(path));
                mode != entry.mode
                    || (mode != Mode::SYMLINK && stat.size != entry.stat.size)
                    || blob_id(&read_path(&full, mode)?)? != entry.id
            }
        };
        if differs {
            writes.push((path.to_owned(), entry.mode, entry.id));
        }
    }
    let dirs = dirs.map(|d| (d, racy_secs));
    Ok(Prepared::Ready(Box::new(Plan { index, writes, gitlink_dirs, walk, dirs })))
}

fn blob_id(bytes: &[u8]) -> Result<gix::ObjectId, SnapshotError> {
    gix::objs::compute_hash(gix::hash::Kind::Sha1, gix::objs::Kind::Blob, bytes)
        .map_err(|e| SnapshotError::Backend { operation: "hash blob".into(), message: e.to_string() })
}

/// Writes back what differs from the snapshot (through a temporary file and
/// a rename, so a file is never seen half written) and returns what the
/// snapshot lacks, judged by the snapshot's ignore rules: from the changed
/// directories (see [`rescan`]), or for a snapshot without directory stats
/// the walk made before, or, if an ignore file was rewritten, a new one.
/// What `skip` says a guard left out is never entered.
pub(super) fn write_back(
    repo: &gix::Repository,
    root: &Path,
    plan: Plan,
    skip: &dyn Fn(&[u8]) -> bool,
) -> Result<Walk, SnapshotError> {
    for (path, mode, id) in &plan.writes {
        let object = repo.find_object(*id).map_err(backend("read blob"))?;
        let full = root.join(std::ffi::OsStr::from_bytes(path));
        ensure_parent_dirs(root, path.as_bstr())?;
        write_entry(&full, *mode, &object.data)?;
    }
    for path in &plan.gitlink_dirs {
        ensure_parent_dirs(root, path.as_bstr())?;
        let full = root.join(std::ffi::OsStr::from_bytes(path));
        match std::fs::create_dir(&full) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(SnapshotError::Io { path: full, source: e }),
        }
    }
    if let Some((dirs, secs)) = &plan.dirs {
        let mut walk = rescan(repo, root, &plan.index, dirs, *secs, skip)?.walk;
        walk.ignored.clear();
        return Ok(walk);
    }
    let ignore_rules_changed =
        plan.writes.iter().any(|(path, _, _)| path == ".gitignore" || path.ends_with(b"/.gitignore"));
    match plan.walk {
        Some(walk) if !ignore_rules_changed => Ok(walk),
        _ => walk_untracked(repo, &plan.index),
    }
}

/// A relative path of normal components, none of them `.git`.
fn is_plain(path: &BStr) -> bool {
    !path.is_empty() && path.split(|b| *b == b'/').all(|c| !c.is_empty() && c != b"." && c != b".." && c != b".git")
}

/// Makes every leading component of `path` a real directory, never following
/// a symlink: a file or symlink in the way is removed (as git's checkout does).
fn ensure_parent_dirs(root: &Path, path: &BStr) -> Result<(), SnapshotError> {
    let mut current = root.to_path_buf();
    let components: Vec<&[u8]> = path.split(|b| *b == b'/').collect();
    for component in &components[..components.len().saturating_sub(1)] {
        current.push(std::ffi::OsStr::from_bytes(component));
        let io = |source| SnapshotError::Io { path: current.clone(), source };
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.is_dir() => continue,
            Ok(_) => std::fs::remove_file(&current).map_err(io)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
        std::fs::create_dir(&current).map_err(|source| SnapshotError::Io { path: current.clone(), source })?;
    }
    Ok(())
}

/// Puts `data` at `full` as a file (mode from `mode`, the umask applies) or
/// a symlink, replacing whatever file or symlink is there.
fn write_entry(full: &Path, mode: Mode, data: &[u8]) -> Result<(), SnapshotError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = full.file_name().unwrap_or_default().as_bytes();
    let mut tmp_name = b".".to_vec();
    tmp_name.extend_from_slice(name);
    tmp_name.extend_from_slice(
        format!(".agentkit-{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed)).as_bytes(),
    );
    let tmp = full.with_file_name(std::ffi::OsStr::from_bytes(&tmp_name));
    let io = |path: &Path| {
        let path: PathBuf = path.to_path_buf();
        move |source| SnapshotError::Io { path, source }
    };
    if mode == Mode::SYMLINK {
        std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(data), &tmp).map_err(io(&tmp))?;
    } else {
        let perm = if mode == Mode::FILE_EXECUTABLE { 0o777 } else { 0o666 };
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(perm)
            .open(&tmp)
            .and_then(|mut file| file.write_all(data));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(io(&tmp)(e));
        }
    }
    if let Err(e) = std::fs::rename(&tmp, full) {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(full)(e));
    }
    Ok(())
}
