//! Sandbox policies for [`ProcessExecutor`](crate::ProcessExecutor): what the
//! kernel can enforce, the confinement prepared for one command before the
//! fork, and the report of what was enforced.
//!
//! - `WorkspaceWrite`: Landlock. Reads stay allowed everywhere; writes
//!   (creating, writing, truncating, renaming, removing files) are allowed only
//!   beneath the command's working directory, the executor's workspace and
//!   extra writable roots, the temporary directory, and `/dev/null`,
//!   `/dev/zero`, `/dev/tty`.
//! - `NoNetwork`: a new, empty network namespace (no interface but a down
//!   loopback) when the kernel lets this process make one; otherwise a seccomp
//!   filter that makes `socket()` fail with `EPERM` for every domain but
//!   `AF_UNIX` (and `io_uring_setup`, which could open sockets behind it).
//!
//! Whether each mechanism works is probed once per process, in a throwaway
//! thread (Landlock, seccomp and `unshare` act on the calling thread only), so
//! a `Required` policy the kernel cannot enforce is refused before anything is
//! spawned.

use crate::confine::ChildSetup;
use agent_core::exec::{Enforcement, ExecError, RunOutput, SandboxPolicy, SandboxReport};
use landlock::{
    ABI, AccessFs, CompatLevel, Compatible, Ruleset, RulesetAttr, RulesetCreated, RulesetCreatedAttr, RulesetStatus,
    path_beneath_rules,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The Landlock ABI whose write rights are handled. V3 covers every write
/// (including truncation and cross-directory renames); later ABIs add device
/// ioctls, network ports and scoping, which are not writes to files.
const HANDLED_ABI: ABI = ABI::V3;

/// Device files any command may write to.
const WRITABLE_DEVICES: &[&str] = &["/dev/null", "/dev/zero", "/dev/tty", "/dev/full"];

/// How far the kernel can enforce `WorkspaceWrite` (Landlock).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LandlockSupport {
    /// Every handled write right is enforced.
    Full,
    /// Landlock works but an older ABI leaves some write rights unhandled
    /// (truncation or cross-directory renames).
    Partial,
    /// No Landlock: the kernel lacks it or it is disabled.
    None,
}

/// How `NoNetwork` can be enforced here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NetworkIsolation {
    /// A new network namespace per command (`unshare(CLONE_NEWNET)`).
    Namespace,
    /// A seccomp filter denying non-Unix sockets.
    Seccomp,
    /// Neither works.
    None,
}

/// What this kernel supports for Landlock, probed once per process.
pub fn landlock_support() -> LandlockSupport {
    static PROBE: OnceLock<LandlockSupport> = OnceLock::new();
    *PROBE.get_or_init(probe_landlock)
}

/// Whether `WorkspaceWrite` is fully enforceable here (Landlock with every
/// handled write right), so a `Required` policy runs rather than being refused.
pub fn landlock_supported() -> bool {
    landlock_support() == LandlockSupport::Full
}

/// How `NoNetwork` is enforced here, probed once per process.
pub fn network_isolation() -> NetworkIsolation {
    static PROBE: OnceLock<NetworkIsolation> = OnceLock::new();
    *PROBE.get_or_init(|| {
        if probe_in_thread(|| nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).is_ok()) {
            NetworkIsolation::Namespace
        } else if seccomp_supported() {
            NetworkIsolation::Seccomp
        } else {
            NetworkIsolation::None
        }
    })
}

/// Whether the seccomp fallback filter can be installed here (the CPU
/// architecture is x86_64 or aarch64 and the kernel has seccomp filters).
pub fn seccomp_supported() -> bool {
    static PROBE: OnceLock<bool> = OnceLock::new();
    *PROBE.get_or_init(|| match socket_filter() {
        Ok(filter) => probe_in_thread(move || seccompiler::apply_filter(&filter).is_ok()),
        Err(_) => false,
    })
}

/// Runs `f` on a new thread that ends right after, so whatever `f` does to its
/// own thread (Landlock, seccomp, namespaces) dies with it.
fn probe_in_thread<F: FnOnce() -> bool + Send + 'static>(f: F) -> bool {
    std::thread::Builder::new().name("agent-sandbox-probe".into()).spawn(f).is_ok_and(|h| h.join().unwrap_or(false))
}

