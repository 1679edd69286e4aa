//! [`WorktreePool`]: one isolated working tree per concurrent worker, so
//! parallel attempts never share a working tree or write the same `.git`
//! files at once.
//!
//! ```no_run
//! use agent_sandbox::WorktreePool;
//! use std::path::PathBuf;
//!
//! # async fn demo() -> Result<(), agent_sandbox::PoolError> {
//! let pool = WorktreePool::new(PathBuf::from("/path/to/repo"), PathBuf::from("/var/tmp/pool"), 4);
//! let (a, b) = tokio::join!(pool.acquire(), pool.acquire());
//! let (a, b) = (a?, b?);
//! assert_ne!(a.path(), b.path());
//! // ... run one attempt in a.path(), another in b.path() ...
//! drop((a, b));
//! pool.shutdown().await?;
//! # Ok(()) }
//! ```

use crate::git_harden;
use std::ffi::OsStr;
use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{OnceCell, OwnedSemaphorePermit, Semaphore};
use tracing::Instrument;

/// Directories kept across acquisitions of a slot unless told otherwise.
pub const DEFAULT_CACHE_DIRS: &[&str] = &["target"];

/// The most slots a pool has.
const MAX_SLOTS: usize = 4096;

/// Why a pool operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PoolError {
    /// A revision was asked for, but the pool's source is not a git repository.
    #[error("{} is not a git repository: {reason}", path.display())]
    NotARepository {
        /// The pool's source directory.
        path: PathBuf,
        /// Why a git operation was needed.
        reason: String,
    },
    /// A git command failed.
    #[error("git {operation} failed: {message}")]
    Git {
        /// The command (`worktree add`, `checkout`, …).
        operation: String,
        /// What git said.
        message: String,
    },
    /// A file operation failed.
    #[error("i/o error on {}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The pool was shut down while waiting for a slot.
    #[error("the worktree pool is shut down")]
    Closed,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> PoolError + '_ {
    move |source| PoolError::Io { path: path.to_path_buf(), source }
}

/// A fixed number of working trees of one repository, handed out one per
/// worker.
///
/// - [`acquire`](Self::acquire) waits until one of `size` slots is free and
///   returns a [`Worktree`] guard. Slot `i` lives at `pool_dir/slot-<i>`; no
///   two live guards ever share a slot. Dropping the guard frees the slot
///   (cheaply: the tree is reset on the next acquisition, not on drop).
/// - In a git repository, a slot is a linked worktree created with
///   `git worktree add --detach <slot> <rev>` and reused afterwards by
///   `git checkout --detach --force <rev>` plus `git clean -ffdx`, keeping
///   the cache directories ([`DEFAULT_CACHE_DIRS`], i.e. `target`, unless
///   [`with_cache_dirs`](Self::with_cache_dirs) says otherwise) so build
///   caches survive from one attempt to the next. The revision is resolved
///   to a commit in the main repository first (`HEAD` means the main
///   working tree's `HEAD` at acquisition time). Commands that write the
///   main repository's `.git` (`worktree add`, `remove`, `prune`) run one
///   at a time behind a mutex; a slot's own checkout and clean only touch
///   that worktree's files. No branch is created and the main working
///   tree, its index and `HEAD` are never touched. When
///   `repo` is a subdirectory of its repository, [`Worktree::path`] is the
///   same subdirectory inside the slot. Submodules are not initialised.
/// - **A slot is checked before every reuse.** A command run in a slot can
///   rewrite its `.git` file to name a git directory of its choosing (with
///   its own hooks, filters and configuration). So before the pool runs
///   git in a slot, the slot's `.git` must be a regular file (not a
///   symlink, not a directory) whose `gitdir:` names the worktree admin
///   directory the pool created for it (`<common-dir>/worktrees/<name>`,
///   a real directory whose `gitdir` points back at the slot). A slot that
///   fails this is deleted without running git in it (it is logged with
///   `tracing::warn!`) and re-created with `git worktree add`: the
///   acquisition succeeds with a fresh tree, and the cache directories of
///   that slot are lost. The pool's own git commands in a slot name the
///   verified admin directory and the slot explicitly (`GIT_DIR`,
///   `GIT_WORK_TREE`), never the slot's `.git`.
/// - Every git command the pool runs is hardened (no hooks, no
///   `core.fsmonitor`, no filter driver program, no automatic gc, no
///   transport, no lazy fetch): files are checked out as the blobs' bytes
///   (after line-ending conversion), so a `filter` such as git-lfs's leaves
///   its pointer files in the slot.
/// - Not a git repository: each slot is a plain recursive copy of `repo`
///   (files with their modes, symlinks as symlinks), refreshed on every
///   acquisition by deleting everything but the cache directories and
///   copying again (cache directories are never copied from `repo`).
///   [`acquire_at`](Self::acquire_at) then fails with
///   [`PoolError::NotARepository`].
/// - [`shutdown`](Self::shutdown) waits for every guard to be dropped, then
///   removes all slots (`git worktree remove --force`, `git worktree prune`).
///   A pool dropped without `shutdown` leaves its worktrees registered; the
///   next pool on the same `pool_dir` reuses them (keeping their caches).
///
/// `pool_dir` belongs to one pool at a time and should lie outside the
/// repository. A `size` of 0 is taken as 1. To share a pool between tasks,
/// put it in an `Arc`.
pub struct WorktreePool {
    repo: PathBuf,
    pool_dir: PathBuf,
    size: usize,
    cache_dirs: Vec<String>,
    git: PathBuf,
    permits: Arc<Semaphore>,
    slots: Arc<Mutex<Vec<SlotState>>>,
    git_lock: tokio::sync::Mutex<()>,
    mode: OnceCell<Mode>,
}

