//! Scale beyond memory, one run (each figure of the phase is a single measurement): the
//! benchmark table grown to `--large-rows` (10 million by default, several times what MariaDB's
//! buffer pool holds), MariaDB restarted with an empty buffer pool (see `cold`), a first
//! snapshot of the table read cold and then a bulk update of every row in one statement, each
//! published by `sluice-producer run --until-caught-up`, with passes of the delete sweep over
//! its keys between the two. The bulk update is published once MariaDB's purge of the old
//! versions is done (see `purge`), as at full size. Its time is set against the full-size bulk
//! update's, and the producer's peak memory and CPU per million rows against the full size's.

use std::time::{Duration, Instant};

use sluice_common::mysql::quote_identifier;

use crate::bulk_update::Shape;
use crate::cli::{Cli, TABLE};
use crate::context::Bench;
use crate::report::Results;
use crate::{cold, dataset, machine, purge, snapshot};

/// How long MariaDB may stay busy after the bulk update before the run goes on regardless.
const SETTLE_PATIENCE: Duration = Duration::from_secs(600);

/// Grows the table from `cli.rows` to `cli.large_rows`, snapshots it and publishes a bulk
/// update of every row; drops the table afterwards, being the largest thing the bench leaves.
pub async fn run(bench: &Bench, cli: &Cli, results: &mut Results) -> anyhow::Result<()> {
    let rows = cli.large_rows;
    tracing::info!(
        "large: loading {} rows into {TABLE} (not timed)",
        rows - cli.rows
    );
    dataset::load(&bench.pool, TABLE, cli.rows + 1, rows - cli.rows).await?;
    dataset::settle_loaded(bench).await;
    let names = bench.run_names(TABLE, &format!("large-{rows}"));
    let sizes = cold::sizes(&bench.pool, TABLE).await?;

    tracing::info!("large: MariaDB restarted with an empty buffer pool");
    cold::restart_mariadb(bench).await?;
    let pages_before = cold::pages_read_from_disk(&bench.pool).await?;
    tracing::info!("large: producer snapshot of {rows} rows, read cold");
    let first = snapshot::producer(bench, &names, rows)?;
    let pages_read = cold::pages_read_from_disk(&bench.pool).await? - pages_before;
    let millions = rows as f64 / 1e6;
    results.set("large.rows", "rows in the large table", "rows", rows as f64);
    results.set(
        "large.table_to_buffer_pool",
        "large table: its data and indexes ÷ MariaDB's buffer pool",
        "×",
        sizes.table_bytes / sizes.pool_bytes,
    );
    let page_bytes = cold::page_bytes(&bench.pool).await? as f64;
    results.set(
        "large.cold.read_from_disk_ratio",
        "large table, cold snapshot: bytes InnoDB read from disk ÷ the table's data and indexes (a key-order read touches the data alone)",
        "×",
        pages_read as f64 * page_bytes / sizes.table_bytes,
    );
    results.set(
        "large.producer.seconds",
        "large table: snapshot, producer start to last acknowledgement",
        "s",
        first.seconds,
    );
    results.set(
        "large.producer.rows_per_s",
        "large table: snapshot throughput",
        "rows/s",
        first.rows_per_s,
    );
    results.set(
        "large.rss.producer_mb",
        "large table: producer peak RSS, snapshot",
        "MiB",
        first.usage.peak_rss_mb,
    );
    results.set(
        "large.cpu.producer_seconds_per_million",
        "large table: producer CPU per million rows, snapshot",
        "s",
        first.usage.cpu_seconds / millions,
    );
    results.ratio(
        "large.producer.rate_ratio",
        "snapshot rows/s, large ÷ full size (1 = linear cost)",
        "large.producer.rows_per_s",
        "producer.rows_per_s",
    );

    crate::sweep::passes(bench, cli, rows, "large.sweep", results).await?;

    tracing::info!("large: one UPDATE of all {rows} rows, then the producer publishes them");
    let history = purge::history_length(&bench.pool).await?;
    let started = Instant::now();
    Shape::OneTimestamp
        .change_every_row(&bench.pool, TABLE, rows)
        .await?;
    let statement_seconds = started.elapsed().as_secs_f64();
    machine::flush_writes();
    // As at full size: the pipeline's path is timed once MariaDB's purge is done.
    let state_dir = machine::state_dir(&bench.root);
    let settled = purge::settled(&bench.pool, &state_dir, history, SETTLE_PATIENCE).await?;
    results.set(
        "large.bulk_update.settle_seconds",
        "large table: last commit until InnoDB's history list was back at its length before the update and MariaDB quiet",
        "s",
        settled.seconds,
    );
    results.set(
        "large.bulk_update.purge_done",
        "large table: the history list was back at its length before the update (1) or the wait gave up (0)",
        "",
        if settled.history_back { 1.0 } else { 0.0 },
    );
    let bulk = snapshot::producer_adds(bench, &names, rows, rows)?;
    results.set(
        "large.bulk_update.statement_seconds",
        "large table: the UPDATE statement itself (MariaDB)",
        "s",
        statement_seconds,
    );
    results.set(
        "large.bulk_update.seconds",
        "large table: bulk update, producer start to last acknowledgement, started once MariaDB was quiet",
        "s",
        bulk.seconds,
    );
    results.set(
        "large.bulk_update.rows_per_s",
        "large table: bulk update throughput",
        "rows/s",
        bulk.rows_per_s,
    );
    results.set(
        "large.bulk_update.rss_mb",
        "large table: producer peak RSS, bulk update",
        "MiB",
        bulk.usage.peak_rss_mb,
    );
    results.set(
        "large.bulk_update.cpu_seconds_per_million",
        "large table: producer CPU per million rows, bulk update",
        "s",
        bulk.usage.cpu_seconds / millions,
    );
    results.ratio(
        "large.bulk_update.ratio_to_full",
        "large bulk update time ÷ full-size bulk update time (median)",
        "large.bulk_update.seconds",
        "bulk_update.seconds",
    );
    results.set(
        "large.size_ratio",
        "large table rows ÷ full-size rows",
        "×",
        rows as f64 / cli.rows as f64,
    );
    sqlx::query(&format!("DROP TABLE {}", quote_identifier(TABLE)))
        .execute(&bench.pool)
        .await?;
    Ok(())
}
