//! Exactly-once writing (`consumer.exactly_once`, with `producer.exactly_once`): members killed
//! at random while records flow, members stopped exactly inside each window of the commit
//! protocol (crash points), and a member paused past its session timeout while its partitions
//! move; a member whose consumer stops fetching (as a librdkafka client that lost a partition's
//! leader for good does) and renews it; a member whose commit never finishes and replaces its
//! producer; every row version is in the files once, and no line is torn. `sluice-verify`
//! judges.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sluice_e2e::load::{test_seed, Load};
use sluice_e2e::scenario::Scenario;
use sluice_e2e::wait::{self, CATCH_UP};

const PRODUCTS: i32 = 50_000;

static ONE_PIPELINE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn exactly_once_scenario(tag: &str) -> Scenario {
    let mut scenario = Scenario::new(tag, 6).await;
    scenario.with_setting("producer.exactly_once=true");
    scenario.with_setting("consumer.exactly_once=true");
    scenario.insert_products(1..PRODUCTS + 1, None).await;
    scenario
}

#[tokio::test(flavor = "multi_thread")]
async fn members_killed_ten_times_write_each_row_version_once() {
    let _serial = ONE_PIPELINE.lock().await;
    let seed = test_seed();
    println!("faults from seed {seed} (SLUICE_TEST_SEED={seed} replays them)");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut scenario = exactly_once_scenario("eos_member_kill").await;
    scenario.start_consumers(5);
    scenario.start_producer();
    let load = Load::start(&scenario.pool, &scenario.names.table, PRODUCTS, seed);
    // Kills at random moments: the waits are the scenario.
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(rng.random_range(500..2_500))).await;
        let member = rng.random_range(1..=5);
        scenario.kill_consumer(member);
        tokio::time::sleep(Duration::from_millis(rng.random_range(100..1_500))).await;
        scenario.restart_consumer(member, &[]);
    }
    let updates = load.stop().await;
    scenario.wait_caught_up(CATCH_UP).await;
    // A member started again right after a kill is refused by the group until its previous
    // instance's session times out; it must join again by itself, not sit idle.
    for member in 1..=5 {
        let name = format!("consumer-{member}.log");
        wait::until(
            &format!("consumer-{member} to get partitions after its last start"),
            Duration::from_secs(60),
            || {
                let log = scenario.log(&name);
                let last_start = log.rfind("joined group").unwrap_or(0);
                log[last_start..].contains(": assigned [").then_some(())
            },
            || sluice_e2e::scenario::tail(&scenario.log(&name), 20),
        )
        .await;
    }
    let codes = scenario.stop_all();
    assert!(codes.iter().all(|c| *c == Some(0)), "{codes:?}");
    assert!(updates >= 10_000, "the load ran: {updates} updates");
    scenario.assert_exactly_once(PRODUCTS as u64 + 10_000);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_stopped_inside_each_window_of_a_commit_writes_each_row_version_once() {
    let _serial = ONE_PIPELINE.lock().await;
    let mut scenario = exactly_once_scenario("eos_crash_points").await;
    scenario.start_consumers(2);
    scenario.start_producer();
    let load = Load::start(&scenario.pool, &scenario.names.table, PRODUCTS, test_seed());
    for point in ["after-batch-file", "after-commit", "mid-append"] {
        scenario.crash_consumer_at(1, point);
    }
    scenario.kill_consumer(1);
    scenario.restart_consumer(1, &[]);
    let updates = load.stop().await;
    scenario.wait_caught_up(CATCH_UP).await;
    let log = scenario.log("consumer-1.log");
    assert!(
        log.contains("was not committed before the last stop")
            && log.contains("was committed before the last stop"),
        "each start settled the batch its crash left:\n{}",
        sluice_e2e::scenario::tail(&log, 40)
    );
    let codes = scenario.stop_all();
    assert!(codes.iter().all(|c| *c == Some(0)), "{codes:?}");
    assert!(updates >= 1_000, "the load ran: {updates} updates");
    scenario.assert_exactly_once(PRODUCTS as u64);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_paused_past_its_session_timeout_writes_nothing_twice() {
    let _serial = ONE_PIPELINE.lock().await;
    let mut scenario = exactly_once_scenario("eos_sigstop").await;
    scenario.start_consumers(3);
    scenario.start_producer();
    let load = Load::start(&scenario.pool, &scenario.names.table, PRODUCTS, test_seed());
    scenario.wait_group_settled(3, 10).await;
    load.wait_for(3_000).await;
    // The stack's session timeout is 15 s: its partitions go to the other two meanwhile. The
    // pause past it is the scenario.
    scenario.signal_consumer(2, "STOP");
    tokio::time::sleep(Duration::from_secs(22)).await;
    scenario.signal_consumer(2, "CONT");
    // Updates go on while the member comes back.
    load.wait_for(5_000).await;
    load.wait_for_total(20_000).await;
    let updates = load.stop().await;
    scenario.wait_caught_up(CATCH_UP).await;
    let codes = scenario.stop_all();
    assert!(codes.iter().all(|c| *c == Some(0)), "{codes:?}");
    assert!(updates >= 20_000, "the load ran: {updates} updates");
    scenario.assert_exactly_once(PRODUCTS as u64 + 20_000);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_that_stops_receiving_renews_its_consumer_and_writes_each_row_version_once() {
    // After 10 000 records its consumer fetches nothing more; records wait on its partitions.
    fetching_frozen_then_renewed("eos_fetch_stall", "pause", "wait on its partitions").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_left_owning_no_partition_renews_its_consumer_and_writes_each_row_version_once() {
    // After 10 000 records its consumer drops its subscription: it owns nothing, the group keeps
    // its partitions for it, and nobody reads the records waiting there.
    fetching_frozen_then_renewed("eos_unclaimed", "unsubscribe", "it owns no partition while")
        .await;
}

/// One member whose fetching a test freezes (`SLUICE_FREEZE_FETCH_BY=how`) after 10 000 records
/// notices within seconds (`SLUICE_FETCH_STALL_SECONDS`), says so (`said`), renews its consumer
/// and writes every row version once.
async fn fetching_frozen_then_renewed(tag: &str, how: &str, said: &str) {
    let _serial = ONE_PIPELINE.lock().await;
    let mut scenario = exactly_once_scenario(tag).await;
    scenario.start_consumer_with(&[
        ("SLUICE_FREEZE_FETCH_AFTER", "10000"),
        ("SLUICE_FREEZE_FETCH_BY", how),
        ("SLUICE_FETCH_STALL_SECONDS", "5"),
    ]);
    scenario.start_producer();
    scenario.wait_caught_up(CATCH_UP).await;
    let log = scenario.log("consumer-1.log");
    assert!(log.contains("fetching frozen by a test"), "{log}");
    assert!(log.contains("renewing its Kafka consumer"), "{log}");
    assert!(log.contains(said), "{log}");
    assert!(
        log.contains("a new Kafka consumer joins the group"),
        "{log}"
    );
    let codes = scenario.stop_all();
    assert!(codes.iter().all(|c| *c == Some(0)), "{codes:?}");
    scenario.assert_exactly_once(PRODUCTS as u64);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_whose_commit_never_finishes_goes_on_with_a_new_producer() {
    let _serial = ONE_PIPELINE.lock().await;
    let mut scenario = exactly_once_scenario("eos_commit_stall").await;
    // Its third transaction is taken as one whose commit never finishes: it is aborted, the
    // batch read again, and a new producer commits from then on, while updates keep coming.
    scenario.start_consumer_with(&[("SLUICE_STALL_COMMIT_AT", "3")]);
    scenario.start_producer();
    let load = Load::start(&scenario.pool, &scenario.names.table, PRODUCTS, test_seed());
    scenario
        .wait_for_log(
            "consumer-1.log",
            "a new Kafka producer commits its batches",
            1,
            CATCH_UP,
        )
        .await;
    load.wait_for(2_000).await;
    let updates = load.stop().await;
    scenario.wait_caught_up(CATCH_UP).await;
    assert!(updates >= 1_000, "the load ran: {updates} updates");
    let log = scenario.log("consumer-1.log");
    assert!(log.contains("no outcome (injected by a test)"), "{log}");
    assert!(log.contains("replacing its Kafka producer"), "{log}");
    assert!(
        log.contains("a new Kafka producer commits its batches"),
        "{log}"
    );
    let codes = scenario.stop_all();
    assert!(codes.iter().all(|c| *c == Some(0)), "{codes:?}");
    scenario.assert_exactly_once(PRODUCTS as u64);
}
