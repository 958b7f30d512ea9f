//! The binlog source's stream loop: each transaction's changes of the table queued as records,
//! pages closed at transaction boundaries (or inside a transaction too large for one page),
//! each page's end the position to keep once Kafka has taken it.
//!
//! Invariant (see `watermark`): a page ends at a transaction's end, where the stream goes on at
//! the next transaction, or inside a transaction as its start and the changes published, never
//! anywhere else. A stream that fails goes on from the end of the last page queued; what the
//! failed connection had read past it is read again. Exactly once, a Kafka transaction is
//! committed only between pages, so its position covers every record it carries.

use std::time::{Duration, Instant};

use sluice_common::retry::Policy;

use super::connect::{connect, request_stream, server_id};
use super::error::BinlogError;
use super::open_transaction::{end_now, OpenTransaction, Stopped};
use super::origin::ChangeOrigin;
use super::position::BinlogPosition;
use super::queue_change::{by_key, queue_change, Buffers, Unqueued};
use super::run::{BinlogRun, RunEnd, PAGES_IN_FLIGHT};
use super::stream::{ChangeStream, Operation, RowChange, StreamEvent, WatchedTable};
use super::watermark::BinlogWatermark;
use crate::error::ProducerError;
use crate::publish::PageSend;

/// How long a page stays open for more transactions once the stream has none ready.
const LINGER: Duration = Duration::from_millis(5);
/// How long the loop waits for an event before it looks at shutdown and its pages again.
const IDLE: Duration = Duration::from_millis(200);
/// How often a position with nothing to publish (other tables' transactions) is kept.
const POSITION_EVERY: Duration = Duration::from_secs(1);

/// The page being filled.
struct OpenPage<'p> {
    send: PageSend<'p>,
    changes: usize,
}

impl BinlogRun<'_> {
    /// Follows the stream from `from` until shutdown (or, `until_caught_up`, until the server's
    /// position at the start is published), reconnecting after failures a wait can heal.
    pub(super) async fn follow(
        &mut self,
        from: BinlogWatermark,
        until_caught_up: bool,
    ) -> Result<RunEnd, ProducerError> {
        let end = match until_caught_up {
            true => Some(self.server_position().await?),
            false => None,
        };
        let mut pauses = Policy::SERVER.pauses();
        let mut resume = from;
        loop {
            let error = match self.follow_once(&resume, end.as_ref()).await {
                Ok(()) => return Ok(RunEnd::Done),
                Err(Stopped::TableChanged) => return Ok(RunEnd::TableChanged),
                Err(Stopped::For(error)) => return Err(error),
                Err(Stopped::Healable(error)) => error,
            };
            // What was queued is kept before the pause (exactly once, its transaction would
            // otherwise stay open through it).
            self.settle(0).await?;
            self.commit_if_due(true).await?;
            resume = self.queued_to.clone();
            let pause = pauses.pause();
            tracing::warn!(
                error = %error,
                "the binary log stream failed ({error}); again from {resume} in {pause:?}"
            );
            self.pipeline.readiness.set(false);
            if self.shutdown.sleep(pause).await {
                return Ok(RunEnd::Done);
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
        let replica = server_id(pipeline.settings.binlog_server_id, &pipeline.kafka.topic);
        let requested = request_stream(conn, at, replica)
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
        let mut position_kept = Instant::now();
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
                        self.commit_if_due(true).await?;
                        if self.in_flight.is_empty() && position_kept.elapsed() >= POSITION_EVERY {
                            self.keep_position(boundary).await?;
                            position_kept = Instant::now();
                        }
                        if end.is_some_and(|end| before.is_at_or_after(end))
                            && self.in_flight.is_empty()
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
                    open = Some(OpenTransaction::new(before.clone(), begin.gtid, skip));
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
                        let records = by_key(&self.layout, change);
                        for change in records.into_iter().flatten() {
                            self.fits(&change, &before)?;
                            transaction.seen += 1;
                            if transaction.seen <= transaction.skip
                                || !self.past_seam(&change, &transaction.start).await?
                            {
                                continue;
                            }
                            if page.is_none() {
                                self.before_page()?;
                            }
                            let filling = page.get_or_insert_with(|| OpenPage {
                                send: pipeline.publisher.begin_page(),
                                changes: 0,
                            });
                            let origin = ChangeOrigin {
                                operation: change.operation,
                                transaction: &transaction.start_text,
                                gtid: &transaction.gtid_text,
                                row: transaction.seen,
                            };
                            match queue_change(
                                pipeline,
                                &self.layout,
                                &mut filling.send,
                                (change, origin),
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
                                    // Every change before this one is queued: kept as published.
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
                }
                StreamEvent::Commit => {
                    open = None;
                    if page.as_ref().is_some_and(|p| p.changes >= page_changes) {
                        let boundary = BinlogWatermark::at_transaction(event.next.clone());
                        self.close_page(page.take(), boundary).await?;
                    }
                }
                StreamEvent::Statement { query, .. } => {
                    if open.is_none() && self.changed_table(&query).await? {
                        // Everything before it is kept under the old plan; the stream goes on
                        // right after it with the new one.
                        let after = BinlogWatermark::at_transaction(event.next.clone());
                        self.close_page(page.take(), after.clone()).await?;
                        self.settle(0).await?;
                        self.keep_position(after).await?;
                        return Err(Stopped::TableChanged);
                    }
                }
                StreamEvent::Skipped => {}
            }
        }
        let end = end_now(open.as_ref(), stream.position());
        self.close_page(page.take(), end).await?;
        Ok(())
    }

    /// Whether `change`, in the transaction starting at `start`, is past the seam of a
    /// snapshot taken in parts (always, for one taken whole).
    async fn past_seam(&self, change: &RowChange, start: &BinlogPosition) -> Result<bool, Stopped> {
        if self.seam.parts_at(start).is_empty() {
            return Ok(true);
        }
        let image = match change.operation {
            Operation::Delete => change.before.as_ref(),
            Operation::Insert | Operation::Update => change.after.as_ref(),
        };
        // A change without a key is published, to be refused or dead-lettered with its reason.
        let Some(key) = image.and_then(|image| self.layout.key(image).ok()) else {
            return Ok(true);
        };
        self.seam
            .publishes(&self.key_order, &key, start)
            .await
            .map_err(|source| {
                Stopped::from(BinlogError::KeyCompare {
                    table: self.pipeline.table.clone(),
                    source,
                })
            })
    }

    /// Queues the page as it is, ending at `end` (with the seam's parts while the stream is
    /// before its last); then settles the pages beyond those the loop keeps in flight, and,
    /// exactly once, commits when a transaction is due.
    async fn close_page(
        &mut self,
        page: Option<OpenPage<'_>>,
        end: BinlogWatermark,
    ) -> Result<(), Stopped> {
        let Some(page) = page else {
            return Ok(());
        };
        let end = self.marked(end);
        self.queued_to = end.clone();
        self.in_flight
            .push(page.send.queued(None), end, page.changes);
        self.settle(PAGES_IN_FLIGHT).await?;
        self.commit_if_due(false).await?;
        Ok(())
    }
}
