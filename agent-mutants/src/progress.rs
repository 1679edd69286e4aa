//! Progress of a mutation run: mutants done of the total, the outcomes so
//! far and the time left, reported to an observer after every mutant (as
//! cargo-mutants prints its progress line).

use crate::MutantOutcome;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where a run stands, reported after every mutant.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Mutants with an outcome (cached ones included).
    pub done: usize,
    /// Every mutant of the run.
    pub total: usize,
    /// Of those done: caught.
    pub caught: usize,
    /// Of those done: missed.
    pub missed: usize,
    /// Of those done: unviable.
    pub unviable: usize,
    /// Of those done: timed out.
    pub timeout: usize,
    /// Time since the mutants started running.
    pub elapsed: Duration,
    /// Time left at the pace of the mutants run so far (cached ones cost
    /// nothing); `None` until one mutant has run.
    pub eta: Option<Duration>,
}

impl Progress {
    /// Counts one outcome.
    fn count(&mut self, outcome: MutantOutcome) {
        self.done += 1;
        match outcome {
            MutantOutcome::Caught => self.caught += 1,
            MutantOutcome::Missed => self.missed += 1,
            MutantOutcome::Unviable => self.unviable += 1,
            MutantOutcome::Timeout => self.timeout += 1,
        }
    }
}

impl fmt::Display for Progress {
    /// `12/40 mutants: 9 caught, 2 missed, 1 unviable, 0 timeout; 1m 05s elapsed, ~2m 30s left`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{} mutants: {} caught, {} missed, {} unviable, {} timeout; {} elapsed",
            self.done,
            self.total,
            self.caught,
            self.missed,
            self.unviable,
            self.timeout,
            clock(self.elapsed)
        )?;
        if let Some(eta) = self.eta {
            write!(f, ", ~{} left", clock(eta))?;
        }
        Ok(())
    }
}

/// `1h 02m 05s`, `2m 30s`, `7s`.
fn clock(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, (s / 60) % 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, min, sec) => format!("{min}m {sec:02}s"),
        (h, min, sec) => format!("{h}h {min:02}m {sec:02}s"),
    }
}

/// A function called with the run's [`Progress`] after every mutant (from
/// the job that finished it: keep it quick).
///
/// ```
/// use agent_mutants::{MutationConfig, ProgressObserver};
///
/// let config = MutationConfig::default().progress(ProgressObserver::new(|p| eprint!("\r{p}")));
/// assert!(config.progress.is_some());
/// ```
#[derive(Clone)]
pub struct ProgressObserver(Arc<dyn Fn(&Progress) + Send + Sync>);

impl ProgressObserver {
    /// An observer calling `f`.
    pub fn new(f: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }
}

impl fmt::Debug for ProgressObserver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProgressObserver(..)")
    }
}

/// The run's counts, shared by its jobs.
pub(crate) struct Tracker {
    observer: ProgressObserver,
    state: Mutex<Progress>,
    started: Instant,
    /// Mutants already done when the run started (cached).
    cached: usize,
}

impl Tracker {
    /// A tracker of `total` mutants of which `cached` outcomes are known already.
    pub(crate) fn new(observer: ProgressObserver, total: usize, cached: &[MutantOutcome]) -> Self {
        let mut state = Progress { total, ..Progress::default() };
        for o in cached {
            state.count(*o);
        }
        Self { observer, state: Mutex::new(state), started: Instant::now(), cached: cached.len() }
    }

    /// Reports the state before any mutant runs.
    pub(crate) fn start(&self) {
        if let Ok(state) = self.state.lock() {
            (self.observer.0)(&state);
        }
    }

    /// Counts one finished mutant and reports.
    pub(crate) fn record(&self, outcome: MutantOutcome) {
        let Ok(mut state) = self.state.lock() else { return };
        state.count(outcome);
        state.elapsed = self.started.elapsed();
        let run = state.done.saturating_sub(self.cached);
        let left = state.total.saturating_sub(state.done);
        state.eta = u32::try_from(run).ok().filter(|r| *r > 0).and_then(|r| {
            let per = state.elapsed / r;
            u32::try_from(left).ok().map(|l| per * l)
        });
        (self.observer.0)(&state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_shows_counts_elapsed_and_time_left() {
        let p = Progress {
            done: 12,
            total: 40,
            caught: 9,
            missed: 2,
            unviable: 1,
            timeout: 0,
            elapsed: Duration::from_secs(65),
            eta: Some(Duration::from_secs(150)),
        };
        assert_eq!(
            p.to_string(),
            "12/40 mutants: 9 caught, 2 missed, 1 unviable, 0 timeout; 1m 05s elapsed, ~2m 30s left"
        );
        assert_eq!(clock(Duration::from_secs(3725)), "1h 02m 05s");
        assert_eq!(clock(Duration::from_secs(7)), "7s");
    }

    #[test]
    fn cached_outcomes_count_as_done_but_not_toward_the_pace() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let tracker = Tracker::new(
            ProgressObserver::new(move |p| sink.lock().unwrap().push(p.clone())),
            4,
            &[MutantOutcome::Caught, MutantOutcome::Missed],
        );
        tracker.start();
        tracker.record(MutantOutcome::Unviable);
        let seen = seen.lock().unwrap();
        assert_eq!((seen[0].done, seen[0].caught, seen[0].missed, seen[0].eta), (2, 1, 1, None));
        let last = seen.last().unwrap();
        assert_eq!((last.done, last.total, last.unviable), (3, 4, 1));
        // One mutant ran, one is left: the estimate is the time that one took.
        assert!(last.eta.is_some_and(|eta| eta <= last.elapsed));
    }
}
