//! Deletes reach the files: rows marked deleted through `producer.deleted_column` (soft
//! deletes) are published as tombstones, and each member writes a delete line for them; a
//! product inserted again after its delete ends with its new row. `sluice-verify` judges: every
//! row marked deleted must end with its delete line, and every other row with its latest
//! version. The topic, created compacted (`kafka.compact_topic`), holds as each product's latest
//! record its row, or a tombstone for the rows marked deleted.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rdkafka::message::Message as _;
use sluice_common::topic_reader::read_to_end;
use sluice_e2e::kafka_tool;
use sluice_e2e::scenario::{tail, Scenario};

const CATCH_UP: Duration = Duration::from_secs(180);
const PRODUCTS: i32 = 20_000;

#[tokio::test(flavor = "multi_thread")]
async fn rows_marked_deleted_end_with_a_delete_line() {
    let mut scenario = Scenario::new("soft_delete", 6).await;
    let table = scenario.names.table.clone();
    sqlx::query(&format!(
        "ALTER TABLE `{table}` ADD COLUMN deleted_at DATETIME(6) NULL"
    ))
    .execute(&scenario.pool)
    .await
    .expect("a soft-delete column");
    scenario.with_setting("producer.deleted_column=deleted_at");
    scenario.with_setting("kafka.compact_topic=true");
    scenario.insert_products(1..PRODUCTS + 1, None).await;
    scenario.start_consumers(3);
    scenario.start_producer();
    scenario.wait_caught_up(CATCH_UP).await;

    // 500 rows marked deleted; 50 of them then marked alive again, as a product put back in
    // the catalogue.
    sqlx::query(&format!(
        "UPDATE `{table}` SET deleted_at = NOW(6), last_updated = NOW(6) WHERE id % 40 = 0"
    ))
    .execute(&scenario.pool)
    .await
    .expect("soft deletes");
    tokio::time::sleep(Duration::from_secs(2)).await;
    sqlx::query(&format!(
        "UPDATE `{table}` SET deleted_at = NULL, last_updated = NOW(6) WHERE id % 400 = 0"
    ))
    .execute(&scenario.pool)
    .await
    .expect("restored");

    let deadline = Instant::now() + CATCH_UP;
    let report = loop {
        let (code, report) = scenario.verify();
        if code == 0 && report["deleted"]["count"].as_u64() == Some(450) {
            break report;
        }
        assert!(
            Instant::now() < deadline,
            "the deletes never reached the files: {report:#}\nproducer log:\n{}",
            tail(&scenario.log("producer.log"), 15)
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let codes = scenario.stop_all();
    assert!(codes.iter().all(|c| *c == Some(0)), "{codes:?}");
    assert!(
        report["versions"].as_u64() >= Some(PRODUCTS as u64 + 500),
        "enough lines flowed: {report:#}"
    );

    let topic = &scenario.names.topic;
    let described = kafka_tool(&[
        "configs",
        "--bootstrap-server",
        &scenario.settings.kafka.bootstrap_servers,
        "--describe",
        "--entity-type",
        "topics",
        "--entity-name",
        topic,
    ]);
    assert!(
        described.contains("cleanup.policy=compact"),
        "the topic is created compacted:\n{described}"
    );
    // Each product's latest record in the topic: a tombstone exactly for the rows marked
    // deleted.
    let mut tombstone_last: HashMap<String, bool> = HashMap::new();
    read_to_end(
        &scenario.settings.kafka,
        topic,
        Duration::from_secs(60),
        |message| {
            let key = String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned();
            tombstone_last.insert(key, message.payload().is_none());
        },
    )
    .expect("the topic read to its end");
    assert_eq!(tombstone_last.len(), PRODUCTS as usize, "every product");
    for (key, tombstone) in &tombstone_last {
        let id: i32 = key.parse().expect("an integer key");
        let marked = id % 40 == 0 && id % 400 != 0;
        assert_eq!(*tombstone, marked, "product {id}'s latest record");
    }

    let latest = scenario.latest_lines();
    for id in (40..=PRODUCTS).step_by(40) {
        let line = &latest[&id];
        let restored = id % 400 == 0;
        assert_eq!(
            line.get("deleted").is_some(),
            !restored,
            "product {id}'s latest line: {line}"
        );
        if !restored {
            assert_eq!(line.as_object().map(|o| o.len()), Some(3), "{line}");
            assert!(line["deleted_at"].is_string(), "{line}");
        }
    }
}
