//! [`ProcessExecutor`]: runs commands as real processes, bounded in time and memory.

use crate::confine::ChildSetup;
use crate::group::{GroupGuard, group_alive, signal_group, terminate_group};
use crate::run_log::{LogKind, LogSettings, RunLog, Sink};
use crate::sandbox_policy::{self, NetworkIsolation};
use crate::service::ProcessService;
use agent_core::Executor;
use agent_core::exec::{CommandSpec, ExecError, ReportFormat, RunOutput, Service, StructuredReport, TimeoutKind};
use async_trait::async_trait;
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;
use tracing::Instrument;

/// Runs a [`CommandSpec`] as a child process.
///
/// - The child runs in its own process group, with stdin from `/dev/null`
///   unless the spec gives input, and an environment built only from the
///   spec's [`EnvPolicy`](agent_core::exec::EnvPolicy).
/// - The wall-clock and inactivity limits end the whole group: SIGTERM, a
///   grace period ([`with_kill_grace`](Self::with_kill_grace)), then SIGKILL.
///   A run never outlives its direct child by more than the drain period
///   ([`with_drain_timeout`](Self::with_drain_timeout)) even if grandchildren
///   keep the pipes open, and no process of the group outlives the run.
/// - Output is kept in memory only up to the spec's
///   [`OutputCaps`](agent_core::exec::OutputCaps) per stream, and goes to a
///   log file ([`RunOutput::log_path`], created at the first byte of output,
///   so a silent run has none) holding stdout's section followed by
///   stderr's. Within the log cap ([`with_log_cap`](Self::with_log_cap),
///   [`DEFAULT_LOG_CAP`](crate::DEFAULT_LOG_CAP)) the sections are the whole
///   streams, so the first `stdout.total_bytes` bytes are stdout. Past it
///   [`RunOutput::log_truncated`] is set and a stream's section is its head
///   (its bytes read while the heads of both streams together stayed under
///   the cap less two tails and room for two markers), then, when bytes were
///   left out, the line `\n[agentkit log cap: N bytes of STREAM omitted]\n`
///   (STREAM `stdout` or `stderr`) and its last `cap / 8` bytes. A cap of
///   1 KiB or more is never exceeded; the pipes are still read to their end.
/// - The log directory is checked before anything is written to it
///   (created with mode 0700; refused when it is a symbolic link, not a
///   directory or owned by another user: the run then has no log file, with
///   a warning) and rotated: the oldest run logs beyond its budget
///   ([`with_log_dir_budget`](Self::with_log_dir_budget),
///   [`with_log_max_files`](Self::with_log_max_files),
///   [`with_log_max_age`](Self::with_log_max_age)) are deleted; see the
///   defaults [`DEFAULT_LOG_DIR_BUDGET`](crate::DEFAULT_LOG_DIR_BUDGET),
///   [`DEFAULT_LOG_MAX_FILES`](crate::DEFAULT_LOG_MAX_FILES) and
///   [`DEFAULT_LOG_MAX_AGE`](crate::DEFAULT_LOG_MAX_AGE).
/// - The child gets SIGKILL when the thread that spawned it dies
///   (`PR_SET_PDEATHSIG`, with the race against an already dead parent
///   closed); see [`with_parent_death_signal`](Self::with_parent_death_signal).
/// - Sandbox policies, per command ([`CommandSpec::sandbox`]):
///   [`WorkspaceWrite`](agent_core::exec::SandboxPolicy::WorkspaceWrite) by Landlock
///   (writes only beneath the working directory, the default working
///   directory, [`with_writable_root`](Self::with_writable_root) roots, the
///   temporary directory ([`with_sandbox_temp_dir`](Self::with_sandbox_temp_dir))
///   and `/dev/null`-like devices);
///   [`NoNetwork`](agent_core::exec::SandboxPolicy::NoNetwork) by a new network
///   namespace, or a seccomp filter denying non-Unix sockets where namespaces
///   are not allowed. What was enforced, and by which mechanism, is in
///   [`RunOutput::sandbox`]; a `Required` policy the kernel cannot enforce is
///   refused with [`ExecError::SandboxUnavailable`] before anything runs; a run
///   that looks stopped by the sandbox has
///   [`denial_suspected`](agent_core::exec::SandboxReport::denial_suspected) set.
/// - Report requests ([`CommandSpec::reports`]): each gets a fresh file
///   (`agentkit-report-*.json`, created exclusively, mode 0600) in the report
///   directory ([`with_report_dir`](Self::with_report_dir), the temporary
///   directory by default: never the workspace), writable by the command
///   under every sandbox policy. After the run a file the command wrote is
///   read into [`RunOutput::reports`] (up to [`MAX_REPORT_BYTES`]) and every
///   report file is deleted, whatever the run's end.
///
/// ```no_run
/// use agent_core::exec::CommandSpec;
/// use agent_core::Executor;
/// use agent_sandbox::ProcessExecutor;
/// use std::time::Duration;
///
/// # async fn demo() -> Result<(), agent_core::exec::ExecError> {
/// let exec = ProcessExecutor::new().with_default_cwd("/tmp".into());
/// let out = exec.run(CommandSpec::new("echo").args(["hi"]).wall_timeout(Duration::from_secs(10))).await?;
/// assert_eq!(out.stdout.head, "hi\n");
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct ProcessExecutor {
    default_cwd: Option<PathBuf>,
    log_dir: PathBuf,
    log_settings: LogSettings,
    kill_grace: Duration,
    drain_timeout: Duration,
    parent_death_signal: bool,
    writable_roots: Vec<PathBuf>,
    sandbox_temp_dir: Option<PathBuf>,
    network_isolation: Option<NetworkIsolation>,
    report_dir: PathBuf,
    host_home: Option<PathBuf>,
    hidden_paths: Vec<PathBuf>,
    force_user_namespace: bool,
    protect_host: bool,
    cgroups: bool,
    sandbox_dir: std::sync::Arc<OnceLock<Option<SandboxDir>>>,
    read_rules: std::sync::Arc<std::sync::Mutex<Option<std::sync::Arc<sandbox_policy::ReadRules>>>>,
    shared_netns: std::sync::Arc<OnceLock<Option<std::sync::Arc<std::os::fd::OwnedFd>>>>,
    /// [`hidden`](Self::hidden), worked out at the first confined spawn.
    hidden_once: std::sync::Arc<OnceLock<Vec<PathBuf>>>,
    /// [`shared_cache_dir`](Self::shared_cache_dir), checked at the first confined spawn.
    shared_cache_once: std::sync::Arc<OnceLock<Option<PathBuf>>>,
}

