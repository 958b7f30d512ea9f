//! A product changed every 200 ms for a minute, among a steady stream of other changes, reaches
//! the files at least once a second with the shipped settings: where the producer sees open
//! transactions to the microsecond (the stack's MariaDB), no time lag holds committed rows back,
//! so a row changed more often than `commit_lag_ms` does not wait until its changes stop.
//!
//! The oracle judges the producer, not the machine: a version the files skip must have been
//! replaced in the table within a second, plus the longest time one of the other transactions
//! was open (the read bound rightly waits for those). A test machine too busy to commit the hot
//! product every 200 ms leaves fewer versions to skip; it does not fail the producer.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sluice_e2e::scenario::Scenario;

const PRODUCTS: i32 = 2_000;
const HOT: i32 = 7;
const HOT_EVERY: Duration = Duration::from_millis(200);
const RUN_FOR: Duration = Duration::from_secs(60);
/// The longest a version of the hot product may stand in the table unseen by the files, beyond
/// the time an older open transaction holds the read bound back.
const MOST_BETWEEN_LINES: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread")]
async fn a_product_changed_every_200_ms_reaches_the_files_every_second() {
    let mut scenario = Scenario::new("hot", 6).await;
    // The shipped poll interval, not the scenarios' shorter one.
    scenario.with_setting("producer.poll_interval_ms=500");
    scenario.insert_products(0..PRODUCTS, None).await;
    scenario.start_consumers(2);
    scenario.start_producer();
    scenario.wait_caught_up(Duration::from_secs(120)).await;

    // Other products change all along, in transactions of 20, so open transactions are always
    // there for the read bound to see.
    let background = {
        let pool = scenario.pool.clone();
        let table = scenario.names.table.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let mut round = 0;
            let mut longest_open = Duration::ZERO;
            while started.elapsed() < RUN_FOR {
                round += 1;
                let opened = Instant::now();
                let mut transaction = pool.begin().await.expect("begin");
                for n in 0..20 {
                    let id = 100 + (round * 20 + n) % (PRODUCTS - 100);
                    // Names, not prices: a price off whole cents reads back as another.
                    let rename = format!("UPDATE `{table}` SET name = ? WHERE id = ?");
                    sqlx::query(&rename)
                        .bind(format!("Item {id} b{round}"))
                        .bind(id)
                        .execute(&mut *transaction)
                        .await
                        .expect("background update");
                }
                transaction.commit().await.expect("commit");
                longest_open = longest_open.max(opened.elapsed());
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (round, longest_open)
        })
    };
    let started = Instant::now();
    let mut hot_updates = 0;
    let mut committed = Vec::new();
    while started.elapsed() < RUN_FOR {
        hot_updates += 1;
        scenario.update_products(&[HOT], hot_updates).await;
        committed.push(hot_version(&scenario).await);
        tokio::time::sleep(HOT_EVERY).await;
    }
    let (background_rounds, longest_open) = background.await.expect("background writer");
    scenario.wait_caught_up(Duration::from_secs(120)).await;

    let mut seen: Vec<DateTime<Utc>> = scenario
        .lines()
        .into_iter()
        .filter(|(_, _, line)| line["id"].as_i64() == Some(i64::from(HOT)))
        .filter_map(|(_, _, line)| {
            line["last_updated"]
                .as_str()
                .and_then(|at| at.parse::<DateTime<Utc>>().ok())
        })
        .collect();
    seen.sort();
    seen.dedup();
    // The versions written while the hot product kept changing (the first is its insert).
    let during: Vec<DateTime<Utc>> = seen.iter().skip(1).copied().collect();
    let widest = widest_gap(&during);
    let allowed = chrono::TimeDelta::from_std(MOST_BETWEEN_LINES + longest_open)
        .unwrap_or(chrono::TimeDelta::MAX);
    let unseen = longest_unseen(&during, &committed);
    eprintln!(
        "{hot_updates} changes of the hot product (at most {} ms apart in the table), \
         {background_rounds} transactions of 20 others (the longest open {} ms); {} of its \
         versions in the files, at most {} ms apart; a skipped version stood unseen at most {} ms",
        widest_gap(&committed).num_milliseconds(),
        longest_open.as_millis(),
        during.len(),
        widest.num_milliseconds(),
        unseen.num_milliseconds()
    );
    assert!(
        background_rounds >= 500,
        "the other products changed too little to mean anything: {background_rounds} transactions"
    );
    assert!(
        during.len() * 4 >= committed.len(),
        "the files hold too few of the hot product's versions to mean anything: {} of {}",
        during.len(),
        committed.len()
    );
    let spread = during.last().zip(during.first()).map(|(l, f)| *l - *f);
    assert!(
        spread.is_some_and(|s| s
            >= chrono::TimeDelta::from_std(RUN_FOR).unwrap_or_default()
                - chrono::TimeDelta::seconds(2)),
        "the hot product's lines cover its minute of changes: {} versions, from {:?} to {:?}",
        during.len(),
        during.first(),
        during.last()
    );
    assert!(
        unseen <= allowed,
        "a version of the hot product stood {} ms in the table before the files had a newer one, \
         while it changed every {} ms and no other transaction stayed open longer than {} ms",
        unseen.num_milliseconds(),
        HOT_EVERY.as_millis(),
        longest_open.as_millis()
    );
    assert!(
        scenario
            .log("producer.log")
            .contains("producer.commit_lag_ms is not needed and not applied"),
        "the producer says it reads without a lag"
    );
    let codes = scenario.stop_all();
    assert!(
        codes.iter().all(|c| *c == Some(0)),
        "clean exits on SIGTERM: {codes:?}"
    );
}

