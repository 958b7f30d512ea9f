//! A record as one line of JSON, its fields in the order the transformation leaves them.
//!
//! Floats print as the shortest decimal that reads back as the same float (`19.99`), never
//! widened to `f64` first (`19.989999771118164`). Values JSON has no type for (dates, times,
//! decimals, bytes) print as `logical_text` writes them, which for a decimal needs its scale:
//! the value is walked beside the reader schema it was resolved into.

use apache_avro::schema::Schema;
use apache_avro::types::Value;

use crate::record::logical_text;

/// Why a record could not be written as JSON.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    /// A value has no JSON form (e.g. a float that is not finite).
    #[error("cannot write as JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// An Avro value of a kind JSON has no rule for.
    #[error("cannot convert to JSON: {0}")]
    Avro(#[from] apache_avro::Error),
    /// A date or time outside the calendar a line can write.
    #[error("{0} is outside the dates a line can write")]
    OutOfRange(String),
}

/// Appends a record given as its fields and the schema of each (a transformed record, whose
/// fields may no longer be the reader schema's) as one JSON object and a newline to `line`.
pub fn write_fields(
    fields: &[(String, Value)],
    schemas: &[Schema],
    line: &mut Vec<u8>,
) -> Result<(), LineError> {
    write_object(fields, |index| schemas.get(index), line)?;
    line.push(b'\n');
    Ok(())
}

/// Writes `fields` as one JSON object; `schema_of` gives the schema of the field at an index,
/// where it is known.
fn write_object<'s>(
    fields: &[(String, Value)],
    schema_of: impl Fn(usize) -> Option<&'s Schema>,
    out: &mut Vec<u8>,
) -> Result<(), LineError> {
    out.push(b'{');
    for (index, (name, value)) in fields.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        put(out, name)?;
        out.push(b':');
        write_value(value, schema_of(index), out)?;
    }
    out.push(b'}');
    Ok(())
}

/// Writes `value`; `schema` is its schema where the walk still knows it (a named reference
/// is not followed: only a decimal needs its schema, for its scale).
pub fn write_value(
    value: &Value,
    schema: Option<&Schema>,
    out: &mut Vec<u8>,
) -> Result<(), LineError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Boolean(v) => put(out, v)?,
        Value::Int(v) => put(out, v)?,
        Value::Long(v) => put(out, v)?,
        Value::Float(v) => put(out, v)?,
        Value::Double(v) => put(out, v)?,
        Value::String(v) | Value::Enum(_, v) => put(out, v)?,
        Value::Union(branch, inner) => {
            let variant = match schema {
                Some(Schema::Union(union)) => union.variants().get(*branch as usize),
                _ => None,
            };
            write_value(inner, variant, out)?;
        }
        Value::Record(fields) => {
            let field_schemas = match schema {
                Some(Schema::Record(record)) if record.fields.len() == fields.len() => {
                    Some(&record.fields)
                }
                _ => None,
            };
            write_object(
                fields,
                |index| field_schemas.map(|schemas| &schemas[index].schema),
                out,
            )?;
        }
        Value::Array(items) => {
            let item_schema = match schema {
                Some(Schema::Array(array)) => Some(array.items.as_ref()),
                _ => None,
            };
            out.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_value(item, item_schema, out)?;
            }
            out.push(b']');
        }
        Value::Map(entries) => {
            let value_schema = match schema {
                Some(Schema::Map(map)) => Some(map.types.as_ref()),
                _ => None,
            };
            let mut keys: Vec<&String> = entries.keys().collect();
            keys.sort();
            out.push(b'{');
            for (index, key) in keys.into_iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                put(out, key)?;
                out.push(b':');
                write_value(&entries[key], value_schema, out)?;
            }
            out.push(b'}');
        }
        Value::Date(days) => {
            let text = logical_text::date(*days)
                .ok_or_else(|| LineError::OutOfRange(format!("date {days}")))?;
            put(out, &text)?;
        }
        Value::TimeMillis(v) => put(out, &logical_text::time(i64::from(*v), 3))?,
        Value::TimeMicros(v) => put(out, &logical_text::time(*v, 6))?,
        Value::TimestampMillis(v) => put_timestamp(out, *v, 3, true)?,
        Value::TimestampMicros(v) => put_timestamp(out, *v, 6, true)?,
        Value::TimestampNanos(v) => put_timestamp(out, *v, 9, true)?,
        Value::LocalTimestampMillis(v) => put_timestamp(out, *v, 3, false)?,
        Value::LocalTimestampMicros(v) => put_timestamp(out, *v, 6, false)?,
        Value::LocalTimestampNanos(v) => put_timestamp(out, *v, 9, false)?,
        Value::Decimal(decimal) => {
            let scale = match schema {
                Some(Schema::Decimal(decimal)) => decimal.scale,
                _ => 0,
            };
            let unscaled = <Vec<u8>>::try_from(decimal)?;
            put(out, &logical_text::decimal(&unscaled, scale))?;
        }
        Value::BigDecimal(decimal) => put(out, &decimal.to_string())?,
        Value::Bytes(bytes) | Value::Fixed(_, bytes) => put(out, &logical_text::bytes(bytes))?,
        Value::Uuid(uuid) => put(out, &uuid.to_string())?,
        other => {
            let converted = serde_json::Value::try_from(other.clone())?;
            put(out, &converted)?;
        }
    }
    Ok(())
}

