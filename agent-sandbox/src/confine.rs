//! Process setup between `fork` and `exec`: the one module of the crate that
//! uses `unsafe`.
//!
//! `std::os::unix::process::CommandExt::pre_exec` is `unsafe` because its hook
//! runs in the forked child of a possibly multi-threaded parent, where only
//! async-signal-safe work is sound: no allocation, no locks another thread
//! might have held at the fork. Everything the hook needs (the parent's pid,
//! the Landlock ruleset file descriptor, the seccomp program) is therefore
//! prepared before the fork, and the hook only makes system calls:
//! `prctl(PR_SET_PDEATHSIG)`, `getppid`, `kill`, `unshare(CLONE_NEWNET)`,
//! `prctl(PR_SET_NO_NEW_PRIVS)`, `seccomp` and `landlock_restrict_self`.
//!
//! The workspace sets `unsafe_code = "deny"` rather than `forbid` so that
//! this module alone can lift it (`#![allow(unsafe_code)]`); every `unsafe`
//! block carries a `SAFETY` comment.
#![allow(unsafe_code)]

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use std::os::unix::process::CommandExt;

/// What the child does to itself before `exec`, prepared in the parent.
#[derive(Default)]
pub(crate) struct ChildSetup {
    /// Die with SIGKILL when the parent (the spawning thread) dies.
    pub(crate) parent_death_signal: bool,
    /// Move into a new, empty network namespace.
    pub(crate) new_netns: bool,
    /// A seccomp program to install.
    pub(crate) seccomp: Option<seccompiler::BpfProgram>,
    /// A Landlock ruleset to restrict the child with.
    pub(crate) landlock: Option<landlock::RulesetCreated>,
}

impl ChildSetup {
    /// Whether there is anything to do in the child at all (a hook forces
    /// `fork` where the standard library could otherwise use `posix_spawn`).
    fn is_empty(&self) -> bool {
        !self.parent_death_signal && !self.new_netns && self.seccomp.is_none() && self.landlock.is_none()
    }

    /// Registers the setup as `cmd`'s pre-exec hook. Call right before spawning.
    pub(crate) fn install(self, cmd: &mut std::process::Command) {
        if self.is_empty() {
            return;
        }
        let ChildSetup { parent_death_signal, new_netns, seccomp, mut landlock } = self;
        // Captured before the fork: the process the child must outlive no longer than.
        let parent = Pid::this();
        let hook = move || -> std::io::Result<()> {
            if parent_death_signal {
                nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
                // The parent may have died between the fork and the prctl: then
                // the child was already re-parented and no signal will come.
                if nix::unistd::getppid() != parent {
                    let _ = nix::sys::signal::raise(Signal::SIGKILL);
                    return Err(Errno::ESRCH.into());
                }
            }
            if new_netns {
                nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)?;
            }
            if let Some(filter) = seccomp.as_deref() {
                // Sets no_new_privs, then installs the (already compiled) program.
                if seccompiler::apply_filter(filter).is_err() {
                    return Err(std::io::Error::from(Errno::last()));
                }
            }
            if let Some(ruleset) = landlock.take() {
                if ruleset.restrict_self().is_err() {
                    return Err(std::io::Error::from(Errno::last()));
                }
            }
            Ok(())
        };
        // SAFETY: the hook runs in the child between fork and exec. It only
        // makes async-signal-safe system calls (prctl, getppid, kill, unshare,
        // seccomp, landlock_restrict_self) on data prepared before the fork;
        // it allocates nothing and takes no lock (`Option::take` moves the
        // ruleset out of the closure's own state; its error values are plain
        // errno codes).
        unsafe {
            cmd.pre_exec(hook);
        }
    }
}
