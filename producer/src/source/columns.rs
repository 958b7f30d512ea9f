//! Which column feeds which Avro field. The plan is made once at start from the writer schema
//! and the table's columns, so a schema the table cannot fill is refused before any row is read.

use apache_avro::schema::{InnerDecimalSchema, RecordField, Schema, UnionSchema};
use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;

pub use super::catalogue::TableColumn;

/// How a column's value is read and turned into the field's Avro type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// Avro `int` from a signed integer column.
    Int,
    /// Avro `int` from an `UNSIGNED` integer column.
    IntFromUnsigned,
    /// Avro `long` from a signed integer column.
    Long,
    /// Avro `long` from an `UNSIGNED` integer column.
    LongFromUnsigned,
    /// Avro `int` from a `YEAR` column.
    Year,
    /// Avro `float` from a `FLOAT` column.
    Float,
    /// Avro `float` from a `DOUBLE` column, narrowed.
    FloatFromDouble,
    /// Avro `double` from a `DOUBLE` column.
    Double,
    /// Avro `double` from a `FLOAT` column, widened exactly.
    DoubleFromFloat,
    /// Avro `boolean` from a `TINYINT(1)`/`BOOLEAN` column.
    Boolean,
    /// Avro `boolean` from a `BIT(1)` column.
    BitBoolean,
    /// Avro `string` from a character column, or one the server sends as its text (`JSON`,
    /// `SET`, `DECIMAL`, `UUID`, `INET6`, …) whatever type and collation the protocol names (a
    /// `_bin` collation marks text binary; MariaDB's `JSON` is such a `LONGTEXT`).
    Text,
    /// Avro `string` from a `TIMESTAMP`/`DATETIME` column, as RFC 3339 UTC with microseconds.
    TimestampText,
    /// Avro `bytes` with the `decimal` logical type of this scale, from a `DECIMAL` column of
    /// the same scale.
    Decimal(u32),
    /// Avro `bytes` `decimal(20, 0)` from a `BIGINT UNSIGNED` column.
    UnsignedDecimal,
    /// Avro `bytes` from a binary string or `BIT` column.
    Bytes,
    /// Avro `array` of `string` from a `SET` column.
    Set,
    /// Avro `int` `date` from a `DATE` column.
    Date,
    /// Avro `long` `time-micros` from a `TIME` column.
    TimeMicros,
    /// Avro `long` `timestamp-millis` from a `TIMESTAMP` column.
    TimestampMillis,
    /// Avro `long` `timestamp-micros` from a `TIMESTAMP` column.
    TimestampMicros,
    /// Avro `long` `local-timestamp-millis` from a `DATETIME` column.
    LocalTimestampMillis,
    /// Avro `long` `local-timestamp-micros` from a `DATETIME` column.
    LocalTimestampMicros,
}

/// Where one field's value comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldSource {
    /// The column of the same name; `null_branch` is the index of `null` in a nullable union.
    Column {
        /// Position among the plan's columns.
        index: usize,
        /// How to read it.
        kind: ValueKind,
        /// For `["null", T]` fields: the union branch of null and of the value.
        union: Option<(u32, u32)>,
    },
    /// No such column: the schema's default, encoded once at start.
    Default(Vec<u8>),
}

/// The whole mapping: one source per field, in schema order.
#[derive(Debug, Clone)]
pub struct ColumnPlan {
    /// Field names and their sources, in the writer schema's order.
    pub fields: Vec<(String, FieldSource)>,
    /// Column names to select, in the order `FieldSource::Column::index` refers to.
    pub columns: Vec<String>,
}

