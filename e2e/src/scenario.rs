//! A pipeline under test: its own table, topics, consumer group, watermark and output folder,
//! run as the real `sluice-producer` and `sluice-consumer` processes against the real stack.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sluice_common::mysql;
use sluice_common::settings::{load, IsolatedRun, Layers, Settings};
use sqlx::MySqlPool;

use crate::expected::{expected_line, select_rows, Row};
use crate::repo_root;
use sluice_verify::expected::Expectation;

/// The binaries under test, built by `cargo test --workspace` next to the test executable.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target profile folder");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run the tests with `make integration` or `cargo test --workspace`",
        path.display()
    );
    path
}

/// One pipeline and everything it owns.
pub struct Scenario {
    /// Its table, topics, consumer group, and folder (`dir`'s path).
    pub names: IsolatedRun,
    /// Watermark, output files and process logs; removed when the scenario ends.
    pub dir: tempfile::TempDir,
    /// A connection to the database, session in UTC.
    pub pool: MySqlPool,
    /// The shipped configuration with this scenario's names.
    pub settings: Settings,
    producer: Option<Child>,
    consumers: Vec<Child>,
    extra: Vec<String>,
    /// Output folders of members started as if on other hosts (see
    /// [`start_consumer_on_host`](Self::start_consumer_on_host)).
    other_outputs: Vec<PathBuf>,
}

