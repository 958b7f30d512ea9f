//! How the producer reads one table, found once at start from the database's catalogue and the
//! writer schema: the column plan, the page queries, the digits of a second the timestamp keeps
//! and whether a first run reads in key order. The producer and the bench both build it here, so
//! the bench measures the queries the producer runs.

use sluice_common::settings::{ChangeSource, ProducerSettings};
use sluice_registry::SchemaFile;
use sqlx::MySqlPool;

use crate::source::catalogue::{
    keyset_index, primary_key, reads_first_by_key, table_columns, TableColumn,
};
use crate::source::columns::{ColumnPlan, PlanError};
use crate::source::deleted::DeletedColumn;
use crate::source::derive::DeriveError;
use crate::source::key::{KeyKind, UnsupportedKey};
use crate::source::keyset::KeysetQuery;
use crate::source::writer_schema::WriterSchema;

/// Digits of a second assumed when the timestamp column does not say (it always does for
/// temporal columns).
const DEFAULT_FRACTIONAL_DIGITS: i64 = 6;

/// Why a table cannot be read with the schema and settings given.
#[derive(Debug, thiserror::Error)]
pub enum SourcePlanError {
    /// The catalogue could not be read.
    #[error("reading the catalogue of {table}: {source}")]
    Catalogue {
        /// `database.table`.
        table: String,
        /// What the database answered.
        #[source]
        source: sqlx::Error,
    },
    /// The table's columns make no schema.
    #[error("cannot build a schema from table {table}: {source}")]
    Derive {
        /// `database.table`.
        table: String,
        /// Which column, and why.
        #[source]
        source: DeriveError,
    },
    /// The writer schema does not fit the table's columns.
    #[error("does not fit table {table}: {source}")]
    Schema {
        /// `database.table`.
        table: String,
        /// Which field cannot be filled, and why.
        #[source]
        source: PlanError,
    },
    /// The key column's type is not one sluice keys records by.
    #[error("table {table}: {source}")]
    Key {
        /// `database.table`.
        table: String,
        /// Which column, and its type.
        #[source]
        source: UnsupportedKey,
    },
    /// The table's primary key has several columns.
    #[error(
        "table {table} has a composite primary key ({columns}): sluice keys each record by one          column, so it reads tables whose primary key is one column"
    )]
    CompositeKey {
        /// `database.table`.
        table: String,
        /// The primary key's columns, in order.
        columns: String,
    },
    /// A configured column is not in the table.
    #[error(
        "table {table} has no column `{column}` (producer.key_column / producer.timestamp_column / producer.deleted_column)"
    )]
    MissingColumn {
        /// `database.table`.
        table: String,
        /// The column configured and not found.
        column: String,
    },
}

