//! `sluice-bench`: sluice's throughput, latency and memory on this machine, each beside the
//! ceiling Kafka's own tools (and the bare database read) reach in the same run, so every
//! figure is a ratio that survives a noisy machine. `make bench` runs it; see BENCHMARKS.md.

mod backlog;
mod backlog_peer;
mod binary_logs;
mod bulk_update;
mod cli;
mod cluster;
mod cold;
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
mod latency_peer;
mod latency_runs;
mod line_files;
mod load;
mod machine;
mod offsets;
mod parameters;
mod peer;
mod per_change;
mod perf_test;
mod phase_clock;
mod process;
mod prometheus_query;
mod purge;
mod report;
mod running;
mod samples;
mod scale;
mod schema_source;
mod snapshot;
mod source;
mod sweep;
mod tail;
mod targets;
mod text_sweep;
mod wide;

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;

use cli::{Cli, TABLE, WARM_UP_RECORDS};

use context::{Bench, TOPIC_PREFIX};
use report::Results;
use sluice_common::kafka::delete_topics_starting_with;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse().effective();
    sluice_common::logging::init(&cli.log);
    sluice_common::exit::finish("sluice-bench", run(cli).await)
}

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
        cli.backlog_rows >= 0,
        "--backlog-rows must be 0 (skipped) or more"
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
    let started = std::time::Instant::now();
    let mut results = Results::default();
    describe::run(&bench, &cli, &mut results).await;
    parameters::record(&cli, &mut results);
    // Each run leaves millions of records in topics of its own; a broker keeping hundreds of
    // partitions from earlier runs spends more on them, and its figures drift from run to run.
    let earlier = delete_topics_starting_with(&bench.settings.kafka, TOPIC_PREFIX).await?;
    if !earlier.is_empty() {
        tracing::info!("deleted {} topics of earlier runs", earlier.len());
    }

    // A broker just started runs its first load before the JIT has compiled its hot paths:
    // whichever phase came first would be timed on a slower broker than the rest.
    let mut clock = phase_clock::PhaseClock::start();
    machine::flush_writes();
    tracing::info!("warming the broker up: {WARM_UP_RECORDS} records (not timed)");
    perf_test::producer(&bench, "warm-up", WARM_UP_RECORDS, 64).await?;
    dataset::recreate(&bench.pool, TABLE).await?;
    clock.lap(&mut results, "warm_up");
    let mut loaded = 0;
    let mut snapshot = None;
    for (rows, full) in [(cli.small_rows, false), (cli.rows, true)] {
        tracing::info!("loading {} rows into {TABLE} (not timed)", rows - loaded);
        dataset::load(&bench.pool, TABLE, loaded + 1, rows - loaded).await?;
        loaded = rows;
        dataset::settle_loaded(&bench).await;
        snapshot = Some(scale::run(&bench, &cli, rows, full, &mut results).await?);
        clock.lap(&mut results, if full { "full_size" } else { "small" });
    }
    scale::growth(&mut results);
    schema_source::run(&bench, &cli, cli.rows, &mut results).await?;
    clock.lap(&mut results, "schema_source");
    // The full-size snapshot's producer is past its first run: the incremental path from here.
    let snapshot = snapshot.context("no full-size run")?;
    sweep::passes(&bench, &cli, cli.rows, "sweep", &mut results).await?;
    sweep::read_back(&bench, &cli, &snapshot, cli.rows, &mut results).await?;
    clock.lap(&mut results, "sweep");
    text_sweep::run(&bench, &cli, cli.rows, &mut results).await?;
    clock.lap(&mut results, "text_sweep");
    bulk_update::run(&bench, &cli, TABLE, &snapshot, cli.rows, &mut results).await?;
    clock.lap(&mut results, "bulk_update");
    if cli.backlog_rows > 0 {
        backlog::run(
            &bench,
            &cli,
            "backlog",
            source::Source::Polled,
            &mut results,
        )
        .await?;
        clock.lap(&mut results, "backlog");
        let source = source::Source::Binlog;
        backlog::run(&bench, &cli, "binlog.backlog", source, &mut results).await?;
        clock.lap(&mut results, "binlog_backlog");
    }
    if !cli.no_peer {
        peer::run(&bench, &cli, &mut results).await?;
        clock.lap(&mut results, "peer");
    }
    if cli.wide_rows > 0 {
        wide::run(&bench, &cli, &mut results).await?;
        clock.lap(&mut results, "wide");
    }
    if cli.large_rows > 0 {
        large::run(&bench, &cli, &mut results).await?;
        clock.lap(&mut results, "large");
    }
    if cli.latency_seconds > 0 {
        latency_runs::run(&bench, &cli, &mut results).await?;
        clock.lap(&mut results, "latency");
    }
    if cli.follow_seconds > 0 {
        follow::run(&bench, &cli, &mut results).await?;
        clock.lap(&mut results, "follow");
    }
    if !cli.no_cluster {
        cluster::run(&bench, &cli, &mut results).await?;
        clock.lap(&mut results, "cluster");
    }
    results.set(
        "run_minutes",
        "the bench's own run, from its start to its last figure (the build not included)",
        "min",
        started.elapsed().as_secs_f64() / 60.0,
    );
    if let Some(minutes) = make_minutes() {
        results.set(
            "make_minutes",
            "`make bench` from its start to the bench's last figure: the stack, the release build and the run",
            "min",
            minutes,
        );
    }
    targets::check(&mut results);
    results.write(&cli.results, cli.markdown.as_deref())?;
    targets::log(&results);
    println!("{}", results.markdown());
    tracing::info!("figures written to {}", cli.results.display());
    let own = delete_topics_starting_with(&bench.settings.kafka, &bench.topic_prefix()).await?;
    tracing::info!("deleted the run's {} topics", own.len());
    binary_logs::purge(&bench.root)?;
    Ok(())
}

/// Minutes since `make bench` started, when it said when (`SLUICE_BENCH_MAKE_STARTED`, whole
/// seconds since the epoch, so at most a second early: never less than the time since).
fn make_minutes() -> Option<f64> {
    let started: f64 = std::env::var("SLUICE_BENCH_MAKE_STARTED")
        .ok()?
        .parse()
        .ok()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs_f64();
    Some((now - started).max(0.0) / 60.0)
}
