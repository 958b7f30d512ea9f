//! One fetched row: its position in the keyset (key, timestamp, soft-delete mark); its other
//! columns are read as cells by `cell`.
//!
//! The page query selects the plan's columns first, in the plan's order; `RowLayout` says where
//! the key and timestamp are.

use crate::watermark::Watermark;
use chrono::{DateTime, Utc};
use sqlx::mysql::MySqlRow;
use sqlx::Row;

use super::keyset::{KeysetQuery, RowLayout};

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
pub fn position(row: &MySqlRow, query: &KeysetQuery) -> Result<Watermark, sqlx::Error> {
    let place = query.layout().timestamp.ok_or_else(no_timestamp)?;
    Ok(Watermark::at_row(
        row.try_get::<DateTime<Utc>, _>(place)?,
        query.key_of(row)?,
    ))
}

/// The row's timestamp column; `None` when it is NULL, which no page in timestamp order reads.
pub fn timestamp(
    row: &MySqlRow,
    layout: RowLayout,
) -> Result<Option<chrono::NaiveDateTime>, sqlx::Error> {
    let place = layout.timestamp.ok_or_else(no_timestamp)?;
    Ok(row
        .try_get::<Option<DateTime<Utc>>, _>(place)?
        .map(|at| at.naive_utc()))
}

/// A timestamp asked of a table read without one (a defect: only the binlog source reads such
/// a table, and it never pages by timestamp).
fn no_timestamp() -> sqlx::Error {
    sqlx::Error::ColumnNotFound("the timestamp column (the table has none)".into())
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
    // A table without a timestamp column (read by the binlog source's snapshot): the delete
    // is dated when it is read.
    let Some(place) = layout.timestamp else {
        return Ok(Some(Utc::now()));
    };
    row.try_get::<Option<DateTime<Utc>>, _>(place)?
        .map(Some)
        .ok_or_else(|| sqlx::Error::ColumnDecode {
            index: place.to_string(),
            source: "a row marked deleted has no timestamp".into(),
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
