//! Full-output log files of [`ProcessExecutor`](crate::ProcessExecutor) runs:
//! bounded per run, rotated per directory, and written only into a directory
//! the host checked.
//!
//! - **Cap per run** ([`DEFAULT_LOG_CAP`], `ProcessExecutor::with_log_cap`):
//!   a command printing without end cannot fill the disk. A run's log keeps
//!   the *head* of the output (the first bytes, of both streams in the order
//!   they were read, up to the cap less the tail budgets) and, per stream, its
//!   *tail* (the last `cap / 8` bytes, in an anonymous ring file while the run
//!   lasts). Between a stream's head and its tail one marker line names the
//!   bytes left out:
//!   `\n[agentkit log cap: N bytes of stdout omitted]\n`. A cap of at least
//!   1 KiB is never exceeded, markers included (room for two is reserved).
//!   The pipes are always drained to their end: only the file is bounded.
//! - **Rotation** ([`DEFAULT_LOG_DIR_BUDGET`], [`DEFAULT_LOG_MAX_FILES`],
//!   [`DEFAULT_LOG_MAX_AGE`]): when a run's log is complete the executor adds
//!   its size to a running estimate of the directory; a sweep runs when the
//!   estimate passes the byte budget or the file count, at an executor's
//!   first log, and every [`SWEEP_EVERY_LOGS`] logs otherwise (to see other
//!   processes' logs and the age limit). A sweep lists the directory once,
//!   keeps the newest logs within three quarters of the budget and of the
//!   file count (so the next sweep is a quarter of the budget away), and
//!   deletes every older or over-age one. It only ever deletes regular files
//!   owned by this process's user whose names match `run-[A-Za-z0-9]{6,32}.log`
//!   (the names this crate gives): never a directory, never through a
//!   symbolic link (entries are examined with `AT_SYMLINK_NOFOLLOW` and
//!   removed with `unlinkat`, which removes a link itself), and never the
//!   log of the run that triggered it.
//! - **A safe directory**: created with mode 0700 when missing; refused when
//!   the path is a symbolic link, not a directory, or owned by another user.
//!   A refused directory is a `tracing` warning and the run goes on without a
//!   log file (`RunOutput::log_path` is `None`; the in-memory capture is
//!   unchanged). Files are created relative to the directory's descriptor
//!   (opened `O_DIRECTORY | O_NOFOLLOW`) with `O_CREAT | O_EXCL |
//!   O_NOFOLLOW` and mode 0600, so a name planted in the directory, or the
//!   directory swapped for a link after the check, never redirects a write.

use crate::capture::HeadTail;
use agent_core::exec::OutputCaps;
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, FileExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, SystemTime};

/// The default cap on one run's log file: 64 MiB.
pub const DEFAULT_LOG_CAP: u64 = 64 * 1024 * 1024;

/// The default budget of the log directory: 1 GiB of run logs.
pub const DEFAULT_LOG_DIR_BUDGET: u64 = 1024 * 1024 * 1024;

/// The default largest number of run logs kept in the log directory.
pub const DEFAULT_LOG_MAX_FILES: u64 = 1000;

/// The default age past which a run log is deleted at the next sweep: 7 days.
pub const DEFAULT_LOG_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

/// A sweep of the log directory runs at least once every this many logs an
/// executor writes, even while its estimate stays within the budget.
pub const SWEEP_EVERY_LOGS: u64 = 256;

/// Room kept in the cap for one marker line.
const MARKER_RESERVE: u64 = 128;

/// Buffer in front of a log file (writes of a full chunk bypass it).
const WRITE_BUFFER: usize = 64 * 1024;

