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
//!
//! A producer that cannot finish its transactions is replaced. librdkafka can keep a partition
//! it was told has no leader (as while a single broker restarts) without one for good (its
//! issue 5430); the marker then never reaches the broker and every commit would wait for it
//! without end. So a commit whose outcome is still unknown after `COMMIT_PATIENCE` is aborted
//! (the batch is dropped and read again), and the next commit first registers the same
//! transactional id on a new producer, which fences the old one; so does a run of
//! `ABORTS_BEFORE_RENEWAL` aborted batches in a row.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use rdkafka::consumer::ConsumerGroupMetadata;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message as _;
use rdkafka::producer::{BaseRecord, Producer};
use rdkafka::{ClientConfig, TopicPartitionList};
use sluice_common::events::ErrorKind;
use sluice_common::kafka::client_log::TransactionalContext;
use sluice_common::kafka::polled_producer::{self, PolledProducer};
use sluice_common::kafka::topic_reader::{read_to_end, TopicReadError};
use sluice_common::kafka::{client_config, UserProperties};
use sluice_common::retry::{self, Policy};
use sluice_common::settings::KafkaSettings;

/// How long one step of a transaction may take before it is given up.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// A commit whose outcome is not known yet (a timeout, a coordinator moving) is asked again
/// twice, after 0.5 s and 1 s, before the transaction is aborted and the producer replaced
/// (whose registration of the transactional id settles it).
const COMMIT_POLICY: Policy =
    Policy::doubling(Duration::from_millis(500), Duration::from_secs(5)).at_most(2);
/// Batches aborted in a row (a lost partition aborts one, and the next commits) after which
/// the producer is replaced.
const ABORTS_BEFORE_RENEWAL: u32 = 3;

/// Why a batch was not committed.
#[derive(Debug, thiserror::Error)]
pub enum BatchCommitError {
    /// The transaction was aborted: the batch is dropped and its records read again (by this
    /// member or by the partitions' new owner).
    #[error(
        "the batch's transaction was aborted: {step}: {cause}{}",
        if *.abort_unfinished { "; aborting did not finish either, a new producer ends the transaction" } else { "" }
    )]
    Aborted {
        /// What the member was doing.
        step: &'static str,
        /// What failed.
        cause: AbortCause,
        /// Whether aborting did not finish either: a new producer ends the transaction.
        abort_unfinished: bool,
    },
    /// The member cannot go on (fenced by a newer instance of itself, or a fatal client error).
    #[error(
        "{member}: {step} failed for transactional.id `{transactional_id}`: {error}; the member \
         stops (another instance of it may have started and fenced it); a restart finishes or \
         drops its last batch"
    )]
    Fatal {
        /// The member.
        member: String,
        /// Its producer's `transactional.id`.
        transactional_id: String,
        /// What the member was doing.
        step: &'static str,
        /// Kafka's error (boxed: errors stay small).
        error: Box<KafkaError>,
    },
}

/// What made a batch's transaction abort.
#[derive(Debug, thiserror::Error)]
pub enum AbortCause {
    /// Kafka refused a step.
    #[error("{0}")]
    Kafka(Box<KafkaError>),
    /// The commit's outcome was still unknown after the tries of `COMMIT_POLICY`.
    #[error("no outcome after {tries} tries ({last})")]
    NoOutcome {
        /// How many times the member asked.
        tries: usize,
        /// The last answer.
        last: Box<KafkaError>,
    },
    /// `SLUICE_STALL_COMMIT_AT`, for tests: a commit taken as one that never finishes.
    #[error("no outcome (injected by a test)")]
    Injected,
}

impl AbortCause {
    fn kafka(error: KafkaError) -> Self {
        Self::Kafka(Box::new(error))
    }
}

/// The member's transactional producer and where its markers go.
pub struct BatchCommitter {
    producer: PolledProducer<TransactionalContext>,
    /// What a new producer is made of.
    config: ClientConfig,
    /// Batches aborted since the last commit; replace the producer before the next one when
    /// `renew` is set.
    aborts_in_a_row: u32,
    renew: bool,
    settings: KafkaSettings,
    topic: String,
    member: String,
    transactional_id: String,
}

