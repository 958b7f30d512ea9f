//! A member that is owed records but receives none renews its Kafka consumer.
//!
//! librdkafka can keep a partition it was told has no leader (leader -1, as while a single
//! broker restarts) without a leader for good, whatever the cluster answers later (librdkafka
//! issue 5430): it then fetches nothing from that partition however many records wait, and
//! only a new client, with fresh metadata, reaches the leader again. Its own statistics go
//! stale with it, so the watch asks a client of its own: once the member has received nothing
//! for `STALL_AFTER` while it means to read, a fresh client reads each owned partition's end;
//! records waiting past the member's position mean the member's consumer is stuck.

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::Offset;

/// How long a member may receive nothing while it reads before its partitions' ends are
/// checked: well past a broker's restart and a rebalance.
pub const STALL_AFTER: Duration = Duration::from_secs(60);
/// How long the check may wait for a partition's end.
const END_PATIENCE: Duration = Duration::from_secs(10);
/// Offsets past the member's position that mean records wait: one is a transaction's commit
/// marker, which a read-committed consumer may not step past until more records come.
const WAITING_AT_LEAST: i64 = 2;

/// The stall time: `STALL_AFTER`, or `SLUICE_FETCH_STALL_SECONDS` for tests.
pub fn stall_after() -> Duration {
    sluice_common::fault::hook("SLUICE_FETCH_STALL_SECONDS")
        .and_then(|s| s.parse().ok())
        .map_or(STALL_AFTER, Duration::from_secs)
}

/// For tests, `SLUICE_FREEZE_FETCH_AFTER=N`: after its Nth record the member's consumer stops
/// fetching (its partitions paused), as a client stuck without partition leaders does. Once per
/// process; unset, as in production, never.
pub fn freeze_after() -> Option<u64> {
    sluice_common::fault::hook("SLUICE_FREEZE_FETCH_AFTER").and_then(|s| s.parse().ok())
}

/// When the member last received a record (or was last checked).
#[derive(Debug)]
pub struct FetchWatch {
    last_record: Instant,
    stall_after: Duration,
}

impl FetchWatch {
    /// A watch that asks for a check after `stall_after` without a record.
    pub fn new(now: Instant, stall_after: Duration) -> Self {
        Self {
            last_record: now,
            stall_after,
        }
    }

    /// How long the member may receive nothing before a check.
    pub fn stall_after(&self) -> Duration {
        self.stall_after
    }

    /// A record arrived.
    pub fn record(&mut self, now: Instant) {
        self.last_record = now;
    }

    /// Whether the member, which at `now` means to read (`reading`: partitions assigned, the
    /// output writable), has received nothing for the stall time: its partitions' ends are to be
    /// checked. Reading nothing on purpose starts the time over.
    pub fn due(&mut self, now: Instant, reading: bool) -> bool {
        if !reading {
            self.last_record = now;
            return false;
        }
        now.saturating_duration_since(self.last_record) >= self.stall_after
    }

    /// The check was made (and the consumer renewed if it had to be): the next one is due a
    /// stall time after `now`.
    pub fn checked(&mut self, now: Instant) {
        self.last_record = now;
    }
}

/// Records waiting past `member`'s positions in its partitions, by the partitions' ends as
/// `probe` (a client of its own, with fresh metadata) reads them. Partitions without a position
/// yet are not counted.
pub fn waiting_records<C: ConsumerContext>(
    member: &BaseConsumer<C>,
    probe: &BaseConsumer,
) -> Result<i64, rdkafka::error::KafkaError> {
    let mut waiting = 0;
    for element in member.position()?.elements() {
        let Offset::Offset(position) = element.offset() else {
            continue;
        };
        let (_, end) =
            probe.fetch_watermarks(element.topic(), element.partition(), END_PATIENCE)?;
        if end - position >= WAITING_AT_LEAST {
            waiting += end - position;
        }
    }
    Ok(waiting)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STALL: Duration = Duration::from_secs(60);

    #[test]
    fn a_check_is_due_after_the_stall_time_without_a_record() {
        let start = Instant::now();
        let mut watch = FetchWatch::new(start, STALL);
        assert!(!watch.due(start + Duration::from_secs(59), true));
        assert!(watch.due(start + Duration::from_secs(60), true));
        watch.checked(start + Duration::from_secs(61));
        assert!(!watch.due(start + Duration::from_secs(62), true));
        assert!(watch.due(start + Duration::from_secs(121), true));
    }

    #[test]
    fn a_record_or_reading_nothing_on_purpose_starts_the_time_over() {
        let start = Instant::now();
        let mut watch = FetchWatch::new(start, STALL);
        watch.record(start + Duration::from_secs(50));
        assert!(!watch.due(start + Duration::from_secs(100), true));
        assert!(watch.due(start + Duration::from_secs(110), true));
        // A full disk, or no partitions: no check, and the time starts over after it.
        assert!(!watch.due(start + Duration::from_secs(500), false));
        assert!(!watch.due(start + Duration::from_secs(559), true));
        assert!(watch.due(start + Duration::from_secs(560), true));
    }
}
