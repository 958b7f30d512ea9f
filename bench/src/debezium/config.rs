//! How the Debezium peer is set up: the Connect worker's properties and the connector's
//! configuration, at Debezium's defaults or tuned for throughput.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use anyhow::Context as _;

use crate::context::Bench;

/// The replication account the connector reads with (the stack's, see `stack/env.sh`).
#[derive(Debug, Clone)]
pub struct Account {
    /// User with SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE and REPLICATION CLIENT.
    pub user: String,
    /// Its password.
    pub password: String,
}

impl Account {
    /// The account the command line names (`--cdc-user`, `--cdc-password`).
    pub fn of(cli: &crate::cli::Cli) -> Self {
        Self {
            user: cli.cdc_user.clone(),
            password: cli.cdc_password.clone(),
        }
    }
}

/// The replication client id of the first run's connector; each run adds its number, so a
/// connector's binary-log session never meets the previous one's on the server.
const SERVER_ID: u32 = 5_400;

/// Where Apicurio serves the Confluent-compatible API sluice uses.
const CCOMPAT_PATH: &str = "/apis/ccompat/v7";

/// Records the connector polls at once, tuned (Debezium's default: 2 048).
const TUNED_MAX_BATCH: u32 = 16_384;

/// Records queued between the connector and the worker, tuned (default: 8 192).
const TUNED_MAX_QUEUE: u32 = 65_536;

/// Rows the snapshot's query fetches from MariaDB at a time, tuned (default: the driver's own).
const TUNED_SNAPSHOT_FETCH: u32 = 20_000;

/// How the worker and connector are set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tuning {
    /// Debezium's and Kafka Connect's defaults, beyond what names the table and topics.
    Defaults,
    /// What a user tuning for throughput sets: larger batches and queue, five requests in
    /// flight, plugins found by their manifests alone, the flat row instead of the change
    /// envelope (`ExtractNewRecordState`), and the schema id in the record in Confluent's format
    /// rather than in headers.
    Tuned,
}

impl Tuning {
    /// The figures' key and the topic's tag.
    pub fn key(self) -> &'static str {
        match self {
            Tuning::Defaults => "debezium",
            Tuning::Tuned => "debezium_tuned",
        }
    }

    /// What the figures' labels call it.
    pub fn label(self) -> &'static str {
        match self {
            Tuning::Defaults => "Debezium (defaults)",
            Tuning::Tuned => "Debezium (tuned)",
        }
    }
}

