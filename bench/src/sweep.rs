//! The delete sweep's cost: whole passes of the producer's sweep (`DeleteSweep`, the code the
//! producer runs) over the benchmark table's keys, with 1 % more keys published than the table
//! holds, so each pass finds that many deletes; each pass beside the bare read of the same keys
//! in one query, in the same run. Also the published keys read back from a topic of a full-size
//! snapshot, as a producer does at start without its checkpoint. Time, the bench process's CPU
//! (nothing else runs in it meanwhile), and what the published keys take.

use std::time::{Duration, Instant};

use futures::TryStreamExt as _;
use sluice_common::mysql::quote_identifier;
use sluice_common::settings::IsolatedRun;
use sluice_producer::source::key::{Key, KeyKind};
use sluice_producer::source::keyset::KeysetQuery;
use sluice_producer::sweep::key_checkpoint::KeyCheckpoint;
use sluice_producer::sweep::DeleteSweep;

use crate::cli::{Cli, TABLE};
use crate::context::Bench;
use crate::process;
use crate::report::Results;
use crate::samples::Samples;

/// Longer than any pass: a step of the bench's sweep reads to the end of the table.
const WHOLE_PASS: Duration = Duration::from_secs(3600);
/// One key published beside the table's for this many rows: each pass must find them deleted.
pub const EXTRA_KEYS_PER: i64 = 100;

/// `cli.runs` passes over the `rows` keys of the benchmark table, figures under `prefix`.
pub async fn passes(
    bench: &Bench,
    cli: &Cli,
    rows: i64,
    prefix: &str,
    results: &mut Results,
) -> anyhow::Result<()> {
    let query = KeysetQuery::new(TABLE, "id", "last_updated", &[], None);
    let deleted = rows / EXTRA_KEYS_PER;
    let checkpoint = KeyCheckpoint::beside(&bench.work.join("sweep.json"), TABLE, KeyKind::Signed);
    let mut sweep = DeleteSweep::new(Duration::from_secs(60), checkpoint, KeyKind::Signed);
    for id in 1..=rows + deleted {
        sweep.published(&Key::Signed(id));
    }
    let millions = rows as f64 / 1e6;
    results.set(
        &format!("{prefix}.keys"),
        "delete sweep: keys in the table",
        "keys",
        rows as f64,
    );
    results.set(
        &format!("{prefix}.published_keys_kb"),
        "delete sweep: what the published keys take (compressed bitmap)",
        "KiB",
        sweep.published_keys_bytes() as f64 / 1024.0,
    );
    let bare_sql = format!(
        "SELECT id FROM {} FORCE INDEX (PRIMARY)",
        quote_identifier(TABLE)
    );
    let mut samples = Samples::default();
    for run in 1..=cli.runs {
        tracing::info!("delete sweep of {rows} keys, run {run} of {}", cli.runs);
        let started = Instant::now();
        let read: i64 = sqlx::query_scalar::<_, i64>(&bare_sql)
            .fetch(&bench.pool)
            .try_fold(0, |count, _| async move { Ok(count + 1) })
            .await?;
        let bare = started.elapsed().as_secs_f64();
        anyhow::ensure!(read == rows, "the bare read found {read} keys, not {rows}");

        let cpu_before = own_cpu_seconds();
        let started = Instant::now();
        let mut found = 0;
        let pass = loop {
            let step = sweep
                .step(&bench.pool, &query, WHOLE_PASS, &bench.settings.kafka)
                .await?;
            found += step.gone.len() as i64;
            if let Some(pass) = step.finished {
                break pass;
            }
        };
        let seconds = started.elapsed().as_secs_f64();
        let cpu = own_cpu_seconds() - cpu_before;
        anyhow::ensure!(
            found == deleted && pass.keys_read == rows as u64,
            "the sweep read {} keys and found {found} deletes; the table has {rows} keys and {deleted} published keys it lacks",
            pass.keys_read
        );
        samples.push(
            &format!("{prefix}.seconds"),
            "delete sweep: one whole pass",
            "s",
            seconds,
        );
        samples.push(
            &format!("{prefix}.keys_per_s"),
            "delete sweep: keys compared per second",
            "keys/s",
            rows as f64 / seconds,
        );
        samples.push(
            &format!("{prefix}.bare_read_seconds"),
            "the same keys read in one query (the database's own cost)",
            "s",
            bare,
        );
        samples.push_ratio(
            &format!("{prefix}.ratio_to_bare_read"),
            "delete sweep ÷ the bare read of its keys (same run)",
            seconds,
            bare,
        );
        samples.push(
            &format!("{prefix}.cpu_seconds_per_million"),
            "delete sweep: sluice's CPU per million keys (the database's apart)",
            "s",
            cpu / millions,
        );
    }
    samples.record(results);
    Ok(())
}

/// The published keys read back from the topic of the snapshot run `names` (`rows` records,
/// one per key), without a checkpoint: what a producer pays at its first start with the sweep.
pub async fn read_back(
    bench: &Bench,
    cli: &Cli,
    names: &IsolatedRun,
    rows: i64,
    results: &mut Results,
) -> anyhow::Result<()> {
    let mut samples = Samples::default();
    for run in 1..=cli.runs {
        tracing::info!(
            "published keys read back from {rows} records, run {run} of {}",
            cli.runs
        );
        let checkpoint = KeyCheckpoint::beside(
            &bench.work.join("no-checkpoint.json"),
            &names.topic,
            KeyKind::Signed,
        );
        let kafka = bench.settings.kafka.clone();
        let started = Instant::now();
        let restored =
            tokio::task::spawn_blocking(move || checkpoint.restore(&kafka, WHOLE_PASS)).await??;
        let seconds = started.elapsed().as_secs_f64();
        anyhow::ensure!(
            restored.keys.len() == rows as u64 && !restored.from_checkpoint,
            "{} keys read back from {} records of {}; the snapshot published {rows}",
            restored.keys.len(),
            restored.records_read,
            names.topic
        );
        samples.push(
            "sweep.read_back.seconds",
            "published keys read back from the topic of a snapshot, no checkpoint",
            "s",
            seconds,
        );
        samples.push(
            "sweep.read_back.records_per_s",
            "published keys read back: records per second",
            "records/s",
            restored.records_read as f64 / seconds,
        );
    }
    samples.record(results);
    Ok(())
}

fn own_cpu_seconds() -> f64 {
    process::cpu_seconds(std::process::id()).unwrap_or_default()
}
