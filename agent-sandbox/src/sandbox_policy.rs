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
    Scope, path_beneath_rules,
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
        if namespace_support() != NamespaceSupport::None {
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
    *PROBE.get_or_init(|| match network_filter() {
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

/// The seccomp filter of `NoNetwork`, installed with or without a network
/// namespace. These system calls fail with `EPERM`:
/// - `socket()` for every domain but `AF_UNIX`, and `AF_UNIX` datagram
///   sockets (which could `sendmsg` to any socket path);
/// - `connect()`, whatever the socket (a Unix socket's path reaches out of
///   any network namespace: docker.sock, D-Bus, systemd); `socketpair()`
///   and sockets already connected keep working;
/// - `sendto()` with a destination address;
/// - `io_uring_setup` (which could do all of the above behind the filter);
/// - on x86_64, every x32 system call (numbers with bit 30 set), which a
///   filter keyed on native numbers would otherwise let through.
fn network_filter() -> Result<seccompiler::BpfProgram, String> {
    use seccompiler::{SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule};
    let arch: seccompiler::TargetArch = std::env::consts::ARCH.try_into().map_err(|e| format!("{e:?}"))?;
    let eperm = nix::errno::Errno::EPERM as u32;
    let cond = |arg: u8, len: SeccompCmpArgLen, op: SeccompCmpOp, value: u64| {
        SeccompCondition::new(arg, len, op, value).map_err(|e| e.to_string())
    };
    let rule = |conds: Vec<SeccompCondition>| SeccompRule::new(conds).map_err(|e| e.to_string());
    let af_unix = nix::libc::AF_UNIX as u64;
    let type_mask = 0xf;
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    rules.insert(
        nix::libc::SYS_socket,
        vec![
            rule(vec![cond(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, af_unix)?])?,
            rule(vec![cond(
                1,
                SeccompCmpArgLen::Dword,
                SeccompCmpOp::MaskedEq(type_mask),
                nix::libc::SOCK_DGRAM as u64,
            )?])?,
            rule(vec![cond(
                1,
                SeccompCmpArgLen::Dword,
                SeccompCmpOp::MaskedEq(type_mask),
                nix::libc::SOCK_RAW as u64,
            )?])?,
        ],
    );
    // An empty rule list matches the syscall whatever its arguments.
    rules.insert(nix::libc::SYS_connect, Vec::new());
    rules.insert(nix::libc::SYS_sendto, vec![rule(vec![cond(4, SeccompCmpArgLen::Qword, SeccompCmpOp::Ne, 0)?])?]);
    rules.insert(nix::libc::SYS_io_uring_setup, Vec::new());
    let filter = SeccompFilter::new(rules, SeccompAction::Allow, SeccompAction::Errno(eperm), arch)
        .map_err(|e| e.to_string())?;
    let mut program: seccompiler::BpfProgram =
        filter.try_into().map_err(|e: seccompiler::BackendError| e.to_string())?;
    if std::env::consts::ARCH == "x86_64" {
        deny_x32(&mut program, eperm)?;
    }
    Ok(program)
}

/// Inserts, right after the architecture check seccompiler puts first, a
/// test failing every x32 system call (`nr >= __X32_SYSCALL_BIT`) with
/// `errno`. The x32 ABI shares x86_64's audit architecture, so the check
/// before it lets those calls in, and their numbers match none of the rules.
fn deny_x32(program: &mut seccompiler::BpfProgram, errno: u32) -> Result<(), String> {
    use seccompiler::sock_filter;
    // Classic BPF opcodes (linux/bpf_common.h).
    const BPF_LD: u16 = 0x00;
    const BPF_W: u16 = 0x00;
    const BPF_ABS: u16 = 0x20;
    const BPF_JMP: u16 = 0x05;
    const BPF_JGE: u16 = 0x30;
    const BPF_K: u16 = 0x00;
    const BPF_RET: u16 = 0x06;
    const X32_SYSCALL_BIT: u32 = 0x4000_0000;
    const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
    // The prologue is: load arch; jump over the next one if it matches; kill.
    let prologue_ok =
        program.len() > 3 && program[0].code == BPF_LD | BPF_W | BPF_ABS && program[0].k == 4 && program[1].jt == 1;
    if !prologue_ok {
        return Err("unexpected seccomp program prologue: cannot add the x32 check".into());
    }
    let x32 = [
        sock_filter { code: BPF_LD | BPF_W | BPF_ABS, jt: 0, jf: 0, k: 0 },
        sock_filter { code: BPF_JMP | BPF_JGE | BPF_K, jt: 0, jf: 1, k: X32_SYSCALL_BIT },
        sock_filter { code: BPF_RET | BPF_K, jt: 0, jf: 0, k: SECCOMP_RET_ERRNO | (errno & 0xffff) },
    ];
    program.splice(3..3, x32);
    Ok(())
}

/// The confinement for one command, prepared before the fork, and the report
/// of what it enforces.
pub(crate) struct Prepared {
    pub(crate) setup: ChildSetup,
    pub(crate) report: SandboxReport,
}

/// Where one command runs and what its policy may touch: the input of
/// [`prepare`], gathered by the executor.
pub(crate) struct Confinement<'a> {
    /// The command's working directory (writable under `WorkspaceWrite`
    /// when it is one of the workspaces or beneath one).
    pub(crate) cwd: &'a Path,
    /// Roots writable under `WorkspaceWrite`: the workspaces, the sandbox's
    /// own directory, report files.
    pub(crate) writable: &'a [PathBuf],
    /// The workspaces among them: their `.git` is made read-only.
    pub(crate) workspaces: &'a [PathBuf],
    /// Paths no confined command may read (the host's credential files), as
    /// the rules granting everything else.
    pub(crate) readable: Option<&'a ReadRules>,
    /// How many paths are hidden.
    pub(crate) hidden_count: usize,
    /// A network namespace to join instead of making one per command.
    pub(crate) shared_netns: Option<std::sync::Arc<std::os::fd::OwnedFd>>,
    /// Forces the `NoNetwork` mechanism (`None`: the best available).
    pub(crate) network: Option<NetworkIsolation>,
    /// Make namespaces through a user namespace even where this process
    /// could make them directly.
    pub(crate) force_user_namespace: bool,
}

/// How this process can create namespaces for a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NamespaceSupport {
    /// Directly: the process has `CAP_SYS_ADMIN` (root, as in most CI
    /// containers); the command's capabilities are dropped after the setup.
    Privileged,
    /// Through a new user namespace (an unprivileged user on a kernel that
    /// allows user namespaces).
    User,
    /// Neither.
    None,
}

/// How this process can create network and mount namespaces for a command,
/// probed once per process.
pub fn namespace_support() -> NamespaceSupport {
    static PROBE: OnceLock<NamespaceSupport> = OnceLock::new();
    *PROBE.get_or_init(|| {
        let flags = nix::sched::CloneFlags::CLONE_NEWNET | nix::sched::CloneFlags::CLONE_NEWNS;
        if probe_in_thread(move || nix::sched::unshare(flags).is_ok()) {
            NamespaceSupport::Privileged
        } else if user_namespace_supported() {
            NamespaceSupport::User
        } else {
            NamespaceSupport::None
        }
    })
}

/// Whether a child can make its namespaces through a user namespace here
/// (probed once by spawning `/bin/sh -c :` in one).
pub fn user_namespace_supported() -> bool {
    static PROBE: OnceLock<bool> = OnceLock::new();
    *PROBE.get_or_init(crate::confine::probe_user_namespace)
}

/// Whether this kernel's Landlock scopes abstract Unix sockets and signals
/// (ABI 6, Linux 6.12): a confined command can then neither connect to an
/// abstract socket nor signal a process outside its sandbox.
pub fn landlock_scopes_supported() -> bool {
    static PROBE: OnceLock<bool> = OnceLock::new();
    *PROBE.get_or_init(|| {
        let status = std::thread::Builder::new().name("agent-sandbox-probe".into()).spawn(|| {
            let ruleset = Ruleset::default()
                .set_compatibility(CompatLevel::BestEffort)
                .scope(Scope::AbstractUnixSocket | Scope::Signal)
                .ok()?
                .create()
                .ok()?;
            ruleset.restrict_self().ok().map(|s| s.ruleset)
        });
        matches!(status.ok().and_then(|h| h.join().ok()).flatten(), Some(RulesetStatus::FullyEnforced))
    })
}

/// A new, empty network namespace held open by the returned descriptor, to
/// be joined by commands (`setns`) instead of each making its own, which
/// costs most of a millisecond per command. Needs `CAP_SYS_ADMIN`.
pub(crate) fn make_shared_netns() -> Option<std::os::fd::OwnedFd> {
    std::thread::Builder::new()
        .name("agent-sandbox-netns".into())
        .spawn(|| {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).ok()?;
            let fd = rustix::fs::open(
                "/proc/thread-self/ns/net",
                rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
                rustix::fs::Mode::empty(),
            )
            .ok()?;
            Some(fd)
        })
        .ok()?
        .join()
        .ok()
        .flatten()
}

