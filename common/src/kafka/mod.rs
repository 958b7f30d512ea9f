//! Kafka as every sluice process uses it: the client settings each client starts from
//! (`connection`), a reachability probe (`probe`), the topics sluice creates and reads the
//! limits of (`topics`), reading a topic or offset ranges to their end (`topic_reader`), a
//! producer polled on a thread of its own (`polled_producer`) that waits out a full queue
//! (`full_queue`), and librdkafka's log lines (`client_log`).

pub mod client_log;
mod connection;
pub mod full_queue;
pub mod offset_reader;
pub mod polled_producer;
mod probe;
pub mod topic_reader;
mod topics;

pub use connection::{check_client_configs, client_config, ClientConfigError, UserProperties};
pub use probe::{probe, wait_until_reachable, UnreachableError};
pub use topics::{
    delete_topics_starting_with, ensure_compacted_topic, ensure_records_topic, ensure_topic,
    ensure_topic_with, topic_max_message_bytes, Replication, TopicError,
};

use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka::error::KafkaError;

use crate::settings::KafkaSettings;

/// What a metadata request saw: enough to tell the cluster is real and which topics exist.
#[derive(Debug, Clone)]
pub struct ClusterView {
    /// Number of brokers that answered in the metadata.
    pub brokers: usize,
    /// Partition count of each topic, by name.
    pub topics: Vec<(String, usize)>,
}

/// An admin client on the configured cluster, for topic management and probes.
pub fn admin_client(
    settings: &KafkaSettings,
) -> Result<AdminClient<DefaultClientContext>, KafkaError> {
    client_config(settings).create()
}

/// The brokers and the topics (with their partition counts) of a metadata answer; topics the
/// broker reports an error for are left out.
pub(crate) fn view_of(metadata: &rdkafka::metadata::Metadata) -> ClusterView {
    ClusterView {
        brokers: metadata.brokers().len(),
        topics: metadata
            .topics()
            .iter()
            .filter(|t| t.error().is_none())
            .map(|t| (t.name().to_owned(), t.partitions().len()))
            .collect(),
    }
}

/// Whether Kafka refused a request for want of an ACL.
pub fn is_authorization_failure(code: rdkafka::types::RDKafkaErrorCode) -> bool {
    use rdkafka::types::RDKafkaErrorCode::{
        ClusterAuthorizationFailed, GroupAuthorizationFailed, TopicAuthorizationFailed,
        TransactionalIdAuthorizationFailed,
    };
    matches!(
        code,
        TopicAuthorizationFailed
            | GroupAuthorizationFailed
            | ClusterAuthorizationFailed
            | TransactionalIdAuthorizationFailed
    )
}

/// Whether a transactional call failed in a way librdkafka says may succeed if tried again
/// (a coordinator loading or moving).
pub fn retriable_transaction_error(error: &KafkaError) -> bool {
    matches!(error, KafkaError::Transaction(e) if e.is_retriable())
}
