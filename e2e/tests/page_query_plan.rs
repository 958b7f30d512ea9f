//! The producer's page query must read a range of the `(last_updated, id)` index, never scan the
//! table: on MariaDB the row-value form `(a, b) > (?, ?)` scans everything on every page. Its
//! key-order snapshot page must read a range of the primary key, in place.

use sluice_common::mysql;
use sluice_common::settings::Settings;
use sluice_producer::source::keyset::KeysetQuery;
use sqlx::Row;

#[tokio::test]
async fn the_page_query_reads_a_range_of_the_keyset_index() {
    let pool = mysql::connect(&Settings::default().mysql, 1)
        .await
        .expect("mysql");
    let table = format!("e2e_plan_{}", std::process::id());
    sqlx::query(&format!(
        "CREATE TABLE `{table}` (id INT PRIMARY KEY, name VARCHAR(255), category VARCHAR(255), price FLOAT,
         last_updated TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
         INDEX product_last_updated_id (last_updated, id))"
    ))
    .execute(&pool)
    .await
    .expect("create table");
    // Enough rows, spread over time, that the optimiser has a real choice to make.
    sqlx::query(&format!(
        "INSERT INTO `{table}` (id, name, category, price, last_updated)
         SELECT seq, CONCAT('p', seq), 'c', 1, TIMESTAMP('2026-01-01') + INTERVAL seq SECOND FROM seq_1_to_50000"
    ))
    .execute(&pool)
    .await
    .expect("fill table");
    sqlx::query(&format!("ANALYZE TABLE `{table}`"))
        .execute(&pool)
        .await
        .expect("analyze");

    let columns = ["name", "category", "price", "last_updated"].map(String::from);
    let query = KeysetQuery::new(&table, "id", "last_updated", &columns);
    let explain = format!("EXPLAIN {}", query.sql());
    let plan = sqlx::query(&explain)
        .bind("2026-01-01 06:00:00")
        .bind("2026-01-01 06:00:00")
        .bind(21_600)
        .bind("2026-01-02 00:00:00")
        .bind(5000)
        .fetch_one(&pool)
        .await
        .expect("explain");
    let page = Plan::of(&plan);
    // A bound that leaves out nine rows in ten tempts the optimiser into the timestamp index,
    // where each row would cost a lookup in the table.
    let explain_key_page = format!("EXPLAIN {}", query.key_sql());
    let key_plan = sqlx::query(&explain_key_page)
        .bind(20_000)
        .bind("2026-01-01 01:00:00")
        .bind(5000)
        .fetch_one(&pool)
        .await
        .expect("explain key page");
    let key_page = Plan::of(&key_plan);
    sqlx::query(&format!("DROP TABLE `{table}`"))
        .execute(&pool)
        .await
        .expect("drop");
    assert_eq!(key_page.access, "range", "{:?}", key_page.extra);
    assert_eq!(key_page.index.as_deref(), Some("PRIMARY"));
    assert!(
        !key_page.extra.unwrap_or_default().contains("filesort"),
        "key-order rows come in index order"
    );
    assert_eq!(
        page.access, "range",
        "a range read, not a scan (extra: {:?})",
        page.extra
    );
    assert_eq!(page.index.as_deref(), Some("product_last_updated_id"));
    assert!(
        !page.extra.unwrap_or_default().contains("filesort"),
        "rows come in index order"
    );
}

/// What EXPLAIN says of a query's one table.
struct Plan {
    /// How the table is read: `range`, `ALL`, …
    access: String,
    /// The index read, if any.
    index: Option<String>,
    /// Notes such as `Using filesort`.
    extra: Option<String>,
}

impl Plan {
    fn of(row: &sqlx::mysql::MySqlRow) -> Self {
        Self {
            access: row.try_get("type").expect("type"),
            index: row.try_get("key").expect("key"),
            extra: row.try_get("Extra").expect("Extra"),
        }
    }
}