/// Why the log directory was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum LogDirError {
    /// The path is a symbolic link (it is never followed).
    #[error("the log directory {path} is a symbolic link; not followed")]
    Symlink {
        /// The configured log directory.
        path: PathBuf,
    },
    /// The path exists and is not a directory.
    #[error("the log directory {path} is not a directory")]
    NotDirectory {
        /// The configured log directory.
        path: PathBuf,
    },
    /// Another user owns the directory.
    #[error("the log directory {path} is owned by uid {owner}, not by this process's uid {euid}")]
    ForeignOwner {
        /// The configured log directory.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// This process's effective uid.
        euid: u32,
    },
    /// A system call on the directory failed.
    #[error("the log directory {path}: {op} failed: {source}")]
    Io {
        /// The configured log directory.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// Opens `path` as the log directory (creating it, mode 0700, when missing)
/// after checking it is a real directory owned by this process's user.
pub(crate) fn open_log_dir(path: &Path) -> Result<OwnedFd, LogDirError> {
    let io = |op, source| LogDirError::Io { path: path.to_path_buf(), op, source };
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => return Err(LogDirError::Symlink { path: path.to_path_buf() }),
        Ok(m) if !m.is_dir() => return Err(LogDirError::NotDirectory { path: path.to_path_buf() }),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // Something planted meanwhile is caught by the checks below.
            match std::fs::DirBuilder::new().recursive(true).mode(0o700).create(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io("create", e)),
            }
        }
        Err(e) => return Err(io("stat", e)),
    }
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = rustix::fs::open(path, flags, Mode::empty()).map_err(|e| match e {
        rustix::io::Errno::LOOP => LogDirError::Symlink { path: path.to_path_buf() },
        rustix::io::Errno::NOTDIR => LogDirError::NotDirectory { path: path.to_path_buf() },
        e => io("open", e.into()),
    })?;
    let st = rustix::fs::fstat(&fd).map_err(|e| io("fstat", e.into()))?;
    if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
        return Err(LogDirError::NotDirectory { path: path.to_path_buf() });
    }
    let euid = rustix::process::geteuid().as_raw();
    if st.st_uid != euid {
        return Err(LogDirError::ForeignOwner { path: path.to_path_buf(), owner: st.st_uid, euid });
    }
    Ok(fd)
}

/// Whether `name` is a run log's name: `run-` then 6 to 32 ASCII letters or
/// digits, then `.log` (the names [`new_log_name`] and earlier versions of
/// this crate give).
pub(crate) fn is_run_log_name(name: &str) -> bool {
    name.strip_prefix("run-")
        .and_then(|rest| rest.strip_suffix(".log"))
        .is_some_and(|id| (6..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// A fresh run log name (time-ordered).
fn new_log_name() -> String {
    format!("run-{}.log", uuid::Uuid::now_v7().simple())
}

/// Creates `name` in `dir`: it must not exist (a planted file or link is an
/// error, never followed), mode 0600.
fn create_in(dir: BorrowedFd<'_>, name: &str, read: bool) -> std::io::Result<File> {
    let access = if read { OFlags::RDWR } else { OFlags::WRONLY };
    let flags = access | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(dir, name, flags, Mode::from_raw_mode(0o600))?;
    Ok(File::from(fd))
}

/// An unnamed read-write file in `dir` (`O_TMPFILE`; where the file system
/// lacks it, a fresh name removed at once).
fn anonymous_in(dir: BorrowedFd<'_>) -> std::io::Result<File> {
    let flags = OFlags::TMPFILE | OFlags::RDWR | OFlags::CLOEXEC;
    match rustix::fs::openat(dir, ".", flags, Mode::from_raw_mode(0o600)) {
        Ok(fd) => Ok(File::from(fd)),
        Err(rustix::io::Errno::OPNOTSUPP | rustix::io::Errno::ISDIR | rustix::io::Errno::INVAL) => {
            let name = format!(".agentkit-spill-{}", uuid::Uuid::new_v4().simple());
            let file = create_in(dir, &name, true)?;
            rustix::fs::unlinkat(dir, name.as_str(), AtFlags::empty())?;
            Ok(file)
        }
        Err(e) => Err(e.into()),
    }
}

/// Copies bytes `[offset, offset + len)` of `src` to the end of `dst`
/// (`copy_file_range` where the kernel has it).
fn copy_range(src: &File, offset: u64, len: u64, dst: &mut File) -> std::io::Result<()> {
    let mut src = src;
    src.seek(SeekFrom::Start(offset))?;
    dst.seek(SeekFrom::End(0))?;
    let copied = std::io::copy(&mut src.take(len), dst)?;
    if copied == len {
        Ok(())
    } else {
        Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, format!("copied {copied} of {len} bytes")))
    }
}

/// The log settings of an executor, and the estimate of its log directory
/// shared by its clones.
#[derive(Clone, Debug)]
pub(crate) struct LogSettings {
    /// Cap on one run's log file (0: no log files).
    pub(crate) cap: u64,
    /// Byte budget of the log directory's run logs.
    pub(crate) dir_budget: u64,
    /// Largest number of run logs in the directory.
    pub(crate) max_files: u64,
    /// Age past which a run log is deleted.
    pub(crate) max_age: Duration,
    tracker: Arc<Mutex<DirTracker>>,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            cap: DEFAULT_LOG_CAP,
            dir_budget: DEFAULT_LOG_DIR_BUDGET,
            max_files: DEFAULT_LOG_MAX_FILES,
            max_age: DEFAULT_LOG_MAX_AGE,
            tracker: Arc::default(),
        }
    }
}

