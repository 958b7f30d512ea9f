//! A binlog row image's values as the plan's cells: the same `Cell`s a polled row gives, so one
//! encoder writes both sources' records.
//!
//! The binary log holds values as the table stores them, not as a query returns them: an
//! `ENUM` as its index, a `SET` as a bit mask, a `TIMESTAMP` as seconds since the epoch.
//! [`RowShape::normalize`] turns those into the text a query gives, in the row itself, once;
//! [`read_cell`] then reads each value as its `ValueKind`, borrowing text and bytes.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use mysql_async::binlog::row::BinlogRow;
use mysql_async::binlog::value::BinlogValue;
use mysql_async::Value;

use super::unsigned::{as_unsigned, unsigned_width};
use crate::source::catalogue::TableColumn;
use crate::source::cell::Cell;
use crate::source::columns::ValueKind;
use crate::source::wall_time::WallTime;

/// What the binlog reader needs of each of the table's columns, in the table's column order
/// (the order of a row image).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowShape {
    columns: Vec<ColumnShape>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum ColumnShape {
    /// Stored as the query returns it.
    Plain,
    /// An `ENUM`: its members, the first at index 1.
    Enum(Vec<String>),
    /// A `SET`: its members, the first at bit 0.
    Set(Vec<String>),
    /// An unsigned integer this many bits wide (see `unsigned`).
    Unsigned(u32),
    /// A type the binlog source cannot read yet.
    Unsupported(String),
}

impl RowShape {
    /// The shape of a table with these columns (in their `ordinal_position` order).
    pub fn new(columns: &[TableColumn]) -> Self {
        Self {
            columns: columns.iter().map(ColumnShape::of).collect(),
        }
    }

    /// Rewrites the values stored otherwise than a query returns them (`ENUM`, `SET`) as that
    /// text, and unsigned integers read as signed as their unsigned value; the error names the
    /// column and what it holds.
    pub fn normalize(&self, row: &mut BinlogRow, names: &[TableColumn]) -> Result<(), String> {
        if row.len() != self.columns.len() {
            return Err(format!(
                "the binary log's row has {} columns, the table {}",
                row.len(),
                self.columns.len()
            ));
        }
        for (index, shape) in self.columns.iter().enumerate() {
            let name = names.get(index).map_or("?", |column| column.name.as_str());
            let text = match (shape, row.as_ref(index)) {
                (ColumnShape::Plain, _) | (_, None) => continue,
                (ColumnShape::Unsigned(bits), Some(value)) => {
                    if let Some(unsigned) = as_unsigned(value, *bits) {
                        row.place(index, unsigned);
                    }
                    continue;
                }
                (ColumnShape::Unsupported(data_type), Some(_)) => {
                    return Err(format!(
                        "column `{name}` is of type {data_type}, which the binlog source \
                         does not read"
                    ))
                }
                (ColumnShape::Enum(members), Some(value)) => enum_text(members, value)
                    .ok_or_else(|| format!("column `{name}` holds {value:?}, not an ENUM index"))?,
                (ColumnShape::Set(members), Some(value)) => set_text(members, value)
                    .ok_or_else(|| format!("column `{name}` holds {value:?}, not a SET mask"))?,
            };
            row.place(index, BinlogValue::Value(Value::Bytes(text.into_bytes())));
        }
        Ok(())
    }
}

impl ColumnShape {
    fn of(column: &TableColumn) -> Self {
        match column.data_type.as_str() {
            "enum" => Self::Enum(quoted_members(&column.column_type)),
            "set" => Self::Set(quoted_members(&column.column_type)),
            // Stored in binary forms of their own (MariaDB's UUID swaps its groups).
            "uuid" | "inet4" | "inet6" | "geometry" | "point" | "linestring" | "polygon"
            | "multipoint" | "multilinestring" | "multipolygon" | "geometrycollection" => {
                Self::Unsupported(column.data_type.clone())
            }
            _ => unsigned_width(column).map_or(Self::Plain, Self::Unsigned),
        }
    }
}

