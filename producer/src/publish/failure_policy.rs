//! Which publishing failures are worth trying again, and how long to wait before each try.
//!
//! A failure that waiting cannot heal (the cluster refuses this client the topic or the
//! transactional id, or refuses the producer's settings) stops the producer with the reason,
//! rather than retrying forever. Any other is tried again after a pause that doubles from 1 s
//! up to 30 s, and is back to 1 s once a page goes through. A record that found no partition
//! leader for all of `message.timeout.ms` is tried again with a new Kafka client: librdkafka
//! can keep a partition it was told has no leader (leader -1, as during a single broker's
//! restart) without one for good, whatever the cluster answers later (librdkafka issue 5430),
//! and only a client with a fresh metadata cache reaches its leader again.

use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use sluice_common::retry::Policy;

/// The pauses between tries of publishing after consecutive failures: 1 s, doubling up to 30 s,
/// back to 1 s once a page goes through.
pub const PUBLISH_POLICY: Policy =
    Policy::doubling(Duration::from_secs(1), Duration::from_secs(30));

/// Why `error` will not heal by trying again, or `None` when it may.
pub fn permanent(error: &KafkaError) -> Option<&'static str> {
    let reason = match error.rdkafka_error_code()? {
        RDKafkaErrorCode::TopicAuthorizationFailed => {
            "the cluster does not authorize this client to write the topic; grant WRITE on it"
        }
        RDKafkaErrorCode::ClusterAuthorizationFailed => {
            "the cluster does not authorize this client's idempotent writes; grant \
             IDEMPOTENT_WRITE on the cluster"
        }
        RDKafkaErrorCode::TransactionalIdAuthorizationFailed => {
            "the cluster does not authorize the transactional id; grant WRITE on it"
        }
        RDKafkaErrorCode::SaslAuthenticationFailed | RDKafkaErrorCode::Authentication => {
            "the cluster refused the client's credentials"
        }
        RDKafkaErrorCode::PolicyViolation => "the cluster's policy refuses the request",
        RDKafkaErrorCode::InvalidRequiredAcks | RDKafkaErrorCode::UnsupportedVersion => {
            "the cluster refuses the producer's settings"
        }
        _ => return None,
    };
    Some(reason)
}

/// Whether `error` calls for a new Kafka client: a record not delivered within
/// `message.timeout.ms`, which is what a client stuck without a partition's leader reports.
pub fn needs_new_client(error: &KafkaError) -> bool {
    error.rdkafka_error_code() == Some(RDKafkaErrorCode::MessageTimedOut)
}

/// A publishing failure after which the producer goes on with a new Kafka client.
#[derive(Debug, thiserror::Error)]
#[error("no record reached its partition's leader within message.timeout.ms ({0})")]
pub struct StaleClient(pub KafkaError);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_up_to_thirty_seconds_and_start_over_after_a_success() {
        let mut backoff = PUBLISH_POLICY.pauses();
        let pauses: Vec<u64> = (0..7).map(|_| backoff.pause().as_secs()).collect();
        assert_eq!(pauses, [1, 2, 4, 8, 16, 30, 30]);
        backoff.reset();
        assert_eq!(backoff.pause(), Duration::from_secs(1));
    }

    #[test]
    fn an_authorization_failure_is_permanent_and_a_timeout_is_not() {
        let refused = KafkaError::MessageProduction(RDKafkaErrorCode::TopicAuthorizationFailed);
        assert!(permanent(&refused).is_some_and(|why| why.contains("WRITE")));
        let timed_out = KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut);
        assert_eq!(permanent(&timed_out), None);
        let down = KafkaError::MessageProduction(RDKafkaErrorCode::AllBrokersDown);
        assert_eq!(permanent(&down), None);
    }

    #[test]
    fn only_a_delivery_timeout_calls_for_a_new_client() {
        let timed_out = KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut);
        assert!(needs_new_client(&timed_out));
        let down = KafkaError::MessageProduction(RDKafkaErrorCode::AllBrokersDown);
        assert!(!needs_new_client(&down));
        let refused = KafkaError::MessageProduction(RDKafkaErrorCode::TopicAuthorizationFailed);
        assert!(!needs_new_client(&refused));
    }
}
