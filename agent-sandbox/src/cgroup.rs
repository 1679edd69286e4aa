//! A cgroup (v2) per run: the process tree of a command, including
//! processes that left its session and process group (`setsid`, double
//! forks), is ended as a whole with `cgroup.kill`.
//!
//! The child joins its cgroup before `exec` (it writes `0` to the cgroup's
//! `cgroup.procs`, opened by the parent), so nothing it forks can start
//! outside. Cgroups need a writable cgroup2 hierarchy: root, or a delegated
//! subtree. Where there is none the executor falls back to its process
//! group, and says so in the run's sandbox report.
//!
//! When the host is PID 1 (a container's init), orphans of a command are
//! re-parented to it and nobody else would reap them: the run reaps the
//! exited members of its own cgroup (and only those: never a child the host
//! spawned otherwise).

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The directory under which this process makes its runs' cgroups, when it
/// can: `<cgroup2 mount><own cgroup>/agentkit-<pid>`, created once.
fn base() -> Option<&'static Path> {
    static BASE: OnceLock<Option<PathBuf>> = OnceLock::new();
    BASE.get_or_init(|| {
        let mount = cgroup2_mount()?;
        let own = std::fs::read_to_string("/proc/self/cgroup")
            .ok()?
            .lines()
            .find_map(|l| l.strip_prefix("0::").map(str::to_owned))?;
        let parent = mount.join(own.trim_start_matches('/'));
        remove_stale(&parent);
        let base = parent.join(format!("agentkit-{}", std::process::id()));
        match std::fs::create_dir(&base) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                tracing::debug!(error = %e, dir = %base.display(), "no cgroup for runs");
                return None;
            }
        }
        // `cgroup.kill` (Linux 5.14) is what makes the whole tree end at once.
        base.join("cgroup.kill").exists().then_some(base)
    })
    .as_deref()
}

/// Removes the run cgroups of processes of this crate that are gone
/// (`agentkit-<pid>` whose pid no longer runs), ending what was left in them.
fn remove_stale(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("agentkit-")).and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let dir = entry.path();
        if let Ok(runs) = std::fs::read_dir(&dir) {
            for run in runs.flatten().filter(|r| r.file_type().is_ok_and(|t| t.is_dir())) {
                let _ = std::fs::write(run.path().join("cgroup.kill"), "1");
                let _ = std::fs::remove_dir(run.path());
            }
        }
        let _ = std::fs::remove_dir(&dir);
    }
}

/// Where the cgroup2 hierarchy is mounted (`/sys/fs/cgroup`, or
/// `/sys/fs/cgroup/unified` on hybrid systems).
fn cgroup2_mount() -> Option<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    mounts.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        if right.split_whitespace().next()? != "cgroup2" {
            return None;
        }
        left.split_whitespace().nth(4).map(PathBuf::from)
    })
}

/// Whether runs get a cgroup of their own here.
pub fn cgroups_supported() -> bool {
    base().is_some()
}

/// Empty run cgroups kept for reuse, at most [`POOL_SIZE`].
static POOL: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// How many empty run cgroups are kept.
const POOL_SIZE: usize = 8;

/// The cgroup of one run. Dropping it ends every process still in it and
/// removes it.
#[derive(Debug)]
pub(crate) struct RunCgroup {
    dir: PathBuf,
}

impl RunCgroup {
    /// A new, empty cgroup for one run, and its `cgroup.procs` opened for the
    /// child to join; `None` where cgroups cannot be made.
    pub(crate) fn create() -> Option<(Self, OwnedFd)> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let base = base()?;
        let reused = POOL.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop();
        let dir = match reused {
            Some(dir) => dir,
            None => {
                let dir = base.join(format!("run-{}", NEXT.fetch_add(1, Ordering::Relaxed)));
                if let Err(e) = std::fs::create_dir(&dir) {
                    tracing::debug!(error = %e, dir = %dir.display(), "could not create the run's cgroup");
                    return None;
                }
                dir
            }
        };
        match std::fs::OpenOptions::new().write(true).open(dir.join("cgroup.procs")) {
            Ok(f) => Some((Self { dir }, OwnedFd::from(f))),
            Err(e) => {
                tracing::debug!(error = %e, "could not open cgroup.procs");
                let _ = std::fs::remove_dir(&dir);
                None
            }
        }
    }

    /// The pids in the cgroup now.
    fn members(&self) -> Vec<i32> {
        std::fs::read_to_string(self.dir.join("cgroup.procs"))
            .map(|t| t.lines().filter_map(|l| l.trim().parse().ok()).collect())
            .unwrap_or_default()
    }

    /// Whether a live process is still in the cgroup.
    pub(crate) fn populated(&self) -> bool {
        match std::fs::read_to_string(self.dir.join("cgroup.events")) {
            Ok(events) => events.lines().any(|l| l.trim() == "populated 1"),
            Err(_) => !self.members().is_empty(),
        }
    }

    /// Ends every process in the cgroup (`cgroup.kill`: SIGKILL to all,
    /// atomically against forks), waits briefly for them to go, reaps those
    /// re-parented to this process when it is PID 1, and removes the cgroup.
    /// Returns how many processes were still there.
    pub(crate) async fn kill_all(mut self) -> usize {
        let left = self.members();
        if !left.is_empty() {
            if std::fs::write(self.dir.join("cgroup.kill"), "1").is_err() {
                for pid in &left {
                    let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
                }
            }
            for _ in 0..100 {
                if !self.populated() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        reap_adopted(&left);
        let n = left.len();
        // An empty cgroup is kept for the next run (making and removing one
        // costs more than a fork); one still populated is removed on drop.
        if !self.populated() {
            let mut pool = POOL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if pool.len() < POOL_SIZE {
                pool.push(std::mem::take(&mut self.dir));
                return n;
            }
        }
        drop(self);
        n
    }
}

impl Drop for RunCgroup {
    fn drop(&mut self) {
        if self.dir.as_os_str().is_empty() {
            return;
        }
        let left = self.members();
        if !left.is_empty() && std::fs::write(self.dir.join("cgroup.kill"), "1").is_err() {
            for pid in &left {
                let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
            }
        }
        // Fails while a killed process has not exited yet; retried briefly.
        for _ in 0..50 {
            if std::fs::remove_dir(&self.dir).is_ok() || !self.dir.exists() {
                return;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        tracing::debug!(dir = %self.dir.display(), "run cgroup not removed");
    }
}

/// When this process is PID 1, reaps those of `pids` that it adopted
/// (orphans of a command, re-parented here) and that have exited. Never
/// waits for any other child.
fn reap_adopted(pids: &[i32]) {
    if std::process::id() != 1 {
        return;
    }
    let me = nix::unistd::getpid().as_raw();
    for &pid in pids {
        let parent = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok().and_then(|stat| {
            let after = &stat[stat.rfind(')')? + 1..];
            after.split_whitespace().nth(1)?.parse::<i32>().ok()
        });
        if parent == Some(me) {
            let _ = nix::sys::wait::waitpid(Pid::from_raw(pid), Some(nix::sys::wait::WaitPidFlag::WNOHANG));
        }
    }
}
