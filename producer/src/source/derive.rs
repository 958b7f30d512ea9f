//! The Avro schema a table's columns make, when the writer schema follows the table
//! (`producer.schema_from = "table"`): one field per column, in the table's order, named as the
//! column, typed by the map below (docs/schema-evolution.md shows it to users). The column plan
//! (`columns`) then maps this schema back onto the same columns, so a derived schema is read and
//! encoded by exactly the code that serves a hand-written one.
//!
//! Invariant: the schema is a function of the catalogue's columns and the settings alone. The
//! same table gives the same schema text on every start and every host (so the registry keeps
//! one id for it), and a change of schema is a change of the table.
//!
//! | column | Avro |
//! | --- | --- |
//! | `TINYINT`, `SMALLINT`, `MEDIUMINT` (signed or not), `INT`, `YEAR` | `int` |
//! | `INT UNSIGNED`, `BIGINT` | `long` |
//! | `BIGINT UNSIGNED` | `bytes`, `decimal(20, 0)`: exact up to 2⁶⁴ − 1 |
//! | `DECIMAL(p, s)` | `bytes`, `decimal(p, s)` |
//! | `FLOAT`, `DOUBLE` | `float`, `double` |
//! | `CHAR`, `VARCHAR`, `*TEXT`, `ENUM`, `JSON`, `UUID`, `INET4`, `INET6` | `string` |
//! | `SET` | `array` of `string` |
//! | `DATE` | `int`, `date` |
//! | `TIME` | `long`, `time-micros` (negative and past 24 h as MySQL keeps them) |
//! | `DATETIME(0–3)`, `DATETIME(4–6)` | `long`, `local-timestamp-millis` / `-micros` |
//! | `TIMESTAMP(0–3)`, `TIMESTAMP(4–6)` | `long`, `timestamp-millis` / `-micros` (UTC) |
//! | `BINARY`, `VARBINARY`, `*BLOB` | `bytes` |
//! | `BIT(1)` | `boolean` |
//! | `BIT(n)`, n > 1 | `bytes`, big-endian as MySQL keeps them |
//!
//! A NULL-able column is `["null", T]` with default `null`. A NOT NULL column's literal default
//! becomes the field's default where Avro can hold it (numbers, text, `SET`, `DECIMAL`,
//! `BIT(1)`, `DATE`, `DATETIME`, `TIME`); an expression (`CURRENT_TIMESTAMP`, `uuid()`) or a
//! `TIMESTAMP` literal (its instant depends on a session's time zone) gives no default.
//! Generated columns are read like any other. Spatial types are refused, naming the column.

use num_bigint::BigInt;
use serde_json::{json, Map, Value};

use super::catalogue::TableColumn;

/// What the settings say of a derived schema.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeriveOptions {
    /// The record's name; empty: the table's.
    pub record_name: String,
    /// The record's namespace; empty: none.
    pub namespace: String,
    /// Columns to keep (any case); empty: all.
    pub include: Vec<String>,
    /// Columns to leave out (any case), after `include`.
    pub exclude: Vec<String>,
    /// Columns the producer reads and a schema must therefore hold (key, timestamp).
    pub required: Vec<String>,
}

/// Why a table's columns make no schema.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeriveError {
    /// A column of a type the map does not cover.
    #[error(
        "column `{column}` ({column_type}) has no Avro type sluice writes; leave it out with \
         producer.exclude_columns"
    )]
    Unsupported {
        /// The column.
        column: String,
        /// Its SQL type.
        column_type: String,
    },
    /// A column whose name Avro does not take.
    #[error(
        "column `{0}` is not a valid Avro field name (letters, digits and `_`, not starting with \
         a digit); leave it out with producer.exclude_columns"
    )]
    FieldName(String),
    /// A record name Avro does not take.
    #[error("`{0}` is not a valid Avro record name; set producer.record_name")]
    RecordName(String),
    /// A column the producer reads is left out.
    #[error(
        "producer.include_columns / producer.exclude_columns leave out `{0}`, which the producer \
         reads (producer.key_column, producer.timestamp_column)"
    )]
    Required(String),
    /// The schema built does not parse (a defect of the type map).
    #[error("the schema built from the table is not valid Avro: {0}")]
    Invalid(String),
    /// `include_columns` names a column the table does not have.
    #[error("producer.include_columns names `{0}`, which the table does not have")]
    UnknownColumn(String),
}

