//! [`GitSnapshotter`]: snapshots of a git working tree as unreferenced-by-branch commits.

use agent_core::{SnapshotError, SnapshotId, Snapshotter};
use async_trait::async_trait;
use std::collections::BTreeSet;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

/// Snapshots a git working tree by driving the `git` command line.
///
/// Everything goes through a private index file (`GIT_INDEX_FILE`), so the
/// user's index, `HEAD`, branches and stash are never touched:
///
/// - `snapshot` records every non-ignored file (tracked, modified, staged,
///   untracked-not-ignored, deletions, executable bits, symlinks) as a commit
///   whose parent is `HEAD` (none in a repository without commits), kept
///   alive by the ref `refs/agentkit/snapshots/<sha>`, and saves the bytes of
///   the user's index under `<git-dir>/agentkit/`. The id is the commit sha.
/// - `restore` rewrites the files that differ from the snapshot, deletes the
///   non-ignored files created since (judged by the snapshot's `.gitignore`
///   rules, so reverting a `.gitignore` never deletes protected files),
///   removes directories left empty, recreates empty directories that existed
///   and puts the user's index bytes back. Ignored files are left alone, and
///   files that did not change are not rewritten (their mtimes stay).
/// - `discard` deletes the ref and the saved index.
///
/// Nested repositories and submodules are not descended into. Content is
/// stored raw: `.gitattributes` filters and line-ending conversion are not
/// applied, so a restore is byte-for-byte. `root` must be the top level of
/// the working tree.
///
/// ```no_run
/// use agent_core::Snapshotter;
/// use agent_sandbox::GitSnapshotter;
/// use std::path::Path;
///
/// # async fn demo() -> Result<(), agent_core::SnapshotError> {
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
}

impl Default for GitSnapshotter {
    fn default() -> Self {
        Self::new()
    }
}

const REF_PREFIX: &str = "refs/agentkit/snapshots/";
const GITLINK_MODE: &str = "160000";

impl GitSnapshotter {
    /// A snapshotter running `git` from `PATH`.
    pub fn new() -> Self {
        Self { git: PathBuf::from("git") }
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
        let git = self.git.clone();
        let root = root.to_path_buf();
        let span = tracing::info_span!("agent_sandbox.snapshot", root = %root.display(), id = tracing::field::Empty);
        let span2 = span.clone();
        blocking(move || {
            let _e = span2.enter();
            let id = Repo::open(&git, &root)?.snapshot()?;
            span2.record("id", id.as_str());
            Ok(id)
        })
        .await
    }

    async fn restore(&self, root: &Path, id: &SnapshotId) -> Result<(), SnapshotError> {
        let git = self.git.clone();
        let root = root.to_path_buf();
        let id = id.clone();
        let span = tracing::info_span!("agent_sandbox.restore", root = %root.display(), id = %id);
        blocking(move || {
            let _e = span.enter();
            check_id(&id)?;
            Repo::open(&git, &root)?.restore(&id)
        })
        .await
    }

