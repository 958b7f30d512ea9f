//! The configuration sections. The doc comment of each field is its reference documentation:
//! `docs/configuration.md` is generated from it (`e2e/src/settings_reference.rs`, kept equal by
//! a test), and `sluice.toml` gives each key a short comment.

use serde::{Deserialize, Serialize};

use super::choices::{
    ChangeSource, CompatibilityLevel, Compression, GroupProtocol, OnError, ReaderSchemaSource,
    WriterSchemaSource,
};
use super::servers::{KafkaSettings, MysqlSettings, RegistrySettings};
use super::transform::TransformSettings;

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

/// The producer's polling, paging and publishing.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProducerSettings {
    /// Where the changes come from: `timestamp` polls the rows whose `timestamp_column` moved
    /// past the watermark (two changes of a row between polls arrive as one); `binlog` reads
    /// every committed change from MariaDB's row-based binary log, after a snapshot of the
    /// table (the user then needs `REPLICATION SLAVE` and `BINLOG MONITOR`; see
    /// docs/binlog.md).
    pub source: ChangeSource,
    /// Under `source = "binlog"`, the replica id the producer registers with (unique among the
    /// server's replicas and servers); 0: one derived from `kafka.topic`.
    pub binlog_server_id: u32,
    /// Milliseconds to wait before polling again once the table is caught up; 100 at most
    /// while the last poll found changes.
    pub poll_interval_ms: u64,
    /// Rows read per page, at most; a full page is followed at once by the next. Pages of heavy
    /// rows hold fewer: at most 2 MiB of encoded records each (500 rows for the first two pages
    /// of a run, before a row's weight is known), so the pages in flight and the one read ahead
    /// keep the producer's memory bounded whatever the rows carry.
    pub batch_size: u32,
    /// Milliseconds a row must be old (by the database's clock) before it is read, so a
    /// transaction that commits late with an earlier `last_updated` is still seen; not applied
    /// where open transactions are seen to the microsecond. Elsewhere a transaction that stays
    /// open longer than this can be missed.
    pub commit_lag_ms: u64,
    /// Where the writer schema comes from: `file` (`schema_file`, each field read from the
    /// column of its name) or `table` (an Avro record built from the table's columns, after
    /// `include_columns` and `exclude_columns`, and built again when an `ALTER TABLE` changes
    /// them; see docs/schema-evolution.md for the type map).
    pub schema_from: WriterSchemaSource,
    /// Avro schema the records are written with when `schema_from` is `file`; each field is read
    /// from the column of its name. Empty: the product schema built into the binary
    /// (`schemas/product.avsc` when it was built).
    pub schema_file: String,
    /// Columns a schema built from the table holds, comma-separated, in any case; empty: every
    /// column. `key_column` is always needed, and `timestamp_column` by the timestamp source.
    pub include_columns: String,
    /// Columns a schema built from the table leaves out, comma-separated, in any case (applied
    /// after `include_columns`).
    pub exclude_columns: String,
    /// Name of the Avro record a schema built from the table defines; empty: the table's name.
    pub record_name: String,
    /// Namespace of that record; empty: none.
    pub record_namespace: String,
    /// Compatibility level the producer sets on its subject when the subject has none, as
    /// Confluent names it (`BACKWARD`, `FULL_TRANSITIVE`, `NONE`, …).
    pub compatibility: CompatibilityLevel,
    /// Primary key column (one column: an integer of any width, `CHAR`/`VARCHAR`, or
    /// `BINARY`/`VARBINARY`): the record key, and the tie-breaker of the keyset.
    pub key_column: String,
    /// Column that moves forward on every change (`TIMESTAMP`/`DATETIME`). The binlog source
    /// reads a table without it too (the binary log orders the changes).
    pub timestamp_column: String,
    /// Column that marks a row deleted without deleting it (soft deletes): a number is a mark
    /// when not 0 (`is_deleted`), anything else when not NULL (`deleted_at`). A row read with
    /// the mark is published as a delete (a tombstone). Empty: none.
    pub deleted_column: String,
    /// Seconds between two sweeps of the table's keys, which find rows deleted outright and
    /// publish their deletes; 0: no sweep (a deleted row then stays in the files). Needs
    /// `key_column` to be the table's primary key. The keys published are kept beside
    /// `watermark_file` (extension `keys`) and read back from the topic after it.
    pub delete_sweep_interval_secs: u64,
    /// File that keeps the position of the last row Kafka acknowledged, when `exactly_once` is
    /// off.
    pub watermark_file: String,
    /// Publish the records of each batch of pages and the watermark after them in one Kafka
    /// transaction, so that a crash or a restart never publishes a row version twice; the
    /// watermark is then kept in `kafka.watermark_topic`, not in `watermark_file`. Off: each
    /// page is published as soon as it is read, and a crash re-sends the pages after the saved
    /// watermark (at least once).
    pub exactly_once: bool,
    /// Run as one of several producers of this pipeline (the same `transactional_id`, e.g. on
    /// two hosts): one publishes, the others stand by and the first to notice takes over within
    /// seconds when it dies or stops answering; one that comes back is fenced and stops. Needs
    /// `exactly_once`.
    pub standby: bool,
    /// Kafka `transactional.id` when `exactly_once` is on; empty for
    /// `sluice-producer-<kafka.topic>`. A second producer started with the same id fences the
    /// first, which stops.
    pub transactional_id: String,
    /// Milliseconds librdkafka waits to fill a batch before sending it.
    pub linger_ms: u32,
    /// Compression of record batches: `none`, `gzip`, `snappy`, `lz4` or `zstd`.
    pub compression: Compression,
    /// What a row that cannot be published (it cannot be encoded, or is larger than the topic
    /// takes) does: `dead_letter` sends it to the dead-letter topic with the reason and goes
    /// on; `fail` stops the producer with the reason, the watermark before that row.
    pub on_error: OnError,
}

