//! The producer loop: read a page after the watermark, publish it, wait for every
//! acknowledgement, then move the watermark.
//!
//! Invariant: the watermark never passes a row Kafka has not acknowledged. A failed page is sent
//! again whole; a crash re-sends at most the page in flight. While a full page is being
//! acknowledged the next one is already read, so the database and Kafka work at the same time.

use std::time::Duration;

use sluice_common::dead_letter::{DeadLetter, Stage};
use sluice_common::settings::ProducerSettings;
use sluice_common::shutdown::Shutdown;
use sluice_common::watermark::{Watermark, WatermarkStore};
use sqlx::mysql::MySqlRow;
use sqlx::MySqlPool;

use crate::encode::RecordEncoder;
use crate::metrics::ProducerMetrics;
use crate::progress::Progress;
use crate::publish::{Outgoing, PageReport, Publisher};
use crate::source::columns::ColumnPlan;
use crate::source::keyset::KeysetQuery;
use crate::source::read_bound::ReadBound;
use crate::source::row;

/// Pause after a failed query or publish before trying the same page again.
const RETRY_PAUSE: Duration = Duration::from_secs(1);

/// One page of rows, with the bound it was read up to and the database's clock then.
struct Page {
    rows: Vec<MySqlRow>,
    bound: chrono::NaiveDateTime,
    now: chrono::NaiveDateTime,
}

/// The producer, ready to run; assembled by `startup::prepare`.
pub struct Pipeline {
    pub(crate) pool: MySqlPool,
    pub(crate) query: KeysetQuery,
    pub(crate) plan: ColumnPlan,
    pub(crate) encoder: RecordEncoder,
    pub(crate) publisher: Publisher,
    pub(crate) store: WatermarkStore,
    pub(crate) settings: ProducerSettings,
    pub(crate) table: String,
    pub(crate) progress: Progress,
    pub(crate) metrics: ProducerMetrics,
    /// The database's clock at the last page, for the watermark lag.
    pub(crate) database_now: Option<chrono::NaiveDateTime>,
    /// The read bound of the last page.
    pub(crate) last_bound: Option<chrono::NaiveDateTime>,
    /// Ready while the loop runs with its connections up.
    pub(crate) readiness: sluice_common::observe::Readiness,
}

impl Pipeline {
    /// Runs until shutdown is requested, or with `until_caught_up` until a page comes back short
    /// (every row up to the read bound is published); returns after the page in flight is
    /// acknowledged and the watermark saved.
    pub async fn run(mut self, shutdown: Shutdown, until_caught_up: bool) -> anyhow::Result<()> {
        let mut cursor = self.store.load()?.unwrap_or_else(Watermark::beginning);
        tracing::info!(
            "producing {} from watermark {} id {} (schema id {})",
            self.table,
            row::format_timestamp(&cursor.last_updated),
            cursor.id,
            self.encoder.schema_id()
        );
        let commit_lag = Duration::from_millis(self.settings.commit_lag_ms);
        let mut read_bound = ReadBound::new(&self.pool, commit_lag).await;
        let poll_interval = Duration::from_millis(self.settings.poll_interval_ms);
        self.readiness.set(true);
        // A full page's successor is read while the page is being acknowledged.
        let mut prefetched: Option<Page> = None;
        while !shutdown.requested() {
            let page = match prefetched.take() {
                Some(page) => page,
                None => match self.fetch_page(&cursor, &mut read_bound).await {
                    Ok(page) => page,
                    Err(error) => {
                        self.readiness.set(false);
                        self.metrics.errors.with_label_values(&["mysql"]).inc();
                        tracing::warn!("reading {} failed: {error}; retrying", self.table);
                        shutdown.sleep(RETRY_PAUSE).await;
                        continue;
                    }
                },
            };
            self.readiness.set(true);
            self.database_now = Some(page.now);
            self.last_bound = Some(page.bound);
            let caught_up = page.rows.len() < self.settings.batch_size as usize;
            if let Some(last) = page.rows.last() {
                let next = row::position(last)?;
                let outgoing = self.encode_page(&page.rows);
                let publishing = self.publish_until_acknowledged(&outgoing, &shutdown);
                let (report, following) = if caught_up {
                    (publishing.await, None)
                } else {
                    let reading = self.fetch_page(&next, &mut read_bound);
                    let (report, following) = tokio::join!(publishing, reading);
                    // A failed read ahead is simply read again in turn.
                    (report, following.ok())
                };
                let Some(report) = report else {
                    break;
                };
                self.store.save(&next)?;
                cursor = next;
                self.count_page(page.rows.len(), report);
                prefetched = following;
            }
            self.show_watermark(&cursor, caught_up);
            self.progress.maybe_log(&self.metrics, &cursor, false);
            if caught_up && (until_caught_up || shutdown.sleep(poll_interval).await) {
                break;
            }
        }
        self.readiness.set(false);
        self.publisher.flush(Duration::from_secs(30))?;
        self.progress.maybe_log(&self.metrics, &cursor, true);
        tracing::info!(
            "producer stopped; watermark saved in {}",
            self.store.path().display()
        );
        Ok(())
    }

