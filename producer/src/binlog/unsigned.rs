//! Unsigned integer columns in row images. MariaDB writes which columns are unsigned into a
//! table map only under `binlog_row_metadata` `MINIMAL` or `FULL` (its default is `NO_LOG`),
//! and mysql_common reads an integer it is not told is unsigned as signed: an `INT UNSIGNED`
//! holding 4294967295 arrives as -1. The catalogue says which columns are unsigned; a negative
//! value of such a column is read back at the column's width.

use mysql_async::binlog::value::BinlogValue;
use mysql_async::Value;

use crate::source::catalogue::TableColumn;

/// The width in bits of an unsigned integer column; `None` for any other column.
pub(super) fn unsigned_width(column: &TableColumn) -> Option<u32> {
    if !column.column_type.contains("unsigned") {
        return None;
    }
    Some(match column.data_type.as_str() {
        "tinyint" => 8,
        "smallint" => 16,
        "mediumint" => 24,
        "int" | "integer" => 32,
        "bigint" => 64,
        _ => return None,
    })
}

/// `value` of an unsigned column `bits` wide, when it was read as a negative signed integer:
/// the same bits, unsigned. `None` when it needs no change.
pub(super) fn as_unsigned(value: &BinlogValue<'_>, bits: u32) -> Option<BinlogValue<'static>> {
    let BinlogValue::Value(Value::Int(signed)) = value else {
        return None;
    };
    if *signed >= 0 {
        return None;
    }
    let all_bits = *signed as u64;
    let unsigned = if bits >= 64 {
        all_bits
    } else {
        all_bits & ((1u64 << bits) - 1)
    };
    Some(BinlogValue::Value(Value::UInt(unsigned)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(data_type: &str, column_type: &str) -> TableColumn {
        TableColumn {
            column_type: column_type.into(),
            ..TableColumn::of_type("n", data_type)
        }
    }

    #[test]
    fn negative_readings_of_unsigned_columns_are_read_back_at_their_width() {
        let cases = [
            ("tinyint", -1, 255),
            ("smallint", -2, 65_534),
            ("mediumint", -1, 16_777_215),
            ("int", -1, 4_294_967_295),
            ("bigint", -1, u64::MAX),
        ];
        for (data_type, read, meant) in cases {
            let bits = unsigned_width(&column(data_type, &format!("{data_type} unsigned")))
                .expect("unsigned");
            assert_eq!(
                as_unsigned(&BinlogValue::Value(Value::Int(read)), bits),
                Some(BinlogValue::Value(Value::UInt(meant))),
                "{data_type}"
            );
            assert_eq!(as_unsigned(&BinlogValue::Value(Value::Int(7)), bits), None);
            assert_eq!(as_unsigned(&BinlogValue::Value(Value::NULL), bits), None);
        }
        assert_eq!(unsigned_width(&column("int", "int(11)")), None);
        assert_eq!(
            unsigned_width(&column("decimal", "decimal(5,2) unsigned")),
            None
        );
    }
}
