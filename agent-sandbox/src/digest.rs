//! [`tree_digest`]: one SHA-256 over a working tree, to compare the trees
//! that repeated runs of the same task leave behind.

use crate::dir_snapshotter::DEFAULT_EXCLUDES;
use sha2::{Digest, Sha256};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The SHA-256 (hex) of every file under `root` — its path relative to the
/// root, whether it is executable, and its bytes (a symlink: its target) —
/// in path order, skipping `.git` and the dependency and build directories
/// of [`DEFAULT_EXCLUDES`]. Two trees with the same content give the same
/// digest wherever they are; timestamps and other metadata do not count.
///
/// ```
/// let a = tempfile::tempdir().unwrap();
/// let b = tempfile::tempdir().unwrap();
/// for dir in [a.path(), b.path()] {
///     std::fs::write(dir.join("x.txt"), "same").unwrap();
/// }
/// assert_eq!(agent_sandbox::tree_digest(a.path()).unwrap(), agent_sandbox::tree_digest(b.path()).unwrap());
/// std::fs::write(b.path().join("x.txt"), "other").unwrap();
/// assert_ne!(agent_sandbox::tree_digest(a.path()).unwrap(), agent_sandbox::tree_digest(b.path()).unwrap());
/// ```
pub fn tree_digest(root: &Path) -> std::io::Result<String> {
    let mut files: Vec<PathBuf> = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for entry in std::fs::read_dir(root.join(&rel))? {
            let entry = entry?;
            let name = entry.file_name();
            let kind = entry.file_type()?;
            if kind.is_dir() {
                if !DEFAULT_EXCLUDES.iter().any(|x| name == *x) {
                    stack.push(rel.join(&name));
                }
            } else {
                files.push(rel.join(&name));
            }
        }
    }
    files.sort();
    let mut hash = Sha256::new();
    for rel in files {
        let path = root.join(&rel);
        let meta = std::fs::symlink_metadata(&path)?;
        hash.update(rel.to_string_lossy().as_bytes());
        hash.update([0]);
        if meta.file_type().is_symlink() {
            hash.update(b"l");
            hash.update(std::fs::read_link(&path)?.to_string_lossy().as_bytes());
        } else if meta.is_file() {
            hash.update(if meta.permissions().mode() & 0o111 != 0 { b"x" } else { b"f" });
            let bytes = std::fs::read(&path)?;
            hash.update((bytes.len() as u64).to_le_bytes());
            hash.update(&bytes);
        }
        hash.update([0]);
    }
    Ok(hex::encode(hash.finalize()))
}
