//! Integration tests of `agent-classify`: classifiers on real tool output
//! (captured in `tests/testdata` and produced live), flaky detection,
//! per-test outcomes and the repair-context builder.

// Tests may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod auto;
mod captured;
mod containment;
mod corpus;
mod corpus17;
mod flaky;
mod go_classifier;
mod js;
mod junit;
mod live;
mod nextest;
mod outcomes;
mod properties;
mod python_classifiers;
mod python_go_properties;
mod repair_context;
mod repo_map;
mod scopes;
mod support;
mod synthetic;
mod wide;
