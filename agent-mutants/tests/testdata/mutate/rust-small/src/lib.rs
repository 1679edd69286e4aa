//! A tiny shop-pricing library: the mutation-testing fixture.

/// Whether a customer of this age may buy alcohol.
pub fn is_adult(age: u32) -> bool {
    age >= 18
}

/// Price in cents after a percentage discount (at most 100 %).
pub fn discounted(price: u64, percent: u64) -> u64 {
    let percent = if percent > 100 { 100 } else { percent };
    price - price * percent / 100
}

/// Shipping cost in cents: free from 5000 cents, else a flat fee.
pub fn shipping(total: u64) -> u64 {
    if total >= 5000 {
        return 0;
    }
    499
}

/// Size bucket of an order by item count.
pub fn bucket(items: usize) -> &'static str {
    match items {
        0 => "empty",
        1..=3 => "small",
        _ => "large",
    }
}

/// Sum of the line totals (price × quantity).
pub fn total(lines: &[(u64, u32)]) -> u64 {
    let mut sum = 0;
    for &(price, qty) in lines {
        sum += price * u64::from(qty);
    }
    sum
}

/// Whether a coupon code looks valid: 8 characters, "SAVE" prefix ("SAVE == ok").
pub fn valid_coupon(code: &str) -> bool {
    code.len() == 8 && code.starts_with("SAVE")
}

/// The larger of two prices.
pub fn max_price(a: u64, b: u64) -> u64 {
    if a > b {
        a
    } else {
        b
    }
}

/// A label for a price, e.g. `12.34 EUR`.
pub fn label(cents: u64) -> String {
    format!("{}.{:02} EUR", cents / 100, cents % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adults_are_eighteen_or_older() {
        assert!(is_adult(18));
        assert!(is_adult(40));
        assert!(!is_adult(17));
    }

    #[test]
    fn discount_is_capped_at_100_percent() {
        assert_eq!(discounted(1000, 10), 900);
        assert_eq!(discounted(1000, 150), 0);
        assert_eq!(discounted(1000, 0), 1000);
    }

    #[test]
    fn shipping_is_free_from_5000() {
        assert_eq!(shipping(5000), 0);
        assert_eq!(shipping(4999), 499);
        assert_eq!(shipping(10), 499);
    }

    #[test]
    fn buckets_by_count() {
        assert_eq!(bucket(0), "empty");
        assert_eq!(bucket(3), "small");
        assert_eq!(bucket(4), "large");
    }

    #[test]
    fn total_multiplies_and_sums() {
        assert_eq!(total(&[(250, 2), (100, 3)]), 800);
        assert_eq!(total(&[]), 0);
    }

    #[test]
    fn coupons() {
        assert!(valid_coupon("SAVE1234"));
        assert!(!valid_coupon("SAVE123"));
        assert!(!valid_coupon("GIFT1234"));
    }

    #[test]
    fn labels_have_two_decimals() {
        assert_eq!(label(1234), "12.34 EUR");
        assert_eq!(label(5), "0.05 EUR");
    }

    // Deliberately weak: it only tries equal prices, so the body
    // replacements `0`/`1` are caught but `a > b` → `a >= b`, `a > b` →
    // `a < b` and `if !(a > b)` are MISSED.
    #[test]
    fn max_price_weak() {
        let m = max_price(7, 7);
        assert_eq!(m, 7);
    }
}
