//! [`FileMemory`]: a bounded JSON-lines memory store beside the journal,
//! and [`workspace_key`]: the identity memory files a workspace under.

use agent_core::memory::{
    AttemptNote, Lesson, Memory, MemoryEntry, MemoryError, Recollection, WorkspaceKey, scrub_secrets,
};
use async_trait::async_trait;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A [`Memory`] kept in one JSON-lines file (one [`MemoryEntry`] per line).
///
/// Bounded: at most `max_entries` entries are kept (the oldest are dropped
/// when the file is compacted), every text field is cut to
/// `max_field_chars`, lists to 16 items, and secrets are scrubbed before
/// anything is written; the workspace key and the goal key are identities
/// and are stored whole (the goal key is bounded by its own definition). A half-written last line (a crash mid-write) is
/// ignored; a corrupt complete line is an error, never silently dropped.
///
/// Notes are recalled by the same keys they were stored under: the
/// workspace's key exactly (see [`workspace_key`]) and the goal's
/// [`goal_key`](agent_core::memory::goal_key), taken from the full goal
/// before any cutting, so a goal retyped with other case, spacing or
/// punctuation finds its attempts.
///
/// Writes are atomic and serialised across processes: each one takes an
/// exclusive advisory lock (`flock`) on `PATH.lock`, reads the store, writes
/// the new content to a temporary file in the same directory, syncs it,
/// renames it over the store and syncs the directory. Readers never see a
/// partial store, and two processes (or tasks) remembering at once lose
/// nothing.
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
#[derive(Debug, Clone)]
pub struct FileMemory {
    inner: Arc<Store>,
    max_lessons: usize,
}

/// The store's file and bounds, shared with the blocking writer.
#[derive(Debug)]
struct Store {
    path: PathBuf,
    max_entries: usize,
    max_field_chars: usize,
}

/// Distinguishes the temporary files of one process's concurrent writes.
static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

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
        Self { inner: Arc::new(Store { path: path.into(), max_entries: 500, max_field_chars: 400 }), max_lessons: 8 }
    }

    /// Keeps at most `n` entries (at least 1).
    pub fn with_max_entries(mut self, n: usize) -> Self {
        let store = &self.inner;
        self.inner = Arc::new(Store { path: store.path.clone(), max_entries: n.max(1), ..**store });
        self
    }

    /// Cuts every text field to `n` characters (at least 16).
    pub fn with_max_field_chars(mut self, n: usize) -> Self {
        let store = &self.inner;
        self.inner = Arc::new(Store { path: store.path.clone(), max_field_chars: n.max(16), ..**store });
        self
    }

    /// The store's path.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The lock file that serialises writers: `PATH.lock`.
    pub fn lock_path(&self) -> PathBuf {
        self.inner.lock_path()
    }
}

impl Store {
    fn io(&self) -> impl Fn(std::io::Error) -> MemoryError + '_ {
        |source| MemoryError::Io { path: self.path.clone(), source }
    }

    fn lock_path(&self) -> PathBuf {
        let mut name = self.path.file_name().map(std::ffi::OsStr::to_os_string).unwrap_or_default();
        name.push(".lock");
        self.path.with_file_name(name)
    }

    /// The entry as stored: text cut and scrubbed. The workspace key and the
    /// goal key are identities and are kept exactly as made (the goal key
    /// from the full goal), so a recall finds what was stored.
    fn bounded(&self, entry: MemoryEntry) -> MemoryEntry {
        let m = self.max_field_chars;
        match entry {
            MemoryEntry::Attempt(a) => {
                let key = if a.goal_key.is_empty() { agent_core::memory::goal_key(&a.goal) } else { a.goal_key };
                let mut note = AttemptNote::new(
                    a.workspace,
                    cut(&a.goal, m),
                    a.attempt,
                    cut(&a.tried, m),
                    cut_list(&a.files, m),
                    cut_list(&a.failed_with, m),
                );
                note.goal_key = key;
                MemoryEntry::Attempt(note)
            }
            MemoryEntry::Lesson(l) => MemoryEntry::Lesson(Lesson::new(
                l.workspace,
                l.failure_kind,
                l.code.as_deref().map(|c| cut(c, m)),
                cut(&l.fix, m),
                cut_list(&l.files, m),
            )),
            other => other,
        }
    }

    fn read_all(&self) -> Result<Vec<MemoryEntry>, MemoryError> {
        let text = match std::fs::read_to_string(&self.path) {
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

    /// Writes `entries` atomically: a temporary file in the same directory,
    /// synced, renamed over the store, the directory synced.
    fn write_all(&self, entries: &[MemoryEntry]) -> Result<(), MemoryError> {
        let io = self.io();
        let mut text = String::new();
        for e in entries {
            let line = serde_json::to_string(e).map_err(|e| io(std::io::Error::other(e)))?;
            text.push_str(&line);
            text.push('\n');
        }
        let dir = self.path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let mut tmp_name = self.path.file_name().map(std::ffi::OsStr::to_os_string).unwrap_or_default();
        tmp_name.push(format!(".{}.{}.tmp", std::process::id(), TMP_COUNTER.fetch_add(1, Ordering::Relaxed)));
        let tmp = dir.join(tmp_name);
        let written = (|| {
            let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&tmp, &self.path)?;
            std::fs::File::open(dir)?.sync_all()
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written.map_err(io)
    }

    /// Appends `entry` under the exclusive lock, dropping the oldest entries beyond the bound.
    fn append(&self, entry: MemoryEntry) -> Result<(), MemoryError> {
        let io = self.io();
        if let Some(parent) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(&io)?;
        }
        let lock_file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(self.lock_path())
            .map_err(&io)?;
        let _lock = nix::fcntl::Flock::lock(lock_file, nix::fcntl::FlockArg::LockExclusive)
            .map_err(|(_, errno)| io(std::io::Error::from(errno)))?;
        let mut entries = self.read_all()?;
        entries.push(self.bounded(entry));
        if entries.len() > self.max_entries {
            let drop = entries.len() - self.max_entries;
            entries.drain(..drop);
        }
        self.write_all(&entries)
        // `_lock` is released when it drops.
    }
}

/// Runs `f` on the blocking pool (file locks and syncs block).
async fn blocking<T: Send + 'static>(
    store: &Arc<Store>,
    f: impl FnOnce(&Store) -> Result<T, MemoryError> + Send + 'static,
) -> Result<T, MemoryError> {
    let store = store.clone();
    let path = store.path.clone();
    tokio::task::spawn_blocking(move || f(&store))
        .await
        .map_err(|e| MemoryError::Io { path, source: std::io::Error::other(e) })?
}

