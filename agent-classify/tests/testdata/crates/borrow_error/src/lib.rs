//! A use after move.

/// Joins the words twice.
pub fn twice(words: Vec<String>) -> usize {
    let moved = words;
    let first = moved.len();
    first + words.len()
}
