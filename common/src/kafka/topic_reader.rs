//! Reading a whole topic, from its first record to its end as of the call, committed records
//! only: for state kept in Kafka (the producer's watermark) and for tools that judge a topic
//! (`sluice-verify`'s dead letters); and reading given offset ranges again (a consumer
//! member's committed batch, at start).
//!
//! The end of each partition is its high watermark when reading starts, or the end of its
//! range. A partition whose last records are transaction markers never delivers a record at
//! that offset, so a partition is done once the consumer's position reaches its end, whether or
//! not a record came from there.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{BorrowedMessage, Message as _};
use rdkafka::{Offset, TopicPartitionList};

use crate::events::ErrorKind;
use crate::kafka::{client_config, UserProperties};
use crate::retry::{self, Policy};
use crate::settings::KafkaSettings;

/// How often the consumer's positions are asked while records flow (see `read_assigned`).
const POSITIONS_EVERY: Duration = Duration::from_millis(100);

/// The topic could not be read to its end.
#[derive(Debug, thiserror::Error)]
pub enum TopicReadError {
    /// The client could not be created or assigned (a configuration error).
    #[error("reading topic `{topic}`: {source}")]
    Client {
        /// The topic.
        topic: String,
        /// What librdkafka reported.
        #[source]
        source: rdkafka::error::KafkaError,
    },
    /// A range starts before the first record its partition still has.
    #[error(
        "topic `{topic}` partition {partition} starts at offset {first} now; the records from \
         {start} were deleted (the topic's retention)"
    )]
    Gone {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// Where the range starts.
        start: i64,
        /// The partition's first offset.
        first: i64,
    },
    /// Kafka refused this principal the topic (an ACL it lacks): waiting will not heal it.
    #[error("Kafka refused topic `{topic}` ({code})")]
    Refused {
        /// The topic.
        topic: String,
        /// Kafka's refusal.
        code: rdkafka::types::RDKafkaErrorCode,
    },
    /// Kafka did not answer, or not up to the end, within the patience given.
    #[error("topic `{topic}` was not read to its end within {patience:?}: {last}")]
    Timeout {
        /// The topic.
        topic: String,
        /// How long was waited.
        patience: Duration,
        /// The last thing that went wrong, or what was still missing.
        last: String,
    },
}

/// Offsets `start` up to `end` (not included) of one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetRange {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The first offset.
    pub start: i64,
    /// The offset after the last.
    pub end: i64,
}

/// Calls `visit` with every committed record of `topic`, partition by partition in offset
/// order, up to the end each partition had when reading started. A topic that does not exist
/// holds nothing. `patience` bounds the whole read, including a broker that is not up yet.
pub fn read_to_end(
    settings: &KafkaSettings,
    topic: &str,
    patience: Duration,
    visit: impl FnMut(&BorrowedMessage<'_>),
) -> Result<(), TopicReadError> {
    let deadline = Instant::now() + patience;
    let consumer = reader(settings).map_err(|source| TopicReadError::Client {
        topic: topic.to_owned(),
        source,
    })?;
    let ranges: Vec<OffsetRange> = bounds_with(&consumer, settings, topic, patience)?
        .into_iter()
        .filter(|(_, bounds)| bounds.end > bounds.first)
        .map(|(partition, bounds)| OffsetRange {
            topic: topic.to_owned(),
            partition,
            start: bounds.first,
            end: bounds.end,
        })
        .collect();
    read_assigned(&consumer, &ranges, deadline, patience, visit)
}

/// Where a partition's records are: its first offset still held and the offset after its last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionBounds {
    /// The first offset the partition still holds (earlier ones were deleted by retention).
    pub first: i64,
    /// The offset the next record will get (the high watermark).
    pub end: i64,
}

