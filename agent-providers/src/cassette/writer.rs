//! [`CassetteWriter`]: the one writer of a cassette file in a process, appending interactions.

use super::{CASSETTE_VERSION, Cassette, CassetteError, Interaction};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, SystemTime};

/// How many bytes of the end of a cassette are read to find where the next interaction goes.
const TAIL_BYTES: u64 = 4096;
/// How long an append waits for another writer's lock file before it fails.
const LOCK_WAIT: Duration = Duration::from_secs(30);
/// A lock file older than this is left over from a writer that died, and is removed.
const LOCK_STALE: Duration = Duration::from_secs(30);

static WRITERS: Mutex<Option<HashMap<PathBuf, Weak<CassetteWriter>>>> = Mutex::new(None);

/// Appends interactions to one cassette file.
///
/// [`CassetteWriter::shared`] gives every caller in the process the same
/// writer for a file (a registry keyed by the file's canonical path, so
/// `a/../c.json` and `c.json` are one file), and that writer appends one
/// interaction at a time: the recorders of a cascade's members, or of
/// several stacks, that record into one cassette all keep their entries.
/// [`RecordingProvider`](super::RecordingProvider),
/// [`ReplayOrRecordProvider`](super::ReplayOrRecordProvider) and
/// [`ProviderStack`](crate::layers::ProviderStack) use it.
///
/// An append rewrites only the end of the file: it reads the last bytes,
/// finds the closing `]` of `"interactions"` and writes `,`, the
/// interaction, `]` and `}` from there, so the file stays a valid cassette
/// written as [`Cassette::save`] writes it (pretty JSON). A file whose end
/// does not look like that (edited by hand, keys reordered) is read whole
/// and written back with the interaction added. Each append holds a lock
/// file, `.NAME.lock` beside the cassette, created exclusively and removed
/// after; a writer in another process (or an [`unshared`](Self::unshared)
/// one) waits for it, then appends after what is there now. A lock file
/// older than 30 s is taken as left by a writer that died, and removed.
#[derive(Debug)]
pub struct CassetteWriter {
    path: PathBuf,
    /// Serialises the appends of this process without holding a thread.
    gate: tokio::sync::Mutex<()>,
}

impl CassetteWriter {
    /// The writer of the cassette at `path` for this process: the one
    /// already open for the same file, or a new one. Creates missing parent
    /// directories; the file itself is created on the first append.
    ///
    /// # Errors
    /// [`CassetteError::Io`] when the directory cannot be created or the path has no file name.
    pub fn shared(path: impl AsRef<Path>) -> Result<Arc<Self>, CassetteError> {
        let path = canonical_path(path.as_ref())?;
        let mut registry = WRITERS.lock().unwrap_or_else(PoisonError::into_inner);
        let writers = registry.get_or_insert_with(HashMap::new);
        if let Some(writer) = writers.get(&path).and_then(Weak::upgrade) {
            return Ok(writer);
        }
        writers.retain(|_, w| w.strong_count() > 0);
        let writer = Arc::new(Self { path: path.clone(), gate: tokio::sync::Mutex::new(()) });
        writers.insert(path, Arc::downgrade(&writer));
        Ok(writer)
    }

    /// A writer of its own for the cassette at `path`, not shared with the
    /// rest of the process — what another process has. Its appends still
    /// land after every other writer's, through the lock file.
    ///
    /// # Errors
    /// As [`shared`](Self::shared).
    pub fn unshared(path: impl AsRef<Path>) -> Result<Arc<Self>, CassetteError> {
        let path = canonical_path(path.as_ref())?;
        Ok(Arc::new(Self { path, gate: tokio::sync::Mutex::new(()) }))
    }

    /// The cassette file (its canonical path).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `interaction` to the file (creating it with this one
    /// interaction when it does not exist or is empty).
    ///
    /// # Errors
    /// [`CassetteError::Io`] when the file cannot be read, locked or written;
    /// [`CassetteError::Parse`] or [`CassetteError::UnsupportedVersion`] when
    /// its end is not a cassette's and the whole file is not a cassette of this version.
    pub async fn append(&self, interaction: &Interaction) -> Result<(), CassetteError> {
        let entry = serde_json::to_string_pretty(interaction)
            .map_err(|e| CassetteError::Parse { path: self.path.clone(), message: e.to_string() })?;
        let interaction = interaction.clone();
        let _gate = self.gate.lock().await;
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || append_blocking(&path, &entry, interaction))
            .await
            .map_err(|e| CassetteError::Io { path: self.path.clone(), source: std::io::Error::other(e.to_string()) })?
    }
}