fn put_timestamp(out: &mut Vec<u8>, value: i64, digits: u32, utc: bool) -> Result<(), LineError> {
    let text = logical_text::timestamp(value, digits, utc)
        .ok_or_else(|| LineError::OutOfRange(format!("timestamp {value}")))?;
    put(out, &text)
}

fn put<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), LineError> {
    Ok(serde_json::to_writer(out, value)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `record`, a value of `schema`, as a line.
    fn write_line(record: &Value, schema: &Schema, line: &mut Vec<u8>) -> Result<(), LineError> {
        write_value(record, Some(schema), line)?;
        line.push(b'\n');
        Ok(())
    }

    #[test]
    fn product_line_keeps_field_order_and_short_floats() {
        let record = Value::Record(vec![
            ("id".into(), Value::Int(7)),
            ("name".into(), Value::String("Lamp \"XL\"".into())),
            ("category".into(), Value::String("HOME".into())),
            ("price".into(), Value::Float(19.99)),
            (
                "last_updated".into(),
                Value::String("2026-11-24T10:15:30.123456Z".into()),
            ),
        ]);
        let mut line = Vec::new();
        write_line(&record, &Schema::Null, &mut line).expect("writes");
        assert_eq!(
            String::from_utf8(line).expect("utf8"),
            "{\"id\":7,\"name\":\"Lamp \\\"XL\\\"\",\"category\":\"HOME\",\"price\":19.99,\"last_updated\":\"2026-11-24T10:15:30.123456Z\"}\n"
        );
    }

    #[test]
    fn fields_with_their_own_schemas_write_as_a_record_does() {
        let decimal = Schema::parse_str(
            r#"{"type":"bytes","logicalType":"decimal","precision":5,"scale":2}"#,
        )
        .expect("schema");
        let fields = vec![
            ("id".to_owned(), Value::Int(7)),
            ("cost".to_owned(), Value::Decimal(vec![0x04, 0xE2].into())),
        ];
        let mut line = Vec::new();
        write_fields(&fields, &[Schema::Int, decimal], &mut line).expect("writes");
        assert_eq!(line, b"{\"id\":7,\"cost\":\"12.50\"}\n");
    }

    #[test]
    fn nullable_fields_print_their_value_or_null() {
        let record = Value::Record(vec![
            ("a".into(), Value::Union(0, Box::new(Value::Null))),
            ("b".into(), Value::Union(1, Box::new(Value::Long(5)))),
        ]);
        let mut line = Vec::new();
        write_line(&record, &Schema::Null, &mut line).expect("writes");
        assert_eq!(line, b"{\"a\":null,\"b\":5}\n");
    }

    #[test]
    fn every_line_parses_as_json() {
        let record = Value::Record(vec![("price".into(), Value::Float(0.1))]);
        let mut line = Vec::new();
        write_line(&record, &Schema::Null, &mut line).expect("writes");
        let parsed: serde_json::Value = serde_json::from_slice(&line).expect("valid JSON");
        assert_eq!(parsed["price"].to_string(), "0.1");
    }

    #[test]
    fn logical_values_print_as_text_decimals_at_their_scale() {
        let schema = Schema::parse_str(
            r#"{"type":"record","name":"T","fields":[
                {"name":"price","type":["null",{"type":"bytes","logicalType":"decimal","precision":5,"scale":2}]},
                {"name":"day","type":{"type":"int","logicalType":"date"}},
                {"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}},
                {"name":"local","type":{"type":"long","logicalType":"local-timestamp-micros"}},
                {"name":"blob","type":"bytes"},
                {"name":"tags","type":{"type":"array","items":"string"}}]}"#,
        )
        .expect("schema");
        let record = Value::Record(vec![
            (
                "price".into(),
                Value::Union(1, Box::new(Value::Decimal(vec![0xFB, 0x1E].into()))),
            ),
            ("day".into(), Value::Date(20_792)),
            ("at".into(), Value::TimestampMillis(1_795_510_530_123)),
            (
                "local".into(),
                Value::LocalTimestampMicros(1_795_510_530_000_001),
            ),
            ("blob".into(), Value::Bytes(vec![0, 255])),
            (
                "tags".into(),
                Value::Array(vec![Value::String("a".into()), Value::String("b".into())]),
            ),
        ]);
        let mut line = Vec::new();
        write_line(&record, &schema, &mut line).expect("writes");
        assert_eq!(
            String::from_utf8(line).expect("utf8"),
            concat!(
                r#"{"price":"-12.50","day":"2026-12-05","at":"2026-11-24T08:55:30.123Z","#,
                r#""local":"2026-11-24T08:55:30.000001","blob":"AP8=","tags":["a","b"]}"#,
                "\n"
            )
        );
    }
}
