//! The settings of the three servers sluice talks to: MySQL, Kafka and the schema registry.
//! As in `sections`, the doc comment of each field is its reference documentation.

use serde::{Deserialize, Serialize};

use super::choices::{MysqlTlsMode, SaslMechanism, SecurityProtocol};
use super::properties::{self, ClientProperties};

/// Where the `product` table lives and how to log in to it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MysqlSettings {
    /// Host name or address of the MySQL or MariaDB server.
    pub host: String,
    /// TCP port of the server.
    pub port: u16,
    /// User the pipeline logs in as; it needs SELECT on the table.
    pub user: String,
    /// That user's password. Prefer `password_file` or `SLUICE__MYSQL__PASSWORD` to writing it
    /// here.
    pub password: String,
    /// File whose content is the password (a mounted Kubernetes Secret); one trailing line
    /// break is not part of it. When set, it replaces `password`; empty: `password` is used.
    pub password_file: String,
    /// Database (schema) that holds the table.
    pub database: String,
    /// Table whose changed rows are streamed.
    pub table: String,
    /// Seconds to wait for a connection before reporting the server unreachable.
    pub connect_timeout_secs: u64,
    /// TLS on every connection: `disabled`, `preferred` (TLS when the server offers it,
    /// unchecked), `required` (TLS or no connection, unchecked), `verify_ca` (the server's
    /// certificate signed by `ca_file`'s authority) or `verify_identity` (and naming `host`).
    pub tls_mode: MysqlTlsMode,
    /// PEM file of the certificate authority that signed the server's certificate; empty: the
    /// system's.
    pub ca_file: String,
    /// PEM client certificate, for a user created `REQUIRE X509`; with `key_file`. Empty: none.
    pub certificate_file: String,
    /// PEM private key of `certificate_file`.
    pub key_file: String,
}

impl Default for MysqlSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 3306,
            user: "sluice".into(),
            password: "sluice".into(),
            password_file: String::new(),
            database: "sluice".into(),
            table: "product".into(),
            connect_timeout_secs: 5,
            tls_mode: MysqlTlsMode::default(),
            ca_file: String::new(),
            certificate_file: String::new(),
            key_file: String::new(),
        }
    }
}

/// The Kafka cluster and the topics sluice writes and reads.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaSettings {
    /// Comma-separated `host:port` list of brokers to bootstrap from.
    pub bootstrap_servers: String,
    /// Topic that carries one Avro record per changed row.
    pub topic: String,
    /// Partition count of the topic; keys are spread over it, so it must never change.
    pub partitions: i32,
    /// Replication factor used when sluice creates a topic; 0: as many brokers as the cluster
    /// has, at most 3.
    pub replication_factor: i32,
    /// `min.insync.replicas` of a topic sluice creates; 0: one less than its replication
    /// factor, at least 1 and at most 2 (so a topic of 3 replicas takes writes with one broker
    /// down, and never acknowledges a record only one broker holds).
    pub min_insync_replicas: i32,
    /// Create the topic with `cleanup.policy=compact`, so Kafka keeps each product's latest
    /// record (a delete's tombstone until `delete.retention.ms`) and the topic converges to the
    /// table. Only when sluice creates the topic; an existing topic keeps its policy.
    pub compact_topic: bool,
    /// Topic that receives records which could not be processed, with the reason in headers.
    pub dlq_topic: String,
    /// Compacted topic that keeps the producer's watermark when `producer.exactly_once` is on;
    /// empty for `<topic>.watermarks`.
    pub watermark_topic: String,
    /// Seconds to wait for a metadata answer before reporting the cluster unreachable.
    pub request_timeout_secs: u64,
    /// How every client talks to the brokers: `PLAINTEXT`, `SSL` (TLS; with a client
    /// certificate for mTLS), `SASL_PLAINTEXT` or `SASL_SSL` (a SASL login over TLS).
    pub security_protocol: SecurityProtocol,
    /// SASL mechanism under `SASL_*` protocols: `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`.
    pub sasl_mechanism: SaslMechanism,
    /// SASL user (the principal the ACLs name) under `SASL_*` protocols.
    pub sasl_username: String,
    /// That user's password. Prefer `sasl_password_file` or `SLUICE__KAFKA__SASL_PASSWORD` to
    /// writing it here.
    pub sasl_password: String,
    /// File whose content is `sasl_password`, as `mysql.password_file`.
    pub sasl_password_file: String,
    /// PEM file of the certificate authority that signed the brokers' certificates, under `SSL`
    /// and `SASL_SSL`; empty: the system's.
    pub ca_file: String,
    /// PEM client certificate for mTLS (its subject is the principal the ACLs name); with
    /// `key_file`. Empty: none.
    pub certificate_file: String,
    /// PEM private key of `certificate_file`.
    pub key_file: String,
    /// Password of `key_file` when it is encrypted. Prefer `key_password_file` or
    /// `SLUICE__KAFKA__KEY_PASSWORD`.
    pub key_password: String,
    /// File whose content is `key_password`, as `mysql.password_file`.
    pub key_password_file: String,
    /// Refuse a broker whose certificate does not name the host connected to. Turn off only
    /// for brokers reached under another name than their certificate's.
    pub verify_hostname: bool,
    /// librdkafka properties for every Kafka producer client sluice makes (the producer's, and
    /// each member's commits and dead letters), e.g. `[kafka.producer_properties]`
    /// `batch.size = 1000000`; checked at start with librdkafka's own message. Properties sluice
    /// sets itself are refused with the setting to use.
    #[serde(deserialize_with = "properties::flattened")]
    pub producer_properties: ClientProperties,
    /// librdkafka properties for every Kafka consumer client sluice makes (the members, topic
    /// readers, `sluice-verify`), as `producer_properties`.
    #[serde(deserialize_with = "properties::flattened")]
    pub consumer_properties: ClientProperties,
}

