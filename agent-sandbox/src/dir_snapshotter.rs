//! [`DirSnapshotter`]: snapshots of a plain directory (no git needed) as a
//! full copy of its files plus a manifest.
//!
//! ```no_run
//! use agent_core::Snapshotter;
//! use agent_sandbox::DirSnapshotter;
//! use std::path::Path;
//!
//! # async fn demo() -> Result<(), agent_core::snapshot::SnapshotError> {
//! let snaps = DirSnapshotter::in_temp_dir().with_max_file_bytes(1 << 20);
//! let root = Path::new("/path/to/workspace");
//! let id = snaps.snapshot(root).await?;
//! for skipped in snaps.excluded(&id)? {
//!     println!("not in the snapshot: {} ({})", skipped.path.display(), skipped.reason);
//! }
//! // ... the agent edits files, the tests fail ...
//! snaps.restore(root, &id).await?;
//! snaps.discard(root, &id).await?;
//! # Ok(()) }
//! ```

use agent_core::Snapshotter;
use agent_core::snapshot::{SnapshotError, SnapshotId};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::fmt;
use std::fs::{self, Metadata};
use std::io::{Read, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Directory names a [`DirSnapshotter`] skips unless told otherwise.
pub const DEFAULT_EXCLUDES: &[&str] = &["target", "node_modules", ".git", ".venv", "__pycache__", "dist", "build"];

/// Files larger than this (10 MiB) are left out of a snapshot by default.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;

const MANIFEST: &str = "manifest.json";
const TREE: &str = "tree";
const RESTORE_MARKER: &str = "restore-in-progress";
const MANIFEST_VERSION: u32 = 1;

/// Snapshots a directory that is not (or need not be) a git repository by
/// copying its files into a store.
///
/// - `snapshot(root)` copies every regular file (bytes and permission mode),
///   every symlink (as a symlink, with its target, never followed) and every
///   directory (with its mode, so empty directories come back) into
///   `store/<id>/tree`, and writes `store/<id>/manifest.json` listing each
///   path with its kind, mode, size, SHA-256 and symlink target, plus every
///   path left out and why. The snapshot is assembled under a temporary name
///   and renamed into place when complete, so a crash never leaves a
///   half-written snapshot under a valid id. Files are **copied**, never hard
///   linked: the agent modifies the workspace's files in place, and a hard
///   link would modify the snapshot with them.
/// - Left out, and reported by [`DirSnapshotter::excluded`] and a
///   `tracing::warn!` (never silently): directories whose name is in the
///   exclude list (at any depth; by default [`DEFAULT_EXCLUDES`]), files
///   larger than the size limit, sockets, FIFOs and devices, and the store
///   itself when it lies inside the workspace.
/// - `restore(root, id)` makes the workspace exactly the snapshot: files and
///   symlinks created since are removed, deleted ones come back, files whose
///   size or SHA-256 differ from the manifest are rewritten (through a
///   temporary file and a rename), modes are put back, empty directories are
///   recreated and directories created since are removed. Files that did not
///   change are not rewritten, so they keep their mtime; rewritten files get
///   a new mtime (not the old one, so build tools see the change). Excluded
///   directories (by the snapshot's exclude list) and the paths the snapshot
///   left out are never touched or deleted, even inside a directory created
///   since (such a directory stays, holding only them).
/// - Crash safety: restore writes `store/<id>/restore-in-progress` before it
///   touches the workspace and removes it at the end. Restore always
///   compares the whole workspace against the manifest, so it is idempotent:
///   after a crash mid-restore (marker still present, workspace half
///   restored) running `restore` again simply redoes the work and ends
///   exact. [`DirSnapshotter::interrupted_restores`] lists such snapshots.
/// - `discard(root, id)` removes `store/<id>`.
/// - **The store is checked, and so is what it says.** The store (and
///   every snapshot directory in it) is created with mode 0700, and a store
///   that is a symlink, not a directory or not owned by the effective user
///   (e.g. one planted in a shared temporary directory) is refused with
///   [`SnapshotError::Io`] of kind `PermissionDenied`. Before a restore
///   writes anything, every manifest path is checked: a plain relative path
///   (no absolute path, `..` or `.`, no NUL byte), listed once, under a
///   directory the manifest lists (never under a symlink or a file), not
///   under a path the snapshot left out; a manifest that fails is refused
///   whole with [`SnapshotError::RestoreRefused`] naming the entry. While
///   restoring, every directory on the way to a path is checked with
///   `lstat` just before it is used, and a symlink found there (a directory
///   swapped since the walk) stops the restore with [`SnapshotError::Io`]
///   of kind `NotADirectory`; files are read from the store
///   without following a symlink and written through fresh temporary
///   files created exclusively, so the restore never reads, writes, deletes
///   or changes the mode of anything outside the root.
///
/// A snapshot belongs to the root it was taken of: restoring or discarding
/// it through another root is [`SnapshotError::NotFound`]. A root that does
/// not exist (or is not a directory) is [`SnapshotError::Unsupported`].
/// Ownership, timestamps, extended attributes and hard-link structure are
/// not recorded.
///
/// ```no_run
/// use agent_core::Snapshotter;
/// use agent_sandbox::DirSnapshotter;
/// use std::path::{Path, PathBuf};
///
/// # async fn demo() -> Result<(), agent_core::snapshot::SnapshotError> {
/// let snaps = DirSnapshotter::new(PathBuf::from("/var/tmp/agent-snapshots"))
///     .with_exclude(vec!["target".into(), "node_modules".into(), ".cache".into()]);
/// let id = snaps.snapshot(Path::new("/path/to/workspace")).await?;
/// snaps.restore(Path::new("/path/to/workspace"), &id).await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct DirSnapshotter {
    store: PathBuf,
    exclude: Vec<String>,
    max_file_bytes: u64,
}

