//! Reading a few records of a partition by their offsets, wherever they lie: the consumer jumps
//! to each wanted offset far from the last one and reads on through near ones, fetching little
//! at a time, so a handful of records scattered over millions costs a handful of fetches and a
//! few hundred kilobytes, not a read of the whole partition.

use std::time::{Duration, Instant};

use rdkafka::consumer::Consumer;
use rdkafka::message::{BorrowedMessage, Message as _};
use rdkafka::{Offset, TopicPartitionList};

use crate::kafka::topic_reader::{TopicReadError, TOPIC_READER_GROUP};
use crate::kafka::{client_config, UserProperties};
use crate::settings::KafkaSettings;

/// A wanted offset at most this far ahead is read on to; a farther one is jumped to.
const READ_ON_WITHIN: i64 = 20_000;

/// Calls `visit` with the record at each of `offsets` (ascending) of `topic`'s `partition`,
/// records of aborted transactions included; an offset that holds no record (compacted away, a
/// transaction marker) is passed over. `patience` bounds the whole read.
pub fn read_offsets(
    settings: &KafkaSettings,
    topic: &str,
    partition: i32,
    offsets: &[i64],
    patience: Duration,
    mut visit: impl FnMut(&BorrowedMessage<'_>),
) -> Result<(), TopicReadError> {
    let Some(&first) = offsets.first() else {
        return Ok(());
    };
    let client = |source| TopicReadError::Client {
        topic: topic.to_owned(),
        source,
    };
    let consumer: rdkafka::consumer::BaseConsumer = client_config(settings)
        .set("group.id", TOPIC_READER_GROUP)
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_uncommitted")
        .set("fetch.message.max.bytes", "262144")
        .set("queued.max.messages.kbytes", "1024")
        .set("queued.min.messages", "2000")
        // Fetched again as soon as the little queued is taken, not a second later.
        .set("fetch.queue.backoff.ms", "1")
        .with_consumer_properties(settings)
        .create()
        .map_err(client)?;
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(topic, partition, Offset::Offset(first))
        .map_err(client)?;
    consumer.assign(&assignment).map_err(client)?;
    let deadline = Instant::now() + patience;
    let mut next = 0;
    let mut last_error = String::from("no error; records still missing");
    while next < offsets.len() {
        if Instant::now() >= deadline {
            return Err(TopicReadError::Timeout {
                topic: topic.to_owned(),
                patience,
                last: format!(
                    "{last_error} (offset {} of partition {partition})",
                    offsets[next]
                ),
            });
        }
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(message)) => {
                let at = message.offset();
                while next < offsets.len() && offsets[next] < at {
                    next += 1;
                }
                if offsets.get(next) == Some(&at) {
                    visit(&message);
                    next += 1;
                }
                if let Some(&wanted) = offsets.get(next) {
                    if wanted > at + READ_ON_WITHIN {
                        consumer
                            .seek(
                                topic,
                                partition,
                                Offset::Offset(wanted),
                                Duration::from_secs(10),
                            )
                            .map_err(client)?;
                    }
                }
            }
            Some(Err(error)) => last_error = error.to_string(),
            None => {
                // Nothing came: the rest of the wanted offsets may hold no record. The position
                // says how far the partition was read.
                let positions = consumer.position().ok();
                let position = positions
                    .as_ref()
                    .and_then(|p| p.find_partition(topic, partition))
                    .and_then(|p| p.offset().to_raw());
                if let Some(position) = position {
                    while next < offsets.len() && offsets[next] < position {
                        next += 1;
                    }
                }
            }
        }
    }
    Ok(())
}
