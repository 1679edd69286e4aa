//! Integration tests for `agent-sandbox`: real processes, real git repositories, real files.

// Tests may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod common;
mod digest;
mod dir_snapshot;
mod editor;
mod exec;
mod exec_faults;
mod exec_limits;
mod exec_reports;
mod exec_sandbox;
mod redteam_editor;
mod redteam_exec;
mod redteam_host;
mod redteam_logs;
mod snapshot;
mod snapshot_guards;
mod snapshot_prop;
mod snapshot_refs;
mod worktree_pool;
