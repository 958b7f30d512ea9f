//! The producer's normal path: pages read and acknowledged, the watermark, the delete sweep,
//! the schema's registration, each reported per page, pass or start, never per record.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus::{Gauge, Histogram, IntCounter, IntCounterVec, IntGauge};
use sluice_common::dead_letter::Stage;
use sluice_common::events::Event;
use sluice_registry::SchemaId;

use crate::metrics::ProducerMetrics;
use crate::publish::PageReport;
use crate::watermark::Watermark;

/// Kafka acknowledged every record of a page (a page of rows, or a sweep's deletes).
pub struct PageAcknowledged<'a> {
    /// Rows of the table read for it; 0 for a sweep's deletes.
    pub rows: usize,
    /// What the page's records were.
    pub report: PageReport,
    /// The producer's metrics.
    pub metrics: &'a ProducerMetrics,
}

impl Event for PageAcknowledged<'_> {
    fn emit(self) {
        let PageReport {
            produced,
            deletes,
            dead,
        } = self.report;
        tracing::trace!(
            rows = self.rows,
            produced,
            deletes,
            dead,
            "page acknowledged: {} rows, {produced} records, {deletes} deletes, {dead} dead letters",
            self.rows
        );
        let metrics = self.metrics;
        metrics.rows_read.inc_by(self.rows as u64);
        metrics.records_produced.inc_by(produced);
        metrics.deletes_published.inc_by(deletes);
        metrics
            .dead_letters
            .with_label_values(&[Stage::Encode.as_str()])
            .inc_by(dead);
        if self.rows > 0 {
            metrics.batches.inc();
            metrics.batch_rows.observe(self.rows as f64);
        }
    }
}

/// The watermark moved (or stood still) after the pages in flight were settled.
pub struct WatermarkMoved<'a> {
    /// Where it stands.
    pub watermark: &'a Watermark,
    /// The database clock minus the time up to which every row is published; `None` before
    /// the database's clock was read.
    pub lag: Option<chrono::TimeDelta>,
    /// The producer's metrics.
    pub metrics: &'a ProducerMetrics,
}

impl Event for WatermarkMoved<'_> {
    fn emit(self) {
        let at = self.watermark.last_updated;
        let lag = self.lag.map(seconds);
        tracing::trace!(watermark = %self.watermark, lag_seconds = lag, "watermark {}, lag {lag:?}s", self.watermark);
        self.metrics
            .watermark_seconds
            .set(at.timestamp_micros() as f64 / 1e6);
        if let Some(lag) = lag {
            self.metrics.watermark_lag_seconds.set(lag);
        }
    }
}

/// How long the oldest change past the read bound has waited, caught up.
pub struct ChangesHeldBack<'a> {
    /// By the database's clock; zero when none waits.
    pub waited: chrono::TimeDelta,
    /// `sluice_producer_held_back_seconds`.
    pub gauge: &'a Gauge,
}

impl Event for ChangesHeldBack<'_> {
    fn emit(self) {
        let waited = seconds(self.waited);
        tracing::trace!(waited_seconds = waited, "changes held back {waited:.3}s");
        self.gauge.set(waited);
    }
}

/// A span of time in seconds, to the microsecond.
fn seconds(span: chrono::TimeDelta) -> f64 {
    span.num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6
}

/// A step of the delete sweep ran; its deletes, if any, are queued as one page.
pub struct SweepStepQueued<'a> {
    /// The table swept.
    pub table: &'a str,
    /// Rows found deleted outright, whose deletes are queued.
    pub deletes: usize,
    /// Keys published and not deleted since.
    pub published_keys: u64,
    /// `sluice_producer_published_keys`.
    pub gauge: &'a Gauge,
}

impl Event for SweepStepQueued<'_> {
    fn emit(self) {
        if self.deletes > 0 {
            tracing::info!(
                table = self.table,
                deletes = self.deletes,
                "{} row(s) deleted from {} found by the sweep; their deletes are queued",
                self.deletes,
                self.table
            );
        }
        self.gauge.set(self.published_keys as f64);
    }
}

/// A whole pass of the delete sweep over the table's keys ended.
pub struct SweepPassFinished<'a> {
    /// The table swept.
    pub table: &'a str,
    /// Keys the table held.
    pub keys_read: u64,
    /// Deletes found.
    pub deletes: u64,
    /// From its first page to its last.
    pub took: Duration,
    /// The producer's metrics.
    pub metrics: &'a ProducerMetrics,
}

impl Event for SweepPassFinished<'_> {
    fn emit(self) {
        let seconds = self.took.as_secs_f64();
        tracing::debug!(
            table = self.table,
            keys = self.keys_read,
            deletes = self.deletes,
            seconds,
            "sweep of {}: {} keys in {seconds:.3}s, {} deleted",
            self.table,
            self.keys_read,
            self.deletes
        );
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        self.metrics.delete_sweep_seconds.set(seconds);
        self.metrics
            .delete_sweep_completed_seconds
            .set(now.as_secs_f64());
    }
}