/// A path a snapshot left out, relative to the workspace root.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExcludedPath {
    /// The path, relative to the root.
    pub path: PathBuf,
    /// Why it was left out.
    pub reason: DirExclusionReason,
}

/// Why a path was left out of a snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
#[non_exhaustive]
pub enum DirExclusionReason {
    /// A directory whose name is in the exclude list; nothing under it was recorded.
    ExcludedDirectory,
    /// A file larger than the size limit.
    TooLarge {
        /// The file's size in bytes.
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// A socket, FIFO or device: not a file, symlink or directory.
    SpecialFile,
    /// The snapshot store itself, which lies inside the workspace.
    SnapshotStore,
}

impl fmt::Display for DirExclusionReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ExcludedDirectory => f.write_str("excluded directory"),
            Self::TooLarge { size, limit } => write!(f, "file of {size} bytes is over the {limit}-byte limit"),
            Self::SpecialFile => f.write_str("not a regular file, symlink or directory"),
            Self::SnapshotStore => f.write_str("the snapshot store"),
        }
    }
}

impl Default for DirSnapshotter {
    fn default() -> Self {
        Self::in_temp_dir()
    }
}

impl DirSnapshotter {
    /// A snapshotter keeping its snapshots under `store` (created when needed).
    pub fn new(store: PathBuf) -> Self {
        Self {
            store,
            exclude: DEFAULT_EXCLUDES.iter().map(|s| (*s).to_owned()).collect(),
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
        }
    }

    /// A snapshotter keeping its snapshots in `agentkit-dir-snapshots-<uid>`
    /// under the system's temporary directory (one per user: a store
    /// another user created first would be refused, see the type's docs).
    pub fn in_temp_dir() -> Self {
        let uid = nix::unistd::geteuid().as_raw();
        Self::new(std::env::temp_dir().join(format!("agentkit-dir-snapshots-{uid}")))
    }

    /// Skips directories with these names (at any depth) instead of
    /// [`DEFAULT_EXCLUDES`]. Restore never touches them.
    pub fn with_exclude(mut self, names: Vec<String>) -> Self {
        self.exclude = names;
        self
    }

    /// Leaves out files larger than `bytes` (default [`DEFAULT_MAX_FILE_BYTES`]).
    pub fn with_max_file_bytes(mut self, bytes: u64) -> Self {
        self.max_file_bytes = bytes;
        self
    }

    /// Where snapshots are kept.
    pub fn store(&self) -> &Path {
        &self.store
    }

    /// The paths snapshot `id` left out, with the reason for each.
    pub fn excluded(&self, id: &SnapshotId) -> Result<Vec<ExcludedPath>, SnapshotError> {
        check_id(id)?;
        let store = self.open_store(false)?.ok_or_else(|| SnapshotError::NotFound { id: id.clone() })?;
        let manifest = read_manifest(&snapshot_path(&store, id)?, id)?;
        let mut out = Vec::new();
        for e in manifest.excluded {
            let path = checked_path(id, &e.path)?;
            out.push(ExcludedPath { path, reason: e.reason });
        }
        Ok(out)
    }

    /// Snapshots whose last restore did not finish (the marker file is still
    /// there): restore them again to bring their workspace to a known state.
    pub fn interrupted_restores(&self) -> Result<Vec<SnapshotId>, SnapshotError> {
        let Some(store) = self.open_store(false)? else { return Ok(Vec::new()) };
        let entries = fs::read_dir(&store).map_err(io_err(&store))?;
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io_err(&store))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let id = SnapshotId(name);
            if check_id(&id).is_ok() && entry.path().join(RESTORE_MARKER).exists() {
                out.push(id);
            }
        }
        out.sort();
        Ok(out)
    }
}

#[async_trait]
impl Snapshotter for DirSnapshotter {
    async fn snapshot(&self, root: &Path) -> Result<SnapshotId, SnapshotError> {
        let this = self.clone();
        let root = root.to_path_buf();
        let span =
            tracing::info_span!("agent_sandbox.dir_snapshot", root = %root.display(), id = tracing::field::Empty);
        blocking(move || {
            let _e = span.enter();
            let id = this.snapshot_blocking(&root)?;
            span.record("id", id.as_str());
            Ok(id)
        })
        .await
    }

