//! Discounted prices, computed in decimal so that cents round the way a shop expects.
//!
//! A price is read as the shortest decimal that reads back as the same float (`19.99`, not
//! `19.989999771118164`), discounted exactly, rounded to cents half away from zero, and turned
//! back into the float type the schema carries.

use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};

/// A price that cannot be discounted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("price {0} is not a finite number")]
pub struct NotAPrice(pub String);

/// `price` less `percent` percent, rounded to cents, half away from zero.
pub fn discount_f32(price: f32, percent: Decimal) -> Result<f32, NotAPrice> {
    let rounded = discount_decimal(&price.to_string(), percent)?;
    f32::from_str(&rounded.to_string()).map_err(|_| NotAPrice(price.to_string()))
}

/// The same for `double` prices.
pub fn discount_f64(price: f64, percent: Decimal) -> Result<f64, NotAPrice> {
    let rounded = discount_decimal(&price.to_string(), percent)?;
    f64::from_str(&rounded.to_string()).map_err(|_| NotAPrice(price.to_string()))
}

fn discount_decimal(price: &str, percent: Decimal) -> Result<Decimal, NotAPrice> {
    let exact = Decimal::from_str(price)
        .or_else(|_| Decimal::from_scientific(price))
        .map_err(|_| NotAPrice(price.to_owned()))?;
    let kept = (Decimal::ONE_HUNDRED - percent) / Decimal::ONE_HUNDRED;
    Ok((exact * kept).round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pct(value: &str) -> Decimal {
        Decimal::from_str(value).expect("decimal")
    }

    #[test]
    fn ten_percent_off_rounds_to_cents() {
        assert_eq!(discount_f32(19.99, pct("10")).expect("ok"), 17.99);
        assert_eq!(discount_f32(299.5, pct("10")).expect("ok"), 269.55);
        assert_eq!(discount_f32(100.0, pct("10")).expect("ok"), 90.0);
    }

    #[test]
    fn half_cents_round_away_from_zero() {
        // 0.25 * 0.9 = 0.225 exactly in decimal: rounds up to 0.23, not to even 0.22.
        assert_eq!(discount_f32(0.25, pct("10")).expect("ok"), 0.23);
        // 10.05 * 0.5 = 5.025: a float computation gives 5.02; decimal gives 5.03.
        assert_eq!(discount_f32(10.05, pct("50")).expect("ok"), 5.03);
        assert_eq!(discount_f64(-0.25, pct("10")).expect("ok"), -0.23);
    }

    #[test]
    fn results_print_as_their_shortest_decimal() {
        let price = discount_f32(19.99, pct("10")).expect("ok");
        assert_eq!(serde_json::to_string(&price).expect("json"), "17.99");
    }

    #[test]
    fn zero_and_full_discounts() {
        assert_eq!(discount_f32(19.99, Decimal::ZERO).expect("ok"), 19.99);
        assert_eq!(discount_f32(19.99, Decimal::ONE_HUNDRED).expect("ok"), 0.0);
        assert_eq!(discount_f32(1.005, pct("0")).expect("ok"), 1.01);
    }

    #[test]
    fn fractional_percentages_work() {
        assert_eq!(discount_f32(80.0, pct("12.5")).expect("ok"), 70.0);
    }

    #[test]
    fn huge_and_tiny_prices_survive() {
        assert_eq!(discount_f32(1e20, pct("10")).expect("ok"), 9e19);
        assert_eq!(discount_f32(1e-7, pct("10")).expect("ok"), 0.0);
    }

    #[test]
    fn non_finite_prices_are_errors() {
        assert!(discount_f32(f32::NAN, pct("10")).is_err());
        assert!(discount_f32(f32::INFINITY, pct("10")).is_err());
    }
}
