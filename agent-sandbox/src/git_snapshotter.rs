//! [`GitSnapshotter`]: snapshots of a git working tree as unreferenced-by-branch commits.

use crate::git_harden;
use agent_core::Snapshotter;
use agent_core::snapshot::{SnapshotError, SnapshotId};
use async_trait::async_trait;
use std::collections::BTreeSet;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

mod conversion;
mod delta;
mod git_state;
mod gix_restore;
mod gix_snapshot;
mod owner;
mod recover;
mod stat_cache;
#[cfg(test)]
mod tests;

pub use git_state::RefChange;
pub use recover::RecoverReport;

/// Snapshots and restores a git working tree in process with gix (the `git`
/// command line only for what the gix path does not model).
///
/// The user's index, `HEAD`, branches and stash are never touched by a
/// snapshot, and a restore puts them back as they were:
///
/// - `snapshot` records every non-ignored file (tracked, modified, staged,
///   untracked-not-ignored, deletions, executable bits, symlinks) as a commit
///   whose parent is `HEAD` (none in a repository without commits), kept
///   alive by the ref `refs/agentkit/snapshots/<sha>`, and saves the bytes of
///   the user's index under `<git-dir>/agentkit/`. The id is the commit sha.
///   The user's index is read (never written) as a stat cache: a file whose
///   `lstat` matches its index entry takes its blob id from the index without
///   being read, so only changed and untracked files are hashed. Where git
///   may store a path converted (`.gitattributes` with `text`, `text=auto`,
///   `eol`, `crlf`, a `filter`, `ident` or `working-tree-encoding`, or
///   `core.autocrlf`; read with gix's attribute stack) the index's blob is
///   not the file's bytes, so such files come from a stat cache of the
///   snapshotter's own, `<git-dir>/agentkit/stat-cache`: raw blob ids by
///   path and exact `lstat`, kept from one snapshot (and process) to the
///   next with git's racy-timestamp rule, and checksummed (anything
///   unreadable is no cache). Untracked
///   files come from gix's directory walk (honouring `.gitignore`, not
///   entering nested repositories), or from the previous snapshot's walk
///   with only the directories whose stat changed read again (while the
///   tracked paths and ignore files are unchanged). Trees and the commit are
///   written with gix, unchanged subtrees taken from the user's index's
///   cache-tree. The stat data of that moment is saved as a delta against
///   the saved user's index, with the stat of every directory, so a restore
///   also finds what changed by stat comparison instead of hashing
///   everything. Repositories
///   the fast path does not model (conflicts, sparse or split index,
///   skip-worktree or intent-to-add entries, sha256) are snapshotted with
///   the `git` command line through a private `GIT_INDEX_FILE` instead.
/// - Untracked files larger than [`with_max_untracked_file_bytes`](Self::with_max_untracked_file_bytes)
///   (10 MiB by default) and wholly untracked directories holding more than
///   [`with_max_untracked_dir_entries`](Self::with_max_untracked_dir_entries)
///   files (2,000 by default, e.g. `node_modules`) are left out of the
///   snapshot, logged with `tracing::warn!` and reported by
///   [`snapshot_with_report`](Self::snapshot_with_report); a restore leaves
///   them alone (they are never deleted as "new").
/// - `restore` compares the working tree with the snapshot's stat index by
///   `lstat` (racily clean entries are hashed), rewrites only the files that
///   differ from the snapshot's blobs (temporary file and rename; modes and
///   symlinks kept), finds the files created since by reading only the
///   directories whose stat changed since the snapshot (mtime and ctime to
///   the nanosecond, inode; racily clean ones are read too), deletes the
///   non-ignored files created since (judged by the snapshot's `.gitignore`
///   rules, so reverting a `.gitignore` never deletes protected files),
///   removes directories left empty, recreates empty directories that existed
///   and puts the user's index bytes back. Ignored files are left alone, and
///   files that did not change are not rewritten (their mtimes stay). A
///   snapshot whose stat data is missing, or a tree where a directory now
///   stands at a file's path, is restored through the `git` command line.
/// - `snapshot` also records `HEAD` (symbolic, to a possibly unborn branch,
///   or detached), every ref under `refs/` (branches, tags, remote-tracking,
///   symbolic refs, `refs/stash`) with its target, and the stash list (the
///   bytes of the `refs/stash` reflog). `restore` first checks that all of
///   it can be put back (every object a changed ref or stash entry names
///   still exists; `index.lock` is free) and refuses otherwise with
///   [`SnapshotError::RestoreRefused`] naming what changed, or
///   [`SnapshotError::Locked`], before touching anything. It then puts
///   `HEAD` and the refs back (one `update-ref` transaction) and the stash
///   list, before the tree and the index, so the index never goes back over
///   a moved `HEAD`. The user's index is written as git does: into
///   `index.lock`, created exclusively, renamed over the index.
///   [`ref_changes`](Self::ref_changes) says what a command moved.
///   In a repository with linked worktrees (whose concurrent runs share
///   the refs and the stash) only the working tree's `HEAD` is recorded and
///   put back; reftable repositories are not modelled (nothing is recorded).
/// - `discard` deletes the ref and the saved index.
///
/// **Crash safety.** Every marker records its owner: process id, start time
/// (from `/proc/PID/stat`, so a reused pid is not taken for the owner) and
/// wall time. A snapshot leaves `<git-dir>/agentkit/run-<id>` until it is
/// discarded, so a run killed between its snapshot and its end can be put
/// back by [`recover`](Self::recover) (`agentctl recover DIR`), which acts
/// only once no owner is running. Before it touches the working tree,
/// `restore` writes `<git-dir>/agentkit/restore-in-progress` naming the
/// snapshot, and removes it once the user's index is back. Restoring is
/// idempotent, so if a process dies in the middle, the next `snapshot`,
/// `restore` or `discard` on that repository first finishes the interrupted
/// restore (the tree becomes the snapshot's, the user's index is put back)
/// and then does what was asked; while the restoring process is still
/// alive they fail with [`SnapshotError::Locked`] instead. A marker naming a
/// snapshot that no longer exists is dropped with a warning.
///
/// **Nothing the repository names is run.** A command may have planted
/// hooks, a `filter.<name>.clean/smudge/process` driver (applied by
/// `.gitattributes` or `info/attributes`), `core.fsmonitor` or other
/// program settings in the repository; the in-process path runs no
/// program at all (gix reads and writes raw blobs, no filter pipeline, no
/// hooks), and every `git` the command-line path runs is hardened: hooks,
/// fsmonitor, auto gc, transports and every configured filter driver
/// switched off on its command line, the repository pinned with
/// `GIT_DIR`/`GIT_WORK_TREE`. Empty directories are recreated without
/// following a symlink.
///
/// Nested repositories and submodules are not descended into. Content is
/// stored raw: `.gitattributes` filters and line-ending conversion are not
/// applied, so a restore is byte-for-byte (a file git would normalise is
/// stored with the bytes it has; one it stores as is keeps the blob id of
/// the user's index). `root` must be the top level of
/// the working tree.
///
/// ```no_run
/// use agent_core::Snapshotter;
/// use agent_sandbox::GitSnapshotter;
/// use std::path::Path;
///
/// # async fn demo() -> Result<(), agent_core::snapshot::SnapshotError> {
/// let snaps = GitSnapshotter::new();
/// let root = Path::new("/path/to/repo");
/// let id = snaps.snapshot(root).await?;
/// // ... the agent edits files, the tests fail ...
/// snaps.restore(root, &id).await?;
/// snaps.discard(root, &id).await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct GitSnapshotter {
    git: PathBuf,
    limits: Limits,
}

