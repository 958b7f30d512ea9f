//! The producer loop: read a page after the last page read, queue its records, and move the
//! watermark past each page once Kafka has acknowledged all of it (at least once), or once the
//! transaction carrying it has committed (exactly once, see `transaction`).
//!
//! Invariant: the watermark never passes a row Kafka has not acknowledged (committed, under
//! exactly-once). Up to `PAGES_IN_FLIGHT` pages are queued at once, acknowledged in order; while
//! they are in flight the next page is already read, so the database, the encoding and Kafka
//! work at the same time. When a page or a transaction fails, the pages after it are waited for,
//! an open transaction is aborted, and everything from the watermark on is read and sent again,
//! in order, so each row's latest state is also its last record; failures in a row wait longer
//! each time (see `failure`), and one that cannot heal stops the producer. At least once, the
//! watermark is saved beside the loop (see `watermark_saver`), so a crash re-sends at most the
//! pages in flight and those acknowledged during the last save; exactly once, a crash leaves an
//! open transaction that the next start aborts.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use sluice_common::acls::{self, Acl};
use sluice_common::dead_letter::{DeadLetter, Stage};
use sluice_common::deletes::format_deleted_at;
use sluice_common::events::{ErrorKind, Event};
use sluice_common::mysql;
use sluice_common::retry::{Policy, Transient};
use sluice_common::settings::{KafkaSettings, MysqlSettings, OnError, ProducerSettings};
use sluice_common::shutdown::Shutdown;
use sluice_common::watermark::{Watermark, WatermarkStore};
use sqlx::mysql::MySqlRow;
use sqlx::MySqlPool;

use crate::delete_sweep::DeleteSweep;
use crate::encode::RecordEncoder;
use crate::error::{ProducerError, RowRefused};
use crate::events::{ClientRenewing, PublishFailed};
use crate::failure::{needs_new_client, permanent, StaleClient, PUBLISH_POLICY};
use crate::metrics::ProducerMetrics;
use crate::page_reader::{PageReader, ReadAhead, PAGE_BYTES};
use crate::progress::Progress;
use crate::publish::{PageReport, PageSend, PendingPage, Publisher};
use crate::source::keyset::KeysetQuery;
use crate::source::read_bound::ReadBound;
use crate::source::row;
use crate::standby::{self, ProducerLock};
use crate::transaction::{TransactionError, Transactions};
use crate::watermark_saver::WatermarkSaver;
use crate::watermark_topic::WatermarkTopic;

/// How long reading the watermark topic at start may take, a broker coming up included.
const WATERMARK_TOPIC_PATIENCE: Duration = Duration::from_secs(120);

/// A Kafka client that ran this long before it failed for good counts as healed: the next
/// renewal waits the shortest pause again.
const CLIENT_HEALED_AFTER: Duration = Duration::from_secs(120);

/// Pause after a failed query while waiting for the first snapshot's bound.
const RETRY_PAUSE: Duration = Duration::from_secs(1);

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

/// A queued page waiting for its acknowledgements, and where the watermark goes after it.
pub(crate) struct InFlight {
    pub(crate) pending: PendingPage,
    pub(crate) end: Watermark,
    /// Rows of the table read for it; 0 for the deletes of a sweep.
    pub(crate) rows: usize,
}

/// The producer, ready to run; assembled by `startup::prepare`.
pub struct Pipeline {
    pub(crate) pool: MySqlPool,
    pub(crate) query: KeysetQuery,
    pub(crate) encoder: RecordEncoder,
    pub(crate) publisher: Publisher,
    pub(crate) store: WatermarkStore,
    /// Under exactly-once: the transactions, and the topic that keeps the watermark instead of
    /// `store`.
    pub(crate) transactions: Option<Transactions>,
    pub(crate) settings: ProducerSettings,
    pub(crate) table: String,
    pub(crate) progress: Progress,
    pub(crate) metrics: ProducerMetrics,
    /// The database's clock at the last page, for the watermark lag.
    pub(crate) database_now: Option<chrono::NaiveDateTime>,
    /// The read bound of the last page.
    pub(crate) last_bound: Option<chrono::NaiveDateTime>,
    /// Whether a first run reads the table in key order: its key is its primary key.
    pub(crate) snapshot_by_key: bool,
    /// Digits of a second the timestamp column keeps.
    pub(crate) timestamp_digits: i64,
    /// The largest key and value together the topic takes; a larger row is dead-lettered.
    pub(crate) record_limit: usize,
    /// Ready while the loop runs with its connections up.
    pub(crate) readiness: sluice_common::observe::Readiness,
    /// Where a new Kafka client connects, after a fatal error.
    pub(crate) kafka: KafkaSettings,
    /// The sweep for rows deleted outright, when it is on.
    pub(crate) sweep: Option<DeleteSweep>,
    /// Under `producer.standby`, the lock this producer holds while it publishes.
    pub(crate) lock: Option<ProducerLock>,
    /// The ACLs its settings need, to name the one a refused write lacks.
    pub(crate) acls: Vec<Acl>,
    /// The MySQL settings, to name the fix of a refused read.
    pub(crate) mysql: MysqlSettings,
}

