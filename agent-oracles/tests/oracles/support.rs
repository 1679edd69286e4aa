//! Fixture helpers.

use std::path::{Path, PathBuf};

pub(crate) use agent_testkit::copy_fixture;

/// `agent-oracles/tests/testdata`.
pub(crate) fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("testdata")
}
