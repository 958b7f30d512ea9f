//! One Kafka client's run of the producer loop, read top to bottom: read the next page, queue
//! its records, sweep for deletes when caught up, settle what Kafka has answered, move the
//! watermark, rest; after a failure, go back to the watermark and read again.
//!
//! Invariant (see the `poll` module): `acknowledged` never passes a row Kafka has not
//! acknowledged (committed, under exactly-once); `read_from` is where the next page starts, at
//! or after it.

use std::time::Duration;

use rdkafka::error::KafkaError;
use sluice_common::events::ErrorKind;
use sluice_common::mysql;
use sluice_common::retry::Pauses;
use sluice_common::settings::ChangeSource;
use sluice_common::shutdown::Shutdown;

use super::in_flight::InFlightPages;
use super::page_reader::{Page, PageReader, ReadError, PAGE_BYTES};
use super::pipeline::Pipeline;
use super::read_ahead::ReadAhead;
use crate::error::{ProducerError, RowRefused};
use crate::publish::failure_policy::PUBLISH_POLICY;
use crate::source::read_bound::ReadBound;
use crate::sweep::DeleteSweep;
use crate::watermark::saver::WatermarkSaver;
use crate::watermark::Watermark;

/// The pause before the next poll after one that found changes, when shorter than
/// `poll_interval_ms`; a poll that finds none waits the whole interval.
const POLL_WHILE_CHANGING: Duration = Duration::from_millis(100);

/// Rows of the first pages, read before any page has shown what a row weighs: light rows then
/// grow to `batch_size` pages from the third page on, heavy ones stay within `PAGE_BYTES`.
const FIRST_PAGE_ROWS: usize = 500;

/// Pages queued and not yet acknowledged, at most. A queued page holds only librdkafka's copies
/// of its records (about 350 KB for 5 000 products), and with one page in flight the producer
/// spent most of its time waiting for `linger.ms` and the broker's round trip.
const PAGES_IN_FLIGHT: usize = 8;

impl Pipeline {
    /// [`run`](Self::run) with one Kafka client, from the watermark the last run left.
    pub(super) async fn run_client(
        &mut self,
        shutdown: &Shutdown,
        until_caught_up: bool,
    ) -> Result<(), ProducerError> {
        if self.settings.source == ChangeSource::Binlog {
            return self.run_binlog(shutdown, until_caught_up).await;
        }
        match ClientRun::start(self, shutdown, until_caught_up).await? {
            Some(run) => run.run().await,
            None => Ok(()),
        }
    }
}

/// The loop's state while one Kafka client publishes.
pub(super) struct ClientRun<'p> {
    pub(super) pipeline: &'p mut Pipeline,
    pub(super) shutdown: &'p Shutdown,
    /// Stop once a page comes back short, rather than at shutdown.
    until_caught_up: bool,
    /// The position up to which every record is acknowledged (at least once) or committed
    /// (exactly once): where reading starts again after a failure.
    pub(super) acknowledged: Watermark,
    /// Where the next page starts: the end of the last page queued.
    pub(super) read_from: Watermark,
    /// The pages queued and not yet answered, oldest first.
    pub(super) in_flight: InFlightPages,
    /// At least once, the task saving each acknowledged watermark to the file.
    pub(super) saver: Option<WatermarkSaver>,
    pub(super) reading: ReadAhead,
    /// What a row of the last page queued weighed, encoded; the pages after it are sized by it.
    row_bytes: Option<usize>,
    /// The pause before the next try after failures in a row.
    backoff: Pauses,
}

