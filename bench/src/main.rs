//! `sluice-bench`: sluice's throughput, latency and memory on this machine, each beside the
//! ceiling Kafka's own tools (and the bare database read) reach in the same run, so every
//! figure is a ratio that survives a noisy machine. `make bench` runs it; see BENCHMARKS.md.

mod context;
mod dataset;
mod describe;
mod group;
mod latency;
mod offsets;
mod perf_test;
mod process;
mod prometheus_query;
mod report;
mod snapshot;
mod tail;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use context::Bench;
use report::Results;

/// Measures sluice against Kafka's own ceilings on this machine.
#[derive(Debug, Parser)]
#[command(name = "sluice-bench", version)]
struct Cli {
    /// Rows of the full-size table.
    #[arg(long, default_value_t = 1_000_000)]
    rows: i64,
    /// Rows of the small table, to show how the cost grows.
    #[arg(long, default_value_t = 100_000)]
    small_rows: i64,
    /// Members of the consumer group.
    #[arg(long, default_value_t = 5)]
    members: u32,
    /// Updates per second during the latency runs.
    #[arg(long, default_value_t = 2000)]
    rate: u32,
    /// How long each latency run updates products, in seconds (0 skips the latency runs).
    #[arg(long, default_value_t = 60)]
    latency_seconds: u64,
    /// Prometheus that scrapes the pipeline (the stack's).
    #[arg(long, default_value = "http://127.0.0.1:9090")]
    prometheus: String,
    /// Where the figures go as JSON.
    #[arg(long, default_value = "bench/results.json")]
    results: PathBuf,
    /// The Markdown file whose results section is replaced (omit to leave it alone).
    #[arg(long)]
    markdown: Option<PathBuf>,
    /// Logs, watermarks and output files of the run.
    #[arg(long, default_value = ".stack/bench")]
    work: PathBuf,
    #[command(flatten)]
    log: sluice_common::logging::LogArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    sluice_common::logging::init(&cli.log);
    sluice_common::exit::finish("sluice-bench", run(cli).await)
}

const TABLE: &str = "sluice_bench_product";
const LATENCY_TABLE: &str = "sluice_bench_latency";

async fn run(cli: Cli) -> anyhow::Result<()> {
    anyhow::ensure!(
        0 < cli.small_rows && cli.small_rows < cli.rows,
        "--small-rows must be above 0 and below --rows"
    );
    let root = std::env::current_dir()?;
    let bench = Bench::new(
        &root,
        &cli.work
            .join(chrono::Utc::now().format("%Y%m%dT%H%M%S").to_string()),
    )
    .await?;
    let mut results = Results::default();
    describe::run(&bench, &cli, &mut results).await;

    dataset::recreate(&bench.pool, TABLE).await?;
    let mut loaded = 0;
    for (rows, full) in [(cli.small_rows, false), (cli.rows, true)] {
        tracing::info!("loading {} rows into {TABLE} (not timed)", rows - loaded);
        dataset::load(&bench.pool, TABLE, loaded + 1, rows - loaded).await?;
        loaded = rows;
        // Rows younger than the commit lag are not read yet; a snapshot starts after it.
        let lag = bench.settings.producer.commit_lag_ms;
        tokio::time::sleep(Duration::from_millis(lag + 100)).await;
        scale(&bench, &cli, rows, full, &mut results).await?;
    }
    growth(&mut results);
    if cli.latency_seconds > 0 {
        latency_runs(&bench, &cli, &mut results).await?;
    }
    results.write(&cli.results, cli.markdown.as_deref())?;
    println!("{}", results.markdown());
    tracing::info!("figures written to {}", cli.results.display());
    Ok(())
}

