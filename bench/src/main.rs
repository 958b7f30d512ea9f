//! `sluice-bench`: sluice's throughput, latency and memory on this machine, each beside the
//! ceiling Kafka's own tools (and the bare database read) reach in the same run, so every
//! figure is a ratio that survives a noisy machine. `make bench` runs it; see BENCHMARKS.md.

mod bulk_update;
mod context;
mod dataset;
mod debezium;
mod delivery;
mod describe;
mod exactly_once;
mod follow;
mod group;
mod keyed_ceiling;
mod large;
mod latency;
mod latency_runs;
mod load;
mod machine;
mod offsets;
mod peer;
mod per_change;
mod perf_test;
mod process;
mod prometheus_query;
mod report;
mod running;
mod samples;
mod scale;
mod snapshot;
mod sweep;
mod tail;
mod targets;
mod wide;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;

use context::{Bench, TOPIC_PREFIX};
use report::Results;
use sluice_common::kafka::delete_topics_starting_with;

/// Measures sluice against Kafka's own ceilings on this machine.
#[derive(Debug, Parser)]
#[command(name = "sluice-bench", version)]
pub struct Cli {
    /// Rows of the full-size table.
    #[arg(long, default_value_t = 1_000_000)]
    pub rows: i64,
    /// Rows of the small table, to show how the cost grows.
    #[arg(long, default_value_t = 100_000)]
    pub small_rows: i64,
    /// Rows the table grows to once, beyond MariaDB's buffer pool, for a snapshot and a bulk
    /// update (0 skips it).
    #[arg(long, default_value_t = 10_000_000)]
    pub large_rows: i64,
    /// Rows of the wide table (a ~2 KB description each), at most `--rows` (0 skips it).
    #[arg(long, default_value_t = 200_000)]
    pub wide_rows: i64,
    /// Members of the consumer group.
    #[arg(long, default_value_t = 5)]
    pub members: u32,
    /// Updates per second during the latency runs.
    #[arg(long, default_value_t = 2000)]
    pub rate: u32,
    /// Updates per second during the latency runs at a high rate.
    #[arg(long, default_value_t = 20_000)]
    pub high_rate: u32,
    /// Runs of every phase; the median is reported with its extremes, every run kept.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub runs: u32,
    /// How long each latency run updates products, in seconds (0 skips the latency runs).
    #[arg(long, default_value_t = 12)]
    pub latency_seconds: u64,
    /// How long each step of a follow-capacity run updates products, in seconds (0 skips the
    /// follow runs).
    #[arg(long, default_value_t = 60)]
    pub follow_seconds: u64,
    /// Prometheus that scrapes the pipeline (the stack's).
    #[arg(long, default_value = "http://127.0.0.1:9090")]
    pub prometheus: String,
    /// Where the figures go as JSON.
    #[arg(long, default_value = "bench/results.json")]
    pub results: PathBuf,
    /// The Markdown file whose results section is replaced (omit to leave it alone).
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// Skips the peer (Debezium) snapshot.
    #[arg(long)]
    pub no_peer: bool,
    /// The replication account the peer reads MariaDB with (the stack's).
    #[arg(long, default_value = "sluice_cdc")]
    pub cdc_user: String,
    /// Its password.
    #[arg(long, default_value = "sluice_cdc")]
    pub cdc_password: String,
    /// Logs, watermarks and output files of the run.
    #[arg(long, default_value = ".stack/bench")]
    pub work: PathBuf,
    /// A short run: 200 000 rows (20 000 for the growth phase, 2 000 000 for the large table,
    /// 40 000 wide), 10 s latency runs, 20 s follow steps, no Debezium; every phase still runs,
    /// `--runs` times.
    #[arg(long, conflicts_with_all = ["rows", "small_rows", "large_rows", "wide_rows", "latency_seconds", "follow_seconds", "no_peer"])]
    pub quick: bool,
    #[command(flatten)]
    log: sluice_common::logging::LogArgs,
}

