//! [`SmokeGate`]: start the service, see it become healthy, make one
//! request, stop it — with startup failures and port conflicts classified.

use agent_core::exec::{CommandSpec, EnvPolicy, Service};
use agent_core::gate::{GateContext, GateError, GateReport};
use agent_core::{Executor, Gate, async_trait};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

/// When the service counts as started.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Health {
    /// An HTTP GET of this path on the picked port answers with a status below 500.
    Url(String),
    /// A line of stdout or stderr contains this text.
    Line(String),
}

/// Why a smoke run failed: the classes a host acts on differently.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SmokeFailure {
    /// The port was taken (by another process or a stale instance).
    PortConflict {
        /// The port.
        port: u16,
    },
    /// The service exited before it became healthy.
    ExitedEarly {
        /// Its exit code, `None` when a signal ended it.
        exit_code: Option<i32>,
        /// The last lines it printed.
        output_tail: String,
    },
    /// It ran but never became healthy before the startup limit.
    NeverHealthy {
        /// How long the gate waited, in milliseconds.
        waited_ms: u64,
    },
    /// It became healthy but the request failed.
    RequestFailed {
        /// The HTTP status, `None` when no response came.
        status: Option<u16>,
    },
    /// The program could not be started.
    SpawnFailed {
        /// The OS error.
        message: String,
    },
}

impl std::fmt::Display for SmokeFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SmokeFailure::PortConflict { port } => write!(f, "port conflict: port {port} is already in use"),
            SmokeFailure::ExitedEarly { exit_code, output_tail } => {
                write!(f, "the service exited before it was healthy (exit {exit_code:?}): {output_tail}")
            }
            SmokeFailure::NeverHealthy { waited_ms } => write!(f, "the service never became healthy in {waited_ms}ms"),
            SmokeFailure::RequestFailed { status: Some(s) } => write!(f, "the smoke request answered HTTP {s}"),
            SmokeFailure::RequestFailed { status: None } => write!(f, "the smoke request got no HTTP response"),
            SmokeFailure::SpawnFailed { message } => write!(f, "the service could not start: {message}"),
        }
    }
}

/// What a smoke run found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SmokeOutcome {
    /// The port the gate picked.
    pub port: u16,
    /// `None` when the service started, answered and stopped.
    pub failure: Option<SmokeFailure>,
    /// The HTTP status of the smoke request, when one was made.
    pub status: Option<u16>,
}

/// Starts a service command on a free port the gate picks, waits for a
/// health URL or a line of output, makes one request, and stops the service
/// and everything it started.
///
/// The service is started through the [`Executor`] the gate is given
/// ([`Executor::start`]), so the executor's sandbox and clean environment
/// apply and this crate spawns no process itself. The port reaches the
/// service as the `PORT` environment variable and in place of `{port}` in its
/// arguments. The child's environment follows [`EnvPolicy`] (no secrets
/// unless named). The health check and the request are one HTTP/1.0 `GET`
/// on the loopback interface.
///
/// ```no_run
/// use agent_gates::{Health, SmokeGate};
/// use agent_sandbox::ProcessExecutor;
/// use std::sync::Arc;
///
/// let gate = SmokeGate::new(
///     Arc::new(ProcessExecutor::new()),
///     "python3",
///     ["-m", "http.server", "{port}"],
///     Health::Url("/".into()),
/// )
/// .with_request("/index.html");
/// ```
#[derive(Clone)]
pub struct SmokeGate {
    executor: Arc<dyn Executor>,
    program: String,
    args: Vec<String>,
    health: Health,
    request: Option<String>,
    startup: Duration,
    env: EnvPolicy,
    port: Option<u16>,
}

