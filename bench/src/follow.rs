//! Follow capacity: the highest steady change rate the running pipeline keeps up with, measured
//! `--runs` times, at least once and exactly once. Each run first lets the load generator run
//! alone, flat out, for the database's own update rate on this machine. Then, for each delivery
//! in turn (the order alternating from run to run), the pipeline runs (producer and group, as
//! `make run`, on a topic, group and watermark of their own) while the load generator goes flat
//! out again, on as many connections as there are cores, for `--follow-seconds`: no steady rate
//! above what it reaches can be committed here while the pipeline reads. A step is followed
//! when the producer's watermark lag stays under `MAX_LAG` through its second half. When the
//! flat-out step is followed, the database is the limit and the capacity is the rate it
//! reached; otherwise the load steps down from there, a quarter of that rate at a time, until a
//! step is followed, and the pipeline is the limit.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use crate::cli::Cli;
use crate::context::Bench;
use crate::dataset;
use crate::delivery::Delivery;
use crate::load::{self, Applied};
use crate::report::Results;
use crate::running::Running;
use crate::samples::Samples;

/// The table the follow phase updates.
const TABLE: &str = "sluice_bench_follow";
/// Products it holds: enough that few updates of a step land on the same product.
pub const PRODUCTS: i64 = 100_000;
/// Rate the target asks for, unless the database cannot reach it.
pub const TARGET_RATE: f64 = 20_000.0;
/// The watermark lag a followed step stays under.
pub const MAX_LAG: Duration = Duration::from_secs(5);
/// How long the load generator runs alone, at most.
pub const ALONE_AT_MOST: Duration = Duration::from_secs(10);
/// Steps below the flat-out one, each a quarter of its rate lower, before a run gives up.
pub const STEPS_DOWN: u32 = 3;

/// One step of a run: the load at a rate, or flat out, with the pipeline reading.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Step {
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
}

/// What one run found.
#[derive(Debug, Clone, PartialEq)]
struct Found {
    /// The load generator alone, flat out.
    alone: Applied,
    /// The flat-out step first, then the steps down, if any.
    steps: Vec<Step>,
}

impl Found {
    /// The rate of the first step followed; 0 when none was.
    fn capacity(&self) -> f64 {
        self.steps
            .iter()
            .find(|s| s.followed())
            .map_or(0.0, |s| s.applied.rate())
    }

    /// Whether the pipeline followed the database flat out.
    fn database_limited(&self) -> bool {
        self.steps.first().is_some_and(Step::followed)
    }

    /// Adds the run's figures, each key under `prefix` and each label naming `delivery`.
    fn push(&self, samples: &mut Samples, delivery: Delivery) {
        let (prefix, what) = match delivery {
            Delivery::AtLeastOnce => ("follow", "follow"),
            Delivery::ExactlyOnce => ("follow.exactly_once", "follow, exactly once"),
        };
        let Some(flat_out) = self.steps.first() else {
            return;
        };
        let mut samples = Prefixed {
            samples,
            prefix,
            what,
        };
        let samples = &mut samples;
        samples.push(
            "flat_out_per_s",
            "the load generator flat out with the pipeline running",
            "updates/s",
            flat_out.applied.rate(),
        );
        samples.push(
            "flat_out_max_lag_s",
            "flat out: highest watermark lag, second half of the step",
            "s",
            flat_out.max_lag_s,
        );
        samples.push(
            "flat_out_drain_s",
            "flat out: load stopped until every line committed",
            "s",
            flat_out.drain_s,
        );
        samples.push(
            "capacity_per_s",
            &format!(
                "capacity: the highest rate reached with the watermark lag under {} s",
                MAX_LAG.as_secs()
            ),
            "updates/s",
            self.capacity(),
        );
        samples.push(
            "database_limited",
            "the pipeline followed MariaDB flat out (1) or fell behind it (0)",
            "",
            if self.database_limited() { 1.0 } else { 0.0 },
        );
        samples.push_ratio(
            "capacity_ratio",
            "capacity ÷ the lower of 20 000/s and what MariaDB reached flat out with the pipeline running",
            self.capacity(),
            TARGET_RATE.min(flat_out.applied.rate()),
        );
        samples.push_ratio(
            "capacity_share_of_database",
            "capacity ÷ MariaDB's rate with nothing else running",
            self.capacity(),
            self.alone.rate(),
        );
    }
}

