//! The member's Kafka consumer context: rdkafka's rebalance callbacks, which commit what the
//! member wrote before its partitions go and settle the checkpoint when they come, and its
//! statistics, which feed the lag gauge of the partitions it owns.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::ClientContext;
use sluice_common::events::Event;
use sluice_common::observe::Readiness;

use crate::commit::checkpoint::{lock, Checkpoint};
use crate::events::{LagSampled, Rebalanced, RevocationCommitFailed};
use crate::metrics::ConsumerMetrics;

/// Gives rdkafka's rebalance callbacks access to the checkpoint.
pub struct MemberContext {
    checkpoint: Arc<Mutex<Checkpoint>>,
    member: String,
    metrics: ConsumerMetrics,
    readiness: Readiness,
    /// Set while the output cannot be written: partitions assigned meanwhile start paused.
    pub(crate) output_blocked: AtomicBool,
    /// Set once a newer consumer replaced this one (see `Member::rejoin`): the checkpoint is
    /// the newer one's, and this one's callbacks leave it alone while it closes.
    pub(crate) retired: AtomicBool,
    /// The partitions assigned now: the lag gauge has samples for these alone, so a partition
    /// that went to another member is not counted twice.
    owned: Mutex<BTreeSet<i32>>,
}

impl MemberContext {
    /// A context sharing `checkpoint` with the member's loop; readiness follows the assignment.
    pub fn new(
        checkpoint: Arc<Mutex<Checkpoint>>,
        member: String,
        metrics: ConsumerMetrics,
        readiness: Readiness,
    ) -> Self {
        Self {
            checkpoint,
            member,
            metrics,
            readiness,
            output_blocked: AtomicBool::new(false),
            retired: AtomicBool::new(false),
            owned: Mutex::new(BTreeSet::new()),
        }
    }
}

impl ClientContext for MemberContext {
    /// librdkafka's periodic statistics carry each partition's end and the member's position
    /// in it, so no extra request is needed for the lag gauge.
    /// Statistics can arrive after a partition went away; only owned ones are set.
    fn stats(&self, statistics: rdkafka::Statistics) {
        if self.retired.load(Ordering::Acquire) {
            return;
        }
        let owned = self
            .owned
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for topic in statistics.topics.values() {
            for partition in topic.partitions.values() {
                let not_read = crate::metrics::records_not_read(partition);
                if let (true, Some(lag)) = (owned.contains(&partition.partition), not_read) {
                    LagSampled {
                        partition: partition.partition,
                        lag,
                        gauge: &self.metrics.lag_records,
                    }
                    .emit();
                }
            }
        }
    }
}

impl MemberContext {
    /// Records `owned` as the partitions assigned; the lag samples of the others are dropped
    /// (see `Rebalanced`). `kind` names the rebalance, when it is one.
    fn now_owns(&self, owned: BTreeSet<i32>, kind: Option<&'static str>) {
        let mut held = self
            .owned
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let gone: Vec<i32> = held.difference(&owned).copied().collect();
        let assigned: Vec<i32> = owned.iter().copied().collect();
        Rebalanced {
            member: &self.member,
            kind,
            assigned: &assigned,
            gone: &gone,
            metrics: &self.metrics,
        }
        .emit();
        *held = owned;
    }
}

impl ConsumerContext for MemberContext {
    /// Before partitions go to another member, what was written for them is made durable and
    /// committed, so the next owner starts exactly after it.
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if self.retired.load(Ordering::Acquire) {
            return;
        }
        if let Rebalance::Revoke(partitions) = rebalance {
            let mut checkpoint = lock(&self.checkpoint);
            if let Err(error) = checkpoint.commit(consumer) {
                RevocationCommitFailed {
                    member: &self.member,
                    error: &error,
                }
                .emit();
                checkpoint.drop_uncommitted(consumer);
            }
            // Committed or not, the offsets of partitions going away are no longer this member's.
            checkpoint.forget(partitions);
            drop(checkpoint);
            tracing::info!(
                member = %self.member,
                "{}: partitions revoked: {}",
                self.member,
                describe(partitions)
            );
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if self.retired.load(Ordering::Acquire) {
            return;
        }
        let kind = match rebalance {
            Rebalance::Assign(_) => Some("assign"),
            Rebalance::Revoke(_) => Some("revoke"),
            Rebalance::Error(_) => None,
        };
        if let Rebalance::Assign(partitions) = rebalance {
            if self.output_blocked.load(Ordering::Acquire) {
                if let Err(error) = consumer.pause(partitions) {
                    tracing::warn!(
                        member = %self.member,
                        "{}: cannot pause partitions assigned while the output is blocked: {error}",
                        self.member
                    );
                }
            }
        }
        let assignment = consumer.assignment().unwrap_or_default();
        self.now_owns(
            assignment
                .elements()
                .iter()
                .map(|e| e.partition())
                .collect(),
            kind,
        );
        self.readiness.set(assignment.count() > 0);
        // A rebalance that only took partitions away ends in an empty incremental assignment;
        // the revocation has been logged already.
        if let Rebalance::Assign(partitions) = rebalance {
            if partitions.count() == 0 {
                return;
            }
            let all = consumer
                .assignment()
                .map(|a| describe(&a))
                .unwrap_or_default();
            tracing::info!(
                member = %self.member,
                "{}: assigned {}; now reading {all}",
                self.member,
                describe(partitions)
            );
        }
    }
}

/// The partitions of `partitions`, as `[0,1,2]`.
pub(crate) fn describe(partitions: &rdkafka::TopicPartitionList) -> String {
    let list: Vec<String> = partitions
        .elements()
        .iter()
        .map(|p| p.partition().to_string())
        .collect();
    format!("[{}]", list.join(","))
}
