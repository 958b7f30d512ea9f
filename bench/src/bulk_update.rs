//! The incremental path after a bulk change: every row of the table changes, and the producer,
//! past its first snapshot, publishes them all from its watermark. Beside it, the bare read of
//! the same pages (the producer's own page reader, nothing sent). Two shapes: one `UPDATE`
//! whose rows all share its timestamp (a catalogue repriced), and many small transactions, each
//! a timestamp of its own, over rows in random key order (the pages walk the timestamp index
//! and look each row up elsewhere in the table). Each run changes every row afresh; every run is
//! kept.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use sluice_common::settings::IsolatedRun;
use sluice_common::watermark::WatermarkStore;
use sluice_producer::source::keyset::quote_identifier;

use rand::seq::SliceRandom as _;
use sqlx::MySqlPool;

use crate::context::Bench;
use crate::report::Results;
use crate::{load, machine, snapshot, Cli};

/// How the statement stamps the rows it changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One statement: every row gets its timestamp.
    OneTimestamp,
    /// Transactions of `TRANSACTION_ROWS` rows picked in random key order, committed on a few
    /// connections side by side: each transaction's rows get its timestamp.
    SmallTransactions,
}

/// How long MariaDB may stay busy after the changes before the run goes on regardless.
const SETTLE_PATIENCE: Duration = Duration::from_secs(120);

/// Rows each transaction of the small-transactions shape changes.
const TRANSACTION_ROWS: usize = 100;

impl Shape {
    /// The figures' key prefix.
    fn key(self) -> &'static str {
        match self {
            Shape::OneTimestamp => "bulk_update",
            Shape::SmallTransactions => "spread_update",
        }
    }

    /// What the figures' labels call it.
    fn label(self) -> &'static str {
        match self {
            Shape::OneTimestamp => "bulk update, one timestamp",
            Shape::SmallTransactions => "bulk update, transactions of 100 rows",
        }
    }

    /// Changes every one of the table's `rows` rows (ids `1..=rows`); returns the rows changed.
    async fn change_every_row(
        self,
        pool: &MySqlPool,
        table: &str,
        rows: i64,
    ) -> anyhow::Result<u64> {
        let table = quote_identifier(table);
        match self {
            Shape::OneTimestamp => Ok(sqlx::query(&format!(
                "UPDATE {table} SET price = price * 1.01"
            ))
            .execute(pool)
            .await?
            .rows_affected()),
            Shape::SmallTransactions => in_small_transactions(pool, &table, rows).await,
        }
    }
}

/// Changes rows `1..=rows` of `table` (quoted) in transactions of `TRANSACTION_ROWS` rows
/// picked in random order, one connection per core side by side.
async fn in_small_transactions(pool: &MySqlPool, table: &str, rows: i64) -> anyhow::Result<u64> {
    let mut ids: Vec<i64> = (1..=rows).collect();
    ids.shuffle(&mut rand::rng());
    let connections = load::connections_for(0) as usize;
    let mut shares: Vec<Vec<Vec<i64>>> = vec![Vec::new(); connections];
    for (n, chunk) in ids.chunks(TRANSACTION_ROWS).enumerate() {
        shares[n % connections].push(chunk.to_vec());
    }
    let mut tasks = Vec::new();
    for share in shares {
        let (pool, table) = (pool.clone(), table.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut changed = 0;
            for chunk in share {
                let list = chunk
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(",");
                changed += sqlx::query(&format!(
                    "UPDATE {table} SET price = price * 1.01 WHERE id IN ({list})"
                ))
                .execute(&pool)
                .await?
                .rows_affected();
            }
            anyhow::Ok(changed)
        }));
    }
    let mut changed = 0;
    for task in tasks {
        changed += task.await??;
    }
    Ok(changed)
}