/// Figures pushed under one delivery's prefix, each label beginning with what it measures.
struct Prefixed<'a> {
    samples: &'a mut Samples,
    prefix: &'static str,
    what: &'static str,
}

impl Prefixed<'_> {
    fn push(&mut self, key: &str, label: &str, unit: &str, value: f64) {
        let (key, label) = (
            format!("{}.{key}", self.prefix),
            format!("{}: {label}", self.what),
        );
        self.samples.push(&key, &label, unit, value);
    }

    fn push_ratio(&mut self, key: &str, label: &str, numerator: f64, denominator: f64) {
        let (key, label) = (
            format!("{}.{key}", self.prefix),
            format!("{}: {label}", self.what),
        );
        self.samples
            .push_ratio(&key, &label, numerator, denominator);
    }
}

/// Measures the database alone, then the pipeline following it at least once and exactly once
/// (in turn, the order alternating from run to run), `--runs` times.
pub async fn run(bench: &Bench, cli: &Cli, results: &mut Results) -> anyhow::Result<()> {
    dataset::recreate(&bench.pool, TABLE).await?;
    dataset::load(&bench.pool, TABLE, 1, PRODUCTS).await?;
    let step_length = Duration::from_secs(cli.follow_seconds);
    let mut samples = Samples::default();
    for run in 1..=cli.runs {
        tracing::info!("follow: run {run} of {}", cli.runs);
        let dir = bench.work.join(format!("follow-{run}"));
        std::fs::create_dir_all(&dir)?;
        let alone_for = step_length.min(ALONE_AT_MOST);
        tracing::info!("follow: the load generator alone, flat out, for {alone_for:?}");
        let sets = bench.run_names(TABLE, &format!("follow-{run}")).overrides();
        let alone = alone_rate(bench, &sets, alone_for, &dir).await?;
        samples.push(
            "follow.database_updates_per_s",
            "the load generator alone, flat out: MariaDB's own update rate here",
            "updates/s",
            alone.rate(),
        );
        let order = if run % 2 == 1 {
            [Delivery::AtLeastOnce, Delivery::ExactlyOnce]
        } else {
            [Delivery::ExactlyOnce, Delivery::AtLeastOnce]
        };
        for delivery in order {
            let names = bench.run_names(TABLE, &format!("follow-{run}-{}", delivery.tag()));
            std::fs::create_dir_all(&names.dir)?;
            let steps = follow_steps(bench, cli, &names, step_length, delivery).await?;
            bench.drop_run_topics(&names).await?;
            Found { alone, steps }.push(&mut samples, delivery);
        }
    }
    samples.record(results);
    Ok(())
}

/// The pipeline of `names` delivering as `delivery` says, under the load flat out and then
/// stepping down until a step is followed.
async fn follow_steps(
    bench: &Bench,
    cli: &Cli,
    names: &sluice_common::settings::IsolatedRun,
    step_length: Duration,
    delivery: Delivery,
) -> anyhow::Result<Vec<Step>> {
    let metrics_port = free_port()?;
    let mut sets: Vec<String> = names
        .overrides()
        .into_iter()
        .filter(|s| !s.starts_with("metrics.producer_port"))
        .collect();
    sets.push(format!("metrics.producer_port={metrics_port}"));
    let mut pipeline = Running::start(bench, names, &sets, cli.members, delivery)?;
    pipeline.caught_up(bench, Some(PRODUCTS)).await?;
    let lag_url = format!("http://127.0.0.1:{metrics_port}/metrics");

    let connections = load::connections_for(0);
    let mut steps: Vec<Step> = Vec::new();
    let mut asked = None;
    loop {
        let what = asked.map_or("flat out".to_owned(), |rate| format!("{rate} updates/s"));
        tracing::info!(
            "follow: {what} for {step_length:?}, the pipeline reading {}",
            delivery.label()
        );
        let log = names
            .dir
            .join(format!("loadgen-{}.log", asked.unwrap_or_default()));
        let mut updates =
            load::Load::start(bench, &sets, asked.unwrap_or(0), connections, None, &log)?;
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
            applied,
            max_lag_s,
            drain_s: stopped.elapsed().as_secs_f64(),
        };
        tracing::info!(
            "follow: {what}: reached {:.0}/s, lag up to {max_lag_s:.2} s, drained in {:.2} s",
            applied.rate(),
            step.drain_s
        );
        steps.push(step);
        match next_rate(&steps) {
            Some(rate) => asked = Some(rate),
            None => break,
        }
    }
    pipeline.stop()?;
    Ok(steps)
}

