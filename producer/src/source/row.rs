//! One fetched row: its position in the keyset (key, timestamp, soft-delete mark); its other
//! columns are read as cells by `cell`.
//!
//! The page query selects the plan's columns first, in the plan's order; `RowLayout` says where
//! the key and timestamp are.

use crate::watermark::Watermark;
use chrono::{DateTime, Utc};
use sqlx::mysql::MySqlRow;
use sqlx::Row;

use super::cell::read_wall_time;
use super::keyset::{KeysetQuery, RowLayout};
use super::wall_time::WallTime;

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
pub fn timestamp(row: &MySqlRow, layout: RowLayout) -> Result<Option<WallTime>, sqlx::Error> {
    let place = layout.timestamp.ok_or_else(no_timestamp)?;
    read_wall_time(row, place)
}

/// A timestamp asked of a table read without one (a defect: only the binlog source reads such
/// a table, and it never pages by timestamp).
fn no_timestamp() -> sqlx::Error {
    sqlx::Error::ColumnNotFound("the timestamp column (the table has none)".into())
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