/// Credential files and directories beneath a home directory that no
/// confined command may read, relative to it.
pub const HIDDEN_HOME_PATHS: &[&str] = &[
    ".aws",
    ".azure",
    ".cargo/credentials",
    ".cargo/credentials.toml",
    ".config/gcloud",
    ".config/gh",
    ".config/hub",
    ".docker/config.json",
    ".git-credentials",
    ".gnupg",
    ".kube",
    ".local/share/keyrings",
    ".netrc",
    ".npmrc",
    ".password-store",
    ".pgpass",
    ".pypirc",
    ".ssh",
    ".terraform.d/credentials.tfrc.json",
    ".vault-token",
    ".config/agentkit",
];

/// The Landlock read rules hiding a set of paths, opened once (`O_PATH`)
/// and kept: from `/` down, every entry of a directory gets read access
/// beneath it, except the hidden paths themselves and the directories
/// leading to them, which are entered instead. A directory on such a path
/// cannot be listed, and an entry created in one after the rules were made
/// stays unreadable until they are made again; everything else is readable.
#[derive(Debug)]
pub(crate) struct ReadRules {
    hidden: Vec<PathBuf>,
    /// Each readable entry, and whether it is a directory.
    entries: Vec<(std::os::fd::OwnedFd, bool)>,
    made: std::time::Instant,
}

