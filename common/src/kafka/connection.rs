//! The connection every Kafka client sluice makes starts from: the brokers, the security
//! protocol with its SASL login and TLS files, and the user's librdkafka properties on top.
//! Invariant: no client is made from a `ClientConfig::new()` of its own, so a secured cluster
//! is spoken to alike by the producer, the members, admin clients, readers and `sluice-verify`.

use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;

use crate::settings::{Choice, KafkaSettings};

/// A client configuration with the bootstrap servers and the connection's security set;
/// producers and consumers add their own keys on top, so connection settings are written in
/// one place and every client sluice makes (admin, producer, consumer) speaks alike.
pub fn client_config(settings: &KafkaSettings) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &settings.bootstrap_servers)
        .set(
            "socket.timeout.ms",
            (settings.request_timeout_secs * 1000).to_string(),
        );
    secure(&mut config, settings);
    config
}

/// The `security.protocol`, SASL and TLS keys of `settings` (see `KafkaSettings`).
fn secure(config: &mut ClientConfig, settings: &KafkaSettings) {
    let protocol = settings.security_protocol;
    config.set("security.protocol", protocol.name());
    if protocol.uses_sasl() {
        config
            .set("sasl.mechanisms", settings.sasl_mechanism.name())
            .set("sasl.username", &settings.sasl_username)
            .set("sasl.password", &settings.sasl_password);
    }
    if protocol.uses_tls() {
        // No file: the system's authorities, looked for where the distributions keep them
        // (also in a static binary, whose OpenSSL knows no system paths of its own).
        let authorities = match settings.ca_file.as_str() {
            "" => "probe",
            file => file,
        };
        config.set("ssl.ca.location", authorities).set(
            "ssl.endpoint.identification.algorithm",
            if settings.verify_hostname {
                "https"
            } else {
                "none"
            },
        );
        if !settings.certificate_file.is_empty() {
            config
                .set("ssl.certificate.location", &settings.certificate_file)
                .set("ssl.key.location", &settings.key_file);
            if !settings.key_password.is_empty() {
                config.set("ssl.key.password", &settings.key_password);
            }
        }
    }
}

/// Adds the user's librdkafka properties to a client's configuration, last, over sluice's own
/// tunables: `kafka.producer_properties` to a producer, `kafka.consumer_properties` to a
/// consumer. The properties sluice's guarantees rest on were refused when the settings loaded.
pub trait UserProperties {
    /// `kafka.producer_properties` on top of this producer configuration.
    fn with_producer_properties(&mut self, settings: &KafkaSettings) -> &mut Self;
    /// `kafka.consumer_properties` on top of this consumer configuration.
    fn with_consumer_properties(&mut self, settings: &KafkaSettings) -> &mut Self;
}

impl UserProperties for ClientConfig {
    fn with_producer_properties(&mut self, settings: &KafkaSettings) -> &mut Self {
        for (name, value) in &settings.producer_properties {
            self.set(name, value);
        }
        self
    }

    fn with_consumer_properties(&mut self, settings: &KafkaSettings) -> &mut Self {
        for (name, value) in &settings.consumer_properties {
            self.set(name, value);
        }
        self
    }
}

/// A client that librdkafka refused to make from the configuration.
#[derive(Debug, thiserror::Error)]
#[error("librdkafka refuses the {client} configuration: {source}{hint}")]
pub struct ClientConfigError {
    /// `producer` or `consumer`.
    pub client: &'static str,
    /// Which of sluice's settings the refused key comes from, when it is one of the user's.
    pub hint: String,
    /// librdkafka's own message, with the key and value.
    #[source]
    pub source: KafkaError,
}

/// Makes (and drops at once) a producer and a consumer client from the configured connection
/// and properties, so that a property librdkafka does not know, a value it cannot take, or a
/// TLS file it cannot load is reported at start with librdkafka's own message and its key,
/// not by the first client made deep inside a pipeline.
/// The error is boxed: it carries librdkafka's message, key and value, and rides in the
/// processes' error enums, which stay small.
pub fn check_client_configs(settings: &KafkaSettings) -> Result<(), Box<ClientConfigError>> {
    use rdkafka::consumer::BaseConsumer;
    use rdkafka::producer::BaseProducer;

    let refused = |client, source: KafkaError| {
        let hint = match &source {
            KafkaError::ClientConfig(_, _, key, _) => {
                let table = match client {
                    "producer" => &settings.producer_properties,
                    _ => &settings.consumer_properties,
                };
                if table.contains_key(key) {
                    format!(" (from kafka.{client}_properties)")
                } else {
                    String::new()
                }
            }
            _ => String::new(),
        };
        Box::new(ClientConfigError {
            client,
            hint,
            source,
        })
    };
    // Made to be judged, not used: no broker to connect to, so they log nothing.
    let unconnected = KafkaSettings {
        bootstrap_servers: String::new(),
        ..settings.clone()
    };
    client_config(&unconnected)
        .with_producer_properties(settings)
        .create::<BaseProducer>()
        .map_err(|source| refused("producer", source))?;
    client_config(&unconnected)
        .with_consumer_properties(settings)
        .create::<BaseConsumer>()
        .map_err(|source| refused("consumer", source))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_property_librdkafka_refuses_is_named_with_its_table_at_start() {
        let mut settings = KafkaSettings {
            bootstrap_servers: "127.0.0.1:9".into(),
            ..KafkaSettings::default()
        };
        assert!(check_client_configs(&settings).is_ok());
        settings
            .consumer_properties
            .insert("fetch.wait.max.msec".into(), "50".into());
        let error = check_client_configs(&settings).expect_err("no such property");
        let message = error.to_string();
        assert!(
            message.starts_with("librdkafka refuses the consumer configuration")
                && message.contains("fetch.wait.max.msec")
                && message.ends_with("(from kafka.consumer_properties)"),
            "{message}"
        );
        settings.consumer_properties.clear();
        settings
            .producer_properties
            .insert("batch.size".into(), "many".into());
        let message = check_client_configs(&settings)
            .expect_err("not a number")
            .to_string();
        assert!(
            message.contains("producer") && message.contains("batch.size"),
            "{message}"
        );
    }
}
