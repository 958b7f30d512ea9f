//! A member's metrics; every series carries the `member` label, so one dashboard shows the
//! whole group per member and partition.

use prometheus::{
    Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};
use sluice_common::dead_letter::Stage;

/// Everything a member counts; names carry their unit.
#[derive(Clone)]
pub struct ConsumerMetrics {
    /// Records read, by partition.
    pub records_consumed: IntCounterVec,
    /// Lines written, by partition.
    pub lines_written: IntCounterVec,
    /// Records sent to the dead-letter topic, by stage.
    pub dead_letters: IntCounterVec,
    /// Time to flush the file and commit offsets.
    pub commit_seconds: Histogram,
    /// Records in a partition not yet read, by partition.
    pub lag_records: IntGaugeVec,
    /// 1 for each partition this member currently reads.
    pub assigned: IntGaugeVec,
    /// Rebalances seen, by kind (`assign`, `revoke`).
    pub rebalances: IntCounterVec,
    /// Bytes appended to the output file.
    pub output_bytes: IntCounter,
    /// 1 while the output file cannot be written (e.g. a full disk) and the member waits.
    pub output_blocked: IntGauge,
    /// Segments closed (when segments roll).
    pub segments_closed: IntCounter,
    /// From the row's `last_updated` to its line written.
    pub end_to_end_seconds: Histogram,
}

impl ConsumerMetrics {
    /// A registry whose every series carries `member`, with the member's metrics in it.
    pub fn registry(member: &str) -> prometheus::Result<(Registry, Self)> {
        let labels = std::iter::once(("member".to_owned(), member.to_owned())).collect();
        let registry = Registry::new_custom(None, Some(labels))?;
        let metrics = Self {
            records_consumed: counter_vec(
                "sluice_consumer_records_consumed_total",
                "Records read.",
                "partition",
            )?,
            lines_written: counter_vec(
                "sluice_consumer_lines_written_total",
                "Lines written.",
                "partition",
            )?,
            dead_letters: counter_vec(
                "sluice_consumer_dlq_records_total",
                "Records sent to the dead-letter topic.",
                "stage",
            )?,
            commit_seconds: Histogram::with_opts(
                HistogramOpts::new(
                    "sluice_consumer_commit_duration_seconds",
                    "Time to flush the file and commit offsets.",
                )
                .buckets(prometheus::exponential_buckets(0.0005, 2.0, 14)?),
            )?,
            lag_records: IntGaugeVec::new(
                Opts::new(
                    "sluice_consumer_lag_records",
                    "Records in the partition not yet read.",
                ),
                &["partition"],
            )?,
            assigned: IntGaugeVec::new(
                Opts::new(
                    "sluice_consumer_assigned_partitions",
                    "1 for each partition this member reads.",
                ),
                &["partition"],
            )?,
            rebalances: counter_vec(
                "sluice_consumer_rebalances_total",
                "Rebalances seen.",
                "kind",
            )?,
            output_bytes: IntCounter::new(
                "sluice_consumer_output_bytes_total",
                "Bytes appended to the output file.",
            )?,
            output_blocked: IntGauge::new(
                "sluice_consumer_output_blocked",
                "1 while the output file cannot be written and the member waits, reading nothing.",
            )?,
            segments_closed: IntCounter::new(
                "sluice_consumer_segments_closed_total",
                "Segments of the member's output closed for loaders to pick up.",
            )?,
            end_to_end_seconds: Histogram::with_opts(
                HistogramOpts::new(
                    "sluice_consumer_end_to_end_latency_seconds",
                    "From the row's last_updated (its commit) to its line readable in the file.",
                )
                // 10% apart from 5 ms to about 70 s, so a quantile read from Prometheus is
                // within a few percent of the true one wherever it falls.
                .buckets(prometheus::exponential_buckets(0.005, 1.1, 101)?),
            )?,
        };
        registry.register(Box::new(metrics.records_consumed.clone()))?;
        registry.register(Box::new(metrics.lines_written.clone()))?;
        registry.register(Box::new(metrics.dead_letters.clone()))?;
        registry.register(Box::new(metrics.commit_seconds.clone()))?;
        registry.register(Box::new(metrics.lag_records.clone()))?;
        registry.register(Box::new(metrics.assigned.clone()))?;
        registry.register(Box::new(metrics.rebalances.clone()))?;
        registry.register(Box::new(metrics.output_bytes.clone()))?;
        registry.register(Box::new(metrics.output_blocked.clone()))?;
        registry.register(Box::new(metrics.segments_closed.clone()))?;
        registry.register(Box::new(metrics.end_to_end_seconds.clone()))?;
        for stage in [Stage::Decode.as_str(), Stage::Transform.as_str()] {
            metrics.dead_letters.with_label_values(&[stage]);
        }
        for kind in ["assign", "revoke"] {
            metrics.rebalances.with_label_values(&[kind]);
        }
        Ok((registry, metrics))
    }
}