/// How long [`ReadRules`] are reused before the directories are read again.
const READ_RULES_TTL: std::time::Duration = std::time::Duration::from_secs(5);

impl ReadRules {
    /// The rules hiding `hidden`, reusing `cache` while it is fresh and for
    /// the same paths.
    pub(crate) fn cached(
        cache: &std::sync::Mutex<Option<std::sync::Arc<ReadRules>>>,
        hidden: &[PathBuf],
    ) -> std::sync::Arc<ReadRules> {
        let mut slot = cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(rules) = slot.as_ref() {
            if rules.hidden == hidden && rules.made.elapsed() < READ_RULES_TTL {
                return rules.clone();
            }
        }
        let rules = std::sync::Arc::new(Self::make(hidden));
        *slot = Some(rules.clone());
        rules
    }

    fn make(hidden: &[PathBuf]) -> Self {
        let mut paths = Vec::new();
        let absolute: Vec<&Path> = hidden.iter().map(PathBuf::as_path).filter(|p| p.is_absolute()).collect();
        if absolute.is_empty() {
            paths.push((PathBuf::from("/"), true));
        } else {
            read_rules_in(Path::new("/"), &absolute, &mut paths);
        }
        let entries = paths
            .into_iter()
            .filter_map(|(path, is_dir)| {
                let fd = rustix::fs::open(
                    &path,
                    rustix::fs::OFlags::PATH | rustix::fs::OFlags::CLOEXEC,
                    rustix::fs::Mode::empty(),
                )
                .ok()?;
                Some((fd, is_dir))
            })
            .collect();
        Self { hidden: hidden.to_vec(), entries, made: std::time::Instant::now() }
    }
}

fn read_rules_in(dir: &Path, hidden: &[&Path], out: &mut Vec<(PathBuf, bool)>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if hidden.iter().any(|h| *h == path) {
            continue;
        }
        let leads_to_hidden = hidden.iter().any(|h| h.starts_with(&path));
        // Followed, as Landlock's rule would follow it: a link to a directory is one.
        let is_dir = std::fs::metadata(&path).is_ok_and(|m| m.is_dir());
        let is_link = entry.file_type().is_ok_and(|t| t.is_symlink());
        if leads_to_hidden && is_dir && !is_link {
            read_rules_in(&path, hidden, out);
        } else {
            out.push((path, is_dir));
        }
    }
}

