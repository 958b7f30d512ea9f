//! The Prometheus files must stay valid: `promtool` (Debian's, installed by `make up`) checks the
//! native and Docker configurations and the alert rules, and the native Prometheus loads them.

use std::process::Command;

use sluice_e2e::repo_root;

fn promtool(args: &[&str]) -> std::process::Output {
    Command::new("promtool")
        .args(args)
        .current_dir(repo_root())
        .output()
        .expect("promtool must be installed (`make up` installs Debian's prometheus)")
}

fn assert_ok(args: &[&str]) {
    let output = promtool(args);
    assert!(
        output.status.success(),
        "promtool {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn alert_rules_pass_promtool() {
    assert_ok(&["check", "rules", "docker/prometheus/alerts.yml"]);
}

/// Each rule fires and stays quiet as its unit tests say (`docker/prometheus/alerts.test.yml`):
/// for the stack's job names and a Kubernetes pod's, and with a series missing.
#[test]
fn alert_rules_pass_their_unit_tests() {
    assert_ok(&["test", "rules", "docker/prometheus/alerts.test.yml"]);
}

/// Every rule has unit tests that expect it to fire, and a runbook in the operations guide.
#[test]
fn every_alert_rule_is_tested_and_has_a_runbook() {
    let rules = std::fs::read_to_string(repo_root().join("docker/prometheus/alerts.yml"))
        .expect("alert rules");
    let tests = std::fs::read_to_string(repo_root().join("docker/prometheus/alerts.test.yml"))
        .expect("alert rule tests");
    let operations =
        std::fs::read_to_string(repo_root().join("docs/operations.md")).expect("operations guide");
    let names: Vec<&str> = rules
        .lines()
        .filter_map(|line| line.trim().strip_prefix("- alert: "))
        .collect();
    assert!(names.len() >= 7, "{names:?}");
    for name in names {
        let fires = tests
            .split("alertname: ")
            .skip(1)
            .any(|case| case.starts_with(name) && case.contains("exp_labels"));
        assert!(
            fires,
            "no unit test of alerts.test.yml expects {name} to fire"
        );
        assert!(
            rules.contains(&format!("docs/operations.md#{}", name.to_lowercase())),
            "{name} has no runbook annotation"
        );
        assert!(
            operations.contains(&format!("### {name}")),
            "docs/operations.md has no runbook section for {name}"
        );
    }
}

#[test]
fn docker_prometheus_config_passes_promtool() {
    assert_ok(&[
        "check",
        "config",
        "--syntax-only",
        "docker/prometheus/prometheus.yml",
    ]);
}

#[test]
fn native_prometheus_config_passes_promtool_with_its_rules() {
    let dir = tempfile::tempdir().expect("dir");
    let template =
        std::fs::read_to_string(repo_root().join("stack/config/prometheus.yml")).expect("template");
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        template.replace("@ROOT@", &repo_root().to_string_lossy()),
    )
    .expect("write");
    assert_ok(&["check", "config", &config.to_string_lossy()]);
}

#[tokio::test]
async fn the_native_prometheus_has_loaded_the_alert_rules() {
    let rules: serde_json::Value = sluice_registry::http::get("http://127.0.0.1:9090/api/v1/rules")
        .await
        .expect("Prometheus of the local stack (make up)")
        .json()
        .await
        .expect("JSON");
    let names: Vec<&str> = rules["data"]["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|group| group["rules"].as_array().into_iter().flatten())
        .filter_map(|rule| rule["name"].as_str())
        .collect();
    for alert in [
        "SluiceProcessDown",
        "SluicePipelineStalled",
        "SluiceNoActiveProducer",
        "SluiceConsumerLagGrowing",
        "SluiceOutputBlocked",
        "SluiceDeadLetters",
        "SluiceErrorsRising",
    ] {
        assert!(names.contains(&alert), "{alert} not loaded: {names:?}");
    }
}

/// The ports both Prometheus configurations scrape are those the processes serve on by default
/// (sluice's settings, whose values sluice.toml shows and the scripts read): the producer's,
/// and the base plus N for the five members `make run` starts.
#[test]
fn every_scrape_target_is_a_port_the_processes_serve_on() {
    let metrics = sluice_common::settings::Settings::default().metrics;
    let members: Vec<u16> = (1..=5).map(|n| metrics.consumer_port_base + n).collect();
    for config in [
        "stack/config/prometheus.yml",
        "docker/prometheus/prometheus.yml",
    ] {
        let text = std::fs::read_to_string(repo_root().join(config)).expect("config");
        let jobs: Vec<&str> = text.split("- job_name: ").skip(1).collect();
        for job in jobs {
            let ports: std::collections::BTreeSet<u16> = job
                .split(|c: char| c == '"' || c == ',' || c.is_whitespace() || c == '[' || c == ']')
                .filter_map(|word| word.rsplit_once(':')?.1.parse().ok())
                .collect();
            let expected: std::collections::BTreeSet<u16> = if job.starts_with("sluice-producer") {
                [metrics.producer_port].into()
            } else if job.starts_with("sluice-consumer") {
                members.iter().copied().collect()
            } else {
                continue;
            };
            assert_eq!(ports, expected, "{config}: {job}");
        }
    }
}
