//! Exactly-once publishing: the pages of a transaction and the watermark after them are
//! committed together, in one Kafka transaction.
//!
//! Invariant: the watermark record is queued last in the transaction that carries every record
//! up to it, so a committed watermark never passes an uncommitted record, and every record after
//! it belongs to a transaction that is either committed with a later watermark or aborted
//! (never seen by a read-committed consumer). A transaction is committed once reading catches
//! up, once it holds `PAGES_PER_TRANSACTION` pages, or once it has been open for
//! `OPEN_AT_MOST`; after any failure it is aborted and everything from the last committed
//! watermark is read and sent again. A producer fenced by another with the same
//! `transactional.id` stops; after a fatal client error the pipeline renews its client (see
//! `poll`).

use std::fmt::Display;
use std::future::Future;
use std::time::{Duration, Instant};

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use serde::Serialize;
use sluice_common::events::ErrorKind;
use sluice_common::retry::{self, Policy};

use crate::publish::injected_failure;
use crate::publish::Publisher;
use crate::watermark::topic::{self, WatermarkTopic};

/// Pages a transaction carries at most: a commit waits for every record in flight, so fewer,
/// larger transactions keep Kafka busy for longer stretches.
const PAGES_PER_TRANSACTION: usize = 128;

/// How long a transaction stays open at most while pages keep coming, so a steady stream of
/// changes becomes visible to consumers at least this often.
const OPEN_AT_MOST: Duration = Duration::from_secs(2);

/// How long a commit or abort may take before it is asked again.
const END_TIMEOUT: Duration = Duration::from_secs(60);

/// A commit or abort whose outcome is not known yet (a timeout, a coordinator loading) is asked
/// again four times, 0.5 s to 4 s apart; after that a new client registers the transactional
/// id, which settles the transaction whatever it was (see `TransactionError::Unsettled`).
const END_POLICY: Policy =
    Policy::doubling(Duration::from_millis(500), Duration::from_secs(4)).at_most(4);

/// Why a transaction could not be committed.
#[derive(Debug, thiserror::Error)]
pub enum TransactionError {
    /// The transaction was aborted (or must be): its pages are read and sent again.
    #[error("the transaction was aborted: {0}")]
    Aborted(KafkaError),
    /// A newer producer with the same id took over: this one stops. Its last committed
    /// watermark stays the truth.
    #[error(
        "another producer with transactional.id `{id}` has started and fenced this one ({step}: \
         {error}); this producer stops, the other goes on from the last committed watermark"
    )]
    Fenced {
        /// The producer's `transactional.id`.
        id: String,
        /// What the producer was doing.
        step: &'static str,
        /// Kafka's error (boxed: errors stay small).
        error: Box<KafkaError>,
    },
    /// The Kafka client failed for good (librdkafka's fatal error): the pipeline goes on with a
    /// new client from the last committed watermark.
    #[error("{step} failed for good for transactional.id `{id}`: {error}")]
    Fatal {
        /// The producer's `transactional.id`.
        id: String,
        /// What the producer was doing.
        step: &'static str,
        /// Kafka's error (boxed: errors stay small).
        error: Box<KafkaError>,
    },
    /// A commit or abort still had no outcome after the tries of `END_POLICY`: a new Kafka client
    /// registers the transactional id, which commits or aborts what this one left open, and
    /// goes on from the last committed watermark. A commit's outcome is so never given up.
    #[error(
        "{step} had no outcome after {tries} tries for transactional.id `{id}` ({error}); a new \
         Kafka client settles it by registering the id"
    )]
    Unsettled {
        /// The producer's `transactional.id`.
        id: String,
        /// What the producer was doing.
        step: &'static str,
        /// How many times it asked.
        tries: usize,
        /// Kafka's last answer (boxed: errors stay small).
        error: Box<KafkaError>,
    },
    /// For tests (`SLUICE_FAIL_COMMIT_AT`): taken as a fatal client error.
    #[error("fatal client error injected by a test at commit {commit}")]
    Injected {
        /// The commit it was injected at, counted from 1 in the process.
        commit: u64,
    },
    /// The watermark could not be encoded (a defect): the producer stops.
    #[error("encoding watermark {end}")]
    Encoding {
        /// The watermark, as its source writes it.
        end: String,
        /// Why.
        source: serde_json::Error,
    },
}

impl TransactionError {
    /// Whether a new Kafka client goes on after it: the client failed for good, and was not
    /// fenced.
    pub fn renews_client(&self) -> bool {
        matches!(
            self,
            Self::Fatal { .. } | Self::Unsettled { .. } | Self::Injected { .. }
        )
    }
}

/// The open transaction, if any, and the watermark topic it commits to.
pub struct Transactions {
    /// Its key is the producer's `transactional.id`.
    topic: WatermarkTopic,
    /// When the open transaction was begun; `None` when none is open.
    opened: Option<Instant>,
    /// Pages queued in the open transaction.
    pages: usize,
}

impl Transactions {
    /// Transactions committing watermarks into `topic`, keyed by the producer's
    /// `transactional.id`.
    pub fn new(topic: WatermarkTopic) -> Self {
        Self {
            topic,
            opened: None,
            pages: 0,
        }
    }

