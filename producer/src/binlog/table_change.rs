//! A statement in the stream that changed the table's columns (`ALTER TABLE`): the run keeps
//! the position right after it, every change before it published under the old plan; the
//! follower then plans again from the catalogue (registering the new schema when it is derived
//! from the table, or stopping the producer with the reason when a schema file no longer fits),
//! and the stream goes on from that position with the new plan.
//!
//! Invariant: no row image is encoded through a plan made for other columns: a row image whose
//! column count is not the table's (the stream is behind another change of the table) stops
//! the source with the way out.

use sluice_common::shutdown::Shutdown;

use super::error::BinlogError;
use super::open_transaction::Stopped;
use super::position::BinlogPosition;
use super::run::BinlogRun;
use super::stream::RowChange;
use crate::error::ProducerError;
use crate::poll::Pipeline;

impl BinlogRun<'_> {
    /// Whether the statement changed the table's columns since the run's plan was made.
    pub(super) async fn changed_table(&self, query: &str) -> Result<bool, Stopped> {
        let table = &self.pipeline.mysql.table;
        if !query.to_lowercase().contains(&table.to_lowercase()) {
            return Ok(false);
        }
        let database = &self.pipeline.mysql.database;
        let now = crate::source::catalogue::table_columns(&self.pipeline.pool, database, table)
            .await
            .map_err(|source| {
                Stopped::For(ProducerError::Mysql {
                    what: format!("the columns of {database}.{table}"),
                    source,
                })
            })?;
        Ok(self.layout.columns() != now.as_slice())
    }

    /// `Err` when an image of `change` has another number of columns than the run's plan was
    /// made for.
    pub(super) fn fits(&self, change: &RowChange, at: &BinlogPosition) -> Result<(), BinlogError> {
        let expected = self.layout.columns().len();
        let images = [change.before.as_ref(), change.after.as_ref()];
        match images
            .into_iter()
            .flatten()
            .find(|image| image.len() != expected)
        {
            None => Ok(()),
            Some(image) => Err(BinlogError::TableChanged {
                table: self.pipeline.table.clone(),
                at: at.clone(),
                what: format!(
                    "its rows there have {} columns, the table has {expected} now: it changed \
                     again after them",
                    image.len()
                ),
            }),
        }
    }
}

impl Pipeline {
    /// Plans again for the table as it is now; `false` when shutdown came while the registry
    /// was away.
    pub(super) async fn follow_binlog_table_change(
        &mut self,
        shutdown: &Shutdown,
    ) -> Result<bool, ProducerError> {
        let followed = self
            .follower
            .follow(&self.pool, &self.metrics, shutdown)
            .await
            .map_err(Box::new)?;
        let Some(followed) = followed else {
            return Ok(false);
        };
        self.apply_followed(followed);
        Ok(true)
    }
}
