//! `make status` (`stack/pipeline-status`) run against a scenario the way a user runs it beside
//! their pipeline: every setting the scenario's processes got by `--set` is given to it as the
//! `SLUICE__SECTION__KEY` variable the binaries read, so it finds the scenario's group,
//! dead-letter topic and brokers, and reaches a secured Kafka with the same login.

use std::process::Command;

use crate::repo_root;
use crate::scenario::Scenario;

/// What `stack/pipeline-status` printed.
pub struct Status {
    /// Its standard output.
    pub text: String,
}

/// Runs `stack/pipeline-status` for `scenario`; fails the test when the script fails.
pub fn pipeline_status(scenario: &Scenario) -> Status {
    let mut command = Command::new(repo_root().join("stack/pipeline-status"));
    for setting in scenario.overrides() {
        if let Some((key, value)) = setting.split_once('=') {
            let name = format!("SLUICE__{}", key.replace('.', "__").to_uppercase());
            command.env(name, value);
        }
    }
    // Only the scenario's members, found through the group: none by a default port.
    command.env("SLUICE_CONSUMERS", "0");
    if let Some(port) = scenario
        .metrics_url("producer.log")
        .and_then(|url| url.rsplit(':').next().map(str::to_owned))
    {
        command.env("SLUICE__METRICS__PRODUCER_PORT", port);
    }
    let output = command.output().expect("run stack/pipeline-status");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "pipeline-status failed: {text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Status { text }
}

impl Status {
    /// The lines of the consumer members.
    pub fn member_lines(&self) -> Vec<&str> {
        self.text
            .lines()
            .filter(|line| line.trim_start().starts_with("consumer-"))
            .collect()
    }

    /// The partitions the member lines list as assigned, sorted.
    pub fn assigned_partitions(&self) -> Vec<u32> {
        let mut partitions: Vec<u32> = self
            .member_lines()
            .iter()
            .filter_map(|line| line.split("partitions [").nth(1))
            .filter_map(|rest| rest.split(']').next())
            .flat_map(|listed| listed.split(',').filter_map(|p| p.parse().ok()))
            .collect();
        partitions.sort_unstable();
        partitions
    }
}
