//! The binlog source's snapshot: the table read in key order inside one transaction started
//! `WITH CONSISTENT SNAPSHOT`, whose binary log position the stream then starts at (see
//! `snapshot_start`), so no version is lost or doubled at the seam and no lock is taken.
//!
//! A snapshot stopped before its end goes on after the last key it published, with a new
//! snapshot at a later position: a part of its own (see `snapshot_parts`). The position kept
//! after each page says so: the parts so far, the last one's last key included.

use super::error::BinlogError;
use super::origin::snapshot_headers;
use super::run::{BinlogRun, PAGES_IN_FLIGHT};
use super::snapshot_parts::SnapshotPart;
use super::snapshot_start::start_snapshot;
use super::watermark::BinlogWatermark;
use crate::error::ProducerError;
use crate::watermark::KeyBound;

impl BinlogRun<'_> {
    /// Publishes the snapshot, or its rest after `unfinished`; its end, the position the stream
    /// starts at, once every row is kept. `None` when shutdown came first.
    pub(super) async fn snapshot(
        &mut self,
        unfinished: Option<BinlogWatermark>,
    ) -> Result<Option<BinlogWatermark>, ProducerError> {
        let pipeline = self.pipeline;
        let read_error = |source| BinlogError::SnapshotRead {
            table: pipeline.table.clone(),
            source,
        };
        let mut parts = unfinished
            .map(|saved| saved.snapshot_parts)
            .unwrap_or_default();
        let mut after = match parts.last().and_then(|part| part.up_to.clone()) {
            Some(key) => KeyBound::At(key),
            None => KeyBound::Before,
        };
        let mut conn = pipeline.pool.acquire().await.map_err(read_error)?;
        let start = start_snapshot(&mut conn).await.map_err(BinlogError::from)?;
        let first_at = parts
            .first()
            .map_or_else(|| start.position.clone(), |part| part.at.clone());
        tracing::info!(
            table = %pipeline.table,
            position = %start.position,
            "snapshot of {} at binlog {} (GTID {}), without a lock{}",
            pipeline.table,
            start.position,
            start
                .gtids
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(","),
            match &after {
                KeyBound::At(key) => format!(", from after key {key} (a part of its own)"),
                _ => String::new(),
            }
        );
        pipeline.readiness.set(true);
        let page_rows = pipeline.settings.batch_size.max(1);
        let headers = snapshot_headers(&start.position);
        parts.push(SnapshotPart {
            at: start.position.clone(),
            up_to: None,
        });
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
                let last = pipeline.query.key_of(last).map_err(read_error)?;
                if let Some(current) = parts.last_mut() {
                    current.up_to = Some(last.clone());
                }
                after = KeyBound::At(last);
                self.before_page()?;
                let (pending, _) = match pipeline.queue_page_with(&rows, Some(&headers)).await {
                    Ok(queued) => queued,
                    Err(refused) => return self.refuse(refused).await.map(|()| None),
                };
                let during = BinlogWatermark::of_snapshot(first_at.clone(), parts.clone(), false);
                self.queued_to = during.clone();
                self.in_flight.push(pending, during, rows.len());
                self.settle(PAGES_IN_FLIGHT).await?;
                self.commit_if_due(false).await?;
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
        if let Some(current) = parts.last_mut() {
            current.up_to = None;
        }
        let done = BinlogWatermark::of_snapshot(first_at, parts, true);
        self.settle(0).await?;
        self.seam = super::snapshot_parts::Seam::new(done.snapshot_parts.clone());
        let done = self.marked(done);
        self.keep_position(done.clone()).await?;
        tracing::info!(
            table = %pipeline.table,
            "snapshot of {} published; its changes follow from binlog {}",
            pipeline.table,
            done.resume_at
        );
        Ok(Some(done))
    }
}
