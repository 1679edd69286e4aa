//! Process setup between `fork` and `exec`: the one module of the crate that
//! uses `unsafe`.
//!
//! `std::os::unix::process::CommandExt::pre_exec` is `unsafe` because its hook
//! runs in the forked child of a possibly multi-threaded parent, where only
//! async-signal-safe work is sound: no allocation, no locks another thread
//! might have held at the fork. Everything the hook needs (the parent's pid,
//! the Landlock ruleset file descriptor, the seccomp program, the paths and
//! the id-map lines as C strings) is therefore prepared before the fork, and
//! the hook only makes system calls, in this order:
//!
//! 1. `setsid`: a new session without a controlling terminal (no `TIOCSTI`
//!    keystroke injection into the user's terminal, no `/dev/tty` prompt),
//!    whose process group the executor ends;
//! 2. writing `0` to a cgroup's `cgroup.procs` (the run's own cgroup, so
//!    processes that leave the session are still ended);
//! 3. `prctl(PR_SET_PDEATHSIG)` and the `getppid` re-check;
//! 4. joining the executor's network namespace (`setns`), or `unshare` of
//!    the user, network and mount namespaces, the user namespace's id maps, the mount namespace made private and the read-only
//!    bind mounts (`.git` under `WorkspaceWrite`);
//! 5. dropping every capability (bounding set, ambient, permitted,
//!    effective, inheritable), so the command can neither re-enter the host's
//!    namespaces nor undo a mount, and `PR_SET_NO_NEW_PRIVS`;
//! 6. the seccomp program and `landlock_restrict_self`, whose status is
//!    checked: a ruleset the kernel did not enforce fails the spawn.
//!
//! The workspace sets `unsafe_code = "deny"` rather than `forbid` so that
//! this module alone can lift it (`#![allow(unsafe_code)]`); every `unsafe`
//! block carries a `SAFETY` comment.
#![allow(unsafe_code)]

use nix::errno::Errno;
use nix::libc;
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;

/// A read-only bind mount made in the child's mount namespace.
#[derive(Debug)]
pub(crate) struct ReadOnlyBind {
    /// The path, bound onto itself.
    pub(crate) path: CString,
    /// Mount flags of the filesystem it lives on (`MS_NOSUID`, `MS_NODEV`,
    /// ...) which a remount inside a user namespace must keep.
    pub(crate) keep_flags: u64,
}

/// The user namespace's id maps: lines for `/proc/self/uid_map` and
/// `gid_map`, mapping the caller's ids onto themselves.
#[derive(Debug)]
pub(crate) struct IdMaps {
    pub(crate) uid_line: Vec<u8>,
    pub(crate) gid_line: Vec<u8>,
}

impl IdMaps {
    /// Maps the current effective uid and gid onto themselves.
    pub(crate) fn identity() -> Self {
        let uid = nix::unistd::geteuid().as_raw();
        let gid = nix::unistd::getegid().as_raw();
        Self { uid_line: format!("{uid} {uid} 1\n").into_bytes(), gid_line: format!("{gid} {gid} 1\n").into_bytes() }
    }
}

/// What the child does to itself before `exec`, prepared in the parent.
#[derive(Default)]
pub(crate) struct ChildSetup {
    /// Die with SIGKILL when the parent (the spawning thread) dies.
    pub(crate) parent_death_signal: bool,
    /// The open `cgroup.procs` file of the run's cgroup, to join it.
    pub(crate) cgroup_procs: Option<OwnedFd>,
    /// Move into a new, empty network namespace.
    pub(crate) new_netns: bool,
    /// Join this (empty) network namespace instead.
    pub(crate) join_netns: Option<std::sync::Arc<OwnedFd>>,
    /// Move into a new user namespace first (with these id maps), which
    /// makes the network and mount namespaces possible without privileges.
    pub(crate) user_ns: Option<IdMaps>,
    /// Bind these paths read-only in a new, private mount namespace.
    pub(crate) read_only: Vec<ReadOnlyBind>,
    /// Drop every capability and set `no_new_privs`.
    pub(crate) drop_caps: bool,
    /// A seccomp program to install.
    pub(crate) seccomp: Option<seccompiler::BpfProgram>,
    /// A Landlock ruleset to restrict the child with.
    pub(crate) landlock: Option<landlock::RulesetCreated>,
}

