//! Deletes reach the files: rows marked deleted through `producer.deleted_column` (soft
//! deletes), and rows deleted outright (found by the producer's sweep of the table's keys), are
//! published as tombstones, and each member writes a delete line for them; a product inserted
//! again after its delete ends with its new row. `sluice-verify` judges: every product without
//! a row, or marked deleted, must end with its delete line, and every other row with its latest
//! version. The topic, created compacted (`kafka.compact_topic`), holds as each product's latest
//! record its row, or a tombstone for the rows deleted.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use rdkafka::message::Message as _;
use sluice_common::kafka::topic_reader::read_to_end;
use sluice_e2e::kafka_tool;
use sluice_e2e::load::{test_seed, Load};
use sluice_e2e::scenario::{tail, Scenario};
use sluice_e2e::wait::{self, CATCH_UP};

const PRODUCTS: i32 = 20_000;
/// The sweep interval of the hard-delete test: short, so the test waits for several sweeps.
const SWEEP_SECS: u64 = 5;

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
    // The 500 deletes reach the files before 50 of the rows come back.
    wait::until(
        "the 500 delete lines",
        CATCH_UP,
        || (deleted_lines(&scenario) >= 500).then_some(()),
        || format!("{} delete lines", deleted_lines(&scenario)),
    )
    .await;
    sqlx::query(&format!(
        "UPDATE `{table}` SET deleted_at = NULL, last_updated = NOW(6) WHERE id % 400 = 0"
    ))
    .execute(&scenario.pool)
    .await
    .expect("restored");

    let report = wait::until(
        "the files to hold the 450 rows still deleted",
        CATCH_UP,
        || {
            let (code, report) = scenario.verify();
            (code == 0 && report["deleted"]["count"].as_u64() == Some(450)).then_some(report)
        },
        || {
            format!(
                "{:#}\nproducer log:\n{}",
                scenario.verify().1,
                tail(&scenario.log("producer.log"), 15)
            )
        },
    )
    .await;
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

#[tokio::test(flavor = "multi_thread")]
async fn rows_deleted_outright_end_with_a_delete_line_and_leave_the_compacted_topic() {
    rows_deleted_outright(Delivery::ExactlyOnce).await;
}

