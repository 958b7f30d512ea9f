//! A member that is owed records but receives none renews its Kafka consumer.
//!
//! librdkafka can keep a partition it was told has no leader (leader -1, as while a single
//! broker restarts) without a leader for good, whatever the cluster answers later (librdkafka
//! issue 5430): it then fetches nothing from that partition however many records wait, and
//! only a new client, with fresh metadata, reaches the leader again. After a broker restart a
//! member can also be left owning no partition while the group keeps its partitions for it.
//! Its own statistics go stale with it, so the watch asks a client of its own: once the member
//! has received nothing for the stall time while its output is writable, `owed_records` says
//! whether records wait that it should be reading.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::group::owed_records::Span;

/// How long a member may receive nothing while it reads before its partitions' ends are
/// checked: well past a broker's restart and a rebalance.
pub const STALL_AFTER: Duration = Duration::from_secs(60);

/// The stall time: `STALL_AFTER`, or `SLUICE_FETCH_STALL_SECONDS` for tests.
pub fn stall_after() -> Duration {
    sluice_common::fault::hook("SLUICE_FETCH_STALL_SECONDS")
        .and_then(|s| s.parse().ok())
        .map_or(STALL_AFTER, Duration::from_secs)
}

/// For tests, `SLUICE_FREEZE_FETCH_AFTER=N`: after its Nth record the member's consumer stops
/// fetching, as a client stuck without partition leaders does: its partitions paused, or with
/// `SLUICE_FREEZE_FETCH_BY=unsubscribe` its subscription dropped, as a client left owning nothing
/// is. Once per process; unset, as in production, never.
pub fn freeze_after() -> Option<(u64, Freeze)> {
    let after = sluice_common::fault::hook("SLUICE_FREEZE_FETCH_AFTER")?
        .parse()
        .ok()?;
    let freeze = match sluice_common::fault::hook("SLUICE_FREEZE_FETCH_BY").as_deref() {
        Some("unsubscribe") => Freeze::Unsubscribe,
        _ => Freeze::Pause,
    };
    Some((after, freeze))
}

/// How a test stops a member's fetching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freeze {
    /// Its partitions paused: they stay assigned, records wait past its positions.
    Pause,
    /// Its subscription dropped: it owns nothing, and nobody reads its partitions.
    Unsubscribe,
}

/// When the member last received a record (or was last checked).
#[derive(Debug)]
pub struct FetchWatch {
    last_record: Instant,
    stall_after: Duration,
    /// Where the group stood in the topic's partitions at the last check made while the member
    /// owned none (empty otherwise).
    group_before: BTreeMap<i32, Span>,
}

impl FetchWatch {
    /// A watch that asks for a check after `stall_after` without a record.
    pub fn new(now: Instant, stall_after: Duration) -> Self {
        Self {
            last_record: now,
            stall_after,
            group_before: BTreeMap::new(),
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

    /// Whether the member, which at `now` means to read (`reading`: its output writable), has
    /// received nothing for the stall time: what it is owed is to be checked. Reading nothing
    /// on purpose starts the time over. A member that owns no partition is checked too: it may
    /// be owed partitions nobody reads.
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

    /// Where the group stood at the last check made while the member owned no partition.
    pub fn group_before(&self) -> &BTreeMap<i32, Span> {
        &self.group_before
    }

    /// Keeps where the group stands, for the next check while the member owns no partition
    /// (`None` when it owns some, or has a new consumer: the next such check starts afresh).
    pub fn remember_group(&mut self, group: Option<BTreeMap<i32, Span>>) {
        self.group_before = group.unwrap_or_default();
    }
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
        // A full disk: no check, and the time starts over after it.
        assert!(!watch.due(start + Duration::from_secs(500), false));
        assert!(!watch.due(start + Duration::from_secs(559), true));
        assert!(watch.due(start + Duration::from_secs(560), true));
    }
}
