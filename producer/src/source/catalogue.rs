//! What the database's catalogue (`information_schema`) says about the table: its columns as
//! the schema and the plan need them, its primary key, and the index the keyset pages read.
//! The column list is read again after every page to notice an `ALTER TABLE`, so it holds
//! everything a change of schema could touch, and nothing that moves on its own.

use sqlx::MySqlPool;

/// A column as `information_schema.columns` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableColumn {
    /// Column name.
    pub name: String,
    /// `DATA_TYPE`, lower case: `int`, `varchar`, `timestamp`, …
    pub data_type: String,
    /// `COLUMN_TYPE` as the server writes it (types in lower case, `ENUM` and `SET` members as
    /// declared): `int(10) unsigned`, `decimal(10,2)`, `enum('S','M')`, …
    pub column_type: String,
    /// Digits of a second a temporal column keeps (`TIMESTAMP(3)`: 3); 6 for other columns.
    pub fractional_digits: i64,
    /// Whether the column takes NULL.
    pub nullable: bool,
    /// `COLUMN_DEFAULT` as the server shows it; `None` without one.
    pub default: Option<String>,
    /// Whether the default is an expression (MySQL 8 says so in `EXTRA`; MariaDB shows
    /// literals quoted and expressions bare).
    pub default_is_expression: bool,
    /// Digits of a `DECIMAL`, bits of a `BIT`.
    pub precision: Option<i64>,
    /// Digits after the point of a `DECIMAL`.
    pub scale: Option<i64>,
    /// A generated (`VIRTUAL` or `STORED`) column: read like any other, never written.
    pub generated: bool,
}

impl TableColumn {
    /// A column of `data_type` with the catalogue's usual values for the rest (NOT NULL, no
    /// default, six fractional digits); for tests and tools that describe a table by hand.
    pub fn of_type(name: &str, data_type: &str) -> Self {
        Self {
            name: name.to_owned(),
            data_type: data_type.to_owned(),
            column_type: data_type.to_owned(),
            fractional_digits: 6,
            nullable: false,
            default: None,
            default_is_expression: false,
            precision: None,
            scale: None,
            generated: false,
        }
    }

    /// Whether an integer column is `UNSIGNED`.
    pub fn unsigned(&self) -> bool {
        self.column_type.contains("unsigned")
    }
}

/// The table a reader reads and the columns its plan was made for, read from the catalogue
/// again after every page.
#[derive(Debug, Clone)]
pub struct TableWatch {
    /// The database.
    pub database: String,
    /// The table, unqualified.
    pub table: String,
    /// Its columns when the plan was made.
    pub columns: Vec<TableColumn>,
}

/// One row of the catalogue query, before its flags are read as booleans.
#[derive(sqlx::FromRow)]
struct CatalogueRow {
    name: String,
    data_type: String,
    column_type: String,
    fractional_digits: i64,
    nullable: i64,
    column_default: Option<String>,
    mariadb: i64,
    default_generated: i64,
    precision: Option<i64>,
    scale: Option<i64>,
    generated: i64,
}

impl From<CatalogueRow> for TableColumn {
    fn from(row: CatalogueRow) -> Self {
        let default = row.column_default;
        // MariaDB quotes literal defaults (`'it''s'`, `b'1'` for a BIT) and writes numbers
        // and NULL bare; any other bare word is an expression there (`current_timestamp()`).
        // MySQL 8 writes literals bare and flags expressions in EXTRA.
        let default_is_expression = row.default_generated != 0
            || (row.mariadb != 0
                && default.as_deref().is_some_and(|text| {
                    text != "NULL"
                        && !text.starts_with('\'')
                        && !text.starts_with("b'")
                        && text.parse::<f64>().is_err()
                }));
        let default = match default {
            Some(text) if row.mariadb != 0 && text == "NULL" => None,
            other => other,
        };
        Self {
            name: row.name,
            data_type: row.data_type,
            column_type: row.column_type,
            fractional_digits: row.fractional_digits,
            nullable: row.nullable != 0,
            default,
            default_is_expression,
            precision: row.precision,
            scale: row.scale,
            generated: row.generated != 0,
        }
    }
}

/// The columns of `database.table`, in table order; empty when the table does not exist.
pub async fn table_columns(
    pool: &MySqlPool,
    database: &str,
    table: &str,
) -> Result<Vec<TableColumn>, sqlx::Error> {
    let rows: Vec<CatalogueRow> = sqlx::query_as(
        "SELECT CAST(column_name AS CHAR) AS name,
                LOWER(CAST(data_type AS CHAR)) AS data_type,
                CAST(column_type AS CHAR) AS column_type,
                CAST(COALESCE(datetime_precision, 6) AS SIGNED) AS fractional_digits,
                CAST(is_nullable = 'YES' AS SIGNED) AS nullable,
                CAST(column_default AS CHAR) AS column_default,
                CAST(VERSION() LIKE '%MariaDB%' AS SIGNED) AS mariadb,
                CAST(LOWER(extra) LIKE '%default_generated%' AS SIGNED) AS default_generated,
                CAST(numeric_precision AS SIGNED) AS `precision`,
                CAST(numeric_scale AS SIGNED) AS scale,
                CAST(COALESCE(generation_expression, '') <> '' AS SIGNED) AS generated
         FROM information_schema.columns WHERE table_schema = ? AND table_name = ?
         ORDER BY ordinal_position",
    )
    .bind(database)
    .bind(table)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(TableColumn::from).collect())
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
