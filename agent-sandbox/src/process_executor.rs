//! [`ProcessExecutor`]: runs commands as real processes, bounded in time and memory.

use crate::capture::HeadTail;
use crate::group::{GroupGuard, group_alive, signal_group, terminate_group};
use agent_core::{
    CommandSpec, Enforcement, ExecError, Executor, OutputCaps, RunOutput, SandboxPolicy, SandboxReport, TimeoutKind,
};
use async_trait::async_trait;
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeekExt, AsyncWriteExt, BufWriter};
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::Instrument;

/// Runs a [`CommandSpec`] as a child process.
///
/// - The child runs in its own process group, with stdin from `/dev/null`
///   unless the spec gives input, and an environment built only from the
///   spec's [`EnvPolicy`](agent_core::EnvPolicy).
/// - The wall-clock and inactivity limits end the whole group: SIGTERM, a
///   grace period ([`with_kill_grace`](Self::with_kill_grace)), then SIGKILL.
///   A run never outlives its direct child by more than the drain period
///   ([`with_drain_timeout`](Self::with_drain_timeout)) even if grandchildren
///   keep the pipes open, and no process of the group outlives the run.
/// - Output is kept in memory only up to the spec's [`OutputCaps`] per
///   stream; all of it goes to a log file ([`RunOutput::log_path`]) holding
///   the whole of stdout followed by the whole of stderr, so the first
///   `stdout.total_bytes` bytes are stdout.
/// - Sandbox policies other than [`SandboxPolicy::None`] are not enforced yet:
///   `BestEffort` runs unconfined and says so in [`RunOutput::sandbox`],
///   `Required` is refused with [`ExecError::SandboxUnavailable`].
///
/// ```no_run
/// use agent_core::{CommandSpec, Executor};
/// use agent_sandbox::ProcessExecutor;
/// use std::time::Duration;
///
/// # async fn demo() -> Result<(), agent_core::ExecError> {
/// let exec = ProcessExecutor::new().with_default_cwd("/tmp".into());
/// let out = exec.run(CommandSpec::new("echo").args(["hi"]).wall_timeout(Duration::from_secs(10))).await?;
/// assert_eq!(out.stdout.head, "hi\n");
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct ProcessExecutor {
    default_cwd: Option<PathBuf>,
    log_dir: PathBuf,
    kill_grace: Duration,
    drain_timeout: Duration,
}

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
            kill_grace: Duration::from_secs(2),
            drain_timeout: Duration::from_secs(2),
        }
    }

    /// Runs commands without a `cwd` of their own in `dir`.
    pub fn with_default_cwd(mut self, dir: PathBuf) -> Self {
        self.default_cwd = Some(dir);
        self
    }

    /// Writes full-output logs under `dir` (created when needed).
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

    /// The directory full-output logs are written to.
    pub fn log_dir(&self) -> &Path {
        &self.log_dir
    }

    fn sandbox_report(policy: &SandboxPolicy) -> Result<SandboxReport, ExecError> {
        let (name, enforcement) = match policy {
            SandboxPolicy::None => {
                return Ok(SandboxReport { requested: policy.clone(), enforced: true, detail: None });
            }
            SandboxPolicy::WorkspaceWrite { enforcement } => ("workspace_write", *enforcement),
            SandboxPolicy::NoNetwork { enforcement } => ("no_network", *enforcement),
            _ => {
                return Err(ExecError::SandboxUnavailable {
                    reason: format!("policy {policy:?} is not known to this executor"),
                });
            }
        };
        match enforcement {
            Enforcement::Required => Err(ExecError::SandboxUnavailable {
                reason: format!("sandbox policy `{name}` is not enforced yet by ProcessExecutor"),
            }),
            Enforcement::BestEffort => Ok(SandboxReport {
                requested: policy.clone(),
                enforced: false,
                detail: Some(format!(
                    "sandbox policy `{name}` is not enforced yet: the process ran unconfined (best effort)"
                )),
            }),
        }
    }

    fn resolve_cwd(&self, spec: &CommandSpec) -> Result<PathBuf, ExecError> {
        let cwd = match (&spec.cwd, &self.default_cwd) {
            (Some(c), _) => c.clone(),
            (None, Some(d)) => d.clone(),
            (None, None) => std::env::current_dir().map_err(|_| ExecError::BadWorkingDirectory { path: ".".into() })?,
        };
        if cwd.is_dir() { Ok(cwd) } else { Err(ExecError::BadWorkingDirectory { path: cwd }) }
    }

    async fn run_inner(&self, spec: CommandSpec, span: tracing::Span) -> Result<RunOutput, ExecError> {
        if spec.program.trim().is_empty() {
            return Err(ExecError::InvalidCommand { reason: "the program name is empty".into() });
        }
        let sandbox = Self::sandbox_report(&spec.sandbox)?;
        let cwd = self.resolve_cwd(&spec)?;
        let spawn_err = |source: std::io::Error| ExecError::Spawn { program: spec.program.clone(), source };

        std::fs::create_dir_all(&self.log_dir).map_err(spawn_err)?;
        let (log_file, log_path) = tempfile::Builder::new()
            .prefix("run-")
            .suffix(".log")
            .tempfile_in(&self.log_dir)
            .and_then(|f| f.keep().map_err(|e| e.error))
            .map_err(spawn_err)?;
        let stderr_spill = tempfile::tempfile_in(&self.log_dir).map_err(spawn_err)?;

        let host_env = std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
        let mut std_cmd = std::process::Command::new(&spec.program);
        std_cmd
            .args(&spec.args)
            .current_dir(&cwd)
            .env_clear()
            .envs(spec.env.resolve(host_env))
            .stdin(if spec.stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut cmd = tokio::process::Command::from(std_cmd);
        cmd.kill_on_drop(true);

        let start = Instant::now();
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let _ = std::fs::remove_file(&log_path);
                return Err(ExecError::ProgramNotFound { program: spec.program.clone() });
            }
            Err(e) => {
                let _ = std::fs::remove_file(&log_path);
                return Err(spawn_err(e));
            }
        };
        let raw_pid = child.id().and_then(|p| i32::try_from(p).ok()).unwrap_or(0);
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

        let activity = Arc::new(AtomicU64::new(0));
        let (stop_tx, stop_rx) = watch::channel(false);
        let caps = spec.output_caps;
        let out_task = child.stdout.take().map(|pipe| {
            tokio::spawn(pump(
                pipe,
                tokio::fs::File::from_std(log_file),
                caps,
                start,
                activity.clone(),
                stop_rx.clone(),
            ))
        });
        let err_task = child.stderr.take().map(|pipe| {
            tokio::spawn(pump(
                pipe,
                tokio::fs::File::from_std(stderr_spill),
                caps,
                start,
                activity.clone(),
                stop_rx.clone(),
            ))
        });

        let wall = spec.wall_timeout_ms.map(|ms| start + Duration::from_millis(ms));
        let idle = spec.idle_timeout_ms.map(Duration::from_millis);
        let mut timed_out = None;
        let mut status: Option<ExitStatus> = None;
        loop {
            let idle_deadline = idle.map(|d| start + Duration::from_millis(activity.load(Ordering::Relaxed)) + d);
            tokio::select! {
                biased;
                res = child.wait() => {
                    status = res.ok();
                    break;
                }
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
            status = terminate_group(pgid, &mut child, self.kill_grace).await;
        }

        // Read what is left in the pipes, but only for a bounded time: a
        // grandchild may hold them open forever.
        let mut readers: Vec<_> = out_task.into_iter().chain(err_task).collect();
        let all_done = |rs: &[tokio::task::JoinHandle<PumpResult>]| rs.iter().all(|r| r.is_finished());
        let drain_deadline = Instant::now() + self.drain_timeout;
        while !all_done(&readers) && Instant::now() < drain_deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if !all_done(&readers) {
            tracing::info!("pipes still open after the child exited; killing the process group");
            signal_group(pgid, Signal::SIGKILL);
            let deadline = Instant::now() + Duration::from_millis(500);
            while !all_done(&readers) && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            // Whatever still holds the pipes left the group: stop reading.
            let _ = stop_tx.send(true);
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
        guard.disarm();
        if let Some(t) = stdin_task {
            t.abort();
        }

        let mut results = Vec::with_capacity(2);
        for r in readers.drain(..) {
            results.push(r.await.ok());
        }
        let mut results = results.into_iter();
        let stdout_res = results.next().flatten();
        let stderr_res = results.next().flatten();
        let (stdout, mut log) = match stdout_res {
            Some(r) => (r.capture, Some(r.file)),
            None => (HeadTail::new(caps), None),
        };
        let stderr = match stderr_res {
            Some(r) => {
                if let Some(log) = log.as_mut() {
                    if let Err(e) = append_spill(log, r.file).await {
                        tracing::warn!(error = %e, "could not append stderr to the log");
                    }
                }
                r.capture
            }
            None => HeadTail::new(caps),
        };
        let duration_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
        let exit_code = status.and_then(|s| s.code());
        let signal = status.and_then(|s| s.signal());
        span.record("exit_code", exit_code);
        span.record("signal", signal);
        span.record("duration_ms", duration_ms);
        if let Some(kind) = timed_out {
            span.record("timed_out", tracing::field::debug(kind));
        }
        let mut out = RunOutput::from_text(spec.display(), 0, "", "");
        out.exit_code = exit_code;
        out.signal = signal;
        out.timed_out = timed_out;
        out.duration_ms = duration_ms;
        out.stdout = stdout.finish();
        out.stderr = stderr.finish();
        out.log_path = Some(log_path);
        out.sandbox = sandbox;
        Ok(out)
    }
}