impl ProducerSettings {
    /// The soft-delete column, when one is configured.
    pub fn deleted_column(&self) -> Option<&str> {
        Some(self.deleted_column.as_str()).filter(|name| !name.is_empty())
    }

    /// `include_columns` as names; empty for every column.
    pub fn included_columns(&self) -> Vec<String> {
        column_names(&self.include_columns)
    }

    /// `exclude_columns` as names.
    pub fn excluded_columns(&self) -> Vec<String> {
        column_names(&self.exclude_columns)
    }

    /// The time between two sweeps for hard deletes, when they are on.
    pub fn delete_sweep_interval(&self) -> Option<std::time::Duration> {
        (self.delete_sweep_interval_secs > 0)
            .then(|| std::time::Duration::from_secs(self.delete_sweep_interval_secs))
    }

    /// The `transactional.id` of the producer publishing into `topic` under exactly-once.
    pub fn transactional_id_for(&self, topic: &str) -> String {
        if self.transactional_id.is_empty() {
            format!("sluice-producer-{topic}")
        } else {
            self.transactional_id.clone()
        }
    }
}

/// A comma-separated list of column names, trimmed, empty names left out.
fn column_names(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect()
}

impl Default for ProducerSettings {
    fn default() -> Self {
        Self {
            source: ChangeSource::default(),
            binlog_server_id: 0,
            poll_interval_ms: 500,
            batch_size: 5000,
            commit_lag_ms: 2000,
            schema_from: WriterSchemaSource::File,
            schema_file: "schemas/product.avsc".into(),
            include_columns: String::new(),
            exclude_columns: String::new(),
            record_name: String::new(),
            record_namespace: String::new(),
            compatibility: CompatibilityLevel::Backward,
            key_column: "id".into(),
            timestamp_column: "last_updated".into(),
            deleted_column: String::new(),
            delete_sweep_interval_secs: 60,
            watermark_file: "out/producer.watermark.json".into(),
            exactly_once: true,
            standby: false,
            transactional_id: String::new(),
            linger_ms: 20,
            compression: Compression::Lz4,
            on_error: OnError::default(),
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
    /// Where the reader schema comes from: `file` (`reader_schema_file`, pinned) or `latest`
    /// (the latest version of the topic's subject in the registry, followed: once the producer
    /// registers a new version, lines carry its fields, with their defaults for records
    /// written before).
    pub reader_schema_from: ReaderSchemaSource,
    /// Avro schema records are resolved into when `reader_schema_from` is `file`; the JSON lines
    /// carry its fields. Empty: the product schema built into the binary.
    pub reader_schema_file: String,
    /// Folder that receives one `<member>.jsonl` file per member. Each member also keeps
    /// `<member>.lock` there (locked while it runs: a second process as the same member over the
    /// same folder is refused, naming the first one's process id) and, under `exactly_once`,
    /// `<member>.pending`.
    pub output_dir: String,
    /// Bytes at which the member's file is closed as a segment `<member>.<sequence>.jsonl` and a
    /// new one begun; lines go to `<member>.jsonl.part` until then, so a loader's `*.jsonl`
    /// never sees a file being written. 0 (and `roll_seconds` 0): one `<member>.jsonl` that
    /// grows.
    pub roll_bytes: u64,
    /// Seconds after its first line at which a segment is closed, however small (checked at
    /// each commit); 0: never by age.
    pub roll_seconds: u64,
    /// Closed segments each member keeps, removing its oldest beyond; 0: all.
    pub keep_segments: u32,
    /// Milliseconds between flushing the file and committing the offsets written while records
    /// keep coming; a member that has read everything waiting commits within 50 ms.
    pub commit_interval_ms: u64,
    /// How the members share the partitions. `consumer` (KIP-848, Kafka 4.0 and later) lets the
    /// broker hand partitions over at each heartbeat, so a group starts reading at once;
    /// `classic` is for older brokers.
    pub group_protocol: GroupProtocol,
    /// Write a line to the file if and only if its record's offset is committed: each commit
    /// is a Kafka transaction carrying the offsets and a marker of the batch (in the compacted
    /// topic `<group_id>.batches`), with the batch's offsets kept in `<member>.pending` until
    /// its lines are appended. Off: lines are written before their offsets are committed, and a crash
    /// may write a few again (at least once).
    pub exactly_once: bool,
    /// What a record that cannot be written (it cannot be decoded or transformed) does:
    /// `dead_letter` sends it to the dead-letter topic with the reason and goes on; `fail`
    /// commits what came before it and stops the member with the reason.
    pub on_error: OnError,
}

impl Default for ConsumerSettings {
    fn default() -> Self {
        Self {
            group_id: "sluice-json-writers".into(),
            member: "consumer-1".into(),
            reader_schema_from: ReaderSchemaSource::File,
            reader_schema_file: "schemas/product.avsc".into(),
            output_dir: "out/jsonl".into(),
            roll_bytes: 0,
            roll_seconds: 0,
            keep_segments: 0,
            commit_interval_ms: 1000,
            group_protocol: GroupProtocol::default(),
            exactly_once: true,
            on_error: OnError::default(),
        }
    }
}

impl ConsumerSettings {
    /// What the members' Kafka `transactional.id`s under exactly-once start with:
    /// `sluice-consumer-<group_id>-`, followed by the member's name.
    pub fn transactional_id_prefix(&self) -> String {
        format!("sluice-consumer-{}-", self.group_id)
    }

    /// `member`'s `transactional.id` under exactly-once.
    pub fn transactional_id_of(&self, member: &str) -> String {
        format!("{}{member}", self.transactional_id_prefix())
    }
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
    /// This member's port whatever its name; 0: `consumer_port_base` plus its number. For
    /// members that each have an address of their own (containers, pods), so that every one
    /// serves on the same port.
    pub consumer_port: u16,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            producer_port: 9641,
            consumer_port_base: 9650,
            consumer_port: 0,
        }
    }
}