/// The path a writer is registered under: the file's canonical path, or its
/// canonical directory and its name when the file does not exist yet.
fn canonical_path(path: &Path) -> Result<PathBuf, CassetteError> {
    let io = |source| CassetteError::Io { path: path.to_owned(), source };
    if let Ok(canonical) = path.canonicalize() {
        return Ok(canonical);
    }
    let name = path
        .file_name()
        .ok_or_else(|| io(std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path names no file")))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(io)?;
    Ok(dir.canonicalize().map_err(io)?.join(name))
}

/// The interaction as it sits in the file: its pretty JSON, each line indented four spaces.
fn indented(entry: &str) -> String {
    let mut out = String::with_capacity(entry.len() + entry.len() / 8);
    for (i, line) in entry.lines().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str("    ");
        out.push_str(line);
    }
    out
}

fn append_blocking(path: &Path, entry: &str, interaction: Interaction) -> Result<(), CassetteError> {
    let io = |source| CassetteError::Io { path: path.to_owned(), source };
    let _lock = LockFile::acquire(path).map_err(io)?;
    let mut file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    if len == 0 {
        let text =
            format!("{{\n  \"version\": {CASSETTE_VERSION},\n  \"interactions\": [\n{}\n  ]\n}}\n", indented(entry));
        file.write_all(text.as_bytes()).map_err(io)?;
        return file.sync_data().map_err(io);
    }
    let tail_start = len.saturating_sub(TAIL_BYTES);
    let mut tail = Vec::new();
    file.seek(SeekFrom::Start(tail_start)).map_err(io)?;
    (&mut file).take(TAIL_BYTES).read_to_end(&mut tail).map_err(io)?;
    match insertion_point(&tail) {
        Some((offset, after_another)) => {
            let at = tail_start + offset as u64;
            let text = format!("{}\n{}\n  ]\n}}\n", if after_another { "," } else { "" }, indented(entry));
            file.seek(SeekFrom::Start(at)).map_err(io)?;
            file.write_all(text.as_bytes()).map_err(io)?;
            file.set_len(at + text.len() as u64).map_err(io)?;
            file.sync_data().map_err(io)
        }
        None => {
            drop(file);
            rewrite_whole(path, interaction)
        }
    }
}

/// Where the next interaction goes in the last bytes of a cassette: the
/// offset just after the last interaction (or after `[` when there is none),
/// and whether an interaction comes before it. `None` when the bytes do not
/// end with `…]` and `}` as a cassette written by this library does.
fn insertion_point(tail: &[u8]) -> Option<(usize, bool)> {
    let skip_ws = |mut i: usize| {
        while i > 0 && tail[i - 1].is_ascii_whitespace() {
            i -= 1;
        }
        i
    };
    let mut i = skip_ws(tail.len());
    if i == 0 || tail[i - 1] != b'}' {
        return None;
    }
    i = skip_ws(i - 1);
    if i == 0 || tail[i - 1] != b']' {
        return None;
    }
    i = skip_ws(i - 1);
    match tail.get(i.checked_sub(1)?)? {
        b'[' => Some((i, false)),
        b'}' => Some((i, true)),
        _ => None,
    }
}

/// Reads the whole cassette, adds `interaction`, and writes it back atomically.
fn rewrite_whole(path: &Path, interaction: Interaction) -> Result<(), CassetteError> {
    let mut cassette = Cassette::load(path)?;
    cassette.interactions.push(interaction);
    let io = |source| CassetteError::Io { path: path.to_owned(), source };
    let mut text = serde_json::to_string_pretty(&cassette)
        .map_err(|e| CassetteError::Parse { path: path.to_owned(), message: e.to_string() })?;
    text.push('\n');
    let dir = path.parent().map_or_else(|| PathBuf::from("."), Path::to_owned);
    let name = path.file_name().map_or_else(|| "cassette".into(), |n| n.to_string_lossy());
    let tmp = dir.join(format!(".{name}.{}.append.tmp", std::process::id()));
    let written = std::fs::write(&tmp, text.as_bytes()).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map_err(io)
}

/// An exclusively created `.NAME.lock` beside a cassette, removed when dropped.
struct LockFile {
    path: PathBuf,
}

impl LockFile {
    fn acquire(cassette: &Path) -> std::io::Result<Self> {
        let dir = cassette.parent().map_or_else(|| PathBuf::from("."), Path::to_owned);
        let name = cassette.file_name().map_or_else(|| "cassette".into(), |n| n.to_string_lossy());
        let path = dir.join(format!(".{name}.lock"));
        let started = std::time::Instant::now();
        loop {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut file) => {
                    let _ = writeln!(file, "{}", std::process::id());
                    return Ok(Self { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if is_stale(&path) {
                        tracing::warn!(lock = %path.display(), "removing a stale cassette lock file");
                        let _ = std::fs::remove_file(&path);
                        continue;
                    }
                    if started.elapsed() > LOCK_WAIT {
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            format!("another writer held {} for {LOCK_WAIT:?}", path.display()),
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(e) => return Err(e),
            }
        }
    }
}

fn is_stale(lock: &Path) -> bool {
    let modified = File::open(lock).and_then(|f| f.metadata()).and_then(|m| m.modified());
    modified.is_ok_and(|t| SystemTime::now().duration_since(t).is_ok_and(|age| age > LOCK_STALE))
}

impl Drop for LockFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_insertion_point_is_after_the_last_interaction() {
        let text = "{\n  \"version\": 1,\n  \"interactions\": [\n    {\n      \"key\": \"k\"\n    }\n  ]\n}\n";
        let (at, after) = insertion_point(text.as_bytes()).unwrap();
        assert!(after);
        assert_eq!(&text[..at], "{\n  \"version\": 1,\n  \"interactions\": [\n    {\n      \"key\": \"k\"\n    }");
        let empty = "{\"version\":1,\"interactions\":[]}";
        assert_eq!(insertion_point(empty.as_bytes()), Some((empty.len() - 2, false)));
        assert_eq!(insertion_point(b"{\"interactions\":[],\"version\":1}"), None);
        assert_eq!(insertion_point(b""), None);
        assert_eq!(insertion_point(b"]}"), None);
    }
}