impl Scenario {
    /// A new table `e2e_<tag>_…` with the product columns and `last_updated TIMESTAMP(precision)`.
    pub async fn new(tag: &str, precision: u8) -> Self {
        let id = crate::unique(tag).replace('-', "_");
        let dir = tempfile::tempdir().expect("temp dir");
        let names = IsolatedRun::new(&format!("e2e_{id}"), &format!("e2e-{id}"), dir.path());
        let mut scenario = Self {
            names,
            pool: mysql::connect(&Settings::default().mysql, 4)
                .await
                .expect("MariaDB of the local stack (make up)"),
            settings: Settings::default(),
            dir,
            producer: None,
            consumers: Vec::new(),
            extra: Vec::new(),
            other_outputs: Vec::new(),
        };
        scenario.settings = load(&Layers {
            file: Some(repo_root().join("sluice.toml")),
            environment: Some(HashMap::new()),
            overrides: scenario.overrides(),
        })
        .expect("shipped sluice.toml with overrides");
        let p = precision;
        sqlx::query(&format!(
            "CREATE TABLE `{}` (id INT PRIMARY KEY, name VARCHAR(255), category VARCHAR(255), price FLOAT,
             last_updated TIMESTAMP({p}) NOT NULL DEFAULT CURRENT_TIMESTAMP({p}) ON UPDATE CURRENT_TIMESTAMP({p}),
             INDEX (last_updated, id))",
            scenario.names.table
        ))
        .execute(&scenario.pool)
        .await
        .expect("create table");
        scenario
    }

    /// The producer and `consumer-N` on the ports the stack's Prometheus scrapes (9641, and
    /// 9650 plus N; stack/config/prometheus.yml) instead of free ones, for every process
    /// started after this call.
    pub fn on_scraped_ports(&mut self) {
        self.with_setting("metrics.producer_port=9641");
        self.with_setting("metrics.consumer_port_base=9650");
    }

    /// Extra `--set section.key=value` for every process started after this call.
    pub fn with_setting(&mut self, setting: &str) {
        self.extra.push(setting.to_owned());
    }

    /// The `--set` flags every process of the scenario gets: its names, then its settings.
    pub fn overrides(&self) -> Vec<String> {
        let mut sets = self.names.overrides();
        sets.extend([
            "producer.batch_size=1000".to_owned(),
            "producer.poll_interval_ms=200".to_owned(),
            "consumer.commit_interval_ms=500".to_owned(),
        ]);
        sets.extend(self.extra.iter().cloned());
        sets
    }

    fn command(&self, binary_name: &str, log: &str) -> Command {
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

    /// Runs `sluice-verify` on this scenario's table, output folder and dead-letter topic, as a
    /// user would; returns its exit code and its report (JSON). Fails the test when it could
    /// not judge (exit 2).
    pub fn verify(&self) -> (i32, Value) {
        let mut command = self.command("sluice-verify", "verify.log");
        if !self.other_outputs.is_empty() {
            command.arg("--output-dir").arg(self.names.out_dir());
            for folder in &self.other_outputs {
                command.arg("--output-dir").arg(folder);
            }
        }
        let output = command
            .arg("--json")
            .stdout(Stdio::piped())
            .output()
            .expect("run sluice-verify");
        let code = output.status.code().unwrap_or(-1);
        assert!(
            code == 0 || code == 1,
            "sluice-verify could not judge (exit {code}):\n{}",
            self.log("verify.log")
        );
        let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "sluice-verify printed no JSON report ({e}):\n{}",
                String::from_utf8_lossy(&output.stdout)
            )
        });
        (code, report)
    }

    /// Waits until `sluice-verify` passes (e.g. until the sweep that finds the last deletes
    /// has run), at most `patience`; then [`assert_exactly_once`](Self::assert_exactly_once)
    /// says what is wrong, if anything.
    pub async fn wait_until_verified(&self, patience: Duration) {
        let deadline = Instant::now() + patience;
        while self.verify().0 != 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// Fails the test unless `sluice-verify` finds every row's latest version, no line twice,
    /// nothing torn, wrong or out of order, and at least `at_least` lines (enough records
    /// flowed to mean something).
    pub fn assert_exactly_once(&self, at_least: u64) {
        let (code, report) = self.verify();
        for kind in [
            "missing",
            "duplicate",
            "torn",
            "wrong",
            "conflicting",
            "backward",
        ] {
            let count = report[kind]["count"]
                .as_u64()
                .unwrap_or_else(|| panic!("no {kind} count in {report:#}"));
            assert_eq!(count, 0, "{kind}: {report:#}");
        }
        assert_eq!(code, 0, "{report:#}");
        assert!(
            report["versions"].as_u64() >= Some(at_least),
            "at least {at_least} lines: {report:#}"
        );
    }

    /// A process log, for assertions on what a user reads.
    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }

    /// Inserts products `ids` with deterministic names, mixed-case categories and cent prices;
    /// `at` fixes `last_updated` (e.g. many rows sharing one second).
    pub async fn insert_products(&self, ids: std::ops::Range<i32>, at: Option<&str>) {
        let categories = ["electronics", "Home", "toys", "Books", "ELECTRONICS"];
        let ids: Vec<i32> = ids.collect();
        for chunk in ids.chunks(1000) {
            let row = if at.is_some() {
                "(?, ?, ?, ?, ?)"
            } else {
                "(?, ?, ?, ?)"
            };
            let columns = if at.is_some() {
                "id, name, category, price, last_updated"
            } else {
                "id, name, category, price"
            };
            let sql = format!(
                "INSERT INTO `{}` ({columns}) VALUES {}",
                self.names.table,
                vec![row; chunk.len()].join(", ")
            );
            let mut query = sqlx::query(&sql);
            for &id in chunk {
                query = query
                    .bind(id)
                    .bind(format!("Item {id}"))
                    .bind(categories[id as usize % categories.len()])
                    .bind(price_for(id, 0));
                if let Some(at) = at {
                    query = query.bind(at);
                }
            }
            query.execute(&self.pool).await.expect("insert products");
        }
    }

    /// Gives product `id` a name of `bytes` bytes (the column widened to `MEDIUMTEXT` first): a
    /// row whose record is larger than the topic takes.
    pub async fn give_a_name_of(&self, id: i32, bytes: usize) {
        let table = &self.names.table;
        sqlx::query(&format!("ALTER TABLE `{table}` MODIFY name MEDIUMTEXT"))
            .execute(&self.pool)
            .await
            .expect("room for a large name");
        sqlx::query(&format!(
            "UPDATE `{table}` SET name = REPEAT('x', ?) WHERE id = ?"
        ))
        .bind(bytes as u64)
        .bind(id)
        .execute(&self.pool)
        .await
        .expect("a large name");
    }

    /// Updates the price and name of each id in `ids`, one transaction per call.
    pub async fn update_products(&self, ids: &[i32], round: i32) {
        let mut transaction = self.pool.begin().await.expect("begin");
        for &id in ids {
            sqlx::query(&format!(
                "UPDATE `{}` SET price = ?, name = ? WHERE id = ?",
                self.names.table
            ))
            .bind(price_for(id, round))
            .bind(format!("Item {id} v{round}"))
            .bind(id)
            .execute(&mut *transaction)
            .await
            .expect("update");
        }
        transaction.commit().await.expect("commit");
    }

    /// The line every valid row should end with, by id.
    pub async fn expected(&self) -> HashMap<i32, Value> {
        let discounts: Vec<(String, f64)> = self
            .settings
            .transform
            .discounts
            .iter()
            .map(|d| (d.category.clone(), d.percent))
            .collect();
        let expectation = Expectation::new(&discounts);
        let rows: Vec<Row> = sqlx::query_as(&select_rows(&self.names.table))
            .fetch_all(&self.pool)
            .await
            .expect("read rows");
        rows.iter()
            .filter_map(|row| expected_line(row, &expectation).map(|line| (row.id, line)))
            .collect()
    }

    /// Every line of every output file: (file name, line number, parsed JSON).
    pub fn lines(&self) -> Vec<(String, usize, Value)> {
        let mut lines = self.lines_in("out");
        for folder in &self.other_outputs {
            if let Ok(relative) = folder.strip_prefix(self.dir.path()) {
                lines.extend(self.lines_in(&relative.to_string_lossy()));
            }
        }
        lines
    }

    /// The same for the output folder `folder` of the scenario's directory: its `*.jsonl`
    /// files (a member's `.pending` batch file is not output).
    pub fn lines_in(&self, folder: &str) -> Vec<(String, usize, Value)> {
        let mut lines = Vec::new();
        let Ok(entries) = std::fs::read_dir(self.dir.path().join(folder)) else {
            return lines;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.ends_with(".jsonl") {
                continue;
            }
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            // A last line without its newline is being written (or was cut short by a kill and
            // is removed at the member's next start): not a line yet.
            let whole = &text[..text.rfind('\n').map_or(0, |end| end + 1)];
            for (number, line) in whole.lines().enumerate() {
                let value = serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("{name}:{number} is not JSON ({e}): {line}"));
                lines.push((name.clone(), number, value));
            }
        }
        lines
    }

    /// The latest line about each product: the greatest `last_updated` (a delete line's
    /// `deleted_at`), then the later line.
    pub fn latest_lines(&self) -> HashMap<i32, Value> {
        latest_of(self.lines())
    }

    /// The same for the output folder `folder`.
    pub fn latest_lines_in(&self, folder: &str) -> HashMap<i32, Value> {
        latest_of(self.lines_in(folder))
    }

    /// Waits until the latest line of every valid row equals its expected line (the table is
    /// read again on every round, so rows may still change meanwhile).
    pub async fn wait_caught_up(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let expected = self.expected().await;
            match mismatches(&self.latest_lines(), &expected) {
                None => return,
                Some(report) if Instant::now() > deadline => panic!(
                    "not caught up after {timeout:?}: {report}\nproducer log tail:\n{}\n{}",
                    tail(&self.log("producer.log"), 15),
                    self.consumer_log_tails(8)
                ),
                Some(_) => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        }
    }

    /// The last `lines` lines of each consumer's log, for a failure message.
    fn consumer_log_tails(&self, lines: usize) -> String {
        (1..=self.consumers.len())
            .map(|n| {
                let name = format!("consumer-{n}.log");
                format!("{name} tail:\n{}", tail(&self.log(&name), lines))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Waits until the latest lines in `folder` equal `expected`.
    pub async fn wait_for_lines(
        &self,
        folder: &str,
        expected: &HashMap<i32, Value>,
        timeout: Duration,
    ) {
        let deadline = Instant::now() + timeout;
        while let Some(report) = mismatches(&self.latest_lines_in(folder), expected) {
            assert!(
                Instant::now() < deadline,
                "{folder}: not caught up after {timeout:?}: {report}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// `None` when the `latest` line of every expected row matches; else how many differ, with
/// examples.
fn mismatches(latest: &HashMap<i32, Value>, expected: &HashMap<i32, Value>) -> Option<String> {
    let wrong: Vec<(&i32, &Value)> = expected
        .iter()
        .filter(|(id, line)| latest.get(id) != Some(line))
        .collect();
    if wrong.is_empty() {
        return None;
    }
    let examples: Vec<String> = wrong
        .iter()
        .take(3)
        .map(|(id, line)| format!("id {id}: expected {line}, latest {:?}", latest.get(id)))
        .collect();
    Some(format!(
        "{} of {} rows differ, e.g.\n{}",
        wrong.len(),
        expected.len(),
        examples.join("\n")
    ))
}

impl Drop for Scenario {
    fn drop(&mut self) {
        // A failed test keeps its logs and files, and says where.
        if std::thread::panicking() {
            if let Ok(spare) = tempfile::tempdir() {
                let failed = std::mem::replace(&mut self.dir, spare);
                eprintln!(
                    "the failed scenario's files are kept in {}",
                    failed.keep().display()
                );
            }
        }
        if let Some(mut child) = self.producer.take() {
            let _ = child.kill();
        }
        for child in &mut self.consumers {
            let _ = child.kill();
        }
        remove_from_stack(self.names.clone(), self.settings.clone());
    }
}

/// Deletes a scenario's topics and table. A stack kept up between test runs otherwise gathers
/// every run's partitions and tables, and a broker holding thousands of partitions runs slower.
/// Best effort, on a thread and runtime of its own: a drop cannot await, and may run inside
/// the test's runtime.
fn remove_from_stack(names: IsolatedRun, settings: Settings) {
    let removal = std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        runtime.block_on(async {
            use rdkafka::admin::AdminOptions;
            if let Ok(admin) = sluice_common::kafka::admin_client(&settings.kafka) {
                let watermarks = settings.kafka.watermark_topic_name();
                let topics = [
                    names.topic.as_str(),
                    names.dlq_topic.as_str(),
                    watermarks.as_str(),
                ];
                let _ = admin.delete_topics(&topics, &AdminOptions::new()).await;
            }
            if let Ok(pool) = mysql::connect(&settings.mysql, 1).await {
                let drop_table = format!("DROP TABLE IF EXISTS `{}`", names.table);
                let _ = sqlx::query(&drop_table).execute(&pool).await;
                pool.close().await;
            }
        });
    });
    let _ = removal.join();
}

/// The latest of `lines` about each product: the greatest `last_updated` (a delete line's
/// `deleted_at`), then the later line.
fn latest_of(lines: Vec<(String, usize, Value)>) -> HashMap<i32, Value> {
    let at = |line: &Value| {
        line["last_updated"]
            .as_str()
            .or(line["deleted_at"].as_str())
            .map(str::to_owned)
    };
    let mut latest: HashMap<i32, Value> = HashMap::new();
    for (_, _, line) in lines {
        let id = line["id"].as_i64().unwrap_or(-1) as i32;
        let newer = latest.get(&id).is_none_or(|seen| at(seen) <= at(&line));
        if newer {
            latest.insert(id, line);
        }
    }
    latest
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

/// A price in whole cents that changes with each update round.
pub fn price_for(id: i32, round: i32) -> f32 {
    let cents = (id * 37 + round * 101).rem_euclid(50_000) + 100;
    format!("{}.{:02}", cents / 100, cents % 100)
        .parse()
        .unwrap_or(1.0)
}

/// The last `count` lines of `text`.
pub fn tail(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}
