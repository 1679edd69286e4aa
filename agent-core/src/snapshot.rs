//! The [`Snapshotter`] trait: take, restore and drop snapshots of a workspace.

pub use crate::ids::SnapshotId;
use async_trait::async_trait;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Saves the state of a workspace so a failed attempt can be undone.
///
/// `restore` brings the working tree back exactly to the snapshot; the
/// user's uncommitted work from before the snapshot must survive.
///
/// ```
/// use agent_core::{async_trait, Snapshotter};
/// use agent_core::snapshot::{SnapshotError, SnapshotId};
/// use std::path::Path;
///
/// /// Takes no snapshots and refuses every restore: for read-only tools.
/// struct Never;
///
/// #[async_trait]
/// impl Snapshotter for Never {
///     async fn snapshot(&self, root: &Path) -> Result<SnapshotId, SnapshotError> {
///         Err(SnapshotError::Unsupported { root: root.into(), reason: "read-only".into() })
///     }
///     async fn restore(&self, _root: &Path, id: &SnapshotId) -> Result<(), SnapshotError> {
///         Err(SnapshotError::NotFound { id: id.clone() })
///     }
///     async fn discard(&self, _root: &Path, id: &SnapshotId) -> Result<(), SnapshotError> {
///         Err(SnapshotError::NotFound { id: id.clone() })
///     }
/// }
/// # assert!(futures::executor::block_on(Never.snapshot(Path::new("."))).is_err());
/// ```
#[async_trait]
pub trait Snapshotter: Send + Sync {
    /// Records the current state of the workspace at `root`.
    async fn snapshot(&self, root: &Path) -> Result<SnapshotId, SnapshotError>;
    /// Brings the workspace back to snapshot `id`.
    async fn restore(&self, root: &Path, id: &SnapshotId) -> Result<(), SnapshotError>;
    /// Frees snapshot `id`.
    async fn discard(&self, root: &Path, id: &SnapshotId) -> Result<(), SnapshotError>;
    /// How `HEAD`, the refs and the stash list differ now from snapshot
    /// `id`, for noticing that a command moved them. Empty when they match,
    /// and (the default) for snapshotters that do not record git state.
    async fn ref_changes(&self, _root: &Path, _id: &SnapshotId) -> Result<Vec<RefChange>, SnapshotError> {
        Ok(Vec::new())
    }
}

#[async_trait]
impl<T: Snapshotter + ?Sized> Snapshotter for Arc<T> {
    async fn snapshot(&self, root: &Path) -> Result<SnapshotId, SnapshotError> {
        (**self).snapshot(root).await
    }
    async fn restore(&self, root: &Path, id: &SnapshotId) -> Result<(), SnapshotError> {
        (**self).restore(root, id).await
    }
    async fn discard(&self, root: &Path, id: &SnapshotId) -> Result<(), SnapshotError> {
        (**self).discard(root, id).await
    }
    async fn ref_changes(&self, root: &Path, id: &SnapshotId) -> Result<Vec<RefChange>, SnapshotError> {
        (**self).ref_changes(root, id).await
    }
}

#[async_trait]
impl<T: Snapshotter + ?Sized> Snapshotter for Box<T> {
    async fn snapshot(&self, root: &Path) -> Result<SnapshotId, SnapshotError> {
        (**self).snapshot(root).await
    }
    async fn restore(&self, root: &Path, id: &SnapshotId) -> Result<(), SnapshotError> {
        (**self).restore(root, id).await
    }
    async fn discard(&self, root: &Path, id: &SnapshotId) -> Result<(), SnapshotError> {
        (**self).discard(root, id).await
    }
    async fn ref_changes(&self, root: &Path, id: &SnapshotId) -> Result<Vec<RefChange>, SnapshotError> {
        (**self).ref_changes(root, id).await
    }
}

/// One difference between the git state of a snapshot and the current one:
/// `HEAD`, a ref, or the stash list moved.
///
/// ```
/// use agent_core::snapshot::RefChange;
///
/// let c = RefChange::new("HEAD", Some("ref: refs/heads/main".into()), Some("ref: refs/heads/other".into()));
/// assert_eq!(c.to_string(), "HEAD: ref: refs/heads/main in the snapshot, ref: refs/heads/other now");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct RefChange {
    /// `HEAD`, a full ref name, or [`RefChange::STASH_LIST`].
    pub name: String,
    /// In the snapshot (`None`: absent). Ids in hex, symbolic refs as `ref: <name>`.
    pub snapshot: Option<String>,
    /// Now (`None`: absent).
    pub now: Option<String>,
}

impl RefChange {
    /// The name of the change to the stash list (whose values are the stash
    /// reflog, one entry per line).
    pub const STASH_LIST: &'static str = "stash list";

    /// A change of `name` from `snapshot` to `now`.
    pub fn new(name: impl Into<String>, snapshot: Option<String>, now: Option<String>) -> Self {
        Self { name: name.into(), snapshot, now }
    }
}

impl std::fmt::Display for RefChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: &Option<String>| match v {
            Some(v) if self.name == Self::STASH_LIST => format!("{} entries", v.lines().count()),
            Some(v) => v.clone(),
            None => "absent".into(),
        };
        write!(f, "{}: {} in the snapshot, {} now", self.name, show(&self.snapshot), show(&self.now))
    }
}

/// Why a snapshot operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// No snapshot with this id exists.
    #[error("no snapshot {id}")]
    NotFound {
        /// The id asked for.
        id: SnapshotId,
    },
    /// This snapshotter cannot work on this workspace (e.g. not a git repository).
    #[error("cannot snapshot {}: {reason}", root.display())]
    Unsupported {
        /// The workspace.
        root: PathBuf,
        /// Why.
        reason: String,
    },
    /// A version-control command failed.
    #[error("{operation} failed: {message}")]
    Backend {
        /// What was being done.
        operation: String,
        /// What the backend said.
        message: String,
    },
    /// A restore refused before touching anything: the workspace cannot be
    /// put back safely (e.g. a ref now points at an object that is gone).
    #[error("cannot restore snapshot {id}: {reason}")]
    RestoreRefused {
        /// The snapshot asked for.
        id: SnapshotId,
        /// What changed since the snapshot and why it cannot be put back.
        reason: String,
    },
    /// Another process holds a lock the operation needs (e.g. git's
    /// `index.lock`, or the marker of a restore it is running).
    #[error("{} is held by another process{}", path.display(), holder.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    Locked {
        /// The lock file.
        path: PathBuf,
        /// The holding process, when known.
        holder: Option<u32>,
    },
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
