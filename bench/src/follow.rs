//! Follow capacity: the highest steady change rate the running pipeline keeps up with. The load
//! generator first runs alone, flat out, for the database's own update rate on this machine;
//! then the pipeline runs (producer and group, as `make run`) while the load steps up from
//! `FIRST_RATE`, doubling, always on as many connections as flat out, so the database is held
//! back by nothing but the machine. A step is followed when the producer's watermark lag stays under
//! `MAX_LAG` through its second half. The ladder stops at the first step not followed, or once
//! the database cannot reach the rate asked: then the database is the limit, and the figures
//! say so.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use crate::context::Bench;
use crate::load::{self, Applied};
use crate::report::Results;
use crate::running::Running;
use crate::{dataset, Cli};

/// The table the follow phase updates.
const TABLE: &str = "sluice_bench_follow";
/// Products it holds: enough that few updates of a step land on the same product.
const PRODUCTS: i64 = 100_000;
/// The first step's rate; each next step doubles it.
const FIRST_RATE: u32 = 5_000;
/// The highest rate asked.
const LAST_RATE: u32 = 160_000;
/// Rate the target asks for, unless the database cannot reach it.
pub const TARGET_RATE: f64 = 20_000.0;
/// The watermark lag a followed step stays under.
const MAX_LAG: Duration = Duration::from_secs(5);
/// A step whose load reached less than this share of the rate asked is limited by the database.
const REACHED_SHARE: f64 = 0.9;
/// How long the load generator runs alone, at most.
const ALONE_AT_MOST: Duration = Duration::from_secs(20);

/// One step of the ladder.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Step {
    asked: u32,
    applied: Applied,
    /// The highest watermark lag through the step's second half, in seconds.
    max_lag_s: f64,
    /// From the load's stop until the group had committed everything published.
    drain_s: f64,
}

impl Step {
    fn followed(&self) -> bool {
        self.max_lag_s <= MAX_LAG.as_secs_f64()
    }

    fn database_limited(&self) -> bool {
        self.applied.rate() < f64::from(self.asked) * REACHED_SHARE
    }
}

/// Measures the database alone, then the ladder with the pipeline running.
pub async fn run(bench: &Bench, cli: &Cli, results: &mut Results) -> anyhow::Result<()> {
    dataset::recreate(&bench.pool, TABLE).await?;
    dataset::load(&bench.pool, TABLE, 1, PRODUCTS).await?;
    let step_length = Duration::from_secs(cli.latency_seconds);
    let names = bench.run_names(TABLE, "follow");
    std::fs::create_dir_all(&names.dir)?;

    let alone_for = step_length.min(ALONE_AT_MOST);
    tracing::info!("follow: the load generator alone, flat out, for {alone_for:?}");
    let alone = alone_rate(bench, &names.overrides(), alone_for, &names.dir).await?;
    results.set(
        "follow.database_updates_per_s",
        "the load generator alone, flat out: MariaDB's own update rate here",
        "updates/s",
        alone.rate(),
    );

    let metrics_port = free_port()?;
    let mut sets: Vec<String> = names
        .overrides()
        .into_iter()
        .filter(|s| !s.starts_with("metrics.producer_port"))
        .collect();
    sets.push(format!("metrics.producer_port={metrics_port}"));
    let mut pipeline = Running::start(bench, &names, &sets, cli.members)?;
    pipeline.caught_up(bench, Some(PRODUCTS)).await?;
    let lag_url = format!("http://127.0.0.1:{metrics_port}/metrics");

    let connections = load::connections_for(0);
    let mut steps = Vec::new();
    let mut asked = FIRST_RATE;
    while asked <= LAST_RATE {
        tracing::info!("follow: {asked} updates/s for {step_length:?}");
        let log = names.dir.join(format!("loadgen-{asked}.log"));
        let mut updates = load::Load::start(bench, &sets, asked, connections, None, &log)?;
        let started = Instant::now();
        let mut max_lag_s: f64 = 0.0;
        while started.elapsed() < step_length {
            tokio::time::sleep(Duration::from_secs(1)).await;
            updates.ensure_running()?;
            pipeline.ensure_running()?;
            if started.elapsed() >= step_length / 2 {
                max_lag_s = max_lag_s.max(watermark_lag(&lag_url).await?);
            }
        }
        let applied = updates.stop()?;
        let stopped = Instant::now();
        pipeline.caught_up(bench, None).await?;
        let step = Step {
            asked,
            applied,
            max_lag_s,
            drain_s: stopped.elapsed().as_secs_f64(),
        };
        tracing::info!(
            "follow: asked {asked}/s, reached {:.0}/s, lag up to {max_lag_s:.2} s, drained in {:.2} s",
            applied.rate(),
            step.drain_s
        );
        steps.push(step);
        if !step.followed() || step.database_limited() {
            break;
        }
        asked = asked.saturating_mul(2);
    }
    pipeline.stop()?;
    record(results, &steps);
    Ok(())
}