/// A schema the table cannot fill.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PlanError {
    /// The writer schema is not a record.
    #[error("the writer schema must be an Avro record")]
    NotARecord,
    /// The table is missing or has no columns visible to the user.
    #[error("table `{0}` does not exist or is not readable by the configured user")]
    NoSuchTable(String),
    /// A field without a default has no column.
    #[error("Avro field `{field}` has no column in table `{table}` and no default")]
    MissingColumn {
        /// The field.
        field: String,
        /// The table.
        table: String,
    },
    /// The column's SQL type cannot be turned into the field's Avro type.
    #[error("column `{column}` ({data_type}) cannot fill Avro field of type {avro_type}")]
    Unsupported {
        /// The column.
        column: String,
        /// Its SQL type.
        data_type: String,
        /// The field's Avro type.
        avro_type: String,
    },
    /// A field's default does not fit its type.
    #[error("default of Avro field `{field}` does not fit its type: {reason}")]
    BadDefault {
        /// The field.
        field: String,
        /// Why.
        reason: String,
    },
}

impl ColumnPlan {
    /// Maps every field of `schema` to a column of `table` or to its default.
    pub fn new(schema: &Schema, table: &str, columns: &[TableColumn]) -> Result<Self, PlanError> {
        let Schema::Record(record) = schema else {
            return Err(PlanError::NotARecord);
        };
        if columns.is_empty() {
            return Err(PlanError::NoSuchTable(table.to_owned()));
        }
        let mut plan = ColumnPlan {
            fields: Vec::with_capacity(record.fields.len()),
            columns: Vec::new(),
        };
        for field in &record.fields {
            let source = match columns
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(&field.name))
            {
                Some(column) => {
                    let (inner, union) = nullable_inner(&field.schema);
                    let kind = value_kind(inner, column)?;
                    plan.columns.push(column.name.clone());
                    FieldSource::Column {
                        index: plan.columns.len() - 1,
                        kind,
                        union,
                    }
                }
                None => FieldSource::Default(encoded_default(schema, field, table)?),
            };
            plan.fields.push((field.name.clone(), source));
        }
        Ok(plan)
    }
}

/// For `["null", T]` (either order): `T` and the branch indexes of null and of `T`.
fn nullable_inner(schema: &Schema) -> (&Schema, Option<(u32, u32)>) {
    if let Schema::Union(union) = schema {
        if let Some(found) = two_branch_nullable(union) {
            return found;
        }
    }
    (schema, None)
}

fn two_branch_nullable(union: &UnionSchema) -> Option<(&Schema, Option<(u32, u32)>)> {
    match union.variants() {
        [Schema::Null, inner] => Some((inner, Some((0, 1)))),
        [inner, Schema::Null] => Some((inner, Some((1, 0)))),
        _ => None,
    }
}

