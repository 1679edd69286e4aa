//! What an [`Executor`](crate::Executor) is asked to run ([`CommandSpec`]) and what it reports ([`RunOutput`]).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Which environment variables a child process sees.
///
/// The default is a clean environment: only the variables named in
/// [`EnvPolicy::DEFAULT_ALLOW`] and in `allow` pass from the host, plus those
/// in `set`. A variable whose name looks like a secret (contains `KEY`,
/// `TOKEN`, `SECRET` or `PASSWORD`, is `DATABASE_URL`, …:
/// [`EnvPolicy::looks_secret`]) passes only when named in `allow`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct EnvPolicy {
    /// Host variables to pass through, beyond the default allowlist.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Variables to set in the child, overriding the host's.
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    /// Pass the whole host environment (secrets still need naming in `allow`).
    #[serde(default)]
    pub inherit_all: bool,
}

impl EnvPolicy {
    /// Host variables every child gets by default: what toolchains need to run.
    pub const DEFAULT_ALLOW: &'static [&'static str] = &[
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "SHELL",
        "LANG",
        "LC_ALL",
        "LC_CTYPE",
        "TERM",
        "TZ",
        "TMPDIR",
        "CARGO_HOME",
        "RUSTUP_HOME",
        "RUSTUP_TOOLCHAIN",
        "CARGO_TARGET_DIR",
        "GOPATH",
        "GOCACHE",
        "GOMODCACHE",
        "GOFLAGS",
        "PYTHONPATH",
        "VIRTUAL_ENV",
        "JAVA_HOME",
        "NODE_PATH",
        "PYENV_ROOT",
    ];

    /// Whether a variable name looks like it holds a secret.
    ///
    /// Case-insensitive. A name is secret when it
    /// - contains `KEY`, `TOKEN`, `SECRET`, `PASSWORD`, `PASSWD`,
    ///   `PASSPHRASE` or `CREDENTIAL` anywhere (`OPENAI_API_KEY`,
    ///   `GITHUB_TOKEN`, `PGPASSWORD`, `AWS_SHARED_CREDENTIALS_FILE`);
    /// - has a `_`-separated word `DSN` (`SENTRY_DSN`), or, after a
    ///   qualifier, `PAT`, `AUTH`, `AUTHORIZATION`, `PASS`, `PWD`, `COOKIE`,
    ///   `CONN` or `WEBHOOK` (`GITHUB_PAT`, `NPM_AUTH`, `DB_PASS`,
    ///   `MYSQL_PWD`, `AIRFLOW_CONN_X`, `SLACK_WEBHOOK_URL`), or ends in
    ///   `CONNECTION_STRING`;
    /// - is the URL of a database or broker, which carries its password:
    ///   `DATABASE_URL`, `DB_URL`, `REDIS_URL`, `MONGODB_URI`, `AMQP_URL`, …
    ///
    /// Words are matched whole, so `PWD` (the working directory), `OLDPWD`,
    /// `PATH`, `GIT_AUTHOR_NAME` and `XAUTHORITY` (the path of the X11
    /// cookie file, which GUI tests need; the file, not the path, is the
    /// secret) are not secret. `SSH_AUTH_SOCK` is, deliberately: the agent
    /// socket lets a command use the host's SSH keys.
    ///
    /// ```
    /// use agent_core::exec::EnvPolicy;
    ///
    /// assert!(EnvPolicy::looks_secret("DATABASE_URL"));
    /// assert!(EnvPolicy::looks_secret("GITHUB_PAT"));
    /// assert!(!EnvPolicy::looks_secret("PWD"));
    /// ```
    pub fn looks_secret(name: &str) -> bool {
        /// Services whose `*_URL` / `*_URI` holds credentials.
        const CREDENTIAL_URLS: &[&str] = &[
            "DATABASE",
            "DB",
            "POSTGRES",
            "POSTGRESQL",
            "PG",
            "MYSQL",
            "MARIADB",
            "REDIS",
            "MONGO",
            "MONGODB",
            "AMQP",
            "RABBITMQ",
            "BROKER",
            "CLICKHOUSE",
            "ELASTICSEARCH",
        ];
        let upper = name.to_ascii_uppercase();
        if ["KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "PASSPHRASE", "CREDENTIAL"]
            .iter()
            .any(|s| upper.contains(s))
        {
            return true;
        }
        let words: Vec<&str> = upper.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).collect();
        let qualified = words.len() > 1;
        words.iter().enumerate().any(|(i, w)| match *w {
            "DSN" => true,
            "PAT" | "AUTH" | "AUTHORIZATION" | "PASS" | "PWD" | "COOKIE" | "CONN" | "WEBHOOK" => qualified,
            "URL" | "URI" => i > 0 && CREDENTIAL_URLS.contains(&words[i - 1]),
            "STRING" => i > 0 && words[i - 1] == "CONNECTION",
            _ => false,
        })
    }

    /// Also passes the host variable `name`.
    pub fn allow(mut self, name: impl Into<String>) -> Self {
        self.allow.push(name.into());
        self
    }

    /// Passes the whole host environment except secret-looking names not named in `allow`.
    pub fn inherit_all(mut self, inherit: bool) -> Self {
        self.inherit_all = inherit;
        self
    }

    /// Sets `name=value` in the child.
    pub fn set(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.set.insert(name.into(), value.into());
        self
    }

    /// Computes the child's environment from the host's variables.
    pub fn resolve(&self, host: impl IntoIterator<Item = (String, String)>) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (name, value) in host {
            let named = self.allow.iter().any(|a| a == &name);
            let default = Self::DEFAULT_ALLOW.contains(&name.as_str());
            let pass = named || ((default || self.inherit_all) && !Self::looks_secret(&name));
            if pass {
                out.insert(name, value);
            }
        }
        for (k, v) in &self.set {
            out.insert(k.clone(), v.clone());
        }
        out
    }
}

