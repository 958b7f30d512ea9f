//! Making the member's group consumer: at start, and again when the group refused the one
//! before (see `Member::rejoin`).

use std::sync::{Arc, Mutex};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use sluice_common::kafka::{client_config, UserProperties};
use sluice_common::observe::Readiness;
use sluice_common::settings::{Choice, GroupProtocol, Settings};

use crate::commit::checkpoint::Checkpoint;
use crate::group::context::MemberContext;
use crate::metrics::ConsumerMetrics;

/// Creates the member's group consumer, subscribed: at start, and again when the group refused
/// the one before (see `Member::rejoin`).
pub struct GroupJoiner {
    /// The member's name and where its metrics are served (see `startup::client_id`).
    pub(crate) client_id: String,
    pub(crate) settings: Settings,
    pub(crate) checkpoint: Arc<Mutex<Checkpoint>>,
    pub(crate) metrics: ConsumerMetrics,
    pub(crate) readiness: Readiness,
}

impl GroupJoiner {
    /// A new consumer of the member's group, subscribed to the topic.
    pub fn join(&self) -> Result<BaseConsumer<MemberContext>, KafkaError> {
        let consumer = self.create()?;
        self.subscribe(&consumer)?;
        Ok(consumer)
    }

    /// Subscribes `consumer` (made by [`create`](Self::create)) to the topic: it joins the group.
    pub fn subscribe(&self, consumer: &BaseConsumer<MemberContext>) -> Result<(), KafkaError> {
        consumer.subscribe(&[&self.settings.kafka.topic])
    }

    /// A plain client of the cluster (no group), with metadata of its own: to check what the
    /// member's consumer sees. No group: closing a consumer of a group waits for its
    /// coordinator, however long that is unreachable.
    pub fn probe(&self) -> Result<BaseConsumer, KafkaError> {
        client_config(&self.settings.kafka).create()
    }

    /// The topic the member reads.
    pub fn topic(&self) -> &str {
        &self.settings.kafka.topic
    }

    /// A new consumer of the member's group, not yet subscribed.
    pub fn create(&self) -> Result<BaseConsumer<MemberContext>, KafkaError> {
        let kafka = &self.settings.kafka;
        let consumer_settings = &self.settings.consumer;
        let member = &consumer_settings.member;
        let protocol = consumer_settings.group_protocol;
        let mut config = client_config(kafka);
        config.set("group.protocol", protocol.name());
        // Under the consumer protocol the broker sets heartbeats and the session timeout, and
        // assigns; classic members choose theirs.
        if protocol == GroupProtocol::Classic {
            config
                .set("partition.assignment.strategy", "cooperative-sticky")
                .set("session.timeout.ms", "15000");
        }
        let consumer: BaseConsumer<MemberContext> = config
            .set("group.id", &consumer_settings.group_id)
            .set("group.instance.id", member)
            .set("client.id", &self.client_id)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            // Memory: librdkafka keeps fetched records decoded, with an overhead several times
            // the payload of records this small, until they are read. Its defaults (1 MB per
            // partition per fetch, 100 000 records per partition, 64 MB in all) let one member
            // of ten partitions peak above 130 MB; these bound it near 60 MB.
            .set("fetch.message.max.bytes", "262144")
            .set("queued.min.messages", "20000")
            .set("queued.max.messages.kbytes", "16384")
            // Speed: once the queue is at those bounds, fetching pauses for this long. The
            // default second left the member idle for most of each second (a third of today's
            // rate).
            .set("fetch.queue.backoff.ms", "20")
            // Statistics feed the lag gauge (see MemberContext::stats).
            .set("statistics.interval.ms", "5000")
            .with_consumer_properties(kafka)
            .create_with_context(MemberContext::new(
                self.checkpoint.clone(),
                member.clone(),
                self.metrics.clone(),
                self.readiness.clone(),
            ))?;
        Ok(consumer)
    }
}
