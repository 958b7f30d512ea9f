//! Publishing one page of records and waiting until Kafka has acknowledged every one of them.
//!
//! Records are keyed by the row's key as a Java client sends it (see `source::key`) and partitioned with `murmur2_random`,
//! the Java client's partitioner, so a key lands on the same partition whichever client wrote
//! it, and all updates of one product stay in order on one partition. Idempotence keeps retries
//! from duplicating or reordering records within a partition.
//!
//! librdkafka copies each record as it is queued, so one buffer serves a whole page, and its
//! delivery reports count down a single tracker per page: no future, channel or allocation per
//! record.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::error::KafkaError;
use rdkafka::message::{Header, Message as _, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientConfig, ClientContext};
use sluice_common::dead_letter::DeadLetter;
use sluice_common::deletes::DELETED_AT_HEADER;
use sluice_common::kafka::full_queue;
use sluice_common::kafka::polled_producer::{self, PolledProducer};
use sluice_common::kafka::{client_config, UserProperties};
use sluice_common::settings::{Choice, KafkaSettings, ProducerSettings};

use super::page_tracker::PageTracker;
pub use super::page_tracker::RecordsDelivered;

/// librdkafka's `message.max.bytes`, its default: no record larger is sent.
pub const CLIENT_MAX_MESSAGE_BYTES: usize = 1_000_000;
/// A record batch's header (61 bytes) and one record's own framing, rounded up: what a record
/// adds to its key and value on the wire.
pub const BATCH_FRAMING_BYTES: usize = 128;

/// Record bytes (keys and values) librdkafka holds at most, queued or sent and not yet
/// acknowledged, in KiB: four pages of the heaviest rows (`poll::page_reader` holds a page to
/// 2 MiB). Its batches and their compressed copies are built from these records, so this bounds
/// the client's memory whatever the rows weigh and however fast the broker answers. Light rows
/// never reach it (eight pages of 5 000 products are about 3 MB). A record that finds it full
/// waits for room (see `full_queue`); `kafka.producer_properties` may set another bound.
pub const QUEUED_KBYTES: usize = 8 * 1024;

/// What a page turned into once acknowledged.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PageReport {
    /// Records acknowledged on the topic, deletes included.
    pub produced: u64,
    /// Of those, deletes (tombstones).
    pub deletes: u64,
    /// Dead letters acknowledged on the dead-letter topic.
    pub dead: u64,
}

/// The client settings of the pipeline's Kafka producer: tuned for throughput without giving up
/// order or durability. The bench's keyed ceiling sends with the same.
pub fn publisher_config(kafka: &KafkaSettings, settings: &ProducerSettings) -> ClientConfig {
    let mut config = client_config(kafka);
    config
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("partitioner", "murmur2_random")
        .set("compression.type", settings.compression.name())
        .set("linger.ms", settings.linger_ms.to_string())
        .set("batch.size", "1000000")
        .set("batch.num.messages", "10000")
        .set("message.max.bytes", CLIENT_MAX_MESSAGE_BYTES.to_string())
        .set("queue.buffering.max.messages", "200000")
        .set("queue.buffering.max.kbytes", QUEUED_KBYTES.to_string())
        // A page that cannot be delivered in time is sent again as a whole, by a new client;
        // nothing is lost.
        .set("message.timeout.ms", message_timeout_ms())
        .with_producer_properties(kafka);
    config
}

/// `message.timeout.ms`: 120 s, or `SLUICE_MESSAGE_TIMEOUT_MS` for tests that let records time
/// out on purpose.
fn message_timeout_ms() -> String {
    sluice_common::fault::hook("SLUICE_MESSAGE_TIMEOUT_MS")
        .filter(|ms| ms.parse::<u32>().is_ok())
        .unwrap_or_else(|| "120000".to_owned())
}

/// How long a transaction may stay open before the broker aborts it: longer than a page may
/// take to be delivered (`message.timeout.ms`), so a slow page fails before its transaction.
const TRANSACTION_TIMEOUT: Duration = Duration::from_secs(150);

/// The Kafka producer of the pipeline.
pub struct Publisher {
    producer: PolledProducer<DeliveryReports>,
    topic: String,
    dlq_topic: String,
    deliveries: Option<Arc<dyn RecordsDelivered>>,
}