/// The bounds of every partition of `topic`, by partition; empty when the topic does not exist.
/// `patience` bounds the calls, including a broker that is not up yet.
pub fn partition_offsets(
    settings: &KafkaSettings,
    topic: &str,
    patience: Duration,
) -> Result<BTreeMap<i32, PartitionBounds>, TopicReadError> {
    let consumer = reader(settings).map_err(|source| TopicReadError::Client {
        topic: topic.to_owned(),
        source,
    })?;
    bounds_with(&consumer, settings, topic, patience)
}

/// [`partition_offsets`] asked through `consumer`.
fn bounds_with(
    consumer: &BaseConsumer,
    settings: &KafkaSettings,
    topic: &str,
    patience: Duration,
) -> Result<BTreeMap<i32, PartitionBounds>, TopicReadError> {
    let timeout = Duration::from_secs(settings.request_timeout_secs);
    let deadline = Instant::now() + patience;
    let timed_out = |last: String| TopicReadError::Timeout {
        topic: topic.to_owned(),
        patience,
        last,
    };
    let metadata = patiently(deadline, &format!("the metadata of topic {topic}"), || {
        consumer.fetch_metadata(Some(topic), timeout)
    })
    .map_err(timed_out)?;
    // A topic refused for want of an ACL is not an empty topic: reading nothing would pass
    // for having read it all.
    let refusal = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic)
        .filter_map(|t| t.error())
        .map(rdkafka::types::RDKafkaErrorCode::from)
        .find(|code| crate::kafka::is_authorization_failure(*code));
    if let Some(code) = refusal {
        return Err(TopicReadError::Refused {
            topic: topic.to_owned(),
            code,
        });
    }
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic && t.error().is_none())
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    let mut bounds = BTreeMap::new();
    for partition in partitions {
        let (first, end) = patiently(
            deadline,
            &format!("the offsets of {topic}/{partition}"),
            || consumer.fetch_watermarks(topic, partition, timeout),
        )
        .map_err(timed_out)?;
        bounds.insert(partition, PartitionBounds { first, end });
    }
    Ok(bounds)
}