/// Size guards for untracked content.
#[derive(Clone, Copy, Debug)]
struct Limits {
    max_untracked_file_bytes: u64,
    max_untracked_dir_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_untracked_file_bytes: 10 << 20, max_untracked_dir_entries: 2_000 }
    }
}

/// What a snapshot left out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SnapshotReport {
    /// Untracked paths not recorded in the snapshot, by path.
    pub excluded: Vec<Excluded>,
}

/// One untracked path a snapshot left out (and a restore leaves alone).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Excluded {
    /// Relative to the root of the working tree.
    pub path: PathBuf,
    /// Which guard left it out.
    pub reason: GuardReason,
    /// Its size (for a directory, the sum of its files' sizes).
    pub bytes: u64,
}

/// Why an untracked path was left out of a snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum GuardReason {
    /// An untracked file larger than the file-size limit.
    FileTooLarge,
    /// A wholly untracked directory with more files than the entry limit.
    TooManyEntries {
        /// How many untracked, non-ignored files it holds.
        entries: usize,
    },
}

impl Default for GitSnapshotter {
    fn default() -> Self {
        Self::new()
    }
}

const REF_PREFIX: &str = "refs/agentkit/snapshots/";
const MARKER: &str = "restore-in-progress";
/// Prefix of the marker a snapshot leaves until it is discarded: the
/// workspace is in a run owned by the process it names.
const RUN_MARKER: &str = "run-";

impl GitSnapshotter {
    /// A snapshotter running `git` from `PATH`.
    pub fn new() -> Self {
        Self { git: PathBuf::from("git"), limits: Limits::default() }
    }

    /// Leaves untracked files larger than `bytes` out of snapshots (default 10 MiB).
    pub fn with_max_untracked_file_bytes(mut self, bytes: u64) -> Self {
        self.limits.max_untracked_file_bytes = bytes;
        self
    }

    /// Leaves wholly untracked directories holding more than `entries` files
    /// out of snapshots (default 2,000).
    pub fn with_max_untracked_dir_entries(mut self, entries: usize) -> Self {
        self.limits.max_untracked_dir_entries = entries;
        self
    }

    /// Like [`Snapshotter::snapshot`], and also says what was left out by the
    /// size guards.
    pub async fn snapshot_with_report(&self, root: &Path) -> Result<(SnapshotId, SnapshotReport), SnapshotError> {
        let git = self.git.clone();
        let limits = self.limits;
        let root = root.to_path_buf();
        let span = tracing::info_span!("agent_sandbox.snapshot", root = %root.display(), id = tracing::field::Empty);
        let span2 = span.clone();
        blocking(move || {
            let _e = span2.enter();
            let (id, report) = Repo::open(&git, &root, limits)?.snapshot()?;
            span2.record("id", id.as_str());
            Ok((id, report))
        })
        .await
    }

    /// Restores a workspace a killed process left mid-run.
    ///
    /// Every snapshot leaves a marker (`<git-dir>/agentkit/run-<id>`)
    /// naming its owner (process id, start time, wall time) until it is
    /// discarded; a restore leaves `restore-in-progress` until it is done.
    /// When no owner of a marker is still running (a pid reused by another
    /// process does not count), this finishes an interrupted restore,
    /// restores the oldest snapshot of the dead run (the user's state before
    /// it: tree, index, `HEAD`, refs and stash list) and discards the run's
    /// snapshots. A marker whose owner runs is never acted on
    /// ([`RecoverReport::OwnerRunning`]); a marker of a snapshot discarded
    /// since is dropped.
    pub async fn recover(&self, root: &Path) -> Result<RecoverReport, SnapshotError> {
        let git = self.git.clone();
        let limits = self.limits;
        let root = root.to_path_buf();
        let span = tracing::info_span!("agent_sandbox.recover", root = %root.display());
        blocking(move || {
            let _e = span.enter();
            Repo::open(&git, &root, limits)?.recover_run()
        })
        .await
    }

    /// Runs this `git` executable instead.
    pub fn with_git_program(mut self, git: PathBuf) -> Self {
        self.git = git;
        self
    }
}

#[async_trait]
impl Snapshotter for GitSnapshotter {
    async fn snapshot(&self, root: &Path) -> Result<SnapshotId, SnapshotError> {
        Ok(self.snapshot_with_report(root).await?.0)
    }

    /// How `HEAD`, the refs and the stash list differ now from snapshot
    /// `id` (empty when they match, or when the snapshot predates their
    /// recording): for noticing that a command moved them.
    async fn ref_changes(&self, root: &Path, id: &SnapshotId) -> Result<Vec<RefChange>, SnapshotError> {
        let git = self.git.clone();
        let limits = self.limits;
        let root = root.to_path_buf();
        let id = id.clone();
        blocking(move || {
            check_id(&id)?;
            let repo = Repo::open(&git, &root, limits)?;
            match repo.saved_git_state(id.as_str())? {
                Some(state) => repo.ref_changes(&state),
                None if repo.snapshot_exists(id.as_str())? => Ok(Vec::new()),
                None => Err(SnapshotError::NotFound { id }),
            }
        })
        .await
    }

