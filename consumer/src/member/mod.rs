//! One member of the consumer group: the loop that decodes, transforms and writes each record
//! (here), its Kafka consumer replaced when it cannot go on (`consumer_renewal`), and its wait
//! while the output disk is full (`disk_full`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prometheus::core::Collector;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{BorrowedMessage, Message};
use sluice_common::acls::ConsumerRefusals;
use sluice_common::dead_letter::DeadLetter;
use sluice_common::settings::OnError;
use sluice_common::shutdown::Shutdown;

use crate::commit::checkpoint::{lock, Checkpoint};
use crate::error::{ConsumerError, RecordRefused};
use crate::events::{PollFailed, RecordDeadLettered, RecordTally, RecordsHandled, Stopping};
use crate::group::context::{describe, MemberContext};
use crate::group::fetch_watch::{self, FetchWatch};
use crate::group::joiner::GroupJoiner;
use crate::loop_clock::LoopClock;
use crate::metrics::{ConsumerMetrics, PartitionCounters};
use crate::output::member_lock::MemberLock;
use crate::record::render::{LineRenderer, RecordView};
use sluice_common::events::Event;

mod consumer_renewal;
mod disk_full;

const PROGRESS_EVERY: Duration = Duration::from_secs(5);
/// With nothing new written, a heartbeat line this often instead.
const IDLE_PROGRESS_EVERY: Duration = Duration::from_secs(60);
pub(crate) const POLL_TIMEOUT: Duration = Duration::from_millis(200);
/// A member that has read everything waiting commits what it wrote this soon after its last
/// commit, rather than a whole `commit_interval_ms` later: the offsets follow the file closely
/// once the stream slows down, without a commit (and a file sync) per record of a trickle.
const CAUGHT_UP_COMMIT_GAP: Duration = Duration::from_millis(50);
/// How often the member looks whether records wait that it does not receive (see
/// `fetch_watch`).
const FETCH_WATCH_EVERY: Duration = Duration::from_secs(5);
/// How long closing the consumer may take once everything is committed.
pub(crate) const CLOSE_PATIENCE: Duration = Duration::from_secs(10);
/// Lines gathered before they are handed to the file while records keep coming.
const WRITE_THROUGH_BYTES: usize = 1 << 20;
/// Exactly once, lines gathered before they are committed while records keep coming: each
/// commit is a transaction, a batch file and a sync, so batches are larger.
const BATCH_BYTES: usize = 8 << 20;

/// The member's loop and what it needs.
pub struct Member {
    /// The group consumer, already subscribed.
    pub consumer: BaseConsumer<MemberContext>,
    /// Makes a new group consumer when the group refuses this one.
    pub joiner: GroupJoiner,
    /// Shared with the context.
    pub checkpoint: Arc<Mutex<Checkpoint>>,
    /// Decoding and the configured transformation.
    pub renderer: LineRenderer,
    /// What a record that cannot be written does.
    pub on_error: OnError,
    /// How often to flush and commit.
    pub commit_interval: Duration,
    /// This member's name, for logs.
    pub name: String,
    /// What the member counts.
    pub metrics: ConsumerMetrics,
    /// No other process runs as this member over its folder while this one does.
    pub lock: MemberLock,
    /// Which ACL a refused request lacked: the member stops with it rather than ask again.
    pub refusals: ConsumerRefusals,
}

impl Member {
    /// Reads until shutdown, then commits what was written. Blocking: run it on its own thread.
    pub fn run(self, shutdown: Shutdown) -> Result<(), ConsumerError> {
        let outcome = self.read_until_stopped(shutdown);
        if let Err(error) = &outcome {
            Stopping { kind: error.kind() }.emit();
        }
        outcome
    }