fn probe_landlock() -> LandlockSupport {
    let status = std::thread::Builder::new().name("agent-sandbox-probe".into()).spawn(|| {
        let tmp = std::env::temp_dir();
        let ruleset = write_ruleset(&[tmp.as_path()]).ok()?;
        ruleset.restrict_self().ok().map(|s| s.ruleset)
    });
    match status.ok().and_then(|h| h.join().ok()).flatten() {
        Some(RulesetStatus::FullyEnforced) => LandlockSupport::Full,
        Some(RulesetStatus::PartiallyEnforced) => LandlockSupport::Partial,
        _ => LandlockSupport::None,
    }
}

/// A best-effort Landlock ruleset handling write rights, with writes allowed
/// beneath `roots` and to the usual device files.
fn write_ruleset(roots: &[&Path]) -> Result<RulesetCreated, landlock::RulesetError> {
    let write = AccessFs::from_write(HANDLED_ABI);
    let devices = WRITABLE_DEVICES.iter().map(Path::new).filter(|p| p.exists());
    Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(write)?
        .create()?
        .add_rules(path_beneath_rules(roots.iter().filter(|p| p.exists()), write))?
        .add_rules(path_beneath_rules(devices, write))
}

/// The seccomp filter of the `NoNetwork` fallback: `socket()` fails with
/// `EPERM` for any domain but `AF_UNIX`, and so does `io_uring_setup`.
fn socket_filter() -> Result<seccompiler::BpfProgram, String> {
    use seccompiler::{SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule};
    let arch: seccompiler::TargetArch = std::env::consts::ARCH.try_into().map_err(|e| format!("{e:?}"))?;
    let eperm = nix::errno::Errno::EPERM as u32;
    let af_unix = nix::libc::AF_UNIX as u64;
    let not_unix =
        SeccompCondition::new(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, af_unix).map_err(|e| e.to_string())?;
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    rules.insert(nix::libc::SYS_socket, vec![SeccompRule::new(vec![not_unix]).map_err(|e| e.to_string())?]);
    // An empty rule list matches the syscall whatever its arguments.
    rules.insert(nix::libc::SYS_io_uring_setup, Vec::new());
    let filter = SeccompFilter::new(rules, SeccompAction::Allow, SeccompAction::Errno(eperm), arch)
        .map_err(|e| e.to_string())?;
    filter.try_into().map_err(|e: seccompiler::BackendError| e.to_string())
}

/// The confinement for one command, prepared before the fork, and the report
/// of what it enforces.
pub(crate) struct Prepared {
    pub(crate) setup: ChildSetup,
    pub(crate) report: SandboxReport,
}

