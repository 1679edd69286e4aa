//! Integration tests of `agent-oracles`: oracles on fixture trees, classifiers
//! on real cargo output (captured in `tests/testdata/captured` and produced live).

// Tests may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod captured;
mod ecosystems;
mod go_classifier;
mod js;
mod live;
mod oracle;
mod properties;
mod python_classifiers;
mod python_go_properties;
mod support;
mod synthetic;
