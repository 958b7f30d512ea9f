//! Poison records written into the topic by something other than sluice: thousands under a
//! schema id the registry lacks, bytes that are not the wire format, and records that do not
//! match their schema. Each goes to the dead-letter topic with its reason within seconds, and
//! the members keep writing the good records around them.

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use sluice_common::dead_letter::{REASON_HEADER, STAGE_HEADER};
use sluice_common::kafka::client_config;
use sluice_e2e::scenario::Scenario;
use sluice_e2e::wait::{until, CATCH_UP};

const PRODUCTS: i32 = 2_000;
const UNKNOWN_ID_RECORDS: usize = 10_000;
const GARBAGE_RECORDS: usize = 100;
const MISMATCHED_RECORDS: usize = 100;
/// How soon every poison record must be in the dead-letter topic once sent.
const DEAD_LETTERED_WITHIN: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread")]
async fn poison_records_are_dead_lettered_within_seconds_and_good_ones_keep_flowing() {
    let mut scenario = Scenario::new("poison", 6).await;
    scenario.insert_products(1..PRODUCTS + 1, None).await;
    scenario.start_consumers(2);
    scenario.start_producer();
    scenario.wait_caught_up(CATCH_UP).await;

    let header = first_record_header(&scenario);
    let producer: FutureProducer = client_config(&scenario.settings.kafka)
        .set("linger.ms", "5")
        .create()
        .expect("producer");
    let mut unknown_id = vec![0, 0x00, 0x0f, 0x42, 0x3f];
    unknown_id.extend_from_slice(&[2, 4, 6]);
    let mut mismatched = header.to_vec();
    mismatched.push(0x81);
    let poison: Vec<(String, Vec<u8>)> = (0..UNKNOWN_ID_RECORDS)
        .map(|n| (format!("unknown-{n}"), unknown_id.clone()))
        .chain(
            (0..GARBAGE_RECORDS).map(|n| (format!("garbage-{n}"), b"{\"not\":\"avro\"}".to_vec())),
        )
        .chain((0..MISMATCHED_RECORDS).map(|n| (format!("mismatched-{n}"), mismatched.clone())))
        .collect();
    let sent = Instant::now();
    let deliveries: Vec<_> = poison
        .iter()
        .map(|(key, payload)| {
            producer
                .send_result(
                    FutureRecord::to(&scenario.names.topic)
                        .key(key)
                        .payload(payload),
                )
                .map_err(|(error, _)| error)
        })
        .collect();
    producer
        .flush(Duration::from_secs(30))
        .expect("poison sent");
    for delivery in deliveries {
        delivery
            .expect("queued")
            .await
            .expect("delivered")
            .map_err(|(e, _)| e)
            .expect("acknowledged");
    }
    // Good records right behind the poison, on every partition.
    scenario
        .update_products(&(1..PRODUCTS + 1).collect::<Vec<_>>(), 2)
        .await;

    let expected = (UNKNOWN_ID_RECORDS + GARBAGE_RECORDS + MISMATCHED_RECORDS) as i64;
    let dead = until(
        "every poison record dead-lettered",
        DEAD_LETTERED_WITHIN,
        || {
            let dead = dead_letter_count(&scenario);
            (dead >= expected).then_some(dead)
        },
        || format!("{} of {expected}", dead_letter_count(&scenario)),
    )
    .await;
    assert_eq!(
        dead,
        expected,
        "every poison record dead-lettered within {DEAD_LETTERED_WITHIN:?} (after {:?})",
        sent.elapsed()
    );
    scenario.wait_caught_up(CATCH_UP).await;

    let reasons = dead_letter_reasons(&scenario);
    for (prefix, reason) in [
        ("unknown-", "schema id 999999 is not in the registry"),
        ("garbage-", "not in the Confluent wire format"),
        ("mismatched-", "does not match writer schema id"),
    ] {
        let matching: Vec<&(String, String, String)> = reasons
            .iter()
            .filter(|(key, _, _)| key.starts_with(prefix))
            .collect();
        assert!(!matching.is_empty(), "{prefix} records dead-lettered");
        for (key, stage, text) in matching {
            assert_eq!(stage, "consumer.decode", "{key}");
            assert!(text.contains(reason), "{key}: {text}");
        }
    }
    let codes = scenario.stop_all();
    assert!(codes.iter().all(|c| *c == Some(0)), "{codes:?}");
    let (code, report) = scenario.verify();
    assert_eq!(code, 0, "the good records are all there: {report:#}");
    assert_eq!(report["dead_letters"], expected, "{report:#}");
}

/// The wire-format header (magic byte and schema id) of the first record sluice wrote.
fn first_record_header(scenario: &Scenario) -> [u8; 5] {
    let consumer = reader(scenario, &scenario.names.topic);
    let message = (0..60)
        .find_map(|_| consumer.poll(Duration::from_millis(500)))
        .expect("a record within 30 s")
        .expect("no error");
    let payload = message.payload().expect("a value");
    let mut header = [0; 5];
    header.copy_from_slice(&payload[..5]);
    header
}

fn reader(scenario: &Scenario, topic: &str) -> BaseConsumer {
    let consumer: BaseConsumer = client_config(&scenario.settings.kafka)
        .set("group.id", format!("{topic}-inspector"))
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut assignment = TopicPartitionList::new();
    for partition in 0..scenario.settings.kafka.partitions {
        assignment
            .add_partition_offset(topic, partition, Offset::Beginning)
            .expect("assignment");
    }
    consumer.assign(&assignment).expect("assign");
    consumer
}

/// Records in the dead-letter topic (none is transactional: the high marks count them).
fn dead_letter_count(scenario: &Scenario) -> i64 {
    let consumer = reader(scenario, &scenario.names.dlq_topic);
    (0..scenario.settings.kafka.partitions)
        .map(|partition| {
            consumer
                .fetch_watermarks(
                    &scenario.names.dlq_topic,
                    partition,
                    Duration::from_secs(10),
                )
                .map(|(low, high)| high - low)
                .unwrap_or(0)
        })
        .sum()
}

/// Key, stage and reason of every dead letter.
fn dead_letter_reasons(scenario: &Scenario) -> Vec<(String, String, String)> {
    let expected = dead_letter_count(scenario);
    let consumer = reader(scenario, &scenario.names.dlq_topic);
    let mut letters = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while (letters.len() as i64) < expected && Instant::now() < deadline {
        let Some(message) = consumer.poll(Duration::from_millis(500)) else {
            continue;
        };
        let message = message.expect("no error");
        let header = |name: &str| {
            message
                .headers()
                .and_then(|h| h.iter().find(|h| h.key == name).and_then(|h| h.value))
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .unwrap_or_default()
        };
        letters.push((
            String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned(),
            header(STAGE_HEADER),
            header(REASON_HEADER),
        ));
    }
    letters
}
