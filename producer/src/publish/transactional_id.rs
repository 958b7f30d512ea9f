//! Registering the producer's transactional id with Kafka's transaction coordinator: what a
//! producer does once at start (and after a new client), and what `reset` does to fence a
//! running producer.

use sluice_common::events::ErrorKind;
use sluice_common::retry::{self, Policy};
use sluice_common::settings::KafkaSettings;
use sluice_common::shutdown::Shutdown;
use sluice_common::{acls, kafka};

use crate::publish::Publisher;
use rdkafka::error::KafkaError;

/// Why the transactional id could not be registered.
#[derive(Debug, thiserror::Error)]
pub enum TransactionalIdError {
    /// An ACL the id needs is missing.
    #[error(transparent)]
    MissingAcl(#[from] acls::MissingAcl),
    /// Kafka refused the transactional id: exactly-once cannot work with these credentials.
    #[error(
        "exactly-once needs Kafka transactions: transactional.id `{id}` was refused (the user \
         needs WRITE on the transactional id; or set producer.exactly_once = false)"
    )]
    Refused {
        /// The producer's `transactional.id`.
        id: String,
        /// Kafka's refusal.
        source: KafkaError,
    },
}

/// Registers the producer's transactional id, which ends whatever transaction an earlier
/// producer with the same id left open and fences that producer. A cluster that does not answer
/// in time is waited for; a refusal (e.g. not authorized for the id) stops the producer.
/// `None` when shutdown was requested meanwhile.
pub async fn init_transactions(
    publisher: &Publisher,
    kafka: &KafkaSettings,
    transactional_id: &str,
    shutdown: &Shutdown,
) -> Result<Option<()>, TransactionalIdError> {
    let timeout = std::time::Duration::from_secs(kafka.request_timeout_secs.max(10));
    let what = format!("Kafka's transaction coordinator for transactional.id `{transactional_id}`");
    let outcome = retry::retry_when(
        Policy::SERVER,
        ErrorKind::Kafka,
        &what,
        shutdown,
        || publisher.init_transactions(timeout),
        kafka::retriable_transaction_error,
    )
    .await;
    let Some(outcome) = outcome else {
        return Ok(None);
    };
    outcome.map_err(|source| {
        let acl = acls::producer_transactional_id(transactional_id);
        match acls::transactional_id_refusal(acl, transactional_id, &source) {
            Some(missing) => TransactionalIdError::MissingAcl(missing),
            None => TransactionalIdError::Refused {
                id: transactional_id.to_owned(),
                source,
            },
        }
    })?;
    tracing::info!(
        "exactly-once: transactional.id `{transactional_id}`, watermark in topic {}",
        kafka.watermark_topic_name()
    );
    Ok(Some(()))
}
