//! The local stack as a user drives it: `up` is idempotent, and stopping services never loses
//! rows, topics or schema ids. These tests restart services, so they run one at a time.

use std::time::Duration;

use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use sluice_common::settings::Settings;
use sluice_common::{kafka, mysql};
use sluice_e2e::{service_pids, stack, stack_ok, unique};
use sluice_registry::RegistryClient;

/// Serialises the tests of this file: each one stops or starts services.
static STACK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn record_schema(name: &str) -> String {
    format!(r#"{{"type":"record","name":"{name}","fields":[{{"name":"id","type":"int"}}]}}"#)
}

fn record_name(prefix: &str) -> String {
    unique(prefix).replace('-', "_")
}

#[test]
fn second_up_finds_everything_up_and_changes_nothing() {
    let _serial = STACK.blocking_lock();
    stack_ok(&["up"]);
    let before = service_pids();
    let output = stack_ok(&["up"]);
    assert_eq!(service_pids(), before, "no service was restarted");
    assert_eq!(output.matches("already running").count(), 4, "{output}");
    assert!(!output.contains("started"), "{output}");
    assert!(!output.contains("applied migration"), "{output}");
    let status = stack_ok(&["status"]);
    assert_eq!(status.matches(" up (pid ").count(), 4, "{status}");
}

#[tokio::test]
async fn registry_restart_keeps_every_schema_under_its_id() {
    let _serial = STACK.lock().await;
    let registry = RegistryClient::new(&Settings::default().registry).expect("client");
    let subject = unique("it-restart-value");
    let schema = record_schema(&record_name("Restart"));
    let id = registry
        .register(&subject, &schema)
        .await
        .expect("register");

    stack_ok(&["restart", "registry"]);

    let fetched = registry
        .schema_by_id(id)
        .await
        .expect("schema by id after restart");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&fetched).expect("json"),
        serde_json::from_str::<serde_json::Value>(&schema).expect("json")
    );
    let again = registry
        .register(&subject, &schema)
        .await
        .expect("register again");
    assert_eq!(again, id, "the schema keeps its id across a restart");
}

#[tokio::test]
async fn down_then_up_brings_back_rows_topics_and_schemas() {
    let _serial = STACK.lock().await;
    let settings = Settings::default();
    let product_id = 2_000_000_000 - i32::try_from(std::process::id() % 1_000_000).unwrap_or(0);
    let topic = unique("it-durable");
    let subject = unique("it-durable-value");
    let schema = record_schema(&record_name("Durable"));

    let pool = mysql::connect(&settings.mysql, 1).await.expect("mysql");
    sqlx::query(
        "REPLACE INTO product (id, name, category, price) VALUES (?, 'durable', 'test', 1.5)",
    )
    .bind(product_id)
    .execute(&pool)
    .await
    .expect("insert row");
    pool.close().await;
    let admin = kafka::admin_client(&settings.kafka).expect("admin");
    let created = admin
        .create_topics(
            &[NewTopic::new(&topic, 10, TopicReplication::Fixed(1))],
            &AdminOptions::new(),
        )
        .await
        .expect("create topic");
    assert!(created.iter().all(Result::is_ok), "{created:?}");
    let producer: FutureProducer = kafka::client_config(&settings.kafka)
        .set("acks", "all")
        .create()
        .expect("producer");
    let delivery = producer
        .send(
            FutureRecord::to(&topic).key("1").payload("kept"),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(e, _)| e)
        .expect("delivery");
    drop(producer);
    drop(admin);
    let registry = RegistryClient::new(&settings.registry).expect("client");
    let id = registry
        .register(&subject, &schema)
        .await
        .expect("register");

    stack_ok(&["down"]);
    let status = stack(&["status"]);
    assert!(
        !status.status.success(),
        "status must report the stack down"
    );
    assert_eq!(
        String::from_utf8_lossy(&status.stdout)
            .matches(" down")
            .count(),
        4
    );
    stack_ok(&["up"]);

    let pool = mysql::connect(&settings.mysql, 1)
        .await
        .expect("mysql after up");
    let name: String = sqlx::query_scalar("SELECT name FROM product WHERE id = ?")
        .bind(product_id)
        .fetch_one(&pool)
        .await
        .expect("row survives down/up");
    assert_eq!(name, "durable");
    sqlx::query("DELETE FROM product WHERE id = ?")
        .bind(product_id)
        .execute(&pool)
        .await
        .expect("clean up row");

    let view = kafka::probe(&settings.kafka)
        .await
        .expect("metadata after up");
    let partitions = view
        .topics
        .iter()
        .find(|(n, _)| *n == topic)
        .map(|(_, p)| *p);
    assert_eq!(partitions, Some(10), "topic survives down/up");
    let consumer: BaseConsumer = kafka::client_config(&settings.kafka)
        .set("group.id", format!("{topic}-reader"))
        .create()
        .expect("consumer");
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(&topic, delivery.partition, Offset::Offset(delivery.offset))
        .expect("assignment");
    consumer.assign(&assignment).expect("assign");
    let message = (0..30)
        .find_map(|_| consumer.poll(Duration::from_secs(1)))
        .expect("message within 30s")
        .expect("no error");
    assert_eq!(
        message.payload(),
        Some(&b"kept"[..]),
        "message survives down/up"
    );

    let fetched = registry
        .schema_by_id(id)
        .await
        .expect("schema survives down/up");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&fetched).expect("json"),
        serde_json::from_str::<serde_json::Value>(&schema).expect("json")
    );
    let admin = kafka::admin_client(&settings.kafka).expect("admin");
    admin
        .delete_topics(&[&topic], &AdminOptions::new())
        .await
        .expect("clean up topic");
}
