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

use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use rdkafka::consumer::{Consumer, ConsumerContext};
use rdkafka::TopicPartitionList;
use sluice_common::events::Event;

use super::batch_commit::BatchCommitError;
use super::commit_error::{CommitError, RewindError};
use super::exactly_once::ExactlyOnce;
use super::offsets::{commit_offsets, Offsets, PartitionKey};
use crate::dead_letter_publisher::DeadLetters;
use crate::events::{Committed, SegmentClosed};
use crate::output::change_times::ChangeTimes;
use crate::output::sink::{FlushError, JsonlSink};

/// How lines and offsets become durable together (see the module documentation).
pub enum Delivery {
    /// Lines written as they come, synced before their offsets are committed.
    AtLeastOnce,
    /// Lines held until their offsets commit in a transaction.
    ExactlyOnce(Box<ExactlyOnce>),
}

/// The sink, the dead letters and the offsets not yet committed.
pub struct Checkpoint {
    /// Where lines go.
    pub sink: JsonlSink,
    /// Where records that cannot be written go.
    pub dead_letters: DeadLetters,
    offsets: Offsets,
    commit_seconds: Option<prometheus::Histogram>,
    /// Where the end-to-end latency of lines is observed, once they are readable in the file.
    end_to_end_seconds: Option<prometheus::Histogram>,
    /// At least once, the change times of the lines not yet handed to the file.
    unwritten_times: ChangeTimes,
    /// Where closed segments are counted.
    segments_closed: Option<prometheus::IntCounter>,
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
            offsets: Offsets::default(),
            commit_seconds: None,
            end_to_end_seconds: None,
            unwritten_times: ChangeTimes::default(),
            segments_closed: None,
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

    /// Times each line into `histogram` once it is readable in the file.
    pub fn latency_into(mut self, histogram: prometheus::Histogram) -> Self {
        self.end_to_end_seconds = Some(histogram);
        self
    }

    /// Counts closed segments into `counter`.
    pub fn segments_counted_by(mut self, counter: prometheus::IntCounter) -> Self {
        self.segments_closed = Some(counter);
        self
    }

    /// A line was just added for a row changed at `changed_at`: it is timed once it is
    /// readable in the file.
    pub fn time_line(&mut self, changed_at: chrono::DateTime<chrono::Utc>) {
        match &mut self.delivery {
            Delivery::ExactlyOnce(state) => state.gathered(changed_at),
            Delivery::AtLeastOnce => self.unwritten_times.gathered(changed_at),
        }
    }

    /// At least once, after an attempt to hand the lines gathered to the file: if none is left
    /// here, they are readable now (or gone with a failed sync, to be read again), and timed
    /// or forgotten.
    fn handed_to_file(&mut self, written: bool) {
        if self.sink.buffered() > 0 {
            return;
        }
        if written {
            self.unwritten_times
                .gathered_readable(chrono::Utc::now(), self.end_to_end_seconds.as_ref());
        } else {
            self.unwritten_times.dropped();
        }
    }

    /// Notes that the record at `offset` is handled (written or dead-lettered).
    pub fn handled(&mut self, topic: &str, partition: i32, offset: i64) {
        let first = self.offsets.handled(topic, partition, offset);
        if let (true, Delivery::ExactlyOnce(state)) = (first, &mut self.delivery) {
            // The partition's first record since the last commit: where its batch starts.
            state.starts_at(topic, partition, offset);
        }
    }

    /// Once every record handed to the member is handled (it has read all that waits): the
    /// partitions whose position has moved past offsets that hold no record for it (a
    /// transaction's commit marker, or aborted records a read-committed consumer skips) are
    /// committed up to the position at the next commit, so the group's lag reaches 0 at the
    /// end of a partition written in transactions. Partitions read nothing from since they came
    /// are left alone: their committed offset is not known here.
    pub fn cover_skipped_offsets<C: ConsumerContext>(&mut self, consumer: &impl Consumer<C>) {
        if let Ok(positions) = consumer.position() {
            self.offsets.cover_positions(&positions);
        }
    }

