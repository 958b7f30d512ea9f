//! What happens in the producer, each written once: its log line and its metrics in one
//! [`Event::emit`] (see `sluice_common::events`, which holds the events every process shares).

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
            "sweeping {} for deleted rows failed: {}; the next sweep tries again",
            self.table,
            self.error
        );
        ErrorKind::Mysql.count();
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
            "{}; the next start reads the records topic further back",
            self.error
        );
        ErrorKind::Kafka.count();
    }
}
