//! The scenario's processes: started from the built binaries with its settings, each logging
//! to a file of its folder; stopped, killed, paused or waited for.

use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{binary, tail, Scenario};
use crate::repo_root;

impl Scenario {
    pub(super) fn command(&self, binary_name: &str, log: &str) -> Command {
        let root = repo_root();
        self.command_in(binary_name, log, &root, &root.join("sluice.toml"))
    }

    /// `binary_name` run in `folder` with the config file `config`, the scenario's settings
    /// and its output appended to `log` in the scenario's directory.
    fn command_in(&self, binary_name: &str, log: &str, folder: &Path, config: &Path) -> Command {
        let mut command = Command::new(binary(binary_name));
        command
            .current_dir(folder)
            .env_remove("SLUICE_CONFIG")
            .arg("--config")
            .arg(config);
        for set in self.overrides() {
            command.arg("--set").arg(set);
        }
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.dir.path().join(log))
            .expect("log file");
        let err = log.try_clone().expect("log file");
        command.stdout(Stdio::from(log)).stderr(Stdio::from(err));
        command
    }

    /// Starts a producer beside the scenario's own, logging to `log` (e.g. a second one with
    /// the same transactional id); the caller owns it.
    pub fn spawn_producer(&self, log: &str) -> Child {
        self.command("sluice-producer", log)
            .spawn()
            .expect("start a second producer")
    }

    /// Runs `binary` with `args` (e.g. `sluice-producer reset`) on this scenario's settings to
    /// its end, logging to `log`; its exit code.
    pub fn run_to_end(&self, binary: &str, args: &[&str], log: &str) -> Option<i32> {
        self.command(binary, log)
            .args(args)
            .status()
            .unwrap_or_else(|e| panic!("cannot run {binary} {args:?}: {e}"))
            .code()
    }

    /// Starts (or restarts) the producer.
    pub fn start_producer(&mut self) {
        self.start_producer_with(&[]);
    }

    /// Starts (or restarts) the producer with the environment variables `env` (e.g. a fault
    /// to inject).
    pub fn start_producer_with(&mut self, env: &[(&str, &str)]) {
        let child = self
            .command("sluice-producer", "producer.log")
            .envs(env.iter().copied())
            .spawn()
            .expect("start producer");
        self.producer = Some(child);
    }

    /// Starts `count` consumers, `consumer-1` … `consumer-count`.
    pub fn start_consumers(&mut self, count: u32) {
        self.start_group("", count, &[]);
    }

    /// Starts the next consumer (`consumer-N`, one after those started) with the environment
    /// variables `env` (e.g. a fault to inject).
    pub fn start_consumer_with(&mut self, env: &[(&str, &str)]) {
        let member = self.consumers.len() + 1;
        let mut command = self.command("sluice-consumer", &format!("consumer-{member}.log"));
        command.envs(env.iter().copied());
        command.arg("--member").arg(member.to_string());
        self.consumers
            .push(command.spawn().expect("start consumer"));
    }

    /// Starts the next consumer (`consumer-N`) as if on another host: in a folder of its own,
    /// `hosts/<host>` of the scenario's directory, holding nothing but a copy of the shipped
    /// config and the member's output folder `out`; no schema file (the built-in one), metrics
    /// on `metrics_ip` and a port the system picks. Its log is `consumer-N.log` as for the
    /// others, and `sluice-verify` reads its folder too.
    pub fn start_consumer_on_host(&mut self, host: &str, metrics_ip: &str) {
        let member = self.consumers.len() + 1;
        let folder = self.dir.path().join("hosts").join(host);
        std::fs::create_dir_all(&folder).expect("host folder");
        std::fs::copy(repo_root().join("sluice.toml"), folder.join("sluice.toml"))
            .expect("copy the config");
        let log = format!("consumer-{member}.log");
        let mut command =
            self.command_in("sluice-consumer", &log, &folder, Path::new("sluice.toml"));
        command
            .args(["--set", "consumer.output_dir=out"])
            .args(["--set", "consumer.reader_schema_file="])
            .args(["--set", &format!("metrics.host={metrics_ip}")])
            .args(["--set", "metrics.consumer_port_base=0"])
            .arg("--member")
            .arg(member.to_string());
        self.consumers
            .push(command.spawn().expect("start consumer on another host"));
        self.other_outputs.push(folder.join("out"));
    }

    /// Starts `count` consumers with extra settings (e.g. another group, reader schema and
    /// output folder); their logs are `<label>consumer-N.log`.
    pub fn start_group(&mut self, label: &str, count: u32, settings: &[String]) {
        for n in 1..=count {
            let mut command = self.command("sluice-consumer", &format!("{label}consumer-{n}.log"));
            for setting in settings {
                command.arg("--set").arg(setting);
            }
            command.arg("--member").arg(n.to_string());
            self.consumers
                .push(command.spawn().expect("start consumer"));
        }
    }

    /// SIGTERM to consumer `member` (1-based, in the order started); its exit code once it
    /// has stopped (`None` if it had to be killed after 60 s).
    pub fn stop_consumer(&mut self, member: usize) -> Option<i32> {
        let child = &mut self.consumers[member - 1];
        terminate(child);
        wait_for_exit(child, Duration::from_secs(60))
    }

    /// SIGKILL to consumer `member` (1-based, in the order started): no flush, no commit.
    pub fn kill_consumer(&mut self, member: usize) {
        let child = &mut self.consumers[member - 1];
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Starts consumer `member` (1-based) again after it was killed or died, with the
    /// scenario's settings and the environment variables `env` (e.g. a crash point).
    pub fn restart_consumer(&mut self, member: usize, env: &[(&str, &str)]) {
        let mut command = self.command("sluice-consumer", &format!("consumer-{member}.log"));
        command.envs(env.iter().copied());
        command.arg("--member").arg(member.to_string());
        self.consumers[member - 1] = command.spawn().expect("restart consumer");
    }

    /// Waits up to `patience` for consumer `member` (1-based) to exit by itself; its exit
    /// status, or `None` if it is still running.
    pub fn wait_for_consumer_exit(
        &mut self,
        member: usize,
        patience: Duration,
    ) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + patience;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.consumers[member - 1].try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Sends `signal` (e.g. `STOP`, `CONT`) to consumer `member` (1-based).
    pub fn signal_consumer(&self, member: usize, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.consumers[member - 1].id().to_string())
            .status()
            .expect("kill runs");
        assert!(
            status.success(),
            "kill -{signal} consumer-{member}: {status}"
        );
    }

    /// Stops the producer with SIGTERM, leaving the consumers running.
    pub fn stop_producer(&mut self) -> Option<i32> {
        let mut producer = self.producer.take()?;
        terminate(&mut producer);
        producer.wait().ok().and_then(|status| status.code())
    }

    /// Waits up to `patience` for the producer to exit on its own (e.g. fenced); its exit code,
    /// or `None` when it was still running and had to be killed.
    pub fn wait_for_producer_exit(&mut self, patience: Duration) -> Option<i32> {
        let mut producer = self.producer.take()?;
        wait_for_exit(&mut producer, patience)
    }

    /// SIGKILL: the producer gets no chance to flush or save anything.
    pub fn kill_producer(&mut self) {
        if let Some(mut child) = self.producer.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM to every process, then waits for each to exit; returns their exit codes.
    pub fn stop_all(&mut self) -> Vec<Option<i32>> {
        let mut children: Vec<Child> = self.producer.take().into_iter().collect();
        children.append(&mut self.consumers);
        for child in &mut children {
            terminate(child);
        }
        children
            .iter_mut()
            .map(|child| wait_for_exit(child, Duration::from_secs(60)))
            .collect()
    }

    /// Stops every process as [`stop_all`](Self::stop_all) does and fails the test unless each
    /// exited 0: a commit that failed at shutdown is a failure, not a detail.
    pub fn stop_all_cleanly(&mut self) {
        let codes = self.stop_all();
        if codes.iter().all(|code| *code == Some(0)) {
            return;
        }
        panic!(
            "processes did not stop cleanly (producer first, then consumers): {codes:?}\nproducer log tail:\n{}\n{}",
            tail(&self.log("producer.log"), 15),
            self.consumer_log_tails(15)
        );
    }

    /// Waits up to `patience` for every process to exit on its own (e.g. on a fatal error),
    /// then stops what is left; returns their exit codes.
    pub fn stop_all_after(&mut self, patience: Duration) -> Vec<Option<i32>> {
        let deadline = Instant::now() + patience;
        while Instant::now() < deadline {
            let running = self
                .producer
                .iter_mut()
                .chain(self.consumers.iter_mut())
                .any(|child| matches!(child.try_wait(), Ok(None)));
            if !running {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.stop_all()
    }

    /// The sum of the samples of the metric family `name` that the process logging to `log`
    /// serves; `None` while it serves none (not started, or no sample yet).
    pub async fn metric(&self, log: &str, name: &str) -> Option<f64> {
        let url = self.metrics_url(log)?;
        let text = sluice_registry::http::get(format!("{url}/metrics"))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        let samples: Vec<f64> = text
            .lines()
            .filter(|line| {
                line.strip_prefix(name)
                    .is_some_and(|rest| rest.starts_with([' ', '{']))
            })
            .filter_map(|line| line.rsplit(' ').next()?.parse().ok())
            .collect();
        (!samples.is_empty()).then(|| samples.iter().sum())
    }

    /// The `http://host:port` a process's log says its metrics are served on.
    pub fn metrics_url(&self, log: &str) -> Option<String> {
        let text = self.log(log);
        let start = text.find("metrics on http://")? + "metrics on ".len();
        let rest = &text[start..];
        let end = rest.find("/metrics")?;
        Some(rest[..end].to_owned())
    }

    /// The last `lines` lines of each consumer's log, for a failure message.
    pub(super) fn consumer_log_tails(&self, lines: usize) -> String {
        (1..=self.consumers.len())
            .map(|n| {
                let name = format!("consumer-{n}.log");
                format!("{name} tail:\n{}", tail(&self.log(&name), lines))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Waits up to `patience` for `child` to exit; its exit code, or `None` when it was still
/// running and had to be killed (or died of a signal).
pub fn wait_for_exit(child: &mut Child, patience: Duration) -> Option<i32> {
    let deadline = Instant::now() + patience;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// SIGTERM to a process still running: it stops the way `make run` stops it.
fn terminate(child: &mut Child) {
    if matches!(child.try_wait(), Ok(None)) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
    }
}