/// The schema of `table`'s `columns` as Avro JSON text, fields in the table's order.
pub fn derive_schema(
    table: &str,
    columns: &[TableColumn],
    options: &DeriveOptions,
) -> Result<String, DeriveError> {
    let name = if options.record_name.is_empty() {
        table
    } else {
        &options.record_name
    };
    if !is_avro_name(name) {
        return Err(DeriveError::RecordName(name.to_owned()));
    }
    let listed =
        |list: &[String], column: &str| list.iter().any(|n| n.eq_ignore_ascii_case(column));
    if let Some(unknown) = options
        .include
        .iter()
        .find(|name| !columns.iter().any(|c| c.name.eq_ignore_ascii_case(name)))
    {
        return Err(DeriveError::UnknownColumn(unknown.clone()));
    }
    let kept: Vec<&TableColumn> = columns
        .iter()
        .filter(|c| options.include.is_empty() || listed(&options.include, &c.name))
        .filter(|c| !listed(&options.exclude, &c.name))
        .collect();
    if let Some(missing) = options
        .required
        .iter()
        .find(|name| !kept.iter().any(|c| c.name.eq_ignore_ascii_case(name)))
    {
        return Err(DeriveError::Required(missing.clone()));
    }
    let fields = kept
        .into_iter()
        .map(field_of)
        .collect::<Result<Vec<Value>, DeriveError>>()?;
    let mut record = Map::new();
    record.insert("type".into(), "record".into());
    record.insert("name".into(), name.into());
    if !options.namespace.is_empty() {
        record.insert("namespace".into(), options.namespace.clone().into());
    }
    record.insert("fields".into(), fields.into());
    Ok(Value::Object(record).to_string())
}

/// Avro's rule for names: `[A-Za-z_][A-Za-z0-9_]*`.
fn is_avro_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn field_of(column: &TableColumn) -> Result<Value, DeriveError> {
    if !is_avro_name(&column.name) {
        return Err(DeriveError::FieldName(column.name.clone()));
    }
    let avro = avro_type(column)?;
    let mut field = Map::new();
    field.insert("name".into(), column.name.clone().into());
    if column.nullable {
        field.insert("type".into(), json!(["null", avro]));
        field.insert("default".into(), Value::Null);
    } else {
        if let Some(default) = avro_default(column, &avro) {
            field.insert("default".into(), default);
        }
        field.insert("type".into(), avro);
    }
    Ok(Value::Object(field))
}

/// The Avro type of `column`, by the map in the module's documentation.
fn avro_type(column: &TableColumn) -> Result<Value, DeriveError> {
    let logical = |base: &str, logical: &str| json!({"type": base, "logicalType": logical});
    let millis_or_micros = |millis: &str, micros: &str| {
        if column.fractional_digits <= 3 {
            logical("long", millis)
        } else {
            logical("long", micros)
        }
    };
    Ok(match column.data_type.as_str() {
        "tinyint" | "smallint" | "mediumint" | "year" => json!("int"),
        "int" | "integer" if column.unsigned() => json!("long"),
        "int" | "integer" => json!("int"),
        "bigint" if column.unsigned() => decimal(20, 0),
        "bigint" => json!("long"),
        "decimal" | "numeric" => decimal(column.precision.unwrap_or(10), column.scale.unwrap_or(0)),
        "float" => json!("float"),
        "double" | "real" => json!("double"),
        "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "enum" | "json"
        | "uuid" | "inet4" | "inet6" => json!("string"),
        "set" => json!({"type": "array", "items": "string"}),
        "date" => logical("int", "date"),
        "time" => logical("long", "time-micros"),
        "datetime" => millis_or_micros("local-timestamp-millis", "local-timestamp-micros"),
        "timestamp" => millis_or_micros("timestamp-millis", "timestamp-micros"),
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => {
            json!("bytes")
        }
        "bit" if column.precision == Some(1) => json!("boolean"),
        "bit" => json!("bytes"),
        _ => {
            return Err(DeriveError::Unsupported {
                column: column.name.clone(),
                column_type: column.column_type.clone(),
            })
        }
    })
}

fn decimal(precision: i64, scale: i64) -> Value {
    json!({"type": "bytes", "logicalType": "decimal", "precision": precision, "scale": scale})
}

