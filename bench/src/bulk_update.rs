//! The incremental path after a bulk change: one `UPDATE` changes every row of the table, so
//! every row shares the statement's timestamp, and the producer, past its first snapshot,
//! publishes them all from its watermark. Beside it, the bare read of the same pages (the
//! producer's own page reader, nothing sent). Each run is a fresh statement; every run is kept.

use std::time::Instant;

use anyhow::Context as _;
use sluice_common::settings::IsolatedRun;
use sluice_common::watermark::WatermarkStore;
use sluice_producer::source::keyset::quote_identifier;

use crate::context::Bench;
use crate::report::Results;
use crate::{machine, snapshot, Cli};

/// The figures of every run, in order.
#[derive(Debug, Default)]
struct Runs {
    statement_seconds: Vec<f64>,
    read_rows_per_s: Vec<f64>,
    producer_seconds: Vec<f64>,
    producer_rows_per_s: Vec<f64>,
    producer_rss_mb: Vec<f64>,
    producer_cpu_seconds: Vec<f64>,
}

/// `cli.runs` bulk updates of `table`, whose `rows` rows the producer of `names` has already
/// published once (its snapshot) into `names.topic`.
pub async fn run(
    bench: &Bench,
    cli: &Cli,
    table: &str,
    names: &IsolatedRun,
    rows: i64,
    results: &mut Results,
) -> anyhow::Result<()> {
    let store = WatermarkStore::new(names.dir.join("watermark.json"));
    let update = format!(
        "UPDATE {} SET price = price * 1.01",
        quote_identifier(table)
    );
    let mut runs = Runs::default();
    for run in 1..=cli.runs {
        tracing::info!(
            "bulk update {run} of {}: one statement over {rows} rows",
            cli.runs
        );
        let started = Instant::now();
        let changed = sqlx::query(&update)
            .execute(&bench.pool)
            .await?
            .rows_affected();
        runs.statement_seconds.push(started.elapsed().as_secs_f64());
        anyhow::ensure!(
            changed == rows as u64,
            "the bulk update changed {changed} of {rows} rows"
        );
        machine::flush_writes();

        let from = store
            .load()?
            .context("the producer's snapshot left no watermark")?;
        let (read, seconds) = snapshot::read_from(bench, table, Some(from)).await?;
        anyhow::ensure!(
            read == rows as u64,
            "the bare read of the bulk update read {read} of {rows} rows"
        );
        runs.read_rows_per_s.push(read as f64 / seconds);

        let already = rows * i64::from(run);
        let produced = snapshot::producer_adds(bench, names, already, rows)?;
        runs.producer_seconds.push(produced.seconds);
        runs.producer_rows_per_s.push(produced.rows_per_s);
        runs.producer_rss_mb.push(produced.usage.peak_rss_mb);
        runs.producer_cpu_seconds
            .push(produced.usage.cpu_seconds * 1e6 / rows as f64);
    }
    record(results, &runs);
    Ok(())
}

fn record(results: &mut Results, runs: &Runs) {
    results.set_runs(
        "bulk_update.statement_seconds",
        "bulk update: the UPDATE statement itself (MariaDB)",
        "s",
        &runs.statement_seconds,
    );
    results.set_runs(
        "bulk_update.read_rows_per_s",
        "bulk update: bare read of its pages in timestamp order, nothing sent",
        "rows/s",
        &runs.read_rows_per_s,
    );
    results.set_runs(
        "bulk_update.seconds",
        "bulk update: producer start to last acknowledgement",
        "s",
        &runs.producer_seconds,
    );
    results.set_runs(
        "bulk_update.rows_per_s",
        "bulk update: producer throughput",
        "rows/s",
        &runs.producer_rows_per_s,
    );
    results.set_runs(
        "bulk_update.rss_mb",
        "bulk update: producer peak RSS",
        "MiB",
        &runs.producer_rss_mb,
    );
    results.set_runs(
        "bulk_update.cpu_seconds_per_million",
        "bulk update: producer CPU per million rows",
        "s",
        &runs.producer_cpu_seconds,
    );
    let ratios: Vec<f64> = runs
        .producer_rows_per_s
        .iter()
        .zip(&runs.read_rows_per_s)
        .map(|(producer, read)| producer / read)
        .collect();
    results.set_runs(
        "bulk_update.ratio_to_read",
        "bulk update: producer ÷ bare read, each run against its own",
        "×",
        &ratios,
    );
    results.ratio(
        "bulk_update.ratio_to_snapshot",
        "bulk update time ÷ first snapshot time (medians)",
        "bulk_update.seconds",
        "producer.seconds",
    );
}
