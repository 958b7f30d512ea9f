//! The binlog source's snapshot: the table read in key order inside one transaction started
//! `WITH CONSISTENT SNAPSHOT`, whose binary log position the stream then starts at (see
//! `snapshot_start`), so no version is lost or doubled at the seam and no lock is taken.
//!
//! A snapshot is not resumed: until it is wholly acknowledged the saved position says so, and
//! a restart takes a new one (at least once, its rows are published again).

use super::error::BinlogError;
use super::run::{BinlogRun, PAGES_IN_FLIGHT};
use super::snapshot_start::start_snapshot;
use super::watermark::{BinlogWatermark, SavedPosition};
use crate::error::ProducerError;
use crate::watermark::KeyBound;

impl BinlogRun<'_> {
    /// Publishes the snapshot; its end, the position the stream starts at, once every row is
    /// acknowledged. `None` when shutdown came first.
    pub(super) async fn snapshot(&mut self) -> Result<Option<BinlogWatermark>, ProducerError> {
        let pipeline = self.pipeline;
        let read_error = |source| BinlogError::SnapshotRead {
            table: pipeline.table.clone(),
            source,
        };
        let mut conn = pipeline.pool.acquire().await.map_err(read_error)?;
        let start = start_snapshot(&mut conn).await.map_err(BinlogError::from)?;
        tracing::info!(
            table = %pipeline.table,
            position = %start.position,
            "snapshot of {} at binlog {} (GTID {}), without a lock",
            pipeline.table,
            start.position,
            start
                .gtids
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        );
        let during = BinlogWatermark {
            resume_at: start.position.clone(),
            gtid: None,
            changes_done: 0,
            snapshot_done: false,
        };
        self.queued_to = during.clone();
        pipeline.readiness.set(true);
        let page_rows = pipeline.settings.batch_size.max(1);
        let mut after = KeyBound::Before;
        loop {
            if self.shutdown.requested() {
                return Ok(None);
            }
            let Some(page) = pipeline.query.key_page_after(&after, page_rows) else {
                break;
            };
            let rows = page.fetch_all(&mut *conn).await.map_err(read_error)?;
            let full = rows.len() >= page_rows as usize;
            if let Some(last) = rows.last() {
                after = KeyBound::At(pipeline.query.key_of(last).map_err(read_error)?);
                let (pending, _) = match pipeline.queue_page(&rows).await {
                    Ok(queued) => queued,
                    Err(refused) => return self.refuse(refused).await.map(|()| None),
                };
                self.in_flight.push(pending, during.clone(), rows.len());
                self.settle(PAGES_IN_FLIGHT).await?;
            }
            if !full {
                break;
            }
        }
        // Read only: its end commits nothing.
        sqlx::query("COMMIT")
            .execute(&mut *conn)
            .await
            .map_err(read_error)?;
        conn.close().await.map_err(read_error)?;
        self.settle(0).await?;
        let done = BinlogWatermark::at_transaction(start.position);
        self.saver
            .advance(SavedPosition::Binlog(done.clone()))
            .await?;
        tracing::info!(
            table = %pipeline.table,
            "snapshot of {} published; its changes follow from binlog {}",
            pipeline.table,
            done.resume_at
        );
        Ok(Some(done))
    }
}
