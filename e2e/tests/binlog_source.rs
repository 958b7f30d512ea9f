//! `producer.source = "binlog"` end to end against the stack: a snapshot of the table taken
//! while it is written, then every committed change from MariaDB's binary log. Two updates of a
//! product in one transaction, which no poll can tell apart, reach the files as two lines in
//! commit order; deletes reach them as delete lines without a sweep, and a key changed as the
//! old key's delete line and the row under its new key; through binary log files
//! rotated under the stream, the producer stopped (or killed, exactly once) and started again
//! and MariaDB restarted, no version is lost, and exactly once none is doubled. `sluice-verify`
//! judges the files too (no duplicate, no version going back, the latest state).

use std::collections::HashMap;
use std::time::Duration;

use sluice_e2e::check_report::check_status;
use sluice_e2e::record_headers::headed_records;
use sluice_e2e::scenario::{tail, Scenario};
use sluice_e2e::versions::{failing, holds_in_order, names_in_order};
use sluice_e2e::wait::CATCH_UP;
use sluice_producer::binlog::origin::{GTID_HEADER, OPERATION_HEADER, POSITION_HEADER, ROW_HEADER};
use sluice_producer::binlog::position::{BinlogPosition, Gtid};

/// Held by each test here for its whole run: one of them restarts MariaDB under the others.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const PRODUCTS: i32 = 2_000;
const ROUNDS: i32 = 6;
/// Products given a new key (none of them changed by the rounds or deleted), and by how much.
const MOVED: [i64; 4] = [3, 9, 21, 33];
const MOVED_BY: i64 = 100_000;

/// The stack's binlog user (stack/env.sh): SELECT, REPLICATION SLAVE, BINLOG MONITOR.
fn binlog_scenario(scenario: &mut Scenario) {
    scenario.with_setting("producer.source=binlog");
    scenario.with_setting("mysql.user=sluice_binlog");
    scenario.with_setting("mysql.password=sluice_binlog");
}

