//! Integration tests of `agent-oracles`: oracles on fixture trees, classifiers
//! on real cargo output (captured in `tests/testdata/captured` and produced live).

// Tests may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod captured;
mod live;
mod oracle;
mod properties;
mod support;
mod synthetic;
