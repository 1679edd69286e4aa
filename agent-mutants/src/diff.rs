//! Which lines a unified diff changed (`--in-diff REV`).
//!
//! [`changed_lines`] reads the output of `git diff -U0 REV` (any unified
//! diff works, context lines are skipped) and keeps, per file, the
//! new-side lines that were added or changed:
//!
//! - the path is the `+++ b/…` one (quoted paths are unquoted, a trailing
//!   tab and timestamp from plain `diff -u` is dropped); `+++ /dev/null` is a
//!   deleted file, which has no new-side lines but is listed by
//!   [`ChangedLines::deleted_files`];
//! - a rename or mode change without content changes marks no line but the
//!   file counts as changed ([`ChangedLines::changed_files`]);
//! - hunk bodies are counted against the `@@ -a,b +c,d @@` header, so an
//!   added line whose text starts with `++ ` is never taken for a header;
//!   `\ No newline at end of file` markers are ignored;
//! - **a pure deletion (`+c,0`) marks the two new-side lines around the
//!   cut**, `c` and `c + 1` (line 0 does not exist and is left out): deleting
//!   a guard changes what the code next to it does, so mutants there belong
//!   to the change. A deletion followed by additions (a modification) marks
//!   only the added lines.
//!
//! ```
//! use agent_mutants::changed_lines;
//!
//! let diff = "diff --git a/src/lib.rs b/src/lib.rs\n--- a/src/lib.rs\n+++ b/src/lib.rs\n\
//!             @@ -3 +3,2 @@ fn f()\n-    a\n+    b\n+    c\n@@ -9,2 +10,0 @@\n-x\n-y\n";
//! let changed = changed_lines(diff);
//! assert!(changed.contains("src/lib.rs", 3) && changed.contains("src/lib.rs", 4));
//! assert!(!changed.contains("src/lib.rs", 5));
//! assert!(changed.contains("src/lib.rs", 10) && changed.contains("src/lib.rs", 11));
//! ```

use super::Mutant;
use std::collections::{BTreeMap, BTreeSet};

/// Lines added or changed per file (new-side line numbers, 1-based, inclusive ranges).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangedLines {
    files: BTreeMap<String, Vec<(u32, u32)>>,
    touched: BTreeSet<String>,
    deleted: BTreeSet<String>,
}

impl ChangedLines {
    /// Whether `line` of `file` was added or changed.
    pub fn contains(&self, file: &str, line: u32) -> bool {
        self.files.get(file).is_some_and(|r| r.iter().any(|&(a, b)| a <= line && line <= b))
    }

    /// Whether any line of `first..=last` in `file` was added or changed.
    pub fn overlaps(&self, file: &str, first: u32, last: u32) -> bool {
        self.files.get(file).is_some_and(|r| r.iter().any(|&(a, b)| a <= last && first <= b))
    }

    /// Whether a mutant is in the diff: any line its original text spans
    /// (from [`Mutant::line`]) was added or changed.
    pub fn contains_mutant(&self, mutant: &Mutant) -> bool {
        let extra = mutant.original.trim_end_matches('\n').matches('\n').count();
        let last = mutant.line.saturating_add(u32::try_from(extra).unwrap_or(u32::MAX));
        self.overlaps(&mutant.file, mutant.line, last)
    }

