//! The binlog source's stream loop: each transaction's changes of the table queued as records,
//! pages closed at transaction boundaries (or inside a transaction too large for one page),
//! each page's end the position to save once it is acknowledged.
//!
//! Invariant (see `watermark`): a page ends at a transaction's end, where the stream goes on at
//! the next transaction, or inside a transaction as its start and the changes published, never
//! anywhere else. A stream that fails goes on from the end of the last page queued; what the
//! failed connection had read past it is read again.

use std::time::{Duration, Instant};

use sluice_common::retry::Policy;

use super::connect::{connect, request_stream};
use super::error::BinlogError;
use super::position::{BinlogPosition, Gtid};
use super::queue_change::{queue_change, Buffers, Unqueued};
use super::run::{BinlogRun, PAGES_IN_FLIGHT};
use super::stream::{ChangeStream, StreamEvent, WatchedTable};
use super::watermark::{BinlogWatermark, SavedPosition};
use crate::error::ProducerError;
use crate::publish::PageSend;

/// How long a page stays open for more transactions once the stream has none ready.
const LINGER: Duration = Duration::from_millis(5);
/// How long the loop waits for an event before it looks at shutdown and its pages again.
const IDLE: Duration = Duration::from_millis(200);
/// How often a position with nothing to publish (other tables' transactions) is saved.
const POSITION_EVERY: Duration = Duration::from_secs(1);

/// A transaction of the stream, open.
struct OpenTransaction {
    /// Where it starts: its GTID event.
    start: BinlogPosition,
    gtid: Gtid,
    /// Changes of the table seen in it so far.
    seen: u64,
    /// Changes already published before a restart, passed over.
    skip: u64,
}

impl OpenTransaction {
    /// The position once its first `changes` changes of the table are published.
    fn published(&self, changes: u64) -> BinlogWatermark {
        BinlogWatermark::inside_transaction(self.start.clone(), self.gtid, changes)
    }
}

/// The page being filled.
struct OpenPage<'p> {
    send: PageSend<'p>,
    changes: usize,
}

/// Where a page closed now ends: inside the open transaction, as its start and the changes of
/// it queued (or passed over as published before); else at `position`, between transactions.
fn end_now(open: Option<&OpenTransaction>, position: &BinlogPosition) -> BinlogWatermark {
    match open {
        Some(transaction) => transaction.published(transaction.seen),
        None => BinlogWatermark::at_transaction(position.clone()),
    }
}

