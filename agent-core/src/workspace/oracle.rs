//! The [`WorkspaceOracle`] trait: inspects a workspace before anything is planned.

use crate::workspace::WorkspaceProfile;
use async_trait::async_trait;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Finds the projects in a workspace and how to set up, build, test and lint them.
///
/// ```
/// use agent_core::{async_trait, WorkspaceOracle};
/// use agent_core::workspace::{OracleError, Project, WorkspaceProfile};
/// use std::path::Path;
///
/// /// Knows a Makefile project when it sees one.
/// struct MakeOracle;
///
/// #[async_trait]
/// impl WorkspaceOracle for MakeOracle {
///     async fn inspect(&self, root: &Path) -> Result<WorkspaceProfile, OracleError> {
///         let mut profile = WorkspaceProfile::new(root);
///         if root.join("Makefile").is_file() {
///             profile.projects.push(Project::new("", &["c"], "make"));
///         }
///         Ok(profile)
///     }
/// }
/// # let p = futures::executor::block_on(MakeOracle.inspect(Path::new("/nonexistent"))).unwrap();
/// # assert!(p.projects.is_empty());
/// ```
#[async_trait]
pub trait WorkspaceOracle: Send + Sync {
    /// Inspects the workspace at `root`.
    async fn inspect(&self, root: &Path) -> Result<WorkspaceProfile, OracleError>;
}

#[async_trait]
impl<T: WorkspaceOracle + ?Sized> WorkspaceOracle for Arc<T> {
    async fn inspect(&self, root: &Path) -> Result<WorkspaceProfile, OracleError> {
        (**self).inspect(root).await
    }
}

#[async_trait]
impl<T: WorkspaceOracle + ?Sized> WorkspaceOracle for Box<T> {
    async fn inspect(&self, root: &Path) -> Result<WorkspaceProfile, OracleError> {
        (**self).inspect(root).await
    }
}

/// Why a workspace could not be inspected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OracleError {
    /// The root does not exist or is not a directory.
    #[error("not a directory: {}", path.display())]
    NotADirectory {
        /// The root given.
        path: PathBuf,
    },
    /// A manifest exists but cannot be parsed.
    #[error("cannot parse {}: {message}", file.display())]
    BadManifest {
        /// The manifest.
        file: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Reading the workspace failed.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// What was being read.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}
