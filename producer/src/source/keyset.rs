//! The keyset page query and the cursor it advances.
//!
//! Rows are read in `(timestamp, key)` order, strictly after the cursor, so rows sharing one
//! timestamp (common with `TIMESTAMP(0)`) are never skipped between pages, and only up to the
//! read bound (see `read_bound`), so a transaction that commits late with an earlier timestamp
//! is still seen when its turn comes.

use chrono::NaiveDateTime;
use sluice_common::watermark::Watermark;
use sqlx::mysql::{MySqlArguments, MySqlRow};
use sqlx::query::Query;
use sqlx::MySql;

const PAGE_TEMPLATE: &str = include_str!("page.sql");

/// Quotes an identifier for MySQL: backticks around it, inner backticks doubled.
pub fn quote_identifier(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// The page query with the table's identifiers filled in, built once at start.
#[derive(Debug, Clone)]
pub struct KeysetQuery {
    sql: String,
}

impl KeysetQuery {
    /// Builds the query; `columns` are selected in order after the key and timestamp columns.
    pub fn new(table: &str, key: &str, timestamp: &str, columns: &[String]) -> Self {
        let mut selected = vec![quote_identifier(key), quote_identifier(timestamp)];
        selected.extend(columns.iter().map(|c| quote_identifier(c)));
        let sql = PAGE_TEMPLATE
            .lines()
            .filter(|line| !line.trim_start().starts_with("--"))
            .collect::<Vec<_>>()
            .join("\n")
            .replace("{columns}", &selected.join(", "))
            .replace("{table}", &quote_identifier(table))
            .replace("{ts}", &quote_identifier(timestamp))
            .replace("{key}", &quote_identifier(key));
        Self { sql }
    }

    /// The SQL text, for EXPLAIN and for logs.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The query for the page after `cursor`, bound and ready to run.
    pub fn page_after<'q>(
        &'q self,
        cursor: &Watermark,
        bound: NaiveDateTime,
        limit: u32,
    ) -> Query<'q, MySql, MySqlArguments> {
        sqlx::query(&self.sql)
            .bind(cursor.last_updated.naive_utc())
            .bind(cursor.last_updated.naive_utc())
            .bind(cursor.id)
            .bind(bound)
            .bind(limit)
    }
}

/// The cursor after a page: the position of its last row.
pub fn cursor_after(rows: &[MySqlRow]) -> Option<Result<Watermark, sqlx::Error>> {
    rows.last().map(super::row::position)
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
    fn page_query_uses_the_expanded_keyset_form() {
        let query = KeysetQuery::new("product", "id", "last_updated", &["name".into()]);
        let sql = query.sql();
        assert!(
            sql.starts_with("SELECT `id`, `last_updated`, `name`\nFROM `product`"),
            "{sql}"
        );
        assert!(sql.contains("`last_updated` >= ?"), "{sql}");
        assert!(sql.contains("(`last_updated` > ? OR `id` > ?)"), "{sql}");
        assert!(
            sql.contains("AND `last_updated` <= ?\n"),
            "read bound: {sql}"
        );
        assert!(sql.contains("ORDER BY `last_updated`, `id`"), "{sql}");
        assert!(!sql.contains("--"), "comments stripped: {sql}");
        assert!(!sql.contains(") > ("), "never the row-value form: {sql}");
    }
}
