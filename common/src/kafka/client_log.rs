//! librdkafka's own log lines, as rdkafka forwards them, but for the ones a healthy start
//! prints on every transactional client: while a cluster elects or loads the coordinator of a
//! transactional id (its first start, a broker's restart), librdkafka warns "Failed to acquire
//! transactional PID … Not coordinator: retrying" and retries by itself. That is expected, not
//! something to act on, so it is logged at debug; a coordinator that never comes still ends in
//! the error of the client's first transactional call.

use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::config::RDKafkaLogLevel;

/// The words of librdkafka's retried warnings about a coordinator not ready yet.
const COORDINATOR_NOT_READY: [&str; 3] = [
    "Not coordinator",
    "Coordinator load in progress",
    "Coordinator not available",
];

/// Whether librdkafka's line (`facility`, `message`) is a coordinator not ready yet, which it
/// retries itself.
pub fn is_coordinator_not_ready(facility: &str, message: &str) -> bool {
    facility == "GETPID"
        && COORDINATOR_NOT_READY
            .iter()
            .any(|words| message.contains(words))
}

/// Logs librdkafka's line as rdkafka does, but a coordinator not ready yet at debug.
pub fn log(level: RDKafkaLogLevel, facility: &str, message: &str) {
    if is_coordinator_not_ready(facility, message) {
        tracing::debug!(target: "rdkafka::client", "librdkafka: {facility} {message} (expected while the coordinator is elected)");
    } else {
        DefaultClientContext.log(level, facility, message);
    }
}

/// A producer's context that ignores delivery reports and logs as [`log`] does: for a
/// transactional producer whose outcome is its commit's.
#[derive(Debug, Clone, Copy, Default)]
pub struct TransactionalContext;

impl ClientContext for TransactionalContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        log(level, facility, message);
    }
}

impl rdkafka::producer::ProducerContext for TransactionalContext {
    type DeliveryOpaque = ();

    fn delivery(&self, _: &rdkafka::producer::DeliveryResult<'_>, _: Self::DeliveryOpaque) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_retried_coordinator_warning_is_quieted() {
        assert!(is_coordinator_not_ready(
            "GETPID",
            "Failed to acquire transactional PID from broker TxnCoordinator/1: Broker: Not \
             coordinator: retrying"
        ));
        assert!(!is_coordinator_not_ready(
            "GETPID",
            "Failed to acquire transactional PID: Broker: Transactional Id authorization failed"
        ));
        assert!(!is_coordinator_not_ready("FAIL", "Not coordinator"));
    }
}
