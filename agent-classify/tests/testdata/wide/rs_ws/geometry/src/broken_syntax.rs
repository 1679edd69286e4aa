use crate::Point;

pub fn flip(p: Point) -> Point {
    let q = Point { x: p.y, y: p.x }
    q
}
