//! Discounted numbers, computed in decimal so that cents round the way a shop expects.
//!
//! A float price is read as the shortest decimal that reads back as the same float (`19.99`,
//! not `19.989999771118164`), discounted exactly, rounded to cents half away from zero, and
//! turned back into the float type the schema carries. An integer is rounded to a whole
//! number, and a decimal to its own scale, the same way.

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

/// An integer less `percent` percent, rounded to a whole number, half away from zero.
pub fn discount_integer(value: i64, percent: Decimal) -> Result<i64, NotAPrice> {
    let kept = kept_fraction(percent);
    Decimal::from(value)
        .checked_mul(kept)
        .map(|exact| exact.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero))
        .and_then(|rounded| i64::try_from(rounded).ok())
        .ok_or_else(|| NotAPrice(value.to_string()))
}

/// A decimal of `scale` digits, given as its unscaled integer, less `percent` percent,
/// rounded to that scale half away from zero; the result's unscaled integer.
pub fn discount_unscaled(unscaled: i128, scale: u32, percent: Decimal) -> Result<i128, NotAPrice> {
    let not_a_price = || NotAPrice(format!("{unscaled}e-{scale}"));
    let exact = Decimal::try_from_i128_with_scale(unscaled, scale).map_err(|_| not_a_price())?;
    let mut rounded = exact
        .checked_mul(kept_fraction(percent))
        .ok_or_else(not_a_price)?
        .round_dp_with_strategy(scale, RoundingStrategy::MidpointAwayFromZero);
    rounded.rescale(scale);
    if rounded.scale() != scale {
        return Err(not_a_price());
    }
    Ok(rounded.mantissa())
}

fn kept_fraction(percent: Decimal) -> Decimal {
    (Decimal::ONE_HUNDRED - percent) / Decimal::ONE_HUNDRED
}

fn discount_decimal(price: &str, percent: Decimal) -> Result<Decimal, NotAPrice> {
    let exact = Decimal::from_str(price)
        .or_else(|_| Decimal::from_scientific(price))
        .map_err(|_| NotAPrice(price.to_owned()))?;
    Ok((exact * kept_fraction(percent))
        .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero))
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
    fn integers_round_to_whole_numbers_half_away_from_zero() {
        assert_eq!(discount_integer(25, pct("10")).expect("ok"), 23);
        assert_eq!(discount_integer(-25, pct("10")).expect("ok"), -23);
        assert_eq!(discount_integer(1000, pct("12.5")).expect("ok"), 875);
        assert!(discount_integer(i64::MIN, pct("0")).is_ok());
    }

    #[test]
    fn decimals_round_at_their_own_scale() {
        // 12.345 × 0.9 = 11.1105 → 11.111 at scale 3.
        assert_eq!(discount_unscaled(12_345, 3, pct("10")).expect("ok"), 11_111);
        assert_eq!(
            discount_unscaled(-12_345, 3, pct("10")).expect("ok"),
            -11_111
        );
        // 0.05 × 0.5 = 0.025 → 0.03 at scale 2; a whole 100 % leaves 0.00.
        assert_eq!(discount_unscaled(5, 2, pct("50")).expect("ok"), 3);
        assert_eq!(discount_unscaled(1999, 2, pct("100")).expect("ok"), 0);
        assert_eq!(discount_unscaled(7, 0, pct("10")).expect("ok"), 6);
        assert!(
            discount_unscaled(1, 40, pct("10")).is_err(),
            "beyond 28 digits of scale"
        );
    }

    #[test]
    fn non_finite_prices_are_errors() {
        assert!(discount_f32(f32::NAN, pct("10")).is_err());
        assert!(discount_f32(f32::INFINITY, pct("10")).is_err());
    }
}
