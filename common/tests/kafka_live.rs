//! Against the local stack's Kafka (`make up`): a topic created with 10 partitions, and a keyed
//! message produced and consumed back through rdkafka.

use std::time::Duration;

use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use sluice_common::kafka;
use sluice_common::settings::Settings;

#[tokio::test]
async fn topic_with_ten_partitions_carries_a_keyed_message() {
    let settings = Settings::default().kafka;
    let topic = format!("it-roundtrip-{}", std::process::id());
    let admin = kafka::admin_client(&settings).expect("admin client");
    let created = admin
        .create_topics(
            &[NewTopic::new(&topic, 10, TopicReplication::Fixed(1))],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .expect("create_topics call (is the stack up? `make up`)");
    assert!(created.iter().all(Result::is_ok), "{created:?}");

    // The controller answers before every broker's metadata shows the topic: ask until it does.
    let mut partitions = None;
    for _ in 0..50 {
        let view = kafka::probe(&settings).await.expect("metadata");
        partitions = view
            .topics
            .iter()
            .find(|(name, _)| *name == topic)
            .map(|(_, n)| *n)
            .filter(|n| *n > 0);
        if partitions.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(partitions, Some(10));

    let producer: FutureProducer = kafka::client_config(&settings)
        .set("acks", "all")
        .create()
        .expect("producer");
    let delivery = producer
        .send(
            FutureRecord::to(&topic)
                .key("42")
                .payload("hello")
                .partition(7),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(error, _)| error)
        .expect("delivery");
    let (partition, offset) = (delivery.partition, delivery.offset);
    assert_eq!(partition, 7);

    let consumer: BaseConsumer = kafka::client_config(&settings)
        .set("group.id", format!("{topic}-reader"))
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(&topic, partition, Offset::Offset(offset))
        .expect("assignment");
    consumer.assign(&assignment).expect("assign");
    let message = (0..30)
        .find_map(|_| consumer.poll(Duration::from_secs(1)))
        .expect("a message within 30s")
        .expect("no consumer error");
    assert_eq!(message.key(), Some(&b"42"[..]));
    assert_eq!(message.payload(), Some(&b"hello"[..]));
    assert_eq!(message.partition(), 7);

    admin
        .delete_topics(&[&topic], &AdminOptions::new())
        .await
        .expect("delete topic");
}
