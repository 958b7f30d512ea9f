//! `percent_off` in exact integer arithmetic: a float (its shortest decimal) rounded to cents,
//! an integer to a whole number, a decimal's text to its own digits, all half away from zero.

use serde_json::{Number, Value};

/// Millionths of a percent in one percent.
pub const MICRO: i128 = 1_000_000;

/// `value` less `micro` millionths of a percent, as its kind rounds; `None` when it is no
/// number or the numbers do not fit.
pub fn percent_off(value: &Value, micro: i128) -> Option<Value> {
    match value {
        Value::Number(number) if number.is_i64() || number.is_u64() => {
            let whole = i128::from(number.as_i64()?);
            let kept = round_half_away(whole.checked_mul(100 * MICRO - micro)?, 100 * MICRO);
            Some(Value::from(i64::try_from(kept).ok()?))
        }
        Value::Number(number) => {
            let (mantissa, scale) = decimal_parts(&number.as_f64()?.to_string())?;
            let cents = scaled(mantissa, scale, 2, micro)?;
            let text = format_scaled(cents, 2);
            text.parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .map(Value::Number)
        }
        Value::String(text) => {
            let (mantissa, scale) = decimal_parts(text)?;
            Some(Value::String(format_scaled(
                scaled(mantissa, scale, scale, micro)?,
                scale,
            )))
        }
        _ => None,
    }
}

/// `mantissa`·10^-`scale` less `micro` millionths of a percent, as an integer of `to` decimals.
fn scaled(mantissa: i128, scale: u32, to: u32, micro: i128) -> Option<i128> {
    let numerator = mantissa
        .checked_mul(100 * MICRO - micro)?
        .checked_mul(10_i128.checked_pow(to)?)?;
    let denominator = 10_i128.checked_pow(scale)?.checked_mul(100 * MICRO)?;
    Some(round_half_away(numerator, denominator))
}

/// `value`·10^-`scale` as text with exactly `scale` decimals.
fn format_scaled(value: i128, scale: u32) -> String {
    let sign = if value < 0 { "-" } else { "" };
    let digits = value.unsigned_abs().to_string();
    let scale = scale as usize;
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (whole, fraction) = padded.split_at(padded.len() - scale);
    format!("{sign}{whole}.{fraction}")
}

/// `"-12.345"` as `(-12345, 3)`.
fn decimal_parts(text: &str) -> Option<(i128, u32)> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = format!("{whole}{fraction}");
    Some((digits.parse().ok()?, u32::try_from(fraction.len()).ok()?))
}

fn round_half_away(numerator: i128, denominator: i128) -> i128 {
    let quotient = numerator / denominator;
    let remainder = numerator % denominator;
    if remainder.abs() * 2 >= denominator {
        quotient + numerator.signum()
    } else {
        quotient
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_round_to_cents_integers_to_wholes_decimals_to_their_digits() {
        let ten = 10 * MICRO;
        assert_eq!(percent_off(&json!(19.99), ten), Some(json!(17.99)));
        assert_eq!(percent_off(&json!(25), ten), Some(json!(23)));
        assert_eq!(percent_off(&json!(-25), ten), Some(json!(-23)));
        assert_eq!(percent_off(&json!("12.345"), ten), Some(json!("11.111")));
        assert_eq!(
            percent_off(&json!("-0.05"), 50 * MICRO),
            Some(json!("-0.03"))
        );
        assert_eq!(percent_off(&json!("7"), ten), Some(json!("6")));
        assert_eq!(
            percent_off(&json!("19.99"), 100 * MICRO),
            Some(json!("0.00"))
        );
        assert_eq!(percent_off(&json!(true), ten), None);
    }
}
