//! Whether records are owed to a member that receives none, read by a client of its own.
//!
//! Two stalls look alike from inside the member, nothing arrives, and differ in what it holds:
//! - **stuck**: partitions assigned, records waiting past where the member stands in them (its
//!   position, or the group's committed offset while it has none yet) and none fetched;
//! - **unclaimed**: no partition assigned while some of the topic's partitions hold records past
//!   the group's committed offset and that offset has not moved since the check before: no member
//!   reads them, as when a client keeps believing after a broker restart that it owns nothing
//!   while the group coordinator keeps them for it.
//!
//! Invariant: a partition counts only when at least `WAITING_AT_LEAST` offsets lie past where
//! reading stands, so a transaction's commit marker alone never looks like a stall.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::{Offset, TopicPartitionList};

/// How long the check may wait for each answer.
const PATIENCE: Duration = Duration::from_secs(10);
/// Offsets past where reading stands that mean records wait: one is a transaction's commit
/// marker, which a read-committed consumer may not step past until more records come.
const WAITING_AT_LEAST: i64 = 2;

/// Where reading stands in one partition and where the partition ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// The next offset to read.
    pub from: i64,
    /// The partition's end (its high watermark).
    pub end: i64,
}

impl Span {
    /// Records waiting past `from`, or 0 when too few to mean a stall.
    fn waiting(self) -> i64 {
        let waiting = self.end - self.from;
        if waiting >= WAITING_AT_LEAST {
            waiting
        } else {
            0
        }
    }
}

/// What a check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owed {
    /// Nothing to act on.
    Nothing,
    /// Records wait on the member's own partitions.
    Stuck { waiting: i64 },
    /// The member owns nothing while records wait, unread since the check before, on
    /// `partitions` of the topic's partitions.
    Unclaimed { partitions: usize, waiting: i64 },
}

/// Records waiting on the member's assigned partitions.
pub fn stuck(assigned: &BTreeMap<i32, Span>) -> Owed {
    let waiting: i64 = assigned.values().map(|span| span.waiting()).sum();
    if waiting > 0 {
        Owed::Stuck { waiting }
    } else {
        Owed::Nothing
    }
}

/// With nothing assigned: the partitions whose records wait past the group's committed offset
/// now (`now`) at the very offset of the check before (`before`).
pub fn unclaimed(now: &BTreeMap<i32, Span>, before: &BTreeMap<i32, Span>) -> Owed {
    let unread: Vec<i64> = now
        .iter()
        .filter(|(partition, span)| {
            before
                .get(partition)
                .is_some_and(|earlier| earlier.from == span.from)
        })
        .map(|(_, span)| span.waiting())
        .filter(|waiting| *waiting > 0)
        .collect();
    if unread.is_empty() {
        Owed::Nothing
    } else {
        Owed::Unclaimed {
            partitions: unread.len(),
            waiting: unread.iter().sum(),
        }
    }
}

/// Where the member stands in each partition assigned to it: its position, or while it has
/// none yet the group's committed offset, or the partition's start (the member reads from the
/// earliest record then). Empty when nothing is assigned.
pub fn assigned_spans<C: ConsumerContext>(
    member: &BaseConsumer<C>,
    probe: &BaseConsumer,
) -> Result<BTreeMap<i32, Span>, KafkaError> {
    let positions = member.position()?;
    let mut spans = BTreeMap::new();
    let mut without_position = TopicPartitionList::new();
    for element in positions.elements() {
        match element.offset() {
            Offset::Offset(position) => {
                let (_, end) =
                    probe.fetch_watermarks(element.topic(), element.partition(), PATIENCE)?;
                spans.insert(
                    element.partition(),
                    Span {
                        from: position,
                        end,
                    },
                );
            }
            _ => {
                without_position.add_partition(element.topic(), element.partition());
            }
        }
    }
    if without_position.count() > 0 {
        spans.extend(committed_spans(member, probe, without_position)?);
    }
    Ok(spans)
}

/// Where the group stands in every partition of `topic`: its committed offset, or the
/// partition's start when it has committed none.
pub fn group_spans<C: ConsumerContext>(
    member: &BaseConsumer<C>,
    probe: &BaseConsumer,
    topic: &str,
) -> Result<BTreeMap<i32, Span>, KafkaError> {
    let metadata = probe.fetch_metadata(Some(topic), PATIENCE)?;
    let mut partitions = TopicPartitionList::new();
    for found in metadata.topics().iter().filter(|t| t.name() == topic) {
        for partition in found.partitions() {
            partitions.add_partition(topic, partition.id());
        }
    }
    committed_spans(member, probe, partitions)
}

/// The group's committed offset in each of `partitions` (the partition's start where there is
/// none), as the member's consumer asks its coordinator (a probe of the group would wait for
/// the coordinator when closed), with the partition's end as `probe` reads it.
fn committed_spans<C: ConsumerContext>(
    member: &BaseConsumer<C>,
    probe: &BaseConsumer,
    partitions: TopicPartitionList,
) -> Result<BTreeMap<i32, Span>, KafkaError> {
    let committed = member.committed_offsets(partitions, PATIENCE)?;
    let mut spans = BTreeMap::new();
    for element in committed.elements() {
        let (start, end) =
            probe.fetch_watermarks(element.topic(), element.partition(), PATIENCE)?;
        let from = match element.offset() {
            Offset::Offset(offset) => offset,
            _ => start,
        };
        spans.insert(element.partition(), Span { from, end });
    }
    Ok(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(list: &[(i32, i64, i64)]) -> BTreeMap<i32, Span> {
        list.iter()
            .map(|&(partition, from, end)| (partition, Span { from, end }))
            .collect()
    }

    #[test]
    fn records_past_the_position_are_owed_and_a_commit_marker_alone_is_not() {
        assert_eq!(stuck(&spans(&[(0, 10, 11), (1, 5, 5)])), Owed::Nothing);
        assert_eq!(
            stuck(&spans(&[(0, 10, 11), (1, 5, 9)])),
            Owed::Stuck { waiting: 4 }
        );
        assert_eq!(stuck(&BTreeMap::new()), Owed::Nothing);
    }

    #[test]
    fn unclaimed_partitions_are_those_waiting_at_the_same_offset_twice() {
        let before = spans(&[(0, 100, 150), (1, 40, 60), (2, 7, 7)]);
        // Partition 0 moved on (someone reads it), 1 did not, 2 has nothing waiting.
        let now = spans(&[(0, 120, 170), (1, 40, 80), (2, 7, 7), (3, 0, 50)]);
        assert_eq!(
            unclaimed(&now, &before),
            Owed::Unclaimed {
                partitions: 1,
                waiting: 40
            }
        );
        // At the first check there is no check before: nothing yet.
        assert_eq!(unclaimed(&now, &BTreeMap::new()), Owed::Nothing);
        // Everything read on: nothing.
        assert_eq!(
            unclaimed(&spans(&[(1, 80, 80)]), &spans(&[(1, 40, 80)])),
            Owed::Nothing
        );
    }
}
