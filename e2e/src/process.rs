//! A child process whose output goes to a log file: how the end-to-end tests and the benchmark
//! start, signal, stop and wait for sluice's binaries and the servers they run beside them.
//!
//! Invariant: a process is never left behind: dropping a [`LoggedProcess`] still running kills
//! it, so a failed test or benchmark phase leaves no pipeline writing into the next one.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How often a wait looks whether the process has exited.
const EXIT_POLL: Duration = Duration::from_millis(10);

/// A running child, its stdout and stderr appended to its log file.
pub struct LoggedProcess {
    name: String,
    child: Child,
    log: PathBuf,
    started: Instant,
}

impl LoggedProcess {
    /// Starts `command` as `name` (for messages), its output appended to `log`.
    pub fn spawn(name: &str, mut command: Command, log: &Path) -> std::io::Result<Self> {
        let file = std::fs::File::options()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| annotate(e, &format!("cannot open {}", log.display())))?;
        command
            .stdout(Stdio::from(file.try_clone()?))
            .stderr(Stdio::from(file));
        let started = Instant::now();
        let child = command
            .spawn()
            .map_err(|e| annotate(e, &format!("cannot start {name} ({command:?})")))?;
        Ok(Self {
            name: name.to_owned(),
            child,
            log: log.to_path_buf(),
            started,
        })
    }

    /// The name it was started as.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Time since it was started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Its exit status once it has exited; `None` while it runs.
    pub fn exited(&mut self) -> std::io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    /// Whether it still runs.
    pub fn running(&mut self) -> bool {
        matches!(self.exited(), Ok(None))
    }

    /// Sends `signal` (`TERM`, `STOP`, `CONT`, …) with `kill`; fails unless `kill` succeeded.
    pub fn signal(&self, signal: &str) -> std::io::Result<()> {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.id().to_string())
            .status()?;
        if status.success() {
            Ok(())
        } else {
            Err(std::io::Error::other(format!(
                "kill -{signal} {} ({}): {status}",
                self.name,
                self.id()
            )))
        }
    }

    /// SIGTERM, if it still runs: it stops the way `make run` stops it.
    pub fn terminate(&mut self) {
        if self.running() {
            let _ = self.signal("TERM");
        }
    }

    /// Waits up to `patience` for it to exit; its status, or `None` while it still runs.
    pub fn wait_for_exit(&mut self, patience: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + patience;
        loop {
            if let Ok(Some(status)) = self.exited() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(EXIT_POLL);
        }
    }

    /// Waits up to `patience` for it to exit, and kills it after that; its exit code, or
    /// `None` when it had to be killed (or died of a signal).
    pub fn exit_code_within(&mut self, patience: Duration) -> Option<i32> {
        match self.wait_for_exit(patience) {
            Some(status) => status.code(),
            None => {
                self.kill();
                None
            }
        }
    }

    /// SIGTERM, then its exit code within `patience` (see [`exit_code_within`]).
    ///
    /// [`exit_code_within`]: Self::exit_code_within
    pub fn stop_within(&mut self, patience: Duration) -> Option<i32> {
        self.terminate();
        self.exit_code_within(patience)
    }

    /// SIGKILL: no flush, no commit.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The last `lines` lines of its log, for a failure message.
    pub fn log_tail(&self, lines: usize) -> String {
        tail(
            &std::fs::read_to_string(&self.log).unwrap_or_default(),
            lines,
        )
    }
}

impl Drop for LoggedProcess {
    fn drop(&mut self) {
        if self.running() {
            self.kill();
        }
    }
}

/// The last `lines` lines of `text`.
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn annotate(error: std::io::Error, what: &str) -> std::io::Error {
    std::io::Error::new(error.kind(), format!("{what}: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_logs_stops_and_says_how_it_ended() {
        let dir = tempfile::tempdir().expect("dir");
        let log = dir.path().join("p.log");
        let mut command = Command::new("sh");
        command.args(["-c", "echo started; exec sleep 30"]);
        let mut process = LoggedProcess::spawn("sleeper", command, &log).expect("spawn");
        let deadline = Instant::now() + Duration::from_secs(10);
        while process.log_tail(1) != "started" {
            assert!(Instant::now() < deadline, "no output in {}", log.display());
            std::thread::sleep(EXIT_POLL);
        }
        assert!(process.running());
        assert_eq!(process.wait_for_exit(Duration::from_millis(50)), None);
        // SIGTERM ends `sleep` by the signal: no exit code.
        assert_eq!(process.stop_within(Duration::from_secs(10)), None);
        assert!(!process.running());
    }

    #[test]
    fn an_exit_code_is_returned_as_is() {
        let dir = tempfile::tempdir().expect("dir");
        let mut command = Command::new("sh");
        command.args(["-c", "echo bye >&2; exit 3"]);
        let mut process =
            LoggedProcess::spawn("quitter", command, &dir.path().join("q.log")).expect("spawn");
        assert_eq!(process.exit_code_within(Duration::from_secs(10)), Some(3));
        assert_eq!(process.log_tail(5), "bye");
    }

    #[test]
    fn the_tail_is_the_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("a", 5), "a");
        assert_eq!(tail("", 5), "");
    }
}
