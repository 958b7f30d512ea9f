//! Debezium under the latency phase's load: its MariaDB connector (tuned for throughput)
//! streams the latency table into a topic whose records Kafka stamps as it appends them
//! (`LogAppendTime`), while `sluice-loadgen simulate` updates products at `--rate`, `--runs`
//! times beside the binlog source's runs. Every update is timed from its commit (the load
//! generator's journal) to the append of the record that carries it (its update number is the
//! ` #N` its name ends with, found in the record's bytes): to Kafka only, where sluice's
//! figures run to the line in the files.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::cli::{Cli, LATENCY_TABLE};
use crate::context::Bench;
use crate::debezium::{Account, Tuning, Worker};
use crate::load;
use crate::per_change::read_journal;
use crate::report::Results;
use crate::samples::Samples;
use crate::tail::quantile;

/// How long the last updates may take to reach the topic once the load has stopped.
const LAST_RECORDS_PATIENCE: Duration = Duration::from_secs(60);

/// Runs Debezium's latency runs; their figures are `binlog.latency.debezium.*`.
pub async fn run(bench: &Bench, cli: &Cli, results: &mut Results) -> anyhow::Result<()> {
    let account = Account::of(cli);
    let mut worker = Worker::start(bench, Tuning::Tuned).await?;
    let append_time = [("message.timestamp.type", "LogAppendTime")];
    let stream = worker
        .stream(bench, (&account, "latency"), (LATENCY_TABLE, &append_time))
        .await?;
    worker.resume_stream(&stream).await?;
    let mut samples = Samples::default();
    let about = format!("Debezium (tuned), {}/s", cli.rate);
    for run in 1..=cli.runs {
        tracing::info!(
            "latency: Debezium, {} updates/s for {} s, run {run} of {}",
            cli.rate,
            cli.latency_seconds,
            cli.runs
        );
        let names = bench.run_names(LATENCY_TABLE, &format!("latency-debezium-{run}"));
        std::fs::create_dir_all(&names.dir)?;
        let from = stream.watch().ends()?;
        let before = stream.records()?;
        let journal = names.dir.join("updates.journal");
        let mut updates = load::Load::start(
            bench,
            &names.overrides(),
            cli.rate,
            load::connections_for(cli.rate),
            Some(&journal),
            &names.dir.join("loadgen.log"),
        )?;
        let until = Instant::now() + Duration::from_secs(cli.latency_seconds);
        while Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(500)).await;
            updates.ensure_running()?;
        }
        let applied = updates.stop()?;
        let committed = read_journal(&journal)?;
        worker
            .wait_for_records(&stream, before + committed.len() as i64)
            .await?;
        let appended: HashMap<u64, i64> = stream
            .watch()
            .records_since(&bench.settings.kafka, &from, LAST_RECORDS_PATIENCE)?
            .into_iter()
            .filter_map(|(at, value)| Some((update_number(&value)?, at)))
            .collect();
        let mut latencies: Vec<f64> = Vec::with_capacity(committed.len());
        let mut unseen = 0;
        for update in &committed {
            match appended.get(&update.number) {
                Some(at) => {
                    latencies.push((*at - update.committed.timestamp_millis()) as f64);
                }
                None => unseen += 1,
            }
        }
        anyhow::ensure!(
            unseen == 0,
            "{unseen} of {} updates are in no record of Debezium's topic",
            committed.len()
        );
        let mut push = |name: &str, label: &str, unit: &str, value: f64| {
            samples.push(
                &format!("binlog.latency.debezium.{name}"),
                &format!("{about}: {label}"),
                unit,
                value,
            );
        };
        push(
            "updates",
            "updates committed",
            "updates",
            committed.len() as f64,
        );
        push(
            "rate_reached",
            "updates per second reached",
            "updates/s",
            applied.rate(),
        );
        for (name, q) in [("p50", 0.5), ("p99", 0.99), ("max", 1.0)] {
            if let Some(ms) = quantile(&mut latencies, q) {
                push(
                    &format!("change_{name}_ms"),
                    &format!("{name} per change, commit to its record appended in Kafka"),
                    "ms",
                    ms,
                );
            }
        }
    }
    samples.record(results);
    let prefix = stream.prefix().to_owned();
    worker.drop_stream(stream).await?;
    worker.stop()?;
    sluice_common::kafka::delete_topics_starting_with(&bench.settings.kafka, &prefix).await?;
    Ok(())
}

/// The update number a record's name ends with (` #N`), read from its Avro bytes: the name's
/// text is in them as is, and the next field starts with a length or union byte, not a digit.
fn update_number(value: &[u8]) -> Option<u64> {
    let at = value.windows(2).rposition(|pair| pair == b" #")?;
    let digits: Vec<u8> = value[at + 2..]
        .iter()
        .copied()
        .take_while(u8::is_ascii_digit)
        .collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_update_number_ends_the_name() {
        let mut record = vec![0, 0, 0, 0, 7, 14];
        record.extend_from_slice(b"Item 42 #1873");
        record.extend_from_slice(&[2, 8]);
        record.extend_from_slice(b"toys");
        assert_eq!(update_number(&record), Some(1873));
        assert_eq!(update_number(b"no number here"), None);
    }
}
