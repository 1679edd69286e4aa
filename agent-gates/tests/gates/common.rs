//! Helpers shared by the tests: git driving and file writing.

pub(crate) use agent_testkit::{git, init_repo, write};