impl<'p> ClientRun<'p> {
    /// Ready to read from the watermark the last run left, or from the first position when
    /// there is none; `None` when shutdown came while the database was away.
    pub(super) async fn start(
        pipeline: &'p mut Pipeline,
        shutdown: &'p Shutdown,
        until_caught_up: bool,
    ) -> Result<Option<Self>, ProducerError> {
        let saved = pipeline.load_watermark().await?;
        // A run until caught up publishes the changes and stops: it sweeps for no deleted row,
        // so it needs no published keys either (and saves none).
        if !until_caught_up {
            pipeline.restore_published_keys().await?;
        }
        let commit_lag = Duration::from_millis(pipeline.settings.commit_lag_ms);
        let mut read_bound = ReadBound::new(&pipeline.pool, commit_lag)
            .await
            .for_fractional_digits(pipeline.timestamp_digits);
        let start = match saved {
            Some(saved) => pipeline.fit_to_key(saved)?,
            None => match pipeline.first_position(&mut read_bound, shutdown).await? {
                Some(start) => start,
                None => return Ok(None),
            },
        };
        let saver = pipeline
            .transactions
            .is_none()
            .then(|| WatermarkSaver::start(pipeline.store.clone()));
        tracing::info!(
            table = %pipeline.table,
            watermark = %start,
            schema_id = pipeline.encoder.schema_id(),
            "producing {} from {start} (schema id {})",
            pipeline.table,
            pipeline.encoder.schema_id()
        );
        let mut reader = PageReader::new(
            pipeline.pool.clone(),
            pipeline.query.clone(),
            read_bound,
            pipeline.settings.batch_size,
            pipeline.metrics.poll_seconds.clone(),
        )
        .watching(pipeline.follower.watch());
        reader.fit_pages_to(PAGE_BYTES / FIRST_PAGE_ROWS);
        pipeline.readiness.set(true);
        Ok(Some(Self {
            pipeline,
            shutdown,
            until_caught_up,
            acknowledged: start.clone(),
            read_from: start,
            in_flight: InFlightPages::default(),
            saver,
            reading: ReadAhead::new(reader),
            row_bytes: None,
            backoff: PUBLISH_POLICY.pauses(),
        }))
    }

    /// Runs until shutdown, or until caught up; then settles what is in flight, saves the
    /// watermark and stops.
    pub(super) async fn run(mut self) -> Result<(), ProducerError> {
        while !self.shutdown.requested() {
            let Some(page) = self.next_page().await? else {
                continue;
            };
            let caught_up = page.caught_up();
            let found_changes = !page.rows.is_empty();
            if let Err(refused) = self.queue(page, caught_up).await? {
                return self.stop_at_refusal(refused).await;
            }
            // A sweep step only when caught up: no page is read ahead, and the step's deletes
            // are queued before the next page of changes is read (see `sweep`).
            if caught_up && !self.until_caught_up {
                if let Some(pending) = self.pipeline.sweep_step().await? {
                    self.in_flight.push(pending, self.read_from.clone(), 0);
                }
            }
            let keep = if caught_up { 0 } else { PAGES_IN_FLIGHT - 1 };
            if let Err(error) = self.settle_then_commit(keep, caught_up).await? {
                if self.read_again_after(&error).await? {
                    break;
                }
                continue;
            }
            self.backoff.reset();
            self.pipeline
                .show_progress(&self.acknowledged, caught_up)
                .await;
            if caught_up && self.rest(found_changes).await {
                break;
            }
        }
        self.finish().await
    }

    /// The next page from `read_from`; `None` after a read that failed and was waited for.
    async fn next_page(&mut self) -> Result<Option<Page>, ProducerError> {
        let read = self
            .reading
            .next(&self.read_from, self.row_bytes.take())
            .await?;
        let pipeline = &mut *self.pipeline;
        match read {
            Ok(page) => {
                pipeline.readiness.set(true);
                pipeline.database_now = Some(page.now);
                pipeline.last_bound = Some(page.bound);
                Ok(Some(page))
            }
            Err(ReadError::TableChanged) => {
                self.follow_table_change().await?;
                Ok(None)
            }
            Err(ReadError::Database(error)) => {
                pipeline.readiness.set(false);
                // A grant taken away, an account locked: no wait heals it.
                if let Some(fix) = mysql::fix_for(&error, mysql::place(&pipeline.mysql)) {
                    return Err(ProducerError::MysqlReadRefused {
                        table: pipeline.table.clone(),
                        source: error,
                        fix,
                    });
                }
                let what = format!("MySQL to read {}", pipeline.table);
                self.backoff
                    .wait_after(ErrorKind::Mysql, &what, &error, self.shutdown)
                    .await;
                Ok(None)
            }
        }
    }