/// The private directory of one executor's confined commands (created at
/// the first one, mode 0700, removed with the last clone of the executor):
/// their `HOME` (`home/`) and `TMPDIR` (`tmp/`), writable under
/// `WorkspaceWrite`. Nothing of the host's lives there.
#[derive(Debug)]
struct SandboxDir {
    dir: tempfile::TempDir,
}

impl SandboxDir {
    fn create(parent: &Path) -> std::io::Result<Self> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::create_dir_all(parent)?;
        let dir = tempfile::Builder::new().prefix("agentkit-sandbox-").tempdir_in(parent)?;
        for sub in ["home", "tmp"] {
            std::fs::DirBuilder::new().mode(0o700).create(dir.path().join(sub))?;
        }
        Ok(Self { dir })
    }
}

/// The largest report file read back into [`RunOutput::reports`]; a larger
/// one is dropped (the text output is read instead).
pub const MAX_REPORT_BYTES: u64 = 64 * 1024 * 1024;

impl Default for ProcessExecutor {
    fn default() -> Self {
        Self::new()
    }
}

/// Size of one read from a child's pipe.
const READ_CHUNK: usize = 64 * 1024;

impl ProcessExecutor {
    /// An executor with the defaults: working directory the current one, logs
    /// under `$TMPDIR/agentkit-logs`, 2 s kill grace, 2 s drain after exit.
    pub fn new() -> Self {
        Self {
            default_cwd: None,
            log_dir: std::env::temp_dir().join("agentkit-logs"),
            log_settings: LogSettings::default(),
            kill_grace: Duration::from_secs(2),
            drain_timeout: Duration::from_secs(2),
            parent_death_signal: true,
            writable_roots: Vec::new(),
            sandbox_temp_dir: Some(std::env::temp_dir()),
            network_isolation: None,
            report_dir: std::env::temp_dir(),
            host_home: std::env::var_os("HOME").map(PathBuf::from).filter(|h| h.is_absolute()),
            hidden_paths: Vec::new(),
            force_user_namespace: false,
            protect_host: true,
            cgroups: true,
            sandbox_dir: std::sync::Arc::new(OnceLock::new()),
            read_rules: std::sync::Arc::default(),
            shared_netns: std::sync::Arc::new(OnceLock::new()),
            hidden_once: std::sync::Arc::new(OnceLock::new()),
            shared_cache_once: std::sync::Arc::new(OnceLock::new()),
        }
    }

    /// Runs commands without a `cwd` of their own in `dir`.
    pub fn with_default_cwd(mut self, dir: PathBuf) -> Self {
        self.default_cwd = Some(dir);
        self
    }

    /// Writes full-output logs under `dir` (created, mode 0700, when needed;
    /// refused when it is a symbolic link, not a directory or another user's).
    pub fn with_log_dir(mut self, dir: PathBuf) -> Self {
        self.log_dir = dir;
        self
    }

    /// Time between SIGTERM and SIGKILL when a run is ended.
    pub fn with_kill_grace(mut self, grace: Duration) -> Self {
        self.kill_grace = grace;
        self
    }

