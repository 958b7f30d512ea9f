//! What fails in the producer and is retried or healed: each said and counted once.

use std::fmt::Display;
use std::time::Duration;

use prometheus::IntCounter;
use sluice_common::events::{ErrorKind, Event};

/// The Kafka client failed for good; a new one goes on from the last watermark after `pause`.
pub struct ClientRenewing<'a> {
    /// Why the client failed.
    pub error: &'a dyn Display,
    /// The wait before the new client starts.
    pub pause: Duration,
}

impl Event for ClientRenewing<'_> {
    fn emit(self) {
        tracing::error!(
            error = %self.error,
            pause_seconds = self.pause.as_secs_f64(),
            "{}; a new Kafka client goes on from the last watermark in {}s",
            self.error,
            self.pause.as_secs()
        );
        ErrorKind::Kafka.count();
    }
}

/// Publishing a page failed; the pages from the watermark on are read and sent again, after
/// `pause` (or at the next start, when the producer is stopping).
pub struct PublishFailed<'a> {
    /// What librdkafka reported.
    pub error: &'a dyn Display,
    /// Pages in flight that are given up, to be read again.
    pub abandoned: usize,
    /// How long the producer waits before it reads them again; `None` when it is stopping.
    pub pause: Option<Duration>,
    /// `sluice_producer_produce_errors_total`.
    pub produce_errors: &'a IntCounter,
}

impl Event for PublishFailed<'_> {
    fn emit(self) {
        let when = match self.pause {
            Some(pause) => format!("in {:.1}s", pause.as_secs_f64()),
            None => "at the next start".to_owned(),
        };
        tracing::warn!(
            error = %self.error,
            pages = self.abandoned,
            "publishing failed: {}; {} page(s) will be read and sent again from the watermark {when}",
            self.error,
            self.abandoned
        );
        self.produce_errors.inc();
        ErrorKind::Kafka.count();
    }
}

/// A step of the sweep for deleted rows failed; the next sweep tries again.
pub struct SweepFailed<'a> {
    /// The table swept.
    pub table: &'a str,
    /// Why the step failed.
    pub error: &'a dyn Display,
}

impl Event for SweepFailed<'_> {
    fn emit(self) {
        tracing::warn!(
            table = self.table,
            error = %self.error,
            "sweeping {} for deleted rows failed: {}; the next sweep tries again",
            self.table,
            self.error
        );
        ErrorKind::Mysql.count();
    }
}

/// Published keys whose last record the topic's retention deleted: a sweep found them gone from
/// the table but cannot read their keys back, so no delete is published for them.
pub struct SweepKeysLost<'a> {
    /// The table swept.
    pub table: &'a str,
    /// How many keys.
    pub keys: usize,
}

impl Event for SweepKeysLost<'_> {
    fn emit(self) {
        tracing::warn!(
            table = self.table,
            keys = self.keys,
            "{} published key(s) of {} are no longer in the table, but their last records are \
             gone from the topic (its retention deleted them): no delete is published for them; \
             kafka.compact_topic = true keeps every key's last record",
            self.keys,
            self.table
        );
    }
}

/// The published keys were not saved: the next start reads the records topic further back.
pub struct PublishedKeysNotSaved<'a> {
    /// Why they were not saved.
    pub error: &'a dyn Display,
}

impl Event for PublishedKeysNotSaved<'_> {
    fn emit(self) {
        tracing::warn!(
            error = %self.error,
            "{}; the next start reads the records topic further back",
            self.error
        );
        ErrorKind::Kafka.count();
    }
}

/// The Kafka client delivered nothing for `message.timeout.ms` (see
/// `publish::failure_policy`): it is replaced, and its pages are read and sent again.
pub struct PublishStale<'a> {
    /// What librdkafka reported.
    pub error: &'a dyn Display,
    /// `sluice_producer_produce_errors_total`.
    pub produce_errors: &'a IntCounter,
}

impl Event for PublishStale<'_> {
    fn emit(self) {
        // The renewal that follows says it at error level (`ClientRenewing`).
        tracing::debug!(error = %self.error, "the Kafka client delivered nothing in time: {}", self.error);
        self.produce_errors.inc();
    }
}
