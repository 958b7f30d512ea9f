//! A tombstone's key as its delete line shows it: the way a row's line shows the key field, so
//! a loader joins a delete with the rows it deletes. The record key is what a Java client sends
//! for the column's value (decimal text of an integer, UTF-8 of a string, raw bytes of a binary
//! string); the reader schema's key field says which, and `json_line` writes it.

use apache_avro::schema::Schema;
use apache_avro::types::Value;
use sluice_common::deletes::TombstoneError;

use crate::record::json_line::write_value;

/// Appends the JSON of tombstone key `key` as field `key_field` of `reader` shows it. Without
/// the field (a reader schema not yet known, or one without it) an integer shows as a number and
/// anything else as text, or base64 when it is not UTF-8.
pub fn write_key_json(
    key: Option<&[u8]>,
    key_field: &str,
    reader: &Schema,
    out: &mut Vec<u8>,
) -> Result<(), TombstoneError> {
    let key = key.ok_or_else(|| refused(b"", "is missing"))?;
    let field = field_type(reader, key_field);
    let value = match field {
        Some(schema) => value_of(key, schema)?,
        None => untyped(key),
    };
    write_value(&value, field, out).map_err(|e| refused(key, &e.to_string()))
}

/// The value of `key` as a field of type `schema` holds it.
fn value_of(key: &[u8], schema: &Schema) -> Result<Value, TombstoneError> {
    let text = || std::str::from_utf8(key).map_err(|_| refused(key, "is not UTF-8 text"));
    let number = |what: &str| refused(key, &format!("is not {what}"));
    Ok(match schema {
        Schema::Int => Value::Int(text()?.parse().map_err(|_| number("an int"))?),
        Schema::Long => Value::Long(text()?.parse().map_err(|_| number("a long"))?),
        Schema::String => Value::String(text()?.to_owned()),
        Schema::Uuid(_) => Value::Uuid(text()?.parse().map_err(|_| number("a UUID"))?),
        Schema::Bytes => Value::Bytes(key.to_vec()),
        Schema::Fixed(fixed) if fixed.size == key.len() => Value::Fixed(fixed.size, key.to_vec()),
        // `BIGINT UNSIGNED` as `decimal(20, 0)`: its decimal text, as a line shows a decimal.
        Schema::Decimal(decimal) if decimal.scale == 0 => {
            let digits = text()?;
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(number("a whole number"));
            }
            Value::String(digits.to_owned())
        }
        other => {
            return Err(refused(
                key,
                &format!("cannot be a value of the key field's type {other:?}"),
            ))
        }
    })
}

/// A key whose field is not known.
fn untyped(key: &[u8]) -> Value {
    match std::str::from_utf8(key) {
        Ok(text) => match text.parse::<i64>() {
            Ok(number) => Value::Long(number),
            Err(_) => Value::String(text.to_owned()),
        },
        Err(_) => Value::Bytes(key.to_vec()),
    }
}

/// The type of field `name` of record `schema`, the other branch of a nullable union.
fn field_type<'s>(schema: &'s Schema, name: &str) -> Option<&'s Schema> {
    let Schema::Record(record) = schema else {
        return None;
    };
    let field = &record.fields[*record.lookup.get(name)?];
    Some(match &field.schema {
        Schema::Union(union) => union
            .variants()
            .iter()
            .find(|variant| **variant != Schema::Null)?,
        other => other,
    })
}

fn refused(key: &[u8], reason: &str) -> TombstoneError {
    TombstoneError::Key {
        key: String::from_utf8(key.to_vec()).unwrap_or_else(|_| format!("{key:02x?}")),
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(key_type: &str) -> Schema {
        Schema::parse_str(&format!(
            r#"{{"type":"record","name":"t","fields":[{{"name":"k","type":{key_type}}}]}}"#
        ))
        .expect("schema")
    }

    fn json(key: &[u8], key_type: &str) -> Result<String, TombstoneError> {
        let mut out = Vec::new();
        write_key_json(Some(key), "k", &schema(key_type), &mut out)?;
        Ok(String::from_utf8(out).expect("utf-8"))
    }

    #[test]
    fn a_key_shows_as_its_field_shows_a_row_key() {
        assert_eq!(json(b"42", r#""int""#).expect("int"), "42");
        assert_eq!(json(b"-9", r#"["null","long"]"#).expect("long"), "-9");
        assert_eq!(json(b"Ab c ", r#""string""#).expect("string"), r#""Ab c ""#);
        assert_eq!(json(&[0, 255], r#""bytes""#).expect("bytes"), r#""AP8=""#);
        assert_eq!(
            json(
                b"18446744073709551615",
                r#"{"type":"bytes","logicalType":"decimal","precision":20,"scale":0}"#
            )
            .expect("decimal"),
            r#""18446744073709551615""#
        );
    }

    #[test]
    fn a_key_that_is_no_value_of_its_field_is_refused() {
        assert!(json(b"abc", r#""int""#).is_err());
        assert!(json(&[0xff], r#""string""#).is_err());
        assert!(json(
            b"1.5",
            r#"{"type":"bytes","logicalType":"decimal","precision":20,"scale":0}"#
        )
        .is_err());
        let mut out = Vec::new();
        assert!(write_key_json(None, "k", &schema(r#""int""#), &mut out).is_err());
        assert!(out.is_empty());
    }

    #[test]
    fn without_its_field_a_key_shows_as_a_number_or_text() {
        let mut out = Vec::new();
        write_key_json(Some(b"7"), "other", &schema(r#""int""#), &mut out).expect("number");
        out.push(b' ');
        write_key_json(Some(b"x"), "other", &Schema::Null, &mut out).expect("text");
        assert_eq!(String::from_utf8(out).expect("utf-8"), r#"7 "x""#);
    }
}
