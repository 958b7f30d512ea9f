//! The latency phase: the pipeline under `make simulate`'s load, at the configured commit lag
//! and at none, at `--rate` and at `--high-rate`, at least once, and at `--rate` and the
//! configured lag exactly once (a line appears once its batch is committed), each `--runs`
//! times. Every run starts a
//! pipeline of its own (topic, group, watermark); the consumers' Prometheus histogram is checked
//! against the measured figures in the first run of each setting only, since reading it back
//! needs a scrape interval of quiet before and after.

use std::time::Duration;

use sluice_producer::source::read_bound::ReadBound;

use crate::cli::{Cli, LATENCY_TABLE};
use crate::context::Bench;
use crate::dataset;
use crate::delivery::Delivery;
use crate::latency::{self, Latency};
use crate::report::Results;
use crate::samples::Samples;
use crate::tail::quantile;

/// Runs every setting `--runs` times; see the module doc.
pub async fn run(bench: &Bench, cli: &Cli, results: &mut Results) -> anyhow::Result<()> {
    dataset::recreate(&bench.pool, LATENCY_TABLE).await?;
    dataset::load(&bench.pool, LATENCY_TABLE, 1, latency::PRODUCTS).await?;
    let configured = bench.settings.producer.commit_lag_ms;
    let (once, exactly) = (Delivery::AtLeastOnce, Delivery::ExactlyOnce);
    let settings = [
        (cli.rate, configured, once, "latency"),
        (cli.rate, 0, once, "latency.lag0"),
        (cli.high_rate, configured, once, "latency_high"),
        (cli.high_rate, 0, once, "latency_high.lag0"),
        (cli.rate, configured, exactly, "latency.exactly_once"),
    ];
    for (rate, lag, delivery, prefix) in settings {
        let mut samples = Samples::default();
        // The lag the producer applies: none where it sees open transactions to the microsecond.
        let applied = ReadBound::new(&bench.pool, Duration::from_millis(lag))
            .await
            .lag()
            .as_millis() as f64;
        let setting = Setting {
            prefix,
            about: match delivery {
                Delivery::AtLeastOnce => format!("{rate}/s, commit_lag_ms {lag}"),
                Delivery::ExactlyOnce => format!("{rate}/s, commit_lag_ms {lag}, exactly once"),
            },
            applied_lag_ms: applied,
            poll_ms: bench.settings.producer.poll_interval_ms as f64,
        };
        for run in 1..=cli.runs {
            tracing::info!(
                "latency: {rate} updates/s for {} s, commit_lag_ms {lag}, {}, run {run} of {}",
                cli.latency_seconds,
                delivery.label(),
                cli.runs
            );
            let load = latency::LatencyRun {
                rate,
                seconds: cli.latency_seconds,
                members: cli.members,
                commit_lag_ms: lag,
                run,
                delivery,
            };
            let prometheus = (run == 1).then_some(cli.prometheus.as_str());
            let seen = latency::measure(bench, LATENCY_TABLE, load, prometheus).await?;
            setting.push(&mut samples, &seen);
            if let Some(histogram) = seen.prometheus {
                setting.record_prometheus(results, &seen, histogram);
            }
        }
        samples.record(results);
        setting.record_fixed(results, lag);
    }
    Ok(())
}

/// One setting of rate and commit lag, and how its figures are named.
struct Setting {
    prefix: &'static str,
    about: String,
    applied_lag_ms: f64,
    poll_ms: f64,
}

impl Setting {
    fn key(&self, name: &str) -> String {
        format!("{}.{name}", self.prefix)
    }

    /// The figures of one run.
    fn push(&self, samples: &mut Samples, seen: &Latency) {
        let about = &self.about;
        let mut push = |name: &str, label: &str, unit: &str, value: f64| {
            samples.push(&self.key(name), &format!("{about}: {label}"), unit, value);
        };
        push("records", "lines timed", "lines", seen.records as f64);
        push("p50_ms", "p50 commit to line", "ms", seen.p50_ms);
        push("p99_ms", "p99 commit to line", "ms", seen.p99_ms);
        push("max_ms", "max commit to line", "ms", seen.max_ms);
        push(
            "overhead_p99_ms",
            "p99 above applied lag + poll interval",
            "ms",
            seen.p99_ms - self.applied_lag_ms - self.poll_ms,
        );
        push(
            "updates",
            "updates committed",
            "updates",
            seen.changes.updates as f64,
        );
        push(
            "rate_reached",
            "updates per second reached",
            "updates/s",
            seen.rate_reached,
        );
        push(
            "coalesced",
            "updates first seen in a line of a later update",
            "updates",
            seen.changes.coalesced as f64,
        );
        let mut per_change = seen.changes.latencies_ms.clone();
        for (name, q) in [("p50", 0.5), ("p99", 0.99), ("max", 1.0)] {
            if let Some(ms) = quantile(&mut per_change, q) {
                push(
                    &format!("change_{name}_ms"),
                    &format!("{name} per change, commit to first line carrying it"),
                    "ms",
                    ms,
                );
            }
        }
    }

    /// The figures every run shares: the setting itself and its target.
    fn record_fixed(&self, results: &mut Results, commit_lag_ms: u64) {
        let about = &self.about;
        results.set(
            &self.key("applied_lag_ms"),
            &format!("{about}: lag the read bound applies"),
            "ms",
            self.applied_lag_ms,
        );
        results.set(
            &self.key("commit_lag_ms"),
            &format!("latency run: {about}"),
            "ms",
            commit_lag_ms as f64,
        );
        results.set(
            &self.key("target_p99_ms"),
            &format!("{about}: p99 target (applied lag + poll + 100 ms)"),
            "ms",
            self.applied_lag_ms + self.poll_ms + 100.0,
        );
    }

    /// The consumers' histogram beside the lines measured in the same run.
    fn record_prometheus(&self, results: &mut Results, seen: &Latency, histogram: (f64, f64)) {
        let about = &self.about;
        let (p50_ms, p99_ms) = histogram;
        results.set(
            &self.key("prometheus_p50_ms"),
            &format!("{about}: p50 from the Prometheus histogram, first run"),
            "ms",
            p50_ms,
        );
        results.set(
            &self.key("prometheus_p99_ms"),
            &format!("{about}: p99 from the Prometheus histogram, first run"),
            "ms",
            p99_ms,
        );
        if seen.p99_ms > 0.0 {
            results.set(
                &self.key("prometheus_p99_ratio"),
                &format!("{about}: Prometheus p99 ÷ measured p99 of the same run"),
                "×",
                p99_ms / seen.p99_ms,
            );
        }
    }
}
