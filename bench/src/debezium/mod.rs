//! The peer a user would pick instead: Debezium's MariaDB connector in a standalone Kafka
//! Connect worker, writing Avro through Apicurio's converter, snapshotting the same table into
//! a fresh topic. One worker per tuning serves all its runs, as a Connect cluster does: each run
//! creates a connector of its own through the worker's REST API and is timed from that request
//! until the topic holds every row, so the JVM's start is not counted against Debezium.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::StatusCode;

mod config;
mod stream;

use config::{connector_config, plugin_path, worker_properties};
pub use config::{Account, Tuning};
pub use stream::Stream;

use crate::context::Bench;
use crate::offsets::TopicWatch;
use crate::process::{ensure_running, Measured, Usage};

/// A snapshot of the full table must finish within this.
const PATIENCE: Duration = Duration::from_secs(600);
/// A worker that adds no record for this long is stuck (its log says why).
const STALL: Duration = Duration::from_secs(60);
/// A Connect worker commits its offsets and closes its tasks on SIGTERM.
const STOP_PATIENCE: Duration = Duration::from_secs(60);
/// A worker's REST API answers within this of its start (JVM start and plugin scan).
const START_PATIENCE: Duration = Duration::from_secs(180);
/// A deleted connector's task stops within this.
const DELETE_PATIENCE: Duration = Duration::from_secs(60);
/// The connector logs its export summary within this of its last record reaching Kafka.
const SUMMARY_PATIENCE: Duration = Duration::from_secs(30);
/// How Debezium did.
#[derive(Debug, Clone, Copy)]
pub struct PeerSnapshot {
    /// From the connector's creation until the topic held every row.
    pub seconds: f64,
    /// Rows per second over that time.
    pub rows_per_s: f64,
    /// The connector's own timer for reading and handing over the rows, from its log.
    pub export_seconds: Option<f64>,
    /// Average record on its topic, key and value, in bytes.
    pub record_bytes: usize,
    /// What the worker used: its CPU during the run, its peak RSS since it started.
    pub usage: Usage,
}

/// A running Connect worker set up as `tuning` says, with its REST API on a port of its own.
pub struct Worker {
    tuning: Tuning,
    process: Measured,
    rest: String,
    http: reqwest::Client,
    log: PathBuf,
    /// Export summaries in its log so far: one per finished snapshot.
    summaries: usize,
}

impl Worker {
    /// Starts a worker and waits until its REST API answers.
    pub async fn start(bench: &Bench, tuning: Tuning) -> anyhow::Result<Self> {
        require_row_binlog(bench).await?;
        let dir = bench.work.join(format!("{}-worker", tuning.key()));
        std::fs::create_dir_all(&dir)?;
        let script = bench.root.join("bench/debezium/connect-worker");
        let plugin_path = plugin_path(&script)?;
        let port = free_port()?;
        let worker = dir.join("worker.properties");
        std::fs::write(
            &worker,
            worker_properties(bench, &plugin_path, &dir, port, tuning)?,
        )?;
        let mut command = Command::new(&script);
        command.arg("run").arg(&worker);
        let log = dir.join("connect.log");
        let process = Measured::spawn("debezium", command, &log)?;
        let mut worker = Self {
            tuning,
            process,
            rest: format!("http://127.0.0.1:{port}"),
            http: sluice_registry::http::client_builder()
                .timeout(Duration::from_secs(30))
                .build()?,
            log,
            summaries: 0,
        };
        worker.wait_until_serving().await?;
        Ok(worker)
    }

