//! Debezium beside the binlog source in the backlog phase: its MariaDB connector (tuned for
//! throughput) streams the same table from the binary log, stopped while each backlog piles up
//! and resumed in its turn among the pipelines, so each run pairs it with sluice on the same
//! changes. Its time runs from the resume until its topic holds every change: Kafka only, where
//! sluice's runs until the last line is in the files.

use crate::cli::Cli;
use crate::context::Bench;
use crate::debezium::{Account, Stream, Tuning, Worker};
use crate::samples::Samples;

/// Debezium's connector streaming the backlog table.
pub struct PeerStream {
    worker: Worker,
    stream: Stream,
}

impl PeerStream {
    /// Starts a worker and a connector streaming `table` from the binary log's position now.
    pub async fn start(bench: &Bench, cli: &Cli, table: &str) -> anyhow::Result<Self> {
        let account = Account::of(cli);
        tracing::info!("backlog: starting Debezium's connector streaming {table} (not timed)");
        let mut worker = Worker::start(bench, Tuning::Tuned).await?;
        let stream = worker
            .stream(bench, (&account, "backlog"), (table, &[]))
            .await?;
        Ok(Self { worker, stream })
    }

    /// Resumes the connector until its topic holds the `rows` changes of the last backlog;
    /// pushes the run's figures under `prefix` and returns its rate.
    pub async fn catch_up(
        &mut self,
        rows: i64,
        prefix: &str,
        samples: &mut Samples,
    ) -> anyhow::Result<f64> {
        let before = self.stream.records()?;
        tracing::info!("backlog: Debezium (tuned) catch-up of {rows} changes");
        let run = self.worker.catch_up(&self.stream, before + rows).await?;
        let rate = rows as f64 / run.seconds;
        let mut push = |name: &str, label: &str, unit: &str, value: f64| {
            samples.push(
                &format!("{prefix}.debezium.{name}"),
                &format!("backlog catch-up, Debezium (tuned): {label}"),
                unit,
                value,
            );
        };
        push(
            "seconds",
            "connector resumed until its topic held every change",
            "s",
            run.seconds,
        );
        push("changes_per_s", "changes per second", "changes/s", rate);
        push(
            "cpu_seconds_per_million",
            "Connect worker CPU per million changes",
            "s",
            run.usage.cpu_seconds * 1e6 / rows as f64,
        );
        push(
            "rss_mb",
            "peak RSS of the Connect worker since its start",
            "MiB",
            run.usage.peak_rss_mb,
        );
        Ok(rate)
    }

    /// Deletes the connector and its topics, and stops the worker.
    pub async fn stop(self, bench: &Bench) -> anyhow::Result<()> {
        let prefix = self.stream.prefix().to_owned();
        self.worker.drop_stream(self.stream).await?;
        self.worker.stop()?;
        sluice_common::kafka::delete_topics_starting_with(&bench.settings.kafka, &prefix).await?;
        Ok(())
    }
}
