//! `producer.source = "binlog"` end to end against the stack: a snapshot of the table taken
//! while it is written, then every committed change from MariaDB's binary log. Two updates of a
//! product in one transaction, which no poll can tell apart, reach the files as two lines in
//! commit order; deletes reach them as delete lines without a sweep; through binary log files
//! rotated under the stream, the producer stopped and started again and MariaDB restarted, no
//! version is lost or doubled. `sluice-verify` judges the files (no duplicate, no version going
//! back, the latest state).

use std::collections::HashMap;

use sluice_e2e::check_report::check_status;
use sluice_e2e::scenario::{tail, Scenario};
use sluice_e2e::wait::CATCH_UP;

const PRODUCTS: i32 = 2_000;
const ROUNDS: i32 = 6;

/// The stack's binlog user (stack/env.sh): SELECT, REPLICATION SLAVE, BINLOG MONITOR.
fn binlog_scenario(scenario: &mut Scenario) {
    scenario.with_setting("producer.source=binlog");
    scenario.with_setting("producer.exactly_once=false");
    scenario.with_setting("mysql.user=sluice_binlog");
    scenario.with_setting("mysql.password=sluice_binlog");
}

/// Each product's names, in the order its lines were written.
fn names_in_order(scenario: &Scenario) -> HashMap<i64, Vec<String>> {
    let mut lines = scenario.lines();
    lines.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    let mut names: HashMap<i64, Vec<String>> = HashMap::new();
    for (_, _, line) in lines {
        let (Some(id), Some(name)) = (line["id"].as_i64(), line["name"].as_str()) else {
            continue;
        };
        names.entry(id).or_default().push(name.to_owned());
    }
    names
}

/// Whether `seen` holds every one of `versions` in order and ends with the last (a version
/// repeated is left to `sluice-verify`; one missing, out of order or unknown is not).
fn holds_in_order(seen: &[String], versions: &[String]) -> bool {
    let mut next = 0;
    for name in seen {
        if next < versions.len() && *name == versions[next] {
            next += 1;
        } else if !versions[..next].contains(name) {
            return false;
        }
    }
    next == versions.len() && seen.last() == versions.last()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_committed_version_reaches_the_files_in_order() {
    let mut scenario = Scenario::new("binlog", 6).await;
    binlog_scenario(&mut scenario);
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

    // Each round changes every product twice in one transaction; the producer is killed in
    // the middle of the rounds and started again.
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
            // Stopped and started again: it goes on from its saved position (a `kill -9`
            // publishes again what was in flight, at least once, and is left to the exactly-once
            // binlog source).
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
    scenario
        .insert_products(PRODUCTS + 1..PRODUCTS + 101, None)
        .await;
    for id in PRODUCTS as i64 + 1..=PRODUCTS as i64 + 100 {
        versions.insert(id, vec![format!("Item {id}")]);
    }

    scenario.wait_until_verified(CATCH_UP).await;
    let (code, report) = scenario.verify();
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["deleted"]["count"].as_u64(), Some(200), "{report:#}");
    let seen = names_in_order(&scenario);
    let mut missing = Vec::new();
    for (id, expected) in &versions {
        let lines = seen.get(id).cloned().unwrap_or_default();
        if !holds_in_order(&lines, expected) {
            missing.push((*id, lines, expected.clone()));
        }
    }
    missing.sort();
    assert!(
        missing.is_empty(),
        "{} products lack a version or hold one out of order, e.g. {:?}\nproducer log:\n{}",
        missing.len(),
        missing.first(),
        tail(&scenario.log("producer.log"), 20)
    );
    let lines: usize = seen.values().map(Vec::len).sum();
    let committed: usize = versions.values().map(Vec::len).sum();
    assert!(
        lines >= committed,
        "{lines} lines for {committed} committed versions"
    );
    let codes = scenario.stop_all();
    assert!(codes.iter().all(|c| *c == Some(0)), "{codes:?}");
}

#[test]
fn a_version_missing_or_out_of_order_is_caught() {
    let versions = ["v0", "v1", "v2"].map(String::from);
    let seen = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    assert!(holds_in_order(&seen(&["v0", "v1", "v2"]), &versions));
    assert!(holds_in_order(
        &seen(&["v0", "v1", "v1", "v2", "v2"]),
        &versions
    ));
    assert!(holds_in_order(
        &seen(&["v0", "v1", "v2", "v1", "v2"]),
        &versions
    ));
    assert!(!holds_in_order(&seen(&["v0", "v1", "v2", "v1"]), &versions));
    assert!(!holds_in_order(&seen(&["v0", "v2"]), &versions));
    assert!(!holds_in_order(&seen(&["v0", "v2", "v1"]), &versions));
    assert!(!holds_in_order(&seen(&["v0", "x", "v1", "v2"]), &versions));
}

#[tokio::test(flavor = "multi_thread")]
async fn check_names_the_grants_and_settings_the_binlog_source_needs() {
    let mut scenario = Scenario::new("binlog_check", 6).await;
    scenario.with_setting("producer.source=binlog");
    let run_check = |scenario: &Scenario| {
        let output = scenario.output_of("sluice-producer", &["check", "--json"], &[]);
        let report: serde_json::Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("a JSON report ({e}): {output:?}"));
        (output.status.code(), report)
    };

    // The stack's `sluice` user has no replication grant, and exactly once is the default.
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
    let (status, line) = check_status(&report, "producer", "binlog delivery");
    assert_eq!(status, "failed", "{line}");
    assert!(line.contains("exactly_once = false"), "{line}");
    let (status, line) = check_status(&report, "mysql", "binary log");
    assert_eq!(
        status, "ok",
        "the stack's MariaDB writes a full row-based log: {line}"
    );

    // With the stack's binlog user and at least once, the binlog source's checks pass.
    binlog_scenario(&mut scenario);
    let (_, report) = run_check(&scenario);
    for (area, name) in [("mysql", "replication grants"), ("mysql", "binary log")] {
        let (status, line) = check_status(&report, area, name);
        assert_eq!(status, "ok", "{line}");
    }
    assert!(
        report["checks"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|check| check["name"] != "binlog delivery"),
        "{report:#}"
    );
}
