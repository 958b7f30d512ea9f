//! What the consumers should have written for a row, computed by `sluice-verify`'s expectation,
//! apart from the consumer's code: the configured steps (the shipped ones upper-case the
//! category and take the discount in exact cents with half-away rounding).

use serde_json::{json, Value};
use sluice_verify::expected::Expectation;

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

/// The JSON line expected for `row`, judged by `sluice-verify`'s expectation (written apart from
/// the consumer's code); `None` for a row that goes to the dead-letter topic (no name or price).
pub fn expected_line(row: &Row, expectation: &Expectation) -> Option<Value> {
    let name = row.name.clone()?;
    let price = row.price?.to_string().parse::<f64>().ok()?;
    let Value::Object(fields) = json!({
        "id": row.id,
        "name": name,
        "category": row.category.clone().unwrap_or_default(),
        "price": price,
        "last_updated": row.last_updated,
    }) else {
        return None;
    };
    Some(Value::Object(expectation.line_of(&fields)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_becomes_its_transformed_line_and_a_nameless_one_none() {
        let expectation = Expectation::new(
            &sluice_common::settings::TransformSettings::product_example(),
            "id",
            "last_updated",
        )
        .expect("valid steps");
        let mut row = Row {
            id: 3,
            name: Some("Phone".into()),
            category: Some("Electronics".into()),
            price: Some(19.99),
            last_updated: "2026-12-01T10:00:00.000000Z".into(),
        };
        let line = expected_line(&row, &expectation).expect("a line");
        assert_eq!(line["category"], "ELECTRONICS");
        assert_eq!(line["price"], json!(17.99));
        assert_eq!(line["last_updated"], "2026-12-01T10:00:00.000000Z");
        row.name = None;
        assert_eq!(expected_line(&row, &expectation), None);
    }
}
