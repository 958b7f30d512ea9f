//! Committing a member's batch exactly once: its offsets and a marker naming the batch, in one
//! Kafka transaction of the member's own producer.
//!
//! Invariant: **the marker is committed if and only if the batch's offsets are.** The marker is
//! a record keyed by the member's name, valued with the batch's id, in the compacted topic
//! `<group>.batches`; a start that finds a batch file (see `journal`) reads the latest marker to
//! learn whether that batch committed. The transaction carries the consumer's group metadata, so
//! a member that has lost its partitions (a zombie back from a long pause) cannot commit: the
//! broker refuses, and the batch is dropped. The producer's `transactional.id` is
//! `sluice-consumer-<group>-<member>`: a member started again fences its former self.

use std::time::Duration;

use rdkafka::consumer::ConsumerGroupMetadata;
use rdkafka::error::KafkaError;
use rdkafka::message::Message as _;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer};
use rdkafka::TopicPartitionList;
use sluice_common::kafka::client_config;
use sluice_common::polled_producer::{self, PolledProducer};
use sluice_common::settings::KafkaSettings;
use sluice_common::topic_reader::read_to_end;

/// How long one step of a transaction may take before it is given up.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a batch was not committed.
#[derive(Debug, thiserror::Error)]
pub enum BatchCommitError {
    /// The transaction was aborted: the batch is dropped and its records read again (by this
    /// member or by the partitions' new owner).
    #[error("the batch's transaction was aborted: {0}")]
    Aborted(String),
    /// The member cannot go on (fenced by a newer instance of itself, or a fatal client error).
    #[error("{0}")]
    Fatal(String),
}

/// The member's transactional producer and where its markers go.
pub struct BatchCommitter {
    producer: PolledProducer<DefaultProducerContext>,
    settings: KafkaSettings,
    topic: String,
    member: String,
    transactional_id: String,
}

impl BatchCommitter {
    /// The committer of `member` in `group`.
    pub fn new(settings: &KafkaSettings, group: &str, member: &str) -> Result<Self, KafkaError> {
        let transactional_id = format!("sluice-consumer-{group}-{member}");
        let mut config = client_config(settings);
        config
            .set("transactional.id", &transactional_id)
            .set("acks", "all")
            .set("enable.idempotence", "true");
        Ok(Self {
            producer: PolledProducer::new(&config, DefaultProducerContext)?,
            settings: settings.clone(),
            topic: batch_topic(group),
            member: member.to_owned(),
            transactional_id,
        })
    }

    /// The compacted topic of the markers.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Registers the transactional id: a transaction an earlier instance left open is aborted
    /// and that instance fenced. Blocking.
    pub fn init(&self, timeout: Duration) -> Result<(), KafkaError> {
        polled_producer::init_transactions(&self.producer, timeout)
    }

    /// The id of the last batch this member committed, from the marker topic (committed
    /// records only; read after [`init`](Self::init)). Blocking.
    pub fn last_batch(&self, patience: Duration) -> anyhow::Result<Option<String>> {
        let mut last = None;
        read_to_end(&self.settings, &self.topic, patience, |message| {
            if message.key() == Some(self.member.as_bytes()) {
                last = message
                    .payload()
                    .map(|value| String::from_utf8_lossy(value).into_owned());
            }
        })?;
        Ok(last)
    }

    /// Commits `offsets` (the next offset of each partition) with the marker of `batch`, in one
    /// transaction checked against the member's group membership `group`. Blocking.
    pub fn commit(
        &self,
        batch: &str,
        offsets: &TopicPartitionList,
        group: &ConsumerGroupMetadata,
    ) -> Result<(), BatchCommitError> {
        self.producer
            .begin_transaction()
            .map_err(|e| self.fatal("beginning a transaction", &e))?;
        let marker = BaseRecord::<str, str>::to(&self.topic)
            .key(&self.member)
            .payload(batch);
        if let Err((error, _)) = self.producer.send(marker) {
            return Err(self.abort(&format!("queueing the batch marker: {error}")));
        }
        if let Err(error) = self
            .producer
            .send_offsets_to_transaction(offsets, group, STEP_TIMEOUT)
        {
            return Err(self.after_failure("adding the offsets", &error));
        }
        loop {
            match polled_producer::commit_transaction(&self.producer, STEP_TIMEOUT) {
                Ok(()) => return Ok(()),
                Err(KafkaError::Transaction(e)) if e.is_retriable() && !e.is_fatal() => {
                    tracing::warn!("{}: committing a batch: {e}; trying again", self.member);
                }
                Err(error) => return Err(self.after_failure("committing", &error)),
            }
        }
    }

    /// Fatal errors end the member; any other aborts the transaction.
    fn after_failure(&self, doing: &str, error: &KafkaError) -> BatchCommitError {
        match error {
            KafkaError::Transaction(e) if e.is_fatal() => self.fatal(doing, error),
            _ => self.abort(&format!("{doing}: {error}")),
        }
    }

    fn abort(&self, reason: &str) -> BatchCommitError {
        match self.producer.abort_transaction(STEP_TIMEOUT) {
            Ok(()) => BatchCommitError::Aborted(reason.to_owned()),
            Err(error) => self.fatal(&format!("aborting after {reason}"), &error),
        }
    }

    fn fatal(&self, doing: &str, error: &KafkaError) -> BatchCommitError {
        BatchCommitError::Fatal(format!(
            "{}: {doing} failed for transactional.id `{}`: {error}; the member stops (another \
             instance of it may have started and fenced it); a restart finishes or drops its \
             last batch",
            self.member, self.transactional_id
        ))
    }
}

/// The compacted topic of `group`'s batch markers.
pub fn batch_topic(group: &str) -> String {
    format!("{group}.batches")
}
