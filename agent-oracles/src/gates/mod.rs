//! Gates over the workspace: checks a change must pass before a loop
//! accepts it, each deciding from external evidence (a tool's exit code and
//! output, the manifests), never from the model's word.
//!
//! The mutation gate lives with the mutation engine
//! ([`MutationGate`](crate::mutate::MutationGate)); the smoke gate, which
//! owns a long-running process, lives in `agent-sandbox`.

mod command;
mod dependency;
mod scope;
mod spec;
mod tests;

pub use command::{CommandGate, CommandKind};
pub use dependency::DependencyGate;
pub use scope::ScopeGate;
pub use spec::{SpecGates, gates_for_spec};
pub use tests::TestsGate;
