//! Uses a crate that is not declared in Cargo.toml.

use serde_json::Value;

/// Parses nothing.
pub fn nothing() -> Option<Value> {
    None
}
