//! The configuration sections. The doc comment of each field is its reference documentation:
//! `sluice.toml` and the README repeat it, so keep the three in step.

use serde::{Deserialize, Serialize};

/// The whole configuration of a sluice process.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// The source database.
    pub mysql: MysqlSettings,
    /// The Kafka cluster that carries the records.
    pub kafka: KafkaSettings,
    /// The Confluent-compatible Schema Registry that holds the Avro schemas.
    pub registry: RegistrySettings,
}

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
    /// That user's password. Prefer `SLUICE__MYSQL__PASSWORD` to writing it in a file.
    pub password: String,
    /// Database (schema) that holds the table.
    pub database: String,
    /// Table whose changed rows are streamed.
    pub table: String,
    /// Seconds to wait for a connection before reporting the server unreachable.
    pub connect_timeout_secs: u64,
}

impl Default for MysqlSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 3306,
            user: "sluice".into(),
            password: "sluice".into(),
            database: "sluice".into(),
            table: "product".into(),
            connect_timeout_secs: 5,
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
    /// Replication factor used when sluice creates a topic.
    pub replication_factor: i32,
    /// Topic that receives records which could not be processed, with the reason in headers.
    pub dlq_topic: String,
    /// Seconds to wait for a metadata answer before reporting the cluster unreachable.
    pub request_timeout_secs: u64,
}

impl Default for KafkaSettings {
    fn default() -> Self {
        Self {
            bootstrap_servers: "127.0.0.1:9092".into(),
            topic: "product_updates".into(),
            partitions: 10,
            replication_factor: 1,
            dlq_topic: "product_updates.dlq".into(),
            request_timeout_secs: 10,
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
}

impl Default for RegistrySettings {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:8081/apis/ccompat/v7".into(),
            timeout_secs: 10,
        }
    }
}
