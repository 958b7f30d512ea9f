//! The topics sluice creates (records, dead letters, compacted watermark and marker topics),
//! how they are replicated, and the limits it reads from them.

use std::time::Duration;

use rdkafka::error::KafkaError;

use super::probe::metadata;
use super::{admin_client, is_authorization_failure, UnreachableError};
use crate::events::ErrorKind;
use crate::retry::{self, Policy};
use crate::settings::KafkaSettings;

/// How a topic sluice creates is replicated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replication {
    /// Replicas of each partition.
    pub factor: i32,
    /// Replicas that must hold a record before it is acknowledged (`acks=all`).
    pub min_insync_replicas: i32,
}

impl Replication {
    /// What `settings` ask for on a cluster of `brokers` (used only where a setting is 0,
    /// chosen from the cluster; see `KafkaSettings`).
    pub fn of(settings: &KafkaSettings, brokers: usize) -> Self {
        let cluster = i32::try_from(brokers).unwrap_or(i32::MAX).clamp(1, 3);
        let factor = match settings.replication_factor {
            0 => cluster,
            chosen => chosen,
        };
        let min_insync_replicas = match settings.min_insync_replicas {
            0 => (factor - 1).clamp(1, 2),
            chosen => chosen,
        };
        Self {
            factor,
            min_insync_replicas,
        }
    }
}

/// A topic that cannot be used as configured.
#[derive(Debug, thiserror::Error)]
pub enum TopicError {
    /// Creating or describing the topic failed.
    #[error("cannot create or describe topic `{topic}`: {source}")]
    Kafka {
        /// The topic.
        topic: String,
        /// What librdkafka reported.
        #[source]
        source: KafkaError,
    },
    /// The cluster did not answer; see [`UnreachableError::is_permanent`] for when waiting
    /// cannot help.
    #[error("cannot create or describe topic `{topic}`")]
    Unreachable {
        /// The topic.
        topic: String,
        /// Why, with what librdkafka saw.
        #[source]
        source: Box<UnreachableError>,
    },
    /// The cluster refuses this principal the topic: an ACL is missing.
    #[error("Kafka refuses this client topic `{topic}` ({code}): an ACL on it is missing")]
    Refused {
        /// The topic.
        topic: String,
        /// Kafka's refusal (an authorization failure).
        code: rdkafka::types::RDKafkaErrorCode,
    },
    /// The topic exists with another partition count: keys would land elsewhere.
    #[error("topic `{topic}` has {actual} partitions but kafka.partitions is {expected}; keys would move to other partitions and lose their order, so sluice will not use it (fix kafka.partitions or the topic)")]
    PartitionMismatch {
        /// The topic.
        topic: String,
        /// Partitions configured.
        expected: i32,
        /// Partitions the topic has.
        actual: usize,
    },
}

impl crate::retry::Transient for TopicError {
    /// A cluster that did not answer may, unless it refused the certificate or the login; a
    /// missing ACL or a topic that exists as it should not will not change by waiting.
    fn is_transient(&self) -> bool {
        match self {
            TopicError::Kafka { .. } => true,
            TopicError::Unreachable { source, .. } => !source.is_permanent(),
            TopicError::Refused { .. } | TopicError::PartitionMismatch { .. } => false,
        }
    }
}

/// Creates `topic` with `partitions` partitions unless it exists; an existing topic must have
/// exactly that many when `strict`, since a different count moves keys between partitions.
pub async fn ensure_topic(
    settings: &KafkaSettings,
    topic: &str,
    partitions: i32,
    strict: bool,
) -> Result<(), TopicError> {
    ensure_topic_with(settings, topic, partitions, strict, &[]).await
}

/// The records topic (`kafka.topic`), created compacted when `kafka.compact_topic` is set:
/// Kafka then keeps each product's latest record (a delete's tombstone until
/// `delete.retention.ms`), so the topic converges to the table.
pub async fn ensure_records_topic(settings: &KafkaSettings) -> Result<(), TopicError> {
    let compact: &[(&str, &str)] = if settings.compact_topic {
        &[("cleanup.policy", "compact")]
    } else {
        &[]
    };
    ensure_topic_with(
        settings,
        &settings.topic,
        settings.partitions,
        true,
        compact,
    )
    .await
}

