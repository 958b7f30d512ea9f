//! The latency phase: the pipeline under `make simulate`'s load, at the configured commit lag
//! and at none, at `--rate` and at `--high-rate`, at least once, and at `--rate` and the
//! configured lag exactly once (a line appears once its batch is committed), each `--runs`
//! times. Every run starts a pipeline of its own (topic, group, watermark); the consumers'
//! Prometheus histogram is checked against the measured figures in the first run of each
//! setting only (of the first setting only with `--prometheus-once`), since reading it back
//! needs a scrape interval of quiet before and after. The binlog source runs at `--rate` both
//! ways, and Debezium's connector under the same load, one run after each of the binlog
//! source's exactly-once runs (see `latency_peer`).

use std::time::Duration;

use sluice_producer::source::read_bound::ReadBound;

use crate::cli::{Cli, LATENCY_TABLE};
use crate::context::Bench;
use crate::dataset;
use crate::delivery::Delivery;
use crate::latency::{self, Latency};
use crate::latency_peer::PeerLatency;
use crate::report::Results;
use crate::samples::Samples;
use crate::source::Source;
use crate::tail::quantile;

/// Runs every setting `--runs` times; see the module doc.
pub async fn run(bench: &Bench, cli: &Cli, results: &mut Results) -> anyhow::Result<()> {
    dataset::recreate(&bench.pool, LATENCY_TABLE).await?;
    dataset::load(&bench.pool, LATENCY_TABLE, 1, latency::PRODUCTS).await?;
    let configured = bench.settings.producer.commit_lag_ms;
    let (once, exactly) = (Delivery::AtLeastOnce, Delivery::ExactlyOnce);
    let (polled, binlog) = (Source::Polled, Source::Binlog);
    let settings = [
        (cli.rate, configured, once, polled, "latency"),
        (cli.rate, 0, once, polled, "latency.lag0"),
        (cli.high_rate, configured, once, polled, "latency_high"),
        (cli.high_rate, 0, once, polled, "latency_high.lag0"),
        (
            cli.rate,
            configured,
            exactly,
            polled,
            "latency.exactly_once",
        ),
        (cli.rate, 0, once, binlog, "binlog.latency"),
        (cli.rate, 0, exactly, binlog, "binlog.latency.exactly_once"),
    ];
    for (index, (rate, lag, delivery, source, prefix)) in settings.into_iter().enumerate() {
        let read_back = index == 0 || !cli.prometheus_once;
        // Debezium's runs alternate with the binlog source's exactly-once runs.
        let mut peer = if source == binlog && delivery == exactly && !cli.no_peer {
            Some(PeerLatency::start(bench, cli).await?)
        } else {
            None
        };
        let mut samples = Samples::default();
        let setting = match source {
            Source::Polled => {
                // The lag the producer applies: none where it sees open transactions to the
                // microsecond.
                let applied = ReadBound::new(&bench.pool, Duration::from_millis(lag))
                    .await
                    .lag()
                    .as_millis() as f64;
                let poll_ms = bench.settings.producer.poll_interval_ms as f64;
                Setting {
                    prefix,
                    about: match delivery {
                        Delivery::AtLeastOnce => format!("{rate}/s, commit_lag_ms {lag}"),
                        Delivery::ExactlyOnce => {
                            format!("{rate}/s, commit_lag_ms {lag}, exactly once")
                        }
                    },
                    applied_lag_ms: applied,
                    poll_ms,
                    target: Target {
                        p99_ms: applied + poll_ms + 100.0,
                        says: "applied lag + poll interval + 100 ms",
                    },
                }
            }
            Source::Binlog => Setting {
                prefix,
                about: format!("binlog source, {rate}/s, {}", delivery.label()),
                applied_lag_ms: 0.0,
                poll_ms: 0.0,
                target: match delivery {
                    Delivery::AtLeastOnce => Target {
                        p99_ms: BINLOG_AT_LEAST_ONCE_P99_MS,
                        says: "100 ms",
                    },
                    Delivery::ExactlyOnce => Target {
                        p99_ms: BINLOG_EXACTLY_ONCE_P99_MS,
                        says: "250 ms",
                    },
                },
            },
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
                source,
            };
            let prometheus = (run == 1 && read_back).then_some(cli.prometheus.as_str());
            let seen = latency::measure(bench, LATENCY_TABLE, load, prometheus).await?;
            setting.push(&mut samples, &seen);
            if let Some(histogram) = seen.prometheus {
                setting.record_prometheus(results, &seen, histogram);
            }
            if let Some(peer) = &mut peer {
                peer.changed_meanwhile(seen.changes.updates);
                peer.run(bench, cli, run).await?;
            }
        }
        samples.record(results);
        setting.record_fixed(results, lag);
        if let Some(peer) = peer {
            peer.finish(bench, results).await?;
        }
    }
    if !cli.no_peer {
        results.ratio(
            "binlog.latency.debezium_p99_ratio",
            "p99 per change: binlog source exactly once (to the files) ÷ Debezium tuned (to Kafka)",
            "binlog.latency.exactly_once.change_p99_ms",
            "binlog.latency.debezium.change_p99_ms",
        );
    }
    Ok(())
}

/// The binlog source's p99 per change at `--rate`, at least once: it streams, no poll waits.
const BINLOG_AT_LEAST_ONCE_P99_MS: f64 = 100.0;
/// The same exactly once, where a line appears once its batch is committed.
const BINLOG_EXACTLY_ONCE_P99_MS: f64 = 250.0;

/// One setting of source, rate and commit lag, and how its figures are named.
struct Setting {
    prefix: &'static str,
    about: String,
    applied_lag_ms: f64,
    poll_ms: f64,
    target: Target,
}

/// The p99 a setting must stay within, and how it is made up.
struct Target {
    p99_ms: f64,
    says: &'static str,
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
            &format!("{about}: p99 target ({})", self.target.says),
            "ms",
            self.target.p99_ms,
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
