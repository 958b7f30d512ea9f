//! Producers and consumers upgrade independently: v1 records read by v2 consumers get the new
//! fields' defaults, v2 records read by v1 consumers lose the fields they do not know, and a
//! topic holding both versions is read correctly by both. A schema that would break readers is
//! refused before anything is produced.

use std::collections::HashMap;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use serde_json::{json, Value};
use sluice_common::kafka::client_config;
use sluice_e2e::scenario::{tail, Scenario};
use sluice_e2e::wait::CATCH_UP;
use sluice_registry::RegistryClient;

const V2: &str = "schemas/product.v2.avsc";

static ONE_PIPELINE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The v1 lines the scenario expects, with v2's fields added from the table when `v2_values`
/// (records written with v2) or as their defaults.
async fn expected_v2(scenario: &Scenario, v2_values: &dyn Fn(i32) -> bool) -> HashMap<i32, Value> {
    let extras: Vec<(i32, i32, Option<String>)> = sqlx::query_as(&format!(
        "SELECT id, stock, description FROM `{}`",
        scenario.names.table
    ))
    .fetch_all(&scenario.pool)
    .await
    .expect("extras");
    let mut expected = scenario.expected().await;
    for (id, stock, description) in extras {
        if let Some(Value::Object(line)) = expected.get_mut(&id) {
            let (stock, description) = if v2_values(id) {
                (json!(stock), json!(description))
            } else {
                (json!(0), Value::Null)
            };
            line.insert("stock".into(), stock);
            line.insert("description".into(), description);
        }
    }
    expected
}

#[tokio::test(flavor = "multi_thread")]
async fn consumers_and_producers_on_either_version_read_every_record() {
    let _serial = ONE_PIPELINE.lock().await;
    let mut scenario = Scenario::new("evolution", 6).await;
    sqlx::query(&format!(
        "ALTER TABLE `{}` ADD COLUMN stock INT NOT NULL DEFAULT 0, ADD COLUMN description TEXT NULL",
        scenario.names.table
    ))
    .execute(&scenario.pool)
    .await
    .expect("the shop adds columns");
    scenario.insert_products(1..101, None).await;
    sqlx::query(&format!(
        "UPDATE `{}` SET stock = id * 3, description = IF(id % 2 = 0, CONCAT('about ', id), NULL)",
        scenario.names.table
    ))
    .execute(&scenario.pool)
    .await
    .expect("fill new columns");

    // A v1 producer, and consumers already upgraded to v2.
    let v2_group = [
        format!("consumer.reader_schema_file={V2}"),
        format!("consumer.group_id={}-v2", scenario.names.group),
        format!(
            "consumer.output_dir={}/out-v2",
            scenario.dir.path().display()
        ),
    ];
    scenario.start_group("v2-", 2, &v2_group);
    scenario.start_producer();
    let all_v1 = expected_v2(&scenario, &|_| false).await;
    scenario.wait_for_lines("out-v2", &all_v1, CATCH_UP).await;

    // The producer moves to v2 and half the products change; v1 consumers join afterwards and
    // read the whole topic, v1 and v2 records mixed.
    assert_eq!(scenario.stop_producer(), Some(0));
    scenario.with_setting(&format!("producer.schema_file={V2}"));
    scenario.start_producer();
    let updated: Vec<i32> = (1..=50).collect();
    scenario.update_products(&updated, 1).await;
    let mixed = expected_v2(&scenario, &|id| id <= 50).await;
    scenario.wait_for_lines("out-v2", &mixed, CATCH_UP).await;

    let v1_group = [
        format!("consumer.group_id={}-v1", scenario.names.group),
        format!(
            "consumer.output_dir={}/out-v1",
            scenario.dir.path().display()
        ),
    ];
    scenario.start_group("v1-", 2, &v1_group);
    let v1_lines = scenario.expected().await;
    scenario.wait_for_lines("out-v1", &v1_lines, CATCH_UP).await;
    for (_, _, line) in scenario.lines_in("out-v1") {
        assert_eq!(
            line.as_object().map(|o| o.len()),
            Some(5),
            "v1 lines carry v1 fields only: {line}"
        );
    }

    let registry = RegistryClient::new(&scenario.settings.registry).expect("client");
    let versions = registry
        .versions(&format!("{}-value", scenario.names.topic))
        .await
        .expect("versions");
    assert_eq!(
        versions,
        [1, 2],
        "both versions registered under the topic's subject"
    );
    let codes = scenario.stop_all();
    assert!(codes.iter().all(|c| *c == Some(0)), "{codes:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_incompatible_schema_stops_the_producer_before_anything_is_produced() {
    let _serial = ONE_PIPELINE.lock().await;
    let mut scenario = Scenario::new("incompatible", 6).await;
    scenario.insert_products(1..11, None).await;
    let registry = RegistryClient::new(&scenario.settings.registry).expect("client");
    let v1 =
        std::fs::read_to_string(sluice_e2e::repo_root().join("schemas/product.avsc")).expect("v1");
    registry
        .register(&format!("{}-value", scenario.names.topic), &v1)
        .await
        .expect("v1 registered earlier");

    // The table has the column, so only the registry can object: old records lack `stock`
    // and the field has no default, so new readers could not read them (BACKWARD).
    sqlx::query(&format!(
        "ALTER TABLE `{}` ADD COLUMN stock INT NOT NULL DEFAULT 0",
        scenario.names.table
    ))
    .execute(&scenario.pool)
    .await
    .expect("add column");
    let changed = v1.replace(
        r#"{"name": "last_updated", "type": "string"}"#,
        r#"{"name": "last_updated", "type": "string"}, {"name": "stock", "type": "int"}"#,
    );
    assert_ne!(changed, v1);
    let path = scenario.dir.path().join("stock-without-default.avsc");
    std::fs::write(&path, changed).expect("write schema");
    scenario.with_setting(&format!("producer.schema_file={}", path.display()));
    scenario.start_producer();
    let codes = scenario.stop_all_after(Duration::from_secs(60));
    assert_eq!(codes, [Some(1)], "the producer stops");
    let log = scenario.log("producer.log");
    assert!(
        log.contains("cannot be registered under"),
        "{}",
        tail(&log, 5)
    );
    assert!(
        log.contains("incompatible"),
        "the registry's reason: {}",
        tail(&log, 5)
    );

    let consumer: BaseConsumer = client_config(&scenario.settings.kafka)
        .create()
        .expect("consumer");
    // The topic may not exist (the producer stopped before creating it): nothing was produced.
    // If it does, each partition's end is 0; any other answer fails the test.
    let topic = &scenario.names.topic;
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("the cluster's metadata");
    let exists = metadata
        .topics()
        .iter()
        .any(|t| t.name() == topic && t.error().is_none() && !t.partitions().is_empty());
    if exists {
        for partition in 0..scenario.settings.kafka.partitions {
            let (_, high) = consumer
                .fetch_watermarks(topic, partition, Duration::from_secs(10))
                .unwrap_or_else(|e| panic!("the end of {topic}/{partition}: {e}"));
            assert_eq!(high, 0, "nothing was produced to partition {partition}");
        }
    }
}
