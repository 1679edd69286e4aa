//! Recovery of a workspace a killed process left mid-run.

use super::owner::{self, Owner};
use super::{MARKER, REF_PREFIX, RUN_MARKER, Repo, check_id, io_err, remove_if_present};
use agent_core::snapshot::{SnapshotError, SnapshotId};

/// What [`GitSnapshotter::recover`](super::GitSnapshotter::recover) did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecoverReport {
    /// A process that is gone left the workspace mid-run: it was restored
    /// to that run's first snapshot, and the run's snapshots were discarded.
    Restored {
        /// The snapshot the workspace now matches.
        snapshot: SnapshotId,
        /// The process that left it (`None` for a marker of an older format).
        owner: Option<u32>,
        /// The snapshots of dead owners that were discarded.
        discarded: Vec<SnapshotId>,
    },
    /// No marker: no run was left unfinished.
    NothingToRecover,
    /// The process that owns the workspace is still running: nothing was done.
    OwnerRunning {
        /// Its process id.
        pid: u32,
        /// The snapshot its marker names.
        snapshot: SnapshotId,
    },
}

impl RecoverReport {
    /// Whether the workspace was restored.
    pub fn recovered(&self) -> bool {
        matches!(self, Self::Restored { .. })
    }

    /// The snapshot involved, if any.
    pub fn snapshot(&self) -> Option<&SnapshotId> {
        match self {
            Self::Restored { snapshot, .. } | Self::OwnerRunning { snapshot, .. } => Some(snapshot),
            Self::NothingToRecover => None,
        }
    }

    /// One line saying what happened.
    pub fn reason(&self) -> String {
        match self {
            Self::Restored { snapshot, owner: Some(pid), .. } => {
                format!("restored snapshot {snapshot} left by process {pid}, which is gone")
            }
            Self::Restored { snapshot, owner: None, .. } => {
                format!("restored snapshot {snapshot} of an interrupted run")
            }
            Self::NothingToRecover => "nothing to recover".into(),
            Self::OwnerRunning { pid, .. } => format!("owner still running (pid {pid})"),
        }
    }
}

/// One marker found in the snapshotter's directory.
struct Found {
    path: std::path::PathBuf,
    id: SnapshotId,
    owner: Option<Owner>,
}

impl Repo {
    /// Removes the lock file git or gix takes on the ref of snapshot `id`
    /// while it changes it. Called only once no run's owner is alive: a
    /// process killed while it deleted the ref leaves the lock behind, and
    /// every later edit of that ref would fail on it.
    fn clear_stale_ref_lock(&self, id: &str) -> Result<(), SnapshotError> {
        let lock = self.common_dir.join(format!("{REF_PREFIX}{id}.lock"));
        if lock.is_file() {
            tracing::warn!(lock = %lock.display(), "removing the ref lock a killed run left");
        }
        remove_if_present(&lock)
    }

    fn markers(&self) -> Result<Vec<Found>, SnapshotError> {
        let dir = self.agentkit_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err(&dir)(e)),
        };
        let mut found = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io_err(&dir))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if !(name.starts_with(RUN_MARKER) || name == MARKER) {
                continue;
            }
            let path = entry.path();
            let text = match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_err(&path)(e)),
            };
            let (id, owner) = owner::parse(&text);
            found.push(Found { path, id, owner });
        }
        Ok(found)
    }

    /// Restores a workspace whose run's owner is gone (see
    /// [`GitSnapshotter::recover`](super::GitSnapshotter::recover)).
    pub(super) fn recover_run(&self) -> Result<RecoverReport, SnapshotError> {
        let markers = self.markers()?;
        if let Some(live) = markers.iter().find(|m| m.owner.is_some_and(|o| o.is_running())) {
            let pid = live.owner.map_or(0, |o| o.pid);
            return Ok(RecoverReport::OwnerRunning { pid, snapshot: live.id.clone() });
        }
        let interrupted = markers.iter().find(|m| m.path.ends_with(MARKER)).map(|m| m.owner);
        let finished = self.finish_interrupted_restore()?;
        let mut runs = Vec::new();
        for marker in markers.into_iter().filter(|m| !m.path.ends_with(MARKER)) {
            if check_id(&marker.id).is_ok() {
                // Its owner is gone: a lock it held on the snapshot's ref
                // (killed while discarding) can only be stale.
                self.clear_stale_ref_lock(marker.id.as_str())?;
            }
            if check_id(&marker.id).is_ok() && self.snapshot_exists(marker.id.as_str())? {
                runs.push(marker);
            } else {
                tracing::warn!(id = %marker.id, "dropping the run marker of a snapshot that no longer exists");
                remove_if_present(&marker.path)?;
            }
        }
        // The run's first snapshot is the user's state.
        runs.sort_by_key(|m| m.owner.map_or(0, |o| o.wall_ms));
        if let Some(first) = runs.first() {
            tracing::warn!(id = %first.id, owner = ?first.owner, "restoring a workspace left mid-run");
            self.restore_inner(&first.id)?;
            let mut discarded = Vec::new();
            for run in &runs {
                self.discard_inner(&run.id)?;
                discarded.push(run.id.clone());
            }
            return Ok(RecoverReport::Restored {
                snapshot: first.id.clone(),
                owner: first.owner.map(|o| o.pid),
                discarded,
            });
        }
        match finished {
            Some(snapshot) => Ok(RecoverReport::Restored {
                snapshot,
                owner: interrupted.flatten().map(|o| o.pid),
                discarded: Vec::new(),
            }),
            None => Ok(RecoverReport::NothingToRecover),
        }
    }
}