/// Whether a sandbox policy must be enforced or only where the kernel allows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Enforcement {
    /// Apply what the kernel supports; run anyway and report what was enforced.
    #[default]
    BestEffort,
    /// Refuse to run unless the policy is fully enforced.
    Required,
}

/// Confinement of a child process.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "policy", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SandboxPolicy {
    /// No confinement.
    #[default]
    None,
    /// Writes only under the workspace (and a temporary directory).
    WorkspaceWrite {
        /// Must it be enforced?
        enforcement: Enforcement,
    },
    /// No network access.
    NoNetwork {
        /// Must it be enforced?
        enforcement: Enforcement,
    },
    /// Both: writes only under the workspace, and no network access.
    WorkspaceWriteNoNetwork {
        /// Must it be enforced (both parts)?
        enforcement: Enforcement,
    },
}

impl SandboxPolicy {
    /// Whether the policy confines writes to the workspace.
    pub fn confines_writes(&self) -> bool {
        matches!(self, SandboxPolicy::WorkspaceWrite { .. } | SandboxPolicy::WorkspaceWriteNoNetwork { .. })
    }

    /// Whether the policy cuts the network.
    pub fn cuts_network(&self) -> bool {
        matches!(self, SandboxPolicy::NoNetwork { .. } | SandboxPolicy::WorkspaceWriteNoNetwork { .. })
    }
}

/// Byte caps on captured output. Output past the caps goes only to the log file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OutputCaps {
    /// Bytes kept from the start of each stream.
    pub head_bytes: usize,
    /// Bytes kept from the end of each stream.
    pub tail_bytes: usize,
}

impl Default for OutputCaps {
    fn default() -> Self {
        Self { head_bytes: 256 * 1024, tail_bytes: 256 * 1024 }
    }
}

/// A command to run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct CommandSpec {
    /// The program, looked up on `PATH` when it has no `/`.
    pub program: String,
    /// Its arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// The working directory; the executor's default when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<PathBuf>,
    /// The child's environment.
    #[serde(default)]
    pub env: EnvPolicy,
    /// Bytes written to stdin; stdin is `/dev/null` when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin: Option<String>,
    /// Wall-clock limit in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wall_timeout_ms: Option<u64>,
    /// Inactivity limit in milliseconds: no output for this long ends the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout_ms: Option<u64>,
    /// Caps on captured output.
    #[serde(default)]
    pub output_caps: OutputCaps,
    /// Confinement.
    #[serde(default)]
    pub sandbox: SandboxPolicy,
    /// Report files the command is asked to write ([`ReportRequest`]): an
    /// executor that honours them passes each request's arguments with a
    /// fresh file's path and returns the file's content in
    /// [`RunOutput::reports`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reports: Vec<ReportRequest>,
}

