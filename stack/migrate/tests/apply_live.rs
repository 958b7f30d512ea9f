//! Against the stack's MariaDB (`make up`): the migrations it applied are recorded, applying
//! them again changes nothing, and the product table has the index the producer pages by.

use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};

#[tokio::test]
async fn applying_again_changes_nothing_and_the_product_table_is_there() {
    let options = MySqlConnectOptions::new()
        .host("127.0.0.1")
        .port(3306)
        .username("sluice")
        .password("sluice")
        .database("sluice");
    let pool = MySqlPoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .expect("MariaDB of the local stack must be up: run `make up`");
    sluice_migrate::apply(&pool)
        .await
        .expect("migrations apply");
    let again = sluice_migrate::apply(&pool)
        .await
        .expect("migrations apply");
    assert_eq!(again, Vec::new(), "nothing is applied twice");

    let recorded: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(&pool)
            .await
            .expect("the migrations are recorded");
    let shipped: Vec<i64> = sluice_migrate::MIGRATOR
        .iter()
        .map(|migration| migration.version)
        .collect();
    assert_eq!(recorded, shipped);

    let index: Vec<String> = sqlx::query_scalar(
        "SELECT CAST(COLUMN_NAME AS CHAR) FROM information_schema.STATISTICS \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'product' \
         AND INDEX_NAME = 'product_last_updated_id' ORDER BY SEQ_IN_INDEX",
    )
    .fetch_all(&pool)
    .await
    .expect("the catalogue answers");
    assert_eq!(index, ["last_updated", "id"]);
    let retired: Option<String> = sqlx::query_scalar(
        "SELECT CAST(TABLE_NAME AS CHAR) FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'sluice_schema_migrations'",
    )
    .fetch_optional(&pool)
    .await
    .expect("the catalogue answers");
    assert_eq!(retired, None, "the shell scripts' records are gone");
}