/// The column that moves forward on every change of a row, as a source needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampColumn<'a> {
    /// The timestamp poller pages by it: the table must have it.
    Required(&'a str),
    /// The binlog source takes the order of changes from the binary log: the column is read
    /// where the table has it (it dates a soft delete), and a table without it is read all the
    /// same.
    IfPresent(&'a str),
}

impl<'a> TimestampColumn<'a> {
    /// `producer.timestamp_column`, as `producer.source` needs it.
    pub fn of(producer: &'a ProducerSettings) -> Self {
        match producer.source {
            ChangeSource::Timestamp => Self::Required(&producer.timestamp_column),
            ChangeSource::Binlog => Self::IfPresent(&producer.timestamp_column),
        }
    }
}

/// The statement that creates the index the keyset pages need on `table`.
pub fn keyset_index_statement(table: &str, timestamp_column: &str, key_column: &str) -> String {
    format!(
        "CREATE INDEX {table}_{timestamp_column}_{key_column} ON {table} \
         ({timestamp_column}, {key_column})"
    )
}

/// The table's layout as the producer reads it.
#[derive(Debug, Clone)]
pub struct SourcePlan {
    /// The writer schema the plan fills: the file's, or the one built from `catalogue`.
    pub schema: SchemaFile,
    /// The table's columns as the catalogue described them when the plan was made.
    pub catalogue: Vec<TableColumn>,
    /// Which column feeds which Avro field.
    pub columns: ColumnPlan,
    /// The page queries.
    pub query: KeysetQuery,
    /// Digits of a second the timestamp column keeps.
    pub timestamp_digits: i64,
    /// Whether a first run reads the table in key order (the key is its primary key).
    pub snapshot_by_key: bool,
    /// The index ordering the table by `(timestamp, key)`, if there is one.
    pub keyset_index: Option<String>,
    /// The column marking a row deleted (soft deletes), when configured.
    pub deleted: Option<DeletedColumn>,
    /// The kind of the key column.
    pub key_kind: KeyKind,
}

impl SourcePlan {
    /// Reads `database.table`'s columns, primary key and indexes, resolves the writer schema
    /// for them and plans how it is filled from them, paging by `key_column` and
    /// `timestamp_column` (where the source needs it); a row whose `deleted_column` (when
    /// given) marks it deleted is read as a delete.
    pub async fn discover(
        pool: &MySqlPool,
        database: &str,
        table: &str,
        writer: &WriterSchema,
        key_column: &str,
        timestamp_column: TimestampColumn<'_>,
        deleted_column: Option<&str>,
    ) -> Result<Self, SourcePlanError> {
        let qualified = format!("{database}.{table}");
        let catalogue = |source| SourcePlanError::Catalogue {
            table: qualified.clone(),
            source,
        };
        let columns = table_columns(pool, database, table)
            .await
            .map_err(catalogue)?;
        if columns.is_empty() {
            return Err(SourcePlanError::Schema {
                table: qualified.clone(),
                source: PlanError::NoSuchTable(qualified.clone()),
            });
        }
        let schema = writer
            .resolve(table, &qualified, &columns)
            .map_err(|source| SourcePlanError::Derive {
                table: qualified.clone(),
                source,
            })?;
        let plan = ColumnPlan::new(&schema.schema, &qualified, &columns).map_err(|source| {
            SourcePlanError::Schema {
                table: qualified.clone(),
                source,
            }
        })?;
        let find = |name: &str| columns.iter().find(|c| c.name.eq_ignore_ascii_case(name));
        let timestamp = match timestamp_column {
            TimestampColumn::Required(name) => Some(name),
            TimestampColumn::IfPresent(name) => find(name).map(|_| name),
        };
        for required in [key_column]
            .into_iter()
            .chain(timestamp)
            .chain(deleted_column)
        {
            if find(required).is_none() {
                return Err(SourcePlanError::MissingColumn {
                    table: qualified.clone(),
                    column: required.to_owned(),
                });
            }
        }
        let timestamp_digits = timestamp
            .and_then(find)
            .map_or(DEFAULT_FRACTIONAL_DIGITS, |c| c.fractional_digits);
        let key_kind = find(key_column)
            .map(KeyKind::of_column)
            .transpose()
            .map_err(|source| SourcePlanError::Key {
                table: qualified.clone(),
                source,
            })?
            .unwrap_or(KeyKind::Signed);
        let primary = primary_key(pool, database, table)
            .await
            .map_err(catalogue)?;
        if primary.len() > 1 {
            return Err(SourcePlanError::CompositeKey {
                table: qualified.clone(),
                columns: primary.join(", "),
            });
        }
        let index = match timestamp {
            Some(timestamp) => keyset_index(pool, database, table, timestamp, key_column, &primary)
                .await
                .map_err(catalogue)?,
            None => None,
        };
        let deleted = deleted_column
            .and_then(find)
            .map(|column| DeletedColumn::new(&column.name, &column.data_type));
        let query = KeysetQuery::marking_deleted(
            table,
            key_column,
            timestamp,
            &plan.columns,
            index.as_deref(),
            deleted.as_ref(),
        )
        .keyed_by(key_kind);
        Ok(Self {
            schema,
            catalogue: columns,
            columns: plan,
            query,
            timestamp_digits,
            snapshot_by_key: reads_first_by_key(&primary, key_column),
            keyset_index: index,
            deleted,
            key_kind,
        })
    }
}
