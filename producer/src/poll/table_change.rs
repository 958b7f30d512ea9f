//! The loop's side of an `ALTER TABLE` (see `schema::follower`): the page that showed the change
//! was discarded; everything queued before it was read with the old columns, so it is settled
//! and committed under the old schema first; then the follower plans again, and reading goes on
//! from the same position with the new plan (and, when the schema changed, its new id).

use sluice_common::events::Event;

use super::client_run::ClientRun;
use crate::encode::RecordEncoder;
use crate::error::ProducerError;
use crate::events::TableFollowed;

impl ClientRun<'_> {
    /// Follows the table's change, or stops the producer when it cannot be followed.
    pub(super) async fn follow_table_change(&mut self) -> Result<(), ProducerError> {
        if let Err(error) = self.settle_then_commit(0, true).await? {
            // The pages before the change are read again (with the old plan, which fits them
            // only if the table did not change before them: the next page says).
            self.read_again_after(&error).await?;
            return Ok(());
        }
        let pipeline = &mut *self.pipeline;
        let followed = pipeline
            .follower
            .follow(&pipeline.pool, &pipeline.metrics, self.shutdown)
            .await
            .map_err(Box::new)?;
        let Some(followed) = followed else {
            return Ok(());
        };
        TableFollowed {
            table: &pipeline.table,
            changes: &followed.changes,
            schema_id: followed.schema_id,
            new_schema: followed.new_schema,
            counter: &pipeline.metrics.table_changes,
            gauge: &pipeline.metrics.schema_id,
        }
        .emit();
        let plan = followed.plan;
        pipeline.timestamp_digits = plan.timestamp_digits;
        pipeline.query = plan.query.clone();
        pipeline.encoder = RecordEncoder::new(plan.columns, followed.schema_id);
        self.reading
            .replan(plan.query, pipeline.follower.watch(), plan.timestamp_digits)
            .await?;
        self.read_from = self.acknowledged.clone();
        Ok(())
    }
}