/// The members of `enum('a','b')` or `set('a','b')`, quotes removed (`''` is one quote).
fn quoted_members(column_type: &str) -> Vec<String> {
    let mut members = Vec::new();
    let mut chars = column_type.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\'' {
            continue;
        }
        let mut member = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\'' if chars.peek() == Some(&'\'') => {
                    chars.next();
                    member.push('\'');
                }
                '\'' => break,
                c => member.push(c),
            }
        }
        members.push(member);
    }
    members
}

/// An `ENUM` index as its member; 0 (the value of an invalid insert) is the empty string.
fn enum_text(members: &[String], value: &BinlogValue<'_>) -> Option<String> {
    let index = integer(value)?;
    if index == 0 {
        return Some(String::new());
    }
    members.get(usize::try_from(index - 1).ok()?).cloned()
}

/// A `SET` bit mask (little-endian bytes) as its members joined by commas, in member order.
fn set_text(members: &[String], value: &BinlogValue<'_>) -> Option<String> {
    let BinlogValue::Value(Value::Bytes(mask)) = value else {
        return None;
    };
    let chosen: Vec<&str> = members
        .iter()
        .enumerate()
        .filter(|(bit, _)| {
            mask.get(bit / 8)
                .is_some_and(|byte| byte & (1 << (bit % 8)) != 0)
        })
        .map(|(_, member)| member.as_str())
        .collect();
    Some(chosen.join(","))
}

fn integer(value: &BinlogValue<'_>) -> Option<i128> {
    match value {
        BinlogValue::Value(Value::Int(v)) => Some(i128::from(*v)),
        BinlogValue::Value(Value::UInt(v)) => Some(i128::from(*v)),
        _ => None,
    }
}

/// One value of a normalized row image as `kind`; `None` is SQL NULL. The error is a predicate
/// on the column, as the polled reader's.
pub fn read_cell<'r>(
    value: Option<&'r BinlogValue<'_>>,
    kind: ValueKind,
) -> Result<Option<Cell<'r>>, String> {
    let value = match value {
        None | Some(BinlogValue::Value(Value::NULL)) => return Ok(None),
        Some(BinlogValue::Value(value)) => value,
        Some(other) => {
            return Err(format!(
                "holds {other:?}, which the binlog source does not read"
            ))
        }
    };
    let unexpected = || format!("holds {value:?}, which is not what its type stores");
    let does_not_fit = |v: &dyn std::fmt::Display, avro: &str| {
        format!("holds {v}, which does not fit an Avro {avro}")
    };
    let int = || match value {
        Value::Int(v) => Some(i128::from(*v)),
        Value::UInt(v) => Some(i128::from(*v)),
        _ => None,
    };
    Ok(Some(match kind {
        ValueKind::Int | ValueKind::IntFromUnsigned => {
            let v = int().ok_or_else(unexpected)?;
            Cell::Int(i32::try_from(v).map_err(|_| does_not_fit(&v, "int"))?)
        }
        ValueKind::Long | ValueKind::LongFromUnsigned => {
            let v = int().ok_or_else(unexpected)?;
            Cell::Long(i64::try_from(v).map_err(|_| does_not_fit(&v, "long"))?)
        }
        ValueKind::UnsignedDecimal => {
            let v = int().ok_or_else(unexpected)?;
            Cell::Unsigned(u64::try_from(v).map_err(|_| unexpected())?)
        }
        ValueKind::Boolean => Cell::Boolean(int().ok_or_else(unexpected)? != 0),
        ValueKind::Year => {
            // The binary log stores a year as years since 1900, and `0000` as 0.
            let year: i32 = text(value)
                .and_then(|t| t.parse().ok())
                .ok_or_else(unexpected)?;
            Cell::Int(if year == 1900 { 0 } else { year })
        }
        ValueKind::Float | ValueKind::FloatFromDouble => {
            Cell::Float(float(value).ok_or_else(unexpected)? as f32)
        }
        ValueKind::Double | ValueKind::DoubleFromFloat => {
            Cell::Double(float(value).ok_or_else(unexpected)?)
        }
        ValueKind::BitBoolean => {
            Cell::Boolean(bytes(value).ok_or_else(unexpected)?.iter().any(|&b| b != 0))
        }
        ValueKind::Text => Cell::Text(utf8(value)?),
        ValueKind::Set => Cell::Set(utf8(value)?),
        ValueKind::Decimal(scale) => Cell::Decimal(utf8(value)?, scale),
        ValueKind::Bytes => Cell::Bytes(bytes(value).ok_or_else(unexpected)?),
        ValueKind::TimestampText => Cell::Timestamp(
            instant(value)
                .as_ref()
                .and_then(WallTime::of)
                .ok_or_else(unexpected)?,
        ),
        ValueKind::TimestampMillis => {
            Cell::Long(instant(value).ok_or_else(unexpected)?.timestamp_millis())
        }
        ValueKind::TimestampMicros => {
            Cell::Long(instant(value).ok_or_else(unexpected)?.timestamp_micros())
        }
        ValueKind::LocalTimestampMillis => Cell::Long(
            local(value)
                .ok_or_else(unexpected)?
                .and_utc()
                .timestamp_millis(),
        ),
        ValueKind::LocalTimestampMicros => Cell::Long(
            local(value)
                .ok_or_else(unexpected)?
                .and_utc()
                .timestamp_micros(),
        ),
        ValueKind::Date => {
            let date = local(value).ok_or_else(unexpected)?.date();
            let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).ok_or_else(unexpected)?;
            let days = (date - epoch).num_days();
            Cell::Int(i32::try_from(days).map_err(|_| does_not_fit(&date, "date"))?)
        }
        ValueKind::TimeMicros => Cell::Long(time_micros(value).ok_or_else(unexpected)?),
    }))
}

