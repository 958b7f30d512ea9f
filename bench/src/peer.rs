//! The peer phase: Debezium snapshots the same full-size table the producer did, at its
//! defaults and tuned, each `--runs` times in one running Connect worker per tuning. Each of
//! its runs is paired with a snapshot of the same table by sluice's producer just before it, so
//! each ratio (rate, and CPU per row) is taken within a pair, minutes apart at most.

use crate::cli::{Cli, TABLE};
use crate::context::Bench;
use crate::debezium::{Account, Tuning, Worker};
use crate::report::Results;
use crate::samples::Samples;
use crate::snapshot;

/// Runs the Debezium snapshots over the full table and records them beside the producer's.
pub async fn run(bench: &Bench, cli: &Cli, results: &mut Results) -> anyhow::Result<()> {
    let account = Account::of(cli);
    let mut samples = Samples::default();
    for tuning in [Tuning::Defaults, Tuning::Tuned] {
        let (key, what) = (tuning.key(), tuning.label());
        tracing::info!("peer: starting a Kafka Connect worker for {what}");
        let mut worker = Worker::start(bench, tuning).await?;
        for run in 1..=cli.runs {
            tracing::info!(
                "peer: {what} snapshots the same {} rows, run {run} of {}",
                cli.rows,
                cli.runs
            );
            let names = bench.run_names(TABLE, &format!("peer-pair-{key}-{run}"));
            let sluice = snapshot::producer(bench, &names, cli.rows)?;
            bench.drop_run_topics(&names).await?;
            let peer = worker
                .snapshot(bench, &account, TABLE, cli.rows, run)
                .await?;
            let per_row_us = |cpu_seconds: f64| cpu_seconds * 1e6 / cli.rows as f64;
            let mut push = |name: &str, label: &str, unit: &str, value: f64| {
                samples.push(
                    &format!("peer.{key}_{name}"),
                    &format!("{what}: {label}"),
                    unit,
                    value,
                );
            };
            push(
                "seconds",
                "connector created (worker running) to last record in Kafka",
                "s",
                peer.seconds,
            );
            push(
                "rows_per_s",
                "snapshot throughput",
                "rows/s",
                peer.rows_per_s,
            );
            push(
                "record_bytes",
                "average record, key + value (headers not counted)",
                "bytes",
                peer.record_bytes as f64,
            );
            push(
                "rss_mb",
                "peak RSS of the Connect worker since its start",
                "MiB",
                peer.usage.peak_rss_mb,
            );
            push(
                "cpu_seconds",
                "CPU time of the Connect worker during the run",
                "s",
                peer.usage.cpu_seconds,
            );
            if let Some(export) = peer.export_seconds {
                push(
                    "export_rows_per_s",
                    "rows/s by its own export timer",
                    "rows/s",
                    cli.rows as f64 / export,
                );
            } else {
                tracing::warn!(
                    "{what}: its log has no export summary; its own timer is not reported"
                );
            }
            push(
                "cpu_us_per_row",
                "CPU of the Connect worker per row",
                "µs",
                per_row_us(peer.usage.cpu_seconds),
            );
            push(
                "paired_sluice_cpu_us_per_row",
                "the paired sluice snapshot's producer CPU per row",
                "µs",
                per_row_us(sluice.usage.cpu_seconds),
            );
            samples.push_ratio(
                &format!("peer.{key}_ratio"),
                &format!(
                    "sluice's snapshot (from process start) ÷ {what} (from connector creation in \
                     a running worker), rows/s, paired runs"
                ),
                sluice.rows_per_s,
                peer.rows_per_s,
            );
            samples.push_ratio(
                &format!("peer.{key}_cpu_ratio"),
                &format!("{what}'s CPU per row ÷ sluice's producer's, paired runs"),
                peer.usage.cpu_seconds,
                sluice.usage.cpu_seconds,
            );
        }
        worker.stop()?;
    }
    samples.record(results);
    Ok(())
}
