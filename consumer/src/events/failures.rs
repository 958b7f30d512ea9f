//! What fails in a member and is retried, healed or stops it: each said and counted once.

use std::fmt::Display;
use std::time::Duration;

use prometheus::{IntCounterVec, IntGauge};
use sluice_common::dead_letter::Stage;
use sluice_common::events::{ErrorKind, Event};

/// A poll of the group returned an error the member reads on after.
pub struct PollFailed<'a> {
    /// The member.
    pub member: &'a str,
    /// What librdkafka reported.
    pub error: &'a dyn Display,
}

impl Event for PollFailed<'_> {
    fn emit(self) {
        tracing::warn!(member = self.member, error = %self.error, "{}: {}", self.member, self.error);
        ErrorKind::Kafka.count();
    }
}

/// The group refused the member (a fatal consumer error); it joins again after `pause`.
pub struct GroupRefused<'a> {
    /// The member.
    pub member: &'a str,
    /// The group still holds the member's previous instance, which has not left (it was
    /// killed): an expected wait, not a fault.
    pub previous_instance_held: bool,
    /// The group's reason.
    pub reason: &'a str,
    /// Lines gathered but not committed, dropped (they are read again).
    pub dropped: u64,
    /// The wait before joining again.
    pub pause: Duration,
}

impl Event for GroupRefused<'_> {
    fn emit(self) {
        if self.previous_instance_held {
            tracing::warn!(
                member = self.member,
                pause_seconds = self.pause.as_secs_f64(),
                "{}: the group still holds this member's previous instance (it stopped without \
                 leaving, e.g. killed); joining again every {}s until its session times out",
                self.member,
                self.pause.as_secs()
            );
        } else {
            tracing::error!(
                member = self.member,
                reason = self.reason,
                dropped = self.dropped,
                "{}: the group refused this member: {}; dropped {} uncommitted line(s), joining \
                 again in {}s",
                self.member,
                self.reason,
                self.dropped,
                self.pause.as_secs()
            );
        }
        ErrorKind::Kafka.count();
    }
}

/// Records wait on the member's partitions but none came for too long: its Kafka consumer is
/// replaced.
pub struct ConsumerRenewing<'a> {
    /// The member.
    pub member: &'a str,
    /// Records waiting that it should have read.
    pub waiting: i64,
    /// `None` when they wait on its own partitions; the number of partitions when it owns none
    /// and they wait on partitions no member read.
    pub unclaimed_partitions: Option<usize>,
    /// How long none came.
    pub stalled: Duration,
}

impl Event for ConsumerRenewing<'_> {
    fn emit(self) {
        let (waiting, stalled) = (self.waiting, self.stalled.as_secs());
        match self.unclaimed_partitions {
            Some(partitions) => tracing::error!(
                member = self.member,
                waiting,
                unclaimed_partitions = partitions,
                stalled_seconds = self.stalled.as_secs_f64(),
                "{}: it owns no partition while {waiting} record(s) wait on {partitions} \
                 partition(s) of the topic that no member has read for {stalled}s; renewing its \
                 Kafka consumer (a client can go on believing it owns nothing after a broker \
                 restart)",
                self.member,
            ),
            None => tracing::error!(
                member = self.member,
                waiting,
                stalled_seconds = self.stalled.as_secs_f64(),
                "{}: {waiting} record(s) wait on its partitions and none came for {stalled}s; \
                 renewing its Kafka consumer (librdkafka can lose a partition's leader for good \
                 after a broker restart)",
                self.member,
            ),
        }
        ErrorKind::Kafka.count();
    }
}

/// The commit before partitions were revoked failed; their next owner reads those records
/// again.
pub struct RevocationCommitFailed<'a> {
    /// The member.
    pub member: &'a str,
    /// Why the commit failed.
    pub error: &'a dyn Display,
}

impl Event for RevocationCommitFailed<'_> {
    fn emit(self) {
        tracing::error!(
            member = self.member,
            error = %self.error,
            "{}: commit before revocation failed: {}; the next owner reads those records again",
            self.member,
            self.error
        );
        ErrorKind::Commit.count();
    }
}

/// A commit was given up (its records are read again); the member goes on.
pub struct CommitDropped<'a> {
    /// The member.
    pub member: &'a str,
    /// Why, and what happens to the lines.
    pub reason: &'a dyn Display,
}

impl Event for CommitDropped<'_> {
    fn emit(self) {
        tracing::warn!(member = self.member, reason = %self.reason, "{}: {}", self.member, self.reason);
        ErrorKind::Commit.count();
    }
}

/// The output file cannot be written (a full disk): the member reads nothing until it can.
pub struct OutputBlocked<'a> {
    /// The member.
    pub member: &'a str,
    /// The file.
    pub path: &'a str,
    /// Why it cannot be written.
    pub cause: &'a str,
    /// Bytes of lines held meanwhile.
    pub held: u64,
    /// How often writing is tried again.
    pub retry: Duration,
    /// `sluice_consumer_output_blocked`, set to 1.
    pub blocked: &'a IntGauge,
}

impl Event for OutputBlocked<'_> {
    fn emit(self) {
        tracing::error!(
            member = self.member,
            path = self.path,
            cause = self.cause,
            held_bytes = self.held,
            "{}: cannot write {}: {}; reading nothing and holding {} bytes of lines until it \
             can, trying again every {}s",
            self.member,
            self.path,
            self.cause,
            self.held,
            self.retry.as_secs()
        );
        self.blocked.set(1);
        ErrorKind::Output.count();
    }
}

/// Kafka did not acknowledge a dead letter: the offsets of its record are not committed.
pub struct DeadLetterUndelivered<'a> {
    /// What librdkafka reported.
    pub error: &'a dyn Display,
}

impl Event for DeadLetterUndelivered<'_> {
    fn emit(self) {
        tracing::error!(error = %self.error, "a dead letter was not delivered: {}", self.error);
        ErrorKind::Kafka.count();
    }
}

/// A failure that stops the member: counted here, by its kind (`ConsumerError::kind`; none
/// for what is counted elsewhere), and logged once by the process as it exits.
pub struct Stopping {
    /// The kind of what failed.
    pub kind: Option<ErrorKind>,
}

impl Event for Stopping {
    fn emit(self) {
        if let Some(kind) = self.kind {
            kind.count();
        }
    }
}

/// A record that cannot be written went to the dead-letter topic (`on_error = "dead-letter"`).
pub struct RecordDeadLettered<'a> {
    /// The member.
    pub member: &'a str,
    /// `topic/partition@offset` of the record.
    pub origin: &'a str,
    /// Where it failed.
    pub stage: Stage,
    /// Why.
    pub reason: &'a str,
    /// `sluice_consumer_dlq_records_total`.
    pub counter: &'a IntCounterVec,
}

impl Event for RecordDeadLettered<'_> {
    fn emit(self) {
        tracing::warn!(
            member = self.member,
            origin = self.origin,
            stage = self.stage.as_str(),
            "{}: record {} sent to the dead-letter topic: {}",
            self.member,
            self.origin,
            self.reason
        );
        self.counter.with_label_values(&[self.stage.as_str()]).inc();
    }
}
