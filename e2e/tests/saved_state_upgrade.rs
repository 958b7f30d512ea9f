//! An upgrade keeps its place: the watermark file, the watermark topic's record and the
//! published-keys checkpoint written by the producer before keys other than integers existed
//! (`e2e/fixtures/saved_state`, made by that producer's own code) are read by today's with their
//! meaning unchanged. The fixtures stand at row 150 of `2026-12-06T00:00:00Z` with keys 1 to 150
//! published; the table holds rows 1 to 200 at that time and 201 to 300 later, and rows 10 and
//! 20 are deleted before the start. The new producer must publish rows 151 to 300 and no earlier
//! one (the watermark read as it was meant), and tombstones for 10 and 20, which only the
//! checkpoint's keys say were ever published.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use rdkafka::message::Message as _;
use rdkafka::producer::{FutureProducer, FutureRecord};
use sluice_common::kafka::client_config;
use sluice_common::kafka::topic_reader::read_to_end;
use sluice_e2e::repo_root;
use sluice_e2e::scenario::{tail, Scenario};
use sluice_e2e::wait::{self, CATCH_UP};

/// Rows sharing the fixtures' time; the fixtures stand at row 150 of them.
const AT_THE_MARK: i32 = 200;
/// Rows in all.
const ROWS: i32 = 300;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(repo_root().join("e2e/fixtures/saved_state").join(name)).expect("fixture")
}

/// The table of the story, the sweep every second.
async fn scenario(tag: &str) -> Scenario {
    let mut scenario = Scenario::new(tag, 6).await;
    let table = scenario.names.table.clone();
    sqlx::query(&format!(
        "INSERT INTO `{table}` (id, name, category, price, last_updated) \
         SELECT seq, CONCAT('p', seq), 'books', 1.5, \
                IF(seq <= {AT_THE_MARK}, '2026-12-06 00:00:00', NOW(6) - INTERVAL 1 SECOND) \
         FROM seq_1_to_{ROWS}"
    ))
    .execute(&scenario.pool)
    .await
    .expect("the rows");
    sqlx::query(&format!("DELETE FROM `{table}` WHERE id IN (10, 20)"))
        .execute(&scenario.pool)
        .await
        .expect("two rows deleted while the producer was away");
    scenario.with_setting("producer.delete_sweep_interval_secs=1");
    scenario.settings = scenario.settings_now();
    scenario
}

/// The checkpoint fixture with the scenario's topic in its header; its keys' bytes unchanged.
fn install_checkpoint(scenario: &Scenario) {
    let bytes = fixture("producer.watermark.keys");
    let header_starts = bytes.iter().position(|&b| b == b'\n').expect("magic line") + 1;
    let header_ends = header_starts
        + bytes[header_starts..]
            .iter()
            .position(|&b| b == b'\n')
            .expect("header line");
    let header = String::from_utf8(bytes[header_starts..header_ends].to_vec()).expect("utf-8");
    let header = header.replace(
        "\"product_updates\"",
        &format!("\"{}\"", scenario.names.topic),
    );
    let mut rewritten = bytes[..header_starts].to_vec();
    rewritten.extend_from_slice(header.as_bytes());
    rewritten.extend_from_slice(&bytes[header_ends..]);
    let keys = Path::new(&scenario.settings.producer.watermark_file).with_extension("keys");
    std::fs::create_dir_all(keys.parent().expect("folder")).expect("folder");
    std::fs::write(keys, rewritten).expect("checkpoint installed");
}

/// Waits for the rows after the mark and the two tombstones, then checks nothing else came.
async fn assert_resumed_at_the_mark(scenario: &mut Scenario) {
    let want_rows: BTreeSet<i32> = (151..=ROWS).collect();
    let want_tombstones: BTreeSet<i32> = [10, 20].into();
    let (rows, tombstones) = wait::until(
        "rows 151 to 300 and the tombstones of rows 10 and 20",
        CATCH_UP,
        || {
            let (rows, tombstones) = topic_keys(scenario);
            (rows.is_superset(&want_rows) && tombstones.is_superset(&want_tombstones))
                .then_some((rows, tombstones))
        },
        || {
            let (rows, tombstones) = topic_keys(scenario);
            format!(
                "{} rows, tombstones {tombstones:?}\nproducer log:\n{}",
                rows.len(),
                tail(&scenario.log("producer.log"), 20)
            )
        },
    )
    .await;
    assert_eq!(
        scenario.stop_producer(),
        Some(0),
        "the producer stops cleanly"
    );
    let log = tail(&scenario.log("producer.log"), 20);
    assert_eq!(
        rows, want_rows,
        "no row at or before the mark is sent again; producer log:\n{log}"
    );
    assert_eq!(
        tombstones, want_tombstones,
        "the checkpoint's keys were read"
    );
    assert!(
        scenario
            .log("producer.log")
            .contains("2026-12-06T00:00:00.000000Z key 150"),
        "the producer says where it resumes:\n{}",
        tail(&scenario.log("producer.log"), 20)
    );
}

/// The keys of the records topic's rows and tombstones.
fn topic_keys(scenario: &Scenario) -> (BTreeSet<i32>, BTreeSet<i32>) {
    let (mut rows, mut tombstones) = (BTreeSet::new(), BTreeSet::new());
    read_to_end(
        &scenario.settings.kafka,
        &scenario.names.topic,
        Duration::from_secs(30),
        |message| {
            let key: i32 = String::from_utf8_lossy(message.key().unwrap_or_default())
                .parse()
                .expect("an integer key");
            match message.payload() {
                Some(_) => rows.insert(key),
                None => tombstones.insert(key),
            };
        },
    )
    .expect("the records topic read");
    (rows, tombstones)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_watermark_file_and_key_checkpoint_of_the_integer_only_producer_are_read() {
    let mut scenario = scenario("saved_file").await;
    let watermark = &scenario.settings.producer.watermark_file;
    std::fs::create_dir_all(Path::new(watermark).parent().expect("folder")).expect("folder");
    std::fs::write(watermark, fixture("producer.watermark.json")).expect("watermark installed");
    install_checkpoint(&scenario);
    scenario.start_producer();
    assert_resumed_at_the_mark(&mut scenario).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_watermark_record_of_the_integer_only_producer_is_read_under_exactly_once() {
    let mut scenario = scenario("saved_topic").await;
    scenario.with_setting("producer.exactly_once=true");
    scenario.settings = scenario.settings_now();
    let settings = &scenario.settings;
    let key = settings
        .producer
        .transactional_id_for(&scenario.names.topic);
    let watermarks = settings.kafka.watermark_topic_name();
    sluice_common::kafka::ensure_compacted_topic(&settings.kafka, &watermarks)
        .await
        .expect("the watermark topic");
    let producer: FutureProducer = client_config(&settings.kafka)
        .create()
        .expect("a Kafka producer");
    let value = fixture("watermark-record.json");
    producer
        .send(
            FutureRecord::to(&watermarks).key(&key).payload(&value),
            Duration::from_secs(30),
        )
        .await
        .map_err(|(error, _)| error)
        .expect("the watermark record written");
    install_checkpoint(&scenario);
    scenario.start_producer();
    assert_resumed_at_the_mark(&mut scenario).await;
}
