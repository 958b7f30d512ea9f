//! The periodic progress line a person reads, built from the producer's metrics so the log and
//! `/metrics` always tell the same numbers.

use std::time::{Duration, Instant};

use crate::watermark::Watermark;
use sluice_common::dead_letter::Stage;

use crate::metrics::ProducerMetrics;

const EVERY: Duration = Duration::from_secs(5);
/// With nothing new to report, a heartbeat line this often instead.
const IDLE_EVERY: Duration = Duration::from_secs(60);

/// When the last line was logged and how many rows had been read then: enough to log every few
/// seconds rather than per record, with a rate.
#[derive(Debug)]
pub struct Progress {
    last_line: Instant,
    rows_at_last_line: u64,
}

impl Default for Progress {
    fn default() -> Self {
        Self {
            last_line: Instant::now(),
            rows_at_last_line: 0,
        }
    }
}

impl Progress {
    /// Logs a progress line when one is due, or at once with `force`.
    pub fn maybe_log(&mut self, metrics: &ProducerMetrics, watermark: &Watermark, force: bool) {
        let rows_read = metrics.rows_read.get();
        let elapsed = self.last_line.elapsed();
        let idle = rows_read == self.rows_at_last_line;
        if !force && (elapsed < EVERY || (idle && elapsed < IDLE_EVERY)) {
            return;
        }
        let rate = (rows_read - self.rows_at_last_line) as f64 / elapsed.as_secs_f64().max(0.001);
        let produced = metrics.records_produced.get();
        let dead = metrics
            .dead_letters
            .with_label_values(&[Stage::Encode.as_str()])
            .get();
        let lag = metrics.watermark_lag_seconds.get();
        tracing::info!(
            rows_read,
            rows_per_second = rate.round(),
            records_produced = produced,
            dead_letters = dead,
            watermark = %watermark,
            lag_seconds = lag,
            "rows read {rows_read} ({rate:.0}/s), records produced {produced}, dead letters {dead}, watermark {watermark}, lag {lag:.1}s",
        );
        self.last_line = Instant::now();
        self.rows_at_last_line = rows_read;
    }
}
