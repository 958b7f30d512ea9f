//! The shipped configuration's output, byte for byte: rows chosen to exercise every formatting
//! rule of a line (escapes, Unicode, shortest floats, the discount's rounding, microseconds,
//! many rows in one second, a product updated after it was first written) go through the real
//! producer and two members, and the lines, sorted, must equal `e2e/fixtures/shipped_output.jsonl`.
//! The fixture was made from the pipeline before the schema could be derived from the table, so
//! any change to how the file schema's records are read, encoded, decoded, transformed or
//! written shows here. `SLUICE_BLESS=1` rewrites the fixture (review the diff: it is the
//! product's output format).

use std::time::Duration;

use sluice_e2e::scenario::{tail, Scenario};
use sluice_e2e::wait::{self, CATCH_UP};

const FIXTURE: &str = "e2e/fixtures/shipped_output.jsonl";

/// `(id, name, category, price, last_updated)`, written as they are.
const FIRST_ROWS: &[(i32, &str, &str, f64, &str)] = &[
    (
        1,
        "Lamp \"XL\"",
        "electronics",
        19.99,
        "2026-01-01 00:00:00.000000",
    ),
    (
        2,
        "Ünïcödé ☃ 日本",
        "Home & Garden",
        0.1,
        "2026-01-01 00:00:00.000001",
    ),
    (
        3,
        "back\\slash\ttab",
        "ELECTRONICS",
        299.5,
        "2026-01-01 00:00:00.500000",
    ),
    (4, "", "", 0.0, "2026-01-01 00:00:01.000000"),
    (5, "emoji 🛒", "toys", -12.345, "2026-01-01 00:00:01.999999"),
    (
        6,
        "two\nlines",
        "Electronics",
        0.05,
        "2026-01-01 12:00:00.123456",
    ),
    (7, "tiny", "books", 1e-7, "2026-01-02 00:00:00.000000"),
    (
        8,
        "big",
        "electronics",
        123456.79,
        "2026-01-02 00:00:00.000000",
    ),
    (
        2147483647,
        "largest id",
        "eLeCtRoNiCs",
        0.01,
        "2026-01-02 00:00:00.000000",
    ),
    (
        -5,
        "negative id",
        "garden",
        1.5,
        "2026-01-03 23:59:59.999999",
    ),
];

/// Rows 100 … 149 share one second, the ties the keyset pages break by key.
const SAME_SECOND: std::ops::Range<i32> = 100..150;

/// Updates after the first lines are written: `(id, category, price)`. A first run reads the
/// table and then follows changes from the time it started, so these take the database's
/// clock; the fixture shows that time as `UPDATED_AT`.
const UPDATES: &[(i32, &str, f64)] = &[
    (1, "electronics", 21.5),
    (2, "Electronics", 9.99),
    (7, "Books", 7.0),
];

/// What the fixture holds in place of the updates' `last_updated`.
const UPDATED_AT: &str = "<the update's time>";

async fn insert(scenario: &Scenario, id: i32, name: &str, category: &str, price: f64, at: &str) {
    sqlx::query(&format!(
        "INSERT INTO `{}` (id, name, category, price, last_updated) VALUES (?, ?, ?, ?, ?)",
        scenario.names.table
    ))
    .bind(id)
    .bind(name)
    .bind(category)
    .bind(price as f32)
    .bind(at)
    .execute(&scenario.pool)
    .await
    .expect("insert a fixture row");
}

/// Every line of the scenario's output files, as bytes, sorted.
fn sorted_lines(scenario: &Scenario) -> Vec<String> {
    let folder = scenario.dir.path().join("out");
    let mut lines = Vec::new();
    // The members make the folder once they start.
    let Ok(entries) = std::fs::read_dir(&folder) else {
        return lines;
    };
    for entry in entries.flatten() {
        if entry.path().extension().is_some_and(|e| e == "jsonl") {
            let text = std::fs::read_to_string(entry.path()).expect("output file");
            assert!(
                text.is_empty() || text.ends_with('\n'),
                "{} ends mid-line",
                entry.path().display()
            );
            lines.extend(text.lines().map(str::to_owned));
        }
    }
    lines.sort();
    lines
}

async fn wait_for_line_count(scenario: &Scenario, count: usize) {
    wait::until(
        &format!("{count} lines in the output"),
        CATCH_UP,
        || (sorted_lines(scenario).len() >= count).then_some(()),
        || {
            format!(
                "{} lines so far\nproducer log:\n{}",
                sorted_lines(scenario).len(),
                tail(&scenario.log("producer.log"), 15)
            )
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_shipped_configuration_writes_the_lines_of_the_fixture() {
    let mut scenario = Scenario::new("fixture", 6).await;
    for &(id, name, category, price, at) in FIRST_ROWS {
        insert(&scenario, id, name, category, price, at).await;
    }
    for id in SAME_SECOND {
        let category = ["electronics", "Home", "toys"][id as usize % 3];
        let price = f64::from(id) + 0.99;
        let name = format!("Tied {id}");
        insert(
            &scenario,
            id,
            &name,
            category,
            price,
            "2026-01-04 08:00:00.000000",
        )
        .await;
    }
    let first = FIRST_ROWS.len() + SAME_SECOND.len();

    scenario.start_producer();
    scenario.start_consumers(2);
    wait_for_line_count(&scenario, first).await;
    let (stored, shown): (String, String) =
        sqlx::query_as("SELECT CAST(NOW(6) AS CHAR), DATE_FORMAT(NOW(6), '%Y-%m-%dT%H:%i:%s.%fZ')")
            .fetch_one(&scenario.pool)
            .await
            .expect("the database's clock");
    for &(id, category, price) in UPDATES {
        sqlx::query(&format!(
            "UPDATE `{}` SET category = ?, price = ?, last_updated = ? WHERE id = ?",
            scenario.names.table
        ))
        .bind(category)
        .bind(price as f32)
        .bind(&stored)
        .bind(id)
        .execute(&scenario.pool)
        .await
        .expect("update a fixture row");
    }
    wait_for_line_count(&scenario, first + UPDATES.len()).await;
    // Nothing more may come: give the pipeline a poll and a commit to show a stray line.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let codes = scenario.stop_all();
    assert!(
        codes.iter().all(|code| *code == Some(0)),
        "every process stops cleanly: {codes:?}"
    );

    let written = sorted_lines(&scenario)
        .join("\n")
        .replace(&format!("\"{shown}\""), &format!("\"{UPDATED_AT}\""))
        + "\n";
    let path = sluice_e2e::repo_root().join(FIXTURE);
    if std::env::var_os("SLUICE_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().expect("fixture folder")).expect("fixture folder");
        std::fs::write(&path, &written).expect("write the fixture");
    }
    let fixture = std::fs::read_to_string(&path).expect("the committed fixture");
    if written != fixture {
        let differing: Vec<String> = written
            .lines()
            .zip(fixture.lines())
            .filter(|(a, b)| a != b)
            .take(5)
            .map(|(a, b)| format!("written: {a}\nfixture: {b}"))
            .collect();
        panic!(
            "the output differs from {FIXTURE} ({} lines written, {} in the fixture):\n{}",
            written.lines().count(),
            fixture.lines().count(),
            differing.join("\n")
        );
    }
}