impl Default for KafkaSettings {
    fn default() -> Self {
        Self {
            bootstrap_servers: "127.0.0.1:9092".into(),
            topic: "product_updates".into(),
            partitions: 10,
            replication_factor: 0,
            min_insync_replicas: 0,
            compact_topic: false,
            dlq_topic: "product_updates.dlq".into(),
            watermark_topic: String::new(),
            request_timeout_secs: 10,
            security_protocol: SecurityProtocol::default(),
            sasl_mechanism: SaslMechanism::default(),
            sasl_username: String::new(),
            sasl_password: String::new(),
            sasl_password_file: String::new(),
            ca_file: String::new(),
            certificate_file: String::new(),
            key_file: String::new(),
            key_password: String::new(),
            key_password_file: String::new(),
            verify_hostname: true,
            producer_properties: ClientProperties::new(),
            consumer_properties: ClientProperties::new(),
        }
    }
}

impl KafkaSettings {
    /// The topic that keeps the producer's watermark under exactly-once.
    pub fn watermark_topic_name(&self) -> String {
        if self.watermark_topic.is_empty() {
            format!("{}.watermarks", self.topic)
        } else {
            self.watermark_topic.clone()
        }
    }
}

/// The Schema Registry, spoken to through the Confluent REST API.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegistrySettings {
    /// Base URL of the Confluent API: `http://host:8081` for Confluent's registry,
    /// `http://host:8081/apis/ccompat/v7` for Apicurio's.
    pub url: String,
    /// Seconds to wait for an answer before reporting the registry unreachable.
    pub timeout_secs: u64,
    /// User for HTTP basic authentication (hosted registries); empty for none.
    pub username: String,
    /// Password for basic authentication. Prefer `password_file` or
    /// `SLUICE__REGISTRY__PASSWORD`.
    pub password: String,
    /// File whose content is `password`, as `mysql.password_file`.
    pub password_file: String,
    /// PEM file of an extra certificate authority to trust for `https` URLs; empty for the
    /// system's.
    pub ca_file: String,
}

impl Default for RegistrySettings {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:8081/apis/ccompat/v7".into(),
            timeout_secs: 10,
            username: String::new(),
            password: String::new(),
            password_file: String::new(),
            ca_file: String::new(),
        }
    }
}
