//! Three brokers: the snapshot, the group and the backlog catch-up on the stack's three-node
//! cluster, every topic with three replicas and `min.insync.replicas` 2 (what sluice chooses on
//! three brokers when its settings leave replication at 0, as shipped), beside Kafka's
//! perf-test producer on the same cluster and topics replicated alike. The stack is switched to
//! the cluster for the phase (`stack/sluice-stack down`, then `up` with
//! `SLUICE_STACK_KAFKA_BROKERS=3`) and back to one broker after it, failed or not, unless it
//! already ran three. Each run pairs a snapshot with a perf-test run of as many records of the
//! same size just after it.

use std::process::Command;

use sluice_common::kafka::Replication;
use sluice_common::mysql::quote_identifier;

use crate::cli::{Cli, WARM_UP_RECORDS};
use crate::context::Bench;
use crate::group;
use crate::report::Results;
use crate::samples::Samples;
use crate::{backlog, dataset, describe, machine, offsets, perf_test, snapshot, source};

/// The table the cluster's snapshots read.
const TABLE: &str = "sluice_bench_cluster";
/// Brokers of the stack's cluster.
pub const BROKERS: usize = 3;

/// Runs the phase on the cluster, switching the stack to it and back when needed.
pub async fn run(bench: &Bench, cli: &Cli, results: &mut Results) -> anyhow::Result<()> {
    let switch = describe::brokers(bench) != BROKERS;
    if switch {
        tracing::info!("cluster: the stack restarts with {BROKERS} brokers");
        restart_stack(bench, BROKERS)?;
    }
    let measured = measure(bench, cli, results).await;
    if switch {
        tracing::info!("cluster: the stack restarts with one broker, as it was");
        restart_stack(bench, 1)?;
    }
    measured
}

async fn measure(bench: &Bench, cli: &Cli, results: &mut Results) -> anyhow::Result<()> {
    let brokers = describe::brokers(bench);
    anyhow::ensure!(
        brokers == BROKERS,
        "the cluster answers with {brokers} brokers, not {BROKERS}"
    );
    let replication = Replication::of(&bench.settings.kafka, brokers);
    results.set(
        "cluster.brokers",
        "brokers of the cluster",
        "",
        brokers as f64,
    );
    results.set(
        "cluster.replication_factor",
        "replicas of every topic of the cluster phase",
        "",
        f64::from(replication.factor),
    );
    results.set(
        "cluster.min_insync_replicas",
        "min.insync.replicas of every topic of the cluster phase",
        "",
        f64::from(replication.min_insync_replicas),
    );
    tracing::info!("cluster: warming the brokers up: {WARM_UP_RECORDS} records (not timed)");
    perf_test::producer(bench, "cluster-warm-up", WARM_UP_RECORDS, 64).await?;

    let rows = cli.rows;
    tracing::info!("cluster: loading {rows} rows into {TABLE} (not timed)");
    dataset::recreate(&bench.pool, TABLE).await?;
    dataset::load(&bench.pool, TABLE, 1, rows).await?;
    dataset::settle_loaded(bench).await;
    let mut samples = Samples::default();
    for run in 1..=cli.runs {
        tracing::info!("cluster: run {run} of {}", cli.runs);
        one_run(bench, cli, run, &mut samples).await?;
    }
    samples.record(results);
    sqlx::query(&format!("DROP TABLE {}", quote_identifier(TABLE)))
        .execute(&bench.pool)
        .await?;
    backlog::run(
        bench,
        cli,
        "cluster.backlog",
        source::Source::Polled,
        results,
    )
    .await
}

/// One snapshot, then a perf-test run of as many records of the same size, then the group over
/// the snapshot's topic.
async fn one_run(bench: &Bench, cli: &Cli, run: u32, samples: &mut Samples) -> anyhow::Result<()> {
    let rows = cli.rows;
    let names = bench.run_names(TABLE, &format!("cluster-{run}"));
    let kafka = &bench.settings.kafka;
    let window = machine::CpuWindow::start(&machine::state_dir(&bench.root));
    let producer = snapshot::producer(bench, &names, rows)?;
    let share = window.finish();
    let record_bytes = offsets::average_record_bytes(kafka, &names.topic, 1000)?;
    tracing::info!("cluster: kafka-producer-perf-test, {rows} records of {record_bytes} bytes");
    let perf_purpose = format!("cluster-perf-{run}");
    let perf_rate = perf_test::producer(bench, &perf_purpose, rows, record_bytes)
        .await?
        .records_per_s;
    samples.push(
        "cluster.producer.rows_per_s",
        "cluster: producer snapshot throughput",
        "rows/s",
        producer.rows_per_s,
    );
    samples.push(
        "cluster.ceiling.producer_perf_test_rows_per_s",
        "cluster: kafka-producer-perf-test, as many records of the same size",
        "records/s",
        perf_rate,
    );
    samples.push_ratio(
        "cluster.producer.ratio_to_perf_test",
        "cluster: producer snapshot ÷ kafka-producer-perf-test, same run",
        producer.rows_per_s,
        perf_rate,
    );
    samples.push(
        "cluster.rss.producer_mb",
        "cluster: producer peak RSS",
        "MiB",
        producer.usage.peak_rss_mb,
    );
    if let Some(seconds) = share.machine_cpu_seconds() {
        samples.push(
            "cluster.machine.producer.cpu_seconds_per_million",
            "cluster: producer snapshot, the whole machine's CPU per million rows",
            "s",
            seconds * 1e6 / rows as f64,
        );
    }

    group::consume_into(
        bench,
        &names,
        cli.members,
        rows,
        samples,
        ("cluster", "cluster"),
    )?;
    bench.drop_run_topics(&names).await?;
    perf_test::drop_topic(bench, &perf_purpose).await?;
    Ok(())
}

/// `stack/sluice-stack down`, then `up` with `brokers` Kafka brokers; fails with the script's
/// output when either fails.
fn restart_stack(bench: &Bench, brokers: usize) -> anyhow::Result<()> {
    for (verb, brokers) in [("down", None), ("up", Some(brokers))] {
        let mut command = Command::new(bench.root.join("stack/sluice-stack"));
        command.arg(verb).current_dir(&bench.root);
        if let Some(brokers) = brokers {
            command.env("SLUICE_STACK_KAFKA_BROKERS", brokers.to_string());
        }
        let output = command.output()?;
        anyhow::ensure!(
            output.status.success(),
            "stack/sluice-stack {verb} failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}