impl Pipeline {
    /// Runs until shutdown is requested, or with `until_caught_up` until a page comes back short
    /// (every row up to the read bound is published); returns after the pages in flight are
    /// acknowledged and the watermark saved. A Kafka client that fails for good (librdkafka's
    /// fatal error, under exactly-once) or delivers nothing for `message.timeout.ms` (stuck
    /// without a partition leader, see `failure`) is replaced by a new one, which goes on from
    /// the last watermark (under exactly-once, it first registers the same transactional id,
    /// aborting the transaction left open); renewals in a row wait longer each time.
    pub async fn run(
        mut self,
        shutdown: Shutdown,
        until_caught_up: bool,
    ) -> Result<(), ProducerError> {
        // Standing by, the producer also stops once another holds the lock (see `standby`).
        let (shutdown, lost) = standby::stop_when_lost(self.lock.as_ref(), shutdown);
        let outcome = self.run_renewing(shutdown, until_caught_up).await;
        standby::outcome(&lost, outcome)
    }

    /// [`run`](Self::run), renewing the Kafka client when it fails for good.
    async fn run_renewing(
        &mut self,
        shutdown: Shutdown,
        until_caught_up: bool,
    ) -> Result<(), ProducerError> {
        let mut renewals = PUBLISH_POLICY.pauses();
        loop {
            let started = std::time::Instant::now();
            let error = match self.run_client(&shutdown, until_caught_up).await {
                Err(error) if error.is_transient() => error,
                outcome => return outcome,
            };
            if let Some(sweep) = &mut self.sweep {
                sweep.after_failure();
            }
            if started.elapsed() >= CLIENT_HEALED_AFTER {
                renewals.reset();
            }
            let pause = renewals.pause();
            ClientRenewing {
                error: &error,
                pause,
            }
            .emit();
            if shutdown.sleep(pause).await || !self.renew_client(&shutdown).await? {
                return Ok(());
            }
        }
    }

    /// Replaces the Kafka client: at least once, a new producer; exactly once, a new producer
    /// with the same transactional id, registered (which fences the old one). `false` when
    /// shutdown was requested meanwhile.
    async fn renew_client(&mut self, shutdown: &Shutdown) -> Result<bool, ProducerError> {
        // A new client registers the transactional id, which would fence the lock's holder.
        if self.lock.as_ref().is_some_and(|lock| !lock.held()) {
            return Ok(false);
        }
        if self.transactions.is_none() {
            self.publisher = Publisher::new(&self.kafka, &self.settings, None)
                .map_err(ProducerError::kafka("creating a new Kafka producer"))?;
            return Ok(true);
        }
        let id = self.settings.transactional_id_for(&self.kafka.topic);
        let publisher = Publisher::new(&self.kafka, &self.settings, Some(&id))
            .map_err(ProducerError::kafka("creating a new Kafka producer"))?;
        if crate::transactional_id::init_transactions(&publisher, &self.kafka, &id, shutdown)
            .await?
            .is_none()
        {
            return Ok(false);
        }
        self.publisher = publisher;
        self.transactions = Some(Transactions::new(WatermarkTopic::new(&self.kafka, &id)));
        Ok(true)
    }