impl std::fmt::Debug for SmokeGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmokeGate")
            .field("program", &self.program)
            .field("args", &self.args)
            .field("health", &self.health)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl SmokeGate {
    /// A gate over `program args…` (started through `executor` in the gate
    /// context's root), healthy when `health` says so.
    pub fn new<I, S>(executor: Arc<dyn Executor>, program: impl Into<String>, args: I, health: Health) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            executor,
            program: program.into(),
            args: args.into_iter().map(Into::into).collect(),
            health,
            request: None,
            startup: Duration::from_secs(30),
            env: EnvPolicy::default(),
            port: None,
        }
    }

    /// The request made once healthy (an HTTP GET of this path); by default none beyond the health check.
    pub fn with_request(mut self, path: impl Into<String>) -> Self {
        self.request = Some(path.into());
        self
    }

    /// How long the service may take to become healthy (default 30 s).
    pub fn with_startup_timeout(mut self, limit: Duration) -> Self {
        self.startup = limit;
        self
    }

    /// The environment policy of the service.
    pub fn with_env(mut self, env: EnvPolicy) -> Self {
        self.env = env;
        self
    }

    /// Uses this port instead of picking a free one (for services with a fixed port).
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Runs the smoke check in `cwd`.
    pub async fn run(&self, cwd: &std::path::Path) -> SmokeOutcome {
        let port = match self.port {
            Some(p) => p,
            None => match free_port() {
                Ok(p) => p,
                Err(e) => {
                    let failure = SmokeFailure::SpawnFailed { message: format!("no free port: {e}") };
                    return SmokeOutcome { port: 0, failure: Some(failure), status: None };
                }
            },
        };
        let outcome = |failure, status| SmokeOutcome { port, failure, status };
        let args: Vec<String> = self.args.iter().map(|a| a.replace("{port}", &port.to_string())).collect();
        let spec = CommandSpec::new(self.program.clone())
            .args(args)
            .cwd(cwd)
            .env(self.env.clone().set("PORT", port.to_string()));
        let mut service: Box<dyn Service> = match self.executor.start(spec).await {
            Ok(s) => s,
            Err(e) => return outcome(Some(SmokeFailure::SpawnFailed { message: e.to_string() }), None),
        };

        let start = Instant::now();
        let mut failure = None;
        let mut status = None;
        loop {
            if let Some(exit) = service.try_exit().await {
                let text = service.output_tail();
                failure = Some(if port_conflict(&text) {
                    SmokeFailure::PortConflict { port }
                } else {
                    SmokeFailure::ExitedEarly { exit_code: exit.exit_code, output_tail: tail(&text) }
                });
                break;
            }
            let healthy = match &self.health {
                Health::Line(needle) => service.output_tail().contains(needle.as_str()),
                Health::Url(path) => http_get(port, path).await.is_some_and(|s| s < 500),
            };
            if healthy {
                if let Some(path) = &self.request {
                    status = http_get(port, path).await;
                    if status.is_none_or(|s| s >= 400) {
                        failure = Some(SmokeFailure::RequestFailed { status });
                    }
                }
                break;
            }
            if start.elapsed() >= self.startup {
                let text = service.output_tail();
                failure = Some(if port_conflict(&text) {
                    SmokeFailure::PortConflict { port }
                } else {
                    SmokeFailure::NeverHealthy { waited_ms: start.elapsed().as_millis() as u64 }
                });
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        service.stop().await;
        outcome(failure, status)
    }
}

#[async_trait]
impl Gate for SmokeGate {
    async fn check(&self, cx: &GateContext) -> Result<GateReport, GateError> {
        let outcome = self.run(&cx.root).await;
        Ok(match outcome.failure {
            None => GateReport::new(
                "smoke",
                true,
                format!("`{}` became healthy on port {} and answered", self.program, outcome.port),
            ),
            Some(f) => {
                let mut report = GateReport::new("smoke", false, f.to_string());
                report.findings.push(format!("command: {} {}", self.program, self.args.join(" ")));
                report
            }
        })
    }
}

/// A port free right now on the loopback interface.
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

fn port_conflict(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    ["address already in use", "eaddrinuse", "address in use", "port is already allocated"]
        .iter()
        .any(|p| lower.contains(p))
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().rev().take(5).collect();
    let mut t = lines.into_iter().rev().collect::<Vec<_>>().join(" | ");
    if t.len() > 512 {
        let mut cut = t.len() - 512;
        while !t.is_char_boundary(cut) {
            cut += 1;
        }
        t = t[cut..].to_owned();
    }
    t
}

/// One HTTP/1.0 GET on the loopback port: the status code, or `None` when
/// nothing answered within a second. (A health probe needs no client crate:
/// one request line, one status line.)
async fn http_get(port: u16, path: &str) -> Option<u16> {
    let attempt = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut head = [0u8; 64];
        let mut read = 0;
        while read < 12 {
            let n = stream.read(&mut head[read..]).await.ok()?;
            if n == 0 {
                break;
            }
            read += n;
        }
        let line = std::str::from_utf8(&head[..read]).ok()?;
        let mut parts = line.split_whitespace();
        parts.next().filter(|v| v.starts_with("HTTP/"))?;
        parts.next()?.parse().ok()
    };
    tokio::time::timeout(Duration::from_secs(1), attempt).await.ok().flatten()
}
