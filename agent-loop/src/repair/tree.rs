//! The cumulative change of a task: an image of the workspace taken with
//! the snapshot, compared with the tree whenever the gates run, so gates see
//! every change since the snapshot (every attempt's edits and whatever the
//! commands changed), as changed files and as a unified diff.
//!
//! The image walks the files git would see (`.gitignore` respected, `.git`
//! left out) and keeps each file's length, modification time and SHA-256,
//! and its text while the image holds less than [`TEXT_BUDGET`] bytes of
//! text (files over [`MAX_TEXT_FILE`] or not UTF-8 are kept as hashes: the
//! diff then names them as changed without their lines).

use agent_core::edit::FileChange;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Most bytes of text an image keeps for diffs.
pub(crate) const TEXT_BUDGET: usize = 64 * 1024 * 1024;
/// Larger files are compared by hash only.
pub(crate) const MAX_TEXT_FILE: u64 = 1024 * 1024;

#[derive(Clone, Debug)]
struct Entry {
    len: u64,
    modified: Option<SystemTime>,
    sha256: String,
    text: Option<String>,
}

/// The workspace's files at snapshot time.
#[derive(Clone, Debug, Default)]
pub(crate) struct TreeImage {
    files: BTreeMap<String, Entry>,
    /// When the walk began: a file modified since (or just before, within
    /// the file system's timestamp granularity) is hashed again, as git does
    /// with racily clean entries.
    taken: Option<SystemTime>,
}

/// What changed since the image.
#[derive(Clone, Debug, Default)]
pub(crate) struct TreeChange {
    pub(crate) changes: Vec<FileChange>,
    pub(crate) diff: String,
}

fn walk(root: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let walker = ignore::WalkBuilder::new(root)
        .hidden(false)
        .git_ignore(true)
        .git_global(false)
        .git_exclude(true)
        .require_git(false)
        .parents(false)
        .filter_entry(|e| e.file_name() != ".git")
        .build();
    for entry in walker.flatten() {
        if !entry.file_type().is_some_and(|t| t.is_file() || t.is_symlink()) {
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(root) else { continue };
        let rel = rel.to_string_lossy().replace('\\', "/");
        out.push((rel, entry.path().to_path_buf()));
    }
    out
}

fn read_entry(path: &Path, keep_text: bool) -> Option<(Entry, usize)> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    let bytes = if meta.file_type().is_symlink() {
        std::fs::read_link(path).ok()?.to_string_lossy().into_owned().into_bytes()
    } else {
        std::fs::read(path).ok()?
    };
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let text = (keep_text && meta.len() <= MAX_TEXT_FILE).then(|| String::from_utf8(bytes).ok()).flatten();
    let kept = text.as_ref().map_or(0, String::len);
    Some((Entry { len: meta.len(), modified: meta.modified().ok(), sha256, text }, kept))
}

impl TreeImage {
    /// The image of `root` now.
    pub(crate) fn capture(root: &Path) -> Self {
        let taken = SystemTime::now().checked_sub(std::time::Duration::from_secs(2));
        let mut files = BTreeMap::new();
        let mut budget = TEXT_BUDGET;
        for (rel, path) in walk(root) {
            if let Some((entry, kept)) = read_entry(&path, budget > 0) {
                budget = budget.saturating_sub(kept);
                files.insert(rel, entry);
            }
        }
        Self { files, taken }
    }

    /// Every file added, modified or deleted since the image, and their unified diff.
    pub(crate) fn changes_since(&self, root: &Path) -> TreeChange {
        let mut out = TreeChange::default();
        let mut seen = std::collections::BTreeSet::new();
        for (rel, path) in walk(root) {
            seen.insert(rel.clone());
            let before = self.files.get(&rel);
            if let Some(before) = before {
                // Unchanged length and mtime: the file was not written since.
                if let Ok(meta) = std::fs::symlink_metadata(&path) {
                    let racy = before.modified.is_none_or(|m| self.taken.is_none_or(|t| m >= t));
                    if !racy && meta.len() == before.len && meta.modified().ok() == before.modified {
                        continue;
                    }
                }
            }
            let Some((after, _)) = read_entry(&path, true) else { continue };
            match before {
                Some(before) if before.sha256 == after.sha256 => {}
                Some(before) => {
                    out.changes.push(FileChange::new(&rel, "modified").with_sha256(Some(after.sha256.clone())));
                    push_diff(&mut out.diff, &rel, Some(before), Some(&after));
                }
                None => {
                    out.changes.push(FileChange::new(&rel, "added").with_sha256(Some(after.sha256.clone())));
                    push_diff(&mut out.diff, &rel, None, Some(&after));
                }
            }
        }
        for (rel, before) in &self.files {
            if !seen.contains(rel) {
                out.changes.push(FileChange::new(rel, "deleted"));
                push_diff(&mut out.diff, rel, Some(before), None);
            }
        }
        out.changes.sort_by(|a, b| a.path.cmp(&b.path));
        out
    }
}

fn push_diff(out: &mut String, rel: &str, before: Option<&Entry>, after: Option<&Entry>) {
    let (a, b) = (
        if before.is_some() { format!("a/{rel}") } else { "/dev/null".to_owned() },
        if after.is_some() { format!("b/{rel}") } else { "/dev/null".to_owned() },
    );
    let text = |e: Option<&Entry>| -> Option<String> {
        match e {
            None => Some(String::new()),
            Some(e) => e.text.clone(),
        }
    };
    match (text(before), text(after)) {
        (Some(old), Some(new)) => {
            let diff = similar::TextDiff::from_lines(&old, &new);
            let _ = write!(out, "{}", diff.unified_diff().context_radius(3).header(&a, &b));
        }
        _ => {
            let _ = writeln!(out, "--- {a}\n+++ {b}\nBinary or large file {rel} differs");
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn an_edit_an_addition_and_a_deletion_are_one_unified_diff_against_the_image() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("keep.txt"), "same\n").unwrap();
        std::fs::write(root.join("edit.txt"), "one\ntwo\nthree\n").unwrap();
        std::fs::write(root.join("gone.txt"), "bye\n").unwrap();
        std::fs::write(root.join(".gitignore"), "ignored/\n").unwrap();
        let image = TreeImage::capture(root);
        std::fs::write(root.join("edit.txt"), "one\n2\nthree\n").unwrap();
        std::fs::write(root.join("new.txt"), "hello\n").unwrap();
        std::fs::remove_file(root.join("gone.txt")).unwrap();
        std::fs::create_dir(root.join("ignored")).unwrap();
        std::fs::write(root.join("ignored/x"), "build output\n").unwrap();
        let change = image.changes_since(root);
        let paths: Vec<(&str, &str)> = change.changes.iter().map(|c| (c.path.as_str(), c.change.as_str())).collect();
        assert_eq!(paths, [("edit.txt", "modified"), ("gone.txt", "deleted"), ("new.txt", "added")]);
        assert!(change.diff.contains("--- a/edit.txt\n+++ b/edit.txt\n@@ -1,3 +1,3 @@\n one\n-two\n+2\n three\n"));
        assert!(change.diff.contains("--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1 @@\n+hello\n"));
        assert!(change.diff.contains("--- a/gone.txt\n+++ /dev/null\n"));
        assert!(!change.diff.contains("keep.txt") && !change.diff.contains("ignored/x"));
    }
}