/// The Landlock ruleset of one command: reads allowed as `readable` says;
/// when `write_roots` is given, writes only beneath them and the usual
/// device files; abstract Unix sockets and signals scoped to the sandbox
/// where the kernel has scopes.
fn command_ruleset(
    write_roots: Option<&[&Path]>,
    readable: Option<&ReadRules>,
) -> Result<RulesetCreated, landlock::RulesetError> {
    use std::os::fd::AsFd;
    let read = AccessFs::ReadFile | AccessFs::ReadDir;
    let write = AccessFs::from_write(HANDLED_ABI);
    let handled = if write_roots.is_some() { read | write } else { read };
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(handled)?
        .scope(Scope::AbstractUnixSocket | Scope::Signal)?
        .create()?;
    let file_read: landlock::BitFlags<AccessFs> = AccessFs::ReadFile.into();
    match readable {
        Some(rules) => {
            ruleset = ruleset.add_rules(rules.entries.iter().map(|(fd, is_dir)| {
                let access = if *is_dir { read } else { file_read };
                Ok::<_, landlock::RulesetError>(landlock::PathBeneath::new(fd.as_fd(), access))
            }))?;
        }
        None => ruleset = ruleset.add_rules(path_beneath_rules([Path::new("/")], read))?,
    }
    if let Some(roots) = write_roots {
        let devices = WRITABLE_DEVICES.iter().map(Path::new).filter(|p| p.exists());
        ruleset = ruleset
            .add_rules(path_beneath_rules(roots.iter().filter(|p| p.exists()), read | write))?
            .add_rules(path_beneath_rules(devices, read | write))?;
    }
    Ok(ruleset)
}

