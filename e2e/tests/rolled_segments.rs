//! Segments a loader picks up (`consumer.roll_bytes`, `consumer.roll_seconds`): under
//! exactly-once, with updates flowing, a member stopped exactly after a segment's rename and
//! at the commit points around it, and members killed at random, every row version is in the
//! files once and no line is torn (`sluice-verify`, which reads closed and open segments); the
//! folder holds only closed segments (`<member>.<sequence>.jsonl`, whole) and open ones
//! (`<member>.jsonl.part`), and once the members are idle their open segments close by age.
//! DuckDB, reading `*.jsonl` with the query docs/guarantees.md gives, then finds every
//! product's latest state equal to the table, deleted products gone.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use sluice_e2e::load::{test_seed, Load};
use sluice_e2e::scenario::Scenario;
use sluice_e2e::wait::{self, CATCH_UP};

const PRODUCTS: i32 = 20_000;
const DELETED: i32 = 40;

/// The latest state query of docs/guarantees.md, its rows printed as JSON lines.
const DUCKDB_LATEST: &str = r#"
import duckdb, json, sys
rows = duckdb.sql(f"""
SELECT id, name, category, price, last_updated FROM (
  SELECT *, row_number() OVER (
      PARTITION BY id ORDER BY coalesce(last_updated, deleted_at) DESC) AS newest
  FROM read_json('{sys.argv[1]}/*.jsonl', format = 'newline_delimited', columns = {{
      id: 'INTEGER', name: 'VARCHAR', category: 'VARCHAR', price: 'DOUBLE',
      last_updated: 'VARCHAR', deleted: 'BOOLEAN', deleted_at: 'VARCHAR'}})
) WHERE newest = 1 AND deleted IS NOT TRUE
""").fetchall()
for id, name, category, price, last_updated in rows:
    print(json.dumps({"id": id, "name": name, "category": category, "price": price,
                      "last_updated": last_updated}))
"#;

/// What kind of file of the output folder `name` is.
fn kind_of(name: &str) -> &'static str {
    let closed = name
        .strip_suffix(".jsonl")
        .and_then(|stem| stem.rsplit_once('.'))
        .is_some_and(|(_, sequence)| {
            sequence.len() == 8 && sequence.bytes().all(|b| b.is_ascii_digit())
        });
    match () {
        _ if closed => "closed",
        _ if name.ends_with(".jsonl.part") => "open",
        _ if name.ends_with(".pending") || name.ends_with(".lock") => "member state",
        _ => "unexpected",
    }
}

/// The output folder's files by kind.
fn files_of(folder: &Path) -> HashMap<&'static str, Vec<(String, Vec<u8>)>> {
    let mut files: HashMap<&'static str, Vec<(String, Vec<u8>)>> = HashMap::new();
    for entry in std::fs::read_dir(folder)
        .expect("the output folder")
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        let bytes = std::fs::read(entry.path()).unwrap_or_default();
        files.entry(kind_of(&name)).or_default().push((name, bytes));
    }
    files
}

