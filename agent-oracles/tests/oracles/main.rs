//! Integration tests of `agent-oracles`: the oracles on fixture trees copied
//! to temporary directories, and `cargo metadata` run for real.

// Tests may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod cargo_metadata;
mod ecosystems;
mod oracle;
mod support;
