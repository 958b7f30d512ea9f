//! Exactly-once publishing (`producer.exactly_once`): a producer killed at random points,
//! several of them inside its first snapshot of a million rows, a producer fenced by a second
//! one started with the same transactional id, and a producer whose Kafka client fails for good
//! in the middle of a snapshot, publish every row version once.
//! `sluice-verify` judges the files against the table. The consumers are not disturbed here, so
//! any duplicate line comes from the producer.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sluice_e2e::load::{test_seed, Load};
use sluice_e2e::scenario::{tail, Scenario};
use sluice_e2e::wait;
use sluice_e2e::wait::CATCH_UP;

/// Rows of the snapshot the producer is killed in.
const SNAPSHOT_ROWS: i64 = 1_000_000;

static ONE_PIPELINE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Inserts `rows` products on four connections side by side.
async fn seed_products(scenario: &Scenario, rows: i64) {
    let tasks = 4;
    let share = rows / tasks;
    let mut seeding = Vec::new();
    for task in 0..tasks {
        let (pool, table) = (scenario.pool.clone(), scenario.names.table.clone());
        let first = 1 + task * share;
        let count = if task == tasks - 1 {
            rows - share * task
        } else {
            share
        };
        seeding.push(tokio::spawn(async move {
            sluice_loadgen::seed(&pool, &table, first, count).await
        }));
    }
    for task in seeding {
        task.await.expect("seeding task").expect("seed products");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_producer_killed_ten_times_publishes_each_row_version_once() {
    let _serial = ONE_PIPELINE.lock().await;
    let seed = test_seed();
    println!("kill points from seed {seed} (SLUICE_TEST_SEED={seed} replays them)");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut scenario = Scenario::new("eos_kill", 6).await;
    scenario.with_setting("producer.exactly_once=true");
    scenario.with_setting("producer.batch_size=5000");
    seed_products(&scenario, SNAPSHOT_ROWS).await;
    scenario.start_consumers(5);
    // The members subscribe before records flow (the topic, made by the producer, does not
    // exist yet, so none owns a partition): partitions moving between members are another
    // test's fault.
    scenario.wait_group_joined(5).await;

    for kill in 1..=10 {
        scenario.start_producer();
        // The first kills come early, inside the snapshot; the later ones between changes.
        let alive = if kill <= 5 {
            rng.random_range(400..1_200)
        } else {
            rng.random_range(200..3_000)
        };
        tokio::time::sleep(Duration::from_millis(alive)).await;
        scenario.kill_producer();
        if kill > 5 {
            let ids: Vec<i32> = (0..500)
                .map(|_| rng.random_range(1..=SNAPSHOT_ROWS as i32))
                .collect();
            scenario.update_products(&ids, kill).await;
        }
    }
    scenario.start_producer();
    scenario.wait_caught_up(CATCH_UP).await;
    let codes = scenario.stop_all();
    assert!(codes.iter().all(|c| *c == Some(0)), "{codes:?}");

    let log = scenario.log("producer.log");
    let resumed_in_snapshot = log
        .lines()
        .filter(|line| line.contains("producing") && line.contains("key-order snapshot"))
        .count();
    assert!(
        resumed_in_snapshot >= 3,
        "at least three kills landed inside the snapshot ({resumed_in_snapshot}):\n{}",
        sluice_e2e::scenario::tail(&log, 30)
    );
    scenario.assert_exactly_once(SNAPSHOT_ROWS as u64);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_producer_with_the_same_transactional_id_fences_the_first() {
    let _serial = ONE_PIPELINE.lock().await;
    let mut scenario = Scenario::new("eos_fence", 6).await;
    scenario.with_setting("producer.exactly_once=true");
    scenario.insert_products(1..20_001, None).await;
    scenario.start_consumers(2);
    scenario.start_producer();
    scenario.wait_caught_up(CATCH_UP).await;

    let mut second = scenario.spawn_producer("second-producer.log");
    wait::until(
        "the second producer to start producing",
        CATCH_UP,
        || {
            assert!(second.running(), "the second producer exited");
            scenario
                .log("second-producer.log")
                .contains("producing")
                .then_some(())
        },
        || tail(&scenario.log("second-producer.log"), 20),
    )
    .await;
    // Changes make the first producer write, and find out it was fenced.
    let ids: Vec<i32> = (1..=20_000).step_by(7).collect();
    scenario.update_products(&ids, 1).await;
    let first_code = scenario.wait_for_producer_exit(CATCH_UP);
    assert!(
        first_code.is_some_and(|code| code != 0),
        "the fenced producer exits by itself, with an error: {first_code:?}"
    );
    let first_log = scenario.log("producer.log");
    assert!(
        first_log.contains("fenced"),
        "the fenced producer says so:\n{}",
        sluice_e2e::scenario::tail(&first_log, 10)
    );

    scenario.update_products(&ids, 2).await;
    scenario.wait_caught_up(CATCH_UP).await;
    let code = second.stop_within(Duration::from_secs(60));
    assert_eq!(code, Some(0), "the second producer stops cleanly");
    let codes = scenario.stop_all();
    assert!(codes.iter().all(|c| *c == Some(0)), "{codes:?}");
    scenario.assert_exactly_once(20_000);
}

/// A fatal Kafka client error in the middle of a snapshot (injected: librdkafka's own cannot be
/// caused from outside) is healed in the process: a new client registers the transactional id,
/// the open transaction is aborted, and publishing goes on from the last committed watermark.
#[tokio::test(flavor = "multi_thread")]
async fn a_fatal_client_error_is_healed_by_a_new_client_in_the_process() {
    let _serial = ONE_PIPELINE.lock().await;
    let mut scenario = Scenario::new("eos_renew", 6).await;
    scenario.with_setting("producer.exactly_once=true");
    seed_products(&scenario, 200_000).await;
    scenario.start_consumers(2);
    scenario.start_producer_with(&[("SLUICE_FAIL_COMMIT_AT", "2")]);
    let load = Load::start(&scenario.pool, &scenario.names.table, 200_000, test_seed());
    scenario
        .wait_for_log("producer.log", "a new Kafka client goes on", 1, CATCH_UP)
        .await;
    // The new client publishes while the load goes on.
    scenario
        .wait_for_log("producer.log", "producing", 2, CATCH_UP)
        .await;
    load.wait_for(2_000).await;
    let updates = load.stop().await;
    scenario.wait_caught_up(CATCH_UP).await;
    let log = scenario.log("producer.log");
    assert!(
        log.contains("injected by a test at commit 2") && log.matches("producing").count() >= 2,
        "the producer failed once and went on with a new client:\n{}",
        sluice_e2e::scenario::tail(&log, 20)
    );
    let codes = scenario.stop_all();
    assert!(
        codes.iter().all(|c| *c == Some(0)),
        "the producer kept running and every process stopped cleanly: {codes:?}"
    );
    assert!(updates >= 1_000, "the load ran: {updates} updates");
    scenario.assert_exactly_once(200_000);
}

/// `sluice-producer reset` under exactly-once fences the producer still running with the same
/// transactional id (its pending changes are never published by it) and puts the watermark
/// back at the beginning: the next start publishes every row once more, and the changes once.
#[tokio::test(flavor = "multi_thread")]
async fn a_reset_fences_the_running_producer_and_the_next_start_snapshots_again() {
    let _serial = ONE_PIPELINE.lock().await;
    const ROWS: i32 = 20_000;
    let mut scenario = Scenario::new("eos_reset", 6).await;
    scenario.with_setting("producer.exactly_once=true");
    scenario.insert_products(1..ROWS + 1, None).await;
    scenario.start_consumers(2);
    scenario.start_producer();
    scenario.wait_caught_up(CATCH_UP).await;
    assert_eq!(scenario.lines().len(), ROWS as usize, "one line per row");

    let code = scenario.run_to_end("sluice-producer", &["reset"], "reset.log");
    assert_eq!(code, Some(0), "reset:\n{}", scenario.log("reset.log"));
    assert!(
        scenario
            .log("reset.log")
            .contains("the next start snapshots table"),
        "the reset says what it did:\n{}",
        scenario.log("reset.log")
    );
    let ids: Vec<i32> = (1..=ROWS).step_by(7).collect();
    scenario.update_products(&ids, 1).await;
    let first_code = scenario.wait_for_producer_exit(CATCH_UP);
    assert!(
        first_code.is_some_and(|code| code != 0),
        "the producer running during the reset is fenced: {first_code:?}\n{}",
        sluice_e2e::scenario::tail(&scenario.log("producer.log"), 10)
    );

    scenario.start_producer();
    scenario.wait_caught_up(CATCH_UP).await;
    // Every row again after the first snapshot's line: the changed ones in their new state.
    wait::until(
        "the table to be published again",
        CATCH_UP,
        || (scenario.lines().len() >= 2 * ROWS as usize).then_some(()),
        || format!("{} lines", scenario.lines().len()),
    )
    .await;
    let codes = scenario.stop_all();
    assert!(codes.iter().all(|c| *c == Some(0)), "{codes:?}");
    let mut per_id = std::collections::HashMap::<i64, usize>::new();
    for (_, _, line) in scenario.lines() {
        *per_id.entry(line["id"].as_i64().expect("id")).or_default() += 1;
    }
    assert_eq!(per_id.len(), ROWS as usize, "every row is in the files");
    assert!(
        per_id.values().all(|count| *count == 2),
        "each row twice (the snapshot before and after the reset), never three times"
    );
}
