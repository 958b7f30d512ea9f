//! Which column feeds which Avro field. The plan is made once at start from the writer schema
//! and the table's columns, so a schema the table cannot fill is refused before any row is read.

use apache_avro::schema::{RecordField, Schema, UnionSchema};
use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;
use sqlx::MySqlPool;

/// A column as `information_schema.columns` describes it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TableColumn {
    /// Column name.
    pub name: String,
    /// `DATA_TYPE`, lower case: `int`, `varchar`, `timestamp`, …
    pub data_type: String,
    /// Digits of a second a temporal column keeps (`TIMESTAMP(3)`: 3); 6 for other columns.
    pub fractional_digits: i64,
}

/// The columns of `database.table`, in table order; empty when the table does not exist.
pub async fn table_columns(
    pool: &MySqlPool,
    database: &str,
    table: &str,
) -> Result<Vec<TableColumn>, sqlx::Error> {
    sqlx::query_as(
        "SELECT CAST(column_name AS CHAR) AS name, LOWER(CAST(data_type AS CHAR)) AS data_type,
                CAST(COALESCE(datetime_precision, 6) AS SIGNED) AS fractional_digits
         FROM information_schema.columns WHERE table_schema = ? AND table_name = ?
         ORDER BY ordinal_position",
    )
    .bind(database)
    .bind(table)
    .fetch_all(pool)
    .await
}

/// The columns of `database.table`'s primary key, in key order; empty without one.
pub async fn primary_key(
    pool: &MySqlPool,
    database: &str,
    table: &str,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT CAST(column_name AS CHAR) FROM information_schema.statistics
         WHERE table_schema = ? AND table_name = ? AND index_name = 'PRIMARY'
         ORDER BY seq_in_index",
    )
    .bind(database)
    .bind(table)
    .fetch_all(pool)
    .await
}

/// The name of an index that orders `database.table` by `(timestamp_column, key_column)`, the
/// order pages of changes are read in: one whose first column is the timestamp and second the
/// key, or whose only column is the timestamp when the key is the primary key (InnoDB ends
/// every secondary index with the primary key). `None` without one: each page then reads the
/// table, and the producer says so at start.
pub async fn keyset_index(
    pool: &MySqlPool,
    database: &str,
    table: &str,
    timestamp_column: &str,
    key_column: &str,
    primary_key: &[String],
) -> Result<Option<String>, sqlx::Error> {
    let indexes: Vec<(String, u32, Option<String>)> = sqlx::query_as(
        "SELECT CAST(index_name AS CHAR), CAST(COUNT(*) AS UNSIGNED),
                CAST(MAX(CASE seq_in_index WHEN 2 THEN column_name END) AS CHAR)
         FROM information_schema.statistics
         WHERE table_schema = ? AND table_name = ? AND index_name <> 'PRIMARY'
           AND index_name IN (SELECT index_name FROM information_schema.statistics
                              WHERE table_schema = ? AND table_name = ?
                                AND seq_in_index = 1 AND column_name = ?)
         GROUP BY index_name
         ORDER BY index_name",
    )
    .bind(database)
    .bind(table)
    .bind(database)
    .bind(table)
    .bind(timestamp_column)
    .fetch_all(pool)
    .await?;
    let key_is_primary = reads_first_by_key(primary_key, key_column);
    Ok(indexes
        .into_iter()
        .find(|(_, columns, second)| match second {
            Some(second) => second.eq_ignore_ascii_case(key_column),
            None => *columns == 1 && key_is_primary,
        })
        .map(|(name, _, _)| name))
}

/// Whether a first run reads the table in key order: only when `key_column` is the whole
/// primary key, so the key-order pages are ranges of the table's own index.
pub fn reads_first_by_key(primary_key: &[String], key_column: &str) -> bool {
    matches!(primary_key, [only] if only.eq_ignore_ascii_case(key_column))
}

/// How a column's value is read and turned into the field's Avro type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// Avro `int` from an integer column.
    Int,
    /// Avro `long` from an integer column.
    Long,
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
    /// Avro `string` from a character column.
    Text,
    /// Avro `string` from a `TIMESTAMP`/`DATETIME` column, as RFC 3339 UTC with microseconds.
    TimestampText,
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
    let data_type = column.data_type.as_str();
    let kind = match avro {
        Schema::Int if integer.contains(&data_type) => Some(ValueKind::Int),
        Schema::Long if integer.contains(&data_type) || data_type == "bigint" => {
            Some(ValueKind::Long)
        }
        Schema::Float if data_type == "float" => Some(ValueKind::Float),
        Schema::Float if data_type == "double" => Some(ValueKind::FloatFromDouble),
        Schema::Double if data_type == "double" => Some(ValueKind::Double),
        Schema::Double if data_type == "float" => Some(ValueKind::DoubleFromFloat),
        Schema::Boolean if data_type == "tinyint" => Some(ValueKind::Boolean),
        Schema::String if text.contains(&data_type) => Some(ValueKind::Text),
        Schema::String if data_type == "timestamp" || data_type == "datetime" => {
            Some(ValueKind::TimestampText)
        }
        _ => None,
    };
    kind.ok_or_else(|| PlanError::Unsupported {
        column: column.name.clone(),
        data_type: column.data_type.clone(),
        avro_type: format!("{:?}", apache_avro::schema::SchemaKind::from(avro)).to_lowercase(),
    })
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
        TableColumn {
            name: name.into(),
            data_type: data_type.into(),
            fractional_digits: 6,
        }
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
