//! A record as one line of JSON, fields in the reader schema's order.
//!
//! Floats print as the shortest decimal that reads back as the same float (`19.99`), never
//! widened to `f64` first (`19.989999771118164`).

use apache_avro::types::Value;

/// Why a record could not be written as JSON.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    /// A value has no JSON form (e.g. a float that is not finite).
    #[error("cannot write as JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// An Avro value of a kind JSON has no rule for.
    #[error("cannot convert to JSON: {0}")]
    Avro(#[from] apache_avro::Error),
}

/// Appends `record` as one JSON object and a newline to `line`.
pub fn write_line(record: &Value, line: &mut Vec<u8>) -> Result<(), LineError> {
    write_value(record, line)?;
    line.push(b'\n');
    Ok(())
}

fn write_value(value: &Value, out: &mut Vec<u8>) -> Result<(), LineError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Boolean(v) => put(out, v)?,
        Value::Int(v) => put(out, v)?,
        Value::Long(v) => put(out, v)?,
        Value::Float(v) => put(out, v)?,
        Value::Double(v) => put(out, v)?,
        Value::String(v) | Value::Enum(_, v) => put(out, v)?,
        Value::Union(_, inner) => write_value(inner, out)?,
        Value::Record(fields) => {
            out.push(b'{');
            for (index, (name, field)) in fields.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                put(out, name)?;
                out.push(b':');
                write_value(field, out)?;
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_value(item, out)?;
            }
            out.push(b']');
        }
        other => {
            let converted = serde_json::Value::try_from(other.clone())?;
            put(out, &converted)?;
        }
    }
    Ok(())
}

fn put<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), LineError> {
    Ok(serde_json::to_writer(out, value)?)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        write_line(&record, &mut line).expect("writes");
        assert_eq!(
            String::from_utf8(line).expect("utf8"),
            "{\"id\":7,\"name\":\"Lamp \\\"XL\\\"\",\"category\":\"HOME\",\"price\":19.99,\"last_updated\":\"2026-11-24T10:15:30.123456Z\"}\n"
        );
    }

    #[test]
    fn nullable_fields_print_their_value_or_null() {
        let record = Value::Record(vec![
            ("a".into(), Value::Union(0, Box::new(Value::Null))),
            ("b".into(), Value::Union(1, Box::new(Value::Long(5)))),
        ]);
        let mut line = Vec::new();
        write_line(&record, &mut line).expect("writes");
        assert_eq!(line, b"{\"a\":null,\"b\":5}\n");
    }

    #[test]
    fn every_line_parses_as_json() {
        let record = Value::Record(vec![("price".into(), Value::Float(0.1))]);
        let mut line = Vec::new();
        write_line(&record, &mut line).expect("writes");
        let parsed: serde_json::Value = serde_json::from_slice(&line).expect("valid JSON");
        assert_eq!(parsed["price"].to_string(), "0.1");
    }
}