/// What an executor believes its log directory holds.
#[derive(Debug, Default)]
struct DirTracker {
    /// The directory this estimate is about.
    dir: Option<PathBuf>,
    bytes: u64,
    files: u64,
    logs_since_sweep: u64,
    swept: bool,
}

impl LogSettings {
    /// Bytes of each stream's tail kept past the head.
    fn tail_per_stream(&self) -> u64 {
        self.cap / 8
    }

    /// Bytes of output (both streams) kept from the start.
    fn head_budget(&self) -> u64 {
        self.cap.saturating_sub(2 * (self.tail_per_stream() + MARKER_RESERVE))
    }

    /// Accounts for a finished log of `size` bytes named `keep` and sweeps
    /// the directory when it is due.
    fn note_log(&self, dir_path: &Path, dir: BorrowedFd<'_>, keep: &str, size: u64) {
        let mut t = self.tracker.lock().unwrap_or_else(PoisonError::into_inner);
        if t.dir.as_deref() != Some(dir_path) {
            *t = DirTracker { dir: Some(dir_path.to_path_buf()), ..DirTracker::default() };
        }
        t.bytes = t.bytes.saturating_add(size);
        t.files += 1;
        t.logs_since_sweep += 1;
        let due =
            !t.swept || t.bytes > self.dir_budget || t.files > self.max_files || t.logs_since_sweep >= SWEEP_EVERY_LOGS;
        if !due {
            return;
        }
        let limits = SweepLimits {
            max_bytes: self.dir_budget - self.dir_budget / 4,
            max_files: self.max_files - self.max_files / 4,
            max_age: self.max_age,
        };
        match sweep(dir, Some(keep), limits, SystemTime::now()) {
            Ok(s) => {
                tracing::debug!(kept = s.kept_files, bytes = s.kept_bytes, deleted = s.deleted, "log directory swept");
                t.bytes = s.kept_bytes;
                t.files = s.kept_files;
            }
            Err(e) => tracing::warn!(error = %e, dir = %dir_path.display(), "could not sweep the log directory"),
        }
        t.swept = true;
        t.logs_since_sweep = 0;
    }
}

/// What a sweep may keep.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SweepLimits {
    /// Total bytes of the logs kept.
    pub(crate) max_bytes: u64,
    /// Number of logs kept.
    pub(crate) max_files: u64,
    /// Age past which a log is deleted.
    pub(crate) max_age: Duration,
}

/// What a sweep left.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SweepOutcome {
    /// Bytes of the run logs kept.
    pub(crate) kept_bytes: u64,
    /// Run logs kept.
    pub(crate) kept_files: u64,
    /// Run logs deleted.
    pub(crate) deleted: u64,
}