    /// Drops the pending offsets of `partitions`, once they belong to another member: a later
    /// commit must not write offsets for partitions this member no longer owns.
    pub fn forget(&mut self, partitions: &TopicPartitionList) {
        for element in partitions.elements() {
            let key: PartitionKey = (element.topic().to_owned(), element.partition());
            self.offsets.forget(&key);
            if let Delivery::ExactlyOnce(state) = &mut self.delivery {
                state.forget(&key);
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
        let appending = self.sink.holds_committed();
        let dropped = state.drop_batch(&mut self.sink, appending);
        match state.rewind(consumer) {
            Ok(rewound) => tracing::warn!(
                "dropped a batch of {dropped} line(s) before a revocation; reading {rewound} \
                 partition(s) again from its first records"
            ),
            Err(broken) => self.broken = Some(broken),
        }
        self.offsets.drop_pending();
        state.forget_starts();
    }

    /// Before the member's consumer is replaced (the group refused it): nothing uncommitted is
    /// kept, since the new consumer reads on from the committed offsets. Lines not yet in the
    /// file are dropped (exactly once: the batch too, and its batch file unless a committed
    /// batch is still being appended).
    pub fn start_over(&mut self) -> u64 {
        let dropped = match &mut self.delivery {
            Delivery::ExactlyOnce(state) => {
                let appending = self.sink.holds_committed();
                let dropped = state.drop_batch(&mut self.sink, appending);
                state.forget_starts();
                dropped
            }
            Delivery::AtLeastOnce => {
                self.unwritten_times.dropped();
                self.sink.discard_buffer()
            }
        };
        self.offsets.drop_pending();
        dropped
    }

    /// Hands the lines gathered to the file, at least once; exactly once they wait for the
    /// commit, and this only looks whether a committed batch's append is done (trying again
    /// one that failed).
    pub fn write_through(&mut self) -> Result<(), FlushError> {
        match &mut self.delivery {
            Delivery::AtLeastOnce => {
                let written = self.sink.write_through().map_err(FlushError::Write);
                self.handed_to_file(written.is_ok());
                written
            }
            Delivery::ExactlyOnce(state) => {
                state.settle_append(&mut self.sink, false, self.end_to_end_seconds.as_ref())
            }
        }
    }

    /// Exactly once, before the member stops: waits until the committed batch being appended
    /// is durable. Nothing to do at least once (every commit syncs the file).
    pub fn settle(&mut self) -> Result<(), CommitError> {
        match &mut self.delivery {
            Delivery::AtLeastOnce => Ok(()),
            Delivery::ExactlyOnce(state) => state
                .settle_append(&mut self.sink, true, self.end_to_end_seconds.as_ref())
                .map_err(|e| CommitError::output(&self.sink, e)),
        }
    }

    /// Offsets waiting for a commit, by topic and partition.
    pub fn pending(&self) -> impl Iterator<Item = (&PartitionKey, &i64)> {
        self.offsets.pending()
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
        if self.offsets.is_empty() {
            roll_if_due(&mut self.sink, self.segments_closed.as_ref())?;
            return Ok(0);
        }
        let started = Instant::now();
        let flushed = self.sink.flush();
        self.handed_to_file(flushed.is_ok());
        flushed.map_err(|source| CommitError::output(&self.sink, source))?;
        self.dead_letters.flush()?;
        commit_offsets(consumer, &self.offsets.to_commit()?)?;
        let partitions = self.offsets.mark_committed();
        self.committed(partitions, started);
        roll_if_due(&mut self.sink, self.segments_closed.as_ref())?;
        Ok(partitions)
    }

    /// While the file cannot be written: tries again what failed (at least once, handing the
    /// lines to the file; exactly once, the commit, which writes the batch file or appends a
    /// committed batch). `Err` with the cause while the output still refuses writes; any other
    /// outcome ends the wait, and the next commit reports what is left.
    pub fn retry_output<C: ConsumerContext>(
        &mut self,
        consumer: &impl Consumer<C>,
    ) -> std::io::Result<()> {
        match &self.delivery {
            Delivery::AtLeastOnce => {
                let written = self.sink.write_through();
                self.handed_to_file(written.is_ok());
                written
            }
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
        state
            .settle_append(&mut self.sink, true, self.end_to_end_seconds.as_ref())
            .map_err(|e| output(&self.sink, e))?;
        // Between batches: every committed line is durable, and no batch file is written.
        roll_if_due(&mut self.sink, self.segments_closed.as_ref())?;
        if self.offsets.is_empty() {
            return Ok(0);
        }
        let started = Instant::now();
        self.dead_letters.flush()?;
        let batch = state
            .begin_batch(&self.sink, &self.offsets)
            .map_err(|e| output(&self.sink, FlushError::Write(e)))?;
        let offsets = self.offsets.to_commit()?;
        let group = consumer
            .group_metadata()
            .ok_or(CommitError::NoGroupMetadata)?;
        match state.committer.commit(&batch, &offsets, &group) {
            Ok(()) => {}
            Err(fatal @ BatchCommitError::Fatal { .. }) => return Err(CommitError::Batch(fatal)),
            Err(aborted @ BatchCommitError::Aborted { .. }) => {
                let lines = state.drop_batch(&mut self.sink, false);
                let partitions = state.rewind(consumer)?;
                self.offsets.drop_pending();
                state.forget_starts();
                return Err(CommitError::Dropped {
                    aborted,
                    lines,
                    partitions,
                });
            }
        }
        let partitions = self.offsets.mark_committed();
        state.committed(&mut self.sink);
        self.committed(partitions, started);
        Ok(partitions)
    }

    /// Says that `partitions` were committed, the commit begun at `started`. Failed commits are
    /// not timed: their cost is in the errors they are counted with.
    fn committed(&self, partitions: usize, started: Instant) {
        Committed {
            partitions,
            took: started.elapsed(),
            histogram: self.commit_seconds.as_ref(),
        }
        .emit();
    }
}

/// Closes the open segment if it is due: at a commit, between batches (see `segments`).
fn roll_if_due(
    sink: &mut JsonlSink,
    counter: Option<&prometheus::IntCounter>,
) -> Result<(), CommitError> {
    let closed = sink
        .roll_if_due(Instant::now())
        .map_err(|error| CommitError::output(sink, error))?;
    if let Some((path, bytes)) = closed {
        SegmentClosed {
            path: &path,
            bytes,
            counter,
        }
        .emit();
    }
    Ok(())
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
