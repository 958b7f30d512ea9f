//! What this member has written and the order in which it is made durable.
//!
//! Invariant: **an offset is committed only after the line of its record, or its dead letter,
//! is durable** (at least once), **and a line is in the file if and only if its offset is
//! committed** (exactly once).
//!
//! At least once, records are appended as they come; every `commit_interval`, before
//! partitions are revoked, and at shutdown, the file is flushed and synced, the dead letters
//! acknowledged, and only then are the offsets committed. A crash in between re-delivers
//! records whose lines may already be written; since each partition is read in order, the last
//! line about a product is still its latest state.
//!
//! Exactly once, lines wait in memory until the commit, which writes the batch's offset ranges
//! to the batch file (`journal`), commits the offsets with the batch's marker in one
//! transaction (`batch_commit`), and only then appends the lines to the file, on a thread of
//! their own while the member reads on (`background_append`); once they are synced the batch
//! file is removed, and the next commit waits for that before it writes its own. A batch
//! whose transaction is aborted (a rebalance, a zombie fenced) is dropped and its partitions
//! read again from its first records; a crash anywhere is settled at the next start by the
//! batch file and the marker.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use rdkafka::consumer::{CommitMode, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::{Offset, TopicPartitionList};
use sluice_common::events::ErrorKind;
use sluice_common::retry::{self, Policy};

use crate::batch_commit::{BatchCommitError, BatchCommitter};
use crate::change_times::ChangeTimes;
use crate::crash_point::{self, CrashPoint};
use crate::dead_letters::{DeadLetterError, DeadLetters};
use crate::journal::{BatchRange, Journal, PendingBatch};
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
    fn output(sink: &JsonlSink, source: FlushError) -> Self {
        Self::Output {
            path: sink.path().display().to_string(),
            source,
        }
    }
}

/// How lines and offsets become durable together (see the module documentation).
pub enum Delivery {
    /// Lines written as they come, synced before their offsets are committed.
    AtLeastOnce,
    /// Lines held until their offsets commit in a transaction.
    ExactlyOnce(Box<ExactlyOnce>),
}

/// The state of exactly-once commits.
pub struct ExactlyOnce {
    journal: Journal,
    committer: BatchCommitter,
    /// The first offset of each partition in the batch: where reading goes back to when the
    /// batch is dropped.
    starts: BTreeMap<(String, i32), i64>,
    /// When the rows of the lines held were changed, timed once their lines are durable.
    change_times: ChangeTimes,
    /// Batches begun by this process.
    batches: u64,
    /// Tells this process's batch ids from those of earlier runs.
    run: String,
}

impl ExactlyOnce {
    /// Commits through `committer`, keeping each batch in `journal` until it is appended.
    pub fn new(journal: Journal, committer: BatchCommitter) -> Self {
        let run = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros());
        Self {
            journal,
            committer,
            starts: BTreeMap::new(),
            change_times: ChangeTimes::default(),
            batches: 0,
            run: format!("{run}-{}", std::process::id()),
        }
    }
}

/// The sink, the dead letters and the offsets not yet committed.
pub struct Checkpoint {
    /// Where lines go.
    pub sink: JsonlSink,
    /// Where records that cannot be written go.
    pub dead_letters: DeadLetters,
    pending: BTreeMap<(String, i32), i64>,
    /// The offset this process last committed in each partition it still owns.
    committed: BTreeMap<(String, i32), i64>,
    commit_seconds: Option<prometheus::Histogram>,
    /// Where the end-to-end latency of lines held until their commit is observed.
    end_to_end_seconds: Option<prometheus::Histogram>,
    delivery: Delivery,
    /// Why the member cannot go on, found where it could not be returned (a rebalance
    /// callback); the next commit returns it.
    broken: Option<RewindError>,
}

impl Checkpoint {
    /// Nothing pending yet; at least once.
    pub fn new(sink: JsonlSink, dead_letters: DeadLetters) -> Self {
        Self {
            sink,
            dead_letters,
            pending: BTreeMap::new(),
            committed: BTreeMap::new(),
            commit_seconds: None,
            end_to_end_seconds: None,
            delivery: Delivery::AtLeastOnce,
            broken: None,
        }
    }

