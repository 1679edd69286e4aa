//! `agent-oracles`: know the workspace before anything is planned.
//!
//! A [`WorkspaceOracle`](agent_core::WorkspaceOracle) says what a workspace
//! is (its projects, kinds and build systems) and how to set it up, build,
//! test and lint it, each answer with the evidence (file and field) it came
//! from and a confidence, and the conflicts it found as ambiguities instead
//! of guesses. [`default_oracle`] composes the oracles this crate ships for
//! Rust, Go, Python, Node/TypeScript, Deno, the JVM, C/C++, Ruby, PHP, .NET
//! and task runners; [`scaffold`] and [`validate_test_command`] prepare and
//! dry-run what was found.
//!
//! ```
//! use agent_core::WorkspaceOracle;
//! use agent_oracles::default_oracle;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let profile = default_oracle().inspect(std::path::Path::new(env!("CARGO_MANIFEST_DIR"))).await.unwrap();
//! assert_eq!(profile.primary().unwrap().build_system, "cargo");
//! # });
//! ```
//!
//! Oracles read manifests and a bounded scan of the tree; they spawn no
//! process of their own. [`CargoMetadataOracle`] and the dry runs ask the
//! caller's [`Executor`](agent_core::Executor) to run a command.

mod cargo_metadata;
mod cargo_oracle;
mod composite;
mod ecosystems;

pub use cargo_metadata::CargoMetadataOracle;
pub use cargo_oracle::CargoOracle;
pub use composite::{CompositeOracle, default_oracle, default_oracle_with};
pub use ecosystems::{
    DenoOracle, DotnetOracle, Ecosystem, EcosystemOracle, GoOracle, JvmOracle, NativeOracle, NodeOracle, PhpOracle,
    PythonOracle, RubyOracle, SCAN_DEPTH, SKIPPED_DIRS, TaskOracle, Validation, ValidationError, dry_run_of, scaffold,
    validate_test_command,
};
