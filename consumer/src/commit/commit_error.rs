//! Why a commit did not happen, and why a dropped batch cannot be read again.

use rdkafka::error::KafkaError;

use super::batch_commit::BatchCommitError;
use crate::dead_letter_publisher::DeadLetterError;
use crate::output::sink::{FlushError, JsonlSink};

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
    #[error(transparent)]
    DeadLetters(#[from] DeadLetterError),
    /// Kafka did not take the offsets.
    #[error("committing offsets failed: {0}")]
    Kafka(#[source] KafkaError),
    /// The consumer has not joined its group, so it has nothing to commit with.
    #[error("committing offsets failed: the consumer has no group metadata to commit with")]
    NoGroupMetadata,
    /// Exactly once: the batch's transaction was aborted; its lines are dropped and its
    /// partitions read again from its first records. The member goes on.
    #[error(
        "{aborted}; dropped the batch's {lines} line(s), reading {partitions} partition(s) again \
         from its first records"
    )]
    Dropped {
        /// Why the transaction was aborted.
        aborted: BatchCommitError,
        /// Lines of the batch dropped.
        lines: u64,
        /// Partitions read again.
        partitions: usize,
    },
    /// Exactly once: the batch cannot be committed, and the member cannot go on.
    #[error(transparent)]
    Batch(BatchCommitError),
    /// Exactly once: a batch was dropped, and its records cannot be read again: the member
    /// cannot go on.
    #[error(transparent)]
    Rewind(#[from] RewindError),
}

/// Why the records of a dropped batch cannot be read again; the member stops, and its records
/// are read again from the committed offsets.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RewindError {
    /// The member's assignment cannot be read.
    #[error("cannot read the assignment to drop a batch")]
    Assignment(#[source] Box<KafkaError>),
    /// A partition cannot be read again from the batch's first record.
    #[error(
        "cannot read {topic}/{partition} again from {start} after dropping a batch; the member \
         stops, and its records are read again from the committed offsets"
    )]
    Seek {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The batch's first offset in it.
        start: i64,
        /// Kafka's error (boxed: errors stay small).
        #[source]
        source: Box<KafkaError>,
    },
}

impl CommitError {
    /// The lines of `sink` could not be made durable.
    pub(crate) fn output(sink: &JsonlSink, source: FlushError) -> Self {
        Self::Output {
            path: sink.path().display().to_string(),
            source,
        }
    }
}
