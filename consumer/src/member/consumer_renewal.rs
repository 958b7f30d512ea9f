//! A member replaces its Kafka consumer when the one it has cannot go on: the group refused it
//! for good (librdkafka's fatal error), or it receives nothing while records wait on its
//! partitions or on partitions nobody reads (see `fetch_watch` and `owed_records`).
//!
//! Invariant: the consumer replaced is marked retired before it is closed, so its rebalance
//! callbacks leave the checkpoint (now the new consumer's) alone, and what it had not committed
//! is dropped and read again by the new one from the committed offsets.

use std::sync::atomic::Ordering;
use std::time::Duration;

use rdkafka::consumer::Consumer;
use sluice_common::shutdown::Shutdown;

use super::{close_within, Member, CLOSE_PATIENCE};
use crate::commit::checkpoint::lock;
use crate::error::ConsumerError;
use crate::events::{ConsumerRenewing, GroupRefused};
use crate::group::fetch_watch::{FetchWatch, Freeze};
use crate::group::owed_records::{self, Owed};
use sluice_common::events::Event;

/// How long a member refused by its group waits before it joins again.
const REJOIN_PAUSE: Duration = Duration::from_secs(2);

impl Member {
    /// The group refused this member's consumer for good (librdkafka's fatal error): drops
    /// what is not committed and joins again with a new consumer after `REJOIN_PAUSE`. The
    /// usual cause is a member started again right after a crash: the group still holds its
    /// previous instance (same `group.instance.id`) until that one's session times out.
    pub(crate) fn rejoin(
        &mut self,
        shutdown: &Shutdown,
        code: rdkafka::types::RDKafkaErrorCode,
        reason: &str,
    ) -> Result<(), ConsumerError> {
        let dropped = lock(&self.checkpoint).start_over();
        GroupRefused {
            member: &self.name,
            previous_instance_held: code == rdkafka::types::RDKafkaErrorCode::UnreleasedInstanceId,
            reason,
            dropped,
            pause: REJOIN_PAUSE,
        }
        .emit();
        if shutdown.requested() {
            return Ok(());
        }
        std::thread::sleep(REJOIN_PAUSE);
        self.consumer
            .context()
            .retired
            .store(true, Ordering::Release);
        let fresh = self.joiner.join().map_err(ConsumerError::kafka(
            &self.name,
            "joining the group again with a new consumer",
        ))?;
        let refused = std::mem::replace(&mut self.consumer, fresh);
        close_within(refused, &self.name, CLOSE_PATIENCE);
        Ok(())
    }

    /// The member received nothing for the stall time: renews its consumer if records wait on
    /// its partitions, or if it owns none while partitions wait that nobody read since the check
    /// before (see `owed_records`). A check that cannot be made is logged and left for the next
    /// one.
    pub(crate) fn check_fetching(
        &mut self,
        shutdown: &Shutdown,
        watch: &mut FetchWatch,
    ) -> Result<(), ConsumerError> {
        let stalled = watch.stall_after();
        let owed = self.joiner.probe().and_then(|probe| {
            let assigned = owed_records::assigned_spans(&self.consumer, &probe)?;
            if !assigned.is_empty() {
                watch.remember_group(None);
                return Ok(owed_records::stuck(&assigned));
            }
            let group = owed_records::group_spans(&self.consumer, &probe, self.joiner.topic())?;
            let owed = owed_records::unclaimed(&group, watch.group_before());
            watch.remember_group(Some(group));
            Ok(owed)
        });
        let (waiting, unclaimed_partitions) = match owed {
            Ok(Owed::Nothing) => return Ok(()),
            Ok(Owed::Stuck { waiting }) => (waiting, None),
            Ok(Owed::Unclaimed {
                partitions,
                waiting,
            }) => (waiting, Some(partitions)),
            Err(error) => {
                tracing::warn!(
                    member = %self.name,
                    "{}: received nothing for {}s and cannot read its partitions' ends: {error}",
                    self.name,
                    stalled.as_secs()
                );
                return Ok(());
            }
        };
        watch.remember_group(None);
        ConsumerRenewing {
            member: &self.name,
            waiting,
            unclaimed_partitions,
            stalled,
        }
        .emit();
        self.renew_consumer(shutdown)
    }

    /// Records are owed to the member and none came for the stall time: commits what was read,
    /// closes the consumer (leaving the group, so its static membership is free) and joins again
    /// with a new one, which reads on from the committed offsets with fresh metadata.
    fn renew_consumer(&mut self, shutdown: &Shutdown) -> Result<(), ConsumerError> {
        self.commit(shutdown)?;
        let dropped = lock(&self.checkpoint).start_over();
        let fresh = self
            .joiner
            .create()
            .map_err(ConsumerError::kafka(&self.name, "creating a new consumer"))?;
        self.consumer
            .context()
            .retired
            .store(true, Ordering::Release);
        let stuck = std::mem::replace(&mut self.consumer, fresh);
        close_within(stuck, &self.name, CLOSE_PATIENCE);
        self.joiner
            .subscribe(&self.consumer)
            .map_err(ConsumerError::kafka(
                &self.name,
                "subscribing the new consumer",
            ))?;
        tracing::info!(
            member = %self.name,
            "{}: a new Kafka consumer joins the group ({dropped} uncommitted line(s) dropped, \
             read again)",
            self.name
        );
        Ok(())
    }

    /// Whether the member means to read: its output writable (a member waiting for disk space
    /// receives nothing on purpose).
    pub(crate) fn output_writable(&self) -> bool {
        !self
            .consumer
            .context()
            .output_blocked
            .load(Ordering::Acquire)
    }

    /// For tests (`SLUICE_FREEZE_FETCH_AFTER`): stops fetching, as a stuck client does.
    pub(crate) fn freeze_fetching(&self, freeze: Freeze) {
        tracing::warn!(member = %self.name, "{}: fetching frozen by a test ({freeze:?})", self.name);
        match freeze {
            Freeze::Pause => {
                if let Ok(assignment) = self.consumer.assignment() {
                    let _ = self.consumer.pause(&assignment);
                }
            }
            Freeze::Unsubscribe => self.consumer.unsubscribe(),
        }
    }
}
