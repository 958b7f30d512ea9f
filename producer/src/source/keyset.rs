//! The keyset page queries and the cursor they advance.
//!
//! Rows are read in `(timestamp, key)` order, strictly after the cursor, so rows sharing one
//! timestamp (common with `TIMESTAMP(0)`) are never skipped between pages, and only up to the
//! read bound (see `read_bound`), so a transaction that commits late with an earlier timestamp
//! is still seen when its turn comes.
//!
//! Invariant: every page query is one range of an index that starts at the cursor, so a page
//! reads the rows it returns and no others, whatever the data, but for one case bounded apart: a
//! page of changes is the rest of the cursor's timestamp (`tie_page.sql`, or, when its keys lie
//! close together, `tie_key_range.sql`, a primary-key range holding at most a quarter more rows
//! than it returns), then the timestamps after it (`page.sql`); a page of the key-order snapshot
//! is the keys after the cursor's (`key_page.sql`).

use crate::source::key::{Key, KeyKind};
use crate::watermark::{KeyBound, Watermark};
use chrono::NaiveDateTime;
use sluice_common::mysql::quote_identifier;
use sqlx::mysql::{MySqlArguments, MySqlRow};
use sqlx::query::Query;
use sqlx::MySql;

use crate::source::deleted::DeletedColumn;

const TIE_PAGE_TEMPLATE: &str = include_str!("tie_page.sql");
const PAGE_TEMPLATE: &str = include_str!("page.sql");
const KEY_PAGE_TEMPLATE: &str = include_str!("key_page.sql");
const HELD_BACK_TEMPLATE: &str = include_str!("held_back.sql");
const TIE_KEY_RANGE_TEMPLATE: &str = include_str!("tie_key_range.sql");
const SWEEP_KEYS_TEMPLATE: &str = include_str!("sweep_keys.sql");

/// Where a page row holds its key and timestamp. The plan's columns come first, in the plan's
/// order; the key and timestamp columns are selected again only when the plan has no field for
/// them, so each value is read, sent and decoded once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowLayout {
    /// Position of the key column.
    pub key: usize,
    /// Position of the timestamp column; `None` for a table without one, which only the
    /// binlog source reads (it pages by key alone).
    pub timestamp: Option<usize>,
    /// Position of the soft-delete mark (see `deleted`), when the table has one.
    pub deleted: Option<usize>,
}

/// The page queries with the table's identifiers filled in, built once at start: in timestamp
/// order (`tie_page.sql`, then `page.sql`) and in key order for a first snapshot
/// (`key_page.sql`). A query that starts after a key has a twin that starts before every key
/// (its key condition left out), since no value of a string or binary key sorts before every
/// other in every collation.
#[derive(Debug, Clone)]
pub struct KeysetQuery {
    tie_sql: AfterKey,
    sql: String,
    key_sql: AfterKey,
    held_back_sql: String,
    tie_keys_sql: AfterKey,
    tie_key_range_sql: String,
    sweep_keys_sql: AfterKey,
    layout: RowLayout,
    kind: KeyKind,
    /// `SELECT key FROM table WHERE key IN (`, for a lookup of given keys.
    lookup_head: String,
}

/// A query's text after a key, and from the first key.
#[derive(Debug, Clone)]
struct AfterKey {
    after: String,
    first: String,
}

impl AfterKey {
    /// `sql`, and `sql` with its condition `{key} > ?` (filled in) made true.
    fn new(sql: String, key: &str) -> Self {
        let first = sql.replace(&format!("{key} > ?"), "TRUE");
        Self { after: sql, first }
    }

    /// The query's text after `bound`, bound to the key when there is one; `None` after every
    /// key, where no row lies.
    fn at<'q>(&'q self, bound: &KeyBound) -> Option<Query<'q, MySql, MySqlArguments>> {
        match bound {
            KeyBound::Before => Some(sqlx::query(&self.first)),
            KeyBound::At(key) => Some(key.bind(sqlx::query(&self.after))),
            KeyBound::After => None,
        }
    }
}