/// [`ensure_topic`], creating the topic with `configs`.
pub async fn ensure_topic_with(
    settings: &KafkaSettings,
    topic: &str,
    partitions: i32,
    strict: bool,
    configs: &[(&str, &str)],
) -> Result<(), TopicError> {
    let created = create_unless_present(settings, topic, partitions, configs).await?;
    // A topic created here has the partitions asked for; only one that was there is checked.
    if created || !strict {
        return Ok(());
    }
    let actual = settled_partition_count(settings, topic)
        .await
        .map_err(|source| TopicError::Unreachable {
            topic: topic.to_owned(),
            source,
        })?;
    if i32::try_from(actual).ok() != Some(partitions) {
        return Err(TopicError::PartitionMismatch {
            topic: topic.to_owned(),
            expected: partitions,
            actual,
        });
    }
    Ok(())
}

/// Creates `topic` as a compacted topic of one partition unless it exists: state kept by key,
/// of which only each key's latest value matters (the producer's watermark).
pub async fn ensure_compacted_topic(
    settings: &KafkaSettings,
    topic: &str,
) -> Result<(), TopicError> {
    create_unless_present(settings, topic, 1, &[("cleanup.policy", "compact")]).await?;
    Ok(())
}

/// Creates `topic` with `partitions` partitions and `configs`; `Ok(false)` when it existed.
async fn create_unless_present(
    settings: &KafkaSettings,
    topic: &str,
    partitions: i32,
    configs: &[(&str, &str)],
) -> Result<bool, TopicError> {
    use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
    use rdkafka::types::RDKafkaErrorCode;

    let failed = |source| TopicError::Kafka {
        topic: topic.to_owned(),
        source,
    };
    let unreachable = |source| TopicError::Unreachable {
        topic: topic.to_owned(),
        source,
    };
    let brokers = if settings.replication_factor > 0 {
        0
    } else {
        metadata(settings, None).await.map_err(unreachable)?.brokers
    };
    let replication = Replication::of(settings, brokers);
    let admin = admin_client(settings).map_err(failed)?;
    let timeout = Duration::from_secs(settings.request_timeout_secs);
    let in_sync = replication.min_insync_replicas.to_string();
    let mut new_topic = NewTopic::new(
        topic,
        partitions,
        TopicReplication::Fixed(replication.factor),
    )
    .set("min.insync.replicas", &in_sync);
    for (key, value) in configs {
        new_topic = new_topic.set(key, value);
    }
    let results = admin
        .create_topics(
            &[new_topic],
            &AdminOptions::new().operation_timeout(Some(timeout)),
        )
        .await
        .map_err(failed)?;
    let mut created = false;
    for result in results {
        match result {
            Ok(_) => {
                tracing::info!(
                    topic = %topic,
                    partitions,
                    replicas = replication.factor,
                    "created topic {topic} with {partitions} partitions, {} replicas \
                     (min.insync.replicas {})",
                    replication.factor,
                    replication.min_insync_replicas
                );
                created = true;
            }
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            // Without Create, a topic that exists is used as it is (Describe shows it).
            Err((_, code)) if is_authorization_failure(code) => {
                let view = metadata(settings, Some(topic)).await.map_err(unreachable)?;
                if !view.topics.iter().any(|(name, _)| name == topic) {
                    return Err(TopicError::Refused {
                        topic: topic.to_owned(),
                        code,
                    });
                }
            }
            Err((_, code)) => return Err(failed(KafkaError::AdminOp(code))),
        }
    }
    Ok(created)
}

/// Deletes every topic whose name starts with `prefix`, and returns their names: for a tool
/// that creates topics by the dozen on each run (the benchmark), so a long-lived broker does
/// not pile up thousands of partitions that slow it down.
pub async fn delete_topics_starting_with(
    settings: &KafkaSettings,
    prefix: &str,
) -> Result<Vec<String>, KafkaError> {
    use rdkafka::admin::AdminOptions;
    use rdkafka::types::RDKafkaErrorCode;

    let doomed: Vec<String> = metadata(settings, None)
        .await
        .map_err(|unreachable| unreachable.source)?
        .topics
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| name.starts_with(prefix))
        .collect();
    if doomed.is_empty() {
        return Ok(doomed);
    }
    let names: Vec<&str> = doomed.iter().map(String::as_str).collect();
    let timeout = Duration::from_secs(settings.request_timeout_secs);
    let results = admin_client(settings)?
        .delete_topics(
            &names,
            &AdminOptions::new().operation_timeout(Some(timeout)),
        )
        .await?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::UnknownTopicOrPartition)) => {}
            Err((_, code)) => return Err(KafkaError::AdminOp(code)),
        }
    }
    Ok(doomed)
}