impl fmt::Debug for WorktreePool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorktreePool")
            .field("repo", &self.repo)
            .field("pool_dir", &self.pool_dir)
            .field("size", &self.size)
            .field("cache_dirs", &self.cache_dirs)
            .field("free", &self.permits.available_permits())
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug, Default)]
struct SlotState {
    busy: bool,
    /// The slot holds a tree this pool created or checked (reset it, don't
    /// recreate it): in a git repository, its worktree admin directory,
    /// which its `.git` must still name; for a copy, the slot itself.
    ready: Option<PathBuf>,
}

#[derive(Debug)]
enum Mode {
    Git {
        /// The repository path relative to its top level (empty at the top).
        prefix: PathBuf,
        /// The canonical common git directory, to recognise our worktrees.
        common_dir: PathBuf,
        /// The filter drivers the main repository's configuration names,
        /// switched off in its `git` commands.
        drivers: Vec<Vec<u8>>,
    },
    Copy,
}

/// A working tree lent by a [`WorktreePool`]; dropping it returns the slot.
pub struct Worktree {
    path: PathBuf,
    slot: usize,
    rev: Option<String>,
    slots: Arc<Mutex<Vec<SlotState>>>,
    _permit: OwnedSemaphorePermit,
}

impl Worktree {
    /// The working tree (the repository's counterpart inside the slot).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The slot number, `0..size`.
    pub fn slot(&self) -> usize {
        self.slot
    }

    /// The commit checked out, or `None` for a plain copy.
    pub fn rev(&self) -> Option<&str> {
        self.rev.as_deref()
    }
}

impl fmt::Debug for Worktree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Worktree").field("path", &self.path).field("slot", &self.slot).field("rev", &self.rev).finish()
    }
}

impl Drop for Worktree {
    fn drop(&mut self) {
        // Runs before the permit field is dropped: the slot is free before
        // the next waiter can get a permit.
        if let Some(slot) = lock(&self.slots).get_mut(self.slot) {
            slot.busy = false;
        }
    }
}

fn lock(slots: &Mutex<Vec<SlotState>>) -> MutexGuard<'_, Vec<SlotState>> {
    slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Frees a slot reserved during an acquisition that did not complete.
struct Reservation<'a> {
    slots: &'a Mutex<Vec<SlotState>>,
    slot: usize,
    armed: bool,
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if self.armed {
            if let Some(slot) = lock(self.slots).get_mut(self.slot) {
                slot.busy = false;
                slot.ready = None;
            }
        }
    }
}