impl KeysetQuery {
    /// Builds the query; `columns` are selected in order, then the key and timestamp columns
    /// unless `columns` already holds them. The pages of changes read `keyset_index`, the index
    /// on `(timestamp, key)` (see `columns::keyset_index`), when there is one.
    pub fn new<'a>(
        table: &str,
        key: &'a str,
        timestamp: &'a str,
        columns: &'a [String],
        keyset_index: Option<&str>,
    ) -> Self {
        Self::marking_deleted(table, key, Some(timestamp), columns, keyset_index, None)
    }

    /// [`new`](Self::new), selecting last the soft-delete mark of `deleted` when given. Without
    /// a `timestamp` column only the key-order queries mean anything: the timestamp-order ones
    /// are filled in with the key in its place, and only the binlog source, which never runs
    /// them, reads such a table.
    pub fn marking_deleted<'a>(
        table: &str,
        key: &'a str,
        timestamp: Option<&'a str>,
        columns: &'a [String],
        keyset_index: Option<&str>,
        deleted: Option<&DeletedColumn>,
    ) -> Self {
        let (key_name, timestamp_name) = (key, timestamp.unwrap_or(key));
        let mut selected: Vec<&str> = columns.iter().map(String::as_str).collect();
        let mut position_of =
            |name: &'a str| match selected.iter().position(|c| c.eq_ignore_ascii_case(name)) {
                Some(at) => at,
                None => {
                    selected.push(name);
                    selected.len() - 1
                }
            };
        let (key, timestamp) = (position_of(key_name), timestamp.map(&mut position_of));
        let mut selected: Vec<String> = selected.into_iter().map(quote_identifier).collect();
        let deleted = deleted.map(|column| {
            selected.push(column.expression());
            selected.len() - 1
        });
        let layout = RowLayout {
            key,
            timestamp,
            deleted,
        };
        let force_index = keyset_index
            .map(|index| format!(" FORCE INDEX ({})", quote_identifier(index)))
            .unwrap_or_default();
        let all_columns = selected.join(", ");
        // `{columns}` first: a template may be given `{key}` as its columns.
        let fill = |template: &str, columns: &str| {
            template
                .lines()
                .filter(|line| !line.trim_start().starts_with("--"))
                .collect::<Vec<_>>()
                .join("\n")
                .replace("{columns}", columns)
                .replace("{table}", &quote_identifier(table))
                .replace("{keyset_index}", &force_index)
                .replace("{ts}", &quote_identifier(timestamp_name))
                .replace("{key}", &quote_identifier(key_name))
        };
        let key = quote_identifier(key_name);
        Self {
            tie_sql: AfterKey::new(fill(TIE_PAGE_TEMPLATE, &all_columns), &key),
            sql: fill(PAGE_TEMPLATE, &all_columns),
            key_sql: AfterKey::new(fill(KEY_PAGE_TEMPLATE, &all_columns), &key),
            held_back_sql: fill(HELD_BACK_TEMPLATE, &all_columns),
            tie_keys_sql: AfterKey::new(fill(TIE_PAGE_TEMPLATE, "{key}"), &key),
            tie_key_range_sql: fill(TIE_KEY_RANGE_TEMPLATE, &all_columns),
            sweep_keys_sql: AfterKey::new(fill(SWEEP_KEYS_TEMPLATE, &all_columns), &key),
            layout,
            kind: KeyKind::Signed,
            lookup_head: format!(
                "SELECT {key} FROM {} WHERE {key} IN (",
                quote_identifier(table)
            ),
        }
    }

    /// The queries of a key of `kind` (a signed integer unless said).
    pub fn keyed_by(self, kind: KeyKind) -> Self {
        Self { kind, ..self }
    }

    /// The kind of key the queries page by.
    pub fn key_kind(&self) -> KeyKind {
        self.kind
    }

    /// The key of a page row.
    pub fn key_of(&self, row: &MySqlRow) -> Result<Key, sqlx::Error> {
        self.kind.read(row, self.layout.key)
    }

    /// Where each page row holds its key and timestamp.
    pub fn layout(&self) -> RowLayout {
        self.layout
    }

    /// The SQL text of the rest of the cursor's timestamp, for EXPLAIN and for logs.
    pub fn tie_sql(&self) -> &str {
        &self.tie_sql.after
    }

    /// The SQL text of the keys of the rest of the cursor's timestamp, for EXPLAIN and for logs.
    pub fn tie_keys_sql(&self) -> &str {
        &self.tie_keys_sql.after
    }

    /// The SQL text of the rest of the cursor's timestamp as a range of the primary key, for
    /// EXPLAIN and for logs.
    pub fn tie_key_range_sql(&self) -> &str {
        &self.tie_key_range_sql
    }

    /// The SQL text of the timestamps after the cursor's, for EXPLAIN and for logs.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The key-order page's SQL text, for EXPLAIN and for logs.
    pub fn key_sql(&self) -> &str {
        &self.key_sql.after
    }

    /// The first key-order page's SQL text, for EXPLAIN and for logs.
    pub fn first_key_sql(&self) -> &str {
        &self.key_sql.first
    }

    /// The delete sweep's page of keys, for EXPLAIN and for logs.
    pub fn sweep_keys_sql(&self) -> &str {
        &self.sweep_keys_sql.after
    }

    /// The table's keys after `after`, at most `limit`, in key order: one page of the delete
    /// sweep.
    pub async fn keys_after(
        &self,
        pool: &sqlx::MySqlPool,
        after: &KeyBound,
        limit: u32,
    ) -> Result<Vec<Key>, sqlx::Error> {
        let Some(query) = self.sweep_keys_sql.at(after) else {
            return Ok(Vec::new());
        };
        let rows = query.bind(limit).fetch_all(pool).await?;
        rows.iter().map(|row| self.kind.read(row, 0)).collect()
    }

    /// The keys of the rows holding `keys` (as the column's collation compares them), as the
    /// table holds them.
    pub async fn present<'k>(
        &self,
        pool: &sqlx::MySqlPool,
        keys: impl ExactSizeIterator<Item = &'k Key>,
    ) -> Result<Vec<Key>, sqlx::Error> {
        if keys.len() == 0 {
            return Ok(Vec::new());
        }
        let mut sql = self.lookup_head.clone();
        sql.push_str(&vec!["?"; keys.len()].join(", "));
        sql.push(')');
        let mut query = sqlx::query(&sql);
        for key in keys {
            query = key.bind(query);
        }
        let rows = query.fetch_all(pool).await?;
        rows.iter().map(|row| self.kind.read(row, 0)).collect()
    }

    /// The timestamp of the oldest row past `bound`, if any: the change that has waited
    /// longest to be read.
    pub async fn oldest_held_back(
        &self,
        pool: &sqlx::MySqlPool,
        bound: NaiveDateTime,
    ) -> Result<Option<NaiveDateTime>, sqlx::Error> {
        let oldest: Option<chrono::DateTime<chrono::Utc>> = sqlx::query_scalar(&self.held_back_sql)
            .bind(bound)
            .fetch_one(pool)
            .await?;
        Ok(oldest.map(|at| at.naive_utc()))
    }

    /// The key-order page after `after`, bound and ready to run; `None` after every key.
    pub fn key_page_after(
        &self,
        after: &KeyBound,
        limit: u32,
    ) -> Option<Query<'_, MySql, MySqlArguments>> {
        Some(self.key_sql.at(after)?.bind(limit))
    }

    /// The rows of the cursor's timestamp after the cursor's key, up to `bound`, bound and
    /// ready to run; `None` when the cursor is after every key of its timestamp.
    pub fn tie_page_after<'q>(
        &'q self,
        cursor: &Watermark,
        bound: NaiveDateTime,
        limit: u32,
    ) -> Option<Query<'q, MySql, MySqlArguments>> {
        Some(tie_query(&self.tie_sql, cursor)?.bind(bound).bind(limit))
    }

    /// The keys of the rows of the cursor's timestamp after the cursor's key, up to `bound`, at
    /// most `limit`, in key order.
    pub async fn tie_keys_after(
        &self,
        pool: &sqlx::MySqlPool,
        cursor: &Watermark,
        bound: NaiveDateTime,
        limit: u32,
    ) -> Result<Vec<Key>, sqlx::Error> {
        let Some(query) = tie_query(&self.tie_keys_sql, cursor) else {
            return Ok(Vec::new());
        };
        let rows = query.bind(bound).bind(limit).fetch_all(pool).await?;
        rows.iter().map(|row| self.kind.read(row, 0)).collect()
    }

    /// The rows of the cursor's timestamp with keys after `after` up to `last_key`, read as a
    /// range of the primary key, bound and ready to run.
    pub fn tie_key_range<'q>(
        &'q self,
        cursor: &Watermark,
        after: &Key,
        last_key: &Key,
    ) -> Query<'q, MySql, MySqlArguments> {
        last_key
            .bind(after.bind(sqlx::query(&self.tie_key_range_sql)))
            .bind(cursor.last_updated.naive_utc())
    }

    /// The rows after the cursor's timestamp, up to `bound`, bound and ready to run.
    pub fn page_after<'q>(
        &'q self,
        cursor: &Watermark,
        bound: NaiveDateTime,
        limit: u32,
    ) -> Query<'q, MySql, MySqlArguments> {
        sqlx::query(&self.sql)
            .bind(cursor.last_updated.naive_utc())
            .bind(bound)
            .bind(limit)
    }
}