/// The largest record batch `topic` accepts (its `max.message.bytes`), as the cluster reports
/// it; `None` when the cluster does not say.
pub async fn topic_max_message_bytes(
    settings: &KafkaSettings,
    topic: &str,
) -> Result<Option<usize>, KafkaError> {
    use rdkafka::admin::{AdminOptions, ResourceSpecifier};

    let timeout = Duration::from_secs(settings.request_timeout_secs);
    let results = admin_client(settings)?
        .describe_configs(
            &[ResourceSpecifier::Topic(topic)],
            &AdminOptions::new().request_timeout(Some(timeout)),
        )
        .await?;
    Ok(results.into_iter().flatten().find_map(|resource| {
        resource
            .get("max.message.bytes")
            .and_then(|entry| entry.value.as_deref())
            .and_then(|value| value.parse().ok())
    }))
}

/// The partition count of `topic` once the cluster's metadata shows it: a topic just created,
/// or a broker just restarted, can report no partitions for a moment. Asked every 200 ms for
/// up to `kafka.request_timeout_secs`; 0 when it never showed any.
async fn settled_partition_count(
    settings: &KafkaSettings,
    topic: &str,
) -> Result<usize, Box<UnreachableError>> {
    const PAUSE: Duration = Duration::from_millis(200);
    let tries = Duration::from_secs(settings.request_timeout_secs).as_millis() / PAUSE.as_millis();
    let policy = Policy::steady(PAUSE).at_most(usize::try_from(tries).unwrap_or(usize::MAX));
    let what = format!("the cluster's metadata to show topic `{topic}`'s partitions");
    let counted = retry::retry_bounded(
        policy,
        ErrorKind::Kafka,
        &what,
        || async {
            let view = metadata(settings, Some(topic))
                .await
                .map_err(Unsettled::Kafka)?;
            match view.topics.iter().find(|(name, _)| name == topic) {
                Some((_, partitions)) if *partitions > 0 => Ok(*partitions),
                _ => Err(Unsettled::NoPartitions),
            }
        },
        |unsettled| matches!(unsettled, Unsettled::NoPartitions),
    )
    .await;
    match counted {
        Ok(partitions) => Ok(partitions),
        Err(Unsettled::NoPartitions) => Ok(0),
        Err(Unsettled::Kafka(error)) => Err(error),
    }
}

/// Why a topic's partition count is not known yet.
#[derive(Debug, thiserror::Error)]
enum Unsettled {
    #[error("no partitions shown yet")]
    NoPartitions,
    #[error(transparent)]
    Kafka(Box<UnreachableError>),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asking(factor: i32, in_sync: i32) -> KafkaSettings {
        KafkaSettings {
            replication_factor: factor,
            min_insync_replicas: in_sync,
            ..KafkaSettings::default()
        }
    }

    #[test]
    fn replication_follows_the_cluster_up_to_three_brokers() {
        let chosen = |brokers| {
            let r = Replication::of(&asking(0, 0), brokers);
            (r.factor, r.min_insync_replicas)
        };
        assert_eq!(chosen(1), (1, 1));
        assert_eq!(chosen(2), (2, 1));
        assert_eq!(chosen(3), (3, 2));
        assert_eq!(chosen(7), (3, 2));
        // A cluster that reported no broker is asked for one replica, which it refuses by name.
        assert_eq!(chosen(0), (1, 1));
    }

    #[test]
    fn settings_given_are_kept() {
        assert_eq!(
            Replication::of(&asking(5, 0), 1),
            Replication {
                factor: 5,
                min_insync_replicas: 2
            }
        );
        assert_eq!(
            Replication::of(&asking(3, 3), 9),
            Replication {
                factor: 3,
                min_insync_replicas: 3
            }
        );
        assert_eq!(Replication::of(&asking(0, 1), 3).min_insync_replicas, 1);
    }
}
