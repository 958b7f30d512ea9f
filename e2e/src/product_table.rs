//! Tables for tests, each a copy of the stack's `product` table: the migrations
//! (`sluice_migrate`) are the one place its definition is written.

use sqlx::MySqlPool;

/// Creates `name` with the columns and indexes of `product`, applying the stack's migrations
/// first when the database has not had them.
pub async fn create_like_product(pool: &MySqlPool, name: &str) {
    sluice_migrate::apply(pool)
        .await
        .expect("the stack's migrations apply");
    sqlx::query(&format!("CREATE TABLE `{name}` LIKE product"))
        .execute(pool)
        .await
        .unwrap_or_else(|error| panic!("create table {name} like product: {error}"));
}
