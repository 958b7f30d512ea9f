//! The peer a user would pick instead: Debezium's MariaDB connector in a standalone Kafka
//! Connect worker, writing Avro through Apicurio's converter, snapshotting the same table into
//! a fresh topic. Timed as the producer is: from the worker's start until the topic holds every
//! row.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::context::Bench;
use crate::offsets::TopicWatch;
use crate::process::{ensure_running, Measured, Usage};

/// A snapshot of the full table must finish within this.
const PATIENCE: Duration = Duration::from_secs(600);
/// A worker that adds no record for this long is stuck (its log says why).
const STALL: Duration = Duration::from_secs(60);
/// A Connect worker commits its offsets and closes its tasks on SIGTERM.
const STOP_PATIENCE: Duration = Duration::from_secs(60);
/// The replication client id the connector presents to MariaDB; unique on the server.
const SERVER_ID: u32 = 5_401;
/// Where Apicurio serves the Confluent-compatible API sluice uses.
const CCOMPAT_PATH: &str = "/apis/ccompat/v7";

/// The replication account the connector reads with (the stack's, see `stack/env.sh`).
#[derive(Debug, Clone)]
pub struct Account {
    /// User with SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE and REPLICATION CLIENT.
    pub user: String,
    /// Its password.
    pub password: String,
}

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

/// Records the connector polls at once, tuned (Debezium's default: 2 048).
const TUNED_MAX_BATCH: u32 = 16_384;
/// Records queued between the connector and the worker, tuned (default: 8 192).
const TUNED_MAX_QUEUE: u32 = 65_536;

/// How Debezium did.
#[derive(Debug, Clone, Copy)]
pub struct PeerSnapshot {
    /// From the worker's start until the topic held every row.
    pub seconds: f64,
    /// Rows per second over that time.
    pub rows_per_s: f64,
    /// The connector's own timer for reading and handing over the rows, from its log: the
    /// figure without the JVM's start and the worker's plugin scan.
    pub export_seconds: Option<f64>,
    /// Average record on its topic, key and value, in bytes.
    pub record_bytes: usize,
    /// What the worker used.
    pub usage: Usage,
}

