//! What a workspace is: the [`WorkspaceOracle`] trait and the
//! [`WorkspaceProfile`] it returns (projects, kinds, build systems, the
//! setup/build/test/lint commands, each answer with its evidence and
//! confidence, and the ambiguities nobody should guess away), and
//! [`contain`], the check that a path stays inside a workspace; [`git`],
//! the hardening every host-run `git` gets, as data.

mod containment;
pub mod git;
mod oracle;
mod profile;

pub use containment::{Contained, ContainmentError, contain};
pub use oracle::{OracleError, WorkspaceOracle};
pub use profile::{Ambiguity, DetectedCommand, Evidence, Project, WorkspaceProfile, build_systems, kinds};
