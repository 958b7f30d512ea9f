//! Debezium streaming the binary log, as the binlog source does: a connector created with
//! `snapshot.mode = no_data` starts at the log's current position; stopped (Kafka Connect's
//! `STOPPED` state: its task gone, its offsets committed) while a backlog piles up, and resumed
//! to catch it up, timed from the resume until its topic holds every change.

use std::time::{Duration, Instant};

use sluice_common::mysql::quote_identifier;

use crate::context::Bench;
use crate::offsets::TopicWatch;
use crate::process::{ensure_running, Usage};

use super::config::{connector_config, Account};
use super::Worker;

/// The replication id of the streaming connector, apart from the snapshot runs' ids.
const STREAM_SERVER_ID: u32 = 5_500;
/// A connector reaches the state asked for within this.
const STATE_PATIENCE: Duration = Duration::from_secs(120);

/// A connector following one table's changes into a topic of its own.
pub struct Stream {
    name: String,
    /// What its topics' names start with (its records' and its schema history's).
    prefix: String,
    topic: String,
    watch: TopicWatch,
}

/// How one catch-up went.
#[derive(Debug, Clone, Copy)]
pub struct CatchUp {
    /// From the resume until the topic held every change.
    pub seconds: f64,
    /// What the worker used meanwhile: its CPU, its peak RSS since its start.
    pub usage: Usage,
}

impl Stream {
    /// Records on its topic.
    pub fn records(&self) -> anyhow::Result<i64> {
        self.watch.records()
    }

    /// What its topics' names start with.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The watch over its records' topic.
    pub fn watch(&self) -> &TopicWatch {
        &self.watch
    }
}

impl Worker {
    /// Creates a connector (named after `tag`) streaming `table` from the binary log's current
    /// position into a topic created with `topic_configs`, makes sure it holds a position (a
    /// change of the table's row 1, made again until the connector publishes one: whatever
    /// snapshots the table afterwards reads it as a row), and stops it.
    pub async fn stream(
        &mut self,
        bench: &Bench,
        (account, tag): (&Account, &str),
        (table, topic_configs): (&str, &[(&str, &str)]),
    ) -> anyhow::Result<Stream> {
        let prefix = format!("{}{}-{tag}", bench.topic_prefix(), self.tuning.key());
        let topic = format!("{prefix}.{}.{table}", bench.settings.mysql.database);
        let kafka = &bench.settings.kafka;
        sluice_common::kafka::ensure_topic_with(
            kafka,
            &topic,
            kafka.partitions,
            true,
            topic_configs,
        )
        .await?;
        let watch = TopicWatch::new(kafka, &topic)?;
        let name = format!("{prefix}-connector");
        let mut config = connector_config(bench, account, &prefix, table, 0, self.tuning);
        for (key, value) in [
            ("snapshot.mode", "no_data".to_owned()),
            ("database.server.id", STREAM_SERVER_ID.to_string()),
        ] {
            config.insert(key.to_owned(), value.into());
        }
        self.create_connector(&name, config).await?;
        self.wait_for_state(&name, "RUNNING").await?;
        let stream = Stream {
            name,
            prefix,
            topic,
            watch,
        };
        // Streaming once a change of its table reaches its topic: its position is then saved
        // with its offsets, which the stop commits. The task runs before the connector has
        // read the server's position, so a change made meanwhile is not its to publish: the
        // mark is made again until one arrives.
        let started = Instant::now();
        while stream.watch.records()? == 0 {
            anyhow::ensure!(
                started.elapsed() < STATE_PATIENCE,
                "connector {} published none of the changes of {table} made in {STATE_PATIENCE:?}; \
                 the end of {}:\n{}",
                stream.name,
                self.log.display(),
                self.process.log_tail(8)
            );
            ensure_running(std::slice::from_mut(&mut self.process))?;
            sqlx::query(&format!(
                "UPDATE {} SET last_updated = NOW(6) WHERE id = 1",
                quote_identifier(table)
            ))
            .execute(&bench.pool)
            .await?;
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        self.stop_stream(&stream).await?;
        Ok(stream)
    }

    /// Stops the connector (its task ends, its offsets are committed).
    pub async fn stop_stream(&self, stream: &Stream) -> anyhow::Result<()> {
        self.put(&stream.name, "stop").await?;
        self.wait_for_state(&stream.name, "STOPPED").await
    }

    /// Resumes the stopped connector.
    pub async fn resume_stream(&self, stream: &Stream) -> anyhow::Result<()> {
        self.put(&stream.name, "resume").await?;
        self.wait_for_state(&stream.name, "RUNNING").await
    }

    /// Resumes the stopped connector and times it until its topic holds `expected` records;
    /// stops it again.
    pub async fn catch_up(&mut self, stream: &Stream, expected: i64) -> anyhow::Result<CatchUp> {
        let cpu_before = self.process.usage().cpu_seconds;
        let started = Instant::now();
        self.put(&stream.name, "resume").await?;
        self.wait_for_records(stream, expected).await?;
        let seconds = started.elapsed().as_secs_f64();
        let usage = self.process.usage();
        self.stop_stream(stream).await?;
        Ok(CatchUp {
            seconds,
            usage: Usage {
                peak_rss_mb: usage.peak_rss_mb,
                cpu_seconds: usage.cpu_seconds - cpu_before,
            },
        })
    }

    /// Deletes the connector.
    pub async fn drop_stream(&self, stream: Stream) -> anyhow::Result<()> {
        self.delete_connector(&stream.name).await
    }

    /// Waits until the stream's topic holds `expected` records.
    pub async fn wait_for_records(&mut self, stream: &Stream, expected: i64) -> anyhow::Result<()> {
        self.wait_until_topic_holds(&stream.watch, &stream.topic, expected)
            .await
            .map(|_| ())
    }

    async fn put(&self, name: &str, action: &str) -> anyhow::Result<()> {
        let answer = self
            .http
            .put(format!("{}/connectors/{name}/{action}", self.rest))
            .send()
            .await?;
        let status = answer.status();
        anyhow::ensure!(
            status.is_success(),
            "the Connect worker refused to {action} connector {name}: {status} {}",
            answer.text().await.unwrap_or_default()
        );
        Ok(())
    }

    /// Waits until the connector, and its task when it has one, are in `state`.
    async fn wait_for_state(&self, name: &str, state: &str) -> anyhow::Result<()> {
        let url = format!("{}/connectors/{name}/status", self.rest);
        let started = Instant::now();
        loop {
            let status: serde_json::Value = self.http.get(&url).send().await?.json().await?;
            let tasks = status["tasks"].as_array().cloned().unwrap_or_default();
            let reached = status["connector"]["state"] == state
                && match state {
                    "STOPPED" => tasks.is_empty(),
                    _ => !tasks.is_empty() && tasks.iter().all(|t| t["state"] == state),
                };
            if reached {
                return Ok(());
            }
            anyhow::ensure!(
                !tasks.iter().any(|t| t["state"] == "FAILED"),
                "connector {name} failed: {status:#}"
            );
            anyhow::ensure!(
                started.elapsed() < STATE_PATIENCE,
                "connector {name} not {state} after {STATE_PATIENCE:?}: {status:#}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