impl BinlogRun<'_> {
    /// Follows the stream from `from` until shutdown (or, `until_caught_up`, until the server's
    /// position at the start is published), reconnecting after failures a wait can heal.
    pub(super) async fn follow(
        &mut self,
        from: BinlogWatermark,
        until_caught_up: bool,
    ) -> Result<(), ProducerError> {
        let end = match until_caught_up {
            true => Some(self.server_position().await?),
            false => None,
        };
        let mut pauses = Policy::SERVER.pauses();
        let mut resume = from;
        loop {
            let error = match self.follow_once(&resume, end.as_ref()).await {
                Ok(()) => return Ok(()),
                Err(Stopped::For(error)) => return Err(error),
                Err(Stopped::Healable(error)) => error,
            };
            self.settle(0).await?;
            resume = self.queued_to.clone();
            let pause = pauses.pause();
            tracing::warn!(
                error = %error,
                "the binary log stream failed ({error}); again from {resume} in {pause:?}"
            );
            self.pipeline.readiness.set(false);
            if self.shutdown.sleep(pause).await {
                return Ok(());
            }
        }
    }

    /// The server's current binary log position (`SHOW MASTER STATUS`).
    async fn server_position(&self) -> Result<BinlogPosition, ProducerError> {
        let row: (String, u64) = sqlx::query_as("SHOW MASTER STATUS")
            .fetch_one(&self.pipeline.pool)
            .await
            .map_err(|source| ProducerError::Mysql {
                what: "the server's binary log position (SHOW MASTER STATUS)".into(),
                source,
            })?;
        Ok(BinlogPosition::new(row.0, row.1))
    }

    /// One connection's stream from `resume`.
    async fn follow_once(
        &mut self,
        resume: &BinlogWatermark,
        end: Option<&BinlogPosition>,
    ) -> Result<(), Stopped> {
        let pipeline = self.pipeline;
        let at = &resume.resume_at;
        let conn = connect(&pipeline.mysql)
            .await
            .map_err(|e| Stopped::from(BinlogError::open(at, e)))?;
        let requested = request_stream(conn, at, server_id(pipeline))
            .await
            .map_err(|e| Stopped::from(BinlogError::open(at, e)))?;
        let watched = WatchedTable {
            database: pipeline.mysql.database.clone(),
            table: pipeline.mysql.table.clone(),
        };
        let mut stream = ChangeStream::new(requested, at.clone(), watched);
        pipeline.readiness.set(true);
        let mut open: Option<OpenTransaction> = None;
        let mut page: Option<OpenPage<'_>> = None;
        let mut buffers = Buffers::default();
        let mut position_saved = Instant::now();
        let page_changes = pipeline.settings.batch_size.max(1) as usize;
        while !self.shutdown.requested() {
            let before = stream.position().clone();
            let wait = match (&page, &open) {
                (Some(_), None) => LINGER,
                _ => IDLE,
            };
            let event = match tokio::time::timeout(wait, stream.next()).await {
                Ok(Ok(event)) => event,
                Ok(Err(error)) => {
                    let end = end_now(open.as_ref(), &before);
                    self.close_page(page.take(), end).await?;
                    return Err(Stopped::from(BinlogError::stream(error)));
                }
                Err(_) => {
                    // Nothing ready: what is queued goes out, and the position moves on.
                    if open.is_none() {
                        let boundary = BinlogWatermark::at_transaction(before.clone());
                        self.close_page(page.take(), boundary.clone()).await?;
                        self.settle(0).await?;
                        if self.in_flight.is_empty() && position_saved.elapsed() >= POSITION_EVERY {
                            self.queued_to = boundary.clone();
                            self.saver
                                .advance(SavedPosition::Binlog(boundary))
                                .await
                                .map_err(ProducerError::from)?;
                            position_saved = Instant::now();
                        }
                        if end.is_some_and(|end| reached(&before, end)) && self.in_flight.is_empty()
                        {
                            return Ok(());
                        }
                    }
                    continue;
                }
            };
            match event.event {
                StreamEvent::Begin(begin) if begin.standalone => open = None,
                StreamEvent::Begin(begin) => {
                    let skip = match resume.gtid {
                        Some(gtid) if gtid == begin.gtid && before == resume.resume_at => {
                            resume.changes_done
                        }
                        _ => 0,
                    };
                    open = Some(OpenTransaction {
                        start: before.clone(),
                        gtid: begin.gtid,
                        seen: 0,
                        skip,
                    });
                }
                StreamEvent::Rows(changes) => {
                    let Some(transaction) = open.as_mut() else {
                        return Err(Stopped::For(
                            BinlogError::Unsupported(format!(
                                "rows of {} at binlog {before} outside a transaction (no GTID \
                                 event before them)",
                                pipeline.table
                            ))
                            .into(),
                        ));
                    };
                    for change in changes {
                        transaction.seen += 1;
                        if transaction.seen <= transaction.skip {
                            continue;
                        }
                        let filling = page.get_or_insert_with(|| OpenPage {
                            send: pipeline.publisher.begin_page(),
                            changes: 0,
                        });
                        match queue_change(
                            pipeline,
                            &self.layout,
                            &mut filling.send,
                            change,
                            event.written_at,
                            &mut buffers,
                        )
                        .await
                        {
                            Ok(()) => filling.changes += 1,
                            Err(Unqueued::Kafka(error)) => {
                                let failed = page.take().map(|p| p.send.queued(Some(error)));
                                if let Some(failed) = failed {
                                    self.in_flight.push(failed, self.queued_to.clone(), 0);
                                }
                                self.settle(0).await?;
                                return Ok(());
                            }
                            Err(Unqueued::Stop(error)) => {
                                // Every change before this one is queued: saved as published.
                                let before_it = transaction.published(transaction.seen - 1);
                                self.close_page(page.take(), before_it).await?;
                                self.settle(0).await?;
                                return Err(Stopped::For(error));
                            }
                        }
                        if filling.changes >= page_changes {
                            let inside = transaction.published(transaction.seen);
                            self.close_page(page.take(), inside).await?;
                        }
                    }
                }
                StreamEvent::Commit => {
                    open = None;
                    if page.as_ref().is_some_and(|p| p.changes >= page_changes) {
                        let boundary = BinlogWatermark::at_transaction(event.next.clone());
                        self.close_page(page.take(), boundary).await?;
                    }
                }
                StreamEvent::Statement { schema, query } => {
                    self.check_table_change(&schema, &query, &event.next)
                        .await?;
                }
                StreamEvent::Skipped => {}
            }
        }
        let end = end_now(open.as_ref(), stream.position());
        self.close_page(page.take(), end).await?;
        Ok(())
    }

    /// Queues the page as it is, ending at `end`; then settles the pages beyond those the loop
    /// keeps in flight.
    async fn close_page(
        &mut self,
        page: Option<OpenPage<'_>>,
        end: BinlogWatermark,
    ) -> Result<(), Stopped> {
        let Some(page) = page else {
            return Ok(());
        };
        self.queued_to = end.clone();
        self.in_flight
            .push(page.send.queued(None), end, page.changes);
        self.settle(PAGES_IN_FLIGHT).await?;
        Ok(())
    }

    /// A statement that changed the table's columns stops the source (it is not followed yet).
    async fn check_table_change(
        &self,
        schema: &str,
        query: &str,
        at: &BinlogPosition,
    ) -> Result<(), Stopped> {
        let table = &self.pipeline.mysql.table;
        let lowered = query.to_lowercase();
        if !lowered.contains(&table.to_lowercase()) {
            return Ok(());
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
        if self.layout.columns() == now.as_slice() {
            return Ok(());
        }
        Err(Stopped::For(
            BinlogError::TableChanged {
                table: self.pipeline.table.clone(),
                at: at.clone(),
                what: format!("`{}` in `{schema}`", query.trim()),
            }
            .into(),
        ))
    }
}

