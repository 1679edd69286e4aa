//! [`contain`]: the one check that a path stays inside a workspace.
//!
//! Every reader and writer of workspace files uses it: the file editor
//! before a write, the agent's tools before a read, the repair context before
//! it quotes a source line. A path outside the workspace (absolute elsewhere,
//! climbing out through `..`, or leaving through a symlink) stays a location
//! in a message; its content is never read.

use std::path::{Component, Path, PathBuf};

/// A path that was checked to lie inside a workspace.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Contained {
    /// The path relative to the root, with `.` and `..` folded away.
    pub relative: PathBuf,
    /// The file to operate on: under the canonical root, with every existing
    /// symlink on the way resolved (a missing tail is kept as written).
    pub resolved: PathBuf,
}

/// Why a path is refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ContainmentError {
    /// The path leaves the workspace: absolute elsewhere, `..` above the
    /// root, or a symlink pointing out.
    #[error("path `{path}` is outside the workspace")]
    Outside {
        /// The path asked for.
        path: String,
    },
    /// The path is inside a `.git` directory.
    #[error("path `{path}` is inside .git")]
    InsideGitDir {
        /// The path asked for.
        path: String,
    },
    /// The workspace root itself could not be resolved.
    #[error("workspace root {} cannot be resolved: {source}", path.display())]
    Root {
        /// The root.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

fn is_git(name: &std::ffi::OsStr) -> bool {
    name.to_str().is_some_and(|n| n.eq_ignore_ascii_case(".git"))
}

/// Checks that `requested` names a place inside the workspace at `root`.
///
/// `requested` is relative to the root, or absolute and under the root
/// (as tools print paths). It is folded lexically first (`a/../b` is `b`;
/// climbing above the root is refused), then every existing component is
/// resolved through symlinks and must stay under the canonical root. Paths
/// with a `.git` component, before or after resolving, are refused: the
/// repository's own files are not workspace content.
///
/// ```
/// use agent_core::workspace::{ContainmentError, contain};
///
/// let dir = std::env::temp_dir().join(format!("contain-doc-{}", std::process::id()));
/// std::fs::create_dir_all(dir.join("src")).unwrap();
/// let inside = contain(&dir, "src/../src/lib.rs".as_ref()).unwrap();
/// assert_eq!(inside.relative, std::path::Path::new("src/lib.rs"));
/// assert!(matches!(contain(&dir, "../secret".as_ref()), Err(ContainmentError::Outside { .. })));
/// assert!(matches!(contain(&dir, "/etc/passwd".as_ref()), Err(ContainmentError::Outside { .. })));
/// assert!(matches!(contain(&dir, ".git/config".as_ref()), Err(ContainmentError::InsideGitDir { .. })));
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn contain(root: &Path, requested: &Path) -> Result<Contained, ContainmentError> {
    let shown = requested.display().to_string();
    let outside = || ContainmentError::Outside { path: shown.clone() };
    let canon_root =
        root.canonicalize().map_err(|source| ContainmentError::Root { path: root.to_path_buf(), source })?;
    let text = requested.to_string_lossy();
    if text.trim().is_empty() || text.contains('\0') {
        return Err(outside());
    }
    let relative_input: PathBuf = if requested.is_absolute() {
        match requested.strip_prefix(root).or_else(|_| requested.strip_prefix(&canon_root)) {
            Ok(rest) => rest.to_path_buf(),
            Err(_) => return Err(outside()),
        }
    } else {
        requested.to_path_buf()
    };
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for c in relative_input.components() {
        match c {
            Component::Prefix(_) | Component::RootDir => return Err(outside()),
            Component::CurDir => {}
            Component::ParentDir => {
                if parts.pop().is_none() {
                    return Err(outside());
                }
            }
            Component::Normal(n) => parts.push(n),
        }
    }
    if parts.iter().any(|n| is_git(n)) {
        return Err(ContainmentError::InsideGitDir { path: shown });
    }
    let relative: PathBuf = parts.iter().collect();
    let check = |resolved: &Path| -> Result<(), ContainmentError> {
        let inner = resolved.strip_prefix(&canon_root).map_err(|_| outside())?;
        if inner.components().any(|c| matches!(c, Component::Normal(n) if is_git(n))) {
            return Err(ContainmentError::InsideGitDir { path: shown.clone() });
        }
        Ok(())
    };
    // The deepest existing ancestor, resolved through symlinks.
    let mut existing = canon_root.join(&relative);
    let mut missing: Vec<std::ffi::OsString> = Vec::new();
    let resolved_existing = loop {
        match existing.canonicalize() {
            Ok(p) => break p,
            Err(_) => {
                if std::fs::symlink_metadata(&existing).is_ok() {
                    // A dangling symlink (or an unreadable entry) in the way.
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
    check(&resolved_existing)?;
    let mut resolved = resolved_existing;
    for part in missing.iter().rev() {
        resolved.push(part);
    }
    Ok(Contained { relative, resolved })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("contain-{}-{:?}", std::process::id(), std::thread::current().id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("ws/src")).unwrap();
        std::fs::create_dir_all(dir.join("elsewhere")).unwrap();
        std::fs::write(dir.join("elsewhere/secret"), "s").unwrap();
        dir
    }

    #[test]
    fn a_symlink_leading_out_of_the_workspace_is_refused_and_one_inside_is_followed() {
        let dir = tree();
        let ws = dir.join("ws");
        std::os::unix::fs::symlink(dir.join("elsewhere"), ws.join("out")).unwrap();
        std::os::unix::fs::symlink(ws.join("src"), ws.join("alias")).unwrap();
        assert!(matches!(contain(&ws, "out/secret".as_ref()), Err(ContainmentError::Outside { .. })));
        let c = contain(&ws, "alias/new.rs".as_ref()).unwrap();
        assert_eq!(c.resolved, ws.canonicalize().unwrap().join("src/new.rs"));
        assert_eq!(c.relative, Path::new("alias/new.rs"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_absolute_path_under_the_root_is_relative_to_it_and_one_elsewhere_is_refused() {
        let dir = tree();
        let ws = dir.join("ws");
        let c = contain(&ws, &ws.join("src/lib.rs")).unwrap();
        assert_eq!(c.relative, Path::new("src/lib.rs"));
        assert!(matches!(contain(&ws, &dir.join("elsewhere/secret")), Err(ContainmentError::Outside { .. })));
        assert!(matches!(contain(&ws, "src/../../elsewhere/secret".as_ref()), Err(ContainmentError::Outside { .. })));
        assert!(matches!(contain(&ws, "".as_ref()), Err(ContainmentError::Outside { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_symlink_into_git_is_refused_like_a_git_path() {
        let dir = tree();
        let ws = dir.join("ws");
        std::fs::create_dir_all(ws.join(".git/hooks")).unwrap();
        std::os::unix::fs::symlink(ws.join(".git/hooks"), ws.join("hooks")).unwrap();
        assert!(matches!(contain(&ws, "hooks/pre-commit".as_ref()), Err(ContainmentError::InsideGitDir { .. })));
        assert!(matches!(contain(&ws, "sub/.GIT/x".as_ref()), Err(ContainmentError::InsideGitDir { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
