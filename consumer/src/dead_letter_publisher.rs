//! The consumer's dead-letter producer: records that cannot be decoded or transformed are
//! published with the reason, and must be acknowledged before their offsets are committed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::events::DeadLetterUndelivered;
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::ClientContext;
use sluice_common::dead_letter::DeadLetter;
use sluice_common::events::Event;
use sluice_common::kafka::full_queue;
use sluice_common::kafka::polled_producer::PolledProducer;
use sluice_common::kafka::{client_config, UserProperties};
use sluice_common::settings::KafkaSettings;

/// Why dead letters may not have reached their topic: the offsets of their records are not
/// committed.
#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    /// Kafka did not acknowledge them in time.
    #[error("dead letters not acknowledged: {0}")]
    NotAcknowledged(#[source] KafkaError),
    /// Kafka refused some.
    #[error("{0} dead letter(s) could not be delivered")]
    Undelivered(u64),
}

/// Counts dead letters Kafka refused, so a commit can be held back.
#[derive(Default)]
pub struct DeliveryFailures(AtomicU64);

impl ClientContext for DeliveryFailures {}

impl ProducerContext for DeliveryFailures {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: Self::DeliveryOpaque) {
        if let Err((error, _)) = result {
            self.0.fetch_add(1, Ordering::Relaxed);
            DeadLetterUndelivered { error }.emit();
        }
    }
}

/// Publishes dead letters to the dead-letter topic.
pub struct DeadLetters {
    producer: PolledProducer<DeliveryFailures>,
    topic: String,
    sent: u64,
}

impl DeadLetters {
    /// A producer for `kafka.dlq_topic`.
    pub fn new(settings: &KafkaSettings) -> Result<Self, KafkaError> {
        let mut config = client_config(settings);
        config
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .with_producer_properties(settings);
        let producer = PolledProducer::new(&config, DeliveryFailures::default())?;
        Ok(Self {
            producer,
            topic: settings.dlq_topic.clone(),
            sent: 0,
        })
    }

    /// Queues the original record, with the reason in headers.
    pub fn send(
        &mut self,
        key: Option<&[u8]>,
        payload: Option<&[u8]>,
        letter: &DeadLetter,
    ) -> Result<(), KafkaError> {
        let mut record: BaseRecord<'_, [u8], [u8]> =
            BaseRecord::to(&self.topic).headers(letter.headers());
        if let Some(key) = key {
            record = record.key(key);
        }
        if let Some(payload) = payload {
            record = record.payload(payload);
        }
        let queued = full_queue::queue(&self.producer, record, full_queue::thread_sleep);
        futures::executor::block_on(queued)?;
        self.sent += 1;
        Ok(())
    }

    /// Waits until every dead letter is acknowledged; an error means some were not, and the
    /// offsets of their records must not be committed.
    pub fn flush(&self) -> Result<(), DeadLetterError> {
        self.producer
            .flush(Duration::from_secs(60))
            .map_err(DeadLetterError::NotAcknowledged)?;
        match self.producer.context().0.load(Ordering::Relaxed) {
            0 => Ok(()),
            failed => Err(DeadLetterError::Undelivered(failed)),
        }
    }

    /// Dead letters sent since start.
    pub fn sent(&self) -> u64 {
        self.sent
    }
}