/// The field's default for a NOT NULL column's literal default, where Avro can hold it.
fn avro_default(column: &TableColumn, avro: &Value) -> Option<Value> {
    if column.default_is_expression || column.generated {
        return None;
    }
    let raw = column.default.as_deref()?;
    let literal = match raw.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
        Some(quoted) => quoted.replace("''", "'"),
        None => raw.to_owned(),
    };
    let logical = avro.get("logicalType").and_then(Value::as_str);
    match (avro, logical) {
        (Value::String(base), None) => match base.as_str() {
            "int" => literal.parse::<i32>().ok().map(Value::from),
            "long" => literal.parse::<i64>().ok().map(Value::from),
            "float" | "double" => literal
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number),
            "string" => Some(Value::String(literal)),
            "boolean" => bit_literal(&literal).map(|bits| Value::Bool(bits != 0)),
            _ => None,
        },
        (Value::Object(_), None) => Some(Value::Array(
            set_members(&literal)
                .map(|member| Value::String(member.to_owned()))
                .collect(),
        )),
        (_, Some("decimal")) => {
            let scale = avro.get("scale").and_then(Value::as_u64)?;
            let unscaled = unscaled_decimal(&literal, u32::try_from(scale).ok()?)?;
            Some(Value::String(bytes_as_avro_json(
                &unscaled.to_signed_bytes_be(),
            )))
        }
        (_, Some("date")) => {
            let date = chrono::NaiveDate::parse_from_str(&literal, "%Y-%m-%d").ok()?;
            let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?;
            Some(Value::from((date - epoch).num_days()))
        }
        (_, Some(kind @ ("local-timestamp-millis" | "local-timestamp-micros"))) => {
            let at =
                chrono::NaiveDateTime::parse_from_str(&literal, "%Y-%m-%d %H:%M:%S%.f").ok()?;
            let utc = at.and_utc();
            Some(Value::from(if kind.ends_with("millis") {
                utc.timestamp_millis()
            } else {
                utc.timestamp_micros()
            }))
        }
        (_, Some("time-micros")) => time_micros(&literal).map(Value::from),
        _ => None,
    }
}

/// The members of a `SET` value as MySQL writes it (`a,b`); none for the empty set.
pub fn set_members(text: &str) -> impl Iterator<Item = &str> {
    text.split(',').filter(|member| !member.is_empty())
}

/// `b'101'` (how MariaDB shows a `BIT` default) or a bare number, as its value.
fn bit_literal(text: &str) -> Option<u64> {
    match text.strip_prefix("b'").and_then(|t| t.strip_suffix('\'')) {
        Some(bits) => u64::from_str_radix(bits, 2).ok(),
        None => text.parse().ok(),
    }
}

/// `-12.50` at scale 2 as the unscaled integer `-1250`; `None` when the text is not a decimal
/// or has more digits after the point than `scale`.
pub fn unscaled_decimal(text: &str, scale: u32) -> Option<BigInt> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > scale as usize || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let padding = "0".repeat(scale as usize - fraction.len());
    format!("{whole}{fraction}{padding}").parse().ok()
}

