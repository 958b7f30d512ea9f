//! The binlog source's snapshot, stopped in the middle while the table is written, goes on in
//! parts, exactly once: the producer's Kafka client fails for good in the middle of the snapshot
//! (a new client goes on from the last committed position, a part of the snapshot), then the
//! producer is killed with `kill -9` while streaming. Every product's lines are its committed
//! versions from the one its snapshot part read on, each once, in commit order; the writer's
//! rate while the snapshot was read is reported (no lock held it up).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sluice_e2e::scenario::{tail, Scenario};
use sluice_e2e::versions::{failing, is_tail_of, names_in_order};
use sluice_e2e::wait::CATCH_UP;
use sqlx::MySqlPool;

const PRODUCTS: i32 = 60_000;
/// Rows per page: 128 pages (a Kafka transaction at most) hold 12 800 rows, so the snapshot
/// takes several transactions.
const PAGE_ROWS: &str = "producer.batch_size=100";

/// Products each writer transaction updates.
const PER_TRANSACTION: usize = 20;

/// Commits small transactions until `stop`: each updates `PER_TRANSACTION` products spread over
/// the table to a name never used before, and every tenth also inserts a product after the
/// last. Returns each product's versions in commit order, and when each commit returned.
async fn write_versions(
    pool: MySqlPool,
    table: String,
    stop: Arc<AtomicBool>,
) -> (HashMap<i64, Vec<String>>, Vec<DateTime<Utc>>) {
    let mut commits = Vec::new();
    let mut versions: HashMap<i64, Vec<String>> = (1..=PRODUCTS as i64)
        .map(|id| (id, vec![format!("Item {id}")]))
        .collect();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next_insert = PRODUCTS as i64 + 1;
    let mut round = 0u64;
    while !stop.load(Ordering::Relaxed) {
        round += 1;
        let mut ids = Vec::with_capacity(PER_TRANSACTION);
        while ids.len() < PER_TRANSACTION {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let id = (seed >> 33) as i64 % PRODUCTS as i64 + 1;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        let mut transaction = pool.begin().await.expect("a transaction");
        for &id in &ids {
            let name = format!("w{round}-{id}");
            sqlx::query(&format!("UPDATE `{table}` SET name = ? WHERE id = ?"))
                .bind(&name)
                .bind(id)
                .execute(&mut *transaction)
                .await
                .expect("update");
            versions.entry(id).or_default().push(name);
        }
        if round.is_multiple_of(10) {
            let id = next_insert;
            next_insert += 1;
            sqlx::query(&format!(
                "INSERT INTO `{table}` (id, name, category, price) VALUES (?, ?, 'toys', 1.5)"
            ))
            .bind(id)
            .bind(format!("Item {id}"))
            .execute(&mut *transaction)
            .await
            .expect("insert");
            versions.insert(id, vec![format!("Item {id}")]);
        }
        transaction.commit().await.expect("commit");
        commits.push(Utc::now());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    (versions, commits)
}

/// When the first line of the producer's log holding `said` was written.
fn logged_at(log: &str, said: &str) -> DateTime<Utc> {
    log.lines()
        .find(|line| line.contains(said))
        .and_then(|line| line.split_whitespace().next())
        .and_then(|at| at.parse().ok())
        .unwrap_or_else(|| panic!("no dated line says `{said}`:\n{}", tail(log, 20)))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_snapshot_stopped_midway_goes_on_in_parts_and_every_version_is_published_once() {
    let mut scenario = Scenario::new("binlog_parts", 6).await;
    scenario.with_setting("producer.source=binlog");
    scenario.with_setting("mysql.user=sluice_binlog");
    scenario.with_setting("mysql.password=sluice_binlog");
    scenario.with_setting(PAGE_ROWS);
    scenario.insert_products(1..PRODUCTS + 1, None).await;
    scenario.start_consumers(3);

    let stop = Arc::new(AtomicBool::new(false));
    let writer = tokio::spawn(write_versions(
        scenario.pool.clone(),
        scenario.names.table.clone(),
        stop.clone(),
    ));
    // The second commit fails as a fatal client error does: the snapshot's first transaction is
    // committed, the second aborted by the next client, which goes on after the first's keys.
    scenario.start_producer_with(&[("SLUICE_FAIL_COMMIT_AT", "2")]);
    scenario
        .wait_for_log("producer.log", "(a part of its own)", 1, CATCH_UP)
        .await;
    scenario
        .wait_for_log("producer.log", "streaming the changes", 1, CATCH_UP)
        .await;
    // Killed while streaming under the writes, then started again.
    scenario.kill_producer();
    tokio::time::sleep(Duration::from_millis(500)).await;
    scenario.start_producer();
    scenario
        .wait_for_log("producer.log", "streaming the changes", 2, CATCH_UP)
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    let (versions, commits) = writer.await.expect("the writer");
    // No lock held the writer up: it went on committing while the snapshot was read.
    let log = scenario.log("producer.log");
    let (began, published) = (
        logged_at(&log, "without a lock"),
        logged_at(&log, "published; its changes follow"),
    );
    let during = commits
        .iter()
        .filter(|at| (began..=published).contains(at))
        .count();
    let seconds = (published - began).as_seconds_f64();
    println!(
        "the writer committed {during} transactions ({:.0} updates/s) during the {seconds:.1} s \
         snapshot",
        (during * PER_TRANSACTION) as f64 / seconds.max(0.001)
    );
    assert!(
        during >= 10,
        "the writer went on during the snapshot: {during} commits in {seconds:.1} s"
    );
    let written: usize = versions.values().map(|names| names.len() - 1).sum();
    assert!(
        written >= 2_000,
        "only {written} versions written beside the snapshot"
    );

    scenario
        .wait_then_assert_exactly_once(versions.len() as u64, CATCH_UP)
        .await;
    let seen = names_in_order(scenario.lines());
    let (count, examples) = failing(&seen, &versions, is_tail_of, 3);
    assert!(
        count == 0,
        "{count} products lack a version after the one their snapshot part read, or hold one \
         twice or out of order, e.g. {examples:?}\nproducer log:\n{}",
        tail(&scenario.log("producer.log"), 30)
    );
    let codes = scenario.stop_all();
    assert!(codes.iter().all(|c| *c == Some(0)), "{codes:?}");
}
