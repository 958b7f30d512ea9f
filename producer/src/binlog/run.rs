//! The binlog source's run with one Kafka client: the saved position, or a snapshot when there
//! is none or it was not finished (`snapshot_read`), then the stream from there (`follow`).
//!
//! Invariant: a position is kept only once Kafka has taken every record before it. At least
//! once, it reaches the watermark file once every page before it is acknowledged, in the order
//! they were queued; a restart publishes again at most what was in flight. Exactly once, it is
//! the watermark record of the Kafka transaction that carries every record before it (see
//! `publish::transaction`); a restart goes on from the last committed one, and what an
//! unfinished transaction carried is never seen by a read-committed consumer.

use rdkafka::error::KafkaError;
use sluice_common::acls;
use sluice_common::events::Event;
use sluice_common::retry::Transient;
use sluice_common::shutdown::Shutdown;

use super::error::BinlogError;
use super::image::ImageLayout;
use super::position::BinlogPosition;
use super::snapshot_parts::{KeyOrder, Seam};
use super::watermark::{BinlogWatermark, SavedPosition};
use crate::error::{ProducerError, RowRefused};
use crate::events::PageAcknowledged;
use crate::poll::in_flight::InFlightPages;
use crate::poll::Pipeline;
use crate::publish::failure_policy::{permanent, StaleClient};
use crate::publish::transaction::{TransactionError, Transactions};
use crate::watermark::saver::WatermarkSaver;

/// Pages queued and not yet acknowledged, at most.
pub(super) const PAGES_IN_FLIGHT: usize = 8;

/// One Kafka client's run of the binlog source.
pub(super) struct BinlogRun<'p> {
    pub(super) pipeline: &'p Pipeline,
    pub(super) shutdown: &'p Shutdown,
    pub(super) layout: ImageLayout,
    /// At least once: keeps each acknowledged position in the watermark file.
    saver: Option<WatermarkSaver<SavedPosition>>,
    /// Exactly once: the open Kafka transaction, committed with its position.
    transactions: Option<Transactions>,
    pub(super) in_flight: InFlightPages<BinlogWatermark>,
    /// The position after the last page queued (or the start): where the stream goes on after
    /// a failure of its own, and what the next commit keeps.
    pub(super) queued_to: BinlogWatermark,
    /// The last position kept (saved or committed).
    kept: Option<BinlogWatermark>,
    /// The parts of a snapshot taken in more than one, which the stream filters by.
    pub(super) seam: Seam,
    /// How keys compare, for the seam.
    pub(super) key_order: KeyOrder,
}

/// How a run ended well.
pub(super) enum RunEnd {
    /// Shutdown, or caught up.
    Done,
    /// The table's columns changed: the producer plans again, then runs on from the position
    /// kept right after the change.
    TableChanged,
}

