//! [`FileEditor`]: applies a plan's file actions under a workspace root, safely.

use agent_core::Editor;
use agent_core::edit::{EditError, FileChange};
use agent_core::plan::Action;
use async_trait::async_trait;
use sha2::{Digest, Sha256};
use std::io::Write;
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
///   ([`EditError::InsideGitDir`]). A symlink inside the root is followed:
///   its target is edited, the link stays.
/// - The returned [`FileChange`] carries the SHA-256 of the bytes on disk
///   after the change, read back from the file.
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

fn apply_blocking(root: &Path, action: &Action) -> Result<FileChange, EditError> {
    let requested = action.path().ok_or(EditError::NotAnEdit)?;
    let rel = normalize(requested)?;
    let rel_text = rel.to_string_lossy().into_owned();
    let target = resolve(root, &rel, requested)?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| EditError::Io { path, source }
    };
    match action {
        Action::WriteFile { content, .. } => {
            let existed = match std::fs::symlink_metadata(&target) {
                Ok(m) if m.is_dir() => {
                    return Err(EditError::Io {
                        path: target,
                        source: std::io::Error::new(std::io::ErrorKind::IsADirectory, "is a directory"),
                    });
                }
                Ok(_) => true,
                Err(_) => false,
            };
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(io(parent))?;
            }
            write_atomic(&target, content.as_bytes())?;
            let change = if existed { "modified" } else { "created" };
            tracing::info!(path = %rel_text, change, "file written");
            Ok(FileChange::new(rel_text, change).with_sha256(Some(sha256_of(&target)?)))
        }
        Action::ReplaceBlock { old, new, .. } => {
            let bytes = match std::fs::read(&target) {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(EditError::FileNotFound { path: requested.to_owned() });
                }
                Err(e) => return Err(io(&target)(e)),
            };
            let positions = occurrences(&bytes, old.as_bytes());
            let [at] = positions[..] else {
                return Err(EditError::BlockNotUnique { path: requested.to_owned(), found: positions.len() });
            };
            let mut out = Vec::with_capacity(bytes.len() - old.len() + new.len());
            out.extend_from_slice(&bytes[..at]);
            out.extend_from_slice(new.as_bytes());
            out.extend_from_slice(&bytes[at + old.len()..]);
            write_atomic(&target, &out)?;
            tracing::info!(path = %rel_text, "block replaced");
            Ok(FileChange::new(rel_text, "modified").with_sha256(Some(sha256_of(&target)?)))
        }
        Action::DeleteFile { .. } => {
            match std::fs::symlink_metadata(&target) {
                Ok(m) if m.is_dir() => {
                    return Err(EditError::Io {
                        path: target,
                        source: std::io::Error::new(std::io::ErrorKind::IsADirectory, "is a directory"),
                    });
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(EditError::FileNotFound { path: requested.to_owned() });
                }
                Err(e) => return Err(io(&target)(e)),
            }
            std::fs::remove_file(&target).map_err(io(&target))?;
            tracing::info!(path = %rel_text, "file deleted");
            Ok(FileChange::new(rel_text, "deleted"))
        }
        _ => Err(EditError::NotAnEdit),
    }
}

fn is_git(name: &std::ffi::OsStr) -> bool {
    name.to_str().is_some_and(|n| n.eq_ignore_ascii_case(".git"))
}

/// The path relative to the root with `.` and `..` folded away; refuses
/// absolute paths, paths climbing above the root and `.git` components.
fn normalize(requested: &str) -> Result<PathBuf, EditError> {
    let outside = || EditError::OutsideWorkspace { path: requested.to_owned() };
    if requested.trim().is_empty() || requested.contains('\0') {
        return Err(outside());
    }
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    let mut git = false;
    for c in Path::new(requested).components() {
        match c {
            Component::Prefix(_) | Component::RootDir => return Err(outside()),
            Component::CurDir => {}
            Component::ParentDir => {
                if parts.pop().is_none() {
                    return Err(outside());
                }
            }
            Component::Normal(n) => {
                git |= is_git(n);
                parts.push(n);
            }
        }
    }
    if git {
        return Err(EditError::InsideGitDir { path: requested.to_owned() });
    }
    if parts.is_empty() {
        return Err(outside());
    }
    Ok(parts.iter().collect())
}

/// The file to operate on: `root/rel`, with the existing part of its parent
/// resolved through symlinks and checked to stay inside the root (and out of
/// `.git`); a symlink at the target itself is followed the same way.
fn resolve(root: &Path, rel: &Path, requested: &str) -> Result<PathBuf, EditError> {
    let outside = || EditError::OutsideWorkspace { path: requested.to_owned() };
    let canon_root = root.canonicalize().map_err(|source| EditError::Io { path: root.to_path_buf(), source })?;
    let check = |resolved: &Path| -> Result<(), EditError> {
        let inner = resolved.strip_prefix(&canon_root).map_err(|_| outside())?;
        if inner.components().any(|c| matches!(c, Component::Normal(n) if is_git(n))) {
            return Err(EditError::InsideGitDir { path: requested.to_owned() });
        }
        Ok(())
    };
    let name = rel.file_name().ok_or_else(outside)?;
    let parent_rel = rel.parent().unwrap_or(Path::new(""));
    // Deepest existing ancestor of the parent, resolved.
    let mut existing = canon_root.join(parent_rel);
    let mut missing: Vec<std::ffi::OsString> = Vec::new();
    let resolved_parent = loop {
        match existing.canonicalize() {
            Ok(p) => break p,
            Err(_) => {
                if std::fs::symlink_metadata(&existing).is_ok() {
                    // A dangling symlink (or unreadable entry) in the way.
                    return Err(outside());
                }
                let Some(last) = existing.file_name() else { return Err(outside()) };
                missing.push(last.to_owned());
                if !existing.pop() {
                    return Err(outside());
                }
            }
        }
    };
    check(&resolved_parent)?;
    let mut parent = resolved_parent;
    for part in missing.iter().rev() {
        parent.push(part);
    }
    let target = parent.join(name);
    match std::fs::symlink_metadata(&target) {
        Ok(m) if m.file_type().is_symlink() => {
            let resolved = target.canonicalize().map_err(|_| outside())?;
            check(&resolved)?;
            Ok(resolved)
        }
        _ => Ok(target),
    }
}

/// Start offsets of every (possibly overlapping) occurrence of `needle`.
fn occurrences(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    if needle.is_empty() {
        return (0..=haystack.len()).collect();
    }
    haystack.windows(needle.len()).enumerate().filter(|(_, w)| *w == needle).map(|(i, _)| i).collect()
}

/// Writes through a temporary file in the same directory, keeping the
/// permissions of the file it replaces (a new file gets the umask's).
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), EditError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let io = |source| EditError::Io { path: path.to_path_buf(), source };
    let dir = path.parent().unwrap_or(Path::new("."));
    let (tmp_path, mut file) = loop {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let name =
            format!(".agentkit-edit-{}-{}-{nanos}.tmp", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
        let candidate = dir.join(name);
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&candidate) {
            Ok(f) => break (candidate, f),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io(e)),
        }
    };
    let result = (|| {
        file.write_all(bytes)?;
        if let Ok(m) = std::fs::metadata(path) {
            file.set_permissions(m.permissions())?;
        }
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp_path, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp_path);
        return Err(io(e));
    }
    Ok(())
}

fn sha256_of(path: &Path) -> Result<String, EditError> {
    let bytes = std::fs::read(path).map_err(|source| EditError::Io { path: path.to_path_buf(), source })?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}