/// Lists `dir` once and deletes the run logs beyond `limits`, oldest first:
/// newest first, logs are kept while they fit and are young enough; from the
/// first that does not, every older one goes. `keep` (the log just written)
/// is always kept and counted. Only regular files owned by this user with a
/// run log's name are considered; nothing is followed.
pub(crate) fn sweep(
    dir: BorrowedFd<'_>,
    keep: Option<&str>,
    limits: SweepLimits,
    now: SystemTime,
) -> std::io::Result<SweepOutcome> {
    let euid = rustix::process::geteuid().as_raw();
    let now_secs = now.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let max_age = limits.max_age.as_secs();
    // (is `keep`, mtime seconds, mtime nanoseconds, size, name)
    let mut logs: Vec<(bool, u64, u64, u64, String)> = Vec::new();
    for entry in rustix::fs::Dir::read_from(dir)? {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().ok().filter(|n| is_run_log_name(n)) else { continue };
        if !matches!(entry.file_type(), FileType::RegularFile | FileType::Unknown) {
            continue;
        }
        let Ok(st) = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) else { continue };
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile || st.st_uid != euid {
            continue;
        }
        let (secs, nanos) = mtime(&st);
        logs.push((keep == Some(name), secs, nanos, u64::try_from(st.st_size).unwrap_or(0), name.to_owned()));
    }
    // Newest first; names (time-ordered) break ties of equal times.
    logs.sort_unstable_by(|a, b| (b.0, b.1, b.2, &b.4).cmp(&(a.0, a.1, a.2, &a.4)));
    let mut out = SweepOutcome::default();
    let mut full = false;
    for (is_keep, secs, _, size, name) in logs {
        let young = now_secs.saturating_sub(secs) <= max_age;
        let fits = out.kept_bytes.saturating_add(size) <= limits.max_bytes && out.kept_files < limits.max_files;
        if is_keep || (!full && young && fits) {
            out.kept_bytes = out.kept_bytes.saturating_add(size);
            out.kept_files += 1;
            continue;
        }
        full = true;
        match rustix::fs::unlinkat(dir, name.as_str(), AtFlags::empty()) {
            Ok(()) => out.deleted += 1,
            Err(rustix::io::Errno::NOENT) => {}
            Err(e) => tracing::debug!(error = %e, name, "run log not deleted"),
        }
    }
    Ok(out)
}

/// A file's modification time as (seconds since the epoch, nanoseconds);
/// the field types vary by target, hence the conversions.
#[allow(clippy::useless_conversion, clippy::unnecessary_fallible_conversions)]
fn mtime(st: &rustix::fs::Stat) -> (u64, u64) {
    (u64::try_from(i64::from(st.st_mtime)).unwrap_or(0), u64::try_from(st.st_mtime_nsec).unwrap_or(0))
}

/// The log state of one run, shared by its two [`Sink`]s: the checked
/// directory (opened at the first byte of output) and the head budget left.
pub(crate) struct RunLog<'a> {
    dir: &'a Path,
    settings: &'a LogSettings,
    fd: OnceLock<Option<OwnedFd>>,
    head_left: AtomicU64,
}

/// A finished run log.
#[derive(Debug)]
pub(crate) struct FinishedLog {
    /// Where it is.
    pub(crate) path: PathBuf,
    /// Whether bytes were left out (the cap was reached, or writing failed).
    pub(crate) truncated: bool,
}

impl<'a> RunLog<'a> {
    /// The log of one run in `dir` under `settings`.
    pub(crate) fn new(dir: &'a Path, settings: &'a LogSettings) -> Self {
        Self { dir, settings, fd: OnceLock::new(), head_left: AtomicU64::new(settings.head_budget()) }
    }