/// The rate of the step after `steps`: none once one was followed or every step down was tried;
/// otherwise a quarter of the flat-out rate below the last step.
fn next_rate(steps: &[Step]) -> Option<u32> {
    let flat_out = steps.first()?;
    let below = u32::try_from(steps.len()).ok()?;
    if steps.iter().any(Step::followed) || below > STEPS_DOWN {
        return None;
    }
    let quarter = flat_out.applied.rate() / 4.0;
    let rate = flat_out.applied.rate() - quarter * f64::from(below);
    (rate >= 1.0).then_some(rate as u32)
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

/// The producer's `sluice_producer_watermark_lag_seconds`, read from its metrics endpoint.
async fn watermark_lag(url: &str) -> anyhow::Result<f64> {
    let text = sluice_registry::http::get(url).await?.text().await?;
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

    fn step(reached: u64, max_lag_s: f64) -> Step {
        Step {
            applied: Applied {
                updates: reached,
                seconds: 1.0,
            },
            max_lag_s,
            drain_s: 0.5,
        }
    }

    fn alone(rate: u64) -> Applied {
        Applied {
            updates: rate,
            seconds: 1.0,
        }
    }

    #[test]
    fn followed_flat_out_means_the_database_is_the_limit() {
        let found = Found {
            alone: alone(20_000),
            steps: vec![step(12_000, 0.1)],
        };
        assert_eq!(next_rate(&found.steps), None);
        let mut samples = Samples::default();
        found.push(&mut samples, Delivery::AtLeastOnce);
        let mut results = Results::default();
        samples.record(&mut results);
        assert_eq!(results.get("follow.capacity_per_s"), Some(12_000.0));
        assert_eq!(results.get("follow.database_limited"), Some(1.0));
        assert_eq!(results.get("follow.capacity_ratio"), Some(1.0));
        assert_eq!(results.get("follow.capacity_share_of_database"), Some(0.6));
    }

    #[test]
    fn behind_flat_out_steps_down_by_quarters_until_followed() {
        let mut steps = vec![step(40_000, 9.0)];
        assert_eq!(next_rate(&steps), Some(30_000));
        steps.push(step(30_000, 7.0));
        assert_eq!(next_rate(&steps), Some(20_000));
        steps.push(step(19_000, 0.5));
        assert_eq!(next_rate(&steps), None);
        let found = Found {
            alone: alone(50_000),
            steps,
        };
        assert_eq!(found.capacity(), 19_000.0);
        assert!(!found.database_limited());
        let mut samples = Samples::default();
        found.push(&mut samples, Delivery::AtLeastOnce);
        let mut results = Results::default();
        samples.record(&mut results);
        assert_eq!(
            results.get("follow.capacity_ratio"),
            Some(19_000.0 / 20_000.0)
        );
    }

    #[test]
    fn a_run_gives_up_after_its_steps_down() {
        let steps = vec![
            step(40_000, 9.0),
            step(30_000, 9.0),
            step(20_000, 9.0),
            step(10_000, 9.0),
        ];
        assert_eq!(next_rate(&steps), None);
        let found = Found {
            alone: alone(50_000),
            steps,
        };
        assert_eq!(found.capacity(), 0.0);
    }
}
