//! `agentkit`: the facade over the agent crates.
//!
//! A host that builds a coding agent depends on this one package and picks
//! the parts it needs with features; each crate is re-exported as a module:
//!
//! | module | crate | feature |
//! |---|---|---|
//! | [`core`] | `agent-core`: the plugin traits and the data that crosses them | always |
//! | `agent` | `agent-loop`: the repair loop, inspector, prompts, memory, journals | `agent` |
//! | `providers` | `agent-providers`: LLM providers and their layers | `providers` |
//! | `oracles` | `agent-oracles`: workspace detection | `oracles` |
//! | `classify` | `agent-classify`: failure classifiers, repair contexts | `classify` |
//! | `mutants` | `agent-mutants`: mutation testing | `mutants` |
//! | `gates` | `agent-gates`: verification gates | `gates` |
//! | `sandbox` | `agent-sandbox`: processes, snapshots, worktrees, edits | `sandbox` |
//! | `store` | `agent-store`: shared state on SQLite and PostgreSQL | `store` |
//! | `swe` | `agent-swe`: the SWE-bench-format task runner | `swe` |
//!
//! All are on by default, with `tree-sitter` (enclosing functions in repair
//! contexts, the dependency gate) and `tokenizer` (exact token budgets). A
//! host that only classifies output takes
//! `default-features = false, features = ["classify"]` and compiles no
//! tree-sitter grammar, tiktoken, sqlx or gix. Plugin authors depend on
//! [`agent_core`] alone.
//!
//! ```
//! use agentkit::core::exec::RunOutput;
//! use agentkit::core::workspace::WorkspaceProfile;
//! # #[cfg(feature = "classify")]
//! # {
//! let run = RunOutput::from_text("cargo build", 101, "", "error[E0425]: cannot find value `x` in this scope\n --> src/lib.rs:2:5\n\n");
//! let c = agentkit::classify::classifier_for("cargo").unwrap().classify(&run, &WorkspaceProfile::default());
//! assert_eq!(c.failures[0].line, Some(2));
//! # }
//! ```

#[cfg(feature = "classify")]
pub use agent_classify as classify;
pub use agent_core as core;
#[cfg(feature = "gates")]
pub use agent_gates as gates;
#[cfg(feature = "agent")]
pub use agent_loop as agent;
#[cfg(feature = "mutants")]
pub use agent_mutants as mutants;
#[cfg(feature = "oracles")]
pub use agent_oracles as oracles;
#[cfg(feature = "providers")]
pub use agent_providers as providers;
#[cfg(feature = "sandbox")]
pub use agent_sandbox as sandbox;
#[cfg(feature = "store")]
pub use agent_store as store;
#[cfg(feature = "swe")]
pub use agent_swe as swe;