    /// [`run`](Self::run) with one Kafka client, from the watermark the last run left.
    async fn run_client(
        &mut self,
        shutdown: &Shutdown,
        until_caught_up: bool,
    ) -> Result<(), ProducerError> {
        let saved = self.load_watermark().await?;
        // A run until caught up publishes the changes and stops: it sweeps for no deleted row,
        // so it needs no published keys either (and saves none).
        if !until_caught_up {
            self.restore_published_keys().await?;
        }
        let commit_lag = Duration::from_millis(self.settings.commit_lag_ms);
        let mut read_bound = ReadBound::new(&self.pool, commit_lag)
            .await
            .for_fractional_digits(self.timestamp_digits);
        let start = match saved {
            Some(saved) => saved,
            None => match self.first_position(&mut read_bound, shutdown).await? {
                Some(start) => start,
                None => return Ok(()),
            },
        };
        // The position up to which every record is acknowledged (at least once) or committed
        // (exactly once): where reading starts again after a failure.
        let mut acknowledged = start;
        let mut saver = self
            .transactions
            .is_none()
            .then(|| WatermarkSaver::start(self.store.clone()));
        tracing::info!(
            "producing {} from {acknowledged} (schema id {})",
            self.table,
            self.encoder.schema_id()
        );
        let mut first_reader = Box::new(PageReader::new(
            self.pool.clone(),
            self.query.clone(),
            read_bound,
            self.settings.batch_size,
            self.metrics.poll_seconds.clone(),
        ));
        first_reader.fit_pages_to(PAGE_BYTES / FIRST_PAGE_ROWS);
        let mut reading = ReadAhead::Idle(first_reader);
        // What a row of the last page queued weighed, encoded; the pages after it are sized by it.
        let mut row_bytes = None;
        let poll_interval = Duration::from_millis(self.settings.poll_interval_ms);
        self.readiness.set(true);
        // Where the next page starts: the end of the last page queued.
        let mut read_from = acknowledged;
        let mut in_flight = VecDeque::new();
        // The pause before the next try after failures in a row.
        let mut backoff = PUBLISH_POLICY.pauses();
        while !shutdown.requested() {
            // The page read ahead while the last one was queued, or else one read now.
            let (mut reader, read_ahead) = reading.finish().await?;
            if let Some(bytes) = row_bytes.take() {
                reader.fit_pages_to(bytes);
            }
            let read = match read_ahead {
                Some(read) => read,
                None => reader.fetch(&read_from).await,
            };
            reading = ReadAhead::Idle(reader);
            let page = match read {
                Ok(page) => page,
                Err(error) => {
                    self.readiness.set(false);
                    // A grant taken away, an account locked: no wait heals it.
                    if let Some(fix) = mysql::fix_for(&error, mysql::place(&self.mysql)) {
                        return Err(ProducerError::MysqlReadRefused {
                            table: self.table.clone(),
                            source: error,
                            fix,
                        });
                    }
                    let what = format!("MySQL to read {}", self.table);
                    backoff
                        .wait_after(ErrorKind::Mysql, &what, &error, shutdown)
                        .await;
                    continue;
                }
            };
            self.readiness.set(true);
            self.database_now = Some(page.now);
            self.last_bound = Some(page.bound);
            let caught_up = page.caught_up();
            let found_changes = !page.rows.is_empty();
            let end = page
                .end(self.query.layout())
                .map_err(|source| ProducerError::Mysql {
                    what: format!("the last row of a page of {}", self.table),
                    source,
                })?;
            if let Some(end) = end {
                if !caught_up {
                    reading = reading.start(end);
                }
                if let Some(transactions) = &mut self.transactions {
                    transactions.before_page(&self.publisher)?;
                }
                let (pending, bytes) = match self.queue_page(&page.rows).await {
                    Ok(queued) => queued,
                    Err(refused) => {
                        drop(page);
                        reading.finish().await?;
                        return self
                            .stop_at_refusal(refused, &mut in_flight, &mut acknowledged, saver)
                            .await;
                    }
                };
                row_bytes = Some(bytes / page.rows.len().max(1));
                in_flight.push_back(InFlight {
                    pending,
                    end,
                    rows: page.rows.len(),
                });
                read_from = end;
            }
            drop(page);
            // A sweep step only when caught up: no page is read ahead, and the step's deletes
            // are queued before the next page of changes is read (see `delete_sweep`).
            if caught_up && !until_caught_up {
                self.sweep_step(&mut in_flight, read_from).await?;
            }
            let keep = if caught_up { 0 } else { PAGES_IN_FLIGHT - 1 };
            let settled = self
                .settle_then_commit(
                    &mut in_flight,
                    keep,
                    caught_up,
                    read_from,
                    &mut acknowledged,
                    saver.as_mut(),
                )
                .await?;
            if let Err(error) = settled {
                let pause = backoff.pause();
                self.recover(&mut in_flight, &error, Some(pause)).await?;
                // Whatever was read ahead follows pages that are read again.
                let (reader, _) = reading.finish().await?;
                reading = ReadAhead::Idle(reader);
                read_from = acknowledged;
                if shutdown.sleep(pause).await {
                    break;
                }
                continue;
            }
            backoff.reset();
            self.show_watermark(&acknowledged, caught_up);
            if caught_up {
                self.show_held_back().await;
            }
            self.progress.maybe_log(&self.metrics, &acknowledged, false);
            // While changes keep coming the next poll comes sooner: a change then waits for the
            // poll after its commit, not for a whole interval.
            let sweeping = self.sweep.as_ref().is_some_and(DeleteSweep::sweeping);
            let pause = if found_changes || sweeping {
                poll_interval.min(POLL_WHILE_CHANGING)
            } else {
                poll_interval
            };
            if caught_up && (until_caught_up || shutdown.sleep(pause).await) {
                break;
            }
        }
        let settled = self
            .settle_then_commit(
                &mut in_flight,
                0,
                true,
                read_from,
                &mut acknowledged,
                saver.as_mut(),
            )
            .await?;
        if let Err(error) = settled {
            self.recover(&mut in_flight, &error, None).await?;
        }
        reading.finish().await?;
        self.readiness.set(false);
        self.flush_at_stop()?;
        if let Some(saver) = saver {
            saver.finish().await?;
        }
        self.save_published_keys().await;
        self.progress.maybe_log(&self.metrics, &acknowledged, true);
        match &self.transactions {
            Some(transactions) => tracing::info!(
                "producer stopped; watermark committed in topic {}",
                transactions.topic().topic
            ),
            None => tracing::info!(
                "producer stopped; watermark saved in {}",
                self.store.path().display()
            ),
        }
        Ok(())
    }

