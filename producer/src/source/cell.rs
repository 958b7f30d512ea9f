//! One column's value read from a fetched row as the plan's `ValueKind` says, borrowed from the
//! row where it can be (text, bytes): `encode::datum` writes the cells as an Avro datum, and a
//! row that cannot become a record is shown as JSON in its dead letter.
//!
//! Every kind's column type was checked against the catalogue when the plan was made, and a
//! page's result set is checked against the plan before its rows are read, so the kinds that
//! read a column whatever type the protocol names (`Text`, `Bytes`, `Year`) read what they
//! expect.

use base64::Engine;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use sqlx::mysql::types::MySqlTime;
use sqlx::mysql::MySqlRow;
use sqlx::{Row, ValueRef};

use super::columns::{ColumnPlan, FieldSource, ValueKind};
use super::derive::set_members;
use super::wall_time::WallTime;

/// One column's value as read from a row, its text and bytes borrowed rather than copied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'r> {
    /// An integer for an Avro `int` (also `date`, days since 1970-01-01).
    Int(i32),
    /// An integer for an Avro `long` (also the time and timestamp logical types).
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
    Timestamp(WallTime),
    /// A `DECIMAL`'s text (`-12.50`) for an Avro `decimal` of its scale.
    Decimal(&'r str, u32),
    /// A `BIGINT UNSIGNED` for an Avro `decimal(20, 0)`.
    Unsigned(u64),
    /// Bytes for an Avro `bytes`.
    Bytes(&'r [u8]),
    /// A `SET`'s text (`a,b`) for an Avro `array` of `string`.
    Set(&'r str),
}

impl Cell<'_> {
    /// The cell as a dead letter shows it.
    pub fn to_json(self) -> serde_json::Value {
        match self {
            Cell::Int(v) => v.into(),
            Cell::Long(v) => v.into(),
            Cell::Float(v) => v.into(),
            Cell::Double(v) => v.into(),
            Cell::Boolean(v) => v.into(),
            Cell::Text(v) | Cell::Decimal(v, _) => v.into(),
            Cell::Timestamp(at) => at.rfc3339().into(),
            Cell::Unsigned(v) => v.into(),
            Cell::Bytes(v) => base64::engine::general_purpose::STANDARD.encode(v).into(),
            Cell::Set(v) => set_members(v).collect::<Vec<_>>().into(),
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

/// Reads one column as the given kind; `None` is SQL NULL. The error is a predicate on the
/// column: "holds …", "cannot be read: …".
pub fn read_column(
    row: &MySqlRow,
    index: usize,
    kind: ValueKind,
) -> Result<Option<Cell<'_>>, String> {
    let error = |e: sqlx::Error| format!("cannot be read: {e}");
    let does_not_fit = |v: &dyn std::fmt::Display, avro: &str| {
        format!("holds {v}, which does not fit an Avro {avro}")
    };
    Ok(match kind {
        ValueKind::Int => match row.try_get::<Option<i64>, _>(index).map_err(error)? {
            Some(v) => Some(Cell::Int(
                i32::try_from(v).map_err(|_| does_not_fit(&v, "int"))?,
            )),
            None => None,
        },
        ValueKind::IntFromUnsigned => match row.try_get::<Option<u64>, _>(index).map_err(error)? {
            Some(v) => Some(Cell::Int(
                i32::try_from(v).map_err(|_| does_not_fit(&v, "int"))?,
            )),
            None => None,
        },
        ValueKind::Long => row
            .try_get::<Option<i64>, _>(index)
            .map_err(error)?
            .map(Cell::Long),
        ValueKind::LongFromUnsigned => match row.try_get::<Option<u64>, _>(index).map_err(error)? {
            Some(v) => Some(Cell::Long(
                i64::try_from(v).map_err(|_| does_not_fit(&v, "long"))?,
            )),
            None => None,
        },
        ValueKind::Year => row
            .try_get_unchecked::<Option<u16>, _>(index)
            .map_err(error)?
            .map(|v| Cell::Int(i32::from(v))),
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
        ValueKind::BitBoolean => row
            .try_get_unchecked::<Option<&[u8]>, _>(index)
            .map_err(error)?
            .map(|bits| Cell::Boolean(bits.iter().any(|&b| b != 0))),
        ValueKind::Text => row
            .try_get_unchecked::<Option<&str>, _>(index)
            .map_err(error)?
            .map(Cell::Text),
        ValueKind::TimestampText => read_wall_time(row, index)
            .map_err(error)?
            .map(Cell::Timestamp),
        ValueKind::Decimal(scale) => row
            .try_get_unchecked::<Option<&str>, _>(index)
            .map_err(error)?
            .map(|text| Cell::Decimal(text, scale)),
        ValueKind::UnsignedDecimal => row
            .try_get::<Option<u64>, _>(index)
            .map_err(error)?
            .map(Cell::Unsigned),
        ValueKind::Bytes => row
            .try_get_unchecked::<Option<&[u8]>, _>(index)
            .map_err(error)?
            .map(Cell::Bytes),
        ValueKind::Set => row
            .try_get_unchecked::<Option<&str>, _>(index)
            .map_err(error)?
            .map(Cell::Set),
        ValueKind::Date => match row.try_get::<Option<NaiveDate>, _>(index).map_err(error)? {
            Some(date) => {
                Some(Cell::Int(days_since_epoch(date).ok_or_else(|| {
                    format!("holds {date}, which does not fit an Avro date")
                })?))
            }
            None => None,
        },
        ValueKind::TimeMicros => row
            .try_get::<Option<MySqlTime>, _>(index)
            .map_err(error)?
            .map(|time| Cell::Long(time_micros(&time))),
        ValueKind::TimestampMillis => row
            .try_get::<Option<DateTime<Utc>>, _>(index)
            .map_err(error)?
            .map(|at| Cell::Long(at.timestamp_millis())),
        ValueKind::TimestampMicros => row
            .try_get::<Option<DateTime<Utc>>, _>(index)
            .map_err(error)?
            .map(|at| Cell::Long(at.timestamp_micros())),
        ValueKind::LocalTimestampMillis => row
            .try_get::<Option<NaiveDateTime>, _>(index)
            .map_err(error)?
            .map(|at| Cell::Long(at.and_utc().timestamp_millis())),
        ValueKind::LocalTimestampMicros => row
            .try_get::<Option<NaiveDateTime>, _>(index)
            .map_err(error)?
            .map(|at| Cell::Long(at.and_utc().timestamp_micros())),
    })
}

/// A `DATETIME` or `TIMESTAMP` column as its fields, straight from the binary protocol's
/// bytes; sqlx reads what those do not hold (the text protocol, the zero date, a type the
/// column does not have) and says why it cannot.
pub(crate) fn read_wall_time(
    row: &MySqlRow,
    index: usize,
) -> Result<Option<WallTime>, sqlx::Error> {
    let value = row.try_get_raw(index)?;
    if value.is_null() {
        return Ok(None);
    }
    let fast = <DateTime<Utc> as sqlx::Type<sqlx::MySql>>::compatible(&value.type_info())
        .then(|| <&[u8] as sqlx::Decode<sqlx::MySql>>::decode(value).ok())
        .flatten()
        .and_then(WallTime::from_binary);
    if let Some(time) = fast {
        return Ok(Some(time));
    }
    let at = row.try_get::<Option<DateTime<Utc>>, _>(index)?;
    at.map(|at| {
        WallTime::of(&at).ok_or_else(|| sqlx::Error::Decode(format!("{at} is out of range").into()))
    })
    .transpose()
}

/// Days from 1970-01-01 to `date`, as Avro's `date` counts them.
fn days_since_epoch(date: NaiveDate) -> Option<i32> {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)?;
    i32::try_from((date - epoch).num_days()).ok()
}

/// A `TIME` as signed microseconds (MySQL's run from -838:59:59 to 838:59:59).
fn time_micros(time: &MySqlTime) -> i64 {
    let magnitude = ((i64::from(time.hours()) * 60 + i64::from(time.minutes())) * 60
        + i64::from(time.seconds()))
        * 1_000_000
        + i64::from(time.microseconds());
    // `MySqlTime::is_negative` answers `is_positive` in sqlx 0.8.6; the sign itself is right.
    if time.sign().is_negative() {
        -magnitude
    } else {
        magnitude
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_count_days_from_the_epoch() {
        let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("a date");
        assert_eq!(days_since_epoch(date(1970, 1, 1)), Some(0));
        assert_eq!(days_since_epoch(date(1969, 12, 31)), Some(-1));
        assert_eq!(days_since_epoch(date(2026, 12, 5)), Some(20_792));
    }

    #[test]
    fn times_keep_their_sign_and_run_past_a_day() {
        let time = MySqlTime::new(
            sqlx::mysql::types::MySqlTimeSign::Negative,
            837,
            59,
            59,
            500_000,
        )
        .expect("a time");
        assert_eq!(
            time_micros(&time),
            -((837 * 3600 + 59 * 60 + 59) * 1_000_000 + 500_000)
        );
    }

    #[test]
    fn dead_letters_show_bytes_as_base64_and_sets_as_lists() {
        assert_eq!(
            Cell::Bytes(b"\x00\xff").to_json(),
            serde_json::json!("AP8=")
        );
        assert_eq!(Cell::Set("a,b").to_json(), serde_json::json!(["a", "b"]));
        assert_eq!(Cell::Set("").to_json(), serde_json::json!([]));
        assert_eq!(
            Cell::Decimal("-1.50", 2).to_json(),
            serde_json::json!("-1.50")
        );
    }
}
