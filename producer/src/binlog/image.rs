//! A binlog row image as a record: its key, its Avro datum through the column plan, its
//! soft-delete mark, and the JSON a dead letter shows.
//!
//! A row image holds every column in the table's order (`binlog_row_image=FULL`); the plan
//! names its columns, so each plan column's place in the image is found once, by name, when
//! the image layout is made from the catalogue the plan was made with.

use mysql_async::binlog::row::BinlogRow;
use mysql_async::binlog::value::BinlogValue;
use mysql_async::Value;

use chrono::{DateTime, Utc};

use super::cells::{read_cell, RowShape};
use super::unsigned::{as_unsigned, unsigned_width};
use crate::encode::RecordEncoder;
use crate::source::catalogue::TableColumn;
use crate::source::cell::Cell;
use crate::source::columns::{ColumnPlan, FieldSource, ValueKind};
use crate::source::deleted::DeletedColumn;
use crate::source::key::{Key, KeyKind};

/// Where the plan's columns, the key and the soft-delete mark are in a row image.
#[derive(Debug, Clone)]
pub struct ImageLayout {
    columns: Vec<TableColumn>,
    shape: RowShape,
    /// For each of the plan's columns, its place in the image.
    plan_places: Vec<usize>,
    key_place: usize,
    key_kind: KeyKind,
    /// The soft-delete column's place, and whether it is a number.
    deleted: Option<(usize, bool)>,
    /// The timestamp column's place, when the table has it.
    timestamp: Option<usize>,
}

/// A plan column, key or mark the table does not have.
#[derive(Debug, thiserror::Error)]
#[error("column `{0}` is not in the table the binlog source reads")]
pub struct MissingColumn(pub String);

impl ImageLayout {
    /// The layout of images of a table with `columns` (the catalogue, in table order), read
    /// through `plan`, keyed by `key_column` of `key_kind`, soft deletes marked by `deleted`,
    /// changes timed by `timestamp_column` where the table has it.
    pub fn new(
        columns: &[TableColumn],
        plan: &ColumnPlan,
        key_column: &str,
        key_kind: KeyKind,
        deleted: Option<&str>,
        timestamp_column: &str,
    ) -> Result<Self, MissingColumn> {
        let place = |name: &str| {
            columns
                .iter()
                .position(|column| column.name.eq_ignore_ascii_case(name))
                .ok_or_else(|| MissingColumn(name.to_string()))
        };
        let plan_places = plan
            .columns
            .iter()
            .map(|name| place(name))
            .collect::<Result<_, _>>()?;
        let deleted = match deleted {
            Some(name) => {
                let at = place(name)?;
                let numeric = DeletedColumn::new(name, &columns[at].data_type).numeric;
                Some((at, numeric))
            }
            None => None,
        };
        Ok(Self {
            columns: columns.to_vec(),
            shape: RowShape::new(columns),
            plan_places,
            key_place: place(key_column)?,
            key_kind,
            deleted,
            timestamp: place(timestamp_column).ok(),
        })
    }

    /// The table's columns the layout was made for, in table order.
    pub fn columns(&self) -> &[TableColumn] {
        &self.columns
    }

    /// Turns the image's stored forms (`ENUM`, `SET`) into what a query returns.
    pub fn normalize(&self, image: &mut BinlogRow) -> Result<(), String> {
        self.shape.normalize(image, &self.columns)
    }

    /// The image's key.
    pub fn key(&self, image: &BinlogRow) -> Result<Key, String> {
        let read = image.as_ref(self.key_place);
        // Keys are read before the image is normalized: an unsigned key read as signed too.
        let width = self.columns.get(self.key_place).and_then(unsigned_width);
        let unsigned = read
            .zip(width)
            .and_then(|(value, bits)| as_unsigned(value, bits));
        let value = match unsigned.as_ref().or(read) {
            Some(BinlogValue::Value(value)) => value,
            other => return Err(format!("the key column holds {other:?}")),
        };
        let key = match (self.key_kind, value) {
            (KeyKind::Signed, Value::Int(v)) => Some(Key::Signed(*v)),
            (KeyKind::Signed, Value::UInt(v)) => i64::try_from(*v).ok().map(Key::Signed),
            (KeyKind::Unsigned, Value::UInt(v)) => Some(Key::Unsigned(*v)),
            (KeyKind::Unsigned, Value::Int(v)) => u64::try_from(*v).ok().map(Key::Unsigned),
            (KeyKind::Text, Value::Bytes(bytes)) => {
                String::from_utf8(bytes.clone()).ok().map(Key::Text)
            }
            (KeyKind::Bytes, Value::Bytes(bytes)) => Some(Key::Bytes(bytes.clone())),
            _ => None,
        };
        key.ok_or_else(|| {
            format!(
                "the key column holds {value:?}, not {}",
                self.key_kind.name()
            )
        })
    }

    /// Whether the image carries the soft-delete mark.
    pub fn marked_deleted(&self, image: &BinlogRow) -> bool {
        let Some((place, numeric)) = self.deleted else {
            return false;
        };
        match image.as_ref(place) {
            None | Some(BinlogValue::Value(Value::NULL)) => false,
            Some(BinlogValue::Value(Value::Int(v))) if numeric => *v != 0,
            Some(BinlogValue::Value(Value::UInt(v))) if numeric => *v != 0,
            Some(BinlogValue::Value(Value::Float(v))) if numeric => *v != 0.0,
            Some(BinlogValue::Value(Value::Double(v))) if numeric => *v != 0.0,
            Some(BinlogValue::Value(Value::Bytes(bytes))) if numeric => {
                // DECIMAL as text, BIT as bytes: any non-zero digit or bit marks it.
                bytes
                    .iter()
                    .any(|b| !matches!(b, b'0' | b'.' | b'-' | b'+' | 0))
            }
            Some(_) => true,
        }
    }

    /// When a delete of `image` was made: the later of `written_at` (the binary log's time,
    /// whole seconds) and a microsecond after the image's timestamp column, so a delete is
    /// always dated after the version it deletes.
    pub fn deleted_at(&self, image: &BinlogRow, written_at: u32) -> DateTime<Utc> {
        let logged = DateTime::from_timestamp(i64::from(written_at), 0).unwrap_or_default();
        let stamped = self.timestamp.and_then(|place| {
            match read_cell(image.as_ref(place), ValueKind::TimestampMicros) {
                Ok(Some(Cell::Long(micros))) => DateTime::from_timestamp_micros(micros + 1),
                _ => None,
            }
        });
        stamped.map_or(logged, |stamped| stamped.max(logged))
    }

    /// Replaces `out` with the image's record.
    pub fn encode(
        &self,
        encoder: &RecordEncoder,
        image: &BinlogRow,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        encoder
            .encode_cells(
                |index, kind| read_cell(image.as_ref(self.plan_places[index]), kind),
                out,
            )
            .map_err(|error| error.to_string())
    }

    /// The image as JSON, as far as its columns can be read: a dead letter's payload.
    pub fn to_json(&self, plan: &ColumnPlan, image: &BinlogRow) -> serde_json::Value {
        let mut object = serde_json::Map::new();
        for (name, source) in &plan.fields {
            if let FieldSource::Column { index, kind, .. } = source {
                let value = match read_cell(image.as_ref(self.plan_places[*index]), *kind) {
                    Ok(Some(cell)) => cell.to_json(),
                    Ok(None) => serde_json::Value::Null,
                    Err(reason) => serde_json::Value::String(format!("<{reason}>")),
                };
                object.insert(name.clone(), value);
            }
        }
        serde_json::Value::Object(object)
    }
}