    /// Commits exactly once through `exactly_once`.
    pub fn exactly_once(mut self, exactly_once: ExactlyOnce) -> Self {
        self.delivery = Delivery::ExactlyOnce(Box::new(exactly_once));
        self
    }

    /// Whether lines wait for their commit before they reach the file.
    pub fn holds_lines_until_commit(&self) -> bool {
        matches!(self.delivery, Delivery::ExactlyOnce(_))
    }

    /// Times every commit into `histogram`.
    pub fn timed_by(mut self, histogram: prometheus::Histogram) -> Self {
        self.commit_seconds = Some(histogram);
        self
    }

    /// Times the lines held until their commit (exactly once) into `histogram`, once they are
    /// durable.
    pub fn latency_into(mut self, histogram: prometheus::Histogram) -> Self {
        self.end_to_end_seconds = Some(histogram);
        self
    }

    /// A line was just added for a row changed at `changed_at`. Exactly once the change time is
    /// kept until the line is durable, and `true` returned; at least once the line is on its way
    /// to the file now, and the caller times it (`false`).
    pub fn hold_change_time(&mut self, changed_at: chrono::DateTime<chrono::Utc>) -> bool {
        match &mut self.delivery {
            Delivery::ExactlyOnce(state) => {
                state.change_times.gathered(changed_at);
                true
            }
            Delivery::AtLeastOnce => false,
        }
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
                // The partition's first record since the last commit: where its batch starts.
                self.pending
                    .insert((topic.to_owned(), partition), offset + 1);
                if let Delivery::ExactlyOnce(state) = &mut self.delivery {
                    state.starts.insert((topic.to_owned(), partition), offset);
                }
            }
        }
    }

    /// Once every record handed to the member is handled (it has read all that waits): the
    /// partitions whose position has moved past offsets that hold no record for it (a
    /// transaction's commit marker, or aborted records a read-committed consumer skips) are
    /// committed up to the position at the next commit, so the group's lag reaches 0 at the
    /// end of a partition written in transactions. Partitions read nothing from since they came
    /// are left alone: their committed offset is not known here.
    pub fn cover_skipped_offsets<C: ConsumerContext>(&mut self, consumer: &impl Consumer<C>) {
        let Ok(positions) = consumer.position() else {
            return;
        };
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

    /// Drops the pending offsets of `partitions`, once they belong to another member: a later
    /// commit must not write offsets for partitions this member no longer owns.
    pub fn forget(&mut self, partitions: &TopicPartitionList) {
        for element in partitions.elements() {
            let key = (element.topic().to_owned(), element.partition());
            self.pending.remove(&key);
            self.committed.remove(&key);
            if let Delivery::ExactlyOnce(state) = &mut self.delivery {
                state.starts.remove(&key);
            }
        }
    }

    /// Exactly once, after a commit failed before partitions are revoked: the batch holds lines
    /// of partitions going away, which must not reach the file since their offsets will not be
    /// committed by this member, so the whole batch is dropped and the partitions staying are
    /// read again from its first records. A committed batch being appended is kept, with its
    /// batch file (its offsets are committed). Nothing to do at least once.
    pub fn drop_uncommitted<C: ConsumerContext>(&mut self, consumer: &impl Consumer<C>) {
        let Delivery::ExactlyOnce(state) = &mut self.delivery else {
            return;
        };
        let dropped = self.sink.discard_buffer();
        state.change_times.dropped();
        if !self.sink.holds_committed() {
            let _ = state.journal.remove();
        }
        match rewind(consumer, &state.starts) {
            Ok(rewound) => tracing::warn!(
                "dropped a batch of {dropped} line(s) before a revocation; reading {rewound} \
                 partition(s) again from its first records"
            ),
            Err(broken) => self.broken = Some(broken),
        }
        self.pending.clear();
        state.starts.clear();
    }

    /// Before the member's consumer is replaced (the group refused it): nothing uncommitted is
    /// kept, since the new consumer reads on from the committed offsets. Lines not yet in the
    /// file are dropped (exactly once: the batch too, and its batch file unless a committed
    /// batch is still being appended).
    pub fn start_over(&mut self) -> u64 {
        let dropped = self.sink.discard_buffer();
        if let Delivery::ExactlyOnce(state) = &mut self.delivery {
            if !self.sink.holds_committed() {
                let _ = state.journal.remove();
            }
            state.starts.clear();
            state.change_times.dropped();
        }
        self.pending.clear();
        dropped
    }

    /// Hands the lines gathered to the file, at least once; exactly once they wait for the
    /// commit, and this only looks whether a committed batch's append is done (trying again
    /// one that failed).
    pub fn write_through(&mut self) -> Result<(), FlushError> {
        match &mut self.delivery {
            Delivery::AtLeastOnce => self.sink.write_through().map_err(FlushError::Write),
            Delivery::ExactlyOnce(state) => settle_append(
                &mut self.sink,
                state,
                false,
                self.end_to_end_seconds.as_ref(),
            ),
        }
    }

    /// Exactly once, before the member stops: waits until the committed batch being appended
    /// is durable. Nothing to do at least once (every commit syncs the file).
    pub fn settle(&mut self) -> Result<(), CommitError> {
        match &mut self.delivery {
            Delivery::AtLeastOnce => Ok(()),
            Delivery::ExactlyOnce(state) => settle_append(
                &mut self.sink,
                state,
                true,
                self.end_to_end_seconds.as_ref(),
            )
            .map_err(|e| CommitError::output(&self.sink, e)),
        }
    }

    /// Offsets waiting for a commit, by topic and partition.
    pub fn pending(&self) -> impl Iterator<Item = (&(String, i32), &i64)> {
        self.pending.iter()
    }

    /// Makes the lines durable and commits their offsets, in the order `delivery` asks; the
    /// number of partitions committed.
    pub fn commit<C: ConsumerContext>(
        &mut self,
        consumer: &impl Consumer<C>,
    ) -> Result<usize, CommitError> {
        if let Some(reason) = &self.broken {
            return Err(reason.clone().into());
        }
        if matches!(self.delivery, Delivery::ExactlyOnce(_)) {
            return self.commit_exactly_once(consumer);
        }
        if self.pending.is_empty() {
            return Ok(0);
        }
        let _timer = self
            .commit_seconds
            .as_ref()
            .map(prometheus::Histogram::start_timer);
        self.sink
            .flush()
            .map_err(|source| CommitError::output(&self.sink, source))?;
        self.dead_letters.flush()?;
        let offsets = pending_offsets(&self.pending)?;
        commit_offsets(consumer, &offsets)?;
        let committed = self.pending.len();
        self.committed.append(&mut self.pending);
        Ok(committed)
    }
}

