//! The producer loop's side of the delete sweep (see `sweep`): the published keys read
//! back at start, a sweep step whenever the loop is caught up, its deletes queued as one page
//! (in the open transaction, exactly once), and the keys saved after each pass and at stop.

use std::time::Duration;

use sluice_common::deletes::format_deleted_at;
use sluice_common::events::Event;

use super::pipeline::Pipeline;
use crate::error::ProducerError;
use crate::events::{
    PublishedKeysNotSaved, PublishedKeysRestored, SweepFailed, SweepKeysLost, SweepPassFinished,
    SweepStepQueued,
};
use crate::publish::PendingPage;
use crate::sweep::{PassReport, SWEEP_STEP_BUDGET};

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
        PublishedKeysRestored {
            table: &self.table,
            topic: &self.kafka.topic,
            keys: sweep.published_keys(),
            records_read: restored.records_read,
            checkpoint: restored.from_checkpoint.then(|| sweep.checkpoint_path()),
            retention_gaps: &restored.retention_gaps,
            sweep_every_secs: self.settings.delete_sweep_interval_secs,
            gauge: &self.metrics.published_keys,
        }
        .emit();
        Ok(())
    }

    /// Runs a step of the sweep when one is due, and queues the deletes it finds as one page,
    /// returned to be put in flight.
    pub(super) async fn sweep_step(&mut self) -> Result<Option<PendingPage>, ProducerError> {
        let Some(sweep) = self.sweep.as_mut().filter(|sweep| sweep.due()) else {
            return Ok(None);
        };
        let step = match sweep
            .step(&self.pool, &self.query, SWEEP_STEP_BUDGET, &self.kafka)
            .await
        {
            Ok(step) => step,
            Err(error) => {
                SweepFailed {
                    table: &self.table,
                    error: &error,
                }
                .emit();
                return Ok(None);
            }
        };
        if step.lost > 0 {
            SweepKeysLost {
                table: &self.table,
                keys: step.lost,
            }
            .emit();
        }
        let mut queued = None;
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
            let mut key = Vec::new();
            for id in &step.gone {
                key.clear();
                id.write_record_key(&mut key);
                if let Err(error) = page.tombstone(&key, &deleted_at, None).await {
                    failure = Some(error);
                    break;
                }
                sweep.deleted(id);
            }
            queued = Some(page.queued(failure));
        }
        SweepStepQueued {
            table: &self.table,
            deletes: step.gone.len(),
            published_keys: sweep.published_keys(),
            gauge: &self.metrics.published_keys,
        }
        .emit();
        if let Some(pass) = step.finished {
            self.sweep_finished(pass).await;
        }
        Ok(queued)
    }

    async fn sweep_finished(&self, pass: PassReport) {
        SweepPassFinished {
            table: &self.table,
            keys_read: pass.keys_read,
            deletes: pass.deletes,
            took: pass.took,
            metrics: &self.metrics,
        }
        .emit();
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
