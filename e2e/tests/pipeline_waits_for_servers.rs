//! Servers that are down when the pipeline starts are waited for, with a log line saying what
//! is awaited, and the pipeline makes progress once they are back. These tests stop services of
//! the shared stack, so they run one at a time and always bring the stack back up.

use std::time::Duration;

use sluice_e2e::scenario::Scenario;
use sluice_e2e::wait::CATCH_UP;
use sluice_e2e::{stack, stack_ok};

static STACK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Brings every service back even when the test fails half-way.
struct RestoreStack;

impl Drop for RestoreStack {
    fn drop(&mut self) {
        let _ = stack(&["up"]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_registry_at_start_is_waited_for() {
    let _serial = STACK.lock().await;
    let _restore = RestoreStack;
    let mut scenario = Scenario::new("noregistry", 6).await;
    scenario.insert_products(1..101, None).await;
    stack_ok(&["stop", "registry"]);
    scenario.start_consumers(1);
    scenario.start_producer();
    // Three rounds of the producer's wait: 0.5 s, 1 s, 2 s.
    scenario
        .wait_for_log(
            "producer.log",
            "waiting for the schema registry at",
            3,
            Duration::from_secs(60),
        )
        .await;
    // One wait, not one nested in another: each round is one try and one line, at the pauses
    // of the producer's own policy.
    let waits: Vec<String> = scenario
        .log("producer.log")
        .lines()
        .filter(|line| line.contains("waiting for the schema registry at"))
        .map(str::to_owned)
        .collect();
    assert!(waits.len() >= 3, "three rounds waited: {waits:#?}");
    let pauses: Vec<&str> = waits
        .iter()
        .filter_map(|line| line.rsplit("retrying in ").next())
        .collect();
    assert_eq!(
        pauses[..3],
        ["0.5s", "1.0s", "2.0s"],
        "the producer's own pauses, none of a nested retry: {waits:#?}"
    );
    stack_ok(&["start", "registry"]);
    scenario.wait_caught_up(CATCH_UP).await;
    scenario.stop_all_cleanly();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_kafka_at_start_is_waited_for() {
    let _serial = STACK.lock().await;
    let _restore = RestoreStack;
    let mut scenario = Scenario::new("nokafka", 6).await;
    scenario.insert_products(1..101, None).await;
    stack_ok(&["stop", "registry"]);
    stack_ok(&["stop", "kafka"]);
    scenario.start_consumers(1);
    scenario.start_producer();
    scenario
        .wait_for_log(
            "producer.log",
            "waiting for Kafka at",
            1,
            Duration::from_secs(60),
        )
        .await;
    scenario
        .wait_for_log(
            "consumer-1.log",
            "waiting for Kafka at",
            1,
            Duration::from_secs(60),
        )
        .await;
    // Every wait that is logged is counted too.
    for log in ["producer.log", "consumer-1.log"] {
        let errors = scenario.metric(log, "sluice_errors_total").await;
        assert!(
            errors.is_some_and(|count| count >= 1.0),
            "{log}: waits for Kafka were logged but sluice_errors_total is {errors:?}"
        );
    }
    stack_ok(&["up"]);
    scenario.wait_caught_up(CATCH_UP).await;
    scenario.stop_all_cleanly();
}

/// Records that reach no partition leader within `message.timeout.ms` (here 3 s, Kafka being
/// down) make the producer go on with a new Kafka client, as it must when librdkafka keeps a
/// partition without its leader; once Kafka is back every row arrives.
#[tokio::test(flavor = "multi_thread")]
async fn a_producer_whose_records_time_out_goes_on_with_a_new_client() {
    records_time_out_then_kafka_returns("msgtimeout", false).await;
}

/// The same exactly once: the transaction left open is not aborted by the stuck client (the
/// abort would wait on it) but by the new one registering the transactional id.
#[tokio::test(flavor = "multi_thread")]
async fn exactly_once_a_producer_whose_records_time_out_goes_on_with_a_new_client() {
    records_time_out_then_kafka_returns("eos_msgtimeout", true).await;
}

async fn records_time_out_then_kafka_returns(tag: &str, exactly_once: bool) {
    let _serial = STACK.lock().await;
    let _restore = RestoreStack;
    let mut scenario = Scenario::new(tag, 6).await;
    scenario.with_setting(&format!("producer.exactly_once={exactly_once}"));
    scenario.with_setting(&format!("consumer.exactly_once={exactly_once}"));
    scenario.insert_products(1..1001, None).await;
    scenario.start_consumers(1);
    scenario.start_producer_with(&[("SLUICE_MESSAGE_TIMEOUT_MS", "3000")]);
    scenario.wait_caught_up(CATCH_UP).await;
    stack_ok(&["stop", "kafka"]);
    scenario.update_products(&[1, 2, 3], 1).await;
    scenario
        .wait_for_log(
            "producer.log",
            "a new Kafka client goes on",
            1,
            Duration::from_secs(60),
        )
        .await;
    stack_ok(&["start", "kafka"]);
    scenario.wait_caught_up(CATCH_UP).await;
    let codes = scenario.stop_all();
    assert!(codes.iter().all(|c| *c == Some(0)), "{codes:?}");
    if exactly_once {
        scenario.assert_exactly_once(1_000);
    }
}
