//! The [`Service`] trait: a long-running process started by
//! [`Executor::start`](crate::Executor::start), watched and stopped by its caller.

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How a service's process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct ServiceExit {
    /// The exit code, `None` when a signal ended it.
    pub exit_code: Option<i32>,
    /// The signal that ended it, if one did.
    pub signal: Option<i32>,
}

impl ServiceExit {
    /// An exit with this code or signal.
    pub fn new(exit_code: Option<i32>, signal: Option<i32>) -> Self {
        Self { exit_code, signal }
    }
}

/// A process that runs until its caller stops it: a server a smoke check
/// waits for and sends a request to.
///
/// Dropping a service must end it and everything it started, so a caller
/// that gives up early (a cancelled task, a panic) leaves nothing running.
///
/// ```
/// use agent_core::exec::{Service, ServiceExit};
/// use agent_core::async_trait;
///
/// /// A service that has already exited with code 3 after printing one line.
/// struct Exited;
///
/// #[async_trait]
/// impl Service for Exited {
///     fn output_tail(&self) -> String {
///         "listening failed\\n".to_owned()
///     }
///     async fn try_exit(&mut self) -> Option<ServiceExit> {
///         Some(ServiceExit::new(Some(3), None))
///     }
///     async fn stop(&mut self) -> Option<ServiceExit> {
///         Some(ServiceExit::new(Some(3), None))
///     }
/// }
///
/// let mut s = Exited;
/// let exit = futures::executor::block_on(s.try_exit());
/// assert_eq!(exit.and_then(|e| e.exit_code), Some(3));
/// ```
#[async_trait]
pub trait Service: Send {
    /// The last output of the process (stdout and stderr, in the order the
    /// lines arrived), bounded to a few kilobytes.
    fn output_tail(&self) -> String;

    /// How the process ended, or `None` while it runs. Once it has ended, the
    /// output it printed last is in [`output_tail`](Self::output_tail).
    async fn try_exit(&mut self) -> Option<ServiceExit>;

    /// Stops the process and everything it started (a polite signal, a grace
    /// period, then a kill) and says how it ended. Stopping twice is harmless.
    async fn stop(&mut self) -> Option<ServiceExit>;
}
