//! The scenario's processes: started from the built binaries with its settings, each logging
//! to a file of its folder; stopped, killed, paused or waited for.

use std::path::Path;
use std::process::{Command, ExitStatus, Output};
use std::time::{Duration, Instant};

use super::{binary, tail, Scenario};
use crate::process::LoggedProcess;
use crate::repo_root;

/// How long a process stopped with SIGTERM may take before it is killed (and the stop counts
/// as unclean).
const STOP_PATIENCE: Duration = Duration::from_secs(60);

/// How long a command run to its end (`sluice-producer reset`, …) may take.
const RUN_PATIENCE: Duration = Duration::from_secs(600);

impl Scenario {
    /// `binary_name` run from the repository root with the shipped config and the scenario's
    /// settings.
    pub(super) fn command(&self, binary_name: &str) -> Command {
        self.command_in(binary_name, &repo_root(), self.config_file())
    }

    /// `binary_name` run in `folder` with the config file `config` and the scenario's settings.
    fn command_in(&self, binary_name: &str, folder: &Path, config: &Path) -> Command {
        let mut command = Command::new(binary(binary_name));
        command
            .current_dir(folder)
            .env_remove("SLUICE_CONFIG")
            .arg("--config")
            .arg(config);
        for set in self.overrides() {
            command.arg("--set").arg(set);
        }
        command
    }

