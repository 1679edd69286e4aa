/// Adds two numbers.
///
/// ```
/// assert_eq!(rs_doctest::add(2, 2), 5);
/// ```
pub fn add(a: u32, b: u32) -> u32 {
    a + b
}

/// Subtracts.
///
/// ```
/// assert_eq!(rs_doctest::sub(3, 1), 2);
/// ```
pub fn sub(a: u32, b: u32) -> u32 {
    a - b
}
