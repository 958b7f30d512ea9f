//! The offsets a member has handled and not yet committed, and those it last committed, by
//! topic and partition; and the commit of offsets to the group (at least once).

use std::collections::BTreeMap;

use rdkafka::consumer::{CommitMode, Consumer, ConsumerContext};
use rdkafka::{Offset, TopicPartitionList};
use sluice_common::events::ErrorKind;
use sluice_common::retry::{self, Policy};

use super::commit_error::CommitError;
use super::journal::BatchRange;

/// A partition of a topic.
pub(crate) type PartitionKey = (String, i32);

/// The next offset to commit of each partition handled since the last commit, and the last
/// committed of each partition this process still owns.
#[derive(Debug, Default)]
pub(crate) struct Offsets {
    pending: BTreeMap<PartitionKey, i64>,
    committed: BTreeMap<PartitionKey, i64>,
}

impl Offsets {
    /// Notes that the record at `offset` is handled; `true` when it is the partition's first
    /// since the last commit (where its batch starts).
    pub(crate) fn handled(&mut self, topic: &str, partition: i32, offset: i64) -> bool {
        // A member holds a few partitions: finding its entry is cheaper than a key per record.
        let entry = self
            .pending
            .iter_mut()
            .find(|((t, p), _)| *p == partition && t == topic);
        match entry {
            Some((_, next)) => {
                *next = offset + 1;
                false
            }
            None => {
                self.pending
                    .insert((topic.to_owned(), partition), offset + 1);
                true
            }
        }
    }

    /// Moves the partitions whose consumer `positions` are past their next offset up to the
    /// position; partitions neither handled nor committed by this process are left alone.
    pub(crate) fn cover_positions(&mut self, positions: &TopicPartitionList) {
        for element in positions.elements() {
            let Offset::Offset(position) = element.offset() else {
                continue;
            };
            let key = (element.topic().to_owned(), element.partition());
            let next = self.pending.get(&key).or_else(|| self.committed.get(&key));
            if next.is_some_and(|next| position > *next) {
                self.pending.insert(key, position);
            }
        }
    }

    /// Forgets a partition that now belongs to another member.
    pub(crate) fn forget(&mut self, key: &PartitionKey) {
        self.pending.remove(key);
        self.committed.remove(key);
    }

    /// Drops every offset not committed: their records are read again.
    pub(crate) fn drop_pending(&mut self) {
        self.pending.clear();
    }

    /// Whether nothing waits for a commit.
    pub(crate) fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// The offsets waiting for a commit.
    pub(crate) fn pending(&self) -> impl Iterator<Item = (&PartitionKey, &i64)> {
        self.pending.iter()
    }

    /// The offsets to commit: the next offset of each partition handled since the last commit.
    pub(crate) fn to_commit(&self) -> Result<TopicPartitionList, CommitError> {
        let mut offsets = TopicPartitionList::new();
        for ((topic, partition), next) in &self.pending {
            offsets
                .add_partition_offset(topic, *partition, Offset::Offset(*next))
                .map_err(CommitError::Kafka)?;
        }
        Ok(offsets)
    }

    /// The batch's records of each partition: from its first offset in `starts` up to the
    /// offset to commit.
    pub(crate) fn batch_ranges(&self, starts: &BTreeMap<PartitionKey, i64>) -> Vec<BatchRange> {
        self.pending
            .iter()
            .map(|((topic, partition), &end)| BatchRange {
                topic: topic.clone(),
                partition: *partition,
                start: starts
                    .get(&(topic.clone(), *partition))
                    .copied()
                    .unwrap_or(end),
                end,
            })
            .collect()
    }

    /// The pending offsets are committed; how many partitions were.
    pub(crate) fn mark_committed(&mut self) -> usize {
        let committed = self.pending.len();
        self.committed.append(&mut self.pending);
        committed
    }
}

/// A commit the group coordinator cannot take yet (it is loading its offsets, or moving, as just
/// after a broker's restart) is tried every half second, 20 times in all.
const COMMIT_POLICY: Policy = Policy::steady(std::time::Duration::from_millis(500)).at_most(19);

/// Commits `offsets` (at least once), trying again for a while when the group coordinator is
/// not ready yet.
pub(crate) fn commit_offsets<C: ConsumerContext>(
    consumer: &impl Consumer<C>,
    offsets: &TopicPartitionList,
) -> Result<(), CommitError> {
    retry::retry_blocking(
        COMMIT_POLICY,
        ErrorKind::Commit,
        "the group coordinator to take the commit",
        || consumer.commit(offsets, CommitMode::Sync),
        coordinator_not_ready,
    )
    .map_err(CommitError::Kafka)
}

/// Whether a commit failed only because the group coordinator is not ready yet.
fn coordinator_not_ready(error: &rdkafka::error::KafkaError) -> bool {
    use rdkafka::types::RDKafkaErrorCode as Code;
    matches!(
        error.rdkafka_error_code(),
        Some(
            Code::CoordinatorLoadInProgress
                | Code::CoordinatorNotAvailable
                | Code::NotCoordinator
                | Code::RequestTimedOut
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgotten_partitions_leave_the_pending_offsets() {
        let mut offsets = Offsets::default();
        assert!(offsets.handled("t", 0, 10));
        assert!(offsets.handled("t", 1, 20));
        assert!(!offsets.handled("t", 1, 21), "not the partition's first");
        assert!(offsets.handled("t", 2, 30));
        offsets.forget(&("t".to_owned(), 1));
        offsets.forget(&("t".to_owned(), 5));
        let left: Vec<_> = offsets
            .pending()
            .map(|((_, p), next)| (*p, *next))
            .collect();
        assert_eq!(left, [(0, 11), (2, 31)]);
    }

    #[test]
    fn a_batch_range_runs_from_the_partitions_first_offset_to_the_next() {
        let mut offsets = Offsets::default();
        offsets.handled("t", 3, 40);
        offsets.handled("t", 3, 44);
        let starts = BTreeMap::from([(("t".to_owned(), 3), 40)]);
        let ranges = offsets.batch_ranges(&starts);
        assert_eq!(
            ranges
                .iter()
                .map(|r| (r.partition, r.start, r.end))
                .collect::<Vec<_>>(),
            [(3, 40, 45)]
        );
        assert_eq!(offsets.mark_committed(), 1);
        assert!(offsets.is_empty());
    }
}