    /// How long the pipes are still read after the direct child exits before
    /// the group is killed (grandchildren holding the pipes open).
    pub fn with_drain_timeout(mut self, drain: Duration) -> Self {
        self.drain_timeout = drain;
        self
    }

    /// Whether a child is killed (SIGKILL) when the thread that spawned it
    /// dies — the host process crashing or being killed included. On by
    /// default. Linux ties this to the spawning *thread*: the executor spawns
    /// on the async runtime's thread that polls [`Executor::run`], so turn it
    /// off when that thread may end before the run does (a runtime on a
    /// short-lived thread).
    pub fn with_parent_death_signal(mut self, on: bool) -> Self {
        self.parent_death_signal = on;
        self
    }

    /// Also lets commands under the `WorkspaceWrite` policy write beneath
    /// `dir` (besides their working directory, the default working directory
    /// and the temporary directory).
    pub fn with_writable_root(mut self, dir: PathBuf) -> Self {
        self.writable_roots.push(dir);
        self
    }

    /// The temporary directory commands under the `WorkspaceWrite` policy may
    /// write beneath: `$TMPDIR` (or `/tmp`) by default; `None` for none. The
    /// child's `TMPDIR` variable is not changed: set it through the spec's
    /// [`EnvPolicy`](agent_core::exec::EnvPolicy) when this differs from the host's.
    pub fn with_sandbox_temp_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.sandbox_temp_dir = dir;
        self.shared_cache_once = std::sync::Arc::new(OnceLock::new());
        self
    }

    /// Enforces the `NoNetwork` policy with this mechanism only (e.g.
    /// [`NetworkIsolation::Seccomp`] where creating a network namespace per
    /// command is too slow); by default the best available one is used
    /// ([`network_isolation`](crate::network_isolation)). A mechanism the
    /// kernel lacks counts as unavailable ([`NetworkIsolation::None`] always
    /// does).
    pub fn with_network_isolation(mut self, mechanism: NetworkIsolation) -> Self {
        self.network_isolation = Some(mechanism);
        self
    }

    /// Creates the report files of [`CommandSpec::reports`] in `dir`
    /// (created when needed) instead of the temporary directory. Keep it
    /// outside the workspaces commands run in.
    pub fn with_report_dir(mut self, dir: PathBuf) -> Self {
        self.report_dir = dir;
        self
    }

    /// The user's home directory, whose credential files
    /// ([`HIDDEN_HOME_PATHS`](crate::HIDDEN_HOME_PATHS)) no confined command
    /// may read and whose toolchains (`~/.cargo`, `~/.rustup`, `~/.pyenv`,
    /// `~/go`, `~/.local`) confined commands keep using with a `HOME` of
    /// their own. `$HOME` by default; `None` hides nothing.
    pub fn with_host_home(mut self, home: Option<PathBuf>) -> Self {
        self.host_home = home;
        self.hidden_once = std::sync::Arc::new(OnceLock::new());
        self
    }

    /// Also makes `path` (a file or directory) unreadable to confined
    /// commands (any policy but `None`, where the kernel has Landlock).
    pub fn with_hidden_path(mut self, path: PathBuf) -> Self {
        self.hidden_paths.push(path);
        self.hidden_once = std::sync::Arc::new(OnceLock::new());
        self
    }

    /// Makes a command's namespaces through a user namespace even where this
    /// process could make them directly (it has `CAP_SYS_ADMIN`). Off by
    /// default: without privileges the user namespace is used anyway.
    pub fn with_user_namespace(mut self, on: bool) -> Self {
        self.force_user_namespace = on;
        self
    }

    /// Whether the host process is marked non-dumpable
    /// (`prctl(PR_SET_DUMPABLE, 0)`) before its first confined command, so
    /// no command can read its `/proc/PID/environ` (API keys), memory or
    /// file descriptors, even running as the same user. On by default; it
    /// also disables core dumps of the host and same-user debuggers.
    pub fn with_host_protection(mut self, on: bool) -> Self {
        self.protect_host = on;
        self
    }

    /// Whether each run gets a cgroup of its own where the kernel allows it
    /// ([`cgroups_supported`](crate::cgroups_supported)), so processes that
    /// leave the command's session or process group (`setsid`, a double
    /// fork) still end with the run. On by default.
    pub fn with_cgroups(mut self, on: bool) -> Self {
        self.cgroups = on;
        self
    }

    /// Caps each run's log file at `bytes` (head and tail kept, as the type's
    /// documentation describes; [`DEFAULT_LOG_CAP`](crate::DEFAULT_LOG_CAP)
    /// by default). `0` writes no log files.
    pub fn with_log_cap(mut self, bytes: u64) -> Self {
        self.log_settings.cap = bytes;
        self
    }

    /// Keeps the run logs of the log directory within `bytes` in all
    /// ([`DEFAULT_LOG_DIR_BUDGET`](crate::DEFAULT_LOG_DIR_BUDGET) by default):
    /// once this executor estimates them over it, the oldest are deleted down
    /// to three quarters of it. The log of the latest run is always kept.
    pub fn with_log_dir_budget(mut self, bytes: u64) -> Self {
        self.log_settings.dir_budget = bytes;
        self
    }

    /// Keeps at most `files` run logs in the log directory
    /// ([`DEFAULT_LOG_MAX_FILES`](crate::DEFAULT_LOG_MAX_FILES) by default),
    /// deleting the oldest down to three quarters of it when it is passed.
    pub fn with_log_max_files(mut self, files: u64) -> Self {
        self.log_settings.max_files = files;
        self
    }

    /// Deletes run logs older than `age` at the log directory's sweeps
    /// ([`DEFAULT_LOG_MAX_AGE`](crate::DEFAULT_LOG_MAX_AGE) by default).
    pub fn with_log_max_age(mut self, age: Duration) -> Self {
        self.log_settings.max_age = age;
        self
    }

    /// The directory full-output logs are written to.
    pub fn log_dir(&self) -> &Path {
        &self.log_dir
    }

    fn resolve_cwd(&self, spec: &CommandSpec) -> Result<PathBuf, ExecError> {
        let cwd = match (&spec.cwd, &self.default_cwd) {
            (Some(c), _) => c.clone(),
            (None, Some(d)) => d.clone(),
            (None, None) => std::env::current_dir().map_err(|_| ExecError::BadWorkingDirectory { path: ".".into() })?,
        };
        if cwd.is_dir() { Ok(cwd) } else { Err(ExecError::BadWorkingDirectory { path: cwd }) }
    }

    /// Checks `spec` and builds its process: working directory, sandbox
    /// policy, environment and program resolved, in its own process group,
    /// killed when dropped. Shared by [`Executor::run`] and [`Executor::start`].
    /// `reports` are the files of the spec's report requests, in order
    /// (empty: the command runs without them); the sandbox lets the command
    /// write them.
    pub(crate) fn prepare(&self, spec: &CommandSpec, reports: &[PathBuf]) -> Result<Prepared, ExecError> {
        if spec.program.trim().is_empty() {
            return Err(ExecError::InvalidCommand { reason: "the program name is empty".into() });
        }
        let cwd = self.resolve_cwd(spec)?;
        let confined = spec.sandbox != agent_core::exec::SandboxPolicy::None;
        let sandbox_dir = if confined { self.sandbox_dir()? } else { None };
        // The workspaces: the default working directory and the extra
        // writable roots; without a default, the command's own working
        // directory, unless it would open the whole machine to writes.
        let mut workspaces: Vec<PathBuf> = self.default_cwd.iter().cloned().collect();
        if self.default_cwd.is_none() {
            if spec.sandbox.confines_writes() {
                self.check_workspace(&cwd)?;
            }
            workspaces.push(cwd.clone());
        }
        workspaces.extend(self.writable_roots.iter().cloned());
        let mut writable = workspaces.clone();
        writable.extend(sandbox_dir.iter().cloned());
        writable.extend(self.shared_cache_dir());
        writable.extend(reports.iter().cloned());
        let hidden = self.hidden();
        let readable = confined.then(|| sandbox_policy::ReadRules::cached(&self.read_rules, hidden));
        let shared_netns = if spec.sandbox.cuts_network()
            && sandbox_policy::namespace_support() == sandbox_policy::NamespaceSupport::Privileged
            && !self.force_user_namespace
        {
            self.shared_netns.get_or_init(|| sandbox_policy::make_shared_netns().map(std::sync::Arc::new)).clone()
        } else {
            None
        };
        let mut setup = ChildSetup { parent_death_signal: self.parent_death_signal, ..ChildSetup::default() };
        let mut cgroup = None;
        if self.cgroups {
            if let Some((group, procs)) = crate::cgroup::RunCgroup::create() {
                setup.cgroup_procs = Some(procs);
                cgroup = Some(group);
            }
        }
        let ctx = sandbox_policy::Confinement {
            cwd: &cwd,
            writable: &writable,
            workspaces: &workspaces,
            readable: readable.as_deref(),
            hidden_count: hidden.len(),
            shared_netns,
            network: self.network_isolation,
            force_user_namespace: self.force_user_namespace,
        };
        let sandbox_policy::Prepared { setup, report: mut sandbox } =
            sandbox_policy::prepare(&spec.sandbox, &ctx, setup)?;
        if confined && self.protect_host {
            protect_host_process();
        }
        let host_env = std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
        let mut env = spec.env.resolve(host_env);
        let mut notes = Vec::new();
        if let Some(dir) = sandbox_dir.as_deref() {
            self.private_home(spec, dir, &mut env);
            notes.push(format!("HOME and TMPDIR are private: {}", dir.display()));
        }
        if spec.sandbox.confines_writes() {
            if let Some(caches) = self.redirect_caches(spec, &mut env) {
                notes.push(format!("toolchain caches redirected beneath {}", caches.display()));
            }
        }
        if confined {
            notes.push(if cgroup.is_some() {
                "the process tree runs in a cgroup of its own, ended as a whole".to_string()
            } else {
                "no cgroup here: processes that leave the session may outlive the run".to_string()
            });
        }
        for note in notes {
            sandbox.detail = Some(match sandbox.detail.take() {
                Some(d) => format!("{d}; {note}"),
                None => note,
            });
        }
        // Looked up here, on the child's PATH: the standard library would
        // otherwise have to `fork` and try each PATH entry in the child (it
        // cannot use `posix_spawnp` once the environment is replaced).
        let program = find_program(&spec.program, env.get("PATH").map(String::as_str), &cwd)
            .ok_or_else(|| ExecError::ProgramNotFound { program: spec.program.clone() })?;

        let mut std_cmd = std::process::Command::new(&program);
        std_cmd
            .arg0(&spec.program)
            .args(spec.args_with_reports(reports))
            .current_dir(&cwd)
            .env_clear()
            .envs(env)
            .stdin(if spec.stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // The hook starts a new session (`setsid`): the child leads its own
        // process group, which the limits end.
        setup.install(&mut std_cmd);
        let mut command = tokio::process::Command::from(std_cmd);
        command.kill_on_drop(true);
        Ok(Prepared { command, sandbox, cgroup })
    }

    /// Refuses, as the workspace of a command that may write only there, a
    /// directory that would open the machine: `/`, the user's home or an
    /// ancestor of it, the temporary directory or an ancestor of it.
    fn check_workspace(&self, cwd: &Path) -> Result<(), ExecError> {
        let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let cwd = canon(cwd);
        let mut protected: Vec<PathBuf> = vec![canon(&std::env::temp_dir())];
        protected.extend(self.host_home.as_deref().map(canon));
        if cwd.parent().is_none() || protected.iter().any(|p| p.starts_with(&cwd)) {
            return Err(ExecError::InvalidCommand {
                reason: format!(
                    "the working directory {} cannot be the writable workspace of a confined command: it is the \
                     root, the home directory or the temporary directory, or holds one; give the executor a \
                     workspace (with_default_cwd)",
                    cwd.display()
                ),
            });
        }
        Ok(())
    }

    /// This executor's private sandbox directory, created at the first call
    /// (`None` when the sandbox temp dir was set to none).
    fn sandbox_dir(&self) -> Result<Option<PathBuf>, ExecError> {
        let Some(parent) = self.sandbox_temp_dir.as_ref() else { return Ok(None) };
        let made = self.sandbox_dir.get_or_init(|| match SandboxDir::create(parent) {
            Ok(d) => Some(d),
            Err(e) => {
                tracing::warn!(error = %e, dir = %parent.display(), "could not create the sandbox directory");
                None
            }
        });
        match made {
            Some(d) => Ok(Some(d.dir.path().to_path_buf())),
            None => Err(ExecError::SandboxUnavailable {
                reason: format!("could not create the sandbox's private directory under {}", parent.display()),
            }),
        }
    }

    /// The paths confined commands may not read: the host home's credential
    /// files (whether they exist yet or not, so one created later is hidden
    /// too), and those added with [`with_hidden_path`](Self::with_hidden_path).
    /// Worked out once per executor (the home and the paths canonicalized
    /// at the first confined spawn).
    fn hidden(&self) -> &[PathBuf] {
        self.hidden_once.get_or_init(|| {
            let mut out: Vec<PathBuf> = Vec::new();
            if let Some(home) = &self.host_home {
                let home = std::fs::canonicalize(home).unwrap_or_else(|_| home.clone());
                out.extend(sandbox_policy::HIDDEN_HOME_PATHS.iter().map(|rel| home.join(rel)));
            }
            out.extend(self.hidden_paths.iter().map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())));
            out
        })
    }

    /// Gives a confined command its own `HOME` and `TMPDIR` in the sandbox
    /// directory (unless the spec sets them), keeping the toolchains that
    /// live in the real home reachable by their own variables.
    fn private_home(&self, spec: &CommandSpec, dir: &Path, env: &mut std::collections::BTreeMap<String, String>) {
        let set = |env: &mut std::collections::BTreeMap<String, String>, var: &str, value: &Path| {
            if !spec.env.set.contains_key(var) {
                env.insert(var.to_owned(), value.to_string_lossy().into_owned());
            }
        };
        if let Some(home) = self.host_home.as_deref() {
            for (var, sub) in [
                ("CARGO_HOME", ".cargo"),
                ("RUSTUP_HOME", ".rustup"),
                ("PYENV_ROOT", ".pyenv"),
                ("GOPATH", "go"),
                ("PYTHONUSERBASE", ".local"),
            ] {
                let path = home.join(sub);
                if !env.contains_key(var) && path.is_dir() {
                    set(env, var, &path);
                }
            }
        }
        set(env, "HOME", &dir.join("home"));
        set(env, "TMPDIR", &dir.join("tmp"));
    }

    /// The toolchain cache directory shared by confined commands of every
    /// executor of this host (`<sandbox temp dir>/agentkit-sandbox-cache`),
    /// created with mode 0700; `None` when it is not a directory of this
    /// user (a symlink planted there included). Checked once per executor:
    /// once it is this user's directory, no other user can replace it (the
    /// temp dir is sticky) and no confined command can (its parent is not
    /// writable to them).
    fn shared_cache_dir(&self) -> Option<PathBuf> {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt};
        self.shared_cache_once
            .get_or_init(|| {
                let dir = self.sandbox_temp_dir.as_ref()?.join("agentkit-sandbox-cache");
                let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
                let meta = std::fs::symlink_metadata(&dir).ok()?;
                (meta.is_dir() && meta.uid() == nix::unistd::geteuid().as_raw()).then_some(dir)
            })
            .clone()
    }

    /// Under a policy that confines writes, the toolchains' own caches (Go's
    /// build cache, the XDG cache, npm's and pip's) would be outside the
    /// writable roots and every build would fail; they are pointed at
    /// `<sandbox temp dir>/agentkit-sandbox-cache` instead, unless the spec
    /// sets them itself. The user's real caches are never written by a
    /// confined command (nothing it plants there can reach a later build
    /// outside the sandbox). Returns the cache directory, when one was set.
    fn redirect_caches(
        &self,
        spec: &CommandSpec,
        env: &mut std::collections::BTreeMap<String, String>,
    ) -> Option<PathBuf> {
        let base = self.shared_cache_dir()?;
        for (var, sub) in
            [("XDG_CACHE_HOME", ""), ("GOCACHE", "go-build"), ("npm_config_cache", "npm"), ("PIP_CACHE_DIR", "pip")]
        {
            if !spec.env.set.contains_key(var) {
                let dir = if sub.is_empty() { base.clone() } else { base.join(sub) };
                env.insert(var.to_owned(), dir.to_string_lossy().into_owned());
            }
        }
        Some(base)
    }

    /// The time between SIGTERM and SIGKILL when a process group is ended.
    pub(crate) fn kill_grace(&self) -> Duration {
        self.kill_grace
    }

    async fn run_inner(&self, spec: CommandSpec, span: tracing::Span) -> Result<RunOutput, ExecError> {
        // Dropped (deleted) on every way out of this function, an error included.
        let report_files = self.report_files(&spec);
        let report_paths: Vec<PathBuf> = report_files.iter().map(|(_, p)| p.to_path_buf()).collect();
        let Prepared { command: mut cmd, sandbox, cgroup } = self.prepare(&spec, &report_paths)?;
        let spawn_err = |source: std::io::Error| ExecError::Spawn { program: spec.program.clone(), source };

        let start = Instant::now();
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ExecError::ProgramNotFound { program: spec.program.clone() });
            }
            Err(e) => return Err(spawn_err(e)),
        };
        // A spawned child always has a pid until it is reaped; without one
        // there is no group to end (and a pgid of 0 would be the host's own).
        let Some(raw_pid) = child.id().and_then(|p| i32::try_from(p).ok()).filter(|p| *p > 1) else {
            return Err(spawn_err(std::io::Error::other("the child has no process id")));
        };
        let pgid = Pid::from_raw(raw_pid);
        let mut guard = GroupGuard::new(pgid);
        span.record("pid", raw_pid);

        let stdin_task = match (child.stdin.take(), spec.stdin.clone()) {
            (Some(mut pipe), Some(input)) => Some(tokio::spawn(async move {
                // A child that does not read its input is not an error.
                let _ = pipe.write_all(input.as_bytes()).await;
                let _ = pipe.shutdown().await;
            })),
            _ => None,
        };

        // Everything below runs in this one task (no task per pipe): the pipe
        // readers are futures polled alongside the wait and the timers, as
        // `tokio::process::Command::output` does, so a run costs no extra
        // cross-thread wake-ups.
        let activity = AtomicU64::new(0);
        let caps = spec.output_caps;
        let run_log = RunLog::new(&self.log_dir, &self.log_settings);
        let mut out_sink = Sink::new(caps, &run_log, LogKind::Named);
        let mut err_sink = Sink::new(caps, &run_log, LogKind::Spill);
        let wall = spec.wall_timeout_ms.map(|ms| start + Duration::from_millis(ms));
        let idle = spec.idle_timeout_ms.map(Duration::from_millis);
        let mut timed_out = None;
        let mut status: Option<ExitStatus> = None;
        {
            let out_fut = pump(child.stdout.take(), &mut out_sink, start, &activity);
            let err_fut = pump(child.stderr.take(), &mut err_sink, start, &activity);
            tokio::pin!(out_fut, err_fut);
            let (mut out_done, mut err_done) = (false, false);
            loop {
                let idle_deadline = idle.map(|d| start + Duration::from_millis(activity.load(Ordering::Relaxed)) + d);
                tokio::select! {
                    biased;
                    res = child.wait() => {
                        status = res.ok();
                        break;
                    }
                    () = &mut out_fut, if !out_done => out_done = true,
                    () = &mut err_fut, if !err_done => err_done = true,
                    () = sleep_until_opt(wall) => {
                        timed_out = Some(TimeoutKind::Wall);
                        break;
                    }
                    () = sleep_until_opt(idle_deadline) => {
                        let last = start + Duration::from_millis(activity.load(Ordering::Relaxed));
                        if let Some(d) = idle {
                            if Instant::now() >= last + d {
                                timed_out = Some(TimeoutKind::Idle);
                                break;
                            }
                        }
                    }
                }
            }
            if let Some(kind) = timed_out {
                tracing::info!(?kind, "limit reached; ending the process group");
                // Keep reading while the group is ended, so no member blocks
                // on a full pipe during the grace period.
                let term = terminate_group(pgid, &mut child, self.kill_grace);
                tokio::pin!(term);
                loop {
                    tokio::select! {
                        biased;
                        s = &mut term => {
                            status = s;
                            break;
                        }
                        () = &mut out_fut, if !out_done => out_done = true,
                        () = &mut err_fut, if !err_done => err_done = true,
                    }
                }
            }

            // Read what is left in the pipes, but only for a bounded time: a
            // grandchild may hold them open forever.
            let mut drain_until = Instant::now() + self.drain_timeout;
            let mut killed = false;
            while !(out_done && err_done) {
                tokio::select! {
                    biased;
                    () = &mut out_fut, if !out_done => out_done = true,
                    () = &mut err_fut, if !err_done => err_done = true,
                    () = tokio::time::sleep_until(drain_until) => {
                        if killed {
                            // Whatever still holds the pipes left the group: stop reading.
                            tracing::info!("pipes held open outside the process group; no longer reading");
                            break;
                        }
                        tracing::info!("pipes still open after the child exited; killing the process group");
                        signal_group(pgid, Signal::SIGKILL);
                        killed = true;
                        drain_until = Instant::now() + Duration::from_millis(500);
                    }
                }
            }
        }
        if group_alive(pgid) {
            tracing::info!("processes left in the group after the run; ending them");
            signal_group(pgid, Signal::SIGTERM);
            let deadline = Instant::now() + self.kill_grace;
            while group_alive(pgid) && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            signal_group(pgid, Signal::SIGKILL);
        }
        if let Some(group) = cgroup {
            let left = group.kill_all().await;
            if left > 0 {
                tracing::info!(left, "processes that left the process group ended with the run's cgroup");
            }
        }
        guard.disarm();
        if let Some(t) = stdin_task {
            t.abort();
        }

        let (stdout, out_log) = out_sink.finish();
        let (stderr, err_log) = err_sink.finish();
        let log = run_log.finish(out_log, err_log);
        let duration_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
        let exit_code = status.and_then(|s| s.code());
        let signal = status.and_then(|s| s.signal());
        span.record("exit_code", exit_code);
        span.record("signal", signal);
        span.record("duration_ms", duration_ms);
        if let Some(kind) = timed_out {
            span.record("timed_out", tracing::field::debug(kind));
        }
        let mut out = RunOutput::from_text(spec.display_redacted(), 0, "", "");
        out.exit_code = exit_code;
        out.signal = signal;
        out.timed_out = timed_out;
        out.duration_ms = duration_ms;
        out.stdout = stdout.finish();
        out.stderr = stderr.finish();
        out.log_truncated = log.as_ref().is_some_and(|l| l.truncated);
        out.log_path = log.map(|l| l.path);
        out.sandbox = sandbox;
        sandbox_policy::flag_denial(&mut out);
        out.reports = read_reports(report_files);
        Ok(out)
    }
}

