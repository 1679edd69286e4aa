//! Integration tests of the facade: the repair loop driven end to end over
//! real parts (git snapshots, the process executor, the cargo oracle and
//! classifier, real `cargo test` runs) with a scripted model, and agentctl
//! driven as a black box.

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod agentctl;
mod architecture;
mod discovery;
mod interrupt;
mod merge_langs;
mod merge_store;
mod openai_session;
mod recover;
mod repair_loop;
mod session_faults;
mod sessions;
mod support;
mod swe;
mod task_controls;