impl CommandSpec {
    /// `program` with no arguments and every other setting at its default.
    pub fn new(program: impl Into<String>) -> Self {
        Self {
            program: program.into(),
            args: Vec::new(),
            cwd: None,
            env: EnvPolicy::default(),
            stdin: None,
            wall_timeout_ms: None,
            idle_timeout_ms: None,
            output_caps: OutputCaps::default(),
            sandbox: SandboxPolicy::None,
            reports: Vec::new(),
        }
    }

    /// Appends arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets the working directory.
    pub fn cwd(mut self, cwd: impl Into<PathBuf>) -> Self {
        self.cwd = Some(cwd.into());
        self
    }

    /// Sets the environment policy.
    pub fn env(mut self, env: EnvPolicy) -> Self {
        self.env = env;
        self
    }

    /// Sets stdin.
    pub fn stdin(mut self, input: impl Into<String>) -> Self {
        self.stdin = Some(input.into());
        self
    }

    /// Sets the wall-clock limit.
    pub fn wall_timeout(mut self, limit: std::time::Duration) -> Self {
        self.wall_timeout_ms = Some(u64::try_from(limit.as_millis()).unwrap_or(u64::MAX));
        self
    }

    /// Sets the inactivity limit.
    pub fn idle_timeout(mut self, limit: std::time::Duration) -> Self {
        self.idle_timeout_ms = Some(u64::try_from(limit.as_millis()).unwrap_or(u64::MAX));
        self
    }

    /// Sets the output caps.
    pub fn output_caps(mut self, caps: OutputCaps) -> Self {
        self.output_caps = caps;
        self
    }

    /// Sets the sandbox policy.
    pub fn sandbox(mut self, policy: SandboxPolicy) -> Self {
        self.sandbox = policy;
        self
    }

    /// Asks the command to write a report file ([`ReportRequest`]).
    pub fn report(mut self, request: ReportRequest) -> Self {
        self.reports.push(request);
        self
    }

    /// The command line as one display string (`cargo test --quiet`), the
    /// arguments of its report requests last with their path placeholder
    /// (`jest --json --outputFile={report}`): the same for every run of the
    /// same spec, wherever its reports go.
    pub fn display(&self) -> String {
        std::iter::once(self.program.as_str())
            .chain(self.args.iter().map(String::as_str))
            .chain(self.reports.iter().flat_map(|r| r.args.iter().map(String::as_str)))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// [`display`](Self::display) with its secrets masked
    /// ([`redact_args`](crate::exec::redact_args)): the form every log,
    /// trace and journal entry about the command uses.
    ///
    /// ```
    /// use agent_core::exec::CommandSpec;
    ///
    /// let spec = CommandSpec::new("git").args(["clone", "https://me:hunter2@example.com/r.git"]);
    /// assert_eq!(spec.display_redacted(), "git clone https://me:***@example.com/r.git");
    /// assert_eq!(CommandSpec::new("cargo").args(["test", "-p", "foo"]).display_redacted(), "cargo test -p foo");
    /// ```
    pub fn display_redacted(&self) -> String {
        let words: Vec<&str> = std::iter::once(self.program.as_str())
            .chain(self.args.iter().map(String::as_str))
            .chain(self.reports.iter().flat_map(|r| r.args.iter().map(String::as_str)))
            .collect();
        crate::exec::redact_args(&words).join(" ")
    }

    /// The arguments to run with: [`args`](Self::args), then each report
    /// request's arguments with its placeholder replaced by the path given
    /// for it (`paths[i]` for `reports[i]`; a request without a path is
    /// left out, so a caller that cannot provide a file runs the command
    /// without asking for one).
    ///
    /// ```
    /// use agent_core::exec::{CommandSpec, ReportFormat, ReportRequest};
    /// use std::path::PathBuf;
    ///
    /// let spec = CommandSpec::new("jest")
    ///     .args(["--ci"])
    ///     .report(ReportRequest::new(ReportFormat::JestJson, ["--json", "--outputFile={report}"]));
    /// assert_eq!(spec.display(), "jest --ci --json --outputFile={report}");
    /// let args = spec.args_with_reports(&[PathBuf::from("/tmp/r.json")]);
    /// assert_eq!(args, ["--ci", "--json", "--outputFile=/tmp/r.json"]);
    /// assert_eq!(spec.args_with_reports(&[]), ["--ci"]);
    /// ```
    pub fn args_with_reports(&self, paths: &[PathBuf]) -> Vec<String> {
        let mut args = self.args.clone();
        for (request, path) in self.reports.iter().zip(paths) {
            args.extend(request.args_for(path));
        }
        args
    }
}

/// The machine-readable report formats a command can be asked to write to
/// a file ([`ReportRequest`]), named by the tool that writes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ReportFormat {
    /// jest's JSON report (`jest --json --outputFile=FILE`).
    JestJson,
    /// vitest's JSON reporter (`vitest --reporter=json --outputFile.json=FILE`),
    /// jest's shape without the jest-only fields.
    VitestJson,
}

