//! A table without a timestamp column, which no poller can follow, read from the binary log:
//! `check` passes it for the binlog source (and fails it for the poller, naming the column);
//! the snapshot, then every committed change, reach the files (two updates of a row in one
//! transaction as two lines, deletes as delete lines, inserts), each once through a `kill -9`
//! of the producer, in commit order per key.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;
use sluice_e2e::check_report::check_status;
use sluice_e2e::scenario::{tail, Scenario};

const PRODUCTS: i64 = 200;
const RENAMED: std::ops::RangeInclusive<i64> = 2..=50;
const DELETED: std::ops::RangeInclusive<i64> = 51..=60;
const INSERTED: std::ops::RangeInclusive<i64> = 1001..=1010;

#[tokio::test(flavor = "multi_thread")]
async fn a_table_without_a_timestamp_column_reaches_the_files_version_by_version() {
    let mut scenario = Scenario::new("binlog_untimed", 6).await;
    let table = scenario.names.table.clone();
    execute(
        &scenario,
        &format!("ALTER TABLE `{table}` DROP COLUMN last_updated"),
    )
    .await;
    scenario.insert_products(1..PRODUCTS as i32 + 1, None).await;
    scenario.with_setting("producer.schema_from=table");
    scenario.with_setting("consumer.reader_schema_from=latest");

    // The poller cannot follow it, and says which column it misses.
    let (code, report) = run_check(&scenario);
    assert_eq!(code, Some(1), "{report:#}");
    let (status, line) = check_status(&report, "mysql", "column plan");
    assert_eq!(status, "failed", "{line}");
    assert!(line.contains("last_updated"), "{line}");

    scenario.with_setting("producer.source=binlog");
    scenario.with_setting("mysql.user=sluice_binlog");
    scenario.with_setting("mysql.password=sluice_binlog");
    let (code, report) = run_check(&scenario);
    assert_eq!(code, Some(0), "the binlog source reads it: {report:#}");

    scenario.start_consumers(1);
    scenario.start_producer();
    wait_for_lines(&scenario, PRODUCTS as usize).await;
    scenario.kill_producer();

    // Committed while the producer is down: two versions of product 1 in one transaction,
    // renames, deletes and inserts.
    let mut transaction = scenario.pool.begin().await.expect("begin");
    for price in ["1.5", "2.5"] {
        sqlx::query(&format!(
            "UPDATE `{table}` SET price = {price} WHERE id = 1"
        ))
        .execute(&mut *transaction)
        .await
        .expect("update product 1");
    }
    transaction.commit().await.expect("commit");
    let (first, last) = (RENAMED.start(), RENAMED.end());
    execute(
        &scenario,
        &format!("UPDATE `{table}` SET name = CONCAT('renamed ', id) WHERE id BETWEEN {first} AND {last}"),
    )
    .await;
    let (first, last) = (DELETED.start(), DELETED.end());
    execute(
        &scenario,
        &format!("DELETE FROM `{table}` WHERE id BETWEEN {first} AND {last}"),
    )
    .await;
    let values: Vec<String> = INSERTED
        .map(|id| format!("({id}, 'new {id}', 'toys', 9.5)"))
        .collect();
    execute(
        &scenario,
        &format!(
            "INSERT INTO `{table}` (id, name, category, price) VALUES {}",
            values.join(", ")
        ),
    )
    .await;
    scenario.start_producer();
    let changes = 2 + RENAMED.count() + DELETED.count() + INSERTED.count();
    wait_for_lines(&scenario, PRODUCTS as usize + changes).await;
    // Anything doubled would arrive within the wait that follows.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let by_key = lines_by_key(&scenario);
    assert_eq!(
        by_key.values().map(Vec::len).sum::<usize>(),
        PRODUCTS as usize + changes,
        "each version once"
    );
    let prices: Vec<f64> = by_key[&1]
        .iter()
        .map(|l| l["price"].as_f64().unwrap_or(0.0))
        .collect();
    assert_eq!(
        prices[1..],
        [1.5, 2.5],
        "both versions of product 1, in order: {prices:?}"
    );
    for id in RENAMED {
        let names: Vec<&str> = by_key[&id]
            .iter()
            .map(|l| l["name"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(
            names,
            [format!("Item {id}"), format!("renamed {id}")],
            "product {id}"
        );
    }
    for id in DELETED {
        let deleted: Vec<bool> = by_key[&id].iter().map(|l| l["deleted"] == true).collect();
        assert_eq!(deleted, [false, true], "product {id}: {:?}", by_key[&id]);
    }
    for id in INSERTED {
        assert_eq!(by_key[&id].len(), 1, "product {id}: {:?}", by_key[&id]);
        assert_eq!(
            by_key[&id][0]["category"], "TOYS",
            "transformed: {:?}",
            by_key[&id]
        );
        assert!(by_key[&id][0].get("last_updated").is_none());
    }
    let untouched = PRODUCTS - 1 - RENAMED.count() as i64 - DELETED.count() as i64;
    assert_eq!(
        by_key.values().filter(|lines| lines.len() == 1).count() as i64,
        untouched + INSERTED.count() as i64,
        "every other product once, as the snapshot read it"
    );
    let codes = scenario.stop_all();
    assert!(codes.iter().all(|c| *c == Some(0)), "{codes:?}");
}

async fn execute(scenario: &Scenario, sql: &str) {
    sqlx::query(sql)
        .execute(&scenario.pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// `sluice-producer check --json`: its exit code and report.
fn run_check(scenario: &Scenario) -> (Option<i32>, Value) {
    let output = scenario.output_of("sluice-producer", &["check", "--json"], &[]);
    let report = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("a JSON report ({e}): {output:?}"));
    (output.status.code(), report)
}

/// Every line by its key, in file order (one member: the order it consumed them).
fn lines_by_key(scenario: &Scenario) -> BTreeMap<i64, Vec<Value>> {
    let mut by_key: BTreeMap<i64, Vec<Value>> = BTreeMap::new();
    for (_, _, line) in scenario.lines() {
        let id = line["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("no id: {line}"));
        by_key.entry(id).or_default().push(line);
    }
    by_key
}

async fn wait_for_lines(scenario: &Scenario, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let seen = scenario.lines().len();
        if seen >= count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{seen} of {count} lines after 60 s\nproducer:\n{}\nconsumer:\n{}",
            tail(&scenario.log("producer.log"), 15),
            tail(&scenario.log("consumer-1.log"), 8)
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}
