//! A process under measurement: its wall time, peak resident memory and CPU seconds, read from
//! `/proc` while it runs, so no unsafe `wait4` is needed and a process stopped by signal is
//! measured the same way as one that exits by itself. Dropped while it runs, it is killed.

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sluice_e2e::process::LoggedProcess;

/// How often `/proc` is read. The peak (`VmHWM`) is kept by the kernel, so only the CPU time of
/// the last interval before exit can be missed.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(50);

/// The exit code of a process that ended because of SIGTERM after cleaning up (a JVM's).
const TERMINATED_BY_SIGTERM: i32 = 128 + 15;

/// What one process used.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    /// Peak resident set size, in MiB.
    pub peak_rss_mb: f64,
    /// User plus system CPU time, in seconds.
    pub cpu_seconds: f64,
}

/// A running child (see [`LoggedProcess`], shared with the end-to-end tests) whose resources
/// are sampled until it exits.
pub struct Measured {
    process: LoggedProcess,
    usage: Arc<Mutex<Usage>>,
}

impl Measured {
    /// Starts `command` with its output appended to `log`.
    pub fn spawn(name: &str, command: Command, log: &Path) -> anyhow::Result<Self> {
        let process = LoggedProcess::spawn(name, command, log)?;
        let usage = Arc::new(Mutex::new(Usage::default()));
        let pid = process.id();
        let shared = Arc::clone(&usage);
        std::thread::spawn(move || {
            while let Some(sample) = sample(pid) {
                if let Ok(mut usage) = shared.lock() {
                    *usage = sample;
                }
                std::thread::sleep(SAMPLE_EVERY);
            }
        });
        Ok(Self { process, usage })
    }

    /// The process's name in reports and errors.
    pub fn name(&self) -> &str {
        self.process.name()
    }

    /// Time since the process was started.
    pub fn elapsed(&self) -> Duration {
        self.process.elapsed()
    }

    /// The latest sample.
    pub fn usage(&self) -> Usage {
        self.usage.lock().map(|u| *u).unwrap_or_default()
    }

    /// `Some(exit code)` once the process has exited (-1 when a signal ended it).
    pub fn exited(&mut self) -> anyhow::Result<Option<i32>> {
        Ok(self.process.exited()?.map(|s| s.code().unwrap_or(-1)))
    }

    /// Waits for the process to exit by itself; fails after `patience`.
    pub fn wait(&mut self, patience: Duration) -> anyhow::Result<(Duration, Usage)> {
        self.wait_for_exit(patience, &[0])
    }

    /// Waits until the process exits with one of `clean` codes; fails after `patience`, and
    /// kills it.
    fn wait_for_exit(
        &mut self,
        patience: Duration,
        clean: &[i32],
    ) -> anyhow::Result<(Duration, Usage)> {
        let Some(status) = self.process.wait_for_exit(patience) else {
            self.process.kill();
            anyhow::bail!("{} did not finish within {patience:?}", self.name());
        };
        let elapsed = self.elapsed();
        let code = status.code().unwrap_or(-1);
        anyhow::ensure!(
            clean.contains(&code),
            "{} exited with code {code}; the end of its log:\n{}",
            self.name(),
            self.log_tail(8)
        );
        Ok((elapsed, self.usage()))
    }

    /// The last `lines` lines of the process's log, for error messages.
    pub fn log_tail(&self, lines: usize) -> String {
        self.process.log_tail(lines)
    }

    /// SIGTERM, then waits up to `patience` for a clean exit; returns what it used. A JVM ends
    /// with 143 (128 + SIGTERM) after its shutdown hooks ran, which is clean too.
    pub fn stop(mut self, patience: Duration) -> anyhow::Result<Usage> {
        let before = self.usage();
        self.process.terminate();
        let (_, after) = self.wait_for_exit(patience, &[0, TERMINATED_BY_SIGTERM])?;
        // The last sample before exit may be older than the one taken before the signal.
        Ok(Usage {
            peak_rss_mb: before.peak_rss_mb.max(after.peak_rss_mb),
            cpu_seconds: before.cpu_seconds.max(after.cpu_seconds),
        })
    }
}

/// Fails with the end of its log when any of `processes` has exited: a phase waiting on them
/// would otherwise only time out.
pub fn ensure_running(processes: &mut [Measured]) -> anyhow::Result<()> {
    for process in processes {
        if let Some(code) = process.exited()? {
            anyhow::bail!(
                "{} exited with code {code}:\n{}",
                process.name(),
                process.log_tail(8)
            );
        }
    }
    Ok(())
}

/// User plus system CPU seconds `pid` has used so far; `None` once it is gone.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    sample(pid).map(|usage| usage.cpu_seconds)
}

/// Reads peak RSS and CPU time of `pid`; `None` once the process is gone (or a zombie).
fn sample(pid: u32) -> Option<Usage> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let peak_kb = parse_vm_hwm_kb(&status)?;
    let ticks = parse_cpu_ticks(&stat)?;
    Some(Usage {
        peak_rss_mb: peak_kb as f64 / 1024.0,
        cpu_seconds: ticks as f64 / clock_ticks_per_second(),
    })
}

/// `VmHWM:  12345 kB` from `/proc/PID/status`; absent for a zombie.
fn parse_vm_hwm_kb(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
}

/// `utime + stime` (fields 14 and 15) from `/proc/PID/stat`; the command name in parentheses
/// may contain spaces, so fields are counted after its closing parenthesis.
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // after_name starts at field 3 (state), so field N is at index N - 3.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// `getconf CLK_TCK`: 100 on every Linux this runs on; asked once.
fn clock_ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_are_counted_after_a_name_with_spaces() {
        let stat = "1234 (tokio runtime) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 70 0 0 20 0 \
                    5 0 100 1000 200";
        assert_eq!(parse_cpu_ticks(stat), Some(320));
    }

    #[test]
    fn peak_rss_comes_from_vm_hwm() {
        let status = "Name:\tsluice\nVmPeak:\t  900 kB\nVmHWM:\t   40960 kB\nVmRSS:\t 1 kB\n";
        assert_eq!(parse_vm_hwm_kb(status), Some(40960));
        assert_eq!(parse_vm_hwm_kb("Name:\tzombie\n"), None);
    }

    #[test]
    fn this_process_can_be_sampled() {
        let usage = sample(std::process::id()).expect("own /proc entry");
        assert!(usage.peak_rss_mb > 1.0, "{usage:?}");
    }
}