    async fn restore(&self, root: &Path, id: &SnapshotId) -> Result<(), SnapshotError> {
        let this = self.clone();
        let root = root.to_path_buf();
        let id = id.clone();
        let span = tracing::info_span!("agent_sandbox.dir_restore", root = %root.display(), id = %id);
        blocking(move || {
            let _e = span.enter();
            this.restore_blocking(&root, &id)
        })
        .await
    }

    async fn discard(&self, root: &Path, id: &SnapshotId) -> Result<(), SnapshotError> {
        let this = self.clone();
        let root = root.to_path_buf();
        let id = id.clone();
        let span = tracing::info_span!("agent_sandbox.dir_discard", root = %root.display(), id = %id);
        blocking(move || {
            let _e = span.enter();
            this.discard_blocking(&root, &id)
        })
        .await
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SnapshotError> + Send + 'static,
) -> Result<T, SnapshotError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| SnapshotError::Backend { operation: "directory snapshot task".into(), message: e.to_string() })?
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SnapshotError + '_ {
    move |source| SnapshotError::Io { path: path.to_path_buf(), source }
}

/// Ids name directories in the store; anything that is not one of ours
/// (letters, digits, `-`) cannot name a snapshot and must never reach a path.
fn check_id(id: &SnapshotId) -> Result<(), SnapshotError> {
    let s = id.as_str();
    let ok = !s.is_empty()
        && s.len() <= 128
        && s.starts_with('d')
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok { Ok(()) } else { Err(SnapshotError::NotFound { id: id.clone() }) }
}

/// A fresh id: `d` and a time-ordered UUID (v7), so ids sort by creation.
fn new_id() -> String {
    format!("d{}", uuid::Uuid::now_v7().simple())
}

/// The workspace root as a canonical directory, or `Unsupported`.
fn open_root(root: &Path) -> Result<PathBuf, SnapshotError> {
    let unsupported = |reason: String| SnapshotError::Unsupported { root: root.to_path_buf(), reason };
    match fs::metadata(root) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => return Err(unsupported("not a directory".into())),
        Err(e) => return Err(unsupported(format!("cannot open: {e}"))),
    }
    root.canonicalize().map_err(io_err(root))
}

/// A path as stored in the manifest: text when it is UTF-8, hex bytes otherwise.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum RawPath {
    Text(String),
    Bytes { bytes_hex: String },
}

impl RawPath {
    fn from_path(path: &Path) -> Self {
        match path.to_str() {
            Some(s) => Self::Text(s.to_owned()),
            None => Self::Bytes { bytes_hex: hex::encode(path.as_os_str().as_bytes()) },
        }
    }

    fn into_path(self) -> PathBuf {
        match self {
            Self::Text(s) => PathBuf::from(s),
            Self::Bytes { bytes_hex } => {
                PathBuf::from(std::ffi::OsString::from_vec(hex::decode(bytes_hex).unwrap_or_default()))
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Kind {
    File,
    Symlink,
    Dir,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct EntryRecord {
    path: RawPath,
    kind: Kind,
    mode: u32,
    size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target: Option<RawPath>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct ExcludedRecord {
    path: RawPath,
    reason: DirExclusionReason,
}

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    version: u32,
    id: String,
    root: RawPath,
    created_unix_ms: u64,
    exclude: Vec<String>,
    max_file_bytes: u64,
    entries: Vec<EntryRecord>,
    excluded: Vec<ExcludedRecord>,
}

fn read_manifest(dir: &Path, id: &SnapshotId) -> Result<Manifest, SnapshotError> {
    let path = dir.join(MANIFEST);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(SnapshotError::NotFound { id: id.clone() }),
        Err(e) => return Err(io_err(&path)(e)),
    };
    serde_json::from_slice(&bytes)
        .map_err(|e| SnapshotError::Backend { operation: format!("read {}", path.display()), message: e.to_string() })
}

fn mode_of(meta: &Metadata) -> u32 {
    meta.permissions().mode() & 0o7777
}

fn set_mode(path: &Path, mode: u32) -> Result<(), SnapshotError> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(io_err(path))
}

/// Makes a directory we must read or change usable by us (`u+rwx`); restore
/// puts the recorded mode back at the end.
fn ensure_usable_dir(path: &Path, meta: &Metadata) -> Result<(), SnapshotError> {
    let mode = mode_of(meta);
    if mode & 0o700 != 0o700 { set_mode(path, mode | 0o700) } else { Ok(()) }
}

/// Entries of a directory, sorted by name.
fn sorted_entries(dir: &Path) -> Result<Vec<std::ffi::OsString>, SnapshotError> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err(dir))? {
        names.push(entry.map_err(io_err(dir))?.file_name());
    }
    names.sort();
    Ok(names)
}

/// Copies `from` (never through a symlink at `from`) to `to`, which must
/// not exist (a file or symlink planted there is an error, never written
/// through), and returns the SHA-256 and the number of bytes copied.
fn copy_hashing(from: &Path, to: &Path) -> Result<(String, u64), SnapshotError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut src =
        fs::OpenOptions::new().read(true).custom_flags(nix::libc::O_NOFOLLOW).open(from).map_err(io_err(from))?;
    let mut dst = fs::OpenOptions::new().write(true).create_new(true).open(to).map_err(io_err(to))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = match src.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_err(from)(e)),
        };
        hasher.update(&buf[..n]);
        dst.write_all(&buf[..n]).map_err(io_err(to))?;
        total += n as u64;
    }
    dst.flush().map_err(io_err(to))?;
    Ok((hex::encode(hasher.finalize()), total))
}

