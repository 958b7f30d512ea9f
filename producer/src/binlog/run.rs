//! The binlog source's run with one Kafka client, at least once: the saved position, or a
//! snapshot when there is none (`snapshot_read`), then the stream from there (`follow`).
//!
//! Invariant: a position reaches the watermark file only once Kafka has acknowledged every
//! record before it, pages acknowledged in the order they were queued; a restart goes on from
//! the saved position and at worst publishes again what was in flight.

use rdkafka::error::KafkaError;
use sluice_common::acls;
use sluice_common::events::Event;
use sluice_common::shutdown::Shutdown;

use super::error::BinlogError;
use super::image::ImageLayout;
use super::watermark::{BinlogWatermark, SavedPosition};
use crate::error::{ProducerError, RowRefused};
use crate::events::PageAcknowledged;
use crate::poll::in_flight::InFlightPages;
use crate::poll::Pipeline;
use crate::publish::failure_policy::{permanent, StaleClient};
use crate::watermark::saver::WatermarkSaver;
use crate::watermark::WatermarkError;

/// Pages queued and not yet acknowledged, at most.
pub(super) const PAGES_IN_FLIGHT: usize = 8;

/// One Kafka client's run of the binlog source.
pub(super) struct BinlogRun<'p> {
    pub(super) pipeline: &'p Pipeline,
    pub(super) shutdown: &'p Shutdown,
    pub(super) layout: ImageLayout,
    pub(super) saver: WatermarkSaver<SavedPosition>,
    pub(super) in_flight: InFlightPages<BinlogWatermark>,
    /// The position after the last page queued (or the start): where the stream goes on after
    /// a failure of its own.
    pub(super) queued_to: BinlogWatermark,
}

impl Pipeline {
    /// Runs the binlog source with the current Kafka client until shutdown, or with
    /// `until_caught_up` until it has published everything the server had written when it
    /// started.
    pub(crate) async fn run_binlog(
        &mut self,
        shutdown: &Shutdown,
        until_caught_up: bool,
    ) -> Result<(), ProducerError> {
        if self.transactions.is_some() {
            return Err(BinlogError::Unsupported(
                "producer.source = \"binlog\" publishes at least once for now: set \
                 producer.exactly_once = false"
                    .into(),
            )
            .into());
        }
        let layout = ImageLayout::new(
            &self.follower.catalogue,
            self.encoder.plan(),
            &self.settings.key_column,
            self.query.key_kind(),
            self.settings.deleted_column(),
            &self.settings.timestamp_column,
        )
        .map_err(BinlogError::from)?;
        let saved = self.load_binlog_position()?;
        let pipeline = &*self;
        let mut run = BinlogRun {
            pipeline,
            shutdown,
            layout,
            saver: WatermarkSaver::start(pipeline.store.clone()),
            in_flight: InFlightPages::default(),
            queued_to: saved.clone().unwrap_or_else(|| {
                BinlogWatermark::at_transaction(super::position::BinlogPosition::new("", 4))
            }),
        };
        let outcome = run.go(saved, until_caught_up).await;
        // What was acknowledged is saved whatever the outcome.
        let settled = run.settle(0).await;
        let saved = run.saver.finish().await;
        pipeline.readiness.set(false);
        outcome.and(settled).and(saved.map_err(ProducerError::from))
    }

    /// The saved position; `None` when nothing was saved or the snapshot was not finished.
    fn load_binlog_position(&self) -> Result<Option<BinlogWatermark>, ProducerError> {
        match self.store.load_as::<SavedPosition>() {
            Ok(Some(SavedPosition::Binlog(saved))) => Ok(saved.snapshot_done.then_some(saved)),
            Ok(None) => Ok(None),
            Err(WatermarkError::Corrupt { path, .. })
                if self.store.load().is_ok_and(|saved| saved.is_some()) =>
            {
                Err(BinlogError::Unsupported(format!(
                    "watermark file {} holds a position of producer.source = \"timestamp\": \
                     `sluice-producer reset` (or another producer.watermark_file) before \
                     switching to the binlog",
                    path.display()
                ))
                .into())
            }
            Err(error) => Err(error.into()),
        }
    }
}

impl BinlogRun<'_> {
    async fn go(
        &mut self,
        saved: Option<BinlogWatermark>,
        until_caught_up: bool,
    ) -> Result<(), ProducerError> {
        let start = match saved {
            Some(saved) => saved,
            None => match self.snapshot().await? {
                Some(done) => done,
                None => return Ok(()),
            },
        };
        tracing::info!(
            table = %self.pipeline.table,
            position = %start,
            "streaming the changes of {} from {start}",
            self.pipeline.table
        );
        self.queued_to = start.clone();
        self.follow(start, until_caught_up).await
    }

    /// Waits for the oldest pages until at most `keep` are in flight, handing each page's end
    /// to the saver. A failed page fails the run: the pages after it are waited for, and the
    /// error says whether a new client heals it (it then goes on from the saved position).
    pub(super) async fn settle(&mut self, keep: usize) -> Result<(), ProducerError> {
        while let Some(page) = self.in_flight.oldest_beyond(keep) {
            match page.pending.acknowledged().await {
                Ok(report) => {
                    self.saver.advance(SavedPosition::Binlog(page.end)).await?;
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

    /// Under `on_error = "fail"`: what was queued before is settled and saved, and the refusal
    /// is the outcome.
    pub(super) async fn refuse(&mut self, refused: RowRefused) -> Result<(), ProducerError> {
        tracing::error!("{refused}");
        self.settle(0).await?;
        Err(refused.into())
    }
}
