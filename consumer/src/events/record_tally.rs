//! What the member's loop handled since its last report, kept in plain integers and handed to
//! the metrics in one event per run of records (`events::RecordsHandled`): the hot path
//! touches no shared counter per record.
//!
//! Invariant: its size does not grow with the records handled between two reports: counts are
//! per partition. (Lines are timed when they are readable in the file: `output::change_times`.)

/// Records consumed and lines written by partition, and bytes written.
#[derive(Debug, Default)]
pub(crate) struct RecordTally {
    /// `(records consumed, lines written)`, indexed by partition.
    pub(crate) by_partition: Vec<(u64, u64)>,
    /// Bytes of lines written.
    pub(crate) bytes: u64,
}

impl RecordTally {
    /// A record of `partition` was read.
    pub(crate) fn consumed(&mut self, partition: i32) {
        self.of(partition).0 += 1;
    }

    /// Its line of `bytes` was written.
    pub(crate) fn written(&mut self, partition: i32, bytes: usize) {
        self.of(partition).1 += 1;
        self.bytes += bytes as u64;
    }

    /// Whether nothing was handled since the last report.
    pub(crate) fn is_empty(&self) -> bool {
        self.bytes == 0 && self.by_partition.iter().all(|&(c, w)| c == 0 && w == 0)
    }

    /// Starts over, keeping what was allocated.
    pub(crate) fn flush(&mut self) {
        self.by_partition.fill((0, 0));
        self.bytes = 0;
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

    #[test]
    fn counts_by_partition_and_starts_over_when_flushed() {
        let mut tally = RecordTally::default();
        assert!(tally.is_empty());
        tally.consumed(3);
        tally.consumed(3);
        tally.written(3, 10);
        tally.consumed(0);
        assert_eq!(tally.by_partition, [(1, 0), (0, 0), (0, 0), (2, 1)]);
        assert_eq!(tally.bytes, 10);
        assert!(!tally.is_empty());
        tally.flush();
        assert!(tally.is_empty());
        assert_eq!(tally.by_partition.len(), 4, "kept allocated");
    }
}
