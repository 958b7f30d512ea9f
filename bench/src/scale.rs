//! The throughput phase at one table size, repeated `--runs` times: the producer's snapshot
//! and the consumer group, and at full size the ceilings beside them and a single consumer.
//! Each run has topics, groups and a watermark of its own; a ratio pairs two figures of the same
//! run, and every figure is reported as the median of its runs with their extremes.

use crate::context::Bench;
use crate::machine::{self, CpuShare, CpuWindow};
use crate::report::Results;
use crate::samples::Samples;
use crate::snapshot::Snapshot;
use crate::{exactly_once, group, keyed_ceiling, offsets, perf_test, snapshot, Cli, TABLE};
use sluice_common::kafka::delete_topics_starting_with;
use sluice_common::settings::{Choice, GroupProtocol, IsolatedRun};

/// `cli.runs` runs over a table of `rows` rows: the producer snapshot and the consumer group;
/// with `full`, the ceilings and the single consumer too. Returns the last run's names: its
/// topic and watermark stay for the bulk updates; every earlier run's topics are deleted.
pub async fn run(
    bench: &Bench,
    cli: &Cli,
    rows: i64,
    full: bool,
    results: &mut Results,
) -> anyhow::Result<IsolatedRun> {
    let prefix = if full { "" } else { "growth.small." };
    let mut samples = Samples::default();
    let mut last = None;
    for run in 1..=cli.runs {
        machine::flush_writes();
        let tag = format!("{rows}-{run}");
        tracing::info!("size {rows}, run {run} of {}", cli.runs);
        let names = bench.run_names(TABLE, &format!("snapshot-{tag}"));
        let mut one = OneRun {
            bench,
            samples: &mut samples,
            prefix,
        };
        one.measure(cli, &names, &tag, rows, full).await?;
        if let Some((earlier, earlier_tag)) = last.replace((names, tag)) {
            drop_topics(bench, &earlier, &earlier_tag).await?;
        }
    }
    samples.record(results);
    let (names, _) = last.ok_or_else(|| anyhow::anyhow!("--runs must be at least 1"))?;
    Ok(names)
}

/// Deletes the topics of the run tagged `tag`: a broker holding hundreds of idle partitions
/// from earlier runs spends more on them, and later runs would be timed on a slower broker.
async fn drop_topics(bench: &Bench, names: &IsolatedRun, tag: &str) -> anyhow::Result<()> {
    bench.drop_run_topics(names).await?;
    bench
        .drop_run_topics(&exactly_once::names(bench, tag))
        .await?;
    let run_prefix = bench.topic_prefix();
    for topics in [
        format!("{run_prefix}{}", perf_test_purpose(tag)),
        keyed_ceiling::topic(bench, tag),
    ] {
        delete_topics_starting_with(&bench.settings.kafka, &topics).await?;
    }
    Ok(())
}

/// The `kafka-producer-perf-test` topic's purpose for the run tagged `tag`.
fn perf_test_purpose(tag: &str) -> String {
    format!("perf-{tag}")
}

/// One run's measurements, added to the phase's samples.
struct OneRun<'a> {
    bench: &'a Bench,
    samples: &'a mut Samples,
    /// `growth.small.` for the small table, empty at full size.
    prefix: &'static str,
}

