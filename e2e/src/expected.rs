//! What the consumers should have written for a row, computed independently of the pipeline's
//! code: upper-cased category, and the discount taken in whole cents with half-away rounding.

use serde_json::{json, Value};

/// One row as the database holds it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Row {
    /// Key.
    pub id: i32,
    /// Name; `None` rows go to the dead-letter topic instead.
    pub name: Option<String>,
    /// Category as stored.
    pub category: Option<String>,
    /// Price as stored (FLOAT).
    pub price: Option<f32>,
    /// `last_updated`, formatted by MySQL as RFC 3339 UTC with microseconds.
    pub last_updated: String,
}

/// The SELECT that reads [`Row`]s of `table` (session pinned to UTC by the connection).
pub fn select_rows(table: &str) -> String {
    format!(
        "SELECT id, name, category, price, DATE_FORMAT(last_updated, '%Y-%m-%dT%H:%i:%s.%fZ') AS last_updated FROM `{table}`"
    )
}

/// The JSON line expected for `row` with whole-percent `discounts` by lower-case category.
pub fn expected_line(row: &Row, discounts: &[(String, i64)]) -> Option<Value> {
    let name = row.name.clone()?;
    let category = row.category.clone().unwrap_or_default();
    let price = row.price?;
    let mut cents = to_cents(price);
    if let Some((_, percent)) = discounts
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(&category))
    {
        cents = round_half_away(cents * (100 - percent), 100);
    }
    let price: f64 = format!(
        "{}{}.{:02}",
        if cents < 0 { "-" } else { "" },
        cents.abs() / 100,
        cents.abs() % 100
    )
    .parse()
    .ok()?;
    Some(json!({
        "id": row.id,
        "name": name,
        "category": category.to_uppercase(),
        "price": price,
        "last_updated": row.last_updated,
    }))
}

/// A price written with at most two decimals, in cents (its shortest decimal form, read exactly).
fn to_cents(price: f32) -> i64 {
    let text = price.to_string();
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let fraction = format!("{fraction:0<2}");
    let sign = if whole.starts_with('-') { -1 } else { 1 };
    let whole: i64 = whole.trim_start_matches('-').parse().unwrap_or(0);
    let fraction: i64 = fraction[..2].parse().unwrap_or(0);
    sign * (whole * 100 + fraction)
}

fn round_half_away(numerator: i64, denominator: i64) -> i64 {
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

    #[test]
    fn the_independent_oracle_rounds_like_a_shop() {
        assert_eq!(to_cents(19.99), 1999);
        assert_eq!(to_cents(5.0), 500);
        assert_eq!(round_half_away(1999 * 90, 100), 1799);
        assert_eq!(round_half_away(25 * 90, 100), 23);
        assert_eq!(round_half_away(-25 * 90, 100), -23);
    }
}
