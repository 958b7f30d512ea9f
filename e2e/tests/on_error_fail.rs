//! `on_error = "fail"`: a record that cannot be processed stops the process with its reason
//! instead of going to the dead-letter topic, and nothing after it is processed; what came
//! before it on the consumer side is committed and written.

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use sluice_common::kafka::client_config;
use sluice_common::kafka::topic_reader::read_to_end;
use sluice_e2e::scenario::{tail, Scenario};
use sluice_e2e::wait::CATCH_UP;

const EXIT_PATIENCE: Duration = Duration::from_secs(60);

static ONE_PIPELINE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A row too large for the topic stops the producer with the row's key and the reason; no
/// dead letter is sent, and the row is not published.
#[tokio::test(flavor = "multi_thread")]
async fn a_row_too_large_stops_the_producer_naming_the_row() {
    let _serial = ONE_PIPELINE.lock().await;
    let mut scenario = Scenario::new("failrow", 6).await;
    scenario.with_setting("producer.on_error=fail");
    scenario.insert_products(1..101, None).await;
    scenario.give_a_name_of(50, 2_000_000).await;
    scenario.start_producer();
    let code = scenario.wait_for_producer_exit(EXIT_PATIENCE);
    let log = scenario.log("producer.log");
    assert!(
        matches!(code, Some(c) if c != 0),
        "the producer stopped by itself, with a failure: {code:?}\n{}",
        tail(&log, 20)
    );
    assert!(
        log.contains("id=50 cannot be published")
            && log.contains("max.message.bytes")
            && log.contains("on_error"),
        "the log names the row, the reason and the setting:\n{}",
        tail(&log, 20)
    );
    let mut dead_letters = 0;
    read_to_end(
        &scenario.settings.kafka,
        &scenario.names.dlq_topic,
        Duration::from_secs(30),
        |_| dead_letters += 1,
    )
    .expect("dead-letter topic read");
    assert_eq!(dead_letters, 0, "nothing dead-lettered");
}

/// Bytes that are not in the wire format stop the member with the record's origin; the records
/// before it are written and committed, and its own offset is not.
#[tokio::test(flavor = "multi_thread")]
async fn a_record_that_cannot_be_decoded_stops_the_member_after_committing_the_rest() {
    let _serial = ONE_PIPELINE.lock().await;
    let mut scenario = Scenario::new("failrecord", 6).await;
    scenario.with_setting("consumer.on_error=fail");
    scenario.insert_products(1..21, None).await;
    scenario.start_consumers(1);
    scenario.start_producer();
    scenario.wait_caught_up(CATCH_UP).await;

    let (partition, offset) = scenario.send_raw("999", b"{\"not\":\"avro\"}").await;
    let status = scenario
        .wait_for_consumer_exit(1, EXIT_PATIENCE)
        .expect("the member stopped by itself");
    let log = scenario.log("consumer-1.log");
    assert!(!status.success(), "with a failure: {status}");
    let origin = format!("{}/{partition}@{offset}", scenario.names.topic);
    assert!(
        log.contains(&origin) && log.contains("cannot be written") && log.contains("on_error"),
        "the log names the record {origin}, the reason and the setting:\n{}",
        tail(&log, 20)
    );
    assert_eq!(
        scenario.lines().len(),
        20,
        "every product before it written"
    );
    assert_eq!(
        committed(&scenario, partition),
        offset,
        "the records before it committed, the record itself not"
    );
    let codes = scenario.stop_all();
    assert_eq!(
        codes.first().copied().flatten(),
        Some(0),
        "producer: {codes:?}"
    );
}

/// The group's committed offset of `partition`.
fn committed(scenario: &Scenario, partition: i32) -> i64 {
    let consumer: BaseConsumer = client_config(&scenario.settings.kafka)
        .set("group.id", &scenario.names.group)
        .create()
        .expect("observer");
    let mut list = TopicPartitionList::new();
    list.add_partition(&scenario.names.topic, partition);
    let committed = consumer
        .committed_offsets(list, Duration::from_secs(10))
        .expect("committed offsets");
    match committed
        .find_partition(&scenario.names.topic, partition)
        .map(|p| p.offset())
    {
        Some(Offset::Offset(n)) => n,
        other => panic!("no committed offset for partition {partition}: {other:?}"),
    }
}
