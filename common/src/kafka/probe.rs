//! A reachability probe of the cluster that says why it could not be reached: librdkafka
//! reports a failed TLS handshake or a refused login as events of its own, not in the error of
//! the request that failed, so the probe keeps them and names them.

use std::time::Duration;

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

/// Asks the cluster for its metadata, the cheapest proof that it is up and reachable; when it
/// is not, the error says what librdkafka saw meanwhile (an untrusted certificate, a refused
/// login).
/// The error is boxed: it carries librdkafka's messages.
pub async fn probe(settings: &KafkaSettings) -> Result<ClusterView, Box<UnreachableError>> {
    let settings = settings.clone();
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
        let timeout = Duration::from_secs(settings.request_timeout_secs);
        match client.client().fetch_metadata(None, timeout) {
            Ok(metadata) => Ok(view_of(&metadata)),
            Err(source) => {
                // Errors arrive as events, handed to the context as they are polled.
                for _ in 0..10 {
                    client.poll(Duration::from_millis(10));
                }
                let seen = client.context().seen();
                Err(unreachable(source, seen))
            }
        }
    })
    .await
    .unwrap_or_else(|join| std::panic::resume_unwind(join.into_panic()))
}