impl WorktreePool {
    /// A pool of `size` working trees of `repo`, kept under `pool_dir`.
    /// Nothing is created until the first acquisition.
    pub fn new(repo: PathBuf, pool_dir: PathBuf, size: usize) -> Self {
        let size = size.clamp(1, MAX_SLOTS);
        Self {
            repo,
            pool_dir,
            size,
            cache_dirs: DEFAULT_CACHE_DIRS.iter().map(|s| (*s).to_owned()).collect(),
            git: PathBuf::from("git"),
            permits: Arc::new(Semaphore::new(size)),
            slots: Arc::new(Mutex::new(vec![SlotState::default(); size])),
            git_lock: tokio::sync::Mutex::new(()),
            mode: OnceCell::new(),
        }
    }

    /// Keeps directories with these names (at any depth) across
    /// acquisitions of a slot instead of [`DEFAULT_CACHE_DIRS`].
    pub fn with_cache_dirs(mut self, names: Vec<String>) -> Self {
        self.cache_dirs = names;
        self
    }

    /// Runs this `git` executable instead of `git` from `PATH`.
    pub fn with_git_program(mut self, git: PathBuf) -> Self {
        self.git = git;
        self
    }

    /// The number of slots.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Where slot `i` lives.
    fn slot_dir(&self, slot: usize) -> PathBuf {
        self.pool_dir.join(format!("slot-{slot}"))
    }

    /// A working tree at the main repository's `HEAD` (or a fresh copy when
    /// the source is not a git repository), waiting for a free slot.
    pub async fn acquire(&self) -> Result<Worktree, PoolError> {
        self.acquire_inner(None).await
    }

    /// A working tree checked out at `rev` (any revision git can resolve to
    /// a commit), waiting for a free slot.
    pub async fn acquire_at(&self, rev: &str) -> Result<Worktree, PoolError> {
        self.acquire_inner(Some(rev)).await
    }

    async fn acquire_inner(&self, rev: Option<&str>) -> Result<Worktree, PoolError> {
        let mode = self.mode().await?;
        if let (Mode::Copy, Some(rev)) = (mode, rev) {
            return Err(PoolError::NotARepository {
                path: self.repo.clone(),
                reason: format!("cannot check out revision {rev}"),
            });
        }
        let permit = self.permits.clone().acquire_owned().await.map_err(|_| PoolError::Closed)?;
        let (slot, ready) = {
            let mut slots = lock(&self.slots);
            let Some((i, state)) = slots.iter_mut().enumerate().find(|(_, s)| !s.busy) else {
                // Unreachable while permits and free slots stay in step.
                return Err(PoolError::Closed);
            };
            state.busy = true;
            (i, state.ready.clone())
        };
        let mut reservation = Reservation { slots: &self.slots, slot, armed: true };
        let dir = self.slot_dir(slot);
        let span = tracing::info_span!("agent_sandbox.worktree_acquire", slot, dir = %dir.display());
        let (path, rev, admin) = async {
            match mode {
                Mode::Git { prefix, common_dir, drivers } => {
                    let sha = self.resolve(rev.unwrap_or("HEAD"), drivers).await?;
                    let admin = self.prepare_git(&dir, &sha, ready.as_deref(), common_dir, drivers).await?;
                    Ok::<_, PoolError>((dir.join(prefix), Some(sha), admin))
                }
                Mode::Copy => {
                    self.prepare_copy(&dir).await?;
                    Ok((dir.clone(), None, dir.clone()))
                }
            }
        }
        .instrument(span)
        .await?;
        if let Some(state) = lock(&self.slots).get_mut(slot) {
            state.ready = Some(admin);
        }
        reservation.armed = false;
        tracing::info!(path = %path.display(), rev = rev.as_deref().unwrap_or("copy"), "worktree acquired");
        Ok(Worktree { path, slot, rev, slots: self.slots.clone(), _permit: permit })
    }