    /// [`run`](Self::run), its failure not yet counted.
    fn read_until_stopped(mut self, shutdown: Shutdown) -> Result<(), ConsumerError> {
        let mut last_commit = Instant::now();
        let mut last_progress = Instant::now();
        let mut lines_at_progress = 0;
        let mut scratch = Scratch {
            line: Vec::with_capacity(512),
            tally: RecordTally::default(),
            counters: PartitionCounters::default(),
            clock: LoopClock::new(),
        };
        let mut watch = FetchWatch::new(Instant::now(), fetch_watch::stall_after());
        let mut last_look = Instant::now();
        let mut freeze_after = fetch_watch::freeze_after();
        // Records received since the last look at the clock, and in all.
        let (mut received, mut received_in_all) = (0u64, 0u64);
        while !shutdown.requested() {
            // Lines are buffered while records keep coming; once none is waiting they are
            // handed to the file before blocking, so a line appears as soon as its record is read.
            let mut next = self.consumer.poll(Duration::ZERO);
            if next.is_none() {
                self.report(&mut scratch);
                self.write_through(&shutdown)?;
                let since_commit = last_commit.elapsed();
                let mut wait = POLL_TIMEOUT;
                if since_commit >= CAUGHT_UP_COMMIT_GAP {
                    lock(&self.checkpoint).cover_skipped_offsets(&self.consumer);
                    self.commit(&shutdown)?;
                    last_commit = Instant::now();
                } else if lock(&self.checkpoint).pending().next().is_some() {
                    // What was handled is committed when the gap is up, not when the next
                    // record or the poll's timeout happens to wake the loop.
                    wait = wait.min(CAUGHT_UP_COMMIT_GAP - since_commit);
                }
                next = self.consumer.poll(wait);
                scratch.clock.read();
            } else {
                scratch.clock.record();
            }
            match next {
                None => {}
                Some(Err(error)) => {
                    let fatal = self.consumer.client().fatal_error();
                    let code = fatal
                        .as_ref()
                        .map(|(code, _)| *code)
                        .or_else(|| error.rdkafka_error_code());
                    if let Some(missing) = code.and_then(|code| self.refusals.of(code, &error)) {
                        let error = ConsumerError::MissingAcl {
                            member: self.name.clone(),
                            source: missing,
                        };
                        self.report(&mut scratch);
                        return self.stop_after(error, &shutdown);
                    }
                    match fatal {
                        Some((code, reason)) => self.rejoin(&shutdown, code, &reason)?,
                        None => PollFailed {
                            member: &self.name,
                            error: &error,
                        }
                        .emit(),
                    }
                }
                Some(Ok(message)) => {
                    received += 1;
                    let handled = handle(
                        &mut self.renderer,
                        self.on_error,
                        &self.checkpoint,
                        &self.name,
                        &self.metrics,
                        &message,
                        &mut scratch,
                    );
                    drop(message);
                    if let Err(error) = handled {
                        self.report(&mut scratch);
                        return self.stop_after(error, &shutdown);
                    }
                    let (buffered, held) = {
                        let checkpoint = lock(&self.checkpoint);
                        (
                            checkpoint.sink.buffered(),
                            checkpoint.holds_lines_until_commit(),
                        )
                    };
                    if held && buffered >= BATCH_BYTES {
                        self.report(&mut scratch);
                        self.commit(&shutdown)?;
                        last_commit = Instant::now();
                    } else if !held && buffered >= WRITE_THROUGH_BYTES {
                        self.write_through(&shutdown)?;
                    }
                }
            }
            let now = scratch.clock.monotonic();
            if received > 0 {
                watch.record(now);
                received_in_all += received;
                if let Some((_, freeze)) =
                    freeze_after.filter(|(after, _)| received_in_all >= *after)
                {
                    freeze_after = None;
                    self.freeze_fetching(freeze);
                }
                received = 0;
            }
            if now.saturating_duration_since(last_look) >= FETCH_WATCH_EVERY {
                last_look = now;
                if watch.due(now, self.output_writable()) {
                    self.check_fetching(&shutdown, &mut watch)?;
                    watch.checked(Instant::now());
                }
            }
            if now.saturating_duration_since(last_commit) >= self.commit_interval {
                self.report(&mut scratch);
                self.commit(&shutdown)?;
                last_commit = now;
                // A commit syncs the file: the records after it are timed after it.
                scratch.clock.read();
            }
            let since = now - last_progress;
            if since >= PROGRESS_EVERY {
                let idle = lock(&self.checkpoint).sink.lines() == lines_at_progress;
                if !idle || since >= IDLE_PROGRESS_EVERY {
                    lines_at_progress = self.log_progress(since, lines_at_progress);
                    last_progress = now;
                }
            }
        }
        self.report(&mut scratch);
        self.commit(&shutdown)?;
        self.settle()?;
        self.log_progress(last_progress.elapsed(), lines_at_progress);
        tracing::info!(member = %self.name, "{}: stopped; offsets committed", self.name);
        let Member { consumer, name, .. } = self;
        close_within(consumer, &name, CLOSE_PATIENCE);
        Ok(())
    }

    /// Stops the member with `error`; after a record refused under `on_error = "fail"`, what
    /// came before it is committed first.
    fn stop_after(self, error: ConsumerError, shutdown: &Shutdown) -> Result<(), ConsumerError> {
        if matches!(error, ConsumerError::RecordRefused(_)) {
            tracing::error!(member = %self.name, "{}: {error}", self.name);
            self.commit(shutdown)?;
            self.settle()?;
            let Member { consumer, name, .. } = self;
            close_within(consumer, &name, CLOSE_PATIENCE);
        }
        Err(error)
    }

