//! [`FileEditor`]: applies a plan's file actions under a workspace root, safely.
//!
//! The path policy (no `..` above the root, no `.git`, no symlink leading
//! out) is checked once by [`contain`]; the kernel then enforces that the
//! checked path is the one operated on. Every operation runs relative to a
//! directory file descriptor of the root opened once per action: the parent
//! directory is opened with `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
//! RESOLVE_NO_MAGICLINKS)` (or, where the kernel has no `openat2`, one
//! `O_NOFOLLOW` component at a time), and the file itself is created,
//! renamed, opened, inspected or unlinked with `*at` calls in that directory
//! descriptor. A directory swapped for a symlink between the check and the
//! write makes the write fail ([`EditError::PathChanged`]); it never follows
//! the swap out of the root.

use agent_core::Editor;
use agent_core::edit::{EditError, FileChange};
use agent_core::plan::Action;
use agent_core::workspace::{ContainmentError, contain};
use async_trait::async_trait;
use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;
use sha2::{Digest, Sha256};
use std::ffi::{OsStr, OsString};
use std::io::{Read, Seek, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Applies [`Action::WriteFile`], [`Action::ReplaceBlock`] and
/// [`Action::DeleteFile`] under a workspace root.
///
/// - Writes go through a temporary file in the same directory and a rename,
///   so a file is never left half-written; an existing file keeps its
///   permissions (an executable script stays executable). Missing parent
///   directories are created.
/// - `ReplaceBlock` needs the block to occur exactly once
///   ([`EditError::BlockNotUnique`] otherwise).
/// - Refused with nothing written: absolute paths and paths leaving the root
///   through `..` or through a symlink ([`EditError::OutsideWorkspace`]), and
///   paths with a `.git` component, also after resolving symlinks
///   ([`EditError::InsideGitDir`]). A symlink inside the root pointing inside
///   the root is followed for `WriteFile` and `ReplaceBlock`: its target is
///   edited, the link stays.
/// - `DeleteFile` on a symlink removes the link itself, never its target
///   (wherever the link points, also outside the root): deleting a name in
///   the workspace must not reach a file the name only refers to.
/// - A FIFO, a socket or a device where a file is expected is refused with
///   [`EditError::NotARegularFile`], without being opened for reading or
///   writing (reading a FIFO with no writer would block forever); `DeleteFile`
///   removes such an entry like any other name.
/// - The workspace may change while an action runs (another process, a
///   hostile command): the path checked is the path used. Every operation
///   runs relative to a directory descriptor of the root, resolving the
///   checked path with no symlink allowed (`openat2` with `RESOLVE_BENEATH |
///   RESOLVE_NO_SYMLINKS`, or an `O_NOFOLLOW` walk on kernels without it), so
///   a directory swapped for a symlink after the check fails the action with
///   [`EditError::PathChanged`] instead of writing where the link points.
/// - The returned [`FileChange`] carries the SHA-256 of the bytes on disk
///   after the change, read back from the file written.
///
/// ```no_run
/// use agent_core::plan::Action;
/// use agent_core::Editor;
/// use agent_sandbox::FileEditor;
/// use std::path::Path;
///
/// # async fn demo() -> Result<(), agent_core::edit::EditError> {
/// let action = Action::WriteFile { path: "src/lib.rs".into(), content: "pub fn f() {}\n".into() };
/// let change = FileEditor::new().apply(Path::new("/path/to/workspace"), &action).await?;
/// assert_eq!(change.change, "created");
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct FileEditor {
    _private: (),
}

impl FileEditor {
    /// A file editor.
    pub fn new() -> Self {
        Self { _private: () }
    }
}

#[async_trait]
impl Editor for FileEditor {
    async fn apply(&self, root: &Path, action: &Action) -> Result<FileChange, EditError> {
        let root = root.to_path_buf();
        let action = action.clone();
        let span = tracing::info_span!("agent_sandbox.edit", path = action.path().unwrap_or_default());
        tokio::task::spawn_blocking(move || {
            let _e = span.enter();
            apply_blocking(&root, &action)
        })
        .await
        .map_err(|e| EditError::Io { path: PathBuf::new(), source: std::io::Error::other(e.to_string()) })?
    }
}

/// The root of one action: its canonical path and a directory descriptor of
/// it, opened once; every later lookup is relative to the descriptor.
struct Root {
    path: PathBuf,
    fd: OwnedFd,
}

impl Root {
    fn open(root: &Path) -> Result<Self, EditError> {
        let io = |source| EditError::Io { path: root.to_path_buf(), source };
        let path = root.canonicalize().map_err(io)?;
        let fd = rustix::fs::open(&path, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
            .map_err(|e| io(e.into()))?;
        Ok(Self { path, fd })
    }

    /// `resolved` (a path [`contain`] resolved under the canonical root) as
    /// a path relative to the root.
    fn relative(&self, resolved: &Path, requested: &str) -> Result<PathBuf, EditError> {
        resolved
            .strip_prefix(&self.path)
            .map(Path::to_path_buf)
            .map_err(|_| EditError::OutsideWorkspace { path: requested.to_owned() })
    }
}

/// Facts an error needs: the path as asked for and the file on disk.
struct Ctx<'a> {
    requested: &'a str,
    disk: PathBuf,
}

impl Ctx<'_> {
    /// A failed system call as an edit error: a symlink met where the
    /// checked path had none means the path changed under the editor.
    fn err(&self, e: Errno) -> EditError {
        match e {
            Errno::LOOP | Errno::XDEV => EditError::PathChanged { path: self.requested.to_owned() },
            Errno::NOENT => EditError::FileNotFound { path: self.requested.to_owned() },
            e => EditError::Io { path: self.disk.clone(), source: e.into() },
        }
    }
    fn is_a_directory(&self) -> EditError {
        EditError::Io {
            path: self.disk.clone(),
            source: std::io::Error::new(std::io::ErrorKind::IsADirectory, "is a directory"),
        }
    }
    fn not_regular(&self) -> EditError {
        EditError::NotARegularFile { path: self.requested.to_owned() }
    }
}