    /// The watermark topic.
    pub fn topic(&self) -> &WatermarkTopic {
        &self.topic
    }

    /// Opens a transaction unless one is open; then counts the page about to be queued.
    pub fn before_page(&mut self, publisher: &Publisher) -> Result<(), TransactionError> {
        if self.opened.is_none() {
            publisher
                .begin_transaction()
                .map_err(|e| self.fatal("beginning a transaction", &e))?;
            self.opened = Some(Instant::now());
            self.pages = 0;
        }
        self.pages += 1;
        Ok(())
    }

    /// Whether the open transaction should be committed now.
    pub fn due(&self, caught_up: bool) -> bool {
        self.opened.is_some_and(|opened| {
            caught_up || self.pages >= PAGES_PER_TRANSACTION || opened.elapsed() >= OPEN_AT_MOST
        })
    }

    /// Queues `end`, the position after every page of the open transaction (a watermark, or
    /// the position of a source with its own kind), as its watermark record, and commits the
    /// transaction.
    pub async fn commit<E: Serialize + Display>(
        &mut self,
        publisher: &Publisher,
        end: &E,
    ) -> Result<(), TransactionError> {
        let value = topic::encode(end).map_err(|source| TransactionError::Encoding {
            end: end.to_string(),
            source,
        })?;
        let mut page = publisher.begin_page();
        let queued = page
            .watermark(&self.topic.topic, &self.topic.key, &value)
            .await;
        // Its delivery is part of the commit, which fails if the record was not delivered.
        drop(page.queued(None));
        if let Err(error) = queued {
            self.abort(publisher).await?;
            return Err(TransactionError::Aborted(error));
        }
        if let Some(commit) = injected_failure::injected_at_commit() {
            return Err(TransactionError::Injected { commit });
        }
        let step = "committing a transaction";
        let (outcome, tries) = end_patiently("Kafka to settle a transaction's commit", || {
            publisher.commit_transaction(END_TIMEOUT)
        })
        .await;
        let Err(error) = outcome else {
            self.opened = None;
            return Ok(());
        };
        match classify(&error) {
            Ending::Retry => Err(self.unsettled(step, tries, error)),
            Ending::Abort => {
                self.abort(publisher).await?;
                Err(TransactionError::Aborted(error))
            }
            Ending::Fatal => Err(self.fatal(step, &error)),
        }
    }

    /// Aborts the open transaction, if any.
    pub async fn abort(&mut self, publisher: &Publisher) -> Result<(), TransactionError> {
        if self.opened.take().is_none() {
            return Ok(());
        }
        let step = "aborting a transaction";
        match end_patiently("Kafka to settle a transaction's abort", || {
            publisher.abort_transaction(END_TIMEOUT)
        })
        .await
        {
            (Ok(()), _) => Ok(()),
            (Err(error), tries) if classify(&error) == Ending::Retry => {
                Err(self.unsettled(step, tries, error))
            }
            (Err(error), _) => Err(self.fatal(step, &error)),
        }
    }

    fn unsettled(&self, step: &'static str, tries: usize, error: KafkaError) -> TransactionError {
        TransactionError::Unsettled {
            id: self.topic.key.clone(),
            step,
            tries,
            error: Box::new(error),
        }
    }

    fn fatal(&self, step: &'static str, error: &KafkaError) -> TransactionError {
        let (id, error) = (self.topic.key.clone(), Box::new(error.clone()));
        if fenced(&error) {
            TransactionError::Fenced { id, step, error }
        } else {
            TransactionError::Fatal { id, step, error }
        }
    }
}

/// Ends the transaction through `end` (its commit or abort), asking again while the outcome is
/// not known, as `END_POLICY` says (each wait said and counted as `awaited`); the outcome, and
/// how many times it was asked.
async fn end_patiently<F, Fut>(awaited: &str, mut end: F) -> (Result<(), KafkaError>, usize)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), KafkaError>>,
{
    let mut tries = 0;
    let outcome = retry::retry_bounded(
        END_POLICY,
        ErrorKind::Kafka,
        awaited,
        || {
            tries += 1;
            end()
        },
        |error| classify(error) == Ending::Retry,
    )
    .await;
    (outcome, tries)
}

/// What to do after a failed commit or abort.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// Ask again: the outcome is not known yet (e.g. a timeout).
    Retry,
    /// Abort the transaction and send its pages again.
    Abort,
    /// The producer cannot go on.
    Fatal,
}

fn classify(error: &KafkaError) -> Ending {
    match error {
        KafkaError::Transaction(e) if e.is_fatal() => Ending::Fatal,
        KafkaError::Transaction(e) if e.txn_requires_abort() => Ending::Abort,
        KafkaError::Transaction(e) if e.is_retriable() => Ending::Retry,
        _ if fenced(error) => Ending::Fatal,
        _ => Ending::Abort,
    }
}

/// Whether `error` says a newer producer with the same transactional id took over.
fn fenced(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::Fenced
                | RDKafkaErrorCode::ProducerFenced
                | RDKafkaErrorCode::InvalidProducerEpoch
        )
    )
}
