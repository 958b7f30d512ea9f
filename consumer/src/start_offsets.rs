//! Where a member starts reading the partitions it is given.
//!
//! Given a partition its group never committed, librdkafka treats the missing offset as an
//! error to back off from and waits 100 ms before it asks where the partition begins: every
//! member of a new group took up its partitions a tenth of a second late. Asking for the
//! committed offsets when the partitions are assigned, and giving those without one an explicit
//! start at the beginning, skips that wait. It is what `auto.offset.reset = earliest` does.

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::{Offset, TopicPartitionList};

/// How long the committed offsets may take before the partitions are assigned without them
/// (librdkafka then fetches them itself, as it would anyway).
const COMMITTED_PATIENCE: Duration = Duration::from_secs(5);

/// The partitions `given`, each with the offset to start at: the group's committed one, or the
/// beginning. `None` when the committed offsets cannot be read: assign `given` unchanged.
pub fn start_offsets<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    given: &TopicPartitionList,
) -> Option<TopicPartitionList> {
    match consumer.committed_offsets(given.clone(), COMMITTED_PATIENCE) {
        Ok(committed) => Some(from_the_beginning_where_none(&committed)),
        Err(error) => {
            tracing::debug!(
                "committed offsets not read at assignment ({error}); librdkafka fetches them"
            );
            None
        }
    }
}

/// `committed` with each partition that has no committed offset set to start at the beginning.
fn from_the_beginning_where_none(committed: &TopicPartitionList) -> TopicPartitionList {
    let mut start = TopicPartitionList::with_capacity(committed.count());
    for element in committed.elements() {
        let offset = match element.offset() {
            Offset::Invalid => Offset::Beginning,
            offset => offset,
        };
        // Adding an offset fails only for an offset librdkafka cannot represent; such a
        // partition then starts from its committed offset, as without this module.
        if start
            .add_partition_offset(element.topic(), element.partition(), offset)
            .is_err()
        {
            start.add_partition(element.topic(), element.partition());
        }
    }
    start
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_without_a_committed_offset_start_at_the_beginning_and_the_rest_where_committed() {
        let mut committed = TopicPartitionList::new();
        committed
            .add_partition_offset("t", 0, Offset::Invalid)
            .expect("invalid");
        committed
            .add_partition_offset("t", 1, Offset::Offset(42))
            .expect("42");
        let start = from_the_beginning_where_none(&committed);
        let offsets: Vec<(i32, Offset)> = start
            .elements()
            .iter()
            .map(|e| (e.partition(), e.offset()))
            .collect();
        assert_eq!(offsets, [(0, Offset::Beginning), (1, Offset::Offset(42))]);
    }
}
