//! The git state beside the tree: `HEAD`, every ref and the stash list,
//! recorded with a snapshot and put back by its restore.

use super::{Repo, io_err, remove_if_present, write_atomic};
use agent_core::snapshot::{SnapshotError, SnapshotId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// Where a snapshot's refs live in the repository.
const OWN_REFS: &str = "refs/agentkit/";

/// `HEAD`, the refs and the stash list at one moment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct GitState {
    /// `HEAD` as its file holds it: `ref: <name>` (symbolic, possibly to an
    /// unborn branch) or a hex object id (detached).
    head: String,
    /// Every ref under `refs/` except the snapshotter's own: its name, and
    /// a hex object id or `ref: <name>` for a symbolic ref.
    refs: BTreeMap<String, String>,
    /// The stash list (the reflog of `refs/stash`), hex-encoded bytes;
    /// `None` when there is none.
    stash_log: Option<String>,
    /// Whether `refs` and `stash_log` were recorded: not in a repository
    /// with linked worktrees, whose runs share them (a restore in one must
    /// not undo a branch another created); there only `HEAD` is.
    #[serde(default = "recorded")]
    shared_recorded: bool,
}

fn recorded() -> bool {
    true
}

pub use agent_core::snapshot::RefChange;

const STASH_LIST: &str = agent_core::snapshot::RefChange::STASH_LIST;

impl Repo {
    /// Whether the refs are stored in files (not reftable, which is not modelled).
    fn files_backend(&self) -> bool {
        !self.common_dir.join("reftable").exists()
    }

    /// Whether other working trees share this one's refs.
    fn has_linked_worktrees(&self) -> bool {
        self.git_dir != self.common_dir
            || std::fs::read_dir(self.common_dir.join("worktrees")).is_ok_and(|mut d| d.next().is_some())
    }

    fn stash_log_path(&self) -> PathBuf {
        self.common_dir.join("logs/refs/stash")
    }

