//! The producer's metrics, registered once and updated where the work happens.

use prometheus::{
    Gauge, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
};
use sluice_common::dead_letter::Stage;

/// Everything the producer counts; names carry their unit.
#[derive(Clone)]
pub struct ProducerMetrics {
    /// Rows read from the table.
    pub rows_read: IntCounter,
    /// Records acknowledged by Kafka on the topic.
    pub records_produced: IntCounter,
    /// Of those, deletes (tombstones).
    pub deletes_published: IntCounter,
    /// 1 while this producer publishes, 0 while it stands by (see `standby`).
    pub active: Gauge,
    /// Keys counted as published (see `published_keys`): what the delete sweep compares the
    /// table with.
    pub published_keys: Gauge,
    /// How long the last whole sweep for hard deletes took.
    pub delete_sweep_seconds: Gauge,
    /// When the last sweep for hard deletes ended, Unix seconds (0: none yet).
    pub delete_sweep_completed_seconds: Gauge,
    /// Pages whose publishing failed and was retried.
    pub produce_errors: IntCounter,
    /// Pages published.
    pub batches: IntCounter,
    /// Rows per published page.
    pub batch_rows: Histogram,
    /// Time to read one page from MySQL.
    pub poll_seconds: Histogram,
    /// The watermark's timestamp, Unix seconds.
    pub watermark_seconds: Gauge,
    /// Database clock minus the time up to which every row is published: how far behind the
    /// table the topic is (about `commit_lag` when caught up).
    pub watermark_lag_seconds: Gauge,
    /// Database clock minus the oldest change past the read bound, when caught up (0 when
    /// none waits): how long a committed change has waited behind the bound.
    pub held_back_seconds: Gauge,
    /// Rows sent to the dead-letter topic, by stage.
    pub dead_letters: IntCounterVec,
    /// Calls to the schema registry, by outcome.
    pub registry_requests: IntCounterVec,
    /// Changes of the table's columns followed while running.
    pub table_changes: IntCounter,
    /// The registry id of the schema records are written with now.
    pub schema_id: IntGauge,
}

impl ProducerMetrics {
    /// Creates and registers every metric.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let metrics = Self {
            rows_read: IntCounter::new(
                "sluice_producer_rows_read_total",
                "Rows read from the table.",
            )?,
            records_produced: IntCounter::new(
                "sluice_producer_records_produced_total",
                "Records acknowledged by Kafka on the topic.",
            )?,
            deletes_published: IntCounter::new(
                "sluice_producer_deletes_published_total",
                "Deletes (tombstones) acknowledged by Kafka on the topic, counted in the records too.",
            )?,
            active: Gauge::new(
                "sluice_producer_active",
                "1 while this producer publishes, 0 while it stands by for another.",
            )?,
            published_keys: Gauge::new(
                "sluice_producer_published_keys",
                "Keys published and not deleted since: what the delete sweep compares the table's keys with.",
            )?,
            delete_sweep_seconds: Gauge::new(
                "sluice_producer_delete_sweep_duration_seconds",
                "How long the last whole sweep of the table's keys for hard deletes took.",
            )?,
            delete_sweep_completed_seconds: Gauge::new(
                "sluice_producer_delete_sweep_completed_timestamp_seconds",
                "When the last sweep of the table's keys for hard deletes ended, Unix seconds (0: none yet).",
            )?,
            produce_errors: IntCounter::new(
                "sluice_producer_produce_errors_total",
                "Pages whose publishing failed and was sent again.",
            )?,
            batches: IntCounter::new("sluice_producer_batches_total", "Pages published.")?,
            batch_rows: Histogram::with_opts(
                HistogramOpts::new("sluice_producer_batch_rows", "Rows per published page.")
                    .buckets(vec![
                        1.0, 10.0, 100.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0,
                    ]),
            )?,
            poll_seconds: Histogram::with_opts(
                HistogramOpts::new(
                    "sluice_producer_poll_duration_seconds",
                    "Time to read one page from MySQL.",
                )
                .buckets(prometheus::exponential_buckets(0.0005, 2.0, 14)?),
            )?,
            watermark_seconds: Gauge::new(
                "sluice_producer_watermark_timestamp_seconds",
                "The watermark's timestamp, Unix seconds.",
            )?,
            watermark_lag_seconds: Gauge::new(
                "sluice_producer_watermark_lag_seconds",
                "Database clock minus the time up to which every row is published (about the commit lag when caught up).",
            )?,
            held_back_seconds: Gauge::new(
                "sluice_producer_held_back_seconds",
                "Database clock minus the oldest change past the read bound, when caught up (0 when none waits).",
            )?,
            dead_letters: IntCounterVec::new(
                Opts::new(
                    "sluice_producer_dlq_records_total",
                    "Rows sent to the dead-letter topic.",
                ),
                &["stage"],
            )?,
            registry_requests: IntCounterVec::new(
                Opts::new(
                    "sluice_producer_registry_requests_total",
                    "Calls to the schema registry.",
                ),
                &["outcome"],
            )?,
            table_changes: IntCounter::new(
                "sluice_producer_table_changes_total",
                "Changes of the table's columns (ALTER TABLE) followed while running.",
            )?,
            schema_id: IntGauge::new(
                "sluice_producer_schema_id",
                "The registry id of the schema records are written with now.",
            )?,
        };
        registry.register(Box::new(metrics.rows_read.clone()))?;
        registry.register(Box::new(metrics.records_produced.clone()))?;
        registry.register(Box::new(metrics.deletes_published.clone()))?;
        registry.register(Box::new(metrics.active.clone()))?;
        registry.register(Box::new(metrics.published_keys.clone()))?;
        registry.register(Box::new(metrics.delete_sweep_seconds.clone()))?;
        registry.register(Box::new(metrics.delete_sweep_completed_seconds.clone()))?;
        registry.register(Box::new(metrics.produce_errors.clone()))?;
        registry.register(Box::new(metrics.batches.clone()))?;
        registry.register(Box::new(metrics.batch_rows.clone()))?;
        registry.register(Box::new(metrics.poll_seconds.clone()))?;
        registry.register(Box::new(metrics.watermark_seconds.clone()))?;
        registry.register(Box::new(metrics.watermark_lag_seconds.clone()))?;
        registry.register(Box::new(metrics.held_back_seconds.clone()))?;
        registry.register(Box::new(metrics.dead_letters.clone()))?;
        registry.register(Box::new(metrics.registry_requests.clone()))?;
        registry.register(Box::new(metrics.table_changes.clone()))?;
        registry.register(Box::new(metrics.schema_id.clone()))?;
        // Families with labels show up only once a child exists: create the expected ones.
        metrics
            .dead_letters
            .with_label_values(&[Stage::Encode.as_str()]);
        Ok(metrics)
    }
}