fn sha256_file(path: &Path) -> Result<String, SnapshotError> {
    let mut file = fs::File::open(path).map_err(io_err(path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_err(path)(e)),
        }
    }
    Ok(hex::encode(hasher.finalize()))
}

/// A name for a temporary file next to `path`.
fn temp_sibling(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = format!(".agentkit-restore-{}-{}.tmp", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
    path.parent().unwrap_or(Path::new(".")).join(name)
}

fn remove_file_if_exists(path: &Path) -> Result<(), SnapshotError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(path)(e)),
    }
}

/// What a walk of the workspace collects for a snapshot.
struct Scan<'a> {
    root: &'a Path,
    tree: &'a Path,
    store: &'a Path,
    exclude: &'a BTreeSet<&'a OsStr>,
    max_file_bytes: u64,
    entries: Vec<EntryRecord>,
    excluded: Vec<ExcludedRecord>,
}

impl Scan<'_> {
    fn dir(&mut self, rel: &Path) -> Result<(), SnapshotError> {
        let dir = self.root.join(rel);
        for name in sorted_entries(&dir)? {
            let rel = rel.join(&name);
            let path = self.root.join(&rel);
            let meta = match fs::symlink_metadata(&path) {
                Ok(meta) => meta,
                // Deleted while we were walking: not part of the snapshot.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_err(&path)(e)),
            };
            let kind = meta.file_type();
            let copy = self.tree.join(&rel);
            if kind.is_dir() {
                if path == self.store {
                    self.exclude(rel, DirExclusionReason::SnapshotStore);
                    continue;
                }
                if self.exclude.contains(name.as_os_str()) {
                    self.exclude(rel, DirExclusionReason::ExcludedDirectory);
                    continue;
                }
                fs::create_dir(&copy).map_err(io_err(&copy))?;
                self.entries.push(EntryRecord {
                    path: RawPath::from_path(&rel),
                    kind: Kind::Dir,
                    mode: mode_of(&meta),
                    size: 0,
                    sha256: None,
                    target: None,
                });
                self.dir(&rel)?;
            } else if kind.is_symlink() {
                let target = fs::read_link(&path).map_err(io_err(&path))?;
                std::os::unix::fs::symlink(&target, &copy).map_err(io_err(&copy))?;
                self.entries.push(EntryRecord {
                    path: RawPath::from_path(&rel),
                    kind: Kind::Symlink,
                    mode: mode_of(&meta),
                    size: 0,
                    sha256: None,
                    target: Some(RawPath::from_path(&target)),
                });
            } else if kind.is_file() {
                if meta.len() > self.max_file_bytes {
                    self.exclude(rel, DirExclusionReason::TooLarge { size: meta.len(), limit: self.max_file_bytes });
                    continue;
                }
                let (sha, size) = copy_hashing(&path, &copy)?;
                let mode = mode_of(&meta);
                set_mode(&copy, mode | 0o600)?;
                self.entries.push(EntryRecord {
                    path: RawPath::from_path(&rel),
                    kind: Kind::File,
                    mode,
                    size,
                    sha256: Some(sha),
                    target: None,
                });
            } else {
                self.exclude(rel, DirExclusionReason::SpecialFile);
            }
        }
        Ok(())
    }

    fn exclude(&mut self, rel: PathBuf, reason: DirExclusionReason) {
        tracing::warn!(path = %rel.display(), %reason, "left out of the directory snapshot");
        self.excluded.push(ExcludedRecord { path: RawPath::from_path(&rel), reason });
    }
}

/// Directories of the store: readable by their owner only.
fn private_dir() -> fs::DirBuilder {
    use std::os::unix::fs::DirBuilderExt;
    let mut builder = fs::DirBuilder::new();
    builder.mode(0o700);
    builder
}