fn value_kind(avro: &Schema, column: &TableColumn) -> Result<ValueKind, PlanError> {
    use ValueKind as K;
    let integer = ["tinyint", "smallint", "mediumint", "int", "integer"];
    let text = [
        "char",
        "varchar",
        "tinytext",
        "text",
        "mediumtext",
        "longtext",
        "enum",
    ];
    let sent_as_text = [
        "json", "set", "decimal", "numeric", "uuid", "inet4", "inet6",
    ];
    let binary = [
        "binary",
        "varbinary",
        "tinyblob",
        "blob",
        "mediumblob",
        "longblob",
        "bit",
    ];
    let data_type = column.data_type.as_str();
    let unsigned = column.unsigned();
    let any_integer = integer.contains(&data_type) || data_type == "bigint";
    let kind = match avro {
        Schema::Int if integer.contains(&data_type) && unsigned => Some(K::IntFromUnsigned),
        Schema::Int if integer.contains(&data_type) => Some(K::Int),
        Schema::Int if data_type == "year" => Some(K::Year),
        Schema::Long if any_integer && unsigned => Some(K::LongFromUnsigned),
        Schema::Long if any_integer => Some(K::Long),
        Schema::Float if data_type == "float" => Some(K::Float),
        Schema::Float if data_type == "double" => Some(K::FloatFromDouble),
        Schema::Double if data_type == "double" => Some(K::Double),
        Schema::Double if data_type == "float" => Some(K::DoubleFromFloat),
        Schema::Boolean if data_type == "tinyint" => Some(K::Boolean),
        Schema::Boolean if data_type == "bit" && column.precision == Some(1) => Some(K::BitBoolean),
        Schema::String if text.contains(&data_type) || sent_as_text.contains(&data_type) => {
            Some(K::Text)
        }
        Schema::String if data_type == "timestamp" || data_type == "datetime" => {
            Some(K::TimestampText)
        }
        Schema::Decimal(decimal) if matches!(decimal.inner, InnerDecimalSchema::Bytes) => {
            match data_type {
                "decimal" | "numeric" if column.scale == Some(decimal.scale as i64) => {
                    u32::try_from(decimal.scale).ok().map(K::Decimal)
                }
                "bigint" if unsigned && decimal.scale == 0 && decimal.precision >= 20 => {
                    Some(K::UnsignedDecimal)
                }
                _ => None,
            }
        }
        Schema::Bytes if binary.contains(&data_type) => Some(K::Bytes),
        Schema::Array(array) if data_type == "set" && *array.items == Schema::String => {
            Some(K::Set)
        }
        Schema::Date if data_type == "date" => Some(K::Date),
        Schema::TimeMicros if data_type == "time" => Some(K::TimeMicros),
        Schema::TimestampMillis if data_type == "timestamp" => Some(K::TimestampMillis),
        Schema::TimestampMicros if data_type == "timestamp" => Some(K::TimestampMicros),
        Schema::LocalTimestampMillis if data_type == "datetime" => Some(K::LocalTimestampMillis),
        Schema::LocalTimestampMicros if data_type == "datetime" => Some(K::LocalTimestampMicros),
        _ => None,
    };
    kind.ok_or_else(|| PlanError::Unsupported {
        column: column.name.clone(),
        data_type: column.column_type.clone(),
        avro_type: avro_type_name(avro),
    })
}

/// The Avro type as a user writes it: `long`, `timestamp-micros`, `decimal(10, 2)`, …
fn avro_type_name(avro: &Schema) -> String {
    match avro {
        Schema::Decimal(decimal) => format!("decimal({}, {})", decimal.precision, decimal.scale),
        other => {
            let kind = format!("{:?}", apache_avro::schema::SchemaKind::from(other));
            let mut name = String::new();
            for (index, c) in kind.chars().enumerate() {
                if c.is_ascii_uppercase() && index > 0 {
                    name.push('-');
                }
                name.push(c.to_ascii_lowercase());
            }
            name
        }
    }
}