    /// Starts `command` with its output appended to `log` in the scenario's directory.
    fn spawn(&self, command: Command, log: &str) -> LoggedProcess {
        let name = log.trim_end_matches(".log");
        LoggedProcess::spawn(name, command, &self.dir.path().join(log))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Starts a producer beside the scenario's own, logging to `log` (e.g. a second one with
    /// the same transactional id); the caller owns it.
    pub fn spawn_producer(&self, log: &str) -> LoggedProcess {
        self.spawn(self.command("sluice-producer"), log)
    }

    /// Runs `binary` with `args` (e.g. `sluice-producer reset`) on this scenario's settings to
    /// its end, logging to `log`; its exit code (`None` when it had to be killed).
    pub fn run_to_end(&self, binary: &str, args: &[&str], log: &str) -> Option<i32> {
        self.run_to_end_with(binary, args, &[], log)
    }

    /// Runs `binary` with `args` and the environment variables `env` on this scenario's
    /// settings to its end; its exit status and what it printed on stdout and stderr apart.
    pub fn output_of(&self, binary: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut command = self.command(binary);
        command.args(args).envs(env.iter().copied());
        command
            .output()
            .unwrap_or_else(|e| panic!("cannot run {binary} {args:?}: {e}"))
    }

    /// [`Scenario::run_to_end`] with the environment variables `env` added.
    pub fn run_to_end_with(
        &self,
        binary: &str,
        args: &[&str],
        env: &[(&str, &str)],
        log: &str,
    ) -> Option<i32> {
        let mut command = self.command(binary);
        command.args(args).envs(env.iter().copied());
        self.spawn(command, log).exit_code_within(RUN_PATIENCE)
    }

    /// Starts (or restarts) the producer.
    pub fn start_producer(&mut self) {
        self.start_producer_with(&[]);
    }

    /// Starts (or restarts) the producer with the environment variables `env` (e.g. a fault
    /// to inject).
    pub fn start_producer_with(&mut self, env: &[(&str, &str)]) {
        let mut command = self.command("sluice-producer");
        command.envs(env.iter().copied());
        self.producer = Some(self.spawn(command, "producer.log"));
    }

    /// Starts `count` consumers, `consumer-1` … `consumer-count`.
    pub fn start_consumers(&mut self, count: u32) {
        self.start_group("", count, &[]);
    }

    /// A consumer command for member `member` with the environment variables `env`.
    fn consumer(&self, member: usize, env: &[(&str, &str)]) -> Command {
        let mut command = self.command("sluice-consumer");
        command.envs(env.iter().copied());
        command.arg("--member").arg(member.to_string());
        command
    }

    /// Starts the next consumer (`consumer-N`, one after those started) with the environment
    /// variables `env` (e.g. a fault to inject).
    pub fn start_consumer_with(&mut self, env: &[(&str, &str)]) {
        let member = self.consumers.len() + 1;
        let command = self.consumer(member, env);
        let process = self.spawn(command, &format!("consumer-{member}.log"));
        self.consumers.push(process);
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
        std::fs::copy(self.config_file(), folder.join("sluice.toml")).expect("copy the config");
        let mut command = self.command_in("sluice-consumer", &folder, Path::new("sluice.toml"));
        command
            .args(["--set", "consumer.output_dir=out"])
            .args(["--set", "consumer.reader_schema_file="])
            .args(["--set", &format!("metrics.host={metrics_ip}")])
            .args(["--set", "metrics.consumer_port_base=0"])
            .arg("--member")
            .arg(member.to_string());
        let process = self.spawn(command, &format!("consumer-{member}.log"));
        self.consumers.push(process);
        self.other_outputs.push(folder.join("out"));
    }

    /// Starts `count` consumers with extra settings (e.g. another group, reader schema and
    /// output folder); their logs are `<label>consumer-N.log`.
    pub fn start_group(&mut self, label: &str, count: u32, settings: &[String]) {
        for n in 1..=count {
            let mut command = self.command("sluice-consumer");
            for setting in settings {
                command.arg("--set").arg(setting);
            }
            command.arg("--member").arg(n.to_string());
            let process = self.spawn(command, &format!("{label}consumer-{n}.log"));
            self.consumers.push(process);
        }
    }

    /// SIGTERM to consumer `member` (1-based, in the order started); its exit code once it
    /// has stopped (`None` if it had to be killed after `STOP_PATIENCE`).
    pub fn stop_consumer(&mut self, member: usize) -> Option<i32> {
        self.consumers[member - 1].stop_within(STOP_PATIENCE)
    }

    /// SIGKILL to consumer `member` (1-based, in the order started): no flush, no commit.
    pub fn kill_consumer(&mut self, member: usize) {
        self.consumers[member - 1].kill();
    }

    /// Starts consumer `member` (1-based) again after it was killed or died, with the
    /// scenario's settings and the environment variables `env` (e.g. a crash point).
    pub fn restart_consumer(&mut self, member: usize, env: &[(&str, &str)]) {
        let command = self.consumer(member, env);
        self.consumers[member - 1] = self.spawn(command, &format!("consumer-{member}.log"));
    }

    /// Starts consumer `member` (1-based) again with the crash point `point` armed at its
    /// third commit (see `consumer::crash_point`), and waits until it died there.
    pub fn crash_consumer_at(&mut self, member: usize, point: &str) {
        self.kill_consumer(member);
        self.restart_consumer(
            member,
            &[
                ("SLUICE_CRASH_POINT", point),
                ("SLUICE_CRASH_AT_COMMIT", "3"),
            ],
        );
        let log = format!("consumer-{member}.log");
        let status = self
            .wait_for_consumer_exit(member, Duration::from_secs(120))
            .unwrap_or_else(|| {
                panic!(
                    "consumer-{member} never reached crash point {point}:\n{}",
                    super::tail(&self.log(&log), 30)
                )
            });
        assert!(!status.success(), "{point}: died, not exited: {status}");
        let text = self.log(&log);
        assert!(
            text.contains("crash point") && text.contains("reached"),
            "{point}: died at its crash point:\n{}",
            super::tail(&text, 10)
        );
    }

    /// Waits up to `patience` for consumer `member` (1-based) to exit by itself; its exit
    /// status, or `None` if it is still running.
    pub fn wait_for_consumer_exit(
        &mut self,
        member: usize,
        patience: Duration,
    ) -> Option<ExitStatus> {
        self.consumers[member - 1].wait_for_exit(patience)
    }

    /// Sends `signal` (e.g. `STOP`, `CONT`) to consumer `member` (1-based).
    pub fn signal_consumer(&self, member: usize, signal: &str) {
        self.consumers[member - 1]
            .signal(signal)
            .unwrap_or_else(|e| panic!("consumer-{member}: {e}"));
    }

    /// Stops the producer with SIGTERM, leaving the consumers running; its exit code (`None`
    /// if it had to be killed after `STOP_PATIENCE`).
    pub fn stop_producer(&mut self) -> Option<i32> {
        self.producer.take()?.stop_within(STOP_PATIENCE)
    }

    /// Waits up to `patience` for the producer to exit on its own (e.g. fenced); its exit code,
    /// or `None` when it was still running and had to be killed.
    pub fn wait_for_producer_exit(&mut self, patience: Duration) -> Option<i32> {
        self.producer.take()?.exit_code_within(patience)
    }

    /// The running producer's peak resident memory so far (`VmHWM`), in MiB; `None` when none
    /// runs.
    pub fn producer_peak_rss_mib(&self) -> Option<f64> {
        let pid = self.producer.as_ref()?.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let kib: f64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kib / 1024.0)
    }

