//! `agent-classify`: structure the failure.
//!
//! A [`FailureClassifier`](agent_core::FailureClassifier) turns a run's
//! captured output into structured [`Failure`](agent_core::failure::Failure)s
//! (kind, file, line, test, message, snippet), per-test outcomes, and a
//! verdict on whether the run is valid at all. This crate holds one
//! classifier per tool (cargo/rustc/libtest, cargo-nextest, pytest text and
//! JUnit XML, `python -m unittest`, mypy, ruff, go, tsc, jest/vitest, node --test, eslint, and a
//! generic fallback), [`classifier_for`] and [`detect_tool`] to pick one,
//! the [`AutoClassifier`], which picks one per run from the command that ran
//! ([`tool_for_command`]), the [`FlakyDetector`] (re-runs through the
//! caller's [`Executor`](agent_core::Executor)), the
//! [`RepairContextBuilder`], which renders failures as a prompt grouped by
//! root cause within a token budget, and the [`RepoMap`], a ranked map of
//! the workspace's files and symbols for the first prompt of a session.
//!
//! ```
//! use agent_core::exec::RunOutput;
//! use agent_core::failure::FailureKind;
//! use agent_core::workspace::WorkspaceProfile;
//! use agent_classify::{classifier_for, detect_tool};
//!
//! let stderr = "error[E0308]: mismatched types\n --> src/lib.rs:5:18\n  |\n5 |     let n: u32 = \"three\";\n  |                  ^^^^^^^ expected `u32`, found `&str`\n\n";
//! let run = RunOutput::from_text("cargo build", 101, "", stderr);
//! let tool = detect_tool(stderr).unwrap();
//! let classification = classifier_for(tool).unwrap().classify(&run, &WorkspaceProfile::default());
//! assert_eq!(classification.failures[0].kind, FailureKind::Type);
//! assert_eq!(classification.failures[0].line, Some(5));
//! ```
//!
//! Classifiers are pure functions of the captured output (plus reads of
//! source files under the workspace root for snippets). Every read of a
//! file named by tool output or by a failure goes through agent-core's
//! [`contain`](agent_core::workspace::contain): a path outside the
//! workspace (an absolute frame elsewhere, `../`, a symlink pointing out)
//! stays a location in the failure and its content is never read. Their tests run on
//! real outputs of the real tools, captured beside the sources that produced
//! them with the exact commands (`tests/testdata`, with its capture scripts
//! and READMEs).
//!
//! Features: `syntax` (default) shows the enclosing function of a failure
//! and the repo map's symbols and import links through tree-sitter;
//! `tokenizer` (default) counts the repair-context and repo-map budgets with
//! tiktoken's `o200k_base`.

mod auto;
mod cargo_classifier;
mod common;
mod eslint;
mod flaky;
mod generic;
mod go;
mod jest;
mod js_text;
mod libtest;
mod nextest;
mod nodetest;
mod outcomes;
mod python;
mod registry;
mod repair_context;
mod repo_map;
mod rustc;
mod tsc;

pub use auto::{AutoClassifier, tool_for_command};
pub use cargo_classifier::CargoClassifier;
pub use eslint::EslintClassifier;
pub use flaky::{FlakyDetector, FlakyError, FlakyReport, Rerun};
pub use generic::GenericClassifier;
pub use go::GoClassifier;
pub use jest::JestClassifier;
pub use nextest::NextestClassifier;
pub use nodetest::NodeTestClassifier;
pub use outcomes::{run_test_outcomes, test_outcomes};
pub use python::{MypyClassifier, PytestClassifier, PytestJunitClassifier, RuffClassifier, UnittestClassifier};
pub use registry::{UnknownTool, classifier_for, classify_captured, detect_tool};
pub use repair_context::{RepairContextBuilder, RootCause, count_tokens, exact_token_counts};
pub use repo_map::RepoMap;
pub use tsc::TscClassifier;