/// The published keys were read back at start, for the delete sweep.
pub struct PublishedKeysRestored<'a> {
    /// The table swept.
    pub table: &'a str,
    /// The records topic.
    pub topic: &'a str,
    /// Keys published and not deleted since.
    pub keys: u64,
    /// Records of the topic read to find them.
    pub records_read: u64,
    /// The saved keys they started from, if any.
    pub checkpoint: Option<&'a Path>,
    /// Partitions whose records retention partly deleted.
    pub retention_gaps: &'a [i32],
    /// How often the sweep runs.
    pub sweep_every_secs: u64,
    /// `sluice_producer_published_keys`.
    pub gauge: &'a Gauge,
}

impl Event for PublishedKeysRestored<'_> {
    fn emit(self) {
        let source = match self.checkpoint {
            Some(path) => format!(
                "{} and the {} records of topic {} after it",
                path.display(),
                self.records_read,
                self.topic
            ),
            None => format!(
                "the {} records of topic {} (no saved keys)",
                self.records_read, self.topic
            ),
        };
        tracing::info!(
            keys = self.keys,
            records_read = self.records_read,
            "{} published keys read back from {source}; rows deleted from {} are found by a \
             sweep every {}s",
            self.keys,
            self.table,
            self.sweep_every_secs
        );
        if !self.retention_gaps.is_empty() {
            tracing::warn!(
                "topic {} no longer holds every record published (partitions {:?}: retention \
                 deleted some): a row whose last record is gone and that was deleted since is \
                 not found by the sweep; kafka.compact_topic keeps every key's latest record",
                self.topic,
                self.retention_gaps
            );
        }
        self.gauge.set(self.keys as f64);
    }
}

/// A page was read from the table.
pub struct PageRead<'a> {
    /// Rows it holds.
    pub rows: usize,
    /// How long the read took.
    pub took: Duration,
    /// `sluice_producer_poll_duration_seconds`.
    pub histogram: &'a Histogram,
}

impl Event for PageRead<'_> {
    fn emit(self) {
        let seconds = self.took.as_secs_f64();
        tracing::trace!(
            rows = self.rows,
            seconds,
            "page of {} rows read in {seconds:.3}s",
            self.rows
        );
        self.histogram.observe(seconds);
    }
}

/// This producer publishes from now on (at once, or once it holds the standby lock).
pub struct Publishing<'a> {
    /// `sluice_producer_active`.
    pub active: &'a Gauge,
}

impl Event for Publishing<'_> {
    fn emit(self) {
        tracing::debug!("this producer publishes");
        self.active.set(1.0);
    }
}

/// The schema registry answered the schema's registration.
pub struct SchemaRegistration<'a> {
    /// `ok`, `refused` (incompatible) or `error`.
    pub outcome: &'static str,
    /// The subject.
    pub subject: &'a str,
    /// `sluice_producer_registry_requests_total`.
    pub requests: &'a IntCounterVec,
}

impl Event for SchemaRegistration<'_> {
    fn emit(self) {
        tracing::debug!(
            subject = self.subject,
            outcome = self.outcome,
            "schema registration under {}: {}",
            self.subject,
            self.outcome
        );
        self.requests.with_label_values(&[self.outcome]).inc();
    }
}

/// The table's columns changed and the producer follows them: a new plan, and a new version of
/// the subject when the schema changed.
pub struct TableFollowed<'a> {
    /// `database.table`.
    pub table: &'a str,
    /// What changed, column by column.
    pub changes: &'a [String],
    /// The id records carry from now on.
    pub schema_id: SchemaId,
    /// Whether the schema changed.
    pub new_schema: bool,
    /// `sluice_producer_table_changes_total`.
    pub counter: &'a IntCounter,
    /// `sluice_producer_schema_id`.
    pub gauge: &'a IntGauge,
}

impl Event for TableFollowed<'_> {
    fn emit(self) {
        let changes = self.changes.join(", ");
        let schema = if self.new_schema {
            format!("records carry schema id {} from here on", self.schema_id)
        } else {
            format!("the schema is the same (id {})", self.schema_id)
        };
        tracing::info!(
            table = self.table,
            changes = %changes,
            schema_id = %self.schema_id,
            "table {} changed ({changes}); {schema}",
            self.table
        );
        self.counter.inc();
        self.gauge.set(i64::from(self.schema_id));
    }
}

/// The schema records are written with from start, registered under the topic's subject.
pub struct SchemaInUse<'a> {
    /// The schema file, or what the schema was built from.
    pub schema: &'a Path,
    /// The subject.
    pub subject: &'a str,
    /// Its registry id.
    pub schema_id: SchemaId,
    /// `sluice_producer_schema_id`.
    pub gauge: &'a IntGauge,
}

impl Event for SchemaInUse<'_> {
    fn emit(self) {
        tracing::info!(
            schema = %self.schema.display(),
            subject = self.subject,
            schema_id = %self.schema_id,
            "schema {} registered under {} with id {}",
            self.schema.display(),
            self.subject,
            self.schema_id
        );
        self.gauge.set(i64::from(self.schema_id));
    }
}
