//! Wide rows: once per run, a table whose rows carry a ~2 KB text column (the second version of
//! the schema, `schemas/product.v2.avsc`, whose `description` it fills), snapshotted by the
//! producer and read by the group: the peak memory of each process when a page holds megabytes.

use sluice_common::mysql::quote_identifier;

use crate::cli::{Cli, TABLE};
use crate::context::Bench;
use crate::group::{self, Delivery};
use crate::report::Results;
use crate::{dataset, snapshot};

/// The wide table.
const WIDE_TABLE: &str = "sluice_bench_wide";
/// The writer schema with a `description`.
const WIDE_SCHEMA: &str = "schemas/product.v2.avsc";
/// Hashes making up one description: 16 of 128 hex digits and their separators, 2 063 bytes.
pub const DESCRIPTION_PARTS: i64 = 16;

/// Copies the first `cli.wide_rows` products of the benchmark table with a description each,
/// then snapshots them and reads them with the group.
pub async fn run(bench: &Bench, cli: &Cli, results: &mut Results) -> anyhow::Result<()> {
    let rows = cli.wide_rows;
    let wide = quote_identifier(WIDE_TABLE);
    tracing::info!("wide rows: copying {rows} products with a ~2 KB description each (not timed)");
    for statement in [
        format!("DROP TABLE IF EXISTS {wide}"),
        format!("CREATE TABLE {wide} LIKE product"),
        format!("ALTER TABLE {wide} ADD COLUMN stock INT NOT NULL DEFAULT 0, ADD COLUMN description TEXT"),
        format!(
            "INSERT INTO {wide} (id, name, category, price, stock, description) \
             SELECT id, name, category, price, id % 100, CONCAT_WS(' ', {}) FROM {} WHERE id <= {rows}",
            (0..DESCRIPTION_PARTS)
                .map(|n| format!("SHA2(id + {n}, 512)"))
                .collect::<Vec<_>>()
                .join(", "),
            quote_identifier(TABLE)
        ),
    ] {
        sqlx::query(&statement).execute(&bench.pool).await?;
    }
    dataset::settle_loaded(bench).await;

    let names = bench.run_names(WIDE_TABLE, "wide");
    let schema = format!(
        "producer.schema_file={}",
        bench.root.join(WIDE_SCHEMA).display()
    );
    tracing::info!("wide rows: producer snapshot of {rows} rows");
    let produced = snapshot::producer_with(bench, &names, rows, &[schema])?;
    let record_bytes =
        crate::offsets::average_record_bytes(&bench.settings.kafka, &names.topic, 1000)?;
    results.set(
        "wide.rows",
        "wide rows: rows in the table",
        "rows",
        rows as f64,
    );
    results.set(
        "wide.producer.record_bytes",
        "wide rows: average record (key + value)",
        "bytes",
        record_bytes as f64,
    );
    results.set(
        "wide.producer.rows_per_s",
        "wide rows: snapshot throughput",
        "rows/s",
        produced.rows_per_s,
    );
    results.set(
        "wide.rss.producer_mb",
        "wide rows: producer peak RSS",
        "MiB",
        produced.usage.peak_rss_mb,
    );
    results.set(
        "wide.cpu.producer_seconds_per_million",
        "wide rows: producer CPU per million rows",
        "s",
        produced.usage.cpu_seconds * 1e6 / rows as f64,
    );

    tracing::info!(
        "wide rows: consumer group of {} over {rows} records",
        cli.members
    );
    let run = group::consume(bench, &names, cli.members, rows, Delivery::AtLeastOnce)?;
    std::fs::remove_dir_all(names.out_dir()).ok();
    results.set(
        "wide.consumer.records_per_s",
        "wide rows: consumer group throughput",
        "records/s",
        run.records_per_s,
    );
    results.set(
        "wide.rss.consumer_mb",
        "wide rows: highest peak RSS of the members",
        "MiB",
        run.usage.iter().map(|u| u.peak_rss_mb).fold(0.0, f64::max),
    );
    sqlx::query(&format!("DROP TABLE {wide}"))
        .execute(&bench.pool)
        .await?;
    Ok(())
}
