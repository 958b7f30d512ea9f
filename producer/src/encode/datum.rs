//! A row's Avro binary datum, fields in the writer schema's order, written straight from its
//! cells into the record's buffer: each field from its column through the plan, or the plan's
//! encoded default for a field no column fills.

use sqlx::mysql::MySqlRow;

use super::avro_binary;
use crate::source::cell::{read_column, Cell};
use crate::source::columns::{ColumnPlan, FieldSource, ValueKind};
use crate::source::derive::{set_members, unscaled_decimal};
use crate::source::row::RowError;

/// Appends the row's Avro binary datum, fields in the writer schema's order, to `out`. On an
/// error `out` holds part of a datum; the caller discards it.
pub fn write_avro(row: &MySqlRow, plan: &ColumnPlan, out: &mut Vec<u8>) -> Result<(), RowError> {
    write_fields(plan, |index, kind| read_column(row, index, kind), out)
}

/// The datum from the plan's defaults and the cells `cell_at` reads (the field's column, by its
/// place among the plan's columns, as its kind): a polled row's cells, or a binlog row image's,
/// and in tests cells without a database.
pub fn write_fields<'r>(
    plan: &ColumnPlan,
    mut cell_at: impl FnMut(usize, ValueKind) -> Result<Option<Cell<'r>>, String>,
    out: &mut Vec<u8>,
) -> Result<(), RowError> {
    for (name, source) in &plan.fields {
        let (index, kind, union) = match source {
            FieldSource::Default(encoded) => {
                out.extend_from_slice(encoded);
                continue;
            }
            FieldSource::Column { index, kind, union } => (*index, *kind, *union),
        };
        let at_fault = |reason| RowError {
            column: plan.columns[index].clone(),
            reason,
        };
        match (cell_at(index, kind).map_err(at_fault)?, union) {
            (Some(cell), None) => write_cell(cell, out).map_err(at_fault)?,
            (Some(cell), Some((_, value_branch))) => {
                avro_binary::write_long(out, i64::from(value_branch));
                write_cell(cell, out).map_err(at_fault)?;
            }
            (None, Some((null_branch, _))) => avro_binary::write_long(out, i64::from(null_branch)),
            (None, None) => {
                return Err(at_fault(format!(
                    "is NULL but Avro field `{name}` is not nullable"
                )))
            }
        }
    }
    Ok(())
}