/// The highest capability number this kernel knows, read once before any
/// fork (`/proc/sys/kernel/cap_last_cap`; 40 on Linux 5.9 and later).
pub(crate) fn cap_last_cap() -> u32 {
    static LAST: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *LAST.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/cap_last_cap").ok().and_then(|s| s.trim().parse().ok()).unwrap_or(63)
    })
}

/// `struct __user_cap_header_struct` of `capset(2)`.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

/// `struct __user_cap_data_struct` of `capset(2)`.
#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// `_LINUX_CAPABILITY_VERSION_3`: 64-bit capability sets in two words.
const CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// Drops every capability of the calling process: the bounding set (so an
/// `exec` cannot give any back, setuid-root binaries and file capabilities
/// included), the ambient set, then permitted, effective and inheritable.
/// Async-signal-safe: system calls only.
fn drop_all_capabilities(last_cap: u32) -> Result<(), Errno> {
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) } != 0 {
        // Kernels before 4.3 have no ambient set: nothing to clear there.
        if Errno::last() != Errno::EINVAL {
            return Err(Errno::last());
        }
    }
    for cap in 0..=last_cap {
        // SAFETY: prctl with integer arguments only.
        if unsafe { libc::prctl(libc::PR_CAPBSET_DROP, libc::c_ulong::from(cap), 0, 0, 0) } != 0 {
            let e = Errno::last();
            // EINVAL: a capability this kernel does not know.
            if e != Errno::EINVAL {
                return Err(e);
            }
        }
    }
    let header = CapHeader { version: CAPABILITY_VERSION_3, pid: 0 };
    let data = [CapData { effective: 0, permitted: 0, inheritable: 0 }; 2];
    // SAFETY: capset reads a header and two data structs of the documented
    // layout (version 3), both live for the duration of the call.
    if unsafe { libc::syscall(libc::SYS_capset, &raw const header, data.as_ptr()) } != 0 {
        return Err(Errno::last());
    }
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// Writes `bytes` to the file at `path` (a `/proc/self` file). Async-signal-safe.
fn write_proc_file(path: &std::ffi::CStr, bytes: &[u8]) -> Result<(), Errno> {
    let fd = nix::fcntl::open(
        path,
        nix::fcntl::OFlag::O_WRONLY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )?;
    let n = nix::unistd::write(&fd, bytes)?;
    if n == bytes.len() { Ok(()) } else { Err(Errno::EIO) }
}

