//! What must not lose rows: a transaction that commits late, a producer killed mid-stream, and
//! rows that cannot be encoded (they go to the dead-letter topic with the reason).

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use sluice_common::dead_letter::{ORIGIN_HEADER, REASON_HEADER, STAGE_HEADER};
use sluice_common::kafka::client_config;
use sluice_e2e::scenario::Scenario;
use sluice_e2e::wait::CATCH_UP;
use sluice_producer::watermark::Watermark;
use sqlx::Connection;

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
        scenario.names.table
    ))
    .execute(&mut *transaction)
    .await
    .expect("update inside the transaction");
    scenario.update_products(&[2, 3], 7).await;
    let lag = Duration::from_millis(scenario.settings.producer.commit_lag_ms);
    // The transaction stays open past the commit lag: the scenario (a late commit), not a wait.
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

/// At least once (the watermark in its file), SIGKILL gives the producer no chance to flush or
/// save; the restart resumes from the saved watermark and at worst sends the pages that were in
/// flight again.
#[tokio::test(flavor = "multi_thread")]
async fn a_producer_killed_mid_stream_loses_nothing() {
    let _serial = ONE_PIPELINE.lock().await;
    let mut scenario = Scenario::new("sigkill", 6).await;
    scenario.with_setting("producer.exactly_once=false");
    scenario.with_setting("producer.batch_size=200");
    scenario.insert_products(0..30_000, None).await;
    scenario.start_consumers(3);
    scenario.start_producer();
    let watermark = scenario.dir.path().join("watermark.json");
    // Looked at every 20 ms, not at `wait`'s pace: the kill must come mid-stream.
    let deadline = std::time::Instant::now() + CATCH_UP;
    while !watermark.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "producer never saved a watermark"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    scenario.kill_producer();
    let saved: Watermark =
        serde_json::from_str(&std::fs::read_to_string(&watermark).expect("watermark file"))
            .expect("a whole watermark, never a torn one");
    let written_before_restart = scenario.lines().len();
    assert!(
        written_before_restart < 30_000,
        "killed mid-stream, not after: {written_before_restart}"
    );
    scenario.update_products(&[5, 6, 7], 3).await;
    scenario.start_producer();
    scenario.wait_caught_up(CATCH_UP).await;
    assert!(
        scenario
            .log("producer.log")
            .contains(&format!("from {saved} ")),
        "resumed from the saved watermark {saved}"
    );
    scenario.stop_all_cleanly();
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
        scenario.names.table
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

    let letter = first_dead_letter(&scenario);
    assert_eq!(letter.key, Some(b"5".to_vec()));
    assert_eq!(letter.header(STAGE_HEADER), "producer.encode");
    let reason = letter.header(REASON_HEADER);
    assert!(reason.contains("`name` is NULL"), "{reason}");
    let origin = letter.header(ORIGIN_HEADER);
    assert_eq!(origin, format!("sluice.{} id=5", scenario.names.table));
    let payload: serde_json::Value =
        serde_json::from_slice(letter.payload.as_deref().expect("payload")).expect("JSON");
    assert_eq!(payload["id"], 5);
    assert!(payload["name"].is_null());
    scenario.stop_all_cleanly();
}

/// A row whose record is larger than the topic takes (a 2 MB name) cannot be published: it goes
/// to the dead-letter topic with its key and the reason, without its 2 MB, and the rows after it
/// still flow; nothing is retried forever.
#[tokio::test(flavor = "multi_thread")]
async fn a_row_too_large_for_the_topic_goes_to_the_dead_letter_topic() {
    let _serial = ONE_PIPELINE.lock().await;
    let mut scenario = Scenario::new("oversized", 6).await;
    scenario.insert_products(1..101, None).await;
    scenario.give_a_name_of(50, 2_000_000).await;
    scenario.start_consumers(1);
    scenario.start_producer();
    scenario.insert_products(101..201, None).await;

    // Clean means every row has its line, or its key in the dead-letter topic.
    let report = scenario.report_once_clean(CATCH_UP).await;
    assert_eq!(report["missing"]["count"], 0, "{report:#}");
    assert_eq!(report["rows"], 200, "{report:#}");
    assert_eq!(report["dead_lettered"]["count"], 1, "{report:#}");
    assert_eq!(
        report["dead_lettered"]["examples"][0]["id"], 50,
        "{report:#}"
    );

    let letter = first_dead_letter(&scenario);
    assert_eq!(letter.key, Some(b"50".to_vec()));
    assert_eq!(letter.header(STAGE_HEADER), "producer.encode");
    let reason = letter.header(REASON_HEADER);
    assert!(
        reason.contains("more than the") && reason.contains("max.message.bytes"),
        "{reason}"
    );
    let payload: serde_json::Value =
        serde_json::from_slice(letter.payload.as_deref().expect("payload")).expect("JSON");
    assert!(
        payload["omitted"]
            .as_str()
            .is_some_and(|s| s.contains("bytes")),
        "{payload}"
    );
    let codes = scenario.stop_all();
    assert!(
        codes.iter().all(|c| *c == Some(0)),
        "the producer kept running and stopped cleanly: {codes:?}"
    );
}