    /// Waits for every outstanding [`Worktree`] to be dropped, then removes
    /// all slots (and `pool_dir` when nothing else is in it) and prunes the
    /// repository's worktree list. Acquisitions still waiting fail with
    /// [`PoolError::Closed`].
    pub async fn shutdown(self) -> Result<(), PoolError> {
        let n = u32::try_from(self.size).unwrap_or(u32::MAX);
        let all = self.permits.acquire_many(n).await.map_err(|_| PoolError::Closed)?;
        self.permits.close();
        let mode = self.mode().await?;
        let mut first_error = None;
        match mode {
            Mode::Git { drivers, .. } => {
                let _guard = self.git_lock.lock().await;
                for slot in 0..self.size {
                    let dir = self.slot_dir(slot);
                    if tokio::fs::symlink_metadata(&dir).await.is_err() {
                        continue;
                    }
                    let dir_str = dir.to_string_lossy().into_owned();
                    let remove = ["worktree", "remove", "--force", &dir_str];
                    if let Err(e) = self.git_in(&self.repo, None, drivers, &remove).await {
                        tracing::warn!(error = %e, "git worktree remove failed; deleting the directory");
                        if let Err(e) = remove_all(dir.clone()).await {
                            first_error.get_or_insert(e);
                        }
                    }
                }
                if let Err(e) = self.git_in(&self.repo, None, drivers, &["worktree", "prune"]).await {
                    first_error.get_or_insert(e);
                }
            }
            Mode::Copy => {
                for slot in 0..self.size {
                    if let Err(e) = remove_all(self.slot_dir(slot)).await {
                        first_error.get_or_insert(e);
                    }
                }
            }
        }
        // Only if nothing else is in it.
        let _ = tokio::fs::remove_dir(&self.pool_dir).await;
        drop(all);
        tracing::info!(pool_dir = %self.pool_dir.display(), "worktree pool shut down");
        first_error.map_or(Ok(()), Err)
    }

    /// Whether the source is a git repository (decided once).
    async fn mode(&self) -> Result<&Mode, PoolError> {
        self.mode
            .get_or_try_init(|| async {
                let meta = tokio::fs::metadata(&self.repo).await.map_err(io_err(&self.repo))?;
                if !meta.is_dir() {
                    return Err(PoolError::Io {
                        path: self.repo.clone(),
                        source: std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory"),
                    });
                }
                let out = self
                    .git_output(&self.repo, None, &[], &["rev-parse", "--show-prefix", "--git-common-dir"])
                    .await
                    .map_err(|e| PoolError::Git { operation: "rev-parse".into(), message: e.to_string() })?;
                if !out.status.success() {
                    tracing::info!(repo = %self.repo.display(), "not a git repository; slots are plain copies");
                    return Ok(Mode::Copy);
                }
                let text = String::from_utf8_lossy(&out.stdout).into_owned();
                let mut lines = text.lines();
                let prefix = PathBuf::from(lines.next().unwrap_or_default());
                let common = PathBuf::from(lines.next().unwrap_or(".git"));
                let common = if common.is_absolute() { common } else { self.repo.join(common) };
                let common_dir = tokio::fs::canonicalize(&common).await.map_err(io_err(&common))?;
                let drivers = self.filter_drivers(&self.repo, None).await?;
                Ok(Mode::Git { prefix, common_dir, drivers })
            })
            .await
    }

    /// `git` in `dir`, hardened ([`git_harden`]: no hook, filter driver,
    /// file-system monitor or other program a repository names runs) with
    /// `drivers` switched off; in a slot, `git_dir` (the slot's verified
    /// worktree admin directory) and `dir` are pinned as the repository and
    /// its working tree, so the slot's `.git` is never read.
    fn git_command(
        &self,
        dir: &Path,
        git_dir: Option<&Path>,
        drivers: &[Vec<u8>],
        args: &[&str],
    ) -> tokio::process::Command {
        let mut cmd = git_harden::command(&self.git, dir, git_dir, drivers);
        cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut cmd = tokio::process::Command::from(cmd);
        cmd.kill_on_drop(true);
        cmd
    }

