//! The transformation every record goes through before it is written: `category` in upper
//! case, and the configured discount taken off `price` for that category (matched ignoring case).

use std::str::FromStr;

use apache_avro::types::Value;
use rust_decimal::Decimal;
use sluice_common::settings::DiscountSettings;

use crate::record::price::{discount_f32, discount_f64, NotAPrice};

/// Why the transformation could not be built, or refused a record.
#[derive(Debug, thiserror::Error)]
pub enum TransformError {
    /// A configured percent has no exact decimal form.
    #[error("transform.discounts percent {percent}: {source}")]
    Percent {
        /// The configured value.
        percent: f64,
        /// Why it cannot be read.
        source: rust_decimal::Error,
    },
    /// The decoded value is not a record.
    #[error("record expected")]
    NotARecord,
    /// The record's price cannot be discounted.
    #[error(transparent)]
    Price(#[from] NotAPrice),
}

/// Field holding the category.
pub const CATEGORY_FIELD: &str = "category";
/// Field holding the price.
pub const PRICE_FIELD: &str = "price";

/// One category's discount, normalised for matching.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscountRule {
    /// The category in upper case.
    pub category: String,
    /// Percent taken off.
    pub percent: Decimal,
}

/// The configured transformation.
#[derive(Debug, Clone, Default)]
pub struct Transform {
    rules: Vec<DiscountRule>,
}

impl Transform {
    /// Builds the rules from the configuration (already validated: 0 to 100 percent).
    pub fn new(discounts: &[DiscountSettings]) -> Result<Self, TransformError> {
        let rules = discounts
            .iter()
            .map(|d| {
                Ok(DiscountRule {
                    category: d.category.to_uppercase(),
                    percent: Decimal::from_str(&d.percent.to_string()).map_err(|source| {
                        TransformError::Percent {
                            percent: d.percent,
                            source,
                        }
                    })?,
                })
            })
            .collect::<Result<_, TransformError>>()?;
        Ok(Self { rules })
    }

    /// Applies the transformation to a resolved record, in place.
    pub fn apply(&self, record: &mut Value) -> Result<(), TransformError> {
        let Value::Record(fields) = record else {
            return Err(TransformError::NotARecord);
        };
        let mut percent = None;
        for (name, value) in fields.iter_mut() {
            if name == CATEGORY_FIELD {
                if let Some(category) = string_mut(value) {
                    *category = category.to_uppercase();
                    percent = self
                        .rules
                        .iter()
                        .find(|rule| rule.category == *category)
                        .map(|rule| rule.percent);
                }
            }
        }
        let Some(percent) = percent else {
            return Ok(());
        };
        for (name, value) in fields.iter_mut() {
            if name == PRICE_FIELD {
                discount_value(value, percent)?;
            }
        }
        Ok(())
    }
}

fn string_mut(value: &mut Value) -> Option<&mut String> {
    match value {
        Value::String(text) => Some(text),
        Value::Union(_, inner) => string_mut(inner),
        _ => None,
    }
}

fn discount_value(value: &mut Value, percent: Decimal) -> Result<(), NotAPrice> {
    match value {
        Value::Float(price) => *price = discount_f32(*price, percent)?,
        Value::Double(price) => *price = discount_f64(*price, percent)?,
        Value::Union(_, inner) => discount_value(inner, percent)?,
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(category: &str, price: f32) -> Value {
        Value::Record(vec![
            ("id".into(), Value::Int(1)),
            ("category".into(), Value::String(category.into())),
            ("price".into(), Value::Float(price)),
        ])
    }

    fn field<'a>(record: &'a Value, name: &str) -> &'a Value {
        match record {
            Value::Record(fields) => &fields.iter().find(|(n, _)| n == name).expect("field").1,
            _ => panic!("record"),
        }
    }

    fn ten_off_electronics() -> Transform {
        Transform::new(&[DiscountSettings {
            category: "Electronics".into(),
            percent: 10.0,
        }])
        .expect("rules")
    }

    #[test]
    fn category_is_upper_cased() {
        let mut r = record("home & garden", 5.0);
        Transform::default().apply(&mut r).expect("applies");
        assert_eq!(
            field(&r, "category"),
            &Value::String("HOME & GARDEN".into())
        );
        assert_eq!(field(&r, "price"), &Value::Float(5.0));
    }

    #[test]
    fn discount_matches_category_ignoring_case() {
        let mut r = record("electronics", 19.99);
        ten_off_electronics().apply(&mut r).expect("applies");
        assert_eq!(field(&r, "price"), &Value::Float(17.99));
        assert_eq!(field(&r, "category"), &Value::String("ELECTRONICS".into()));
    }

    #[test]
    fn other_categories_keep_their_price() {
        let mut r = record("toys", 19.99);
        ten_off_electronics().apply(&mut r).expect("applies");
        assert_eq!(field(&r, "price"), &Value::Float(19.99));
    }

    #[test]
    fn nullable_fields_are_transformed_too() {
        let mut r = Value::Record(vec![
            (
                "category".into(),
                Value::Union(1, Box::new(Value::String("electronics".into()))),
            ),
            (
                "price".into(),
                Value::Union(1, Box::new(Value::Double(10.0))),
            ),
        ]);
        ten_off_electronics().apply(&mut r).expect("applies");
        assert_eq!(
            field(&r, "price"),
            &Value::Union(1, Box::new(Value::Double(9.0)))
        );
    }

    #[test]
    fn a_price_that_is_not_a_number_is_an_error() {
        let mut r = record("electronics", f32::NAN);
        assert!(ten_off_electronics().apply(&mut r).is_err());
    }
}