/// The field's default as Avro binary; named types it uses resolve against the whole schema.
fn encoded_default(
    schema: &Schema,
    field: &RecordField,
    table: &str,
) -> Result<Vec<u8>, PlanError> {
    let Some(default) = &field.default else {
        return Err(PlanError::MissingColumn {
            field: field.name.clone(),
            table: table.to_owned(),
        });
    };
    let bad = |reason: String| PlanError::BadDefault {
        field: field.name.clone(),
        reason,
    };
    let value = Value::try_from(default.clone())
        .map_err(|e| bad(e.to_string()))?
        .resolve_schemata(&field.schema, vec![schema])
        .map_err(|e| bad(e.to_string()))?;
    GenericDatumWriter::builder(&field.schema)
        .schemata(vec![schema])
        .and_then(|builder| builder.build())
        .and_then(|writer| writer.write_value_to_vec(value))
        .map_err(|e| bad(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product_schema() -> Schema {
        Schema::parse_str(include_str!("../../../schemas/product.avsc")).expect("schema parses")
    }

    fn column(name: &str, data_type: &str) -> TableColumn {
        TableColumn::of_type(name, data_type)
    }

    fn product_table() -> Vec<TableColumn> {
        vec![
            column("id", "int"),
            column("name", "varchar"),
            column("category", "varchar"),
            column("price", "float"),
            column("last_updated", "timestamp"),
            column("warehouse_note", "text"),
        ]
    }

    #[test]
    fn product_schema_maps_to_the_product_table() {
        let plan = ColumnPlan::new(&product_schema(), "product", &product_table()).expect("plan");
        assert_eq!(
            plan.columns,
            ["id", "name", "category", "price", "last_updated"]
        );
        let kinds: Vec<_> = plan
            .fields
            .iter()
            .map(|(name, source)| match source {
                FieldSource::Column { kind, .. } => (name.as_str(), *kind),
                FieldSource::Default(_) => panic!("{name} has a column"),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                ("id", ValueKind::Int),
                ("name", ValueKind::Text),
                ("category", ValueKind::Text),
                ("price", ValueKind::Float),
                ("last_updated", ValueKind::TimestampText),
            ]
        );
    }

    #[test]
    fn missing_column_without_default_is_refused() {
        let mut table = product_table();
        table.retain(|c| c.name != "category");
        let err = ColumnPlan::new(&product_schema(), "product", &table).expect_err("must fail");
        assert_eq!(
            err,
            PlanError::MissingColumn {
                field: "category".into(),
                table: "product".into()
            }
        );
    }

    #[test]
    fn missing_column_with_default_uses_the_default() {
        let schema = Schema::parse_str(
            r#"{"type":"record","name":"P","fields":[{"name":"id","type":"int"},
                {"name":"stock","type":"int","default":0},
                {"name":"note","type":["null","string"],"default":null}]}"#,
        )
        .expect("schema");
        let plan = ColumnPlan::new(&schema, "product", &product_table()).expect("plan");
        // 0 as a zig-zag varint; the null branch (index 0) of the union likewise.
        assert_eq!(plan.fields[1].1, FieldSource::Default(vec![0]));
        assert_eq!(plan.fields[2].1, FieldSource::Default(vec![0]));
    }

    #[test]
    fn defaults_of_named_types_resolve_against_the_whole_schema() {
        let schema = Schema::parse_str(
            r#"{"type":"record","name":"P","fields":[{"name":"id","type":"int"},
                {"name":"size","type":{"type":"enum","name":"Size","symbols":["S","M"]},
                 "default":"M"},
                {"name":"box_size","type":"Size","default":"S"}]}"#,
        )
        .expect("schema");
        let plan = ColumnPlan::new(&schema, "product", &product_table()).expect("plan");
        // Enum symbols are written as their index: M is 1 (zig-zag 2), S is 0.
        assert_eq!(plan.fields[1].1, FieldSource::Default(vec![2]));
        assert_eq!(plan.fields[2].1, FieldSource::Default(vec![0]));
    }

    #[test]
    fn nullable_field_records_its_union_branches() {
        let schema = Schema::parse_str(
            r#"{"type":"record","name":"P","fields":[{"name":"name","type":["string","null"]}]}"#,
        )
        .expect("schema");
        let plan = ColumnPlan::new(&schema, "product", &product_table()).expect("plan");
        assert!(matches!(
            plan.fields[0].1,
            FieldSource::Column {
                union: Some((1, 0)),
                kind: ValueKind::Text,
                ..
            }
        ));
    }

    #[test]
    fn type_mismatch_is_refused_with_names() {
        let schema = Schema::parse_str(
            r#"{"type":"record","name":"P","fields":[{"name":"name","type":"int"}]}"#,
        )
        .expect("schema");
        let err = ColumnPlan::new(&schema, "product", &product_table()).expect_err("must fail");
        assert!(err.to_string().contains("column `name` (varchar)"), "{err}");
    }

    #[test]
    fn missing_table_is_named() {
        let err = ColumnPlan::new(&product_schema(), "nope", &[]).expect_err("must fail");
        assert_eq!(err, PlanError::NoSuchTable("nope".into()));
    }
}