    async fn wait_until_serving(&mut self) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            if let Ok(answer) = self.http.get(&self.rest).send().await {
                if answer.status().is_success() {
                    return Ok(());
                }
            }
            ensure_running(std::slice::from_mut(&mut self.process))?;
            anyhow::ensure!(
                started.elapsed() < START_PATIENCE,
                "the Connect worker's REST API did not answer within {START_PATIENCE:?}; the \
                 end of {}:\n{}",
                self.log.display(),
                self.process.log_tail(8)
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Snapshots `table` (holding `rows` rows) into a fresh topic of the pipeline's partition
    /// count with a connector of its own, tagged with `run`; checks the topic then holds exactly
    /// `rows` records, and deletes the connector.
    pub async fn snapshot(
        &mut self,
        bench: &Bench,
        account: &Account,
        table: &str,
        rows: i64,
        run: u32,
    ) -> anyhow::Result<PeerSnapshot> {
        let prefix = format!("{}{}-{run}", bench.topic_prefix(), self.tuning.key());
        let topic = format!("{prefix}.{}.{table}", bench.settings.mysql.database);
        let kafka = &bench.settings.kafka;
        sluice_common::kafka::ensure_topic(kafka, &topic, kafka.partitions, true).await?;
        let watch = TopicWatch::new(kafka, &topic)?;
        let name = format!("{prefix}-connector");
        let config = connector_config(bench, account, &prefix, table, run, self.tuning);

        let cpu_before = self.process.usage().cpu_seconds;
        let started = Instant::now();
        self.create_connector(&name, config).await?;
        let published = self.wait_until_topic_holds(&watch, &topic, rows).await?;
        let elapsed = started.elapsed();
        let export_seconds = self.next_export_summary(table).await;
        let usage = self.process.usage();
        self.delete_connector(&name).await?;
        anyhow::ensure!(
            published == rows,
            "Debezium published {published} records of {rows} rows into {topic}"
        );
        let record_bytes = crate::offsets::average_record_bytes(kafka, &topic, 1000)?;
        Ok(PeerSnapshot {
            record_bytes,
            seconds: elapsed.as_secs_f64(),
            rows_per_s: rows as f64 / elapsed.as_secs_f64(),
            export_seconds,
            usage: Usage {
                peak_rss_mb: usage.peak_rss_mb,
                cpu_seconds: usage.cpu_seconds - cpu_before,
            },
        })
    }

    /// Waits until `topic` (watched by `watch`) holds `expected` records, at most `PATIENCE`
    /// and never `STALL` without a new one; the records it then holds.
    async fn wait_until_topic_holds(
        &mut self,
        watch: &TopicWatch,
        topic: &str,
        expected: i64,
    ) -> anyhow::Result<i64> {
        let started = Instant::now();
        let (mut last_count, mut last_change) = (-1, Instant::now());
        loop {
            let published = watch.records()?;
            if published >= expected {
                return Ok(published);
            }
            if published != last_count {
                (last_count, last_change) = (published, Instant::now());
            }
            ensure_running(std::slice::from_mut(&mut self.process))?;
            anyhow::ensure!(
                started.elapsed() < PATIENCE && last_change.elapsed() < STALL,
                "Debezium published {published} of {expected} records into {topic} in {:?} and \
                 nothing new for {:?}; the end of {}:\n{}",
                started.elapsed(),
                last_change.elapsed(),
                self.log.display(),
                self.process.log_tail(8)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn create_connector(
        &self,
        name: &str,
        config: serde_json::Map<String, serde_json::Value>,
    ) -> anyhow::Result<()> {
        let body = serde_json::json!({ "name": name, "config": config });
        let answer = self
            .http
            .post(format!("{}/connectors", self.rest))
            .json(&body)
            .send()
            .await?;
        let status = answer.status();
        anyhow::ensure!(
            status.is_success(),
            "the Connect worker refused connector {name}: {status} {}",
            answer.text().await.unwrap_or_default()
        );
        Ok(())
    }

    /// Deletes the connector and waits until the worker no longer knows it (its task stopped).
    async fn delete_connector(&self, name: &str) -> anyhow::Result<()> {
        let url = format!("{}/connectors/{name}", self.rest);
        let answer = self.http.delete(&url).send().await?;
        anyhow::ensure!(
            answer.status().is_success(),
            "the Connect worker did not delete connector {name}: {}",
            answer.status()
        );
        let started = Instant::now();
        while self.http.get(&url).send().await?.status() != StatusCode::NOT_FOUND {
            anyhow::ensure!(
                started.elapsed() < DELETE_PATIENCE,
                "connector {name} still exists {DELETE_PATIENCE:?} after its deletion"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }

    /// The export time of the snapshot that just finished, from the summary it logs shortly
    /// after its last record; `None` when no new summary appears.
    async fn next_export_summary(&mut self, table: &str) -> Option<f64> {
        let started = Instant::now();
        while started.elapsed() < SUMMARY_PATIENCE {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            let summaries = export_summaries(&text, table);
            if summaries.len() > self.summaries {
                self.summaries = summaries.len();
                return summaries.last().copied();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    }

    /// Stops the worker (SIGTERM, then its clean exit).
    pub fn stop(self) -> anyhow::Result<()> {
        self.process.stop(STOP_PATIENCE)?;
        Ok(())
    }
}

/// A port nothing listens on now, for the worker's REST API.
fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
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

/// Seconds of every one of Debezium's summary lines for `table`, oldest first: `Finished
/// exporting 20000 records for table 'sluice.t' (1 of 1 tables); total duration
/// '00:00:02.328'`.
fn export_summaries(log: &str, table: &str) -> Vec<f64> {
    let table_marker = format!(".{table}'");
    log.lines()
        .filter(|l| l.contains("Finished exporting") && l.contains(&table_marker))
        .filter_map(summary_seconds)
        .collect()
}

fn summary_seconds(line: &str) -> Option<f64> {
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
        let seconds = export_summaries(log, "t");
        assert_eq!(seconds.len(), 1, "{seconds:?}");
        assert!((seconds[0] - 62.328).abs() < 1e-9, "{seconds:?}");
        assert!(export_summaries("no summary here", "t").is_empty());
    }
}
