//! Integration tests of `agent-gates` against the real tools of the machine
//! (python3, node, cargo), real services and real git repositories.

// Tests may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod clean_room;
mod common;
mod contract;
mod dependency;
mod scoped_tests;
mod smoke;
mod structured;
