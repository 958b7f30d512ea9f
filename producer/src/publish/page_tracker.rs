//! One page's count of records still waiting for Kafka's answer, and its first failure: the
//! delivery reports count it down, and the page's owner waits for its last answer.
//!
//! Invariant: the count holds one extra hold while the page is being queued, given up by
//! `all_answered`, so a page whose records are all answered before it is fully queued is not
//! taken for done.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rdkafka::error::KafkaError;
use tokio::sync::Notify;

/// Told of each record delivered (the delete sweep locates string and binary keys by their
/// records). Called on librdkafka's thread, once per record: it must be quick.
pub trait RecordsDelivered: Send + Sync {
    /// A record of `topic` keyed `key` (a row's when `row`, else a tombstone) was delivered at
    /// `offset` of `partition`.
    fn delivered(&self, topic: &str, key: &[u8], row: bool, partition: i32, offset: i64);
}

/// Counts one page's records still waiting for Kafka's answer.
pub(super) struct PageTracker {
    /// Records queued and not yet answered, plus one while the page is still being queued.
    pub(super) outstanding: AtomicUsize,
    /// The first delivery failure of the page.
    pub(super) first_error: Mutex<Option<KafkaError>>,
    /// Woken once by the last answer; a wake before the wait is kept.
    pub(super) last_answer: Notify,
    /// Told of each record delivered, when someone listens.
    pub(super) deliveries: Option<Arc<dyn RecordsDelivered>>,
}

impl PageTracker {
    pub(super) fn new() -> Self {
        Self {
            outstanding: AtomicUsize::new(1),
            first_error: Mutex::new(None),
            last_answer: Notify::new(),
            deliveries: None,
        }
    }

    pub(super) fn failed(&self, error: KafkaError) {
        if let Ok(mut first) = self.first_error.lock() {
            first.get_or_insert(error);
        }
    }

    pub(super) fn answered(&self, result: Result<(), KafkaError>) {
        if let Err(error) = result {
            self.failed(error);
        }
        if self.outstanding.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.last_answer.notify_one();
        }
    }

    /// Gives up the hold taken at creation and waits for the last answer.
    pub(super) async fn all_answered(&self) {
        if self.outstanding.fetch_sub(1, Ordering::AcqRel) != 1 {
            self.last_answer.notified().await;
        }
    }

    /// The first failure, if any (a poisoned lock counts as one: the page is sent again).
    pub(super) fn first_error(&self) -> Option<KafkaError> {
        match self.first_error.lock() {
            Ok(mut error) => error.take(),
            Err(_) => Some(KafkaError::Canceled),
        }
    }
}
