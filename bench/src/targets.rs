//! The targets a run is judged against, checked by the bench on the figures it measured, so
//! BENCHMARKS.md states which were met rather than anyone typing it.

use crate::report::Results;

/// Peak RSS every sluice process must stay under, in MiB.
pub const RSS_LIMIT_MB: f64 = 64.0;
/// Lowest share of its at-least-once throughput a path may keep with exactly once on.
const EXACTLY_ONCE_SHARE: f64 = 0.85;
/// Most a whole delete sweep may take, as a multiple of the bare read of the same keys.
const SWEEP_TO_BARE_READ: f64 = 2.0;
/// Lowest share of its ceiling a sluice path must reach.
const SHARE_OF_CEILING: f64 = 0.7;

/// Lowest ratio of the binlog source's backlog catch-up (exactly once) to Debezium's on the
/// same backlog.
const BINLOG_BACKLOG_TO_DEBEZIUM: f64 = 5.0;
/// Lowest rate at which the binlog source catches up a backlog, either delivery, changes per
/// second.
const BINLOG_BACKLOG_CHANGES_PER_S: f64 = 100_000.0;
/// Lowest rate at which the pipeline catches up a backlog at least once, changes per second.
pub const BACKLOG_CHANGES_PER_S: f64 = 250_000.0;
/// Most a bulk update may cost per row on the large table, as a multiple of the full size's.
const LARGE_BULK_UPDATE_GROWTH: f64 = 1.1;

/// Minutes a run may take: a full `make bench` from a fresh clone, the stack and the release
/// build included; a `--quick` run from its start to its last figure (a release build from
/// scratch alone takes minutes here).
const TIME_BUDGET_MINUTES: (f64, f64) = (75.0, 10.0);

/// The time budget of a run, `--quick` or not.
pub fn time_budget_minutes(quick: bool) -> f64 {
    if quick {
        TIME_BUDGET_MINUTES.1
    } else {
        TIME_BUDGET_MINUTES.0
    }
}

/// What a million rows (records) may cost in CPU seconds, and how close to Kafka's own
/// perf-test clients sluice must come on the same machine in the same run.
const PRODUCER_CPU_PER_MILLION: f64 = 1.2;
const SNAPSHOT_MACHINE_CPU_PER_MILLION: f64 = 3.0;
const PRODUCER_TO_PERF_TEST: f64 = 1.0;
const CONSUMER_CPU_PER_MILLION: f64 = 1.0;
const CONSUMER_TO_PERF_TEST: f64 = 0.9;

/// Most the schema built from the table may cost per row, as a multiple of the schema file's.
const DERIVED_SCHEMA_COST: f64 = 1.05;