fn apply_blocking(root: &Path, action: &Action) -> Result<FileChange, EditError> {
    let requested = action.path().ok_or(EditError::NotAnEdit)?;
    match action {
        Action::WriteFile { content, .. } => write_file(root, requested, content.as_bytes()),
        Action::ReplaceBlock { old, new, .. } => replace_block(root, requested, old.as_bytes(), new.as_bytes()),
        Action::DeleteFile { .. } => delete_file(root, requested),
        _ => Err(EditError::NotAnEdit),
    }
}

/// The parent directory (relative, symlink-free when checked) and the file
/// name of a path [`contain`] resolved, with its workspace-relative text.
struct Resolved {
    rel_text: String,
    dir: PathBuf,
    name: OsString,
}

fn resolve(root: &Root, requested: &str) -> Result<Resolved, EditError> {
    let (relative, resolved) = contained(root, requested)?;
    let inner = root.relative(&resolved, requested)?;
    let outside = || EditError::OutsideWorkspace { path: requested.to_owned() };
    let name = inner.file_name().ok_or_else(outside)?.to_owned();
    let dir = inner.parent().ok_or_else(outside)?.to_path_buf();
    Ok(Resolved { rel_text: relative.to_string_lossy().into_owned(), dir, name })
}

fn write_file(root: &Path, requested: &str, content: &[u8]) -> Result<FileChange, EditError> {
    let root = Root::open(root)?;
    let r = resolve(&root, requested)?;
    let cx = Ctx { requested, disk: root.path.join(&r.dir).join(&r.name) };
    let dir = open_dir(root.fd.as_fd(), &r.dir, true).map_err(|e| cx.err(e))?;
    let mode = match rustix::fs::statat(&dir, &r.name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => match FileType::from_raw_mode(st.st_mode) {
            FileType::RegularFile => Some(st.st_mode),
            FileType::Directory => return Err(cx.is_a_directory()),
            // `contain` resolved every symlink on the path: one here is new.
            FileType::Symlink => return Err(EditError::PathChanged { path: requested.to_owned() }),
            _ => return Err(cx.not_regular()),
        },
        Err(Errno::NOENT) => None,
        Err(e) => return Err(cx.err(e)),
    };
    let sha = write_atomic(dir.as_fd(), &r.name, content, mode, &cx)?;
    let change = if mode.is_some() { "modified" } else { "created" };
    tracing::info!(path = %r.rel_text, change, "file written");
    Ok(FileChange::new(r.rel_text, change).with_sha256(Some(sha)))
}

