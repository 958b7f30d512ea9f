//! The producer loop's side of the delete sweep (see `delete_sweep`): the published keys read
//! back at start, a sweep step whenever the loop is caught up, its deletes queued as one page
//! (in the open transaction, exactly once), and the keys saved after each pass and at stop.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sluice_common::deletes::format_deleted_at;
use sluice_common::events::Event;
use sluice_common::watermark::Watermark;

use crate::delete_sweep::{PassReport, SWEEP_STEP_BUDGET};
use crate::error::ProducerError;
use crate::events::{PublishedKeysNotSaved, SweepFailed};
use crate::pipeline::{InFlight, Pipeline};

/// How long reading the published keys back from the records topic at start may take.
const RESTORE_PATIENCE: Duration = Duration::from_secs(600);

impl Pipeline {
    /// Reads the published keys back once per process, before the first page.
    pub(crate) async fn restore_published_keys(&mut self) -> Result<(), ProducerError> {
        let Some(sweep) = &mut self.sweep else {
            return Ok(());
        };
        let Some(restored) = sweep.restore(&self.kafka, RESTORE_PATIENCE).await? else {
            return Ok(());
        };
        let keys = sweep.published_keys();
        let source = if restored.from_checkpoint {
            format!(
                "{} and the {} records of topic {} after it",
                sweep.checkpoint_path().display(),
                restored.records_read,
                self.kafka.topic
            )
        } else {
            format!(
                "the {} records of topic {} (no saved keys in {})",
                restored.records_read,
                self.kafka.topic,
                sweep.checkpoint_path().display()
            )
        };
        tracing::info!(
            "{keys} published keys read back from {source}; rows deleted from {} are found by a \
             sweep every {}s",
            self.table,
            self.settings.delete_sweep_interval_secs
        );
        if !restored.retention_gaps.is_empty() {
            tracing::warn!(
                "topic {} no longer holds every record published (partitions {:?}: retention \
                 deleted some): a row whose last record is gone and that was deleted since is \
                 not found by the sweep; kafka.compact_topic keeps every key's latest record",
                self.kafka.topic,
                restored.retention_gaps
            );
        }
        self.metrics.published_keys.set(keys as f64);
        Ok(())
    }

    /// Runs a step of the sweep when one is due, and queues the deletes it finds as one page
    /// whose watermark is `end`, the position the loop has reached.
    pub(crate) async fn sweep_step(
        &mut self,
        in_flight: &mut VecDeque<InFlight>,
        end: Watermark,
    ) -> Result<(), ProducerError> {
        let Some(sweep) = self.sweep.as_mut().filter(|sweep| sweep.due()) else {
            return Ok(());
        };
        let step = match sweep.step(&self.pool, &self.query, SWEEP_STEP_BUDGET).await {
            Ok(step) => step,
            Err(error) => {
                SweepFailed {
                    table: &self.table,
                    error: &error,
                }
                .emit();
                return Ok(());
            }
        };
        if !step.gone.is_empty() {
            if let Some(transactions) = &mut self.transactions {
                transactions.before_page(&self.publisher)?;
            }
            // A row deleted outright leaves no time of its own: the delete is dated when found.
            let found = self
                .database_now
                .map_or_else(chrono::Utc::now, |now| now.and_utc());
            let deleted_at = format_deleted_at(found);
            let mut page = self.publisher.begin_page();
            let mut failure = None;
            let mut key = String::new();
            for id in &step.gone {
                key.clear();
                let _ = write!(key, "{id}");
                if let Err(error) = page.tombstone(&key, &deleted_at).await {
                    failure = Some(error);
                    break;
                }
                sweep.deleted(*id);
            }
            in_flight.push_back(InFlight {
                pending: page.queued(failure),
                end,
                rows: 0,
            });
            tracing::info!(
                "{} row(s) deleted from {} found by the sweep; their deletes are queued",
                step.gone.len(),
                self.table
            );
        }
        self.metrics
            .published_keys
            .set(sweep.published_keys() as f64);
        if let Some(pass) = step.finished {
            self.sweep_finished(pass).await;
        }
        Ok(())
    }

    async fn sweep_finished(&self, pass: PassReport) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        self.metrics
            .delete_sweep_seconds
            .set(pass.took.as_secs_f64());
        self.metrics
            .delete_sweep_completed_seconds
            .set(now.as_secs_f64());
        tracing::debug!(
            "sweep of {}: {} keys in {:.3}s, {} deleted",
            self.table,
            pass.keys_read,
            pass.took.as_secs_f64(),
            pass.deletes
        );
        self.save_published_keys().await;
    }

    /// Saves the published keys, so the next start reads only the records after them. A
    /// failure costs only that reading, so it is logged and counted, not fatal.
    pub(crate) async fn save_published_keys(&self) {
        let Some(sweep) = &self.sweep else {
            return;
        };
        if let Err(error) = sweep.save(&self.kafka).await {
            PublishedKeysNotSaved { error: &error }.emit();
        }
    }
}