/// Appends one cell's Avro binary value; the error says what the cell holds that Avro cannot.
fn write_cell(cell: Cell<'_>, out: &mut Vec<u8>) -> Result<(), String> {
    match cell {
        Cell::Int(v) => avro_binary::write_long(out, i64::from(v)),
        Cell::Long(v) => avro_binary::write_long(out, v),
        Cell::Float(v) => avro_binary::write_float(out, v),
        Cell::Double(v) => avro_binary::write_double(out, v),
        Cell::Boolean(v) => avro_binary::write_boolean(out, v),
        Cell::Text(v) => avro_binary::write_string(out, v),
        Cell::Timestamp(at) => avro_binary::write_timestamp_text(out, at),
        Cell::Bytes(v) => avro_binary::write_bytes(out, v),
        Cell::Unsigned(v) => {
            avro_binary::write_bytes(out, &num_bigint::BigInt::from(v).to_signed_bytes_be())
        }
        Cell::Decimal(text, scale) => {
            let unscaled = unscaled_decimal(text, scale)
                .ok_or_else(|| format!("holds {text}, which is not a decimal of scale {scale}"))?;
            avro_binary::write_bytes(out, &unscaled.to_signed_bytes_be());
        }
        Cell::Set(text) => {
            let count = set_members(text).count();
            if count > 0 {
                avro_binary::write_long(out, count as i64);
                for member in set_members(text) {
                    avro_binary::write_string(out, member);
                }
            }
            avro_binary::write_long(out, 0);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::avro_binary::check::decode_whole as decode;
    use crate::source::columns::TableColumn;
    use crate::source::wall_time::WallTime;
    use apache_avro::types::Value;
    use apache_avro::Schema;
    use chrono::{TimeZone, Utc};

    const SCHEMA: &str = r#"{"type":"record","name":"P","fields":[
        {"name":"id","type":"int"},
        {"name":"name","type":["null","string"]},
        {"name":"price","type":"float"},
        {"name":"last_updated","type":"string"},
        {"name":"stock","type":"long","default":12}]}"#;

    fn plan(schema: &Schema) -> ColumnPlan {
        let column = TableColumn::of_type;
        let table = [
            column("id", "int"),
            column("name", "varchar"),
            column("price", "float"),
            column("last_updated", "timestamp"),
        ];
        ColumnPlan::new(schema, "product", &table).expect("plan")
    }

    #[test]
    fn cells_and_defaults_make_a_datum_apache_avro_reads_back() {
        let schema = Schema::parse_str(SCHEMA).expect("schema");
        let plan = plan(&schema);
        let at = Utc
            .timestamp_opt(1_795_510_530, 123_456_000)
            .single()
            .expect("valid");
        for (name, expected_name) in [
            (
                Some(Cell::Text("Lamp")),
                Value::Union(1, Box::new("Lamp".into())),
            ),
            (None, Value::Union(0, Box::new(Value::Null))),
        ] {
            let cells = [
                Some(Cell::Int(7)),
                name,
                Some(Cell::Float(19.99)),
                Some(Cell::Timestamp(WallTime::of(&at).expect("in range"))),
            ];
            let mut out = Vec::new();
            write_fields(&plan, |index, _| Ok(cells[index]), &mut out).expect("encodes");
            let expected = Value::Record(vec![
                ("id".into(), Value::Int(7)),
                ("name".into(), expected_name),
                ("price".into(), Value::Float(19.99)),
                (
                    "last_updated".into(),
                    Value::String("2026-11-24T08:55:30.123456Z".into()),
                ),
                ("stock".into(), Value::Long(12)),
            ]);
            assert_eq!(decode(&schema, &out), expected);
        }
    }

    #[test]
    fn null_in_a_field_that_is_not_nullable_names_the_column() {
        let schema = Schema::parse_str(SCHEMA).expect("schema");
        let plan = plan(&schema);
        let cells = [Some(Cell::Int(7)), None, None, None];
        let error = write_fields(&plan, |index, _| Ok(cells[index]), &mut Vec::new())
            .expect_err("price is not nullable");
        assert_eq!(error.column, "price");
        assert!(error.reason.contains("is NULL"), "{error}");
    }

    #[test]
    fn a_cell_that_cannot_be_read_names_its_column() {
        let schema = Schema::parse_str(SCHEMA).expect("schema");
        let plan = plan(&schema);
        let error = write_fields(&plan, |_, _| Err("holds 1e10".to_owned()), &mut Vec::new())
            .expect_err("unreadable");
        assert_eq!(
            error,
            RowError {
                column: "id".into(),
                reason: "holds 1e10".into()
            }
        );
    }

    #[test]
    fn logical_types_and_arrays_read_back_as_apache_avro_writes_them() {
        let schema = Schema::parse_str(
            r#"{"type":"record","name":"T","fields":[
                {"name":"price","type":{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}},
                {"name":"big","type":{"type":"bytes","logicalType":"decimal","precision":20,"scale":0}},
                {"name":"blob","type":"bytes"},
                {"name":"tags","type":{"type":"array","items":"string"}},
                {"name":"none","type":{"type":"array","items":"string"}},
                {"name":"day","type":{"type":"int","logicalType":"date"}},
                {"name":"at","type":{"type":"long","logicalType":"timestamp-micros"}}]}"#,
        )
        .expect("schema");
        let table = [
            TableColumn {
                scale: Some(2),
                ..TableColumn::of_type("price", "decimal")
            },
            TableColumn {
                column_type: "bigint(20) unsigned".into(),
                ..TableColumn::of_type("big", "bigint")
            },
            TableColumn::of_type("blob", "blob"),
            TableColumn::of_type("tags", "set"),
            TableColumn::of_type("none", "set"),
            TableColumn::of_type("day", "date"),
            TableColumn::of_type("at", "timestamp"),
        ];
        let plan = ColumnPlan::new(&schema, "t", &table).expect("plan");
        let cells = [
            Some(Cell::Decimal("-12.50", 2)),
            Some(Cell::Unsigned(u64::MAX)),
            Some(Cell::Bytes(b"\x00\xff")),
            Some(Cell::Set("red,blue")),
            Some(Cell::Set("")),
            Some(Cell::Int(20_792)),
            Some(Cell::Long(1_795_510_530_123_456)),
        ];
        let mut out = Vec::new();
        write_fields(&plan, |index, _| Ok(cells[index]), &mut out).expect("encodes");
        let strings = |items: &[&str]| {
            Value::Array(items.iter().map(|s| Value::String((*s).into())).collect())
        };
        let decimal = |value: num_bigint::BigInt| {
            Value::Decimal(apache_avro::Decimal::from(value.to_signed_bytes_be()))
        };
        assert_eq!(
            decode(&schema, &out),
            Value::Record(vec![
                ("price".into(), decimal((-1250).into())),
                ("big".into(), decimal(u64::MAX.into())),
                ("blob".into(), Value::Bytes(vec![0, 255])),
                ("tags".into(), strings(&["red", "blue"])),
                ("none".into(), strings(&[])),
                ("day".into(), Value::Date(20_792)),
                ("at".into(), Value::TimestampMicros(1_795_510_530_123_456)),
            ])
        );
    }

    #[test]
    fn a_decimal_of_another_scale_is_refused_with_its_column() {
        let schema = Schema::parse_str(
            r#"{"type":"record","name":"T","fields":[
                {"name":"price","type":{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}}]}"#,
        )
        .expect("schema");
        let table = [TableColumn {
            scale: Some(2),
            ..TableColumn::of_type("price", "decimal")
        }];
        let plan = ColumnPlan::new(&schema, "t", &table).expect("plan");
        let error = write_fields(
            &plan,
            |_, _| Ok(Some(Cell::Decimal("1.234", 2))),
            &mut Vec::new(),
        )
        .expect_err("three digits after the point");
        assert_eq!(error.column, "price");
    }
}