fn replace_block(root: &Path, requested: &str, old: &[u8], new: &[u8]) -> Result<FileChange, EditError> {
    let root = Root::open(root)?;
    let r = resolve(&root, requested)?;
    let cx = Ctx { requested, disk: root.path.join(&r.dir).join(&r.name) };
    let dir = open_dir(root.fd.as_fd(), &r.dir, false).map_err(|e| cx.err(e))?;
    // Refuse a FIFO or device before opening it at all; the open below
    // (non-blocking, no symlink, checked again with fstat) covers a swap.
    let st = rustix::fs::statat(&dir, &r.name, AtFlags::SYMLINK_NOFOLLOW).map_err(|e| cx.err(e))?;
    match FileType::from_raw_mode(st.st_mode) {
        FileType::RegularFile => {}
        FileType::Directory => return Err(cx.is_a_directory()),
        FileType::Symlink => return Err(EditError::PathChanged { path: requested.to_owned() }),
        _ => return Err(cx.not_regular()),
    }
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(&dir, &r.name, flags, Mode::empty()).map_err(|e| cx.err(e))?;
    let st = rustix::fs::fstat(&fd).map_err(|e| cx.err(e))?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return Err(cx.not_regular());
    }
    let mut bytes = Vec::new();
    std::fs::File::from(fd)
        .read_to_end(&mut bytes)
        .map_err(|source| EditError::Io { path: cx.disk.clone(), source })?;
    let positions = occurrences(&bytes, old);
    let [at] = positions[..] else {
        return Err(EditError::BlockNotUnique { path: requested.to_owned(), found: positions.len() });
    };
    let mut out = Vec::with_capacity(bytes.len() - old.len() + new.len());
    out.extend_from_slice(&bytes[..at]);
    out.extend_from_slice(new);
    out.extend_from_slice(&bytes[at + old.len()..]);
    let sha = write_atomic(dir.as_fd(), &r.name, &out, Some(st.st_mode), &cx)?;
    tracing::info!(path = %r.rel_text, "block replaced");
    Ok(FileChange::new(r.rel_text, "modified").with_sha256(Some(sha)))
}

/// Deletes the name itself: the parent is resolved and checked, the last
/// component is not (a symlink is unlinked, its target left alone).
fn delete_file(root: &Path, requested: &str) -> Result<FileChange, EditError> {
    let parts = fold(requested)?;
    let Some((name, parent)) = parts.split_last() else {
        return Err(EditError::OutsideWorkspace { path: requested.to_owned() });
    };
    let rel_text = parts.iter().collect::<PathBuf>().to_string_lossy().into_owned();
    let root = Root::open(root)?;
    let dir_rel = if parent.is_empty() {
        PathBuf::new()
    } else {
        let (_, resolved) = contained(&root, &parent.iter().collect::<PathBuf>().to_string_lossy())?;
        root.relative(&resolved, requested)?
    };
    let cx = Ctx { requested, disk: root.path.join(&dir_rel).join(name) };
    let dir = open_dir(root.fd.as_fd(), &dir_rel, false).map_err(|e| cx.err(e))?;
    let st = rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW).map_err(|e| cx.err(e))?;
    if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
        return Err(cx.is_a_directory());
    }
    // Without AT_REMOVEDIR, unlinkat refuses a directory that replaced the file.
    rustix::fs::unlinkat(&dir, name, AtFlags::empty()).map_err(|e| match e {
        Errno::ISDIR | Errno::PERM => cx.is_a_directory(),
        e => cx.err(e),
    })?;
    tracing::info!(path = %rel_text, "file deleted");
    Ok(FileChange::new(rel_text, "deleted"))
}

/// `requested` folded lexically (`.` dropped, `..` applied), refused when
/// empty, absolute, climbing above the root or naming `.git`.
fn fold(requested: &str) -> Result<Vec<OsString>, EditError> {
    let outside = || EditError::OutsideWorkspace { path: requested.to_owned() };
    if requested.trim().is_empty() || requested.contains('\0') || Path::new(requested).is_absolute() {
        return Err(outside());
    }
    let mut parts: Vec<OsString> = Vec::new();
    for c in Path::new(requested).components() {
        match c {
            Component::Prefix(_) | Component::RootDir => return Err(outside()),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop().ok_or_else(outside)?;
            }
            Component::Normal(n) => parts.push(n.to_owned()),
        }
    }
    if parts.iter().any(|n| n.to_str().is_some_and(|n| n.eq_ignore_ascii_case(".git"))) {
        return Err(EditError::InsideGitDir { path: requested.to_owned() });
    }
    Ok(parts)
}