    /// The watermark the last run left: from the watermark topic under exactly-once (read
    /// after `init_transactions` ended whatever an earlier producer left open), else from the
    /// file. A pipeline switched to exactly-once starts from its file's watermark until its
    /// first transaction commits one to the topic.
    async fn load_watermark(&self) -> Result<Option<Watermark>, ProducerError> {
        let Some(transactions) = &self.transactions else {
            return Ok(self.store.load()?);
        };
        let topic = transactions.topic().clone();
        let loaded =
            tokio::task::spawn_blocking(move || topic.load(WATERMARK_TOPIC_PATIENCE)).await??;
        if loaded.is_some() {
            return Ok(loaded);
        }
        let from_file = self.store.load()?;
        if let Some(watermark) = &from_file {
            tracing::info!(
                "exactly-once: no watermark in topic {} yet; starting from {watermark}, the one \
                 in {}",
                transactions.topic().topic,
                self.store.path().display()
            );
        }
        Ok(from_file)
    }

    /// Settles the pages in flight down to `keep`, then, under exactly-once, commits the open
    /// transaction if it is due, its watermark `end` (the end of the last page queued).
    /// `Ok(Err(..))` when a page or the transaction failed.
    async fn settle_then_commit(
        &mut self,
        in_flight: &mut VecDeque<InFlight>,
        keep: usize,
        caught_up: bool,
        end: Watermark,
        acknowledged: &mut Watermark,
        saver: Option<&mut WatermarkSaver>,
    ) -> Result<Result<(), KafkaError>, ProducerError> {
        let settled = self.settle(in_flight, keep, acknowledged, saver).await?;
        if settled.is_err() {
            return Ok(settled);
        }
        self.commit_if_due(caught_up, end, in_flight, acknowledged)
            .await
    }

