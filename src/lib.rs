//! `agentkit`: the facade over the agent crates.
//!
//! A host that builds a coding agent depends on this one package and picks
//! the parts it needs with features (`providers`, `oracles`, `sandbox`, `store`,
//! all on by default). Plugin authors depend on [`agent_core`] alone.
//!
//! ```
//! use agentkit::core::RepairConfig;
//! let config = RepairConfig::default();
//! assert_eq!(config.max_attempts, 3);
//! ```

pub use agent_core as core;
#[cfg(feature = "oracles")]
pub use agent_oracles as oracles;
#[cfg(feature = "providers")]
pub use agent_providers as providers;
#[cfg(feature = "sandbox")]
pub use agent_sandbox as sandbox;
#[cfg(feature = "store")]
pub use agent_store as store;
