//! The in-process restore path: the snapshot's stat index tells by `lstat`
//! which files may differ from the snapshot (the same racy-clean rules as the
//! snapshot side, see [`probe`]); only those are read, compared with their
//! blob ids and, if they differ, rewritten from the snapshot's blobs. Files
//! created since are found with one gix directory walk against the stat
//! index.

use super::gix_snapshot::{Probe, Walk, backend, probe_all, read_path, walk_untracked};
use agent_core::SnapshotError;
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
    index: gix::index::File,
    /// Entries whose working-tree file differs from the snapshot (content,
    /// mode, type, or missing): path, mode, blob id.
    writes: Vec<(BString, Mode, gix::ObjectId)>,
    /// Submodule directories that are missing (recreated empty, like git).
    gitlink_dirs: Vec<BString>,
    /// What the snapshot lacks, as walked before the write-back.
    walk: Walk,
}

impl Plan {
    /// How many files the restore rewrites.
    pub(super) fn writes(&self) -> usize {
        self.writes.len()
    }
}

/// Compares the working tree with the snapshot whose stat index is at `stat_index`.
pub(super) fn prepare(repo: &gix::Repository, root: &Path, stat_index: &Path) -> Result<Prepared, SnapshotError> {
    if repo.object_hash() != gix::hash::Kind::Sha1 {
        return Ok(Prepared::Unsupported("not a sha1 repository".into()));
    }
    let index = match gix::index::File::at(stat_index, gix::hash::Kind::Sha1, false, Default::default()) {
        Ok(index) => index,
        Err(e) => return Ok(Prepared::Unsupported(format!("cannot read the snapshot's stat index: {e}"))),
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
    // The walk for new files runs alongside the stat comparison; it is redone
    // after the write-back only if an ignore file is rewritten.
    let (probes, walk) = probe_all(root, &index, || walk_untracked(repo, &index));
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
            Probe::Clean => false,
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
    Ok(Prepared::Ready(Box::new(Plan { index, writes, gitlink_dirs, walk })))
}

fn blob_id(bytes: &[u8]) -> Result<gix::ObjectId, SnapshotError> {
    gix::objs::compute_hash(gix::hash::Kind::Sha1, gix::objs::Kind::Blob, bytes)
        .map_err(|e| SnapshotError::Backend { operation: "hash blob".into(), message: e.to_string() })
}

/// Writes back what differs from the snapshot (through a temporary file and
/// a rename, so a file is never seen half written) and returns what the
/// snapshot lacks, judged by the snapshot's ignore rules: the walk made
/// before, or, if an ignore file was rewritten, a new one.
pub(super) fn write_back(repo: &gix::Repository, root: &Path, plan: Plan) -> Result<Walk, SnapshotError> {
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
    let ignore_rules_changed =
        plan.writes.iter().any(|(path, _, _)| path == ".gitignore" || path.ends_with(b"/.gitignore"));
    if ignore_rules_changed { walk_untracked(repo, &plan.index) } else { Ok(plan.walk) }
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
