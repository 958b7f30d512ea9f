//! Against the local stack's Kafka (`make up`): at assignment a member starts each partition at
//! its group's committed offset, and a partition the group never committed at the beginning.

use rdkafka::admin::AdminOptions;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use sluice_common::kafka::{admin_client, client_config, ensure_topic};
use sluice_common::settings::Settings;
use sluice_consumer::start_offsets::start_offsets;

#[tokio::test(flavor = "multi_thread")]
async fn committed_partitions_resume_and_the_others_start_at_the_beginning() {
    let settings = Settings::default().kafka;
    let topic = format!("it-start-offsets-{}", std::process::id());
    ensure_topic(&settings, &topic, 2, true)
        .await
        .expect("topic (is the stack up? `make up`)");
    let consumer: BaseConsumer = client_config(&settings)
        .set("group.id", format!("{topic}-group"))
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut committed = TopicPartitionList::new();
    committed
        .add_partition_offset(&topic, 0, Offset::Offset(5))
        .expect("offset");
    consumer
        .commit(&committed, CommitMode::Sync)
        .expect("commit partition 0 at 5");

    let mut given = TopicPartitionList::new();
    given.add_partition(&topic, 0);
    given.add_partition(&topic, 1);
    let start = start_offsets(&consumer, &given).expect("the committed offsets are readable");
    let offsets: Vec<(i32, Offset)> = start
        .elements()
        .iter()
        .map(|e| (e.partition(), e.offset()))
        .collect();

    let admin = admin_client(&settings).expect("admin");
    admin
        .delete_topics(&[&topic], &AdminOptions::new())
        .await
        .expect("delete topic");
    assert_eq!(offsets, [(0, Offset::Offset(5)), (1, Offset::Beginning)]);
}
