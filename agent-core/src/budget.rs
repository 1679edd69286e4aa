//! [`Budget`]: limits on attempts, tokens, cost and wall time, checked
//! before every model turn, and [`Usd`], the one representation of money.

use crate::provider::Usage;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

pub use crate::money::Usd;

/// Limits for one task. `None` means unlimited.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Budget {
    /// Model turns (plans, repairs and re-asks together).
    pub max_model_turns: Option<u32>,
    /// Input plus output tokens.
    pub max_tokens: Option<u64>,
    /// Cost in US dollars.
    pub max_cost_usd: Option<Usd>,
    /// Wall time of the whole task, in milliseconds.
    pub max_wall_ms: Option<u64>,
}

impl Budget {
    /// No limits.
    pub fn unlimited() -> Self {
        Self::default()
    }
    /// Limits model turns.
    pub fn with_max_model_turns(mut self, n: u32) -> Self {
        self.max_model_turns = Some(n);
        self
    }
    /// Limits tokens.
    pub fn with_max_tokens(mut self, n: u64) -> Self {
        self.max_tokens = Some(n);
        self
    }
    /// Limits cost.
    pub fn with_max_cost(mut self, limit: Usd) -> Self {
        self.max_cost_usd = Some(limit);
        self
    }
    /// Limits wall time.
    pub fn with_max_wall(mut self, limit: Duration) -> Self {
        self.max_wall_ms = Some(u64::try_from(limit.as_millis()).unwrap_or(u64::MAX));
        self
    }
}

/// Which limit stopped a task, with the figures.
#[derive(Clone, Debug, PartialEq, thiserror::Error, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "stop", rename_all = "snake_case")]
#[non_exhaustive]
pub enum BudgetStop {
    /// Model turns used up.
    #[error("model turns exhausted: {used} of {limit}")]
    ModelTurns {
        /// Turns taken.
        used: u32,
        /// The limit.
        limit: u32,
    },
    /// Tokens used up.
    #[error("token budget exhausted: {used} of {limit}")]
    Tokens {
        /// Tokens spent.
        used: u64,
        /// The limit.
        limit: u64,
    },
    /// Money used up.
    #[error("cost budget exhausted: {used} of {limit}")]
    Cost {
        /// Dollars spent.
        used: Usd,
        /// The limit.
        limit: Usd,
    },
    /// The executor refused to run more commands for this task (too many
    /// consecutive timeouts, or its total execution time used up).
    #[error("execution limit reached: {reason}")]
    Execution {
        /// The executor's reason.
        reason: String,
    },
    /// A cost limit is set and some model calls came back without a cost
    /// (a model the price table does not know): the spend is unknown, and
    /// an unknown spend is not $0.
    #[error("cost budget cannot be checked: {unpriced} model call(s) had no price, {known} is known of {limit}")]
    UnpricedCost {
        /// Calls without a cost.
        unpriced: u32,
        /// Dollars spent by the calls that had a cost.
        known: Usd,
        /// The limit.
        limit: Usd,
    },
    /// Time used up.
    #[error("wall time exhausted: {used_ms} ms of {limit_ms} ms")]
    WallTime {
        /// Milliseconds elapsed.
        used_ms: u64,
        /// The limit.
        limit_ms: u64,
    },
}

/// Tracks what a task has spent against its [`Budget`].
///
/// Wall time runs from [`start`](Self::start) and covers everything the
/// task does (model turns, test runs, commands, gates, the review); hosts
/// check [`check_wall`](Self::check_wall) before each such step and cap a
/// command's own timeout at [`remaining_wall`](Self::remaining_wall). A
/// turn recorded without a cost is counted as unpriced, never as $0: with a
/// cost limit set, [`check`](Self::check) then stops with
/// [`BudgetStop::UnpricedCost`].
///
/// ```
/// use agent_core::budget::{Budget, BudgetStop, BudgetTracker};
/// use agent_core::provider::Usage;
/// let mut t = BudgetTracker::start(Budget::unlimited().with_max_tokens(100));
/// assert!(t.check().is_ok());
/// t.record(&Usage::new(80, 30), None);
/// assert!(matches!(t.check(), Err(BudgetStop::Tokens { used: 110, limit: 100 })));
/// ```
#[derive(Clone, Debug)]
pub struct BudgetTracker {
    budget: Budget,
    started: Instant,
    turns: u32,
    usage: Usage,
    cost_usd: Usd,
    unpriced: u32,
}