    async fn git_output(
        &self,
        dir: &Path,
        git_dir: Option<&Path>,
        drivers: &[Vec<u8>],
        args: &[&str],
    ) -> std::io::Result<std::process::Output> {
        self.git_command(dir, git_dir, drivers, args).output().await
    }

    /// Runs git in `dir`; stdout on success, [`PoolError::Git`] otherwise.
    async fn git_in(
        &self,
        dir: &Path,
        git_dir: Option<&Path>,
        drivers: &[Vec<u8>],
        args: &[&str],
    ) -> Result<String, PoolError> {
        let operation = || args.iter().take(2).copied().collect::<Vec<_>>().join(" ");
        let out = self
            .git_output(dir, git_dir, drivers, args)
            .await
            .map_err(|e| PoolError::Git { operation: operation(), message: e.to_string() })?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(PoolError::Git {
                operation: operation(),
                message: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            })
        }
    }

    /// The filter drivers configured for the repository at `dir` (a slot's
    /// with its admin directory `git_dir`, so its own worktree config counts).
    async fn filter_drivers(&self, dir: &Path, git_dir: Option<&Path>) -> Result<Vec<Vec<u8>>, PoolError> {
        let git_err =
            |e: std::io::Error| PoolError::Git { operation: "config --get-regexp".into(), message: e.to_string() };
        let out = self.git_output(dir, git_dir, &[], &git_harden::FILTER_DRIVERS_QUERY).await.map_err(git_err)?;
        git_harden::parse_filter_drivers_output(&out).map_err(git_err)
    }

    /// `rev` as a commit sha of the main repository.
    async fn resolve(&self, rev: &str, drivers: &[Vec<u8>]) -> Result<String, PoolError> {
        if rev.starts_with('-') {
            return Err(PoolError::Git { operation: "rev-parse".into(), message: format!("bad revision {rev}") });
        }
        let spec = format!("{rev}^{{commit}}");
        let args = ["rev-parse", "--verify", "--end-of-options", &spec];
        Ok(self.git_in(&self.repo, None, drivers, &args).await?.trim().to_owned())
    }

    /// Puts a fresh checkout of `sha` at `dir` and returns the slot's
    /// worktree admin directory: reset in place when the slot holds one of
    /// our worktrees whose `.git` checks out ([`check_slot`]; and names the
    /// admin directory `ready` recorded, when there is one), created (or
    /// re-created) otherwise. A slot whose `.git` was changed is deleted
    /// without running git in it.
    async fn prepare_git(
        &self,
        dir: &Path,
        sha: &str,
        ready: Option<&Path>,
        common_dir: &Path,
        drivers: &[Vec<u8>],
    ) -> Result<PathBuf, PoolError> {
        let checked = check_slot_blocking(dir, common_dir).await?;
        let verified = match (checked, ready) {
            (Ok(admin), Some(recorded)) if admin != recorded => {
                tracing::warn!(admin = %admin.display(), recorded = %recorded.display(), "the slot's .git names another worktree; re-creating the slot");
                None
            }
            (Ok(admin), _) => Some(admin),
            (Err(why), _) => {
                if tokio::fs::symlink_metadata(dir).await.is_ok() {
                    tracing::warn!(slot = %dir.display(), %why, "the slot is not one of our worktrees; re-creating it");
                }
                None
            }
        };
        if let Some(admin) = &verified {
            match self.reset(dir, admin, sha).await {
                Ok(()) => return Ok(admin.clone()),
                Err(e) => tracing::warn!(error = %e, "resetting the worktree failed; re-creating it"),
            }
        }
        let dir_str = dir.to_string_lossy().into_owned();
        let _guard = self.git_lock.lock().await;
        if tokio::fs::symlink_metadata(dir).await.is_ok() {
            if verified.is_some() {
                let remove = ["worktree", "remove", "--force", "--force", &dir_str];
                let _ = self.git_in(&self.repo, None, drivers, &remove).await;
            }
            remove_all(dir.to_path_buf()).await?;
        }
        self.git_in(&self.repo, None, drivers, &["worktree", "prune"]).await?;
        tokio::fs::create_dir_all(&self.pool_dir).await.map_err(io_err(&self.pool_dir))?;
        let add = ["worktree", "add", "--detach", "--force", "--", &dir_str, sha];
        self.git_in(&self.repo, None, drivers, &add).await?;
        check_slot_blocking(dir, common_dir).await?.map_err(|why| PoolError::Git {
            operation: "worktree add".into(),
            message: format!("the new worktree at {} does not check out: {why}", dir.display()),
        })
    }

    /// Checks out `sha` in the worktree at `dir` (admin directory `admin`)
    /// and deletes every untracked and ignored file except the cache
    /// directories.
    async fn reset(&self, dir: &Path, admin: &Path, sha: &str) -> Result<(), PoolError> {
        // The slot's own configuration (`config.worktree`) may name drivers too.
        let drivers = self.filter_drivers(dir, Some(admin)).await?;
        let checkout = ["checkout", "--quiet", "--detach", "--force", sha];
        self.git_in(dir, Some(admin), &drivers, &checkout).await?;
        let mut args = vec!["clean", "-ffdxq"];
        for name in &self.cache_dirs {
            args.extend(["-e", name.as_str()]);
        }
        self.git_in(dir, Some(admin), &drivers, &args).await?;
        Ok(())
    }

    /// Makes `dir` a fresh copy of the source, keeping its cache directories.
    async fn prepare_copy(&self, dir: &Path) -> Result<(), PoolError> {
        let source = self.repo.clone();
        let dest = dir.to_path_buf();
        let pool_dir = self.pool_dir.clone();
        let cache: Vec<String> = self.cache_dirs.clone();
        tokio::task::spawn_blocking(move || {
            let cache: Vec<&OsStr> = cache.iter().map(OsStr::new).collect();
            std::fs::create_dir_all(&dest).map_err(io_err(&dest))?;
            clear_except(&dest, &cache)?;
            let pool_dir = pool_dir.canonicalize().map_err(io_err(&pool_dir))?;
            copy_tree(&source, &dest, &cache, &pool_dir)
        })
        .await
        .map_err(|e| PoolError::Io { path: dir.to_path_buf(), source: std::io::Error::other(e.to_string()) })?
    }
}