#[tokio::test(flavor = "multi_thread")]
async fn segments_roll_exactly_once_through_crashes_and_duckdb_reads_the_tables_state() {
    let seed = test_seed();
    println!("faults from seed {seed} (SLUICE_TEST_SEED={seed} replays them)");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut scenario = Scenario::new("rolled", 6).await;
    for setting in [
        "producer.exactly_once=true",
        "consumer.exactly_once=true",
        "consumer.roll_bytes=200000",
        "consumer.roll_seconds=3",
        "producer.delete_sweep_interval_secs=2",
    ] {
        scenario.with_setting(setting);
    }
    scenario.insert_products(1..PRODUCTS + 1, None).await;
    scenario.start_consumers(3);
    scenario.start_producer();
    let load = Load::start(&scenario.pool, &scenario.names.table, PRODUCTS, seed);
    for point in ["roll-renamed", "after-commit", "mid-append"] {
        scenario.crash_consumer_at(1, point);
    }
    scenario.restart_consumer(1, &[]);
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(rng.random_range(500..2_500))).await;
        let member = rng.random_range(1..=3);
        scenario.kill_consumer(member);
        tokio::time::sleep(Duration::from_millis(rng.random_range(100..1_500))).await;
        scenario.restart_consumer(member, &[]);
    }
    let updates = load.stop().await;
    sqlx::query(&format!(
        "DELETE FROM `{}` WHERE id % 500 = 7",
        scenario.names.table
    ))
    .execute(&scenario.pool)
    .await
    .expect("delete some products");
    scenario.wait_until_verified(CATCH_UP).await;
    scenario.assert_exactly_once(PRODUCTS as u64 + 5_000);
    assert!(updates >= 5_000, "the load ran: {updates} updates");

    // A last change of a thousand products reaches every member, whose open segment then
    // closes by age once it is idle: every line ends up in a closed one.
    scenario
        .update_products(&(1..=1000).collect::<Vec<_>>(), 1)
        .await;
    scenario.wait_until_verified(CATCH_UP).await;
    let folder = scenario.names.out_dir();
    wait::until(
        "every open segment closed by age",
        Duration::from_secs(60),
        || {
            let files = files_of(&folder);
            let open = files.get("open").map_or(0, Vec::len);
            let all_empty = files
                .get("open")
                .into_iter()
                .flatten()
                .all(|(_, bytes)| bytes.is_empty());
            (open == 3 && all_empty).then_some(())
        },
        || {
            format!(
                "{:?}",
                files_of(&folder).get("open").map(|f| f
                    .iter()
                    .map(|(n, b)| (n.clone(), b.len()))
                    .collect::<Vec<_>>())
            )
        },
    )
    .await;
    let files = files_of(&folder);
    assert!(
        !files.contains_key("unexpected"),
        "{:?}",
        files.get("unexpected")
    );
    let closed = files.get("closed").cloned().unwrap_or_default();
    assert!(closed.len() >= 10, "segments rolled: {}", closed.len());
    for (name, bytes) in &closed {
        assert!(
            !bytes.is_empty() && bytes.ends_with(b"\n"),
            "{name}: a closed segment holds whole lines"
        );
    }

    // Every member closed its last segment by age since its last start, and counted it.
    for member in 1..=3 {
        let closed = scenario
            .metric(
                &format!("consumer-{member}.log"),
                "sluice_consumer_segments_closed_total",
            )
            .await;
        assert!(
            closed.is_some_and(|closed| closed >= 1.0),
            "consumer-{member}: {closed:?}"
        );
    }

    // DuckDB over the closed segments: each product's latest state is the table's.
    let python = sluice_e2e::test_tool_venv("duckdb", "python").join("bin/python");
    let output = Command::new(&python)
        .args(["-c", DUCKDB_LATEST])
        .arg(&folder)
        .output()
        .expect("run DuckDB");
    assert!(
        output.status.success(),
        "DuckDB: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let latest: HashMap<i64, Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("a JSON row"))
        .map(|row| (row["id"].as_i64().unwrap_or_default(), row))
        .collect();
    let expected = scenario.expected().await;
    assert_eq!(
        latest.len(),
        expected.len(),
        "one latest state per product in the table ({DELETED} deleted)"
    );
    assert_eq!(expected.len(), (PRODUCTS - DELETED) as usize);
    for (id, line) in &expected {
        let row = latest
            .get(&i64::from(*id))
            .unwrap_or_else(|| panic!("product {id} is missing from DuckDB's latest state"));
        for field in ["name", "category", "last_updated"] {
            assert_eq!(row[field], line[field], "product {id}'s {field}");
        }
        assert_eq!(
            row["price"].as_f64(),
            line["price"].as_f64(),
            "product {id}'s price"
        );
    }
    let codes = scenario.stop_all();
    assert!(codes.iter().all(|c| *c == Some(0)), "{codes:?}");
}
