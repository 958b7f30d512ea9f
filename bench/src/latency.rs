//! End-to-end latency under a steady stream of updates: the pipeline runs as `make run` runs it
//! (metrics on the ports Prometheus scrapes), `sluice-loadgen simulate` updates products at a
//! fixed rate, every line is timed from its row's `last_updated` to its appearance in a file,
//! and every update from its commit to the first line that carries it (see `per_change`).

use std::net::TcpListener;
use std::time::{Duration, Instant};

use chrono::Utc;

use crate::context::Bench;
use crate::offsets::{self, CommitWatch};
use crate::per_change::{self, PerChange};
use crate::process::Measured;
use crate::prometheus_query::latency_quantile_ms;
use crate::tail::{quantile, Seen, Tail};
use sluice_common::settings::IsolatedRun;

/// Products the updates pick from.
pub const PRODUCTS: i64 = 10_000;
/// Longer than Prometheus's scrape interval (5 s), so a scrape falls between two marks.
const SCRAPE_WAIT: Duration = Duration::from_secs(6);
const CATCH_UP_PATIENCE: Duration = Duration::from_secs(120);

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
    /// The same quantiles from the consumers' histogram in Prometheus.
    pub prometheus_p50_ms: f64,
    /// 99th percentile from Prometheus.
    pub prometheus_p99_ms: f64,
    /// Every update, timed from its commit.
    pub changes: PerChange,
    /// Updates per second the load generator reached.
    pub rate_reached: f64,
}

/// How a run is driven.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// Updates per second.
    pub rate: u32,
    /// How long the updates go on.
    pub seconds: u64,
    /// Consumers in the group.
    pub members: u32,
    /// `producer.commit_lag_ms` for this run.
    pub commit_lag_ms: u64,
}

/// Runs the pipeline over `table` (seeded with [`PRODUCTS`] rows) under `load`.
pub async fn measure(
    bench: &Bench,
    table: &str,
    load: Load,
    prometheus: &str,
) -> anyhow::Result<Latency> {
    let ports = fixed_ports(bench, load.members);
    for port in &ports {
        TcpListener::bind(("127.0.0.1", *port)).map_err(|e| {
            anyhow::anyhow!(
                "port {port} is busy ({e}): the latency run serves metrics where Prometheus scrapes them; stop `make run` first"
            )
        })?;
    }
    let names = bench.run_names(table, &format!("latency-lag{}", load.commit_lag_ms));
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

    let mut processes = vec![Measured::spawn(
        "sluice-producer",
        bench.sluice("sluice-producer", &sets)?,
        &names.dir.join("producer.log"),
    )?];
    for n in 1..=load.members {
        let mut command = bench.sluice("sluice-consumer", &sets)?;
        command.arg("--member").arg(n.to_string());
        processes.push(Measured::spawn(
            &format!("consumer-{n}"),
            command,
            &names.dir.join(format!("consumer-{n}.log")),
        )?);
    }
    caught_up(bench, &names, &mut processes, Some(PRODUCTS)).await?;
    tokio::time::sleep(SCRAPE_WAIT).await;

    let from = Utc::now();
    let tail = Tail::start(names.out_dir(), from);
    let journal = names.dir.join("updates.journal");
    let mut simulate = bench.sluice("sluice-loadgen", &sets)?;
    simulate
        .arg("simulate")
        .arg("--rate")
        .arg(load.rate.to_string())
        .arg("--journal")
        .arg(&journal);
    let updates = Measured::spawn("sluice-loadgen", simulate, &names.dir.join("loadgen.log"))?;
    let updating = Instant::now();
    tokio::time::sleep(Duration::from_secs(load.seconds)).await;
    updates.stop(Duration::from_secs(30))?;
    let updated_for = updating.elapsed().as_secs_f64();
    caught_up(bench, &names, &mut processes, None).await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let lines = tail.finish();
    let mut latencies: Vec<f64> = lines.iter().map(Seen::latency_ms).collect();
    let committed = per_change::read_journal(&journal)?;
    let changes = per_change::time_changes(&committed, &lines);
    anyhow::ensure!(
        changes.unseen == 0,
        "{} of {} updates reached no line; see {}",
        changes.unseen,
        changes.updates,
        names.dir.display()
    );
    tokio::time::sleep(SCRAPE_WAIT).await;
    let to = Utc::now();
    let prometheus_p50_ms = latency_quantile_ms(prometheus, 0.5, from, to).await?;
    let prometheus_p99_ms = latency_quantile_ms(prometheus, 0.99, from, to).await?;
    for process in processes {
        process.stop(Duration::from_secs(30))?;
    }
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
        prometheus_p50_ms,
        prometheus_p99_ms,
        rate_reached: changes.updates as f64 / updated_for,
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

/// Waits until the topic holds at least `at_least` records (when given) and the group has
/// committed all of them.
async fn caught_up(
    bench: &Bench,
    names: &IsolatedRun,
    processes: &mut [Measured],
    at_least: Option<i64>,
) -> anyhow::Result<()> {
    let kafka = &bench.settings.kafka;
    let deadline = Instant::now() + CATCH_UP_PATIENCE;
    let (mut topic, mut watch) = (None, None);
    loop {
        crate::process::ensure_running(processes)?;
        anyhow::ensure!(
            Instant::now() < deadline,
            "the pipeline did not catch up within {CATCH_UP_PATIENCE:?}; see {}",
            names.dir.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        if topic.is_none() {
            // Until the producer has created the topic, there is nothing to watch.
            topic = offsets::TopicWatch::new(kafka, &names.topic).ok();
        }
        let Some(records) = topic.as_ref().and_then(|t| t.records().ok()) else {
            continue;
        };
        if at_least.is_some_and(|n| records < n) {
            continue;
        }
        if watch.is_none() {
            watch = Some(CommitWatch::new(kafka, &names.group, &names.topic)?);
        }
        if let Some(watch) = &watch {
            if watch.committed()? >= records {
                return Ok(());
            }
        }
    }
}
