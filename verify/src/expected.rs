//! What a row's line must say, computed without the consumer's code: the category in upper
//! case, and the configured discount taken off the price in exact integer arithmetic, rounded
//! to whole cents half away from zero.

use serde_json::{Map, Number, Value};

/// Millionths of a percent in one percent.
const MICRO: i128 = 1_000_000;

/// The transformation the consumers are configured with.
#[derive(Debug, Clone, Default)]
pub struct Expectation {
    /// Field holding the category.
    pub category_field: String,
    /// Field holding the price.
    pub price_field: String,
    /// Upper-cased category and the discount in millionths of a percent.
    discounts: Vec<(String, i128)>,
}

impl Expectation {
    /// Discounts as `(category, percent)`, matched ignoring case.
    pub fn new(discounts: &[(String, f64)]) -> Self {
        Self {
            category_field: "category".into(),
            price_field: "price".into(),
            discounts: discounts
                .iter()
                .map(|(category, percent)| {
                    (
                        category.to_uppercase(),
                        (percent * MICRO as f64).round() as i128,
                    )
                })
                .collect(),
        }
    }

    /// The fields a line of `row` must hold, for the fields the row has: `row` maps column
    /// names to their values as the table holds them.
    pub fn line_of(&self, row: &Map<String, Value>) -> Map<String, Value> {
        let mut line = row.clone();
        let mut discount = None;
        if let Some(Value::String(category)) = line.get_mut(&self.category_field) {
            *category = category.to_uppercase();
            discount = self
                .discounts
                .iter()
                .find(|(c, _)| c == category)
                .map(|(_, micro)| *micro);
        }
        if let (Some(micro), Some(price)) = (discount, line.get_mut(&self.price_field)) {
            if let Some(discounted) = price.as_f64().and_then(|p| discounted(p, micro)) {
                *price = discounted;
            }
        }
        line
    }
}

/// `price` (the shortest decimal that reads back as it) less `micro` millionths of a percent,
/// rounded to cents half away from zero; `None` when the numbers do not fit.
fn discounted(price: f64, micro: i128) -> Option<Value> {
    let (mantissa, scale) = decimal_parts(&price.to_string())?;
    let kept = 100 * MICRO - micro;
    let numerator = mantissa.checked_mul(kept)?.checked_mul(100)?;
    let denominator = 10_i128.checked_pow(scale)?.checked_mul(100 * MICRO)?;
    let cents = round_half_away(numerator, denominator);
    let text = format!(
        "{}{}.{:02}",
        if cents < 0 { "-" } else { "" },
        cents.abs() / 100,
        cents.abs() % 100
    );
    text.parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map(Value::Number)
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

/// Whether a line's field holds the value expected: numbers compared as numbers (a float
/// column's value is its shortest decimal), everything else exactly.
pub fn same_value(line: &Value, expected: &Value) -> bool {
    match (line, expected) {
        (Value::Number(a), Value::Number(b)) => match (a.as_i64(), b.as_i64()) {
            (Some(a), Some(b)) => a == b,
            _ => a.as_f64() == b.as_f64(),
        },
        _ => line == expected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(category: &str, price: f64) -> Map<String, Value> {
        match json!({"id": 1, "category": category, "price": price}) {
            Value::Object(map) => map,
            _ => unreachable!("an object"),
        }
    }

    #[test]
    fn category_upper_cased_and_discount_rounded_half_away_to_cents() {
        let expect = Expectation::new(&[("books".into(), 10.0), ("toys".into(), 12.5)]);
        let line = expect.line_of(&row("Books", 19.99));
        assert_eq!(line["category"], "BOOKS");
        assert_eq!(line["price"], json!(17.99));
        // 299.5 × 0.9 = 269.55 exactly; 0.05 × 0.875 = 0.04375 → 0.04.
        assert_eq!(expect.line_of(&row("books", 299.5))["price"], json!(269.55));
        assert_eq!(expect.line_of(&row("toys", 0.05))["price"], json!(0.04));
        // 0.1 × 0.875 = 0.0875 → 0.09, half away from zero.
        assert_eq!(expect.line_of(&row("TOYS", 0.1))["price"], json!(0.09));
        assert_eq!(expect.line_of(&row("toys", -0.1))["price"], json!(-0.09));
        // Prices of more than two decimals round as a whole: 19.999 × 0.9 = 17.9991 → 18.
        assert_eq!(expect.line_of(&row("books", 19.999))["price"], json!(18.0));
    }

    #[test]
    fn other_categories_keep_their_price() {
        let expect = Expectation::new(&[("books".into(), 10.0)]);
        let line = expect.line_of(&row("garden", 19.99));
        assert_eq!(line["category"], "GARDEN");
        assert_eq!(line["price"], json!(19.99));
    }

    #[test]
    fn numbers_compare_as_numbers() {
        assert!(same_value(&json!(18), &json!(18.0)));
        assert!(same_value(&json!(7), &json!(7)));
        assert!(!same_value(&json!(17.99), &json!(17.98)));
        assert!(!same_value(&json!("7"), &json!(7)));
    }
}