#[async_trait]
impl Memory for FileMemory {
    async fn recall(&self, workspace: &str, goal: &str) -> Result<Recollection, MemoryError> {
        // The store is replaced by rename, so a read sees one whole version; no lock needed.
        let entries = blocking(&self.inner, Store::read_all).await?;
        let mut out = Recollection::default();
        for e in entries {
            match e {
                MemoryEntry::Attempt(a) if a.workspace == workspace && a.is_for_goal(goal) => {
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
        blocking(&self.inner, move |store| store.append(entry)).await
    }
}

/// The key memory files the workspace at `root` under: the repository's
/// identity, not its directory's name.
///
/// In a git repository (or a linked worktree) it is
/// [`WorkspaceKey::repository`]: the root commit reached from `HEAD` by
/// first parents (the commit `git rev-list --max-parents=0 --first-parent
/// HEAD` prints), with `root`'s path inside the repository when it is a
/// subdirectory. Clones of one repository share it whatever their
/// directories are called; unrelated repositories both called `app/` do
/// not. Following first parents keeps the key when a history with roots of
/// its own is merged in later. Outside a repository, or before its first
/// commit, it is [`WorkspaceKey::path`] of the canonical path.
///
/// The repository is read in-process (gix, pure Rust): nothing is spawned.
/// The walk is remembered per `HEAD` for the life of the process.
pub async fn workspace_key(root: &Path) -> WorkspaceKey {
    let root = root.to_path_buf();
    let fallback = root.clone();
    tokio::task::spawn_blocking(move || workspace_key_blocking(&root))
        .await
        .unwrap_or_else(|_| WorkspaceKey::path(&fallback))
}

fn workspace_key_blocking(root: &Path) -> WorkspaceKey {
    let canonical = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    repository_key(&canonical).unwrap_or_else(|| WorkspaceKey::path(&canonical))
}

/// `HEAD` → the root commit found from it, for this process.
fn root_commits() -> &'static std::sync::Mutex<std::collections::HashMap<gix::ObjectId, gix::ObjectId>> {
    static CACHE: std::sync::OnceLock<std::sync::Mutex<std::collections::HashMap<gix::ObjectId, gix::ObjectId>>> =
        std::sync::OnceLock::new();
    CACHE.get_or_init(Default::default)
}

fn repository_key(root: &Path) -> Option<WorkspaceKey> {
    let repo = gix::discover(root).ok()?;
    let head = repo.head_id().ok()?.detach();
    let cached = root_commits().lock().ok().and_then(|c| c.get(&head).copied());
    let first = match cached {
        Some(id) => id,
        None => {
            let mut id = head;
            loop {
                let commit = repo.find_commit(id).ok()?;
                match commit.parent_ids().next() {
                    Some(parent) => id = parent.detach(),
                    None => break,
                }
            }
            if let Ok(mut c) = root_commits().lock() {
                c.insert(head, id);
            }
            id
        }
    };
    let workdir = std::fs::canonicalize(repo.workdir()?).ok()?;
    let inside = root.strip_prefix(&workdir).ok()?;
    let subdir: Vec<String> = inside.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    Some(WorkspaceKey::repository(&first.to_string(), &subdir.join("/")))
}