impl Checkpoint {
    /// While the file cannot be written: tries again what failed (at least once, handing the
    /// lines to the file; exactly once, the commit, which writes the batch file or appends a
    /// committed batch). `Err` with the cause while the output still refuses writes; any other
    /// outcome ends the wait, and the next commit reports what is left.
    pub fn retry_output<C: ConsumerContext>(
        &mut self,
        consumer: &impl Consumer<C>,
    ) -> std::io::Result<()> {
        match &self.delivery {
            Delivery::AtLeastOnce => self.sink.write_through(),
            Delivery::ExactlyOnce(_) => match self.commit_exactly_once(consumer) {
                Err(CommitError::Output {
                    source: FlushError::Write(error),
                    ..
                }) => Err(error),
                _ => Ok(()),
            },
        }
    }

    /// Exactly once: the batch file, the transaction, then the lines appended.
    fn commit_exactly_once<C: ConsumerContext>(
        &mut self,
        consumer: &impl Consumer<C>,
    ) -> Result<usize, CommitError> {
        let Delivery::ExactlyOnce(state) = &mut self.delivery else {
            return Ok(0);
        };
        let output = CommitError::output;
        // The batch committed before must be durable before the batch file is written again.
        settle_append(
            &mut self.sink,
            state,
            true,
            self.end_to_end_seconds.as_ref(),
        )
        .map_err(|e| output(&self.sink, e))?;
        if self.pending.is_empty() {
            return Ok(0);
        }
        let _timer = self
            .commit_seconds
            .as_ref()
            .map(prometheus::Histogram::start_timer);
        self.dead_letters.flush()?;
        state.batches += 1;
        let batch = format!("{}-{}", state.run, state.batches);
        crash_point::commit_begins();
        let described = PendingBatch {
            batch: batch.clone(),
            file_len: self.sink.durable_len(),
            ranges: batch_ranges(&state.starts, &self.pending),
        };
        state
            .journal
            .write(&described)
            .map_err(|e| output(&self.sink, FlushError::Write(e)))?;
        crash_point::maybe_crash(CrashPoint::AfterBatchFile);
        let offsets = pending_offsets(&self.pending)?;
        let group = consumer
            .group_metadata()
            .ok_or(CommitError::NoGroupMetadata)?;
        match state.committer.commit(&batch, &offsets, &group) {
            Ok(()) => {}
            Err(fatal @ BatchCommitError::Fatal { .. }) => return Err(CommitError::Batch(fatal)),
            Err(aborted @ BatchCommitError::Aborted { .. }) => {
                let lines = self.sink.discard_buffer();
                state.change_times.dropped();
                let _ = state.journal.remove();
                let partitions = rewind(consumer, &state.starts)?;
                self.pending.clear();
                state.starts.clear();
                return Err(CommitError::Dropped {
                    aborted,
                    lines,
                    partitions,
                });
            }
        }
        crash_point::maybe_crash(CrashPoint::AfterCommit);
        let committed = self.pending.len();
        self.committed.append(&mut self.pending);
        state.starts.clear();
        if crash_point::reached(CrashPoint::MidAppend) {
            self.sink.write_half_then_abort();
        }
        self.sink.append_committed();
        state.change_times.committed();
        Ok(committed)
    }
}

