//! What must not lose rows: a transaction that commits late, a producer killed mid-stream, and
//! rows that cannot be encoded (they go to the dead-letter topic with the reason).

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use sluice_common::dead_letter::{ORIGIN_HEADER, REASON_HEADER, STAGE_HEADER};
use sluice_common::kafka::client_config;
use sluice_e2e::scenario::Scenario;
use sqlx::Connection;

const CATCH_UP: Duration = Duration::from_secs(180);

static ONE_PIPELINE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A transaction that updates a row, then stays open while later rows are committed and the
/// commit lag runs out, then commits 1 s later still: its row carries the older timestamp, and
/// must still be read.
#[tokio::test(flavor = "multi_thread")]
async fn a_transaction_committing_after_later_rows_is_not_lost() {
    let _serial = ONE_PIPELINE.lock().await;
    let mut scenario = Scenario::new("latecommit", 6).await;
    scenario.insert_products(1..101, None).await;
    scenario.start_consumers(2);
    scenario.start_producer();
    scenario.wait_caught_up(CATCH_UP).await;

    let mut late = sluice_common::mysql::connect(&scenario.settings.mysql, 1)
        .await
        .expect("second connection")
        .acquire()
        .await
        .expect("connection")
        .detach();
    let mut transaction = late.begin().await.expect("begin");
    sqlx::query(&format!(
        "UPDATE `{}` SET name = 'late', price = 1.25 WHERE id = 1",
        scenario.table
    ))
    .execute(&mut *transaction)
    .await
    .expect("update inside the transaction");
    scenario.update_products(&[2, 3], 7).await;
    let lag = Duration::from_millis(scenario.settings.producer.commit_lag_ms);
    tokio::time::sleep(lag + Duration::from_secs(1)).await;
    transaction.commit().await.expect("late commit");

    scenario.wait_caught_up(CATCH_UP).await;
    let latest = scenario.latest_lines();
    assert_eq!(
        latest[&1]["name"], "late",
        "the late transaction's row arrived"
    );
    assert_eq!(
        latest[&2]["name"], "Item 2 v7",
        "the later rows arrived too"
    );
    let codes = scenario.stop_all();
    assert!(codes.iter().all(|c| *c == Some(0)), "{codes:?}");
}

/// SIGKILL gives the producer no chance to flush or save; the restart resumes from the saved
/// watermark and at worst sends the last page again.
#[tokio::test(flavor = "multi_thread")]
async fn a_producer_killed_mid_stream_loses_nothing() {
    let _serial = ONE_PIPELINE.lock().await;
    let mut scenario = Scenario::new("sigkill", 6).await;
    scenario.with_setting("producer.batch_size=200");
    scenario.insert_products(0..30_000, None).await;
    scenario.start_consumers(3);
    scenario.start_producer();
    let watermark = scenario.dir.path().join("watermark.json");
    let deadline = std::time::Instant::now() + CATCH_UP;
    while !watermark.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "producer never saved a watermark"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    scenario.kill_producer();
    let written_before_restart = scenario.lines().len();
    assert!(
        written_before_restart < 30_000,
        "killed mid-stream, not after: {written_before_restart}"
    );
    scenario.update_products(&[5, 6, 7], 3).await;
    scenario.start_producer();
    scenario.wait_caught_up(CATCH_UP).await;
    assert!(
        scenario.log("producer.log").contains("from watermark 20"),
        "resumed from the saved watermark"
    );
    scenario.stop_all();
}

/// A NULL name cannot be written as the schema's non-nullable string: the row goes to the
/// dead-letter topic with stage, reason and origin, and the rows after it still flow.
#[tokio::test(flavor = "multi_thread")]
async fn a_row_with_a_null_name_goes_to_the_dead_letter_topic() {
    let _serial = ONE_PIPELINE.lock().await;
    let mut scenario = Scenario::new("nullname", 6).await;
    scenario.insert_products(1..11, None).await;
    sqlx::query(&format!(
        "UPDATE `{}` SET name = NULL WHERE id = 5",
        scenario.table
    ))
    .execute(&scenario.pool)
    .await
    .expect("null name");
    scenario.start_consumers(1);
    scenario.start_producer();
    scenario.wait_caught_up(CATCH_UP).await;
    scenario.insert_products(11..21, None).await;
    scenario.wait_caught_up(CATCH_UP).await;
    assert!(
        !scenario.latest_lines().contains_key(&5),
        "the bad row is not written as a line"
    );

    let consumer: BaseConsumer = client_config(&scenario.settings.kafka)
        .set("group.id", format!("{}-inspector", scenario.dlq_topic))
        .create()
        .expect("consumer");
    let mut assignment = TopicPartitionList::new();
    for partition in 0..scenario.settings.kafka.partitions {
        assignment
            .add_partition_offset(&scenario.dlq_topic, partition, Offset::Beginning)
            .expect("assignment");
    }
    consumer.assign(&assignment).expect("assign");
    let letter = (0..60)
        .find_map(|_| consumer.poll(Duration::from_millis(500)))
        .expect("a dead letter within 30 s")
        .expect("no error");
    let header = |name: &str| {
        letter
            .headers()
            .and_then(|h| h.iter().find(|x| x.key == name).and_then(|x| x.value))
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default()
    };
    assert_eq!(letter.key(), Some(&b"5"[..]));
    assert_eq!(header(STAGE_HEADER), "producer.encode");
    assert!(
        header(REASON_HEADER).contains("`name` is NULL"),
        "{}",
        header(REASON_HEADER)
    );
    assert_eq!(
        header(ORIGIN_HEADER),
        format!("sluice.{} id=5", scenario.table)
    );
    let payload: serde_json::Value =
        serde_json::from_slice(letter.payload().expect("payload")).expect("JSON");
    assert_eq!(payload["id"], 5);
    assert!(payload["name"].is_null());
    scenario.stop_all();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_config_naming_a_missing_table_is_a_clear_error() {
    let _serial = ONE_PIPELINE.lock().await;
    let mut scenario = Scenario::new("missingtable", 6).await;
    scenario.with_setting("mysql.table=no_such_table");
    scenario.start_producer();
    let codes = scenario.stop_all_after(Duration::from_secs(30));
    assert_eq!(codes, [Some(1)], "exits with an error");
    let log = scenario.log("producer.log");
    assert!(
        log.contains("table `sluice.no_such_table` does not exist"),
        "clear message naming the table:\n{log}"
    );
}