impl Publisher {
    /// A producer tuned for throughput without giving up order or durability; transactional
    /// when `transactional_id` is given.
    pub fn new(
        kafka: &KafkaSettings,
        settings: &ProducerSettings,
        transactional_id: Option<&str>,
    ) -> Result<Self, KafkaError> {
        let mut config = publisher_config(kafka, settings);
        if let Some(id) = transactional_id {
            config.set("transactional.id", id).set(
                "transaction.timeout.ms",
                TRANSACTION_TIMEOUT.as_millis().to_string(),
            );
        }
        let producer = PolledProducer::new(&config, DeliveryReports)?;
        Ok(Self {
            producer,
            topic: kafka.topic.clone(),
            dlq_topic: kafka.dlq_topic.clone(),
            deliveries: None,
        })
    }

    /// Tells `deliveries` of every record delivered from now on.
    pub fn report_deliveries_to(&mut self, deliveries: Option<Arc<dyn RecordsDelivered>>) {
        self.deliveries = deliveries;
    }

    /// Registers the transactional id with the cluster: a transaction left open by an earlier
    /// producer with the same id is aborted, and that producer is fenced.
    pub async fn init_transactions(&self, timeout: Duration) -> Result<(), KafkaError> {
        let producer = self.producer.shared();
        blocking(move || polled_producer::init_transactions(&producer, timeout)).await
    }

    /// Opens a transaction: every record queued until its commit or abort belongs to it.
    pub fn begin_transaction(&self) -> Result<(), KafkaError> {
        self.producer.begin_transaction()
    }

    /// Commits the open transaction, once every record of it is delivered.
    pub async fn commit_transaction(&self, timeout: Duration) -> Result<(), KafkaError> {
        let producer = self.producer.shared();
        blocking(move || polled_producer::commit_transaction(&producer, timeout)).await
    }

    /// Aborts the open transaction: read-committed consumers never see its records.
    pub async fn abort_transaction(&self, timeout: Duration) -> Result<(), KafkaError> {
        let producer = self.producer.shared();
        blocking(move || producer.abort_transaction(timeout)).await
    }

    /// The topic the records go to.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Starts a page: records are queued through it, then awaited together.
    pub fn begin_page(&self) -> PageSend<'_> {
        let mut tracker = PageTracker::new();
        tracker.deliveries = self.deliveries.clone();
        PageSend {
            publisher: self,
            tracker: Arc::new(tracker),
            report: PageReport::default(),
        }
    }

    /// Waits for anything still queued, at shutdown.
    pub fn flush(&self, timeout: Duration) -> Result<(), KafkaError> {
        self.producer.flush(timeout)
    }
}

/// Runs a blocking librdkafka call on a thread meant for it.
async fn blocking(
    call: impl FnOnce() -> Result<(), KafkaError> + Send + 'static,
) -> Result<(), KafkaError> {
    tokio::task::spawn_blocking(call)
        .await
        .unwrap_or_else(|_| Err(KafkaError::Canceled))
}

/// One page being queued. Every record queued through it is waited for by
/// [`PendingPage::acknowledged`], even after a failure, so nothing is read and sent again while
/// part of an earlier attempt is still in flight.
pub struct PageSend<'p> {
    publisher: &'p Publisher,
    tracker: Arc<PageTracker>,
    report: PageReport,
}

