//! A reachability probe of the cluster that says why it could not be reached: librdkafka
//! reports a failed TLS handshake or a refused login as events of its own, not in the error of
//! the request that failed, so the probe keeps them and names them.

use std::time::{Duration, Instant};

use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseProducer, Producer};

use super::{client_config, view_of, ClusterView};
use crate::settings::KafkaSettings;

/// The cluster did not answer a metadata request in time.
#[derive(Debug, thiserror::Error)]
#[error("cannot reach Kafka at {bootstrap_servers}: {source}{}", seen.as_ref().map(|why| format!(" ({why})")).unwrap_or_default())]
pub struct UnreachableError {
    /// The configured bootstrap list.
    pub bootstrap_servers: String,
    /// What librdkafka reported on its own meanwhile (a TLS handshake or a SASL login that
    /// failed), which the request's own error only calls a transport failure.
    pub seen: Option<String>,
    /// What librdkafka reported.
    #[source]
    pub source: KafkaError,
}

impl UnreachableError {
    /// Whether no wait can heal it: the brokers' certificate is not trusted (or does not name
    /// them), TLS meets a listener that does not speak it, the password is wrong, or the
    /// mechanism is not enabled. A broker that is down or restarting refuses or drops the
    /// connection instead (a handshake cut short among them), which is waited for.
    pub fn is_permanent(&self) -> bool {
        self.seen.as_deref().is_some_and(|seen| {
            [
                "certificate verify failed",
                "wrong version number",
                "invalid credentials",
                "Unsupported SASL mechanism",
            ]
            .iter()
            .any(|cause| seen.contains(cause))
        })
    }
}

/// Keeps the errors librdkafka reported outside of any request (each once), for the probe to
/// name: a failed TLS handshake, a refused login.
#[derive(Default)]
struct ReportedErrors(std::sync::Mutex<Vec<String>>);

impl ReportedErrors {
    fn seen(&self) -> Option<String> {
        let seen = self.0.lock().ok()?;
        (!seen.is_empty()).then(|| seen.join("; "))
    }
}

impl rdkafka::ClientContext for ReportedErrors {
    fn error(&self, _error: KafkaError, reason: &str) {
        // The same failure again, but for its timing; or the count of brokers it took down.
        let reason = reason.split(" (after ").next().unwrap_or(reason);
        if reason.ends_with("brokers are down") {
            return;
        }
        if let Ok(mut seen) = self.0.lock() {
            if !seen.iter().any(|known| known == reason) && seen.len() < 3 {
                seen.push(reason.to_owned());
            }
        }
    }
}

impl rdkafka::producer::ProducerContext for ReportedErrors {
    type DeliveryOpaque = ();

    fn delivery(&self, _: &rdkafka::message::DeliveryResult<'_>, _: Self::DeliveryOpaque) {}
}

impl crate::retry::Transient for Box<UnreachableError> {
    fn is_transient(&self) -> bool {
        !self.is_permanent()
    }
}

/// Waits until the cluster answers, as every server is waited for (`Policy::SERVER`), but stops
/// at once on what no wait heals: an untrusted certificate, a refused login. `None` when
/// shutdown was requested meanwhile.
pub async fn wait_until_reachable(
    settings: &KafkaSettings,
    shutdown: &crate::shutdown::Shutdown,
) -> Option<Result<ClusterView, Box<UnreachableError>>> {
    let what = format!("Kafka at {}", settings.bootstrap_servers);
    crate::retry::retry(
        crate::retry::Policy::SERVER,
        crate::events::ErrorKind::Kafka,
        &what,
        shutdown,
        || metadata(settings, None),
    )
    .await
}

/// How long one metadata request may wait before the errors seen meanwhile are looked at.
const SLICE: Duration = Duration::from_secs(1);

/// Asks the cluster for its metadata, the cheapest proof that it is up and reachable; when it
/// is not, the error says what librdkafka saw meanwhile (an untrusted certificate, a refused
/// login). The error is boxed: it carries librdkafka's messages.
pub async fn probe(settings: &KafkaSettings) -> Result<ClusterView, Box<UnreachableError>> {
    metadata(settings, None).await
}

/// One metadata request (of one topic, or of all), on a blocking thread since librdkafka's
/// call blocks. Topics the broker reports an error for are left out.
pub(super) async fn metadata(
    settings: &KafkaSettings,
    topic: Option<&str>,
) -> Result<ClusterView, Box<UnreachableError>> {
    let settings = settings.clone();
    let topic = topic.map(str::to_owned);
    tokio::task::spawn_blocking(move || {
        let unreachable = |source, seen| {
            Box::new(UnreachableError {
                bootstrap_servers: settings.bootstrap_servers.clone(),
                seen,
                source,
            })
        };
        // A producer, because polling it hands librdkafka's own errors to its context.
        let client: BaseProducer<ReportedErrors> = client_config(&settings)
            .create_with_context(ReportedErrors::default())
            .map_err(|source| unreachable(source, None))?;
        // Asked in slices of a second, so that a refused certificate or login (reported
        // within milliseconds) ends the wait at once instead of at the timeout.
        let deadline = Instant::now() + Duration::from_secs(settings.request_timeout_secs);
        loop {
            let slice = deadline
                .saturating_duration_since(Instant::now())
                .min(SLICE);
            match client.client().fetch_metadata(topic.as_deref(), slice) {
                Ok(metadata) => return Ok(view_of(&metadata)),
                Err(source) => {
                    // Errors arrive as events, handed to the context as they are polled,
                    // one event a poll.
                    for _ in 0..10 {
                        client.poll(Duration::from_millis(10));
                    }
                    let failed = unreachable(source, client.context().seen());
                    if failed.is_permanent() || Instant::now() >= deadline {
                        return Err(failed);
                    }
                }
            }
        }
    })
    .await
    .unwrap_or_else(|join| std::panic::resume_unwind(join.into_panic()))
}

#[cfg(test)]
mod tests {
    use rdkafka::types::RDKafkaErrorCode;

    use super::*;

    fn seen(reason: &str) -> UnreachableError {
        UnreachableError {
            bootstrap_servers: "127.0.0.1:9094".into(),
            seen: Some(reason.into()),
            source: KafkaError::MetadataFetch(RDKafkaErrorCode::BrokerTransportFailure),
        }
    }

    #[test]
    fn a_refused_certificate_or_login_is_permanent_and_a_broker_going_away_is_not() {
        for permanent in [
            "sasl_ssl://127.0.0.1:9094/bootstrap: SSL handshake failed: error:0A000086:SSL \
             routines::certificate verify failed: broker certificate could not be verified",
            "sasl_ssl://127.0.0.1:9094/bootstrap: SASL authentication error: Authentication \
             failed during authentication due to invalid credentials with SASL mechanism \
             SCRAM-SHA-512",
        ] {
            assert!(seen(permanent).is_permanent(), "{permanent}");
        }
        for transient in [
            "sasl_ssl://127.0.0.1:9094/bootstrap: Connect to ipv4#127.0.0.1:9094 failed: \
             Connection refused",
            "GroupCoordinator: SASL authentication error: SaslAuthenticateRequest failed: \
             Local: Broker transport failure",
            "sasl_ssl://127.0.0.1:9094/1: SSL handshake failed: Disconnected",
        ] {
            assert!(!seen(transient).is_permanent(), "{transient}");
        }
    }
}
