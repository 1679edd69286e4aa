//! An import of a std item that does not exist.

use std::collections::HashMapp;

/// Makes a map.
pub fn make() -> usize {
    let m: HashMapp<u32, u32> = Default::default();
    m.len()
}
