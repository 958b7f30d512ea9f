//! The state of exactly-once commits: the batch being gathered (where each of its partitions
//! starts), its batch file, its transaction, and the append of a committed batch to the file.
//!
//! Invariant: a batch's lines reach the file only after its transaction has committed, and its
//! batch file is removed only once they are durable there; a dropped batch's partitions are
//! read again from its first records, or the member stops.

use std::collections::BTreeMap;

use rdkafka::consumer::{Consumer, ConsumerContext};
use rdkafka::Offset;

use super::batch_commit::BatchCommitter;
use super::commit_error::RewindError;
use super::journal::{Journal, PendingBatch};
use super::offsets::{Offsets, PartitionKey};
use crate::crash_point::{self, CrashPoint};
use crate::output::change_times::ChangeTimes;
use crate::output::sink::{FlushError, JsonlSink};

/// The state of exactly-once commits.
pub struct ExactlyOnce {
    pub(crate) journal: Journal,
    pub(crate) committer: BatchCommitter,
    /// The first offset of each partition in the batch: where reading goes back to when the
    /// batch is dropped.
    starts: BTreeMap<PartitionKey, i64>,
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

    /// A line of the batch is for a row changed at `changed_at`.
    pub(crate) fn gathered(&mut self, changed_at: chrono::DateTime<chrono::Utc>) {
        self.change_times.gathered(changed_at);
    }

    /// The batch's first record of a partition is at `offset`.
    pub(crate) fn starts_at(&mut self, topic: &str, partition: i32, offset: i64) {
        self.starts.insert((topic.to_owned(), partition), offset);
    }

    /// Forgets a partition that now belongs to another member.
    pub(crate) fn forget(&mut self, key: &PartitionKey) {
        self.starts.remove(key);
    }

    /// Names the next batch and writes its batch file: the file's durable length and each
    /// partition's range of offsets.
    pub(crate) fn begin_batch(
        &mut self,
        sink: &JsonlSink,
        offsets: &Offsets,
    ) -> std::io::Result<String> {
        self.batches += 1;
        let batch = format!("{}-{}", self.run, self.batches);
        crash_point::commit_begins();
        let described = PendingBatch {
            batch: batch.clone(),
            file_len: sink.durable_len(),
            ranges: offsets.batch_ranges(&self.starts),
        };
        self.journal.write(&described)?;
        crash_point::maybe_crash(CrashPoint::AfterBatchFile);
        Ok(batch)
    }

    /// The batch's transaction committed: its lines go to the file.
    pub(crate) fn committed(&mut self, sink: &mut JsonlSink) {
        crash_point::maybe_crash(CrashPoint::AfterCommit);
        self.starts.clear();
        if crash_point::reached(CrashPoint::MidAppend) {
            sink.write_half_then_abort();
        }
        sink.append_committed();
        self.change_times.committed();
    }

    /// Drops the batch gathered: its lines, its change times, and its batch file unless
    /// `keep_file` (a committed batch is still being appended). Where its partitions start is
    /// kept for [`rewind`](Self::rewind) until [`forget_starts`](Self::forget_starts). The
    /// lines dropped.
    pub(crate) fn drop_batch(&mut self, sink: &mut JsonlSink, keep_file: bool) -> u64 {
        let lines = sink.discard_buffer();
        self.change_times.dropped();
        if !keep_file {
            let _ = self.journal.remove();
        }
        lines
    }

    /// Forgets where the batch's partitions start: the batch is committed or dropped.
    pub(crate) fn forget_starts(&mut self) {
        self.starts.clear();
    }

    /// Seeks each partition of the batch still assigned back to its first record, before the
    /// batch is dropped; how many were. A partition that cannot be sought back is fatal:
    /// reading on after a dropped batch would lose its records (a restart reads them again from
    /// the committed offsets).
    pub(crate) fn rewind<C: ConsumerContext>(
        &self,
        consumer: &impl Consumer<C>,
    ) -> Result<usize, RewindError> {
        let assigned = consumer
            .assignment()
            .map_err(|e| RewindError::Assignment(Box::new(e)))?;
        let mut rewound = 0;
        for ((topic, partition), start) in &self.starts {
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

    /// Settles the committed batch outside the file (waiting for its append, or only looking
    /// whether it is done) and, once it is durable, removes its batch file.
    pub(crate) fn settle_append(
        &mut self,
        sink: &mut JsonlSink,
        wait: bool,
        end_to_end_seconds: Option<&prometheus::Histogram>,
    ) -> Result<(), FlushError> {
        if let Some(readable_at) = sink.settle_committed(wait)? {
            self.change_times
                .committed_readable(readable_at, end_to_end_seconds);
            // A batch file left behind only makes the next start write the same batch at the
            // same place again.
            if let Err(error) = self.journal.remove() {
                tracing::warn!("{}: {error}", self.journal.path().display());
            }
        }
        Ok(())
    }
}
