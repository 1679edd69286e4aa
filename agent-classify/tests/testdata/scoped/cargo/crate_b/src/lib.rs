//! A fixture crate: the tests compare `answer()` with `EXPECTED`.

/// What the tests expect `answer()` to return.
pub const EXPECTED: i32 = 2;

/// The value under test.
///
/// ```
/// assert_eq!(1 + 1, 2);
/// ```
pub fn answer() -> i32 {
    1 + 2
}

#[cfg(test)]
mod tests {
    #[test]
    fn it_works() {
        assert_eq!(super::answer(), super::EXPECTED);
    }
}