/// Fetches the worker, the connector and the converter once; the folder of Connect plugins.
pub(super) fn plugin_path(script: &Path) -> anyhow::Result<String> {
    let output = Command::new(script)
        .arg("plugin-path")
        .output()
        .with_context(|| format!("cannot run {}", script.display()))?;
    anyhow::ensure!(
        output.status.success(),
        "{} plugin-path failed: {}",
        script.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .last()
        .map(str::to_owned)
        .context("connect-worker printed no plugin folder")
}

/// The worker: the stack's Kafka, Apicurio's Avro converter for keys and values, and the
/// producer settings of sluice's own producer, so batching and compression are alike.
pub(super) fn worker_properties(
    bench: &Bench,
    plugin_path: &str,
    dir: &Path,
    port: u16,
    tuning: Tuning,
) -> anyhow::Result<String> {
    let settings = &bench.settings;
    let registry = apicurio_v2_url(&settings.registry.url)?;
    let mut text = String::new();
    let mut line = |key: &str, value: &str| {
        let _ = writeln!(text, "{key}={value}");
    };
    line("bootstrap.servers", &settings.kafka.bootstrap_servers);
    line("plugin.path", plugin_path);
    line(
        "offset.storage.file.filename",
        &dir.join("offsets.dat").display().to_string(),
    );
    line("offset.flush.interval.ms", "1000");
    // Each run creates and deletes its connector through the REST API.
    line("listeners", &format!("http://127.0.0.1:{port}"));
    for side in ["key", "value"] {
        line(
            &format!("{side}.converter"),
            "io.apicurio.registry.utils.converter.AvroConverter",
        );
        line(
            &format!("{side}.converter.apicurio.registry.url"),
            &registry,
        );
        line(
            &format!("{side}.converter.apicurio.registry.auto-register"),
            "true",
        );
        line(
            &format!("{side}.converter.apicurio.registry.find-latest"),
            "true",
        );
        if tuning == Tuning::Tuned {
            // The schema id in the record, as sluice writes it: magic byte and 4-byte id.
            for (key, value) in [
                ("headers.enabled", "false"),
                ("as-confluent", "true"),
                ("use-id", "contentId"),
            ] {
                line(&format!("{side}.converter.apicurio.registry.{key}"), value);
            }
        }
    }
    if tuning == Tuning::Tuned {
        line("plugin.discovery", "service_load");
        line("connector.client.config.override.policy", "All");
    }
    line("producer.acks", "all");
    line("producer.enable.idempotence", "true");
    line(
        "producer.compression.type",
        &settings.producer.compression.to_string(),
    );
    line(
        "producer.linger.ms",
        &settings.producer.linger_ms.to_string(),
    );
    line("producer.batch.size", "1000000");
    Ok(text)
}

/// The connector: Debezium's defaults except for what names the table and the topics, and with
/// `Tuned` what a user tuning for throughput sets.
pub(super) fn connector_config(
    bench: &Bench,
    account: &Account,
    prefix: &str,
    table: &str,
    run: u32,
    tuning: Tuning,
) -> serde_json::Map<String, serde_json::Value> {
    let mysql = &bench.settings.mysql;
    let kafka = &bench.settings.kafka;
    let database = &mysql.database;
    let mut config = serde_json::Map::new();
    let mut set = |key: &str, value: String| {
        config.insert(key.to_owned(), serde_json::Value::String(value));
    };
    set(
        "connector.class",
        "io.debezium.connector.mariadb.MariaDbConnector".to_owned(),
    );
    set("tasks.max", "1".to_owned());
    set("database.hostname", mysql.host.clone());
    set("database.port", mysql.port.to_string());
    set("database.user", account.user.clone());
    set("database.password", account.password.clone());
    set("database.server.id", (SERVER_ID + run).to_string());
    set("topic.prefix", prefix.to_owned());
    set("database.include.list", database.clone());
    set("table.include.list", format!("{database}.{table}"));
    set("snapshot.mode", "initial".to_owned());
    // Row changes only, as sluice publishes: no DDL events on a topic of their own.
    set("include.schema.changes", "false".to_owned());
    set(
        "schema.history.internal.kafka.bootstrap.servers",
        kafka.bootstrap_servers.clone(),
    );
    set(
        "schema.history.internal.kafka.topic",
        format!("{prefix}.schema-history"),
    );
    // Only the captured table's DDL, not every table of the database.
    set(
        "schema.history.internal.store.only.captured.tables.ddl",
        "true".to_owned(),
    );
    if tuning == Tuning::Tuned {
        set("max.batch.size", TUNED_MAX_BATCH.to_string());
        set("max.queue.size", TUNED_MAX_QUEUE.to_string());
        set("snapshot.fetch.size", TUNED_SNAPSHOT_FETCH.to_string());
        set(
            "producer.override.max.in.flight.requests.per.connection",
            "5".to_owned(),
        );
        set("transforms", "unwrap".to_owned());
        set(
            "transforms.unwrap.type",
            "io.debezium.transforms.ExtractNewRecordState".to_owned(),
        );
    }
    config
}

/// Apicurio's own v2 API beside the Confluent-compatible one sluice is configured with.
pub(super) fn apicurio_v2_url(ccompat: &str) -> anyhow::Result<String> {
    let base = ccompat
        .trim_end_matches('/')
        .strip_suffix(CCOMPAT_PATH)
        .with_context(|| {
            format!(
                "registry.url {ccompat} does not end in {CCOMPAT_PATH}: the Debezium peer needs \
                 Apicurio Registry"
            )
        })?;
    Ok(format!("{base}/apis/registry/v2"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apicurio_v2_sits_beside_the_confluent_api() {
        assert_eq!(
            apicurio_v2_url("http://127.0.0.1:8081/apis/ccompat/v7/").expect("apicurio url"),
            "http://127.0.0.1:8081/apis/registry/v2"
        );
        let error = apicurio_v2_url("http://registry:8081")
            .expect_err("not apicurio")
            .to_string();
        assert!(
            error.contains("does not end in /apis/ccompat/v7"),
            "{error}"
        );
    }
}
