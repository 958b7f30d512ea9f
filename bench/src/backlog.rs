//! Backlog catch-up: how fast a stopped pipeline catches up the changes that piled up while it
//! was down (a maintenance window, an outage). Two pipelines over one table, one at least once
//! and one exactly once, each first brought up to date (not timed). Each run then changes every
//! row of the table once, each row its own timestamp, in transactions of `TRANSACTION_ROWS`
//! rows over rows in random key order, all committed before anything reads; waits until
//! MariaDB has purged the old versions; and starts each pipeline in turn (the order alternating
//! from run to run) from a standing start: the producer and every member of the group at once.
//! Its rate is the changes over the time from that start to the last line written into the
//! files (the newest modification time among them, once the group has committed everything).
//! Every row changes once, so no poll can fold two changes into one record.

use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use rand::seq::SliceRandom as _;
use sluice_common::mysql::quote_identifier;
use sluice_common::settings::IsolatedRun;
use sqlx::MySqlPool;

use crate::backlog_peer::PeerStream;
use crate::cli::Cli;
use crate::context::Bench;
use crate::delivery::Delivery;
use crate::line_files::{remove_line_files, LineFiles};
use crate::report::Results;
use crate::running::Running;
use crate::samples::Samples;
use crate::source::Source;
use crate::{dataset, load, machine, offsets, purge};

/// The table whose changes pile up.
const TABLE: &str = "sluice_bench_backlog";
/// Rows each transaction of the backlog changes.
pub const TRANSACTION_ROWS: usize = 100;
/// How long MariaDB's purge may take after a backlog before the run goes on regardless.
const SETTLE_PATIENCE: Duration = Duration::from_secs(300);

/// The figures' key part of a delivery.
fn key(delivery: Delivery) -> &'static str {
    match delivery {
        Delivery::AtLeastOnce => "at_least_once",
        Delivery::ExactlyOnce => "exactly_once",
    }
}

/// Loads the table, brings both pipelines up to date, then measures `cli.runs` backlogs; every
/// figure's key starts with `prefix` (`backlog`, the cluster's `cluster.backlog`, or the binlog
/// source's `binlog.backlog`).
pub async fn run(
    bench: &Bench,
    cli: &Cli,
    prefix: &'static str,
    source: Source,
    results: &mut Results,
) -> anyhow::Result<()> {
    let rows = cli.backlog_rows;
    tracing::info!("backlog: loading {rows} rows into {TABLE} (not timed)");
    dataset::recreate(&bench.pool, TABLE).await?;
    dataset::load(&bench.pool, TABLE, 1, rows).await?;
    dataset::settle_loaded(bench).await;
    let pipelines = [Delivery::AtLeastOnce, Delivery::ExactlyOnce].map(|delivery| Pipeline {
        delivery,
        names: bench.run_names(
            TABLE,
            &format!("{}-{}", prefix.replace('.', "-"), delivery.tag()),
        ),
        prefix,
        source,
    });
    // Debezium streams from before the pipelines' snapshots: the first backlog is new to all.
    let mut peer = match (source, cli.no_peer) {
        (Source::Binlog, false) => Some(PeerStream::start(bench, cli, TABLE).await?),
        _ => None,
    };
    for pipeline in &pipelines {
        pipeline.bring_up_to_date(bench, cli, rows).await?;
    }
    let mut samples = Samples::default();
    for run in 1..=cli.runs {
        tracing::info!(
            "backlog {run} of {}: every one of {rows} rows changed",
            cli.runs
        );
        pile_up(bench, rows, prefix, &mut samples).await?;
        // Each in turn, the first of one run the last of the next.
        let turns = pipelines.len() + usize::from(peer.is_some());
        let mut rates = [0.0; 3];
        for turn in 0..turns {
            let index = (turn + run as usize) % turns;
            rates[index] = match (pipelines.get(index), peer.as_mut()) {
                (Some(pipeline), _) => pipeline.catch_up(bench, cli, rows, &mut samples).await?,
                (None, Some(peer)) => peer.catch_up(rows, prefix, &mut samples).await?,
                (None, None) => continue,
            };
        }
        samples.push_ratio(
            &format!("{prefix}.exactly_once_ratio"),
            "backlog catch-up: exactly once ÷ at least once, same backlog",
            rates[1],
            rates[0],
        );
        if peer.is_some() {
            samples.push_ratio(
                &format!("{prefix}.debezium_ratio"),
                "backlog catch-up: sluice exactly once (to the files) ÷ Debezium tuned (to Kafka), same backlog",
                rates[1],
                rates[2],
            );
        }
    }
    if let Some(peer) = peer {
        peer.stop(bench).await?;
    }
    samples.record(results);
    for pipeline in &pipelines {
        bench.drop_run_topics(&pipeline.names).await?;
    }
    sqlx::query(&format!("DROP TABLE {}", quote_identifier(TABLE)))
        .execute(&bench.pool)
        .await?;
    Ok(())
}

