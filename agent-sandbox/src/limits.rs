//! [`LimitedExecutor`]: task-level execution limits around any [`Executor`].

use agent_core::Executor;
use agent_core::exec::{CommandSpec, ExecError, RunOutput, Service};
use async_trait::async_trait;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Wraps an [`Executor`] with the limits a loop sets for one task:
///
/// - [`with_max_consecutive_timeouts`](Self::with_max_consecutive_timeouts):
///   after `n` runs in a row ended by a timeout (wall or idle), the next run is
///   refused. A run that ends on its own resets the count; a run that could
///   not start (`Err`) leaves it as it is.
/// - [`with_max_total_time`](Self::with_max_total_time): the wall time of all
///   runs adds up; once it reaches the limit the next run is refused, and each
///   run gets a wall timeout no longer than the time left.
///
/// A refused run returns [`ExecError::LimitReached`] without running anything.
/// The counters are shared by every caller of one `LimitedExecutor`: make one
/// per task.
///
/// ```no_run
/// use agent_core::exec::CommandSpec;
/// use agent_core::Executor;
/// use agent_sandbox::{LimitedExecutor, ProcessExecutor};
/// use std::time::Duration;
///
/// # async fn demo() -> Result<(), agent_core::exec::ExecError> {
/// let exec = LimitedExecutor::new(ProcessExecutor::new())
///     .with_max_consecutive_timeouts(3)
///     .with_max_total_time(Duration::from_secs(30 * 60));
/// let out = exec.run(CommandSpec::new("cargo").args(["test"]).wall_timeout(Duration::from_secs(600))).await?;
/// # let _ = out; Ok(()) }
/// ```
#[derive(Debug)]
pub struct LimitedExecutor<E> {
    inner: E,
    max_consecutive_timeouts: Option<u32>,
    max_total_time: Option<Duration>,
    state: Mutex<LimitState>,
}

#[derive(Debug, Default, Clone, Copy)]
struct LimitState {
    consecutive_timeouts: u32,
    total_time: Duration,
}

impl<E: Executor> LimitedExecutor<E> {
    /// `inner` with no limit set.
    pub fn new(inner: E) -> Self {
        Self { inner, max_consecutive_timeouts: None, max_total_time: None, state: Mutex::new(LimitState::default()) }
    }

    /// Refuses to run after `n` consecutive runs ended by a timeout.
    pub fn with_max_consecutive_timeouts(mut self, n: u32) -> Self {
        self.max_consecutive_timeouts = Some(n);
        self
    }

    /// Refuses to run once runs have taken `limit` of wall time in all, and
    /// caps each run's wall timeout at the time left.
    pub fn with_max_total_time(mut self, limit: Duration) -> Self {
        self.max_total_time = Some(limit);
        self
    }

    /// Runs in a row that ended by a timeout, so far.
    pub fn consecutive_timeouts(&self) -> u32 {
        self.state().consecutive_timeouts
    }

    /// Wall time all runs have taken, so far.
    pub fn total_time(&self) -> Duration {
        self.state().total_time
    }

    /// Clears the counters (a new task).
    pub fn reset(&self) {
        *self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = LimitState::default();
    }

    /// The wrapped executor.
    pub fn inner(&self) -> &E {
        &self.inner
    }

    fn state(&self) -> LimitState {
        *self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The wall time left, or the refusal when a limit is reached.
    fn check(&self) -> Result<Option<Duration>, ExecError> {
        let state = self.state();
        if let Some(max) = self.max_consecutive_timeouts {
            if state.consecutive_timeouts >= max {
                return Err(ExecError::LimitReached {
                    reason: format!("{} consecutive runs timed out (limit {max})", state.consecutive_timeouts),
                });
            }
        }
        match self.max_total_time {
            Some(max) if state.total_time >= max => Err(ExecError::LimitReached {
                reason: format!("runs took {} ms in all (limit {} ms)", state.total_time.as_millis(), max.as_millis()),
            }),
            Some(max) => Ok(Some(max - state.total_time)),
            None => Ok(None),
        }
    }
}

#[async_trait]
impl<E: Executor> Executor for LimitedExecutor<E> {
    async fn run(&self, mut cmd: CommandSpec) -> Result<RunOutput, ExecError> {
        if let Some(left) = self.check()? {
            let left_ms = u64::try_from(left.as_millis()).unwrap_or(u64::MAX).max(1);
            cmd.wall_timeout_ms = Some(cmd.wall_timeout_ms.map_or(left_ms, |ms| ms.min(left_ms)));
        }
        let start = Instant::now();
        let result = self.inner.run(cmd).await;
        let elapsed = start.elapsed();
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        state.total_time += elapsed;
        if let Ok(out) = &result {
            if out.timed_out.is_some() {
                state.consecutive_timeouts += 1;
            } else {
                state.consecutive_timeouts = 0;
            }
        }
        result
    }

    /// Starts a service through the inner executor once the limits allow
    /// another command; a service's time is not counted.
    async fn start(&self, cmd: CommandSpec) -> Result<Box<dyn Service>, ExecError> {
        self.check()?;
        self.inner.start(cmd).await
    }
}