    /// Files with changed lines.
    pub fn files(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// The changed line ranges of `file` (inclusive, sorted, merged).
    pub fn ranges(&self, file: &str) -> &[(u32, u32)] {
        self.files.get(file).map_or(&[], Vec::as_slice)
    }

    /// Every file present after the change that the diff touched: files with
    /// changed lines plus renames, mode changes and binary changes.
    pub fn changed_files(&self) -> impl Iterator<Item = &str> {
        self.touched.iter().map(String::as_str)
    }

    /// Files the diff deleted.
    pub fn deleted_files(&self) -> impl Iterator<Item = &str> {
        self.deleted.iter().map(String::as_str)
    }

    /// Changed or deleted files that are test files by their path
    /// ([`agent_syntax::is_test_path`], the rules [`generate`](super::generate)
    /// uses: `tests/` and `tests.rs` for Rust, `test_*.py`, `*_test.py`,
    /// `conftest.py`, `*.test.*`, `*.spec.*`, `__tests__/`, `*_test.go`).
    /// Test code inside a source file (a Rust `#[cfg(test)]` module) is not
    /// a test file: find it with [`contains_mutant`](Self::contains_mutant)
    /// on the file's mutants.
    pub fn test_files(&self) -> Vec<&str> {
        self.touched
            .iter()
            .chain(&self.deleted)
            .map(String::as_str)
            .filter(|f| agent_syntax::is_test_path(std::path::Path::new(f)))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    /// Whether the diff changed nothing that lines can be found for.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.touched.is_empty() && self.deleted.is_empty()
    }

    /// Marks `first..=last` of `file` as changed (for callers that build the
    /// set by hand; the parser uses it too).
    pub fn add(&mut self, file: &str, first: u32, last: u32) {
        if first == 0 || last < first {
            return;
        }
        self.touched.insert(file.to_string());
        let ranges = self.files.entry(file.to_string()).or_default();
        ranges.push((first, last));
        ranges.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(ranges.len());
        for &(a, b) in ranges.iter() {
            match merged.last_mut() {
                Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        *ranges = merged;
    }
}

/// Per-file state while reading one `diff --git` block.
#[derive(Default)]
struct Block {
    /// Path from the `diff --git` line or `rename to`, used when no `+++` comes.
    header_path: Option<String>,
    /// Path from `+++` (`None` for `/dev/null`).
    new_path: Option<Option<String>>,
    deleted: bool,
}

/// Parses the output of `git diff -U0 REV` (or any unified diff).
pub fn changed_lines(unified_diff: &str) -> ChangedLines {
    let mut out = ChangedLines::default();
    let mut block = Block::default();
    let mut old_path: Option<String> = None;
    let mut lines = unified_diff.lines().peekable();
    while let Some(line) = lines.next() {
        if let Some(rest) = line.strip_prefix("diff --git ") {
            finish_block(&mut out, std::mem::take(&mut block), old_path.take());
            block.header_path = rest.rfind(" b/").map(|i| rest[i + 3..].to_string()).or_else(|| {
                // Quoted paths: `diff --git "a/x y" "b/x y"`.
                rest.rfind(" \"b/").map(|i| unquote(&rest[i + 1..]))
            });
        } else if let Some(rest) = line.strip_prefix("rename to ") {
            block.header_path = Some(unquote(rest));
        } else if line.starts_with("deleted file mode") {
            block.deleted = true;
        } else if let Some(rest) = line.strip_prefix("--- ") {
            old_path = parse_path(rest, "a/");
        } else if let Some(rest) = line.strip_prefix("+++ ") {
            let path = parse_path(rest, "b/");
            if path.is_none() {
                block.deleted = true;
                if let Some(old) = &old_path {
                    block.header_path = Some(old.clone());
                }
            }
            block.new_path = Some(path);
        } else if let Some(rest) = line.strip_prefix("@@ ") {
            let Some((old_count, new_start, new_count)) = parse_hunk_header(rest) else {
                continue;
            };
            let file = block.new_path.clone().flatten();
            let mut old_left = old_count;
            let mut new_left = new_count;
            let mut new_line = if new_count == 0 { new_start.saturating_add(1) } else { new_start };
            let mut pending_delete = false;
            let mark = |out: &mut ChangedLines, first: u32, last: u32| {
                if let Some(f) = &file {
                    out.add(f, first.max(1), last);
                }
            };
            while old_left > 0 || new_left > 0 {
                let Some(body) = lines.peek() else {
                    break;
                };
                let kind = body.as_bytes().first().copied();
                match kind {
                    Some(b'-') if old_left > 0 => {
                        old_left -= 1;
                        pending_delete = true;
                    }
                    Some(b'+') if new_left > 0 => {
                        new_left -= 1;
                        pending_delete = false;
                        mark(&mut out, new_line, new_line);
                        new_line = new_line.saturating_add(1);
                    }
                    Some(b' ') | None if old_left > 0 && new_left > 0 => {
                        if pending_delete {
                            mark(&mut out, new_line.saturating_sub(1), new_line);
                            pending_delete = false;
                        }
                        old_left -= 1;
                        new_left -= 1;
                        new_line = new_line.saturating_add(1);
                    }
                    Some(b'\\') => {}
                    _ => break,
                }
                lines.next();
            }
            if pending_delete {
                mark(&mut out, new_line.saturating_sub(1), new_line);
            }
        }
    }
    finish_block(&mut out, block, old_path);
    out
}

/// Records the files of a finished block that had no changed lines.
fn finish_block(out: &mut ChangedLines, block: Block, old_path: Option<String>) {
    let path = match block.new_path {
        Some(Some(p)) => Some(p),
        _ => block.header_path.or(old_path),
    };
    let Some(path) = path else {
        return;
    };
    if block.deleted {
        out.touched.remove(&path);
        out.files.remove(&path);
        out.deleted.insert(path);
    } else {
        out.touched.insert(path);
    }
}

/// The path of a `---`/`+++` line without its `a/`/`b/` prefix; `None` for `/dev/null`.
fn parse_path(rest: &str, prefix: &str) -> Option<String> {
    let raw = if rest.starts_with('"') { unquote(rest) } else { rest.split('\t').next().unwrap_or(rest).to_string() };
    if raw == "/dev/null" {
        return None;
    }
    Some(raw.strip_prefix(prefix).map(str::to_string).unwrap_or(raw))
}

/// Git's C-style quoting (`"a/x\tb"`, octal bytes for non-ASCII); the
/// input unchanged when it is not quoted.
fn unquote(s: &str) -> String {
    let Some(inner) = s.strip_prefix('"').and_then(|r| r.rfind('"').map(|end| &r[..end])) else {
        return s.to_string();
    };
    let mut bytes = Vec::with_capacity(inner.len());
    let mut it = inner.bytes().peekable();
    while let Some(b) = it.next() {
        if b != b'\\' {
            bytes.push(b);
            continue;
        }
        match it.next() {
            Some(b'n') => bytes.push(b'\n'),
            Some(b't') => bytes.push(b'\t'),
            Some(b'r') => bytes.push(b'\r'),
            Some(b'a') => bytes.push(7),
            Some(b'b') => bytes.push(8),
            Some(b'f') => bytes.push(12),
            Some(b'v') => bytes.push(11),
            Some(d @ b'0'..=b'7') => {
                let mut v = u32::from(d - b'0');
                for _ in 0..2 {
                    match it.peek() {
                        Some(&n @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(n - b'0');
                            it.next();
                        }
                        _ => break,
                    }
                }
                bytes.push(u8::try_from(v).unwrap_or(b'?'));
            }
            Some(other) => bytes.push(other),
            None => bytes.push(b'\\'),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// `-a[,b] +c[,d] @@…` → `(b, c, d)`; counts default to 1.
fn parse_hunk_header(rest: &str) -> Option<(u32, u32, u32)> {
    let mut parts = rest.split_whitespace();
    let old = parts.next()?.strip_prefix('-')?;
    let new = parts.next()?.strip_prefix('+')?;
    let range = |r: &str| -> Option<(u32, u32)> {
        match r.split_once(',') {
            Some((start, count)) => Some((start.parse().ok()?, count.parse().ok()?)),
            None => Some((r.parse().ok()?, 1)),
        }
    };
    let (_, old_count) = range(old)?;
    let (new_start, new_count) = range(new)?;
    Some((old_count, new_start, new_count))
}
