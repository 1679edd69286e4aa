//! Points and areas.

#[cfg(feature = "type_error")]
mod broken_type;
#[cfg(feature = "unresolved_name")]
mod broken_name;
#[cfg(feature = "unresolved_import")]
mod broken_import;
#[cfg(feature = "missing_dependency")]
mod broken_dependency;
#[cfg(feature = "borrow_error")]
mod broken_borrow;
#[cfg(feature = "syntax_error")]
mod broken_syntax;
#[cfg(feature = "lint")]
pub mod linty;
#[cfg(feature = "failing_doctest")]
pub mod documented;

/// A point in the plane.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

/// The area of the rectangle with corners `a` and `b`.
///
/// ```
/// use geometry::{area, Point};
/// assert_eq!(area(Point { x: 0.0, y: 0.0 }, Point { x: 2.0, y: 3.0 }), 6.0);
/// ```
pub fn area(a: Point, b: Point) -> f64 {
    ((b.x - a.x) * (b.y - a.y)).abs()
}

/// The perimeter of the same rectangle.
pub fn perimeter(a: Point, b: Point) -> f64 {
    2.0 * ((b.x - a.x).abs() + (b.y - a.y).abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn area_of_unit_square() {
        assert_eq!(area(Point { x: 0.0, y: 0.0 }, Point { x: 1.0, y: 1.0 }), 1.0);
    }

    #[test]
    fn perimeter_of_unit_square() {
        assert_eq!(perimeter(Point { x: 0.0, y: 0.0 }, Point { x: 1.0, y: 1.0 }), 4.0);
    }

    #[cfg(feature = "env_tests")]
    #[test]
    fn reads_scale_from_environment() {
        let scale: f64 = std::env::var("SHOP_API_KEY").unwrap().len() as f64;
        assert!(scale > 0.0);
    }

    #[cfg(feature = "env_tests")]
    #[test]
    fn reads_shapes_fixture() {
        let text = std::fs::read_to_string("tests/fixtures/shapes.txt").unwrap();
        assert!(!text.is_empty());
    }

    #[cfg(feature = "failing_tests")]
    #[test]
    fn area_is_wrong() {
        assert_eq!(area(Point { x: 0.0, y: 0.0 }, Point { x: 2.0, y: 2.0 }), 5.0, "area of a 2x2 square");
    }

    #[cfg(feature = "failing_tests")]
    #[test]
    fn parses_coordinates() {
        let v: Vec<f64> = "1.5,x".split(',').map(|s| s.parse().unwrap()).collect();
        assert_eq!(v.len(), 2);
    }
}
