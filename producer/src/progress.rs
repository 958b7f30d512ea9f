//! Counters of the producer and the periodic progress line a person reads.

use std::time::{Duration, Instant};

use sluice_common::watermark::Watermark;

use crate::source::row::format_timestamp;

const EVERY: Duration = Duration::from_secs(5);
/// With nothing new to report, a heartbeat line this often instead.
const IDLE_EVERY: Duration = Duration::from_secs(60);

/// Running totals, logged every few seconds rather than per record.
#[derive(Debug)]
pub struct Progress {
    rows_read: u64,
    produced: u64,
    dead: u64,
    last_line: Instant,
    rows_at_last_line: u64,
}

impl Default for Progress {
    fn default() -> Self {
        Self {
            rows_read: 0,
            produced: 0,
            dead: 0,
            last_line: Instant::now(),
            rows_at_last_line: 0,
        }
    }
}

impl Progress {
    /// Counts a published page.
    pub fn page(&mut self, rows: u64, produced: u64, dead: u64) {
        self.rows_read += rows;
        self.produced += produced;
        self.dead += dead;
    }

    /// Logs a progress line when one is due, or at once with `force`.
    pub fn maybe_log(&mut self, watermark: &Watermark, lag_seconds: f64, force: bool) {
        let elapsed = self.last_line.elapsed();
        let idle = self.rows_read == self.rows_at_last_line;
        if !force && (elapsed < EVERY || (idle && elapsed < IDLE_EVERY)) {
            return;
        }
        let rate =
            (self.rows_read - self.rows_at_last_line) as f64 / elapsed.as_secs_f64().max(0.001);
        tracing::info!(
            "rows read {} ({rate:.0}/s), records produced {}, dead letters {}, watermark {} id {}, lag {lag_seconds:.1}s",
            self.rows_read,
            self.produced,
            self.dead,
            format_timestamp(&watermark.last_updated),
            watermark.id,
        );
        self.last_line = Instant::now();
        self.rows_at_last_line = self.rows_read;
    }
}
