//! Against the local stack's MariaDB (`make up`): the load generator commits the updates it
//! journals, each once, at about the rate asked, and every product's name ends with the number
//! of its last update journaled, however many connections commit side by side.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sluice_common::mysql;
use sluice_common::settings::Settings;
use sluice_common::shutdown::Shutdown;
use sluice_loadgen::{self as loadgen, Load};

const PRODUCTS: i64 = 300;
const RATE: u32 = 3000;
const RUN: Duration = Duration::from_millis(2000);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_update_journaled_is_committed_once_and_in_order_per_product() {
    let pool = mysql::connect(&Settings::default().mysql, 5)
        .await
        .expect("MariaDB of the local stack must be up: run `make up`");
    let table = format!("it_loadgen_{}", std::process::id());
    sqlx::query(&format!("CREATE TABLE {table} LIKE product"))
        .execute(&pool)
        .await
        .expect("create scratch table");
    loadgen::seed(&pool, &table, 1, PRODUCTS)
        .await
        .expect("seed");

    let (trigger, shutdown) = Shutdown::manual();
    let stopper = tokio::spawn(async move {
        tokio::time::sleep(RUN).await;
        trigger.trigger();
    });
    let load = Load {
        products: PRODUCTS,
        rate: RATE,
        transaction_rows: 20,
        connections: 4,
    };
    let mut journal = Vec::new();
    let started = Instant::now();
    let updated = loadgen::simulate(&pool, &table, load, &shutdown, Some(&mut journal))
        .await
        .expect("simulate");
    let elapsed = started.elapsed().as_secs_f64();
    stopper.await.expect("stopper");

    let names: Vec<(i32, String)> = sqlx::query_as(&format!("SELECT id, name FROM {table}"))
        .fetch_all(&pool)
        .await
        .expect("names");
    sqlx::query(&format!("DROP TABLE {table}"))
        .execute(&pool)
        .await
        .expect("drop scratch table");

    let entries: Vec<(u64, i64)> = String::from_utf8(journal)
        .expect("journal is text")
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            assert_eq!(fields.len(), 3, "journal line {line:?}");
            (
                fields[0].parse().expect("N"),
                fields[1].parse().expect("id"),
            )
        })
        .collect();
    assert_eq!(entries.len() as u64, updated, "one journal line per update");
    let mut numbers: Vec<u64> = entries.iter().map(|(n, _)| *n).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (0..updated).collect::<Vec<_>>(), "each N once");
    // Paced: at least half the rate on a busy machine, and never well above it.
    let rate = updated as f64 / elapsed;
    assert!(
        rate > f64::from(RATE) * 0.5 && rate < f64::from(RATE) * 1.2,
        "{updated} updates in {elapsed:.2} s"
    );

    let mut last: HashMap<i64, u64> = HashMap::new();
    for (n, id) in entries {
        let latest = last.entry(id).or_insert(n);
        *latest = (*latest).max(n);
    }
    assert!(last.len() > 100, "updates spread over the products");
    for (id, name) in names {
        let suffix = name.rsplit_once(" #").map(|(_, n)| n.to_owned());
        let expected = last.get(&i64::from(id)).map(u64::to_string);
        assert_eq!(suffix, expected, "product {id} named {name:?}");
    }
}
