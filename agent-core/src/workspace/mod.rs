//! What a workspace is: the [`WorkspaceOracle`] trait and the
//! [`WorkspaceProfile`] it returns (projects, kinds, build systems, the
//! setup/build/test/lint commands, each answer with its evidence and
//! confidence, and the ambiguities nobody should guess away).

mod oracle;
mod profile;

pub use oracle::{OracleError, WorkspaceOracle};
pub use profile::{Ambiguity, DetectedCommand, Evidence, Project, WorkspaceProfile, build_systems, kinds};