/// The producer snapshot and the consumer group over a table of `rows` rows; with `full`, the
/// ceilings and the single consumer too.
async fn scale(
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

    tracing::info!("producer snapshot of {rows} rows");
    let snapshot = snapshot::producer(bench, &names, rows)?;
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
            "bare keyset read (sqlx, nothing sent)",
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
        let perf = perf_test::producer(bench, rows, record_bytes).await?;
        results.set(
            "ceiling.producer_perf_test_rows_per_s",
            "kafka-producer-perf-test",
            "records/s",
            perf.records_per_s,
        );
        results.set(
            "ceiling.producer_rows_per_s",
            "producer ceiling: the lower of the two",
            "rows/s",
            read.min(perf.records_per_s),
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
            "producer.ratio_to_ceiling",
            "producer ÷ lower ceiling",
            "producer.rows_per_s",
            "ceiling.producer_rows_per_s",
        );
    }

    tracing::info!("consumer group of {} over {rows} records", cli.members);
    let group_names = names.clone();
    let run = group::consume(bench, &group_names, cli.members, rows)?;
    record_group(
        results,
        &key("consumer"),
        &key("rss.consumer_mb"),
        &key("cpu.consumer"),
        &run,
    );
    std::fs::remove_dir_all(group_names.out_dir()).ok();

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

        tracing::info!("consumer ceiling: kafka-consumer-perf-test over the same {rows} records");
        let perf = perf_test::consumer(bench, &names.topic, rows)?;
        results.set(
            "ceiling.consumer_perf_test_records_per_s",
            "kafka-consumer-perf-test (one consumer)",
            "records/s",
            perf.records_per_s,
        );
        results.ratio(
            "consumer.ratio_to_perf_test",
            "consumer group ÷ kafka-consumer-perf-test",
            "consumer.records_per_s",
            "ceiling.consumer_perf_test_records_per_s",
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

/// Cost per row at the small size against the full size: 1.0 is linear.
fn growth(results: &mut Results) {
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

/// The latency runs: with the configured commit lag, then with none, so what sluice adds above
/// the configured floor (commit lag plus poll interval) shows.
async fn latency_runs(bench: &Bench, cli: &Cli, results: &mut Results) -> anyhow::Result<()> {
    dataset::recreate(&bench.pool, LATENCY_TABLE).await?;
    dataset::load(&bench.pool, LATENCY_TABLE, 1, latency::PRODUCTS).await?;
    let configured = bench.settings.producer.commit_lag_ms;
    let poll = bench.settings.producer.poll_interval_ms as f64;
    for (lag, prefix) in [(configured, "latency"), (0, "latency.lag0")] {
        tracing::info!(
            "latency: {} updates/s for {} s, commit_lag_ms {lag}",
            cli.rate,
            cli.latency_seconds
        );
        let load = latency::Load {
            rate: cli.rate,
            seconds: cli.latency_seconds,
            members: cli.members,
            commit_lag_ms: lag,
        };
        let seen = latency::measure(bench, LATENCY_TABLE, load, &cli.prometheus).await?;
        let key = |name: &str| format!("{prefix}.{name}");
        let about = format!("commit_lag_ms {lag}");
        results.set(
            &key("commit_lag_ms"),
            &format!("latency run: {about}"),
            "ms",
            lag as f64,
        );
        results.set(
            &key("records"),
            &format!("{about}: lines timed"),
            "lines",
            seen.records as f64,
        );
        results.set(
            &key("p50_ms"),
            &format!("{about}: p50 commit to line"),
            "ms",
            seen.p50_ms,
        );
        results.set(
            &key("p99_ms"),
            &format!("{about}: p99 commit to line"),
            "ms",
            seen.p99_ms,
        );
        results.set(
            &key("max_ms"),
            &format!("{about}: max commit to line"),
            "ms",
            seen.max_ms,
        );
        results.set(
            &key("target_p99_ms"),
            &format!("{about}: p99 target (lag + poll + 100 ms)"),
            "ms",
            lag as f64 + poll + 100.0,
        );
        results.set(
            &key("overhead_p99_ms"),
            &format!("{about}: p99 above lag + poll interval"),
            "ms",
            seen.p99_ms - lag as f64 - poll,
        );
        results.set(
            &key("prometheus_p50_ms"),
            &format!("{about}: p50 from the Prometheus histogram"),
            "ms",
            seen.prometheus_p50_ms,
        );
        results.set(
            &key("prometheus_p99_ms"),
            &format!("{about}: p99 from the Prometheus histogram"),
            "ms",
            seen.prometheus_p99_ms,
        );
        results.ratio(
            &key("prometheus_p99_ratio"),
            &format!("{about}: Prometheus p99 ÷ measured p99"),
            &key("prometheus_p99_ms"),
            &key("p99_ms"),
        );
    }
    Ok(())
}
