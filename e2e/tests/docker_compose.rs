//! The Docker stack cannot run here (no engine), but its file must stay valid: Debian's
//! `docker-compose config` parses and resolves it without an engine.

use std::process::Command;

use sluice_e2e::repo_root;

fn compose(args: &[&str]) -> std::process::Output {
    let root = repo_root();
    Command::new("docker-compose")
        .arg("-f")
        .arg(root.join("docker/docker-compose.yml"))
        .args(args)
        .output()
        .expect("docker-compose must be installed (`make test` installs it)")
}

#[test]
fn compose_file_is_valid() {
    let output = compose(&["config", "-q"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn compose_file_has_every_service_on_loopback_ports() {
    let services = compose(&["config", "--services"]);
    let services = String::from_utf8_lossy(&services.stdout);
    for service in [
        "mysql",
        "kafka",
        "schema-registry",
        "producer",
        "consumer-1",
        "consumer-5",
        "prometheus",
        "grafana",
    ] {
        assert!(
            services.lines().any(|s| s == service),
            "{service} missing: {services}"
        );
    }
    let resolved = compose(&["config"]);
    let resolved = String::from_utf8_lossy(&resolved.stdout);
    for port in ["3306", "9092", "8081", "9090", "3000"] {
        assert!(
            resolved.contains(&format!("- 127.0.0.1:{port}:{port}/tcp")),
            "port {port} must be published on 127.0.0.1 only:\n{resolved}"
        );
    }
}

/// Grafana gets its data source and the dashboard from the files in `docker/grafana`.
#[test]
fn grafana_is_provisioned_with_the_dashboard_and_prometheus() {
    let resolved = compose(&["config"]);
    let resolved = String::from_utf8_lossy(&resolved.stdout);
    assert!(
        resolved.contains("grafana/provisioning:/etc/grafana/provisioning"),
        "{resolved}"
    );
    assert!(
        resolved.contains("grafana/dashboards:/var/lib/grafana/dashboards"),
        "{resolved}"
    );
    let root = repo_root();
    let datasource = std::fs::read_to_string(
        root.join("docker/grafana/provisioning/datasources/prometheus.yml"),
    )
    .expect("data source");
    assert!(
        datasource.contains("uid: prometheus") && datasource.contains("http://prometheus:9090")
    );
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("docker/grafana/dashboards/sluice.json"))
            .expect("dashboard"),
    )
    .expect("dashboard is JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(panels.iter().all(|p| p["datasource"]["uid"] == "prometheus"
        && p["targets"].as_array().is_some_and(|t| !t.is_empty())));
}

/// MySQL's first start applies the native stack's migrations, then grants the producer what it
/// needs to see open transactions, as the native stack does: without them it reads with only
/// the commit lag for protection.
#[test]
fn mysql_gets_the_migrations_and_the_transaction_grants() {
    let resolved = compose(&["config"]);
    let resolved = String::from_utf8_lossy(&resolved.stdout);
    for mount in [
        "stack/migrations:/sluice/migrations:ro",
        "docker/mysql/initdb.d:/docker-entrypoint-initdb.d:ro",
    ] {
        assert!(resolved.contains(mount), "{mount} missing:\n{resolved}");
    }
    let init = repo_root().join("docker/mysql/initdb.d");
    let script = init.join("10-migrations.sh");
    let syntax = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .expect("bash");
    assert!(
        syntax.status.success(),
        "{}",
        String::from_utf8_lossy(&syntax.stderr)
    );
    let script = std::fs::read_to_string(&script).expect("migrations script");
    assert!(script.contains("/sluice/migrations/*.sql"), "{script}");
    // The grants script renders the shared grants file for the image's user on any host, as
    // the entrypoint (MYSQL_USER set, the stack's sql folder mounted) runs it.
    assert!(
        resolved.contains("stack/sql:/sluice/sql:ro"),
        "the shared grants are mounted:\n{resolved}"
    );
    let grants_script = init.join("20-grants.sh");
    let script = std::fs::read_to_string(&grants_script).expect("grants script");
    let rendered = Command::new("bash")
        .arg("-c")
        .arg(
            script
                .replace(
                    "/sluice/sql/",
                    &format!("{}/stack/sql/", repo_root().display()),
                )
                .replace("| docker_process_sql", ""),
        )
        .env("MYSQL_USER", "sluice")
        .output()
        .expect("bash");
    assert!(
        rendered.status.success(),
        "{}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    let grants = String::from_utf8_lossy(&rendered.stdout).into_owned();
    for grant in [
        "GRANT PROCESS ON *.* TO 'sluice'@'%';",
        "GRANT SELECT ON performance_schema.* TO 'sluice'@'%';",
    ] {
        assert!(grants.contains(grant), "{grant} missing:\n{grants}");
    }
    assert!(
        resolved.contains("MYSQL_USER: sluice"),
        "the grants name the compose file's MySQL user:\n{resolved}"
    );
}

/// The pipeline runs from the sluice image (`make image`), each process pointed at the compose
/// services, each consumer its own member, their files on a volume.
#[test]
fn the_pipeline_runs_from_the_sluice_image_against_the_compose_services() {
    let resolved = compose(&["config"]);
    let resolved = String::from_utf8_lossy(&resolved.stdout);
    assert_eq!(
        resolved.matches("image: localhost/sluice:latest").count(),
        6,
        "the producer and five consumers use the image:\n{resolved}"
    );
    for setting in [
        "SLUICE__MYSQL__HOST: mysql",
        "SLUICE__KAFKA__BOOTSTRAP_SERVERS: kafka:19092",
        "SLUICE__REGISTRY__URL: http://schema-registry:8081",
    ] {
        assert_eq!(
            resolved.matches(setting).count(),
            6,
            "{setting}:\n{resolved}"
        );
    }
    for member in 1..=5 {
        assert!(
            resolved.contains(&format!(
                "- sluice-consumer\n      - --member\n      - '{member}'"
            )) || resolved.contains(&format!(
                "- sluice-consumer\n    - --member\n    - '{member}'"
            )),
            "consumer-{member} runs as member {member}:\n{resolved}"
        );
    }
}
