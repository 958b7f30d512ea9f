//! Reading a `check --json` report: the status of one check, with its line for a message.

use serde_json::Value;

/// The status of check `area`/`name` in `report` (`ok`, `warn`, `failed`, `skipped`), and the
/// check as JSON for a failure message; fails the test when the report has no such check.
pub fn check_status(report: &Value, area: &str, name: &str) -> (String, String) {
    let found = report["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|check| check["area"] == area && check["name"] == name)
        .unwrap_or_else(|| panic!("no check {area}/{name} in {report:#}"));
    (
        found["status"].as_str().unwrap_or_default().to_owned(),
        found.to_string(),
    )
}
