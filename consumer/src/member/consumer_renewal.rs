//! A member replaces its Kafka consumer when the one it has cannot go on: the group refused it
//! for good (librdkafka's fatal error), or it receives nothing while records wait on its
//! partitions (see `fetch_watch`).
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
use crate::group::fetch_watch;
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
    /// its partitions (see `fetch_watch`). A check that cannot be made is logged and left for
    /// the next one.
    pub(crate) fn check_fetching(
        &mut self,
        shutdown: &Shutdown,
        stalled: Duration,
    ) -> Result<(), ConsumerError> {
        let waiting = self
            .joiner
            .probe()
            .and_then(|probe| fetch_watch::waiting_records(&self.consumer, &probe));
        match waiting {
            Ok(0) => Ok(()),
            Ok(waiting) => self.renew_consumer(shutdown, waiting, stalled),
            Err(error) => {
                tracing::warn!(
                    member = %self.name,
                    "{}: received nothing for {}s and cannot read its partitions' ends: {error}",
                    self.name,
                    stalled.as_secs()
                );
                Ok(())
            }
        }
    }

    /// Records wait on the member's partitions and none came for the stall time: commits what
    /// was read, closes the consumer (leaving the group, so its static membership is free) and
    /// joins again with a new one, which reads on from the committed offsets with fresh
    /// metadata.
    fn renew_consumer(
        &mut self,
        shutdown: &Shutdown,
        waiting: i64,
        stalled: Duration,
    ) -> Result<(), ConsumerError> {
        ConsumerRenewing {
            member: &self.name,
            waiting,
            stalled,
        }
        .emit();
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

    /// Whether the member means to read: partitions assigned and the output writable.
    pub(crate) fn reading(&self) -> bool {
        !self
            .consumer
            .context()
            .output_blocked
            .load(Ordering::Acquire)
            && self.consumer.assignment().is_ok_and(|a| a.count() > 0)
    }

    /// For tests (`SLUICE_FREEZE_FETCH_AFTER`): stops fetching, as a stuck client does.
    pub(crate) fn freeze_fetching(&self) {
        tracing::warn!(member = %self.name, "{}: fetching frozen by a test", self.name);
        if let Ok(assignment) = self.consumer.assignment() {
            let _ = self.consumer.pause(&assignment);
        }
    }
}