/// `store/<id>`, which must be a real directory (a symlink there is refused).
fn snapshot_path(store: &Path, id: &SnapshotId) -> Result<PathBuf, SnapshotError> {
    let dir = store.join(id.as_str());
    match fs::symlink_metadata(&dir) {
        Ok(meta) if meta.is_dir() => Ok(dir),
        Ok(_) => Err(SnapshotError::RestoreRefused {
            id: id.clone(),
            reason: format!("{} is not a directory of the store (a symlink?)", dir.display()),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(SnapshotError::NotFound { id: id.clone() }),
        Err(e) => Err(io_err(&dir)(e)),
    }
}

/// How a manifest path reads in an error: its text, or its hex bytes.
fn describe(raw: &RawPath) -> String {
    match raw {
        RawPath::Text(text) => format!("{text:?}"),
        RawPath::Bytes { bytes_hex } => format!("bytes {bytes_hex}"),
    }
}

/// A manifest path, checked: decodable, not empty, no NUL byte, relative,
/// made of normal components only (no `..`, `.`, root, doubled or trailing
/// slash). Anything else refuses the restore.
fn checked_path(id: &SnapshotId, raw: &RawPath) -> Result<PathBuf, SnapshotError> {
    let refuse = |why: &str| SnapshotError::RestoreRefused {
        id: id.clone(),
        reason: format!("the manifest entry {} {why}", describe(raw)),
    };
    let bytes = match raw {
        RawPath::Text(text) => text.as_bytes().to_vec(),
        RawPath::Bytes { bytes_hex } => hex::decode(bytes_hex).map_err(|_| refuse("is not valid hex"))?,
    };
    if bytes.is_empty() {
        return Err(refuse("is empty"));
    }
    if bytes.contains(&0) {
        return Err(refuse("holds a NUL byte"));
    }
    let path = PathBuf::from(std::ffi::OsString::from_vec(bytes));
    let mut rebuilt = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::Normal(name) => rebuilt.push(name),
            _ => return Err(refuse("is not a plain relative path (absolute, `..` or `.`)")),
        }
    }
    if rebuilt.as_os_str() != path.as_os_str() {
        return Err(refuse("is not a plain relative path (absolute, `..` or `.`)"));
    }
    Ok(path)
}

/// A manifest's entries and left-out paths, checked.
struct Checked {
    expected: BTreeMap<PathBuf, Expected>,
    excluded: BTreeSet<PathBuf>,
}

/// Checks every path of `manifest` before a restore writes anything: each
/// is a plain relative path ([`checked_path`]), listed once, whose parent
/// is a directory the manifest lists (never a symlink or a file: nothing
/// is written through a link), not under a path the snapshot left out or
/// an excluded directory name; symlink targets hold no NUL byte; files
/// carry a SHA-256.
fn check_manifest(id: &SnapshotId, manifest: &Manifest) -> Result<Checked, SnapshotError> {
    let refuse = |raw: &RawPath, why: String| SnapshotError::RestoreRefused {
        id: id.clone(),
        reason: format!("the manifest entry {} {why}", describe(raw)),
    };
    let mut excluded = BTreeSet::new();
    for e in &manifest.excluded {
        excluded.insert(checked_path(id, &e.path)?);
    }
    let exclude: BTreeSet<&OsStr> = manifest.exclude.iter().map(OsStr::new).collect();
    let mut expected = BTreeMap::new();
    for e in &manifest.entries {
        let path = checked_path(id, &e.path)?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            match expected.get(parent).map(|x: &Expected| x.kind) {
                Some(Kind::Dir) => {}
                Some(_) => return Err(refuse(&e.path, "lies under an entry that is not a directory".into())),
                // Parents come first in a manifest the snapshotter wrote.
                None => return Err(refuse(&e.path, "lies under no directory the manifest lists".into())),
            }
        }
        if path.ancestors().skip(1).any(|a| excluded.contains(a)) || excluded.contains(&path) {
            return Err(refuse(&e.path, "lies in a path the snapshot left out".into()));
        }
        let mut names = path.iter().collect::<Vec<_>>();
        if e.kind != Kind::Dir {
            names.pop();
        }
        if names.iter().any(|n| exclude.contains(n)) {
            return Err(refuse(&e.path, "lies in an excluded directory".into()));
        }
        let target = match (&e.kind, &e.target) {
            (Kind::Symlink, Some(raw)) => {
                let target = raw.clone().into_path();
                if target.as_os_str().is_empty() || target.as_os_str().as_bytes().contains(&0) {
                    return Err(refuse(&e.path, "has an empty symlink target or one with a NUL byte".into()));
                }
                Some(target)
            }
            (Kind::Symlink, None) => return Err(refuse(&e.path, "is a symlink without a target".into())),
            _ => None,
        };
        if e.kind == Kind::File && e.sha256.as_ref().is_none_or(|h| h.len() != 64) {
            return Err(refuse(&e.path, "is a file without a SHA-256".into()));
        }
        let entry = Expected { kind: e.kind, mode: e.mode & 0o7777, size: e.size, sha256: e.sha256.clone(), target };
        if expected.insert(path, entry).is_some() {
            return Err(refuse(&e.path, "is listed twice".into()));
        }
    }
    Ok(Checked { expected, excluded })
}

