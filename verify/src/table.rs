//! Reading the table as it is now, in key order, each row as JSON the way a line shows it:
//! integers as numbers, a `FLOAT` as its shortest decimal, times as RFC 3339 in UTC with
//! microseconds, anything else as text.

use crate::VerifyError;
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
    /// Reads the columns of `table` from the catalogue; `key` orders the rows.
    pub async fn new(pool: &MySqlPool, table: &str, key: &str) -> Result<Self, VerifyError> {
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
            .map(|(name, data_type)| column(name, data_type))
            .collect();
        let list: Vec<&str> = columns.iter().map(|c| c.select.as_str()).collect();
        let sql = format!(
            "SELECT {} FROM {} ORDER BY {}",
            list.join(", "),
            quoted(table),
            quoted(key)
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
                Kind::Text => row.try_get::<Option<String>, _>(index)?.map(Value::from),
            };
            map.insert(column.name.clone(), value.unwrap_or(Value::Null));
        }
        Ok(map)
    }
}

fn column(name: &str, data_type: &str) -> Column {
    let q = quoted(name);
    let (kind, select) = match data_type.to_ascii_lowercase().as_str() {
        "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" | "year" => {
            (Kind::Integer, format!("CAST({q} AS SIGNED) AS {q}"))
        }
        "float" => (Kind::Float, q.clone()),
        "double" | "real" => (Kind::Double, q.clone()),
        "timestamp" | "datetime" => (
            Kind::Text,
            format!("DATE_FORMAT({q}, '%Y-%m-%dT%H:%i:%s.%fZ') AS {q}"),
        ),
        _ => (Kind::Text, format!("CAST({q} AS CHAR) AS {q}")),
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
        assert_eq!(column("id", "int").select, "CAST(`id` AS SIGNED) AS `id`");
        assert_eq!(column("price", "float").kind, Kind::Float);
        assert_eq!(
            column("last_updated", "timestamp").select,
            "DATE_FORMAT(`last_updated`, '%Y-%m-%dT%H:%i:%s.%fZ') AS `last_updated`"
        );
        assert_eq!(column("note", "text").kind, Kind::Text);
        assert_eq!(quoted("a`b"), "`a``b`");
        assert_eq!(shortest_f32(19.99), serde_json::json!(19.99));
    }
}
