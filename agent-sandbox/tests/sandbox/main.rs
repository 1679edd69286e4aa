//! Integration tests for `agent-sandbox`: real processes, real git repositories, real files.

// Tests may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod common;
mod editor;
mod exec;
mod snapshot;
mod snapshot_prop;
