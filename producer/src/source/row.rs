//! One fetched row: its position in the keyset, and its fields as an Avro record.
//!
//! The page query selects the key and timestamp columns first, then the plan's columns.

use apache_avro::types::Value;
use chrono::{DateTime, Utc};
use sluice_common::watermark::Watermark;
use sqlx::mysql::MySqlRow;
use sqlx::Row;

use super::columns::{ColumnPlan, FieldSource, ValueKind};

/// Offset of the plan's columns in each row: the key and the timestamp come first.
const PLAN_OFFSET: usize = 2;

/// A row that cannot become a record; it goes to the dead-letter topic with this reason.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("column `{column}` {reason}")]
pub struct RowError {
    /// The column at fault.
    pub column: String,
    /// What is wrong with its value, as a predicate: "is NULL but …", "holds …".
    pub reason: String,
}

/// The row's `(timestamp, key)`: where the cursor moves once it is published.
pub fn position(row: &MySqlRow) -> Result<Watermark, sqlx::Error> {
    Ok(Watermark {
        id: row.try_get::<i64, _>(0)?,
        last_updated: row.try_get::<DateTime<Utc>, _>(1)?,
    })
}

/// RFC 3339 in UTC with microseconds, e.g. `2026-11-24T10:15:30.123456Z`.
pub fn format_timestamp(at: &DateTime<Utc>) -> String {
    use chrono::{Datelike, Timelike};
    use std::fmt::Write;
    // Written field by field: `format` parses its pattern again for every row.
    let mut text = String::with_capacity(27);
    let _ = write!(
        text,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.timestamp_subsec_micros() % 1_000_000
    );
    text
}

/// The row as an Avro record of the writer schema.
pub fn to_avro(row: &MySqlRow, plan: &ColumnPlan) -> Result<Value, RowError> {
    let mut fields = Vec::with_capacity(plan.fields.len());
    for (name, source) in &plan.fields {
        let value = match source {
            FieldSource::Default(value) => value.clone(),
            FieldSource::Column { index, kind, union } => {
                let column = &plan.columns[*index];
                let read =
                    read_column(row, PLAN_OFFSET + index, *kind).map_err(|reason| RowError {
                        column: column.clone(),
                        reason,
                    })?;
                match (read, union) {
                    (Some(value), None) => value,
                    (Some(value), Some((_, value_branch))) => {
                        Value::Union(*value_branch, Box::new(value))
                    }
                    (None, Some((null_branch, _))) => {
                        Value::Union(*null_branch, Box::new(Value::Null))
                    }
                    (None, None) => {
                        return Err(RowError {
                            column: column.clone(),
                            reason: format!("is NULL but Avro field `{name}` is not nullable"),
                        })
                    }
                }
            }
        };
        fields.push((name.clone(), value));
    }
    Ok(Value::Record(fields))
}

/// The row as JSON, as far as its columns can be read: the payload of a dead letter, so an
/// operator sees what the row held.
pub fn to_json(row: &MySqlRow, plan: &ColumnPlan) -> serde_json::Value {
    let mut object = serde_json::Map::new();
    for (name, source) in &plan.fields {
        if let FieldSource::Column { index, kind, .. } = source {
            let value = match read_column(row, PLAN_OFFSET + index, *kind) {
                Ok(Some(value)) => avro_to_json(&value),
                Ok(None) => serde_json::Value::Null,
                Err(reason) => serde_json::Value::String(format!("<{reason}>")),
            };
            object.insert(name.clone(), value);
        }
    }
    serde_json::Value::Object(object)
}

fn avro_to_json(value: &Value) -> serde_json::Value {
    match value {
        Value::Int(v) => (*v).into(),
        Value::Long(v) => (*v).into(),
        Value::Float(v) => (*v).into(),
        Value::Double(v) => (*v).into(),
        Value::Boolean(v) => (*v).into(),
        Value::String(v) => v.clone().into(),
        _ => serde_json::Value::Null,
    }
}

/// Reads one column as the given kind; `None` is SQL NULL.
fn read_column(row: &MySqlRow, index: usize, kind: ValueKind) -> Result<Option<Value>, String> {
    let error = |e: sqlx::Error| format!("cannot be read: {e}");
    Ok(match kind {
        ValueKind::Int => match row.try_get::<Option<i64>, _>(index).map_err(error)? {
            Some(v) => {
                Some(Value::Int(i32::try_from(v).map_err(|_| {
                    format!("holds {v}, which does not fit an Avro int")
                })?))
            }
            None => None,
        },
        ValueKind::Long => row
            .try_get::<Option<i64>, _>(index)
            .map_err(error)?
            .map(Value::Long),
        ValueKind::Float => row
            .try_get::<Option<f32>, _>(index)
            .map_err(error)?
            .map(Value::Float),
        ValueKind::FloatFromDouble => row
            .try_get::<Option<f64>, _>(index)
            .map_err(error)?
            .map(|v| Value::Float(v as f32)),
        ValueKind::Double => row
            .try_get::<Option<f64>, _>(index)
            .map_err(error)?
            .map(Value::Double),
        ValueKind::DoubleFromFloat => row
            .try_get::<Option<f32>, _>(index)
            .map_err(error)?
            .map(|v| Value::Double(f64::from(v))),
        ValueKind::Boolean => row
            .try_get::<Option<bool>, _>(index)
            .map_err(error)?
            .map(Value::Boolean),
        ValueKind::Text => row
            .try_get::<Option<String>, _>(index)
            .map_err(error)?
            .map(Value::String),
        ValueKind::TimestampText => row
            .try_get::<Option<DateTime<Utc>>, _>(index)
            .map_err(error)?
            .map(|at| Value::String(format_timestamp(&at))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn timestamps_are_rfc3339_utc_with_microseconds() {
        let at = Utc
            .timestamp_opt(1_795_510_530, 123_456_000)
            .single()
            .expect("valid");
        assert_eq!(format_timestamp(&at), "2026-11-24T08:55:30.123456Z");
        let whole = Utc.timestamp_opt(1_795_510_530, 0).single().expect("valid");
        assert_eq!(format_timestamp(&whole), "2026-11-24T08:55:30.000000Z");
    }
}