impl ChildSetup {
    /// Registers the setup as `cmd`'s pre-exec hook. Call right before
    /// spawning. The hook always runs (`setsid` at least), so the standard
    /// library forks rather than using `posix_spawn`.
    pub(crate) fn install(self, cmd: &mut std::process::Command) {
        let ChildSetup {
            parent_death_signal,
            cgroup_procs,
            new_netns,
            join_netns,
            user_ns,
            read_only,
            drop_caps,
            seccomp,
            mut landlock,
        } = self;
        // Prepared before the fork: nothing below allocates.
        let parent = Pid::this();
        let last_cap = cap_last_cap();
        let setgroups_path = c"/proc/self/setgroups";
        let uid_map_path = c"/proc/self/uid_map";
        let gid_map_path = c"/proc/self/gid_map";
        let hook = move || -> std::io::Result<()> {
            nix::unistd::setsid()?;
            if let Some(procs) = cgroup_procs.as_ref() {
                // "0" moves the writing process: the child joins before it
                // can fork anything.
                // SAFETY: write(2) of a 1-byte static buffer to an open fd.
                if unsafe { libc::write(procs.as_raw_fd(), b"0".as_ptr().cast(), 1) } != 1 {
                    return Err(std::io::Error::from(Errno::last()));
                }
            }
            if parent_death_signal {
                nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
                // The parent may have died between the fork and the prctl: then
                // the child was already re-parented and no signal will come.
                if nix::unistd::getppid() != parent {
                    let _ = nix::sys::signal::raise(Signal::SIGKILL);
                    return Err(Errno::ESRCH.into());
                }
            }
            if let Some(ns) = join_netns.as_deref() {
                nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET)?;
            }
            let mut flags = nix::sched::CloneFlags::empty();
            if new_netns {
                flags |= nix::sched::CloneFlags::CLONE_NEWNET;
            }
            if !read_only.is_empty() {
                flags |= nix::sched::CloneFlags::CLONE_NEWNS;
            }
            if let Some(maps) = user_ns.as_ref() {
                nix::sched::unshare(flags | nix::sched::CloneFlags::CLONE_NEWUSER)?;
                write_proc_file(setgroups_path, b"deny")?;
                write_proc_file(uid_map_path, &maps.uid_line)?;
                write_proc_file(gid_map_path, &maps.gid_line)?;
            } else if !flags.is_empty() {
                nix::sched::unshare(flags)?;
            }
            if !read_only.is_empty() {
                use nix::mount::{MsFlags, mount};
                // Nothing mounted here may reach the host's namespace.
                mount(
                    None::<&std::ffi::CStr>,
                    c"/",
                    None::<&std::ffi::CStr>,
                    MsFlags::MS_REC | MsFlags::MS_PRIVATE,
                    None::<&std::ffi::CStr>,
                )?;
                for bind in &read_only {
                    let path = bind.path.as_c_str();
                    mount(
                        Some(path),
                        path,
                        None::<&std::ffi::CStr>,
                        MsFlags::MS_BIND | MsFlags::MS_REC,
                        None::<&std::ffi::CStr>,
                    )?;
                    let flags = MsFlags::MS_BIND
                        | MsFlags::MS_REMOUNT
                        | MsFlags::MS_RDONLY
                        | MsFlags::from_bits_truncate(bind.keep_flags);
                    mount(None::<&std::ffi::CStr>, path, None::<&std::ffi::CStr>, flags, None::<&std::ffi::CStr>)?;
                }
            }
            if drop_caps {
                drop_all_capabilities(last_cap)?;
            }
            if let Some(filter) = seccomp.as_deref() {
                // Sets no_new_privs, then installs the (already compiled) program.
                if seccompiler::apply_filter(filter).is_err() {
                    return Err(std::io::Error::from(Errno::last()));
                }
            }
            if let Some(ruleset) = landlock.take() {
                match ruleset.restrict_self() {
                    Ok(status) if status.ruleset != landlock::RulesetStatus::NotEnforced => {}
                    // The kernel accepted the call but enforces nothing: the
                    // policy the parent checked for is not there. Fail the spawn.
                    Ok(_) => return Err(Errno::ENOTSUP.into()),
                    Err(_) => return Err(std::io::Error::from(Errno::last())),
                }
            }
            Ok(())
        };
        // SAFETY: the hook runs in the child between fork and exec. It only
        // makes async-signal-safe system calls (setsid, write, prctl, getppid,
        // kill, unshare, open, mount, capset, seccomp, landlock_restrict_self)
        // on data prepared before the fork; it allocates nothing and takes no
        // lock (`Option::take` moves the ruleset out of the closure's own
        // state; its error values are plain errno codes).
        unsafe {
            cmd.pre_exec(hook);
        }
    }
}

/// Whether a child can enter a new user namespace with network and mount
/// namespaces and map its ids there: spawns `/bin/sh -c :` doing just that.
pub(crate) fn probe_user_namespace() -> bool {
    let maps = IdMaps::identity();
    let mut cmd = std::process::Command::new("/bin/sh");
    cmd.args(["-c", ":"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let hook = move || -> std::io::Result<()> {
        use nix::sched::CloneFlags;
        nix::sched::unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNET | CloneFlags::CLONE_NEWNS)?;
        write_proc_file(c"/proc/self/setgroups", b"deny")?;
        write_proc_file(c"/proc/self/uid_map", &maps.uid_line)?;
        write_proc_file(c"/proc/self/gid_map", &maps.gid_line)?;
        Ok(())
    };
    // SAFETY: the hook only makes system calls (unshare, open, write,
    // close) on data prepared before the fork.
    unsafe {
        cmd.pre_exec(hook);
    }
    cmd.status().is_ok_and(|s| s.success())
}
