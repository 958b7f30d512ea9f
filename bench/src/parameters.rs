//! The parameters of a run, written into the results beside its figures, so that the prose of
//! BENCHMARKS.md names them (`parameters.*`) and holds no number of its own.

use crate::cli::{Cli, WARM_UP_RECORDS};
use crate::report::Results;

/// Records every parameter a phase's description refers to.
pub fn record(cli: &Cli, results: &mut Results) {
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    let parameters: [(&str, &str, f64); 36] = [
        (
            "rows",
            "rows of the full-size table (`--rows`)",
            cli.rows as f64,
        ),
        (
            "small_rows",
            "rows of the small table (`--small-rows`)",
            cli.small_rows as f64,
        ),
        (
            "large_rows",
            "rows of the large table (`--large-rows`; 0: skipped)",
            cli.large_rows as f64,
        ),
        (
            "wide_rows",
            "rows of the wide table (`--wide-rows`; 0: skipped)",
            cli.wide_rows as f64,
        ),
        (
            "backlog_rows",
            "rows of the backlog table, each changed once per run (`--backlog-rows`; 0: skipped)",
            cli.backlog_rows as f64,
        ),
        (
            "quick",
            "a short run (`--quick`): 1, else 0",
            if cli.quick { 1.0 } else { 0.0 },
        ),
        (
            "time_budget_minutes",
            "minutes a run may take: make bench, stack and build included; a --quick run, the bench alone",
            crate::targets::time_budget_minutes(cli.quick),
        ),
        (
            "runs",
            "runs of each repeated phase (`--runs`)",
            f64::from(cli.runs),
        ),
        (
            "members",
            "members of the consumer group (`--members`)",
            f64::from(cli.members),
        ),
        (
            "rate",
            "updates per second of the latency runs (`--rate`)",
            f64::from(cli.rate),
        ),
        (
            "high_rate",
            "updates per second of the high-rate latency runs (`--high-rate`)",
            f64::from(cli.high_rate),
        ),
        (
            "latency_seconds",
            "seconds of load per latency run (`--latency-seconds`)",
            cli.latency_seconds as f64,
        ),
        (
            "follow_seconds",
            "seconds per follow step (`--follow-seconds`)",
            cli.follow_seconds as f64,
        ),
        (
            "warm_up_records",
            "records of the broker's warm-up",
            WARM_UP_RECORDS as f64,
        ),
        (
            "follow.products",
            "products of the follow table",
            crate::follow::PRODUCTS as f64,
        ),
        (
            "follow.target_rate",
            "the follow target's rate, updates per second",
            crate::follow::TARGET_RATE,
        ),
        (
            "follow.max_lag_seconds",
            "watermark lag under which a step is followed, seconds",
            crate::follow::MAX_LAG.as_secs_f64(),
        ),
        (
            "follow.alone_seconds",
            "seconds MariaDB runs flat out alone",
            crate::follow::ALONE_AT_MOST.as_secs_f64(),
        ),
        (
            "follow.steps_down",
            "steps down from the flat-out rate, at most",
            f64::from(crate::follow::STEPS_DOWN),
        ),
        (
            "latency.products",
            "products of the latency table",
            crate::latency::PRODUCTS as f64,
        ),
        (
            "load.transaction_rows",
            "updates per transaction of the latency and follow load",
            f64::from(crate::load::TRANSACTION_ROWS),
        ),
        (
            "load.updates_per_connection",
            "updates per second one load connection takes",
            f64::from(crate::load::PER_CONNECTION),
        ),
        (
            "bulk_update.transaction_rows",
            "rows per transaction of the spread update",
            crate::bulk_update::TRANSACTION_ROWS as f64,
        ),
        (
            "backlog.transaction_rows",
            "rows per transaction of the backlog",
            crate::backlog::TRANSACTION_ROWS as f64,
        ),
        (
            "backlog.target_changes_per_s",
            "the backlog target, changes per second, at least once",
            crate::targets::BACKLOG_CHANGES_PER_S,
        ),
        (
            "cluster.brokers",
            "brokers of the three-broker phase's cluster",
            crate::cluster::BROKERS as f64,
        ),
        (
            "settle.quiet_share",
            "share of a core under which MariaDB counts as quiet",
            crate::machine::QUIET_SHARE,
        ),
        (
            "settle.window_ms",
            "window over which quiet is judged, ms",
            ms(crate::machine::QUIET_WINDOW),
        ),
        (
            "watcher.interval_ms",
            "how often the latency watcher reads the files, ms",
            ms(crate::tail::LOOK_EVERY),
        ),
        (
            "process.sample_ms",
            "how often a process's memory and CPU are sampled, ms",
            ms(crate::process::SAMPLE_EVERY),
        ),
        (
            "sweep.page_keys",
            "keys per page of the delete sweep",
            f64::from(sluice_producer::sweep::SWEEP_PAGE_KEYS),
        ),
        (
            "sweep.extra_keys_per",
            "rows per key published beside the table's in the sweep phase",
            crate::sweep::EXTRA_KEYS_PER as f64,
        ),
        (
            "text_sweep.interval_seconds",
            "seconds between two sweeps of string keys",
            crate::text_sweep::SWEEP_EVERY_SECS as f64,
        ),
        (
            "text_sweep.rows_per_delete",
            "rows per row deleted in a run of the string-key sweep",
            crate::text_sweep::SLICES as f64,
        ),
        (
            "wide.description_hashes",
            "SHA-512 digests in hex making up a wide row's description",
            crate::wide::DESCRIPTION_PARTS as f64,
        ),
        (
            "rss_limit_mb",
            "the memory target of every process, MiB",
            crate::targets::RSS_LIMIT_MB,
        ),
    ];
    for (key, label, value) in parameters {
        results.parameter(key, label, value);
    }
}
