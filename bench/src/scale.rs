//! The throughput phase at one table size: the producer's snapshot and the consumer group,
//! and at full size the ceilings beside them and a single consumer.

use crate::context::Bench;
use crate::machine::{self, CpuShare, CpuWindow};
use crate::report::Results;
use crate::{group, keyed_ceiling, offsets, perf_test, snapshot, Cli, TABLE};
use sluice_common::settings::GroupProtocol;

/// The producer snapshot and the consumer group over a table of `rows` rows; with `full`, the
/// ceilings and the single consumer too.
pub async fn run(
    bench: &Bench,
    cli: &Cli,
    rows: i64,
    full: bool,
    results: &mut Results,
) -> anyhow::Result<()> {
    let prefix = if full {
        String::new()
    } else {
        "growth.small.".to_owned()
    };
    let key = |name: &str| format!("{prefix}{name}");
    let names = bench.run_names(TABLE, &format!("snapshot-{rows}"));
    let state_dir = machine::state_dir(&bench.root);

    tracing::info!("producer snapshot of {rows} rows");
    let window = CpuWindow::start(&state_dir);
    let snapshot = snapshot::producer(bench, &names, rows)?;
    if full {
        record_cpu(results, "producer", "producer snapshot", window.finish());
    }
    results.set(
        &key("producer.rows"),
        "rows in the table",
        "rows",
        rows as f64,
    );
    results.set(
        &key("producer.seconds"),
        "producer: start to last acknowledgement",
        "s",
        snapshot.seconds,
    );
    results.set(
        &key("producer.rows_per_s"),
        "producer: snapshot throughput",
        "rows/s",
        snapshot.rows_per_s,
    );
    results.set(
        &key("rss.producer_mb"),
        "producer: peak RSS",
        "MiB",
        snapshot.usage.peak_rss_mb,
    );
    results.set(
        &key("cpu.producer_seconds"),
        "producer: CPU time",
        "s",
        snapshot.usage.cpu_seconds,
    );

    if full {
        tracing::info!("read ceiling: the producer's pages through sqlx, nothing sent");
        let read = snapshot::read_ceiling(bench, TABLE).await?;
        results.set(
            "ceiling.read_rows_per_s",
            "bare read: the producer's pages through sqlx, nothing sent",
            "rows/s",
            read,
        );
        let record_bytes =
            offsets::average_record_bytes(&bench.settings.kafka, &names.topic, 1000)?;
        results.set(
            "producer.record_bytes",
            "average record (key + value)",
            "bytes",
            record_bytes as f64,
        );
        tracing::info!(
            "producer ceiling: kafka-producer-perf-test, {rows} records of {record_bytes} bytes"
        );
        let window = CpuWindow::start(&state_dir);
        let perf = perf_test::producer(bench, "perf", rows, record_bytes).await?;
        record_cpu(
            results,
            "producer_perf_test",
            "kafka-producer-perf-test",
            window.finish(),
        );
        results.set(
            "ceiling.producer_perf_test_rows_per_s",
            "kafka-producer-perf-test",
            "records/s",
            perf.records_per_s,
        );
        tracing::info!("keyed producer ceiling: the snapshot's own {rows} records sent again");
        let window = CpuWindow::start(&state_dir);
        let keyed = keyed_ceiling::run(bench, &names.topic, rows).await?;
        record_cpu(
            results,
            "producer_keyed",
            "keyed producer ceiling",
            window.finish(),
        );
        results.set(
            "ceiling.producer_keyed_rows_per_s",
            "keyed producer: the snapshot's own records and keys, the producer's settings",
            "records/s",
            keyed,
        );
        results.set(
            "ceiling.producer_rows_per_s",
            "producer ceiling: the lower of the bare read and the keyed producer",
            "rows/s",
            read.min(keyed),
        );
        results.ratio(
            "producer.ratio_to_read",
            "producer ÷ bare read",
            "producer.rows_per_s",
            "ceiling.read_rows_per_s",
        );
        results.ratio(
            "producer.ratio_to_perf_test",
            "producer ÷ kafka-producer-perf-test",
            "producer.rows_per_s",
            "ceiling.producer_perf_test_rows_per_s",
        );
        results.ratio(
            "producer.ratio_to_keyed",
            "producer ÷ keyed producer",
            "producer.rows_per_s",
            "ceiling.producer_keyed_rows_per_s",
        );
        results.ratio(
            "producer.ratio_to_ceiling",
            "producer ÷ lower ceiling",
            "producer.rows_per_s",
            "ceiling.producer_rows_per_s",
        );
    }

    tracing::info!("consumer group of {} over {rows} records", cli.members);
    let window = CpuWindow::start(&state_dir);
    let run = group::consume(bench, &names, cli.members, rows)?;
    if full {
        record_cpu(results, "consumer", "consumer group", window.finish());
    }
    record_group(
        results,
        &key("consumer"),
        &key("rss.consumer_mb"),
        &key("cpu.consumer"),
        &run,
    );
    std::fs::remove_dir_all(names.out_dir()).ok();

    if full {
        tracing::info!("one consumer over {rows} records");
        let mut single = names.clone();
        single.group = format!("{}-single", names.group);
        single.dir = names.dir.join("single");
        let run = group::consume(bench, &single, 1, rows)?;
        results.set(
            "consumer.single_records_per_s",
            "one consumer",
            "records/s",
            run.records_per_s,
        );
        results.set(
            "rss.consumer_single_mb",
            "one consumer: peak RSS",
            "MiB",
            run.usage.iter().map(|u| u.peak_rss_mb).fold(0.0, f64::max),
        );
        results.ratio(
            "consumer.group_vs_single",
            &format!("{} consumers ÷ one", cli.members),
            "consumer.records_per_s",
            "consumer.single_records_per_s",
        );
        std::fs::remove_dir_all(single.out_dir()).ok();

        consumer_ceilings(bench, &names.topic, rows, results)?;
    }
    Ok(())
}