/// The hot product's `last_updated` as its last update committed it.
async fn hot_version(scenario: &Scenario) -> DateTime<Utc> {
    let micros: i64 = sqlx::query_scalar(&format!(
        "SELECT CAST(UNIX_TIMESTAMP(last_updated) * 1000000 AS SIGNED) FROM `{}` WHERE id = ?",
        scenario.names.table
    ))
    .bind(HOT)
    .fetch_one(&scenario.pool)
    .await
    .expect("read the hot product's timestamp");
    DateTime::from_timestamp_micros(micros).expect("a timestamp in range")
}

/// The widest step between consecutive instants, in order.
fn widest_gap(instants: &[DateTime<Utc>]) -> chrono::TimeDelta {
    instants
        .windows(2)
        .map(|pair| pair[1] - pair[0])
        .max()
        .unwrap_or_default()
}

/// For every two consecutive versions in the files, the time from the first version between
/// them that the files skipped to the later one: how long the files stood behind the table.
/// Versions the table never held between them (the machine was slow to commit) count nothing.
fn longest_unseen(in_files: &[DateTime<Utc>], committed: &[DateTime<Utc>]) -> chrono::TimeDelta {
    in_files
        .windows(2)
        .filter_map(|pair| {
            committed
                .iter()
                .find(|version| **version > pair[0] && **version < pair[1])
                .map(|first_skipped| pair[1] - *first_skipped)
        })
        .max()
        .unwrap_or_default()
}

#[test]
fn a_skipped_version_counts_from_its_commit_to_the_next_version_in_the_files() {
    let at = |ms: i64| DateTime::from_timestamp_millis(ms).expect("in range");
    let committed = [at(0), at(200), at(400), at(600), at(2_000), at(2_200)];
    // 200 and 400 skipped: the files stood behind from 200 to 600.
    assert_eq!(
        longest_unseen(&[at(0), at(600), at(2_000), at(2_200)], &committed),
        chrono::TimeDelta::milliseconds(400)
    );
    // A wide gap in the table itself skips nothing.
    assert_eq!(
        longest_unseen(&[at(0), at(200), at(400), at(600), at(2_000)], &committed),
        chrono::TimeDelta::zero()
    );
}
