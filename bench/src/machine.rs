//! Where the machine's CPU went during a phase: how busy all cores were, and how much of it the
//! stack's own servers used. On a 2-core machine shared by MariaDB, Kafka and the measured
//! process this says whether a rate is bound by sluice or by the machine.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Writes out what the kernel still holds to write: the release build just before `make bench`
/// leaves some 400 MB, and loading the table more, whose writeback would otherwise run in the
/// timed phases of the next half minute. Best effort: a failure leaves only noise.
pub fn flush_writes() {
    if let Err(error) = std::process::Command::new("sync").status() {
        tracing::warn!("cannot run sync ({error}); the kernel's writeback may add noise");
    }
}

/// The stack's servers whose CPU time is reported, by the name of their pid file.
const SERVERS: [&str; 2] = ["mariadb", "kafka"];

/// Counters read at the start of a phase.
pub struct CpuWindow {
    started: Instant,
    machine: Option<MachineTicks>,
    servers: Vec<(&'static str, u32, f64)>,
}

/// What a phase cost the machine.
#[derive(Debug, Clone, PartialEq)]
pub struct CpuShare {
    /// Fraction of all cores' time that was busy (0 to 1); `None` without `/proc/stat`.
    pub busy: Option<f64>,
    /// Cores the machine has.
    pub cores: usize,
    /// Wall time of the phase, in seconds.
    pub seconds: f64,
    /// CPU seconds each running server used.
    pub servers: Vec<(&'static str, f64)>,
}

impl CpuShare {
    /// CPU seconds the whole machine spent in the window (every process, the kernel's
    /// included); `None` without `/proc/stat`.
    pub fn machine_cpu_seconds(&self) -> Option<f64> {
        self.busy
            .map(|busy| busy * self.cores as f64 * self.seconds)
    }
}

impl CpuWindow {
    /// Starts a window over the stack whose state folder is `state_dir`.
    pub fn start(state_dir: &Path) -> Self {
        let run = state_dir.join("run");
        let servers = SERVERS
            .iter()
            .filter_map(|name| {
                let pid = server_pid(&run, name)?;
                let cpu = crate::process::cpu_seconds(pid)?;
                Some((*name, pid, cpu))
            })
            .collect();
        Self {
            started: Instant::now(),
            machine: machine_ticks(),
            servers,
        }
    }

    /// Ends the window.
    pub fn finish(self) -> CpuShare {
        let busy = match (self.machine, machine_ticks()) {
            (Some(before), Some(after)) if after.total > before.total => {
                Some((after.busy - before.busy) as f64 / (after.total - before.total) as f64)
            }
            _ => None,
        };
        let servers = self
            .servers
            .iter()
            .filter_map(|(name, pid, before)| {
                Some((*name, crate::process::cpu_seconds(*pid)? - before))
            })
            .collect();
        CpuShare {
            busy,
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            seconds: self.started.elapsed().as_secs_f64(),
            servers,
        }
    }
}

/// MariaDB's work after a statement returned: how long until it was idle, and its CPU meanwhile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settled {
    /// Seconds until MariaDB went quiet.
    pub seconds: f64,
    /// CPU seconds it used until then.
    pub cpu_seconds: f64,
}

/// MariaDB counts as quiet once it uses less than this share of one core…
pub const QUIET_SHARE: f64 = 0.05;
/// …over a window this long.
pub const QUIET_WINDOW: Duration = Duration::from_millis(500);

/// Waits until MariaDB is quiet (its background work after a large change, the purge of old row
/// versions above all, is done), at most `patience`; fails when its CPU cannot be read.
pub async fn database_settled(state_dir: &Path, patience: Duration) -> anyhow::Result<Settled> {
    let run = state_dir.join("run");
    let unreadable = || {
        anyhow::anyhow!(
            "MariaDB's CPU time cannot be read from its pid file in {}",
            run.display()
        )
    };
    let pid = server_pid(&run, "mariadb").ok_or_else(unreadable)?;
    let cpu = || crate::process::cpu_seconds(pid).ok_or_else(unreadable);
    let started = Instant::now();
    let first = cpu()?;
    let mut last = first;
    loop {
        tokio::time::sleep(QUIET_WINDOW).await;
        let now = cpu()?;
        let quiet = now - last < QUIET_SHARE * QUIET_WINDOW.as_secs_f64();
        if quiet || started.elapsed() >= patience {
            return Ok(Settled {
                seconds: started.elapsed().as_secs_f64(),
                cpu_seconds: now - first,
            });
        }
        last = now;
    }
}

/// The stack's state folder, as `stack/env.sh` chooses it.
pub fn state_dir(root: &Path) -> PathBuf {
    std::env::var_os("SLUICE_STATE_DIR").map_or_else(|| root.join(".stack"), PathBuf::from)
}

fn server_pid(run: &Path, name: &str) -> Option<u32> {
    std::fs::read_to_string(run.join(format!("{name}.pid")))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Jiffies of all cores from the first line of `/proc/stat`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct MachineTicks {
    busy: u64,
    total: u64,
}

fn machine_ticks() -> Option<MachineTicks> {
    parse_proc_stat(&std::fs::read_to_string("/proc/stat").ok()?)
}

/// `cpu  user nice system idle iowait irq softirq steal …`: idle and iowait are not busy.
fn parse_proc_stat(text: &str) -> Option<MachineTicks> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let total: u64 = fields.iter().sum();
    let idle = fields.get(3)? + fields.get(4)?;
    Some(MachineTicks {
        busy: total - idle,
        total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_machine_cpu_is_the_busy_share_of_every_core_over_the_window() {
        let share = CpuShare {
            busy: Some(0.5),
            cores: 2,
            seconds: 3.0,
            servers: Vec::new(),
        };
        assert_eq!(share.machine_cpu_seconds(), Some(3.0));
        let unknown = CpuShare {
            busy: None,
            ..share
        };
        assert_eq!(unknown.machine_cpu_seconds(), None);
    }

    #[test]
    fn idle_and_iowait_are_not_busy() {
        let stat = "cpu  100 5 50 800 40 3 2 0 0 0\ncpu0 50 2 25 400 20 1 1 0 0 0\n";
        assert_eq!(
            parse_proc_stat(stat),
            Some(MachineTicks {
                busy: 160,
                total: 1000
            })
        );
        assert_eq!(parse_proc_stat("intr 1 2 3\n"), None);
    }

    #[test]
    fn this_machine_reports_its_cores() {
        let share = CpuWindow::start(Path::new("/nonexistent")).finish();
        assert!(share.cores >= 1);
        assert!(share.servers.is_empty(), "{share:?}");
        if let Some(busy) = share.busy {
            assert!((0.0..=1.0).contains(&busy), "{busy}");
        }
    }
}
