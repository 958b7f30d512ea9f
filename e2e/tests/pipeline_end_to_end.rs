//! The mission end to end: rows changed in MariaDB reach the consumers' JSON files, transformed,
//! with nothing missing, through 10 partitions and a group of 5 members.

use std::collections::HashMap;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use sluice_common::kafka::client_config;
use sluice_e2e::kafka_tool;
use sluice_e2e::murmur2::java_partition;
use sluice_e2e::scenario::Scenario;
use sluice_e2e::wait::CATCH_UP;

const PRODUCTS: i32 = 20_000;

/// These tests each run a full pipeline; one at a time keeps the machine's two cores sane.
static ONE_PIPELINE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread")]
async fn every_product_arrives_transformed_with_microsecond_timestamps() {
    let _serial = ONE_PIPELINE.lock().await;
    run_catalogue(6).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_product_arrives_transformed_with_whole_second_timestamps() {
    let _serial = ONE_PIPELINE.lock().await;
    run_catalogue(0).await;
}

async fn run_catalogue(precision: u8) {
    let mut scenario = Scenario::new(&format!("catalogue{precision}"), precision).await;
    // Half the catalogue shares one timestamp: pages of 1000 must walk through the tie by id.
    scenario
        .insert_products(0..PRODUCTS / 2, Some("2026-01-01 00:00:00"))
        .await;
    scenario.insert_products(PRODUCTS / 2..PRODUCTS, None).await;
    scenario.start_consumers(5);
    scenario.start_producer();

    // Updates while the pipeline runs, several rounds of the same products, so the order of
    // lines per product is tested too.
    for round in 1..=3 {
        let ids: Vec<i32> = (0..PRODUCTS).filter(|id| id % 7 == round % 7).collect();
        for chunk in ids.chunks(500) {
            scenario.update_products(chunk, round).await;
        }
        // Rounds apart in time, as a shop's updates come: the scenario, not a wait.
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    scenario.wait_caught_up(CATCH_UP).await;

    let expected = scenario.expected().await;
    assert_eq!(expected.len(), PRODUCTS as usize, "every row is valid");
    assert_lines_follow_update_order(&scenario);
    assert_every_member_wrote(&scenario, 5);
    assert_every_partition_has_records(&scenario, 10);
    assert_keys_are_partitioned_like_java_clients(&scenario, 10);
    assert_group_has_five_members_and_no_lag(&scenario).await;

    let codes = scenario.stop_all();
    assert!(
        codes.iter().all(|c| *c == Some(0)),
        "clean exits on SIGTERM: {codes:?}"
    );
}

/// Within each file, a product's lines never go back in time.
fn assert_lines_follow_update_order(scenario: &Scenario) {
    let mut last_seen: HashMap<(String, i64), String> = HashMap::new();
    for (file, number, line) in scenario.lines() {
        let id = line["id"].as_i64().expect("id");
        let at = line["last_updated"]
            .as_str()
            .expect("last_updated")
            .to_owned();
        if let Some(previous) = last_seen.get(&(file.clone(), id)) {
            assert!(
                *previous <= at,
                "{file}:{number}: id {id} went back from {previous} to {at}"
            );
        }
        last_seen.insert((file, id), at);
    }
}

fn assert_every_member_wrote(scenario: &Scenario, members: u32) {
    let lines = scenario.lines();
    for n in 1..=members {
        let file = format!("consumer-{n}.jsonl");
        let count = lines.iter().filter(|(f, _, _)| *f == file).count();
        assert!(count > 0, "{file} has no lines");
    }
}

fn assert_every_partition_has_records(scenario: &Scenario, partitions: i32) {
    let consumer: BaseConsumer = client_config(&scenario.settings.kafka)
        .create()
        .expect("consumer");
    for partition in 0..partitions {
        let (low, high) = consumer
            .fetch_watermarks(&scenario.names.topic, partition, Duration::from_secs(10))
            .expect("watermarks");
        assert!(
            high > low,
            "partition {partition} of {} got no records",
            scenario.names.topic
        );
    }
}

/// Every key is on the partition a Java client's default partitioner would choose, so other
/// producers of the same topic keep each product's updates together.
fn assert_keys_are_partitioned_like_java_clients(scenario: &Scenario, partitions: i32) {
    let consumer: BaseConsumer = client_config(&scenario.settings.kafka)
        .set("group.id", format!("{}-inspector", scenario.names.topic))
        .create()
        .expect("consumer");
    let mut assignment = TopicPartitionList::new();
    for partition in 0..partitions {
        assignment
            .add_partition_offset(&scenario.names.topic, partition, Offset::Beginning)
            .expect("assignment");
    }
    consumer.assign(&assignment).expect("assign");
    let mut checked = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while checked < 2000 && std::time::Instant::now() < deadline {
        let Some(message) = consumer.poll(Duration::from_millis(100)) else {
            continue;
        };
        let message = message.expect("no error");
        let key = message.key().expect("every record has a key");
        assert_eq!(
            message.partition(),
            java_partition(key, partitions),
            "key {} is not on its Java partition",
            String::from_utf8_lossy(key)
        );
        assert_eq!(
            &message.payload().expect("payload")[..1],
            &[0],
            "Confluent magic byte"
        );
        checked += 1;
    }
    assert_eq!(checked, 2000, "records read back to check");
}

/// The group's committed offsets (read with rdkafka, as any client would) reach the end of
/// every partition, and Kafka's own tool shows the five static members.
async fn assert_group_has_five_members_and_no_lag(scenario: &Scenario) {
    let bootstrap = scenario.settings.kafka.bootstrap_servers.clone();
    let mut lags = Vec::new();
    for _ in 0..30 {
        lags = group_lags(scenario);
        if lags.len() == 10 && lags.iter().all(|(_, lag)| *lag == 0) {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert_eq!(lags.len(), 10, "a committed offset per partition: {lags:?}");
    assert!(
        lags.iter().all(|(_, lag)| *lag == 0),
        "lag not zero (partition, end less committed offset): {lags:?}"
    );

    let members = kafka_tool(&[
        "consumer-groups",
        "--bootstrap-server",
        &bootstrap,
        "--describe",
        "--members",
        "--group",
        &scenario.names.group,
    ]);
    let member_rows = members
        .lines()
        .filter(|l| l.contains("sluice-consumer-"))
        .count();
    assert_eq!(member_rows, 5, "{members}");
}

/// Each partition's end (its last stable offset, read committed) less the offset the group
/// committed for it; a partition with no committed offset counts its whole end.
fn group_lags(scenario: &Scenario) -> Vec<(i32, i64)> {
    let topic = &scenario.names.topic;
    let consumer: BaseConsumer = client_config(&scenario.settings.kafka)
        .set("group.id", &scenario.names.group)
        .create()
        .expect("a client of the group (it does not join)");
    let mut partitions = TopicPartitionList::new();
    for partition in 0..scenario.settings.kafka.partitions {
        partitions.add_partition(topic, partition);
    }
    let committed = consumer
        .committed_offsets(partitions, Duration::from_secs(10))
        .expect("the group's committed offsets");
    committed
        .elements()
        .iter()
        .map(|element| {
            let (_, end) = consumer
                .fetch_watermarks(topic, element.partition(), Duration::from_secs(10))
                .expect("the partition's end");
            let at = match element.offset() {
                Offset::Offset(at) => at,
                _ => 0,
            };
            (element.partition(), end - at)
        })
        .collect()
}