fn counter_vec(name: &str, help: &str, label: &str) -> prometheus::Result<IntCounterVec> {
    IntCounterVec::new(Opts::new(name, help), &[label])
}

/// One partition's record and line counters, looked up once per partition instead of hashing
/// the label for every record.
#[derive(Default)]
pub struct PartitionCounters {
    by_partition: Vec<Option<(IntCounter, IntCounter)>>,
}

impl PartitionCounters {
    /// The `(records consumed, lines written)` counters of `partition`.
    pub fn of(&mut self, metrics: &ConsumerMetrics, partition: i32) -> &(IntCounter, IntCounter) {
        let index = usize::try_from(partition).unwrap_or(0);
        if self.by_partition.len() <= index {
            self.by_partition.resize(index + 1, None);
        }
        self.by_partition[index].get_or_insert_with(|| {
            let label = partition.to_string();
            (
                metrics.records_consumed.with_label_values(&[&label]),
                metrics.lines_written.with_label_values(&[&label]),
            )
        })
    }
}

/// Records in `partition` not yet read, from librdkafka's statistics: its last stable offset
/// (its end, as a read-committed consumer sees it) less the member's position (the offset after
/// the last record handed to the member, or its committed offset before the first). `None`
/// while either is unknown. librdkafka's own `consumer_lag` counts from the consumer's commits,
/// which exactly once are made by the member's producer, so it stays unknown there. The
/// position moves past a transaction's commit marker once the member has read up to it.
pub fn records_not_read(partition: &rdkafka::statistics::Partition) -> Option<i64> {
    let end = if partition.ls_offset >= 0 {
        partition.ls_offset
    } else {
        partition.hi_offset
    };
    let position = [partition.app_offset, partition.committed_offset]
        .into_iter()
        .find(|offset| *offset >= 0)?;
    (end >= 0).then(|| (end - position).max(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::statistics::Partition;

    fn partition(ls_offset: i64, app_offset: i64, committed_offset: i64) -> Partition {
        Partition {
            ls_offset,
            hi_offset: ls_offset,
            app_offset,
            committed_offset,
            ..Partition::default()
        }
    }

    #[test]
    fn records_not_read_are_the_end_less_the_position() {
        // Read up to 900 of 1 000; exactly once nothing is committed by the consumer itself.
        assert_eq!(records_not_read(&partition(1_000, 900, -1)), Some(100));
        // Nothing read yet since the partition came: from the committed offset.
        assert_eq!(records_not_read(&partition(1_000, -1, 400)), Some(600));
        // Neither known, or no end yet: no figure rather than a wrong one.
        assert_eq!(records_not_read(&partition(1_000, -1, -1)), None);
        assert_eq!(records_not_read(&partition(-1, 10, 10)), None);
        // An end behind a position just read past it is no negative lag.
        assert_eq!(records_not_read(&partition(10, 12, -1)), Some(0));
    }
}
