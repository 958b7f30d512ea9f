//! The producer's snapshot of a whole table, and the read ceiling beside it: the same keyset
//! pages through sqlx with nothing encoded or sent.

use std::time::{Duration, Instant};

use prometheus::{Histogram, HistogramOpts};
use sluice_producer::poll::page_reader::PageReader;
use sluice_producer::source::catalogue::TableWatch;
use sluice_producer::source::plan::{SourcePlan, TimestampColumn};
use sluice_producer::source::read_bound::ReadBound;
use sluice_producer::source::writer_schema::WriterSchema;
use sluice_producer::watermark::Watermark;
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
    producer_adds(bench, names, 0, rows)
}

/// [`producer`] with further `--set` overrides.
pub fn producer_with(
    bench: &Bench,
    names: &IsolatedRun,
    rows: i64,
    sets: &[String],
) -> anyhow::Result<Snapshot> {
    run_producer(bench, names, 0, rows, sets)
}

/// [`producer`] with `producer.exactly_once` on. Each transaction leaves a commit marker in
/// every partition it wrote, which takes an offset of its own: the topic is checked to hold at
/// least `rows` offsets here, and exactly `rows` records by the group that reads it
/// ([`crate::group::consume`] with [`crate::group::Delivery::ExactlyOnce`]).
pub fn producer_exactly_once(
    bench: &Bench,
    names: &IsolatedRun,
    rows: i64,
) -> anyhow::Result<Snapshot> {
    let (snapshot, published) = spawn_producer(bench, names, &[EXACTLY_ONCE_PRODUCER.into()])?;
    anyhow::ensure!(
        published >= rows,
        "the producer published {published} offsets (records and commit markers) for {rows} \
         rows into {}",
        names.topic
    );
    Ok(snapshot.at_rows(rows))
}

/// The setting that turns the producer's transactions on.
pub const EXACTLY_ONCE_PRODUCER: &str = "producer.exactly_once=true";

/// Runs `sluice-producer run --until-caught-up` from the run's watermark, over a topic holding
/// `already` records, and checks that it then holds `rows` more.
pub fn producer_adds(
    bench: &Bench,
    names: &IsolatedRun,
    already: i64,
    rows: i64,
) -> anyhow::Result<Snapshot> {
    run_producer(bench, names, already, rows, &[])
}

fn run_producer(
    bench: &Bench,
    names: &IsolatedRun,
    already: i64,
    rows: i64,
    sets: &[String],
) -> anyhow::Result<Snapshot> {
    let (snapshot, offsets) = spawn_producer(bench, names, sets)?;
    let published = offsets - already;
    anyhow::ensure!(
        published == rows,
        "the producer published {published} records of {rows} rows into {}",
        names.topic
    );
    Ok(snapshot.at_rows(rows))
}

/// Runs `sluice-producer run --until-caught-up` with `sets` and waits for its exit: its time
/// and usage (rates not yet set), and the offsets its topic then holds.
fn spawn_producer(
    bench: &Bench,
    names: &IsolatedRun,
    sets: &[String],
) -> anyhow::Result<(Snapshot, i64)> {
    std::fs::create_dir_all(&names.dir)?;
    let mut overrides = names.overrides();
    overrides.extend_from_slice(sets);
    let mut command = bench.sluice("sluice-producer", &overrides)?;
    command.arg("run").arg("--until-caught-up");
    let mut process = Measured::spawn("sluice-producer", command, &names.dir.join("producer.log"))?;
    let (elapsed, usage) = process.wait(PATIENCE)?;
    let offsets = offsets::records_in(&bench.settings.kafka, &names.topic)?;
    let snapshot = Snapshot {
        seconds: elapsed.as_secs_f64(),
        rows_per_s: 0.0,
        usage,
    };
    Ok((snapshot, offsets))
}

impl Snapshot {
    /// The snapshot with its rate over `rows` rows.
    fn at_rows(self, rows: i64) -> Self {
        Self {
            rows_per_s: rows as f64 / self.seconds,
            ..self
        }
    }
}

/// Reads the whole table as the producer's first run does, through its own page reader and
/// queries (key order when the key is the primary key, then the changes after it), with nothing
/// encoded or sent; rows/s.
pub async fn read_ceiling(bench: &Bench, table: &str) -> anyhow::Result<f64> {
    let (rows, seconds) = read_from(bench, table, None).await?;
    Ok(rows as f64 / seconds)
}

/// [`read_ceiling`] with the writer schema file `schema_file` instead of the shipped one: the
/// pages then select its columns.
pub async fn read_ceiling_with(
    bench: &Bench,
    table: &str,
    schema_file: &std::path::Path,
) -> anyhow::Result<f64> {
    let (rows, seconds) = read_with(bench, table, None, schema_file).await?;
    Ok(rows as f64 / seconds)
}

/// Reads as the producer does from `from` (or, with `None`, from where its first run starts)
/// until caught up, through its own page reader and queries, with nothing encoded or sent: the
/// rows read and the seconds it took.
pub async fn read_from(
    bench: &Bench,
    table: &str,
    from: Option<Watermark>,
) -> anyhow::Result<(u64, f64)> {
    let schema_file = bench.root.join(&bench.settings.producer.schema_file);
    read_with(bench, table, from, &schema_file).await
}

async fn read_with(
    bench: &Bench,
    table: &str,
    from: Option<Watermark>,
    schema_file: &std::path::Path,
) -> anyhow::Result<(u64, f64)> {
    let settings = &bench.settings;
    let plan = plan(bench, table, schema_file).await?;
    let query = plan.query.clone();
    let commit_lag = Duration::from_millis(settings.producer.commit_lag_ms);
    let mut read_bound = ReadBound::new(&bench.pool, commit_lag)
        .await
        .for_fractional_digits(plan.timestamp_digits);
    let started = Instant::now();
    let mut cursor = match from {
        Some(from) => from,
        None if plan.snapshot_by_key => {
            Watermark::snapshot_up_to(read_bound.current(&bench.pool).await?.0.and_utc())
        }
        None => Watermark::beginning(),
    };
    let timer = Histogram::with_opts(HistogramOpts::new("read_ceiling", "page reads"))?;
    let batch = settings.producer.batch_size;
    // Watching the table's columns after each page, as the producer does.
    let watch = TableWatch {
        database: settings.mysql.database.clone(),
        table: table.to_owned(),
        columns: plan.catalogue,
    };
    let mut reader =
        PageReader::new(bench.pool.clone(), plan.query, read_bound, batch, timer).watching(watch);
    let mut rows_read = 0u64;
    loop {
        let page = reader.fetch(&cursor).await?;
        rows_read += page.rows.len() as u64;
        if let Some(end) = page.end(&query)? {
            cursor = end;
        }
        if page.caught_up() {
            break;
        }
    }
    Ok((rows_read, started.elapsed().as_secs_f64()))
}

/// The producer's page queries for `table` with the writer schema in `schema_file`, planned as
/// the producer plans them.
async fn plan(
    bench: &Bench,
    table: &str,
    schema_file: &std::path::Path,
) -> anyhow::Result<SourcePlan> {
    let settings = &bench.settings;
    let schema = WriterSchema::File(SchemaFile::load(schema_file)?);
    Ok(SourcePlan::discover(
        &bench.pool,
        &settings.mysql.database,
        table,
        &schema,
        &settings.producer.key_column,
        TimestampColumn::of(&settings.producer),
        settings.producer.deleted_column(),
    )
    .await?)
}