    /// Queues the page's records (reading the next page meanwhile, unless this one is the
    /// last), and moves `read_from` past it. `Ok(Err(..))` when a row was refused under
    /// `on_error = "fail"`.
    async fn queue(
        &mut self,
        page: Page,
        caught_up: bool,
    ) -> Result<Result<(), RowRefused>, ProducerError> {
        let end = page
            .end(&self.pipeline.query)
            .map_err(|source| ProducerError::Mysql {
                what: format!("the last row of a page of {}", self.pipeline.table),
                source,
            })?;
        let Some(end) = end else {
            return Ok(Ok(()));
        };
        if !caught_up {
            self.reading.start(end.clone());
        }
        if let Some(transactions) = &mut self.pipeline.transactions {
            transactions.before_page(&self.pipeline.publisher)?;
        }
        let (pending, bytes) = match self.pipeline.queue_page(&page.rows).await {
            Ok(queued) => queued,
            Err(refused) => {
                drop(page);
                self.reading.discard().await?;
                return Ok(Err(refused));
            }
        };
        self.row_bytes = Some(bytes / page.rows.len().max(1));
        self.in_flight.push(pending, end.clone(), page.rows.len());
        self.read_from = end;
        Ok(Ok(()))
    }

    /// After a failed page or transaction: recovers, drops what was read ahead, goes back to
    /// the watermark and waits the next pause. `true` when shutdown came meanwhile.
    pub(super) async fn read_again_after(
        &mut self,
        error: &KafkaError,
    ) -> Result<bool, ProducerError> {
        let pause = self.backoff.pause();
        self.recover(error, Some(pause)).await?;
        // Whatever was read ahead follows pages that are read again.
        self.reading.discard().await?;
        self.read_from = self.acknowledged.clone();
        Ok(self.shutdown.sleep(pause).await)
    }

    /// Waits for the next poll, caught up; `true` when the run is over (until caught up, or
    /// shutdown). While changes keep coming the next poll comes sooner: a change then waits
    /// for the poll after its commit, not for a whole interval.
    async fn rest(&self, found_changes: bool) -> bool {
        if self.until_caught_up {
            return true;
        }
        let poll_interval = Duration::from_millis(self.pipeline.settings.poll_interval_ms);
        let sweeping = self
            .pipeline
            .sweep
            .as_ref()
            .is_some_and(DeleteSweep::sweeping);
        let pause = if found_changes || sweeping {
            poll_interval.min(POLL_WHILE_CHANGING)
        } else {
            poll_interval
        };
        self.shutdown.sleep(pause).await
    }

    /// Settles every page in flight and commits, saves the watermark and the published keys.
    async fn finish(mut self) -> Result<(), ProducerError> {
        if let Err(error) = self.settle_then_commit(0, true).await? {
            self.recover(&error, None).await?;
        }
        self.reading.discard().await?;
        let pipeline = &mut *self.pipeline;
        pipeline.readiness.set(false);
        pipeline.flush_at_stop()?;
        if let Some(saver) = self.saver.take() {
            saver.finish().await?;
        }
        pipeline.save_published_keys().await;
        pipeline
            .progress
            .maybe_log(&pipeline.metrics, &self.acknowledged, true);
        match &pipeline.transactions {
            Some(transactions) => tracing::info!(
                topic = %transactions.topic().topic,
                watermark = %self.acknowledged,
                "producer stopped; watermark committed in topic {}",
                transactions.topic().topic
            ),
            None => tracing::info!(
                file = %pipeline.store.path().display(),
                watermark = %self.acknowledged,
                "producer stopped; watermark saved in {}",
                pipeline.store.path().display()
            ),
        }
        Ok(())
    }
}