impl BatchCommitter {
    /// The committer of `member` in `group`, registering as `transactional_id`
    /// (`ConsumerSettings::transactional_id_of`).
    pub fn new(
        settings: &KafkaSettings,
        group: &str,
        member: &str,
        transactional_id: String,
    ) -> Result<Self, KafkaError> {
        let mut config = client_config(settings);
        config
            .set("transactional.id", &transactional_id)
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .with_producer_properties(settings);
        Ok(Self {
            producer: PolledProducer::new(&config, TransactionalContext)?,
            config,
            aborts_in_a_row: 0,
            renew: false,
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
    pub fn last_batch(&self, patience: Duration) -> Result<Option<String>, TopicReadError> {
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
    /// transaction checked against the member's group membership `group`, first replacing a
    /// producer that could not finish its transactions (see the module doc). Blocking.
    pub fn commit(
        &mut self,
        batch: &str,
        offsets: &TopicPartitionList,
        group: &ConsumerGroupMetadata,
    ) -> Result<(), BatchCommitError> {
        if self.renew || self.aborts_in_a_row >= ABORTS_BEFORE_RENEWAL {
            self.renew_producer()?;
        }
        let outcome = self.transaction(batch, offsets, group);
        match &outcome {
            Ok(()) => self.aborts_in_a_row = 0,
            Err(BatchCommitError::Aborted { .. }) => self.aborts_in_a_row += 1,
            Err(BatchCommitError::Fatal { .. }) => {}
        }
        outcome
    }

    /// Registers the transactional id on a new producer, which fences the old one. A cluster
    /// that does not answer leaves the old producer in place, and the batch is dropped (the
    /// next commit tries again).
    fn renew_producer(&mut self) -> Result<(), BatchCommitError> {
        tracing::warn!(
            member = %self.member,
            "{}: {} batch(es) aborted in a row{}; replacing its Kafka producer (librdkafka can \
             keep a partition without a leader for good after a broker restart)",
            self.member,
            self.aborts_in_a_row,
            if self.renew {
                ", the last one after its commit did not finish"
            } else {
                ""
            }
        );
        let fresh = PolledProducer::new(&self.config, TransactionalContext)
            .map_err(|e| self.fatal("creating a new producer", e))?;
        let registering = "registering a new producer (the next commit tries again)";
        match polled_producer::init_transactions(&fresh, STEP_TIMEOUT) {
            Ok(()) => {}
            Err(error @ KafkaError::Transaction(_)) if !is_fatal(&error) => {
                return Err(BatchCommitError::Aborted {
                    step: registering,
                    cause: AbortCause::kafka(error),
                    abort_unfinished: false,
                });
            }
            Err(error) => return Err(self.fatal(registering, error)),
        }
        self.producer = fresh;
        self.renew = false;
        self.aborts_in_a_row = 0;
        tracing::info!(
            member = %self.member,
            "{}: a new Kafka producer commits its batches (transactional.id `{}`)",
            self.member,
            self.transactional_id
        );
        Ok(())
    }

    /// One transaction: the marker, the offsets, the commit.
    fn transaction(
        &mut self,
        batch: &str,
        offsets: &TopicPartitionList,
        group: &ConsumerGroupMetadata,
    ) -> Result<(), BatchCommitError> {
        if let Err(error) = self.producer.begin_transaction() {
            return Err(self.failed_for_good("beginning a transaction", error));
        }
        let marker = BaseRecord::<str, str>::to(&self.topic)
            .key(&self.member)
            .payload(batch);
        if let Err((error, _)) = self.producer.send(marker) {
            return Err(self.abort("queueing the batch marker", AbortCause::kafka(error)));
        }
        if let Err(error) = self
            .producer
            .send_offsets_to_transaction(offsets, group, STEP_TIMEOUT)
        {
            return Err(self.after_failure("adding the offsets", error));
        }
        if stall_injected() {
            self.renew = true;
            return Err(self.abort("committing", AbortCause::Injected));
        }
        let mut tries = 0;
        let committed = retry::retry_blocking(
            COMMIT_POLICY,
            ErrorKind::Commit,
            "Kafka to settle a batch's transaction",
            || {
                tries += 1;
                polled_producer::commit_transaction(&self.producer, STEP_TIMEOUT)
            },
            retriable,
        );
        match committed {
            Ok(()) => Ok(()),
            Err(error) if retriable(&error) => {
                self.renew = true;
                let cause = AbortCause::NoOutcome {
                    tries,
                    last: Box::new(error),
                };
                Err(self.abort("committing", cause))
            }
            Err(error) => Err(self.after_failure("committing", error)),
        }
    }

    /// Fatal errors end the producer (see `failed_for_good`); any other aborts the transaction.
    fn after_failure(&mut self, step: &'static str, error: KafkaError) -> BatchCommitError {
        if is_fatal(&error) {
            self.failed_for_good(step, error)
        } else {
            self.abort(step, AbortCause::kafka(error))
        }
    }

    /// Aborts the open transaction after `cause` at `step`. An abort that does not finish either
    /// leaves it to a new producer: registering the same transactional id aborts what the old
    /// one left open.
    fn abort(&mut self, step: &'static str, cause: AbortCause) -> BatchCommitError {
        let abort_unfinished = match self.producer.abort_transaction(STEP_TIMEOUT) {
            Ok(()) => false,
            Err(error @ KafkaError::Transaction(_)) if !is_fatal(&error) => {
                tracing::warn!(
                    member = %self.member,
                    "{}: aborting after {step}: {cause}: {error}",
                    self.member,
                );
                self.renew = true;
                true
            }
            Err(error) => {
                tracing::warn!(
                    member = %self.member,
                    "{}: {step}: {cause}; aborting failed",
                    self.member,
                );
                return self.failed_for_good("aborting a transaction", error);
            }
        };
        BatchCommitError::Aborted {
            step,
            cause,
            abort_unfinished,
        }
    }

    /// The producer failed for good. Fenced by a newer instance of this member, the member
    /// stops; any other fatal error (a transaction the coordinator ended while the member was
    /// paused leaves the producer in an invalid state) drops the batch, whose records are read
    /// again, and a new producer registers the transactional id before the next one.
    fn failed_for_good(&mut self, step: &'static str, error: KafkaError) -> BatchCommitError {
        let fenced = matches!(
            error.rdkafka_error_code(),
            Some(
                RDKafkaErrorCode::Fenced
                    | RDKafkaErrorCode::ProducerFenced
                    | RDKafkaErrorCode::InvalidProducerEpoch
            )
        );
        if fenced {
            return self.fatal(step, error);
        }
        self.renew = true;
        BatchCommitError::Aborted {
            step,
            cause: AbortCause::kafka(error),
            abort_unfinished: true,
        }
    }

    fn fatal(&self, step: &'static str, error: KafkaError) -> BatchCommitError {
        BatchCommitError::Fatal {
            member: self.member.clone(),
            transactional_id: self.transactional_id.clone(),
            step,
            error: Box::new(error),
        }
    }
}

/// Whether `error` is librdkafka's fatal error: the producer cannot go on.
fn is_fatal(error: &KafkaError) -> bool {
    matches!(error, KafkaError::Transaction(e) if e.is_fatal())
}

/// Whether the same call may still succeed (the outcome is not known yet).
fn retriable(error: &KafkaError) -> bool {
    matches!(error, KafkaError::Transaction(e) if e.is_retriable() && !e.is_fatal())
}

/// For tests, `SLUICE_STALL_COMMIT_AT=N`: the member's Nth transaction is taken as one whose
/// commit never finishes (a marker that cannot reach its partition's leader), which a real
/// broker cannot be made to do on demand. Unset, as in production, never.
fn stall_injected() -> bool {
    static AT: OnceLock<Option<u64>> = OnceLock::new();
    static TRANSACTIONS: AtomicU64 = AtomicU64::new(0);
    let Some(at) = *AT.get_or_init(|| {
        sluice_common::fault::hook("SLUICE_STALL_COMMIT_AT").and_then(|n| n.parse().ok())
    }) else {
        return false;
    };
    TRANSACTIONS.fetch_add(1, Ordering::Relaxed) + 1 == at
}

/// The compacted topic of `group`'s batch markers.
pub fn batch_topic(group: &str) -> String {
    format!("{group}.batches")
}
