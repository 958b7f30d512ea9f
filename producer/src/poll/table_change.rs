//! The loop's side of an `ALTER TABLE` (see `schema::follower`): the page that showed the change
//! was discarded; everything queued before it was read with the old columns, so it is settled
//! and committed under the old schema first; then the follower plans again, and reading goes on
//! from the same position with the new plan (and, when the schema changed, its new id).

use sluice_common::events::Event;

use super::client_run::ClientRun;
use super::pipeline::Pipeline;
use crate::encode::RecordEncoder;
use crate::error::ProducerError;
use crate::events::TableFollowed;
use crate::schema::follower::Followed;

impl Pipeline {
    /// Takes the follower's new plan: says what changed, and encodes with its columns and
    /// schema id from now on.
    pub(crate) fn apply_followed(&mut self, followed: Followed) {
        TableFollowed {
            table: &self.table,
            changes: &followed.changes,
            schema_id: followed.schema_id,
            new_schema: followed.new_schema,
            counter: &self.metrics.table_changes,
            gauge: &self.metrics.schema_id,
        }
        .emit();
        let plan = followed.plan;
        self.timestamp_digits = plan.timestamp_digits;
        self.query = plan.query;
        self.encoder = RecordEncoder::new(plan.columns, followed.schema_id);
    }
}

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
        pipeline.apply_followed(followed);
        let plan = pipeline.query.clone();
        self.reading
            .replan(plan, pipeline.follower.watch(), pipeline.timestamp_digits)
            .await?;
        self.read_from = self.acknowledged.clone();
        Ok(())
    }
}
