//! A test that panics outside an assertion.

/// Counts widgets; panics on too many.
pub fn widgets(n: u32) -> u32 {
    if n > 10 {
        panic!("widget count exploded: {n}");
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_widgets() {
        assert_eq!(widgets(11), 11);
    }

    #[test]
    fn few_widgets() {
        assert_eq!(widgets(2), 2);
    }
}
