//! Integration tests of `agent-mutants`: mutant generation on sources of
//! every language, and the runner on real projects with the real tools.

// Tests may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod generate;
mod jobtrees;
mod reach;
mod run;
mod support;
