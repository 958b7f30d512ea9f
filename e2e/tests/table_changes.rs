//! `ALTER TABLE` while about 2 000 updates a second flow, with the schema built from the table
//! and members that follow the subject's latest version: a column added with a default, one
//! added NULL-able without one, one dropped and one widened (INT → BIGINT) each become a new
//! version of the subject, seen through the registry's API, and show in the lines written after
//! it; `sluice-verify` passes on the files. Then `price` changed from FLOAT to VARCHAR, which
//! the subject's BACKWARD level refuses, stops the producer with one line that names the column,
//! the level and the ways forward, and nothing is published under it.

use std::time::Duration;

use serde_json::Value;
use sluice_e2e::load::{test_seed, Load};
use sluice_e2e::scenario::{tail, Scenario};
use sluice_e2e::wait::{self, CATCH_UP};
use sluice_registry::RegistryClient;

/// Products the load updates.
const PRODUCTS: i32 = 2_000;

/// Updates of the load between two changes of the table: records flow across each change.
const UPDATES_BETWEEN_CHANGES: u64 = 8_000;

struct Subject {
    registry: RegistryClient,
    name: String,
}

impl Subject {
    async fn versions(&self) -> Vec<u32> {
        self.registry.versions(&self.name).await.unwrap_or_default()
    }

    /// Waits for version `version`, and returns its fields by name and type.
    async fn wait_for_version(&self, version: u32) -> Value {
        let found = wait::until_async(
            &format!("version {version} of {}", self.name),
            Duration::from_secs(60),
            || async { self.registry.version(&self.name, Some(version)).await.ok() },
            String::new,
        )
        .await;
        serde_json::from_str(&found.schema).expect("a JSON schema")
    }
}

/// The type of field `name` in `schema`, `None` without one.
fn field_type(schema: &Value, name: &str) -> Option<Value> {
    schema["fields"]
        .as_array()?
        .iter()
        .find(|field| field["name"] == name)
        .map(|field| field["type"].clone())
}

async fn alter(scenario: &Scenario, change: &str) {
    sqlx::query(&format!("ALTER TABLE `{}` {change}", scenario.names.table))
        .execute(&scenario.pool)
        .await
        .unwrap_or_else(|e| panic!("ALTER TABLE … {change}: {e}"));
}

async fn update(scenario: &Scenario, set: &str) {
    sqlx::query(&format!("UPDATE `{}` SET {set}", scenario.names.table))
        .execute(&scenario.pool)
        .await
        .unwrap_or_else(|e| panic!("UPDATE … SET {set}: {e}"));
}