/// The workspace-relative path and the resolved path under the canonical
/// root, through the workspace's one containment check ([`contain`]);
/// absolute paths are refused even when they point inside the root (a plan
/// names files relative to it).
fn contained(root: &Root, requested: &str) -> Result<(PathBuf, PathBuf), EditError> {
    if requested.contains('\0') || Path::new(requested).is_absolute() {
        return Err(EditError::OutsideWorkspace { path: requested.to_owned() });
    }
    match contain(&root.path, Path::new(requested)) {
        Ok(c) if c.relative.as_os_str().is_empty() => Err(EditError::OutsideWorkspace { path: requested.to_owned() }),
        Ok(c) => Ok((c.relative, c.resolved)),
        Err(ContainmentError::InsideGitDir { .. }) => Err(EditError::InsideGitDir { path: requested.to_owned() }),
        Err(ContainmentError::Root { path, source }) => Err(EditError::Io { path, source }),
        Err(_) => Err(EditError::OutsideWorkspace { path: requested.to_owned() }),
    }
}

/// A directory descriptor only for `*at` calls (`O_PATH`): nothing is read
/// through it, and opening it has no side effect.
const DIR_FLAGS: OFlags = OFlags::PATH.union(OFlags::DIRECTORY).union(OFlags::CLOEXEC);

/// Opens the directory `rel` beneath `root` with no symlink anywhere on the
/// way, creating missing directories when `create` is set. `rel` is
/// relative and free of `..` (it comes from [`contain`]'s resolved path).
/// A symlink on the way is ELOOP, a file in the way ENOTDIR.
///
/// `openat2` with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
/// RESOLVE_NO_MAGICLINKS` does it in one call (the last component is not
/// `O_NOFOLLOW`, so a symlink there is refused by `RESOLVE_NO_SYMLINKS` as
/// ELOOP rather than opened); where it is missing (ENOSYS, kernels before
/// 5.6), raced by a rename (EAGAIN), or a directory must be created,
/// [`walk`] does it one `O_NOFOLLOW` component at a time — never a plain
/// path lookup.
fn open_dir(root: BorrowedFd<'_>, rel: &Path, create: bool) -> Result<OwnedFd, Errno> {
    if rel.as_os_str().is_empty() {
        return rustix::fs::openat(root, ".", DIR_FLAGS, Mode::empty());
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::fs::ResolveFlags;
        let how = ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
        match rustix::fs::openat2(root, rel, DIR_FLAGS, Mode::empty(), how) {
            Ok(fd) => return Ok(fd),
            Err(Errno::NOSYS | Errno::AGAIN) => {}
            Err(Errno::NOENT) if create => {}
            Err(e) => return Err(e),
        }
    }
    walk(root, rel, create)
}

/// Opens `rel` beneath `root` one component at a time: each is opened
/// `O_PATH | O_NOFOLLOW` in the previous one's descriptor (a symlink is then
/// opened as itself, not followed) and `fstat` decides — a symlink is ELOOP,
/// anything but a directory ENOTDIR. A missing component is created with
/// `mkdirat` first when `create` is set. `..`, `.` and absolute components
/// are refused with EXDEV.
fn walk(root: BorrowedFd<'_>, rel: &Path, create: bool) -> Result<OwnedFd, Errno> {
    let flags = OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mut cur = rustix::fs::openat(root, ".", DIR_FLAGS, Mode::empty())?;
    for c in rel.components() {
        let Component::Normal(name) = c else { return Err(Errno::XDEV) };
        let next = match rustix::fs::openat(&cur, name, flags, Mode::empty()) {
            Err(Errno::NOENT) if create => {
                match rustix::fs::mkdirat(&cur, name, Mode::from_raw_mode(0o777)) {
                    Ok(()) | Err(Errno::EXIST) => {}
                    Err(e) => return Err(e),
                }
                rustix::fs::openat(&cur, name, flags, Mode::empty())?
            }
            other => other?,
        };
        match FileType::from_raw_mode(rustix::fs::fstat(&next)?.st_mode) {
            FileType::Directory => cur = next,
            FileType::Symlink => return Err(Errno::LOOP),
            _ => return Err(Errno::NOTDIR),
        }
    }
    Ok(cur)
}