/// A manifest entry, decoded.
struct Expected {
    kind: Kind,
    mode: u32,
    size: u64,
    sha256: Option<String>,
    target: Option<PathBuf>,
}

/// Everything restore needs to know about one snapshot.
struct RestorePlan<'a> {
    root: &'a Path,
    tree: PathBuf,
    store: PathBuf,
    exclude: BTreeSet<std::ffi::OsString>,
    expected: BTreeMap<PathBuf, Expected>,
    excluded: BTreeSet<PathBuf>,
}

impl RestorePlan<'_> {
    /// Whether `rel` (with file name `name`, a directory when `is_dir`) is
    /// never touched by restore.
    fn protected(&self, rel: &Path, name: &OsStr, is_dir: bool) -> bool {
        self.excluded.contains(rel) || (is_dir && self.exclude.contains(name)) || self.root.join(rel) == self.store
    }

    /// Stops the restore ([`SnapshotError::Io`] of kind `NotADirectory`,
    /// naming the path) when a directory on the way to `rel` (and `rel`
    /// itself when `itself`) is not a real directory: a symlink there (put
    /// there since the walk looked) would make the restore read, write,
    /// delete or chmod outside the root.
    fn check_real_dirs(&self, rel: &Path, itself: bool) -> Result<(), SnapshotError> {
        let mut dir = PathBuf::new();
        let mut components = rel.components().peekable();
        while let Some(c) = components.next() {
            if components.peek().is_none() && !itself {
                break;
            }
            dir.push(c);
            let path = self.root.join(&dir);
            match fs::symlink_metadata(&path) {
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => {
                    let source = std::io::Error::new(
                        std::io::ErrorKind::NotADirectory,
                        format!(
                            "not a directory any more (a symlink?); refusing to restore {:?} through it",
                            rel.display().to_string()
                        ),
                    );
                    return Err(SnapshotError::Io { path, source });
                }
                Err(e) => return Err(io_err(&path)(e)),
            }
        }
        Ok(())
    }

    /// Phase 1: removes what is in the workspace and not in the snapshot (or
    /// of another kind), leaving protected paths alone.
    fn prune(&self, rel: &Path) -> Result<(), SnapshotError> {
        self.check_real_dirs(rel, true)?;
        let dir = self.root.join(rel);
        for name in sorted_entries(&dir)? {
            let rel = rel.join(&name);
            let path = self.root.join(&rel);
            let meta = fs::symlink_metadata(&path).map_err(io_err(&path))?;
            let kind = meta.file_type();
            if self.protected(&rel, &name, kind.is_dir()) {
                continue;
            }
            let want = self.expected.get(&rel).map(|e| e.kind);
            if kind.is_dir() {
                ensure_usable_dir(&path, &meta)?;
                if want == Some(Kind::Dir) {
                    self.prune(&rel)?;
                } else {
                    self.remove_new_dir(&rel)?;
                }
            } else {
                let same_kind = match want {
                    Some(Kind::File) => kind.is_file(),
                    Some(Kind::Symlink) => kind.is_symlink(),
                    _ => false,
                };
                if !same_kind {
                    remove_file_if_exists(&path)?;
                }
            }
        }
        Ok(())
    }

    /// Removes a directory created since the snapshot, except protected
    /// paths under it (the directory then stays, holding only them).
    fn remove_new_dir(&self, rel: &Path) -> Result<(), SnapshotError> {
        self.check_real_dirs(rel, true)?;
        let dir = self.root.join(rel);
        let mut kept = false;
        for name in sorted_entries(&dir)? {
            let rel = rel.join(&name);
            let path = self.root.join(&rel);
            let meta = fs::symlink_metadata(&path).map_err(io_err(&path))?;
            if self.protected(&rel, &name, meta.is_dir()) {
                kept = true;
            } else if meta.is_dir() {
                ensure_usable_dir(&path, &meta)?;
                self.remove_new_dir(&rel)?;
                kept |= path.exists();
            } else {
                remove_file_if_exists(&path)?;
            }
        }
        if !kept {
            fs::remove_dir(&dir).map_err(io_err(&dir))?;
        }
        Ok(())
    }

    /// Phase 2: creates and rewrites what differs, parents before children.
    fn apply(&self) -> Result<(), SnapshotError> {
        for (rel, want) in &self.expected {
            self.check_real_dirs(rel, false)?;
            let path = self.root.join(rel);
            let current = match fs::symlink_metadata(&path) {
                Ok(meta) => Some(meta),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(io_err(&path)(e)),
            };
            let in_the_way = || SnapshotError::Backend {
                operation: format!("restore {}", rel.display()),
                message: "a directory holding excluded paths occupies this path".into(),
            };
            match want.kind {
                Kind::Dir => match current {
                    Some(meta) if meta.is_dir() => ensure_usable_dir(&path, &meta)?,
                    Some(_) => {
                        remove_file_if_exists(&path)?;
                        fs::create_dir(&path).map_err(io_err(&path))?;
                        set_mode(&path, want.mode | 0o700)?;
                    }
                    None => {
                        fs::create_dir(&path).map_err(io_err(&path))?;
                        set_mode(&path, want.mode | 0o700)?;
                    }
                },
                Kind::File => {
                    if let Some(meta) = &current {
                        if meta.is_dir() {
                            return Err(in_the_way());
                        }
                        if meta.is_file()
                            && meta.len() == want.size
                            && want.sha256.as_deref() == Some(sha256_file(&path)?.as_str())
                        {
                            if mode_of(meta) != want.mode {
                                set_mode(&path, want.mode)?;
                            }
                            continue;
                        }
                    }
                    self.write_file(rel, &path, want)?;
                }
                Kind::Symlink => {
                    let target = want.target.clone().unwrap_or_default();
                    if let Some(meta) = &current {
                        if meta.is_dir() {
                            return Err(in_the_way());
                        }
                        if meta.file_type().is_symlink() && fs::read_link(&path).map_err(io_err(&path))? == target {
                            continue;
                        }
                    }
                    let tmp = temp_sibling(&path);
                    remove_file_if_exists(&tmp)?;
                    std::os::unix::fs::symlink(&target, &tmp).map_err(io_err(&tmp))?;
                    fs::rename(&tmp, &path).map_err(io_err(&path))?;
                }
            }
        }
        Ok(())
    }

    /// Writes the snapshot's copy of `rel` over `path` through a temporary
    /// file and a rename, checking the copy against the manifest.
    fn write_file(&self, rel: &Path, path: &Path, want: &Expected) -> Result<(), SnapshotError> {
        let source = self.tree.join(rel);
        let tmp = temp_sibling(path);
        remove_file_if_exists(&tmp)?;
        let result = copy_hashing(&source, &tmp).and_then(|(sha, size)| {
            if Some(sha.as_str()) != want.sha256.as_deref() || size != want.size {
                return Err(SnapshotError::Backend {
                    operation: format!("restore {}", rel.display()),
                    message: "the snapshot's copy does not match its manifest (store corrupted)".into(),
                });
            }
            set_mode(&tmp, want.mode)?;
            fs::rename(&tmp, path).map_err(io_err(path))
        });
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    /// Phase 3: directory modes, children before parents.
    fn dir_modes(&self) -> Result<(), SnapshotError> {
        for (rel, want) in self.expected.iter().rev() {
            if want.kind == Kind::Dir {
                self.check_real_dirs(rel, true)?;
                let path = self.root.join(rel);
                let meta = fs::symlink_metadata(&path).map_err(io_err(&path))?;
                if mode_of(&meta) != want.mode {
                    set_mode(&path, want.mode)?;
                }
            }
        }
        Ok(())
    }
}