async fn remove_all(dir: PathBuf) -> Result<(), PoolError> {
    match tokio::fs::remove_dir_all(&dir).await {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(&dir)(e)),
    }
}

/// [`check_slot`] off the async runtime.
async fn check_slot_blocking(dir: &Path, common_dir: &Path) -> Result<Result<PathBuf, String>, PoolError> {
    let (dir2, common) = (dir.to_path_buf(), common_dir.to_path_buf());
    tokio::task::spawn_blocking(move || check_slot(&dir2, &common))
        .await
        .map_err(|e| PoolError::Io { path: dir.to_path_buf(), source: std::io::Error::other(e.to_string()) })
}

/// The worktree admin directory of the slot at `dir` when the slot is one
/// of our repository's linked worktrees, or why it is not: `dir` is a real
/// directory; its `.git` is a regular file (not a symlink, not a
/// directory) holding one `gitdir: <path>` line; `<path>` is a real
/// directory directly under `<common_dir>/worktrees`; and that directory's
/// `gitdir` file points back at this `.git`.
fn check_slot(dir: &Path, common_dir: &Path) -> Result<PathBuf, String> {
    use std::os::unix::ffi::OsStrExt;
    let meta = std::fs::symlink_metadata(dir).map_err(|e| format!("cannot stat the slot: {e}"))?;
    if !meta.is_dir() {
        return Err("the slot is not a directory".into());
    }
    let dot_git = dir.join(".git");
    let meta = std::fs::symlink_metadata(&dot_git).map_err(|e| format!(".git: {e}"))?;
    let kind = meta.file_type();
    if kind.is_symlink() {
        return Err(".git is a symlink".into());
    }
    if kind.is_dir() {
        return Err(".git is a directory".into());
    }
    if !kind.is_file() || meta.len() > 4096 {
        return Err(".git is not a small regular file".into());
    }
    let text = std::fs::read(&dot_git).map_err(|e| format!(".git: {e}"))?;
    let line = text.strip_suffix(b"\n").unwrap_or(&text);
    let Some(target) = line.strip_prefix(b"gitdir: ").filter(|t| !t.is_empty() && !t.contains(&b'\n')) else {
        return Err(".git is not one `gitdir:` line".into());
    };
    let target = Path::new(OsStr::from_bytes(target));
    let target = if target.is_absolute() { target.to_path_buf() } else { dir.join(target) };
    let worktrees = common_dir.join("worktrees");
    let (Some(name), Some(parent)) = (target.file_name(), target.parent()) else {
        return Err(format!(".git names {}, not a worktree admin directory", target.display()));
    };
    if std::fs::canonicalize(parent).ok().as_deref() != Some(worktrees.as_path()) {
        return Err(format!(".git names {}, outside {}", target.display(), worktrees.display()));
    }
    let admin = worktrees.join(name);
    if !std::fs::symlink_metadata(&admin).is_ok_and(|m| m.is_dir()) {
        return Err(format!("{} is not a directory", admin.display()));
    }
    let back = std::fs::read(admin.join("gitdir")).map_err(|e| format!("{}/gitdir: {e}", admin.display()))?;
    let back = back.strip_suffix(b"\n").unwrap_or(&back);
    let back = Path::new(OsStr::from_bytes(back));
    let here = std::fs::canonicalize(dir).map(|d| d.join(".git")).map_err(|e| format!("the slot: {e}"))?;
    if std::fs::canonicalize(back).ok() != Some(here) {
        return Err(format!("{} belongs to another worktree ({})", admin.display(), back.display()));
    }
    Ok(admin)
}

