//! What a bench run is asked for: its command line, and the tables it reads.

use std::path::PathBuf;

use clap::Parser;

/// The table the throughput phases and the peer read.
pub const TABLE: &str = "sluice_bench_product";
/// Records sent to warm the broker up before anything is timed.
pub const WARM_UP_RECORDS: i64 = 300_000;
/// The table the latency phase updates.
pub const LATENCY_TABLE: &str = "sluice_bench_latency";

/// Measures sluice against Kafka's own ceilings on this machine.
#[derive(Debug, Parser)]
#[command(name = "sluice-bench", version)]
pub struct Cli {
    /// Rows of the full-size table.
    #[arg(long, default_value_t = 1_000_000)]
    pub rows: i64,
    /// Rows of the small table, to show how the cost grows.
    #[arg(long, default_value_t = 100_000)]
    pub small_rows: i64,
    /// Rows the table grows to once, beyond MariaDB's buffer pool, for a snapshot and a bulk
    /// update (0 skips it).
    #[arg(long, default_value_t = 10_000_000)]
    pub large_rows: i64,
    /// Rows of the wide table (a ~2 KB description each), at most `--rows` (0 skips it).
    #[arg(long, default_value_t = 200_000)]
    pub wide_rows: i64,
    /// Rows of the backlog table, every one changed before each catch-up (0 skips it).
    #[arg(long, default_value_t = 2_000_000)]
    pub backlog_rows: i64,
    /// Members of the consumer group.
    #[arg(long, default_value_t = 5)]
    pub members: u32,
    /// Updates per second during the latency runs.
    #[arg(long, default_value_t = 2000)]
    pub rate: u32,
    /// Updates per second during the latency runs at a high rate.
    #[arg(long, default_value_t = 20_000)]
    pub high_rate: u32,
    /// Runs of every phase; the median is reported with its extremes, every run kept.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub runs: u32,
    /// How long each latency run updates products, in seconds (0 skips the latency runs).
    #[arg(long, default_value_t = 12)]
    pub latency_seconds: u64,
    /// How long each step of a follow-capacity run updates products, in seconds (0 skips the
    /// follow runs).
    #[arg(long, default_value_t = 60)]
    pub follow_seconds: u64,
    /// Prometheus that scrapes the pipeline (the stack's).
    #[arg(long, default_value = "http://127.0.0.1:9090")]
    pub prometheus: String,
    /// Reads the consumers' latency histogram back from Prometheus in the first latency
    /// setting only, not in the first run of every setting (each read-back waits a scrape
    /// interval before and after its load; the smoke run's budget).
    #[arg(long)]
    pub prometheus_once: bool,
    /// Where the figures go as JSON.
    #[arg(long, default_value = "bench/results.json")]
    pub results: PathBuf,
    /// The Markdown file whose results section is replaced (omit to leave it alone).
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// Skips the peer (Debezium) snapshot.
    #[arg(long)]
    pub no_peer: bool,
    /// Skips the three-broker phase (which restarts the stack with three brokers and back).
    #[arg(long)]
    pub no_cluster: bool,
    /// The replication account the peer reads MariaDB with (the stack's).
    #[arg(long, default_value = "sluice_cdc")]
    pub cdc_user: String,
    /// Its password.
    #[arg(long, default_value = "sluice_cdc")]
    pub cdc_password: String,
    /// Logs, watermarks and output files of the run.
    #[arg(long, default_value = ".stack/bench")]
    pub work: PathBuf,
    /// A short run, within ten minutes of its start: 200 000 rows (20 000 for the growth phase,
    /// 1 000 000 for the large table, 40 000 wide, 100 000 in the backlog), 3 s latency runs,
    /// 4 s follow steps, no Debezium and no three-broker phase; every other phase still runs,
    /// `--runs` times.
    #[arg(long, conflicts_with_all = ["rows", "small_rows", "large_rows", "wide_rows", "backlog_rows", "latency_seconds", "follow_seconds", "no_peer", "no_cluster"])]
    pub quick: bool,
    #[command(flatten)]
    pub log: sluice_common::logging::LogArgs,
}

impl Cli {
    /// The options a `--quick` run stands for; any other run as given.
    pub fn effective(mut self) -> Self {
        if self.quick {
            self.rows = 200_000;
            self.small_rows = 20_000;
            self.large_rows = 1_000_000;
            self.wide_rows = 40_000;
            self.backlog_rows = 100_000;
            self.latency_seconds = 3;
            self.follow_seconds = 4;
            self.no_peer = true;
            self.no_cluster = true;
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quick_run_is_smaller_and_leaves_the_peer_out() {
        let quick = Cli::try_parse_from(["sluice-bench", "--quick"])
            .expect("--quick alone")
            .effective();
        assert_eq!(
            (
                quick.rows,
                quick.small_rows,
                quick.large_rows,
                quick.wide_rows,
                quick.backlog_rows,
                quick.latency_seconds,
                quick.follow_seconds,
                quick.no_peer,
                quick.no_cluster,
                quick.runs
            ),
            (200_000, 20_000, 1_000_000, 40_000, 100_000, 3, 4, true, true, 5)
        );
        let full = Cli::try_parse_from(["sluice-bench"])
            .expect("defaults")
            .effective();
        assert_eq!((full.rows, full.no_peer), (1_000_000, false));
        assert!(
            Cli::try_parse_from(["sluice-bench", "--quick", "--rows", "5"]).is_err(),
            "--quick names its own sizes"
        );
    }
}
