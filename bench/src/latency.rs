//! End-to-end latency under a steady stream of updates: the pipeline runs as `make run` runs it
//! (metrics on the ports Prometheus scrapes), `sluice-loadgen simulate` updates products at a
//! fixed rate, every line is timed from its row's `last_updated` to its appearance in a file,
//! and every update from its commit to the first line that carries it (see `per_change`).

use std::net::TcpListener;
use std::time::{Duration, Instant};

use chrono::Utc;

use crate::context::Bench;
use crate::delivery::Delivery;
use crate::load;
use crate::per_change::{self, PerChange};
use crate::prometheus_query::latency_quantile_ms;
use crate::running::Running;
use crate::source::Source;
use crate::tail::{quantile, Seen, Tail};

/// How long the last updates of a run may take to reach a line once the load has stopped.
const LAST_LINES_PATIENCE: Duration = Duration::from_secs(30);
/// Products the updates pick from.
pub const PRODUCTS: i64 = 10_000;
/// Longer than Prometheus's scrape interval (5 s), so a scrape falls between two marks.
const SCRAPE_WAIT: Duration = Duration::from_secs(6);

/// What one latency run saw.
#[derive(Debug, Clone)]
pub struct Latency {
    /// Lines timed.
    pub records: usize,
    /// Median, 99th percentile and maximum, in milliseconds.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Maximum.
    pub max_ms: f64,
    /// p50 and p99 from the consumers' histogram in Prometheus, when asked for.
    pub prometheus: Option<(f64, f64)>,
    /// Every update, timed from its commit.
    pub changes: PerChange,
    /// Updates per second the load generator reached.
    pub rate_reached: f64,
}

/// How a run is driven.
#[derive(Debug, Clone, Copy)]
pub struct LatencyRun {
    /// Updates per second.
    pub rate: u32,
    /// How long the updates go on.
    pub seconds: u64,
    /// Consumers in the group.
    pub members: u32,
    /// `producer.commit_lag_ms` for this run.
    pub commit_lag_ms: u64,
    /// Which run of its setting (names its topic, group and folder).
    pub run: u32,
    /// At least once or exactly once (a line then appears once its batch is committed).
    pub delivery: Delivery,
    /// Where the producer reads the changes.
    pub source: Source,
}

/// Runs the pipeline over `table` (seeded with [`PRODUCTS`] rows) under `load`; reads the
/// consumers' latency histogram back from `prometheus` when given (a scrape interval of quiet
/// before and after the load).
pub async fn measure(
    bench: &Bench,
    table: &str,
    load: LatencyRun,
    prometheus: Option<&str>,
) -> anyhow::Result<Latency> {
    let ports = fixed_ports(bench, load.members);
    for port in &ports {
        TcpListener::bind(("127.0.0.1", *port)).map_err(|e| {
            anyhow::anyhow!(
                "port {port} is busy ({e}): the latency run serves metrics where Prometheus scrapes them; stop `make run` first"
            )
        })?;
    }
    let names = bench.run_names(
        table,
        &format!(
            "latency-{}{}-lag{}-{}{}",
            match load.source {
                Source::Polled => "",
                Source::Binlog => "binlog-",
            },
            load.rate,
            load.commit_lag_ms,
            match load.delivery {
                Delivery::AtLeastOnce => "",
                Delivery::ExactlyOnce => "eos-",
            },
            load.run
        ),
    );
    std::fs::create_dir_all(&names.dir)?;
    let mut sets: Vec<String> = names
        .overrides()
        .into_iter()
        .filter(|s| !s.starts_with("metrics."))
        .collect();
    sets.push(format!(
        "metrics.producer_port={}",
        bench.settings.metrics.producer_port
    ));
    sets.push(format!(
        "metrics.consumer_port_base={}",
        bench.settings.metrics.consumer_port_base
    ));
    sets.push(format!("producer.commit_lag_ms={}", load.commit_lag_ms));

    // The load generator writes as the stack's own user; the producer reads as its source
    // needs (the binlog user holds the replication grants, not the right to update).
    let mut producer_sets = sets.clone();
    producer_sets.extend(load.source.sets());
    let mut pipeline = Running::start(bench, &names, &producer_sets, load.members, load.delivery)?;
    pipeline.caught_up(bench, Some(PRODUCTS)).await?;
    if prometheus.is_some() {
        tokio::time::sleep(SCRAPE_WAIT).await;
    }

    let from = Utc::now();
    let tail = Tail::start(names.out_dir(), from);
    let journal = names.dir.join("updates.journal");
    let mut updates = load::Load::start(
        bench,
        &sets,
        load.rate,
        load::connections_for(load.rate),
        Some(&journal),
        &names.dir.join("loadgen.log"),
    )?;
    let until = Instant::now() + Duration::from_secs(load.seconds);
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(500)).await;
        updates.ensure_running()?;
        pipeline.ensure_running()?;
    }
    let applied = updates.stop()?;
    pipeline.caught_up(bench, None).await?;
    // The group's commits can cover the topic before the producer has read the last updates
    // (they are not in the topic yet), and exactly once a committed batch's lines reach the
    // file after its commit: the run ends once every update has a line, or after the wait.
    let committed = per_change::read_journal(&journal)?;
    let deadline = Instant::now() + LAST_LINES_PATIENCE;
    while per_change::time_changes(&committed, &tail.seen()).unseen > 0 && Instant::now() < deadline
    {
        pipeline.ensure_running()?;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let lines = tail.finish();
    let mut latencies: Vec<f64> = lines.iter().map(Seen::latency_ms).collect();
    let changes = per_change::time_changes(&committed, &lines);
    anyhow::ensure!(
        changes.unseen == 0,
        "{} of {} updates reached no line; see {}",
        changes.unseen,
        changes.updates,
        names.dir.display()
    );
    let histogram = match prometheus {
        Some(url) => {
            tokio::time::sleep(SCRAPE_WAIT).await;
            let to = Utc::now();
            Some((
                latency_quantile_ms(url, 0.5, from, to).await?,
                latency_quantile_ms(url, 0.99, from, to).await?,
            ))
        }
        None => None,
    };
    pipeline.stop()?;
    bench.drop_run_topics(&names).await?;
    anyhow::ensure!(
        !latencies.is_empty(),
        "no line was written during the latency run; see {}",
        names.dir.display()
    );
    Ok(Latency {
        records: latencies.len(),
        p50_ms: quantile(&mut latencies, 0.5).unwrap_or_default(),
        p99_ms: quantile(&mut latencies, 0.99).unwrap_or_default(),
        max_ms: quantile(&mut latencies, 1.0).unwrap_or_default(),
        prometheus: histogram,
        rate_reached: applied.rate(),
        changes,
    })
}

/// The producer's port and each member's.
fn fixed_ports(bench: &Bench, members: u32) -> Vec<u16> {
    let metrics = &bench.settings.metrics;
    std::iter::once(metrics.producer_port)
        .chain((1..=members).map(|n| metrics.consumer_port_base + n as u16))
        .collect()
}
