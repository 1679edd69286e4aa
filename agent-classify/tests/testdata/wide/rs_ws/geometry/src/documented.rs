//! Documented helpers.

/// Doubles `x`.
///
/// ```
/// assert_eq!(geometry::documented::double(3.0), 7.0);
/// ```
pub fn double(x: f64) -> f64 {
    x * 2.0
}

/// Halves `x`.
///
/// ```
/// assert_eq!(geometry::documented::half(3.0), 1.5);
/// ```
pub fn half(x: f64) -> f64 {
    x / 2.0
}