#[async_trait]
impl Executor for ProcessExecutor {
    async fn run(&self, cmd: CommandSpec) -> Result<RunOutput, ExecError> {
        let span = tracing::info_span!(
            "agent_sandbox.exec",
            command = %cmd.display(),
            pid = tracing::field::Empty,
            exit_code = tracing::field::Empty,
            signal = tracing::field::Empty,
            timed_out = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        );
        self.run_inner(cmd, span.clone()).instrument(span).await
    }
}

/// What a pipe reader hands back: its capture and its spill file.
struct PumpResult {
    capture: HeadTail,
    file: tokio::fs::File,
}

/// Reads `pipe` to its end (or until told to stop), capturing head and tail,
/// spilling every byte to `file` and stamping `activity` (ms since `start`).
async fn pump<R: AsyncRead + Unpin>(
    mut pipe: R,
    file: tokio::fs::File,
    caps: OutputCaps,
    start: Instant,
    activity: Arc<AtomicU64>,
    mut stop: watch::Receiver<bool>,
) -> PumpResult {
    let mut capture = HeadTail::new(caps);
    let mut writer = BufWriter::with_capacity(256 * 1024, file);
    let mut write_ok = true;
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        tokio::select! {
            biased;
            read = pipe.read(&mut buf) => match read {
                Ok(0) => break,
                Ok(n) => {
                    let now = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
                    activity.fetch_max(now, Ordering::Relaxed);
                    capture.push(&buf[..n]);
                    if write_ok {
                        if let Err(e) = writer.write_all(&buf[..n]).await {
                            tracing::warn!(error = %e, "could not write the output log; capture continues");
                            write_ok = false;
                        }
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            },
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    break;
                }
            }
        }
    }
    let _ = writer.flush().await;
    tracing::trace!(bytes = capture.total(), "stream closed");
    PumpResult { capture, file: writer.into_inner() }
}

/// Appends the stderr spill file to the end of the log.
async fn append_spill(log: &mut tokio::fs::File, mut spill: tokio::fs::File) -> std::io::Result<()> {
    spill.seek(std::io::SeekFrom::Start(0)).await?;
    log.seek(std::io::SeekFrom::End(0)).await?;
    tokio::io::copy(&mut spill, log).await?;
    log.flush().await
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