/// Deletes everything under `dir` except directories named in `keep` (and
/// the directories leading to them).
fn clear_except(dir: &Path, keep: &[&OsStr]) -> Result<(), PoolError> {
    for entry in std::fs::read_dir(dir).map_err(io_err(dir))? {
        let entry = entry.map_err(io_err(dir))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(io_err(&path))?;
        if kind.is_dir() {
            if keep.contains(&entry.file_name().as_os_str()) {
                continue;
            }
            clear_except(&path, keep)?;
            // Fails (and stays) when it holds a kept directory.
            let _ = std::fs::remove_dir(&path);
        } else {
            std::fs::remove_file(&path).map_err(io_err(&path))?;
        }
    }
    Ok(())
}

/// Copies the tree at `from` into `to` (merging into existing directories):
/// files with their modes, symlinks as symlinks; skips directories named in
/// `skip` and the pool directory itself.
fn copy_tree(from: &Path, to: &Path, skip: &[&OsStr], pool_dir: &Path) -> Result<(), PoolError> {
    for entry in std::fs::read_dir(from).map_err(io_err(from))? {
        let entry = entry.map_err(io_err(from))?;
        let src = entry.path();
        let dst = to.join(entry.file_name());
        let meta = std::fs::symlink_metadata(&src).map_err(io_err(&src))?;
        let kind = meta.file_type();
        if kind.is_dir() {
            if skip.contains(&entry.file_name().as_os_str()) || src.canonicalize().is_ok_and(|c| c == pool_dir) {
                continue;
            }
            std::fs::create_dir_all(&dst).map_err(io_err(&dst))?;
            copy_tree(&src, &dst, skip, pool_dir)?;
            std::fs::set_permissions(&dst, std::fs::Permissions::from_mode(meta.permissions().mode()))
                .map_err(io_err(&dst))?;
        } else if kind.is_symlink() {
            let target = std::fs::read_link(&src).map_err(io_err(&src))?;
            std::os::unix::fs::symlink(&target, &dst).map_err(io_err(&dst))?;
        } else if kind.is_file() {
            std::fs::copy(&src, &dst).map_err(io_err(&src))?;
        } else {
            tracing::warn!(path = %src.display(), "not a file, symlink or directory; not copied into the slot");
        }
    }
    Ok(())
}