    /// Under exactly-once, commits the open transaction when it is due (always when
    /// `caught_up`): its watermark is `end`, the end of the last page queued, and every page in
    /// flight is then acknowledged. `Ok(Err(..))` when the transaction was aborted; fatal when
    /// the producer cannot go on.
    async fn commit_if_due(
        &mut self,
        caught_up: bool,
        end: Watermark,
        in_flight: &mut VecDeque<InFlight>,
        acknowledged: &mut Watermark,
    ) -> Result<Result<(), KafkaError>, ProducerError> {
        let Some(transactions) = &mut self.transactions else {
            return Ok(Ok(()));
        };
        if !transactions.due(caught_up) {
            return Ok(Ok(()));
        }
        match transactions.commit(&self.publisher, end).await {
            Ok(()) => {}
            Err(TransactionError::Aborted(error)) => return Ok(Err(error)),
            Err(end) => return Err(end.into()),
        }
        if let Some(sweep) = &self.sweep {
            sweep.confirm();
        }
        // The commit waited for every record: what is left in flight is answered.
        let settled = self.settle(in_flight, 0, acknowledged, None).await?;
        if settled.is_ok() {
            *acknowledged = end;
        }
        Ok(settled)
    }

    /// Where a producer without a saved watermark starts: a snapshot of the rows up to the
    /// current read bound in key order when the key is the table's primary key, else the
    /// beginning in timestamp order. `None` when shutdown came while the database was away; an
    /// error when the database refuses the read.
    async fn first_position(
        &self,
        read_bound: &mut ReadBound,
        shutdown: &Shutdown,
    ) -> Result<Option<Watermark>, ProducerError> {
        if !self.snapshot_by_key {
            tracing::info!(
                "no saved watermark: reading {} from the beginning in {} order, since {} is not \
                 its primary key (a first snapshot in key order reads the table's own index)",
                self.table,
                self.settings.timestamp_column,
                self.settings.key_column
            );
            return Ok(Some(Watermark::beginning()));
        }
        let mut pauses = Policy::steady(RETRY_PAUSE).pauses();
        loop {
            match read_bound.current(&self.pool).await {
                Ok((bound, _)) => return Ok(Some(Watermark::snapshot_up_to(bound.and_utc()))),
                Err(error) => {
                    if let Some(fix) = mysql::fix_for(&error, mysql::place(&self.mysql)) {
                        return Err(ProducerError::MysqlReadRefused {
                            table: self.table.clone(),
                            source: error,
                            fix,
                        });
                    }
                    let what = "MySQL to read the bound of the first snapshot";
                    if pauses
                        .wait_after(ErrorKind::Mysql, what, &error, shutdown)
                        .await
                    {
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// Waits for the oldest pages until at most `keep` are in flight; the first failed page
    /// stops it (`Ok(Err(..))`). At least once (a `saver`), the watermark after each page moves
    /// `acknowledged` and goes to the saver, and one that cannot be saved is fatal; exactly once,
    /// only a commit moves it.
    async fn settle(
        &self,
        in_flight: &mut VecDeque<InFlight>,
        keep: usize,
        acknowledged: &mut Watermark,
        mut saver: Option<&mut WatermarkSaver>,
    ) -> Result<Result<(), KafkaError>, ProducerError> {
        while in_flight.len() > keep {
            let Some(page) = in_flight.pop_front() else {
                break;
            };
            match page.pending.acknowledged().await {
                Ok(report) => {
                    if let Some(saver) = saver.as_deref_mut() {
                        saver.advance(page.end).await?;
                        *acknowledged = page.end;
                    }
                    self.count_page(page.rows, report);
                }
                Err(error) => return Ok(Err(error)),
            }
        }
        // At least once, every delete queued is acknowledged once nothing is in flight.
        if let (Some(sweep), Some(_), true) = (&self.sweep, saver, in_flight.is_empty()) {
            sweep.confirm();
        }
        Ok(Ok(()))
    }

    /// After a failed page or transaction: waits for the pages queued after it, whose rows are
    /// read and sent again from the watermark whatever their outcome, and aborts the open
    /// transaction, if any (a client to be replaced leaves it to the new one). Fatal only when
    /// the producer cannot go on.
    async fn recover(
        &mut self,
        in_flight: &mut VecDeque<InFlight>,
        error: &KafkaError,
        pause: Option<Duration>,
    ) -> Result<(), ProducerError> {
        let abandoned = in_flight.len() + 1;
        for page in in_flight.drain(..) {
            let _ = page.pending.acknowledged().await;
        }
        if let Some(sweep) = &mut self.sweep {
            sweep.after_failure();
        }
        if needs_new_client(error) {
            // Not aborted here: an abort may wait on the same stuck client, and the new client
            // registering the transactional id aborts what this one left open.
            self.metrics.produce_errors.inc();
            return Err(StaleClient(error.clone()).into());
        }
        if let Some(transactions) = &mut self.transactions {
            transactions.abort(&self.publisher).await?;
        }
        if let Some(missing) = acls::publish_refusal(&self.acls, error) {
            return Err(ProducerError::MissingAcl(missing));
        }
        if let Some(why) = permanent(error) {
            return Err(ProducerError::PublishRefused {
                topic: self.publisher.topic().to_owned(),
                error: error.clone(),
                why,
            });
        }
        PublishFailed {
            error,
            abandoned,
            pause,
            produce_errors: &self.metrics.produce_errors,
        }
        .emit();
        Ok(())
    }

    /// Waits for every record queued to be answered, before the producer stops.
    fn flush_at_stop(&self) -> Result<(), ProducerError> {
        self.publisher
            .flush(Duration::from_secs(30))
            .map_err(ProducerError::kafka(format!(
                "flushing the records queued for topic {} at stop",
                self.publisher.topic()
            )))
    }

    fn count_page(&self, rows: usize, report: PageReport) {
        self.metrics.rows_read.inc_by(rows as u64);
        self.metrics.records_produced.inc_by(report.produced);
        self.metrics.deletes_published.inc_by(report.deletes);
        self.metrics
            .dead_letters
            .with_label_values(&[Stage::Encode.as_str()])
            .inc_by(report.dead);
        if rows > 0 {
            self.metrics.batches.inc();
            self.metrics.batch_rows.observe(rows as f64);
        }
    }

    /// The watermark, and the lag: the database clock minus the time up to which every row is
    /// published. After a short page that is the read bound (nothing older is left to read), so
    /// a quiet table does not look like a stalled pipeline; after a full page, the watermark.
    fn show_watermark(&self, cursor: &Watermark, caught_up: bool) {
        let at = cursor.last_updated;
        self.metrics
            .watermark_seconds
            .set(at.timestamp_micros() as f64 / 1e6);
        let published_through = match self.last_bound {
            Some(bound) if caught_up => at.max(bound.and_utc()),
            _ => at,
        };
        if let Some(now) = self.database_now {
            let lag = now.and_utc() - published_through;
            self.metrics
                .watermark_lag_seconds
                .set(lag.num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6);
        }
    }

    /// How long the oldest change past the read bound has waited, by the database's clock.
    /// Best effort: a failed query leaves the figure as it was.
    async fn show_held_back(&self) {
        let (Some(bound), Some(now)) = (self.last_bound, self.database_now) else {
            return;
        };
        match self.query.oldest_held_back(&self.pool, bound).await {
            Ok(oldest) => {
                let waited = oldest.map_or(chrono::TimeDelta::zero(), |at| {
                    (now - at).max(chrono::TimeDelta::zero())
                });
                self.metrics
                    .held_back_seconds
                    .set(waited.num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6);
            }
            Err(error) => tracing::debug!("reading the oldest change held back failed: {error}"),
        }
    }

    /// Encodes and queues every row of the page; its answers are awaited later. Also returns
    /// the bytes queued, keys and values. Under `on_error = "fail"`, the first row that cannot
    /// be published ends the page with its refusal.
    async fn queue_page(&self, rows: &[MySqlRow]) -> Result<(PendingPage, usize), RowRefused> {
        let mut page = self.publisher.begin_page();
        let (mut key, mut payload) = (String::new(), Vec::new());
        let mut bytes = 0;
        for row in rows {
            payload.clear();
            match self.queue_row(&mut page, row, &mut key, &mut payload).await {
                Ok(()) => {}
                Err(Unpublished::Kafka(error)) => return Ok((page.queued(Some(error)), bytes)),
                Err(Unpublished::Refused(refused)) => return Err(refused),
            }
            bytes += key.len() + payload.len();
        }
        Ok((page.queued(None), bytes))
    }

    /// Under `on_error = "fail"`, after a row was refused: the pages before its page are
    /// settled and their watermark kept (at least once), or the open transaction aborted
    /// (exactly once: its pages are published again at the next start), and the refusal is the
    /// producer's outcome.
    async fn stop_at_refusal(
        &mut self,
        refused: RowRefused,
        in_flight: &mut VecDeque<InFlight>,
        acknowledged: &mut Watermark,
        saver: Option<WatermarkSaver>,
    ) -> Result<(), ProducerError> {
        tracing::error!("{refused}");
        match &mut self.transactions {
            Some(transactions) => {
                for page in in_flight.drain(..) {
                    let _ = page.pending.acknowledged().await;
                }
                transactions.abort(&self.publisher).await?;
            }
            None => {
                let mut saver = saver;
                let _ = self
                    .settle(in_flight, 0, acknowledged, saver.as_mut())
                    .await?;
                if let Some(saver) = saver {
                    saver.finish().await?;
                }
            }
        }
        self.flush_at_stop()?;
        self.readiness.set(false);
        Err(refused.into())
    }

    /// Queues the row's record, or its dead letter when it cannot be encoded or is larger than
    /// the topic takes; `key` and `payload` are buffers reused across the page.
    async fn queue_row(
        &self,
        page: &mut PageSend<'_>,
        row: &MySqlRow,
        key: &mut String,
        payload: &mut Vec<u8>,
    ) -> Result<(), Unpublished> {
        key.clear();
        let layout = self.query.layout();
        let encoded = match row::key(row, layout) {
            Ok(id) => {
                let _ = write!(key, "{id}");
                match row::deleted_at(row, layout) {
                    Ok(Some(at)) => {
                        page.tombstone(key, &format_deleted_at(at))
                            .await
                            .map_err(Unpublished::Kafka)?;
                        if let Some(sweep) = &self.sweep {
                            sweep.deleted(id);
                        }
                        return Ok(());
                    }
                    Ok(None) => {
                        // Counted before it is queued: a key counted in excess costs at most
                        // one more delete (see `published_keys`).
                        if let Some(sweep) = &self.sweep {
                            sweep.published(id);
                        }
                        self.encoder
                            .encode(row, payload)
                            .map_err(|error| error.to_string())
                    }
                    Err(error) => Err(format!("its soft-delete mark cannot be read: {error}")),
                }
            }
            Err(error) => Err(format!("key column cannot be read: {error}")),
        };
        let reason = match encoded {
            Ok(()) if key.len() + payload.len() > self.record_limit => {
                too_large(key.len() + payload.len(), self.record_limit)
            }
            Ok(()) => match page.record(key, payload).await {
                Err(KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge)) => {
                    too_large(key.len() + payload.len(), self.record_limit)
                }
                sent => return sent.map_err(Unpublished::Kafka),
            },
            Err(reason) => reason,
        };
        let origin = format!("{} {}={key}", self.table, self.settings.key_column);
        if self.settings.on_error == OnError::Fail {
            return Err(Unpublished::Refused(RowRefused { origin, reason }));
        }
        tracing::warn!(
            "row {origin} cannot be published ({reason}); sent to the dead-letter topic"
        );
        let mut json = row::to_json(row, self.encoder.plan()).to_string();
        if key.len() + json.len() > self.record_limit {
            // The row itself would not fit either: its key and the reason say which it was.
            json = serde_json::json!({ "omitted": format!("the row as JSON is {} bytes", json.len()) })
                .to_string();
        }
        let letter = DeadLetter {
            stage: Stage::Encode,
            reason,
            origin,
        };
        page.dead_letter(key, json.as_bytes(), &letter)
            .await
            .map_err(Unpublished::Kafka)
    }
}

/// Why a row was not queued.
enum Unpublished {
    /// Kafka did not take its record (or its dead letter): the page fails and is sent again.
    Kafka(KafkaError),
    /// It cannot be published, and `on_error = "fail"`.
    Refused(RowRefused),
}

/// The reason a record over the topic's limit is dead-lettered.
fn too_large(bytes: usize, limit: usize) -> String {
    format!(
        "the record is {bytes} bytes, more than the {limit} the topic takes (max.message.bytes); \
         raise the topic's max.message.bytes and the producer's message.max.bytes, or shrink the row"
    )
}
