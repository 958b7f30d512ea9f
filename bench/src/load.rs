//! `sluice-loadgen simulate` as the benchmark drives it: a shop's updates at a given rate, in
//! transactions of `TRANSACTION_ROWS` rows, on enough connections to reach that rate.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::context::Bench;
use crate::process::Measured;

/// Updates per transaction, as a shop's order or stock job commits them.
pub const TRANSACTION_ROWS: u32 = 20;
/// Updates per second one connection is asked to commit, at most: one connection reached
/// 11 600/s here flat out, in transactions of 20.
pub const PER_CONNECTION: u32 = 10_000;

/// Connections that reach `rate` updates per second (0: as fast as the database goes): one per
/// `PER_CONNECTION`, at most one per core (flat out here: 11 600/s on one connection, 20 800 on
/// two, 16 800 on four, on two cores).
pub fn connections_for(rate: u32) -> u32 {
    let cores = std::thread::available_parallelism()
        .map_or(1, |n| u32::try_from(n.get()).unwrap_or(u32::MAX));
    if rate == 0 {
        cores
    } else {
        rate.div_ceil(PER_CONNECTION).clamp(1, cores)
    }
}

/// Updates the load committed, over how long.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Applied {
    /// Updates committed.
    pub updates: u64,
    /// Seconds from start to stop.
    pub seconds: f64,
}

impl Applied {
    /// Updates per second reached.
    pub fn rate(&self) -> f64 {
        self.updates as f64 / self.seconds
    }
}

/// A running load.
pub struct Load {
    process: Measured,
    log: std::path::PathBuf,
    started: Instant,
}

impl Load {
    /// Starts updating the products of the table `sets` name at `rate` updates per second
    /// (0: flat out) on `connections` connections, journaling each update to `journal` when
    /// given; logs to `log`.
    pub fn start(
        bench: &Bench,
        sets: &[String],
        rate: u32,
        connections: u32,
        journal: Option<&Path>,
        log: &Path,
    ) -> anyhow::Result<Self> {
        let mut command = bench.sluice("sluice-loadgen", sets)?;
        command
            .arg("simulate")
            .arg("--rate")
            .arg(rate.to_string())
            .arg("--transaction-rows")
            .arg(TRANSACTION_ROWS.to_string())
            .arg("--connections")
            .arg(connections.to_string());
        if let Some(journal) = journal {
            command.arg("--journal").arg(journal);
        }
        Ok(Self {
            process: Measured::spawn("sluice-loadgen", command, log)?,
            log: log.to_path_buf(),
            started: Instant::now(),
        })
    }

    /// Fails when the load generator has exited on its own.
    pub fn ensure_running(&mut self) -> anyhow::Result<()> {
        crate::process::ensure_running(std::slice::from_mut(&mut self.process))
    }

    /// Stops it; returns the updates it committed, as its last log line says.
    pub fn stop(self) -> anyhow::Result<Applied> {
        self.process.stop(Duration::from_secs(30))?;
        let seconds = self.started.elapsed().as_secs_f64();
        let text = std::fs::read_to_string(&self.log)?;
        let updates = stopped_after(&text).ok_or_else(|| {
            anyhow::anyhow!(
                "sluice-loadgen did not say how many updates it made; see {}",
                self.log.display()
            )
        })?;
        Ok(Applied { updates, seconds })
    }
}

/// The count in the load generator's last `stopped after N updates` line.
fn stopped_after(log: &str) -> Option<u64> {
    log.lines()
        .rev()
        .find_map(|line| line.split("stopped after ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_count_is_read_and_connections_follow_the_rate() {
        let log = "2026 INFO updated 100 rows (20/s)\n2026 INFO stopped after 12345 updates\n";
        assert_eq!(stopped_after(log), Some(12_345));
        assert_eq!(stopped_after("nothing"), None);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
        assert_eq!(connections_for(2_000), 1);
        assert_eq!(connections_for(20_000), 2.min(cores));
        assert_eq!(connections_for(0), cores);
    }
}
