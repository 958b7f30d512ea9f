//! The producer's snapshot of a whole table, and the read ceiling beside it: the same keyset
//! pages through sqlx with nothing encoded or sent.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use sluice_common::watermark::Watermark;
use sluice_producer::source::columns::{table_columns, ColumnPlan};
use sluice_producer::source::keyset::KeysetQuery;
use sluice_producer::source::row;
use sluice_registry::SchemaFile;

use crate::context::Bench;
use crate::offsets;
use crate::process::{Measured, Usage};
use sluice_common::settings::IsolatedRun;

/// A snapshot of `rows` rows must finish within this.
const PATIENCE: Duration = Duration::from_secs(600);

/// How the producer did.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot {
    /// From start until every row was acknowledged and the producer exited.
    pub seconds: f64,
    /// Rows per second over that time.
    pub rows_per_s: f64,
    /// What the process used.
    pub usage: Usage,
}

/// Runs `sluice-producer run --until-caught-up` over the table into a fresh topic and checks
/// that the topic then holds exactly `rows` records.
pub fn producer(bench: &Bench, names: &IsolatedRun, rows: i64) -> anyhow::Result<Snapshot> {
    std::fs::create_dir_all(&names.dir)?;
    let mut command = bench.sluice("sluice-producer", &names.overrides())?;
    command.arg("run").arg("--until-caught-up");
    let mut process = Measured::spawn("sluice-producer", command, &names.dir.join("producer.log"))?;
    let (elapsed, usage) = process.wait(PATIENCE)?;
    let published = offsets::records_in(&bench.settings.kafka, &names.topic)?;
    anyhow::ensure!(
        published == rows,
        "the producer published {published} records of {rows} rows into {}",
        names.topic
    );
    Ok(Snapshot {
        seconds: elapsed.as_secs_f64(),
        rows_per_s: rows as f64 / elapsed.as_secs_f64(),
        usage,
    })
}

/// Reads the whole table in the producer's pages, through the producer's own query; rows/s.
pub async fn read_ceiling(bench: &Bench, table: &str) -> anyhow::Result<f64> {
    let query = plan_query(bench, table).await?;
    let batch = bench.settings.producer.batch_size;
    let bound: chrono::NaiveDateTime = sqlx::query_scalar("SELECT NOW(6)")
        .fetch_one(&bench.pool)
        .await?;
    let started = Instant::now();
    let mut cursor = Watermark::beginning();
    let mut rows_read = 0u64;
    loop {
        let rows = query
            .page_after(&cursor, bound, batch)
            .fetch_all(&bench.pool)
            .await?;
        rows_read += rows.len() as u64;
        match rows.last() {
            Some(last) => cursor = row::position(last, query.layout())?,
            None => break,
        }
        if rows.len() < batch as usize {
            break;
        }
    }
    Ok(rows_read as f64 / started.elapsed().as_secs_f64())
}

/// The producer's page query for `table`, built as the producer builds it: the columns come
/// from the writer schema's plan.
async fn plan_query(bench: &Bench, table: &str) -> anyhow::Result<KeysetQuery> {
    let settings = &bench.settings;
    let schema = SchemaFile::load(bench.root.join(&settings.producer.schema_file))?.schema;
    let columns = table_columns(&bench.pool, &settings.mysql.database, table).await?;
    let plan = ColumnPlan::new(&schema, table, &columns).context("schema and table")?;
    Ok(KeysetQuery::new(
        table,
        &settings.producer.key_column,
        &settings.producer.timestamp_column,
        &plan.columns,
    ))
}
