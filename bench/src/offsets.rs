//! Counting records through Kafka itself: how many a topic holds, how many a group has
//! committed, and how big a record is on average. These decide when a phase is done.

use std::time::Duration;

use anyhow::Context as _;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use sluice_common::kafka::client_config;
use sluice_common::settings::KafkaSettings;

const TIMEOUT: Duration = Duration::from_secs(10);

/// A consumer that never subscribes: it only asks for offsets (and joins no group). Its end
/// offsets are the log's own: a read-committed client (librdkafka's default) is answered with
/// the last stable offset, which trails a transaction's commit until the coordinator has
/// written its markers, so a topic just written in transactions would seem to hold less.
fn observer(kafka: &KafkaSettings, group: &str) -> anyhow::Result<BaseConsumer> {
    Ok(client_config(kafka)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_uncommitted")
        .create()?)
}

/// The partitions of `topic`, once the metadata shows all of them led. A topic being created
/// can be listed with an error or without its partitions for a moment: a watch built on that
/// would watch nothing for ever.
fn partitions(consumer: &BaseConsumer, topic: &str) -> anyhow::Result<Vec<i32>> {
    let metadata = consumer.fetch_metadata(Some(topic), TIMEOUT)?;
    let found = metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .with_context(|| format!("topic {topic} not found"))?;
    if let Some(error) = found.error() {
        anyhow::bail!("topic {topic} is not ready: {error:?}");
    }
    let partitions = found.partitions();
    anyhow::ensure!(
        !partitions.is_empty()
            && partitions
                .iter()
                .all(|p| p.error().is_none() && p.leader() >= 0),
        "topic {topic} has no led partitions yet"
    );
    Ok(partitions.iter().map(|p| p.id()).collect())
}

/// Records in `topic`: the sum of its partitions' end offsets (nothing is deleted here).
pub fn records_in(kafka: &KafkaSettings, topic: &str) -> anyhow::Result<i64> {
    TopicWatch::new(kafka, topic)?.records()
}

/// Watches how many records a topic holds, asked again and again while a writer fills it.
pub struct TopicWatch {
    consumer: BaseConsumer,
    topic: String,
    partitions: Vec<i32>,
}

impl TopicWatch {
    /// A watch over every partition `topic` has now.
    pub fn new(kafka: &KafkaSettings, topic: &str) -> anyhow::Result<Self> {
        let consumer = observer(kafka, "sluice-bench-observer")?;
        let partitions = partitions(&consumer, topic)?;
        Ok(Self {
            consumer,
            topic: topic.to_owned(),
            partitions,
        })
    }

    /// Each partition's end offset.
    pub fn ends(&self) -> anyhow::Result<Vec<(i32, i64)>> {
        self.partitions
            .iter()
            .map(|&p| Ok((p, watermarks(&self.consumer, &self.topic, p)?.1)))
            .collect()
    }

    /// The timestamp (milliseconds) and value of every record after `from` (partitions' offsets,
    /// from [`ends`](Self::ends)) up to the partitions' ends now, read within `patience`.
    pub fn records_since(
        &self,
        kafka: &KafkaSettings,
        from: &[(i32, i64)],
        patience: Duration,
    ) -> anyhow::Result<Vec<(i64, Vec<u8>)>> {
        let consumer = observer(kafka, "sluice-bench-reader")?;
        let mut list = TopicPartitionList::new();
        let mut left = 0;
        for ((partition, start), (_, end)) in from.iter().zip(self.ends()?) {
            list.add_partition_offset(&self.topic, *partition, Offset::Offset(*start))?;
            left += end - start;
        }
        consumer.assign(&list)?;
        let mut records = Vec::new();
        let deadline = std::time::Instant::now() + patience;
        while left > 0 {
            anyhow::ensure!(
                std::time::Instant::now() < deadline,
                "{left} records of {} not read within {patience:?}",
                self.topic
            );
            if let Some(message) = consumer.poll(Duration::from_millis(200)) {
                let message = message?;
                let at = message.timestamp().to_millis().unwrap_or_default();
                records.push((at, message.payload().unwrap_or_default().to_vec()));
                left -= 1;
            }
        }
        Ok(records)
    }