/// Checks every target whose figures the run measured.
pub fn check(results: &mut Results) {
    if let Some(budget) = results.parameter_value("time_budget_minutes") {
        let (what, figure) = match results.parameter_value("quick") == Some(1.0) {
            true => (
                "a --quick run within its time budget, from its start to its last figure",
                "run_minutes",
            ),
            false => (
                "make bench within its time budget, the stack and the release build included",
                "make_minutes",
            ),
        };
        results.target("time_budget", what, figure, true, budget);
    }
    results.target(
        "schema_from_table",
        "producer CPU per row with the schema built from the table ≤ 1.05 × with the schema file",
        "schema_from_table.cpu_ratio_to_file",
        true,
        DERIVED_SCHEMA_COST,
    );
    results.target(
        "producer_snapshot",
        "first snapshot ≥ 0.7 × the lower of the bare read and the keyed producer",
        "producer.ratio_to_ceiling",
        false,
        SHARE_OF_CEILING,
    );
    cpu_per_row(results);
    results.target(
        "bulk_update_time",
        "bulk update of every row (one timestamp) ≤ 1.5 × the first snapshot's time",
        "bulk_update.ratio_to_snapshot",
        true,
        1.5,
    );
    for (key, shape) in [
        ("bulk_update", "one timestamp"),
        ("spread_update", "distinct timestamps"),
    ] {
        results.target(
            &format!("{key}_ceiling"),
            &format!(
                "bulk update, {shape}: producer ≥ 0.7 × the lower of its bare read and the keyed producer"
            ),
            &format!("{key}.ratio_to_ceiling"),
            false,
            SHARE_OF_CEILING,
        );
    }
    for (key, table) in [("sweep", "full-size"), ("large.sweep", "10 M-row")] {
        results.target(
            &format!("{}_cost", key.replace('.', "_")),
            &format!("delete sweep of the {table} table ≤ {SWEEP_TO_BARE_READ} × the bare read of its keys"),
            &format!("{key}.ratio_to_bare_read"),
            true,
            SWEEP_TO_BARE_READ,
        );
    }
    let polled = "applied lag + poll interval + 100 ms";
    for (run, limit_says) in [
        ("latency", polled),
        ("latency.lag0", polled),
        ("latency.exactly_once", polled),
        ("binlog.latency", "100 ms"),
        ("binlog.latency.exactly_once", "250 ms"),
    ] {
        if let Some(limit) = results.get(&format!("{run}.target_p99_ms")) {
            results.target(
                &format!("{}_p99", run.replace('.', "_")),
                &format!("{run}: p99 commit to line ≤ {limit_says}"),
                &format!("{run}.p99_ms"),
                true,
                limit,
            );
            results.target(
                &format!("{}_change_p99", run.replace('.', "_")),
                &format!("{run}: p99 per change, commit to first line, ≤ {limit_says}"),
                &format!("{run}.change_p99_ms"),
                true,
                limit,
            );
        }
        for (bound, at_most, limit) in [("low", false, 0.9), ("high", true, 1.1)] {
            results.target(
                &format!("{}_prometheus_{bound}", run.replace('.', "_")),
                &format!("{run}: Prometheus p99 within 10 % of the measured p99"),
                &format!("{run}.prometheus_p99_ratio"),
                at_most,
                limit,
            );
        }
    }
    results.target(
        "follow_capacity",
        "follow capacity ≥ 0.9 × the lower of 20 000 changes/s and what MariaDB reached",
        "follow.capacity_ratio",
        false,
        0.9,
    );
    results.target(
        "cluster_snapshot",
        "three brokers: first snapshot ≥ 0.9 × kafka-producer-perf-test on the same cluster",
        "cluster.producer.ratio_to_perf_test",
        false,
        0.9,
    );
    results.target(
        "backlog",
        "backlog catch-up at least once ≥ 250 000 changes/s, start to last line",
        "backlog.at_least_once.changes_per_s",
        false,
        BACKLOG_CHANGES_PER_S,
    );
    for (delivery, label) in [
        ("at_least_once", "at least once"),
        ("exactly_once", "exactly once"),
    ] {
        results.target(
            &format!("binlog_backlog_{delivery}"),
            &format!(
                "binlog source: backlog catch-up {label} ≥ 100 000 changes/s, start to last line"
            ),
            &format!("binlog.backlog.{delivery}.changes_per_s"),
            false,
            BINLOG_BACKLOG_CHANGES_PER_S,
        );
    }
    results.target(
        "binlog_latency_vs_debezium",
        "binlog source: p99 per change exactly once (to the files) below Debezium's tuned connector (to Kafka), same load",
        "binlog.latency.debezium_p99_ratio",
        true,
        1.0,
    );
    results.target(
        "binlog_backlog_vs_debezium",
        "binlog source: backlog catch-up exactly once (to the files) ≥ 5 × Debezium's tuned connector (to Kafka), same backlog",
        "binlog.backlog.debezium_ratio",
        false,
        BINLOG_BACKLOG_TO_DEBEZIUM,
    );
    if let Some(size) = results.get("large.size_ratio") {
        results.target(
            "large_bulk_update",
            "bulk update of the large table, purge settled ≤ 1.1 × (its rows ÷ the full size's) × the full-size time (11 × for 10 M against 1 M)",
            "large.bulk_update.ratio_to_full",
            true,
            LARGE_BULK_UPDATE_GROWTH * size,
        );
    }
    for (key, figure, what) in [
        (
            "exactly_once_producer",
            "exactly_once.producer_ratio",
            "producer snapshot",
        ),
        (
            "exactly_once_consumer",
            "exactly_once.consumer_ratio",
            "consumer group",
        ),
    ] {
        results.target(
            key,
            &format!("{what} exactly once ≥ {EXACTLY_ONCE_SHARE} × at least once"),
            figure,
            false,
            EXACTLY_ONCE_SHARE,
        );
    }
    for (key, figure) in [
        ("rss_producer", "rss.producer_mb"),
        ("rss_consumer", "rss.consumer_mb"),
        ("rss_bulk_update", "bulk_update.rss_mb"),
        ("rss_spread_update", "spread_update.rss_mb"),
        ("rss_large_producer", "large.rss.producer_mb"),
        ("rss_large_bulk_update", "large.bulk_update.rss_mb"),
        ("rss_wide_producer", "wide.rss.producer_mb"),
        ("rss_wide_consumer", "wide.rss.consumer_mb"),
        ("rss_exactly_once_producer", "exactly_once.rss.producer_mb"),
        ("rss_exactly_once_consumer", "exactly_once.rss.consumer_mb"),
        ("rss_text_sweep_producer", "text_sweep.rss.producer_mb"),
        (
            "rss_backlog_producer",
            "backlog.at_least_once.rss.producer_mb",
        ),
        (
            "rss_backlog_consumer",
            "backlog.at_least_once.rss.consumer_mb",
        ),
        (
            "rss_backlog_exactly_once_producer",
            "backlog.exactly_once.rss.producer_mb",
        ),
        (
            "rss_backlog_exactly_once_consumer",
            "backlog.exactly_once.rss.consumer_mb",
        ),
        ("rss_cluster_producer", "cluster.rss.producer_mb"),
        ("rss_cluster_consumer", "cluster.rss.consumer_mb"),
    ] {
        results.target(
            key,
            &format!("{figure} ≤ {RSS_LIMIT_MB} MiB"),
            figure,
            true,
            RSS_LIMIT_MB,
        );
    }
    results.target(
        "peer",
        "first snapshot ≥ 3 × Debezium's (its defaults)",
        "peer.debezium_ratio",
        false,
        3.0,
    );
    results.target(
        "peer_tuned",
        "first snapshot ≥ 10 × Debezium's, tuned, paired runs",
        "peer.debezium_tuned_ratio",
        false,
        10.0,
    );
    results.target(
        "peer_tuned_cpu",
        "Debezium's CPU per row, tuned ≥ 10 × sluice's producer's, paired runs",
        "peer.debezium_tuned_cpu_ratio",
        false,
        10.0,
    );
}

