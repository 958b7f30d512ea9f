//! What the member's loop handled since its last report, kept in plain integers and handed to
//! the metrics in one event per run of records (`events::RecordsHandled`): the hot path
//! touches no shared counter per record.
//!
//! Invariant: its size does not grow with the records handled between two reports: counts are
//! per partition, and latencies go into the histogram's buckets (a thread-local copy of the
//! end-to-end histogram), not into a list of samples.

use prometheus::local::LocalHistogram;
use prometheus::Histogram;

/// Records consumed and lines written by partition, bytes written, and the end-to-end
/// latencies of lines timed as they were written.
#[derive(Debug)]
pub(crate) struct RecordTally {
    /// `(records consumed, lines written)`, indexed by partition.
    pub(crate) by_partition: Vec<(u64, u64)>,
    /// Bytes of lines written.
    pub(crate) bytes: u64,
    /// Latencies of lines timed when written (at least once), in seconds, by bucket; flushed
    /// into the shared histogram by the report.
    pub(crate) latencies: LocalHistogram,
}

impl RecordTally {
    /// An empty tally whose latencies go to `end_to_end` when reported.
    pub(crate) fn new(end_to_end: &Histogram) -> Self {
        Self {
            by_partition: Vec::new(),
            bytes: 0,
            latencies: end_to_end.local(),
        }
    }

    /// A record of `partition` was read.
    pub(crate) fn consumed(&mut self, partition: i32) {
        self.of(partition).0 += 1;
    }

    /// Its line of `bytes` was written.
    pub(crate) fn written(&mut self, partition: i32, bytes: usize) {
        self.of(partition).1 += 1;
        self.bytes += bytes as u64;
    }

    /// A line was timed: `seconds` from its row's change.
    pub(crate) fn timed(&mut self, seconds: f64) {
        self.latencies.observe(seconds);
    }

    /// Whether nothing was handled since the last report.
    pub(crate) fn is_empty(&self) -> bool {
        self.bytes == 0
            && self.latencies.get_sample_count() == 0
            && self.by_partition.iter().all(|&(c, w)| c == 0 && w == 0)
    }

    /// Hands the latencies to the shared histogram and starts over, keeping what was
    /// allocated.
    pub(crate) fn flush(&mut self) {
        self.by_partition.fill((0, 0));
        self.bytes = 0;
        self.latencies.flush();
    }

    fn of(&mut self, partition: i32) -> &mut (u64, u64) {
        let index = usize::try_from(partition).unwrap_or(0);
        if self.by_partition.len() <= index {
            self.by_partition.resize(index + 1, (0, 0));
        }
        &mut self.by_partition[index]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram() -> Histogram {
        Histogram::with_opts(prometheus::HistogramOpts::new("t", "t")).expect("histogram")
    }

    #[test]
    fn counts_by_partition_and_starts_over_when_flushed() {
        let shared = histogram();
        let mut tally = RecordTally::new(&shared);
        assert!(tally.is_empty());
        tally.consumed(3);
        tally.consumed(3);
        tally.written(3, 10);
        tally.consumed(0);
        tally.timed(0.5);
        assert_eq!(tally.by_partition, [(1, 0), (0, 0), (0, 0), (2, 1)]);
        assert_eq!(tally.bytes, 10);
        assert!(!tally.is_empty());
        assert_eq!(
            shared.get_sample_count(),
            0,
            "nothing reported before the flush"
        );
        tally.flush();
        assert!(tally.is_empty());
        assert_eq!(tally.by_partition.len(), 4, "kept allocated");
        assert_eq!(
            shared.get_sample_count(),
            1,
            "the latency reached the histogram"
        );
        assert_eq!(shared.get_sample_sum(), 0.5);
    }
}