impl Pipeline {
    /// Runs the binlog source with the current Kafka client until shutdown, or with
    /// `until_caught_up` until it has published everything the server had written when it
    /// started; after each change of the table's columns, with a new plan.
    pub(crate) async fn run_binlog(
        &mut self,
        shutdown: &Shutdown,
        until_caught_up: bool,
    ) -> Result<(), ProducerError> {
        self.probe_binlog_access().await?;
        loop {
            match self.run_binlog_once(shutdown, until_caught_up).await? {
                RunEnd::Done => return Ok(()),
                RunEnd::TableChanged => {
                    if !self.follow_binlog_table_change(shutdown).await? {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// One run with the current plan.
    async fn run_binlog_once(
        &mut self,
        shutdown: &Shutdown,
        until_caught_up: bool,
    ) -> Result<RunEnd, ProducerError> {
        let table = self.table.clone();
        let layout = ImageLayout::new(
            &self.follower.catalogue,
            self.encoder.plan(),
            &self.settings.key_column,
            self.query.key_kind(),
            self.settings.deleted_column(),
            &self.settings.timestamp_column,
        )
        .map_err(BinlogError::from)?;
        let key_order = KeyOrder::of_column(
            self.query.key_kind(),
            &self.pool,
            &self.mysql.database,
            &self.mysql.table,
            &self.settings.key_column,
        )
        .await
        .map_err(|source| BinlogError::KeyOrder { table, source })?;
        let saved = self.load_binlog_position().await?;
        let transactions = self.transactions.take();
        let pipeline = &*self;
        let mut run = BinlogRun {
            pipeline,
            shutdown,
            layout,
            saver: transactions
                .is_none()
                .then(|| WatermarkSaver::start(pipeline.store.clone())),
            transactions,
            in_flight: InFlightPages::default(),
            queued_to: saved
                .clone()
                .unwrap_or_else(|| BinlogWatermark::at_transaction(BinlogPosition::new("", 4))),
            kept: saved.clone(),
            seam: Seam::default(),
            key_order,
        };
        let outcome = run.go(saved, until_caught_up).await;
        let client_failed = outcome.as_ref().is_err_and(Transient::is_transient);
        let ended = run.end(!client_failed).await;
        let transactions = run.transactions.take();
        self.transactions = transactions;
        self.readiness.set(false);
        let outcome = outcome?;
        ended.map(|()| outcome)
    }
}

impl BinlogRun<'_> {
    async fn go(
        &mut self,
        saved: Option<BinlogWatermark>,
        until_caught_up: bool,
    ) -> Result<RunEnd, ProducerError> {
        let start = match saved {
            Some(saved) if saved.snapshot_done => saved,
            unfinished => match self.snapshot(unfinished).await? {
                Some(done) => done,
                None => return Ok(RunEnd::Done),
            },
        };
        tracing::info!(
            table = %self.pipeline.table,
            position = %start,
            "streaming the changes of {} from {start}",
            self.pipeline.table
        );
        self.seam = Seam::new(start.snapshot_parts.clone());
        self.queued_to = start.clone();
        self.follow(start, until_caught_up).await
    }

    /// At the run's end: what was acknowledged is saved (at least once), or what was queued
    /// committed unless the Kafka client failed (exactly once; the next client's registration
    /// aborts it then).
    async fn end(&mut self, commit: bool) -> Result<(), ProducerError> {
        if self.saver.is_some() {
            // Settled first: settling hands each acknowledged position to the saver.
            let settled = self.settle(0).await;
            let saver = self.saver.take();
            let saved = match saver {
                Some(saver) => saver.finish().await.map_err(ProducerError::from),
                None => Ok(()),
            };
            return settled.and(saved);
        }
        if commit {
            self.settle(0).await?;
            self.commit_if_due(true).await?;
        }
        Ok(())
    }

    /// Makes room for a page: exactly once, opens a transaction unless one is open.
    pub(super) fn before_page(&mut self) -> Result<(), ProducerError> {
        if let Some(transactions) = &mut self.transactions {
            transactions.before_page(&self.pipeline.publisher)?;
        }
        Ok(())
    }

    /// Exactly once, commits the open transaction when it is due (always when `caught_up`),
    /// with the position after the last page queued as its watermark. Call only between pages.
    pub(super) async fn commit_if_due(&mut self, caught_up: bool) -> Result<(), ProducerError> {
        let Some(transactions) = &mut self.transactions else {
            return Ok(());
        };
        if !transactions.due(caught_up) {
            return Ok(());
        }
        let end = self.queued_to.clone();
        match transactions
            .commit(
                &self.pipeline.publisher,
                &SavedPosition::Binlog(end.clone()),
            )
            .await
        {
            Ok(()) => {}
            // Aborted: a new client goes on from the last committed position.
            Err(TransactionError::Aborted(error)) => return Err(StaleClient(error).into()),
            Err(failed) => return Err(failed.into()),
        }
        // The commit waited for every record: what is left in flight is answered.
        self.settle(0).await?;
        self.kept = Some(end);
        Ok(())
    }

    /// Keeps `position` though no page ends there (the table idle while others write), unless
    /// it is kept already: saved at least once, committed alone exactly once. Call only with
    /// nothing in flight.
    pub(super) async fn keep_position(
        &mut self,
        position: BinlogWatermark,
    ) -> Result<(), ProducerError> {
        let position = self.marked(position);
        if self.kept.as_ref() == Some(&position) {
            return Ok(());
        }
        self.queued_to = position.clone();
        if let Some(saver) = &mut self.saver {
            saver
                .advance(SavedPosition::Binlog(position.clone()))
                .await?;
            self.kept = Some(position);
            return Ok(());
        }
        self.before_page()?;
        self.commit_if_due(true).await
    }

    /// `position` with the snapshot parts the stream still filters by from there.
    pub(super) fn marked(&self, mut position: BinlogWatermark) -> BinlogWatermark {
        position.snapshot_parts = self.seam.parts_at(&position.resume_at);
        position
    }

    /// Waits for the oldest pages until at most `keep` are in flight, handing each page's end
    /// to the saver (at least once). A failed page fails the run: the pages after it are waited
    /// for, and the error says whether a new client heals it (it then goes on from the saved
    /// position).
    pub(super) async fn settle(&mut self, keep: usize) -> Result<(), ProducerError> {
        while let Some(page) = self.in_flight.oldest_beyond(keep) {
            match page.pending.acknowledged().await {
                Ok(report) => {
                    if let Some(saver) = &mut self.saver {
                        saver
                            .advance(SavedPosition::Binlog(page.end.clone()))
                            .await?;
                        self.kept = Some(page.end);
                    }
                    PageAcknowledged {
                        rows: page.rows,
                        report,
                        metrics: &self.pipeline.metrics,
                    }
                    .emit();
                }
                Err(error) => {
                    self.in_flight.abandon().await;
                    return Err(self.failed(error));
                }
            }
        }
        Ok(())
    }

    /// A failed page as the run's outcome.
    fn failed(&self, error: KafkaError) -> ProducerError {
        if let Some(missing) = acls::publish_refusal(&self.pipeline.acls, &error) {
            return ProducerError::MissingAcl(missing);
        }
        if let Some(why) = permanent(&error) {
            return ProducerError::PublishRefused {
                topic: self.pipeline.publisher.topic().to_owned(),
                error,
                why,
            };
        }
        StaleClient(error).into()
    }

    /// Under `on_error = "fail"`: what was queued before is settled and kept, and the refusal
    /// is the outcome.
    pub(super) async fn refuse(&mut self, refused: RowRefused) -> Result<(), ProducerError> {
        tracing::error!("{refused}");
        self.settle(0).await?;
        self.commit_if_due(true).await?;
        Err(refused.into())
    }
}
