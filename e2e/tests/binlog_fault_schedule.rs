//! The binlog source's faults on a fixed schedule, beside `make chaos`'s random mix (and run
//! by it): under the load generator's journaled updates at 2 000 a second, with products
//! deleted and inserted again beside them and the binary log rotated (`FLUSH BINARY LOGS`)
//! before every step, the producer is killed with `kill -9` ten times, once while it streams
//! one transaction of a million inserted rows; MariaDB and the broker are each restarted once.
//! Then `sluice-verify --journal` judges the files: every committed version once and in commit
//! order, every inserted row once, every delete, nothing torn.
//!
//! `SLUICE_BINLOG_TRANSACTION_ROWS` sets the large transaction's rows (1 000 000 unless set).

use std::time::{Duration, Instant};

use sluice_e2e::churn::Churn;
use sluice_e2e::journaled_load::{self, JournaledLoad};
use sluice_e2e::scenario::{tail, Scenario};
use sluice_e2e::wait::CATCH_UP;
use sluice_e2e::{mysql_admin, stack_ok};

const PRODUCTS: i32 = 20_000;
/// The products the journaled load updates; the churn deletes and inserts the others.
const JOURNALED: i32 = 15_000;
const MEMBERS: usize = 3;
/// Between two steps of the schedule.
const STEP: Duration = Duration::from_secs(3);
/// The large transaction's lines in the files before the producer is killed inside it.
const LINES_BEFORE_THE_KILL: f64 = 100_000.0;
/// How long the large transaction may take to reach the files, debug builds under load.
const LARGE_PATIENCE: Duration = Duration::from_secs(600);

/// One step of the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    KillProducer,
    /// A transaction of many rows committed; the producer killed while it streams it.
    KillInsideLargeTransaction,
    Restart(&'static str),
}

/// Ten kills, one inside the large transaction; a restart of MariaDB and of the broker.
const SCHEDULE: [Step; 12] = [
    Step::KillProducer,
    Step::KillProducer,
    Step::Restart("mariadb"),
    Step::KillProducer,
    Step::KillProducer,
    Step::KillInsideLargeTransaction,
    Step::KillProducer,
    Step::Restart("kafka"),
    Step::KillProducer,
    Step::KillProducer,
    Step::KillProducer,
    Step::KillProducer,
];

fn large_rows() -> i64 {
    std::env::var("SLUICE_BINLOG_TRANSACTION_ROWS")
        .ok()
        .and_then(|rows| rows.parse().ok())
        .unwrap_or(1_000_000)
}

/// Lines the members have written, from their metrics.
async fn lines_written(scenario: &Scenario) -> f64 {
    let mut total = 0.0;
    for member in 1..=MEMBERS {
        let log = format!("consumer-{member}.log");
        total += scenario
            .metric(&log, "sluice_consumer_lines_written_total")
            .await
            .unwrap_or_default();
    }
    total
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "minutes of faults and a million-row transaction: run by `make chaos`"]
async fn ten_kills_restarts_and_rotations_publish_every_version_once() {
    let large = large_rows();
    let mut scenario = Scenario::new("binlog_schedule", 6).await;
    for setting in [
        "producer.source=binlog",
        "mysql.user=sluice_binlog",
        "mysql.password=sluice_binlog",
        "producer.exactly_once=true",
        "consumer.exactly_once=true",
    ] {
        scenario.with_setting(setting);
    }
    scenario.insert_products(1..PRODUCTS + 1, None).await;
    scenario.start_consumers(MEMBERS as u32);
    scenario.start_producer();
    let (pool, table) = (scenario.pool.clone(), scenario.names.table.clone());
    let journal = scenario.dir.path().join("journal.txt");
    let load = journaled_load::two_thousand_a_second(i64::from(JOURNALED));
    let writes = JournaledLoad::start(&pool, &table, load, &journal);
    let churn = Churn::start_in(&pool, &table, JOURNALED + 1..=PRODUCTS, 7);
    scenario.verify_every_version_by(&journal);

    let started = Instant::now();
    let mut kills = 0;
    for step in SCHEDULE {
        tokio::time::sleep(STEP).await;
        mysql_admin("FLUSH BINARY LOGS;");
        println!("{:>6.1}s {step:?}", started.elapsed().as_secs_f64());
        match step {
            Step::KillProducer => {
                scenario.kill_producer();
                kills += 1;
                tokio::time::sleep(Duration::from_millis(500)).await;
                scenario.start_producer();
            }
            Step::KillInsideLargeTransaction => {
                let before = lines_written(&scenario).await;
                sqlx::query(&format!(
                    "INSERT INTO `{table}` (id, name, category, price) \
                     SELECT {PRODUCTS} + seq, CONCAT('Bulk ', seq), 'toys', 1.5 \
                     FROM seq_1_to_{large}"
                ))
                .execute(&pool)
                .await
                .expect("one transaction of many rows");
                let deadline = Instant::now() + LARGE_PATIENCE;
                let at_kill = loop {
                    let written = lines_written(&scenario).await - before;
                    if written >= LINES_BEFORE_THE_KILL {
                        break written;
                    }
                    assert!(
                        Instant::now() < deadline,
                        "{written} lines of the large transaction after {LARGE_PATIENCE:?}:\n{}",
                        tail(&scenario.log("producer.log"), 15)
                    );
                    tokio::time::sleep(Duration::from_millis(200)).await;
                };
                scenario.kill_producer();
                kills += 1;
                assert!(
                    at_kill < large as f64,
                    "killed inside the transaction: {at_kill} of {large} rows in lines"
                );
                println!("killed with {at_kill} lines of the {large}-row transaction written");
                scenario.start_producer();
            }
            Step::Restart(service) => {
                stack_ok(&["stop", service]);
                tokio::time::sleep(STEP).await;
                stack_ok(&["start", service]);
            }
        }
    }
    let updates = writes.stop().await;
    let churned = churn.stop().await;
    assert_eq!(kills, 10, "ten kills");
    assert!(updates >= 20_000, "the load ran: {updates} updates");
    assert!(churned.deleted >= 20, "products were deleted: {churned:?}");
    assert!(
        scenario.log("producer.log").contains("changes published)"),
        "a start resumed inside a source transaction:\n{}",
        tail(&scenario.log("producer.log"), 20)
    );
    scenario.wait_caught_up(LARGE_PATIENCE).await;
    scenario.wait_until_verified(CATCH_UP).await;
    let codes = scenario.stop_all();
    assert!(codes.iter().all(|c| *c == Some(0)), "{codes:?}");
    scenario.assert_exactly_once(large as u64 + PRODUCTS as u64 + 20_000);
    let (_, report) = scenario.verify();
    let seen = report["journal"]["seen"].as_u64().unwrap_or_default();
    assert!(
        seen >= 20_000,
        "every version judged against the journal, enough of them: {report:#}"
    );
    println!(
        "{kills} kills, {updates} journaled updates ({seen} in lines), {churned:?}, {large} rows \
         in one transaction: every version once"
    );
}
