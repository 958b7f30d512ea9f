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
    /// How the producer reads changed rows and publishes them.
    pub producer: ProducerSettings,
    /// How each consumer group member reads records and writes JSON lines.
    pub consumer: ConsumerSettings,
    /// What the consumers change in each record before writing it.
    pub transform: TransformSettings,
    /// Where each process serves `/metrics` and `/health`.
    pub metrics: MetricsSettings,
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
    /// User for HTTP basic authentication (hosted registries); empty for none.
    pub username: String,
    /// Password for basic authentication. Prefer `SLUICE__REGISTRY__PASSWORD`.
    pub password: String,
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
            ca_file: String::new(),
        }
    }
}

/// The producer's polling, paging and publishing.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProducerSettings {
    /// Milliseconds to wait before polling again once the table is caught up; 100 at most
    /// while the last poll found changes.
    pub poll_interval_ms: u64,
    /// Rows read per page; a full page is followed at once by the next.
    pub batch_size: u32,
    /// Milliseconds a row must be old (by the database's clock) before it is read, so a
    /// transaction that commits late with an earlier `last_updated` is still seen; not applied
    /// where open transactions are seen to the microsecond. Elsewhere a transaction that stays
    /// open longer than this can be missed.
    pub commit_lag_ms: u64,
    /// Avro schema the records are written with; each field is read from the column of its name.
    pub schema_file: String,
    /// Compatibility level the producer sets on its subject when the subject has none, as
    /// Confluent names it (`BACKWARD`, `FULL_TRANSITIVE`, `NONE`, …).
    pub compatibility: String,
    /// Integer primary key column: the record key, and the tie-breaker of the keyset.
    pub key_column: String,
    /// Column that moves forward on every change (`TIMESTAMP`/`DATETIME`).
    pub timestamp_column: String,
    /// File that keeps the position of the last row Kafka acknowledged.
    pub watermark_file: String,
    /// Milliseconds librdkafka waits to fill a batch before sending it.
    pub linger_ms: u32,
    /// Compression of record batches: `none`, `gzip`, `snappy`, `lz4` or `zstd`.
    pub compression: String,
}

impl Default for ProducerSettings {
    fn default() -> Self {
        Self {
            poll_interval_ms: 500,
            batch_size: 5000,
            commit_lag_ms: 2000,
            schema_file: "schemas/product.avsc".into(),
            compatibility: "BACKWARD".into(),
            key_column: "id".into(),
            timestamp_column: "last_updated".into(),
            watermark_file: "out/producer.watermark.json".into(),
            linger_ms: 20,
            compression: "lz4".into(),
        }
    }
}

/// Each consumer group member's reading and writing.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsumerSettings {
    /// Consumer group every member joins.
    pub group_id: String,
    /// This member's name: its static group membership id and the name of its output file.
    /// `sluice-consumer --member N` sets it to `consumer-N`.
    pub member: String,
    /// Avro schema records are resolved into; the JSON lines carry its fields.
    pub reader_schema_file: String,
    /// Folder that receives one `<member>.jsonl` file per member.
    pub output_dir: String,
    /// Milliseconds between flushing the file and committing the offsets written while records
    /// keep coming; a member that has read everything waiting commits within 100 ms.
    pub commit_interval_ms: u64,
    /// How the members share the partitions. `consumer` (KIP-848, Kafka 4.0 and later) lets the
    /// broker hand partitions over at each heartbeat, so a group starts reading at once;
    /// `classic` is for older brokers.
    pub group_protocol: GroupProtocol,
}

/// The Kafka consumer group protocol the members speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum GroupProtocol {
    /// The broker assigns partitions and moves them one heartbeat at a time (KIP-848).
    #[default]
    Consumer,
    /// Members rejoin the group for every change and the leader assigns; brokers before 4.0.
    Classic,
}

impl GroupProtocol {
    /// The value of librdkafka's and the Java client's `group.protocol`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Consumer => "consumer",
            Self::Classic => "classic",
        }
    }
}

impl TryFrom<String> for GroupProtocol {
    type Error = String;

    /// Parsed by hand so that a wrong value is answered with the ones that are right.
    fn try_from(name: String) -> Result<Self, String> {
        [Self::Consumer, Self::Classic]
            .into_iter()
            .find(|protocol| protocol.name() == name)
            .ok_or_else(|| format!("`{name}` is not a group protocol: use `consumer` or `classic`"))
    }
}

impl Default for ConsumerSettings {
    fn default() -> Self {
        Self {
            group_id: "sluice-json-writers".into(),
            member: "consumer-1".into(),
            reader_schema_file: "schemas/product.avsc".into(),
            output_dir: "out/jsonl".into(),
            commit_interval_ms: 1000,
            group_protocol: GroupProtocol::default(),
        }
    }
}

/// The record transformation.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TransformSettings {
    /// Price discounts by category (matched ignoring case), e.g.
    /// `[[transform.discounts]]` `category = "electronics"` `percent = 10`.
    pub discounts: Vec<DiscountSettings>,
}

/// One category's discount.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DiscountSettings {
    /// Category the discount applies to, ignoring case.
    pub category: String,
    /// Percentage taken off the price, from 0 to 100.
    pub percent: f64,
}

/// The metrics and health endpoints of each process.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSettings {
    /// Address the endpoints listen on; `0.0.0.0` to be scraped from other hosts.
    pub host: String,
    /// Port of the producer's endpoints.
    pub producer_port: u16,
    /// Consumer `consumer-N` listens on this port plus N (9651 … 9655 for five members).
    /// 0 picks a free port for every process (the port is logged at start).
    pub consumer_port_base: u16,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            producer_port: 9641,
            consumer_port_base: 9650,
        }
    }
}