    /// The checked directory; `None` when it was refused (warned once) or
    /// logs are off.
    fn dir_fd(&self) -> Option<BorrowedFd<'_>> {
        self.fd
            .get_or_init(|| {
                if self.settings.cap == 0 {
                    return None;
                }
                match open_log_dir(self.dir) {
                    Ok(fd) => Some(fd),
                    Err(e) => {
                        tracing::warn!(error = %e, "output log directory refused; running without a log file, capture continues");
                        None
                    }
                }
            })
            .as_ref()
            .map(AsFd::as_fd)
    }

    /// Takes up to `want` bytes of the head budget; returns how many.
    fn take_head(&self, want: u64) -> u64 {
        let mut left = self.head_left.load(Ordering::Relaxed);
        loop {
            let take = left.min(want);
            match self.head_left.compare_exchange_weak(left, left - take, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return take,
                Err(now) => left = now,
            }
        }
    }

    /// Assembles the run's log from the two streams' files (stdout's section,
    /// then stderr's) and accounts for it in the directory (sweeping it when
    /// due). `None` when there is no log: nothing was output, or stdout's file
    /// could not be written.
    pub(crate) fn finish(&self, out: StreamLog, err: StreamLog) -> Option<FinishedLog> {
        let (mut file, name, mut truncated) = match out {
            StreamLog::Files(f) => match f.into_named_log() {
                Ok(done) => done,
                Err(e) => {
                    tracing::warn!(error = %e, "could not write the end of the output log");
                    return None;
                }
            },
            StreamLog::Silent if matches!(err, StreamLog::Files(_)) => {
                // Stderr goes after stdout in the log, which exists only once
                // something was written: create it now.
                let dir = self.dir_fd()?;
                let name = new_log_name();
                match create_in(dir, &name, false) {
                    Ok(f) => (f, name, false),
                    Err(e) => {
                        tracing::warn!(error = %e, dir = %self.dir.display(), "could not create the output log");
                        return None;
                    }
                }
            }
            StreamLog::Silent | StreamLog::Failed => return None,
        };
        match err {
            StreamLog::Files(e) => match e.append_to(&mut file) {
                Ok(cut) => truncated |= cut,
                Err(e) => {
                    tracing::warn!(error = %e, "could not append stderr to the log");
                    truncated = true;
                }
            },
            StreamLog::Failed => truncated = true,
            StreamLog::Silent => {}
        }
        if let Err(e) = file.flush() {
            tracing::warn!(error = %e, "could not write the end of the output log");
            truncated = true;
        }
        if let Some(dir) = self.dir_fd() {
            let size = file.metadata().map_or(0, |m| m.len());
            self.settings.note_log(self.dir, dir, &name, size);
        }
        Some(FinishedLog { path: self.dir.join(name), truncated })
    }
}

/// Which file a stream is spilled to.
#[derive(Clone, Copy, Debug)]
pub(crate) enum LogKind {
    /// The run's log, named in `RunOutput::log_path` (stdout, then stderr).
    Named,
    /// An anonymous file holding stderr until it is appended to the log.
    Spill,
}

/// The tail of one stream past the head budget: the last `cap` bytes, in a
/// file used as a ring.
struct Ring {
    file: File,
    cap: u64,
    /// Bytes pushed in all.
    written: u64,
}

impl Ring {
    fn push(&mut self, mut chunk: &[u8]) -> std::io::Result<()> {
        let len = chunk.len() as u64;
        if len > self.cap {
            let skip = len - self.cap;
            self.written += skip;
            chunk = &chunk[usize::try_from(skip).unwrap_or(chunk.len())..];
        }
        while !chunk.is_empty() {
            let pos = self.written % self.cap;
            let n = usize::try_from(self.cap - pos).map_or(chunk.len(), |room| room.min(chunk.len()));
            self.file.write_all_at(&chunk[..n], pos)?;
            self.written += n as u64;
            chunk = &chunk[n..];
        }
        Ok(())
    }

    /// Bytes pushed but no longer held.
    fn dropped(&self) -> u64 {
        self.written.saturating_sub(self.cap)
    }

