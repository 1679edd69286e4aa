//! [`JsonlJournal`]: the embedded default journal, one JSON event per line.

use agent_core::Journal;
use agent_core::event::{Event, TaskId};
use agent_core::journal::JournalError;
use async_trait::async_trait;
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

/// A journal in a JSONL file: one event per line, written and flushed per
/// event, so another process can read it while it is being written.
///
/// Reading tolerates a last line that is still being written (no newline
/// yet) and skips it; any complete line that is not an event is an error.
///
/// ```
/// use agent_core::event::{Event, EventKind, TaskId};
/// use agent_core::Journal;
/// use agent_loop::JsonlJournal;
/// # let dir = tempfile::tempdir().unwrap();
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let journal = JsonlJournal::open(dir.path().join("journal.jsonl")).await.unwrap();
/// let task = TaskId::new("t1");
/// journal.append(Event::now(task.clone(), EventKind::BudgetStop { reason: "tokens".into() })).await.unwrap();
/// assert_eq!(journal.events(&task).await.unwrap().len(), 1);
/// # });
/// ```
#[derive(Debug)]
pub struct JsonlJournal {
    path: PathBuf,
    file: Mutex<tokio::fs::File>,
}

impl JsonlJournal {
    /// Opens (creating if needed) the journal at `path` for appending.
    pub async fn open(path: impl Into<PathBuf>) -> Result<Self, JournalError> {
        let path = path.into();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|source| JournalError::Io { path: parent.into(), source })?;
        }
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .await
            .map_err(|source| JournalError::Io { path: path.clone(), source })?;
        Ok(Self { path, file: Mutex::new(file) })
    }

    /// The journal file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads every event in the file at `path`, of every task.
    pub async fn read_all(path: &Path) -> Result<Vec<Event>, JournalError> {
        let text =
            tokio::fs::read_to_string(path).await.map_err(|source| JournalError::Io { path: path.into(), source })?;
        let complete = match text.rfind('\n') {
            Some(end) => &text[..=end],
            None => "",
        };
        let mut events = Vec::new();
        for (i, line) in complete.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let event = serde_json::from_str(line).map_err(|e| JournalError::Corrupt {
                path: path.into(),
                line: i + 1,
                message: e.to_string(),
            })?;
            events.push(event);
        }
        Ok(events)
    }
}

#[async_trait]
impl Journal for JsonlJournal {
    async fn append(&self, event: Event) -> Result<(), JournalError> {
        let mut line = serde_json::to_string(&event).map_err(|e| JournalError::Serialize(e.to_string()))?;
        line.push('\n');
        let mut file = self.file.lock().await;
        let io = |source| JournalError::Io { path: self.path.clone(), source };
        file.write_all(line.as_bytes()).await.map_err(io)?;
        file.flush().await.map_err(io)?;
        Ok(())
    }

    async fn events(&self, task: &TaskId) -> Result<Vec<Event>, JournalError> {
        let _guard = self.file.lock().await;
        Ok(Self::read_all(&self.path).await?.into_iter().filter(|e| &e.task == task).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_core::event::EventKind;

    fn stop(task: &str, reason: &str) -> Event {
        Event::now(TaskId::new(task), EventKind::BudgetStop { reason: reason.into() })
    }

    #[tokio::test]
    async fn events_of_other_tasks_are_filtered_and_order_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let j = JsonlJournal::open(dir.path().join("j.jsonl")).await.unwrap();
        for (t, r) in [("a", "1"), ("b", "2"), ("a", "3")] {
            j.append(stop(t, r)).await.unwrap();
        }
        let reasons: Vec<String> = j
            .events(&TaskId::new("a"))
            .await
            .unwrap()
            .into_iter()
            .map(|e| match e.kind {
                EventKind::BudgetStop { reason } => reason,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(reasons, ["1", "3"]);
    }

    #[tokio::test]
    async fn each_append_is_on_disk_as_one_line_before_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let j = JsonlJournal::open(&path).await.unwrap();
        j.append(stop("a", "x")).await.unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 1);
        assert!(text.ends_with('\n'));
    }

    #[tokio::test]
    async fn a_half_written_last_line_is_skipped_but_a_corrupt_complete_line_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let j = JsonlJournal::open(&path).await.unwrap();
        j.append(stop("a", "x")).await.unwrap();
        std::fs::OpenOptions::new().append(true).open(&path).unwrap();
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"task\":\"a\",\"at_un").unwrap();
        assert_eq!(JsonlJournal::read_all(&path).await.unwrap().len(), 1);
        f.write_all(b"\n").unwrap();
        assert!(matches!(JsonlJournal::read_all(&path).await, Err(JournalError::Corrupt { line: 2, .. })));
    }

    #[tokio::test]
    async fn reopening_appends_instead_of_truncating() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        JsonlJournal::open(&path).await.unwrap().append(stop("a", "1")).await.unwrap();
        JsonlJournal::open(&path).await.unwrap().append(stop("a", "2")).await.unwrap();
        assert_eq!(JsonlJournal::read_all(&path).await.unwrap().len(), 2);
    }
}