    /// The git state now; `None` for a reftable repository (not recorded).
    pub(super) fn git_state(&self) -> Result<Option<GitState>, SnapshotError> {
        if !self.files_backend() {
            tracing::warn!("reftable repository: HEAD, refs and stash are not recorded");
            return Ok(None);
        }
        let head_path = self.git_dir.join("HEAD");
        let head = std::fs::read_to_string(&head_path).map_err(io_err(&head_path))?.trim_end().to_owned();
        if self.has_linked_worktrees() {
            return Ok(Some(GitState { head, refs: BTreeMap::new(), stash_log: None, shared_recorded: false }));
        }
        let mut refs = BTreeMap::new();
        if let Some(repo) = &self.gix {
            let platform = repo.references().map_err(super::gix_snapshot::backend("list refs"))?;
            for reference in platform.all().map_err(super::gix_snapshot::backend("list refs"))? {
                let reference = reference
                    .map_err(|e| SnapshotError::Backend { operation: "list refs".into(), message: e.to_string() })?;
                let name = reference.name().as_bstr().to_string();
                if !name.starts_with("refs/") || name.starts_with(OWN_REFS) {
                    continue;
                }
                let target = match reference.target() {
                    gix::refs::TargetRef::Object(id) => id.to_string(),
                    gix::refs::TargetRef::Symbolic(to) => format!("ref: {}", to.as_bstr()),
                };
                refs.insert(name, target);
            }
        } else {
            let out = self.run(None, &["for-each-ref", "--format=%(refname)%00%(symref)%00%(objectname)"], None)?;
            for line in String::from_utf8_lossy(&out).lines() {
                let mut parts = line.split('\0');
                let (Some(name), Some(symref), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
                    continue;
                };
                if name.starts_with(OWN_REFS) {
                    continue;
                }
                let target = if symref.is_empty() { id.to_owned() } else { format!("ref: {symref}") };
                refs.insert(name.to_owned(), target);
            }
        }
        let log = self.stash_log_path();
        let stash_log = match std::fs::read(&log) {
            Ok(bytes) => Some(hex::encode(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_err(&log)(e)),
        };
        Ok(Some(GitState { head, refs, stash_log, shared_recorded: true }))
    }

    /// What differs between `saved` and the state now, `HEAD` first.
    pub(super) fn ref_changes(&self, saved: &GitState) -> Result<Vec<RefChange>, SnapshotError> {
        let Some(now) = self.git_state()? else { return Ok(Vec::new()) };
        Ok(diff(saved, &now))
    }

    /// Checks that `saved` can be put back: every object it names that is
    /// not where it is now still exists. Returns the changes to undo.
    pub(super) fn check_git_state(&self, id: &SnapshotId, saved: &GitState) -> Result<Vec<RefChange>, SnapshotError> {
        let changes = self.ref_changes(saved)?;
        let mut missing = Vec::new();
        for change in &changes {
            let Some(value) = &change.snapshot else { continue };
            let ids: Vec<String> = if change.name == STASH_LIST {
                stash_entries(value).into_iter().collect()
            } else if value.starts_with("ref: ") {
                Vec::new()
            } else {
                vec![value.clone()]
            };
            for object in ids {
                if !self.object_exists(&object)? {
                    missing.push(format!("{change} (object {object} is gone)"));
                }
            }
        }
        if missing.is_empty() {
            Ok(changes)
        } else {
            Err(SnapshotError::RestoreRefused { id: id.clone(), reason: missing.join("; ") })
        }
    }

    fn object_exists(&self, hex: &str) -> Result<bool, SnapshotError> {
        if let Some(repo) = &self.gix {
            let Ok(id) = gix::ObjectId::from_hex(hex.as_bytes()) else { return Ok(false) };
            return Ok(repo.has_object(id));
        }
        let out = self.output(None, &["cat-file", "-e", &format!("{hex}^{{object}}")], None)?;
        Ok(out.status.success())
    }

    /// Puts `saved` back: `HEAD`, then the refs in one transaction, then the
    /// symbolic refs, then the stash list. `changes` comes from
    /// [`check_git_state`](Self::check_git_state).
    pub(super) fn put_git_state(&self, saved: &GitState, changes: &[RefChange]) -> Result<(), SnapshotError> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut transaction = String::from("start\n");
        let mut symbolic = Vec::new();
        for change in changes {
            match (change.name.as_str(), &change.snapshot) {
                (STASH_LIST, _) => {}
                ("HEAD", Some(head)) => match head.strip_prefix("ref: ") {
                    Some(target) => {
                        self.run(None, &["symbolic-ref", "-m", "agentkit restore", "HEAD", target], None)?;
                    }
                    None => {
                        self.run(None, &["update-ref", "--no-deref", "-m", "agentkit restore", "HEAD", head], None)?;
                    }
                },
                ("HEAD", None) => {}
                (name, Some(value)) => match value.strip_prefix("ref: ") {
                    Some(target) => {
                        if change.now.is_some() {
                            transaction.push_str(&format!("option no-deref\ndelete {name}\n"));
                        }
                        symbolic.push((name, target));
                    }
                    None => transaction.push_str(&format!("option no-deref\nupdate {name} {value}\n")),
                },
                (name, None) => transaction.push_str(&format!("option no-deref\ndelete {name}\n")),
            }
        }
        if transaction != "start\n" {
            transaction.push_str("prepare\ncommit\n");
            self.run(None, &["update-ref", "-m", "agentkit restore", "--stdin"], Some(transaction.as_bytes()))?;
        }
        for (name, target) in symbolic {
            self.run(None, &["symbolic-ref", "-m", "agentkit restore", name, target], None)?;
        }
        // The stash list last: the ref updates above may have appended to it.
        let log = self.stash_log_path();
        if !changes.iter().any(|c| c.name == STASH_LIST || c.name == "refs/stash") {
            tracing::info!(changes = changes.len(), "HEAD and refs put back");
            return Ok(());
        }
        match &saved.stash_log {
            Some(encoded) => {
                let bytes = hex::decode(encoded).map_err(|e| SnapshotError::Backend {
                    operation: "read the saved stash list".into(),
                    message: e.to_string(),
                })?;
                if std::fs::read(&log).ok().as_deref() != Some(bytes.as_slice()) {
                    if let Some(dir) = log.parent() {
                        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
                    }
                    write_atomic(&log, &bytes)?;
                }
            }
            None => remove_if_present(&log)?,
        }
        tracing::info!(changes = changes.len(), "HEAD, refs and stash put back");
        Ok(())
    }
}

/// The object ids the entries of a stash list (reflog text) point at.
fn stash_entries(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|line| line.split(' ').nth(1).map(str::to_owned))
        .filter(|id| id.bytes().any(|b| b != b'0'))
        .collect()
}

fn diff(saved: &GitState, now: &GitState) -> Vec<RefChange> {
    let mut changes = Vec::new();
    if saved.head != now.head {
        changes.push(RefChange::new("HEAD", Some(saved.head.clone()), Some(now.head.clone())));
    }
    if !(saved.shared_recorded && now.shared_recorded) {
        return changes;
    }
    let names: BTreeSet<&String> = saved.refs.keys().chain(now.refs.keys()).collect();
    for name in names {
        let (a, b) = (saved.refs.get(name), now.refs.get(name));
        if a != b {
            changes.push(RefChange::new(name.clone(), a.cloned(), b.cloned()));
        }
    }
    if saved.stash_log != now.stash_log {
        let text = |v: &Option<String>| {
            v.as_ref().map(|e| String::from_utf8_lossy(&hex::decode(e).unwrap_or_default()).into_owned())
        };
        changes.push(RefChange::new(STASH_LIST, text(&saved.stash_log), text(&now.stash_log)));
    }
    changes
}