/// Snapshots `table` (holding `rows` rows) with Debezium set up as `tuning` says into a fresh
/// topic of the pipeline's partition count, tagged `tag`, and checks the topic then holds
/// exactly `rows` records.
pub async fn snapshot(
    bench: &Bench,
    account: &Account,
    table: &str,
    rows: i64,
    tuning: Tuning,
    tag: &str,
) -> anyhow::Result<PeerSnapshot> {
    require_row_binlog(bench).await?;
    let dir = bench.work.join(format!("{}-{tag}", tuning.key()));
    std::fs::create_dir_all(&dir)?;
    let prefix = format!("{}{}-{tag}", bench.topic_prefix(), tuning.key());
    let topic = format!("{prefix}.{}.{table}", bench.settings.mysql.database);
    let kafka = &bench.settings.kafka;
    sluice_common::kafka::ensure_topic(kafka, &topic, kafka.partitions, true).await?;

    let script = bench.root.join("bench/debezium/connect-worker");
    let plugin_path = plugin_path(&script)?;
    let worker = dir.join("worker.properties");
    let connector = dir.join("connector.properties");
    std::fs::write(
        &worker,
        worker_properties(bench, &plugin_path, &dir, tuning)?,
    )?;
    std::fs::write(
        &connector,
        connector_properties(bench, account, &prefix, table, tuning),
    )?;

    let watch = TopicWatch::new(kafka, &topic)?;
    let mut command = Command::new(&script);
    command.arg("run").arg(&worker).arg(&connector);
    let log = dir.join("connect.log");
    let mut processes = [Measured::spawn("debezium", command, &log)?];
    let started = Instant::now();
    let (mut last_count, mut last_change) = (0, Instant::now());
    let published = loop {
        let published = watch.records()?;
        if published >= rows {
            break published;
        }
        if published != last_count {
            (last_count, last_change) = (published, Instant::now());
        }
        ensure_running(&mut processes)?;
        anyhow::ensure!(
            started.elapsed() < PATIENCE && last_change.elapsed() < STALL,
            "Debezium published {published} of {rows} rows in {:?} and nothing new for {:?}; \
             the end of {}:\n{}",
            started.elapsed(),
            last_change.elapsed(),
            log.display(),
            processes[0].log_tail(8)
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let elapsed = processes[0].elapsed();
    let [worker_process] = processes;
    let usage = worker_process.stop(STOP_PATIENCE)?;
    anyhow::ensure!(
        published == rows,
        "Debezium published {published} records of {rows} rows into {topic}"
    );
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    let record_bytes = crate::offsets::average_record_bytes(kafka, &topic, 1000)?;
    Ok(PeerSnapshot {
        record_bytes,
        seconds: elapsed.as_secs_f64(),
        rows_per_s: rows as f64 / elapsed.as_secs_f64(),
        export_seconds: export_seconds(&log_text, table),
        usage,
    })
}

/// Debezium reads the binary log position before it snapshots; without a row-based binary log
/// it refuses to start, which would surface only as a timeout.
async fn require_row_binlog(bench: &Bench) -> anyhow::Result<()> {
    let (log_bin, format): (i64, String) = sqlx::query_as("SELECT @@log_bin, @@binlog_format")
        .fetch_one(&bench.pool)
        .await?;
    anyhow::ensure!(
        log_bin == 1 && format.eq_ignore_ascii_case("ROW"),
        "Debezium needs MariaDB's binary log in ROW format (log_bin {log_bin}, binlog_format \
         {format}); the stack turns it on at start: run `make down && make up`"
    );
    Ok(())
}

/// Fetches the worker, the connector and the converter once; the folder of Connect plugins.
fn plugin_path(script: &Path) -> anyhow::Result<String> {
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
fn worker_properties(
    bench: &Bench,
    plugin_path: &str,
    dir: &Path,
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
    // The REST API is not used; an ephemeral port keeps it from colliding with anything.
    line("listeners", "http://127.0.0.1:0");
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
fn connector_properties(
    bench: &Bench,
    account: &Account,
    prefix: &str,
    table: &str,
    tuning: Tuning,
) -> String {
    let mysql = &bench.settings.mysql;
    let kafka = &bench.settings.kafka;
    let database = &mysql.database;
    let mut text = String::new();
    for (key, value) in [
        ("name", format!("{prefix}-connector")),
        (
            "connector.class",
            "io.debezium.connector.mariadb.MariaDbConnector".to_owned(),
        ),
        ("tasks.max", "1".to_owned()),
        ("database.hostname", mysql.host.clone()),
        ("database.port", mysql.port.to_string()),
        ("database.user", account.user.clone()),
        ("database.password", account.password.clone()),
        ("database.server.id", SERVER_ID.to_string()),
        ("topic.prefix", prefix.to_owned()),
        ("database.include.list", database.clone()),
        ("table.include.list", format!("{database}.{table}")),
        ("snapshot.mode", "initial".to_owned()),
        // Row changes only, as sluice publishes: no DDL events on a topic of their own.
        ("include.schema.changes", "false".to_owned()),
        (
            "schema.history.internal.kafka.bootstrap.servers",
            kafka.bootstrap_servers.clone(),
        ),
        (
            "schema.history.internal.kafka.topic",
            format!("{prefix}.schema-history"),
        ),
        // Only the captured table's DDL, not every table of the database.
        (
            "schema.history.internal.store.only.captured.tables.ddl",
            "true".to_owned(),
        ),
    ] {
        let _ = writeln!(text, "{key}={value}");
    }
    if tuning == Tuning::Tuned {
        for (key, value) in [
            ("max.batch.size", TUNED_MAX_BATCH.to_string()),
            ("max.queue.size", TUNED_MAX_QUEUE.to_string()),
            (
                "producer.override.max.in.flight.requests.per.connection",
                "5".to_owned(),
            ),
            ("transforms", "unwrap".to_owned()),
            (
                "transforms.unwrap.type",
                "io.debezium.transforms.ExtractNewRecordState".to_owned(),
            ),
        ] {
            let _ = writeln!(text, "{key}={value}");
        }
    }
    text
}

/// Apicurio's own v2 API beside the Confluent-compatible one sluice is configured with.
fn apicurio_v2_url(ccompat: &str) -> anyhow::Result<String> {
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

/// Seconds from Debezium's summary line: `Finished exporting 20000 records for table
/// 'sluice.t' (1 of 1 tables); total duration '00:00:02.328'`.
fn export_seconds(log: &str, table: &str) -> Option<f64> {
    let table_marker = format!(".{table}'");
    let line = log
        .lines()
        .rev()
        .find(|l| l.contains("Finished exporting") && l.contains(&table_marker))?;
    let duration = line.rsplit("total duration '").next()?.split('\'').next()?;
    let mut seconds = 0.0;
    for part in duration.split(':') {
        seconds = seconds * 60.0 + part.parse::<f64>().ok()?;
    }
    Some(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_time_comes_from_the_summary_of_the_table() {
        let log = "2026-11-25T22:45:57,440 INFO [RelationalSnapshotChangeEventSource] \t Finished \
                   exporting 20000 records for table 'sluice.other' (1 of 2 tables); total \
                   duration '00:00:09.000'\n\
                   2026-11-25T22:45:58,440 INFO [RelationalSnapshotChangeEventSource] \t Finished \
                   exporting 20000 records for table 'sluice.t' (2 of 2 tables); total duration \
                   '00:01:02.328'\n";
        let seconds = export_seconds(log, "t").expect("summary line");
        assert!((seconds - 62.328).abs() < 1e-9, "{seconds}");
        assert_eq!(export_seconds("no summary here", "t"), None);
    }

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