fn bytes(value: &Value) -> Option<&[u8]> {
    match value {
        Value::Bytes(bytes) => Some(bytes),
        _ => None,
    }
}

fn text(value: &Value) -> Option<&str> {
    std::str::from_utf8(bytes(value)?).ok()
}

fn utf8(value: &Value) -> Result<&str, String> {
    let bytes = bytes(value).ok_or_else(|| format!("holds {value:?}, not character data"))?;
    std::str::from_utf8(bytes).map_err(|_| {
        "holds bytes that are not UTF-8 (the binlog source reads character columns in utf8mb4, \
         utf8mb3 or ascii)"
            .to_string()
    })
}

fn float(value: &Value) -> Option<f64> {
    match value {
        Value::Float(v) => Some(f64::from(*v)),
        Value::Double(v) => Some(*v),
        _ => None,
    }
}

/// A `TIMESTAMP`, which the binary log holds as seconds since the epoch (`1733480000.250000`);
/// a `DATETIME` read as UTC.
fn instant(value: &Value) -> Option<DateTime<Utc>> {
    match value {
        Value::Bytes(_) => {
            let text = text(value)?;
            let (seconds, micros) = text.split_once('.').unwrap_or((text, "0"));
            let micros: u32 = format!("{micros:0<6}").get(..6)?.parse().ok()?;
            DateTime::from_timestamp(seconds.parse().ok()?, micros * 1_000)
        }
        _ => local(value).map(|at| at.and_utc()),
    }
}

/// A `DATE` or `DATETIME` as the server's calendar and clock show it.
fn local(value: &Value) -> Option<NaiveDateTime> {
    let Value::Date(year, month, day, hour, minute, second, micros) = *value else {
        return None;
    };
    NaiveDate::from_ymd_opt(i32::from(year), u32::from(month), u32::from(day))?.and_hms_micro_opt(
        u32::from(hour),
        u32::from(minute),
        u32::from(second),
        micros,
    )
}