    /// Appends the marker (when bytes were dropped) and the held bytes in
    /// order to `dst`; returns whether bytes were dropped.
    fn append_to(&self, dst: &mut File, stream: &str) -> std::io::Result<bool> {
        let dropped = self.dropped();
        dst.seek(SeekFrom::End(0))?;
        if dropped == 0 {
            copy_range(&self.file, 0, self.written, dst)?;
            return Ok(false);
        }
        dst.write_all(format!("\n[agentkit log cap: {dropped} bytes of {stream} omitted]\n").as_bytes())?;
        let pos = self.written % self.cap;
        copy_range(&self.file, pos, self.cap - pos, dst)?;
        copy_range(&self.file, 0, pos, dst)?;
        Ok(true)
    }
}

/// One stream's files: its head (the named log for stdout, an anonymous
/// spill for stderr) and, once the head budget is spent, its tail ring.
pub(crate) struct StreamFiles {
    head: std::io::BufWriter<File>,
    /// The log's name (stdout only).
    name: Option<String>,
    head_len: u64,
    ring: Option<Ring>,
}

impl StreamFiles {
    fn stream(&self) -> &'static str {
        if self.name.is_some() { "stdout" } else { "stderr" }
    }

    /// Ends stdout's section: its head file is the log; the tail follows.
    fn into_named_log(self) -> std::io::Result<(File, String, bool)> {
        let stream = self.stream();
        let name = self.name.unwrap_or_default();
        let mut file = self.head.into_inner().map_err(|e| e.into_error())?;
        let cut = match &self.ring {
            Some(ring) => ring.append_to(&mut file, stream)?,
            None => false,
        };
        Ok((file, name, cut))
    }

    /// Appends stderr's section (head, then tail) to `log`.
    fn append_to(self, log: &mut File) -> std::io::Result<bool> {
        let stream = self.stream();
        let spill = self.head.into_inner().map_err(|e| e.into_error())?;
        copy_range(&spill, 0, self.head_len, log)?;
        match &self.ring {
            Some(ring) => ring.append_to(log, stream),
            None => Ok(false),
        }
    }
}

/// What one stream left for the log.
pub(crate) enum StreamLog {
    /// The stream was empty.
    Silent,
    /// There was output but no file (directory refused, logs off, a write failed).
    Failed,
    /// The stream's files.
    Files(StreamFiles),
}

enum LogState {
    /// Nothing written yet.
    Unopened,
    Open(StreamFiles),
    /// Creating or writing the file failed, or there is no log; capture goes on.
    Failed,
}

/// Where one stream goes: its head-and-tail capture and its log file, which
/// is created at the first byte (creating files costs more than a short run).
pub(crate) struct Sink<'a> {
    /// The in-memory capture.
    pub(crate) capture: HeadTail,
    run: &'a RunLog<'a>,
    kind: LogKind,
    log: LogState,
}

impl<'a> Sink<'a> {
    /// A sink writing its part of `run`'s log.
    pub(crate) fn new(caps: OutputCaps, run: &'a RunLog<'a>, kind: LogKind) -> Self {
        Self { capture: HeadTail::new(caps), run, kind, log: LogState::Unopened }
    }

    fn open(&self) -> LogState {
        let Some(dir) = self.run.dir_fd() else { return LogState::Failed };
        let opened = match self.kind {
            LogKind::Named => {
                let name = new_log_name();
                create_in(dir, &name, false).map(|f| (f, Some(name)))
            }
            LogKind::Spill => anonymous_in(dir).map(|f| (f, None)),
        };
        match opened {
            Ok((file, name)) => LogState::Open(StreamFiles {
                head: std::io::BufWriter::with_capacity(WRITE_BUFFER, file),
                name,
                head_len: 0,
                ring: None,
            }),
            Err(e) => {
                tracing::warn!(error = %e, dir = %self.run.dir.display(), "could not create the output log; capture continues");
                LogState::Failed
            }
        }
    }

