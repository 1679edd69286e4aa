//! A type error: a string where a number is expected.

/// Returns a count.
pub fn count() -> u32 {
    let n: u32 = "three";
    n
}
