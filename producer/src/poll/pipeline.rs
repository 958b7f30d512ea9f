//! The producer as a whole: its parts, and its runs one Kafka client after another.

use std::time::Duration;

use sluice_common::acls::Acl;
use sluice_common::events::Event;
use sluice_common::observe::Readiness;
use sluice_common::retry::Transient;
use sluice_common::settings::{KafkaSettings, MysqlSettings, ProducerSettings};
use sluice_common::shutdown::Shutdown;
use sqlx::MySqlPool;

use crate::encode::RecordEncoder;
use crate::error::ProducerError;
use crate::events::ClientRenewing;
use crate::metrics::ProducerMetrics;
use crate::publish::failure_policy::PUBLISH_POLICY;
use crate::publish::transaction::Transactions;
use crate::publish::transactional_id::init_transactions;
use crate::publish::Publisher;
use crate::schema::follower::SchemaFollower;
use crate::source::keyset::KeysetQuery;
use crate::standby::{self, ProducerLock};
use crate::sweep::DeleteSweep;
use crate::watermark::topic::WatermarkTopic;
use crate::watermark::WatermarkStore;

use super::progress::Progress;

/// A Kafka client that ran this long before it failed for good counts as healed: the next
/// renewal waits the shortest pause again.
const CLIENT_HEALED_AFTER: Duration = Duration::from_secs(120);

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
    pub(crate) readiness: Readiness,
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
    /// Plans again, and registers the schema, when the table changes.
    pub(crate) follower: SchemaFollower,
}

impl Pipeline {
    /// Runs until shutdown is requested, or with `until_caught_up` until a page comes back short
    /// (every row up to the read bound is published); returns after the pages in flight are
    /// acknowledged and the watermark saved. A Kafka client that fails for good (librdkafka's fatal
    /// error, under exactly-once) or delivers nothing for `message.timeout.ms` (stuck without a
    /// partition leader, see `publish::failure_policy`) is replaced by a new one, which goes on
    /// from the last watermark (under exactly-once, it first registers the same transactional id,
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
        let deliveries = self
            .sweep
            .as_ref()
            .and_then(|sweep| sweep.deliveries(&self.kafka.topic));
        if self.transactions.is_none() {
            self.publisher = Publisher::new(&self.kafka, &self.settings, None)
                .map_err(ProducerError::kafka("creating a new Kafka producer"))?;
            self.publisher.report_deliveries_to(deliveries);
            return Ok(true);
        }
        let id = self.settings.transactional_id_for(&self.kafka.topic);
        let mut publisher = Publisher::new(&self.kafka, &self.settings, Some(&id))
            .map_err(ProducerError::kafka("creating a new Kafka producer"))?;
        publisher.report_deliveries_to(deliveries);
        if init_transactions(&publisher, &self.kafka, &id, shutdown)
            .await?
            .is_none()
        {
            return Ok(false);
        }
        self.publisher = publisher;
        self.transactions = Some(Transactions::new(WatermarkTopic::new(&self.kafka, &id)));
        Ok(true)
    }

    /// Waits for every record queued to be answered, before the producer stops.
    pub(super) fn flush_at_stop(&self) -> Result<(), ProducerError> {
        self.publisher
            .flush(Duration::from_secs(30))
            .map_err(ProducerError::kafka(format!(
                "flushing the records queued for topic {} at stop",
                self.publisher.topic()
            )))
    }
}
