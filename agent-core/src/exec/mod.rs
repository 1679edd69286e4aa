//! Running commands: the [`Executor`] trait, what it is asked to run
//! ([`CommandSpec`] with its environment, sandbox and output policies) and
//! what it reports ([`RunOutput`], with wall and idle timeouts told apart),
//! the long-running [`Service`]s an executor can start, and command lines
//! with their secrets masked for logs ([`redact_args`]).
//!
//! `agent-sandbox` holds the process executor; nothing in `agent-core`
//! spawns a process.

mod command;
mod executor;
mod redact;
mod service;

pub use command::{
    CapturedStream, CommandSpec, Enforcement, EnvPolicy, OutputCaps, ReportFormat, ReportRequest, RunOutput,
    SandboxPolicy, SandboxReport, StructuredReport, TimeoutKind,
};
pub use executor::{ExecError, Executor};
pub use redact::{MASK, redact_args, redact_command_line};
pub use service::{Service, ServiceExit};
