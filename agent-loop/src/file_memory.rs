//! [`FileMemory`]: a bounded JSON-lines memory store beside the journal.

use agent_core::memory::{AttemptNote, Lesson, Memory, MemoryEntry, MemoryError, Recollection, scrub_secrets};
use async_trait::async_trait;
use std::path::{Path, PathBuf};
use tokio::sync::Mutex;

/// A [`Memory`] kept in one JSON-lines file (one [`MemoryEntry`] per line).
///
/// Bounded: at most `max_entries` entries are kept (the oldest are dropped
/// when the file is compacted), every text field is cut to
/// `max_field_chars`, lists to 16 items, and secrets are scrubbed before
/// anything is written. A half-written last line (a crash mid-write) is
/// ignored; a corrupt complete line is an error, never silently dropped.
///
/// ```
/// use agent_core::memory::{AttemptNote, MemoryEntry};
/// use agent_loop::FileMemory;
/// use agent_core::Memory;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let dir = tempfile::tempdir().unwrap();
/// let memory = FileMemory::new(dir.path().join("memory.jsonl"));
/// let note = AttemptNote::new("stats", "fix mean", 1, "divide by len", vec!["src/lib.rs".into()], vec!["type src/lib.rs:4 E0308".into()]);
/// memory.remember(MemoryEntry::Attempt(note)).await.unwrap();
/// let recalled = memory.recall("stats", "fix mean").await.unwrap();
/// assert_eq!(recalled.attempts.len(), 1);
/// assert!(memory.recall("stats", "another goal").await.unwrap().attempts.is_empty());
/// # });
/// ```
#[derive(Debug)]
pub struct FileMemory {
    path: PathBuf,
    max_entries: usize,
    max_field_chars: usize,
    max_lessons: usize,
    lock: Mutex<()>,
}

const MAX_LIST: usize = 16;

fn cut(text: &str, max: usize) -> String {
    let text = scrub_secrets(text);
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

fn cut_list(items: &[String], max: usize) -> Vec<String> {
    items.iter().take(MAX_LIST).map(|s| cut(s, max)).collect()
}

impl FileMemory {
    /// A store at `path` (created on the first write): 500 entries, 400
    /// characters per field, 8 lessons recalled.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into(), max_entries: 500, max_field_chars: 400, max_lessons: 8, lock: Mutex::new(()) }
    }

    /// Keeps at most `n` entries (at least 1).
    pub fn with_max_entries(mut self, n: usize) -> Self {
        self.max_entries = n.max(1);
        self
    }

    /// Cuts every text field to `n` characters.
    pub fn with_max_field_chars(mut self, n: usize) -> Self {
        self.max_field_chars = n.max(16);
        self
    }

    /// The store's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn bounded(&self, entry: MemoryEntry) -> MemoryEntry {
        let m = self.max_field_chars;
        match entry {
            MemoryEntry::Attempt(a) => MemoryEntry::Attempt(AttemptNote::new(
                cut(&a.workspace, m),
                cut(&a.goal, m),
                a.attempt,
                cut(&a.tried, m),
                cut_list(&a.files, m),
                cut_list(&a.failed_with, m),
            )),
            MemoryEntry::Lesson(l) => MemoryEntry::Lesson(Lesson::new(
                cut(&l.workspace, m),
                l.failure_kind,
                l.code.as_deref().map(|c| cut(c, m)),
                cut(&l.fix, m),
                cut_list(&l.files, m),
            )),
            other => other,
        }
    }

    async fn read_all(&self) -> Result<Vec<MemoryEntry>, MemoryError> {
        let text = match tokio::fs::read_to_string(&self.path).await {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(MemoryError::Io { path: self.path.clone(), source }),
        };
        let complete = text.ends_with('\n');
        let lines: Vec<&str> = text.lines().collect();
        let mut out = Vec::with_capacity(lines.len());
        for (i, line) in lines.iter().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str(line) {
                Ok(e) => out.push(e),
                Err(_) if i + 1 == lines.len() && !complete => {} // half-written last line
                Err(e) => {
                    return Err(MemoryError::Corrupt { path: self.path.clone(), line: i + 1, message: e.to_string() });
                }
            }
        }
        Ok(out)
    }

    async fn write_all(&self, entries: &[MemoryEntry]) -> Result<(), MemoryError> {
        let io = |source| MemoryError::Io { path: self.path.clone(), source };
        let mut text = String::new();
        for e in entries {
            text.push_str(&serde_json::to_string(e).unwrap_or_default());
            text.push('\n');
        }
        if let Some(parent) = self.path.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(io)?;
        }
        let tmp = self.path.with_extension("jsonl.tmp");
        tokio::fs::write(&tmp, text).await.map_err(io)?;
        tokio::fs::rename(&tmp, &self.path).await.map_err(io)
    }
}

#[async_trait]
impl Memory for FileMemory {
    async fn recall(&self, workspace: &str, goal: &str) -> Result<Recollection, MemoryError> {
        let _guard = self.lock.lock().await;
        let entries = self.read_all().await?;
        let mut out = Recollection::default();
        for e in entries {
            match e {
                MemoryEntry::Attempt(a) if a.workspace == workspace && a.goal.trim() == goal.trim() => {
                    out.attempts.push(a);
                }
                MemoryEntry::Lesson(l) if l.workspace == workspace => {
                    out.lessons.retain(|k: &Lesson| (k.failure_kind, &k.code) != (l.failure_kind, &l.code));
                    out.lessons.insert(0, l);
                }
                _ => {}
            }
        }
        out.lessons.truncate(self.max_lessons);
        Ok(out)
    }

    async fn remember(&self, entry: MemoryEntry) -> Result<(), MemoryError> {
        let _guard = self.lock.lock().await;
        let mut entries = self.read_all().await?;
        entries.push(self.bounded(entry));
        if entries.len() > self.max_entries {
            let drop = entries.len() - self.max_entries;
            entries.drain(..drop);
        }
        self.write_all(&entries).await
    }
}
