//! A clippy finding.

/// Is the vector empty?
pub fn empty(v: &Vec<u32>) -> bool {
    v.len() == 0
}