/// Changes every row once and waits until MariaDB is done with it: the purge of the old
/// versions finished and the newest change older than the producer's commit lag.
async fn pile_up(
    bench: &Bench,
    rows: i64,
    prefix: &str,
    samples: &mut Samples,
) -> anyhow::Result<()> {
    let level = purge::history_length(&bench.pool).await?;
    let started = Instant::now();
    let written = change_every_row(&bench.pool, TABLE, rows).await?;
    samples.push(
        &format!("{prefix}.statement_seconds"),
        "backlog: the changes themselves, until the last commit (MariaDB)",
        "s",
        started.elapsed().as_secs_f64(),
    );
    machine::flush_writes();
    let purged = purge::settled(
        &bench.pool,
        &machine::state_dir(&bench.root),
        level,
        SETTLE_PATIENCE,
    )
    .await?;
    samples.push(
        &format!("{prefix}.settle_seconds"),
        "backlog: last commit until MariaDB's purge of the old versions was done",
        "s",
        purged.seconds,
    );
    let readable = written.newest + Duration::from_millis(bench.settings.producer.commit_lag_ms);
    tokio::time::sleep_until(readable.into()).await;
    Ok(())
}

/// What the backlog's changes left.
struct Written {
    /// When the clock stood at the newest timestamp they wrote.
    newest: Instant,
}