impl ReportFormat {
    /// The stable snake_case name (`jest_json`, `vitest_json`), as serialised.
    pub fn name(self) -> &'static str {
        match self {
            ReportFormat::JestJson => "jest_json",
            ReportFormat::VitestJson => "vitest_json",
        }
    }
}

/// A report file a command is asked to write: its format, and the
/// arguments that ask for it, in which [`PATH_PLACEHOLDER`](Self::PATH_PLACEHOLDER)
/// stands for the file's path. The executor chooses the path (a fresh file
/// outside the workspace the command may write even when sandboxed), reads
/// the file after the run into [`RunOutput::reports`] and deletes it, so
/// the report is never left in the user's tree, and the tool's console
/// output (whatever the tests print) cannot break it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct ReportRequest {
    /// The format the command writes.
    pub format: ReportFormat,
    /// The arguments that ask for the report, with the path placeholder.
    pub args: Vec<String>,
}

impl ReportRequest {
    /// What stands for the report file's path in [`args`](Self::args).
    pub const PATH_PLACEHOLDER: &'static str = "{report}";

    /// A request for a report in `format`, asked for by `args`.
    pub fn new<I, S>(format: ReportFormat, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self { format, args: args.into_iter().map(Into::into).collect() }
    }

    /// The arguments with the placeholder replaced by `path`.
    pub fn args_for(&self, path: &std::path::Path) -> Vec<String> {
        let path = path.to_string_lossy();
        self.args.iter().map(|a| a.replace(Self::PATH_PLACEHOLDER, &path)).collect()
    }
}

/// A report file a run wrote, as read back by the executor (the file itself
/// is deleted once read).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct StructuredReport {
    /// Its format.
    pub format: ReportFormat,
    /// Where the command wrote it (deleted after reading).
    pub path: PathBuf,
    /// Its content, decoded lossily as UTF-8.
    pub content: String,
}

impl StructuredReport {
    /// A report of `format` read from `path`.
    pub fn new(format: ReportFormat, path: impl Into<PathBuf>, content: impl Into<String>) -> Self {
        Self { format, path: path.into(), content: content.into() }
    }
}

/// Which limit ended a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TimeoutKind {
    /// The wall-clock limit.
    Wall,
    /// The inactivity limit.
    Idle,
}

impl TimeoutKind {
    /// The stable snake_case name (`wall`, `idle`), as serialised.
    pub fn name(self) -> &'static str {
        match self {
            TimeoutKind::Wall => "wall",
            TimeoutKind::Idle => "idle",
        }
    }
}