    async fn restore(&self, root: &Path, id: &SnapshotId) -> Result<(), SnapshotError> {
        let git = self.git.clone();
        let limits = self.limits;
        let root = root.to_path_buf();
        let id = id.clone();
        let span = tracing::info_span!("agent_sandbox.restore", root = %root.display(), id = %id);
        blocking(move || {
            let _e = span.enter();
            check_id(&id)?;
            Repo::open(&git, &root, limits)?.restore(&id)
        })
        .await
    }

    async fn discard(&self, root: &Path, id: &SnapshotId) -> Result<(), SnapshotError> {
        let git = self.git.clone();
        let limits = self.limits;
        let root = root.to_path_buf();
        let id = id.clone();
        let span = tracing::info_span!("agent_sandbox.discard", root = %root.display(), id = %id);
        blocking(move || {
            let _e = span.enter();
            check_id(&id)?;
            Repo::open(&git, &root, limits)?.discard(&id)
        })
        .await
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SnapshotError> + Send + 'static,
) -> Result<T, SnapshotError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| SnapshotError::Backend { operation: "snapshot task".into(), message: e.to_string() })?
}

/// Ids are commit shas; anything else cannot name a snapshot (and must never
/// reach a file name).
fn check_id(id: &SnapshotId) -> Result<(), SnapshotError> {
    let s = id.as_str();
    let ok = matches!(s.len(), 40 | 64) && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if ok { Ok(()) } else { Err(SnapshotError::NotFound { id: id.clone() }) }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SnapshotError + '_ {
    move |source| SnapshotError::Io { path: path.to_path_buf(), source }
}

/// One working tree and the paths the snapshotter uses in it.
struct Repo {
    git: PathBuf,
    root: PathBuf,
    git_dir: PathBuf,
    /// Where the shared refs and their logs live (the git dir but in a linked worktree).
    common_dir: PathBuf,
    user_index: PathBuf,
    empty_tree: String,
    limits: Limits,
    /// The repository opened with gix; `None` when gix cannot open it (then
    /// everything runs through the `git` command line).
    gix: Option<gix::Repository>,
    /// The filter drivers git's configuration names, switched off in every
    /// `git` run (found on the first one).
    filter_drivers: std::cell::OnceCell<Vec<Vec<u8>>>,
}

