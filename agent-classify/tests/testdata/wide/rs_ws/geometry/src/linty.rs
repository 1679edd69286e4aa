//! Code clippy objects to.

/// Whether `v` is empty, the long way.
pub fn is_empty(v: &Vec<i32>) -> bool {
    v.len() == 0
}
