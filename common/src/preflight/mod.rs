//! The `check` command of each binary: a preflight of everything `run` would refuse, one line a
//! check, ok or FAILED with the fix.
//!
//! Invariant: **a check disturbs nothing.** It reads (metadata, the catalogue, the registry's
//! compatibility answer, a lock tried and let go at once); it never creates a topic, joins a
//! group, registers a schema or a transactional id (which would fence a running producer), so
//! it may run beside the pipeline it checks.

mod services;

pub use services::{kafka_checks, mysql_login, MysqlReach};

use std::fmt;

use serde::Serialize;

/// How one check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// What `run` needs is there.
    Ok,
    /// `run` works, less well than it could (the fix says how).
    Warn,
    /// `run` would refuse or fail.
    Failed,
    /// Not checked, and why (e.g. what it depends on failed).
    Skipped,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, not `write_str`: the report aligns the statuses in a column.
        f.pad(match self {
            Self::Ok => "ok",
            Self::Warn => "WARN",
            Self::Failed => "FAILED",
            Self::Skipped => "skipped",
        })
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What it is about: `mysql`, `kafka`, `registry`, `output`.
    pub area: &'static str,
    /// Which check: `login`, `topic`, `column plan`, ….
    pub name: String,
    /// How it ended.
    pub status: Status,
    /// What was seen, or why it fails.
    pub detail: String,
    /// What to do, when it is not ok.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    /// A check that passed.
    pub fn ok(area: &'static str, name: &str, detail: impl Into<String>) -> Self {
        Self::new(area, name, Status::Ok, detail.into(), None)
    }

    /// A check `run` would fail, and what to do.
    pub fn failed(
        area: &'static str,
        name: &str,
        detail: impl Into<String>,
        fix: Option<String>,
    ) -> Self {
        Self::new(area, name, Status::Failed, detail.into(), fix)
    }

    /// A check `run` passes less well than it could, and what to do.
    pub fn warn(area: &'static str, name: &str, detail: impl Into<String>, fix: String) -> Self {
        Self::new(area, name, Status::Warn, detail.into(), Some(fix))
    }

    /// A check not made, and why.
    pub fn skipped(area: &'static str, name: &str, why: impl Into<String>) -> Self {
        Self::new(area, name, Status::Skipped, why.into(), None)
    }

    fn new(
        area: &'static str,
        name: &str,
        status: Status,
        detail: String,
        fix: Option<String>,
    ) -> Self {
        Self {
            area,
            name: name.to_owned(),
            status,
            detail,
            fix,
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<9} {:<20} {:<8} {}",
            self.area, self.name, self.status, self.detail
        )?;
        match &self.fix {
            Some(fix) => write!(f, "; fix: {fix}"),
            None => Ok(()),
        }
    }
}

/// Every check of one `check` run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// In the order they ran.
    pub checks: Vec<Check>,
    /// Whether `run` would start: no check failed.
    pub ok: bool,
}

impl Report {
    /// The report of `checks`.
    pub fn new(checks: Vec<Check>) -> Self {
        let ok = checks.iter().all(|check| check.status != Status::Failed);
        Self { checks, ok }
    }

    /// The first check that failed.
    pub fn first_failure(&self) -> Option<&Check> {
        self.checks
            .iter()
            .find(|check| check.status == Status::Failed)
    }

    /// The exit status of `check`: 0 when `run` would start, 1 when something would fail (2,
    /// for settings that do not load, is the caller's).
    pub fn exit_code(&self) -> u8 {
        u8::from(!self.ok)
    }

    /// The report as lines, or as JSON with `json`.
    pub fn render(&self, json: bool) -> String {
        if json {
            serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
        } else {
            self.checks
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        }
    }
}

/// Prints `report` on stdout (lines, or JSON with `json`) and, when a check failed, the first
/// failure on stderr as `<binary>: <area> check failed: …`; the exit code of `check`.
pub fn report(
    binary: &str,
    report: &Report,
    json: bool,
) -> std::io::Result<std::process::ExitCode> {
    crate::exit::print_stdout(&report.render(json))?;
    if let Some(failed) = report.first_failure() {
        eprintln!(
            "{binary}: {} check failed: {}: {}",
            failed.area, failed.name, failed.detail
        );
    }
    Ok(std::process::ExitCode::from(report.exit_code()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_fails_the_report_and_a_warning_does_not() {
        let warned = Report::new(vec![
            Check::ok("mysql", "login", "as sluice"),
            Check::warn("mysql", "grants", "no PROCESS", "GRANT PROCESS".into()),
        ]);
        assert!(warned.ok);
        assert_eq!(warned.exit_code(), 0);
        let failed = Report::new(vec![Check::failed(
            "kafka",
            "topic",
            "has 3 partitions, kafka.partitions is 10",
            Some("set kafka.partitions = 3".into()),
        )]);
        assert_eq!(failed.exit_code(), 1);
        let line = failed.render(false);
        assert!(line.contains("FAILED") && line.contains("fix: set kafka.partitions = 3"));
        let json: serde_json::Value =
            serde_json::from_str(&failed.render(true)).unwrap_or_default();
        assert_eq!(json["checks"][0]["status"], "failed");
        assert_eq!(json["ok"], false);
    }
}
