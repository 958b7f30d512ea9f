//! What a reader needs to compare a run with theirs: when, on what machine, which versions and
//! which configuration.

use std::process::Command;

use crate::cli::Cli;
use crate::context::Bench;
use crate::report::Results;

/// Fills the run's description; a fact that cannot be found is written as `unknown`.
pub async fn run(bench: &Bench, cli: &Cli, results: &mut Results) {
    results.describe(
        "date",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
    );
    results.describe("machine", machine());
    results.describe("sluice", env!("CARGO_PKG_VERSION"));
    let mariadb: Option<String> = sqlx::query_scalar("SELECT VERSION()")
        .fetch_one(&bench.pool)
        .await
        .ok();
    results.describe("mariadb", mariadb.unwrap_or_else(|| "unknown".into()));
    let kafka = bench
        .kafka_tool(&["topics", "--version"])
        .map(|v| v.split_whitespace().next().unwrap_or("unknown").to_owned())
        .unwrap_or_else(|_| "unknown".into());
    results.describe("kafka", kafka);
    results.describe("librdkafka", rdkafka::util::get_rdkafka_version().1);
    results.describe("debezium", debezium_version());
    results.describe("commit", commit());
    let brokers = brokers(bench);
    let replication = sluice_common::kafka::Replication::of(&bench.settings.kafka, brokers);
    results.describe(
        "brokers",
        format!(
            "{brokers}; every topic {} replica(s), min.insync.replicas {}, except in the cluster phase (cluster.*)",
            replication.factor, replication.min_insync_replicas
        ),
    );
    let p = &bench.settings.producer;
    results.describe(
        "config",
        format!(
            "rows {} and {}; {} partitions; batch_size {}; linger_ms {}; compression {}; acks all, idempotent; commit_lag_ms {}; poll_interval_ms {}; {} consumers, commit_interval_ms {}; {} runs of each phase; latency runs {} s, follow steps {} s",
            cli.small_rows,
            cli.rows,
            bench.settings.kafka.partitions,
            p.batch_size,
            p.linger_ms,
            p.compression,
            p.commit_lag_ms,
            p.poll_interval_ms,
            cli.members,
            bench.settings.consumer.commit_interval_ms,
            cli.runs,
            cli.latency_seconds,
            cli.follow_seconds
        ),
    );
}

/// The brokers of the stack's cluster (0 when its metadata cannot be read).
pub fn brokers(bench: &Bench) -> usize {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    sluice_common::kafka::client_config(&bench.settings.kafka)
        .create::<BaseConsumer>()
        .ok()
        .and_then(|client| {
            client
                .fetch_metadata(None, std::time::Duration::from_secs(10))
                .ok()
        })
        .map_or(0, |metadata| metadata.brokers().len())
}

/// The commit measured, `-dirty` when the tree has changes.
fn commit() -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(commit)
            if git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty()) =>
        {
            format!("{commit}-dirty")
        }
        Some(commit) => commit,
        None => "unknown".into(),
    }
}

/// The Debezium connector `bench/debezium/pom.xml` resolves.
fn debezium_version() -> String {
    include_str!("../debezium/pom.xml")
        .split_once("<debezium.version>")
        .and_then(|(_, rest)| rest.split_once('<'))
        .map_or_else(
            || "unknown".into(),
            |(version, _)| version.trim().to_owned(),
        )
}

/// `2 cores, AMD EPYC …, 7.8 GiB`, from /proc.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, m)| m.trim().to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory_kb: u64 = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|l| l.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0);
    let kernel = Command::new("uname")
        .arg("-r")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    format!(
        "{cores} cores, {model}, {:.1} GiB, Linux {kernel}",
        memory_kb as f64 / 1024.0 / 1024.0
    )
}