    /// SIGKILL: the producer gets no chance to flush or save anything.
    pub fn kill_producer(&mut self) {
        if let Some(mut producer) = self.producer.take() {
            producer.kill();
        }
    }

    /// SIGTERM to every process, then waits for each to exit; returns their exit codes.
    pub fn stop_all(&mut self) -> Vec<Option<i32>> {
        let mut processes: Vec<LoggedProcess> = self.producer.take().into_iter().collect();
        processes.append(&mut self.consumers);
        for process in &mut processes {
            process.terminate();
        }
        processes
            .iter_mut()
            .map(|process| process.exit_code_within(STOP_PATIENCE))
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
                .any(LoggedProcess::running);
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

    /// Waits until `log` holds `needle` at least `times` times; fails with the log's tail.
    pub async fn wait_for_log(&self, log: &str, needle: &str, times: usize, patience: Duration) {
        crate::wait::until(
            &format!("{log} to say `{needle}` {times} time(s)"),
            patience,
            || (self.log(log).matches(needle).count() >= times).then_some(()),
            || tail(&self.log(log), 20),
        )
        .await;
    }

    /// Waits until the members `1..=members` together read all `partitions` partitions, each
    /// at least one (their `sluice_consumer_assigned_partitions`): the group has settled.
    pub async fn wait_group_settled(&self, members: usize, partitions: usize) {
        crate::wait::until_async(
            &format!("{members} members to share {partitions} partitions"),
            Duration::from_secs(120),
            || async move {
                let mut total = 0.0;
                for member in 1..=members {
                    let log = format!("consumer-{member}.log");
                    let owned = self
                        .metric(&log, "sluice_consumer_assigned_partitions")
                        .await
                        .unwrap_or(0.0);
                    if owned < 1.0 {
                        return None;
                    }
                    total += owned;
                }
                (total as usize == partitions).then_some(())
            },
            || self.consumer_log_tails(5),
        )
        .await;
    }

    /// Waits until the members `1..=members` have each subscribed to the group (before the topic
    /// exists, they own no partition yet: see [`wait_group_settled`](Self::wait_group_settled) once
    /// it does).
    pub async fn wait_group_joined(&self, members: usize) {
        for member in 1..=members {
            let log = format!("consumer-{member}.log");
            self.wait_for_log(&log, "joined group", 1, Duration::from_secs(120))
                .await;
        }
    }

    /// Waits until the process logging to `log` says where its metrics are served.
    pub async fn wait_for_metrics_url(&self, log: &str) -> String {
        crate::wait::until(
            &format!("{log} to say where its metrics are"),
            Duration::from_secs(60),
            || self.metrics_url(log),
            || tail(&self.log(log), 20),
        )
        .await
    }

    /// The `http://host:port` a process's log says its metrics are served on.
    pub fn metrics_url(&self, log: &str) -> Option<String> {
        let text = self.log(log);
        // The last start's: a restarted process appends to its log, on a new port.
        let start = text.rfind("metrics on http://")? + "metrics on ".len();
        let rest = &text[start..];
        let end = rest.find("/metrics")?;
        Some(rest[..end].to_owned())
    }

    /// The last `lines` lines of each consumer's log, for a failure message.
    /// For a test about to fail for want of progress: the threads' stacks of every process
    /// of the scenario still running, each in `<name>.stacks` beside its log (`gdb`, where the
    /// machine has it), so a process that hangs shows where. Says what it wrote.
    pub(super) fn dump_stacks(&self) -> String {
        let mut written = Vec::new();
        for process in self.producer.iter().chain(self.consumers.iter()) {
            let status = std::fs::read_to_string(format!("/proc/{}/status", process.id()));
            if status.map_or(true, |status| status.contains("(zombie)")) {
                written.push(format!("{} had exited", process.name()));
                continue;
            }
            let file = self.dir.path().join(format!("{}.stacks", process.name()));
            let dumped = Command::new("gdb")
                .args(["-batch", "-ex", "thread apply all bt", "-p"])
                .arg(process.id().to_string())
                .output();
            match dumped {
                Ok(output) if std::fs::write(&file, &output.stdout).is_ok() => written.push(
                    format!("{} running: stacks in {}", process.name(), file.display()),
                ),
                _ => written.push(format!(
                    "{} running (no stacks: gdb unavailable)",
                    process.name()
                )),
            }
        }
        written.join("\n")
    }

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
