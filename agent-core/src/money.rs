//! [`Usd`]: money, held as integer micro-dollars.
//!
//! Every amount in the workspace (a completion's cost, a budget's ceiling,
//! the store's ledger) is a `Usd`: integer micro-dollars, so sums are exact
//! and a ceiling compares the same way in memory and in SQL. On the wire
//! (JSON events, reports, cassettes) it is a number of dollars, as before.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Sub, SubAssign};

/// An amount of US dollars, exact to the micro-dollar.
///
/// ```
/// use agent_core::budget::Usd;
///
/// let price = Usd::from_dollars(0.000_15);            // one call
/// let total: Usd = std::iter::repeat(price).take(3).sum();
/// assert_eq!(total.micros(), 450);
/// assert_eq!(total.to_string(), "$0.000450");
/// assert_eq!(serde_json::to_string(&total).unwrap(), "0.00045");
/// assert_eq!(serde_json::from_str::<Usd>("0.00045").unwrap(), total);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Usd(i64);

impl Usd {
    /// Nothing.
    pub const ZERO: Usd = Usd(0);

    /// `micros` micro-dollars (millionths of a dollar).
    pub const fn from_micros(micros: i64) -> Self {
        Self(micros)
    }

    /// `dollars`, rounded to the nearest micro-dollar; a value that is not
    /// finite is zero, one beyond the range saturates.
    pub fn from_dollars(dollars: f64) -> Self {
        if !dollars.is_finite() {
            return Self::ZERO;
        }
        // `as` saturates on overflow, which is what a ceiling wants.
        Self((dollars * 1_000_000.0).round() as i64)
    }

    /// The amount in micro-dollars.
    pub const fn micros(self) -> i64 {
        self.0
    }

    /// The amount in dollars, for display and for the wire.
    pub fn dollars(self) -> f64 {
        self.0 as f64 / 1_000_000.0
    }

    /// Whether the amount is zero.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for Usd {
    /// `$D.DDDDDD`, six decimals: every micro-dollar shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}${}.{:06}", abs / 1_000_000, abs % 1_000_000)
    }
}

impl Add for Usd {
    type Output = Usd;
    fn add(self, rhs: Usd) -> Usd {
        Usd(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign for Usd {
    fn add_assign(&mut self, rhs: Usd) {
        *self = *self + rhs;
    }
}

impl Sub for Usd {
    type Output = Usd;
    fn sub(self, rhs: Usd) -> Usd {
        Usd(self.0.saturating_sub(rhs.0))
    }
}

impl SubAssign for Usd {
    fn sub_assign(&mut self, rhs: Usd) {
        *self = *self - rhs;
    }
}

impl Sum for Usd {
    fn sum<I: Iterator<Item = Usd>>(iter: I) -> Usd {
        iter.fold(Usd::ZERO, Add::add)
    }
}

impl<'a> Sum<&'a Usd> for Usd {
    fn sum<I: Iterator<Item = &'a Usd>>(iter: I) -> Usd {
        iter.copied().sum()
    }
}

impl Serialize for Usd {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.dollars())
    }
}

impl<'de> Deserialize<'de> for Usd {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let dollars = f64::deserialize(deserializer)?;
        if !dollars.is_finite() {
            return Err(serde::de::Error::custom("an amount of dollars must be a finite number"));
        }
        Ok(Usd::from_dollars(dollars))
    }
}

impl JsonSchema for Usd {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Usd".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "number",
            "description": "US dollars, exact to the micro-dollar",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Usd;

    #[test]
    fn dollars_round_to_the_nearest_micro_and_back() {
        assert_eq!(Usd::from_dollars(1.5).micros(), 1_500_000);
        assert_eq!(Usd::from_dollars(0.000_000_4).micros(), 0);
        assert_eq!(Usd::from_dollars(0.000_000_6).micros(), 1);
        assert_eq!(Usd::from_dollars(-0.25).micros(), -250_000);
        assert_eq!(Usd::from_dollars(f64::NAN), Usd::ZERO);
        assert_eq!(Usd::from_dollars(f64::INFINITY), Usd::ZERO);
        assert_eq!(Usd::from_dollars(1e300).micros(), i64::MAX);
        assert_eq!(Usd::from_micros(420).dollars(), 0.00042);
    }

    #[test]
    fn sums_are_exact_where_floats_drift() {
        let tenth = Usd::from_dollars(0.1);
        let sum: Usd = std::iter::repeat_n(tenth, 10).sum();
        assert_eq!(sum, Usd::from_dollars(1.0));
        let floats: f64 = std::iter::repeat_n(0.1_f64, 10).sum();
        assert_ne!(floats, 1.0, "the float sum drifts; the point of Usd");
    }

    #[test]
    fn display_shows_every_micro_dollar_and_the_sign() {
        assert_eq!(Usd::from_micros(1_234_567).to_string(), "$1.234567");
        assert_eq!(Usd::from_micros(-5).to_string(), "-$0.000005");
        assert_eq!(Usd::ZERO.to_string(), "$0.000000");
    }

    #[test]
    fn the_wire_form_is_a_number_of_dollars_and_non_numbers_are_refused() {
        assert_eq!(serde_json::to_string(&Usd::from_micros(2_500_000)).unwrap(), "2.5");
        assert_eq!(serde_json::from_str::<Usd>("3").unwrap(), Usd::from_micros(3_000_000));
        assert!(serde_json::from_str::<Usd>("\"3\"").is_err());
    }
}