impl Repo {
    fn open(git: &Path, root: &Path, limits: Limits) -> Result<Self, SnapshotError> {
        let unsupported = |reason: String| SnapshotError::Unsupported { root: root.to_path_buf(), reason };
        if !root.is_dir() {
            return Err(unsupported("not a directory".into()));
        }
        let mut probe = Self {
            git: git.to_path_buf(),
            root: root.to_path_buf(),
            git_dir: PathBuf::new(),
            common_dir: PathBuf::new(),
            user_index: PathBuf::new(),
            empty_tree: String::new(),
            limits,
            gix: None,
            filter_drivers: std::cell::OnceCell::new(),
        };
        if let Some(repo) = probe.open_gix() {
            probe.git_dir = repo.git_dir().canonicalize().map_err(io_err(repo.git_dir()))?;
            probe.common_dir = repo.common_dir().canonicalize().map_err(io_err(repo.common_dir()))?;
            let index = repo.index_path();
            probe.user_index = if index.is_absolute() { index } else { root.join(index) };
            probe.empty_tree = gix::ObjectId::empty_tree(repo.object_hash()).to_string();
            probe.gix = Some(repo);
            probe.check_agentkit_dir()?;
            return Ok(probe);
        }
        let out = match probe.command(None)?.args(["rev-parse", "--show-toplevel", "--absolute-git-dir"]).output() {
            Ok(out) => out,
            Err(e) => return Err(unsupported(format!("cannot run git: {e}"))),
        };
        if !out.status.success() {
            return Err(unsupported(format!(
                "not a git working tree: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut lines = text.lines();
        let (Some(top), Some(git_dir)) = (lines.next(), lines.next()) else {
            return Err(unsupported("git rev-parse gave no work tree".into()));
        };
        let top = PathBuf::from(top);
        let canon_root = root.canonicalize().map_err(io_err(root))?;
        let canon_top = top.canonicalize().map_err(io_err(&top))?;
        if canon_root != canon_top {
            return Err(unsupported(format!(
                "not the top level of its git working tree (that is {})",
                canon_top.display()
            )));
        }
        probe.git_dir = PathBuf::from(git_dir);
        // Found again for the repository now pinned.
        probe.filter_drivers = std::cell::OnceCell::new();
        let common = probe.run_text(None, &["rev-parse", "--git-common-dir"])?;
        let common = PathBuf::from(common.trim_end_matches('\n'));
        probe.common_dir = if common.is_absolute() { common } else { root.join(common) };
        let index = probe.run_text(None, &["rev-parse", "--git-path", "index"])?;
        let index = PathBuf::from(index.trim_end_matches('\n'));
        probe.user_index = if index.is_absolute() { index } else { root.join(index) };
        probe.empty_tree = probe.run_text(None, &["hash-object", "-t", "tree", "/dev/null"])?.trim().to_owned();
        probe.check_agentkit_dir()?;
        Ok(probe)
    }

    /// Refuses a `<git-dir>/agentkit` that is not a real directory: a
    /// symlink there would send the snapshotter's files (copies of the
    /// index, markers) wherever it points.
    fn check_agentkit_dir(&self) -> Result<(), SnapshotError> {
        let dir = self.agentkit_dir();
        match std::fs::symlink_metadata(&dir) {
            Ok(meta) if meta.is_dir() => Ok(()),
            Ok(_) => Err(SnapshotError::Unsupported {
                root: self.root.clone(),
                reason: format!("{} is not a directory (a symlink?)", dir.display()),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err(&dir)(e)),
        }
    }

    /// The repository through gix if gix opens it and `root` is the top level
    /// of its working tree; `None` sends [`open`](Self::open) to the command line.
    fn open_gix(&self) -> Option<gix::Repository> {
        let repo = gix::open(&self.root).ok()?;
        let workdir = repo.workdir()?.canonicalize().ok()?;
        if workdir != self.root.canonicalize().ok()? {
            return None;
        }
        Some(repo)
    }

    /// `git` with settings that make snapshots faithful and private: raw
    /// bytes, real file modes and symlinks, no signing prompts, and the
    /// host's hardening ([`git_harden`]): no hook, filter driver, file-system
    /// monitor or other program the repository names is ever run. Once the
    /// repository is known, `GIT_DIR` and `GIT_WORK_TREE` pin it, so a
    /// `.git` file or `core.worktree` changed since cannot redirect git.
    fn command(&self, index: Option<&Path>) -> Result<Command, SnapshotError> {
        let drivers = match self.filter_drivers.get() {
            Some(drivers) => drivers,
            None => {
                let found = git_harden::filter_drivers(&self.git, &self.root, self.pinned_git_dir()).map_err(|e| {
                    SnapshotError::Backend {
                        operation: "git config --get-regexp filter".into(),
                        message: e.to_string(),
                    }
                })?;
                self.filter_drivers.get_or_init(|| found)
            }
        };
        let mut cmd = git_harden::command(&self.git, &self.root, self.pinned_git_dir(), drivers);
        cmd.args([
            "-c",
            "core.fileMode=true",
            "-c",
            "core.symlinks=true",
            "-c",
            "core.autocrlf=false",
            "-c",
            "core.safecrlf=false",
            "-c",
            "advice.addEmbeddedRepo=false",
        ]);
        cmd.env("GIT_AUTHOR_NAME", "agentkit")
            .env("GIT_AUTHOR_EMAIL", "agentkit@localhost")
            .env("GIT_COMMITTER_NAME", "agentkit")
            .env("GIT_COMMITTER_EMAIL", "agentkit@localhost");
        if !self.empty_tree.is_empty() {
            // Attributes from an empty tree: no filters, no eol conversion.
            cmd.env("GIT_ATTR_SOURCE", &self.empty_tree);
        }
        if let Some(index) = index {
            cmd.env("GIT_INDEX_FILE", index);
        }
        Ok(cmd)
    }

    /// The git directory once [`open`](Self::open) found it.
    fn pinned_git_dir(&self) -> Option<&Path> {
        (!self.git_dir.as_os_str().is_empty()).then_some(self.git_dir.as_path())
    }

    /// Runs git and returns its output whatever the exit status.
    fn output(&self, index: Option<&Path>, args: &[&str], input: Option<&[u8]>) -> Result<Output, SnapshotError> {
        let operation = || format!("git {}", args.first().copied().unwrap_or_default());
        let mut cmd = self.command(index)?;
        cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
        if input.is_some() {
            cmd.stdin(Stdio::piped());
        }
        let mut child =
            cmd.spawn().map_err(|e| SnapshotError::Backend { operation: operation(), message: e.to_string() })?;
        if let (Some(mut stdin), Some(input)) = (child.stdin.take(), input) {
            // Written from another thread so a large input cannot deadlock
            // against git's output filling its pipe.
            let input = input.to_vec();
            std::thread::spawn(move || {
                let _ = stdin.write_all(&input);
            });
        }
        child.wait_with_output().map_err(|e| SnapshotError::Backend { operation: operation(), message: e.to_string() })
    }

    /// Runs git and returns stdout; a non-zero exit is a backend error with git's stderr.
    fn run(&self, index: Option<&Path>, args: &[&str], input: Option<&[u8]>) -> Result<Vec<u8>, SnapshotError> {
        let out = self.output(index, args, input)?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(SnapshotError::Backend {
                operation: format!("git {}", args.join(" ")),
                message: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            })
        }
    }

    fn run_text(&self, index: Option<&Path>, args: &[&str]) -> Result<String, SnapshotError> {
        Ok(String::from_utf8_lossy(&self.run(index, args, None)?).into_owned())
    }

    fn head(&self) -> Result<Option<String>, SnapshotError> {
        if let Some(repo) = &self.gix {
            let head = repo.head().map_err(gix_snapshot::backend("read HEAD"))?;
            if head.is_unborn() {
                return Ok(None);
            }
            let commit = head.into_peeled_object().and_then(|o| o.try_into_commit());
            return match commit {
                Ok(commit) => Ok(Some(commit.id.to_string())),
                Err(e) => Err(SnapshotError::Backend { operation: "peel HEAD".into(), message: e.to_string() }),
            };
        }
        let out = self.output(None, &["rev-parse", "-q", "--verify", "HEAD^{commit}"], None)?;
        Ok(out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned()))
    }

    fn agentkit_dir(&self) -> PathBuf {
        self.git_dir.join("agentkit")
    }

    fn saved_index(&self, id: &str) -> PathBuf {
        self.agentkit_dir().join(format!("index-{id}"))
    }

    fn saved_index_absent(&self, id: &str) -> PathBuf {
        self.agentkit_dir().join(format!("index-{id}.absent"))
    }

    fn saved_dirs(&self, id: &str) -> PathBuf {
        self.agentkit_dir().join(format!("dirs-{id}"))
    }

    fn snapshot_exists(&self, id: &str) -> Result<bool, SnapshotError> {
        let refname = format!("{REF_PREFIX}{id}");
        if let Some(repo) = &self.gix {
            let Some(reference) =
                repo.try_find_reference(refname.as_str()).map_err(gix_snapshot::backend("find ref"))?
            else {
                return Ok(false);
            };
            let Some(target) = reference.target().try_id().map(ToOwned::to_owned) else { return Ok(false) };
            let header = repo.try_find_header(target).map_err(gix_snapshot::backend("find snapshot commit"))?;
            return Ok(header.is_some_and(|h| h.kind() == gix::object::Kind::Commit));
        }
        let out = self.output(None, &["rev-parse", "-q", "--verify", &format!("{refname}^{{commit}}")], None)?;
        Ok(out.status.success())
    }

    /// Points `refs/agentkit/snapshots/<id>` at the commit `id`.
    fn set_ref(&self, id: &str) -> Result<(), SnapshotError> {
        let refname = format!("{REF_PREFIX}{id}");
        if let Some(repo) = &self.gix {
            let target = gix::ObjectId::from_hex(id.as_bytes())
                .map_err(|e| SnapshotError::Backend { operation: "parse id".into(), message: e.to_string() })?;
            let name: gix::refs::FullName =
                refname.as_str().try_into().map_err(|e: gix::validate::reference::name::Error| {
                    SnapshotError::Backend { operation: "ref name".into(), message: e.to_string() }
                })?;
            let edit = gix::refs::transaction::RefEdit::update(
                name,
                target,
                gix::refs::transaction::PreviousValue::Any,
                "agentkit snapshot",
            );
            repo.edit_references_as(
                [edit],
                Some(agentkit_signature().to_ref(&mut gix::date::parse::TimeBuf::default())),
            )
            .map_err(gix_snapshot::backend("update-ref"))?;
            return Ok(());
        }
        self.run(None, &["update-ref", &refname, id], None)?;
        Ok(())
    }

    /// Deletes `refs/agentkit/snapshots/<id>`.
    fn delete_ref(&self, id: &str) -> Result<(), SnapshotError> {
        let refname = format!("{REF_PREFIX}{id}");
        if let Some(repo) = &self.gix {
            if let Some(reference) =
                repo.try_find_reference(refname.as_str()).map_err(gix_snapshot::backend("find ref"))?
            {
                reference.delete().map_err(gix_snapshot::backend("delete ref"))?;
            }
            return Ok(());
        }
        self.run(None, &["update-ref", "-d", &refname], None)?;
        Ok(())
    }

    /// Directories holding no path of a snapshot taken through the command
    /// line: `ls-files -o --directory` with the snapshot's index lists the
    /// outermost ones; those holding only directories are expanded to their
    /// empty leaves.
    fn empty_dirs_cli(&self, index: &Path) -> Result<BTreeSet<String>, SnapshotError> {
        let out = self.run(Some(index), &["ls-files", "-z", "-o", "--directory", "--exclude-standard"], None)?;
        let mut leaves = BTreeSet::new();
        for dir in split_nul(&out).filter(|p| p.ends_with('/')).map(|p| p.trim_end_matches('/')) {
            if dir.is_empty() {
                continue;
            }
            leaves.insert(dir.to_owned());
            if only_dirs(&self.root.join(dir)) {
                empty_leaves(&self.root, Path::new(dir), &mut leaves);
            }
        }
        Ok(leaves)
    }

    fn stat_index(&self, id: &str) -> PathBuf {
        self.agentkit_dir().join(format!("index-snap-{id}"))
    }

    /// The last in-process snapshot's directory walk, for the next one.
    fn walk_cache(&self) -> PathBuf {
        self.agentkit_dir().join("walk-cache")
    }

    /// Raw blob ids by path and stat, kept from snapshot to snapshot (and
    /// process to process); see [`stat_cache`].
    fn stat_cache(&self) -> PathBuf {
        self.agentkit_dir().join("stat-cache")
    }

    /// The in-process snapshot's stat data, a delta against `saved_index`.
    fn stat_delta(&self, id: &str) -> PathBuf {
        self.agentkit_dir().join(format!("stat-delta-{id}"))
    }

    fn saved_excluded(&self, id: &str) -> PathBuf {
        self.agentkit_dir().join(format!("excluded-{id}"))
    }

    fn marker(&self) -> PathBuf {
        self.agentkit_dir().join(MARKER)
    }

    /// The marker a snapshot leaves until it is discarded.
    fn run_marker(&self, id: &str) -> PathBuf {
        self.agentkit_dir().join(format!("{RUN_MARKER}{id}"))
    }

    /// The snapshot's `HEAD`, refs and stash list.
    fn saved_git_state_path(&self, id: &str) -> PathBuf {
        self.agentkit_dir().join(format!("refs-{id}"))
    }

    /// The saved git state of snapshot `id`; `None` for a snapshot taken
    /// before they were recorded (or in a reftable repository).
    fn saved_git_state(&self, id: &str) -> Result<Option<git_state::GitState>, SnapshotError> {
        let path = self.saved_git_state_path(id);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| SnapshotError::Backend {
                operation: format!("read {}", path.display()),
                message: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(&path)(e)),
        }
    }

    /// git's lock for the user's index.
    fn index_lock(&self) -> PathBuf {
        let mut name = self.user_index.file_name().unwrap_or_default().to_os_string();
        name.push(".lock");
        self.user_index.with_file_name(name)
    }

    /// Puts the user's index bytes back (removes it for `None`) under
    /// `index.lock`, taken create-exclusive as git does: the bytes go into
    /// the lock file, which is renamed over the index. An index that already
    /// holds those bytes is not rewritten (its mtime, which git's racy-clean
    /// rule reads, stays).
    fn write_user_index(&self, bytes: Option<&[u8]>) -> Result<(), SnapshotError> {
        let now = match std::fs::read(&self.user_index) {
            Ok(now) => Some(now),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_err(&self.user_index)(e)),
        };
        if now.as_deref() == bytes {
            return Ok(());
        }
        let lock = self.index_lock();
        let mut file = match std::fs::OpenOptions::new().write(true).create_new(true).open(&lock) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(SnapshotError::Locked { path: lock, holder: None });
            }
            Err(e) => return Err(io_err(&lock)(e)),
        };
        let written = match bytes {
            Some(bytes) => file
                .write_all(bytes)
                .and_then(|()| {
                    let mode = std::fs::metadata(&self.user_index).map_or(0o644, |m| m.permissions().mode());
                    file.set_permissions(std::fs::Permissions::from_mode(mode))
                })
                .and_then(|()| std::fs::rename(&lock, &self.user_index))
                .map_err(io_err(&self.user_index)),
            None => remove_if_present(&self.user_index),
        };
        drop(file);
        if written.is_err() || bytes.is_none() {
            let _ = std::fs::remove_file(&lock);
        }
        written
    }

    /// Finishes a restore a crashed process left half done (see the type's
    /// docs) and returns its snapshot; a restore another live process is
    /// running is not touched ([`SnapshotError::Locked`]).
    fn finish_interrupted_restore(&self) -> Result<Option<SnapshotId>, SnapshotError> {
        let marker = self.marker();
        let (id, owner) = match std::fs::read_to_string(&marker) {
            Ok(text) => owner::parse(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(&marker)(e)),
        };
        if let Some(owner) = owner.filter(|o| o.pid != std::process::id() && o.is_running()) {
            return Err(SnapshotError::Locked { path: marker, holder: Some(owner.pid) });
        }
        if check_id(&id).is_ok() && self.snapshot_exists(id.as_str())? {
            tracing::warn!(id = %id, "finishing a restore that was interrupted");
            self.restore_inner(&id)?;
            Ok(Some(id))
        } else {
            tracing::warn!(id = %id, "dropping the marker of an interrupted restore of a snapshot that no longer exists");
            remove_if_present(&marker)?;
            Ok(None)
        }
    }

    fn snapshot(&self) -> Result<(SnapshotId, SnapshotReport), SnapshotError> {
        self.finish_interrupted_restore()?;
        let git_state = self.git_state()?;
        // A symlink there would have the snapshot copy whatever it names
        // into `.git/agentkit`, where a later command could read it.
        if std::fs::symlink_metadata(&self.user_index).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(SnapshotError::Unsupported {
                root: self.root.clone(),
                reason: format!("the index {} is a symlink", self.user_index.display()),
            });
        }
        let user_index = match std::fs::read(&self.user_index) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_err(&self.user_index)(e)),
        };
        let head = self.head()?;
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nonce = format!(
            "{}.{}.{}",
            std::process::id(),
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let message = format!("agentkit snapshot\n\nnonce: {nonce}\n");
        let dir = self.agentkit_dir();
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;

        let outcome = match &self.gix {
            Some(repo) => {
                let head =
                    head.as_deref().map(|h| gix::ObjectId::from_hex(h.as_bytes())).transpose().map_err(|e| {
                        SnapshotError::Backend { operation: "parse HEAD".into(), message: e.to_string() }
                    })?;
                let cache_path = self.walk_cache();
                let cache = std::fs::read(&cache_path).ok().and_then(|bytes| {
                    let mtime = std::fs::metadata(&cache_path).and_then(|m| m.modified()).ok()?;
                    let secs = mtime.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
                    Some((bytes, i64::try_from(secs).ok()?))
                });
                let cache = cache.as_ref().map(|(bytes, secs)| (bytes.as_slice(), *secs));
                let stat_cache = stat_cache::StatCache::load(&self.stat_cache());
                gix_snapshot::snapshot(
                    repo,
                    &self.root,
                    head,
                    &message,
                    self.limits,
                    cache,
                    user_index.as_deref(),
                    stat_cache.as_ref(),
                )?
            }
            None => gix_snapshot::Outcome::Unsupported("gix cannot open the repository".into()),
        };
        let (commit, excluded, dirs) = match outcome {
            gix_snapshot::Outcome::Done(snap) => {
                write_atomic(&self.stat_delta(&snap.commit), &snap.delta)?;
                match &snap.walk_cache {
                    Some(bytes) => write_atomic(&self.walk_cache(), bytes)?,
                    None => remove_if_present(&self.walk_cache())?,
                }
                write_atomic(&self.stat_cache(), &snap.stat_cache)?;
                let dirs: BTreeSet<String> =
                    snap.empty_dirs.iter().filter_map(|d| std::str::from_utf8(d).ok().map(str::to_owned)).collect();
                (snap.commit, snap.excluded, dirs)
            }
            gix_snapshot::Outcome::Unsupported(reason) => {
                tracing::debug!(%reason, "snapshot through the git command line");
                let commit = self.snapshot_cli(head.as_deref(), &message)?;
                let dirs = self.empty_dirs_cli(&self.stat_index(&commit))?;
                (commit, Vec::new(), dirs)
            }
        };
        for e in &excluded {
            tracing::warn!(path = %e.path.display(), reason = ?e.reason, bytes = e.bytes, "left out of the snapshot");
        }
        match &user_index {
            Some(bytes) => write_atomic(&self.saved_index(&commit), bytes)?,
            None => write_atomic(&self.saved_index_absent(&commit), b"")?,
        }
        let mut listing = Vec::new();
        for d in &dirs {
            listing.extend_from_slice(d.as_bytes());
            listing.push(0);
        }
        write_atomic(&self.saved_dirs(&commit), &listing)?;
        let mut listing = Vec::new();
        for e in &excluded {
            listing.extend_from_slice(e.path.as_os_str().as_bytes());
            listing.push(0);
        }
        write_atomic(&self.saved_excluded(&commit), &listing)?;
        if let Some(state) = &git_state {
            let bytes = serde_json::to_vec(state)
                .map_err(|e| SnapshotError::Backend { operation: "save refs".into(), message: e.to_string() })?;
            write_atomic(&self.saved_git_state_path(&commit), &bytes)?;
        }
        write_atomic(&self.run_marker(&commit), owner::render(&commit, &owner::Owner::current()).as_bytes())?;
        // The ref last: a snapshot exists only once everything it needs is saved.
        self.set_ref(&commit)?;
        tracing::info!(id = %commit, excluded = excluded.len(), "snapshot taken");
        Ok((SnapshotId(commit), SnapshotReport { excluded }))
    }

    /// The command-line snapshot through a private index; the index (with
    /// the stat data `git add` recorded) is kept as the snapshot's stat index.
    fn snapshot_cli(&self, head: Option<&str>, message: &str) -> Result<String, SnapshotError> {
        let tmp = tempfile::tempdir().map_err(io_err(Path::new("temporary directory")))?;
        let index = tmp.path().join("index");
        if let Some(head) = head {
            self.run(Some(&index), &["read-tree", head], None)?;
        }
        self.run(Some(&index), &["add", "-A"], None)?;
        let tree = self.run_text(Some(&index), &["write-tree"])?.trim().to_owned();
        let mut args = vec!["commit-tree", "--no-gpg-sign", tree.as_str(), "-m", message];
        if let Some(head) = head {
            args.extend(["-p", head]);
        }
        let commit = self.run_text(None, &args)?.trim().to_owned();
        let bytes = std::fs::read(&index).map_err(io_err(&index))?;
        let stat_index = self.stat_index(&commit);
        write_atomic(&stat_index, &bytes)?;
        // Its mtime is the racy-clean reference of the restore (see
        // `restore_cli`): that of the index git wrote after taking every
        // stat, never the later moment of this copy, or a file rewritten in
        // that index's second would be trusted as unchanged.
        let mtime = std::fs::metadata(&index).and_then(|m| m.modified()).map_err(io_err(&index))?;
        let file = std::fs::OpenOptions::new().write(true).open(&stat_index).map_err(io_err(&stat_index))?;
        file.set_modified(mtime).map_err(io_err(&stat_index))?;
        Ok(commit)
    }

    fn restore(&self, id: &SnapshotId) -> Result<(), SnapshotError> {
        self.finish_interrupted_restore()?;
        self.restore_inner(id)
    }

    fn restore_inner(&self, id: &SnapshotId) -> Result<(), SnapshotError> {
        let id_str = id.as_str();
        let saved = self.saved_index(id_str);
        let absent = self.saved_index_absent(id_str);
        if !self.snapshot_exists(id_str)? || !(saved.is_file() || absent.is_file()) {
            return Err(SnapshotError::NotFound { id: id.clone() });
        }
        let saved_bytes = if saved.is_file() { Some(std::fs::read(&saved).map_err(io_err(&saved))?) } else { None };
        let saved_dirs: BTreeSet<String> = match std::fs::read(self.saved_dirs(id_str)) {
            Ok(bytes) => split_nul(&bytes).map(str::to_owned).collect(),
            Err(_) => BTreeSet::new(),
        };
        let excluded: Vec<Vec<u8>> = match std::fs::read(self.saved_excluded(id_str)) {
            Ok(bytes) => bytes.split(|b| *b == 0).filter(|s| !s.is_empty()).map(<[u8]>::to_vec).collect(),
            Err(_) => Vec::new(),
        };
        let is_excluded = |path: &[u8]| {
            excluded.iter().any(|e| path == e.as_slice() || (path.starts_with(e) && path.get(e.len()) == Some(&b'/')))
        };

        // Before anything changes: HEAD, refs and stash can be put back, and
        // nobody holds the index.
        let saved_state = self.saved_git_state(id_str)?;
        let ref_changes = match &saved_state {
            Some(state) => self.check_git_state(id, state)?,
            None => Vec::new(),
        };
        let lock = self.index_lock();
        if lock.exists() {
            return Err(SnapshotError::Locked { path: lock, holder: None });
        }

        let prepared = match &self.gix {
            Some(repo) => {
                let (delta, stat_index) = (self.stat_delta(id_str), self.stat_index(id_str));
                let source = gix_restore::StatSource {
                    delta: &delta,
                    base: saved_bytes.is_some().then_some(saved.as_path()),
                    stat_index: &stat_index,
                };
                gix_restore::prepare(repo, &self.root, &source)?
            }
            None => gix_restore::Prepared::Unsupported("gix cannot open the repository".into()),
        };

        // From here on the tree changes: leave a marker a later call finishes from.
        write_atomic(&self.marker(), owner::render(id_str, &owner::Owner::current()).as_bytes())?;
        // HEAD and the refs first, so the index never goes back over a moved HEAD.
        if let Some(state) = &saved_state {
            if !ref_changes.is_empty() {
                tracing::info!(changes = ?ref_changes, "putting HEAD, refs and stash back");
            }
            self.put_git_state(state, &ref_changes)?;
        }

        match (prepared, &self.gix) {
            (gix_restore::Prepared::Ready(plan), Some(repo)) => {
                tracing::debug!(rewrites = plan.writes(), "restore in process");
                // 1. Write back what differs; 2. one walk for what is new.
                let walk = gix_restore::write_back(repo, &self.root, *plan, &is_excluded)?;
                // 3. Delete files the snapshot lacks (not ignored under the
                //    restored rules, not left out by a guard).
                let mut touched_dirs = BTreeSet::new();
                for path in &walk.files {
                    if is_excluded(path) {
                        continue;
                    }
                    let rel = Path::new(std::ffi::OsStr::from_bytes(path));
                    if !is_plain_relative(&rel.to_string_lossy()) {
                        continue;
                    }
                    let full = self.root.join(rel);
                    match std::fs::symlink_metadata(&full) {
                        Ok(meta) if !meta.is_dir() => {
                            std::fs::remove_file(&full).map_err(io_err(&full))?;
                            if let Some(parent) = rel.parent() {
                                touched_dirs.insert(parent.to_path_buf());
                            }
                        }
                        _ => {}
                    }
                }
                for dir in &touched_dirs {
                    self.remove_empty_upwards(dir);
                }
                // 4. Empty directories created since go; those of the snapshot come back.
                for dir in &walk.empty_dirs {
                    let Ok(dir) = std::str::from_utf8(dir) else { continue };
                    if !saved_dirs.contains(dir) && !is_excluded(dir.as_bytes()) {
                        self.remove_empty_upwards(Path::new(dir));
                    }
                }
            }
            (prepared, _) => {
                if let gix_restore::Prepared::Unsupported(reason) = prepared {
                    tracing::debug!(%reason, "restore through the git command line");
                }
                self.restore_cli(id_str, &saved_dirs, &is_excluded)?;
            }
        }
        for dir in &saved_dirs {
            if is_plain_relative(dir) {
                create_dir_beneath(&self.root, Path::new(dir))?;
            }
        }
        // 5. The user's index, byte for byte.
        self.write_user_index(saved_bytes.as_deref())?;
        remove_if_present(&self.marker())?;
        tracing::info!("snapshot restored");
        Ok(())
    }

    /// The command-line restore: the snapshot's stat index refreshed by git
    /// says what differs, `checkout-index` writes it back, `ls-files -o`
    /// finds what is new.
    fn restore_cli(
        &self,
        id_str: &str,
        saved_dirs: &BTreeSet<String>,
        is_excluded: &dyn Fn(&[u8]) -> bool,
    ) -> Result<(), SnapshotError> {
        let tmp = tempfile::tempdir().map_err(io_err(Path::new("temporary directory")))?;
        let index = tmp.path().join("index");
        // 1. Write back what differs from the snapshot (changed, missing,
        //    different mode or type); unchanged files are not touched. The
        //    snapshot's stat index makes this a stat comparison: only files
        //    whose stat changed since the snapshot are read.
        let stat_index = self.stat_index(id_str);
        match std::fs::copy(&stat_index, &index) {
            Ok(_) => {
                // Git tells racily clean entries by the index file's mtime:
                // the copy must keep the original's.
                let mtime = std::fs::metadata(&stat_index).and_then(|m| m.modified()).map_err(io_err(&stat_index))?;
                let file = std::fs::OpenOptions::new().write(true).open(&index).map_err(io_err(&index))?;
                file.set_modified(mtime).map_err(io_err(&index))?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.run(Some(&index), &["read-tree", id_str], None)?;
            }
            Err(e) => return Err(io_err(&stat_index)(e)),
        }
        let _ = self.output(Some(&index), &["update-index", "-q", "--refresh"], None)?;
        let changed = self.run(Some(&index), &["diff-files", "-z", "--name-only", "--ignore-submodules=all"], None)?;
        if !changed.is_empty() {
            let mut input = changed.clone();
            if input.last() != Some(&0) {
                input.push(0);
            }
            self.run(Some(&index), &["checkout-index", "-f", "-u", "-z", "--stdin"], Some(&input))?;
        }
        // 2. Files present now, not ignored under the snapshot's (restored)
        //    ignore rules, not in the snapshot and not left out by a guard
        //    were created after it. Nested repositories show as `dir/` and
        //    are left alone.
        let untracked = self.run(Some(&index), &["ls-files", "-z", "-o", "--exclude-standard"], None)?;
        let mut touched_dirs = BTreeSet::new();
        for path in untracked.split(|b| *b == 0).filter(|p| !p.is_empty()) {
            if path.ends_with(b"/") || is_excluded(path) {
                continue;
            }
            let rel = Path::new(std::ffi::OsStr::from_bytes(path));
            if !is_plain_relative(&rel.to_string_lossy()) {
                continue;
            }
            let full = self.root.join(rel);
            match std::fs::symlink_metadata(&full) {
                Ok(meta) if !meta.is_dir() => {
                    std::fs::remove_file(&full).map_err(io_err(&full))?;
                    if let Some(parent) = rel.parent() {
                        touched_dirs.insert(parent.to_path_buf());
                    }
                }
                _ => {}
            }
        }
        // 3. Directories: remove those emptied by the deletions or created
        //    empty since, recreate empty ones that existed.
        for dir in &touched_dirs {
            self.remove_empty_upwards(dir);
        }
        for dir in self.empty_dirs_cli(&index)? {
            if !saved_dirs.contains(&dir) && !is_excluded(dir.as_bytes()) {
                let full = self.root.join(&dir);
                if only_dirs(&full) {
                    let _ = std::fs::remove_dir_all(&full);
                    if let Some(parent) = Path::new(&dir).parent() {
                        self.remove_empty_upwards(parent);
                    }
                }
            }
        }
        Ok(())
    }

    /// Removes `dir` (relative to the root) and its ancestors while they are
    /// empty; never the root, never anything under `.git`.
    fn remove_empty_upwards(&self, dir: &Path) {
        let mut current = Some(dir);
        while let Some(rel) = current {
            if rel.as_os_str().is_empty() || !is_plain_relative(&rel.to_string_lossy()) {
                break;
            }
            // Never through a symlink that replaced a directory.
            if !rel.parent().is_none_or(|p| real_dirs_beneath(&self.root, p)) {
                break;
            }
            if std::fs::remove_dir(self.root.join(rel)).is_err() {
                break;
            }
            current = rel.parent();
        }
    }

    fn discard(&self, id: &SnapshotId) -> Result<(), SnapshotError> {
        self.finish_interrupted_restore()?;
        self.discard_inner(id)
    }

    fn discard_inner(&self, id: &SnapshotId) -> Result<(), SnapshotError> {
        let id_str = id.as_str();
        if !self.snapshot_exists(id_str)? {
            return Err(SnapshotError::NotFound { id: id.clone() });
        }
        self.delete_ref(id_str)?;
        for path in [
            self.saved_index(id_str),
            self.saved_index_absent(id_str),
            self.saved_dirs(id_str),
            self.stat_index(id_str),
            self.stat_delta(id_str),
            self.saved_excluded(id_str),
            self.saved_git_state_path(id_str),
            // Last: until it goes, a crash leaves the run recoverable.
            self.run_marker(id_str),
        ] {
            remove_if_present(&path)?;
        }
        tracing::info!("snapshot discarded");
        Ok(())
    }
}

