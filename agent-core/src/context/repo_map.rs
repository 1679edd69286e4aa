//! The [`RepoMapper`] trait: a compact map of a workspace for the first
//! prompt of an agent session, so the model knows where to look.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Maps a workspace: its files and their top-level symbols, ranked toward
/// the files a task is about, cut to a token budget.
///
/// The map must be deterministic (same tree, same focus, same text), hold
/// only paths relative to `root`, and read only files inside it.
///
/// ```
/// use agent_core::context::RepoMapper;
/// use std::path::{Path, PathBuf};
///
/// /// The focus files alone, one per line.
/// struct FocusOnly;
///
/// impl RepoMapper for FocusOnly {
///     fn map(&self, _root: &Path, focus: &[PathBuf], _max_tokens: usize) -> String {
///         focus.iter().map(|p| format!("{}\n", p.display())).collect()
///     }
/// }
///
/// assert_eq!(FocusOnly.map(Path::new("/w"), &["src/lib.rs".into()], 500), "src/lib.rs\n");
/// ```
pub trait RepoMapper: Send + Sync {
    /// The map of the workspace at `root`, ranked toward `focus` (paths
    /// relative to `root`, e.g. the files of the failing tests), at most about
    /// `max_tokens` tokens.
    fn map(&self, root: &Path, focus: &[PathBuf], max_tokens: usize) -> String;
}

impl<T: RepoMapper + ?Sized> RepoMapper for Arc<T> {
    fn map(&self, root: &Path, focus: &[PathBuf], max_tokens: usize) -> String {
        (**self).map(root, focus, max_tokens)
    }
}

impl<T: RepoMapper + ?Sized> RepoMapper for Box<T> {
    fn map(&self, root: &Path, focus: &[PathBuf], max_tokens: usize) -> String {
        (**self).map(root, focus, max_tokens)
    }
}
