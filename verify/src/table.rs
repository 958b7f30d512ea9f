//! Reading the table as it is now, in key order, each row as JSON the way a line shows it: by
//! the reader schema's field of the column's name where there is one (see `schema_in_use`),
//! else by the column's type: integers as numbers, a `FLOAT` as its shortest decimal, times as
//! RFC 3339 in UTC with microseconds, anything else as text.

use crate::key_order::KeyOrder;
use crate::schema_in_use::field_type;
use crate::VerifyError;
use apache_avro::Schema;
use futures::stream::{BoxStream, StreamExt};
use serde_json::{Map, Number, Value};
use sqlx::mysql::MySqlRow;
use sqlx::{MySqlPool, Row};

/// How a column is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Integer,
    Float,
    Double,
    Text,
    /// A number, shown as `true` when not 0.
    Boolean,
    /// A `SET`'s text (`a,b`), shown as a list.
    Set,
}

/// One column of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Column {
    name: String,
    kind: Kind,
    /// The expression selecting it.
    select: String,
}

/// The table's columns, and the query reading every row in key order.
#[derive(Debug, Clone)]
pub struct TableReader {
    columns: Vec<Column>,
    sql: String,
}

impl TableReader {
    /// Reads the columns of `table` from the catalogue, each to be shown as `schema`'s field of
    /// its name shows it; `key` orders the rows, in `keys`' order.
    pub async fn new(
        pool: &MySqlPool,
        table: &str,
        key: &str,
        keys: &KeyOrder,
        schema: &Schema,
    ) -> Result<Self, VerifyError> {
        let described: Vec<(String, String)> = sqlx::query_as(
            "SELECT CAST(COLUMN_NAME AS CHAR), CAST(DATA_TYPE AS CHAR) FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
        )
        .bind(table)
        .fetch_all(pool)
        .await?;
        if described.is_empty() {
            return Err(VerifyError::TableShape(format!(
                "table `{table}` not found in the configured database"
            )));
        }
        if !described.iter().any(|(name, _)| name == key) {
            return Err(VerifyError::TableShape(format!(
                "table `{table}` has no key column `{key}`"
            )));
        }
        let columns: Vec<Column> = described
            .iter()
            .map(|(name, data_type)| column(name, data_type, field_type(schema, name)))
            .collect();
        let list: Vec<&str> = columns.iter().map(|c| c.select.as_str()).collect();
        let sql = format!(
            "SELECT {} FROM {} ORDER BY {}",
            list.join(", "),
            quoted(table),
            // Qualified: a bare name would be the select list's alias, the column as a line
            // shows it (a binary key's base64), which does not sort as the key does.
            keys.order_by(&format!("{}.{}", quoted(table), quoted(key)))
        );
        Ok(Self { columns, sql })
    }

    /// Every row, in key order.
    pub fn rows<'p>(
        &'p self,
        pool: &'p MySqlPool,
    ) -> BoxStream<'p, Result<Map<String, Value>, VerifyError>> {
        sqlx::query(&self.sql)
            .fetch(pool)
            .map(move |row| {
                row.and_then(|row| self.to_json(&row))
                    .map_err(VerifyError::from)
            })
            .boxed()
    }

    fn to_json(&self, row: &MySqlRow) -> Result<Map<String, Value>, sqlx::Error> {
        let mut map = Map::with_capacity(self.columns.len());
        for (index, column) in self.columns.iter().enumerate() {
            let value = match column.kind {
                Kind::Integer => row.try_get::<Option<i64>, _>(index)?.map(Value::from),
                Kind::Float => row.try_get::<Option<f32>, _>(index)?.map(shortest_f32),
                Kind::Double => row
                    .try_get::<Option<f64>, _>(index)?
                    .and_then(Number::from_f64)
                    .map(Value::Number),
                // Unchecked: text of a `_bin` collation (MariaDB's `JSON`) is flagged binary.
                Kind::Text => row
                    .try_get_unchecked::<Option<String>, _>(index)?
                    .map(Value::from),
                Kind::Boolean => row
                    .try_get::<Option<i64>, _>(index)?
                    .map(|v| Value::Bool(v != 0)),
                Kind::Set => row
                    .try_get_unchecked::<Option<String>, _>(index)?
                    .map(|text| {
                        Value::Array(
                            text.split(',')
                                .filter(|member| !member.is_empty())
                                .map(|member| Value::String(member.to_owned()))
                                .collect(),
                        )
                    }),
            };
            map.insert(column.name.clone(), value.unwrap_or(Value::Null));
        }
        Ok(map)
    }
}

