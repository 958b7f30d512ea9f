//! Debezium under the latency phase's load: its MariaDB connector (tuned for throughput)
//! streams the latency table into a topic whose records Kafka stamps as it appends them
//! (`LogAppendTime`), while `sluice-loadgen simulate` updates products at `--rate`, one run
//! after each of the binlog source's exactly-once runs. Every update is timed from its commit (the load
//! generator's journal) to the append of the record that carries it (its update number is the
//! ` #N` its name ends with, found in the record's bytes): to Kafka only, where sluice's
//! figures run to the line in the files.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::cli::{Cli, LATENCY_TABLE};
use crate::context::Bench;
use crate::debezium::{Account, Stream, Tuning, Worker};
use crate::load;
use crate::per_change::read_journal;
use crate::report::Results;
use crate::samples::Samples;
use crate::tail::quantile;

/// How long the last updates may take to reach the topic once the load has stopped.
const LAST_RECORDS_PATIENCE: Duration = Duration::from_secs(60);

/// Debezium's connector beside the binlog source's exactly-once latency runs: stopped while
/// sluice runs, one run of its own after each of sluice's, so both meet the same drift of a
/// noisy machine. Its figures are `binlog.latency.debezium.*`.
pub struct PeerLatency {
    worker: Worker,
    stream: Stream,
    samples: Samples,
    /// Updates of the latency table committed while the connector was stopped: it reads them
    /// first when it resumes, before its own run's load starts.
    meanwhile: i64,
}

impl PeerLatency {
    /// Starts the Connect worker and a connector following the latency table from the binary
    /// log's current position, stopped until its first run.
    pub async fn start(bench: &Bench, cli: &Cli) -> anyhow::Result<Self> {
        let account = Account::of(cli);
        let mut worker = Worker::start(bench, Tuning::Tuned).await?;
        let append_time = [("message.timestamp.type", "LogAppendTime")];
        let stream = worker
            .stream(bench, (&account, "latency"), (LATENCY_TABLE, &append_time))
            .await?;
        Ok(Self {
            worker,
            stream,
            samples: Samples::default(),
            meanwhile: 0,
        })
    }

    /// `updates` of the latency table were committed while the connector was stopped (by a run
    /// of sluice's).
    pub fn changed_meanwhile(&mut self, updates: usize) {
        self.meanwhile += updates as i64;
    }

    /// Run `run` of `--runs`: the connector resumes, reads what changed while it was stopped,
    /// then streams `--rate` updates for `--latency-seconds`, each timed from its commit to
    /// its record's append; then it stops again.
    pub async fn run(&mut self, bench: &Bench, cli: &Cli, run: u32) -> anyhow::Result<()> {
        tracing::info!(
            "latency: Debezium, {} updates/s for {} s, run {run} of {}",
            cli.rate,
            cli.latency_seconds,
            cli.runs
        );
        let behind = self.stream.records()? + self.meanwhile;
        self.worker.resume_stream(&self.stream).await?;
        self.worker.wait_for_records(&self.stream, behind).await?;
        self.meanwhile = 0;
        let names = bench.run_names(LATENCY_TABLE, &format!("latency-debezium-{run}"));
        std::fs::create_dir_all(&names.dir)?;
        let from = self.stream.watch().ends()?;
        let before = self.stream.records()?;
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
        self.worker
            .wait_for_records(&self.stream, before + committed.len() as i64)
            .await?;
        let appended: HashMap<u64, i64> = self
            .stream
            .watch()
            .records_since(&bench.settings.kafka, &from, LAST_RECORDS_PATIENCE)?
            .into_iter()
            .filter_map(|(at, value)| Some((update_number(&value)?, at)))
            .collect();
        self.worker.stop_stream(&self.stream).await?;
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
        let about = format!("Debezium (tuned), {}/s", cli.rate);
        let mut push = |name: &str, label: &str, unit: &str, value: f64| {
            self.samples.push(
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
        Ok(())
    }

    /// Records the runs' figures; drops the connector, its topics and the worker.
    pub async fn finish(self, bench: &Bench, results: &mut Results) -> anyhow::Result<()> {
        self.samples.record(results);
        let prefix = self.stream.prefix().to_owned();
        self.worker.drop_stream(self.stream).await?;
        self.worker.stop()?;
        sluice_common::kafka::delete_topics_starting_with(&bench.settings.kafka, &prefix).await?;
        Ok(())
    }
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