impl OneRun<'_> {
    fn push(&mut self, key: &str, label: &str, unit: &str, value: f64) {
        let key = format!("{}{key}", self.prefix);
        self.samples.push(&key, label, unit, value);
    }

    fn ratio(&mut self, key: &str, label: &str, numerator: f64, denominator: f64) {
        let key = format!("{}{key}", self.prefix);
        self.samples.push_ratio(&key, label, numerator, denominator);
    }

    async fn measure(
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
            self.cpu("producer", "producer snapshot", window.finish());
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
        self.push(
            "cpu.producer_seconds_per_million",
            "producer: CPU time per million rows",
            "s",
            snapshot.usage.cpu_seconds * 1e6 / rows as f64,
        );
        if full {
            self.producer_ceilings(names, tag, rows, snapshot.rows_per_s)
                .await?;
        }

        tracing::info!("consumer group of {} over {rows} records", cli.members);
        let window = CpuWindow::start(&state_dir);
        let group = group::consume(bench, names, cli.members, rows)?;
        if full {
            self.cpu("consumer", "consumer group", window.finish());
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
    fn exactly_once(
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

    /// The bare read, `kafka-producer-perf-test` and the keyed producer, each set against the
    /// snapshot of the same run.
    async fn producer_ceilings(
        &mut self,
        names: &IsolatedRun,
        tag: &str,
        rows: i64,
        producer: f64,
    ) -> anyhow::Result<()> {
        let bench = self.bench;
        let state_dir = machine::state_dir(&bench.root);
        tracing::info!("read ceiling: the producer's pages through sqlx, nothing sent");
        let read = snapshot::read_ceiling(bench, TABLE).await?;
        self.push(
            "ceiling.read_rows_per_s",
            "bare read: the producer's pages through sqlx, nothing sent",
            "rows/s",
            read,
        );
        let record_bytes =
            offsets::average_record_bytes(&bench.settings.kafka, &names.topic, 1000)?;
        self.push(
            "producer.record_bytes",
            "average record (key + value)",
            "bytes",
            record_bytes as f64,
        );
        tracing::info!("kafka-producer-perf-test: {rows} records of {record_bytes} bytes");
        let window = CpuWindow::start(&state_dir);
        let perf = perf_test::producer(bench, &perf_test_purpose(tag), rows, record_bytes).await?;
        self.cpu(
            "producer_perf_test",
            "kafka-producer-perf-test",
            window.finish(),
        );
        self.push(
            "ceiling.producer_perf_test_rows_per_s",
            "kafka-producer-perf-test",
            "records/s",
            perf.records_per_s,
        );
        tracing::info!("keyed producer ceiling: the snapshot's own {rows} records sent again");
        let window = CpuWindow::start(&state_dir);
        let keyed = keyed_ceiling::run(bench, &names.topic, tag, rows).await?;
        self.cpu("producer_keyed", "keyed producer ceiling", window.finish());
        self.push(
            "ceiling.producer_keyed_rows_per_s",
            "keyed producer: the snapshot's own records and keys, the producer's settings",
            "records/s",
            keyed,
        );
        let ceiling = read.min(keyed);
        self.push(
            "ceiling.producer_rows_per_s",
            "producer ceiling: the lower of the bare read and the keyed producer",
            "rows/s",
            ceiling,
        );
        self.ratio(
            "producer.ratio_to_read",
            "producer ÷ bare read",
            producer,
            read,
        );
        self.ratio(
            "producer.ratio_to_perf_test",
            "producer ÷ kafka-producer-perf-test",
            producer,
            perf.records_per_s,
        );
        self.ratio(
            "producer.ratio_to_keyed",
            "producer ÷ keyed producer",
            producer,
            keyed,
        );
        self.ratio(
            "producer.ratio_to_ceiling",
            "producer ÷ lower ceiling",
            producer,
            ceiling,
        );
        Ok(())
    }

    fn group(&mut self, run: &group::GroupRun) {
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

    /// One sluice consumer against one `kafka-consumer-perf-test` consumer, both speaking the
    /// members' group protocol: the headline, one against one. The group is set against both,
    /// and the perf-test also runs at its own default, the classic protocol, when that differs.
    fn consumer_ceilings(
        &mut self,
        cli: &Cli,
        names: &IsolatedRun,
        rows: i64,
        group: f64,
    ) -> anyhow::Result<()> {
        let bench = self.bench;
        tracing::info!("one consumer over {rows} records");
        let mut single = names.clone();
        single.group = format!("{}-single", names.group);
        single.dir = names.dir.join("single");
        let run = group::consume(bench, &single, 1, rows)?;
        std::fs::remove_dir_all(single.out_dir()).ok();
        let one = run.records_per_s;
        self.push(
            "consumer.single_records_per_s",
            "one consumer",
            "records/s",
            one,
        );
        self.push(
            "rss.consumer_single_mb",
            "one consumer: peak RSS",
            "MiB",
            run.usage.iter().map(|u| u.peak_rss_mb).fold(0.0, f64::max),
        );
        self.ratio(
            "consumer.group_vs_single",
            &format!("{} consumers ÷ one", cli.members),
            group,
            one,
        );

        let protocol = bench.settings.consumer.group_protocol;
        let name = protocol.name();
        tracing::info!("kafka-consumer-perf-test over the same {rows} records, {name} protocol");
        let window = CpuWindow::start(&machine::state_dir(&bench.root));
        let perf = perf_test::consumer(bench, &names.topic, rows, protocol)?;
        self.cpu(
            "consumer_perf_test",
            "kafka-consumer-perf-test",
            window.finish(),
        );
        self.push(
            "ceiling.consumer_perf_test_records_per_s",
            &format!("kafka-consumer-perf-test (one consumer, {name} protocol as the members)"),
            "records/s",
            perf.records_per_s,
        );
        self.ratio(
            "consumer.single_ratio_to_perf_test",
            "one consumer ÷ kafka-consumer-perf-test (one consumer): the consumer ceiling",
            one,
            perf.records_per_s,
        );
        self.ratio(
            "consumer.ratio_to_perf_test",
            "consumer group ÷ kafka-consumer-perf-test (one consumer; not a ceiling of a group)",
            group,
            perf.records_per_s,
        );
        if protocol != GroupProtocol::Classic {
            let classic = perf_test::consumer(bench, &names.topic, rows, GroupProtocol::Classic)?;
            self.push(
                "ceiling.consumer_perf_test_classic_records_per_s",
                "kafka-consumer-perf-test at its default, the classic protocol",
                "records/s",
                classic.records_per_s,
            );
            self.ratio(
                "consumer.single_ratio_to_perf_test_classic",
                "one consumer ÷ kafka-consumer-perf-test (classic)",
                one,
                classic.records_per_s,
            );
        }
        Ok(())
    }

    /// How busy the machine was during `phase`, and what Kafka and MariaDB used of it.
    fn cpu(&mut self, phase: &str, label: &str, share: CpuShare) {
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

/// Cost per row at the small size against the full size: 1.0 is linear.
pub fn growth(results: &mut Results) {
    results.ratio(
        "growth.producer_rate_ratio",
        "producer rows/s, full ÷ small (1 = linear cost)",
        "producer.rows_per_s",
        "growth.small.producer.rows_per_s",
    );
    results.ratio(
        "growth.consumer_rate_ratio",
        "consumer records/s, full ÷ small (1 = linear cost)",
        "consumer.records_per_s",
        "growth.small.consumer.records_per_s",
    );
    results.ratio(
        "growth.producer_rss_ratio",
        "producer peak RSS, full ÷ small",
        "rss.producer_mb",
        "growth.small.rss.producer_mb",
    );
    results.ratio(
        "growth.consumer_rss_ratio",
        "consumer peak RSS, full ÷ small",
        "rss.consumer_mb",
        "growth.small.rss.consumer_mb",
    );
}