/// A commit the group coordinator cannot take yet (it is loading its offsets, or moving, as just
/// after a broker's restart) is tried every half second, 20 times in all.
const COMMIT_POLICY: Policy = Policy::steady(std::time::Duration::from_millis(500)).at_most(19);

/// Commits `offsets` (at least once), trying again for a while when the group coordinator is
/// not ready yet.
fn commit_offsets<C: ConsumerContext>(
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

/// The batch's records of each partition: from its first offset in the batch up to the offset
/// committed.
fn batch_ranges(
    starts: &BTreeMap<(String, i32), i64>,
    pending: &BTreeMap<(String, i32), i64>,
) -> Vec<BatchRange> {
    pending
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

/// The offsets to commit: the next offset of each partition handled since the last commit.
fn pending_offsets(
    pending: &BTreeMap<(String, i32), i64>,
) -> Result<TopicPartitionList, CommitError> {
    let mut offsets = TopicPartitionList::new();
    for ((topic, partition), next) in pending {
        offsets
            .add_partition_offset(topic, *partition, Offset::Offset(*next))
            .map_err(CommitError::Kafka)?;
    }
    Ok(offsets)
}

/// Settles the committed batch outside the file (waiting for its append, or only looking
/// whether it is done) and, once it is durable, removes its batch file.
fn settle_append(
    sink: &mut JsonlSink,
    state: &mut ExactlyOnce,
    wait: bool,
    end_to_end_seconds: Option<&prometheus::Histogram>,
) -> Result<(), FlushError> {
    if sink.settle_committed(wait)? {
        state
            .change_times
            .durable(chrono::Utc::now(), end_to_end_seconds);
        // A batch file left behind only makes the next start write the same batch at the same
        // place again.
        if let Err(error) = state.journal.remove() {
            tracing::warn!("{}: {error}", state.journal.path().display());
        }
    }
    Ok(())
}

/// Seeks each partition still assigned back to `starts`; how many were. A partition that
/// cannot be sought back is fatal: reading on after a dropped batch would lose its records (a
/// restart reads them again from the committed offsets).
fn rewind<C: ConsumerContext>(
    consumer: &impl Consumer<C>,
    starts: &BTreeMap<(String, i32), i64>,
) -> Result<usize, RewindError> {
    let assigned = consumer
        .assignment()
        .map_err(|e| RewindError::Assignment(Box::new(e)))?;
    let mut rewound = 0;
    for ((topic, partition), start) in starts {
        if assigned.find_partition(topic, *partition).is_none() {
            continue;
        }
        consumer
            .seek(
                topic,
                *partition,
                Offset::Offset(*start),
                std::time::Duration::from_secs(10),
            )
            .map_err(|source| RewindError::Seek {
                topic: topic.clone(),
                partition: *partition,
                start: *start,
                source: Box::new(source),
            })?;
        rewound += 1;
    }
    Ok(rewound)
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