/// Bytes that are not in the Confluent wire format cannot be decoded: the consumer sends them
/// to the dead-letter topic with the stage, reason and origin, and keeps writing later records.
#[tokio::test(flavor = "multi_thread")]
async fn a_record_that_cannot_be_decoded_goes_to_the_dead_letter_topic() {
    let _serial = ONE_PIPELINE.lock().await;
    let mut scenario = Scenario::new("baddecode", 6).await;
    scenario.insert_products(1..11, None).await;
    scenario.start_consumers(1);
    scenario.start_producer();
    scenario.wait_caught_up(CATCH_UP).await;

    let (partition, offset) = scenario.send_raw("999", b"{\"not\":\"avro\"}").await;
    scenario.insert_products(11..21, None).await;
    scenario.wait_caught_up(CATCH_UP).await;

    let letter = first_dead_letter(&scenario);
    assert_eq!(letter.key, Some(b"999".to_vec()));
    assert_eq!(letter.header(STAGE_HEADER), "consumer.decode");
    assert!(
        letter
            .header(REASON_HEADER)
            .contains("not in the Confluent wire format"),
        "{}",
        letter.header(REASON_HEADER)
    );
    assert_eq!(
        letter.header(ORIGIN_HEADER),
        format!("{}/{partition}@{offset}", scenario.names.topic)
    );
    assert_eq!(
        letter.payload.as_deref(),
        Some(&b"{\"not\":\"avro\"}"[..]),
        "the original bytes are kept"
    );
    scenario.stop_all_cleanly();
}

/// A topic with another partition count would move keys to other partitions: the producer
/// refuses it and says why, instead of breaking per-product order.
#[tokio::test(flavor = "multi_thread")]
async fn a_topic_with_another_partition_count_is_refused() {
    let _serial = ONE_PIPELINE.lock().await;
    let mut scenario = Scenario::new("wrongpartitions", 6).await;
    sluice_common::kafka::ensure_topic(&scenario.settings.kafka, &scenario.names.topic, 3, false)
        .await
        .expect("create a 3-partition topic");
    scenario.start_producer();
    let codes = scenario.stop_all_after(Duration::from_secs(60));
    assert_eq!(codes, [Some(1)], "exits with an error");
    let log = scenario.log("producer.log");
    assert!(
        log.contains("has 3 partitions but kafka.partitions is 10"),
        "{log}"
    );
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

/// A dead letter as read back from the topic.
struct Letter {
    key: Option<Vec<u8>>,
    payload: Option<Vec<u8>>,
    headers: Vec<(String, String)>,
}

impl Letter {
    fn header(&self, name: &str) -> String {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .unwrap_or_default()
    }
}

/// The first record of the scenario's dead-letter topic, waiting up to 30 s for it.
fn first_dead_letter(scenario: &Scenario) -> Letter {
    let consumer: BaseConsumer = client_config(&scenario.settings.kafka)
        .set(
            "group.id",
            format!("{}-inspector", scenario.names.dlq_topic),
        )
        .create()
        .expect("consumer");
    let mut assignment = TopicPartitionList::new();
    for partition in 0..scenario.settings.kafka.partitions {
        assignment
            .add_partition_offset(&scenario.names.dlq_topic, partition, Offset::Beginning)
            .expect("assignment");
    }
    consumer.assign(&assignment).expect("assign");
    let message = (0..60)
        .find_map(|_| consumer.poll(Duration::from_millis(500)))
        .expect("a dead letter within 30 s")
        .expect("no error");
    Letter {
        key: message.key().map(<[u8]>::to_vec),
        payload: message.payload().map(<[u8]>::to_vec),
        headers: message
            .headers()
            .map(|headers| {
                headers
                    .iter()
                    .map(|h| {
                        (
                            h.key.to_owned(),
                            String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}
