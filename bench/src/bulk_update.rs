//! The incremental path after a bulk change: every row of the table changes, and the producer,
//! past its first snapshot, publishes them all from its watermark. Beside it, the bare read of
//! the same pages (the producer's own page reader, nothing sent). Two shapes: one `UPDATE`
//! whose rows all share its timestamp (a catalogue repriced), and many small transactions, each
//! a timestamp of its own, over rows in random key order (the pages walk the timestamp index
//! and look each row up elsewhere in the table). Each run changes every row afresh, once, and
//! the producer publishes those changes twice: started at the last commit, and again from the
//! same watermark once MariaDB is quiet. Every run is kept.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use sluice_common::mysql::quote_identifier;
use sluice_common::settings::IsolatedRun;
use sluice_producer::watermark::WatermarkStore;

use rand::seq::SliceRandom as _;
use sqlx::MySqlPool;

use crate::cli::Cli;
use crate::context::Bench;
use crate::report::Results;
use crate::samples::Samples;
use crate::{load, machine, purge, snapshot};

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
pub const TRANSACTION_ROWS: usize = 100;

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

    /// Changes every one of the table's `rows` rows (ids `1..=rows`); fails when the database
    /// changed another number of rows.
    pub async fn change_every_row(
        self,
        pool: &MySqlPool,
        table: &str,
        rows: i64,
    ) -> anyhow::Result<()> {
        let table = quote_identifier(table);
        let changed = match self {
            Shape::OneTimestamp => sqlx::query(&format!("UPDATE {table} SET price = price * 1.01"))
                .execute(pool)
                .await?
                .rows_affected(),
            Shape::SmallTransactions => in_small_transactions(pool, &table, rows).await?,
        };
        anyhow::ensure!(
            changed == rows as u64,
            "the bulk update changed {changed} of {rows} rows of {table}"
        );
        Ok(())
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
    // The lower of each run's two ceilings: its own bare read, and the keyed producer.
    let keyed = results.get("ceiling.producer_keyed_rows_per_s");
    for shape in [Shape::OneTimestamp, Shape::SmallTransactions] {
        let mut samples = Samples::default();
        let mut runs = ShapeRuns {
            shape,
            samples: &mut samples,
        };
        for run in 1..=cli.runs {
            tracing::info!(
                "{} {run} of {}: every one of {rows} rows",
                shape.label(),
                cli.runs
            );
            runs.measure(bench, table, names, rows, keyed, &mut published)
                .await?;
        }
        samples.record(results);
        let (prefix, what) = (shape.key(), shape.label());
        for (ratio, seconds, label) in [
            (
                "ratio_to_snapshot",
                "seconds",
                "time ÷ first snapshot time (medians)",
            ),
            (
                "from_commit_ratio_to_snapshot",
                "from_commit_seconds",
                "started at the last commit, time ÷ first snapshot time (medians)",
            ),
        ] {
            results.ratio(
                &format!("{prefix}.{ratio}"),
                &format!("{what}: {label}"),
                &format!("{prefix}.{seconds}"),
                "producer.seconds",
            );
        }
    }
    Ok(())
}

/// The runs of one shape, each adding its figures to the shape's samples.
struct ShapeRuns<'a> {
    shape: Shape,
    samples: &'a mut Samples,
}