#[tokio::test(flavor = "multi_thread")]
async fn at_least_once_every_committed_version_reaches_the_files_in_order() {
    every_committed_version_in_order(false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn exactly_once_every_committed_version_reaches_the_files_once_through_a_kill() {
    every_committed_version_in_order(true).await;
}

async fn every_committed_version_in_order(exactly_once: bool) {
    let _alone = ONE_AT_A_TIME.lock().await;
    let tag = if exactly_once { "binlog_eo" } else { "binlog" };
    let mut scenario = Scenario::new(tag, 6).await;
    binlog_scenario(&mut scenario);
    scenario.with_setting(&format!("producer.exactly_once={exactly_once}"));
    let table = scenario.names.table.clone();
    scenario.insert_products(1..PRODUCTS + 1, None).await;
    scenario.start_consumers(3);
    scenario.start_producer();
    scenario.wait_caught_up(CATCH_UP).await;
    assert!(
        scenario.log("producer.log").contains("without a lock"),
        "the producer says it took its snapshot:\n{}",
        tail(&scenario.log("producer.log"), 20)
    );

    // Each round changes every product twice in one transaction; the producer is stopped (at
    // least once) or killed (exactly once) in the middle of the rounds and started again.
    let mut versions: HashMap<i64, Vec<String>> = (1..=PRODUCTS as i64)
        .map(|id| (id, vec![format!("Item {id}")]))
        .collect();
    for round in 1..=ROUNDS {
        let mut both = scenario.pool.begin().await.expect("a transaction");
        for half in ["a", "b"] {
            sqlx::query(&format!(
                "UPDATE `{table}` SET name = CONCAT('r{round}{half}-', id) WHERE id % 3 <> 0"
            ))
            .execute(&mut *both)
            .await
            .expect("update");
        }
        both.commit().await.expect("commit");
        for (id, names) in versions.iter_mut() {
            if id % 3 != 0 {
                names.extend(["a", "b"].map(|half| format!("r{round}{half}-{id}")));
            }
        }
        match round {
            // The binary log moves on to new files under the stream.
            2 => sluice_e2e::mysql_admin("FLUSH BINARY LOGS; FLUSH BINARY LOGS;"),
            // Stopped and started again: it goes on from its saved position. At least once a
            // `kill -9` would publish again what was in flight; exactly once, the kill leaves an
            // open Kafka transaction, which the next start aborts.
            3 if exactly_once => {
                scenario.kill_producer();
                scenario.start_producer();
            }
            3 => {
                assert_eq!(scenario.stop_producer(), Some(0), "a clean stop");
                scenario.start_producer();
            }
            // The server goes away under the stream, and comes back.
            5 => {
                sluice_e2e::stack_ok(&["restart", "mariadb"]);
            }
            _ => {}
        }
    }
    sqlx::query(&format!("DELETE FROM `{table}` WHERE id % 10 = 0"))
        .execute(&scenario.pool)
        .await
        .expect("delete");
    // A product whose key changes: the delete of its old key, then its row under the new one.
    sqlx::query(&format!(
        "UPDATE `{table}` SET id = id + {MOVED_BY} WHERE id IN ({})",
        MOVED.map(|id| id.to_string()).join(", ")
    ))
    .execute(&scenario.pool)
    .await
    .expect("update keys");
    for id in MOVED {
        versions.insert(id + MOVED_BY, vec![format!("Item {id}")]);
    }
    scenario
        .insert_products(PRODUCTS + 1..PRODUCTS + 101, None)
        .await;
    for id in PRODUCTS as i64 + 1..=PRODUCTS as i64 + 100 {
        versions.insert(id, vec![format!("Item {id}")]);
    }

    scenario.wait_until_verified(CATCH_UP).await;
    let (code, report) = scenario.verify();
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        report["deleted"]["count"].as_u64(),
        Some(200 + MOVED.len() as u64),
        "the deletes and the keys moved away from: {report:#}"
    );
    let seen = names_in_order(scenario.lines());
    let (count, examples) = match exactly_once {
        // The snapshot came before every round: each version once, the first included.
        true => failing(&seen, &versions, |seen, versions| seen == versions, 3),
        false => failing(&seen, &versions, holds_in_order, 3),
    };
    assert!(
        count == 0,
        "{count} products lack a version, hold one twice (exactly once) or out of order, e.g. \
         {examples:?}\nproducer log:\n{}",
        tail(&scenario.log("producer.log"), 20)
    );
    records_say_where_they_come_from(&scenario, exactly_once);
    let lines: usize = seen.values().map(Vec::len).sum();
    let committed: usize = versions.values().map(Vec::len).sum();
    assert!(
        lines >= committed,
        "{lines} lines for {committed} committed versions"
    );
    let codes = scenario.stop_all();
    assert!(codes.iter().all(|c| *c == Some(0)), "{codes:?}");
}

/// Each record's headers name its operation and its place in the binary log; exactly once,
/// each operation as often as it committed, and each product's changes in binary log order
/// after its snapshot record.
fn records_say_where_they_come_from(scenario: &Scenario, exactly_once: bool) {
    let records = headed_records(&scenario.settings.kafka, &scenario.settings.kafka.topic);
    let mut operations: HashMap<String, u64> = HashMap::new();
    let mut last_place: HashMap<String, (u64, u64, u64)> = HashMap::new();
    for record in &records {
        let operation = record.header(OPERATION_HEADER);
        *operations.entry(operation.to_owned()).or_default() += 1;
        let (file, offset) = record
            .header(POSITION_HEADER)
            .rsplit_once(':')
            .unwrap_or_else(|| panic!("a binlog position header: {record:?}"));
        let sequence: u64 = file
            .rsplit_once('.')
            .and_then(|(_, n)| n.parse().ok())
            .unwrap_or_else(|| panic!("a binlog file name: {record:?}"));
        let offset: u64 = offset.parse().expect("an offset");
        if operation == "snapshot" {
            assert!(
                !last_place.contains_key(&record.key),
                "a snapshot record after a change: {record:?}"
            );
            continue;
        }
        assert!(
            record.header(GTID_HEADER).parse::<Gtid>().is_ok(),
            "a GTID header: {record:?}"
        );
        let row: u64 = record.header(ROW_HEADER).parse().expect("a row header");
        let place = (sequence, offset, row);
        if let Some(before) = last_place.insert(record.key.clone(), place) {
            if exactly_once {
                assert!(
                    before < place,
                    "changes out of order: {before:?} then {record:?}"
                );
            }
        }
    }
    let count = |operation: &str| operations.get(operation).copied().unwrap_or_default();
    let updates = ROUNDS as u64 * 2 * (1..=PRODUCTS).filter(|id| id % 3 != 0).count() as u64;
    let expected = [
        ("snapshot", PRODUCTS as u64),
        ("update", updates),
        ("delete", 200 + MOVED.len() as u64),
        ("insert", 100 + MOVED.len() as u64),
    ];
    for (operation, committed) in expected {
        match exactly_once {
            true => assert_eq!(count(operation), committed, "{operation}: {operations:?}"),
            false => assert!(count(operation) >= committed, "{operation}: {operations:?}"),
        }
    }
    assert_eq!(
        operations.len(),
        expected.len(),
        "no other operation: {operations:?}"
    );
}

/// Waits up to `patience` for the producer to stop with a failure; its log, which must say
/// every one of `said`.
fn producer_fails_saying(scenario: &mut Scenario, patience: Duration, said: &[&str]) -> String {
    let code = scenario.wait_for_producer_exit(patience);
    let log = scenario.log("producer.log");
    assert!(
        matches!(code, Some(c) if c != 0),
        "stopped within {patience:?} with a failure ({code:?}):\n{}",
        tail(&log, 10)
    );
    for needle in said {
        assert!(log.contains(needle), "says `{needle}`:\n{}", tail(&log, 10));
    }
    log
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_without_the_replication_grants_is_stopped_before_the_snapshot() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let mut scenario = Scenario::new("binlog_grants", 6).await;
    // The stack's `sluice` user: SELECT, but neither replication grant.
    scenario.with_setting("producer.source=binlog");
    scenario.insert_products(1..101, None).await;
    scenario.start_producer();
    let grants = ["REPLICATION SLAVE", "BINLOG MONITOR"];
    let log = producer_fails_saying(&mut scenario, Duration::from_secs(10), &grants);
    assert!(!log.contains("snapshot of"), "{}", tail(&log, 10));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_position_whose_binary_log_was_purged_stops_the_producer_with_the_way_out() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let mut scenario = Scenario::new("binlog_purged", 6).await;
    binlog_scenario(&mut scenario);
    let table = scenario.names.table.clone();
    scenario.insert_products(1..501, None).await;
    scenario.start_consumers(1);
    scenario.start_producer();
    scenario.wait_caught_up(CATCH_UP).await;
    assert_eq!(scenario.stop_producer(), Some(0), "a clean stop");

    // While it is stopped, the table changes and the server purges every binary log but the
    // one it writes now.
    sqlx::query(&format!("UPDATE `{table}` SET name = CONCAT('gone-', id)"))
        .execute(&scenario.pool)
        .await
        .expect("update");
    // A file a replica still reads is kept: the stopped producer's dump thread ends once a
    // heartbeat (every second) finds its connection gone, so the purge is asked again.
    for _ in 0..3 {
        sluice_e2e::mysql_admin(
            "FLUSH BINARY LOGS; PURGE BINARY LOGS BEFORE NOW() + INTERVAL 1 DAY;",
        );
        tokio::time::sleep(Duration::from_millis(1_500)).await;
    }
    scenario.start_producer();
    // It says the position is gone, and what to do.
    let said = ["purged", "sluice-producer reset"];
    producer_fails_saying(&mut scenario, Duration::from_secs(30), &said);

    // The way out it names: a reset, then a new snapshot holds every row's latest version.
    assert_eq!(
        scenario.run_to_end("sluice-producer", &["reset"], "reset.log"),
        Some(0),
        "{}",
        scenario.log("reset.log")
    );
    scenario.start_producer();
    scenario.wait_until_verified(CATCH_UP).await;
    let latest = scenario.latest_lines();
    assert!(
        (1..=500).all(|id| latest[&id]["name"] == format!("gone-{id}")),
        "every product's latest name"
    );
    let codes = scenario.stop_all();
    assert!(codes.iter().all(|c| *c == Some(0)), "{codes:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_alter_table_in_the_stream_gives_the_rows_after_it_their_new_schema() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let mut scenario = Scenario::new("binlog_ddl", 6).await;
    binlog_scenario(&mut scenario);
    scenario.with_setting("producer.schema_from=table");
    scenario.with_setting("consumer.reader_schema_from=latest");
    let table = scenario.names.table.clone();
    scenario.insert_products(1..301, None).await;
    scenario.start_consumers(1);
    scenario.start_producer();
    scenario.wait_caught_up(CATCH_UP).await;

    // An update of every product, the change of the table, and another update, back to back:
    // the stream meets the change between the two.
    for sql in [
        format!("UPDATE `{table}` SET name = CONCAT('v1-', id)"),
        format!("ALTER TABLE `{table}` ADD COLUMN color VARCHAR(16) NOT NULL DEFAULT 'red'"),
        format!(
            "UPDATE `{table}` SET name = CONCAT('v2-', id), color = IF(id % 2 = 0, 'blue', color)"
        ),
    ] {
        sqlx::query(&sql)
            .execute(&scenario.pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    scenario.wait_until_verified(CATCH_UP).await;
    let (code, report) = scenario.verify();
    assert_eq!(code, 0, "{report:#}");
    let latest = scenario.latest_lines();
    for id in 1..=300 {
        let color = if id % 2 == 0 { "blue" } else { "red" };
        assert_eq!(latest[&id]["color"], color, "product {id}: {}", latest[&id]);
        assert_eq!(latest[&id]["name"], format!("v2-{id}"));
    }

    // The records of the update before the change carry the first schema, those after it the
    // new one: the change took effect at its place in the stream.
    let records = headed_records(&scenario.settings.kafka, &scenario.settings.kafka.topic);
    let mut ids_by_transaction: HashMap<String, Vec<Option<u32>>> = HashMap::new();
    for record in records
        .iter()
        .filter(|r| r.header(OPERATION_HEADER) == "update")
    {
        ids_by_transaction
            .entry(record.header(POSITION_HEADER).to_owned())
            .or_default()
            .push(record.schema_id);
    }
    let mut transactions: Vec<(BinlogPosition, Vec<Option<u32>>)> = ids_by_transaction
        .into_iter()
        .map(|(position, ids)| {
            let (file, offset) = position.rsplit_once(':').expect("file:offset");
            (
                BinlogPosition::new(file, offset.parse().expect("an offset")),
                ids,
            )
        })
        .collect();
    transactions.sort_by_key(|(at, _)| (at.file_sequence(), at.offset));
    assert_eq!(transactions.len(), 2, "two update transactions");
    let schema_of = |ids: &[Option<u32>]| {
        let first = ids[0];
        assert!(
            ids.iter().all(|id| *id == first),
            "one schema per transaction: {ids:?}"
        );
        assert_eq!(ids.len(), 300, "every product once");
        first.expect("a schema id")
    };
    let (before, after) = (schema_of(&transactions[0].1), schema_of(&transactions[1].1));
    assert_ne!(before, after, "a new schema after the change");
    assert!(
        records
            .iter()
            .filter(|r| r.header(OPERATION_HEADER) == "snapshot")
            .all(|r| r.schema_id == Some(before)),
        "the snapshot's records carry the first schema"
    );
    assert!(
        scenario.log("producer.log").contains("color"),
        "the producer says what changed:\n{}",
        tail(&scenario.log("producer.log"), 10)
    );
    let codes = scenario.stop_all();
    assert!(codes.iter().all(|c| *c == Some(0)), "{codes:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_the_schema_file_cannot_cover_stops_the_producer_with_the_reason() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let mut scenario = Scenario::new("binlog_ddl_file", 6).await;
    binlog_scenario(&mut scenario);
    let table = scenario.names.table.clone();
    scenario.insert_products(1..101, None).await;
    scenario.start_consumers(1);
    scenario.start_producer();
    scenario.wait_caught_up(CATCH_UP).await;
    // A column the shipped schema file reads, dropped.
    sqlx::query(&format!("ALTER TABLE `{table}` DROP COLUMN category"))
        .execute(&scenario.pool)
        .await
        .expect("drop a column");
    // It names the change and why.
    let said = ["no longer fits the schema", "category"];
    producer_fails_saying(&mut scenario, Duration::from_secs(30), &said);
}

#[tokio::test(flavor = "multi_thread")]
async fn check_names_the_grants_and_settings_the_binlog_source_needs() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let mut scenario = Scenario::new("binlog_check", 6).await;
    scenario.with_setting("producer.source=binlog");
    let run_check = |scenario: &Scenario| {
        let output = scenario.output_of("sluice-producer", &["check", "--json"], &[]);
        let report: serde_json::Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("a JSON report ({e}): {output:?}"));
        (output.status.code(), report)
    };

    // The stack's `sluice` user has no replication grant.
    let (code, report) = run_check(&scenario);
    assert_eq!(code, Some(1), "{report:#}");
    let (status, line) = check_status(&report, "mysql", "replication grants");
    assert_eq!(status, "failed", "{line}");
    assert!(
        line.contains("REPLICATION SLAVE")
            && line.contains("BINLOG MONITOR")
            && line.contains("GRANT"),
        "names both grants and the statement: {line}"
    );
    let (status, line) = check_status(&report, "mysql", "binary log");
    assert_eq!(
        status, "ok",
        "the stack's MariaDB writes a full row-based log: {line}"
    );

    // With the stack's binlog user, the binlog source's checks pass, exactly once too.
    binlog_scenario(&mut scenario);
    let (code, report) = run_check(&scenario);
    for (area, name) in [("mysql", "replication grants"), ("mysql", "binary log")] {
        let (status, line) = check_status(&report, area, name);
        assert_eq!(status, "ok", "{line}");
    }
    assert_eq!(
        code,
        Some(0),
        "exactly once (the default) passes: {report:#}"
    );
}
