//! `sluice-verify`, the oracle of the fault tests, judged itself: clean on the files of a real
//! run, and each kind of damage done to them afterwards found and counted exactly once.

use std::io::Write;

use serde_json::Value;
use sluice_e2e::scenario::Scenario;
use sluice_e2e::wait::CATCH_UP;

const PRODUCTS: i32 = 3_000;

fn count(report: &Value, kind: &str) -> u64 {
    report[kind]["count"]
        .as_u64()
        .unwrap_or_else(|| panic!("no {kind} count in {report:#}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_passes_a_clean_run_and_counts_each_kind_of_damage() {
    let mut scenario = Scenario::new("verify", 6).await;
    scenario.insert_products(1..PRODUCTS + 1, None).await;
    scenario.start_consumers(2);
    scenario.start_producer();
    scenario.wait_caught_up(CATCH_UP).await;
    let codes = scenario.stop_all();
    assert!(
        codes.iter().all(|code| *code == Some(0)),
        "every process exits cleanly: {codes:?}"
    );

    let (code, report) = scenario.verify();
    assert_eq!(code, 0, "a clean run: {report:#}");
    assert_eq!(report["rows"], PRODUCTS, "{report:#}");
    assert!(
        report["versions"].as_u64() >= Some(PRODUCTS as u64),
        "every row flowed: {report:#}"
    );
    for kind in [
        "missing",
        "duplicate",
        "torn",
        "wrong",
        "backward",
        "not_in_table",
    ] {
        assert_eq!(count(&report, kind), 0, "{kind}: {report:#}");
    }

    // The damage: a line copied into the other member's file, a line cut short, a row changed
    // after the pipeline stopped, a row deleted, and a row's price changed in place.
    let out = scenario.names.out_dir();
    let first = std::fs::read_to_string(out.join("consumer-1.jsonl")).expect("member 1's file");
    let copied = first.lines().next().expect("a line");
    let mut second = std::fs::OpenOptions::new()
        .append(true)
        .open(out.join("consumer-2.jsonl"))
        .expect("member 2's file");
    writeln!(second, "{copied}").expect("copy a line");
    second
        .write_all(b"{\"id\":17,\"name\":\"cut sh")
        .expect("torn tail");
    drop(second);
    let table = &scenario.names.table;
    for statement in [
        format!("UPDATE `{table}` SET name = 'changed later' WHERE id = 5"),
        format!("DELETE FROM `{table}` WHERE id = 7"),
        format!("UPDATE `{table}` SET price = price + 1, last_updated = last_updated WHERE id = 9"),
    ] {
        sqlx::query(&statement)
            .execute(&scenario.pool)
            .await
            .expect("damage the table");
    }

    let (code, report) = scenario.verify();
    assert_eq!(code, 1, "violations exit 1: {report:#}");
    for (kind, expected) in [
        ("duplicate", 1),
        ("torn", 1),
        ("missing", 1),
        ("not_in_table", 1),
        ("wrong", 1),
        ("backward", 0),
        ("conflicting", 0),
    ] {
        assert_eq!(count(&report, kind), expected, "{kind}: {report:#}");
    }
    let examples = |kind: &str| report[kind]["examples"].to_string();
    assert!(examples("missing").contains("\"id\":5"), "{report:#}");
    assert!(examples("not_in_table").contains("\"id\":7"), "{report:#}");
    assert!(
        examples("wrong").contains("\"id\":9") && examples("wrong").contains("price"),
        "{report:#}"
    );
    assert!(examples("torn").contains("consumer-2.jsonl"), "{report:#}");
}
