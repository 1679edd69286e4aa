//! `agent-gates`: the checks a change must pass before a loop accepts it,
//! each deciding from external evidence (a tool's exit code and output, the
//! manifests, a service answering on a port), never from the model's word.
//!
//! | gate | proves |
//! |---|---|
//! | [`CommandGate`] | the build or a static check (lint, types) passes, classified |
//! | [`DependencyGate`] | every import of the changed files is declared (feature `dependency`) |
//! | [`TestsGate`] | the named tests went from failing to passing and no passing test regressed |
//! | [`ScopeGate`] | no protected path (a spec's non-goals) was touched |
//! | [`SmokeGate`] | the service starts, becomes healthy and answers |
//! | [`CleanRoomGate`] | the tests pass in a fresh copy set up from scratch |
//! | [`ContractGate`] | no JSON Schema, OpenAPI description or public Rust API the change touches breaks, unless the spec declares it |
//!
//! [`gates_for_spec`] maps a [`TaskSpec`](agent_core::spec::TaskSpec)'s
//! acceptance criteria and non-goals to gates. The mutation gate lives with
//! the mutation engine in `agent-mutants`.
//!
//! ```
//! use agent_core::Gate;
//! use agent_core::gate::GateContext;
//! use agent_core::edit::FileChange;
//! use agent_core::workspace::WorkspaceProfile;
//! use agent_gates::ScopeGate;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let gate = ScopeGate::new(vec!["migrations/**".into()]).unwrap();
//! let changed = vec![FileChange::new("migrations/0001.sql", "modified")];
//! let cx = GateContext::new("/work", WorkspaceProfile::new("/work"), "add a column", changed);
//! let report = gate.check(&cx).await.unwrap();
//! assert!(!report.passed);
//! # });
//! ```
//!
//! Gates run commands only through the [`Executor`](agent_core::Executor)
//! they are given: this crate spawns no process.

mod clean_room;
mod command;
mod contract;
#[cfg(feature = "dependency")]
mod dependency;
mod scope;
mod smoke;
mod spec;
mod tests;

pub use clean_room::CleanRoomGate;
pub use command::{CommandGate, CommandKind};
pub use contract::{BreakKind, BreakingChange, ContractCheck, ContractGate};
#[cfg(feature = "dependency")]
pub use dependency::DependencyGate;
pub use scope::ScopeGate;
pub use smoke::{Health, SmokeFailure, SmokeGate, SmokeOutcome};
pub use spec::{SpecGates, gates_for_spec};
pub use tests::TestsGate;
