//! [`FileEditor`]: applies a plan's file actions under a workspace root, safely.

use agent_core::Editor;
use agent_core::edit::{EditError, FileChange};
use agent_core::plan::Action;
use agent_core::workspace::{ContainmentError, contain};
use async_trait::async_trait;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
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
    let (rel, target) = contained(root, requested)?;
    let rel_text = rel.to_string_lossy().into_owned();
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

/// The workspace-relative path and the file to operate on, through the
/// workspace's one containment check ([`contain`]); absolute paths are
/// refused even when they point inside the root (a plan names files
/// relative to it).
fn contained(root: &Path, requested: &str) -> Result<(PathBuf, PathBuf), EditError> {
    if requested.contains('\0') || Path::new(requested).is_absolute() {
        return Err(EditError::OutsideWorkspace { path: requested.to_owned() });
    }
    match contain(root, Path::new(requested)) {
        Ok(c) if c.relative.as_os_str().is_empty() => Err(EditError::OutsideWorkspace { path: requested.to_owned() }),
        Ok(c) => Ok((c.relative, c.resolved)),
        Err(ContainmentError::InsideGitDir { .. }) => Err(EditError::InsideGitDir { path: requested.to_owned() }),
        Err(ContainmentError::Root { path, source }) => Err(EditError::Io { path, source }),
        Err(_) => Err(EditError::OutsideWorkspace { path: requested.to_owned() }),
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
