//! The before version of changed files, rebuilt from the after tree and
//! the cumulative unified diff by reverse-applying each file's patch with
//! [`diffy`].

use std::collections::BTreeMap;
use std::path::Path;

/// What the diff says about one file.
#[derive(Clone, Debug)]
pub(crate) struct FilePatch {
    /// The path before the change (`None`: the change created the file).
    pub(crate) old: Option<String>,
    /// The path after the change (`None`: the change deleted the file).
    pub(crate) new: Option<String>,
    /// The patch text of this file alone: headers and hunks (empty hunks
    /// for a file the diff names without lines, a binary or large file).
    pub(crate) text: String,
    /// Whether the patch has hunks.
    pub(crate) has_hunks: bool,
}

/// Why a before version could not be rebuilt.
#[derive(Debug)]
pub(crate) enum BeforeError {
    /// The diff names the file without its lines (binary or large).
    NoLines,
    /// The patch does not parse or does not apply to the after file.
    Unappliable(String),
    /// The after file could not be read.
    Read(std::io::Error),
}

impl std::fmt::Display for BeforeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoLines => write!(f, "the diff holds no lines for it (binary or large file)"),
            Self::Unappliable(why) => write!(f, "its patch does not reverse-apply: {why}"),
            Self::Read(e) => write!(f, "could not read it: {e}"),
        }
    }
}

fn strip_side(name: &str, prefix: &str) -> Option<String> {
    // `--- a/path\t2024-…` — a timestamp may follow a tab.
    let name = name.split('\t').next().unwrap_or(name).trim_end();
    if name == "/dev/null" {
        return None;
    }
    Some(name.strip_prefix(prefix).unwrap_or(name).to_owned())
}

/// `@@ -a,b +c,d @@`: the old and new line counts.
fn hunk_counts(line: &str) -> Option<(usize, usize)> {
    let rest = line.strip_prefix("@@ ")?;
    let mut parts = rest.split_whitespace();
    let count = |p: &str| -> Option<usize> {
        let p = &p[1..];
        match p.split_once(',') {
            Some((_, n)) => n.parse().ok(),
            None => Some(1),
        }
    };
    let old = count(parts.next().filter(|p| p.starts_with('-'))?)?;
    let new = count(parts.next().filter(|p| p.starts_with('+'))?)?;
    Some((old, new))
}

/// Splits a multi-file unified diff (`--- a/…`, `+++ b/…`, hunks) into one
/// patch per file, keyed by the path after the change (the path before it
/// for a deleted file). Hunk lines are counted, so a removed line that
/// itself begins with `-- ` is not taken for a header. Lines outside any
/// file (`diff --git`, `index …`) are skipped.
pub(crate) fn split_diff(diff: &str) -> BTreeMap<String, FilePatch> {
    let lines: Vec<&str> = diff.split_inclusive('\n').collect();
    let mut out = BTreeMap::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let next = lines.get(i + 1).copied().unwrap_or_default();
        if !(line.starts_with("--- ") && next.starts_with("+++ ")) {
            i += 1;
            continue;
        }
        let old = strip_side(line[4..].trim_end_matches(['\n', '\r']), "a/");
        let new = strip_side(next[4..].trim_end_matches(['\n', '\r']), "b/");
        let mut text = format!("{line}{next}");
        if !text.ends_with('\n') {
            text.push('\n');
        }
        i += 2;
        let mut has_hunks = false;
        while let Some((mut old_left, mut new_left)) = lines.get(i).and_then(|l| hunk_counts(l)) {
            has_hunks = true;
            text.push_str(lines[i]);
            i += 1;
            while i < lines.len() && (old_left > 0 || new_left > 0 || lines[i].starts_with('\\')) {
                let l = lines[i];
                match l.as_bytes().first() {
                    Some(b'-') => old_left = old_left.saturating_sub(1),
                    Some(b'+') => new_left = new_left.saturating_sub(1),
                    Some(b'\\') => {}
                    _ => {
                        old_left = old_left.saturating_sub(1);
                        new_left = new_left.saturating_sub(1);
                    }
                }
                text.push_str(l);
                i += 1;
            }
        }
        let Some(key) = new.clone().or_else(|| old.clone()) else { continue };
        out.insert(key, FilePatch { old, new, text, has_hunks });
    }
    out
}

impl FilePatch {
    /// The file's text before the change, given its text after (`""` for a
    /// deleted file); `Ok(None)` when the change created it.
    pub(crate) fn before(&self, after: &str) -> Result<Option<String>, BeforeError> {
        if self.old.is_none() {
            return Ok(None);
        }
        if !self.has_hunks {
            return Err(BeforeError::NoLines);
        }
        let patch = diffy::Patch::from_str(&self.text).map_err(|e| BeforeError::Unappliable(e.to_string()))?;
        let reversed = patch.reverse();
        diffy::apply(after, &reversed).map(Some).map_err(|e| BeforeError::Unappliable(e.to_string()))
    }

    /// [`before`](Self::before), reading the after text under `root`.
    pub(crate) fn before_in(&self, root: &Path) -> Result<Option<String>, BeforeError> {
        let after = match &self.new {
            Some(path) => std::fs::read_to_string(root.join(path)).map_err(BeforeError::Read)?,
            None => String::new(),
        };
        self.before(&after)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_modified_an_added_and_a_deleted_file_are_rebuilt_as_they_were() {
        let diff = "--- a/edit.txt\n+++ b/edit.txt\n@@ -1,3 +1,3 @@\n one\n--- two\n+2\n three\n\
                    --- /dev/null\n+++ b/new.txt\n@@ -0,0 +1 @@\n+hello\n\
                    --- a/gone.txt\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-a\n-b\n";
        let patches = split_diff(diff);
        assert_eq!(patches.len(), 3, "{patches:?}");
        assert_eq!(patches["edit.txt"].before("one\n2\nthree\n").unwrap().unwrap(), "one\n-- two\nthree\n");
        assert_eq!(patches["new.txt"].before("hello\n").unwrap(), None);
        assert_eq!(patches["gone.txt"].before("").unwrap().unwrap(), "a\nb\n");
    }

    #[test]
    fn a_file_named_without_lines_cannot_be_rebuilt() {
        let patches = split_diff("--- a/blob.bin\n+++ b/blob.bin\nBinary or large file blob.bin differs\n");
        assert!(matches!(patches["blob.bin"].before("x"), Err(BeforeError::NoLines)));
    }
}