    /// Records waiting on the partitions the member owns, as librdkafka's statistics last said
    /// (the gauge has samples for owned partitions alone, see `MemberContext::keep_lag_of`).
    fn lag(&self) -> i64 {
        self.metrics
            .lag_records
            .collect()
            .iter()
            .flat_map(|family| family.get_metric())
            .map(|metric| metric.get_gauge().get_value() as i64)
            .sum()
    }

    /// Hands what the loop handled since the last report to the metrics, in one event.
    fn report(&self, scratch: &mut Scratch) {
        if scratch.tally.is_empty() {
            return;
        }
        RecordsHandled {
            member: &self.name,
            tally: &mut scratch.tally,
            counters: &mut scratch.counters,
            metrics: &self.metrics,
        }
        .emit();
    }

    fn log_progress(&self, elapsed: Duration, lines_before: u64) -> u64 {
        let checkpoint = lock(&self.checkpoint);
        let lines = checkpoint.sink.lines();
        let rate = lines_per_second(lines_before, lines, elapsed);
        let partitions = self
            .consumer
            .assignment()
            .map(|a| describe(&a))
            .unwrap_or_default();
        let lag = self.lag();
        let dead = checkpoint.dead_letters.sent();
        let file = checkpoint.sink.path().display();
        tracing::info!(
            member = %self.name,
            lines_written = lines,
            lines_per_second = rate.round(),
            lag,
            dead_letters = dead,
            partitions = %partitions,
            file = %file,
            "{}: lines written {lines} ({rate:.0}/s), lag {lag}, dead letters {dead}, partitions {partitions}, file {file}",
            self.name,
        );
        lines
    }
}

/// What the loop reuses from one record to the next.
struct Scratch {
    /// The line being built.
    line: Vec<u8>,
    /// What was handled since the last report.
    tally: RecordTally,
    /// Counters by partition, for the reports.
    counters: PartitionCounters,
    /// The time as of the last few records.
    clock: LoopClock,
}

/// Decodes, transforms and writes one record, or dead-letters it with the reason; either way its
/// offset becomes committable.
fn handle(
    renderer: &mut LineRenderer,
    on_error: OnError,
    checkpoint: &Mutex<Checkpoint>,
    name: &str,
    metrics: &ConsumerMetrics,
    message: &BorrowedMessage<'_>,
    scratch: &mut Scratch,
) -> Result<(), ConsumerError> {
    let Scratch { line, tally, .. } = scratch;
    line.clear();
    tally.consumed(message.partition());
    let outcome = renderer.render(&RecordView::of(message), line);
    let mut checkpoint = lock(checkpoint);
    match outcome {
        Ok(written_at) => {
            checkpoint.sink.write(line);
            tally.written(message.partition(), line.len());
            if let Some(updated) = written_at {
                checkpoint.time_line(updated);
            }
        }
        Err((stage, reason)) => {
            let origin = format!(
                "{}/{}@{}",
                message.topic(),
                message.partition(),
                message.offset()
            );
            if on_error == OnError::Fail {
                return Err(RecordRefused {
                    origin,
                    stage: stage.as_str(),
                    reason,
                }
                .into());
            }
            RecordDeadLettered {
                member: name,
                origin: &origin,
                stage,
                reason: &reason,
                counter: &metrics.dead_letters,
            }
            .emit();
            let letter = DeadLetter {
                stage,
                reason,
                origin,
            };
            checkpoint
                .dead_letters
                .send(message.key(), message.payload(), &letter)
                .map_err(ConsumerError::kafka(name, "queueing a dead letter"))?;
        }
    }
    checkpoint.handled(message.topic(), message.partition(), message.offset());
    Ok(())
}

/// Closes the consumer (dropping it leaves librdkafka to close it) within `patience`. Closing a
/// cooperative-sticky member can hang in librdkafka when a rebalance is in flight (fixed after
/// the 2.12 bundled here); by then every line is durable and its offset committed, so after
/// `patience` the process goes on to exit and nothing is lost.
pub(crate) fn close_within(consumer: BaseConsumer<MemberContext>, name: &str, patience: Duration) {
    let (closed, done) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        drop(consumer);
        let _ = closed.send(());
    });
    if done.recv_timeout(patience).is_err() {
        tracing::warn!(
            member = %name,
            "{name}: closing the Kafka consumer took more than {}s; exiting anyway (offsets are committed)",
            patience.as_secs()
        );
    }
}

/// Lines written per second since the last report: none when the count went back (exactly
/// once, an aborted batch's lines are cut from the file again).
fn lines_per_second(before: u64, now: u64, elapsed: Duration) -> f64 {
    now.saturating_sub(before) as f64 / elapsed.as_secs_f64().max(0.001)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_cut_again_since_the_last_report_are_no_negative_rate() {
        let second = Duration::from_secs(1);
        assert_eq!(lines_per_second(100, 350, second), 250.0);
        assert_eq!(lines_per_second(7_167, 6_900, second), 0.0);
    }
}
