//! The latency phase: the pipeline under `make simulate`'s load, at the configured commit lag
//! and at none.

use std::time::Duration;

use sluice_producer::source::read_bound::ReadBound;

use crate::context::Bench;
use crate::report::Results;
use crate::tail::quantile;
use crate::{dataset, latency, Cli, LATENCY_TABLE};

/// The latency runs at `--rate` and at `--high-rate`: each with the configured commit lag, then
/// with none, so what sluice adds above the configured floor (commit lag plus poll interval)
/// shows.
pub async fn run(bench: &Bench, cli: &Cli, results: &mut Results) -> anyhow::Result<()> {
    dataset::recreate(&bench.pool, LATENCY_TABLE).await?;
    dataset::load(&bench.pool, LATENCY_TABLE, 1, latency::PRODUCTS).await?;
    let configured = bench.settings.producer.commit_lag_ms;
    let poll = bench.settings.producer.poll_interval_ms as f64;
    let runs = [
        (cli.rate, configured, "latency"),
        (cli.rate, 0, "latency.lag0"),
        (cli.high_rate, configured, "latency_high"),
        (cli.high_rate, 0, "latency_high.lag0"),
    ];
    for (rate, lag, prefix) in runs {
        tracing::info!(
            "latency: {rate} updates/s for {} s, commit_lag_ms {lag}",
            cli.latency_seconds
        );
        let load = latency::LatencyRun {
            rate,
            seconds: cli.latency_seconds,
            members: cli.members,
            commit_lag_ms: lag,
        };
        let seen = latency::measure(bench, LATENCY_TABLE, load, &cli.prometheus).await?;
        let key = |name: &str| format!("{prefix}.{name}");
        let about = format!("{rate}/s, commit_lag_ms {lag}");
        // The lag the producer applies: none where it sees open transactions to the microsecond.
        let applied = ReadBound::new(&bench.pool, Duration::from_millis(lag))
            .await
            .lag()
            .as_millis() as f64;
        results.set(
            &key("applied_lag_ms"),
            &format!("{about}: lag the read bound applies"),
            "ms",
            applied,
        );
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
            &format!("{about}: p99 target (applied lag + poll + 100 ms)"),
            "ms",
            applied + poll + 100.0,
        );
        results.set(
            &key("overhead_p99_ms"),
            &format!("{about}: p99 above applied lag + poll interval"),
            "ms",
            seen.p99_ms - applied - poll,
        );
        let mut per_change = seen.changes.latencies_ms.clone();
        results.set(
            &key("updates"),
            &format!("{about}: updates committed"),
            "updates",
            seen.changes.updates as f64,
        );
        results.set(
            &key("rate_reached"),
            &format!("{about}: updates per second reached"),
            "updates/s",
            seen.rate_reached,
        );
        results.set(
            &key("coalesced"),
            &format!("{about}: updates first seen in a line of a later update"),
            "updates",
            seen.changes.coalesced as f64,
        );
        for (name, q) in [("p50", 0.5), ("p99", 0.99), ("max", 1.0)] {
            if let Some(ms) = quantile(&mut per_change, q) {
                results.set(
                    &key(&format!("change_{name}_ms")),
                    &format!("{about}: {name} per change, commit to first line carrying it"),
                    "ms",
                    ms,
                );
            }
        }
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