/// Says how many targets the run met, and names each one it did not.
pub fn log(results: &Results) {
    let targets = results.targets();
    let missed: Vec<_> = targets.iter().filter(|t| !t.met()).collect();
    tracing::info!(
        "targets: {} of {} met",
        targets.len() - missed.len(),
        targets.len()
    );
    for target in missed {
        tracing::warn!(
            "target not met: {} ({} = {:.3}, limit {:.3})",
            target.label,
            target.figure,
            target.value,
            target.limit
        );
    }
}

/// The cost of a row: CPU per million in the first snapshot and in one consumer, and their
/// throughput against Kafka's perf-test clients.
fn cpu_per_row(results: &mut Results) {
    for (key, label, figure, at_most, limit) in [
        (
            "producer_cpu",
            "first snapshot: producer CPU per million rows",
            "cpu.producer_seconds_per_million",
            true,
            PRODUCER_CPU_PER_MILLION,
        ),
        (
            "snapshot_machine_cpu",
            "first snapshot: the whole machine's CPU per million rows",
            "machine.producer.cpu_seconds_per_million",
            true,
            SNAPSHOT_MACHINE_CPU_PER_MILLION,
        ),
        (
            "producer_vs_perf_test",
            "first snapshot ≥ 1 × kafka-producer-perf-test, same run",
            "producer.ratio_to_perf_test",
            false,
            PRODUCER_TO_PERF_TEST,
        ),
        (
            "consumer_cpu",
            "one consumer's CPU per million records",
            "cpu.consumer_single_seconds_per_million",
            true,
            CONSUMER_CPU_PER_MILLION,
        ),
        (
            "consumer",
            "one consumer ≥ 0.9 × one kafka-consumer-perf-test consumer, same run",
            "consumer.single_ratio_to_perf_test",
            false,
            CONSUMER_TO_PERF_TEST,
        ),
    ] {
        let label = match at_most {
            true => format!("{label} ≤ {limit} s"),
            false => label.to_owned(),
        };
        results.target(key, &label, figure, at_most, limit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each target checked on `results`, by key, and whether it was met.
    fn judged(results: &mut Results) -> Vec<(&str, bool)> {
        check(results);
        results
            .targets()
            .iter()
            .map(|t| (t.key.as_str(), t.met()))
            .collect()
    }

    #[test]
    fn only_measured_figures_are_judged_and_limits_come_from_the_run() {
        let mut results = Results::default();
        results.set("producer.ratio_to_ceiling", "p", "×", 0.65);
        results.set("bulk_update.ratio_to_snapshot", "b", "×", 1.2);
        results.set("latency.p99_ms", "l", "ms", 590.0);
        results.set("latency.target_p99_ms", "t", "ms", 600.0);
        results.parameter("time_budget_minutes", "budget", 75.0);
        results.set("make_minutes", "make", "min", 80.0);
        assert_eq!(
            judged(&mut results),
            [
                ("time_budget", false),
                ("producer_snapshot", false),
                ("bulk_update_time", true),
                ("latency_p99", true)
            ]
        );
    }

    #[test]
    fn a_rows_cost_is_judged_against_the_perf_test_clients() {
        let mut results = Results::default();
        results.set("cpu.producer_seconds_per_million", "p", "s", 1.3);
        results.set("cpu.consumer_single_seconds_per_million", "c", "s", 0.9);
        results.set("consumer.single_ratio_to_perf_test", "r", "×", 0.85);
        assert_eq!(
            judged(&mut results),
            [
                ("producer_cpu", false),
                ("consumer_cpu", true),
                ("consumer", false)
            ]
        );
    }
}
