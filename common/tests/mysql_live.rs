//! Against the local stack's MariaDB (`make up`): the connection `common` builds is real, pinned
//! to UTC, and the migration created the table the pipeline reads.

use sluice_common::mysql;
use sluice_common::settings::Settings;
use sqlx::Row;

async fn pool() -> sqlx::MySqlPool {
    mysql::connect(&Settings::default().mysql, 2)
        .await
        .expect("MariaDB of the local stack must be up: run `make up`")
}

#[tokio::test]
async fn a_row_written_through_sqlx_reads_back() {
    let pool = pool().await;
    let table = format!("it_roundtrip_{}", std::process::id());
    sqlx::query(&format!(
        "CREATE TABLE {table} (id INT PRIMARY KEY, name VARCHAR(64), at TIMESTAMP(6) NOT NULL)"
    ))
    .execute(&pool)
    .await
    .expect("create scratch table");
    sqlx::query(&format!(
        "INSERT INTO {table} (id, name, at) VALUES (?, ?, '2026-11-24 10:15:30.123456')"
    ))
    .bind(7)
    .bind("grüße")
    .execute(&pool)
    .await
    .expect("insert");
    let row = sqlx::query(&format!(
        "SELECT name, DATE_FORMAT(at, '%Y-%m-%dT%H:%i:%s.%f') AS at FROM {table} WHERE id = ?"
    ))
    .bind(7)
    .fetch_one(&pool)
    .await
    .expect("select");
    sqlx::query(&format!("DROP TABLE {table}"))
        .execute(&pool)
        .await
        .expect("drop scratch table");
    assert_eq!(
        row.get::<String, _>("name"),
        "grüße",
        "utf8mb4 survives the round trip"
    );
    assert_eq!(row.get::<String, _>("at"), "2026-11-24T10:15:30.123456");
}

#[tokio::test]
async fn sessions_are_pinned_to_utc() {
    let zone: String = sqlx::query_scalar("SELECT @@session.time_zone")
        .fetch_one(&pool().await)
        .await
        .expect("read time zone");
    assert_eq!(zone, "+00:00");
}

#[tokio::test]
async fn migration_created_the_product_table_with_its_keyset_index() {
    let pool = pool().await;
    let columns: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT CAST(column_name AS CHAR), CAST(column_type AS CHAR), CAST(is_nullable AS CHAR)
         FROM information_schema.columns
         WHERE table_schema = DATABASE() AND table_name = 'product' ORDER BY ordinal_position",
    )
    .fetch_all(&pool)
    .await
    .expect("read columns");
    let expected = [
        ("id", "int(11)", "NO"),
        ("name", "varchar(255)", "YES"),
        ("category", "varchar(255)", "YES"),
        ("price", "float", "YES"),
        ("last_updated", "timestamp(6)", "NO"),
    ];
    let actual: Vec<(&str, &str, &str)> = columns
        .iter()
        .map(|(n, t, null)| (n.as_str(), t.as_str(), null.as_str()))
        .collect();
    assert_eq!(actual, expected);

    let index: Vec<String> = sqlx::query_scalar(
        "SELECT CAST(column_name AS CHAR) FROM information_schema.statistics
         WHERE table_schema = DATABASE() AND table_name = 'product'
           AND index_name = 'product_last_updated_id' ORDER BY seq_in_index",
    )
    .fetch_all(&pool)
    .await
    .expect("read index");
    assert_eq!(index, ["last_updated", "id"]);
}

#[tokio::test]
async fn the_service_user_is_not_root() {
    let user: String = sqlx::query_scalar("SELECT CURRENT_USER()")
        .fetch_one(&pool().await)
        .await
        .expect("read user");
    assert!(user.starts_with("sluice@"), "{user}");
}
