//! The scenario's output: its members' JSON lines read back, waited for, and judged by
//! `sluice-verify` as a user would.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{tail, Scenario};

impl Scenario {
    /// Runs `sluice-verify` on this scenario's table, output folder and dead-letter topic, as a
    /// user would; returns its exit code and its report (JSON). Fails the test when it could
    /// not judge (exit 2).
    pub fn verify(&self) -> (i32, Value) {
        let mut command = self.command("sluice-verify");
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(self.dir.path().join("verify.log"))
            .expect("verify.log");
        command.stderr(Stdio::from(log));
        if !self.other_outputs.is_empty() {
            command.arg("--output-dir").arg(self.names.out_dir());
            for folder in &self.other_outputs {
                command.arg("--output-dir").arg(folder);
            }
        }
        if let Some(journal) = &self.journal {
            command.arg("--journal").arg(journal);
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

    /// `sluice-verify`'s report once it passes, or its last report after `patience`, for the
    /// test to say what is wrong.
    pub async fn report_once_clean(&self, patience: Duration) -> Value {
        let deadline = Instant::now() + patience;
        loop {
            let (code, report) = self.verify();
            if code == 0 || Instant::now() >= deadline {
                return report;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// Waits until the files hold at least `rows` lines and `sluice-verify` passes (each at
    /// most `patience`), then [`assert_exactly_once`](Self::assert_exactly_once) with `rows`.
    pub async fn wait_then_assert_exactly_once(&self, rows: u64, patience: Duration) {
        crate::wait::until(
            &format!("{rows} lines"),
            patience,
            || (self.lines().len() as u64 >= rows).then_some(()),
            || {
                format!(
                    "producer:\n{}\nconsumer-1:\n{}",
                    tail(&self.log("producer.log"), 10),
                    tail(&self.log("consumer-1.log"), 10)
                )
            },
        )
        .await;
        self.wait_until_verified(patience).await;
        self.assert_exactly_once(rows);
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

    /// The same for the output folder `folder` of the scenario's directory.
    pub fn lines_in(&self, folder: &str) -> Vec<(String, usize, Value)> {
        output_lines(&self.dir.path().join(folder))
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
                    "not caught up after {timeout:?}: {report}\nproducer log tail:\n{}\n{}\n{}",
                    tail(&self.log("producer.log"), 15),
                    self.consumer_log_tails(8),
                    self.dump_stacks()
                ),
                Some(_) => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        }
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

/// Every whole line of the `*.jsonl` files and open segments `*.jsonl.part` of `folder` (a
/// member's `.pending` batch file is not output): (file name, line number, parsed JSON).
pub fn output_lines(folder: &std::path::Path) -> Vec<(String, usize, Value)> {
    let mut lines = Vec::new();
    let Ok(entries) = std::fs::read_dir(folder) else {
        return lines;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".jsonl") && !name.ends_with(".jsonl.part") {
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