/// A tie query at the cursor's timestamp, bound up to its key.
fn tie_query<'q>(
    sql: &'q AfterKey,
    cursor: &Watermark,
) -> Option<Query<'q, MySql, MySqlArguments>> {
    let timestamp = cursor.last_updated.naive_utc();
    match &cursor.key {
        KeyBound::Before => Some(sqlx::query(&sql.first).bind(timestamp)),
        KeyBound::At(key) => Some(key.bind(sqlx::query(&sql.after).bind(timestamp))),
        KeyBound::After => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_and_escaped() {
        assert_eq!(quote_identifier("product"), "`product`");
        assert_eq!(quote_identifier("we`ird"), "`we``ird`");
    }

    #[test]
    fn a_page_of_changes_is_the_rest_of_the_timestamp_then_the_timestamps_after_it() {
        let query = KeysetQuery::new(
            "product",
            "id",
            "last_updated",
            &["name".into()],
            Some("by_time"),
        );
        assert_eq!(
            query.layout(),
            RowLayout {
                key: 1,
                timestamp: Some(2),
                deleted: None
            }
        );
        assert_eq!(
            query.tie_sql(),
            "SELECT `name`, `id`, `last_updated`\nFROM `product` FORCE INDEX (`by_time`)\n\
             WHERE `last_updated` = ?\n  AND `id` > ?\n  AND `last_updated` <= ?\n\
             ORDER BY `id`\nLIMIT ?"
        );
        assert_eq!(
            query.sql(),
            "SELECT `name`, `id`, `last_updated`\nFROM `product` FORCE INDEX (`by_time`)\n\
             WHERE `last_updated` > ?\n  AND `last_updated` <= ?\n\
             ORDER BY `last_updated`, `id`\nLIMIT ?"
        );
    }

    #[test]
    fn columns_the_plan_selects_are_not_selected_again() {
        let columns = ["ID", "name", "Last_Updated"].map(String::from);
        let query = KeysetQuery::new("product", "id", "last_updated", &columns, None);
        assert!(
            query
                .sql()
                .starts_with("SELECT `ID`, `name`, `Last_Updated`\nFROM"),
            "{}",
            query.sql()
        );
        assert_eq!(
            query.layout(),
            RowLayout {
                key: 0,
                timestamp: Some(2),
                deleted: None
            }
        );
    }

    #[test]
    fn a_soft_delete_mark_is_selected_last() {
        let columns = ["id", "name", "last_updated"].map(String::from);
        let deleted = DeletedColumn::new("deleted_at", "datetime");
        let query = KeysetQuery::marking_deleted(
            "product",
            "id",
            Some("last_updated"),
            &columns,
            None,
            Some(&deleted),
        );
        assert_eq!(query.layout().deleted, Some(3));
        assert!(
            query.key_sql().starts_with(
                "SELECT `id`, `name`, `last_updated`, CAST(`deleted_at` IS NOT NULL AS SIGNED)\nFROM"
            ),
            "{}",
            query.key_sql()
        );
    }

    #[test]
    fn the_sweep_reads_keys_alone_in_primary_key_order() {
        let columns = ["id", "name", "last_updated"].map(String::from);
        let query = KeysetQuery::new("product", "id", "last_updated", &columns, None);
        assert_eq!(
            query.sweep_keys_sql(),
            "SELECT `id`\nFROM `product` FORCE INDEX (PRIMARY)\nWHERE `id` > ?\nORDER BY `id`\nLIMIT ?"
        );
    }

    #[test]
    fn key_page_query_reads_the_primary_key_in_order() {
        let columns = ["id", "name", "last_updated"].map(String::from);
        let query = KeysetQuery::new("product", "id", "last_updated", &columns, None);
        assert_eq!(
            query.key_sql(),
            "SELECT `id`, `name`, `last_updated`\nFROM `product` FORCE INDEX (PRIMARY)\n\
             WHERE `id` > ?\nORDER BY `id`\nLIMIT ?"
        );
        assert_eq!(
            query.first_key_sql(),
            "SELECT `id`, `name`, `last_updated`\nFROM `product` FORCE INDEX (PRIMARY)\n\
             WHERE TRUE\nORDER BY `id`\nLIMIT ?"
        );
        assert_eq!(
            query.tie_sql.first,
            "SELECT `id`, `name`, `last_updated`\nFROM `product`\n\
             WHERE `last_updated` = ?\n  AND TRUE\n  AND `last_updated` <= ?\n\
             ORDER BY `id`\nLIMIT ?"
        );
    }

    #[test]
    fn a_table_without_a_timestamp_is_read_by_key_alone() {
        let columns = ["id", "name"].map(String::from);
        let query = KeysetQuery::marking_deleted("tag", "id", None, &columns, None, None);
        assert_eq!(
            query.layout(),
            RowLayout {
                key: 0,
                timestamp: None,
                deleted: None,
            }
        );
        assert_eq!(
            query.key_sql(),
            "SELECT `id`, `name`\nFROM `tag` FORCE INDEX (PRIMARY)\nWHERE `id` > ?\nORDER BY `id`\nLIMIT ?"
        );
    }
}
