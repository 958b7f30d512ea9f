//! A short run of `sluice-bench` against the local stack, so the benchmark cannot rot between
//! full runs: every figure a full run reports must come out, with plausible values.

use std::path::Path;
use std::process::Command;

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("bench/ sits in the repository")
}

/// The last lines of every `.log` below `folder`: the temporary folder is gone once the test
/// fails, and a failure in CI must be explainable from its output alone.
fn log_tails(folder: &std::path::Path) -> String {
    let mut out = String::new();
    let Ok(entries) = std::fs::read_dir(folder) else {
        return out;
    };
    for path in entries.flatten().map(|e| e.path()) {
        if path.is_dir() {
            out.push_str(&log_tails(&path));
        } else if path.extension().is_some_and(|e| e == "log") {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            out.push_str(&format!("== {}\n", path.display()));
            for line in &lines[lines.len().saturating_sub(12)..] {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

#[test]
fn a_small_run_reports_every_figure() {
    let dir = tempfile::tempdir().expect("temp dir");
    let results = dir.path().join("results.json");
    let markdown = dir.path().join("BENCHMARKS.md");
    std::fs::write(
        &markdown,
        "# Benchmarks\n<!-- bench:results:start -->\nold\n<!-- bench:results:end -->\nprose\n",
    )
    .expect("markdown");
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs();
    let output = Command::new(env!("CARGO_BIN_EXE_sluice-bench"))
        .current_dir(repo_root())
        .env("SLUICE_BENCH_MAKE_STARTED", started.to_string())
        .args([
            "--rows",
            "10000",
            "--small-rows",
            "2000",
            "--large-rows",
            "30000",
            "--wide-rows",
            "2000",
            "--backlog-rows",
            "10000",
            // The three-broker phase takes the stack down and up twice (minutes of the smoke
            // run's budget); it runs in `make bench` only.
            "--no-cluster",
            "--latency-seconds",
            "3",
            "--follow-seconds",
            "3",
            "--runs",
            "2",
            // The histogram read back from Prometheus in the first latency setting only: each
            // read-back waits a scrape interval before and after its load.
            "--prometheus-once",
        ])
        .arg("--results")
        .arg(&results)
        .arg("--markdown")
        .arg(&markdown)
        .arg("--work")
        .arg(dir.path().join("work"))
        .output()
        .expect("run sluice-bench");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "sluice-bench failed:\n{stderr}\nthe ends of its processes' logs:\n{}",
        log_tails(&dir.path().join("work"))
    );

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&results).expect("results written"))
            .expect("results are JSON");
    let figure = |path: &str| {
        path.split('.')
            .try_fold(&json, |value, key| value.get(key))
            .and_then(serde_json::Value::as_f64)
            .unwrap_or_else(|| panic!("{path} missing from {json:#}"))
    };
    for rate in [
        "producer.rows_per_s",
        "ceiling.read_rows_per_s",
        "ceiling.producer_perf_test_rows_per_s",
        "ceiling.producer_keyed_rows_per_s",
        "consumer.records_per_s",
        "consumer.single_records_per_s",
        "ceiling.consumer_perf_test_records_per_s",
        "growth.small.producer.rows_per_s",
        "growth.small.consumer.records_per_s",
        "peer.debezium_rows_per_s",
        "peer.debezium_export_rows_per_s",
        "peer.debezium_tuned_rows_per_s",
        "bulk_update.rows_per_s",
        "bulk_update.read_rows_per_s",
        "spread_update.rows_per_s",
        "spread_update.read_rows_per_s",
        "follow.database_updates_per_s",
        "follow.flat_out_per_s",
        "follow.capacity_per_s",
        "follow.exactly_once.capacity_per_s",
        "backlog.at_least_once.changes_per_s",
        "backlog.exactly_once.changes_per_s",
        "binlog.backlog.at_least_once.changes_per_s",
        "binlog.backlog.exactly_once.changes_per_s",
        "binlog.backlog.debezium.changes_per_s",
        "latency_high.rate_reached",
        "large.producer.rows_per_s",
        "large.bulk_update.rows_per_s",
        "wide.producer.rows_per_s",
        "wide.consumer.records_per_s",
        "sweep.keys_per_s",
        "large.sweep.keys_per_s",
        "sweep.read_back.records_per_s",
    ] {
        assert!(figure(rate) > 100.0, "{rate} = {}", figure(rate));
    }
    for ratio in [
        "producer.ratio_to_ceiling",
        "producer.ratio_to_perf_test",
        "producer.ratio_to_read",
        "producer.ratio_to_keyed",
        "bulk_update.ratio_to_ceiling",
        "spread_update.ratio_to_ceiling",
        "consumer.ratio_to_perf_test",
        "consumer.single_ratio_to_perf_test",
        "growth.producer_rate_ratio",
        "peer.debezium_ratio",
        "peer.debezium_tuned_ratio",
        "peer.debezium_cpu_ratio",
        "peer.debezium_tuned_cpu_ratio",
        "sweep.ratio_to_bare_read",
        "large.sweep.ratio_to_bare_read",
        "schema_from_table.cpu_ratio_to_file",
        "backlog.exactly_once_ratio",
        "binlog.backlog.debezium_ratio",
        "binlog.latency.debezium_p99_ratio",
        "large.table_to_buffer_pool",
        "wide.producer.ratio_to_perf_test",
        "wide.producer.ratio_to_read",
    ] {
        let value = figure(ratio);
        assert!(value > 0.0 && value < 100.0, "{ratio} = {value}");
    }
    for cpu in [
        "cpu.producer_seconds_per_million",
        "cpu.producer_keyed_seconds_per_million",
        "cpu.producer_ratio_to_keyed",
    ] {
        let value = figure(cpu);
        assert!(value > 0.0 && value < 1_000.0, "{cpu} = {value}");
    }
    for bytes in [
        "producer.record_bytes",
        "peer.debezium_record_bytes",
        "peer.debezium_tuned_record_bytes",
        "wide.producer.record_bytes",
    ] {
        let value = figure(bytes);
        assert!(value > 10.0 && value < 10_000.0, "{bytes} = {value}");
    }
    assert_eq!(figure("producer.rows"), 10_000.0);
    for (phase, figure) in [
        ("bulk_update", "seconds_runs"),
        ("bulk_update", "from_commit_seconds_runs"),
        ("bulk_update", "settle_seconds_runs"),
        ("spread_update", "from_commit_seconds_runs"),
        ("producer", "rows_per_s_runs"),
        ("consumer", "records_per_s_runs"),
        ("ceiling", "producer_keyed_rows_per_s_runs"),
        ("latency", "change_p99_ms_runs"),
        ("binlog.latency", "change_p99_ms_runs"),
        ("binlog.latency.exactly_once", "change_p99_ms_runs"),
        ("latency_high", "rate_reached_runs"),
        ("follow", "capacity_per_s_runs"),
        ("follow", "database_updates_per_s_runs"),
        ("follow.exactly_once", "capacity_per_s_runs"),
        ("wide.producer", "rows_per_s_runs"),
        ("backlog.at_least_once", "changes_per_s_runs"),
        ("backlog.exactly_once", "changes_per_s_runs"),
        ("backlog", "settle_seconds_runs"),
        ("binlog.backlog.exactly_once", "changes_per_s_runs"),
        ("binlog.backlog.debezium", "changes_per_s_runs"),
        ("binlog.latency.debezium", "change_p99_ms_runs"),
        ("schema_from_table", "cpu_ratio_to_file_runs"),
        ("text_sweep", "pass_seconds_runs"),
        ("text_sweep", "delete_to_topic_seconds_runs"),
    ] {
        let runs = phase.split('.').fold(&json, |value, key| &value[key])[figure]
            .as_array()
            .unwrap_or_else(|| panic!("every run of {phase}.{figure} kept: {json:#}"));
        assert_eq!(
            runs.len(),
            2,
            "one figure per run: {phase}.{figure} {runs:?}"
        );
    }
    let (low, middle, high) = (
        figure("bulk_update.seconds_min"),
        figure("bulk_update.seconds"),
        figure("bulk_update.seconds_max"),
    );
    assert!(
        0.0 < low && low <= middle && middle <= high,
        "{low} {middle} {high}"
    );
    for target in [
        "bulk_update_time",
        "producer_snapshot",
        "consumer",
        "follow_capacity",
        "large_bulk_update",
        "rss_wide_producer",
        "latency_p99",
        "latency_exactly_once_p99",
        "binlog_latency_change_p99",
        "binlog_latency_exactly_once_change_p99",
        "binlog_backlog_vs_debezium",
        "binlog_latency_vs_debezium",
        "rss_producer",
        "schema_from_table",
        "rss_text_sweep_producer",
        "backlog",
        "rss_backlog_exactly_once_consumer",
        "time_budget",
    ] {
        assert!(
            json["targets"][target]["met"].is_boolean(),
            "target {target} judged: {json:#}"
        );
    }
    for run in [
        "latency",
        "latency.lag0",
        "latency_high",
        "latency_high.lag0",
        "latency.exactly_once",
        "binlog.latency",
        "binlog.latency.exactly_once",
    ] {
        let (p50, p99, max) = (
            figure(&format!("{run}.p50_ms")),
            figure(&format!("{run}.p99_ms")),
            figure(&format!("{run}.max_ms")),
        );
        assert!(
            0.0 < p50 && p50 <= p99 && p99 <= max,
            "{run}: {p50} {p99} {max}"
        );
        assert!(figure(&format!("{run}.records")) > 100.0, "{run}: {json:#}");
        let (c50, c99, cmax) = (
            figure(&format!("{run}.change_p50_ms")),
            figure(&format!("{run}.change_p99_ms")),
            figure(&format!("{run}.change_max_ms")),
        );
        assert!(
            0.0 <= c50 && c50 <= c99 && c99 <= cmax,
            "{run} per change: {c50} {c99} {cmax}"
        );
        let updates = figure(&format!("{run}.updates"));
        assert!(updates > 100.0, "{run}: {json:#}");
        assert!(
            figure(&format!("{run}.coalesced")) <= updates,
            "{run}: {json:#}"
        );
        assert!(
            figure(&format!("{run}.rate_reached")) > 0.0,
            "{run}: {json:#}"
        );
    }
    assert!(
        figure("latency.prometheus_p99_ms") > 0.0,
        "the histogram read back: {json:#}"
    );
    for target in ["latency_prometheus_low", "latency_prometheus_high"] {
        assert!(
            json["targets"][target]["met"].is_boolean(),
            "target {target} judged: {json:#}"
        );
    }
    assert_eq!(figure("latency.lag0.commit_lag_ms"), 0.0);
    // Every update its own line: the binary log folds none into a later one.
    for run in ["binlog.latency", "binlog.latency.exactly_once"] {
        assert_eq!(figure(&format!("{run}.coalesced")), 0.0, "{run}: {json:#}");
    }
    for memory in [
        "rss.producer_mb",
        "rss.consumer_mb",
        "large.rss.producer_mb",
        "wide.rss.producer_mb",
        "wide.rss.consumer_mb",
        "peer.debezium_rss_mb",
        "peer.debezium_tuned_rss_mb",
        "binlog.backlog.debezium.rss_mb",
        "backlog.at_least_once.rss.producer_mb",
        "backlog.exactly_once.rss.consumer_mb",
    ] {
        let mb = figure(memory);
        assert!(mb > 1.0 && mb < 4096.0, "{memory} = {mb}");
    }
    assert!(
        json["run"]["kafka"]
            .as_str()
            .is_some_and(|v| v.starts_with('4')),
        "{json:#}"
    );
    for described in ["commit", "brokers", "debezium"] {
        assert!(
            json["run"][described]
                .as_str()
                .is_some_and(|v| !v.is_empty() && v != "unknown"),
            "run.{described}: {json:#}"
        );
    }
    assert_eq!(figure("parameters.rows"), 10_000.0);
    assert_eq!(figure("parameters.runs"), 2.0);
    assert_eq!(figure("parameters.backlog_rows"), 10_000.0);
    assert!(
        figure("large.bulk_update.purge_done") == 1.0,
        "the large bulk update waited for the purge: {json:#}"
    );
    for per_million in [
        "machine.producer.cpu_seconds_per_million",
        "machine.consumer.cpu_seconds_per_million",
        "bulk_update.machine_cpu_seconds_per_million",
        "peer.debezium_tuned_cpu_us_per_row",
        "peer.debezium_tuned_paired_sluice_cpu_us_per_row",
        "backlog.at_least_once.machine_cpu_seconds_per_million",
        "backlog.exactly_once.producer_cpu_seconds_per_million",
        "large.cold.read_from_disk_ratio",
    ] {
        assert!(figure(per_million) > 0.0, "{per_million}");
    }
    let phases = json["phase_minutes"].as_object().expect("phase times");
    for phase in [
        "warm_up",
        "small",
        "full_size",
        "sweep",
        "bulk_update",
        "backlog",
        "peer",
        "latency",
        "follow",
    ] {
        assert!(
            phases.contains_key(phase),
            "phase_minutes.{phase}: {phases:?}"
        );
    }
    assert!(figure("run_minutes") > 0.0);
    assert!(figure("make_minutes") >= figure("run_minutes"));

    let text = std::fs::read_to_string(&markdown).expect("markdown");
    assert!(text.contains("`producer.rows_per_s`"), "{text}");
    assert!(text.contains("| target | figure |"), "{text}");
    assert!(text.contains("targets met in this run"), "{text}");
    assert!(text.contains("`parameters.warm_up_records`"), "{text}");
    assert!(!text.contains("old\n"), "the old table is replaced: {text}");
    assert!(
        text.ends_with("<!-- bench:results:end -->\nprose\n"),
        "{text}"
    );
}
