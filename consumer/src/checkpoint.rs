//! What this member has written and the order in which it is made durable.
//!
//! Invariant: **an offset is committed only after the line of its record, or its dead letter,
//! is durable.** Records are appended as they come; every `commit_interval`, before partitions
//! are revoked, and at shutdown, the file is flushed and synced, the dead letters acknowledged,
//! and only then are the offsets committed. A crash in between re-delivers records whose lines
//! may already be written: delivery is at least once, and since each partition is read in
//! order, the last line about a product is still its latest state.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use rdkafka::consumer::{CommitMode, Consumer, ConsumerContext};
use rdkafka::{Offset, TopicPartitionList};

use crate::dead_letters::DeadLetters;
use crate::sink::{FlushError, JsonlSink};

/// Why a commit did not happen; nothing was committed.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// The lines could not be made durable.
    #[error("{path}: {source}")]
    Output {
        /// The member's file.
        path: String,
        /// What failed.
        source: FlushError,
    },
    /// The dead letters were not acknowledged.
    #[error("{0}")]
    DeadLetters(String),
    /// Kafka did not take the offsets.
    #[error("committing offsets failed: {0}")]
    Kafka(String),
}

/// The sink, the dead letters and the offsets not yet committed.
pub struct Checkpoint {
    /// Where lines go.
    pub sink: JsonlSink,
    /// Where records that cannot be written go.
    pub dead_letters: DeadLetters,
    pending: BTreeMap<(String, i32), i64>,
    commit_seconds: Option<prometheus::Histogram>,
}

impl Checkpoint {
    /// Nothing pending yet.
    pub fn new(sink: JsonlSink, dead_letters: DeadLetters) -> Self {
        Self {
            sink,
            dead_letters,
            pending: BTreeMap::new(),
            commit_seconds: None,
        }
    }

    /// Times every commit into `histogram`.
    pub fn timed_by(mut self, histogram: prometheus::Histogram) -> Self {
        self.commit_seconds = Some(histogram);
        self
    }

    /// Notes that the record at `offset` is handled (written or dead-lettered).
    pub fn handled(&mut self, topic: &str, partition: i32, offset: i64) {
        // A member holds a few partitions: finding its entry is cheaper than a key per record.
        let entry = self
            .pending
            .iter_mut()
            .find(|((t, p), _)| *p == partition && t == topic);
        match entry {
            Some((_, next)) => *next = offset + 1,
            None => {
                self.pending
                    .insert((topic.to_owned(), partition), offset + 1);
            }
        }
    }

    /// Drops the pending offsets of `partitions`, once they belong to another member: a later
    /// commit must not write offsets for partitions this member no longer owns.
    pub fn forget(&mut self, partitions: &TopicPartitionList) {
        for element in partitions.elements() {
            self.pending
                .remove(&(element.topic().to_owned(), element.partition()));
        }
    }

    /// Offsets waiting for a commit, by topic and partition.
    pub fn pending(&self) -> impl Iterator<Item = (&(String, i32), &i64)> {
        self.pending.iter()
    }

    /// Flushes the file and the dead letters, then commits every pending offset.
    pub fn commit<C: ConsumerContext>(
        &mut self,
        consumer: &impl Consumer<C>,
    ) -> Result<usize, CommitError> {
        if self.pending.is_empty() {
            return Ok(0);
        }
        let _timer = self
            .commit_seconds
            .as_ref()
            .map(prometheus::Histogram::start_timer);
        self.sink.flush().map_err(|source| CommitError::Output {
            path: self.sink.path().display().to_string(),
            source,
        })?;
        self.dead_letters
            .flush()
            .map_err(CommitError::DeadLetters)?;
        let mut offsets = TopicPartitionList::new();
        for ((topic, partition), next) in &self.pending {
            offsets
                .add_partition_offset(topic, *partition, Offset::Offset(*next))
                .map_err(|e| CommitError::Kafka(e.to_string()))?;
        }
        consumer
            .commit(&offsets, CommitMode::Sync)
            .map_err(|e| CommitError::Kafka(e.to_string()))?;
        let committed = self.pending.len();
        self.pending.clear();
        Ok(committed)
    }
}

/// Locks the checkpoint; a panic elsewhere cannot leave it half-updated in a way that matters,
/// since the next commit flushes before it records anything.
pub fn lock(checkpoint: &Mutex<Checkpoint>) -> MutexGuard<'_, Checkpoint> {
    checkpoint
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revoked_partitions_leave_the_pending_offsets() {
        let dir = tempfile::tempdir().expect("dir");
        let sink = JsonlSink::open(dir.path(), "consumer-1").expect("sink");
        let dead_letters = DeadLetters::new(&sluice_common::settings::KafkaSettings::default())
            .expect("a producer, not yet connected");
        let mut checkpoint = Checkpoint::new(sink, dead_letters);
        checkpoint.handled("t", 0, 10);
        checkpoint.handled("t", 1, 20);
        checkpoint.handled("t", 2, 30);
        let mut revoked = TopicPartitionList::new();
        revoked.add_partition("t", 1);
        revoked.add_partition("t", 5);
        checkpoint.forget(&revoked);
        let left: Vec<_> = checkpoint
            .pending()
            .map(|((_, p), next)| (*p, *next))
            .collect();
        assert_eq!(left, [(0, 11), (2, 31)]);
    }
}