fn remove_if_present(path: &Path) -> Result<(), SnapshotError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(path)(e)),
    }
}

/// A relative path with no `..` and no `.git` component.
fn is_plain_relative(path: &str) -> bool {
    use std::path::Component;
    Path::new(path)
        .components()
        .all(|c| matches!(c, Component::Normal(n) if n != ".git") || matches!(c, Component::CurDir))
}

/// Creates the directory `rel` (a plain relative path) under `root` one
/// component at a time, never through a symlink: a component that exists
/// as anything but a directory (a symlink put where the snapshot had a
/// directory) is an error, and nothing is created beyond it.
fn create_dir_beneath(root: &Path, rel: &Path) -> Result<(), SnapshotError> {
    let mut path = root.to_path_buf();
    for c in rel.components() {
        let std::path::Component::Normal(name) = c else { continue };
        path.push(name);
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                let source = std::io::Error::new(
                    std::io::ErrorKind::NotADirectory,
                    "a symlink or a file stands where the snapshot has a directory",
                );
                return Err(SnapshotError::Io { path, source });
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir(&path).map_err(io_err(&path))?;
            }
            Err(e) => return Err(io_err(&path)(e)),
        }
    }
    Ok(())
}

/// Whether every component of `rel` under `root` is a real directory (no symlink).
fn real_dirs_beneath(root: &Path, rel: &Path) -> bool {
    let mut path = root.to_path_buf();
    rel.components().all(|c| {
        path.push(c);
        std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir())
    })
}