/// Runs the load generator flat out with nothing else reading the table.
async fn alone_rate(
    bench: &Bench,
    sets: &[String],
    length: Duration,
    dir: &std::path::Path,
) -> anyhow::Result<Applied> {
    let connections = load::connections_for(0);
    let log = dir.join("loadgen-alone.log");
    let mut updates = load::Load::start(bench, sets, 0, connections, None, &log)?;
    let until = Instant::now() + length;
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(500)).await;
        updates.ensure_running()?;
    }
    updates.stop()
}

fn record(results: &mut Results, steps: &[Step]) {
    for step in steps {
        let key = |name: &str| format!("follow.at_{}.{name}", step.asked);
        let about = format!("follow, {} updates/s asked", step.asked);
        results.set(
            &key("reached_per_s"),
            &format!("{about}: updates per second reached"),
            "updates/s",
            step.applied.rate(),
        );
        results.set(
            &key("max_lag_s"),
            &format!("{about}: highest watermark lag, second half of the step"),
            "s",
            step.max_lag_s,
        );
        results.set(
            &key("drain_s"),
            &format!("{about}: load stopped until every line committed"),
            "s",
            step.drain_s,
        );
    }
    let capacity = steps
        .iter()
        .filter(|s| s.followed())
        .map(|s| s.applied.rate())
        .fold(0.0, f64::max);
    results.set(
        "follow.capacity_per_s",
        &format!(
            "follow capacity: the highest rate reached with the watermark lag under {} s",
            MAX_LAG.as_secs()
        ),
        "updates/s",
        capacity,
    );
    let database_reached = steps.iter().map(|s| s.applied.rate()).fold(0.0, f64::max);
    let database_limited = steps
        .last()
        .is_some_and(|s| s.followed() && s.database_limited());
    results.set(
        "follow.database_limited",
        "follow: the ladder ended because MariaDB could not reach the rate asked (1) or because the pipeline fell behind (0)",
        "",
        if database_limited { 1.0 } else { 0.0 },
    );
    let limit = TARGET_RATE.min(database_reached);
    if limit > 0.0 {
        results.set(
            "follow.capacity_ratio",
            "follow capacity ÷ the lower of 20 000/s and the highest rate MariaDB reached with the pipeline running",
            "×",
            capacity / limit,
        );
    }
}

/// The producer's `sluice_producer_watermark_lag_seconds`, read from its metrics endpoint.
async fn watermark_lag(url: &str) -> anyhow::Result<f64> {
    let text = reqwest::get(url).await?.text().await?;
    text.lines()
        .find_map(|line| line.strip_prefix("sluice_producer_watermark_lag_seconds "))
        .and_then(|value| value.trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no watermark lag at {url}"))
}

/// A port nothing listens on now, for the producer's metrics.
fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(asked: u32, reached: u64, max_lag_s: f64) -> Step {
        Step {
            asked,
            applied: Applied {
                updates: reached,
                seconds: 1.0,
            },
            max_lag_s,
            drain_s: 0.5,
        }
    }

    #[test]
    fn capacity_is_the_highest_step_followed_and_the_limit_is_named() {
        let mut results = Results::default();
        record(
            &mut results,
            &[
                step(5_000, 5_000, 0.4),
                step(10_000, 9_900, 0.6),
                step(20_000, 19_000, 9.0),
            ],
        );
        assert_eq!(results.get("follow.capacity_per_s"), Some(9_900.0));
        assert_eq!(results.get("follow.database_limited"), Some(0.0));
        assert_eq!(
            results.get("follow.capacity_ratio"),
            Some(9_900.0 / 19_000.0)
        );

        let mut results = Results::default();
        record(
            &mut results,
            &[step(10_000, 10_000, 0.4), step(20_000, 15_000, 0.7)],
        );
        assert_eq!(results.get("follow.capacity_per_s"), Some(15_000.0));
        assert_eq!(results.get("follow.database_limited"), Some(1.0));
        assert_eq!(results.get("follow.capacity_ratio"), Some(1.0));
    }
}
