//! Against the local stack's MariaDB (`make up`): a first run's snapshot in key order, then the
//! changes after its bound, read every row in its latest state, also rows changed while the
//! snapshot is under way, whether the snapshot has passed their key or not.

use std::collections::HashMap;
use std::time::Duration;

use sluice_common::mysql;
use sluice_common::settings::Settings;
use sluice_producer::source::key::Key;
use sluice_producer::source::read_bound::{ReadBound, TransactionView};
use sluice_producer::watermark::{ReadOrder, Watermark};
use sqlx::Row;

mod support;

const ROWS: i64 = 50;
const PAGE: u32 = 10;
/// Changed after the first page: one key the snapshot has read, one it has not reached yet.
const CHANGED: [i64; 2] = [3, 42];

#[tokio::test(flavor = "multi_thread")]
async fn a_key_order_snapshot_then_its_changes_read_every_row_in_its_latest_state() {
    let pool = mysql::connect(&Settings::default().mysql, 3)
        .await
        .expect("MariaDB of the local stack must be up: run `make up`");
    let table = format!("it_key_snapshot_{}", std::process::id());
    sqlx::query(&format!(
        "CREATE TABLE {table} (id INT PRIMARY KEY, name VARCHAR(64) NOT NULL, \
         last_updated TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) \
         ON UPDATE CURRENT_TIMESTAMP(6), INDEX (last_updated, id))"
    ))
    .execute(&pool)
    .await
    .expect("create scratch table");
    sqlx::query(&format!(
        "INSERT INTO {table} (id, name, last_updated) \
         SELECT seq, 'v0', NOW(6) - INTERVAL 1 HOUR FROM seq_1_to_{ROWS}"
    ))
    .execute(&pool)
    .await
    .expect("fill");

    let mut read_bound = ReadBound::with_view(TransactionView::Precise, Duration::ZERO);
    let (bound, _) = read_bound.current(&pool).await.expect("bound");
    let mut cursor = Watermark::snapshot_up_to(bound.and_utc());
    let (mut reader, query) = support::reader(&pool, &table, read_bound, PAGE);

    let mut seen: HashMap<i64, Vec<String>> = HashMap::new();
    for page_number in 0.. {
        assert!(page_number < 20, "the reading never caught up");
        let page = reader.fetch(&cursor).await.expect("page");
        for record in &page.rows {
            let Key::Signed(key) = query.key_of(record).expect("key") else {
                panic!("an INT key reads as a signed key");
            };
            let name: String = record.try_get("name").expect("name");
            seen.entry(key).or_default().push(name);
        }
        if page_number == 0 {
            sqlx::query(&format!(
                "UPDATE {table} SET name = 'v1' WHERE id IN ({}, {})",
                CHANGED[0], CHANGED[1]
            ))
            .execute(&pool)
            .await
            .expect("change two rows");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if support::read_on(&page, &query, &mut cursor) {
            break;
        }
    }
    support::drop_table(&pool, &table).await;

    assert_eq!(
        cursor.order,
        ReadOrder::Timestamp,
        "changes follow the snapshot"
    );
    assert_eq!(seen.len(), ROWS as usize, "every row was read");
    for (key, versions) in &seen {
        let expected = match key {
            // Read by the snapshot, then again as a change.
            3 => vec!["v0", "v1"],
            // Changed before the snapshot reached it: past the bound, so read as a change only.
            42 => vec!["v1"],
            _ => vec!["v0"],
        };
        assert_eq!(versions, &expected, "row {key}");
    }
}