    /// The sum of the partitions' end offsets minus their start offsets.
    pub fn records(&self) -> anyhow::Result<i64> {
        let mut total = 0;
        for &partition in &self.partitions {
            let (low, high) = watermarks(&self.consumer, &self.topic, partition)?;
            total += high - low;
        }
        Ok(total)
    }
}

/// A partition's low and high watermarks. A topic just created answers for a moment that its
/// partitions have no leader yet, though its metadata already named one; that is asked again
/// for up to `TIMEOUT`, any other error fails at once.
fn watermarks(consumer: &BaseConsumer, topic: &str, partition: i32) -> anyhow::Result<(i64, i64)> {
    use rdkafka::error::{KafkaError, RDKafkaErrorCode};
    let deadline = std::time::Instant::now() + TIMEOUT;
    loop {
        match consumer.fetch_watermarks(topic, partition, TIMEOUT) {
            Err(KafkaError::MetadataFetch(
                RDKafkaErrorCode::NotLeaderForPartition | RDKafkaErrorCode::LeaderNotAvailable,
            )) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(100));
            }
            answer => return Ok(answer?),
        }
    }
}

/// Watches what `group` has committed on `topic`.
pub struct CommitWatch {
    consumer: BaseConsumer,
    list: TopicPartitionList,
}

impl CommitWatch {
    /// A watch over every partition of `topic`.
    pub fn new(kafka: &KafkaSettings, group: &str, topic: &str) -> anyhow::Result<Self> {
        let consumer = observer(kafka, group)?;
        let mut list = TopicPartitionList::new();
        for partition in partitions(&consumer, topic)? {
            list.add_partition(topic, partition);
        }
        Ok(Self { consumer, list })
    }

    /// The sum of the committed offsets (partitions without a commit count 0).
    pub fn committed(&self) -> anyhow::Result<i64> {
        let committed = self
            .consumer
            .committed_offsets(self.list.clone(), TIMEOUT)?;
        Ok(committed
            .elements()
            .iter()
            .map(|e| match e.offset() {
                Offset::Offset(n) => n,
                _ => 0,
            })
            .sum())
    }
}

impl CommitWatch {
    /// Whether the group's commits cover every record of a topic written in transactions: in
    /// each partition, the committed offset reaches the last commit marker (the end offset
    /// less one), or passes it. The markers take offsets of their own, so the sum of the
    /// commits never equals a count of records there.
    pub fn covers_transactional_topic(&self) -> anyhow::Result<bool> {
        let committed = self
            .consumer
            .committed_offsets(self.list.clone(), TIMEOUT)?;
        for element in committed.elements() {
            let (_, high) = watermarks(&self.consumer, element.topic(), element.partition())?;
            let next = match element.offset() {
                Offset::Offset(n) => n,
                _ => 0,
            };
            if high > 0 && next < high - 1 {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// Average key plus value size of the first `sample` records of `topic`, in bytes.
pub fn average_record_bytes(
    kafka: &KafkaSettings,
    topic: &str,
    sample: usize,
) -> anyhow::Result<usize> {
    let records = read_records(kafka, topic, sample, TIMEOUT)?;
    anyhow::ensure!(!records.is_empty(), "no records to sample in {topic}");
    let bytes: usize = records.iter().map(|(k, v)| k.len() + v.len()).sum();
    Ok(bytes / records.len())
}

/// The key and value of up to `count` records of `topic`, from the beginning of each partition,
/// read within `patience`; records of aborted transactions too (the topics read here are
/// written without transactions).
pub fn read_records(
    kafka: &KafkaSettings,
    topic: &str,
    count: usize,
    patience: Duration,
) -> anyhow::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let consumer = observer(kafka, "sluice-bench-reader")?;
    let mut list = TopicPartitionList::new();
    for partition in partitions(&consumer, topic)? {
        list.add_partition_offset(topic, partition, Offset::Beginning)?;
    }
    consumer.assign(&list)?;
    let mut records = Vec::with_capacity(count);
    let deadline = std::time::Instant::now() + patience;
    while records.len() < count && std::time::Instant::now() < deadline {
        if let Some(message) = consumer.poll(Duration::from_millis(200)) {
            let message = message?;
            records.push((
                message.key().unwrap_or_default().to_vec(),
                message.payload().unwrap_or_default().to_vec(),
            ));
        }
    }
    Ok(records)
}
