use crate::Point;

pub fn midpoint(a: Point, b: Point) -> Point {
    Point { x: (a.x + b.x) / 2.0, y: (a.y + bb.y) / 2.0 }
}