    /// Records a chunk of the stream: in memory, and in the log within its cap.
    pub(crate) fn push(&mut self, chunk: &[u8]) {
        self.capture.push(chunk);
        if let LogState::Unopened = self.log {
            self.log = self.open();
        }
        let LogState::Open(files) = &mut self.log else { return };
        let head = usize::try_from(self.run.take_head(chunk.len() as u64)).unwrap_or(chunk.len());
        let mut written = files.head.write_all(&chunk[..head]);
        files.head_len += head as u64;
        if written.is_ok() && head < chunk.len() {
            if files.ring.is_none() {
                let cap = self.run.settings.tail_per_stream().max(1);
                let dir = self.run.dir_fd();
                written = dir
                    .ok_or_else(|| std::io::Error::other("no log directory"))
                    .and_then(anonymous_in)
                    .map(|file| files.ring = Some(Ring { file, cap, written: 0 }));
            }
            if let (Ok(()), Some(ring)) = (&written, files.ring.as_mut()) {
                written = ring.push(&chunk[head..]);
            }
        }
        if let Err(e) = written {
            tracing::warn!(error = %e, "could not write the output log; capture continues");
            self.log = LogState::Failed;
        }
    }

    /// The capture and what the stream left for the log.
    pub(crate) fn finish(self) -> (HeadTail, StreamLog) {
        let log = match self.log {
            LogState::Unopened => StreamLog::Silent,
            LogState::Failed => StreamLog::Failed,
            LogState::Open(files) => StreamLog::Files(files),
        };
        (self.capture, log)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn run_log_names_are_recognised_and_nothing_else_is() {
        assert!(is_run_log_name(&new_log_name()));
        assert!(is_run_log_name("run-a1B2c3.log"));
        for other in ["run-.log", "run-abc.log", "run-abcdef.log.bak", "run-abc/ef.log", "xrun-abcdef.log", "notes.txt"]
        {
            assert!(!is_run_log_name(other), "{other}");
        }
    }

    /// Also the measurement of a sweep's cost (printed; run with
    /// `--nocapture`): a scan of 1,000 logs, then one deleting 250 of them.
    #[test]
    fn a_sweep_over_1000_logs_keeps_the_newest_within_the_limits() {
        let dir = tempfile::tempdir().unwrap();
        let base = SystemTime::now() - Duration::from_secs(3600);
        for i in 0..1000u64 {
            let file = File::create(dir.path().join(format!("run-{i:08}.log"))).unwrap();
            file.set_len(1024).unwrap();
            file.set_modified(base + Duration::from_secs(i)).unwrap();
        }
        let fd = open_log_dir(dir.path()).unwrap();
        let roomy = SweepLimits { max_bytes: u64::MAX, max_files: u64::MAX, max_age: DEFAULT_LOG_MAX_AGE };

        let started = std::time::Instant::now();
        let scan = sweep(fd.as_fd(), None, roomy, SystemTime::now()).unwrap();
        let scan_time = started.elapsed();
        assert_eq!(scan, SweepOutcome { kept_bytes: 1000 * 1024, kept_files: 1000, deleted: 0 });

        let tight = SweepLimits { max_files: 750, ..roomy };
        let started = std::time::Instant::now();
        let cut = sweep(fd.as_fd(), Some("run-00000000.log"), tight, SystemTime::now()).unwrap();
        let cut_time = started.elapsed();
        eprintln!("sweep of 1000 run logs: scan only {scan_time:?}, scan and 250 deletions {cut_time:?}");
        assert_eq!((cut.kept_files, cut.deleted), (750, 250));
        let exists = |i: u64| dir.path().join(format!("run-{i:08}.log")).exists();
        assert!(exists(0), "the log being kept survives");
        assert!((1..=250).all(|i| !exists(i)), "the oldest go");
        assert!((251..1000).all(exists), "the newest stay");
    }
}