/// Why one connection's stream ended.
enum Stopped {
    /// The producer stops (or renews its client) with this.
    For(ProducerError),
    /// A wait heals it: the stream goes on from the last page queued.
    Healable(BinlogError),
}

impl From<BinlogError> for Stopped {
    fn from(error: BinlogError) -> Self {
        if error.heals() {
            Self::Healable(error)
        } else {
            Self::For(error.into())
        }
    }
}

impl From<ProducerError> for Stopped {
    fn from(error: ProducerError) -> Self {
        Self::For(error)
    }
}

/// Whether `at` is at or past `end` in the binary log.
fn reached(at: &BinlogPosition, end: &BinlogPosition) -> bool {
    match (at.file_sequence(), end.file_sequence()) {
        (Some(at_file), Some(end_file)) if at_file != end_file => at_file > end_file,
        _ => at.offset >= end.offset,
    }
}

/// The replica id the stream registers with: `producer.binlog_server_id`, or one derived from
/// the topic (in 1 000 000 … 1 999 999 999, away from the ids servers are usually given).
fn server_id(pipeline: &crate::poll::Pipeline) -> u32 {
    match pipeline.settings.binlog_server_id {
        0 => {
            let hash = xxhash_rust::xxh3::xxh3_64(pipeline.kafka.topic.as_bytes());
            1_000_000 + (hash % 1_999_000_000) as u32
        }
        id => id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_is_reached_in_a_later_file_or_further_in_the_same() {
        let end = BinlogPosition::new("binlog.000007", 500);
        assert!(reached(&BinlogPosition::new("binlog.000007", 500), &end));
        assert!(reached(&BinlogPosition::new("binlog.000008", 4), &end));
        assert!(!reached(&BinlogPosition::new("binlog.000007", 499), &end));
        assert!(!reached(&BinlogPosition::new("binlog.000006", 9_000), &end));
    }
}
