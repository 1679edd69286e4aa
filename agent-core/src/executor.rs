//! The [`Executor`] trait: runs commands for the loop.

use crate::{CommandSpec, RunOutput};
use async_trait::async_trait;
use std::sync::Arc;

/// Runs a command and reports what happened.
///
/// A command that runs and fails is `Ok` with a non-zero exit code; `Err` is
/// for a command that could not be run at all.
///
/// ```
/// use agent_core::{async_trait, CommandSpec, ExecError, Executor, RunOutput};
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
}

#[async_trait]
impl<T: Executor + ?Sized> Executor for Arc<T> {
    async fn run(&self, cmd: CommandSpec) -> Result<RunOutput, ExecError> {
        (**self).run(cmd).await
    }
}

#[async_trait]
impl<T: Executor + ?Sized> Executor for Box<T> {
    async fn run(&self, cmd: CommandSpec) -> Result<RunOutput, ExecError> {
        (**self).run(cmd).await
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
    /// A task limit (consecutive timeouts, total execution time) was reached.
    #[error("execution limit reached: {reason}")]
    LimitReached {
        /// Which limit.
        reason: String,
    },
}
