//! The delete sweep over string keys, in the producer itself: a table of `rows` rows keyed by a
//! `VARCHAR` under `utf8mb4_unicode_ci` (keys in three cases, so the collation's order and the
//! bytes' disagree all along) is published by the real producer with the schema built from the
//! table, then, `runs` times, a slice of 0.2 % of its rows is deleted and the sweep that
//! publishes their deletes is timed: the whole pass (the producer's own gauge), and the time
//! from the delete's commit until every tombstone is on the topic (at most a sweep interval more).
//! The producer's peak resident memory over the snapshot and every pass is the memory figure
//! (one process, measured once, whatever the runs), beside its peak before the first deletes.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use sluice_common::mysql::quote_identifier;

use crate::cli::Cli;
use crate::context::Bench;
use crate::offsets::TopicWatch;
use crate::process::Measured;
use crate::report::Results;
use crate::samples::Samples;

/// The table of the phase.
const TEXT_TABLE: &str = "sluice_bench_text_keys";
/// Seconds between two sweeps: short, so a run waits little for the next pass.
pub const SWEEP_EVERY_SECS: u64 = 2;
/// Rows deleted per run: those whose `n` is the run's number modulo this.
pub const SLICES: i64 = 500;
/// The longest a snapshot or a run may take.
const PATIENCE: Duration = Duration::from_secs(600);

/// Runs the phase over a table of `rows` rows; figures under `text_sweep`.
pub async fn run(bench: &Bench, cli: &Cli, rows: i64, results: &mut Results) -> anyhow::Result<()> {
    create(bench, rows).await?;
    crate::dataset::settle_loaded(bench).await;
    let names = bench.run_names(TEXT_TABLE, "text_sweep");
    std::fs::create_dir_all(&names.dir)?;
    let port = TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port();
    let mut sets: Vec<String> = names
        .overrides()
        .into_iter()
        .filter(|s| !s.starts_with("metrics.producer_port"))
        .collect();
    sets.extend([
        format!("metrics.producer_port={port}"),
        "producer.schema_from=table".to_owned(),
        "producer.key_column=code".to_owned(),
        format!("producer.delete_sweep_interval_secs={SWEEP_EVERY_SECS}"),
    ]);
    let metrics = format!("http://127.0.0.1:{port}/metrics");
    tracing::info!("text sweep: the producer publishes {rows} rows keyed by strings");
    let mut producer = Measured::spawn(
        "sluice-producer",
        bench.sluice("sluice-producer", &sets)?,
        &names.dir.join("producer.log"),
    )?;
    let topic = wait_for(&mut producer, "the topic", || async {
        Ok(TopicWatch::new(&bench.settings.kafka, &names.topic).ok())
    })
    .await?;
    let mut published = rows;
    wait_for(&mut producer, "the snapshot and a first sweep", || async {
        let done = topic.records()? >= published && gauge(&metrics, COMPLETED).await? > 0.0;
        Ok(done.then_some(()))
    })
    .await?;
    let settled = producer.usage().peak_rss_mb;
    let mut samples = Samples::default();
    for run in 1..=i64::from(cli.runs) {
        let deleted = sqlx::query(&format!(
            "DELETE FROM {} WHERE n % {SLICES} = {run}",
            quote_identifier(TEXT_TABLE)
        ))
        .execute(&bench.pool)
        .await?
        .rows_affected();
        let committed = Instant::now();
        published += deleted as i64;
        wait_for(&mut producer, "the deletes of a run", || async {
            Ok((topic.records()? >= published).then_some(()))
        })
        .await?;
        let to_topic = committed.elapsed().as_secs_f64();
        let pass = gauge(&metrics, DURATION).await?;
        tracing::info!(
            "text sweep, run {run} of {}: {deleted} deletes on the topic {to_topic:.2} s after \
             their commit; the last pass took {pass:.2} s",
            cli.runs
        );
        samples.push(
            "text_sweep.pass_seconds",
            "delete sweep of string keys: one whole pass (the producer's gauge)",
            "s",
            pass,
        );
        samples.push(
            "text_sweep.delete_to_topic_seconds",
            "delete sweep of string keys: from the deletes' commit to their tombstones on the topic",
            "s",
            to_topic,
        );
    }
    let usage = producer.stop(Duration::from_secs(30))?;
    samples.record(results);
    results.set(
        "text_sweep.keys",
        "delete sweep of string keys: keys in the table",
        "keys",
        rows as f64,
    );
    results.set(
        "text_sweep.rss_before_deletes.producer_mb",
        "delete sweep of string keys: the producer's peak RSS through its snapshot and first pass",
        "MiB",
        settled,
    );
    results.set(
        "text_sweep.rss.producer_mb",
        "delete sweep of string keys: the producer's peak RSS, its snapshot and every pass",
        "MiB",
        usage.peak_rss_mb,
    );
    bench.drop_run_topics(&names).await?;
    sqlx::query(&format!("DROP TABLE {}", quote_identifier(TEXT_TABLE)))
        .execute(&bench.pool)
        .await?;
    Ok(())
}

