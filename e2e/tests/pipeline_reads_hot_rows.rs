//! A product changed every 200 ms for a minute, among a steady stream of other changes, reaches
//! the files at least once a second with the shipped settings: where the producer sees open
//! transactions to the microsecond (the stack's MariaDB), no time lag holds committed rows back,
//! so a row changed more often than `commit_lag_ms` does not wait until its changes stop.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sluice_e2e::scenario::Scenario;

const PRODUCTS: i32 = 2_000;
const HOT: i32 = 7;
const HOT_EVERY: Duration = Duration::from_millis(200);
const RUN_FOR: Duration = Duration::from_secs(60);
/// The longest the files may go without a newer line of the hot product.
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
            while started.elapsed() < RUN_FOR {
                round += 1;
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
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            round
        })
    };
    let started = Instant::now();
    let mut hot_updates = 0;
    while started.elapsed() < RUN_FOR {
        hot_updates += 1;
        scenario.update_products(&[HOT], hot_updates).await;
        tokio::time::sleep(HOT_EVERY).await;
    }
    let background_rounds = background.await.expect("background writer");
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
    let widest = during
        .windows(2)
        .map(|pair| pair[1] - pair[0])
        .max()
        .unwrap_or_default();
    eprintln!(
        "{hot_updates} changes of the hot product, {background_rounds} transactions of 20 \
         others; {} of its versions in the files, at most {} ms apart",
        during.len(),
        widest.num_milliseconds()
    );
    assert!(
        background_rounds >= 500,
        "the other products changed too little to mean anything: {background_rounds} transactions"
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
        widest <= chrono::TimeDelta::from_std(MOST_BETWEEN_LINES).unwrap_or_default(),
        "the hot product went {} ms without a line while it changed every {} ms",
        widest.num_milliseconds(),
        HOT_EVERY.as_millis()
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