/// At least once the sweep's deletes are confirmed by Kafka's acknowledgements, not by a
/// commit; a killed producer may publish some twice, which is the only thing let pass.
#[tokio::test(flavor = "multi_thread")]
async fn rows_deleted_outright_reach_the_files_at_least_once() {
    rows_deleted_outright(Delivery::AtLeastOnce).await;
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Delivery {
    ExactlyOnce,
    AtLeastOnce,
}

async fn rows_deleted_outright(delivery: Delivery) {
    let seed = test_seed();
    eprintln!("seed {seed}, {delivery:?}");
    let mut scenario = Scenario::new("hard_delete", 6).await;
    let table = scenario.names.table.clone();
    if delivery == Delivery::AtLeastOnce {
        scenario.with_setting("producer.exactly_once=false");
        scenario.with_setting("consumer.exactly_once=false");
    }
    scenario.with_setting(&format!("producer.delete_sweep_interval_secs={SWEEP_SECS}"));
    scenario.with_setting("kafka.compact_topic=true");
    scenario.with_setting("producer.batch_size=100");
    scenario.insert_products(1..PRODUCTS + 1, None).await;
    scenario.start_consumers(3);
    scenario.start_producer();
    // Deletes while the first snapshot reads the table (in pages of 100 rows here), once it
    // has read its first 2 000: a row gone before its page is never published, one gone after
    // is found by the first sweep.
    wait::until_async(
        "the snapshot to read its first 2 000 rows",
        CATCH_UP,
        || async { (rows_read(&scenario).await >= 2_000).then_some(()) },
        || tail(&scenario.log("producer.log"), 15),
    )
    .await;
    delete_where(&scenario, "id % 200 = 1").await;
    scenario.wait_caught_up(CATCH_UP).await;

    // 1 000 rows deleted while updates of random products run, some of them racing an update
    // of the same row; 50 more deleted and inserted again with the same id between sweeps.
    let load = Load::start(&scenario.pool, &table, PRODUCTS, seed);
    for part in 0..10 {
        delete_where(
            &scenario,
            &format!("id % 20 = 3 AND id % 200 = {}", part * 20 + 3),
        )
        .await;
        // Spread over three seconds of the load: the scenario, not a wait for anything.
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    delete_where(&scenario, "id % 400 = 11").await;
    sqlx::query(&format!(
        "INSERT INTO `{table}` (id, name, category, price) \
         SELECT seq, CONCAT('again-', seq), 'Back', 1.5 FROM seq_11_to_{PRODUCTS}_step_400"
    ))
    .execute(&scenario.pool)
    .await
    .expect("inserted again");
    // The rows inserted again reach the files before the producer is killed.
    wait::until(
        "the 50 rows inserted again in the files",
        CATCH_UP,
        || (inserted_again(&scenario) >= 50).then_some(()),
        || {
            format!(
                "{} rows inserted again in the files",
                inserted_again(&scenario)
            )
        },
    )
    .await;

    // 200 more while the producer is down, killed so it saves nothing on its way out.
    scenario.kill_producer();
    delete_where(&scenario, "id % 100 = 7").await;
    scenario.start_producer();
    // The restarted producer publishes under the load for a while.
    scenario
        .wait_for_log("producer.log", "producing", 2, CATCH_UP)
        .await;
    load.wait_for(2_000).await;
    let updates = load.stop().await;
    let last_change = Instant::now();

    // Within one sweep interval plus the lag after the last change, the files match the table.
    let patience = Duration::from_secs(SWEEP_SECS) + Duration::from_secs(60);
    let report = wait::until(
        "the deletes to reach the files",
        patience,
        || {
            let (code, report) = scenario.verify();
            let judged = match delivery {
                Delivery::ExactlyOnce => code == 0,
                Delivery::AtLeastOnce => ["missing", "torn", "wrong", "conflicting", "backward"]
                    .iter()
                    .all(|kind| report[kind]["count"].as_u64() == Some(0)),
            };
            (judged && report["deleted"]["count"].as_u64() >= Some(1_200)).then_some(report)
        },
        || {
            format!(
                "{:#}\nproducer log:\n{}",
                scenario.verify().1,
                tail(&scenario.log("producer.log"), 20)
            )
        },
    )
    .await;
    let latest = scenario.latest_lines();
    let published_then_deleted = (1..=PRODUCTS)
        .step_by(200)
        .filter(|id| latest.contains_key(id))
        .count();
    eprintln!(
        "{updates} updates; {published_then_deleted} of the 100 rows deleted during the first \
         snapshot had been published; the files matched the table {:?} after the last change: \
         {report:#}",
        last_change.elapsed()
    );
    let codes = scenario.stop_all();
    assert!(codes.iter().all(|c| *c == Some(0)), "{codes:?}");
    assert!(
        report["versions"].as_u64() >= Some(PRODUCTS as u64 + 1_200),
        "enough lines flowed: {report:#}"
    );
    // The first start had no saved keys; the restart after the kill read those the last sweep
    // saved, and the records after them.
    let log = scenario.log("producer.log");
    assert!(
        log.contains("published keys read back from the 0 records")
            && log.contains("watermark.keys and the "),
        "the restarted producer read its keys back from its checkpoint:\n{}",
        tail(&log, 20)
    );

    // The topic read from its start holds as latest records exactly the table's rows.
    let mut latest_is_row: HashMap<i64, bool> = HashMap::new();
    read_to_end(
        &scenario.settings.kafka,
        &scenario.names.topic,
        Duration::from_secs(60),
        |message| {
            let key = String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned();
            let id = key.parse().expect("an integer key");
            latest_is_row.insert(id, message.payload().is_some());
        },
    )
    .expect("the topic read to its end");
    let in_topic: BTreeSet<i64> = latest_is_row
        .iter()
        .filter(|(_, row)| **row)
        .map(|(id, _)| *id)
        .collect();
    let in_table: BTreeSet<i64> =
        sqlx::query_scalar::<_, i64>(&format!("SELECT id FROM `{table}`"))
            .fetch_all(&scenario.pool)
            .await
            .expect("the table's ids")
            .into_iter()
            .collect();
    assert_eq!(
        in_table.len(),
        PRODUCTS as usize - 1_300,
        "1 300 rows deleted"
    );
    let extra: Vec<_> = in_topic.difference(&in_table).take(5).collect();
    let missing: Vec<_> = in_table.difference(&in_topic).take(5).collect();
    assert!(
        extra.is_empty() && missing.is_empty(),
        "the topic's latest records are the table's rows: deleted yet a row {extra:?}, a row \
         yet no record {missing:?}"
    );
    for id in (11..=PRODUCTS).step_by(400) {
        assert_eq!(
            latest[&id]["name"],
            format!("again-{id}"),
            "product {id} inserted again ends with its new row"
        );
    }
}

/// Products whose latest line is a delete line.
fn deleted_lines(scenario: &Scenario) -> usize {
    scenario
        .latest_lines()
        .values()
        .filter(|line| line.get("deleted").is_some())
        .count()
}

/// Products whose latest line is their row inserted again after a delete.
fn inserted_again(scenario: &Scenario) -> usize {
    scenario
        .latest_lines()
        .values()
        .filter(|line| {
            line["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("again-"))
        })
        .count()
}

/// Deletes the rows of the scenario's table matching `condition`.
async fn delete_where(scenario: &Scenario, condition: &str) {
    sqlx::query(&format!(
        "DELETE FROM `{}` WHERE {condition}",
        scenario.names.table
    ))
    .execute(&scenario.pool)
    .await
    .unwrap_or_else(|e| panic!("DELETE … WHERE {condition}: {e}"));
}

/// The rows the scenario's producer has read so far, by its metrics (0 before it serves them).
async fn rows_read(scenario: &Scenario) -> u64 {
    scenario
        .metric("producer.log", "sluice_producer_rows_read_total")
        .await
        .map_or(0, |rows| rows as u64)
}
