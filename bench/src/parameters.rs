//! The parameters of a run, written into the results beside its figures, so that the prose of
//! BENCHMARKS.md names them (`parameters.*`) and holds no number of its own.

use crate::cli::{Cli, WARM_UP_RECORDS};
use crate::report::Results;

/// Records every parameter a phase's description refers to.
pub fn record(cli: &Cli, results: &mut Results) {
    let whole = |n: i64| n as f64;
    let mut put = |key: &str, label: &str, value: f64| results.parameter(key, label, value);
    put(
        "rows",
        "rows of the full-size table (`--rows`)",
        whole(cli.rows),
    );
    put(
        "small_rows",
        "rows of the small table (`--small-rows`)",
        whole(cli.small_rows),
    );
    put(
        "large_rows",
        "rows of the large table (`--large-rows`; 0: skipped)",
        whole(cli.large_rows),
    );
    put(
        "wide_rows",
        "rows of the wide table (`--wide-rows`; 0: skipped)",
        whole(cli.wide_rows),
    );
    put(
        "runs",
        "runs of each repeated phase (`--runs`)",
        f64::from(cli.runs),
    );
    put(
        "members",
        "members of the consumer group (`--members`)",
        f64::from(cli.members),
    );
    put(
        "rate",
        "updates per second of the latency runs (`--rate`)",
        f64::from(cli.rate),
    );
    put(
        "high_rate",
        "updates per second of the high-rate latency runs (`--high-rate`)",
        f64::from(cli.high_rate),
    );
    put(
        "latency_seconds",
        "seconds of load per latency run (`--latency-seconds`)",
        cli.latency_seconds as f64,
    );
    put(
        "follow_seconds",
        "seconds per follow step (`--follow-seconds`)",
        cli.follow_seconds as f64,
    );
    put(
        "warm_up_records",
        "records of the broker's warm-up",
        whole(WARM_UP_RECORDS),
    );
    put(
        "follow.products",
        "products of the follow table",
        whole(crate::follow::PRODUCTS),
    );
    put(
        "follow.target_rate",
        "the follow target's rate, updates per second",
        crate::follow::TARGET_RATE,
    );
    put(
        "follow.max_lag_seconds",
        "watermark lag under which a step is followed, seconds",
        crate::follow::MAX_LAG.as_secs_f64(),
    );
    put(
        "follow.alone_seconds",
        "seconds MariaDB runs flat out alone",
        crate::follow::ALONE_AT_MOST.as_secs_f64(),
    );
    put(
        "follow.steps_down",
        "steps down from the flat-out rate",
        f64::from(crate::follow::STEPS_DOWN),
    );
    put(
        "latency.products",
        "products of the latency table",
        whole(crate::latency::PRODUCTS),
    );
    put(
        "load.transaction_rows",
        "updates per transaction of the latency and follow load",
        f64::from(crate::load::TRANSACTION_ROWS),
    );
    put(
        "load.updates_per_connection",
        "updates per second one load connection takes",
        f64::from(crate::load::PER_CONNECTION),
    );
    put(
        "bulk_update.transaction_rows",
        "rows per transaction of the spread update",
        crate::bulk_update::TRANSACTION_ROWS as f64,
    );
    put(
        "settle.quiet_share",
        "share of a core under which MariaDB counts as quiet",
        crate::machine::QUIET_SHARE,
    );
    put(
        "settle.window_ms",
        "window over which quiet is judged, ms",
        crate::machine::QUIET_WINDOW.as_secs_f64() * 1000.0,
    );
    put(
        "watcher.interval_ms",
        "how often the latency watcher reads the files, ms",
        crate::tail::LOOK_EVERY.as_secs_f64() * 1000.0,
    );
    put(
        "process.sample_ms",
        "how often a process's memory and CPU are sampled, ms",
        crate::process::SAMPLE_EVERY.as_secs_f64() * 1000.0,
    );
    put(
        "sweep.page_keys",
        "keys per page of the delete sweep",
        f64::from(sluice_producer::sweep::SWEEP_PAGE_KEYS),
    );
    put(
        "sweep.extra_keys_per",
        "rows per key published beside the table's in the sweep phase",
        whole(crate::sweep::EXTRA_KEYS_PER),
    );
    put(
        "text_sweep.interval_seconds",
        "seconds between two sweeps of string keys",
        crate::text_sweep::SWEEP_EVERY_SECS as f64,
    );
    put(
        "text_sweep.rows_per_delete",
        "rows per row deleted in a run of the string-key sweep",
        whole(crate::text_sweep::SLICES),
    );
    put(
        "wide.description_hashes",
        "SHA-512 digests in hex making up a wide row's description",
        whole(crate::wide::DESCRIPTION_PARTS),
    );
}