/// Captured output of one stream (stdout or stderr), bounded in memory.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CapturedStream {
    /// The first bytes, decoded lossily as UTF-8.
    pub head: String,
    /// The last bytes not already in `head`, decoded lossily; empty when nothing was dropped.
    pub tail: String,
    /// Bytes the stream produced in all.
    pub total_bytes: u64,
    /// Whether bytes between head and tail were dropped from memory (they are in the log).
    pub truncated: bool,
}

impl CapturedStream {
    /// Captured text: the head, then a marker and the tail when bytes were dropped.
    pub fn text(&self) -> String {
        if self.truncated {
            format!("{}\n[… {} bytes omitted …]\n{}", self.head, self.omitted_bytes(), self.tail)
        } else {
            format!("{}{}", self.head, self.tail)
        }
    }

    fn omitted_bytes(&self) -> u64 {
        self.total_bytes.saturating_sub((self.head.len() + self.tail.len()) as u64)
    }
}

/// What the sandbox actually enforced for a run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SandboxReport {
    /// The policy asked for.
    pub requested: SandboxPolicy,
    /// Whether it was fully enforced.
    pub enforced: bool,
    /// What was and was not enforced, for people: the mechanism used
    /// (Landlock ABI, network namespace, seccomp filter) or why none was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Set when a sandbox was enforced and the run looks like it was stopped
    /// by it rather than failing on its own: the evidence found (a message such
    /// as "Permission denied", "Operation not permitted", "Read-only file
    /// system" or "Network is unreachable" in the output, or death by
    /// `SIGSYS`). A heuristic: a command may print these words for reasons of
    /// its own, and a denied call whose error is swallowed leaves no trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denial_suspected: Option<String>,
}

/// The result of running a command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct RunOutput {
    /// The command line that ran.
    pub command: String,
    /// The exit code, when the process exited normally.
    pub exit_code: Option<i32>,
    /// The signal that ended the process, when one did.
    pub signal: Option<i32>,
    /// The limit that ended the run, if one did.
    pub timed_out: Option<TimeoutKind>,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// Captured stdout.
    pub stdout: CapturedStream,
    /// Captured stderr.
    pub stderr: CapturedStream,
    /// A file holding the whole output (stdout then stderr), when one was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_path: Option<PathBuf>,
    /// Set when the log at `log_path` does not hold the whole output: the
    /// executor's log cap was reached (a marker line in the log stands for
    /// each run of bytes left out) or writing the log failed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub log_truncated: bool,
    /// What the sandbox enforced.
    #[serde(default)]
    pub sandbox: SandboxReport,
    /// The report files the run wrote, as asked by [`CommandSpec::reports`]
    /// (a request the tool did not answer, by writing nothing, has none).
    /// Classifiers read a report in preference to the console output.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reports: Vec<StructuredReport>,
}

impl RunOutput {
    /// A finished run with this exit code and captured text; for tests and fakes.
    pub fn from_text(
        command: impl Into<String>,
        exit_code: i32,
        stdout: impl Into<String>,
        stderr: impl Into<String>,
    ) -> Self {
        let stdout = stdout.into();
        let stderr = stderr.into();
        Self {
            command: command.into(),
            exit_code: Some(exit_code),
            signal: None,
            timed_out: None,
            duration_ms: 0,
            stdout: CapturedStream { total_bytes: stdout.len() as u64, head: stdout, ..CapturedStream::default() },
            stderr: CapturedStream { total_bytes: stderr.len() as u64, head: stderr, ..CapturedStream::default() },
            log_path: None,
            log_truncated: false,
            sandbox: SandboxReport::default(),
            reports: Vec::new(),
        }
    }

    /// Adds a report the run wrote; for executors, tests and fakes.
    pub fn with_report(mut self, report: StructuredReport) -> Self {
        self.reports.push(report);
        self
    }

    /// The content of the first report in `format`, when the run wrote one.
    pub fn report(&self, format: ReportFormat) -> Option<&str> {
        self.reports.iter().find(|r| r.format == format).map(|r| r.content.as_str())
    }

    /// True when the process exited with code 0 and no limit ended it.
    pub fn success(&self) -> bool {
        self.exit_code == Some(0) && self.timed_out.is_none()
    }
}