impl ProcessExecutor {
    /// One fresh, empty file per report request of `spec`, in the report
    /// directory; none at all when one cannot be created (the command then
    /// runs without its report requests, and its text output is read).
    fn report_files(&self, spec: &CommandSpec) -> Vec<(ReportFormat, tempfile::TempPath)> {
        if spec.reports.is_empty() {
            return Vec::new();
        }
        let created: std::io::Result<Vec<_>> = std::fs::create_dir_all(&self.report_dir).and_then(|()| {
            spec.reports
                .iter()
                .map(|r| {
                    let file = tempfile::Builder::new()
                        .prefix("agentkit-report-")
                        .suffix(".json")
                        .tempfile_in(&self.report_dir)?;
                    Ok((r.format, file.into_temp_path()))
                })
                .collect()
        });
        created.unwrap_or_else(|e| {
            tracing::warn!(error = %e, dir = %self.report_dir.display(), "could not create report files; running without them");
            Vec::new()
        })
    }
}

/// The reports the command wrote (non-empty files, up to
/// [`MAX_REPORT_BYTES`]), each file deleted once read.
fn read_reports(files: Vec<(ReportFormat, tempfile::TempPath)>) -> Vec<agent_core::exec::StructuredReport> {
    use std::io::Read;
    let mut out = Vec::new();
    for (format, path) in files {
        let mut bytes = Vec::new();
        let read =
            std::fs::File::open(&path).and_then(|f| f.take(MAX_REPORT_BYTES + 1).read_to_end(&mut bytes).map(|_| ()));
        match read {
            Ok(()) if bytes.len() as u64 > MAX_REPORT_BYTES => {
                tracing::warn!(path = %path.display(), "report file over {MAX_REPORT_BYTES} bytes; not read");
            }
            Ok(()) if bytes.iter().all(u8::is_ascii_whitespace) => {}
            Ok(()) => out.push(StructuredReport::new(
                format,
                path.to_path_buf(),
                String::from_utf8_lossy(&bytes).into_owned(),
            )),
            Err(e) => tracing::warn!(path = %path.display(), error = %e, "report file not readable"),
        }
        let shown = path.to_path_buf();
        if let Err(e) = path.close() {
            tracing::warn!(path = %shown.display(), error = %e, "report file not deleted");
        }
    }
    out
}

