//! The [`Executor`] trait: runs commands for the loop, and starts the
//! long-running services a smoke check talks to.

use crate::exec::{CommandSpec, RunOutput, Service};
use async_trait::async_trait;
use std::sync::Arc;

/// Runs a command and reports what happened.
///
/// A command that runs and fails is `Ok` with a non-zero exit code; `Err` is
/// for a command that could not be run at all.
///
/// Report requests ([`CommandSpec::reports`]): an executor that honours
/// them gives each a fresh file outside the workspace that the command may
/// write (its sandbox included), runs
/// [`CommandSpec::args_with_reports`] with those paths, and after the run
/// reads each file that is not empty into [`RunOutput::reports`] and deletes
/// it. One that does not runs `args_with_reports(&[])`, the command without
/// them (as the example below does, by ignoring them): the tool then prints
/// its text output, which the classifiers read instead.
///
/// ```
/// use agent_core::{async_trait, Executor};
/// use agent_core::exec::{CommandSpec, ExecError, RunOutput};
///
/// /// Pretends every command printed "ok" and exited 0.
/// struct Fake;
///
/// #[async_trait]
/// impl Executor for Fake {
///     async fn run(&self, cmd: CommandSpec) -> Result<RunOutput, ExecError> {
///         Ok(RunOutput::from_text(cmd.display(), 0, "ok", ""))
///     }
/// }
/// # let out = futures::executor::block_on(Fake.run(CommandSpec::new("true"))).unwrap();
/// # assert!(out.success());
/// ```
#[async_trait]
pub trait Executor: Send + Sync {
    /// Runs `cmd` to completion (or to a limit) and reports the output.
    async fn run(&self, cmd: CommandSpec) -> Result<RunOutput, ExecError>;

    /// Starts `cmd` as a long-running [`Service`] (a server under a smoke
    /// check) and returns at once; the caller stops it. The spec's timeouts
    /// do not apply; its environment and sandbox policies do.
    ///
    /// The default refuses with [`ExecError::Unsupported`]: an executor that
    /// only runs commands to completion need not implement it.
    async fn start(&self, cmd: CommandSpec) -> Result<Box<dyn Service>, ExecError> {
        Err(ExecError::Unsupported { operation: format!("starting `{}` as a service", cmd.display()) })
    }
}

#[async_trait]
impl<T: Executor + ?Sized> Executor for Arc<T> {
    async fn run(&self, cmd: CommandSpec) -> Result<RunOutput, ExecError> {
        (**self).run(cmd).await
    }

    async fn start(&self, cmd: CommandSpec) -> Result<Box<dyn Service>, ExecError> {
        (**self).start(cmd).await
    }
}

#[async_trait]
impl<T: Executor + ?Sized> Executor for Box<T> {
    async fn run(&self, cmd: CommandSpec) -> Result<RunOutput, ExecError> {
        (**self).run(cmd).await
    }

    async fn start(&self, cmd: CommandSpec) -> Result<Box<dyn Service>, ExecError> {
        (**self).start(cmd).await
    }
}

/// Why a command could not be run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecError {
    /// The program was not found (a missing toolchain).
    #[error("program not found: {program}")]
    ProgramNotFound {
        /// The program asked for.
        program: String,
    },
    /// The working directory does not exist or is not a directory.
    #[error("working directory not usable: {}", path.display())]
    BadWorkingDirectory {
        /// The directory asked for.
        path: std::path::PathBuf,
    },
    /// A `Required` sandbox policy cannot be enforced on this kernel.
    #[error("sandbox policy cannot be enforced: {reason}")]
    SandboxUnavailable {
        /// What is missing.
        reason: String,
    },
    /// The spec is inconsistent (e.g. an empty program name).
    #[error("invalid command: {reason}")]
    InvalidCommand {
        /// What is wrong.
        reason: String,
    },
    /// Spawning or waiting failed in the operating system.
    #[error("spawn failed for {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The executor does not offer this operation (e.g. [`Executor::start`]).
    #[error("not supported by this executor: {operation}")]
    Unsupported {
        /// What was asked.
        operation: String,
    },
    /// A task limit (consecutive timeouts, total execution time) was reached.
    #[error("execution limit reached: {reason}")]
    LimitReached {
        /// Which limit.
        reason: String,
    },
}
