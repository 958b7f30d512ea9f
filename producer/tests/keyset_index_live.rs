//! Against the local stack's MariaDB (`make up`): the producer finds the index its pages of
//! changes read, the one ordered by `(timestamp, key)`, by its columns whatever its name, and
//! finds none where no index has that order.

use sluice_common::mysql;
use sluice_common::settings::Settings;
use sluice_producer::source::catalogue::{keyset_index, primary_key};

#[tokio::test]
async fn the_keyset_index_is_found_by_its_columns() {
    let pool = mysql::connect(&Settings::default().mysql, 1)
        .await
        .expect("MariaDB of the local stack must be up: run `make up`");
    let database = Settings::default().mysql.database;
    // (table's extra definitions, the index expected)
    let cases = [
        ("INDEX by_time (ts, id)", Some("by_time")),
        // InnoDB ends a secondary index with the primary key: (ts) is (ts, id).
        ("INDEX ts_only (ts)", Some("ts_only")),
        (
            "INDEX other (ts, name), INDEX good (ts, id, name)",
            Some("good"),
        ),
        (
            "INDEX key_first (id, ts), INDEX name_first (name, ts)",
            None,
        ),
        ("", None),
    ];
    for (n, (indexes, expected)) in cases.into_iter().enumerate() {
        let table = format!("it_keyset_index_{}_{n}", std::process::id());
        let extra = if indexes.is_empty() {
            String::new()
        } else {
            format!(", {indexes}")
        };
        sqlx::query(&format!(
            "CREATE TABLE {table} (id INT PRIMARY KEY, name VARCHAR(64), \
             ts TIMESTAMP(6) NOT NULL{extra})"
        ))
        .execute(&pool)
        .await
        .expect("create scratch table");
        let primary = primary_key(&pool, &database, &table)
            .await
            .expect("primary key");
        let found = keyset_index(&pool, &database, &table, "ts", "id", &primary).await;
        sqlx::query(&format!("DROP TABLE {table}"))
            .execute(&pool)
            .await
            .expect("drop scratch table");
        assert_eq!(
            found.expect("indexes").as_deref(),
            expected,
            "indexes: {indexes:?}"
        );
    }
}
