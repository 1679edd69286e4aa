//! The [`Editor`] trait: applies a plan's file actions to a workspace.
//!
//! A loop carries out a plan through this trait instead of writing files
//! itself, so the write stays in the implementation (`agent-sandbox`'s
//! `FileEditor`; only that crate writes to a user's workspace). Each applied
//! action returns a [`FileChange`] holding the SHA-256 of the file on disk
//! afterwards: the evidence against which `agent-loop`'s `Inspector` checks
//! the files a reviewer claims the change modified.

use crate::plan::Action;
use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What applying one file action did, with evidence of the result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct FileChange {
    /// Path relative to the workspace root.
    pub path: String,
    /// `created`, `modified` or `deleted`.
    pub change: String,
    /// SHA-256 (hex) of the file on disk after the change; `None` when deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

impl FileChange {
    /// A change of `kind` (`created`, `modified` or `deleted`) to `path`, relative to the root.
    pub fn new(path: impl Into<String>, kind: impl Into<String>) -> Self {
        Self { path: path.into(), change: kind.into(), sha256: None }
    }

    /// The SHA-256 (hex) of the file on disk after the change.
    pub fn with_sha256(mut self, sha256: Option<String>) -> Self {
        self.sha256 = sha256;
        self
    }
}

/// Applies file actions ([`Action::WriteFile`], [`Action::ReplaceBlock`],
/// [`Action::DeleteFile`]) under a workspace root.
///
/// Implementations refuse paths that leave the root or enter `.git`.
/// [`Action::RunCommand`] is not an edit: the loop runs it through the
/// [`Executor`](crate::Executor).
///
/// ```
/// use agent_core::{async_trait, Editor};
/// use agent_core::plan::Action;
/// use agent_core::edit::{EditError, FileChange};
/// use std::path::Path;
///
/// /// Records what it would do and touches nothing.
/// struct DryRun;
///
/// #[async_trait]
/// impl Editor for DryRun {
///     async fn apply(&self, _root: &Path, action: &Action) -> Result<FileChange, EditError> {
///         let path = action.path().ok_or(EditError::NotAnEdit)?.to_owned();
///         Ok(FileChange::new(path, "modified"))
///     }
/// }
/// # let a = Action::DeleteFile { path: "x".into() };
/// # assert_eq!(futures::executor::block_on(DryRun.apply(Path::new("."), &a)).unwrap().path, "x");
/// ```
#[async_trait]
pub trait Editor: Send + Sync {
    /// Applies one file action under `root`.
    async fn apply(&self, root: &Path, action: &Action) -> Result<FileChange, EditError>;
}

#[async_trait]
impl<T: Editor + ?Sized> Editor for Arc<T> {
    async fn apply(&self, root: &Path, action: &Action) -> Result<FileChange, EditError> {
        (**self).apply(root, action).await
    }
}

#[async_trait]
impl<T: Editor + ?Sized> Editor for Box<T> {
    async fn apply(&self, root: &Path, action: &Action) -> Result<FileChange, EditError> {
        (**self).apply(root, action).await
    }
}

/// Why a file action was not applied. Nothing was written when this is returned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EditError {
    /// The path leaves the workspace (absolute, `..`, or a symlink pointing out).
    #[error("path `{path}` is outside the workspace")]
    OutsideWorkspace {
        /// The path asked for.
        path: String,
    },
    /// The path is inside a `.git` directory.
    #[error("path `{path}` is inside .git")]
    InsideGitDir {
        /// The path asked for.
        path: String,
    },
    /// The file to edit or delete does not exist.
    #[error("file `{path}` does not exist")]
    FileNotFound {
        /// The path asked for.
        path: String,
    },
    /// The block to replace occurs `found` times instead of once.
    #[error("block to replace occurs {found} times in `{path}` (must be exactly once)")]
    BlockNotUnique {
        /// The file.
        path: String,
        /// How often it occurs.
        found: usize,
    },
    /// The path names something that is not a regular file (a FIFO, a
    /// socket, a device): reading or replacing it could block forever or
    /// reach outside the workspace, so it is refused without being opened
    /// for reading or writing.
    #[error("`{path}` is not a regular file")]
    NotARegularFile {
        /// The path asked for.
        path: String,
    },
    /// The path changed while the action was applied: a symlink appeared on
    /// it after the containment check (something else is rewriting the
    /// workspace). Refused rather than followed.
    #[error("path `{path}` changed while it was edited (a symlink appeared on it)")]
    PathChanged {
        /// The path asked for.
        path: String,
    },
    /// The action does not edit a file (a command).
    #[error("action is not a file edit")]
    NotAnEdit,
    /// A file operation failed.
    #[error("i/o error on {}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}