#[async_trait]
impl Executor for ProcessExecutor {
    async fn run(&self, cmd: CommandSpec) -> Result<RunOutput, ExecError> {
        let span = tracing::info_span!(
            "agent_sandbox.exec",
            command = %cmd.display_redacted(),
            pid = tracing::field::Empty,
            exit_code = tracing::field::Empty,
            signal = tracing::field::Empty,
            timed_out = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        );
        self.run_inner(cmd, span.clone()).instrument(span).await
    }

    async fn start(&self, cmd: CommandSpec) -> Result<Box<dyn Service>, ExecError> {
        let service = ProcessService::start(self, &cmd)?;
        tracing::info!(command = %cmd.display_redacted(), "service started");
        Ok(Box::new(service))
    }
}

/// A command ready to spawn, and what its sandbox policy enforces.
pub(crate) struct Prepared {
    /// The process, not yet spawned.
    pub(crate) command: tokio::process::Command,
    /// What the sandbox policy enforces, and how.
    pub(crate) sandbox: agent_core::exec::SandboxReport,
    /// The run's cgroup, which the child joins, when there is one.
    pub(crate) cgroup: Option<crate::cgroup::RunCgroup>,
}

/// Marks the host process non-dumpable, once: its `/proc` files (environ,
/// mem, fd) then belong to root and need `CAP_SYS_PTRACE`, which no
/// confined command has.
fn protect_host_process() {
    static DONE: AtomicBool = AtomicBool::new(false);
    if !DONE.swap(true, Ordering::Relaxed) {
        if let Err(e) = nix::sys::prctl::set_dumpable(false) {
            tracing::warn!(error = %e, "could not mark the host process non-dumpable");
        }
    }
}

