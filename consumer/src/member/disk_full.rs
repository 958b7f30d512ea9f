//! A member whose file cannot be written (a full disk) waits instead of failing.
//!
//! Invariant: **while the file cannot be written, the member reads nothing and commits
//! nothing.** Its partitions are paused (the group still served, so it keeps them), the lines
//! already gathered stay in memory (the file holds whole lines only, see `sink`), and writing
//! (exactly once: the batch file, or the append of a committed batch) is tried again every
//! `OUTPUT_RETRY` until it succeeds; then the partitions are resumed.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rdkafka::consumer::Consumer;
use rdkafka::message::Message;
use sluice_common::shutdown::Shutdown;

use super::{Member, POLL_TIMEOUT};
use crate::commit::checkpoint::lock;
use crate::commit::commit_error::CommitError;
use crate::error::ConsumerError;
use crate::events::{CommitDropped, OutputBlocked, OutputUnblocked};
use crate::output::sink::FlushError;
use sluice_common::events::Event;

/// While the file cannot be written, how often writing is tried again.
const OUTPUT_RETRY: Duration = Duration::from_secs(1);
/// While the file cannot be written, how often that is said again in the log.
const OUTPUT_BLOCKED_LOG_EVERY: Duration = Duration::from_secs(30);

impl Member {
    /// Hands the lines gathered to the file (exactly once: only a committed batch's), waiting
    /// while it cannot be written.
    pub(crate) fn write_through(&self, shutdown: &Shutdown) -> Result<(), ConsumerError> {
        let written = lock(&self.checkpoint).write_through();
        match written {
            Ok(()) => Ok(()),
            Err(FlushError::Write(error)) => self.wait_for_output(shutdown, &error.to_string()),
            Err(source) => Err(ConsumerError::Output {
                member: self.name.clone(),
                source,
            }),
        }
    }

    /// Makes the lines durable and commits their offsets, waiting while the file cannot be
    /// written; any other failure stops the member (the records after the last commit are
    /// read again at the next start).
    pub(crate) fn commit(&self, shutdown: &Shutdown) -> Result<(), ConsumerError> {
        loop {
            let outcome = lock(&self.checkpoint).commit(&self.consumer);
            match outcome {
                Ok(_) => return Ok(()),
                Err(CommitError::Output {
                    source: FlushError::Write(error),
                    ..
                }) => self.wait_for_output(shutdown, &error.to_string())?,
                Err(dropped @ CommitError::Dropped { .. }) => {
                    CommitDropped {
                        member: &self.name,
                        reason: &dropped,
                    }
                    .emit();
                    return Ok(());
                }
                Err(source) => {
                    return Err(ConsumerError::Commit {
                        member: self.name.clone(),
                        source,
                    });
                }
            }
        }
    }

    /// Before the member stops: waits until every committed line is durable in the file (exactly
    /// once, the last batch is appended on a thread of its own). Should that fail, the batch
    /// file stays and the next start appends the batch again from Kafka.
    pub(crate) fn settle(&self) -> Result<(), ConsumerError> {
        let settled = lock(&self.checkpoint).settle();
        settled.map_err(|source| ConsumerError::SettleAtStop {
            member: self.name.clone(),
            source,
        })
    }

    /// While the file cannot be written (a full disk): reads nothing (every partition paused,
    /// the group still served), keeps the lines gathered, and tries writing again every
    /// `OUTPUT_RETRY`, saying so in the log and in `sluice_consumer_output_blocked`.
    fn wait_for_output(&self, shutdown: &Shutdown, cause: &str) -> Result<(), ConsumerError> {
        let context = self.consumer.context();
        context.output_blocked.store(true, Ordering::Release);
        if let Ok(assignment) = self.consumer.assignment() {
            if let Err(error) = self.consumer.pause(&assignment) {
                tracing::warn!(
                    member = %self.name,
                    "{}: cannot pause its partitions: {error}",
                    self.name,
                );
            }
        }
        let (path, held) = {
            let checkpoint = lock(&self.checkpoint);
            (
                checkpoint.sink.path().display().to_string(),
                checkpoint.sink.held(),
            )
        };
        OutputBlocked {
            member: &self.name,
            path: &path,
            cause,
            held,
            retry: OUTPUT_RETRY,
            blocked: &self.metrics.output_blocked,
        }
        .emit();
        let started = Instant::now();
        let mut said = Instant::now();
        loop {
            if shutdown.requested() {
                return Err(ConsumerError::StoppedWhileBlocked {
                    member: self.name.clone(),
                    path,
                    cause: cause.to_owned(),
                });
            }
            // Serves the group (heartbeats, rebalances); paused partitions deliver nothing, and
            // a record of a partition assigned just before the pause is read again later.
            if let Some(Ok(message)) = self.consumer.poll(OUTPUT_RETRY) {
                let (topic, partition, offset) = (
                    message.topic().to_owned(),
                    message.partition(),
                    message.offset(),
                );
                drop(message);
                let mut rewound = rdkafka::TopicPartitionList::new();
                rewound.add_partition(&topic, partition);
                let _ = self.consumer.pause(&rewound);
                self.consumer
                    .seek(
                        &topic,
                        partition,
                        rdkafka::Offset::Offset(offset),
                        POLL_TIMEOUT,
                    )
                    .map_err(|source| ConsumerError::Rewind {
                        member: self.name.clone(),
                        topic: topic.clone(),
                        partition,
                        offset,
                        source: Box::new(source),
                    })?;
            }
            let written = lock(&self.checkpoint).retry_output(&self.consumer);
            match written {
                Ok(()) => break,
                Err(error) if said.elapsed() >= OUTPUT_BLOCKED_LOG_EVERY => {
                    tracing::error!(
                        member = %self.name,
                        "{}: still cannot write {path} after {:.0}s: {error}",
                        self.name,
                        started.elapsed().as_secs_f64()
                    );
                    said = Instant::now();
                }
                Err(_) => {}
            }
        }
        context.output_blocked.store(false, Ordering::Release);
        if let Ok(assignment) = self.consumer.assignment() {
            if let Err(error) = self.consumer.resume(&assignment) {
                tracing::warn!(
                    member = %self.name,
                    "{}: cannot resume its partitions: {error}",
                    self.name,
                );
            }
        }
        OutputUnblocked {
            member: &self.name,
            path: &path,
            blocked_for: started.elapsed(),
            blocked: &self.metrics.output_blocked,
        }
        .emit();
        Ok(())
    }
}
