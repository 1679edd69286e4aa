//! [`Verdict`]: the final judgement on a change.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Whether a change is accepted, from external evidence (gates, reviews).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "verdict", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Verdict {
    /// The change does what was asked.
    Approve,
    /// The change must be amended.
    ChangesRequested {
        /// What to change.
        items: Vec<String>,
    },
    /// Part of the goal is met.
    Partial {
        /// What is still missing.
        items: Vec<String>,
    },
    /// A person must look.
    NeedsHuman {
        /// Why.
        reason: String,
    },
}