/// Prepares `policy` for a command running in `cwd` that may write beneath
/// `writable` too (the temporary directory among them). Refuses a `Required`
/// policy that cannot be fully enforced.
///
/// `network` forces the `NoNetwork` mechanism (unavailable when the kernel
/// lacks it); `None` picks the best one available.
pub(crate) fn prepare(
    policy: &SandboxPolicy,
    cwd: &Path,
    writable: &[PathBuf],
    network: Option<NetworkIsolation>,
    mut setup: ChildSetup,
) -> Result<Prepared, ExecError> {
    let report = |enforced: bool, detail: String| SandboxReport {
        requested: policy.clone(),
        enforced,
        detail: Some(detail),
        denial_suspected: None,
    };
    let unenforced = |name: &str, enforcement: Enforcement, why: String| match enforcement {
        Enforcement::Required => {
            Err(ExecError::SandboxUnavailable { reason: format!("sandbox policy `{name}` is required but {why}") })
        }
        _ => Ok(format!("{why}: the process ran unconfined (policy `{name}` not enforced, best effort)")),
    };
    let (write, net, enforcement) = match policy {
        SandboxPolicy::None => {
            return Ok(Prepared {
                setup,
                report: SandboxReport {
                    requested: policy.clone(),
                    enforced: true,
                    detail: None,
                    denial_suspected: None,
                },
            });
        }
        SandboxPolicy::WorkspaceWrite { enforcement } => (true, false, *enforcement),
        SandboxPolicy::NoNetwork { enforcement } => (false, true, *enforcement),
        SandboxPolicy::WorkspaceWriteNoNetwork { enforcement } => (true, true, *enforcement),
        _ => {
            return Err(ExecError::SandboxUnavailable {
                reason: format!("policy {policy:?} is not known to this executor"),
            });
        }
    };
    let mut details = Vec::new();
    let mut enforced = true;
    if write {
        let support = landlock_support();
        if support == LandlockSupport::None {
            details.push(unenforced("workspace_write", enforcement, "this kernel has no usable Landlock".into())?);
            enforced = false;
        } else if support == LandlockSupport::Partial && enforcement == Enforcement::Required {
            return Err(ExecError::SandboxUnavailable {
                reason: "sandbox policy `workspace_write` is required but this kernel's Landlock ABI is older \
                         than v3: truncation and cross-directory renames would stay unrestricted"
                    .into(),
            });
        } else {
            let mut roots: Vec<&Path> = vec![cwd];
            roots.extend(writable.iter().map(PathBuf::as_path));
            let ruleset = write_ruleset(&roots).map_err(|e| ExecError::SandboxUnavailable {
                reason: format!("could not build the Landlock ruleset: {e}"),
            })?;
            setup.landlock = Some(ruleset);
            let how = if support == LandlockSupport::Full { "fully enforced" } else { "partially enforced (old ABI)" };
            let list = roots.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
            details.push(format!(
                "landlock ({how}): writes allowed only beneath {list} and /dev/null, /dev/zero, /dev/tty"
            ));
            enforced &= support == LandlockSupport::Full;
        }
    }
    if net {
        match network.map_or_else(network_isolation, available) {
            NetworkIsolation::Namespace => {
                setup.new_netns = true;
                details
                    .push("network namespace: the process runs in a new network namespace with no interface up".into());
            }
            NetworkIsolation::Seccomp => {
                let filter = socket_filter().map_err(|reason| ExecError::SandboxUnavailable { reason })?;
                setup.seccomp = Some(filter);
                details.push("seccomp: socket() fails with EPERM for every address family but AF_UNIX".into());
            }
            _ => {
                let why = "neither a network namespace nor a seccomp filter can be set up here".to_string();
                details.push(unenforced("no_network", enforcement, why)?);
                enforced = false;
            }
        }
    }
    Ok(Prepared { setup, report: report(enforced, details.join("; ")) })
}

/// `wanted` when this kernel supports it, else [`NetworkIsolation::None`].
fn available(wanted: NetworkIsolation) -> NetworkIsolation {
    let ok = match wanted {
        NetworkIsolation::Namespace => network_isolation() == NetworkIsolation::Namespace,
        NetworkIsolation::Seccomp => seccomp_supported(),
        NetworkIsolation::None => false,
    };
    if ok { wanted } else { NetworkIsolation::None }
}

/// Messages that tools print when the kernel refused them an operation.
const DENIAL_MARKERS: &[&str] = &[
    "Permission denied",
    "Operation not permitted",
    "Read-only file system",
    "Network is unreachable",
    "EACCES",
    "EPERM",
];

/// Fills [`SandboxReport::denial_suspected`] when a sandbox was enforced and
/// the run looks stopped by it (a heuristic; see that field).
pub(crate) fn flag_denial(out: &mut RunOutput) {
    if !out.sandbox.enforced || out.sandbox.requested == SandboxPolicy::None {
        return;
    }
    if out.signal == Some(nix::sys::signal::Signal::SIGSYS as i32) {
        out.sandbox.denial_suspected = Some("the process was killed by SIGSYS (a seccomp denial)".into());
        return;
    }
    let texts = [
        ("stderr", &out.stderr.head),
        ("stderr", &out.stderr.tail),
        ("stdout", &out.stdout.head),
        ("stdout", &out.stdout.tail),
    ];
    for (stream, text) in texts {
        if let Some(marker) = DENIAL_MARKERS.iter().find(|m| text.contains(*m)) {
            out.sandbox.denial_suspected = Some(format!("{stream} says \"{marker}\""));
            return;
        }
    }
}