impl ShapeRuns<'_> {
    fn push(&mut self, name: &str, label: &str, unit: &str, value: f64) {
        let (prefix, what) = (self.shape.key(), self.shape.label());
        self.samples.push(
            &format!("{prefix}.{name}"),
            &format!("{what}: {label}"),
            unit,
            value,
        );
    }

    /// One run: every row changed once and published twice. First the producer starts at the
    /// last commit, beside MariaDB's purge of the old versions (what a user sees); then, once
    /// MariaDB is quiet, the watermark is put back to where it was before the change and the
    /// same changes are read bare and published again (the pipeline's own path, beside its
    /// ceilings). `published` counts the records in the topic.
    async fn measure(
        &mut self,
        bench: &Bench,
        table: &str,
        names: &IsolatedRun,
        rows: i64,
        keyed: Option<f64>,
        published: &mut i64,
    ) -> anyhow::Result<()> {
        let store = WatermarkStore::new(names.dir.join("watermark.json"));
        let state_dir = machine::state_dir(&bench.root);
        let from = store
            .load()?
            .context("the producer's snapshot left no watermark")?;
        let history = purge::history_length(&bench.pool).await?;
        let started = Instant::now();
        self.shape
            .change_every_row(&bench.pool, table, rows)
            .await?;
        self.push(
            "statement_seconds",
            "the updates themselves, until the last commit (MariaDB)",
            "s",
            started.elapsed().as_secs_f64(),
        );
        let produced = snapshot::producer_adds(bench, names, *published, rows)?;
        *published += rows;
        self.push(
            "from_commit_seconds",
            "producer started at the last commit, beside MariaDB's purge",
            "s",
            produced.seconds,
        );

        machine::flush_writes();
        // MariaDB purges the old versions of every changed row in the background: seconds of
        // CPU on a machine of two cores. The pipeline's own path is timed again once that is
        // done, from the watermark it had before the change.
        let settled = purge::settled(&bench.pool, &state_dir, history, SETTLE_PATIENCE).await?;
        self.push(
            "settle_seconds",
            "once the producer caught up, until MariaDB's purge of old versions was done (history list back, then quiet)",
            "s",
            settled.seconds,
        );
        self.push(
            "settle_cpu_seconds",
            "MariaDB's CPU meanwhile, with nothing reading",
            "s",
            settled.cpu_seconds,
        );
        store.save(&from)?;

        let (read, seconds) = snapshot::read_from(bench, table, Some(from)).await?;
        anyhow::ensure!(
            read == rows as u64,
            "the bare read of the bulk update read {read} of {rows} rows"
        );
        let read_rate = read as f64 / seconds;
        self.push(
            "read_rows_per_s",
            "bare read of its pages in timestamp order, nothing sent",
            "rows/s",
            read_rate,
        );

        let window = machine::CpuWindow::start(&state_dir);
        let produced = snapshot::producer_adds(bench, names, *published, rows)?;
        let share = window.finish();
        *published += rows;
        self.push(
            "seconds",
            "producer start to last acknowledgement, started once MariaDB was quiet",
            "s",
            produced.seconds,
        );
        self.push(
            "rows_per_s",
            "producer throughput",
            "rows/s",
            produced.rows_per_s,
        );
        self.push(
            "rss_mb",
            "producer peak RSS",
            "MiB",
            produced.usage.peak_rss_mb,
        );
        self.push(
            "cpu_seconds_per_million",
            "producer CPU per million rows",
            "s",
            produced.usage.cpu_seconds * 1e6 / rows as f64,
        );
        if let Some(seconds) = share.machine_cpu_seconds() {
            self.push(
                "machine_cpu_seconds_per_million",
                "the whole machine's CPU per million rows while the producer ran",
                "s",
                seconds * 1e6 / rows as f64,
            );
        }
        if let Some(busy) = share.busy {
            self.push(
                "busy_percent",
                "machine busy while the producer ran",
                "%",
                busy * 100.0,
            );
        }
        for (server, seconds) in share.servers {
            let (name, label) = match server {
                "mariadb" => ("mariadb_cpu_seconds", "MariaDB CPU while the producer ran"),
                "kafka" => ("kafka_cpu_seconds", "Kafka CPU while the producer ran"),
                _ => continue,
            };
            self.push(name, label, "s", seconds);
        }
        if let Some(keyed) = keyed {
            self.push(
                "ratio_to_ceiling",
                "producer ÷ the lower of its bare read and the keyed producer",
                "×",
                produced.rows_per_s / read_rate.min(keyed),
            );
        }
        self.push(
            "ratio_to_read",
            "producer ÷ bare read, each run against its own",
            "×",
            produced.rows_per_s / read_rate,
        );

        Ok(())
    }
}
