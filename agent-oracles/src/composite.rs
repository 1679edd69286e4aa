//! [`CompositeOracle`]: several oracles asked in turn, their answers merged;
//! [`default_oracle`]: the oracles this crate ships, composed.

use crate::{CargoOracle, EcosystemOracle};
use agent_core::workspace::{OracleError, WorkspaceProfile};
use agent_core::{WorkspaceOracle, async_trait};
use std::path::Path;
use std::sync::Arc;

/// Asks every oracle and merges the projects they find.
///
/// Projects are kept in the order of the oracles; a project at the same path
/// with the same build system as an earlier one is dropped. A Makefile or
/// justfile `test` target that CI runs becomes the test command of the projects
/// in its directory whose own default CI does not run. Exactly one project is
/// primary when any are found, chosen over all the oracles' projects by
/// evidence and confidence (CI running its tests, a maturin/PyO3 build, its
/// place at the root, lockfiles, configured runners, members; ties go to the
/// earlier project); its evidence says why. The first error any oracle returns
/// is returned.
///
/// ```
/// use std::sync::Arc;
/// use agent_core::WorkspaceOracle;
/// use agent_oracles::{CargoOracle, CompositeOracle};
///
/// let oracle = CompositeOracle::new(vec![Arc::new(CargoOracle::new())]);
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let missing = oracle.inspect(std::path::Path::new("/definitely/not/here")).await;
/// assert!(missing.is_err());
/// # });
/// ```
#[derive(Clone)]
pub struct CompositeOracle {
    oracles: Vec<Arc<dyn WorkspaceOracle>>,
}

impl std::fmt::Debug for CompositeOracle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompositeOracle").field("oracles", &self.oracles.len()).finish()
    }
}

impl CompositeOracle {
    /// Composes `oracles`, asked in this order.
    pub fn new(oracles: Vec<Arc<dyn WorkspaceOracle>>) -> Self {
        Self { oracles }
    }

    /// How many oracles are composed.
    pub fn len(&self) -> usize {
        self.oracles.len()
    }

    /// Whether no oracle is composed.
    pub fn is_empty(&self) -> bool {
        self.oracles.is_empty()
    }
}

#[async_trait]
impl WorkspaceOracle for CompositeOracle {
    async fn inspect(&self, root: &Path) -> Result<WorkspaceProfile, OracleError> {
        if !root.is_dir() {
            return Err(OracleError::NotADirectory { path: root.to_path_buf() });
        }
        let mut merged = WorkspaceProfile::new(root);
        for oracle in &self.oracles {
            let found = oracle.inspect(root).await?;
            for project in found.projects {
                let duplicate =
                    merged.projects.iter().any(|p| p.path == project.path && p.build_system == project.build_system);
                if !duplicate {
                    merged.projects.push(project);
                }
            }
            merged.ambiguities.extend(found.ambiguities);
        }
        crate::ecosystems::rank::refine(&mut merged.projects);
        Ok(merged)
    }
}

/// The oracles this crate ships, composed: the [`CargoOracle`] first (it owns
/// the root `Cargo.toml`), then the [`EcosystemOracle`] over every other
/// ecosystem and nested cargo projects, sharing one bounded scan.
pub fn default_oracle() -> CompositeOracle {
    CompositeOracle::new(vec![Arc::new(CargoOracle::new()), Arc::new(EcosystemOracle::all())])
}

/// [`default_oracle`] with the cargo oracle confirmed by `cargo metadata`
/// run through `executor` ([`CargoMetadataOracle`](crate::CargoMetadataOracle));
/// every other ecosystem is still read from its manifests without a process.
pub fn default_oracle_with(executor: Arc<dyn agent_core::Executor>) -> CompositeOracle {
    CompositeOracle::new(vec![Arc::new(crate::CargoMetadataOracle::new(executor)), Arc::new(EcosystemOracle::all())])
}
