//! A runner of SWE-bench-format task instances over agentkit's parts, so
//! every change to the library is measured on real tasks in the format
//! the field uses.
//!
//! Each instance is a repository at a commit, a problem statement, a
//! test patch, and two lists of tests: FAIL_TO_PASS (fail before the fix,
//! pass after) and PASS_TO_PASS (pass before and after). The runner checks
//! each instance out in its own worktree, prepares its environment (a
//! Python venv with the project and its test dependencies, `npm ci`,
//! `go mod download`, `cargo fetch`, or the instance's own commands),
//! confirms the instance holds, lets a solver change the code (the gold
//! patch, or the repair loop's agent session), and decides by running
//! both lists again, test by test. It writes the field's formats:
//! `predictions.jsonl` and `report.json`.
//!
//! | module | holds |
//! |---|---|
//! | [`instance`] | [`SweInstance`], [`read_instances`], [`RepoSpecs`] |
//! | [`env`](mod@env) | [`EnvPlan`]: setup steps and the test command |
//! | [`runner`] | [`SweRunner`], [`SweConfig`], [`Solver`] |
//! | [`report`] | [`Prediction`], [`InstanceReport`], [`SweReport`], [`TestResults`] |
//!
//! ```no_run
//! use agent_swe::{SweConfig, SweRunner, Solver, read_instances};
//! use std::path::Path;
//!
//! # async fn demo() -> Result<(), agent_swe::SweError> {
//! let instances = read_instances(Path::new("examples/swe/instances.jsonl"))?;
//! let config = SweConfig::new("/tmp/mirrors", "/tmp/swe-out").with_jobs(2);
//! let report = SweRunner::new(config, Solver::Gold).run(instances).await?;
//! println!("{}", report.summary_line()); // resolved 12 of 12
//! # Ok(()) }
//! ```

pub mod env;
pub mod instance;
mod parts;
pub mod report;
pub mod runner;

pub use env::{EnvPlan, Overrides, PlanSource, SetupStep, TestCommand};
pub use instance::{EnvSpec, InstanceError, RepoSpecs, SweInstance, read_instances};
pub use report::{
    InstanceReport, InstanceStatus, Phases, Prediction, Summary, SweReport, TestResults, Tokens, status_of,
};
pub use runner::{AgentSolver, Progress, ProviderFactory, Solver, SweConfig, SweError, SweRunner, read_report};
