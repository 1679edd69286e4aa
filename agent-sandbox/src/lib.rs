//! `agent-sandbox`: process execution, snapshots and file edits for coding
//! agents — the only crate of the workspace that spawns processes or writes
//! to a user's workspace.
//!
//! - [`ProcessExecutor`] runs a [`CommandSpec`](agent_core::exec::CommandSpec) in
//!   its own process group with wall-clock and inactivity limits that end the
//!   whole group, a clean environment, stdin from `/dev/null`, and output
//!   bounded in memory (head and tail) with the full output in a log file.
//! - [`GitSnapshotter`] snapshots a git working tree (tracked, modified and
//!   untracked-not-ignored files) without touching the user's index, `HEAD`,
//!   branches or stash, and restores it byte for byte.
//! - [`FileEditor`] applies the model's file actions under a root, refusing
//!   paths that leave it or enter `.git`.
//!
//! ```no_run
//! use agent_core::plan::Action;
//! use agent_core::exec::CommandSpec;
//! use agent_core::{Editor, Executor, Snapshotter};
//! use agent_sandbox::{FileEditor, GitSnapshotter, ProcessExecutor};
//! use std::path::Path;
//! use std::time::Duration;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let root = Path::new("/path/to/repo");
//! let snaps = GitSnapshotter::new();
//! let id = snaps.snapshot(root).await?;
//! FileEditor::new()
//!     .apply(root, &Action::WriteFile { path: "src/lib.rs".into(), content: "pub fn f() {}\n".into() })
//!     .await?;
//! let exec = ProcessExecutor::new().with_default_cwd(root.to_path_buf());
//! let out = exec.run(CommandSpec::new("cargo").args(["test"]).wall_timeout(Duration::from_secs(600))).await?;
//! if out.success() {
//!     snaps.discard(root, &id).await?;
//! } else {
//!     snaps.restore(root, &id).await?;
//! }
//! # Ok(()) }
//! ```

mod capture;
mod cgroup;
mod confine;
mod digest;
mod dir_snapshotter;
mod file_editor;
mod git_harden;
mod git_snapshotter;
mod group;
mod limits;
mod process_executor;
mod run_log;
mod sandbox_policy;
mod service;
mod worktree_pool;

pub use cgroup::cgroups_supported;
pub use digest::tree_digest;
pub use dir_snapshotter::{DEFAULT_EXCLUDES, DEFAULT_MAX_FILE_BYTES, DirExclusionReason, DirSnapshotter, ExcludedPath};
pub use file_editor::FileEditor;
pub use git_snapshotter::{Excluded, GitSnapshotter, GuardReason, RecoverReport, RefChange, SnapshotReport};
pub use limits::LimitedExecutor;
pub use process_executor::{MAX_REPORT_BYTES, ProcessExecutor};
pub use run_log::{
    DEFAULT_LOG_CAP, DEFAULT_LOG_DIR_BUDGET, DEFAULT_LOG_MAX_AGE, DEFAULT_LOG_MAX_FILES, SWEEP_EVERY_LOGS,
};
pub use sandbox_policy::{
    HIDDEN_HOME_PATHS, LandlockSupport, NamespaceSupport, NetworkIsolation, landlock_scopes_supported,
    landlock_support, landlock_supported, namespace_support, network_isolation, seccomp_supported,
    user_namespace_supported,
};
pub use worktree_pool::{DEFAULT_CACHE_DIRS, PoolError, Worktree, WorktreePool};
