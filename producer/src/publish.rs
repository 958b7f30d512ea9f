//! Publishing one page of records and waiting until Kafka has acknowledged every one of them.
//!
//! Records are keyed by the row's key as a decimal string and partitioned with `murmur2_random`,
//! the Java client's partitioner, so a key lands on the same partition whichever client wrote
//! it, and all updates of one product stay in order on one partition. Idempotence keeps retries
//! from duplicating or reordering records within a partition.

use std::time::Duration;

use futures::future::join_all;
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;
use sluice_common::dead_letter::DeadLetter;
use sluice_common::kafka::client_config;
use sluice_common::settings::{KafkaSettings, ProducerSettings};

/// One row's outcome, ready to send: a record for the topic or a dead letter.
#[derive(Debug)]
pub enum Outgoing {
    /// An encoded record.
    Record {
        /// The row key, as a decimal string.
        key: String,
        /// Confluent wire-format bytes.
        payload: Vec<u8>,
    },
    /// A row that could not be encoded, as JSON, with the reason.
    Dead {
        /// The row key, as a decimal string.
        key: String,
        /// What could be read of the row, as JSON.
        payload: Vec<u8>,
        /// Why and where.
        letter: DeadLetter,
    },
}

/// What a page turned into once acknowledged.
#[derive(Debug, Default, Clone, Copy)]
pub struct PageReport {
    /// Records acknowledged on the topic.
    pub produced: u64,
    /// Dead letters acknowledged on the dead-letter topic.
    pub dead: u64,
}

/// The Kafka producer of the pipeline.
pub struct Publisher {
    producer: FutureProducer,
    topic: String,
    dlq_topic: String,
}

impl Publisher {
    /// A producer tuned for throughput without giving up order or durability.
    pub fn new(kafka: &KafkaSettings, settings: &ProducerSettings) -> Result<Self, KafkaError> {
        let producer = client_config(kafka)
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("partitioner", "murmur2_random")
            .set("compression.type", &settings.compression)
            .set("linger.ms", settings.linger_ms.to_string())
            .set("batch.size", "1000000")
            .set("batch.num.messages", "10000")
            .set("queue.buffering.max.messages", "200000")
            // A page that cannot be delivered in time is sent again as a whole; nothing is lost.
            .set("message.timeout.ms", "120000")
            .create()?;
        Ok(Self {
            producer,
            topic: kafka.topic.clone(),
            dlq_topic: kafka.dlq_topic.clone(),
        })
    }

    /// Sends every record of the page at once and waits for all acknowledgements; the first
    /// failure fails the page, which the caller sends again.
    pub async fn publish(&self, page: &[Outgoing]) -> Result<PageReport, KafkaError> {
        let sends = page.iter().map(|outgoing| {
            let (topic, key, payload, headers) = match outgoing {
                Outgoing::Record { key, payload } => (&self.topic, key, payload, None),
                Outgoing::Dead {
                    key,
                    payload,
                    letter,
                } => (&self.dlq_topic, key, payload, Some(letter.headers())),
            };
            let mut record = FutureRecord::to(topic)
                .key(key.as_str())
                .payload(payload.as_slice());
            if let Some(headers) = headers {
                record = record.headers(headers);
            }
            self.producer.send(record, Timeout::Never)
        });
        let mut report = PageReport::default();
        for (outgoing, result) in page.iter().zip(join_all(sends).await) {
            result.map_err(|(error, _)| error)?;
            match outgoing {
                Outgoing::Record { .. } => report.produced += 1,
                Outgoing::Dead { .. } => report.dead += 1,
            }
        }
        Ok(report)
    }

    /// Waits for anything still queued, at shutdown.
    pub fn flush(&self, timeout: Duration) -> Result<(), KafkaError> {
        self.producer.flush(timeout)
    }
}
