//! Reading a few records of a partition by their offsets, wherever they lie: the consumer jumps
//! to each wanted offset far from the last one and reads on through near ones, fetching little
//! at a time, so a handful of records scattered over millions costs a handful of fetches and a
//! few hundred kilobytes, not a read of the whole partition.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{BorrowedMessage, Message as _};
use rdkafka::{Offset, TopicPartitionList};

use crate::kafka::topic_reader::{TopicReadError, TOPIC_READER_GROUP};
use crate::kafka::{client_config, UserProperties};
use crate::settings::KafkaSettings;

/// A wanted offset at most this far ahead is read on to; a farther one is jumped to.
const READ_ON_WITHIN: i64 = 20_000;

/// Calls `visit` with the record at each wanted offset of `topic` (by partition, each list
/// ascending), records of aborted transactions included; an offset that holds no record
/// (compacted away, a transaction marker) is passed over. One client reads every partition at
/// once. `patience` bounds the whole read.
pub fn read_offsets(
    settings: &KafkaSettings,
    topic: &str,
    wanted: &BTreeMap<i32, Vec<i64>>,
    patience: Duration,
    mut visit: impl FnMut(&BorrowedMessage<'_>),
) -> Result<(), TopicReadError> {
    let client = |source| TopicReadError::Client {
        topic: topic.to_owned(),
        source,
    };
    // By partition, the index of the next offset wanted.
    let mut next: BTreeMap<i32, usize> = wanted
        .iter()
        .filter(|(_, offsets)| !offsets.is_empty())
        .map(|(partition, _)| (*partition, 0))
        .collect();
    if next.is_empty() {
        return Ok(());
    }
    let consumer: BaseConsumer = client_config(settings)
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
    for (partition, offsets) in wanted {
        if let Some(&first) = offsets.first() {
            assignment
                .add_partition_offset(topic, *partition, Offset::Offset(first))
                .map_err(client)?;
        }
    }
    consumer.assign(&assignment).map_err(client)?;
    let deadline = Instant::now() + patience;
    let mut last_error = String::from("no error; records still missing");
    while !next.is_empty() {
        if Instant::now() >= deadline {
            return Err(TopicReadError::Timeout {
                topic: topic.to_owned(),
                patience,
                last: format!("{last_error} (partitions not done: {:?})", next.keys()),
            });
        }
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(message)) => {
                let partition = message.partition();
                let (Some(index), Some(offsets)) =
                    (next.get_mut(&partition), wanted.get(&partition))
                else {
                    continue;
                };
                let at = message.offset();
                while offsets.get(*index).is_some_and(|&wanted| wanted < at) {
                    *index += 1;
                }
                if offsets.get(*index) == Some(&at) {
                    visit(&message);
                    *index += 1;
                }
                match offsets.get(*index) {
                    None => {
                        next.remove(&partition);
                        let mut done = TopicPartitionList::new();
                        done.add_partition(topic, partition);
                        let _ = consumer.pause(&done);
                    }
                    Some(&wanted) if wanted > at + READ_ON_WITHIN => consumer
                        .seek(
                            topic,
                            partition,
                            Offset::Offset(wanted),
                            Duration::from_secs(10),
                        )
                        .map_err(client)?,
                    Some(_) => {}
                }
            }
            Some(Err(error)) => last_error = error.to_string(),
            None => {
                // Nothing came: the rest of a partition's wanted offsets may hold no record.
                // Its position says how far it was read.
                let Ok(positions) = consumer.position() else {
                    continue;
                };
                next.retain(|partition, index| {
                    let position = positions
                        .find_partition(topic, *partition)
                        .and_then(|p| p.offset().to_raw());
                    let offsets = &wanted[partition];
                    if let Some(position) = position {
                        while offsets.get(*index).is_some_and(|&wanted| wanted < position) {
                            *index += 1;
                        }
                    }
                    *index < offsets.len()
                });
            }
        }
    }
    Ok(())
}
