//! One run of the throughput phase: the producer's snapshot and the consumer group measured,
//! added to the phase's samples (see `ceilings` for the ceilings measured beside them).

use sluice_common::settings::IsolatedRun;

use crate::cli::Cli;
use crate::context::Bench;
use crate::group::{self, Delivery};
use crate::machine::{self, CpuShare, CpuWindow};
use crate::samples::Samples;
use crate::snapshot::Snapshot;
use crate::{exactly_once, snapshot};

/// The `kafka-producer-perf-test` topic's purpose for the run tagged `tag`.
pub(super) fn perf_test_purpose(tag: &str) -> String {
    format!("perf-{tag}")
}

/// One run's measurements, added to the phase's samples.
pub(super) struct OneRun<'a> {
    pub(super) bench: &'a Bench,
    pub(super) samples: &'a mut Samples,
    /// `growth.small.` for the small table, empty at full size.
    pub(super) prefix: &'static str,
}

impl OneRun<'_> {
    pub(super) fn push(&mut self, key: &str, label: &str, unit: &str, value: f64) {
        let key = format!("{}{key}", self.prefix);
        self.samples.push(&key, label, unit, value);
    }

    pub(super) fn ratio(&mut self, key: &str, label: &str, numerator: f64, denominator: f64) {
        let key = format!("{}{key}", self.prefix);
        self.samples.push_ratio(&key, label, numerator, denominator);
    }

    pub(super) async fn measure(
        &mut self,
        cli: &Cli,
        names: &IsolatedRun,
        tag: &str,
        rows: i64,
        full: bool,
    ) -> anyhow::Result<()> {
        let bench = self.bench;
        let state_dir = machine::state_dir(&bench.root);
        tracing::info!("producer snapshot of {rows} rows");
        let window = CpuWindow::start(&state_dir);
        let snapshot = snapshot::producer(bench, names, rows)?;
        if full {
            self.cpu("producer", "producer snapshot", window.finish(), rows);
        }
        self.push("producer.rows", "rows in the table", "rows", rows as f64);
        self.push(
            "producer.seconds",
            "producer: start to last acknowledgement",
            "s",
            snapshot.seconds,
        );
        self.push(
            "producer.rows_per_s",
            "producer: snapshot throughput",
            "rows/s",
            snapshot.rows_per_s,
        );
        self.push(
            "rss.producer_mb",
            "producer: peak RSS",
            "MiB",
            snapshot.usage.peak_rss_mb,
        );
        self.push(
            "cpu.producer_seconds",
            "producer: CPU time",
            "s",
            snapshot.usage.cpu_seconds,
        );
        let cpu_per_million = snapshot.usage.cpu_seconds * 1e6 / rows as f64;
        self.push(
            "cpu.producer_seconds_per_million",
            "producer: CPU time per million rows",
            "s",
            cpu_per_million,
        );
        if full {
            self.producer_ceilings(names, tag, rows, snapshot.rows_per_s, cpu_per_million)
                .await?;
        }

        tracing::info!("consumer group of {} over {rows} records", cli.members);
        let window = CpuWindow::start(&state_dir);
        let group = group::consume(bench, names, cli.members, rows, Delivery::AtLeastOnce)?;
        if full {
            self.cpu("consumer", "consumer group", window.finish(), rows);
        }
        self.group(&group);
        std::fs::remove_dir_all(names.out_dir()).ok();
        if full {
            self.consumer_ceilings(cli, names, rows, group.records_per_s)?;
            let exactly_once = exactly_once::run(bench, tag, rows, cli.members)?;
            self.exactly_once(&exactly_once, &snapshot, &group);
        }
        Ok(())
    }

    /// The exactly-once run's rates, each set against the at-least-once one of this run.
    pub(super) fn exactly_once(
        &mut self,
        run: &exactly_once::ExactlyOnceRun,
        producer: &Snapshot,
        group: &group::GroupRun,
    ) {
        self.push(
            "exactly_once.producer.rows_per_s",
            "exactly once: producer snapshot throughput",
            "rows/s",
            run.producer.rows_per_s,
        );
        self.ratio(
            "exactly_once.producer_ratio",
            "exactly once ÷ at least once: producer snapshot throughput",
            run.producer.rows_per_s,
            producer.rows_per_s,
        );
        self.push(
            "exactly_once.consumer.records_per_s",
            "exactly once: consumer group throughput",
            "records/s",
            run.group.records_per_s,
        );
        self.ratio(
            "exactly_once.consumer_ratio",
            "exactly once ÷ at least once: consumer group throughput",
            run.group.records_per_s,
            group.records_per_s,
        );
        self.push(
            "exactly_once.rss.producer_mb",
            "exactly once: producer peak RSS",
            "MiB",
            run.producer.usage.peak_rss_mb,
        );
        self.push(
            "exactly_once.rss.consumer_mb",
            "exactly once: highest peak RSS of the members",
            "MiB",
            run.group
                .usage
                .iter()
                .map(|u| u.peak_rss_mb)
                .fold(0.0, f64::max),
        );
    }

    pub(super) fn group(&mut self, run: &group::GroupRun) {
        self.push(
            "consumer.seconds",
            "consumer group: start to last commit",
            "s",
            run.seconds,
        );
        self.push(
            "consumer.records_per_s",
            "consumer group: throughput",
            "records/s",
            run.records_per_s,
        );
        if let Some(join) = run.join_seconds {
            self.push(
                "consumer.join_seconds",
                "consumer group: start until every member has partitions",
                "s",
                join,
            );
        }
        let peak = run.usage.iter().map(|u| u.peak_rss_mb).fold(0.0, f64::max);
        self.push(
            "rss.consumer_mb",
            "consumer: highest peak RSS of the members",
            "MiB",
            peak,
        );
        let cpu: f64 = run.usage.iter().map(|u| u.cpu_seconds).sum();
        self.push(
            "cpu.consumer_seconds",
            "consumers: CPU time, all members",
            "s",
            cpu,
        );
    }

    /// How busy the machine was during `phase` over `records` rows or records, its whole CPU
    /// per million of them, and what Kafka and MariaDB used of it.
    pub(super) fn cpu(&mut self, phase: &str, label: &str, share: CpuShare, records: i64) {
        if let Some(seconds) = share.machine_cpu_seconds().filter(|_| records > 0) {
            self.push(
                &format!("machine.{phase}.cpu_seconds_per_million"),
                &format!("{label}: the whole machine's CPU per million"),
                "s",
                seconds * 1e6 / records as f64,
            );
        }
        if let Some(busy) = share.busy {
            self.push(
                &format!("machine.{phase}.busy_percent"),
                &format!("{label}: machine busy ({} cores)", share.cores),
                "%",
                busy * 100.0,
            );
        }
        for (server, seconds) in share.servers {
            self.push(
                &format!("machine.{phase}.{server}_cpu_seconds"),
                &format!("{label}: {server} CPU time"),
                "s",
                seconds,
            );
        }
    }
}