/// The table, `rows` rows: keys `sku-`, `SKU-` or `Sku-` and 32 hex digits.
async fn create(bench: &Bench, rows: i64) -> anyhow::Result<()> {
    let table = quote_identifier(TEXT_TABLE);
    for statement in [
        format!("DROP TABLE IF EXISTS {table}"),
        format!(
            "CREATE TABLE {table} (
                code VARCHAR(40) COLLATE utf8mb4_unicode_ci NOT NULL PRIMARY KEY,
                n INT NOT NULL,
                name VARCHAR(50) NOT NULL,
                category VARCHAR(30) NOT NULL,
                price FLOAT NOT NULL,
                last_updated TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
                    ON UPDATE CURRENT_TIMESTAMP(6),
                KEY by_change (last_updated, code)
            ) DEFAULT CHARSET utf8mb4"
        ),
    ] {
        sqlx::query(&statement).execute(&bench.pool).await?;
    }
    tracing::info!("loading {rows} rows into {TEXT_TABLE} (not timed)");
    let mut first = 1;
    while first <= rows {
        let last = (first + 99_999).min(rows);
        sqlx::query(&format!(
            "INSERT INTO {table} (code, n, name, category, price)
             SELECT CONCAT(ELT(1 + seq % 3, 'sku-', 'SKU-', 'Sku-'), MD5(seq)), seq,
                    CONCAT('product ', seq), ELT(1 + seq % 2, 'books', 'electronics'), seq / 4
             FROM seq_{first}_to_{last}"
        ))
        .execute(&bench.pool)
        .await?;
        first = last + 1;
    }
    Ok(())
}

const COMPLETED: &str = "sluice_producer_delete_sweep_completed_timestamp_seconds";
const DURATION: &str = "sluice_producer_delete_sweep_duration_seconds";

/// The value of gauge `name` at `url`; 0 before the producer serves it.
async fn gauge(url: &str, name: &str) -> anyhow::Result<f64> {
    let Ok(response) = sluice_registry::http::get(url).await else {
        return Ok(0.0);
    };
    let text = response.text().await?;
    Ok(text
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0.0))
}

/// Polls `ready` until it gives a value, while `producer` runs; fails after `PATIENCE`.
async fn wait_for<T, F>(
    producer: &mut Measured,
    what: &str,
    mut ready: impl FnMut() -> F,
) -> anyhow::Result<T>
where
    F: std::future::Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = Instant::now() + PATIENCE;
    loop {
        crate::process::ensure_running(std::slice::from_mut(producer))?;
        if let Some(value) = ready().await? {
            return Ok(value);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "text sweep: no {what} within {PATIENCE:?}; the producer's log:\n{}",
            producer.log_tail(10)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