/// Waits for a line of product `id` whose field `field` is `value`. Looked at once a second:
/// the files grow by up to 2 000 lines a second, and reading them all more often would take the
/// cores the pipeline runs on.
async fn wait_for_line(scenario: &Scenario, id: i64, field: &str, value: &Value) {
    let deadline = std::time::Instant::now() + CATCH_UP;
    while !scenario
        .lines()
        .iter()
        .any(|(_, _, line)| line["id"] == id && &line[field] == value)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no line of product {id} with {field} = {value} after {CATCH_UP:?}:\n{}",
            tail(&scenario.log("producer.log"), 20)
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Waits for the producer to stop on its own with an error, and returns the line of its log
/// that says `what`.
fn producer_stops_saying(scenario: &mut Scenario, what: &str) -> String {
    let code = scenario.wait_for_producer_exit(Duration::from_secs(60));
    let log = scenario.log("producer.log");
    assert!(
        matches!(code, Some(code) if code != 0),
        "the producer stops with an error (exit {code:?}):\n{}",
        tail(&log, 20)
    );
    log.lines()
        .find(|line| line.contains(what))
        .unwrap_or_else(|| panic!("no line says `{what}`:\n{}", tail(&log, 20)))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_schema_follows_alter_table_while_rows_flow() {
    let seed = test_seed();
    println!("seed {seed}");
    let mut scenario = Scenario::new("ddl", 6).await;
    alter(&scenario, "ADD COLUMN legacy_code VARCHAR(20) NULL").await;
    scenario.insert_products(1..PRODUCTS + 1, None).await;
    scenario.with_setting("producer.schema_from=table");
    scenario.with_setting("consumer.reader_schema_from=latest");
    scenario.start_producer();
    scenario.start_consumers(2);
    let subject = Subject {
        registry: RegistryClient::new(&scenario.settings.registry).expect("client"),
        name: format!("{}-value", scenario.names.topic),
    };
    let first = subject.wait_for_version(1).await;
    assert_eq!(
        field_type(&first, "legacy_code"),
        Some(serde_json::json!(["null", "string"]))
    );

    let load = Load::start(&scenario.pool, &scenario.names.table, PRODUCTS, seed);
    load.wait_for(UPDATES_BETWEEN_CHANGES).await;

    // Added with a default: old records read it as 0.
    alter(&scenario, "ADD COLUMN stock INT NOT NULL DEFAULT 0").await;
    let v2 = subject.wait_for_version(2).await;
    assert_eq!(field_type(&v2, "stock"), Some(serde_json::json!("int")));
    update(&scenario, "stock = id * 3 WHERE id <= 10").await;
    wait_for_line(&scenario, 7, "stock", &serde_json::json!(21)).await;
    load.wait_for(UPDATES_BETWEEN_CHANGES).await;

    // Added NULL-able without a default.
    alter(&scenario, "ADD COLUMN description TEXT NULL").await;
    let v3 = subject.wait_for_version(3).await;
    assert_eq!(
        field_type(&v3, "description"),
        Some(serde_json::json!(["null", "string"]))
    );
    update(
        &scenario,
        "description = CONCAT('about ', id) WHERE id <= 10",
    )
    .await;
    wait_for_line(&scenario, 7, "description", &serde_json::json!("about 7")).await;
    load.wait_for(UPDATES_BETWEEN_CHANGES).await;

    // Dropped.
    alter(&scenario, "DROP COLUMN legacy_code").await;
    let v4 = subject.wait_for_version(4).await;
    assert_eq!(field_type(&v4, "legacy_code"), None);
    load.wait_for(UPDATES_BETWEEN_CHANGES).await;

    // Widened: values past an int's range flow.
    alter(&scenario, "MODIFY stock BIGINT NOT NULL DEFAULT 0").await;
    let v5 = subject.wait_for_version(5).await;
    assert_eq!(field_type(&v5, "stock"), Some(serde_json::json!("long")));
    update(&scenario, "stock = 5000000000 + id WHERE id <= 10").await;
    wait_for_line(&scenario, 7, "stock", &serde_json::json!(5_000_000_007_i64)).await;
    load.wait_for(UPDATES_BETWEEN_CHANGES).await;
    let updates = load.stop().await;

    scenario.wait_until_verified(CATCH_UP).await;
    scenario.assert_exactly_once(updates.min(20_000));
    let lines = scenario.lines();
    let widened = lines
        .iter()
        .filter(|(_, _, line)| line["stock"].as_i64() > Some(i64::from(i32::MAX)))
        .count();
    assert!(widened >= 10, "the widened values are in the lines");
    assert!(
        lines
            .iter()
            .filter(|(_, _, line)| line["stock"].as_i64() > Some(i64::from(i32::MAX)))
            .all(|(_, _, line)| line.get("legacy_code").is_none()),
        "lines written after the drop lack the dropped column"
    );

    // Refused: a reader of `string` cannot read the `float`s already written (BACKWARD).
    let versions_before = subject.versions().await;
    assert_eq!(versions_before, [1, 2, 3, 4, 5]);
    alter(&scenario, "MODIFY price VARCHAR(20) NOT NULL").await;
    update(&scenario, "price = 'about ten' WHERE id <= 10").await;
    let refusal = producer_stops_saying(&mut scenario, "breaks BACKWARD");
    let log = scenario.log("producer.log");
    for followed in log.lines().filter(|line| line.contains("changed (")) {
        println!("{followed}");
    }
    for needed in [
        "column `price`",
        "varchar(20)",
        "Ways forward",
        &subject.name,
    ] {
        assert!(refusal.contains(needed), "{needed} in: {refusal}");
    }
    assert_eq!(
        subject.versions().await,
        versions_before,
        "no version registered for the refused schema"
    );
    // The members had every record before the change; none came after it.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let lines = scenario.lines();
    assert!(
        lines.iter().all(|(_, _, line)| line["price"].is_number()),
        "no line with a text price"
    );
    let codes = scenario.stop_all();
    assert!(
        codes.iter().all(|c| *c == Some(0)),
        "members stop cleanly: {codes:?}"
    );
}

/// With a schema file the schema stays as written: a column added to the table changes
/// nothing the lines show, and a column the file needs, dropped, stops the producer with a
/// line naming it.
#[tokio::test(flavor = "multi_thread")]
async fn a_schema_file_outlives_a_new_column_and_stops_when_its_column_goes() {
    let mut scenario = Scenario::new("ddl_file", 6).await;
    scenario.insert_products(1..201, None).await;
    scenario.start_producer();
    scenario.start_consumers(1);
    scenario.wait_caught_up(CATCH_UP).await;

    alter(&scenario, "ADD COLUMN note TEXT NULL").await;
    scenario.update_products(&[1, 2, 3], 1).await;
    scenario.wait_caught_up(CATCH_UP).await;
    scenario
        .wait_for_log("producer.log", "the schema is the same", 1, CATCH_UP)
        .await;
    assert!(
        scenario
            .lines()
            .iter()
            .all(|(_, _, line)| line.get("note").is_none()),
        "the file's fields only"
    );

    alter(&scenario, "DROP COLUMN category").await;
    let stop = producer_stops_saying(&mut scenario, "no longer fits the schema");
    println!("{stop}");
    for needed in ["column `category` dropped", "`category`", "Ways forward"] {
        assert!(stop.contains(needed), "{needed} in: {stop}");
    }
    let codes = scenario.stop_all();
    assert!(codes.iter().all(|c| *c == Some(0)), "{codes:?}");
}
