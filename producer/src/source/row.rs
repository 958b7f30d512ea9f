//! One fetched row: its position in the keyset, and its columns read as cells (which
//! `encode::datum` writes as an Avro datum), or, for a dead letter, as JSON.
//!
//! The page query selects the plan's columns first, in the plan's order; `RowLayout` says where
//! the key and timestamp are.

use crate::watermark::Watermark;
use chrono::{DateTime, Utc};
use sqlx::mysql::MySqlRow;
use sqlx::Row;

use super::columns::{ColumnPlan, FieldSource, ValueKind};
use super::keyset::RowLayout;

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
pub fn position(row: &MySqlRow, layout: RowLayout) -> Result<Watermark, sqlx::Error> {
    Ok(Watermark::at_row(
        row.try_get::<DateTime<Utc>, _>(layout.timestamp)?,
        key(row, layout)?,
    ))
}

/// The row's timestamp column; `None` when it is NULL, which no page in timestamp order reads.
pub fn timestamp(
    row: &MySqlRow,
    layout: RowLayout,
) -> Result<Option<chrono::NaiveDateTime>, sqlx::Error> {
    Ok(row
        .try_get::<Option<DateTime<Utc>>, _>(layout.timestamp)?
        .map(|at| at.naive_utc()))
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

/// The row's key column: the record key.
pub fn key(row: &MySqlRow, layout: RowLayout) -> Result<i64, sqlx::Error> {
    row.try_get::<i64, _>(layout.key)
}

/// When the row was deleted, if it is marked deleted (soft deletes, see `source::deleted`):
/// its timestamp, the time of the change that marked it. `None` for a row not marked, or when
/// the table has no soft-delete column.
pub fn deleted_at(row: &MySqlRow, layout: RowLayout) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let Some(mark) = layout.deleted else {
        return Ok(None);
    };
    if row.try_get::<i64, _>(mark)? == 0 {
        return Ok(None);
    }
    row.try_get::<Option<DateTime<Utc>>, _>(layout.timestamp)?
        .map(Some)
        .ok_or_else(|| sqlx::Error::ColumnDecode {
            index: layout.timestamp.to_string(),
            source: "a row marked deleted has no timestamp".into(),
        })
}

/// One column's value as read from a row, its text borrowed rather than copied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'r> {
    /// An integer that fits an Avro `int`.
    Int(i32),
    /// An integer for an Avro `long`.
    Long(i64),
    /// A value for an Avro `float`.
    Float(f32),
    /// A value for an Avro `double`.
    Double(f64),
    /// A value for an Avro `boolean`.
    Boolean(bool),
    /// Character data for an Avro `string`.
    Text(&'r str),
    /// An instant for an Avro `string` in RFC 3339.
    Timestamp(DateTime<Utc>),
}

impl Cell<'_> {
    fn to_json(self) -> serde_json::Value {
        match self {
            Cell::Int(v) => v.into(),
            Cell::Long(v) => v.into(),
            Cell::Float(v) => v.into(),
            Cell::Double(v) => v.into(),
            Cell::Boolean(v) => v.into(),
            Cell::Text(v) => v.into(),
            Cell::Timestamp(at) => format_timestamp(&at).into(),
        }
    }
}

/// The row as JSON, as far as its columns can be read: the payload of a dead letter, so an
/// operator sees what the row held.
pub fn to_json(row: &MySqlRow, plan: &ColumnPlan) -> serde_json::Value {
    let mut object = serde_json::Map::new();
    for (name, source) in &plan.fields {
        if let FieldSource::Column { index, kind, .. } = source {
            let value = match read_column(row, *index, *kind) {
                Ok(Some(cell)) => cell.to_json(),
                Ok(None) => serde_json::Value::Null,
                Err(reason) => serde_json::Value::String(format!("<{reason}>")),
            };
            object.insert(name.clone(), value);
        }
    }
    serde_json::Value::Object(object)
}

/// Reads one column as the given kind; `None` is SQL NULL.
pub(crate) fn read_column(
    row: &MySqlRow,
    index: usize,
    kind: ValueKind,
) -> Result<Option<Cell<'_>>, String> {
    let error = |e: sqlx::Error| format!("cannot be read: {e}");
    Ok(match kind {
        ValueKind::Int => match row.try_get::<Option<i64>, _>(index).map_err(error)? {
            Some(v) => {
                Some(Cell::Int(i32::try_from(v).map_err(|_| {
                    format!("holds {v}, which does not fit an Avro int")
                })?))
            }
            None => None,
        },
        ValueKind::Long => row
            .try_get::<Option<i64>, _>(index)
            .map_err(error)?
            .map(Cell::Long),
        ValueKind::Float => row
            .try_get::<Option<f32>, _>(index)
            .map_err(error)?
            .map(Cell::Float),
        ValueKind::FloatFromDouble => row
            .try_get::<Option<f64>, _>(index)
            .map_err(error)?
            .map(|v| Cell::Float(v as f32)),
        ValueKind::Double => row
            .try_get::<Option<f64>, _>(index)
            .map_err(error)?
            .map(Cell::Double),
        ValueKind::DoubleFromFloat => row
            .try_get::<Option<f32>, _>(index)
            .map_err(error)?
            .map(|v| Cell::Double(f64::from(v))),
        ValueKind::Boolean => row
            .try_get::<Option<bool>, _>(index)
            .map_err(error)?
            .map(Cell::Boolean),
        ValueKind::Text => row
            .try_get::<Option<&str>, _>(index)
            .map_err(error)?
            .map(Cell::Text),
        ValueKind::TimestampText => row
            .try_get::<Option<DateTime<Utc>>, _>(index)
            .map_err(error)?
            .map(Cell::Timestamp),
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
