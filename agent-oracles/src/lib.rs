//! `agent-oracles`: workspace oracles and failure classifiers for coding agents:
//! know the workspace, structure the failure.
//!
//! A [`WorkspaceOracle`](agent_core::WorkspaceOracle) says what a workspace is
//! and how to build and test it; a
//! [`FailureClassifier`](agent_core::FailureClassifier) turns a run's captured
//! output into structured [`Failure`](agent_core::Failure)s. Nothing here
//! spawns a process: commands are described, never run.
//!
//! ```
//! use agent_core::{FailureClassifier, FailureKind, RunOutput, WorkspaceOracle, WorkspaceProfile};
//! use agent_oracles::{classifier_for, default_oracle, detect_tool};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let profile = default_oracle().inspect(std::path::Path::new(env!("CARGO_MANIFEST_DIR"))).await.unwrap();
//! assert_eq!(profile.primary().unwrap().build_system, "cargo");
//! # });
//! let stderr = "error[E0308]: mismatched types\n --> src/lib.rs:5:18\n  |\n5 |     let n: u32 = \"three\";\n  |                  ^^^^^^^ expected `u32`, found `&str`\n\n";
//! let run = RunOutput::from_text("cargo build", 101, "", stderr);
//! let tool = detect_tool(stderr).unwrap();
//! let classification = classifier_for(tool).unwrap().classify(&run, &WorkspaceProfile::default());
//! assert_eq!(classification.failures[0].kind, FailureKind::Type);
//! assert_eq!(classification.failures[0].line, Some(5));
//! ```

mod cargo_classifier;
mod cargo_metadata;
mod cargo_oracle;
mod common;
mod composite;
mod ecosystems;
mod eslint;
mod flaky;
#[cfg(feature = "syntax")]
pub mod gates;
mod generic;
mod go;
mod jest;
mod libtest;
#[cfg(feature = "syntax")]
pub mod mutate;
mod nextest;
mod nodetest;
mod outcomes;
mod python;
mod registry;
mod repair_context;
mod rustc;
#[cfg(feature = "syntax")]
pub mod syntax;
mod tsc;

pub use cargo_classifier::CargoClassifier;
pub use cargo_metadata::CargoMetadataOracle;
pub use cargo_oracle::CargoOracle;
pub use composite::{CompositeOracle, default_oracle, default_oracle_with};
pub use ecosystems::{
    DenoOracle, DotnetOracle, Ecosystem, EcosystemOracle, GoOracle, JvmOracle, NativeOracle, NodeOracle, PhpOracle,
    PythonOracle, RubyOracle, SCAN_DEPTH, SKIPPED_DIRS, TaskOracle, Validation, ValidationError, dry_run_of, scaffold,
    validate_test_command,
};
pub use eslint::EslintClassifier;
pub use flaky::{FlakyDetector, FlakyError, FlakyReport, Rerun};
pub use generic::GenericClassifier;
pub use go::GoClassifier;
pub use jest::JestClassifier;
pub use nextest::NextestClassifier;
pub use nodetest::NodeTestClassifier;
pub use outcomes::test_outcomes;
pub use python::{MypyClassifier, PytestClassifier, PytestJunitClassifier, RuffClassifier};
pub use registry::{classifier_for, detect_tool};
pub use repair_context::{RepairContextBuilder, RootCause, count_tokens, exact_token_counts};
pub use tsc::TscClassifier;
