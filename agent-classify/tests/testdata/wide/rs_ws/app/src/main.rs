use geometry::{area, Point};

fn report(w: f64, h: f64) -> String {
    format!("area {}", area(Point { x: 0.0, y: 0.0 }, Point { x: w, y: h }))
}

#[cfg(feature = "type_error")]
fn count() -> usize {
    let total: usize = report(1.0, 2.0);
    total
}

fn main() {
    println!("{}", report(2.0, 3.0));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_area() {
        assert_eq!(report(2.0, 3.0), "area 6");
    }

    #[cfg(feature = "failing_tests")]
    #[test]
    fn reports_wrong_area() {
        assert_eq!(report(2.0, 2.0), "area 5", "the report of a 2x2 rectangle");
    }
}
