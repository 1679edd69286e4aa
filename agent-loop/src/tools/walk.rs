//! The ignore-aware walk `list_files` and `search` share, and their glob
//! filter.
//!
//! The walk starts at the workspace root (so the root's `.gitignore` applies
//! to every subdirectory asked for) and prunes everything that is not on the
//! way to, or under, the directory asked for. It honours `.gitignore`,
//! `.ignore` and `.git/info/exclude` (in a git repository or not), but not
//! the user's global excludes, so the same tree lists the same on every
//! machine. Hidden files and directories are skipped, `.git` always, and so
//! are dependency and cache directories nothing ignores: `node_modules`,
//! `__pycache__`, and any directory holding a `CACHEDIR.TAG` (cargo's
//! `target`). A directory asked for by name is walked even when it is
//! itself ignored or hidden (its contents still honour the ignore files
//! under it), the way ripgrep searches a path given on its command line.
//! Symlinks are not followed; every file found passes
//! [`contain`](agent_core::workspace::contain) before it is listed or read.

use crate::tools::common::show;
use agent_core::tool::ToolError;
use agent_core::workspace::contain;
use std::path::{Path, PathBuf};

/// A file the walk found.
#[derive(Debug)]
pub(crate) struct Found {
    /// Relative to the root, `/`-separated.
    pub(crate) relative: String,
    /// The file to read (symlinks resolved, inside the root).
    pub(crate) path: PathBuf,
}

/// A `glob` argument: without a `/` it matches file names anywhere
/// (`*.rs`); with one, the path relative to the root (`src/**/*.rs`).
#[derive(Debug)]
pub(crate) struct GlobFilter {
    matcher: globset::GlobMatcher,
    whole_path: bool,
}

impl GlobFilter {
    /// The filter for `glob`; an invalid glob is
    /// [`ToolError::InvalidArguments`] of `tool`.
    pub(crate) fn new(tool: &str, glob: &str) -> Result<Self, ToolError> {
        let trimmed = glob.trim().trim_start_matches("./").trim_start_matches('/');
        let matcher = globset::GlobBuilder::new(trimmed)
            .literal_separator(true)
            .build()
            .map_err(|e| ToolError::InvalidArguments {
                tool: tool.to_owned(),
                reason: format!("`glob`: `{glob}` is not a valid glob: {e}"),
            })?
            .compile_matcher();
        Ok(Self { matcher, whole_path: trimmed.contains('/') })
    }

    /// Whether the file at `relative` (`/`-separated) matches.
    pub(crate) fn matches(&self, relative: &str) -> bool {
        if self.whole_path {
            self.matcher.is_match(relative)
        } else {
            self.matcher.is_match(relative.rsplit('/').next().unwrap_or(relative))
        }
    }
}

/// Directories skipped by name even where no ignore file names them.
const SKIPPED_DIRS: &[&str] = &["node_modules", "__pycache__"];

fn is_skipped_dir(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    name.eq_ignore_ascii_case(".git") || SKIPPED_DIRS.contains(&name) || path.join("CACHEDIR.TAG").is_file()
}

fn builder(walk_root: &Path) -> ignore::WalkBuilder {
    let mut b = ignore::WalkBuilder::new(walk_root);
    b.hidden(true)
        .parents(false)
        .ignore(true)
        .git_ignore(true)
        .git_exclude(true)
        .git_global(false)
        .require_git(false)
        .follow_links(false);
    b
}

/// The files under `start` (a directory inside the workspace at `root`,
/// whose resolved form is under `canon_root`), sorted by relative path,
/// filtered by `glob`.
pub(crate) fn files_under(root: &Path, canon_root: &Path, start: &Path, glob: Option<&GlobFilter>) -> Vec<Found> {
    let mut found = Vec::new();
    let target = start.to_path_buf();
    let walk = builder(canon_root)
        .filter_entry(move |e| {
            let p = e.path();
            if target.starts_with(p) {
                true
            } else if p.starts_with(&target) {
                !(e.file_type().is_some_and(|t| t.is_dir()) && is_skipped_dir(p))
            } else {
                false
            }
        })
        .build();
    let mut saw_start = false;
    for entry in walk.filter_map(Result::ok) {
        if entry.path() == start {
            saw_start = true;
        }
        collect(root, canon_root, start, &entry, glob, &mut found);
    }
    if !saw_start {
        // Asked for by name though ignored or hidden: walk it from itself.
        let walk = builder(start)
            .filter_entry(|e| {
                e.depth() == 0 || !(e.file_type().is_some_and(|t| t.is_dir()) && is_skipped_dir(e.path()))
            })
            .build();
        for entry in walk.filter_map(Result::ok) {
            collect(root, canon_root, start, &entry, glob, &mut found);
        }
    }
    found.sort_by(|a, b| a.relative.cmp(&b.relative));
    found.dedup_by(|a, b| a.relative == b.relative);
    found
}

fn collect(
    root: &Path,
    canon_root: &Path,
    start: &Path,
    entry: &ignore::DirEntry,
    glob: Option<&GlobFilter>,
    out: &mut Vec<Found>,
) {
    let path = entry.path();
    if !path.starts_with(start) {
        return;
    }
    let Some(kind) = entry.file_type() else { return };
    if !(kind.is_file() || kind.is_symlink()) {
        return;
    }
    let Ok(relative) = path.strip_prefix(canon_root) else { return };
    let Ok(inside) = contain(root, relative) else { return };
    if kind.is_symlink() && !std::fs::metadata(&inside.resolved).is_ok_and(|m| m.is_file()) {
        return;
    }
    let relative = show(relative);
    if glob.is_some_and(|g| !g.matches(&relative)) {
        return;
    }
    out.push(Found { relative, path: inside.resolved });
}