/// Calls `visit` with every committed record of `ranges`, partition by partition in offset
/// order. Fails when a range starts before its partition's first record (deleted by the topic's
/// retention): those records cannot be read again. `patience` bounds the whole read.
pub fn read_ranges(
    settings: &KafkaSettings,
    ranges: &[OffsetRange],
    patience: Duration,
    visit: impl FnMut(&BorrowedMessage<'_>),
) -> Result<(), TopicReadError> {
    let topic = ranges
        .iter()
        .map(|r| r.topic.as_str())
        .next()
        .unwrap_or_default()
        .to_owned();
    let consumer = reader(settings).map_err(|source| TopicReadError::Client {
        topic: topic.clone(),
        source,
    })?;
    let timeout = Duration::from_secs(settings.request_timeout_secs);
    let deadline = Instant::now() + patience;
    for range in ranges {
        let awaited = format!("the offsets of {}/{}", range.topic, range.partition);
        let (low, _) = patiently(deadline, &awaited, || {
            consumer.fetch_watermarks(&range.topic, range.partition, timeout)
        })
        .map_err(|last| TopicReadError::Timeout {
            topic: range.topic.clone(),
            patience,
            last,
        })?;
        if low > range.start {
            return Err(TopicReadError::Gone {
                topic: range.topic.clone(),
                partition: range.partition,
                start: range.start,
                first: low,
            });
        }
    }
    read_assigned(&consumer, ranges, deadline, patience, visit)
}

/// The group of the clients that read a topic by hand (the producer's watermark and published
/// keys, a member's batch markers, `sluice-verify`'s dead letters): never joined, but librdkafka
/// looks for its coordinator (the ACLs list Describe on it).
pub const TOPIC_READER_GROUP: &str = "sluice-topic-reader";

/// A consumer that joins no group: partitions are assigned by hand.
fn reader(settings: &KafkaSettings) -> rdkafka::error::KafkaResult<BaseConsumer> {
    client_config(settings)
        // No group is joined (partitions are assigned by hand), but librdkafka assigns only in
        // a client with a group, and looks for its coordinator.
        .set("group.id", TOPIC_READER_GROUP)
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .with_consumer_properties(settings)
        .create()
}

/// Reads `ranges` through `consumer` (see [`read_ranges`]).
fn read_assigned(
    consumer: &BaseConsumer,
    ranges: &[OffsetRange],
    deadline: Instant,
    patience: Duration,
    mut visit: impl FnMut(&BorrowedMessage<'_>),
) -> Result<(), TopicReadError> {
    let mut ends = BTreeMap::new();
    let mut assignment = TopicPartitionList::new();
    for range in ranges.iter().filter(|r| r.end > r.start) {
        ends.insert((range.topic.clone(), range.partition), range.end);
        assignment
            .add_partition_offset(&range.topic, range.partition, Offset::Offset(range.start))
            .map_err(|source| TopicReadError::Client {
                topic: range.topic.clone(),
                source,
            })?;
    }
    let Some((topic, _)) = ends.keys().next().cloned() else {
        return Ok(());
    };
    consumer
        .assign(&assignment)
        .map_err(|source| TopicReadError::Client {
            topic: topic.clone(),
            source,
        })?;
    let mut last_error = String::from("no error; records still missing");
    let mut positions_asked = None::<Instant>;
    while !ends.is_empty() {
        if Instant::now() >= deadline {
            return Err(TopicReadError::Timeout {
                topic,
                patience,
                last: format!(
                    "{last_error} (partitions not at their end: {:?})",
                    ends.keys().map(|(_, p)| p).collect::<Vec<_>>()
                ),
            });
        }
        let message = consumer.poll(Duration::from_millis(200));
        let ask = message.is_none()
            || positions_asked.is_none_or(|asked| asked.elapsed() >= POSITIONS_EVERY);
        match message {
            Some(Ok(message)) => {
                let key = (message.topic().to_owned(), message.partition());
                let Some(&end) = ends.get(&key) else {
                    continue;
                };
                if message.offset() < end {
                    visit(&message);
                }
                if message.offset() + 1 >= end {
                    ends.remove(&key);
                }
            }
            Some(Err(error)) => {
                if let Some(code) = error
                    .rdkafka_error_code()
                    .filter(|code| crate::kafka::is_authorization_failure(*code))
                {
                    return Err(TopicReadError::Refused { topic, code });
                }
                // Leadership moving, a broker restarting: the deadline bounds the wait.
                last_error = error.to_string();
            }
            None => {}
        }
        // A partition whose range ends with transaction markers delivers no record at its end:
        // its position says it is done. Asked when nothing came and now and then while records
        // flow, not for each record (which made a million records take a minute and a half);
        // asked after the record just polled is visited, since the position is already past it.
        if ask {
            positions_asked = Some(Instant::now());
            if let Ok(positions) = consumer.position() {
                ends.retain(|(topic, partition), end| {
                    let at = positions
                        .find_partition(topic, *partition)
                        .and_then(|p| p.offset().to_raw());
                    at.is_none_or(|at| at < *end)
                });
            }
        }
    }
    Ok(())
}

/// `call` again until it succeeds or `deadline` passes (each wait said and counted, as
/// `awaited`): a topic just created, or a broker just restarted, answers "not leader" for a
/// moment.
fn patiently<T>(
    deadline: Instant,
    awaited: &str,
    call: impl FnMut() -> rdkafka::error::KafkaResult<T>,
) -> Result<T, String> {
    retry::retry_blocking(ASK_AGAIN, ErrorKind::Kafka, awaited, call, |_| {
        Instant::now() < deadline
    })
    .map_err(|error| error.to_string())
}

/// The pauses between questions about a topic that went unanswered: 0.2 s doubling up to 2 s,
/// until the read's deadline.
const ASK_AGAIN: Policy = Policy::doubling(Duration::from_millis(200), Duration::from_secs(2));
