//! Integration tests of `agent-oracles`: oracles on fixture trees, classifiers
//! on real cargo output (captured in `tests/testdata/captured` and produced live).

// Tests may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod captured;
mod cargo_metadata;
mod ecosystems;
mod flaky;
mod gates;
mod go_classifier;
mod js;
mod junit;
mod live;
mod mutate_generate;
mod mutate_run;
mod nextest;
mod oracle;
mod outcomes;
mod properties;
mod python_classifiers;
mod python_go_properties;
mod repair_context;
mod support;
mod synthetic;
