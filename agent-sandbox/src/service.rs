//! [`ProcessService`]: a long-running process started by
//! [`ProcessExecutor`]'s [`Executor::start`](agent_core::Executor::start).

use crate::group::{GroupGuard, terminate_group};
use crate::process_executor::{Prepared, ProcessExecutor};
use agent_core::exec::{CommandSpec, ExecError, Service, ServiceExit};
use async_trait::async_trait;
use nix::unistd::Pid;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;
use tokio::task::JoinHandle;

/// Output kept per service: about the last 4 KiB.
const TAIL_BYTES: usize = 4096;

/// How long the pipes are still read after the process exits, so the lines
/// it printed last are in the tail.
const DRAIN: Duration = Duration::from_millis(500);

/// A process started by [`ProcessExecutor`] as a service: in its own process
/// group, under the spec's environment and sandbox policies, its output
/// (stdout and stderr, by line) kept as a bounded tail. Dropping it kills the
/// whole group.
pub(crate) struct ProcessService {
    child: Child,
    pgid: Pid,
    guard: GroupGuard,
    grace: Duration,
    output: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
    exit: Option<ServiceExit>,
    /// The service's cgroup: dropping the service ends everything in it.
    _cgroup: Option<crate::cgroup::RunCgroup>,
}

impl ProcessService {
    /// Spawns `spec` through `executor`'s preparation (cwd, environment,
    /// sandbox, program lookup).
    pub(crate) fn start(executor: &ProcessExecutor, spec: &CommandSpec) -> Result<Self, ExecError> {
        let Prepared { command: mut cmd, sandbox: _, cgroup } = executor.prepare(spec, &[])?;
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ExecError::ProgramNotFound { program: spec.program.clone() });
            }
            Err(source) => return Err(ExecError::Spawn { program: spec.program.clone(), source }),
        };
        let Some(raw_pid) = child.id().and_then(|p| i32::try_from(p).ok()).filter(|p| *p > 1) else {
            return Err(ExecError::Spawn {
                program: spec.program.clone(),
                source: std::io::Error::other("the child has no process id"),
            });
        };
        let pgid = Pid::from_raw(raw_pid);
        let guard = GroupGuard::new(pgid);
        let output = Arc::new(Mutex::new(String::new()));
        // A service reads no input: close its stdin at once.
        drop(child.stdin.take());
        let mut readers = Vec::new();
        if let Some(s) = child.stdout.take() {
            readers.push(tokio::spawn(collect(s, output.clone())));
        }
        if let Some(s) = child.stderr.take() {
            readers.push(tokio::spawn(collect(s, output.clone())));
        }
        Ok(Self { child, pgid, guard, grace: executor.kill_grace(), output, readers, exit: None, _cgroup: cgroup })
    }

    /// Waits (at most [`DRAIN`]) for the readers to reach the end of the pipes.
    async fn drain(&mut self) {
        let readers = std::mem::take(&mut self.readers);
        let all = futures::future::join_all(readers);
        let _ = tokio::time::timeout(DRAIN, all).await;
    }
}

fn exit_of(status: ExitStatus) -> ServiceExit {
    ServiceExit::new(status.code(), status.signal())
}

#[async_trait]
impl Service for ProcessService {
    fn output_tail(&self) -> String {
        self.output.lock().map(|t| t.clone()).unwrap_or_default()
    }

    async fn try_exit(&mut self) -> Option<ServiceExit> {
        if self.exit.is_none() {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.drain().await;
                self.exit = Some(exit_of(status));
            }
        }
        self.exit
    }

    async fn stop(&mut self) -> Option<ServiceExit> {
        if self.exit.is_none() {
            let status = terminate_group(self.pgid, &mut self.child, self.grace).await;
            self.exit = status.map(exit_of);
        }
        self.guard.disarm();
        for r in self.readers.drain(..) {
            r.abort();
        }
        self.exit
    }
}

impl Drop for ProcessService {
    fn drop(&mut self) {
        for r in &self.readers {
            r.abort();
        }
        // The guard kills the group when it is still armed.
    }
}

/// Appends a stream's lines to `sink`, keeping about the last [`TAIL_BYTES`].
async fn collect<R: tokio::io::AsyncRead + Unpin>(stream: R, sink: Arc<Mutex<String>>) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Ok(mut s) = sink.lock() {
            s.push_str(&line);
            s.push('\n');
            if s.len() > 4 * TAIL_BYTES {
                let mut cut = s.len() - TAIL_BYTES;
                while !s.is_char_boundary(cut) {
                    cut += 1;
                }
                s.drain(..cut);
            }
        }
    }
}
