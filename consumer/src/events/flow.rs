//! The member's normal path: runs of records, commits, durable batches, lag and rebalances,
//! each reported per run, commit or statistics round, never per record.

use std::time::Duration;

use prometheus::{Histogram, IntCounter, IntGauge, IntGaugeVec};
use sluice_common::events::Event;

use super::RecordTally;
use crate::metrics::{ConsumerMetrics, PartitionCounters};

/// The records the loop handled since its last report (a run of records, up to a commit or to
/// reading all that waits): counted once per run, never per record.
pub(crate) struct RecordsHandled<'a> {
    /// The member.
    pub(crate) member: &'a str,
    /// What was handled; emptied by the event.
    pub(crate) tally: &'a mut RecordTally,
    /// The per-partition counters, looked up once per partition.
    pub(crate) counters: &'a mut PartitionCounters,
    /// The member's metrics.
    pub(crate) metrics: &'a ConsumerMetrics,
}

impl Event for RecordsHandled<'_> {
    fn emit(self) {
        let tally = self.tally;
        for (partition, &(consumed, written)) in tally.by_partition.iter().enumerate() {
            if consumed == 0 && written == 0 {
                continue;
            }
            let partition = i32::try_from(partition).unwrap_or(i32::MAX);
            tracing::trace!(
                member = self.member,
                partition,
                consumed,
                written,
                "{}: partition {partition}: {consumed} records read, {written} lines written",
                self.member
            );
            let (records, lines) = self.counters.of(self.metrics, partition);
            records.inc_by(consumed);
            lines.inc_by(written);
        }
        self.metrics.output_bytes.inc_by(tally.bytes);
        tally.flush();
    }
}

/// Lines became readable in the file: each is timed from its row's change.
pub struct LinesReadable<'a> {
    /// When each line's row was changed, microseconds since the epoch.
    pub changed_at_micros: &'a [i64],
    /// When they became readable, in the same unit.
    pub readable_at_micros: i64,
    /// `sluice_consumer_end_to_end_latency_seconds`, when the member times lines.
    pub histogram: Option<&'a Histogram>,
}

impl Event for LinesReadable<'_> {
    fn emit(self) {
        tracing::trace!(
            lines = self.changed_at_micros.len(),
            "{} lines readable",
            self.changed_at_micros.len()
        );
        if let Some(histogram) = self.histogram {
            // One thread-local copy per batch: the shared buckets are added to once.
            let local = histogram.local();
            for changed_at in self.changed_at_micros {
                local.observe(self.readable_at_micros.saturating_sub(*changed_at) as f64 / 1e6);
            }
            local.flush();
        }
    }
}

/// A commit made lines and offsets durable.
pub struct Committed<'a> {
    /// Partitions whose offsets were committed.
    pub partitions: usize,
    /// From the flush of the file to the commit's answer.
    pub took: Duration,
    /// `sluice_consumer_commit_duration_seconds`, when the member times commits.
    pub histogram: Option<&'a Histogram>,
}

impl Event for Committed<'_> {
    fn emit(self) {
        let seconds = self.took.as_secs_f64();
        tracing::trace!(
            partitions = self.partitions,
            seconds,
            "committed {} partitions in {seconds:.3}s",
            self.partitions
        );
        if let Some(histogram) = self.histogram {
            histogram.observe(seconds);
        }
    }
}

/// librdkafka's statistics said how many records wait in an owned partition.
pub struct LagSampled<'a> {
    /// The partition.
    pub partition: i32,
    /// Records not yet read.
    pub lag: i64,
    /// `sluice_consumer_lag_records`.
    pub gauge: &'a IntGaugeVec,
}

impl Event for LagSampled<'_> {
    fn emit(self) {
        tracing::trace!(
            partition = self.partition,
            lag = self.lag,
            "lag of partition {}: {}",
            self.partition,
            self.lag
        );
        self.gauge
            .with_label_values(&[&self.partition.to_string()])
            .set(self.lag);
    }
}

/// A rebalance took partitions from the member or gave it some; `assigned` is what it reads
/// now, `gone` what it no longer reads.
pub struct Rebalanced<'a> {
    /// The member.
    pub member: &'a str,
    /// `assign` or `revoke`, when this is one; `None` for a rebalance that changed nothing here.
    pub kind: Option<&'static str>,
    /// The partitions it reads now.
    pub assigned: &'a [i32],
    /// Partitions it read and no longer does.
    pub gone: &'a [i32],
    /// The member's metrics.
    pub metrics: &'a ConsumerMetrics,
}

impl Event for Rebalanced<'_> {
    fn emit(self) {
        tracing::debug!(
            member = self.member,
            kind = self.kind,
            assigned = ?self.assigned,
            gone = ?self.gone,
            "{}: rebalance ({}); reading {:?}, no longer {:?}",
            self.member,
            self.kind.unwrap_or("none"),
            self.assigned,
            self.gone
        );
        let metrics = self.metrics;
        if let Some(kind) = self.kind {
            metrics.rebalances.with_label_values(&[kind]).inc();
        }
        metrics.assigned.reset();
        for partition in self.assigned {
            metrics
                .assigned
                .with_label_values(&[&partition.to_string()])
                .set(1);
        }
        for partition in self.gone {
            // A partition never sampled has no series to remove.
            let _ = metrics
                .lag_records
                .remove_label_values(&[&partition.to_string()]);
        }
    }
}

/// The output file is written again after it was blocked.
pub struct OutputUnblocked<'a> {
    /// The member.
    pub member: &'a str,
    /// The file.
    pub path: &'a str,
    /// How long it was blocked.
    pub blocked_for: Duration,
    /// `sluice_consumer_output_blocked`, set to 0.
    pub blocked: &'a IntGauge,
}

impl Event for OutputUnblocked<'_> {
    fn emit(self) {
        tracing::info!(
            member = self.member,
            blocked_seconds = self.blocked_for.as_secs_f64(),
            "{}: {} is written again after {:.1}s; reading on",
            self.member,
            self.path,
            self.blocked_for.as_secs_f64()
        );
        self.blocked.set(0);
    }
}

/// The open segment was closed under its final name.
pub struct SegmentClosed<'a> {
    /// Its closed name.
    pub path: &'a std::path::Path,
    /// Its size.
    pub bytes: u64,
    /// `sluice_consumer_segments_closed_total`, when counted.
    pub counter: Option<&'a IntCounter>,
}

impl Event for SegmentClosed<'_> {
    fn emit(self) {
        tracing::info!(
            bytes = self.bytes,
            "closed segment {} ({} bytes)",
            self.path.display(),
            self.bytes
        );
        if let Some(counter) = self.counter {
            counter.inc();
        }
    }
}
