use rand::Rng;

pub fn jitter(x: f64) -> f64 {
    x + rand::thread_rng().gen_range(0.0..1.0)
}
