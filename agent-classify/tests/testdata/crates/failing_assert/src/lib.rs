//! One passing test, one failing assert_eq.

/// Adds two numbers, wrongly.
pub fn add(a: u32, b: u32) -> u32 {
    a + b + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_small_numbers() {
        assert_eq!(add(1, 2), 3);
    }

    #[test]
    fn zero_is_identity() {
        assert!(add(0, 0) < 10);
    }

    #[test]
    #[ignore]
    fn slow_case() {
        assert_eq!(add(2, 2), 4);
    }
}