/// A `TIME` as signed microseconds.
fn time_micros(value: &Value) -> Option<i64> {
    let Value::Time(negative, days, hours, minutes, seconds, micros) = *value else {
        return None;
    };
    let magnitude = (((i64::from(days) * 24 + i64::from(hours)) * 60 + i64::from(minutes)) * 60
        + i64::from(seconds))
        * 1_000_000
        + i64::from(micros);
    Some(if negative { -magnitude } else { magnitude })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(value: Value) -> BinlogValue<'static> {
        BinlogValue::Value(value)
    }

    #[test]
    fn enum_and_set_members_are_read_from_the_column_type() {
        assert_eq!(quoted_members("enum('S','M','it''s')"), ["S", "M", "it's"]);
        assert_eq!(quoted_members("set('a','b,c')").len(), 2);
        let members = quoted_members("set('red','green','blue')");
        assert_eq!(
            set_text(&members, &value(Value::Bytes(vec![0b101]))).as_deref(),
            Some("red,blue")
        );
        let sizes = quoted_members("enum('S','M')");
        assert_eq!(
            enum_text(&sizes, &value(Value::Int(2))).as_deref(),
            Some("M")
        );
        assert_eq!(
            enum_text(&sizes, &value(Value::Int(0))).as_deref(),
            Some("")
        );
        assert_eq!(enum_text(&sizes, &value(Value::Int(3))), None);
    }

    #[test]
    fn timestamps_are_seconds_since_the_epoch() {
        let at = value(Value::Bytes(b"1733480000.25".to_vec()));
        assert_eq!(
            read_cell(Some(&at), ValueKind::TimestampMicros),
            Ok(Some(Cell::Long(1_733_480_000_250_000)))
        );
        let whole = value(Value::Bytes(b"1733480000".to_vec()));
        assert_eq!(
            read_cell(Some(&whole), ValueKind::TimestampMillis),
            Ok(Some(Cell::Long(1_733_480_000_000)))
        );
    }

    #[test]
    fn integers_floats_and_text_read_as_their_kinds() {
        let unsigned = value(Value::UInt(u64::MAX));
        assert_eq!(
            read_cell(Some(&unsigned), ValueKind::UnsignedDecimal),
            Ok(Some(Cell::Unsigned(u64::MAX)))
        );
        assert!(read_cell(Some(&unsigned), ValueKind::Long).is_err());
        let float = value(Value::Float(1.5));
        assert_eq!(
            read_cell(Some(&float), ValueKind::DoubleFromFloat),
            Ok(Some(Cell::Double(1.5)))
        );
        let name = value(Value::Bytes("Käse".as_bytes().to_vec()));
        assert_eq!(
            read_cell(Some(&name), ValueKind::Text),
            Ok(Some(Cell::Text("Käse")))
        );
        let latin1 = value(Value::Bytes(vec![0xe4]));
        assert!(read_cell(Some(&latin1), ValueKind::Text).is_err());
        assert_eq!(read_cell(None, ValueKind::Text), Ok(None));
        assert_eq!(
            read_cell(Some(&value(Value::NULL)), ValueKind::Int),
            Ok(None)
        );
    }

    #[test]
    fn years_dates_and_times_read_as_the_query_gives_them() {
        let year_zero = value(Value::Bytes(b"1900".to_vec()));
        assert_eq!(
            read_cell(Some(&year_zero), ValueKind::Year),
            Ok(Some(Cell::Int(0)))
        );
        let date = value(Value::Date(2026, 12, 5, 0, 0, 0, 0));
        assert_eq!(
            read_cell(Some(&date), ValueKind::Date),
            Ok(Some(Cell::Int(20_792)))
        );
        let time = value(Value::Time(true, 34, 21, 59, 59, 500_000));
        assert_eq!(
            read_cell(Some(&time), ValueKind::TimeMicros),
            Ok(Some(Cell::Long(
                -((837 * 3600 + 59 * 60 + 59) * 1_000_000 + 500_000)
            )))
        );
    }
}