/// `kafka-consumer-perf-test` over the same records, speaking the members' group protocol (the
/// ceiling), and at its own default, the classic protocol, when that differs.
fn consumer_ceilings(
    bench: &Bench,
    topic: &str,
    rows: i64,
    results: &mut Results,
) -> anyhow::Result<()> {
    let protocol = bench.settings.consumer.group_protocol;
    let name = protocol.name();
    tracing::info!(
        "consumer ceiling: kafka-consumer-perf-test over the same {rows} records, {name} protocol"
    );
    let window = CpuWindow::start(&machine::state_dir(&bench.root));
    let perf = perf_test::consumer(bench, topic, rows, protocol)?;
    record_cpu(
        results,
        "consumer_perf_test",
        "kafka-consumer-perf-test",
        window.finish(),
    );
    results.set(
        "ceiling.consumer_perf_test_records_per_s",
        &format!("kafka-consumer-perf-test (one consumer, {name} protocol as the members)"),
        "records/s",
        perf.records_per_s,
    );
    results.ratio(
        "consumer.ratio_to_perf_test",
        "consumer group ÷ kafka-consumer-perf-test",
        "consumer.records_per_s",
        "ceiling.consumer_perf_test_records_per_s",
    );
    if protocol != GroupProtocol::Classic {
        let classic = perf_test::consumer(bench, topic, rows, GroupProtocol::Classic)?;
        results.set(
            "ceiling.consumer_perf_test_classic_records_per_s",
            "kafka-consumer-perf-test at its default, the classic protocol",
            "records/s",
            classic.records_per_s,
        );
        results.ratio(
            "consumer.ratio_to_perf_test_classic",
            "consumer group ÷ kafka-consumer-perf-test (classic)",
            "consumer.records_per_s",
            "ceiling.consumer_perf_test_classic_records_per_s",
        );
    }
    Ok(())
}

fn record_group(
    results: &mut Results,
    consumer: &str,
    rss: &str,
    cpu: &str,
    run: &group::GroupRun,
) {
    results.set(
        &format!("{consumer}.seconds"),
        "consumer group: start to last commit",
        "s",
        run.seconds,
    );
    results.set(
        &format!("{consumer}.records_per_s"),
        "consumer group: throughput",
        "records/s",
        run.records_per_s,
    );
    if let Some(join) = run.join_seconds {
        results.set(
            &format!("{consumer}.join_seconds"),
            "consumer group: start until every member has partitions",
            "s",
            join,
        );
    }
    let peak = run.usage.iter().map(|u| u.peak_rss_mb).fold(0.0, f64::max);
    results.set(
        rss,
        "consumer: highest peak RSS of the members",
        "MiB",
        peak,
    );
    let cpu_total: f64 = run.usage.iter().map(|u| u.cpu_seconds).sum();
    results.set(
        &format!("{cpu}_seconds"),
        "consumers: CPU time, all members",
        "s",
        cpu_total,
    );
}

/// How busy the machine was during `phase`, and what Kafka and MariaDB used of it.
fn record_cpu(results: &mut Results, phase: &str, label: &str, share: CpuShare) {
    if let Some(busy) = share.busy {
        results.set(
            &format!("machine.{phase}.busy_percent"),
            &format!("{label}: machine busy ({} cores)", share.cores),
            "%",
            busy * 100.0,
        );
    }
    for (server, seconds) in share.servers {
        results.set(
            &format!("machine.{phase}.{server}_cpu_seconds"),
            &format!("{label}: {server} CPU time"),
            "s",
            seconds,
        );
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