impl DirSnapshotter {
    fn snapshot_blocking(&self, root: &Path) -> Result<SnapshotId, SnapshotError> {
        let root = open_root(root)?;
        let store = self.open_store(true)?.ok_or_else(|| io_err(&self.store)(std::io::ErrorKind::NotFound.into()))?;
        let id = new_id();
        let staging = store.join(format!(".partial-{id}"));
        private_dir().create(&staging).map_err(io_err(&staging))?;
        let result = self.write_snapshot(&root, &store, &staging, &id);
        if result.is_err() {
            let _ = fs::remove_dir_all(&staging);
            return result.map(|()| SnapshotId(id));
        }
        let dest = store.join(&id);
        fs::rename(&staging, &dest).map_err(io_err(&dest))?;
        tracing::info!(id = %id, "directory snapshot taken");
        Ok(SnapshotId(id))
    }

    fn write_snapshot(&self, root: &Path, store: &Path, staging: &Path, id: &str) -> Result<(), SnapshotError> {
        let tree = staging.join(TREE);
        private_dir().create(&tree).map_err(io_err(&tree))?;
        let exclude: BTreeSet<&OsStr> = self.exclude.iter().map(OsStr::new).collect();
        let mut scan = Scan {
            root,
            tree: &tree,
            store,
            exclude: &exclude,
            max_file_bytes: self.max_file_bytes,
            entries: Vec::new(),
            excluded: Vec::new(),
        };
        scan.dir(Path::new(""))?;
        let manifest = Manifest {
            version: MANIFEST_VERSION,
            id: id.to_owned(),
            root: RawPath::from_path(root),
            created_unix_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            exclude: self.exclude.clone(),
            max_file_bytes: self.max_file_bytes,
            entries: scan.entries,
            excluded: scan.excluded,
        };
        let json = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| SnapshotError::Backend { operation: "write manifest".into(), message: e.to_string() })?;
        let path = staging.join(MANIFEST);
        fs::write(&path, json).map_err(io_err(&path))
    }

    /// The (checked, canonical) store, the snapshot directory of `id` and
    /// its manifest, checked to belong to `root`.
    fn snapshot_dir(&self, root: &Path, id: &SnapshotId) -> Result<(PathBuf, PathBuf, Manifest), SnapshotError> {
        check_id(id)?;
        let store = self.open_store(false)?.ok_or_else(|| SnapshotError::NotFound { id: id.clone() })?;
        let dir = snapshot_path(&store, id)?;
        let manifest = read_manifest(&dir, id)?;
        if manifest.root.clone().into_path() != root
            || manifest.version != MANIFEST_VERSION
            || manifest.id != id.as_str()
        {
            return Err(SnapshotError::NotFound { id: id.clone() });
        }
        Ok((store, dir, manifest))
    }

    /// The store as a canonical path, after checking it is ours: a real
    /// directory (not a symlink) owned by the effective user. A missing
    /// store is created (mode 0700) when `create`, `None` otherwise.
    fn open_store(&self, create: bool) -> Result<Option<PathBuf>, SnapshotError> {
        let refuse = |why: &str| {
            io_err(&self.store)(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!("refusing the snapshot store: {why}"),
            ))
        };
        let meta = match fs::symlink_metadata(&self.store) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                private_dir().recursive(true).create(&self.store).map_err(io_err(&self.store))?;
                fs::symlink_metadata(&self.store).map_err(io_err(&self.store))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(&self.store)(e)),
        };
        if meta.file_type().is_symlink() {
            return Err(refuse("it is a symlink"));
        }
        if !meta.is_dir() {
            return Err(refuse("it is not a directory"));
        }
        let me = nix::unistd::geteuid().as_raw();
        if std::os::unix::fs::MetadataExt::uid(&meta) != me {
            return Err(refuse(&format!(
                "it is owned by uid {}, not by this process's uid {me}",
                std::os::unix::fs::MetadataExt::uid(&meta)
            )));
        }
        self.store.canonicalize().map(Some).map_err(io_err(&self.store))
    }

    fn restore_blocking(&self, root: &Path, id: &SnapshotId) -> Result<(), SnapshotError> {
        let root = open_root(root)?;
        let (store, dir, manifest) = self.snapshot_dir(&root, id)?;
        // Every path is checked before anything is written.
        let checked = check_manifest(id, &manifest)?;
        let marker = dir.join(RESTORE_MARKER);
        if marker.exists() {
            tracing::warn!("an earlier restore of this snapshot did not finish; redoing it");
        }
        // Created afresh: never written through something planted at its name.
        remove_file_if_exists(&marker)?;
        fs::OpenOptions::new().write(true).create_new(true).open(&marker).map_err(io_err(&marker))?;
        let plan = RestorePlan {
            root: &root,
            tree: dir.join(TREE),
            store,
            exclude: manifest.exclude.iter().map(std::ffi::OsString::from).collect(),
            expected: checked.expected,
            excluded: checked.excluded,
        };
        let root_meta = fs::metadata(&root).map_err(io_err(&root))?;
        let root_mode = mode_of(&root_meta);
        ensure_usable_dir(&root, &root_meta)?;
        plan.prune(Path::new(""))?;
        plan.apply()?;
        plan.dir_modes()?;
        if mode_of(&fs::metadata(&root).map_err(io_err(&root))?) != root_mode {
            set_mode(&root, root_mode)?;
        }
        fs::remove_file(&marker).map_err(io_err(&marker))?;
        tracing::info!("directory snapshot restored");
        Ok(())
    }

    fn discard_blocking(&self, root: &Path, id: &SnapshotId) -> Result<(), SnapshotError> {
        let root = open_root(root)?;
        let (_, dir, _) = self.snapshot_dir(&root, id)?;
        fs::remove_dir_all(&dir).map_err(io_err(&dir))?;
        tracing::info!("directory snapshot discarded");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_swapped_for_a_symlink_mid_restore_stops_it() {
        let root = tempfile::tempdir().expect("root");
        let outside = tempfile::tempdir().expect("outside");
        fs::create_dir(root.path().join("real")).expect("mkdir");
        std::os::unix::fs::symlink(outside.path(), root.path().join("swapped")).expect("symlink");
        let plan = RestorePlan {
            root: root.path(),
            tree: root.path().join("unused"),
            store: outside.path().join("unused"),
            exclude: BTreeSet::new(),
            expected: BTreeMap::new(),
            excluded: BTreeSet::new(),
        };
        assert!(plan.check_real_dirs(Path::new("real/file"), false).is_ok());
        assert!(plan.check_real_dirs(Path::new("real"), true).is_ok());
        for (rel, itself) in [("swapped/file", false), ("swapped", true), ("swapped/deeper/file", false)] {
            match plan.check_real_dirs(Path::new(rel), itself) {
                Err(SnapshotError::Io { path, source }) => {
                    assert_eq!(path, root.path().join("swapped"));
                    assert_eq!(source.kind(), std::io::ErrorKind::NotADirectory);
                }
                other => panic!("{rel}: {other:?}"),
            }
        }
    }
}
