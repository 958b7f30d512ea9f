//! The peer phase: Debezium snapshots the same full-size table the producer just did, and
//! sluice's rate is reported as a multiple of Debezium's.

use crate::context::Bench;
use crate::debezium::{self, Account};
use crate::report::Results;
use crate::{Cli, TABLE};

/// Runs the Debezium snapshot over the full table and records it beside the producer's.
pub async fn run(bench: &Bench, cli: &Cli, results: &mut Results) -> anyhow::Result<()> {
    tracing::info!(
        "peer: Debezium's MariaDB connector snapshots the same {} rows",
        cli.rows
    );
    let account = Account {
        user: cli.cdc_user.clone(),
        password: cli.cdc_password.clone(),
    };
    let peer = debezium::snapshot(bench, &account, TABLE, cli.rows).await?;
    results.set(
        "peer.debezium_seconds",
        "Debezium: worker start to last record in Kafka",
        "s",
        peer.seconds,
    );
    results.set(
        "peer.debezium_rows_per_s",
        "Debezium: snapshot throughput",
        "rows/s",
        peer.rows_per_s,
    );
    results.set(
        "rss.debezium_mb",
        "Debezium: peak RSS of the Connect worker",
        "MiB",
        peer.usage.peak_rss_mb,
    );
    results.set(
        "cpu.debezium_seconds",
        "Debezium: CPU time of the Connect worker",
        "s",
        peer.usage.cpu_seconds,
    );
    results.ratio(
        "peer.debezium_ratio",
        "producer ÷ Debezium (rows/s, both from process start)",
        "producer.rows_per_s",
        "peer.debezium_rows_per_s",
    );
    if let Some(export) = peer.export_seconds {
        results.set(
            "peer.debezium_export_rows_per_s",
            "Debezium: rows/s by its own export timer (no JVM start)",
            "rows/s",
            cli.rows as f64 / export,
        );
        results.ratio(
            "peer.debezium_export_ratio",
            "producer ÷ Debezium's export-timer rate",
            "producer.rows_per_s",
            "peer.debezium_export_rows_per_s",
        );
    } else {
        tracing::warn!("Debezium's log has no export summary; its own timer is not reported");
    }
    Ok(())
}