impl PageSend<'_> {
    /// Queues one record for the topic.
    pub async fn record(&mut self, key: &[u8], payload: &[u8]) -> Result<(), KafkaError> {
        self.record_with(key, payload, None).await
    }

    /// Queues one record for the topic, with `headers` when given (e.g. where the change comes
    /// from).
    pub async fn record_with(
        &mut self,
        key: &[u8],
        payload: &[u8],
        headers: Option<OwnedHeaders>,
    ) -> Result<(), KafkaError> {
        let mut record =
            BaseRecord::with_opaque_to(&self.publisher.topic, Arc::clone(&self.tracker))
                .key(key)
                .payload(payload);
        if let Some(headers) = headers {
            record = record.headers(headers);
        }
        self.queue(record).await?;
        self.report.produced += 1;
        Ok(())
    }

    /// Queues a delete for the topic: a tombstone (the key, no value) whose header says when
    /// the product was deleted (see `sluice_common::deletes`), besides `headers` when given.
    pub async fn tombstone(
        &mut self,
        key: &[u8],
        deleted_at: &str,
        headers: Option<OwnedHeaders>,
    ) -> Result<(), KafkaError> {
        let headers = headers.unwrap_or_default().insert(Header {
            key: DELETED_AT_HEADER,
            value: Some(deleted_at),
        });
        let record = BaseRecord::<[u8], [u8], _>::with_opaque_to(
            &self.publisher.topic,
            Arc::clone(&self.tracker),
        )
        .key(key)
        .headers(headers);
        self.queue(record).await?;
        self.report.produced += 1;
        self.report.deletes += 1;
        Ok(())
    }

    /// Queues the watermark record of a transaction: the position after every record queued in
    /// it, to `topic` under `key`.
    pub async fn watermark(
        &mut self,
        topic: &str,
        key: &str,
        payload: &[u8],
    ) -> Result<(), KafkaError> {
        let record = BaseRecord::with_opaque_to(topic, Arc::clone(&self.tracker))
            .key(key.as_bytes())
            .payload(payload);
        self.queue(record).await
    }

    /// Queues a row that could not be encoded for the dead-letter topic, with its reason.
    pub async fn dead_letter(
        &mut self,
        key: &[u8],
        payload: &[u8],
        letter: &DeadLetter,
    ) -> Result<(), KafkaError> {
        let record =
            BaseRecord::with_opaque_to(&self.publisher.dlq_topic, Arc::clone(&self.tracker))
                .key(key)
                .payload(payload)
                .headers(letter.headers());
        self.queue(record).await?;
        self.report.dead += 1;
        Ok(())
    }

    async fn queue(
        &mut self,
        record: BaseRecord<'_, [u8], [u8], Arc<PageTracker>>,
    ) -> Result<(), KafkaError> {
        self.tracker.outstanding.fetch_add(1, Ordering::AcqRel);
        full_queue::queue(&self.publisher.producer, record, tokio::time::sleep)
            .await
            .inspect_err(|_| {
                // Not queued, so no delivery report will count it down.
                self.tracker.outstanding.fetch_sub(1, Ordering::AcqRel);
            })
    }

    /// Ends the page: everything is queued (or `failure` stopped the queueing, which then fails
    /// the page). The page no longer borrows the publisher, so several can be in flight.
    pub fn queued(self, failure: Option<KafkaError>) -> PendingPage {
        if let Some(error) = failure {
            self.tracker.failed(error);
        }
        PendingPage {
            tracker: self.tracker,
            report: self.report,
        }
    }
}

/// A page whose records are all queued, waiting for Kafka's answers.
pub struct PendingPage {
    tracker: Arc<PageTracker>,
    report: PageReport,
}

impl PendingPage {
    /// Waits until Kafka has answered for every record queued; the first failure fails the
    /// page, which the caller reads and sends again.
    pub async fn acknowledged(self) -> Result<PageReport, KafkaError> {
        self.tracker.all_answered().await;
        self.tracker.first_error().map_or(Ok(self.report), Err)
    }
}

/// librdkafka's delivery reports, handed to the page each record belongs to.
struct DeliveryReports;

impl ClientContext for DeliveryReports {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, facility: &str, message: &str) {
        sluice_common::kafka::client_log::log(level, facility, message);
    }
}

impl ProducerContext for DeliveryReports {
    type DeliveryOpaque = Arc<PageTracker>;

    fn delivery(&self, result: &DeliveryResult<'_>, page: Self::DeliveryOpaque) {
        if let (Ok(message), Some(deliveries)) = (result, &page.deliveries) {
            if let Some(key) = message.key() {
                let row = message.payload().is_some();
                deliveries.delivered(
                    message.topic(),
                    key,
                    row,
                    message.partition(),
                    message.offset(),
                );
            }
        }
        page.answered(match result {
            Ok(_) => Ok(()),
            Err((error, message)) => {
                tracing::debug!(
                    topic = message.topic(),
                    partition = message.partition(),
                    error = %error,
                    "delivery to {} failed: {error}",
                    message.topic()
                );
                Err(error.clone())
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_page_is_answered_once_every_record_is_and_keeps_the_first_error() {
        let tracker = Arc::new(PageTracker::new());
        for _ in 0..3 {
            tracker.outstanding.fetch_add(1, Ordering::AcqRel);
        }
        let answering = Arc::clone(&tracker);
        let answers = tokio::spawn(async move {
            answering.answered(Ok(()));
            answering.answered(Err(KafkaError::Canceled));
            answering.answered(Err(KafkaError::NoMessageReceived));
        });
        tracker.all_answered().await;
        answers.await.expect("answers");
        assert_eq!(tracker.outstanding.load(Ordering::Acquire), 0);
        assert_eq!(tracker.first_error(), Some(KafkaError::Canceled));
    }

    #[tokio::test]
    async fn a_page_with_nothing_queued_is_answered_at_once() {
        let tracker = PageTracker::new();
        tracker.all_answered().await;
        assert_eq!(tracker.first_error(), None);
    }
}
