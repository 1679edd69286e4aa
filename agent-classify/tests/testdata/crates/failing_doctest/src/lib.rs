//! A failing doctest.

/// Doubles a number.
///
/// ```
/// assert_eq!(failing_doctest::double(2), 5);
/// ```
pub fn double(n: u32) -> u32 {
    n * 2
}

#[cfg(test)]
mod tests {
    #[test]
    fn doubles() {
        assert_eq!(super::double(3), 6);
    }
}