impl BudgetTracker {
    /// Starts the clock on `budget`.
    pub fn start(budget: Budget) -> Self {
        Self { budget, started: Instant::now(), turns: 0, usage: Usage::default(), cost_usd: Usd::ZERO, unpriced: 0 }
    }

    /// Checks every limit; call before each model turn.
    pub fn check(&self) -> Result<(), BudgetStop> {
        if let Some(limit) = self.budget.max_model_turns {
            if self.turns >= limit {
                return Err(BudgetStop::ModelTurns { used: self.turns, limit });
            }
        }
        if let Some(limit) = self.budget.max_tokens {
            let used = self.usage.total();
            if used >= limit {
                return Err(BudgetStop::Tokens { used, limit });
            }
        }
        if let Some(limit) = self.budget.max_cost_usd {
            if self.cost_usd >= limit {
                return Err(BudgetStop::Cost { used: self.cost_usd, limit });
            }
            if self.unpriced > 0 {
                return Err(BudgetStop::UnpricedCost { unpriced: self.unpriced, known: self.cost_usd, limit });
            }
        }
        self.check_wall()
    }

    /// Checks the wall-time limit alone; call before a test run, a command,
    /// a gate or a review.
    pub fn check_wall(&self) -> Result<(), BudgetStop> {
        if let Some(limit_ms) = self.budget.max_wall_ms {
            let used_ms = self.elapsed_ms();
            if used_ms >= limit_ms {
                return Err(BudgetStop::WallTime { used_ms, limit_ms });
            }
        }
        Ok(())
    }

    /// The wall time left (`None`: no limit), for capping a command's timeout.
    pub fn remaining_wall(&self) -> Option<Duration> {
        self.budget.max_wall_ms.map(|limit| Duration::from_millis(limit.saturating_sub(self.elapsed_ms())))
    }

    /// Records one model turn's usage and cost (`None`: the call could not
    /// be priced, counted as unpriced).
    pub fn record(&mut self, usage: &Usage, cost: Option<Usd>) {
        self.turns += 1;
        self.usage.add(usage);
        match cost {
            Some(cost) => self.cost_usd += cost,
            None => self.unpriced += 1,
        }
    }

    /// Records a model turn that failed before reporting usage.
    pub fn record_failed_turn(&mut self) {
        self.turns += 1;
    }

    /// Model turns taken.
    pub fn turns(&self) -> u32 {
        self.turns
    }

    /// Tokens spent.
    pub fn usage(&self) -> Usage {
        self.usage
    }

    /// Dollars spent by the turns that had a cost.
    pub fn cost_usd(&self) -> Usd {
        self.cost_usd
    }

    /// Turns recorded without a cost.
    pub fn unpriced_turns(&self) -> u32 {
        self.unpriced
    }

    /// Milliseconds since the tracker started.
    pub fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unpriced_turn_stops_a_cost_limited_task_instead_of_counting_as_free() {
        let mut t = BudgetTracker::start(Budget::unlimited().with_max_cost(Usd::from_micros(1_000_000)));
        t.record(&Usage::new(10, 10), Some(Usd::from_micros(1)));
        assert!(t.check().is_ok());
        t.record(&Usage::new(10, 10), None);
        assert_eq!(t.unpriced_turns(), 1);
        match t.check() {
            Err(BudgetStop::UnpricedCost { unpriced: 1, known, .. }) => assert_eq!(known, Usd::from_micros(1)),
            other => panic!("expected UnpricedCost, got {other:?}"),
        }
    }

    #[test]
    fn an_unpriced_turn_does_not_stop_a_task_without_a_cost_limit() {
        let mut t = BudgetTracker::start(Budget::unlimited().with_max_tokens(1_000));
        t.record(&Usage::new(10, 10), None);
        assert!(t.check().is_ok());
    }

    #[test]
    fn wall_time_is_checked_on_its_own_and_the_remainder_shrinks() {
        let t = BudgetTracker::start(Budget::unlimited().with_max_wall(Duration::ZERO));
        assert!(matches!(t.check_wall(), Err(BudgetStop::WallTime { limit_ms: 0, .. })));
        assert_eq!(t.remaining_wall(), Some(Duration::ZERO));
        let open = BudgetTracker::start(Budget::unlimited());
        assert!(open.check_wall().is_ok());
        assert_eq!(open.remaining_wall(), None);
        let hour = BudgetTracker::start(Budget::unlimited().with_max_wall(Duration::from_secs(3600)));
        let left = hour.remaining_wall().unwrap_or_default();
        assert!(left <= Duration::from_secs(3600) && left > Duration::from_secs(3500));
    }
}