/// Changes rows `1..=rows` of `table`, in random key order, in transactions of
/// `TRANSACTION_ROWS` rows on one connection per core side by side; each row gets a timestamp
/// of its own, a microsecond apart in the order of the transactions, starting at the moment the
/// changes begin. Fails when the database changed another number of rows.
async fn change_every_row(pool: &MySqlPool, table: &str, rows: i64) -> anyhow::Result<Written> {
    let table = quote_identifier(table);
    let mut ids: Vec<i64> = (1..=rows).collect();
    ids.shuffle(&mut rand::rng());
    let base: String = sqlx::query_scalar("SELECT DATE_FORMAT(NOW(6), '%Y-%m-%d %H:%i:%s.%f')")
        .fetch_one(pool)
        .await?;
    let base_at = Instant::now();
    let connections = load::connections_for(0) as usize;
    let mut shares: Vec<Vec<(usize, Vec<i64>)>> = vec![Vec::new(); connections];
    for (n, chunk) in ids.chunks(TRANSACTION_ROWS).enumerate() {
        shares[n % connections].push((n * TRANSACTION_ROWS, chunk.to_vec()));
    }
    let mut tasks = Vec::new();
    for share in shares {
        let (pool, table, base) = (pool.clone(), table.clone(), base.clone());
        tasks.push(tokio::spawn(async move {
            let mut changed = 0;
            for (first, chunk) in share {
                changed += sqlx::query(&transaction_sql(&table, &base, first, &chunk))
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
    anyhow::ensure!(
        changed == rows as u64,
        "the backlog changed {changed} of {rows} rows of {table}"
    );
    let span = Duration::from_micros(u64::try_from(rows).unwrap_or(0));
    Ok(Written {
        newest: base_at + span,
    })
}

/// One transaction of the backlog: the rows `ids` of `table` (quoted), the `n`-th of them
/// stamped `first + n` microseconds after `base`.
fn transaction_sql(table: &str, base: &str, first: usize, ids: &[i64]) -> String {
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    format!(
        "UPDATE {table} SET price = price * 1.01, \
         last_updated = TIMESTAMPADD(MICROSECOND, {first} + FIELD(id, {list}) - 1, '{base}') \
         WHERE id IN ({list})"
    )
}

/// One delivery's pipeline over the table, kept from run to run: its watermark, topic and
/// group's offsets carry over, its files are emptied before each catch-up.
struct Pipeline {
    delivery: Delivery,
    names: IsolatedRun,
    /// The figures' key prefix.
    prefix: &'static str,
    /// Where the producer reads the changes.
    source: Source,
}

impl Pipeline {
    /// Starts the producer and every member at once.
    fn start(&self, bench: &Bench, cli: &Cli) -> anyhow::Result<Running> {
        let mut sets = self.names.overrides();
        sets.extend(self.source.sets());
        Running::start(bench, &self.names, &sets, cli.members, self.delivery)
    }

    /// Runs the pipeline until the group has the whole table (not timed).
    async fn bring_up_to_date(&self, bench: &Bench, cli: &Cli, rows: i64) -> anyhow::Result<()> {
        tracing::info!(
            "backlog: {} pipeline brought up to date (not timed)",
            self.delivery.label()
        );
        let mut pipeline = self.start(bench, cli)?;
        pipeline.caught_up(bench, Some(rows)).await?;
        pipeline.stop()?;
        Ok(())
    }

    /// Starts the producer and the group at once and waits until the group has committed the
    /// whole backlog; pushes the run's figures and returns its rate.
    async fn catch_up(
        &self,
        bench: &Bench,
        cli: &Cli,
        rows: i64,
        samples: &mut Samples,
    ) -> anyhow::Result<f64> {
        let out = self.names.out_dir();
        remove_line_files(&out)?;
        let kafka = &bench.settings.kafka;
        let before = offsets::records_in(kafka, &self.names.topic)?;
        tracing::info!(
            "backlog: {} catch-up of {rows} changes",
            self.delivery.label()
        );
        let window = machine::CpuWindow::start(&machine::state_dir(&bench.root));
        let started = SystemTime::now();
        let mut pipeline = self.start(bench, cli)?;
        pipeline.caught_up(bench, Some(before + rows)).await?;
        let share = window.finish();
        let usage = pipeline.stop_measured()?;
        let files = LineFiles::read(&out)?;
        match self.delivery {
            Delivery::ExactlyOnce => anyhow::ensure!(
                files.lines == rows as u64,
                "exactly once, the files in {} hold {} lines for {rows} changes",
                out.display(),
                files.lines
            ),
            Delivery::AtLeastOnce => anyhow::ensure!(
                files.lines >= rows as u64,
                "the files in {} hold {} lines for {rows} changes",
                out.display(),
                files.lines
            ),
        }
        let seconds = files
            .last_write
            .duration_since(started)
            .context("the last line was written before the pipeline started")?
            .as_secs_f64();
        let rate = rows as f64 / seconds;
        let (prefix, what) = (
            format!("{}.{}", self.prefix, key(self.delivery)),
            self.delivery.label(),
        );
        let mut push = |name: &str, label: &str, unit: &str, value: f64| {
            samples.push(
                &format!("{prefix}.{name}"),
                &format!("backlog catch-up, {what}: {label}"),
                unit,
                value,
            );
        };
        push(
            "seconds",
            "producer and group started until the last line was written",
            "s",
            seconds,
        );
        push("changes_per_s", "changes per second", "changes/s", rate);
        let producer = usage.first().map(|(_, u)| *u).unwrap_or_default();
        push(
            "producer_cpu_seconds_per_million",
            "producer CPU per million changes",
            "s",
            producer.cpu_seconds * 1e6 / rows as f64,
        );
        let members = &usage[1.min(usage.len())..];
        push(
            "group_cpu_seconds_per_million",
            "the group's CPU per million changes, all members",
            "s",
            members.iter().map(|(_, u)| u.cpu_seconds).sum::<f64>() * 1e6 / rows as f64,
        );
        if let Some(seconds) = share.machine_cpu_seconds() {
            push(
                "machine_cpu_seconds_per_million",
                "the whole machine's CPU per million changes, start until the group's last commit",
                "s",
                seconds * 1e6 / rows as f64,
            );
        }
        push(
            "rss.producer_mb",
            "producer peak RSS",
            "MiB",
            producer.peak_rss_mb,
        );
        push(
            "rss.consumer_mb",
            "highest peak RSS of the members",
            "MiB",
            members
                .iter()
                .map(|(_, u)| u.peak_rss_mb)
                .fold(0.0, f64::max),
        );
        Ok(rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_row_of_a_transaction_gets_its_own_microsecond() {
        let sql = transaction_sql("`t`", "2026-12-06 10:00:00.000000", 300, &[7, 3, 9]);
        assert_eq!(
            sql,
            "UPDATE `t` SET price = price * 1.01, last_updated = TIMESTAMPADD(MICROSECOND, \
             300 + FIELD(id, 7,3,9) - 1, '2026-12-06 10:00:00.000000') WHERE id IN (7,3,9)"
        );
    }
}
