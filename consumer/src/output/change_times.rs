//! Exactly once, a line reaches the file only once its batch is committed and appended, so its
//! end-to-end latency (`sluice_consumer_end_to_end_latency_seconds`, from its row's
//! `last_updated`) is observed then, not when its record is read.
//!
//! Invariant: **a change time is observed once, when its line is durable, or never when its
//! batch is dropped** (its record is read again, and timed then).

use chrono::{DateTime, Utc};
use prometheus::Histogram;
use sluice_common::events::Event;

use crate::events::BatchDurable;

/// The change times of the lines of the batch being gathered and of the committed batch being
/// appended, in microseconds since the epoch.
#[derive(Debug, Default)]
pub struct ChangeTimes {
    gathered: Vec<i64>,
    committed: Vec<i64>,
}

impl ChangeTimes {
    /// A line of the batch being gathered carries a change made at `changed_at`.
    pub fn gathered(&mut self, changed_at: DateTime<Utc>) {
        self.gathered.push(changed_at.timestamp_micros());
    }

    /// The batch gathered is committed: its lines are being appended.
    pub fn committed(&mut self) {
        self.committed.append(&mut self.gathered);
    }

    /// The batch gathered is dropped: its records are read again.
    pub fn dropped(&mut self) {
        self.gathered.clear();
    }

    /// The committed batch is durable at `now`: each of its lines is timed into `histogram`.
    pub fn durable(&mut self, now: DateTime<Utc>, histogram: Option<&Histogram>) {
        BatchDurable {
            changed_at_micros: &self.committed,
            now_micros: now.timestamp_micros(),
            histogram,
        }
        .emit();
        self.committed.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_durable_lines_are_timed_once_and_dropped_ones_never() {
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
        assert_eq!(histogram.get_sample_count(), 0, "nothing durable yet");
        times.durable(start + chrono::Duration::seconds(2), Some(&histogram));
        assert_eq!(histogram.get_sample_count(), 2);
        assert!((histogram.get_sample_sum() - 4.0).abs() < 1e-9);
        times.durable(start + chrono::Duration::seconds(3), Some(&histogram));
        assert_eq!(histogram.get_sample_count(), 2, "each line timed once");
        times.committed();
        times.durable(start + chrono::Duration::seconds(3), Some(&histogram));
        assert_eq!(histogram.get_sample_count(), 3);
        assert!((histogram.get_sample_sum() - 6.0).abs() < 1e-9);
    }
}