    /// The page after `cursor`, read up to the current read bound.
    async fn fetch_page(
        &self,
        cursor: &Watermark,
        read_bound: &mut ReadBound,
    ) -> Result<Page, sqlx::Error> {
        let started = std::time::Instant::now();
        let (bound, now) = read_bound.current(&self.pool).await?;
        let rows = self
            .query
            .page_after(cursor, bound, self.settings.batch_size)
            .fetch_all(&self.pool)
            .await?;
        self.metrics
            .poll_seconds
            .observe(started.elapsed().as_secs_f64());
        Ok(Page { rows, bound, now })
    }

    fn count_page(&self, rows: usize, report: PageReport) {
        self.metrics.rows_read.inc_by(rows as u64);
        self.metrics.records_produced.inc_by(report.produced);
        self.metrics
            .dead_letters
            .with_label_values(&["producer.encode"])
            .inc_by(report.dead);
        self.metrics.batches.inc();
        self.metrics.batch_rows.observe(rows as f64);
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

    fn encode_page(&self, rows: &[MySqlRow]) -> Vec<Outgoing> {
        rows.iter().map(|row| self.encode_row(row)).collect()
    }

    fn encode_row(&self, row: &MySqlRow) -> Outgoing {
        let key = row::position(row)
            .map(|p| p.id.to_string())
            .unwrap_or_default();
        let encoded = row::to_avro(row, &self.plan)
            .map_err(|e| e.to_string())
            .and_then(|record| self.encoder.encode(record).map_err(|e| e.to_string()));
        match encoded {
            Ok(payload) => Outgoing::Record { key, payload },
            Err(reason) => {
                let origin = format!("{} {}={key}", self.table, self.settings.key_column);
                tracing::warn!(
                    "row {origin} cannot be encoded ({reason}); sent to the dead-letter topic"
                );
                Outgoing::Dead {
                    payload: row::to_json(row, &self.plan).to_string().into_bytes(),
                    key,
                    letter: DeadLetter {
                        stage: Stage::Encode,
                        reason,
                        origin,
                    },
                }
            }
        }
    }

    /// Publishes the page, again and again until Kafka acknowledges all of it; `None` when
    /// shutdown came first (the page will be sent again at the next start).
    async fn publish_until_acknowledged(
        &self,
        page: &[Outgoing],
        shutdown: &Shutdown,
    ) -> Option<PageReport> {
        loop {
            match self.publisher.publish(page).await {
                Ok(report) => return Some(report),
                Err(error) => {
                    self.metrics.produce_errors.inc();
                    self.metrics.errors.with_label_values(&["kafka"]).inc();
                    tracing::warn!(
                        "publishing a page of {} records failed: {error}; sending it again",
                        page.len()
                    );
                    if shutdown.sleep(RETRY_PAUSE).await {
                        return None;
                    }
                }
            }
        }
    }
}
