//! Against the local stack's MariaDB (`make up`): the key order a snapshot taken in parts
//! filters the stream by is the database's, the one the snapshot's pages were read in: a
//! string key in its column's collation (case and trailing spaces ignored under
//! `utf8mb4_unicode_ci`, byte order under `_bin`), a binary key byte by byte, integers by
//! value.

use sluice_common::mysql;
use sluice_common::settings::Settings;
use sluice_producer::binlog::snapshot_parts::KeyOrder;
use sluice_producer::source::key::{Key, KeyKind};

#[tokio::test(flavor = "multi_thread")]
async fn keys_compare_as_the_key_columns_collation_orders_them() {
    let pool = mysql::connect(&Settings::default().mysql, 2)
        .await
        .expect("MariaDB of the local stack must be up: run `make up`");
    let table = format!("it_binlog_key_order_{}", std::process::id());
    sqlx::query(&format!(
        "CREATE TABLE {table} (folded VARCHAR(32) COLLATE utf8mb4_unicode_ci PRIMARY KEY, \
         exact VARCHAR(32) COLLATE utf8mb4_bin, raw VARBINARY(16), n BIGINT UNSIGNED)"
    ))
    .execute(&pool)
    .await
    .expect("create scratch table");
    let database = Settings::default().mysql.database;
    let order = |column: &'static str, kind| {
        let (pool, database, table) = (pool.clone(), database.clone(), table.clone());
        async move {
            KeyOrder::of_column(kind, &pool, &database, &table, column)
                .await
                .expect("the column's order")
        }
    };
    let text = |s: &str| Key::Text(s.to_owned());

    let folded = order("folded", KeyKind::Text).await;
    // Byte order would put `B` (0x42) before `a` (0x61); the collation does not.
    assert!(folded
        .at_or_before(&text("a"), &text("B"))
        .await
        .expect("asks"));
    assert!(folded
        .at_or_before(&text("APPLE"), &text("apple"))
        .await
        .expect("asks"));
    assert!(folded
        .at_or_before(&text("apple "), &text("apple"))
        .await
        .expect("asks"));
    assert!(!folded
        .at_or_before(&text("b"), &text("A"))
        .await
        .expect("asks"));
    assert!(folded
        .at_or_before(&text("é"), &text("f"))
        .await
        .expect("asks"));

    let exact = order("exact", KeyKind::Text).await;
    assert!(!exact
        .at_or_before(&text("a"), &text("B"))
        .await
        .expect("asks"));
    assert!(exact
        .at_or_before(&text("B"), &text("a"))
        .await
        .expect("asks"));

    let raw = order("raw", KeyKind::Bytes).await;
    let bytes = |b: &[u8]| Key::Bytes(b.to_vec());
    assert!(raw
        .at_or_before(&bytes(&[0x00, 0xff]), &bytes(&[0x01]))
        .await
        .expect("asks"));
    assert!(!raw
        .at_or_before(&bytes(&[0xff]), &bytes(&[0x7f, 0xff]))
        .await
        .expect("asks"));

    let numbers = order("n", KeyKind::Unsigned).await;
    assert!(numbers
        .at_or_before(&Key::Unsigned(9), &Key::Unsigned(10))
        .await
        .expect("compares"));
    assert!(!numbers
        .at_or_before(&Key::Unsigned(u64::MAX), &Key::Unsigned(10))
        .await
        .expect("compares"));

    sqlx::query(&format!("DROP TABLE {table}"))
        .execute(&pool)
        .await
        .expect("drop scratch table");
}