/// The file `program` names: itself when it holds a `/`, else the first
/// executable file of that name in a `PATH` directory (relative ones taken
/// from `cwd`). `PATH` defaults to `/usr/local/bin:/usr/bin:/bin`.
fn find_program(program: &str, path: Option<&str>, cwd: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    if program.contains('/') {
        return Some(PathBuf::from(program));
    }
    let path = path.unwrap_or("/usr/local/bin:/usr/bin:/bin");
    path.split(':').find_map(|dir| {
        let dir = if dir.is_empty() { Path::new(".") } else { Path::new(dir) };
        let candidate = if dir.is_absolute() { dir.join(program) } else { cwd.join(dir).join(program) };
        let meta = std::fs::metadata(&candidate).ok()?;
        (meta.is_file() && meta.permissions().mode() & 0o111 != 0).then_some(candidate)
    })
}

/// Reads `pipe` to its end into `sink`, stamping `activity` (ms since
/// `start`) on every read. Dropping the future stops reading and keeps what
/// was read in `sink`.
///
/// The log is written synchronously: writes to a local file land in the page
/// cache and cost less than a round trip through the blocking thread pool.
async fn pump<R: AsyncRead + Unpin>(pipe: Option<R>, sink: &mut Sink<'_>, start: Instant, activity: &AtomicU64) {
    let Some(mut pipe) = pipe else { return };
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        match pipe.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => {
                let now = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
                activity.fetch_max(now, Ordering::Relaxed);
                sink.push(&buf[..n]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    tracing::trace!(bytes = sink.capture.total(), "stream closed");
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