/// Bytes as Avro's JSON encoding writes a `bytes` default: one code point per byte.
fn bytes_as_avro_json(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// `-838:59:59.5` as microseconds (MySQL's `TIME` runs past a day and below zero).
fn time_micros(text: &str) -> Option<i64> {
    let (sign, text) = match text.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, text),
    };
    let (clock, fraction) = text.split_once('.').unwrap_or((text, ""));
    let mut parts = clock.split(':').map(str::parse::<i64>);
    let (hours, minutes, seconds) = (
        parts.next()?.ok()?,
        parts.next()?.ok()?,
        parts.next()?.ok()?,
    );
    let micros = if fraction.is_empty() {
        0
    } else {
        format!("{fraction:0<6}").get(..6)?.parse::<i64>().ok()?
    };
    Some(sign * (((hours * 60 + minutes) * 60 + seconds) * 1_000_000 + micros))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, column_type: &str) -> TableColumn {
        let data_type = column_type
            .split(['(', ' '])
            .next()
            .unwrap_or(column_type)
            .to_owned();
        TableColumn {
            column_type: column_type.to_owned(),
            ..TableColumn::of_type(name, &data_type)
        }
    }

    fn field_type(column: TableColumn) -> Value {
        field_of(&column).expect("a field")["type"].clone()
    }

    #[test]
    fn integers_by_width_and_sign() {
        assert_eq!(field_type(column("a", "tinyint(4)")), json!("int"));
        assert_eq!(
            field_type(column("a", "mediumint(8) unsigned")),
            json!("int")
        );
        assert_eq!(field_type(column("a", "int(11)")), json!("int"));
        assert_eq!(field_type(column("a", "int(10) unsigned")), json!("long"));
        assert_eq!(field_type(column("a", "bigint(20)")), json!("long"));
        assert_eq!(
            field_type(column("a", "bigint(20) unsigned")),
            json!({"type": "bytes", "logicalType": "decimal", "precision": 20, "scale": 0})
        );
    }

    #[test]
    fn temporal_columns_keep_millis_or_micros_by_their_digits() {
        let with_digits = |column_type: &str, digits| TableColumn {
            fractional_digits: digits,
            ..column("at", column_type)
        };
        assert_eq!(
            field_type(with_digits("datetime(3)", 3)),
            json!({"type": "long", "logicalType": "local-timestamp-millis"})
        );
        assert_eq!(
            field_type(with_digits("timestamp(6)", 6)),
            json!({"type": "long", "logicalType": "timestamp-micros"})
        );
        assert_eq!(
            field_type(with_digits("timestamp", 0)),
            json!({"type": "long", "logicalType": "timestamp-millis"})
        );
        assert_eq!(
            field_type(column("d", "date")),
            json!({"type": "int", "logicalType": "date"})
        );
    }

    #[test]
    fn nullable_columns_are_unions_with_null_first_default_null() {
        let field = field_of(&TableColumn {
            nullable: true,
            default: Some("'x'".into()),
            ..column("note", "varchar(20)")
        })
        .expect("field");
        assert_eq!(
            field,
            json!({"name": "note", "type": ["null", "string"], "default": null})
        );
    }

    #[test]
    fn literal_defaults_become_avro_defaults() {
        let with_default = |column_type: &str, default: &str| {
            field_of(&TableColumn {
                default: Some(default.into()),
                precision: Some(1),
                scale: Some(2),
                ..column("c", column_type)
            })
            .expect("field")
            .get("default")
            .cloned()
        };
        assert_eq!(with_default("int(11)", "0"), Some(json!(0)));
        assert_eq!(with_default("varchar(9)", "'it''s'"), Some(json!("it's")));
        assert_eq!(
            with_default("set('a','b')", "'a,b'"),
            Some(json!(["a", "b"]))
        );
        assert_eq!(with_default("bit(1)", "b'1'"), Some(json!(true)));
        assert_eq!(with_default("date", "'1970-01-11'"), Some(json!(10)));
        // 12.50 at scale 2 is 1250 = 0x04E2.
        assert_eq!(
            with_default("decimal(5,2)", "12.50"),
            Some(json!("\u{4}\u{e2}"))
        );
        assert_eq!(
            with_default("time", "'-01:00:00.5'"),
            Some(json!(-3_600_500_000_i64))
        );
        assert_eq!(with_default("timestamp", "'2020-01-01 00:00:00'"), None);
        let expression = TableColumn {
            default: Some("current_timestamp()".into()),
            default_is_expression: true,
            ..column("c", "datetime")
        };
        assert_eq!(field_of(&expression).expect("field").get("default"), None);
    }

    #[test]
    fn unsupported_types_and_names_are_named() {
        assert_eq!(
            field_of(&column("shape", "geometry")),
            Err(DeriveError::Unsupported {
                column: "shape".into(),
                column_type: "geometry".into()
            })
        );
        assert_eq!(
            field_of(&column("unit price", "float")),
            Err(DeriveError::FieldName("unit price".into()))
        );
    }

    #[test]
    fn columns_are_kept_and_left_out_by_name_and_the_producer_s_columns_stay() {
        let columns = [
            column("id", "int(11)"),
            column("secret", "varchar(9)"),
            column("last_updated", "timestamp(6)"),
        ];
        let options = DeriveOptions {
            exclude: vec!["SECRET".into()],
            required: vec!["id".into(), "last_updated".into()],
            namespace: "shop".into(),
            ..DeriveOptions::default()
        };
        let text = derive_schema("product", &columns, &options).expect("schema");
        let schema = apache_avro::Schema::parse_str(&text).expect("valid Avro");
        let apache_avro::Schema::Record(record) = schema else {
            panic!("a record")
        };
        assert_eq!(record.name.fullname(None), "shop.product");
        let names: Vec<&str> = record.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["id", "last_updated"]);

        let without_key = DeriveOptions {
            exclude: vec!["id".into()],
            ..options.clone()
        };
        assert_eq!(
            derive_schema("product", &columns, &without_key),
            Err(DeriveError::Required("id".into()))
        );
        let unknown = DeriveOptions {
            include: vec!["nope".into()],
            ..options
        };
        assert_eq!(
            derive_schema("product", &columns, &unknown),
            Err(DeriveError::UnknownColumn("nope".into()))
        );
        assert_eq!(
            derive_schema("my-table", &columns, &DeriveOptions::default()),
            Err(DeriveError::RecordName("my-table".into()))
        );
    }

    #[test]
    fn the_same_columns_give_the_same_text() {
        let columns = [column("id", "int(11)"), column("name", "varchar(9)")];
        let options = DeriveOptions::default();
        assert_eq!(
            derive_schema("t", &columns, &options),
            derive_schema("t", &columns, &options)
        );
    }

    #[test]
    fn decimals_unscale_exactly() {
        assert_eq!(unscaled_decimal("-12.5", 2), Some(BigInt::from(-1250)));
        assert_eq!(unscaled_decimal("7", 3), Some(BigInt::from(7000)));
        assert_eq!(unscaled_decimal("1.234", 2), None);
        assert_eq!(
            unscaled_decimal("18446744073709551615", 0),
            Some(BigInt::from(u64::MAX))
        );
    }
}
