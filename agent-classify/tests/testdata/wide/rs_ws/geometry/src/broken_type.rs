use crate::Point;

pub fn origin_distance(p: Point) -> f64 {
    let d: u32 = (p.x * p.x + p.y * p.y).sqrt();
    d as f64
}