/// Start offsets of every (possibly overlapping) occurrence of `needle`.
fn occurrences(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    if needle.is_empty() {
        return (0..=haystack.len()).collect();
    }
    haystack.windows(needle.len()).enumerate().filter(|(_, w)| *w == needle).map(|(i, _)| i).collect()
}

/// Writes `bytes` to `name` in `dir` through a temporary file created there
/// (`O_CREAT | O_EXCL | O_NOFOLLOW`) and renamed over `name` within the same
/// directory descriptor. `mode` is the permissions of the file replaced (a
/// new file gets the umask's). Returns the SHA-256 of the bytes read back
/// from the file renamed into place.
fn write_atomic(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    bytes: &[u8],
    mode: Option<u32>,
    cx: &Ctx<'_>,
) -> Result<String, EditError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let io = |source| EditError::Io { path: cx.disk.clone(), source };
    let flags = OFlags::RDWR | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let (tmp, fd) = loop {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let tmp =
            format!(".agentkit-edit-{}-{}-{nanos}.tmp", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
        match rustix::fs::openat(dir, tmp.as_str(), flags, Mode::from_raw_mode(0o666)) {
            Ok(fd) => break (tmp, fd),
            Err(Errno::EXIST) => {}
            Err(e) => return Err(cx.err(e)),
        }
    };
    let mut file = std::fs::File::from(fd);
    let result = (|| -> std::io::Result<String> {
        file.write_all(bytes)?;
        if let Some(mode) = mode {
            rustix::fs::fchmod(&file, Mode::from_raw_mode(mode & 0o7777))?;
        }
        file.sync_all()?;
        file.rewind()?;
        let mut back = Vec::with_capacity(bytes.len());
        file.read_to_end(&mut back)?;
        rustix::fs::renameat(dir, tmp.as_str(), dir, name)?;
        Ok(hex::encode(Sha256::digest(&back)))
    })();
    result.map_err(|e| {
        let _ = rustix::fs::unlinkat(dir, tmp.as_str(), AtFlags::empty());
        io(e)
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn root_fd(dir: &Path) -> OwnedFd {
        rustix::fs::open(dir, DIR_FLAGS, Mode::empty()).unwrap()
    }

    #[test]
    fn the_fallback_walk_refuses_a_symlink_in_any_component_and_creates_missing_directories() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::create_dir(tmp.path().join("outside")).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("outside"), root.join("a/out")).unwrap();
        std::os::unix::fs::symlink("b", root.join("a/in")).unwrap();
        let fd = root_fd(&root);

        for rel in ["a/out", "a/out/x", "a/in", "a/in/new"] {
            assert_eq!(walk(fd.as_fd(), Path::new(rel), true).unwrap_err(), Errno::LOOP, "{rel}");
        }
        std::fs::write(root.join("a/file"), "").unwrap();
        assert_eq!(walk(fd.as_fd(), Path::new("a/file/x"), true).unwrap_err(), Errno::NOTDIR);
        for rel in ["../outside", "a/../b", "/etc"] {
            assert_eq!(walk(fd.as_fd(), Path::new(rel), true).unwrap_err(), Errno::XDEV, "{rel}");
        }
        assert!(std::fs::read_dir(tmp.path().join("outside")).unwrap().next().is_none(), "the walk wrote outside");
        walk(fd.as_fd(), Path::new("a/b/c/d"), true).unwrap();
        assert!(root.join("a/b/c/d").is_dir());
        assert_eq!(walk(fd.as_fd(), Path::new("a/missing"), false).unwrap_err(), Errno::NOENT);
    }

    #[test]
    fn open_dir_refuses_a_symlink_as_eloop_and_a_file_in_the_way_as_enotdir() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        std::fs::create_dir_all(root.join("a")).unwrap();
        std::os::unix::fs::symlink(tmp.path(), root.join("a/out")).unwrap();
        let fd = root_fd(&root);
        assert_eq!(open_dir(fd.as_fd(), Path::new("a/out"), false).unwrap_err(), Errno::LOOP);
        assert_eq!(open_dir(fd.as_fd(), Path::new("a/out/new"), true).unwrap_err(), Errno::LOOP);
        std::fs::write(root.join("a/file"), "").unwrap();
        assert_eq!(open_dir(fd.as_fd(), Path::new("a/file"), false).unwrap_err(), Errno::NOTDIR);
        assert!(!tmp.path().join("new").exists());
        open_dir(fd.as_fd(), Path::new("a"), false).unwrap();
    }
}
