//! A missing semicolon.

/// Adds.
pub fn add(a: u32, b: u32) -> u32 {
    let sum = a + b
    let doubled = sum * 2;
    doubled
}
