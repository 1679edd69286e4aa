//! Signalling and watching a child's process group.
//!
//! Every child runs in its own process group (its pid is the group id), so a
//! limit can end the whole tree it started, grandchildren included.

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::process::ExitStatus;
use std::time::Duration;
use tokio::process::Child;
use tokio::time::Instant;

/// Sends `signal` to every process in group `pgid`, ignoring a group that is gone.
pub(crate) fn signal_group(pgid: Pid, signal: Signal) {
    // 0 would be the caller's own group, 1 init's (or everything): never a child's.
    if pgid.as_raw() <= 1 {
        tracing::warn!(pgid = pgid.as_raw(), "refusing to signal a process group that is not a child's");
        return;
    }
    if let Err(e) = killpg(pgid, signal) {
        if e != Errno::ESRCH {
            tracing::debug!(pgid = pgid.as_raw(), ?signal, error = %e, "killpg failed");
        }
    }
}

/// Whether a live (non-zombie) process is still in group `pgid`.
///
/// Zombies count as gone: an orphaned grandchild is reaped by whatever
/// process adopted it, which may be slow to do so (or never, in containers).
pub(crate) fn group_alive(pgid: Pid) -> bool {
    if pgid.as_raw() <= 1 {
        return false;
    }
    match killpg(pgid, None) {
        Err(Errno::ESRCH) => false,
        Err(_) | Ok(()) => live_member_in_proc(pgid).unwrap_or(true),
    }
}

/// Scans `/proc` for a non-zombie process whose group is `pgid`; `None` when
/// `/proc` cannot be read.
fn live_member_in_proc(pgid: Pid) -> Option<bool> {
    let entries = std::fs::read_dir("/proc").ok()?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // Fields after the command name (which may hold spaces and parentheses).
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else { continue };
        let mut fields = after.split_whitespace();
        let state = fields.next();
        let _ppid = fields.next();
        let pgrp = fields.next().and_then(|f| f.parse::<i32>().ok());
        if pgrp == Some(pgid.as_raw()) && !matches!(state, Some("Z" | "X")) {
            return Some(true);
        }
    }
    Some(false)
}

/// Ends group `pgid`: SIGTERM, up to `grace` for every member to go, then
/// SIGKILL. Reaps the direct child and returns its exit status.
pub(crate) async fn terminate_group(pgid: Pid, child: &mut Child, grace: Duration) -> Option<ExitStatus> {
    signal_group(pgid, Signal::SIGTERM);
    let deadline = Instant::now() + grace;
    let mut status = None;
    loop {
        if status.is_none() {
            if let Ok(Some(s)) = child.try_wait() {
                status = Some(s);
            }
        }
        if status.is_some() && !group_alive(pgid) {
            return status;
        }
        if Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    signal_group(pgid, Signal::SIGKILL);
    match status {
        Some(s) => Some(s),
        None => child.wait().await.ok(),
    }
}

/// Kills group `pgid` with SIGKILL when dropped while armed: a cancelled run
/// leaves no process behind.
#[derive(Debug)]
pub(crate) struct GroupGuard {
    pgid: Pid,
    armed: bool,
}

impl GroupGuard {
    /// Guards group `pgid`.
    pub(crate) fn new(pgid: Pid) -> Self {
        Self { pgid, armed: true }
    }

    /// The run finished normally; nothing to kill on drop.
    pub(crate) fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if self.armed {
            signal_group(self.pgid, Signal::SIGKILL);
        }
    }
}