impl Cli {
    /// The options a `--quick` run stands for; any other run as given.
    fn effective(mut self) -> Self {
        if self.quick {
            self.rows = 200_000;
            self.small_rows = 20_000;
            self.large_rows = 2_000_000;
            self.wide_rows = 40_000;
            self.latency_seconds = 10;
            self.follow_seconds = 20;
            self.no_peer = true;
        }
        self
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse().effective();
    sluice_common::logging::init(&cli.log);
    sluice_common::exit::finish("sluice-bench", run(cli).await)
}

/// The table the throughput phases and the peer read.
const TABLE: &str = "sluice_bench_product";
/// Records sent to warm the broker up before anything is timed.
const WARM_UP_RECORDS: i64 = 300_000;
/// The table the latency phase updates.
const LATENCY_TABLE: &str = "sluice_bench_latency";

async fn run(cli: Cli) -> anyhow::Result<()> {
    anyhow::ensure!(
        0 < cli.small_rows && cli.small_rows < cli.rows,
        "--small-rows must be above 0 and below --rows"
    );
    anyhow::ensure!(
        cli.large_rows == 0 || cli.large_rows > cli.rows,
        "--large-rows must be 0 (skipped) or above --rows"
    );
    anyhow::ensure!(
        (0..=cli.rows).contains(&cli.wide_rows),
        "--wide-rows must be between 0 (skipped) and --rows"
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
    // Each run leaves millions of records in topics of its own; a broker keeping hundreds of
    // partitions from earlier runs spends more on them, and its figures drift from run to run.
    let earlier = delete_topics_starting_with(&bench.settings.kafka, TOPIC_PREFIX).await?;
    if !earlier.is_empty() {
        tracing::info!("deleted {} topics of earlier runs", earlier.len());
    }

    // A broker just started runs its first load before the JIT has compiled its hot paths:
    // whichever phase came first would be timed on a slower broker than the rest.
    machine::flush_writes();
    tracing::info!("warming the broker up: {WARM_UP_RECORDS} records (not timed)");
    perf_test::producer(&bench, "warm-up", WARM_UP_RECORDS, 64).await?;
    dataset::recreate(&bench.pool, TABLE).await?;
    let mut loaded = 0;
    let mut snapshot = None;
    for (rows, full) in [(cli.small_rows, false), (cli.rows, true)] {
        tracing::info!("loading {} rows into {TABLE} (not timed)", rows - loaded);
        dataset::load(&bench.pool, TABLE, loaded + 1, rows - loaded).await?;
        loaded = rows;
        dataset::settle_loaded(&bench).await;
        snapshot = Some(scale::run(&bench, &cli, rows, full, &mut results).await?);
    }
    scale::growth(&mut results);
    // The full-size snapshot's producer is past its first run: the incremental path from here.
    let snapshot = snapshot.context("no full-size run")?;
    sweep::passes(&bench, &cli, cli.rows, "sweep", &mut results).await?;
    sweep::read_back(&bench, &cli, &snapshot, cli.rows, &mut results).await?;
    bulk_update::run(&bench, &cli, TABLE, &snapshot, cli.rows, &mut results).await?;
    if !cli.no_peer {
        peer::run(&bench, &cli, &mut results).await?;
    }
    if cli.wide_rows > 0 {
        wide::run(&bench, &cli, &mut results).await?;
    }
    if cli.large_rows > 0 {
        large::run(&bench, &cli, &mut results).await?;
    }
    if cli.latency_seconds > 0 {
        latency_runs::run(&bench, &cli, &mut results).await?;
    }
    if cli.follow_seconds > 0 {
        follow::run(&bench, &cli, &mut results).await?;
    }
    targets::check(&mut results);
    results.write(&cli.results, cli.markdown.as_deref())?;
    targets::log(&results);
    println!("{}", results.markdown());
    tracing::info!("figures written to {}", cli.results.display());
    let own = delete_topics_starting_with(&bench.settings.kafka, &bench.topic_prefix()).await?;
    tracing::info!("deleted the run's {} topics", own.len());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quick_run_is_smaller_and_leaves_the_peer_out() {
        let quick = Cli::try_parse_from(["sluice-bench", "--quick"])
            .expect("--quick alone")
            .effective();
        assert_eq!(
            (
                quick.rows,
                quick.small_rows,
                quick.large_rows,
                quick.wide_rows,
                quick.latency_seconds,
                quick.follow_seconds,
                quick.no_peer,
                quick.runs
            ),
            (200_000, 20_000, 2_000_000, 40_000, 10, 20, true, 5)
        );
        let full = Cli::try_parse_from(["sluice-bench"])
            .expect("defaults")
            .effective();
        assert_eq!((full.rows, full.no_peer), (1_000_000, false));
        assert!(
            Cli::try_parse_from(["sluice-bench", "--quick", "--rows", "5"]).is_err(),
            "--quick names its own sizes"
        );
    }
}