/// The `.git` entries (directory or file) of `workspaces` that lie beneath a
/// writable root, and the git directories such a `.git` file points at, to
/// be bound read-only: found at each workspace or the nearest ancestor.
fn git_paths_to_protect(workspaces: &[PathBuf], writable: &[PathBuf]) -> Vec<PathBuf> {
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let writable: Vec<PathBuf> = writable.iter().map(|p| canon(p)).collect();
    let beneath_writable = |p: &Path| writable.iter().any(|w| p.starts_with(w));
    let mut out: Vec<PathBuf> = Vec::new();
    for ws in workspaces {
        let ws = canon(ws);
        let Some(dot_git) = ws.ancestors().map(|a| a.join(".git")).find(|g| std::fs::symlink_metadata(g).is_ok())
        else {
            continue;
        };
        let mut found = vec![dot_git.clone()];
        if let Ok(text) = std::fs::read_to_string(&dot_git) {
            if let Some(target) = text.lines().next().and_then(|l| l.strip_prefix("gitdir:")).map(str::trim) {
                let target = dot_git.parent().unwrap_or(Path::new("/")).join(target);
                found.push(canon(&target));
            }
        }
        for p in found {
            if p.exists() && beneath_writable(&p) && !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

/// The mount flags a read-only remount of `path` must keep (those of its
/// filesystem, which a user namespace cannot clear).
fn locked_mount_flags(path: &Path) -> u64 {
    use nix::mount::MsFlags;
    use nix::sys::statvfs::FsFlags;
    let Ok(stat) = nix::sys::statvfs::statvfs(path) else { return 0 };
    let f = stat.flags();
    let mut out = MsFlags::empty();
    for (st, ms) in [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if f.contains(st) {
            out |= ms;
        }
    }
    out.bits()
}

/// Prepares `policy` for one command (see [`Confinement`]). Refuses a
/// `Required` policy that cannot be fully enforced.
pub(crate) fn prepare(
    policy: &SandboxPolicy,
    ctx: &Confinement<'_>,
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
        _ => Ok(format!("{why}: not enforced (policy `{name}`, best effort)")),
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
    let namespaces = if ctx.force_user_namespace {
        if user_namespace_supported() { NamespaceSupport::User } else { NamespaceSupport::None }
    } else {
        namespace_support()
    };
    let mut details = Vec::new();
    let mut enforced = true;
    // Every confined command runs without capabilities: it cannot re-enter
    // the host's namespaces, undo a mount, bypass file permissions or
    // read another process's memory and environment.
    setup.drop_caps = true;
    let support = landlock_support();
    if write {
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
            let cwd_writable = ctx.writable.iter().any(|w| ctx.cwd.starts_with(w));
            let roots: Vec<&Path> = ctx.writable.iter().map(PathBuf::as_path).collect();
            let how = if support == LandlockSupport::Full { "fully enforced" } else { "partially enforced (old ABI)" };
            let list = roots.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
            details.push(format!(
                "landlock ({how}): writes allowed only beneath {list} and /dev/null, /dev/zero, /dev/tty{}",
                if cwd_writable { "" } else { "; the working directory is outside them and read-only" }
            ));
            enforced &= support == LandlockSupport::Full;
            setup.landlock = Some(command_ruleset(Some(&roots), ctx.readable).map_err(|e| {
                ExecError::SandboxUnavailable { reason: format!("could not build the Landlock ruleset: {e}") }
            })?);
            let git = git_paths_to_protect(ctx.workspaces, ctx.writable);
            if !git.is_empty() {
                if namespaces == NamespaceSupport::None {
                    let why = "no mount namespace can be made here, so `.git` would stay writable".to_string();
                    details.push(unenforced("workspace_write", enforcement, why)?);
                    enforced = false;
                } else {
                    let list = git.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
                    details.push(format!("read-only in a private mount namespace: {list}"));
                    for path in git {
                        let keep_flags = locked_mount_flags(&path);
                        let Ok(c) = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()) else { continue };
                        setup.read_only.push(crate::confine::ReadOnlyBind { path: c, keep_flags });
                    }
                }
            }
        }
    } else if support != LandlockSupport::None {
        setup.landlock = Some(command_ruleset(None, ctx.readable).map_err(|e| ExecError::SandboxUnavailable {
            reason: format!("could not build the Landlock ruleset: {e}"),
        })?);
    }
    if support != LandlockSupport::None && ctx.hidden_count > 0 {
        details.push(format!("landlock: {} credential paths unreadable", ctx.hidden_count));
    }
    if support != LandlockSupport::None && landlock_scopes_supported() {
        details.push("landlock: abstract Unix sockets and signals scoped to the sandbox".into());
    }
    if net {
        let wanted = ctx.network.unwrap_or(match namespaces {
            NamespaceSupport::None => NetworkIsolation::Seccomp,
            _ => NetworkIsolation::Namespace,
        });
        let mechanism = match wanted {
            NetworkIsolation::Namespace if namespaces != NamespaceSupport::None => NetworkIsolation::Namespace,
            NetworkIsolation::Seccomp if seccomp_supported() => NetworkIsolation::Seccomp,
            _ => NetworkIsolation::None,
        };
        match mechanism {
            NetworkIsolation::Namespace => {
                match (&ctx.shared_netns, namespaces) {
                    (Some(ns), NamespaceSupport::Privileged) => setup.join_netns = Some(ns.clone()),
                    _ => setup.new_netns = true,
                }
                details
                    .push("network namespace: the process runs in a new network namespace with no interface up".into());
            }
            NetworkIsolation::Seccomp => {
                details.push("seccomp: socket() fails with EPERM for every address family but AF_UNIX".into());
            }
            _ => {
                let why = "neither a network namespace nor a seccomp filter can be set up here".to_string();
                details.push(unenforced("no_network", enforcement, why)?);
                enforced = false;
            }
        }
        if seccomp_supported() {
            // Also with a namespace: a Unix socket's path reaches outside any
            // network namespace (docker.sock, the user's D-Bus or systemd).
            setup.seccomp = Some(network_filter().map_err(|reason| ExecError::SandboxUnavailable { reason })?);
            details.push("seccomp: connect() and sendto() to an address fail with EPERM, Unix sockets included; x32 system calls fail".into());
        } else {
            let why = "no seccomp filter can deny connect() to Unix sockets here".to_string();
            details.push(unenforced("no_network", enforcement, why)?);
            enforced = false;
        }
    }
    if (setup.new_netns || setup.join_netns.is_some() || !setup.read_only.is_empty())
        && namespaces == NamespaceSupport::User
    {
        setup.user_ns = Some(crate::confine::IdMaps::identity());
        details.push("namespaces made through a user namespace".into());
    }
    details.push("all capabilities dropped, no_new_privs set, in a new session".into());
    Ok(Prepared { setup, report: report(enforced, details.join("; ")) })
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
