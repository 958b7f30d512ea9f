//! Reading the dead-letter topic from its start to its end as of now: which keys have a dead
//! letter, by stage, so that a row missing from the files because it could not be processed is
//! told apart from a row lost.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use sluice_common::dead_letter::STAGE_HEADER;
use sluice_common::kafka::client_config;
use sluice_common::settings::KafkaSettings;

/// What the dead-letter topic holds.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DeadLetterKeys {
    /// Keys (product ids) with at least one dead letter.
    pub keys: HashSet<i64>,
    /// Dead letters by stage header.
    pub by_stage: BTreeMap<String, u64>,
    /// Dead letters whose key is not a product id (e.g. a record that was not even framed).
    pub without_key: u64,
}

impl DeadLetterKeys {
    /// Every dead letter read.
    pub fn total(&self) -> u64 {
        self.by_stage.values().sum()
    }
}

/// Reads `settings.dlq_topic` up to its end as of the call (committed records only); a topic
/// that does not exist holds nothing.
pub fn read(settings: &KafkaSettings, patience: Duration) -> anyhow::Result<DeadLetterKeys> {
    let consumer: BaseConsumer = client_config(settings)
        .set("group.id", "sluice-verify")
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .create()?;
    let timeout = Duration::from_secs(settings.request_timeout_secs);
    let topic = &settings.dlq_topic;
    let deadline = Instant::now() + patience;
    let metadata = patiently(deadline, || consumer.fetch_metadata(Some(topic), timeout))?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic && t.error().is_none())
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    let mut found = DeadLetterKeys::default();
    let mut ends = BTreeMap::new();
    let mut assignment = TopicPartitionList::new();
    for partition in partitions {
        let (low, high) = patiently(deadline, || {
            consumer.fetch_watermarks(topic, partition, timeout)
        })?;
        if high > low {
            ends.insert(partition, high);
            assignment.add_partition_offset(topic, partition, Offset::Beginning)?;
        }
    }
    if ends.is_empty() {
        return Ok(found);
    }
    consumer.assign(&assignment)?;
    while !ends.is_empty() {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the dead-letter topic `{topic}` was not read to its end within {patience:?}"
        );
        // A partition whose last records are transaction markers ends before its high mark.
        if let Ok(positions) = consumer.position() {
            ends.retain(|partition, end| {
                let at = positions
                    .find_partition(topic, *partition)
                    .and_then(|p| p.offset().to_raw());
                at.is_none_or(|at| at < *end)
            });
        }
        let Some(message) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let message = match message {
            Ok(message) => message,
            Err(error) => {
                // Leadership moving, a broker restarting: the deadline bounds the wait.
                tracing::debug!("reading the dead-letter topic: {error}");
                continue;
            }
        };
        if ends
            .get(&message.partition())
            .is_some_and(|end| message.offset() >= *end)
        {
            continue;
        }
        let stage = message
            .headers()
            .and_then(|headers| {
                headers
                    .iter()
                    .find(|h| h.key == STAGE_HEADER)
                    .and_then(|h| h.value)
                    .map(|v| String::from_utf8_lossy(v).into_owned())
            })
            .unwrap_or_else(|| "unknown".into());
        *found.by_stage.entry(stage).or_default() += 1;
        match message
            .key()
            .and_then(|k| std::str::from_utf8(k).ok())
            .and_then(|k| k.parse::<i64>().ok())
        {
            Some(key) => {
                found.keys.insert(key);
            }
            None => found.without_key += 1,
        }
    }
    Ok(found)
}

/// `call` again until it succeeds or `deadline` passes: a topic just created, or a broker just
/// restarted, answers "not leader" for a moment.
fn patiently<T>(
    deadline: Instant,
    mut call: impl FnMut() -> rdkafka::error::KafkaResult<T>,
) -> anyhow::Result<T> {
    loop {
        match call() {
            Ok(value) => return Ok(value),
            Err(error) if Instant::now() >= deadline => {
                return Err(anyhow::anyhow!("reading the dead-letter topic: {error}"))
            }
            Err(error) => {
                tracing::debug!("reading the dead-letter topic: {error}; asking again");
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
}
