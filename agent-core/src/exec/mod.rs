//! Running commands: the [`Executor`] trait, what it is asked to run
//! ([`CommandSpec`] with its environment, sandbox and output policies) and
//! what it reports ([`RunOutput`], with wall and idle timeouts told apart),
//! and the long-running [`Service`]s an executor can start.
//!
//! `agent-sandbox` holds the process executor; nothing in `agent-core`
//! spawns a process.

mod command;
mod executor;
mod service;

pub use command::{
    CapturedStream, CommandSpec, Enforcement, EnvPolicy, OutputCaps, ReportFormat, ReportRequest, RunOutput,
    SandboxPolicy, SandboxReport, StructuredReport, TimeoutKind,
};
pub use executor::{ExecError, Executor};
pub use service::{Service, ServiceExit};
