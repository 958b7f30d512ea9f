//! What happens in every sluice process, each written in one place.
//!
//! Invariant: a log line and the metric that counts the same happening are written by one
//! [`Event::emit`], so the two cannot drift apart (in the manner of Vector's
//! `internal_events`). Label values come from enums, never from literals at the call site.
//! The producer's and the consumer's own events live in their crates' `events` modules and
//! count their failures through [`ErrorKind::count`].

use std::fmt::Display;
use std::sync::LazyLock;
use std::time::Duration;

use prometheus::{IntCounterVec, Opts};

/// Something that happened: [`emit`](Event::emit) writes its log line and counts its metric.
pub trait Event {
    /// Logs the event and counts it.
    fn emit(self);
}

/// The kinds of `sluice_errors_total`: which server or step failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The source database.
    Mysql,
    /// The Kafka cluster.
    Kafka,
    /// The schema registry.
    Registry,
    /// Committing consumed offsets.
    Commit,
    /// Writing a consumer's output file.
    Output,
}

impl ErrorKind {
    /// Every kind, each present in `sluice_errors_total` from the start so a dashboard shows
    /// zeros.
    pub const ALL: [ErrorKind; 5] = [
        ErrorKind::Mysql,
        ErrorKind::Kafka,
        ErrorKind::Registry,
        ErrorKind::Commit,
        ErrorKind::Output,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Mysql => "mysql",
            ErrorKind::Kafka => "kafka",
            ErrorKind::Registry => "registry",
            ErrorKind::Commit => "commit",
            ErrorKind::Output => "output",
        }
    }

    /// Counts one error of this kind in `sluice_errors_total`; for events, which log it too.
    pub fn count(self) {
        ERRORS.with_label_values(&[self.as_str()]).inc();
    }
}

/// `sluice_errors_total{kind}`: one counter per process, which each registry of the process
/// exposes ([`errors_total`]).
static ERRORS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    let errors = IntCounterVec::new(
        Opts::new(
            "sluice_errors_total",
            "Failures retried or reported, by kind.",
        ),
        &["kind"],
    )
    .expect("a constant metric definition is valid");
    for kind in ErrorKind::ALL {
        errors.with_label_values(&[kind.as_str()]);
    }
    errors
});

/// The process's `sluice_errors_total`, to register in a metrics registry.
pub fn errors_total() -> IntCounterVec {
    ERRORS.clone()
}

/// A server or step failed and is tried again after `pause`.
pub struct Retrying<'a> {
    /// Which kind of error it counts as.
    pub kind: ErrorKind,
    /// What is waited for, as a user reads it ("Kafka at 127.0.0.1:9092").
    pub what: &'a str,
    /// Why the last try failed.
    pub error: &'a dyn Display,
    /// The wait before the next try.
    pub pause: Duration,
}

impl Event for Retrying<'_> {
    fn emit(self) {
        tracing::warn!(
            kind = self.kind.as_str(),
            awaited = self.what,
            error = %self.error,
            pause_seconds = self.pause.as_secs_f64(),
            "waiting for {}: {}; retrying in {:.1}s",
            self.what,
            self.error,
            self.pause.as_secs_f32()
        );
        self.kind.count();
    }
}

/// The process's metrics are about to be scraped: its up time is brought current.
pub struct Scraped<'a> {
    /// How long the process has run.
    pub uptime: Duration,
    /// `sluice_uptime_seconds`.
    pub gauge: &'a prometheus::Gauge,
}

impl Event for Scraped<'_> {
    fn emit(self) {
        tracing::trace!(
            uptime_seconds = self.uptime.as_secs_f64(),
            "scrape after {:?}",
            self.uptime
        );
        self.gauge.set(self.uptime.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count_of(kind: ErrorKind) -> u64 {
        errors_total().with_label_values(&[kind.as_str()]).get()
    }

    #[test]
    fn every_kind_is_present_from_the_start() {
        let registry = prometheus::Registry::new();
        registry
            .register(Box::new(errors_total()))
            .expect("registers");
        let families = registry.gather();
        let kinds: Vec<&str> = families[0]
            .get_metric()
            .iter()
            .flat_map(|metric| metric.get_label().iter().map(|label| label.value()))
            .collect();
        assert_eq!(kinds, ["commit", "kafka", "mysql", "output", "registry"]);
    }

    #[test]
    fn an_event_counts_what_it_logs() {
        let before = count_of(ErrorKind::Registry);
        Retrying {
            kind: ErrorKind::Registry,
            what: "the schema registry",
            error: &"connection refused",
            pause: Duration::from_millis(500),
        }
        .emit();
        assert_eq!(count_of(ErrorKind::Registry), before + 1);
    }
}
