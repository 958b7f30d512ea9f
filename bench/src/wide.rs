//! Wide rows: a table whose rows carry a ~2 KB text column (the second version of the schema,
//! `schemas/product.v2.avsc`, whose `description` it fills), snapshotted by the producer and
//! read by the group `--runs` times, each run beside its own ceilings: the bare read of the
//! same pages and `kafka-producer-perf-test` sending as many records of the same size. The
//! peak memory of each process when a page holds megabytes, and the rates against those.

use sluice_common::mysql::quote_identifier;

use crate::cli::{Cli, TABLE};
use crate::context::Bench;
use crate::group;
use crate::report::Results;
use crate::samples::Samples;
use crate::{dataset, perf_test, snapshot};

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

    results.set(
        "wide.rows",
        "wide rows: rows in the table",
        "rows",
        rows as f64,
    );
    let mut samples = Samples::default();
    for run in 1..=cli.runs {
        tracing::info!("wide rows: run {run} of {}", cli.runs);
        one_run(bench, cli, run, &mut samples).await?;
    }
    samples.record(results);
    sqlx::query(&format!("DROP TABLE {wide}"))
        .execute(&bench.pool)
        .await?;
    Ok(())
}

/// One snapshot of the wide table, its two ceilings, and the group over its topic.
async fn one_run(bench: &Bench, cli: &Cli, run: u32, samples: &mut Samples) -> anyhow::Result<()> {
    let rows = cli.wide_rows;
    let names = bench.run_names(WIDE_TABLE, &format!("wide-{run}"));
    let schema = format!(
        "producer.schema_file={}",
        bench.root.join(WIDE_SCHEMA).display()
    );
    tracing::info!("wide rows: producer snapshot of {rows} rows");
    let produced = snapshot::producer_with(bench, &names, rows, &[schema])?;
    let kafka = &bench.settings.kafka;
    let record_bytes = crate::offsets::average_record_bytes(kafka, &names.topic, 1000)?;
    let read_rate =
        snapshot::read_ceiling_with(bench, WIDE_TABLE, &bench.root.join(WIDE_SCHEMA)).await?;
    let perf_purpose = format!("wide-perf-{run}");
    let perf_rate = perf_test::producer(bench, &perf_purpose, rows, record_bytes)
        .await?
        .records_per_s;
    samples.push(
        "wide.producer.record_bytes",
        "wide rows: average record (key + value)",
        "bytes",
        record_bytes as f64,
    );
    samples.push(
        "wide.producer.rows_per_s",
        "wide rows: snapshot throughput",
        "rows/s",
        produced.rows_per_s,
    );
    samples.push(
        "wide.ceiling.read_rows_per_s",
        "wide rows: bare read of the same pages, nothing sent",
        "rows/s",
        read_rate,
    );
    samples.push(
        "wide.ceiling.producer_perf_test_rows_per_s",
        "wide rows: kafka-producer-perf-test, as many records of the same size",
        "records/s",
        perf_rate,
    );
    samples.push_ratio(
        "wide.producer.ratio_to_read",
        "wide rows: snapshot ÷ bare read, same run",
        produced.rows_per_s,
        read_rate,
    );
    samples.push_ratio(
        "wide.producer.ratio_to_perf_test",
        "wide rows: snapshot ÷ kafka-producer-perf-test, same run",
        produced.rows_per_s,
        perf_rate,
    );
    samples.push(
        "wide.rss.producer_mb",
        "wide rows: producer peak RSS",
        "MiB",
        produced.usage.peak_rss_mb,
    );
    samples.push(
        "wide.cpu.producer_seconds_per_million",
        "wide rows: producer CPU per million rows",
        "s",
        produced.usage.cpu_seconds * 1e6 / rows as f64,
    );

    group::consume_into(
        bench,
        &names,
        cli.members,
        rows,
        samples,
        ("wide", "wide rows"),
    )?;
    bench.drop_run_topics(&names).await?;
    perf_test::drop_topic(bench, &perf_purpose).await?;
    Ok(())
}