/// The figures of every run, in order.
#[derive(Debug, Default)]
struct Runs {
    statement_seconds: Vec<f64>,
    /// From the last commit until MariaDB was quiet again, and its CPU meanwhile.
    settle_seconds: Vec<f64>,
    settle_cpu_seconds: Vec<f64>,
    read_rows_per_s: Vec<f64>,
    /// The producer started at the last commit, beside MariaDB's purge.
    from_commit_seconds: Vec<f64>,
    producer_seconds: Vec<f64>,
    producer_rows_per_s: Vec<f64>,
    producer_rss_mb: Vec<f64>,
    producer_cpu_seconds: Vec<f64>,
    /// While the producer ran: the machine's busy share, and MariaDB's and Kafka's CPU.
    busy_percent: Vec<f64>,
    mariadb_cpu_seconds: Vec<f64>,
    kafka_cpu_seconds: Vec<f64>,
}

/// `cli.runs` bulk updates of `table` of each shape, in turn; the producer of `names` has
/// already published its `rows` rows once (its snapshot) into `names.topic`.
pub async fn run(
    bench: &Bench,
    cli: &Cli,
    table: &str,
    names: &IsolatedRun,
    rows: i64,
    results: &mut Results,
) -> anyhow::Result<()> {
    let mut published = rows;
    for shape in [Shape::OneTimestamp, Shape::SmallTransactions] {
        let runs = runs_of(bench, cli, shape, table, names, rows, &mut published).await?;
        record(results, shape, &runs);
    }
    Ok(())
}

/// The runs of one shape; `published` counts the records in the topic.
async fn runs_of(
    bench: &Bench,
    cli: &Cli,
    shape: Shape,
    table: &str,
    names: &IsolatedRun,
    rows: i64,
    published: &mut i64,
) -> anyhow::Result<Runs> {
    let store = WatermarkStore::new(names.dir.join("watermark.json"));
    let state_dir = machine::state_dir(&bench.root);
    let mut runs = Runs::default();
    for run in 1..=cli.runs {
        let what = shape.label();
        tracing::info!("{what} {run} of {}: every one of {rows} rows", cli.runs);
        let started = Instant::now();
        let changed = shape.change_every_row(&bench.pool, table, rows).await?;
        runs.statement_seconds.push(started.elapsed().as_secs_f64());
        anyhow::ensure!(
            changed == rows as u64,
            "the bulk update changed {changed} of {rows} rows"
        );
        machine::flush_writes();
        // MariaDB purges the old versions of every changed row in the background: seconds of
        // CPU on a machine of two cores. The pipeline's own path is timed once that is done.
        let settled = machine::database_settled(&state_dir, SETTLE_PATIENCE)
            .await
            .context("MariaDB's CPU time cannot be read from the stack's pid file")?;
        runs.settle_seconds.push(settled.seconds);
        runs.settle_cpu_seconds.push(settled.cpu_seconds);

        let from = store
            .load()?
            .context("the producer's snapshot left no watermark")?;
        let (read, seconds) = snapshot::read_from(bench, table, Some(from)).await?;
        anyhow::ensure!(
            read == rows as u64,
            "the bare read of the bulk update read {read} of {rows} rows"
        );
        runs.read_rows_per_s.push(read as f64 / seconds);

        let window = machine::CpuWindow::start(&state_dir);
        let produced = snapshot::producer_adds(bench, names, *published, rows)?;
        let share = window.finish();
        if let Some(busy) = share.busy {
            runs.busy_percent.push(busy * 100.0);
        }
        for (server, seconds) in share.servers {
            match server {
                "mariadb" => runs.mariadb_cpu_seconds.push(seconds),
                "kafka" => runs.kafka_cpu_seconds.push(seconds),
                _ => {}
            }
        }
        *published += rows;
        runs.producer_seconds.push(produced.seconds);
        runs.producer_rows_per_s.push(produced.rows_per_s);
        runs.producer_rss_mb.push(produced.usage.peak_rss_mb);
        runs.producer_cpu_seconds
            .push(produced.usage.cpu_seconds * 1e6 / rows as f64);

        // What a user sees: every row changed again and the producer started at the last
        // commit, beside MariaDB's purge.
        let changed = shape.change_every_row(&bench.pool, table, rows).await?;
        anyhow::ensure!(
            changed == rows as u64,
            "the bulk update changed {changed} of {rows} rows"
        );
        let produced = snapshot::producer_adds(bench, names, *published, rows)?;
        *published += rows;
        runs.from_commit_seconds.push(produced.seconds);
        machine::database_settled(&state_dir, SETTLE_PATIENCE).await;
    }
    Ok(runs)
}

