//! An unresolved name.

/// Returns a total.
pub fn total() -> u32 {
    let base = 1;
    base + undefined_offset
}