    async fn discard(&self, root: &Path, id: &SnapshotId) -> Result<(), SnapshotError> {
        let git = self.git.clone();
        let root = root.to_path_buf();
        let id = id.clone();
        let span = tracing::info_span!("agent_sandbox.discard", root = %root.display(), id = %id);
        blocking(move || {
            let _e = span.enter();
            check_id(&id)?;
            Repo::open(&git, &root)?.discard(&id)
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
    user_index: PathBuf,
    empty_tree: String,
}

impl Repo {
    fn open(git: &Path, root: &Path) -> Result<Self, SnapshotError> {
        let unsupported = |reason: String| SnapshotError::Unsupported { root: root.to_path_buf(), reason };
        if !root.is_dir() {
            return Err(unsupported("not a directory".into()));
        }
        let mut probe = Self {
            git: git.to_path_buf(),
            root: root.to_path_buf(),
            git_dir: PathBuf::new(),
            user_index: PathBuf::new(),
            empty_tree: String::new(),
        };
        let out = match probe.command(None).args(["rev-parse", "--show-toplevel", "--absolute-git-dir"]).output() {
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
        let index = probe.run_text(None, &["rev-parse", "--git-path", "index"])?;
        let index = PathBuf::from(index.trim_end_matches('\n'));
        probe.user_index = if index.is_absolute() { index } else { root.join(index) };
        probe.empty_tree = probe.run_text(None, &["hash-object", "-t", "tree", "/dev/null"])?.trim().to_owned();
        Ok(probe)
    }

    /// `git` with settings that make snapshots faithful and private: raw
    /// bytes, real file modes and symlinks, no hooks, no signing prompts.
    fn command(&self, index: Option<&Path>) -> Command {
        let mut cmd = Command::new(&self.git);
        cmd.current_dir(&self.root)
            .args([
                "-c",
                "core.fileMode=true",
                "-c",
                "core.symlinks=true",
                "-c",
                "core.autocrlf=false",
                "-c",
                "core.safecrlf=false",
                "-c",
                "core.fsmonitor=false",
                "-c",
                "core.hooksPath=/dev/null",
                "-c",
                "advice.addEmbeddedRepo=false",
                "-c",
                "gc.auto=0",
            ])
            .stdin(Stdio::null());
        for var in [
            "GIT_DIR",
            "GIT_WORK_TREE",
            "GIT_INDEX_FILE",
            "GIT_OBJECT_DIRECTORY",
            "GIT_ALTERNATE_OBJECT_DIRECTORIES",
            "GIT_NAMESPACE",
            "GIT_COMMON_DIR",
            "GIT_PREFIX",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("GIT_TERMINAL_PROMPT", "0")
            .env("LC_ALL", "C")
            .env("GIT_AUTHOR_NAME", "agentkit")
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
        cmd
    }

    /// Runs git and returns its output whatever the exit status.
    fn output(&self, index: Option<&Path>, args: &[&str], input: Option<&[u8]>) -> Result<Output, SnapshotError> {
        let operation = || format!("git {}", args.first().copied().unwrap_or_default());
        let mut cmd = self.command(index);
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
        let out = self.output(None, &["rev-parse", "-q", "--verify", &format!("{refname}^{{commit}}")], None)?;
        Ok(out.status.success())
    }

    /// Untracked directories without non-ignored files, relative to the root
    /// (`ls-files -o --directory` with the given index).
    fn empty_dirs(&self, index: &Path) -> Result<BTreeSet<String>, SnapshotError> {
        let out = self.run(Some(index), &["ls-files", "-z", "-o", "--directory", "--exclude-standard"], None)?;
        Ok(split_nul(&out)
            .filter(|p| p.ends_with('/'))
            .map(|p| p.trim_end_matches('/').to_owned())
            .filter(|p| !p.is_empty())
            .collect())
    }

    fn snapshot(&self) -> Result<SnapshotId, SnapshotError> {
        let tmp = tempfile::tempdir().map_err(io_err(Path::new("temporary directory")))?;
        let index = tmp.path().join("index");
        let head = self.head()?;
        if let Some(head) = &head {
            self.run(Some(&index), &["read-tree", head], None)?;
        }
        self.run(Some(&index), &["add", "-A"], None)?;
        let tree = self.run_text(Some(&index), &["write-tree"])?.trim().to_owned();
        let dirs = self.empty_dirs(&index)?;

        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nonce = format!(
            "{}.{}.{}",
            std::process::id(),
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let message = format!("agentkit snapshot\n\nnonce: {nonce}\n");
        let mut args = vec!["commit-tree", "--no-gpg-sign", tree.as_str(), "-m", message.as_str()];
        if let Some(head) = &head {
            args.extend(["-p", head.as_str()]);
        }
        let commit = self.run_text(None, &args)?.trim().to_owned();
        let refname = format!("{REF_PREFIX}{commit}");
        self.run(None, &["update-ref", &refname, &commit], None)?;

        let dir = self.agentkit_dir();
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        match std::fs::read(&self.user_index) {
            Ok(bytes) => write_atomic(&self.saved_index(&commit), &bytes)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                write_atomic(&self.saved_index_absent(&commit), b"")?;
            }
            Err(e) => return Err(io_err(&self.user_index)(e)),
        }
        let mut listing = Vec::new();
        for d in &dirs {
            listing.extend_from_slice(d.as_bytes());
            listing.push(0);
        }
        write_atomic(&self.saved_dirs(&commit), &listing)?;
        tracing::info!(id = %commit, "snapshot taken");
        Ok(SnapshotId(commit))
    }

    fn restore(&self, id: &SnapshotId) -> Result<(), SnapshotError> {
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

        let tmp = tempfile::tempdir().map_err(io_err(Path::new("temporary directory")))?;
        let index = tmp.path().join("index");
        // 1. Write back what differs from the snapshot (changed, missing,
        //    different mode or type); unchanged files are not touched.
        self.run(Some(&index), &["read-tree", id_str], None)?;
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
        //    ignore rules, and not in the snapshot were created after it.
        self.run(Some(&index), &["add", "-A"], None)?;
        let diff = self.run(
            Some(&index),
            &["diff-index", "--cached", "-z", "--raw", "--no-renames", "--ignore-submodules=all", id_str],
            None,
        )?;
        let mut touched_dirs = BTreeSet::new();
        for (meta, path) in raw_entries(&diff) {
            let mut fields = meta.trim_start_matches(':').split(' ');
            let old_mode = fields.next().unwrap_or_default();
            let new_mode = fields.next().unwrap_or_default();
            let status = fields.nth(2).unwrap_or_default();
            if old_mode == GITLINK_MODE || new_mode == GITLINK_MODE {
                continue;
            }
            if status != "A" {
                tracing::warn!(path = %String::from_utf8_lossy(path), status, "file still differs from the snapshot after restore");
                continue;
            }
            let rel = Path::new(std::ffi::OsStr::from_bytes(path));
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
        let fresh = tmp.path().join("index-after");
        self.run(Some(&fresh), &["read-tree", id_str], None)?;
        for dir in self.empty_dirs(&fresh)? {
            if !saved_dirs.contains(&dir) {
                let full = self.root.join(&dir);
                if only_dirs(&full) {
                    let _ = std::fs::remove_dir_all(&full);
                    if let Some(parent) = Path::new(&dir).parent() {
                        self.remove_empty_upwards(parent);
                    }
                }
            }
        }
        for dir in &saved_dirs {
            let full = self.root.join(dir);
            if !full.exists() && is_plain_relative(dir) {
                std::fs::create_dir_all(&full).map_err(io_err(&full))?;
            }
        }
        // 4. The user's index, byte for byte.
        match saved_bytes {
            Some(bytes) => write_atomic(&self.user_index, &bytes)?,
            None => match std::fs::remove_file(&self.user_index) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err(&self.user_index)(e)),
            },
        }
        tracing::info!("snapshot restored");
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
            if std::fs::remove_dir(self.root.join(rel)).is_err() {
                break;
            }
            current = rel.parent();
        }
    }

    fn discard(&self, id: &SnapshotId) -> Result<(), SnapshotError> {
        let id_str = id.as_str();
        if !self.snapshot_exists(id_str)? {
            return Err(SnapshotError::NotFound { id: id.clone() });
        }
        self.run(None, &["update-ref", "-d", &format!("{REF_PREFIX}{id_str}")], None)?;
        for path in [self.saved_index(id_str), self.saved_index_absent(id_str), self.saved_dirs(id_str)] {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err(&path)(e)),
            }
        }
        tracing::info!("snapshot discarded");
        Ok(())
    }
}

/// A relative path with no `..` and no `.git` component.
fn is_plain_relative(path: &str) -> bool {
    use std::path::Component;
    Path::new(path)
        .components()
        .all(|c| matches!(c, Component::Normal(n) if n != ".git") || matches!(c, Component::CurDir))
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

fn split_nul(bytes: &[u8]) -> impl Iterator<Item = &str> {
    bytes.split(|b| *b == 0).filter(|s| !s.is_empty()).filter_map(|s| std::str::from_utf8(s).ok())
}

/// Pairs of (`:old new oldsha newsha status`, path) from `--raw -z` output.
fn raw_entries(bytes: &[u8]) -> Vec<(&str, &[u8])> {
    let mut out = Vec::new();
    let mut parts = bytes.split(|b| *b == 0);
    while let Some(meta) = parts.next() {
        if meta.is_empty() {
            continue;
        }
        let Some(path) = parts.next() else { break };
        if let Ok(meta) = std::str::from_utf8(meta) {
            out.push((meta, path));
        }
    }
    out
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