fn column(name: &str, data_type: &str, field: Option<&Schema>) -> Column {
    let q = quoted(name);
    let data_type = data_type.to_ascii_lowercase();
    let as_text = |expression: String| (Kind::Text, format!("{expression} AS {q}"));
    let timestamp = |digits: usize, zone: &str| {
        as_text(format!(
            "CONCAT(LEFT(DATE_FORMAT({q}, '%Y-%m-%dT%H:%i:%s.%f'), {}), '{zone}')",
            20 + digits
        ))
    };
    let (kind, select) = match (field, data_type.as_str()) {
        (Some(Schema::Boolean), _) => (Kind::Boolean, format!("CAST({q} AS SIGNED) AS {q}")),
        (Some(Schema::Decimal(_)), _) => as_text(format!("CAST({q} AS CHAR)")),
        (Some(Schema::Bytes), _) => as_text(format!("REPLACE(TO_BASE64({q}), CHAR(10), '')")),
        (Some(Schema::Array(_)), "set") => (Kind::Set, format!("CAST({q} AS CHAR) AS {q}")),
        (Some(Schema::Date), _) => as_text(format!("DATE_FORMAT({q}, '%Y-%m-%d')")),
        (Some(Schema::TimeMicros), _) => as_text(format!("TIME_FORMAT({q}, '%H:%i:%s.%f')")),
        (Some(Schema::TimestampMillis), _) => timestamp(3, "Z"),
        (Some(Schema::TimestampMicros), _) => timestamp(6, "Z"),
        (Some(Schema::LocalTimestampMillis), _) => timestamp(3, ""),
        (Some(Schema::LocalTimestampMicros), _) => timestamp(6, ""),
        (_, "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" | "year") => {
            (Kind::Integer, format!("CAST({q} AS SIGNED) AS {q}"))
        }
        (_, "float") => (Kind::Float, q.clone()),
        (_, "double" | "real") => (Kind::Double, q.clone()),
        (_, "timestamp" | "datetime") => timestamp(6, "Z"),
        _ => as_text(format!("CAST({q} AS CHAR)")),
    };
    Column {
        name: name.to_owned(),
        kind,
        select,
    }
}

/// A float as the line shows it: its shortest decimal, read as a number.
fn shortest_f32(value: f32) -> Value {
    value
        .to_string()
        .parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

fn quoted(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_type_is_selected_as_a_line_shows_it() {
        let string = Some(&Schema::String);
        assert_eq!(
            column("id", "int", Some(&Schema::Int)).select,
            "CAST(`id` AS SIGNED) AS `id`"
        );
        assert_eq!(column("price", "float", None).kind, Kind::Float);
        assert_eq!(
            column("last_updated", "timestamp", string).select,
            "CONCAT(LEFT(DATE_FORMAT(`last_updated`, '%Y-%m-%dT%H:%i:%s.%f'), 26), 'Z') AS `last_updated`"
        );
        assert_eq!(
            column("at", "datetime", Some(&Schema::LocalTimestampMillis)).select,
            "CONCAT(LEFT(DATE_FORMAT(`at`, '%Y-%m-%dT%H:%i:%s.%f'), 23), '') AS `at`"
        );
        assert_eq!(column("note", "text", string).kind, Kind::Text);
        assert_eq!(column("tags", "set", None).kind, Kind::Text);
        let tags = Schema::parse_str(r#"{"type":"array","items":"string"}"#).expect("schema");
        assert_eq!(column("tags", "set", Some(&tags)).kind, Kind::Set);
        assert_eq!(
            column("on", "bit", Some(&Schema::Boolean)).kind,
            Kind::Boolean
        );
        assert_eq!(quoted("a`b"), "`a``b`");
        assert_eq!(shortest_f32(19.99), serde_json::json!(19.99));
    }
}