fn record(results: &mut Results, shape: Shape, runs: &Runs) {
    let (prefix, what) = (shape.key(), shape.label());
    let key = |name: &str| format!("{prefix}.{name}");
    results.set_runs(
        &key("statement_seconds"),
        &format!("{what}: the updates themselves, until the last commit (MariaDB)"),
        "s",
        &runs.statement_seconds,
    );
    results.set_runs(
        &key("settle_seconds"),
        &format!("{what}: last commit until MariaDB is quiet again (its purge of old versions)"),
        "s",
        &runs.settle_seconds,
    );
    results.set_runs(
        &key("settle_cpu_seconds"),
        &format!("{what}: MariaDB's CPU meanwhile, with nothing reading"),
        "s",
        &runs.settle_cpu_seconds,
    );
    results.set_runs(
        &key("read_rows_per_s"),
        &format!("{what}: bare read of its pages in timestamp order, nothing sent"),
        "rows/s",
        &runs.read_rows_per_s,
    );
    results.set_runs(
        &key("seconds"),
        &format!("{what}: producer start to last acknowledgement, started once MariaDB was quiet"),
        "s",
        &runs.producer_seconds,
    );
    results.set_runs(
        &key("rows_per_s"),
        &format!("{what}: producer throughput"),
        "rows/s",
        &runs.producer_rows_per_s,
    );
    results.set_runs(
        &key("rss_mb"),
        &format!("{what}: producer peak RSS"),
        "MiB",
        &runs.producer_rss_mb,
    );
    results.set_runs(
        &key("cpu_seconds_per_million"),
        &format!("{what}: producer CPU per million rows"),
        "s",
        &runs.producer_cpu_seconds,
    );
    for (name, label, unit, values) in [
        (
            "busy_percent",
            "machine busy while the producer ran",
            "%",
            &runs.busy_percent,
        ),
        (
            "mariadb_cpu_seconds",
            "MariaDB CPU while the producer ran",
            "s",
            &runs.mariadb_cpu_seconds,
        ),
        (
            "kafka_cpu_seconds",
            "Kafka CPU while the producer ran",
            "s",
            &runs.kafka_cpu_seconds,
        ),
    ] {
        results.set_runs(&key(name), &format!("{what}: {label}"), unit, values);
    }
    let ratios: Vec<f64> = runs
        .producer_rows_per_s
        .iter()
        .zip(&runs.read_rows_per_s)
        .map(|(producer, read)| producer / read)
        .collect();
    // The lower of its two ceilings: its own bare read, and the keyed producer.
    let keyed = results.get("ceiling.producer_keyed_rows_per_s");
    let to_ceiling: Vec<f64> = runs
        .producer_rows_per_s
        .iter()
        .zip(&runs.read_rows_per_s)
        .filter_map(|(producer, read)| keyed.map(|keyed| producer / read.min(keyed)))
        .collect();
    results.set_runs(
        &key("ratio_to_ceiling"),
        &format!("{what}: producer ÷ the lower of its bare read and the keyed producer"),
        "×",
        &to_ceiling,
    );
    results.set_runs(
        &key("ratio_to_read"),
        &format!("{what}: producer ÷ bare read, each run against its own"),
        "×",
        &ratios,
    );
    results.ratio(
        &key("ratio_to_snapshot"),
        &format!("{what}: time ÷ first snapshot time (medians)"),
        &key("seconds"),
        "producer.seconds",
    );
    results.set_runs(
        &key("from_commit_seconds"),
        &format!("{what}: producer started at the last commit, beside MariaDB's purge"),
        "s",
        &runs.from_commit_seconds,
    );
    results.ratio(
        &key("from_commit_ratio_to_snapshot"),
        &format!("{what}: started at the last commit, time ÷ first snapshot time (medians)"),
        &key("from_commit_seconds"),
        "producer.seconds",
    );
}