/// Whether `dir` holds nothing but (possibly nested) directories.
fn only_dirs(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else { return false };
    for entry in entries {
        let Ok(entry) = entry else { return false };
        match entry.file_type() {
            Ok(t) if t.is_dir() => {
                if entry.file_name() == ".git" || !only_dirs(&entry.path()) {
                    return false;
                }
            }
            _ => return false,
        }
    }
    true
}

/// Adds `dir` (relative to `root`) to `out` if it is empty, and its empty
/// descendants.
fn empty_leaves(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
    let Ok(entries) = std::fs::read_dir(root.join(dir)) else { return };
    let mut any = false;
    for entry in entries.flatten() {
        any = true;
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            empty_leaves(root, &dir.join(entry.file_name()), out);
        }
    }
    if !any {
        out.insert(dir.to_string_lossy().into_owned());
    }
}

/// The identity snapshot commits and ref updates are made as.
fn agentkit_signature() -> gix::actor::Signature {
    gix::actor::Signature {
        name: "agentkit".into(),
        email: "agentkit@localhost".into(),
        time: gix::date::Time::now_local_or_utc(),
    }
}

fn split_nul(bytes: &[u8]) -> impl Iterator<Item = &str> {
    bytes.split(|b| *b == 0).filter(|s| !s.is_empty()).filter_map(|s| std::str::from_utf8(s).ok())
}

/// Writes `bytes` to `path` through a temporary file in the same directory.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), SnapshotError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io_err(dir))?;
    tmp.write_all(bytes).map_err(io_err(path))?;
    let mode = std::fs::metadata(path).map_or(0o644, |m| m.permissions().mode());
    tmp.as_file().set_permissions(std::fs::Permissions::from_mode(mode)).map_err(io_err(path))?;
    tmp.persist(path).map_err(|e| io_err(path)(e.error))?;
    Ok(())
}
