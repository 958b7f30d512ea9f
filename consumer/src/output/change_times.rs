//! The end-to-end latency of each line (`sluice_consumer_end_to_end_latency_seconds`): from its
//! row's `last_updated` (the change's commit) to the moment the line became readable in the
//! file. Exactly once, a line reaches the file only once its batch is committed and appended,
//! so it is timed when the append has written it; at least once, when the lines gathered are
//! handed to the file. The same meaning in both modes, and the one the bench's watcher measures.
//!
//! Invariant: **a change time is observed once, when its line is readable in the file, or never
//! when its batch is dropped** (its record is read again, and timed then).

use chrono::{DateTime, Utc};
use prometheus::Histogram;
use sluice_common::events::Event;

use crate::events::LinesReadable;

/// The change times of the lines gathered and of the committed batch being appended, in
/// microseconds since the epoch.
#[derive(Debug, Default)]
pub struct ChangeTimes {
    gathered: Vec<i64>,
    committed: Vec<i64>,
}

impl ChangeTimes {
    /// A line gathered carries a change made at `changed_at`.
    pub fn gathered(&mut self, changed_at: DateTime<Utc>) {
        self.gathered.push(changed_at.timestamp_micros());
    }

    /// Exactly once, the batch gathered is committed: its lines are being appended.
    pub fn committed(&mut self) {
        self.committed.append(&mut self.gathered);
    }

    /// The lines gathered are dropped: their records are read again.
    pub fn dropped(&mut self) {
        self.gathered.clear();
    }

    /// At least once, the lines gathered were handed to the file at `at`: each is timed into
    /// `histogram`.
    pub fn gathered_readable(&mut self, at: DateTime<Utc>, histogram: Option<&Histogram>) {
        observe(&self.gathered, at, histogram);
        self.gathered.clear();
    }

    /// Exactly once, the committed batch's lines were written to the file at `at`: each is
    /// timed into `histogram`.
    pub fn committed_readable(&mut self, at: DateTime<Utc>, histogram: Option<&Histogram>) {
        observe(&self.committed, at, histogram);
        self.committed.clear();
    }
}

fn observe(changed_at_micros: &[i64], at: DateTime<Utc>, histogram: Option<&Histogram>) {
    if changed_at_micros.is_empty() {
        return;
    }
    LinesReadable {
        changed_at_micros,
        readable_at_micros: at.timestamp_micros(),
        histogram,
    }
    .emit();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_readable_lines_are_timed_once_and_dropped_ones_never() {
        let histogram =
            Histogram::with_opts(prometheus::HistogramOpts::new("t", "t")).expect("histogram");
        let start = DateTime::from_timestamp(1_000, 0).expect("time");
        let mut times = ChangeTimes::default();
        times.gathered(start);
        times.gathered(start);
        times.committed();
        times.gathered(start);
        times.dropped();
        times.gathered(start + chrono::Duration::seconds(1));
        assert_eq!(histogram.get_sample_count(), 0, "nothing readable yet");
        times.committed_readable(start + chrono::Duration::seconds(2), Some(&histogram));
        assert_eq!(histogram.get_sample_count(), 2);
        assert!((histogram.get_sample_sum() - 4.0).abs() < 1e-9);
        times.committed_readable(start + chrono::Duration::seconds(3), Some(&histogram));
        assert_eq!(histogram.get_sample_count(), 2, "each line timed once");
        times.committed();
        times.committed_readable(start + chrono::Duration::seconds(3), Some(&histogram));
        assert_eq!(histogram.get_sample_count(), 3);
        assert!((histogram.get_sample_sum() - 6.0).abs() < 1e-9);
    }

    #[test]
    fn at_least_once_lines_are_timed_when_handed_to_the_file() {
        let histogram =
            Histogram::with_opts(prometheus::HistogramOpts::new("t", "t")).expect("histogram");
        let start = DateTime::from_timestamp(1_000, 0).expect("time");
        let mut times = ChangeTimes::default();
        times.gathered(start);
        times.gathered(start + chrono::Duration::milliseconds(500));
        times.gathered_readable(start + chrono::Duration::seconds(1), Some(&histogram));
        assert_eq!(histogram.get_sample_count(), 2);
        assert!((histogram.get_sample_sum() - 1.5).abs() < 1e-9);
        times.gathered(start);
        times.dropped();
        times.gathered_readable(start + chrono::Duration::seconds(9), Some(&histogram));
        assert_eq!(
            histogram.get_sample_count(),
            2,
            "a dropped line is not timed"
        );
    }
}
